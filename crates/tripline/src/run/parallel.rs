//! The event loop of `tripline run` over batches of lines: parsing and rule dispatch on N threads, then
//! matching with the rules sharded across the same threads, alerts merged back into the order a
//! one-event-at-a-time loop over every rule would write them.
//!
//! Per batch:
//! 1. (parallel, lines split in chunks) each line is parsed once per group and offered to the group's
//!    [`Dispatcher`], which names the rules that can match it;
//! 2. (sequential, cheap) per line and group: index selection (memoised per distinct index-pattern set and
//!    event location), out-of-order counting, and whether event time moved enough to expire state;
//! 3. (parallel, rules split by `index % threads`) each thread pushes the events to its rules, in line
//!    order, collecting alerts tagged with (line, group, rule position);
//! 4. alerts are stably sorted by that tag and written: the same bytes as with one thread.
//!
//! With more than one thread the next batch is read meanwhile, on a reading thread (`read_ahead`).
//!
//! Out-of-order arrivals are counted per group, for the run summary only: the rules' stream matchers
//! reorder (or count as late) what their own rules see.

use std::collections::HashMap;
use std::sync::Arc;

use engine::dispatch::{DispatchScratch, Dispatcher};
use engine::event::Event;
use engine::plan::Plan;
use engine::runtime::{Match, Offer};
use rules::{EventLocation, IndexSelector};
use serde_json::{Map, Value as Json};

use super::{bad_line, collect_alerts, Group, LiveRule, Stats};
use crate::cli::RunArgs;
use crate::input::Position;
use crate::output::Output;

/// Lines parsed and matched together. Large enough that thread hand-offs are rare, small enough to keep
/// memory flat (a batch holds its lines and their events).
pub(super) const BATCH_LINES: usize = 512;
/// Rule shards per matching thread (see `run_batch`, phase 3).
const SHARDS_PER_THREAD: usize = 2;
/// Event time a group must move before its matchers are told (expiring state they no longer need).
const ADVANCE_EVERY_NS: i64 = 1_000_000_000;
/// Distinct event locations whose index selection is remembered per group.
const SELECTION_CACHE_LIMIT: usize = 4096;

/// A document line waiting in the batch.
pub(super) struct Line {
    /// Where the line's text lies in the batch's text buffer (copied out by the parsing thread).
    pub span: std::ops::Range<usize>,
    pub position: Position,
    /// Arrival number (the event's `seq`).
    pub seq: u64,
}

/// Lines read but not yet matched, in one reused text buffer (the reading thread does not allocate).
#[derive(Default)]
pub(super) struct Lines {
    lines: Vec<Line>,
    /// The lines' text, one after another.
    text: String,
    len: usize,
}

