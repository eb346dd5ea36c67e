//! Rule dispatch never drops a plan that could match: over generated conditions (every kind of test
//! the index reads anchors from, and kinds it cannot read, nested in `and`/`or`/`not`) and generated
//! events (lists, numbers where strings are expected, nulls, absent fields, non-ASCII values whose
//! case folding is not ASCII's), every plan a stage of which matches an event is among the event's
//! candidates — from a dispatcher of its own, and from dispatchers sharing one index and one lookup.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use engine::dispatch::{DispatchScratch, Dispatcher};
use engine::event::{Event, EventOptions};
use engine::field::FieldTable;
use engine::plan::PlanKind;
use engine::schema::Schema;
use engine::{Plan, QueryOptions};
use proptest::prelude::*;

#[path = "support/corpus.rs"]
mod corpus;
use corpus::{corpus_rule_files, eql_query, shared_dir};

/// String fields: ordinary ones, a multi-valued one, and low-cardinality ones (the index treats
/// tests on those as context).
const STRING_FIELDS: &[&str] = &[
    "process.name",
    "process.args",
    "user.name",
    "host.os.type",
    "event.action",
];

/// Values and pattern pieces, few so that they meet: ASCII case variants, characters whose Unicode
/// case folding is not ASCII's (Kelvin sign, long s, dotted I), other non-ASCII, the string forms
/// of numbers and booleans, pattern metacharacters as text.
const WORDS: &[&str] = &[
    "a",
    "abc",
    "ABC",
    "kat",
    "\u{212A}at",
    "sab",
    "\u{17F}ab",
    "über",
    "ÜBER",
    "\u{130}x",
    "i\u{307}x",
    "\u{202E}x",
    "22",
    "true",
    "c:\\x",
    "",
    "a?c",
    "a*c",
];

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(WORDS).prop_map(str::to_string)
}

/// EQL string literal.
fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn pattern() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (word(), prop::sample::select(&["", "*", "?", "*"][..])),
            1..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(parts, lead)| {
            let mut p = if lead { "*".to_string() } else { String::new() };
            for (w, sep) in parts {
                p.push_str(&w);
                p.push_str(sep);
            }
            p
        })
}

fn list(items: Vec<String>) -> String {
    items.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
}

fn leaf() -> impl Strategy<Value = String> {
    let field = || prop::sample::select(STRING_FIELDS);
    prop_oneof![
        (field(), word()).prop_map(|(f, v)| format!("{f} == {}", lit(&v))),
        (field(), word()).prop_map(|(f, v)| format!("{f} != {}", lit(&v))),
        (field(), pattern()).prop_map(|(f, p)| format!("{f} : {}", lit(&p))),
        (field(), prop::collection::vec(pattern(), 1..4))
            .prop_map(|(f, ps)| format!("{f} : ({})", list(ps))),
        (field(), pattern(), any::<bool>()).prop_map(|(f, p, ci)| format!(
            "{f} like{} {}",
            if ci { "~" } else { "" },
            lit(&p)
        )),
        (field(), prop::collection::vec(word(), 1..4), any::<bool>()).prop_map(|(f, vs, ci)| {
            format!("{f} in{} ({})", if ci { "~" } else { "" }, list(vs))
        }),
        (field(), word()).prop_map(|(f, v)| format!("{f} regex~ {}", lit(&format!("{v}.*")))),
        (
            field(),
            word(),
            prop::sample::select(&["startsWith", "endsWith", "stringContains"][..]),
            any::<bool>()
        )
            .prop_map(|(f, v, func, ci)| format!(
                "{func}{}({f}, {})",
                if ci { "~" } else { "" },
                lit(&v)
            )),
        field().prop_map(|f| format!("{f} != null")),
        field().prop_map(|f| format!("{f} == null")),
        field().prop_map(|f| format!("length({f}) > 2")),
        prop::sample::select(
            &[
                "destination.port == 22",
                "destination.port > 100",
                "destination.port in (22, 443)",
                "process.pid != null",
                "cidrMatch(source.ip, \"10.0.0.0/8\")",
                "true",
                "false",
            ][..]
        )
        .prop_map(str::to_string),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn category() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["process", "file", "network", "any"][..])
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (category(), condition()).prop_map(|(c, e)| format!("{c} where {e}")),
        1 => (category(), condition(), category(), condition())
            .prop_map(|(c1, e1, c2, e2)| format!("sequence [{c1} where {e1}] [{c2} where {e2}]")),
    ]
}

/// One field's JSON value: a string, a list, a number, null.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => word().prop_map(|w| serde_json::to_string(&w).unwrap()),
        2 => prop::collection::vec(word(), 0..4).prop_map(|ws| serde_json::to_string(&ws).unwrap()),
        1 => prop::sample::select(&["22", "4624", "1.5", "true", "null"][..]).prop_map(str::to_string),
        1 => Just("\"\u{212A}at\"".to_string()),
    ]
}

/// `field.path` → nested JSON object text, from (path, value) pairs with distinct paths.
fn nest(fields: &[(String, String)]) -> String {
    let mut root = serde_json::Map::new();
    for (path, value) in fields {
        let value: serde_json::Value = serde_json::from_str(value).unwrap();
        let mut at = &mut root;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                at.insert(part.to_string(), value.clone());
            } else {
                let next = at
                    .entry(part.to_string())
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                match next {
                    serde_json::Value::Object(map) => at = map,
                    _ => break,
                }
            }
        }
    }
    serde_json::Value::Object(root).to_string()
}

