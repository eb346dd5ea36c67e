//! The event loop of `tripline run` over batches of lines: parsing and rule dispatch on N threads, then
//! matching with the rules sharded across the same threads, alerts merged back into the order a
//! one-event-at-a-time loop over every rule would write them.
//!
//! Per batch:
//! 1. (parallel, lines split in equal chunks, chunk `i` always on worker `i`) each line is parsed once
//!    for all groups and offered to each group's [`Dispatcher`], which names the rules that can match
//!    it; each named rule's predicates are evaluated there ([`engine::runtime::offer`]), while the
//!    event is in that core's cache; event rules whose predicate fails are dropped, and the other
//!    offers are filed under their rule's shard. The index selection of the event's location is
//!    looked up among the locations seen before;
//! 2. (sequential, cheap) per line and group: selection of new locations, out-of-order counting, and
//!    whether event time moved enough to expire state (a time step for each stateful rule);
//! 3. (parallel, rules dealt to shards by their work so far, shards taken by whichever worker is free)
//!    each shard runs its own offers and time steps in line order, collecting alerts (serialized
//!    there) tagged with (line, group, rule position);
//! 4. alerts are stably sorted by that tag and written: the same bytes as with one thread.
//!
//! With more than one thread the next batch is read meanwhile, on a reading thread (`read_ahead`), and
//! each worker frees the events it parsed at the start of the next batch.
//! (Running phase 3 of a batch together with phase 1 of the next, one batch behind, was tried: it cost
//! about 10% more CPU, the two phases' data evicting each other from the caches.)
//!
//! Out-of-order arrivals are counted per group, for the run summary only: the rules' stream matchers
//! reorder (or count as late) what their own rules see.

use ahash::AHashMap;
use smallvec::SmallVec;
use std::sync::Arc;

use engine::dispatch::{DispatchScratch, Dispatcher};
use engine::event::Event;
use engine::plan::Plan;
use engine::runtime::{Match, Offer};
use rayon::prelude::*;
use rules::{EventLocation, IndexSelector};
use serde_json::{Map, Value as Json};

use super::{bad_line, collect_alerts, Group, LiveRule, Stats};
use crate::cli::OutputFormat;
use crate::cli::RunArgs;
use crate::input::Position;
use crate::output::{Output, ReadyAlert};

/// Lines parsed and matched together. Large enough that thread hand-offs are rare, small enough to keep
/// memory flat (a batch holds its lines and their events). Measured with 2 threads on the corpus run:
/// 1024 lines took ~5% less wall time than 512 and 256 (2048: no faster, +6 MiB peak RSS).
pub(super) const BATCH_LINES: usize = 1024;
/// Rule shards per matching thread (see `run_batch`, phase 3).
const SHARDS_PER_THREAD: usize = 4;
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

/// What matching a batch reads and updates: the rules with their routers and state, where alerts go,
/// the run's counts, and the options.
pub(super) struct Matching<'a> {
    pub groups: &'a [Group],
    pub routers: &'a mut [Router],
    pub live: &'a mut [LiveRule],
    pub output: &'a mut Output,
    pub stats: &'a mut Stats,
    pub args: &'a RunArgs,
}

/// Lines read but not yet matched, and what matching them needs from batch to batch.
pub(super) struct Batch {
    pending: Lines,
    capacity: usize,
    threads: usize,
    alerts: Vec<ReadyAlert>,
    bad: Vec<(Position, String)>,
    /// Per parsing thread, kept from batch to batch (dispatch remembers per scratch).
    scratches: Vec<DispatchScratch>,
    /// Per parsing thread: the events it made in the last batch, which it frees at the start of the next.
    parsed_before: Vec<Vec<Chunk>>,
    /// Worker threads kept for the whole run (with more than one thread): a thread's allocator heap
    /// and caches outlive the batch.
    pool: Option<rayon::ThreadPool>,
}

