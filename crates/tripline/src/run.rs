//! `tripline run`: every loaded rule over one streaming pass of events, alerts out as they complete.
//!
//! Rules that read events the same way (same timestamp field, tiebreaker and category field) share one
//! field table, so each event is parsed once per such group, extracting only the fields that group's plans
//! read. Events are fed in arrival order: event rules evaluate them at once; sequence and sample rules get
//! them in event order through a reorder buffer (`--max-lateness`), later events are counted as late (see
//! `crate::streaming`). Memory is held by the matchers' live state, capped per rule (`--max-state`).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::event::{Event, LineTimes, TimeField};
use engine::field::{FieldId, FieldTable};
use engine::runtime::stream::StreamMatcher;
use engine::runtime::Match;
use engine::schema::Schema;
use engine::value::Value;
use rules::alert::{alert_for_event, alerts_for_sequence, SignalBudget, SourceEvent};
use rules::{Loaded, Rule};

use crate::cli::RunArgs;

mod parallel;
mod read_ahead;
mod state;
use crate::input::{Inputs, Position, Record};
use crate::output::Output;
use crate::{status, Failure};

/// How many bad lines the summary lists one by one.
const BAD_LINES_SHOWN: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    timestamp_field: String,
    fallback: bool,
    tiebreaker_field: Option<String>,
    category_field: String,
}

/// Rules that order events the same way (timestamp, fallback, tiebreaker, category field). All groups
/// share one field table, so a line is parsed once for every rule; a group only reads its own time.
struct Group {
    fields: Arc<FieldTable>,
    time: TimeField,
    /// `@timestamp`, read when the group's timestamp override is absent from an event (Kibana's fallback).
    fallback_timestamp: Option<TimeField>,
    tiebreaker: Option<FieldId>,
    data_stream: [FieldId; 3],
    rules: Vec<usize>,
    /// Positions in `rules` of the sequence and sample rules: only they hold state that time expires.
    stateful: Vec<usize>,
    /// Run-wide (the same in every group): lines no rule can match are read for their time only.
    prefilter: Option<Arc<engine::prefilter::Prefilter>>,
    /// Per field id: the fields every group's time needs (what such lines are read for).
    time_fields: Arc<[bool]>,
}

impl Group {
    /// Registers the group's fields in the run's shared table (`fields`, filled in once every rule is
    /// compiled).
    fn new(rule: &Rule, schema: &Schema, fallback: bool, table: &mut FieldTable) -> Group {
        let time = table.register_time_field(rule.timestamp_field(), schema);
        let data_stream = [
            table.register("data_stream.type", schema),
            table.register("data_stream.dataset", schema),
            table.register("data_stream.namespace", schema),
        ];
        let fallback_timestamp = fallback.then(|| table.register_time_field("@timestamp", schema));
        // Stages test their category field themselves (dispatch reads it from their predicates).
        table.register(rule.category_field(), schema);
        Group {
            fields: Arc::new(FieldTable::with_defaults(&Schema::empty())),
            time,
            fallback_timestamp,
            tiebreaker: rule
                .tiebreaker_field
                .as_deref()
                .map(|path| table.register(path, schema)),
            data_stream,
            rules: Vec::new(),
            stateful: Vec::new(),
            prefilter: None,
            time_fields: Arc::from(Vec::new()),
        }
    }

    /// The time [`Group::timed`] gives the event of a line whose time fields are `times`, when
    /// they tell it (`None`: take the event path, which also words any error).
    fn time_of(&self, times: &LineTimes) -> Option<i64> {
        match times.nanos(&self.time)? {
            Some(ns) => Some(ns),
            // Kibana's fallback reads `@timestamp` as a `date`: milliseconds.
            None => times
                .nanos(self.fallback_timestamp.as_ref()?)?
                .map(engine::time::floor_millis)?,
        }
    }

