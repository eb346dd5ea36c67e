//! Streaming runtime: events in (timestamp, tiebreaker, arrival) order → matches.
//!
//! [`Matcher`] evaluates each event against the plan's stages once, turns the join key
//! expressions into composite keys (multi-valued fields → one key per combination), and
//! feeds the pure state machines in [`sequence`] and [`sample`]. Pipes (`head`, `tail`)
//! and the `size` cap are applied to the output as it streams.

pub mod event_query;
pub mod reorder;
pub mod sample;
pub mod sequence;
pub mod stream;

use std::cmp::Ordering;
use std::sync::Arc;

use smallvec::SmallVec;

use crate::event::Event;
use crate::plan::{Plan, PlanKind, PlanPipe, StagePlan};
use crate::value::Value;

use self::event_query::PipeChain;
use self::sample::SampleMachine;
use self::sequence::{SequenceMachine, SequenceSpec, StageHits};

/// One result.
#[derive(Debug, Clone)]
pub enum Match {
    /// An event query hit.
    Event(Arc<Event>),
    /// A sequence or a sample: its join key values and its events in stage order
    /// (`None` = a missing-event stage).
    Sequence {
        join_keys: Vec<Value>,
        events: Vec<Option<Arc<Event>>>,
    },
}

/// A composite join key: one value per `by` position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JoinKey(pub SmallVec<[Value; 1]>);