impl Lines {
    /// Adds a line; true when `capacity` lines are held.
    pub(super) fn push(
        &mut self,
        text: &str,
        position: &Position,
        seq: u64,
        capacity: usize,
    ) -> bool {
        let span = self.text.len()..self.text.len() + text.len();
        self.text.push_str(text);
        match self.lines.get_mut(self.len) {
            Some(line) => {
                line.span = span;
                line.position.clone_from(position);
                line.seq = seq;
            }
            None => self.lines.push(Line {
                span,
                position: position.clone(),
                seq,
            }),
        }
        self.len += 1;
        self.len >= capacity
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empties the buffer, keeping its allocations.
    pub(super) fn clear(&mut self) {
        self.len = 0;
        self.text.clear();
    }
}

/// Lines read but not yet matched, and what matching them needs from batch to batch.
pub(super) struct Batch {
    pending: Lines,
    /// Parsed, waiting to be matched in the next step (with threads).
    staged: Option<Staged>,
    /// The events of the batch matched last, freed by their parsing workers in the next step.
    garbage: Vec<Vec<Parsed>>,
    capacity: usize,
    threads: usize,
    alerts: Vec<Map<String, Json>>,
    bad: Vec<(Position, String)>,
    /// Per parsing thread, kept from batch to batch (dispatch remembers per scratch).
    scratches: Vec<DispatchScratch>,
    /// Worker threads kept for the whole run (with more than one thread): a thread's allocator heap
    /// and caches outlive the batch.
    pool: Option<rayon::ThreadPool>,
}

impl Batch {
    pub(super) fn new(threads: usize, capacity: usize) -> Batch {
        Batch {
            pending: Lines::default(),
            staged: None,
            garbage: Vec::new(),
            capacity: capacity.max(1),
            threads: threads.max(1),
            alerts: Vec::new(),
            bad: Vec::new(),
            scratches: Vec::new(),
            pool: (threads > 1)
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(threads.clamp(1, 64))
                        .thread_name(|i| format!("tripline-worker-{i}"))
                        .build()
                        .ok()
                })
                .flatten(),
        }
    }

    /// Lines per batch.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Adds a line; true when the batch is full and should be flushed.
    pub(super) fn push(&mut self, text: &str, position: &Position, seq: u64) -> bool {
        self.pending.push(text, position, seq, self.capacity)
    }

    /// Matches the batched lines (and any parsed batch still waiting), writes their alerts and reports
    /// their bad lines (an error under `--strict`, after the lines before the bad one have run).
    pub(super) fn flush(
        &mut self,
        groups: &[Group],
        routers: &mut [Router],
        live: &mut [LiveRule],
        output: &mut Output,
        stats: &mut Stats,
        args: &RunArgs,
    ) -> anyhow::Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let result = self.run_lines(&mut pending, groups, routers, live, output, stats, args);
        self.pending = pending;
        result?;
        self.drain(groups, routers, live, output, stats, args)
    }

    /// Matches the batch parsed and still waiting (with threads), not the lines batched after it.
    pub(super) fn drain(
        &mut self,
        groups: &[Group],
        routers: &mut [Router],
        live: &mut [LiveRule],
        output: &mut Output,
        stats: &mut Stats,
        args: &RunArgs,
    ) -> anyhow::Result<()> {
        while self.staged.is_some() {
            self.step(None, groups, routers, live, args.strict);
            self.write_out(output, stats, args)?;
        }
        Ok(())
    }

    /// Takes lines read elsewhere (see `read_ahead`) into the pipeline; leaves `pending` empty. With
    /// threads their matching waits for the next call (or [`Batch::flush`]).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_lines(
        &mut self,
        pending: &mut Lines,
        groups: &[Group],
        routers: &mut [Router],
        live: &mut [LiveRule],
        output: &mut Output,
        stats: &mut Stats,
        args: &RunArgs,
    ) -> anyhow::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let lines = pending.lines.get(..pending.len).unwrap_or_default();
        self.step(
            Some((lines, pending.text.as_str())),
            groups,
            routers,
            live,
            args.strict,
        );
        pending.clear();
        self.write_out(output, stats, args)
    }

    /// Writes the alerts of the step just run and reports its bad lines.
    fn write_out(
        &mut self,
        output: &mut Output,
        stats: &mut Stats,
        args: &RunArgs,
    ) -> anyhow::Result<()> {
        let written = output.alerts(&self.alerts);
        self.alerts.clear();
        written?;
        for (position, why) in self.bad.drain(..) {
            bad_line(stats, args, &position, &why)?;
        }
        Ok(())
    }
}

/// Per group: which rules can see which events.
pub(super) struct Router {
    dispatcher: Dispatcher,
    /// Offer every event to every rule (the plain path, for comparisons).
    plain: bool,
    selectors: Vec<IndexSelector>,
    /// Per rule position in the group: its index in `selectors`.
    rule_selector: Vec<usize>,
    /// Per event location: which selectors select it.
    /// Keyed by the hash of the location's parts (`_index`, `data_stream.*`), so that a known location
    /// is found without building its names.
    locations: HashMap<u64, Vec<KnownLocation>>,
    location_hasher: ahash::RandomState,
    /// The newest event time routed, and how many older events came after it.
    newest: Option<i64>,
    out_of_order: u64,
    last_advance: Option<i64>,
    /// Events routed and candidate rules offered (for `TRIPLINE_DISPATCH_STATS`).
    events_seen: u64,
    candidates_offered: u64,
    /// Per rule position in the group: its plan (for [`Router::offers`]).
    plans: Vec<Arc<Plan>>,
}

