//! Elasticsearch's EQL conformance suite (`../shared/eql-spec/cases.json`), run against
//! every data set each case names, with the loading and transforms of SEMANTICS.md §1–2.
//!
//! Entries that cannot pass yet are listed in `conformance-known-failures.txt`
//! (`name | runner | reason`). The test fails when an unlisted entry fails, when a listed
//! one passes (so the list stays honest) or names no entry.
//!
//! `CONFORMANCE_FILTER=<substring>` runs only matching case names and prints details.

#![allow(clippy::panic)] // a test harness: missing data must fail loudly

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::event::{Event, EventOptions};
use engine::field::FieldTable;
use engine::runtime::Match;
use engine::schema::Schema;
use engine::value::{format_double, Value};
use engine::QueryOptions;
use serde_json::Value as Json;

/// Size the runner sends when a spec sets none.
const DEFAULT_SIZE: u64 = 50;

fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TRIPLINE_SHARED") {
        return PathBuf::from(dir);
    }
    // crates/engine → workspace → its sibling `shared`.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (the conformance suite needs ../shared/eql-spec; set TRIPLINE_SHARED)",
            path.display()
        )
    })
}

/// One loaded index (or several queried together): schema and documents after transforms.
struct Index {
    schema: Schema,
    docs: Vec<Json>,
}

/// The loader replaces this placeholder by `keyword` or `wildcard` at random; every
/// expected result must hold for both, so the suite runs once with each.
const STRING_TYPE_PLACEHOLDER: &str = "[runtime_random_keyword_type]";
const STRING_TYPES: [&str; 2] = ["keyword", "wildcard"];

fn load_mapping(spec: &Path, file: &str, string_type: &str) -> Schema {
    let text = read(&spec.join(file)).replace(STRING_TYPE_PLACEHOLDER, string_type);
    Schema::from_es_mapping_text(&text).unwrap_or_else(|e| panic!("mapping {file}: {e}"))
}