impl Ord for JoinKey {
    /// Elasticsearch's composite order: position by position, null first.
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let o = a.total_cmp(b);
            if o != Ordering::Equal {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

impl PartialOrd for JoinKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The values one key position contributes: multi-valued fields give each distinct
/// non-null element, in doc-values (sorted) order; null is a key only for an optional
/// (`?field`) key.
fn key_candidates(value: Value, optional: bool) -> SmallVec<[Value; 2]> {
    let mut out = SmallVec::new();
    match value {
        Value::Null => {
            if optional {
                out.push(Value::Null);
            }
        }
        Value::List(items) => {
            let had_items = !items.is_empty();
            for item in items {
                if !item.is_null() && !out.contains(&item) {
                    out.push(item);
                }
            }
            // Elasticsearch reads keys from doc values, which are sorted.
            out.sort_by(|a, b| a.total_cmp(b));
            if out.is_empty() && had_items && optional {
                out.push(Value::Null);
            }
        }
        scalar => out.push(scalar),
    }
    out
}

/// An event's composite keys for one stage: usually one (inline, so offers allocate nothing for it).
pub type StageKeys = SmallVec<[JoinKey; 2]>;

/// Every composite key of `event` for `stage` (the cartesian product of the positions).
pub fn stage_keys(stage: &StagePlan, event: &Event, out: &mut StageKeys) {
    out.clear();
    // Sized for all positions: a key of three grows once, not twice.
    out.push(JoinKey(SmallVec::with_capacity(stage.keys.len())));
    for key in &stage.keys {
        let candidates = key_candidates(key.expr.eval(event), key.optional);
        if candidates.is_empty() {
            out.clear();
            return;
        }
        if candidates.len() == 1 {
            if let Some(v) = candidates.into_iter().next() {
                if let Some((last, rest)) = out.split_last_mut() {
                    for k in rest {
                        k.0.push(v.clone());
                    }
                    last.0.push(v);
                }
            }
            continue;
        }
        let previous = std::mem::take(out);
        for prefix in &previous {
            for v in &candidates {
                let mut k = prefix.clone();
                k.0.push(v.clone());
                out.push(k);
            }
        }
    }
}

/// A raw result with the arrival number Elasticsearch would order it by.
pub(crate) type Ordered = (u64, Match);

enum State {
    Event { counter: u64 },
    Sequence(Box<SequenceState>),
    Sample(SampleMachine<Arc<Event>, JoinKey>),
}

struct SequenceState {
    machine: SequenceMachine<Arc<Event>, JoinKey>,
    hits: StageHits<JoinKey>,
    keys: StageKeys,
    out: Vec<sequence::SequenceOutput<Arc<Event>, JoinKey>>,
}

/// Streaming matcher for one plan. Events must be pushed in (timestamp, tiebreaker,
/// arrival) order.
pub struct Matcher {
    plan: Arc<Plan>,
    state: State,
    pipes: PipeChain,
    raw: Vec<Ordered>,
    /// Samples are emitted as they complete (rule mode), not at the end.
    streaming_samples: bool,
    /// Results emitted so far by streaming samples (their order number).
    samples_out: u64,
    /// Keep a fields-free copy of events held in state (stream mode): alerts need only the
    /// document text and time, and the extracted fields are most of an event's memory.
    slim: bool,
}

impl Matcher {
    pub fn new(plan: Arc<Plan>) -> Matcher {
        let mut pipes: Vec<PlanPipe> = plan.pipes.clone();
        if let Some(size) = plan.options.size {
            pipes.push(PlanPipe::Head(size));
        }
        Matcher::with_pipes(plan, &pipes)
    }

    /// A matcher that applies exactly `pipes` to its output (none for batch use).
    pub(crate) fn with_pipes(plan: Arc<Plan>, pipes: &[PlanPipe]) -> Matcher {
        let state = match &plan.kind {
            PlanKind::Event(_) => State::Event { counter: 0 },
            PlanKind::Sequence(seq) => State::Sequence(Box::new(SequenceState {
                machine: SequenceMachine::new(SequenceSpec {
                    missing: seq.expanded_missing(),
                    maxspan_ns: seq.maxspan_ns,
                    lookback_ns: plan.options.lookback,
                }),
                hits: StageHits::default(),
                keys: StageKeys::new(),
                out: Vec::new(),
            })),
            PlanKind::Sample(sample) => State::Sample(SampleMachine::new(
                sample.stages.len(),
                plan.options.max_samples_per_key,
            )),
        };
        Matcher {
            plan,
            state,
            pipes: PipeChain::new(pipes),
            raw: Vec::new(),
            streaming_samples: false,
            samples_out: 0,
            slim: false,
        }
    }

    /// Offers one event; matches it completes are appended to `out`.
    pub fn push(&mut self, event: &Arc<Event>, out: &mut Vec<Match>) {
        let mut raw = std::mem::take(&mut self.raw);
        self.push_raw(event, &mut raw);
        self.pipes.feed(raw.drain(..).map(|(_, m)| m), out);
        self.raw = raw;
    }

    /// Moves event time to `watermark_ns`: state that can no longer match is dropped
    /// (and sequences waiting only for a trailing missing-event window are released).
    pub fn advance_to(&mut self, watermark_ns: i64, out: &mut Vec<Match>) {
        if let State::Sequence(state) = &self.state {
            // Called as the watermark creeps on event by event: skip the set-up when nothing is due.
            if state.machine.idle_until(watermark_ns) {
                return;
            }
        }
        let mut raw = std::mem::take(&mut self.raw);
        self.advance_raw(watermark_ns, &mut raw);
        self.pipes.feed(raw.drain(..).map(|(_, m)| m), out);
        self.raw = raw;
    }

    /// End of input: flushes samples, pending sequences and `tail` buffers.
    pub fn finish(&mut self, out: &mut Vec<Match>) {
        let mut raw = std::mem::take(&mut self.raw);
        self.finish_raw(&mut raw);
        self.pipes.feed(raw.drain(..).map(|(_, m)| m), out);
        self.pipes.finish(out);
        self.raw = raw;
    }

    /// A matcher for a rule over an unbounded stream: sequence and sample state is capped at
    /// `max_state` entries (the oldest key is evicted first, see [`Matcher::evicted`]), and a
    /// sample with a look-back is emitted as soon as it completes within it (see
    /// [`sample`]) instead of at the end of input.
    pub fn for_stream(plan: Arc<Plan>, max_state: Option<usize>) -> Matcher {
        let lookback = plan.options.lookback;
        let mut matcher = Matcher::new(plan);
        matcher.slim = true;
        match &mut matcher.state {
            State::Event { .. } => {}
            State::Sequence(s) => s.machine.set_cap(max_state),
            State::Sample(s) => {
                s.set_cap(max_state);
                s.set_window(lookback);
                matcher.streaming_samples = lookback.is_some();
            }
        }
        matcher
    }

    /// Whether `event` can change this matcher's state or output: an event query sees every
    /// event; a sequence or sample only those matching a stage (or `until`). Others only move
    /// time on, so a caller may skip buffering them.
    pub fn relevant(&self, event: &Event) -> bool {
        match &self.plan.kind {
            PlanKind::Event(_) => true,
            PlanKind::Sequence(seq) => {
                seq.stages.iter().any(|w| w.stage.predicate.matches(event))
                    || seq
                        .until
                        .as_ref()
                        .is_some_and(|u| u.predicate.matches(event))
            }
            PlanKind::Sample(sample) => sample.stages.iter().any(|s| s.predicate.matches(event)),
        }
    }

    /// State entries dropped by the `max_state` cap so far.
    pub fn evicted(&self) -> u64 {
        match &self.state {
            State::Event { .. } => 0,
            State::Sequence(s) => s.machine.evicted(),
            State::Sample(s) => s.evicted(),
        }
    }

    /// Join keys currently holding state.
    pub fn key_count(&self) -> usize {
        match &self.state {
            State::Event { .. } => 0,
            State::Sequence(s) => s.machine.key_count(),
            State::Sample(s) => s.key_count(),
        }
    }

    /// Entries of live state (partial sequences, remembered events, buffered results).
    pub fn state_len(&self) -> usize {
        let machine = match &self.state {
            State::Event { .. } => 0,
            State::Sequence(s) => s.machine.state_len(),
            State::Sample(s) => s.state_len(),
        };
        machine + self.pipes.buffered()
    }

    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    pub(crate) fn push_raw(&mut self, event: &Arc<Event>, out: &mut Vec<Ordered>) {
        match (&mut self.state, &self.plan.kind) {
            (State::Event { counter }, PlanKind::Event(stage)) => {
                *counter += 1;
                if stage.predicate.matches(event) {
                    out.push((*counter, Match::Event(Arc::clone(event))));
                }
            }
            (State::Sequence(state), PlanKind::Sequence(seq)) => {
                let state = &mut **state;
                sequence_hits(seq, event, &mut state.keys, &mut state.hits);
                let ts = event.timestamp.unwrap_or(i64::MIN);
                if self.slim && !state.hits.stages.is_empty() {
                    state
                        .machine
                        .push(&slim_copy(event), ts, &state.hits, &mut state.out);
                } else {
                    state.machine.push(event, ts, &state.hits, &mut state.out);
                }
                drain_sequences(&mut state.out, out);
            }
            (State::Sample(_), PlanKind::Sample(sample)) => {
                let hits = sample_hits(sample, event);
                if hits.is_empty() {
                    return;
                }
                let stored = if self.streaming_samples {
                    slim_copy(event)
                } else {
                    Arc::clone(event)
                };
                self.push_sample(&stored, &hits, out);
            }
            _ => {}
        }
    }

    fn push_sample(
        &mut self,
        event: &Arc<Event>,
        hits: &[(usize, JoinKey)],
        out: &mut Vec<Ordered>,
    ) {
        let State::Sample(machine) = &mut self.state else {
            return;
        };
        if !self.streaming_samples {
            machine.push(event, hits);
            return;
        }
        let mut samples = Vec::new();
        let ts = event.timestamp.unwrap_or(i64::MIN);
        machine.push_at(event, ts, hits, &mut samples);
        for s in samples {
            self.samples_out += 1;
            out.push((
                self.samples_out,
                Match::Sequence {
                    join_keys: s.key.0.into_vec(),
                    events: s.events.into_iter().map(Some).collect(),
                },
            ));
        }
    }

    /// For a sequence or sample: what `event` does to the state (stages and `until` it
    /// matches, with their join keys), or `None` when it matches none and only moves time.
    /// Worked out on arrival, so that the event can wait in a reorder buffer as a fields-free
    /// copy ([`Hits::event`]) and be applied later with [`Matcher::push_hits`].
    pub fn hits(&self, event: &Arc<Event>) -> Option<Hits> {
        hits_of(&self.plan, event, &mut None)
    }

    /// Applies an [`Offer`] worked out for this matcher's plan: the same as [`Matcher::push`]
    /// for an event plan (`matched` = what its predicate said). Sequences and samples take
    /// their hits through [`stream::StreamMatcher::push_offered`].
    fn push_event_offer(&mut self, event: &Arc<Event>, matched: bool, out: &mut Vec<Match>) {
        if let State::Event { counter } = &mut self.state {
            *counter += 1;
            if matched {
                self.pipes.feed([Match::Event(Arc::clone(event))], out);
            }
        }
    }
}

/// What an event means to a plan, worked out from the plan alone (no matcher state), so on any
/// thread and ahead of the matcher ([`offer`]); the matcher applies it in event order.
#[derive(Debug, Clone)]
pub enum Offer {
    /// An event plan: whether its predicate holds.
    Event(bool),
    /// A sequence or sample: its [`Hits`], or `None` when the event only moves time.
    Ordered(Option<Hits>),
}

/// The [`Offer`] of `event` to `plan`: the predicate evaluation [`Matcher::push`] and
/// [`Matcher::hits`] would do.
pub fn offer(plan: &Plan, event: &Arc<Event>) -> Offer {
    offer_sharing(plan, event, &mut None)
}

/// [`offer`] of one event to several plans: the fields-free copy of the event that hits hold
/// is made once, on the first hit, kept in `slim` (start with `None` for each event) and shared.
pub fn offer_sharing(plan: &Plan, event: &Arc<Event>, slim: &mut Option<Arc<Event>>) -> Offer {
    match &plan.kind {
        PlanKind::Event(stage) => Offer::Event(stage.predicate.matches(event)),
        _ => Offer::Ordered(hits_of(plan, event, slim)),
    }
}

fn hits_of(plan: &Plan, event: &Arc<Event>, slim: &mut Option<Arc<Event>>) -> Option<Hits> {
    let kind = match &plan.kind {
        PlanKind::Event(_) => return None,
        PlanKind::Sequence(seq) => {
            let mut hits = StageHits::default();
            sequence_hits(seq, event, &mut StageKeys::new(), &mut hits);
            if hits.stages.is_empty() && hits.until.is_empty() {
                return None;
            }
            HitsKind::Sequence(hits)
        }
        PlanKind::Sample(sample) => {
            let hits = sample_hits(sample, event);
            if hits.is_empty() {
                return None;
            }
            HitsKind::Sample(hits)
        }
    };
    Some(Hits {
        event: Arc::clone(slim.get_or_insert_with(|| slim_copy(event))),
        kind,
    })
}

impl Matcher {
    /// Applies hits from [`Matcher::hits`]; events must come in event order, as for `push`.
    pub fn push_hits(&mut self, hits: &Hits, out: &mut Vec<Match>) {
        let mut raw = std::mem::take(&mut self.raw);
        match (&mut self.state, &hits.kind) {
            (State::Sequence(state), HitsKind::Sequence(stage_hits)) => {
                let ts = hits.event.timestamp.unwrap_or(i64::MIN);
                state
                    .machine
                    .push(&hits.event, ts, stage_hits, &mut state.out);
                drain_sequences(&mut state.out, &mut raw);
            }
            (State::Sample(_), HitsKind::Sample(sample_hits)) => {
                self.push_sample(&hits.event, sample_hits, &mut raw);
            }
            _ => {}
        }
        // Most events complete nothing.
        if !raw.is_empty() {
            self.pipes.feed(raw.drain(..).map(|(_, m)| m), out);
        }
        self.raw = raw;
    }

    pub(crate) fn advance_raw(&mut self, watermark_ns: i64, out: &mut Vec<Ordered>) {
        match &mut self.state {
            State::Sequence(state) => {
                state.machine.advance_to(watermark_ns, &mut state.out);
                drain_sequences(&mut state.out, out);
            }
            State::Sample(machine) => machine.advance_to(watermark_ns),
            State::Event { .. } => {}
        }
    }

    pub(crate) fn finish_raw(&mut self, out: &mut Vec<Ordered>) {
        match &mut self.state {
            State::Event { .. } => {}
            State::Sequence(state) => {
                state.machine.finish(&mut state.out);
                drain_sequences(&mut state.out, out);
            }
            State::Sample(machine) => {
                let limit = self
                    .plan
                    .options
                    .size
                    .map(|s| usize::try_from(s).unwrap_or(usize::MAX));
                let mut samples = Vec::new();
                machine.finish(limit, &mut samples);
                for (i, s) in samples.into_iter().enumerate() {
                    out.push((
                        i as u64,
                        Match::Sequence {
                            join_keys: s.key.0.into_vec(),
                            events: s.events.into_iter().map(Some).collect(),
                        },
                    ));
                }
            }
        }
    }
}

/// What one event does to a sequence or sample (see [`Matcher::hits`]).
#[derive(Debug, Clone)]
pub struct Hits {
    /// The event without its extracted fields: what results need (text, time, order).
    pub event: Arc<Event>,
    kind: HitsKind,
}

#[derive(Debug, Clone)]
enum HitsKind {
    Sequence(StageHits<JoinKey>),
    Sample(Vec<(usize, JoinKey)>),
}

/// Stages (after `runs` expansion) and `until` an event matches, with its join keys.
fn sequence_hits(
    seq: &crate::plan::SequencePlan,
    event: &Event,
    keys: &mut StageKeys,
    hits: &mut StageHits<JoinKey>,
) {
    hits.clear();
    for (index, written) in seq.stages.iter().enumerate() {
        if !written.stage.predicate.matches(event) {
            continue;
        }
        stage_keys(&written.stage, event, keys);
        if keys.is_empty() {
            continue;
        }
        let mut positions = seq
            .expanded
            .iter()
            .enumerate()
            .filter(|(_, &w)| w == index)
            .map(|(position, _)| position)
            .peekable();
        while let Some(position) = positions.next() {
            if positions.peek().is_some() {
                for key in keys.iter() {
                    hits.stages.push((position, key.clone()));
                }
            } else {
                // The last position (the only one without `runs`) takes the keys.
                hits.stages
                    .extend(keys.drain(..).map(|key| (position, key)));
            }
        }
    }
    if let Some(until) = &seq.until {
        if until.predicate.matches(event) {
            stage_keys(until, event, keys);
            hits.until.extend(keys.drain(..));
        }
    }
}

/// Sample stages an event matches, with its join keys.
fn sample_hits(sample: &crate::plan::SamplePlan, event: &Event) -> Vec<(usize, JoinKey)> {
    let mut hits = Vec::new();
    let mut keys = StageKeys::new();
    for (index, stage) in sample.stages.iter().enumerate() {
        if stage.predicate.matches(event) {
            stage_keys(stage, event, &mut keys);
            hits.extend(keys.drain(..).map(|k| (index, k)));
        }
    }
    hits
}

/// The event without its extracted fields: what results need (text, time, order).
fn slim_copy(event: &Event) -> Arc<Event> {
    Arc::new(event.without_fields())
}

fn drain_sequences(
    from: &mut Vec<sequence::SequenceOutput<Arc<Event>, JoinKey>>,
    out: &mut Vec<Ordered>,
) {
    for s in from.drain(..) {
        out.push((
            s.order,
            Match::Sequence {
                join_keys: s.key.0.into_vec(),
                events: s.events,
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::event::EventOptions;
    use crate::field::FieldTable;
    use crate::plan::QueryOptions;
    use crate::schema::Schema;

    /// Compiles `query` and parses `docs` (JSON texts) into events in arrival order.
    fn setup(query: &str, options: QueryOptions, docs: &[String]) -> (Arc<Plan>, Vec<Arc<Event>>) {
        let schema = Schema::empty();
        let mut fields = FieldTable::new(
            &schema,
            &options.timestamp_field,
            None,
            &options.category_field,
        );
        let ast = eql::parse(query).unwrap();
        let plan = crate::plan::compile(&ast, &schema, &options, &mut fields).unwrap();
        let events = docs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut e = fields.parse_event(d, &EventOptions::default()).unwrap();
                e.seq = i as u64;
                Arc::new(e)
            })
            .collect();
        (Arc::new(plan), events)
    }

    fn doc(ts: i64, category: &str, name: &str, pid: i64) -> String {
        format!(
            r#"{{"@timestamp":{ts},"event":{{"category":"{category}"}},"process":{{"name":"{name}","pid":{pid}}}}}"#
        )
    }

    fn pids(matches: &[Match]) -> Vec<Vec<i64>> {
        matches
            .iter()
            .map(|m| match m {
                Match::Event(e) => vec![e.timestamp.unwrap_or(0) / 1_000_000],
                Match::Sequence { events, .. } => events
                    .iter()
                    .map(|e| {
                        e.as_ref()
                            .map_or(-1, |e| e.timestamp.unwrap_or(0) / 1_000_000)
                    })
                    .collect(),
            })
            .collect()
    }

    #[test]
    fn streaming_sequence_with_lookback_keeps_state_bounded() {
        let options = QueryOptions {
            lookback: Some(1_000 * 1_000_000),
            ..QueryOptions::default()
        };
        let docs: Vec<String> = (0..5_000)
            .map(|i| doc(i, "process", if i % 2 == 0 { "a" } else { "c" }, i))
            .collect();
        let (plan, events) = setup(
            r#"sequence by process.pid [process where process.name == "a"] [process where process.name == "b"]"#,
            options,
            &docs,
        );
        let mut matcher = Matcher::new(plan);
        let mut out = Vec::new();
        let mut peak = 0;
        for e in &events {
            matcher.push(e, &mut out);
            peak = peak.max(matcher.state_len());
        }
        // Every pid is distinct: only the last second's partials survive.
        assert!(peak <= 1_002, "state grew to {peak}");
        matcher.advance_to(i64::MAX, &mut out);
        assert_eq!(matcher.state_len(), 0);
        assert!(out.is_empty());
    }

    #[test]
    fn streaming_sequence_emits_on_completion() {
        let docs = vec![
            doc(1, "process", "a", 7),
            doc(2, "process", "a", 8),
            doc(3, "process", "b", 7),
        ];
        let (plan, events) = setup(
            r#"sequence by process.pid with maxspan=1m [process where process.name == "a"] [process where process.name == "b"]"#,
            QueryOptions::default(),
            &docs,
        );
        let mut matcher = Matcher::new(plan);
        let mut out = Vec::new();
        matcher.push(&events[0], &mut out);
        matcher.push(&events[1], &mut out);
        assert!(out.is_empty());
        matcher.push(&events[2], &mut out);
        assert_eq!(pids(&out), vec![vec![1, 3]]);
        match &out[0] {
            Match::Sequence { join_keys, .. } => assert_eq!(join_keys, &vec![Value::Int(7)]),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn event_query_tail_and_size() {
        let docs: Vec<String> = (1..=10).map(|i| doc(i, "process", "a", i)).collect();
        let (plan, events) = setup(
            "process where true | tail 3",
            QueryOptions::default(),
            &docs,
        );
        let mut matcher = Matcher::new(plan);
        let mut out = Vec::new();
        for e in &events {
            matcher.push(e, &mut out);
        }
        assert!(out.is_empty());
        matcher.finish(&mut out);
        assert_eq!(pids(&out), vec![vec![8], vec![9], vec![10]]);

        let options = QueryOptions {
            size: Some(2),
            ..QueryOptions::default()
        };
        let (plan, events) = setup("process where true", options, &docs);
        let out = crate::query::run(&plan, events.into_iter().rev().collect());
        assert_eq!(pids(&out), vec![vec![1], vec![2]]);
    }

    #[test]
    fn samples_ordered_by_key() {
        let docs = vec![
            doc(1, "process", "b", 2),
            doc(2, "file", "b", 2),
            doc(3, "process", "a", 1),
            doc(4, "file", "a", 1),
        ];
        let (plan, events) = setup(
            "sample by process.name [process where true] [file where true]",
            QueryOptions::default(),
            &docs,
        );
        let out = crate::query::run(&plan, events);
        assert_eq!(pids(&out), vec![vec![3, 4], vec![1, 2]]);
    }

    #[test]
    fn key_candidates_follow_es_rules() {
        let list = |v: Vec<Value>| Value::List(v);
        assert_eq!(key_candidates(Value::Null, false).len(), 0);
        assert_eq!(key_candidates(Value::Null, true).as_slice(), &[Value::Null]);
        assert_eq!(
            key_candidates(
                list(vec![
                    Value::str("b"),
                    Value::Null,
                    Value::str("a"),
                    Value::str("b")
                ]),
                false
            )
            .as_slice(),
            &[Value::str("a"), Value::str("b")]
        );
        assert!(key_candidates(list(vec![]), true).is_empty());
        assert_eq!(
            key_candidates(list(vec![Value::Null]), true).as_slice(),
            &[Value::Null]
        );
        assert!(key_candidates(list(vec![Value::Null]), false).is_empty());
    }

    #[test]
    fn join_keys_order_nulls_first_then_bytes() {
        let k = |v: &[Value]| JoinKey(v.iter().cloned().collect());
        let mut keys = vec![
            k(&[Value::str("doom"), Value::str("win10")]),
            k(&[Value::str("doom"), Value::Null]),
            k(&[Value::str("GTA"), Value::Null]),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                k(&[Value::str("GTA"), Value::Null]),
                k(&[Value::str("doom"), Value::Null]),
                k(&[Value::str("doom"), Value::str("win10")]),
            ]
        );
    }
}
