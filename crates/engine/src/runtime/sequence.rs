//! The sequence state machine: pure transition logic, generic over the event handle `E`
//! and the join key `K`, so it can be tested with fake events.
//!
//! Semantics (Elasticsearch's `SequenceMatcher`, replayed event by event):
//! - one pending partial sequence per (stage, key); a partial that reaches a stage replaces
//!   the one waiting there, and moving a partial on removes it from its old stage;
//! - each event is offered to the stages from last to first, so it can extend one partial and
//!   start another;
//! - `maxspan` bounds last − first; `until` drops the key's partials that precede it;
//! - missing stages `![...]`: candidates are formed from the positive stages, then checked for
//!   missing events in their gaps (inner), before them (leading) and after them (trailing),
//!   with Elasticsearch's rules for combining leading and trailing hits.
//!
//! State is dropped as soon as it can no longer lead to a match: a deadline index
//! (`BTreeMap` expiry → keys) makes expiry cost O(expired). An optional cap on live entries
//! evicts the join key holding the oldest state first (all of that key's state), counted in
//! [`SequenceMachine::evicted`]: a hostile or runaway stream cannot grow memory without end.

use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;

use ahash::AHashMap;
use smallvec::SmallVec;

const NANOS_PER_MILLI: i64 = 1_000_000;

/// The shape of a sequence after `runs` expansion.
#[derive(Debug, Clone)]
pub struct SequenceSpec {
    /// One entry per expanded stage: `true` for a missing-event stage `![...]`.
    pub missing: Vec<bool>,
    /// `with maxspan=`, in nanoseconds.
    pub maxspan_ns: Option<i64>,
    /// Bound on state age when there is no maxspan (a rule's look-back), in nanoseconds.
    pub lookback_ns: Option<i64>,
}

/// One completed sequence, events in stage order (`None` = missing-event placeholder).
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceOutput<E, K> {
    pub key: K,
    pub events: Vec<Option<E>>,
    /// Arrival counter of the last positive event: Elasticsearch orders sequences by it.
    pub order: u64,
}

/// Where one event matched: `(expanded stage, key)` pairs in ascending stage order;
/// `until` keys.
#[derive(Debug, Clone)]
pub struct StageHits<K> {
    /// Almost always one pair: inline, so that an event's hits cost no allocation.
    pub stages: SmallVec<[(usize, K); 1]>,
    pub until: Vec<K>,
}

impl<K> Default for StageHits<K> {
    fn default() -> Self {
        StageHits {
            stages: SmallVec::new(),
            until: Vec::new(),
        }
    }
}

impl<K> StageHits<K> {
    pub fn clear(&mut self) {
        self.stages.clear();
        self.until.clear();
    }
}

#[derive(Debug, Clone)]
struct Partial<E> {
    start_ts: i64,
    /// Positive events matched so far, in stage order, with their timestamps.
    events: Vec<(E, i64)>,
    last_counter: u64,
}

/// A completed candidate waiting to see whether a trailing missing event shows up.
#[derive(Debug, Clone)]
struct Pending<E> {
    partial: Partial<E>,
    /// Latest leading missing event found (only kept when there are leading stages too).
    leading: Option<i64>,
    /// Trailing events count only above this (the last positive event's millisecond).
    trailing_after_ns: i64,
    /// Once the watermark passes this, no trailing event can discard the candidate.
    decided_at: Option<i64>,
}

#[derive(Debug)]
struct KeyState<E> {
    /// Partials by the expanded stage they last matched (only positive, non-final stages).
    slots: Vec<Option<Partial<E>>>,
    /// Timestamps of events that matched each missing stage, ascending.
    missing_seen: Vec<VecDeque<i64>>,
    pending: Vec<Pending<E>>,
    /// The deadline under which this key is registered in the index, if any.
    scheduled: Option<i64>,
}

impl<E> KeyState<E> {
    /// `missing`: whether the sequence has missing-event stages (else no room is made for them:
    /// this is per join key, and there may be a million keys).
    fn new(stages: usize, missing: bool) -> Self {
        KeyState {
            slots: (0..stages).map(|_| None).collect(),
            missing_seen: if missing {
                (0..stages).map(|_| VecDeque::new()).collect()
            } else {
                Vec::new()
            },
            pending: Vec::new(),
            scheduled: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
            && self.missing_seen.iter().all(VecDeque::is_empty)
            && self.pending.is_empty()
    }

    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
            + self.missing_seen.iter().map(VecDeque::len).sum::<usize>()
            + self.pending.len()
    }
}

/// Streaming sequence matcher over events pushed in (timestamp, tiebreaker, arrival) order.
#[derive(Debug)]
pub struct SequenceMachine<E, K> {
    spec: SequenceSpec,
    first_positive: usize,
    last_positive: usize,
    /// For each expanded stage, the index of its event within a partial (positive stages).
    positive_index: Vec<usize>,
    has_missing: bool,
    has_leading: bool,
    has_trailing: bool,
    /// Boxed: the table has a slot per key (and twice that while growing), so slots stay small.
    keys: AHashMap<K, Box<KeyState<E>>>,
    index: DeadlineIndex<K>,
    /// Live entries (partials, remembered missing events, pending candidates), kept in step
    /// with every change so that the cap costs O(1) per event.
    live: usize,
    /// Most live entries before the oldest key is evicted.
    cap: Option<usize>,
    evicted: u64,
    counter: u64,
    watermark: i64,
}