fn event() -> impl Strategy<Value = String> {
    let categories = prop::sample::subsequence(&["process", "file", "network"][..], 0..3);
    let strings = prop::collection::vec(
        (prop::sample::select(STRING_FIELDS), value()),
        0..STRING_FIELDS.len(),
    );
    let others = prop::collection::vec(
        prop::sample::select(
            &[
                ("destination.port", "22"),
                ("destination.port", "8080"),
                ("destination.port", "\"443\""),
                ("process.pid", "4"),
                ("source.ip", "\"10.1.2.3\""),
                ("source.ip", "\"192.168.0.1\""),
            ][..],
        ),
        0..3,
    );
    (categories, strings, others).prop_map(|(categories, strings, others)| {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut add = |path: &str, value: String| {
            if !fields.iter().any(|(p, _)| p == path) {
                fields.push((path.to_string(), value));
            }
        };
        add(
            "event.category",
            serde_json::to_string(&categories).unwrap(),
        );
        for (path, value) in strings {
            add(path, value);
        }
        for (path, value) in others {
            add(path, value.to_string());
        }
        nest(&fields)
    })
}

fn matches_a_stage(plan: &Plan, event: &Event) -> bool {
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

const UNTIMED: EventOptions = EventOptions {
    require_timestamp: false,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_plan_that_can_match_is_offered(
        queries in prop::collection::vec(query(), 1..8),
        events in prop::collection::vec(event(), 1..12),
    ) {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let (texts, plans): (Vec<&String>, Vec<Plan>) = queries
            .iter()
            .filter_map(|q| {
                let ast = eql::parse(q).ok()?;
                let plan = engine::compile(&ast, &schema, &QueryOptions::default(), &mut table);
                Some((q, plan.ok()?))
            })
            .unzip();
        prop_assume!(!plans.is_empty());
        let refs: Vec<&Plan> = plans.iter().collect();
        let (first, second) = refs.split_at(refs.len() / 2);
        let alone = Dispatcher::new(&refs, &table);
        let shared = Dispatcher::shared(&[first, second], &table);
        let mut scratch = DispatchScratch::default();
        let mut shared_scratch = DispatchScratch::default();
        let (mut out, mut part) = (Vec::new(), Vec::new());
        // Twice over: the second pass meets remembered context sets.
        for text in events.iter().chain(&events) {
            let event = table.parse_event(text, &UNTIMED).unwrap();
            alone.candidates(&event, &mut scratch, &mut out);
            let mut joined = Vec::new();
            if let Some(d) = shared.first() {
                d.prepare(&event, &mut shared_scratch);
            }
            let mut offset = 0;
            for (d, plans) in shared.iter().zip([first, second]) {
                d.candidates_prepared(&event, &mut shared_scratch, &mut part);
                joined.extend(part.iter().map(|&i| i + offset));
                offset += u32::try_from(plans.len()).unwrap();
            }
            prop_assert_eq!(&joined, &out, "shared and separate dispatchers differ");
            for (i, plan) in plans.iter().enumerate() {
                if matches_a_stage(plan, &event) {
                    prop_assert!(
                        out.contains(&u32::try_from(i).unwrap()),
                        "{} matches {} but is not offered",
                        texts.get(i).map_or("?", |t| t.as_str()),
                        text
                    );
                }
            }
        }
    }
}

/// The detection-rules corpus (when present next to the repository) over the shared telemetry and
/// the NDJSON files named in `DISPATCH_TEST_EVENTS` (colon-separated, e.g. generated by
/// `bench/gen_events.py`): every rule a stage of which matches an event is offered it.
#[test]
fn corpus_rules_are_offered_every_event_they_match() {
    let schema = Schema::ecs();
    let mut table = FieldTable::with_defaults(&schema);
    let files = corpus_rule_files();
    let mut plans = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Some(ast) = eql_query(&text).and_then(|q| eql::parse(q).ok()) else {
            continue;
        };
        if let Ok(plan) = engine::compile(&ast, &schema, &QueryOptions::default(), &mut table) {
            plans.push(plan);
        }
    }
    if plans.is_empty() {
        eprintln!("corpus not found under {}: skipped", shared_dir().display());
        return;
    }
    let mut inputs: Vec<std::path::PathBuf> = [
        "macos-attack-dataset-all.ndjson",
        "elastic-defend-macos.ndjson",
        "elastic-defend-official-sample-events-windows.ndjson",
    ]
    .iter()
    .map(|name| shared_dir().join("telemetry").join(name))
    .collect();
    if let Some(extra) = std::env::var_os("DISPATCH_TEST_EVENTS") {
        inputs.extend(std::env::split_paths(&extra));
    }
    let refs: Vec<&Plan> = plans.iter().collect();
    let dispatcher = Dispatcher::new(&refs, &table);
    let mut scratch = DispatchScratch::default();
    let mut out = Vec::new();
    let (mut events, mut matched) = (0usize, 0usize);
    for input in inputs {
        let text = std::fs::read_to_string(&input).unwrap_or_default();
        for line in text.lines() {
            let Ok(event) = table.parse_event(line, &UNTIMED) else {
                continue;
            };
            events += 1;
            dispatcher.candidates(&event, &mut scratch, &mut out);
            for (i, plan) in plans.iter().enumerate() {
                if matches_a_stage(plan, &event) {
                    matched += 1;
                    assert!(
                        out.contains(&u32::try_from(i).unwrap()),
                        "plan {i} matches but is not offered: {line}"
                    );
                }
            }
        }
    }
    eprintln!(
        "{} rules, {events} events, {matched} (rule, event) matches, all offered",
        plans.len()
    );
}
