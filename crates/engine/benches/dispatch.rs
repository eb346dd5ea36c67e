//! Rule dispatch: offering an event to every stage predicate of ~1000 corpus rules versus asking the
//! dispatch index which rules can match and evaluating only those.
//!
//! The queries are read from `../shared/corpus/detection-rules` (EQL rules only; those that do not compile
//! with default settings are skipped). Events: the shared telemetry samples, or the first
//! `DISPATCH_BENCH_LIMIT` (default 20000) lines of the NDJSON file named by `DISPATCH_BENCH_EVENTS`
//! (e.g. one written by `bench/gen_events.py`).
//!
//! Also prints plans offered and matching per event; `DISPATCH_BENCH_DESCRIBE=1` adds the index
//! summary, `DISPATCH_BENCH_PLANS=1` the plans offered most often in vain (with their queries and
//! gates), and `DISPATCH_BENCH_LOOPS=n` replaces criterion by n plain passes (for profilers).

use std::collections::HashMap;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::dispatch::{DispatchScratch, Dispatcher};
use engine::event::{Event, EventOptions};
use engine::field::FieldTable;
use engine::plan::PlanKind;
use engine::schema::Schema;
use engine::{Plan, QueryOptions};

#[path = "../tests/support/corpus.rs"]
mod corpus;
use corpus::{corpus_rule_files, eql_query, shared_dir};

fn setup() -> (Vec<Plan>, FieldTable, Vec<Event>) {
    let schema = Schema::ecs();
    let options = QueryOptions::default();
    let mut table = FieldTable::with_defaults(&schema);
    let files = corpus_rule_files();
    let mut plans = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Some(query) = eql_query(&text) else {
            continue;
        };
        let Ok(ast) = eql::parse(query) else { continue };
        if let Ok(plan) = engine::compile(&ast, &schema, &options, &mut table) {
            if std::env::var_os("DISPATCH_BENCH_PLANS").is_some() {
                eprintln!("plan {}: {}", plans.len(), query.replace('\n', " "));
            }
            plans.push(plan);
        }
    }
    let mut events = Vec::new();
    if let Some(path) = std::env::var_os("DISPATCH_BENCH_EVENTS") {
        let limit = std::env::var("DISPATCH_BENCH_LIMIT")
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or(20_000);
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for line in text.lines().take(limit) {
            if let Ok(event) = table.parse_event(line, &EventOptions::default()) {
                events.push(event);
            }
        }
        return (plans, table, events);
    }
    for name in [
        "macos-attack-dataset-all.ndjson",
        "elastic-defend-macos.ndjson",
        "elastic-defend-official-sample-events-windows.ndjson",
    ] {
        let text =
            std::fs::read_to_string(shared_dir().join("telemetry").join(name)).unwrap_or_default();
        for line in text.lines() {
            if let Ok(event) = table.parse_event(line, &EventOptions::default()) {
                events.push(event);
            }
        }
    }
    (plans, table, events)
}

fn matches_any_stage(plan: &Plan, event: &Event) -> bool {
    match &plan.kind {
        PlanKind::Event(stage) => stage.predicate.matches(event),
        PlanKind::Sequence(seq) => {
            seq.stages.iter().any(|s| s.stage.predicate.matches(event))
                || seq
                    .until
                    .as_ref()
                    .is_some_and(|u| u.predicate.matches(event))
        }
        PlanKind::Sample(sample) => sample.stages.iter().any(|s| s.predicate.matches(event)),
    }
}