impl<E: Clone, K: Clone + Eq + Hash> SequenceMachine<E, K> {
    /// `spec.missing` must hold at least one positive stage (the compiler checks it).
    pub fn new(spec: SequenceSpec) -> Self {
        let first_positive = spec.missing.iter().position(|m| !m).unwrap_or(0);
        let last_positive = spec.missing.iter().rposition(|m| !m).unwrap_or(0);
        let mut positive_index = Vec::with_capacity(spec.missing.len());
        let mut next = 0;
        for &m in &spec.missing {
            positive_index.push(next);
            if !m {
                next += 1;
            }
        }
        let has_missing = spec.missing.iter().any(|m| *m);
        SequenceMachine {
            has_leading: first_positive > 0,
            has_trailing: last_positive + 1 < spec.missing.len(),
            first_positive,
            last_positive,
            positive_index,
            has_missing,
            spec,
            keys: AHashMap::new(),
            index: DeadlineIndex::default(),
            live: 0,
            cap: None,
            evicted: 0,
            counter: 0,
            watermark: i64::MIN,
        }
    }

    /// Caps live entries at `cap` (at least 1): past it, the key whose oldest state is oldest
    /// is evicted with all its state.
    pub fn set_cap(&mut self, cap: Option<usize>) {
        self.cap = cap.map(|c| c.max(1));
    }

    /// Entries dropped by the cap so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Join keys holding state.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Whether state is indexed by age: needed to expire it (a span) or to evict it (a cap).
    fn indexed(&self) -> bool {
        self.span().is_some() || self.cap.is_some()
    }

    /// Index position of state that began at `start`: its expiry when there is a span, else
    /// its start (used only to find the oldest for eviction).
    fn index_at(&self, start: i64) -> i64 {
        start.saturating_add(self.span().unwrap_or(0))
    }

    /// How long state may live: maxspan, else the look-back, else forever.
    fn span(&self) -> Option<i64> {
        self.spec.maxspan_ns.or(self.spec.lookback_ns)
    }

    /// Number of live state entries (partials, remembered missing events, pending candidates).
    pub fn state_len(&self) -> usize {
        self.live
    }

    /// Offers one event. `ts` must not go backwards.
    pub fn push(
        &mut self,
        event: &E,
        ts: i64,
        hits: &StageHits<K>,
        out: &mut Vec<SequenceOutput<E, K>>,
    ) {
        self.advance_to(ts, out);
        self.counter += 1;
        let counter = self.counter;

        // Missing-stage hits first: a completion by this very event sees them, as ES's
        // range queries would.
        if self.has_missing {
            for (stage, key) in &hits.stages {
                if self.spec.missing.get(*stage).copied().unwrap_or(false) {
                    self.record_missing(*stage, key, ts, out);
                }
            }
        }

        // Positive stages from last to first (`hits.stages` is in ascending stage order);
        // the keys of one stage in their given order, which decides the output order of
        // sequences this event completes.
        let mut end = hits.stages.len();
        while end > 0 {
            let stage = hits.stages.get(end - 1).map_or(0, |h| h.0);
            let start = hits.stages.get(..end).map_or(0, |hs| {
                hs.iter().rposition(|h| h.0 != stage).map_or(0, |i| i + 1)
            });
            if !self.spec.missing.get(stage).copied().unwrap_or(true) {
                for index in start..end {
                    if let Some((_, key)) = hits.stages.get(index) {
                        self.match_stage(stage, key, event, ts, counter, out);
                    }
                }
            }
            end = start;
        }

        // An until event ends every partial of its key, including one it just advanced
        // (ES: the until marker counts from the partial's last event inclusive); a
        // sequence it completed is already out (extraSpec sequenceWithOptionalFieldsAndUntil).
        for key in &hits.until {
            if let Some(state) = self.keys.get_mut(key) {
                for slot in state.slots.iter_mut() {
                    if slot.take().is_some() {
                        self.live = self.live.saturating_sub(1);
                    }
                }
                if state.is_empty() {
                    self.keys.remove(key);
                }
            }
        }
        self.enforce_cap();
    }

    fn match_stage(
        &mut self,
        stage: usize,
        key: &K,
        event: &E,
        ts: i64,
        counter: u64,
        out: &mut Vec<SequenceOutput<E, K>>,
    ) {
        let maxspan = self.spec.maxspan_ns;
        let partial = if stage == self.first_positive {
            Partial {
                start_ts: ts,
                events: vec![(event.clone(), ts)],
                last_counter: counter,
            }
        } else {
            let Some(previous) = self.previous_positive(stage) else {
                return;
            };
            let Some(state) = self.keys.get_mut(key) else {
                return;
            };
            let Some(mut partial) = state.slots.get_mut(previous).and_then(Option::take) else {
                return;
            };
            self.live = self.live.saturating_sub(1);
            if maxspan.is_some_and(|span| ts.saturating_sub(partial.start_ts) > span) {
                // ES consumes the partial even when maxspan rejects the match.
                if state.is_empty() {
                    self.keys.remove(key);
                }
                return;
            }
            partial.events.push((event.clone(), ts));
            partial.last_counter = counter;
            partial
        };

        if stage == self.last_positive {
            self.complete(key, partial, out);
            if self.keys.get(key).is_some_and(|s| s.is_empty()) {
                self.keys.remove(key);
            }
        } else {
            let deadline = self.indexed().then(|| self.index_at(partial.start_ts));
            let stages = self.spec.missing.len();
            let has_missing = self.has_missing;
            let state = self
                .keys
                .entry(key.clone())
                .or_insert_with(|| Box::new(KeyState::new(stages, has_missing)));
            if let Some(slot) = state.slots.get_mut(stage) {
                if slot.replace(partial).is_none() {
                    self.live += 1;
                }
            }
            if let Some(deadline) = deadline {
                if self.index.schedule(&mut state.scheduled, deadline, key) {
                    self.compact_if_stale();
                }
            }
        }
    }

    fn previous_positive(&self, stage: usize) -> Option<usize> {
        (0..stage)
            .rev()
            .find(|&s| !self.spec.missing.get(s).copied().unwrap_or(true))
    }

    fn next_positive(&self, stage: usize) -> Option<usize> {
        (stage + 1..self.spec.missing.len())
            .find(|&s| !self.spec.missing.get(s).copied().unwrap_or(true))
    }

