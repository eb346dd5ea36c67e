//! Parse throughput (bytes/s) over every EQL query of the detection-rules corpus.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::path::{Path, PathBuf};

fn corpus_queries() -> Vec<String> {
    let shared = std::env::var_os("TRIPLINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let root = shared.join("corpus/detection-rules");
    let mut stack = vec![root.join("rules"), root.join("rules_building_block")];
    let mut queries = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(doc) = toml::from_str::<toml::Table>(&text) else {
                continue;
            };
            let rule = doc.get("rule").and_then(|r| r.as_table());
            if let Some(rule) =
                rule.filter(|r| r.get("language").and_then(|l| l.as_str()) == Some("eql"))
            {
                if let Some(q) = rule.get("query").and_then(|q| q.as_str()) {
                    queries.push(q.to_string());
                }
            }
        }
    }
    assert!(!queries.is_empty(), "no corpus under {}", shared.display());
    queries
}

fn parse_corpus(c: &mut Criterion) {
    let queries = corpus_queries();
    let bytes: usize = queries.iter().map(String::len).sum();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("detection_rules_corpus", |b| {
        b.iter(|| {
            for q in &queries {
                let _ = std::hint::black_box(eql::parse(std::hint::black_box(q)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse_corpus);
criterion_main!(benches);