impl Batch {
    pub(super) fn new(threads: usize, capacity: usize) -> Batch {
        Batch {
            pending: Lines::default(),
            capacity: capacity.max(1),
            threads: threads.max(1),
            alerts: Vec::new(),
            bad: Vec::new(),
            scratches: Vec::new(),
            parsed_before: Vec::new(),
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

    /// Matches the batched lines, writes their alerts and reports their bad lines (an error under
    /// `--strict`, after the lines before the bad one have run).
    pub(super) fn flush(&mut self, run: &mut Matching) -> anyhow::Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        let result = self.run_lines(&mut pending, run);
        self.pending = pending;
        result
    }

    /// [`Batch::flush`] for lines read elsewhere (see `read_ahead`); leaves `lines` empty.
    pub(super) fn run_lines(
        &mut self,
        pending: &mut Lines,
        run: &mut Matching,
    ) -> anyhow::Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let lines = pending.lines.get(..pending.len).unwrap_or_default();
        self.scratches
            .resize_with(self.threads.clamp(1, 64), DispatchScratch::default);
        self.run_batch(lines, &pending.text, run);
        pending.clear();
        let written = run.output.ready_alerts(&self.alerts);
        self.alerts.clear();
        written?;
        for (position, why) in self.bad.drain(..) {
            bad_line(run.stats, run.args, &position, &why)?;
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
    locations: AHashMap<u64, Vec<KnownLocation>>,
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
            locations: AHashMap::new(),
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
    /// fails are left out. The plain path leaves all evaluation to the matchers (`None`).
    fn offers(&self, event: &Arc<Event>, named: &[u32], mut each: impl FnMut(u32, Option<Offer>)) {
        // The event's fields-free copy that sequence and sample hits hold: one for all the rules.
        let mut slim = None;
        for &position in named {
            if self.plain {
                each(position, None);
                continue;
            }
            let Some(plan) = self.plans.get(position as usize) else {
                continue;
            };
            match engine::runtime::offer_sharing(plan, event, &mut slim) {
                Offer::Event(false) => {}
                offer => each(position, Some(offer)),
            }
        }
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

    /// The location of `event`: `_index` and `data_stream.{type,dataset,namespace}`.
    fn location<'e>(group: &Group, event: &'e Event) -> [Option<&'e str>; 4] {
        let [kind, dataset, namespace] = group.data_stream.map(|id| event.get(id).first().as_str());
        [event.index(), kind, dataset, namespace]
    }

    /// Counts an event routed in line order (its time against the newest); true when event time
    /// moved far enough since the last time the group's stateful rules were told.
    fn route(&mut self, time: i64) -> bool {
        if self.newest.is_some_and(|newest| time < newest) {
            self.out_of_order += 1;
        } else {
            self.newest = Some(time);
        }
        match self.last_advance {
            None => {
                self.last_advance = Some(time);
                false
            }
            Some(last) if time.saturating_sub(last) >= ADVANCE_EVERY_NS => {
                self.last_advance = Some(time);
                true
            }
            Some(_) => false,
        }
    }
}

/// `_index` and `data_stream.{type,dataset,namespace}` of an event.
type LocationParts = [Option<Box<str>>; 4];
/// A location seen before and which selectors select it.
type KnownLocation = (LocationParts, Arc<[bool]>);

impl Router {
    /// Which selectors select an event at `parts`, if this location was seen before (phase 1 asks
    /// here, on the parsing threads; [`Router::selection`] learns new locations in phase 2).
    fn known_selection(&self, parts: [Option<&str>; 4]) -> Option<Arc<[bool]>> {
        let hash = self.location_hasher.hash_one(parts);
        self.locations
            .get(&hash)?
            .iter()
            .find(|(key, _)| key.iter().map(Option::as_deref).eq(parts))
            .map(|(_, selected)| Arc::clone(selected))
    }

    /// Which selectors select an event at this location (remembered per location).
    fn selection(&mut self, parts: [Option<&str>; 4]) -> Arc<[bool]> {
        if let Some(known) = self.known_selection(parts) {
            return known;
        }
        let hash = self.location_hasher.hash_one(parts);
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

/// One line after phase 1: per group its event and candidate rule positions, or why it failed.
#[derive(Default)]
struct Parsed {
    /// Inline for up to two groups (the corpus has two time fields): no allocation per line.
    events: SmallVec<[Option<Offered>; 2]>,
    failure: Option<String>,
}

/// A group's event (its offers to rules are [`Step`]s of the chunk).
struct Offered {
    /// The event, when it has offers (an event no rule is offered is only routed, by its time).
    event: Option<Arc<Event>>,
    /// Its time (`i64::MIN`: none).
    time: i64,
    /// Rules dispatch named.
    dispatched: u32,
    /// Which of the group's index selectors select the event (`None` until known: phase 1 looks it up
    /// among the locations seen before, phase 2 works out new ones). Only events with offers need it.
    selected: Option<Arc<[bool]>>,
}

impl Offered {
    /// An event no rule is offered: only routed, by its time.
    fn time_only(time: i64) -> Offered {
        Offered {
            event: None,
            time,
            dispatched: 0,
            selected: None,
        }
    }
}

/// One chunk of lines after phase 1: per line its events, per rule shard the offers they make to the
/// shard's rules (in line order).
struct Chunk {
    parsed: Vec<Parsed>,
    offers: Vec<Vec<Step>>,
}

/// Which shard (phase 3) each rule (index in `live`) is matched in.
struct Sharding {
    shard_of: Vec<usize>,
    count: usize,
}

/// An alert and where the one-threaded loop would have written it.
type Tagged = ((u32, u32, u32), ReadyAlert);

impl Batch {
    /// Runs one batch of lines through every group; appends alerts in output order and bad lines.
    fn run_batch(&mut self, lines: &[Line], text: &str, run: &mut Matching) {
        let Batch {
            scratches,
            pool,
            alerts,
            bad,
            parsed_before,
            ..
        } = self;
        let scratches: &mut [DispatchScratch] = scratches;
        let pool = pool.as_ref();
        let (groups, routers, live) = (run.groups, &mut *run.routers, &mut *run.live);
        let (format, stop_at_first_bad) = (run.output.format(), run.args.strict);
        let threads = scratches.len().max(1);
        // Rules are sharded for phase 3 before phase 1, which files each offer under its rule's shard.
        let sharding = if threads == 1 {
            Sharding {
                shard_of: vec![0; live.len()],
                count: 1,
            }
        } else {
            let count = threads * SHARDS_PER_THREAD;
            let work_so_far: Vec<u64> = live.iter().map(|rule| rule.work).collect();
            Sharding {
                shard_of: balanced_shards(&work_so_far, count),
                count,
            }
        };
        // Phase 1: parse + dispatch, one chunk of lines per worker.
        // `makers[c]`: the worker that parsed chunk `c`, which frees it at the start of the next batch.
        let (mut chunks, makers): (Vec<Chunk>, Option<Vec<usize>>) = match (pool, scratches) {
            (Some(pool), scratches) if lines.len() >= 64 && scratches.len() > 1 => {
                let workers = scratches.len().min(pool.current_num_threads()).max(1);
                let size = lines.len().div_ceil(workers);
                let routers_ref: &[Router] = routers;
                let sharding = &sharding;
                let scratches: Vec<std::sync::Mutex<&mut DispatchScratch>> =
                    scratches.iter_mut().map(std::sync::Mutex::new).collect();
                let to_free: Vec<std::sync::Mutex<Vec<Chunk>>> = std::mem::take(parsed_before)
                    .into_iter()
                    .map(std::sync::Mutex::new)
                    .collect();
                // Worker `i` always takes chunk `i` with scratch `i` (its dispatch memo stays in one core's
                // cache) and frees the events it made, which the allocator does far more cheaply than a
                // free from another thread.
                let per_worker: Vec<Option<Chunk>> = pool.broadcast(|context| {
                    let i = context.index();
                    if let Some(old) = to_free.get(i) {
                        let mut old = old
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        drop(std::mem::take(&mut *old));
                    }
                    let part = lines.chunks(size).nth(i)?;
                    let mut own = DispatchScratch::default();
                    let mut guard = scratches
                        .get(i)
                        .map(|s| s.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
                    let scratch: &mut DispatchScratch = match guard.as_mut() {
                        Some(guard) => guard,
                        None => &mut own,
                    };
                    Some(parse_chunk(
                        part,
                        i * size,
                        text,
                        groups,
                        routers_ref,
                        sharding,
                        scratch,
                    ))
                });
                let (chunks, makers) = per_worker
                    .into_iter()
                    .enumerate()
                    .filter_map(|(worker, chunk)| Some((chunk?, worker)))
                    .unzip();
                (chunks, Some(makers))
            }
            (_, [scratch, ..]) => (
                vec![parse_chunk(
                    lines, 0, text, groups, routers, &sharding, scratch,
                )],
                None,
            ),
            (_, []) => (
                vec![parse_chunk(
                    lines,
                    0,
                    text,
                    groups,
                    routers,
                    &sharding,
                    &mut DispatchScratch::default(),
                )],
                None,
            ),
        };

        // Phase 2: routing, in line order; stops after the first bad line when asked to. Time steps go
        // to the shard of each stateful rule.
        let mut routed = 0;
        let mut advances: Vec<Vec<Step>> = (0..sharding.count).map(|_| Vec::new()).collect();
        let parsed = chunks.iter_mut().flat_map(|chunk| &mut chunk.parsed);
        for (index, (line, result)) in lines.iter().zip(parsed).enumerate() {
            routed = index + 1;
            let line_number = u32::try_from(index).unwrap_or(u32::MAX);
            for (g, ((group, router), event)) in groups
                .iter()
                .zip(routers.iter_mut())
                .zip(&mut result.events)
                .enumerate()
            {
                let Some(offered) = event else {
                    continue;
                };
                router.events_seen += 1;
                router.candidates_offered += u64::from(offered.dispatched);
                if let (Some(event), None) = (offered.event.as_ref(), offered.selected.as_ref()) {
                    offered.selected = Some(router.selection(Router::location(group, event)));
                }
                if router.route(offered.time) {
                    let g = u32::try_from(g).unwrap_or(u32::MAX);
                    let time = offered.time;
                    for &position in &group.stateful {
                        let Some(&rule) = group.rules.get(position) else {
                            continue;
                        };
                        let shard = sharding.shard_of.get(rule).copied().unwrap_or(0);
                        if let Some(advances) = advances.get_mut(shard) {
                            advances.push(Step {
                                tag: (line_number, g, u32::try_from(position).unwrap_or(u32::MAX)),
                                rule,
                                kind: StepKind::Advance(time),
                            });
                        }
                    }
                }
            }
            if let Some(why) = &result.failure {
                bad.push((line.position.clone(), why.clone()));
                if stop_at_first_bad {
                    break;
                }
            }
        }

        // Phase 3: matching, rules sharded across threads; each shard's steps are its own.
        let mut shard_steps: Vec<(Vec<Vec<Step>>, Vec<Step>)> = advances
            .into_iter()
            .enumerate()
            .map(|(shard, advances)| {
                let offers = chunks
                    .iter_mut()
                    .map(|chunk| {
                        chunk
                            .offers
                            .get_mut(shard)
                            .map(std::mem::take)
                            .unwrap_or_default()
                    })
                    .collect();
                (offers, advances)
            })
            .collect();
        let parsed: Vec<&Parsed> = chunks.iter().flat_map(|chunk| &chunk.parsed).collect();
        let context = ShardContext {
            parsed: parsed.get(..routed).unwrap_or_default(),
            routers,
            format,
        };
        let mut tagged: Vec<Tagged> = if sharding.count == 1 {
            let mut mine: Vec<Option<&mut LiveRule>> = live.iter_mut().map(Some).collect();
            shard_steps
                .pop()
                .map(|(offers, advances)| context.run(offers, advances, &mut mine))
                .unwrap_or_default()
        } else {
            let mut shards: Vec<Vec<Option<&mut LiveRule>>> = (0..sharding.count)
                .map(|_| std::iter::repeat_with(|| None).take(live.len()).collect())
                .collect();
            for ((index, rule), &shard) in live.iter_mut().enumerate().zip(&sharding.shard_of) {
                if let Some(slot) = shards.get_mut(shard).and_then(|shard| shard.get_mut(index)) {
                    *slot = Some(rule);
                }
            }
            // More shards than threads, taken in turn by whichever thread is free: one busy rule does not
            // leave the other threads idle until the batch ends.
            let shards: Vec<std::sync::Mutex<_>> = shard_steps
                .into_iter()
                .zip(shards)
                .map(std::sync::Mutex::new)
                .collect();
            let next = std::sync::atomic::AtomicUsize::new(0);
            let (context, shards, next) = (&context, &shards, &next);
            let take_shards = |_| {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(shard) = shards.get(i) else {
                        break;
                    };
                    // Each shard is taken by exactly one thread: the lock is never contended.
                    if let Ok(mut shard) = shard.lock() {
                        let ((offers, advances), mine) = &mut *shard;
                        out.extend(context.run(
                            std::mem::take(offers),
                            std::mem::take(advances),
                            mine,
                        ));
                    }
                }
                out
            };
            let per_thread: Vec<Vec<Tagged>> = match pool {
                Some(pool) => {
                    pool.install(|| (0..threads).into_par_iter().map(take_shards).collect())
                }
                None => vec![take_shards(0)],
            };
            per_thread.into_iter().flatten().collect()
        };
        // Freeing the batch's events is work too: each worker frees the chunk it parsed, when the next
        // batch starts (a round of its own would keep the other threads waiting).
        drop(parsed);
        if let Some(makers) = makers {
            parsed_before.resize_with(threads, Vec::new);
            for (chunk, worker) in chunks.into_iter().zip(makers) {
                if let Some(own) = parsed_before.get_mut(worker) {
                    own.push(chunk);
                }
            }
        }
        tagged.sort_by_key(|(tag, _)| *tag);
        alerts.extend(tagged.into_iter().map(|(_, alert)| alert));
    }
}

/// The shard of each rule: rules dealt out by the work they have had so far, busiest first, back and
/// forth over the shards, so that the shards cost about the same and no thread waits for one long shard.
/// (Which thread runs a rule does not change what it matches: each rule still sees its events in order.)
fn balanced_shards(work: &[u64], shard_count: usize) -> Vec<usize> {
    let shard_count = shard_count.max(1);
    let mut order: Vec<usize> = (0..work.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(work.get(index).copied().unwrap_or(0)));
    let mut shard_of = vec![0; work.len()];
    for (rank, &index) in order.iter().enumerate() {
        let (round, at) = (rank / shard_count, rank % shard_count);
        if let Some(shard) = shard_of.get_mut(index) {
            *shard = if round % 2 == 0 {
                at
            } else {
                shard_count - 1 - at
            };
        }
    }
    shard_of
}

/// Phase 1 for `lines` (the batch's lines from `first_line` on).
fn parse_chunk(
    lines: &[Line],
    first_line: usize,
    text: &str,
    groups: &[Group],
    routers: &[Router],
    sharding: &Sharding,
    scratch: &mut DispatchScratch,
) -> Chunk {
    // The plain path (`--no-dispatch`) offers every event to every rule: no prefilter either.
    let plain = routers.first().is_some_and(|router| router.plain);
    // The time fields' paths, for lines the prefilter rules out: built once per chunk.
    let time_only = groups
        .first()
        .filter(|g| g.prefilter.is_some())
        .map(|g| g.fields.only_fields(&g.time_fields));
    let mut offers: Vec<Vec<Step>> = (0..sharding.count).map(|_| Vec::new()).collect();
    let mut named = Vec::new();
    let parsed = lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            let line_number = u32::try_from(first_line + index).unwrap_or(u32::MAX);
            let mut parsed = Parsed {
                events: SmallVec::with_capacity(groups.len()),
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
            // Such a line's time, read without making an event, when every group's time is plain.
            if let Some(times) = time_only
                .as_ref()
                .filter(|_| ruled_out)
                .and_then(|time_only| first.fields.parse_times_textless(line_text, time_only))
            {
                let mut offered: SmallVec<[Option<Offered>; 2]> = SmallVec::new();
                for group in groups {
                    let Some(time) = group.time_of(&times) else {
                        break;
                    };
                    offered.push(Some(Offered::time_only(time)));
                }
                if offered.len() == groups.len() {
                    parsed.events = offered;
                    return parsed;
                }
            }
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
            for (g, (group, router)) in groups.iter().zip(routers).enumerate() {
                match group.timed(&document) {
                    Ok(event) => {
                        let time = event.timestamp.unwrap_or(i64::MIN);
                        named.clear();
                        if !ruled_out {
                            router.candidates(&event, scratch, &mut named);
                        }
                        if named.is_empty() {
                            parsed.events.push(Some(Offered::time_only(time)));
                            continue;
                        }
                        let event = Arc::new(event);
                        let g = u32::try_from(g).unwrap_or(u32::MAX);
                        let mut has_offers = false;
                        router.offers(&event, &named, |position, offer| {
                            let Some(&rule) = group.rules.get(position as usize) else {
                                return;
                            };
                            let shard = sharding.shard_of.get(rule).copied().unwrap_or(0);
                            if let Some(offers) = offers.get_mut(shard) {
                                has_offers = true;
                                offers.push(Step {
                                    tag: (line_number, g, position),
                                    rule,
                                    kind: StepKind::Offer(offer),
                                });
                            }
                        });
                        let selected = has_offers
                            .then(|| router.known_selection(Router::location(group, &event)))
                            .flatten();
                        parsed.events.push(Some(Offered {
                            event: has_offers.then_some(event),
                            time,
                            dispatched: u32::try_from(named.len()).unwrap_or(u32::MAX),
                            selected,
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
        .collect();
    Chunk { parsed, offers }
}

/// One rule's work for one line of the batch, in the order the one-threaded loop does it.
struct Step {
    /// Where its alerts go in the output: (line, group, rule position in the group).
    tag: (u32, u32, u32),
    /// The rule (index in `live`).
    rule: usize,
    kind: StepKind,
}

enum StepKind {
    /// Event time reached this: a stateful rule expires what it no longer needs.
    Advance(i64),
    /// The line's event in the step's group, with its [`Offer`] (`None` on the plain path).
    Offer(Option<Offer>),
}

/// What phase 3 reads of the batch.
struct ShardContext<'a> {
    /// The lines routed (not those after a `--strict` stop).
    parsed: &'a [&'a Parsed],
    routers: &'a [Router],
    /// Alerts are serialized for it by the thread that finds them.
    format: OutputFormat,
}

impl ShardContext<'_> {
    /// Runs one shard's steps against its rules (`mine`, indexed like `live`; `None` = another
    /// shard's): its offers (per chunk, in line order) merged with its time steps as the one-threaded
    /// loop orders them (per line and group, time steps first). Returns tagged alerts.
    fn run(
        &self,
        offers: Vec<Vec<Step>>,
        advances: Vec<Step>,
        mine: &mut [Option<&mut LiveRule>],
    ) -> Vec<Tagged> {
        let mut out: Vec<Tagged> = Vec::new();
        let mut matches: Vec<Match> = Vec::new();
        let mut alerts: Vec<Map<String, Json>> = Vec::new();
        let mut advances = advances.into_iter().peekable();
        for step in offers.into_iter().flatten() {
            let (line, group, position) = (step.tag.0, step.tag.1, step.tag.2);
            while let Some(advance) =
                advances.next_if(|advance| (advance.tag.0, advance.tag.1) <= (line, group))
            {
                self.apply(advance, mine, &mut matches, &mut alerts, &mut out);
            }
            let Some(Some(offered)) = self
                .parsed
                .get(line as usize)
                .and_then(|parsed| parsed.events.get(group as usize))
            else {
                // Not routed: after a `--strict` stop.
                continue;
            };
            let selected = self
                .routers
                .get(group as usize)
                .and_then(|router| router.rule_selector.get(position as usize))
                .zip(offered.selected.as_ref())
                .and_then(|(&selector, selected)| selected.get(selector))
                .copied()
                .unwrap_or(false);
            if selected {
                self.apply(step, mine, &mut matches, &mut alerts, &mut out);
            }
        }
        for advance in advances {
            self.apply(advance, mine, &mut matches, &mut alerts, &mut out);
        }
        out
    }

    fn apply(
        &self,
        Step { tag, rule, kind }: Step,
        mine: &mut [Option<&mut LiveRule>],
        matches: &mut Vec<Match>,
        alerts: &mut Vec<Map<String, Json>>,
        out: &mut Vec<Tagged>,
    ) {
        let Some(Some(rule)) = mine.get_mut(rule) else {
            return;
        };
        rule.work += 1;
        match kind {
            StepKind::Advance(time) => rule.matcher.advance_to(time, matches),
            StepKind::Offer(offer) => {
                let Some(Some(Offered {
                    event: Some(event), ..
                })) = self
                    .parsed
                    .get(tag.0 as usize)
                    .and_then(|parsed| parsed.events.get(tag.1 as usize))
                else {
                    return;
                };
                // Out-of-order events are reordered (or counted late) by the rule's StreamMatcher.
                match offer {
                    Some(offer) => rule.matcher.push_offered(event, offer, matches),
                    None => rule.matcher.push(event, matches),
                }
            }
        }
        if !matches.is_empty() {
            collect_alerts(rule, matches, alerts);
            let format = self.format;
            out.extend(
                alerts
                    .drain(..)
                    .map(|alert| (tag, ReadyAlert::new(format, alert))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::balanced_shards;

    #[test]
    fn shards_get_about_the_same_work() {
        // A few busy rules and many quiet ones, as in the corpus.
        let work: Vec<u64> = (0..1000u64)
            .map(|i| if i % 97 == 0 { 50_000 + i } else { i % 13 })
            .collect();
        for count in [1, 2, 4, 8] {
            let shard_of = balanced_shards(&work, count);
            assert_eq!(shard_of.len(), work.len());
            let mut totals = vec![0u64; count];
            for (&shard, &w) in shard_of.iter().zip(&work) {
                assert!(shard < count);
                totals[shard] += w;
            }
            let (min, max) = (totals.iter().min().unwrap(), totals.iter().max().unwrap());
            // Within one busy rule of each other.
            assert!(max - min <= 51_000, "{count} shards: {totals:?}");
        }
        // Rules with no work yet still get a shard each.
        assert_eq!(balanced_shards(&[0, 0, 0], 2).len(), 3);
        assert!(balanced_shards(&[], 4).is_empty());
    }
}