impl Router {
    /// One router per group, in order; their dispatchers share one atom index, so that one lookup
    /// of a document's fields serves every group (see `parse_chunk`).
    pub(super) fn for_groups(groups: &[Group], live: &[LiveRule], plain: bool) -> Vec<Router> {
        let plans: Vec<Vec<&engine::Plan>> = groups
            .iter()
            .map(|group| {
                group
                    .rules
                    .iter()
                    .filter_map(|&i| live.get(i))
                    .map(|rule| rule.matcher.plan().as_ref())
                    .collect()
            })
            .collect();
        let plans: Vec<&[&engine::Plan]> = plans.iter().map(Vec::as_slice).collect();
        let dispatchers = match groups.first() {
            Some(group) => Dispatcher::shared(&plans, &group.fields),
            None => Vec::new(),
        };
        groups
            .iter()
            .zip(dispatchers)
            .map(|(group, dispatcher)| Router::new(group, live, plain, dispatcher))
            .collect()
    }

    fn new(group: &Group, live: &[LiveRule], plain: bool, dispatcher: Dispatcher) -> Router {
        let mut selectors: Vec<IndexSelector> = Vec::new();
        let mut rule_selector = Vec::new();
        let mut plans = Vec::new();
        for rule in group.rules.iter().filter_map(|&i| live.get(i)) {
            plans.push(Arc::clone(rule.matcher.plan()));
            let index = match selectors.iter().position(|s| *s == rule.rule.index) {
                Some(i) => i,
                None => {
                    selectors.push(rule.rule.index.clone());
                    selectors.len() - 1
                }
            };
            rule_selector.push(index);
        }
        Router {
            dispatcher,
            plain,
            newest: None,
            out_of_order: 0,
            selectors,
            rule_selector,
            locations: HashMap::new(),
            location_hasher: ahash::RandomState::new(),
            last_advance: None,
            events_seen: 0,
            candidates_offered: 0,
            plans,
        }
    }

    /// One line on how well dispatch narrows the rules (printed when `TRIPLINE_DISPATCH_STATS` is set).
    pub(super) fn stats_line(&self, group: &Group) -> String {
        let per_event = if self.events_seen == 0 {
            0.0
        } else {
            self.candidates_offered as f64 / self.events_seen as f64
        };
        format!(
            "dispatch: group `{}`: {} rules ({} anchored on constants), {} events, {:.1} rules offered per event",
            group.fields.path(group.time.id),
            self.rule_selector.len(),
            self.dispatcher.anchored_plans(),
            self.events_seen,
            per_event
        ) + &self
            .dispatcher
            .describe(&group.fields)
            .iter()
            .map(|l| format!("\n  {l}"))
            .collect::<String>()
    }

    /// Events that arrived older than an event routed before them.
    pub(super) fn out_of_order(&self) -> u64 {
        self.out_of_order
    }

    /// Looks the document's fields up once for every group's dispatcher (they share one index).
    fn prepare(&self, document: &Event, scratch: &mut DispatchScratch) {
        if !self.plain {
            self.dispatcher.prepare(document, scratch);
        }
    }

    /// The rules `named` (positions in the group) with what `event` means to each, worked out here on
    /// the parsing thread, where the event's fields are still in cache: event rules whose predicate
    /// fails are left out. The plain path leaves all evaluation to the matchers.
    fn offers(&self, event: &Arc<Event>, named: &[u32]) -> Vec<(u32, Option<Offer>)> {
        if self.plain {
            return named.iter().map(|&position| (position, None)).collect();
        }
        named
            .iter()
            .filter_map(|&position| {
                let plan = self.plans.get(position as usize)?;
                match engine::runtime::offer(plan, event) {
                    Offer::Event(false) => None,
                    offer => Some((position, Some(offer))),
                }
            })
            .collect()
    }