    fn complete(&mut self, key: &K, partial: Partial<E>, out: &mut Vec<SequenceOutput<E, K>>) {
        if !self.has_missing {
            out.push(self.output(key, &partial));
            return;
        }
        let start_ts = partial.start_ts;
        let last_ts = partial.events.last().map_or(start_ts, |(_, ts)| *ts);
        let stages = self.spec.missing.len();
        let has_missing = self.has_missing;
        let empty = Box::new(KeyState::new(0, false));
        let state = self.keys.get(key).unwrap_or(&empty);

        let mut leading: Option<i64> = None;
        let mut trailing: Option<i64> = None;
        let leading_before = floor_millis(start_ts);
        let trailing_after = floor_millis(last_ts);
        for stage in 0..stages {
            if !self.spec.missing.get(stage).copied().unwrap_or(false) {
                continue;
            }
            let seen = state.missing_seen.get(stage);
            if stage < self.first_positive {
                // Latest leading event strictly before the first event's millisecond.
                if let Some(t) = seen.and_then(|s| s.iter().rev().find(|&&t| t < leading_before)) {
                    leading = Some(leading.map_or(*t, |l: i64| l.max(*t)));
                }
            } else if stage > self.last_positive {
                if let Some(t) = seen.and_then(|s| s.iter().find(|&&t| t > trailing_after)) {
                    trailing = Some(trailing.map_or(*t, |l: i64| l.min(*t)));
                }
            } else {
                // Inner: strictly inside the neighbours' milliseconds.
                let (Some(prev), Some(next)) =
                    (self.previous_positive(stage), self.next_positive(stage))
                else {
                    continue;
                };
                let prev_ts = self.event_ts(&partial, prev);
                let next_ts = self.event_ts(&partial, next);
                let (lo, hi) = (floor_millis(prev_ts), floor_millis(next_ts));
                if seen.is_some_and(|s| s.iter().any(|&t| t > lo && t < hi)) {
                    return;
                }
            }
        }

        if self.has_trailing && trailing.is_none() {
            // A trailing event may still come: wait for it unless leading already settled it.
            if self.has_leading && leading.is_none() {
                out.push(self.output(key, &partial));
                return;
            }
            let anchor = if self.has_leading {
                leading.unwrap_or(start_ts)
            } else {
                start_ts
            };
            let decided_at = self.span().map(|span| anchor.saturating_add(span));
            let index_at = self.indexed().then(|| self.index_at(anchor));
            let pending = Pending {
                partial,
                leading,
                trailing_after_ns: trailing_after,
                decided_at,
            };
            let state = self
                .keys
                .entry(key.clone())
                .or_insert_with(|| Box::new(KeyState::new(stages, has_missing)));
            state.pending.push(pending);
            self.live += 1;
            if let Some(deadline) = index_at {
                if self.index.schedule(&mut state.scheduled, deadline, key) {
                    self.compact_if_stale();
                }
            }
            return;
        }
        if self.keep(start_ts, last_ts, leading, trailing) {
            out.push(self.output(key, &partial));
        }
    }

    /// Elasticsearch's decision once leading/trailing hits are known (inner gaps passed).
    fn keep(
        &self,
        start_ts: i64,
        last_ts: i64,
        leading: Option<i64>,
        trailing: Option<i64>,
    ) -> bool {
        let bigger = |from: Option<i64>, to: Option<i64>| match (from, to) {
            (Some(f), Some(t)) => self
                .spec
                .maxspan_ns
                .is_some_and(|span| t.saturating_sub(f) > span),
            _ => true,
        };
        (trailing.is_none() && leading.is_none())
            || (leading.is_none() && self.has_leading)
            || (trailing.is_none() && self.has_trailing)
            || (self.has_leading && self.has_trailing && bigger(leading, trailing))
            || (self.has_leading && !self.has_trailing && bigger(leading, Some(last_ts)))
            || (!self.has_leading && self.has_trailing && bigger(Some(start_ts), trailing))
    }

    fn event_ts(&self, partial: &Partial<E>, stage: usize) -> i64 {
        let index = self.positive_index.get(stage).copied().unwrap_or(0);
        partial
            .events
            .get(index)
            .map_or(partial.start_ts, |(_, ts)| *ts)
    }

    fn record_missing(
        &mut self,
        stage: usize,
        key: &K,
        ts: i64,
        out: &mut Vec<SequenceOutput<E, K>>,
    ) {
        let stages = self.spec.missing.len();
        let has_missing = self.has_missing;
        let index_at = self.indexed().then(|| self.index_at(ts));
        let is_trailing = stage > self.last_positive;
        let state = self
            .keys
            .entry(key.clone())
            .or_insert_with(|| Box::new(KeyState::new(stages, has_missing)));
        if let Some(seen) = state.missing_seen.get_mut(stage) {
            if is_trailing {
                // A trailing event counts only after a candidate's last millisecond, and
                // candidates complete at the newest event's time or later: events before this
                // millisecond can never count again (and every event may be one of these).
                let floor = floor_millis(ts);
                while seen.front().is_some_and(|&t| t <= floor) {
                    seen.pop_front();
                    self.live = self.live.saturating_sub(1);
                }
            }
            seen.push_back(ts);
            self.live += 1;
        }
        let mut decided = Vec::new();
        if is_trailing && !state.pending.is_empty() {
            // The first trailing event after a candidate decides it.
            let mut i = 0;
            while i < state.pending.len() {
                if state
                    .pending
                    .get(i)
                    .is_some_and(|p| ts > p.trailing_after_ns)
                {
                    decided.push(state.pending.swap_remove(i));
                } else {
                    i += 1;
                }
            }
        }
        self.live = self.live.saturating_sub(decided.len());
        if let Some(deadline) = index_at {
            if self.index.schedule(&mut state.scheduled, deadline, key) {
                self.compact_if_stale();
            }
        }
        for pending in decided {
            let start_ts = pending.partial.start_ts;
            let last_ts = pending.partial.events.last().map_or(start_ts, |(_, t)| *t);
            if self.keep(start_ts, last_ts, pending.leading, Some(ts)) {
                out.push(self.output(key, &pending.partial));
            }
        }
    }

