//! Elasticsearch's EQL conformance suite (`../shared/eql-spec/cases.json`) driven through the
//! binary, as a user would: data files written the way SEMANTICS.md §1 loads them, the mapping
//! files as stored (`#` comment lines, the `[runtime_random_keyword_type]` placeholder), then
//! `tripline query --tiebreaker-field F --mapping M… --size N [--max-samples-per-key N] QUERY FILE…`
//! and its NDJSON answer compared with the expected ids and join keys exactly as the library
//! test (`crates/engine/tests/conformance.rs`) compares them.
//!
//! Inputs per index:
//! - `endgame-140`: `test_data.json` with `@timestamp` = FILETIME → epoch millis (a number), as NDJSON;
//! - `endgame-140-nanos`: `@timestamp` = the FILETIME digits read as epoch nanoseconds, written as an
//!   ISO 8601 string with nanosecond precision, as NDJSON;
//! - `extra`, `missing-events`, `sample1..3`: the stored `.data` JSON-array files themselves
//!   (`missing-events.data` has `//` comment lines, which ES's loader accepts).
//!
//! Each entry runs twice: with the mapping files as stored (the CLI reads an unreplaced placeholder
//! as `keyword`) and with copies where the placeholder is `wildcard`.
//!
//! Known failures are those of `crates/engine/tests/conformance-known-failures.txt`: the test
//! fails when an unlisted entry fails or a listed one passes, so the CLI answers as the library does.
//! `CONFORMANCE_FILTER=<substring>` runs only matching case names and prints details.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde_json::Value as Json;

/// Size the runner sends when a spec sets none.
const DEFAULT_SIZE: u64 = 50;
const STRING_TYPE_PLACEHOLDER: &str = "[runtime_random_keyword_type]";

fn shared_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TRIPLINE_SHARED") {
        return PathBuf::from(dir);
    }
    // crates/tripline → workspace → its sibling `shared`.
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