    /// The line's event as this group orders it, or why it cannot be ordered (a bad line).
    fn timed(&self, event: &Event) -> Result<Event, String> {
        let path = self.fields.path(self.time.id);
        let timestamp = match self.time.nanos(event) {
            Ok(Some(ns)) => ns,
            Err(value) => {
                return Err(format!(
                    "invalid timestamp `{value}`: expected ISO 8601 or epoch milliseconds"
                ))
            }
            Ok(None) => {
                let Some(fallback) = &self.fallback_timestamp else {
                    return Err(format!("missing timestamp field `{path}`"));
                };
                match fallback.nanos(event) {
                    // Kibana's fallback reads `@timestamp` as a `date`: milliseconds.
                    Ok(Some(ns)) => match engine::time::floor_millis(ns) {
                        Some(ms) => ms,
                        None => {
                            return Err(format!(
                                "invalid timestamp in `@timestamp`: {ns} ns is out of range"
                            ))
                        }
                    },
                    Ok(None) => {
                        return Err(format!(
                            "missing timestamp: neither `{path}` nor `@timestamp` is present"
                        ))
                    }
                    Err(value) => {
                        return Err(format!(
                        "invalid timestamp `{value}` in `@timestamp`: expected ISO 8601 or epoch \
                             milliseconds"
                    ))
                    }
                }
            }
        };
        let tiebreaker = self
            .tiebreaker
            .map_or(Value::Null, |id| event.get(id).clone());
        Ok(event.with_time(Some(timestamp), tiebreaker))
    }
}

struct LiveRule {
    rule: Rule,
    /// Reorders within --max-lateness and caps state at --max-state (see `crate::streaming`).
    matcher: StreamMatcher,
    matches: u64,
    alerts: u64,
    budget: SignalBudget,
    /// Events and time moves given to the matcher so far: how rules are spread over threads.
    work: u64,
}

/// Input counters. For ECS input every non-blank line (or array element) is one document or one bad
/// record, so lines = events + bad lines + blank lines (see [`Stats::events`]). eslogger lines map to zero
/// or more documents; its own summary line counts them.
#[derive(Default)]
struct Stats {
    /// Documents handed to the rules (an event's arrival number); includes those that fail to parse.
    documents: u64,
    /// Bad lines: records the reader could not read or map, plus documents that failed to parse.
    bad: u64,
    /// The part of `bad` the reader reported (not UTF-8, eslogger mapping errors, a broken JSON array).
    bad_records: u64,
    /// Whitespace-only NDJSON lines, skipped.
    blank: u64,
    bad_shown: Vec<String>,
}

impl Stats {
    /// Documents that parsed into events.
    fn events(&self) -> u64 {
        let bad_documents = self.bad.saturating_sub(self.bad_records);
        self.documents.saturating_sub(bad_documents)
    }