    fn output(&self, key: &K, partial: &Partial<E>) -> SequenceOutput<E, K> {
        let mut events = Vec::with_capacity(self.spec.missing.len());
        let mut positives = partial.events.iter();
        for &missing in &self.spec.missing {
            if missing {
                events.push(None);
            } else {
                events.push(positives.next().map(|(e, _)| e.clone()));
            }
        }
        SequenceOutput {
            key: key.clone(),
            events,
            order: partial.last_counter,
        }
    }

    /// Called after each index insertion: compacts once stale entries dominate.
    fn compact_if_stale(&mut self) {
        if self.index.len > 2 * self.keys.len() + 1024 {
            self.compact_index();
        }
    }

    /// Drops stale index entries (keys rescheduled earlier, or removed): without a span
    /// nothing else would ever remove them.
    fn compact_index(&mut self) {
        self.index.map.clear();
        for (key, state) in &self.keys {
            if let Some(deadline) = state.scheduled {
                self.index
                    .map
                    .entry(deadline)
                    .or_default()
                    .push(key.clone());
            }
        }
        self.index.len = self.index.map.values().map(Vec::len).sum();
        self.index.reset_earliest();
    }

    /// Evicts keys, oldest state first, until live entries are within the cap.
    fn enforce_cap(&mut self) {
        let Some(cap) = self.cap else {
            return;
        };
        while self.live > cap {
            let Some(entry) = self.index.map.first_entry() else {
                return;
            };
            let (at, mut keys) = entry.remove_entry();
            self.index.len = self.index.len.saturating_sub(keys.len());
            while self.live > cap {
                let Some(key) = keys.pop() else {
                    break;
                };
                if self.keys.get(&key).is_some_and(|s| s.scheduled == Some(at)) {
                    if let Some(state) = self.keys.remove(&key) {
                        let dropped = state.len();
                        self.live = self.live.saturating_sub(dropped);
                        self.evicted += dropped as u64;
                    }
                }
            }
            if !keys.is_empty() {
                // Still the earliest entry: `earliest` stays a lower bound.
                self.index.len += keys.len();
                self.index.map.insert(at, keys);
            }
        }
    }

    /// Moves event time forward: drops state that can no longer match and releases
    /// candidates whose trailing window has closed.
    pub fn advance_to(&mut self, watermark: i64, out: &mut Vec<SequenceOutput<E, K>>) {
        if watermark <= self.watermark {
            return;
        }
        self.watermark = watermark;
        let Some(span) = self.span() else {
            return;
        };
        if watermark <= self.index.earliest {
            // Nothing is due: the common case, as the watermark creeps on event by event.
            return;
        }
        while let Some(entry) = self.index.map.first_entry() {
            if *entry.key() >= watermark {
                break;
            }
            let (deadline, keys) = entry.remove_entry();
            self.index.len = self.index.len.saturating_sub(keys.len());
            for key in keys {
                self.expire_key(key, deadline, watermark, span, out);
            }
        }
        self.index.reset_earliest();
    }

    /// Whether [`SequenceMachine::advance_to`] up to `watermark` would find nothing to do
    /// (so a caller may skip it; a later call does the same work it would have done).
    pub fn idle_until(&self, watermark: i64) -> bool {
        watermark <= self.watermark || self.span().is_none() || watermark <= self.index.earliest
    }

    fn expire_key(
        &mut self,
        key: K,
        fired: i64,
        watermark: i64,
        span: i64,
        out: &mut Vec<SequenceOutput<E, K>>,
    ) {
        let Some(state) = self.keys.get_mut(&key) else {
            return;
        };
        if state.scheduled != Some(fired) {
            // A stale index entry: the key was rescheduled earlier or removed and re-created.
            return;
        }
        state.scheduled = None;
        let alive = |t: i64| watermark.saturating_sub(t) <= span;
        let mut dropped = 0;
        for slot in state.slots.iter_mut() {
            if slot.as_ref().is_some_and(|p| !alive(p.start_ts)) {
                *slot = None;
                dropped += 1;
            }
        }
        for seen in state.missing_seen.iter_mut() {
            while seen.front().is_some_and(|&t| !alive(t)) {
                seen.pop_front();
                dropped += 1;
            }
        }
        let mut released = Vec::new();
        let mut i = 0;
        while i < state.pending.len() {
            if state
                .pending
                .get(i)
                .and_then(|p| p.decided_at)
                .is_some_and(|d| d < watermark)
            {
                released.push(state.pending.swap_remove(i));
            } else {
                i += 1;
            }
        }
        released.sort_by_key(|p| p.partial.last_counter);
        self.live = self.live.saturating_sub(dropped + released.len());

        // Next deadline of what is left.
        let mut next: Option<i64> = None;
        let mut consider = |d: i64| next = Some(next.map_or(d, |n: i64| n.min(d)));
        for p in state.slots.iter().flatten() {
            consider(p.start_ts.saturating_add(span));
        }
        for seen in &state.missing_seen {
            if let Some(&t) = seen.front() {
                consider(t.saturating_add(span));
            }
        }
        for p in &state.pending {
            if let Some(d) = p.decided_at {
                consider(d);
            }
        }
        let empty = state.is_empty();
        // `scheduled` was cleared above, so a next deadline always goes in (the fired
        // entry's owned key moves back into the index).
        let rescheduled = match next {
            Some(next) if !empty => {
                state.scheduled = Some(next);
                true
            }
            _ => false,
        };
        for pending in released {
            out.push(self.output(&key, &pending.partial));
        }
        if empty {
            self.keys.remove(&key);
        } else if rescheduled {
            if let Some(next) = next {
                self.index.insert(next, key);
                self.compact_if_stale();
            }
        }
    }