fn load_docs(path: &Path) -> Vec<Json> {
    // The loader's JSON parser allows `//` comment lines (missing-events.data has them).
    let text: Vec<String> = read(path)
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(String::from)
        .collect();
    match serde_json::from_str::<Json>(&text.join("\n")) {
        Ok(Json::Array(docs)) => docs,
        Ok(_) => panic!("{}: not a JSON array", path.display()),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn transform_endgame(docs: &mut [Json], nanos: bool) {
    for doc in docs.iter_mut() {
        let Some(obj) = doc.as_object_mut() else {
            continue;
        };
        let Some(ts) = obj.get("timestamp").and_then(Json::as_i64) else {
            continue;
        };
        if nanos {
            // The FILETIME digits read as epoch nanoseconds.
            let digits = ts.to_string();
            let split = digits.len().saturating_sub(6);
            let (millis, fraction) = digits.split_at(split);
            let stamp = if fraction.bytes().all(|b| b == b'0') {
                millis.to_string()
            } else {
                format!("{millis}.{fraction}")
            };
            obj.insert("@timestamp".into(), Json::String(stamp));
            obj.insert("timestamp".into(), Json::from(ts / 1_000_000));
        } else {
            obj.insert(
                "@timestamp".into(),
                Json::from(ts / 10_000 - 11_644_473_600_000),
            );
        }
    }
}

fn load_index(spec: &Path, entry: &Json, string_type: &str) -> Index {
    let index = entry["index"].as_str().unwrap_or_default();
    let mappings: Vec<String> = match &entry["mapping_file"] {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let mut schema: Option<Schema> = None;
    for m in &mappings {
        let s = load_mapping(spec, m, string_type);
        schema = Some(match schema {
            None => s,
            Some(prev) => prev.merged_with(&s),
        });
    }
    let mut schema = schema.unwrap_or_else(Schema::empty);
    let mut docs = Vec::new();
    if index.starts_with("endgame-140") {
        docs = load_docs(&spec.join("test_data.json"));
        let transform = entry["timestamp_transform"].as_str().unwrap_or_default();
        transform_endgame(&mut docs, transform.contains("nanos"));
    } else {
        let files: Vec<String> = match &entry["data_file"] {
            Json::String(s) => vec![s.clone()],
            Json::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        for f in files {
            docs.extend(load_docs(&spec.join(f)));
        }
    }
    // Fields absent from the mapping get Elasticsearch's dynamic mapping.
    for doc in &docs {
        schema.infer_from_document(doc);
    }
    Index { schema, docs }
}

/// What the spec expects: one list of ids, or alternatives.
fn expected_alternatives(case: &Json) -> Vec<Vec<i64>> {
    let ids = case["expected_event_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if ids.first().is_some_and(Json::is_array) {
        ids.iter()
            .map(|alt| {
                alt.as_array()
                    .map(|a| a.iter().filter_map(Json::as_i64).collect())
                    .unwrap_or_default()
            })
            .collect()
    } else {
        vec![ids.iter().filter_map(Json::as_i64).collect()]
    }
}

fn expected_join_keys(case: &Json) -> Option<Vec<String>> {
    let keys = case.get("join_keys")?.as_array()?;
    if keys.is_empty() {
        return None;
    }
    Some(
        keys.iter()
            .map(|k| match k {
                Json::Null => "null".to_string(),
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
    )
}

/// The runner's stringification of a join key value.
fn key_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Float(f) => format_double(*f),
        other => other.to_string(),
    }
}

fn flag_u64(case: &Json, name: &str) -> Option<u64> {
    case.get(name)
        .or_else(|| case["flags"].get(name))
        .and_then(Json::as_u64)
}

/// Runs one case on one data entry; `Err` explains the difference.
fn run_entry(case: &Json, entry: &Json, index: &Index, verbose: bool) -> Result<(), String> {
    let query_text = case["query"].as_str().unwrap_or_default().trim();
    let query = eql::parse(query_text).map_err(|d| format!("parse error: {d:?}"))?;
    let tiebreaker = entry["tiebreaker"].as_str();
    let id_field = entry["id_field"].as_str().unwrap_or("id");
    let options = QueryOptions {
        timestamp_field: "@timestamp".into(),
        tiebreaker_field: tiebreaker.map(String::from),
        category_field: "event.category".into(),
        size: Some(flag_u64(case, "size").unwrap_or(DEFAULT_SIZE)),
        max_samples_per_key: flag_u64(case, "max_samples_per_key")
            .filter(|&n| n > 0)
            .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        lookback: None,
    };
    let mut fields = FieldTable::new(
        &index.schema,
        &options.timestamp_field,
        tiebreaker,
        &options.category_field,
    );
    let plan = engine::compile(&query, &index.schema, &options, &mut fields)
        .map_err(|d| format!("compile error: {d:?}"))?;
    let id = fields.register(id_field, &index.schema);
    let event_options = EventOptions {
        require_timestamp: plan.needs_timestamp(),
    };
    let mut events: Vec<Arc<Event>> = Vec::with_capacity(index.docs.len());
    for (seq, doc) in index.docs.iter().enumerate() {
        let text = doc.to_string();
        let mut event = fields
            .parse_event(&text, &event_options)
            .map_err(|e| format!("document {seq}: {e}"))?;
        event.seq = seq as u64;
        events.push(Arc::new(event));
    }

    let matches = engine::query::run(&plan, events);
    let id_of = |e: &Event| e.get(id).first().as_f64().map_or(i64::MIN, |f| f as i64);
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for m in &matches {
        match m {
            Match::Event(e) => ids.push(id_of(e)),
            Match::Sequence { join_keys, events } => {
                keys.extend(join_keys.iter().map(key_string));
                ids.extend(events.iter().map(|e| e.as_deref().map_or(-1, id_of)));
            }
        }
    }
    let alternatives = expected_alternatives(case);
    let mut problems = String::new();
    if !alternatives.contains(&ids) {
        let _ = write!(problems, "ids: expected {alternatives:?}, got {ids:?}");
    }
    if let Some(expected) = expected_join_keys(case) {
        if expected != keys {
            let _ = write!(
                problems,
                "{}join keys: expected {expected:?}, got {keys:?}",
                if problems.is_empty() { "" } else { "; " }
            );
        }
    }
    if verbose {
        eprintln!("  query: {query_text}\n  ids: {ids:?}\n  keys: {keys:?}");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn known_failures(path: &Path) -> BTreeMap<(String, String), String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        match parts.as_slice() {
            [name, runner, reason] if !reason.is_empty() => {
                out.insert((name.to_string(), runner.to_string()), reason.to_string());
            }
            _ => panic!(
                "{}:{}: expected `name | runner | reason`",
                path.display(),
                n + 1
            ),
        }
    }
    out
}

#[test]
fn conformance() {
    let shared = shared_dir();
    let spec = shared.join("eql-spec");
    let cases: Vec<Json> = match serde_json::from_str(&read(&spec.join("cases.json"))) {
        Ok(Json::Array(c)) => c,
        other => panic!("cases.json: unexpected content {:?}", other.err()),
    };
    assert!(!cases.is_empty(), "cases.json holds no cases");
    let known = known_failures(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-known-failures.txt"),
    );
    let filter = std::env::var("CONFORMANCE_FILTER").ok();

    let mut indices: HashMap<String, Index> = HashMap::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let (mut entries, mut entries_passed, mut entries_known) = (0usize, 0usize, 0usize);
    let (mut cases_run, mut cases_passed, mut cases_known) = (0usize, 0usize, 0usize);
    let mut errors = Vec::new();

    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default().to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        cases_run += 1;
        let (mut all_passed, mut any_known) = (true, false);
        for entry in case["data"].as_array().into_iter().flatten() {
            let runner = entry["runner"].as_str().unwrap_or_default().to_string();
            let index_name = entry["index"].as_str().unwrap_or_default().to_string();
            let key = (name.clone(), runner.clone());
            seen.insert(key.clone());
            entries += 1;
            let mut outcome = Ok(());
            for string_type in STRING_TYPES {
                let index = indices
                    .entry(format!(
                        "{index_name}/{}/{string_type}",
                        entry["timestamp_transform"]
                    ))
                    .or_insert_with(|| load_index(&spec, entry, string_type));
                if filter.is_some() {
                    eprintln!("{name} [{runner}, {string_type}]");
                }
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_entry(case, entry, index, filter.is_some())
                }))
                .unwrap_or_else(|_| Err("panicked".to_string()));
                if let Err(why) = result {
                    outcome = Err(format!("({string_type} strings) {why}"));
                    break;
                }
            }
            match (outcome, known.get(&key)) {
                (Ok(()), None) => entries_passed += 1,
                (Ok(()), Some(_)) => {
                    all_passed = false;
                    errors.push(format!("{name} [{runner}]: listed as a known failure but passes; remove it from the list"));
                }
                (Err(_), Some(_)) => {
                    all_passed = false;
                    any_known = true;
                    entries_known += 1;
                }
                (Err(why), None) => {
                    all_passed = false;
                    errors.push(format!("{name} [{runner}]: {why}"));
                }
            }
        }
        if all_passed {
            cases_passed += 1;
        } else if any_known {
            cases_known += 1;
        }
    }
    if filter.is_none() {
        for key in known.keys() {
            if !seen.contains(key) {
                errors.push(format!(
                    "{} [{}]: listed as a known failure but no such case entry",
                    key.0, key.1
                ));
            }
        }
    }
    println!("conformance: {cases_passed} passed, {cases_known} known failures of {cases_run}");
    println!(
        "conformance entries: {entries_passed} passed, {entries_known} known failures of {entries}"
    );
    for e in &errors {
        eprintln!("FAIL {e}");
    }
    assert!(
        errors.is_empty(),
        "{} conformance problem(s); see FAIL lines above",
        errors.len()
    );
}
