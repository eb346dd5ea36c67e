//! Event-query throughput (events/s) on pre-parsed synthetic events.
#![allow(clippy::panic)] // bench fixtures: a broken fixture must abort loudly

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::Matcher;

mod common;

fn event_query(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_query");
    group.throughput(Throughput::Elements(common::EVENTS as u64));
    for (name, query) in [
        ("equality", r#"process where process.name == "curl""#),
        (
            "wildcard_and_in",
            r#"process where process.name : ("cu*", "*script") and process.pid in (1, 2, 3, 42)"#,
        ),
    ] {
        let (plan, events) = common::setup(query);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut matcher = Matcher::new(Arc::clone(&plan));
                let mut out = Vec::new();
                for event in &events {
                    matcher.push(event, &mut out);
                    out.clear();
                }
                matcher.finish(&mut out);
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, event_query);
criterion_main!(benches);