    /// `event`: this group's view of the document last given to `prepare` (same fields).
    fn candidates(&self, event: &Event, scratch: &mut DispatchScratch, out: &mut Vec<u32>) {
        if self.plain {
            out.clear();
            out.extend(0..u32::try_from(self.rule_selector.len()).unwrap_or(u32::MAX));
        } else {
            self.dispatcher.candidates_prepared(event, scratch, out);
        }
    }

    fn route(&mut self, group: &Group, event: &Event) -> Routing {
        let [kind, dataset, namespace] = group.data_stream.map(|id| event.get(id).first().as_str());
        let parts = [event.index(), kind, dataset, namespace];
        let selected = self.selection(parts);
        let time = event.timestamp.unwrap_or(i64::MIN);
        if self.newest.is_some_and(|newest| time < newest) {
            self.out_of_order += 1;
        } else {
            self.newest = Some(time);
        }
        let advance = match self.last_advance {
            None => {
                self.last_advance = Some(time);
                false
            }
            Some(last) if time.saturating_sub(last) >= ADVANCE_EVERY_NS => {
                self.last_advance = Some(time);
                true
            }
            Some(_) => false,
        };
        Routing {
            selected,
            advance,
            time,
        }
    }
}

/// `_index` and `data_stream.{type,dataset,namespace}` of an event.
type LocationParts = [Option<Box<str>>; 4];
/// A location seen before and which selectors select it.
type KnownLocation = (LocationParts, Arc<[bool]>);

impl Router {
    /// Which selectors select an event at this location (remembered per location).
    fn selection(&mut self, parts: [Option<&str>; 4]) -> Arc<[bool]> {
        let hash = self.location_hasher.hash_one(parts);
        let known = self.locations.get(&hash).and_then(|bucket| {
            bucket
                .iter()
                .find(|(key, _)| key.iter().map(Option::as_deref).eq(parts))
        });
        if let Some((_, selected)) = known {
            return Arc::clone(selected);
        }
        let [index, kind, dataset, namespace] = parts;
        let location = EventLocation::from_parts(index, kind, dataset, namespace);
        let selected: Arc<[bool]> = self
            .selectors
            .iter()
            .map(|s| s.selects(&location))
            .collect();
        // Bounded: a stream of ever-new index names must not grow the cache without end.
        if self.locations.len() >= SELECTION_CACHE_LIMIT {
            self.locations.clear();
        }
        self.locations
            .entry(hash)
            .or_default()
            .push((parts.map(|p| p.map(Box::from)), Arc::clone(&selected)));
        selected
    }
}

struct Routing {
    selected: Arc<[bool]>,
    advance: bool,
    time: i64,
}

/// One line after phase 1: per group its event and candidate rule positions, or why it failed.
#[derive(Default)]
struct Parsed {
    events: Vec<Option<Offered>>,
    failure: Option<String>,
}

/// A group's event and the rules it goes to, each with its [`Offer`] when phase 1 worked it out
/// (`None` on the plain path: the rule's matcher evaluates the event itself).
struct Offered {
    event: Arc<Event>,
    candidates: Vec<(u32, Option<Offer>)>,
    /// Rules dispatch named (event rules whose predicate failed are then left out of `candidates`).
    dispatched: u32,
}

/// An alert and where the one-threaded loop would have written it.
type Tagged = ((u32, u32, u32), Map<String, Json>);

/// Phase 2: routing of parsed lines, in line order; stops after the first bad line when asked to.
/// Returns the routings and how many lines go on to matching.
fn route_lines(
    positions: &[&Position],
    parsed: &[&Parsed],
    groups: &[Group],
    routers: &mut [Router],
    stop_at_first_bad: bool,
    bad: &mut Vec<(Position, String)>,
) -> (Vec<Vec<Option<Routing>>>, usize) {
    let mut routings: Vec<Vec<Option<Routing>>> = Vec::with_capacity(parsed.len());
    let mut last = parsed.len();
    for (index, (position, result)) in positions.iter().zip(parsed).enumerate() {
        let mut per_group = Vec::with_capacity(groups.len());
        for ((group, router), event) in groups.iter().zip(routers.iter_mut()).zip(&result.events) {
            if let Some(offered) = event {
                router.events_seen += 1;
                router.candidates_offered += u64::from(offered.dispatched);
            }
            per_group.push(
                event
                    .as_ref()
                    .map(|offered| router.route(group, &offered.event)),
            );
        }
        routings.push(per_group);
        if let Some(why) = &result.failure {
            bad.push(((*position).clone(), why.clone()));
            if stop_at_first_bad {
                last = index + 1;
                break;
            }
        }
    }
    (routings, last)
}

