//! Issue 4 through the binary: eslogger input, ECS input shapes, real samples, live mode, `convert`.

// Helpers outside #[test] fns fail by panicking, as tests do.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

const HOST_ID: &str = "5D7C2A4E-9B1F-5E3A-8C6D-2F4B1A0E9C77";
const SEED_RULE_ID: &str = "9d19ece6-c20e-481a-90c5-ccca596537de";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules_dir() -> PathBuf {
    repo().join("examples/rules")
}

fn scenario_path() -> PathBuf {
    repo().join("crates/eslogger/tests/data/art-t1543.004.eslogger.ndjson")
}

/// The shared reference data (../shared/telemetry from the repository root), or TRIPLINE_TELEMETRY_DIR.
fn telemetry_dir() -> PathBuf {
    match std::env::var_os("TRIPLINE_TELEMETRY_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo().join("../shared/telemetry"),
    }
}

/// A fresh directory, unique per test; removed on drop, so also when the test fails.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tripline-eslogger-{name}-"))
        .tempdir()
        .unwrap()
}

fn tripline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tripline runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the rules over `files`; the run must succeed. Returns the alerts.
fn run_rules(extra: &[&str], files: &[&Path]) -> Vec<Map<String, Value>> {
    let rules = rules_dir();
    let mut args = vec!["run", "--strict", "--rules", rules.to_str().unwrap()];
    args.extend_from_slice(extra);
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let out = tripline(&args);
    assert!(
        out.status.success(),
        "tripline {args:?}: {:?}\nstderr:\n{}",
        out.status,
        text(&out.stderr)
    );
    parse_alerts(&text(&out.stdout))
}

fn parse_alerts(stdout: &str) -> Vec<Map<String, Value>> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("alert is not JSON ({err}): {line}"))
        })
        .collect()
}

/// A field by dotted path in a document whose keys may be nested, dotted, or both.
fn field<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = doc.get(path) {
        return Some(value);
    }
    for (dot, _) in path.match_indices('.') {
        if let Some(Value::Object(inner)) = doc.get(&path[..dot]) {
            if let Some(found) = field(inner, &path[dot + 1..]) {
                return Some(found);
            }
        }
    }
    None
}

fn is_building_block(alert: &Map<String, Value>) -> bool {
    field(alert, "kibana.alert.building_block_type").is_some()
}