    /// End of input: candidates still waiting for a trailing event are complete.
    pub fn finish(&mut self, out: &mut Vec<SequenceOutput<E, K>>) {
        let mut released = Vec::new();
        for (key, state) in self.keys.iter_mut() {
            for pending in state.pending.drain(..) {
                released.push((key.clone(), pending));
            }
        }
        released.sort_by_key(|(_, p)| p.partial.last_counter);
        for (key, pending) in released {
            out.push(self.output(&key, &pending.partial));
        }
        self.keys.clear();
        self.index = DeadlineIndex::default();
        self.live = 0;
    }
}

/// Keys by the deadline they are registered under (expiry, or age for eviction), with stale
/// entries left behind by rescheduling. (Keys held inline, `SmallVec<[K; 1]>`, saved an
/// allocation per entry but raised peak RSS by 12% with --no-dispatch: bigger tree nodes.)
#[derive(Debug)]
struct DeadlineIndex<K> {
    map: BTreeMap<i64, Vec<K>>,
    /// Entries in `map` (stale ones included), to know when to compact it.
    len: usize,
    /// At most the first deadline in `map` (`i64::MAX` when empty): lets
    /// [`SequenceMachine::advance_to`] see that nothing is due without walking the tree.
    earliest: i64,
}

impl<K> Default for DeadlineIndex<K> {
    fn default() -> Self {
        DeadlineIndex {
            map: BTreeMap::new(),
            len: 0,
            earliest: i64::MAX,
        }
    }
}

impl<K: Clone> DeadlineIndex<K> {
    fn insert(&mut self, deadline: i64, key: K) {
        self.map.entry(deadline).or_default().push(key);
        self.len += 1;
        self.earliest = self.earliest.min(deadline);
    }

    /// Registers a key (whose state's registration is `scheduled`) under `deadline` unless it
    /// is already registered no later. Returns whether an entry was added.
    fn schedule(&mut self, scheduled: &mut Option<i64>, deadline: i64, key: &K) -> bool {
        if scheduled.is_some_and(|s| s <= deadline) {
            return false;
        }
        *scheduled = Some(deadline);
        self.insert(deadline, key.clone());
        true
    }

    fn reset_earliest(&mut self) {
        self.earliest = self.map.first_key_value().map_or(i64::MAX, |(d, _)| *d);
    }
}

