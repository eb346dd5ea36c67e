//! Rule dispatch: offering an event to every stage predicate of ~1000 corpus rules versus asking the
//! dispatch index which rules can match and evaluating only those.
//!
//! The queries are read from `../shared/corpus/detection-rules` (EQL rules only; those that do not compile
//! with default settings are skipped). Events: the shared telemetry samples.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::dispatch::{DispatchScratch, Dispatcher};
use engine::event::{Event, EventOptions};
use engine::field::FieldTable;
use engine::plan::PlanKind;
use engine::schema::Schema;
use engine::{Plan, QueryOptions};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The `query = '''...'''` of an EQL rule file (the corpus writes every query this way).
fn eql_query(text: &str) -> Option<&str> {
    if !text.contains("language = \"eql\"") {
        return None;
    }
    let start = text.find("query = '''")? + "query = '''".len();
    let end = start + text.get(start..)?.find("'''")?;
    text.get(start..end)
}

fn setup() -> (Vec<Plan>, FieldTable, Vec<Event>) {
    let schema = Schema::ecs();
    let options = QueryOptions::default();
    let mut table = FieldTable::with_defaults(&schema);
    let mut files = Vec::new();
    for dir in ["rules", "rules_building_block"] {
        toml_files(
            &shared().join("corpus/detection-rules").join(dir),
            &mut files,
        );
    }
    files.sort();
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
            plans.push(plan);
        }
    }
    let mut events = Vec::new();
    for name in [
        "macos-attack-dataset-all.ndjson",
        "elastic-defend-macos.ndjson",
        "elastic-defend-official-sample-events-windows.ndjson",
    ] {
        let text =
            std::fs::read_to_string(shared().join("telemetry").join(name)).unwrap_or_default();
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

fn bench_dispatch(c: &mut Criterion) {
    let (plans, table, events) = setup();
    if plans.is_empty() || events.is_empty() {
        eprintln!(
            "dispatch bench: corpus or telemetry not found under {}",
            shared().display()
        );
        return;
    }
    let refs: Vec<&Plan> = plans.iter().collect();
    let dispatcher = Dispatcher::new(&refs, &table);
    eprintln!(
        "dispatch bench: {} plans ({} anchored), {} events",
        plans.len(),
        dispatcher.anchored_plans(),
        events.len()
    );
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