/// The alert facts that must not depend on how the events were written: rule, position in the sequence,
/// times, and which source events (by their ECS identity) it covers. Ids and uuids are excluded: they
/// hash the input text or come from `_id`, which differ between shapes by design.
fn essence(alerts: &[Map<String, Value>]) -> Vec<Value> {
    let mut out: Vec<Value> = alerts
        .iter()
        .map(|alert| {
            let get = |path: &str| field(alert, path).cloned().unwrap_or(Value::Null);
            json!({
                "rule": get("kibana.alert.rule.rule_id"),
                "building_block": get("kibana.alert.building_block_type"),
                "group_index": get("kibana.alert.group.index"),
                "timestamp": get("@timestamp"),
                "original_time": get("kibana.alert.original_time"),
                "event.action": get("event.action"),
                "event.sequence": get("event.sequence"),
                "file.path": get("file.path"),
                "process.entity_id": get("process.entity_id"),
                "process.args": get("process.args"),
                "host.id": get("host.id"),
            })
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

fn seed_sequences(alerts: &[Map<String, Value>]) -> Vec<&Map<String, Value>> {
    alerts
        .iter()
        .filter(|a| {
            !is_building_block(a)
                && field(a, "kibana.alert.rule.rule_id") == Some(&json!(SEED_RULE_ID))
        })
        .collect()
}

/// The ART scenario mapped by `tripline convert` (nested ECS, one document per line).
fn converted_scenario() -> Vec<Map<String, Value>> {
    let scenario = scenario_path();
    let out = tripline(&[
        "convert",
        "--from",
        "eslogger",
        "--host-id",
        HOST_ID,
        scenario.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "convert: {}", text(&out.stderr));
    parse_alerts(&text(&out.stdout))
}

#[test]
fn art_scenario_raises_exactly_one_seed_alert() {
    let alerts = run_rules(
        &["--input", "eslogger", "--host-id", HOST_ID],
        &[&scenario_path()],
    );
    let shells = seed_sequences(&alerts);
    assert_eq!(shells.len(), 1, "alerts: {alerts:#?}");
    // The building blocks: the plist write, then `launchctl load -w`.
    let mut blocks: Vec<&Map<String, Value>> =
        alerts.iter().filter(|a| is_building_block(a)).collect();
    blocks.sort_by_key(|a| field(a, "kibana.alert.group.index").map(Value::to_string));
    assert_eq!(blocks.len(), 2);
    assert_eq!(
        field(blocks[0], "file.path"),
        Some(&json!("/Library/LaunchDaemons/com.atomicredteam.plist"))
    );
    assert_ne!(field(blocks[0], "event.action"), Some(&json!("deletion")));
    assert_eq!(field(blocks[1], "process.name"), Some(&json!("launchctl")));
    assert_eq!(
        field(blocks[1], "process.args"),
        Some(&json!([
            "launchctl",
            "load",
            "-w",
            "/Library/LaunchDaemons/com.atomicredteam.plist"
        ]))
    );
    assert_eq!(field(shells[0], "host.id"), Some(&json!(HOST_ID)));
}

#[test]
fn unload_and_delete_raise_nothing() {
    // The copy, then the cleanup 30 s later (inside the rule's 1 minute span): no `launchctl load`.
    let lines: Vec<String> = std::fs::read_to_string(scenario_path())
        .unwrap()
        .lines()
        .filter(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            let time = event["time"].as_str().unwrap();
            !("2025-08-07T14:02:12"..="2025-08-07T14:02:40").contains(&time)
        })
        .map(str::to_string)
        .collect();
    let tmp = scratch("cleanup");
    let dir = tmp.path();
    let path = dir.join("copy-then-cleanup.ndjson");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let alerts = run_rules(&["--input", "eslogger", "--host-id", HOST_ID], &[&path]);
    assert!(alerts.is_empty(), "{alerts:#?}");
}

fn flatten_into(prefix: &str, value: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (key, value) in value {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten_into(&path, inner, out),
            other => {
                out.insert(path, other.clone());
            }
        }
    }
}

fn write_ndjson(path: &Path, docs: &[Value]) {
    let text: String = docs.iter().map(|d| format!("{d}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn same_events_in_every_ecs_shape_give_identical_alerts() {
    let docs = converted_scenario();
    let tmp = scratch("shapes");
    let dir = tmp.path();

    let nested_path = dir.join("nested.ndjson");
    write_ndjson(
        &nested_path,
        &docs.iter().cloned().map(Value::Object).collect::<Vec<_>>(),
    );

    let flat: Vec<Value> = docs
        .iter()
        .map(|doc| {
            let mut out = Map::new();
            flatten_into("", doc, &mut out);
            Value::Object(out)
        })
        .collect();
    let flat_path = dir.join("flat.ndjson");
    write_ndjson(&flat_path, &flat);

    // Half nested, half dotted, and within a document `event` nested while `host.*` is dotted.
    let mixed: Vec<Value> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let mut out = Map::new();
            for (key, value) in doc {
                match value {
                    Value::Object(inner) if i % 2 == 0 && key != "event" => {
                        flatten_into(key, inner, &mut out);
                    }
                    other => {
                        out.insert(key.clone(), other.clone());
                    }
                }
            }
            Value::Object(out)
        })
        .collect();
    let mixed_path = dir.join("mixed.ndjson");
    write_ndjson(&mixed_path, &mixed);

    // Search hits, as `_search`/scroll/elasticdump give them: the data stream is known only from `_index`.
    let hits: Vec<Value> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let dataset = doc["data_stream"]["dataset"].as_str().unwrap().to_string();
            let mut source = doc.clone();
            source.remove("data_stream");
            json!({
                "_index": format!(".ds-logs-{dataset}-default-2025.08.07-000001"),
                "_id": format!("hit-{i}"),
                "_score": null,
                "_source": source,
            })
        })
        .collect();
    let hits_path = dir.join("hits.ndjson");
    write_ndjson(&hits_path, &hits);

    let array_path = dir.join("array.json");
    std::fs::write(&array_path, serde_json::to_string_pretty(&docs).unwrap()).unwrap();

    let reference = run_rules(
        &["--input", "eslogger", "--host-id", HOST_ID],
        &[&scenario_path()],
    );
    assert_eq!(seed_sequences(&reference).len(), 1);
    let expected = essence(&reference);
    for path in [
        &nested_path,
        &flat_path,
        &mixed_path,
        &hits_path,
        &array_path,
    ] {
        let alerts = run_rules(&[], &[path]);
        assert_eq!(essence(&alerts), expected, "{}", path.display());
    }
}

#[test]
fn every_real_sample_line_is_read_without_error() {
    let dir = telemetry_dir();
    for name in [
        "elastic-defend-macos.ndjson",
        "macos-attack-dataset-all.ndjson",
        "elastic-defend-official-sample-events-windows.ndjson",
    ] {
        let path = dir.join(name);
        assert!(path.exists(), "{} missing", path.display());
        // --strict: any bad line fails the run.
        let alerts = run_rules(&[], &[&path]);
        // None of these samples is a `launchctl load` after a LaunchDaemons write on a macos-typed host.
        assert!(seed_sequences(&alerts).is_empty(), "{name}: {alerts:#?}");
    }
    let eslogger = dir.join("eslogger-real-mullvad-tests.ndjson");
    let alerts = run_rules(&["--input", "eslogger", "--host-id", HOST_ID], &[&eslogger]);
    assert!(alerts.is_empty());
}