    /// Input lines (array elements) read, blank ones included.
    fn lines(&self) -> u64 {
        self.documents + self.bad_records + self.blank
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let interrupt = crate::interrupt::Interrupt::install();
    let schema = Schema::ecs();
    let (mut groups, mut live, rule_summary) = load_rules(&args, &schema)?;

    let files = Inputs::expand_dirs(&args.events)?;
    let mut inputs = Inputs::new(&files);
    inputs.idle = args.stream.idle();
    let mut reporter = state::Reporter::new(args.stream.stats_every);
    let progress = progress_bar(&args, &inputs);
    let mut output = Output::open(args.output.as_deref(), args.format)?;
    output.flush_each = inputs.reads_stdin();
    let mut stats = Stats::default();
    let mut matches: Vec<Match> = Vec::new();

    let mut eslogger = crate::eslogger_input::for_format(args.input, &args.eslogger)?;
    let mut passthrough = crate::input::Passthrough;
    let mapper: &mut dyn crate::input::RecordMapper = match eslogger.as_mut() {
        Some(eslogger) => eslogger,
        None => &mut passthrough,
    };
    let plain = args.no_dispatch;
    let mut routers = parallel::Router::for_groups(&groups, &live, plain);
    // Live input (stdin) is matched line by line so that alerts come out as events arrive.
    let live_input = inputs.reads_stdin();
    let threads = match args.threads {
        _ if live_input => 1,
        Some(n) => usize::try_from(n).unwrap_or(1),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mut batch =
        parallel::Batch::new(threads, if live_input { 1 } else { parallel::BATCH_LINES });
    let mut run = parallel::Matching {
        groups: &groups,
        routers: &mut routers,
        live: &mut live,
        output: &mut output,
        stats: &mut stats,
        args: &args,
    };
    // With worker threads, reading goes on while the previous batch is matched (see `read_ahead`).
    let result = if threads > 1 && !live_input {
        let capacity = batch.capacity();
        read_ahead::read_ahead(
            &inputs,
            mapper,
            &interrupt,
            progress.as_ref(),
            capacity,
            &mut |feed| match feed {
                read_ahead::Feed::Lines(lines) => {
                    run.stats.documents += lines.len() as u64;
                    batch.run_lines(lines, &mut run)?;
                    reporter.tick(run.stats, run.live, true);
                    Ok(())
                }
                read_ahead::Feed::Blank => {
                    run.stats.blank += 1;
                    Ok(())
                }
                read_ahead::Feed::Bad(position, why) => {
                    run.stats.bad_records += 1;
                    bad_line(run.stats, &args, position, why)
                }
                read_ahead::Feed::Idle => {
                    reporter.tick(run.stats, run.live, true);
                    state::idle(run.live, &mut matches, run.output)
                }
            },
        )
    } else {
        inputs.for_each_with(mapper, &mut |position, record| {
            if interrupt.requested() {
                return Err(crate::interrupt::Interrupted.into());
            }
            let text = match record {
                Record::Document(text) => text,
                Record::Idle => {
                    batch.flush(&mut run)?;
                    reporter.tick(run.stats, run.live, true);
                    return state::idle(run.live, &mut matches, run.output);
                }
                Record::Blank => {
                    run.stats.blank += 1;
                    return Ok(());
                }
                Record::Bad(why) => {
                    run.stats.bad_records += 1;
                    // Lines before a bad record are matched first: they came first.
                    batch.flush(&mut run)?;
                    return bad_line(run.stats, &args, position, &why);
                }
            };
            run.stats.documents += 1;
            if run.stats.documents.is_multiple_of(4096) {
                if let Some(bar) = &progress {
                    bar.set_position(inputs.bytes_read.load(Ordering::Relaxed));
                }
            }
            if batch.push(text, position, run.stats.documents) {
                batch.flush(&mut run)?;
            }
            reporter.tick(run.stats, run.live, false);
            Ok(())
        })
    };
    // Lines still batched run before an error is reported or the rules finish (Ctrl-C included).
    let result = match result {
        Err(error) if !error.is::<crate::interrupt::Interrupted>() => Err(error),
        other => batch.flush(&mut run).and(other),
    };
    // A closed output (`| head -1`) ends the run like Ctrl-C, except that nothing more can be written.
    let mut closed = false;
    if let Err(error) = result {
        closed = error.is::<crate::OutputClosed>();
        // Ctrl-C: stop reading but finish the rules and print the summary.
        if !closed && !error.is::<crate::interrupt::Interrupted>() {
            if let Some(bar) = &progress {
                bar.finish_and_clear();
            }
            return Err(error);
        }
    }
    let dispatch_stats = std::env::var_os("TRIPLINE_DISPATCH_STATS").is_some();
    if dispatch_stats {
        match groups.first().and_then(|g| g.prefilter.as_ref()) {
            Some(prefilter) => eprintln!("prefilter: {} literals", prefilter.len()),
            None => eprintln!("prefilter: none (some stage has no literal condition)"),
        }
        for (group, router) in groups.iter().zip(&routers) {
            eprintln!("{}", router.stats_line(group));
        }
    }
    // Groups differ only in which timestamp field they read; the most disordered one stands for the input.
    let out_of_order = routers.iter().map(|r| r.out_of_order()).max().unwrap_or(0);
    let at_end = state::Snapshot::of(&live);
    for rule in live.iter_mut() {
        rule.matcher.finish(&mut matches);
        if closed {
            matches.clear();
            continue;
        }
        if let Err(error) = emit(rule, &mut matches, &mut output) {
            closed = error.is::<crate::OutputClosed>();
            if !closed {
                return Err(error);
            }
        }
    }
    if !closed {
        match output.flush() {
            Err(error) if !error.is::<crate::OutputClosed>() => return Err(error),
            _ => {}
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    groups.clear();
    if !args.quiet {
        let input = InputSummary {
            out_of_order,
            mapped: eslogger.is_some(),
        };
        summary(&stats, &live, &rule_summary, &input, started.elapsed());
        for line in state::summary_lines(&at_end, stats.events()) {
            eprintln!("{line}");
        }
        if closed {
            eprintln!("tripline: output closed; stopped reading");
        }
        for line in eslogger.iter().flat_map(|input| input.summary_lines()) {
            eprintln!("{line}");
        }
    }
    Ok(if rule_summary.invalid > 0 {
        status::USAGE
    } else {
        status::OK
    })
}

#[derive(Default)]
struct RuleSummary {
    invalid: usize,
    unsupported: usize,
    disabled: usize,
    /// TOML files in the rule tree that are not rule files.
    skipped: usize,
}

fn load_rules(
    args: &RunArgs,
    schema: &Schema,
) -> anyhow::Result<(Vec<Group>, Vec<LiveRule>, RuleSummary)> {
    let mut groups: Vec<Group> = Vec::new();
    let mut table: Option<FieldTable> = None;
    let mut by_key: HashMap<GroupKey, usize> = HashMap::new();
    let mut live: Vec<LiveRule> = Vec::new();
    let mut summary = RuleSummary::default();
    for outcome in rules::load_paths(&args.rules) {
        let rule = match outcome {
            Loaded::Ready(rule) => *rule,
            Loaded::Invalid(errors) => {
                summary.invalid += 1;
                for error in errors {
                    eprintln!("{error}\n");
                }
                continue;
            }
            Loaded::Unsupported(_) => {
                summary.unsupported += 1;
                continue;
            }
            Loaded::Skipped(_) => {
                summary.skipped += 1;
                continue;
            }
        };
        if !rule.enabled {
            summary.disabled += 1;
            continue;
        }
        let fallback =
            rule.timestamp_override.is_some() && !rule.timestamp_override_fallback_disabled;
        let key = GroupKey {
            timestamp_field: rule.timestamp_field().to_string(),
            fallback,
            tiebreaker_field: rule.tiebreaker_field.clone(),
            category_field: rule.category_field().to_string(),
        };
        let table = table.get_or_insert_with(|| rule.field_table(schema));
        let group_index = *by_key.entry(key).or_insert_with(|| {
            groups.push(Group::new(&rule, schema, fallback, table));
            groups.len() - 1
        });
        let Some(group) = groups.get_mut(group_index) else {
            continue;
        };
        table.set_category_field(rule.category_field(), schema);
        match rule.compile(schema, table) {
            Ok(plan) => {
                if plan.is_sequence() || plan.is_sample() {
                    group.stateful.push(group.rules.len());
                }
                group.rules.push(live.len());
                live.push(LiveRule {
                    matcher: StreamMatcher::new(
                        Arc::new(plan),
                        args.stream.lateness_ns(),
                        Some(args.stream.max_state()),
                    ),
                    rule,
                    matches: 0,
                    alerts: 0,
                    budget: SignalBudget::default(),
                    work: 0,
                });
            }
            Err(errors) => {
                summary.invalid += 1;
                for error in errors {
                    eprintln!("{error}\n");
                }
            }
        }
    }
    if live.is_empty() {
        return Err(Failure {
            status: status::USAGE,
            message: format!(
                "tripline: no runnable rules ({} invalid, {} unsupported, {} disabled)",
                summary.invalid, summary.unsupported, summary.disabled
            ),
        }
        .into());
    }
    if let Some(table) = table {
        let plans: Vec<&engine::Plan> = live.iter().map(|r| r.matcher.plan().as_ref()).collect();
        let prefilter = engine::prefilter::Prefilter::new(&plans, &table)
            .filter(|_| std::env::var_os("TRIPLINE_NO_PREFILTER").is_none())
            .map(Arc::new);
        let mut time_fields = vec![false; table.len()];
        for group in &groups {
            for time in std::iter::once(&group.time).chain(&group.fallback_timestamp) {
                if let Some(slot) = time_fields.get_mut(time.id.0 as usize) {
                    *slot = true;
                }
            }
        }
        let time_fields: Arc<[bool]> = Arc::from(time_fields);
        let shared = Arc::new(table);
        for group in &mut groups {
            group.fields = Arc::clone(&shared);
            group.prefilter = prefilter.clone();
            group.time_fields = Arc::clone(&time_fields);
        }
    }
    Ok((groups, live, summary))
}

fn bad_line(
    stats: &mut Stats,
    args: &RunArgs,
    position: &Position,
    why: &str,
) -> anyhow::Result<()> {
    stats.bad += 1;
    let line = format!("{position}: {why}");
    if args.strict {
        return Err(Failure {
            status: status::IO,
            message: format!("tripline: bad input line (--strict): {line}"),
        }
        .into());
    }
    if stats.bad_shown.len() < BAD_LINES_SHOWN {
        stats.bad_shown.push(line);
    }
    Ok(())
}

/// Turns the matches a rule just produced into alerts, written out.
fn emit(rule: &mut LiveRule, matches: &mut Vec<Match>, output: &mut Output) -> anyhow::Result<()> {
    let mut alerts = Vec::new();
    collect_alerts(rule, matches, &mut alerts);
    output.alerts(&alerts)
}

/// Turns the matches a rule just produced into alert documents appended to `alerts`. The signal budget
/// is consulted before the source documents are read, so dropped matches cost no parsing.
fn collect_alerts(
    rule: &mut LiveRule,
    matches: &mut Vec<Match>,
    alerts: &mut Vec<serde_json::Map<String, serde_json::Value>>,
) {
    for found in matches.drain(..) {
        rule.matches += 1;
        let completed = match &found {
            Match::Event(event) => event.timestamp.unwrap_or(0),
            Match::Sequence { events, .. } => events
                .iter()
                .flatten()
                .map(|event| event.timestamp.unwrap_or(0))
                .max()
                .unwrap_or(0),
        };
        if !rule.budget.admit(&rule.rule, completed) {
            continue;
        }
        let made = match &found {
            Match::Event(event) => vec![alert_for_event(
                &rule.rule,
                &SourceEvent::from_engine(event),
            )],
            Match::Sequence { events, .. } => {
                let sources: Vec<SourceEvent> = events
                    .iter()
                    .flatten()
                    .map(|event| SourceEvent::from_engine(event))
                    .collect();
                alerts_for_sequence(&rule.rule, &sources)
            }
        };
        rule.alerts += made.len() as u64;
        alerts.extend(made);
    }
}

fn progress_bar(args: &RunArgs, inputs: &Inputs) -> Option<indicatif::ProgressBar> {
    if args.quiet || !std::io::stderr().is_terminal() || inputs.reads_stdin() {
        return None;
    }
    let total = inputs.total_file_bytes()?;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// What the summary says about the input beyond the counters.
struct InputSummary {
    /// Events that arrived older than an event read before them.
    out_of_order: u64,
    /// Lines were mapped (eslogger), not one document each: lines ≠ events + bad + blank.
    mapped: bool,
}

/// The run summary: one totals line; one line per rule that alerted or lost something (dropped by
/// max_signals, late, evicted) and one line for all the others; out-of-order arrivals as one total.
fn summary(
    stats: &Stats,
    live: &[LiveRule],
    rules: &RuleSummary,
    input: &InputSummary,
    elapsed: Duration,
) {
    let seconds = elapsed.as_secs_f64();
    let events = stats.events();
    let rate = if seconds > 0.0 {
        events as f64 / seconds
    } else {
        0.0
    };
    let total_alerts: u64 = live.iter().map(|r| r.alerts).sum();
    let total_matches: u64 = live.iter().map(|r| r.matches).sum();
    let mut read = format!("{events} events read, {} bad lines", stats.bad);
    if stats.blank > 0 {
        read.push_str(&format!(", {} blank lines skipped", stats.blank));
    }
    if input.mapped {
        read.push_str(" (mapped from eslogger lines, counted below)");
    } else {
        read.push_str(&format!(" ({} lines)", stats.lines()));
    }
    let mut rules_run = format!(
        "{} rules run ({} invalid, {} unsupported, {} disabled",
        live.len(),
        rules.invalid,
        rules.unsupported,
        rules.disabled
    );
    if rules.skipped > 0 {
        rules_run.push_str(&format!(", {} non-rule files skipped", rules.skipped));
    }
    rules_run.push(')');
    eprintln!(
        "tripline: {read}, {rules_run}, {total_matches} matches, {total_alerts} alerts, {seconds:.2}s elapsed, \
         {rate:.0} events/s"
    );
    let mut quiet_rules = 0usize;
    for rule in live {
        let suppressed = rule.budget.suppressed;
        let losses = state::losses(rule);
        if rule.matches == 0 && losses.is_empty() {
            quiet_rules += 1;
            continue;
        }
        let mut line = format!(
            "  {} [{}]: {} matches, {} alerts",
            rule.rule.name, rule.rule.rule_id, rule.matches, rule.alerts
        );
        if suppressed > 0 {
            line.push_str(&format!(
                ", {suppressed} matches dropped by max_signals={} per {}",
                rule.rule.max_signals, rule.rule.interval
            ));
        }
        for loss in losses {
            line.push_str(", ");
            line.push_str(&loss);
        }
        eprintln!("{line}");
    }
    if quiet_rules > 0 && quiet_rules < live.len() {
        eprintln!("  {quiet_rules} other rules: no matches");
    }
    if input.out_of_order > 0 {
        eprintln!(
            "tripline: {} events arrived out of order (older than an event read before them; sequences \
             reorder within --max-lateness)",
            input.out_of_order
        );
    }
    if stats.bad > 0 {
        eprintln!(
            "bad lines (first {} of {}):",
            stats.bad_shown.len(),
            stats.bad
        );
        for line in &stats.bad_shown {
            eprintln!("  {line}");
        }
    }
}