fn string_list(value: &Json) -> Vec<String> {
    match value {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// FILETIME (100 ns ticks since 1601) → epoch milliseconds, integer division (SEMANTICS.md §1).
fn filetime_to_millis(ticks: i64) -> i64 {
    ticks / 10_000 - 11_644_473_600_000
}

/// Writes the endgame data as NDJSON with the transform of the millis or nanos index.
fn write_endgame(spec: &Path, nanos: bool, out: &Path) {
    let docs: Vec<Json> = serde_json::from_str(&read(&spec.join("test_data.json"))).unwrap();
    let mut text = String::new();
    for mut doc in docs {
        let obj = doc.as_object_mut().expect("endgame documents are objects");
        if let Some(ts) = obj.get("timestamp").and_then(Json::as_i64) {
            if nanos {
                // The FILETIME digits read as epoch nanoseconds, given as an ISO string.
                let stamp = jiff::Timestamp::from_nanosecond(i128::from(ts)).unwrap();
                obj.insert("@timestamp".into(), Json::String(format!("{stamp:.9}")));
                obj.insert("timestamp".into(), Json::from(ts / 1_000_000));
            } else {
                obj.insert("@timestamp".into(), Json::from(filetime_to_millis(ts)));
            }
        }
        text.push_str(&doc.to_string());
        text.push('\n');
    }
    std::fs::write(out, text).unwrap();
}

/// The command-line inputs of one data entry: mapping files and data files.
#[derive(Clone)]
struct Prepared {
    mappings: Vec<PathBuf>,
    data: Vec<PathBuf>,
}

fn prepare(spec: &Path, entry: &Json, work: &Path, wildcard: bool) -> Prepared {
    let index = entry["index"].as_str().unwrap_or_default();
    let mappings = string_list(&entry["mapping_file"])
        .iter()
        .map(|m| {
            let stored = spec.join(m);
            if !wildcard {
                return stored;
            }
            let copy = work.join(format!(
                "wildcard-{}",
                Path::new(m).file_name().unwrap().to_string_lossy()
            ));
            if !copy.exists() {
                std::fs::write(
                    &copy,
                    read(&stored).replace(STRING_TYPE_PLACEHOLDER, "wildcard"),
                )
                .unwrap();
            }
            copy
        })
        .collect();
    let data = if index.starts_with("endgame-140") {
        let nanos = entry["timestamp_transform"]
            .as_str()
            .unwrap_or_default()
            .contains("nanos");
        let out = work.join(format!("{index}.ndjson"));
        if !out.exists() {
            write_endgame(spec, nanos, &out);
        }
        vec![out]
    } else {
        string_list(&entry["data_file"])
            .iter()
            .map(|f| spec.join(f))
            .collect()
    };
    Prepared { mappings, data }
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

/// The runner's stringification of a join key value (`null` → "null", numbers via toString).
fn key_string(value: &Json) -> String {
    match value {
        Json::Null => "null".to_string(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn expected_join_keys(case: &Json) -> Option<Vec<String>> {
    let keys = case.get("join_keys")?.as_array()?;
    if keys.is_empty() {
        return None;
    }
    Some(keys.iter().map(key_string).collect())
}

fn flag_u64(case: &Json, name: &str) -> Option<u64> {
    case.get(name)
        .or_else(|| case["flags"].get(name))
        .and_then(Json::as_u64)
}

/// Sequences and samples come back as `{"join_keys": [...], "events": [...]}`, events as themselves.
fn as_sequence(hit: &Json) -> Option<(&Vec<Json>, &Vec<Json>)> {
    let obj = hit.as_object()?;
    if obj.len() != 2 {
        return None;
    }
    Some((
        obj.get("join_keys")?.as_array()?,
        obj.get("events")?.as_array()?,
    ))
}

fn id_of(doc: &Json, id_field: &str) -> i64 {
    if doc.get("missing") == Some(&Json::Bool(true)) {
        return -1;
    }
    doc.get(id_field)
        .and_then(Json::as_f64)
        .map_or(i64::MIN, |f| f as i64)
}

/// Runs one case on one prepared entry through the binary; `Err` explains the difference.
fn run_entry(case: &Json, entry: &Json, inputs: &Prepared, verbose: bool) -> Result<(), String> {
    let query = case["query"].as_str().unwrap_or_default().trim();
    let id_field = entry["id_field"].as_str().unwrap_or("id");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tripline"));
    command.arg("query");
    if let Some(tiebreaker) = entry["tiebreaker"].as_str() {
        command.args(["--tiebreaker-field", tiebreaker]);
    }
    for mapping in &inputs.mappings {
        command.arg("--mapping").arg(mapping);
    }
    let size = flag_u64(case, "size").unwrap_or(DEFAULT_SIZE);
    command.args(["--size", &size.to_string()]);
    if let Some(n) = flag_u64(case, "max_samples_per_key").filter(|&n| n > 0) {
        command.args(["--max-samples-per-key", &n.to_string()]);
    }
    // `--` so that a query starting with `-` is not read as an option.
    command.arg("--").arg(query).args(&inputs.data);
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start tripline: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            output.status.code(),
            stderr.trim()
        ));
    }
    if !stderr.trim().is_empty() {
        // Every document of the suite is valid input: nothing may be skipped.
        return Err(format!("unexpected stderr: {}", stderr.trim()));
    }
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for (n, line) in stdout.lines().enumerate() {
        let hit: Json = serde_json::from_str(line)
            .map_err(|e| format!("output line {} is not JSON ({e}): {line}", n + 1))?;
        match as_sequence(&hit) {
            Some((join_keys, events)) => {
                keys.extend(join_keys.iter().map(key_string));
                ids.extend(events.iter().map(|e| id_of(e, id_field)));
            }
            None => ids.push(id_of(&hit, id_field)),
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
        eprintln!("  query: {query}\n  ids: {ids:?}\n  keys: {keys:?}");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn known_failures(path: &Path) -> BTreeMap<(String, String), String> {
    let text = read(path);
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

/// One unit of work: a case on one of its data entries.
struct Job<'a> {
    name: String,
    runner: String,
    case: &'a Json,
    entry: &'a Json,
    variants: [Prepared; 2],
}

#[test]
fn query_conformance_through_the_binary() {
    let started = std::time::Instant::now();
    let spec = shared_dir().join("eql-spec");
    let cases: Vec<Json> = match serde_json::from_str(&read(&spec.join("cases.json"))) {
        Ok(Json::Array(c)) => c,
        other => panic!("cases.json: unexpected content {:?}", other.err()),
    };
    assert!(!cases.is_empty(), "cases.json holds no cases");
    let known = known_failures(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../engine/tests/conformance-known-failures.txt"),
    );
    let filter = std::env::var("CONFORMANCE_FILTER").ok();
    // Removed on drop, so also when the test fails.
    let work = tempfile::Builder::new()
        .prefix("tripline-query-conformance-")
        .tempdir()
        .unwrap();
    let keyword_dir = work.path().join("keyword");
    let wildcard_dir = work.path().join("wildcard");
    std::fs::create_dir_all(&keyword_dir).unwrap();
    std::fs::create_dir_all(&wildcard_dir).unwrap();

    let mut jobs = Vec::new();
    let mut seen = BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default().to_string();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        for entry in case["data"].as_array().into_iter().flatten() {
            let runner = entry["runner"].as_str().unwrap_or_default().to_string();
            seen.insert((name.clone(), runner.clone()));
            jobs.push(Job {
                name: name.clone(),
                runner,
                case,
                entry,
                variants: [
                    prepare(&spec, entry, &keyword_dir, false),
                    prepare(&spec, entry, &wildcard_dir, true),
                ],
            });
        }
    }

    // Each job is one or two short processes; a few threads keep the whole suite quick in debug.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 4);
    let next = Mutex::new(0usize);
    let outcomes: Mutex<Vec<Option<Result<(), String>>>> = Mutex::new(vec![None; jobs.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = {
                    let mut next = next.lock().unwrap();
                    let i = *next;
                    *next += 1;
                    i
                };
                let Some(job) = jobs.get(i) else { break };
                let mut outcome = Ok(());
                for (variant, inputs) in ["keyword", "wildcard"].iter().zip(&job.variants) {
                    if filter.is_some() {
                        eprintln!("{} [{}, {variant}]", job.name, job.runner);
                    }
                    if let Err(why) = run_entry(job.case, job.entry, inputs, filter.is_some()) {
                        outcome = Err(format!("({variant} strings) {why}"));
                        break;
                    }
                }
                outcomes.lock().unwrap()[i] = Some(outcome);
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();

    let mut errors = Vec::new();
    let (mut passed, mut known_failed) = (0usize, 0usize);
    let mut case_ok: BTreeMap<&str, bool> = BTreeMap::new();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let outcome = outcome.unwrap_or_else(|| Err("not run".into()));
        let key = (job.name.clone(), job.runner.clone());
        let ok = case_ok.entry(&job.name).or_insert(true);
        match (outcome, known.get(&key)) {
            (Ok(()), None) => passed += 1,
            (Ok(()), Some(_)) => {
                *ok = false;
                errors.push(format!(
                    "{} [{}]: listed as a known failure but passes through the CLI",
                    job.name, job.runner
                ));
            }
            (Err(_), Some(_)) => {
                *ok = false;
                known_failed += 1;
            }
            (Err(why), None) => {
                *ok = false;
                errors.push(format!("{} [{}]: {why}", job.name, job.runner));
            }
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
    let cases_passed = case_ok.values().filter(|ok| **ok).count();
    println!(
        "query conformance (CLI): {cases_passed} of {} cases pass; entries: {passed} passed, {known_failed} known failures of {} ({:.1} s)",
        case_ok.len(),
        jobs.len(),
        started.elapsed().as_secs_f64()
    );
    for e in &errors {
        eprintln!("FAIL {e}");
    }
    let _ = work.close();
    assert!(
        errors.is_empty(),
        "{} conformance problem(s) through the CLI; see FAIL lines above",
        errors.len()
    );
}