/// The start of the millisecond holding `ts_ns`: ES's missing-event range queries use
/// epoch milliseconds as bounds.
fn floor_millis(ts_ns: i64) -> i64 {
    ts_ns
        .div_euclid(NANOS_PER_MILLI)
        .saturating_mul(NANOS_PER_MILLI)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    /// Events are (id, ts in ms); keys are strings.
    struct Run {
        machine: SequenceMachine<u32, &'static str>,
        out: Vec<SequenceOutput<u32, &'static str>>,
    }

    impl Run {
        fn new(missing: &[bool], maxspan_ms: Option<i64>) -> Run {
            Run {
                machine: SequenceMachine::new(SequenceSpec {
                    missing: missing.to_vec(),
                    maxspan_ns: maxspan_ms.map(|m| m * MS),
                    lookback_ns: None,
                }),
                out: Vec::new(),
            }
        }

        fn push(&mut self, id: u32, ts_ms: i64, stages: &[usize], key: &'static str) {
            let hits = StageHits {
                stages: stages.iter().map(|&s| (s, key)).collect(),
                until: Vec::new(),
            };
            self.machine.push(&id, ts_ms * MS, &hits, &mut self.out);
        }

        fn until(&mut self, id: u32, ts_ms: i64, key: &'static str) {
            let hits = StageHits {
                stages: SmallVec::new(),
                until: vec![key],
            };
            self.machine.push(&id, ts_ms * MS, &hits, &mut self.out);
        }

        fn ids(&mut self) -> Vec<Vec<i64>> {
            self.machine.finish(&mut self.out);
            self.out
                .iter()
                .map(|s| s.events.iter().map(|e| e.map_or(-1, i64::from)).collect())
                .collect()
        }
    }

    #[test]
    fn newer_start_replaces_older() {
        // [x < 5] [x == 5]: 1..4 start, 5 completes with the latest start.
        let mut run = Run::new(&[false, false], None);
        for id in 1..=4 {
            run.push(id, i64::from(id), &[0], "k");
        }
        run.push(5, 5, &[1], "k");
        assert_eq!(run.ids(), vec![vec![4, 5]]);
    }

    #[test]
    fn one_event_extends_and_starts() {
        // Every event matches both stages: [1,2],[2,3],[3,4].
        let mut run = Run::new(&[false, false], None);
        for id in 1..=4 {
            run.push(id, i64::from(id), &[0, 1], "k");
        }
        assert_eq!(run.ids(), vec![vec![1, 2], vec![2, 3], vec![3, 4]]);
    }

    #[test]
    fn keys_are_separate() {
        let mut run = Run::new(&[false, false], None);
        run.push(1, 1, &[0], "a");
        run.push(2, 2, &[0], "b");
        run.push(3, 3, &[1], "a");
        run.push(4, 4, &[1], "c");
        assert_eq!(run.ids(), vec![vec![1, 3]]);
    }

    #[test]
    fn maxspan_rejects_and_expires() {
        let mut run = Run::new(&[false, false], Some(10));
        run.push(1, 0, &[0], "k");
        run.push(2, 11, &[1], "k");
        run.push(3, 20, &[0], "k");
        run.push(4, 30, &[1], "k");
        assert_eq!(run.ids(), vec![vec![3, 4]]);
    }

    #[test]
    fn expiry_drops_state() {
        let mut run = Run::new(&[false, false, false], Some(10));
        run.push(1, 0, &[0], "a");
        run.push(2, 1, &[0], "b");
        assert!(run.machine.state_len() >= 2);
        let mut out = Vec::new();
        run.machine.advance_to(100 * MS, &mut out);
        assert_eq!(run.machine.state_len(), 0);
        assert!(run.machine.keys.is_empty());
    }

    #[test]
    fn until_discards_partials() {
        let mut run = Run::new(&[false, false], None);
        run.push(1, 1, &[0], "k");
        run.until(2, 2, "k");
        run.push(3, 3, &[1], "k");
        run.push(4, 4, &[0], "k");
        run.push(5, 5, &[1], "k");
        assert_eq!(run.ids(), vec![vec![4, 5]]);
    }

    #[test]
    fn until_event_that_advances_a_partial_still_ends_it() {
        let mut run = Run::new(&[false, false, false], None);
        run.push(1, 1, &[0], "k");
        let hits = StageHits {
            stages: smallvec::smallvec![(1, "k")],
            until: vec!["k"],
        };
        run.machine.push(&2, 2 * MS, &hits, &mut run.out);
        run.push(3, 3, &[2], "k");
        assert!(run.ids().is_empty());
        // An until event that completes a sequence does not undo it.
        let mut run = Run::new(&[false, false], None);
        run.push(1, 1, &[0], "k");
        let hits = StageHits {
            stages: smallvec::smallvec![(1, "k")],
            until: vec!["k"],
        };
        run.machine.push(&2, 2 * MS, &hits, &mut run.out);
        assert_eq!(run.ids(), vec![vec![1, 2]]);
    }

    #[test]
    fn runs_expand_into_consecutive_stages() {
        // [a] with runs=2 [b] → stages 0,1 both `a`.
        let mut run = Run::new(&[false, false, false], None);
        run.push(1, 1, &[0, 1], "k");
        run.push(2, 2, &[0, 1], "k");
        run.push(3, 3, &[2], "k");
        assert_eq!(run.ids(), vec![vec![1, 2, 3]]);
    }

    #[test]
    fn inner_missing_event_discards() {
        let mut run = Run::new(&[false, true, false], Some(1000));
        run.push(1, 1, &[0], "k");
        run.push(2, 2, &[1], "k");
        run.push(3, 3, &[2], "k");
        run.push(4, 4, &[0], "k");
        run.push(5, 5, &[2], "k");
        assert_eq!(run.ids(), vec![vec![4, -1, 5]]);
    }

    #[test]
    fn inner_missing_in_same_millisecond_is_not_in_gap() {
        let mut run = Run::new(&[false, true, false], Some(1000));
        run.push(1, 1, &[0], "k");
        run.push(2, 1, &[1], "k");
        run.push(3, 3, &[2], "k");
        assert_eq!(run.ids(), vec![vec![1, -1, 3]]);
    }

    #[test]
    fn leading_missing_within_maxspan_discards() {
        let mut run = Run::new(&[true, false, false], Some(10));
        run.push(1, 1, &[0], "k");
        run.push(2, 5, &[1], "k");
        run.push(3, 6, &[2], "k"); // leading at 1, last at 6: within 10 → discarded
        run.push(4, 30, &[1], "k");
        run.push(5, 31, &[2], "k"); // leading at 1 is 30 ms before: kept
        assert_eq!(run.ids(), vec![vec![-1, 4, 5]]);
    }

    #[test]
    fn trailing_missing_waits_for_the_window() {
        let mut run = Run::new(&[false, false, true], Some(10));
        run.push(1, 1, &[0], "k");
        run.push(2, 2, &[1], "k");
        assert!(run.out.is_empty());
        run.push(3, 5, &[2], "k"); // trailing within 10 of start → discarded
        run.push(4, 20, &[0], "k");
        run.push(5, 21, &[1], "k");
        run.push(6, 40, &[2], "k"); // 20 after start → kept
        assert_eq!(run.ids(), vec![vec![4, 5, -1]]);
    }

    #[test]
    fn trailing_candidate_released_by_watermark() {
        let mut run = Run::new(&[false, false, true], Some(10));
        run.push(1, 1, &[0], "k");
        run.push(2, 2, &[1], "k");
        let mut out = Vec::new();
        run.machine.advance_to(12 * MS, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(run.machine.state_len(), 0);
    }

    #[test]
    fn leading_and_trailing_need_both_within_maxspan() {
        // Leading at 0, trailing at 21 with maxspan 20: kept.
        let mut run = Run::new(&[true, false, false, true], Some(20));
        run.push(1, 0, &[0], "k");
        run.push(2, 5, &[1], "k");
        run.push(3, 6, &[2], "k");
        run.push(4, 21, &[3], "k");
        assert_eq!(run.ids(), vec![vec![-1, 2, 3, -1]]);
        // Leading at 0, trailing at 19: discarded.
        let mut run = Run::new(&[true, false, false, true], Some(20));
        run.push(1, 0, &[0], "k");
        run.push(2, 5, &[1], "k");
        run.push(3, 6, &[2], "k");
        run.push(4, 19, &[3], "k");
        assert_eq!(run.ids(), Vec::<Vec<i64>>::new());
        // No leading: kept whatever trails.
        let mut run = Run::new(&[true, false, false, true], Some(20));
        run.push(2, 5, &[1], "k");
        run.push(3, 6, &[2], "k");
        run.push(4, 7, &[3], "k");
        assert_eq!(run.ids(), vec![vec![-1, 2, 3, -1]]);
    }

    #[test]
    fn single_positive_stage_with_missing() {
        let mut run = Run::new(&[false, true], Some(10));
        run.push(1, 1, &[0], "k");
        run.push(2, 2, &[1], "k");
        run.push(3, 30, &[0], "k");
        assert_eq!(run.ids(), vec![vec![3, -1]]);
    }

    /// The same semantics without any expiry: slots per (stage, key), maxspan checked only
    /// when matching. Expiry must never change what the machine emits.
    fn reference(
        stages: usize,
        maxspan: i64,
        events: &[(u32, i64, Vec<usize>, u8, bool)],
    ) -> Vec<Vec<u32>> {
        use std::collections::HashMap;
        let mut slots: HashMap<(usize, u8), (i64, Vec<u32>)> = HashMap::new();
        let mut out = Vec::new();
        for (id, ts, hit_stages, key, until) in events {
            for &stage in hit_stages.iter().rev() {
                let partial = if stage == 0 {
                    Some((*ts, vec![*id]))
                } else {
                    slots
                        .remove(&(stage - 1, *key))
                        .and_then(|(start, mut ids)| {
                            (ts - start <= maxspan).then(|| {
                                ids.push(*id);
                                (start, ids)
                            })
                        })
                };
                if let Some((start, ids)) = partial {
                    if stage + 1 == stages {
                        out.push(ids);
                    } else {
                        slots.insert((stage, *key), (start, ids));
                    }
                }
            }
            if *until {
                slots.retain(|(_, k), _| k != key);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn expiry_never_changes_results(
            raw in proptest::collection::vec((0i64..5, proptest::collection::vec(0usize..3, 0..3), 0u8..3, proptest::bool::weighted(0.1)), 0..60),
            maxspan in 1i64..8,
        ) {
            let mut ts = 0;
            let mut events = Vec::new();
            for (i, (step, mut stages, key, until)) in raw.into_iter().enumerate() {
                ts += step;
                stages.sort_unstable();
                stages.dedup();
                events.push((i as u32, ts, stages, key, until));
            }
            let mut machine: SequenceMachine<u32, u8> = SequenceMachine::new(SequenceSpec {
                missing: vec![false; 3],
                maxspan_ns: Some(maxspan * MS),
                lookback_ns: None,
            });
            let mut out = Vec::new();
            for (id, ts, stages, key, until) in &events {
                let hits = StageHits {
                    stages: stages.iter().map(|&s| (s, *key)).collect(),
                    until: if *until { vec![*key] } else { vec![] },
                };
                machine.push(id, ts * MS, &hits, &mut out);
                proptest::prop_assert_eq!(machine.state_len(), machine.recount());
            }
            machine.finish(&mut out);
            let got: Vec<Vec<u32>> = out.iter().map(|s| s.events.iter().flatten().copied().collect()).collect();
            proptest::prop_assert_eq!(got, reference(3, maxspan, &events));
        }
    }

    /// ES's rule for a trailing missing stage, worked out over the whole stream at once: a
    /// candidate of the positive stages is discarded when the first event of the missing stage
    /// (same key) after its last event's millisecond comes within maxspan of its first event.
    fn trailing_reference(maxspan: i64, events: &[(u32, i64, Vec<usize>, u8)]) -> Vec<Vec<u32>> {
        use std::collections::HashMap;
        let mut slots: HashMap<u8, (i64, u32)> = HashMap::new();
        let mut out = Vec::new();
        for (id, ts, stages, key) in events {
            if stages.contains(&1) {
                if let Some((start, first)) = slots.remove(key) {
                    if ts - start <= maxspan {
                        let after = floor_millis(*ts);
                        let trailing = events
                            .iter()
                            .filter(|(_, t, s, k)| k == key && s.contains(&2) && *t > after)
                            .map(|(_, t, _, _)| *t)
                            .min();
                        if trailing.is_none_or(|t| t - start > maxspan) {
                            out.push(vec![first, *id]);
                        }
                    }
                }
            }
            if stages.contains(&0) {
                slots.insert(*key, (*ts, *id));
            }
        }
        out.sort();
        out
    }

    proptest::proptest! {
        /// Trailing missing-stage events are forgotten once they can no longer count (older than
        /// the newest event's millisecond); results stay those of the whole-stream rule, at
        /// millisecond boundaries and within one millisecond too.
        #[test]
        fn trailing_missing_events_match_the_whole_stream_rule(
            raw in proptest::collection::vec((0usize..6, proptest::collection::vec(0usize..3, 0..3), 0u8..2), 0..80),
            maxspan_ms in 1i64..6,
        ) {
            // Steps of zero, a nanosecond, half a millisecond, a millisecond and more.
            const STEPS: [i64; 6] = [0, 1, MS / 2, MS - 1, MS, 3 * MS];
            let mut ts = 7 * MS;
            let mut events = Vec::new();
            for (i, (step, mut stages, key)) in raw.into_iter().enumerate() {
                ts += STEPS[step];
                stages.sort_unstable();
                stages.dedup();
                events.push((i as u32, ts, stages, key));
            }
            let maxspan = maxspan_ms * MS;
            let mut machine: SequenceMachine<u32, u8> = SequenceMachine::new(SequenceSpec {
                missing: vec![false, false, true],
                maxspan_ns: Some(maxspan),
                lookback_ns: None,
            });
            let mut out = Vec::new();
            for (id, ts, stages, key) in &events {
                let hits = StageHits {
                    stages: stages.iter().map(|&s| (s, *key)).collect(),
                    until: vec![],
                };
                machine.push(id, *ts, &hits, &mut out);
                proptest::prop_assert_eq!(machine.state_len(), machine.recount());
            }
            machine.finish(&mut out);
            let mut got: Vec<Vec<u32>> = out.iter().map(|s| s.events.iter().flatten().copied().collect()).collect();
            got.sort();
            proptest::prop_assert_eq!(got, trailing_reference(maxspan, &events));
        }
    }

    impl<E: Clone, K: Clone + Eq + Hash> SequenceMachine<E, K> {
        /// The live count the slow way, to check the incremental one.
        fn recount(&self) -> usize {
            self.keys.values().map(|s| s.len()).sum()
        }
    }

    /// Five stages, three of them missing events, with a look-back: the machine of the property tests
    /// below.
    fn missing_stages_machine(
        cap: Option<usize>,
        maxspan: Option<i64>,
    ) -> SequenceMachine<u32, u8> {
        let mut machine = SequenceMachine::new(SequenceSpec {
            missing: vec![true, false, true, false, true],
            maxspan_ns: maxspan.map(|m| m * MS),
            lookback_ns: Some(10 * MS),
        });
        machine.set_cap(cap);
        machine
    }

    /// An event matching `stages` (deduplicated) with join key `key`, and the `until` condition when asked.
    fn key_hits(mut stages: Vec<usize>, key: u8, until: bool) -> StageHits<u8> {
        stages.sort_unstable();
        stages.dedup();
        StageHits {
            stages: stages.iter().map(|&s| (s, key)).collect(),
            until: if until { vec![key] } else { vec![] },
        }
    }

    proptest::proptest! {
        /// With missing stages, a cap and a look-back, the incremental count stays exact and
        /// the cap holds after every event.
        #[test]
        fn live_count_is_exact_and_capped(
            raw in proptest::collection::vec((0i64..4, proptest::collection::vec(0usize..4, 0..3), 0u8..6, proptest::bool::weighted(0.1)), 0..80),
            cap in proptest::option::of(1usize..6),
            maxspan in proptest::option::of(1i64..8),
        ) {
            let mut machine = missing_stages_machine(cap, maxspan);
            let mut out = Vec::new();
            let mut ts = 0;
            for (i, (step, stages, key, until)) in raw.into_iter().enumerate() {
                ts += step;
                let hits = key_hits(stages, key, until);
                machine.push(&(i as u32), ts * MS, &hits, &mut out);
                proptest::prop_assert_eq!(machine.state_len(), machine.recount());
                if let Some(cap) = cap {
                    proptest::prop_assert!(machine.state_len() <= cap);
                }
            }
            machine.advance_to(ts * MS + 100 * MS, &mut out);
            proptest::prop_assert_eq!(machine.state_len(), 0);
            proptest::prop_assert_eq!(machine.recount(), 0);
        }
    }

    proptest::proptest! {
        /// `earliest` lets advance_to (and callers, through idle_until) skip the index: it must
        /// never skip due work. After every advance nothing is left in the index below the
        /// watermark, and `earliest` is at most the first deadline.
        #[test]
        fn skipped_advances_leave_nothing_due(
            raw in proptest::collection::vec((0i64..4, proptest::collection::vec(0usize..4, 0..3), 0u8..6, 0i64..6), 0..80),
            cap in proptest::option::of(1usize..6),
            maxspan in proptest::option::of(1i64..8),
        ) {
            let mut machine = missing_stages_machine(cap, maxspan);
            let mut out = Vec::new();
            let mut ts = 0;
            for (i, (step, stages, key, lag)) in raw.into_iter().enumerate() {
                ts += step;
                let hits = key_hits(stages, key, false);
                machine.push(&(i as u32), ts * MS, &hits, &mut out);
                let watermark = (ts - lag) * MS;
                let idle = machine.idle_until(watermark);
                let before = machine.state_len();
                let emitted = out.len();
                machine.advance_to(watermark, &mut out);
                if idle {
                    proptest::prop_assert_eq!(out.len(), emitted);
                    proptest::prop_assert_eq!(machine.state_len(), before);
                }
                let first = machine.index.map.first_key_value().map(|(d, _)| *d);
                proptest::prop_assert!(machine.index.earliest <= first.unwrap_or(i64::MAX));
                let due = first.is_some_and(|d| d < watermark.max(machine.watermark));
                proptest::prop_assert!(!due, "index entry {:?} left below {}", first, watermark);
                out.clear();
            }
        }
    }

    #[test]
    fn cap_evicts_oldest_key_and_counts() {
        let mut machine: SequenceMachine<u32, u32> = SequenceMachine::new(SequenceSpec {
            missing: vec![false, false],
            maxspan_ns: None,
            lookback_ns: None,
        });
        machine.set_cap(Some(3));
        let mut out = Vec::new();
        for i in 0..10u32 {
            let hits = StageHits {
                stages: smallvec::smallvec![(0, i)],
                until: vec![],
            };
            machine.push(&i, i64::from(i) * MS, &hits, &mut out);
            assert!(machine.state_len() <= 3);
        }
        assert_eq!(machine.evicted(), 7);
        // The newest three keys survive: 7, 8 and 9 complete, older keys do not.
        for i in 0..10u32 {
            let hits = StageHits {
                stages: smallvec::smallvec![(1, i)],
                until: vec![],
            };
            machine.push(&(100 + i), 100 * MS, &hits, &mut out);
        }
        let firsts: Vec<u32> = out.iter().filter_map(|s| s.events[0]).collect();
        assert_eq!(firsts, vec![7, 8, 9]);
        assert_eq!(machine.state_len(), 0);
    }

    #[test]
    fn index_stays_compact_without_a_span() {
        // Keys created and completed again and again leave stale index entries behind;
        // without a span nothing expires them, so the index must compact itself.
        let mut machine: SequenceMachine<u32, u32> = SequenceMachine::new(SequenceSpec {
            missing: vec![false, false],
            maxspan_ns: None,
            lookback_ns: None,
        });
        machine.set_cap(Some(1_000_000));
        let mut out = Vec::new();
        for i in 0..50_000u32 {
            let stage = (i % 2) as usize;
            let hits = StageHits {
                stages: smallvec::smallvec![(stage, 1)],
                until: vec![],
            };
            machine.push(&i, i64::from(i) * MS, &hits, &mut out);
        }
        assert_eq!(out.len(), 25_000);
        assert!(
            machine.index.len < 2_000,
            "index grew to {}",
            machine.index.len
        );
    }

    #[test]
    fn lookback_bounds_state_without_maxspan() {
        let mut machine: SequenceMachine<u32, &str> = SequenceMachine::new(SequenceSpec {
            missing: vec![false, false],
            maxspan_ns: None,
            lookback_ns: Some(100 * MS),
        });
        let mut out = Vec::new();
        for i in 0..1000u32 {
            let hits = StageHits {
                stages: smallvec::smallvec![(0, if i % 2 == 0 { "a" } else { "b" })],
                until: vec![],
            };
            machine.push(&i, i64::from(i) * MS, &hits, &mut out);
        }
        // Only keys a and b, one partial each.
        assert_eq!(machine.state_len(), 2);
        machine.advance_to(10_000 * MS, &mut out);
        assert_eq!(machine.state_len(), 0);
        assert!(machine.index.map.is_empty());
    }
}