/// Plans offered and plans matching per event; with `DISPATCH_BENCH_PLANS`, the plans offered most
/// often in vain and how they are gated.
fn report(dispatcher: &Dispatcher, plans: &[Plan], table: &FieldTable, events: &[Event]) {
    let verbose = std::env::var_os("DISPATCH_BENCH_PLANS").is_some();
    let mut scratch = DispatchScratch::default();
    let mut candidates = Vec::new();
    let (mut offered, mut hits) = (0usize, 0usize);
    // Per plan: times offered, times a stage matched.
    let mut per_plan: HashMap<u32, (u64, u64)> = HashMap::new();
    for event in events {
        dispatcher.candidates(event, &mut scratch, &mut candidates);
        offered += candidates.len();
        hits += plans.iter().filter(|p| matches_any_stage(p, event)).count();
        if verbose {
            for &c in &candidates {
                let entry = per_plan.entry(c).or_default();
                entry.0 += 1;
                entry.1 += u64::from(
                    plans
                        .get(c as usize)
                        .is_some_and(|p| matches_any_stage(p, event)),
                );
            }
        }
    }
    let n = events.len() as f64;
    let mut wasted: Vec<_> = per_plan.into_iter().collect();
    wasted.sort_by_key(|(_, (o, h))| std::cmp::Reverse(o - h));
    for (plan, (o, h)) in wasted.iter().take(40) {
        eprintln!(
            "plan {plan}: offered {:.3} matched {:.3} per event :: {}",
            *o as f64 / n,
            *h as f64 / n,
            dispatcher.explain(*plan, table).join(" || ")
        );
    }
    eprintln!(
        "dispatch bench: {:.2} plans offered per event, {:.2} match a stage",
        offered as f64 / n,
        hits as f64 / n
    );
}

fn bench_dispatch(c: &mut Criterion) {
    let (plans, table, events) = setup();
    if plans.is_empty() || events.is_empty() {
        eprintln!(
            "dispatch bench: corpus or telemetry not found under {}",
            shared_dir().display()
        );
        return;
    }
    let refs: Vec<&Plan> = plans.iter().collect();
    let built = Instant::now();
    let dispatcher = Dispatcher::new(&refs, &table);
    eprintln!(
        "dispatch bench: {} plans ({} anchored), {} events; index built in {:?}",
        plans.len(),
        dispatcher.anchored_plans(),
        events.len(),
        built.elapsed()
    );
    if std::env::var_os("DISPATCH_BENCH_DESCRIBE").is_some() {
        for line in dispatcher.describe(&table) {
            eprintln!("  {line}");
        }
    }
    report(&dispatcher, &plans, &table, &events);
    // A plain timing loop instead of criterion (for profilers): `DISPATCH_BENCH_LOOPS` passes.
    if let Some(loops) = std::env::var("DISPATCH_BENCH_LOOPS")
        .ok()
        .and_then(|l| l.parse::<usize>().ok())
    {
        let mut scratch = DispatchScratch::default();
        let mut candidates = Vec::new();
        let start = Instant::now();
        for _ in 0..loops {
            for event in &events {
                dispatcher.candidates(event, &mut scratch, &mut candidates);
            }
        }
        let calls = (loops * events.len()).max(1) as f64;
        eprintln!(
            "dispatch bench: {:.0} ns per candidates() call",
            start.elapsed().as_nanos() as f64 / calls
        );
        return;
    }
    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("every_plan", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for event in &events {
                hits += plans.iter().filter(|p| matches_any_stage(p, event)).count();
            }
            hits
        })
    });
    group.bench_function("candidates", |b| {
        let mut scratch = DispatchScratch::default();
        let mut candidates = Vec::new();
        b.iter(|| {
            let mut offered = 0usize;
            for event in &events {
                dispatcher.candidates(event, &mut scratch, &mut candidates);
                offered += candidates.len();
            }
            offered
        })
    });
    group.bench_function("candidates_then_evaluate", |b| {
        let mut scratch = DispatchScratch::default();
        let mut candidates = Vec::new();
        b.iter(|| {
            let mut hits = 0usize;
            for event in &events {
                dispatcher.candidates(event, &mut scratch, &mut candidates);
                hits += candidates
                    .iter()
                    .filter(|&&i| {
                        plans
                            .get(i as usize)
                            .is_some_and(|p| matches_any_stage(p, event))
                    })
                    .count();
            }
            hits
        })
    });
    group.finish();
}

criterion_group!(benches, bench_dispatch);
criterion_main!(benches);
