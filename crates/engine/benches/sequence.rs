//! Sequence throughput (events/s): streaming matcher with per-key state and expiry.
#![allow(clippy::panic)] // bench fixtures: a broken fixture must abort loudly

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::Matcher;

mod common;

fn sequence(c: &mut Criterion) {
    let mut group = c.benchmark_group("sequence");
    group.throughput(Throughput::Elements(common::EVENTS as u64));
    for (name, query) in [
        (
            "by_pid_maxspan",
            r#"sequence by process.pid with maxspan=1m [process where process.name == "bash"] [process where process.name == "curl"]"#,
        ),
        (
            "by_host_three_stages",
            r#"sequence by host.name with maxspan=10s [process where process.name : "ba*"] [process where process.name == "curl"] [file where true]"#,
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

criterion_group!(benches, sequence);
criterion_main!(benches);