#[test]
fn convert_prints_mapped_ndjson_and_needs_a_host_id_off_macos() {
    let sample = telemetry_dir().join("eslogger-real-mullvad-tests.ndjson");
    let out = tripline(&[
        "convert",
        "--from",
        "eslogger",
        "--host-id",
        HOST_ID,
        sample.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let docs = parse_alerts(&text(&out.stdout));
    assert_eq!(docs.len(), 4);
    let actions: Vec<&Value> = docs.iter().map(|d| &d["event"]["action"]).collect();
    assert_eq!(
        actions,
        [
            &json!("end"),
            &json!("exec"),
            &json!("fork"),
            &json!("exec")
        ]
    );
    assert!(docs
        .iter()
        .all(|d| d["host"]["id"] == HOST_ID && d["host"]["os"]["type"] == "macos"));

    let converted = converted_scenario();
    assert_eq!(converted.len(), 41);
    let stderr = text(
        &tripline(&[
            "convert",
            "--from",
            "eslogger",
            "--host-id",
            HOST_ID,
            scenario_path().to_str().unwrap(),
        ])
        .stderr,
    );
    assert!(stderr.contains("btm_launch_item_remove=1"), "{stderr}");

    if !cfg!(target_os = "macos") {
        let out = tripline(&["convert", "--from", "eslogger", sample.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("--host-id"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn bad_eslogger_lines_are_reported_with_their_location() {
    let tmp = scratch("bad");
    let dir = tmp.path();
    let path = dir.join("bad.ndjson");
    let good = std::fs::read_to_string(scenario_path()).unwrap();
    let first = good.lines().next().unwrap();
    std::fs::write(&path, format!("{first}\n{{\"event\": {{\"exec\": \n")).unwrap();
    let rules = rules_dir();
    let out = tripline(&[
        "run",
        "--rules",
        rules.to_str().unwrap(),
        "--input",
        "eslogger",
        "--host-id",
        HOST_ID,
        path.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("invalid JSON"), "{stderr}");
}

#[test]
fn live_mode_alerts_before_the_pipe_closes() {
    let rules = rules_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args([
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--input",
            "eslogger",
            "--host-id",
            HOST_ID,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let scenario = std::fs::read_to_string(scenario_path()).unwrap();
    let lines: Vec<&str> = scenario.lines().collect();
    // Up to and including the `launchctl load -w` exec, the event that completes the sequence.
    let load_index = lines
        .iter()
        .position(|l| {
            l.contains("\"/bin/launchctl\"") && l.contains("\"exec\"") && l.contains("\"load\"")
        })
        .unwrap();
    for (i, line) in lines.iter().enumerate().take(load_index + 1) {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        if i % 5 == 0 {
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    // Nothing before the completing event; then the alert must come while stdin is still open.
    let started = Instant::now();
    let mut received = Vec::new();
    while seed_sequences(&parse_alerts(&received.join("\n"))).is_empty() {
        let remaining = Duration::from_secs(10).saturating_sub(started.elapsed());
        match lines_rx.recv_timeout(remaining) {
            Ok(line) => received.push(line),
            Err(_) => panic!("no alert within 10 s of the completing event while stdin is open; got {received:?}"),
        }
    }
    let latency = started.elapsed();
    assert!(latency < Duration::from_secs(2), "alert took {latency:?}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "tripline exited before stdin closed"
    );

    // The rest of the scenario, then close the pipe: a clean end with the summary.
    for line in lines.iter().skip(load_index + 1) {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    received.extend(lines_rx.try_iter());
    assert_eq!(seed_sequences(&parse_alerts(&received.join("\n"))).len(), 1);
    assert!(
        stderr.contains("btm_launch_item_remove=1"),
        "summary: {stderr}"
    );
}

/// Sends SIGINT as the terminal does on Ctrl-C.
fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_a_live_run_cleanly_with_the_summary() {
    let rules = rules_dir();
    let scenario = std::fs::read_to_string(scenario_path()).unwrap();
    let lines: Vec<&str> = scenario.lines().collect();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_tripline"))
            .args([
                "run",
                "--rules",
                rules.to_str().unwrap(),
                "--input",
                "eslogger",
                "--host-id",
                HOST_ID,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let wait_with_deadline = |child: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tripline did not end after Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    // 1. The pipeline case: Ctrl-C reaches eslogger too, which exits and closes the pipe.
    let mut child = spawn();
    let mut stdin = child.stdin.take().unwrap();
    for line in &lines {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(100));
    drop(stdin);
    let status = wait_with_deadline(&mut child);
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("events read"), "summary missing: {stderr}");
    assert_eq!(
        seed_sequences(&parse_alerts(&text(&output.stdout))).len(),
        1
    );

    // 2. An upstream that keeps the pipe open: the run stops at the next record.
    let mut child = spawn();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", lines[0]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(100));
    writeln!(stdin, "{}", lines[1]).unwrap();
    stdin.flush().unwrap();
    let status = wait_with_deadline(&mut child);
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = text(&output.stderr);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("1 events read"), "{stderr}");
}