/// The rules split into shards (`index % count`), taken in turn by whichever thread is free: one
/// busy rule does not leave the other threads idle until the batch ends.
struct Shards<'r> {
    shards: Vec<std::sync::Mutex<Vec<Option<&'r mut LiveRule>>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl<'r> Shards<'r> {
    fn new(live: &'r mut [LiveRule], count: usize) -> Shards<'r> {
        let count = count.max(1);
        let mut shards: Vec<Vec<Option<&mut LiveRule>>> = (0..count)
            .map(|_| std::iter::repeat_with(|| None).take(live.len()).collect())
            .collect();
        for (index, rule) in live.iter_mut().enumerate() {
            if let Some(slot) = shards
                .get_mut(index % count)
                .and_then(|shard| shard.get_mut(index))
            {
                *slot = Some(rule);
            }
        }
        Shards {
            shards: shards.into_iter().map(std::sync::Mutex::new).collect(),
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Runs `work` over shards until none is left.
    fn take(&self, work: &Work<'_>) -> Vec<Tagged> {
        let mut out = Vec::new();
        loop {
            let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(shard) = self.shards.get(i) else {
                break;
            };
            // Each shard is taken by exactly one thread: the lock is never contended.
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            out.extend(work.run(&mut shard));
        }
        out
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Batch {
    /// One step of the batch pipeline: matches the batch parsed before (if any) and parses `next`
    /// (if any), appending alerts in output order and bad lines.
    ///
    /// With one thread a batch is parsed and matched at once. With a pool, matching runs one batch
    /// behind parsing, both in one round on the workers: worker `i` frees the events it parsed two
    /// batches ago, parses chunk `i` of `next`, then takes rule shards of the batch before until none is
    /// left. Parsing (equal chunks) and matching (shards taken as threads come free) then leave no
    /// thread waiting at a phase boundary. Worker `i` always parses with scratch `i` (its dispatch
    /// memo stays in one core's cache) and frees what it allocated (far cheaper for the allocator
    /// than a free from another thread).
    fn step(
        &mut self,
        next: Option<(&[Line], &str)>,
        groups: &[Group],
        routers: &mut [Router],
        live: &mut [LiveRule],
        stop_at_first_bad: bool,
    ) {
        self.scratches
            .resize_with(self.threads.clamp(1, 64), DispatchScratch::default);
        let Some(pool) = self.pool.as_ref().filter(|_| self.scratches.len() > 1) else {
            let (Some((lines, text)), Some(scratch)) = (next, self.scratches.first_mut()) else {
                return;
            };
            let parsed = parse_chunk(lines, text, groups, routers, scratch);
            let parsed: Vec<&Parsed> = parsed.iter().collect();
            let positions: Vec<&Position> = lines.iter().map(|line| &line.position).collect();
            let (routings, last) = route_lines(
                &positions,
                &parsed,
                groups,
                routers,
                stop_at_first_bad,
                &mut self.bad,
            );
            let work = Work {
                parsed: parsed.get(..last).unwrap_or(&parsed),
                routings: &routings,
                groups,
                routers,
            };
            let mut mine: Vec<Option<&mut LiveRule>> = live.iter_mut().map(Some).collect();
            let mut tagged = work.run(&mut mine);
            tagged.sort_by_key(|(tag, _)| *tag);
            self.alerts
                .extend(tagged.into_iter().map(|(_, alert)| alert));
            return;
        };
        let workers = self.scratches.len().min(pool.current_num_threads()).max(1);
        let chunk = next.map_or(1, |(lines, _)| lines.len().div_ceil(workers).max(1));
        let scratches: Vec<std::sync::Mutex<&mut DispatchScratch>> = self
            .scratches
            .iter_mut()
            .map(std::sync::Mutex::new)
            .collect();
        let garbage: Vec<std::sync::Mutex<Vec<Parsed>>> = std::mem::take(&mut self.garbage)
            .into_iter()
            .map(std::sync::Mutex::new)
            .collect();
        let parse_mine = |i: usize, routers: &[Router]| -> Vec<Parsed> {
            if let Some(old) = garbage.get(i) {
                drop(std::mem::take(&mut *lock(old)));
            }
            let Some((lines, text)) = next else {
                return Vec::new();
            };
            match (lines.chunks(chunk).nth(i), scratches.get(i)) {
                (Some(part), Some(scratch)) if i < workers => {
                    parse_chunk(part, text, groups, routers, &mut lock(scratch))
                }
                _ => Vec::new(),
            }
        };
        let staged = self.staged.take();
        let (parts, tagged): (Vec<Vec<Parsed>>, Vec<Vec<Tagged>>) = match &staged {
            None => {
                let routers: &[Router] = routers;
                pool.broadcast(|context| (parse_mine(context.index(), routers), Vec::new()))
                    .into_iter()
                    .unzip()
            }
            Some(staged) => {
                let parsed: Vec<&Parsed> = staged.parts.iter().flatten().collect();
                let positions: Vec<&Position> = staged.positions.iter().collect();
                let (routings, last) = route_lines(
                    &positions,
                    &parsed,
                    groups,
                    routers,
                    stop_at_first_bad,
                    &mut self.bad,
                );
                let routers: &[Router] = routers;
                let work = Work {
                    parsed: parsed.get(..last).unwrap_or(&parsed),
                    routings: &routings,
                    groups,
                    routers,
                };
                let shards = Shards::new(live, workers * SHARDS_PER_THREAD);
                pool.broadcast(|context| {
                    let parsed = parse_mine(context.index(), routers);
                    (parsed, shards.take(&work))
                })
                .into_iter()
                .unzip()
            }
        };
        drop(scratches);
        if let Some(staged) = staged {
            self.garbage = staged.parts;
            let mut tagged: Vec<Tagged> = tagged.into_iter().flatten().collect();
            tagged.sort_by_key(|(tag, _)| *tag);
            self.alerts
                .extend(tagged.into_iter().map(|(_, alert)| alert));
        }
        self.staged = next.map(|(lines, _)| Staged {
            parts,
            positions: lines.iter().map(|line| line.position.clone()).collect(),
        });
    }
}

/// A batch parsed but not yet routed and matched (see [`Batch::step`]).
struct Staged {
    /// Per worker, the lines it parsed, in line order.
    parts: Vec<Vec<Parsed>>,
    positions: Vec<Position>,
}

fn parse_chunk(
    lines: &[Line],
    text: &str,
    groups: &[Group],
    routers: &[Router],
    scratch: &mut DispatchScratch,
) -> Vec<Parsed> {
    // The plain path (`--no-dispatch`) offers every event to every rule: no prefilter either.
    let plain = routers.first().is_some_and(|router| router.plain);
    // The time fields' paths, for lines the prefilter rules out: built once per chunk.
    let time_only = groups
        .first()
        .filter(|g| g.prefilter.is_some())
        .map(|g| g.fields.only_fields(&g.time_fields));
    lines
        .iter()
        .map(|line| {
            let mut parsed = Parsed {
                events: Vec::with_capacity(groups.len()),
                failure: None,
            };
            // One parse serves every group: they share the field table. A line no rule can match
            // (by its text) is still read whole, for its time and to find it bad, but keeps no other field.
            let Some(first) = groups.first() else {
                return parsed;
            };
            let line_text = text.get(line.span.clone()).unwrap_or_default();
            let ruled_out = !plain
                && first
                    .prefilter
                    .as_ref()
                    .is_some_and(|prefilter| !prefilter.may_match(line_text));
            let document = if let Some(time_only) = time_only.as_ref().filter(|_| ruled_out) {
                first.fields.parse_only_textless(line_text, time_only)
            } else {
                first.fields.parse_untimed_shared(Arc::from(line_text))
            };
            let mut document = match document {
                Ok(document) => document,
                Err(error) => {
                    parsed.failure = Some(error.message);
                    parsed.events.extend(groups.iter().map(|_| None));
                    return parsed;
                }
            };
            document.seq = line.seq;
            if let Some(router) = routers.first().filter(|_| !ruled_out) {
                router.prepare(&document, scratch);
            }
            for (group, router) in groups.iter().zip(routers) {
                match group.timed(&document) {
                    Ok(event) => {
                        let event = Arc::new(event);
                        let mut named = Vec::new();
                        if !ruled_out {
                            router.candidates(&event, scratch, &mut named);
                        }
                        let dispatched = u32::try_from(named.len()).unwrap_or(u32::MAX);
                        parsed.events.push(Some(Offered {
                            candidates: router.offers(&event, &named),
                            event,
                            dispatched,
                        }));
                    }
                    Err(why) => {
                        parsed.failure.get_or_insert(why);
                        parsed.events.push(None);
                    }
                }
            }
            parsed
        })
        .collect()
}

struct Work<'a> {
    parsed: &'a [&'a Parsed],
    routings: &'a [Vec<Option<Routing>>],
    groups: &'a [Group],
    routers: &'a [Router],
}

impl Work<'_> {
    /// Pushes every event of the batch to the rules in `mine` (indexed like `live`; `None` = another
    /// thread's), in line order, collecting tagged alerts.
    fn run(&self, mine: &mut [Option<&mut LiveRule>]) -> Vec<Tagged> {
        let mut out: Vec<Tagged> = Vec::new();
        let mut matches: Vec<Match> = Vec::new();
        let mut alerts: Vec<Map<String, Json>> = Vec::new();
        for (line, (parsed, routings)) in self.parsed.iter().zip(self.routings).enumerate() {
            let line = u32::try_from(line).unwrap_or(u32::MAX);
            for (g, ((group, router), (event, routing))) in self
                .groups
                .iter()
                .zip(self.routers)
                .zip(parsed.events.iter().zip(routings))
                .enumerate()
            {
                let (
                    Some(Offered {
                        event, candidates, ..
                    }),
                    Some(routing),
                ) = (event, routing)
                else {
                    continue;
                };
                let g = u32::try_from(g).unwrap_or(u32::MAX);
                let mut emit = |rule: &mut LiveRule, matches: &mut Vec<Match>, position: usize| {
                    if matches.is_empty() {
                        return;
                    }
                    collect_alerts(rule, matches, &mut alerts);
                    let tag = (line, g, u32::try_from(position).unwrap_or(u32::MAX));
                    out.extend(alerts.drain(..).map(|a| (tag, a)));
                };
                if routing.advance {
                    for &position in &group.stateful {
                        let Some(&index) = group.rules.get(position) else {
                            continue;
                        };
                        if let Some(Some(rule)) = mine.get_mut(index) {
                            rule.matcher.advance_to(routing.time, &mut matches);
                            emit(rule, &mut matches, position);
                        }
                    }
                }
                for (position, offer) in candidates {
                    let position = *position as usize;
                    let Some(&index) = group.rules.get(position) else {
                        continue;
                    };
                    let Some(Some(rule)) = mine.get_mut(index) else {
                        continue;
                    };
                    let Some(&selector) = router.rule_selector.get(position) else {
                        continue;
                    };
                    if !routing.selected.get(selector).copied().unwrap_or(false) {
                        continue;
                    }
                    // Out-of-order events are reordered (or counted late) by the rule's StreamMatcher.
                    match offer {
                        Some(offer) => rule.matcher.push_offered(event, offer, &mut matches),
                        None => rule.matcher.push(event, &mut matches),
                    }
                    emit(rule, &mut matches, position);
                }
            }
        }
        out
    }
}
