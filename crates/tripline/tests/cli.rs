//! The binary as a user runs it: `check`, `run` and `query`, their output and exit statuses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tripline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .current_dir(repo())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory, unique per test; removed on drop, so also when the test fails.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tripline-cli-{name}-"))
        .tempdir()
        .unwrap()
}

fn alerts(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn check_examples() {
    let out = tripline(&["check", "examples/rules"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("1 rules: 1 valid, 0 invalid, 0 unsupported\n"));
}

#[test]
fn check_shared_corpus_has_no_invalid_rule() {
    let corpus = repo().join("../shared/corpus/detection-rules");
    assert!(
        corpus.is_dir(),
        "the shared corpus is expected at {}",
        corpus.display()
    );
    let out = tripline(&["check", corpus.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    let summary = stdout.lines().last().unwrap();
    assert!(summary.contains(" valid, 0 invalid, "), "{stdout}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn check_reports_errors_inside_the_file() {
    let tmp = temp_dir("check");
    let dir = tmp.path();
    let seed =
        std::fs::read_to_string(repo().join("examples/rules/launchdaemon_creation_and_load.toml"))
            .unwrap();
    // A query error: `proces` is fine as a category, but `==` needs a right-hand side.
    let broken = seed.replace("process.name == \"launchctl\"", "process.name == ");
    std::fs::write(dir.join("broken_query.toml"), &broken).unwrap();
    std::fs::write(dir.join("broken_toml.toml"), "[rule]\nname = 'x\n").unwrap();
    // Its own rule_id: a second use of the seed's would be reported as a duplicate.
    let unsupported = seed
        .replace(
            "9d19ece6-c20e-481a-90c5-ccca596537de",
            "00000000-0000-0000-0000-000000000001",
        )
        .replace("type = \"eql\"", "type = \"query\"")
        .replace("language = \"eql\"", "language = \"kuery\"");
    std::fs::write(dir.join("kuery.toml"), unsupported).unwrap();
    let out = tripline(&["check", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.ends_with("3 rules: 0 valid, 2 invalid, 1 unsupported\n"),
        "{stdout}"
    );
    // The query error is located in the file: the line holding `process.name ==`.
    let line = broken
        .lines()
        .position(|l| l.contains("process.name == "))
        .unwrap()
        + 1;
    let expected = format!("broken_query.toml:{line}:");
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(stdout.contains("broken_toml.toml:2:"), "{stdout}");
    tmp.close().unwrap();
}

#[test]
fn run_examples_alerts_on_the_true_positives_only() {
    let out = tripline(&["run", "--rules", "examples/rules", "examples/events"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let alerts = alerts(&out.stdout);
    let shells: Vec<&Value> = alerts
        .iter()
        .filter(|a| a.get("kibana.alert.group.index").is_none())
        .collect();
    let hosts: Vec<&str> = shells
        .iter()
        .map(|a| a["host"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, vec!["mac-build-01", "mac-finance-05", "mac-dev-03"]);
    assert_eq!(alerts.len(), 9);
    for alert in &alerts {
        assert_eq!(alert["event.kind"], "signal");
        assert_eq!(
            alert["kibana.alert.rule.rule_id"],
            "9d19ece6-c20e-481a-90c5-ccca596537de"
        );
    }
    let blocks: Vec<&Value> = alerts
        .iter()
        .filter(|a| a.get("kibana.alert.group.index").is_some())
        .collect();
    assert_eq!(blocks[0]["kibana.alert.original_event.action"], "creation");
    assert_eq!(
        blocks[1]["kibana.alert.reason"],
        "process event with process launchctl, parent process sudo, by root on mac-build-01 created low alert \
         LaunchDaemon Creation or Modification and Immediate Loading."
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("46 events read, 0 bad lines"), "{stderr}");
    assert!(stderr.contains("3 matches, 9 alerts"), "{stderr}");

    // Same input, same ids.
    let again = tripline(&["run", "--rules", "examples/rules", "examples/events"]);
    assert_eq!(out.stdout, again.stdout);
}

#[test]
fn run_table_format() {
    let out = tripline(&[
        "run",
        "--rules",
        "examples/rules",
        "examples/events",
        "--format",
        "table",
    ]);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("TIME"));
    assert!(lines[1].contains("mac-build-01") && lines[1].contains("low"));
    // Not a terminal: no colour codes.
    assert!(!stdout.contains('\x1b'));
}

#[test]
fn run_counts_and_reports_bad_lines() {
    let tmp = temp_dir("bad");
    let dir = tmp.path();
    let good =
        std::fs::read_to_string(repo().join("examples/events/macos-launchdaemon.ndjson")).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    lines.insert(1, "{\"@timestamp\": ".to_string());
    lines.insert(2, "[1, 2]".to_string());
    lines.insert(3, "{\"host\": {\"name\": \"x\"}}".to_string());
    lines.insert(4, "{\"@timestamp\": \"yesterday\"}".to_string());
    let path = dir.join("events.ndjson");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = tripline(&["run", "--rules", "examples/rules", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("4 bad lines"), "{stderr}");
    for line in 2..=5 {
        assert!(
            stderr.contains(&format!("events.ndjson:{line}: ")),
            "line {line}: {stderr}"
        );
    }
    assert_eq!(alerts(&out.stdout).len(), 9);

    let strict = tripline(&[
        "run",
        "--strict",
        "--rules",
        "examples/rules",
        path.to_str().unwrap(),
    ]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(
        text(&strict.stderr).contains("events.ndjson:2:"),
        "{}",
        text(&strict.stderr)
    );
    tmp.close().unwrap();
}

#[test]
fn run_reads_gzip_and_stdin() {
    let tmp = temp_dir("gz");
    let dir = tmp.path();
    let events = std::fs::read(repo().join("examples/events/macos-launchdaemon.ndjson")).unwrap();
    let gz_path = dir.join("events.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&events).unwrap();
    std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();
    let out = tripline(&["run", "-r", "examples/rules", gz_path.to_str().unwrap()]);
    assert_eq!(alerts(&out.stdout).len(), 9, "{}", text(&out.stderr));

    let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .current_dir(repo())
        .args(["run", "--rules", "examples/rules", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&events).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(alerts(&out.stdout).len(), 9, "{}", text(&out.stderr));
    tmp.close().unwrap();
}

#[test]
fn run_selects_events_by_index() {
    let tmp = temp_dir("index");
    let dir = tmp.path();
    let good =
        std::fs::read_to_string(repo().join("examples/events/macos-launchdaemon.ndjson")).unwrap();
    // Re-home every event to an index the rule does not search: no alerts.
    let moved: Vec<String> = good
        .lines()
        .map(|line| {
            let mut doc: Value = serde_json::from_str(line).unwrap();
            doc["data_stream"]["dataset"] = Value::from("system.auth");
            doc.to_string()
        })
        .collect();
    let path = dir.join("elsewhere.ndjson");
    std::fs::write(&path, moved.join("\n")).unwrap();
    let out = tripline(&["run", "--rules", "examples/rules", path.to_str().unwrap()]);
    assert_eq!(alerts(&out.stdout).len(), 0, "{}", text(&out.stderr));
    tmp.close().unwrap();
}

#[test]
fn run_ends_quietly_when_stdout_closes() {
    let tmp = temp_dir("pipe");
    let dir = tmp.path();
    let good =
        std::fs::read_to_string(repo().join("examples/events/macos-launchdaemon.ndjson")).unwrap();
    // Many copies of the example, shifted in time, so that there is far more output than a pipe holds.
    let mut lines = Vec::new();
    for copy in 0..400 {
        for line in good.lines() {
            let mut doc: Value = serde_json::from_str(line).unwrap();
            let ts = doc["@timestamp"].as_str().unwrap().replace(
                "2026-11-28",
                &format!("2026-{:02}-{:02}", 1 + copy / 28 % 12, 1 + copy % 28),
            );
            doc["@timestamp"] = Value::from(ts);
            lines.push(doc.to_string());
        }
    }
    lines.sort_by_key(|l| {
        serde_json::from_str::<Value>(l).unwrap()["@timestamp"]
            .as_str()
            .unwrap()
            .to_string()
    });
    let path = dir.join("many.ndjson");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .current_dir(repo())
        .args(["run", "--rules", "examples/rules", path.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(first.contains("kibana.alert.uuid"));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    tmp.close().unwrap();
}

#[test]
fn run_usage_errors() {
    let out = tripline(&["run", "examples/events"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tripline(&["run", "--rules", "does/not/exist", "examples/events"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("does/not/exist"));
    let help = tripline(&["run", "--help"]);
    assert!(text(&help.stdout).contains("Exit status:"));
}

fn query(args: &[&str], input: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .current_dir(repo())
        .arg("query")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        stdin.write_all(input.as_bytes()).unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn query_event_and_sequence() {
    let events = "examples/events/macos-launchdaemon.ndjson";
    let out = query(
        &[
            "process where process.name == \"launchctl\" and process.args == \"load\"",
            events,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hits = alerts(&out.stdout);
    assert_eq!(hits.len(), 7);
    assert!(hits.iter().all(|h| h["process"]["name"] == "launchctl"));

    let seed = "sequence by host.id with maxspan=1m [file where file.path : \"/Library/LaunchDaemons/*\"] \
                [process where process.name == \"launchctl\"]";
    let out = query(&[seed, events], None);
    let sequences = alerts(&out.stdout);
    assert!(!sequences.is_empty());
    for sequence in &sequences {
        assert_eq!(sequence["join_keys"].as_array().unwrap().len(), 1);
        assert_eq!(sequence["events"].as_array().unwrap().len(), 2);
    }
    let out = query(&["--size", "1", seed, events], None);
    assert_eq!(alerts(&out.stdout).len(), 1);
}

#[test]
fn query_missing_events_and_json_arrays_from_stdin() {
    let docs = r#"[
        {"@timestamp": 3, "event": {"category": "process"}, "host": "a", "id": 3},
        {"@timestamp": 1, "event": {"category": "process"}, "host": "a", "id": 1}
    ]"#;
    let out = query(
        &[
            "--tiebreaker-field",
            "id",
            "sequence by host [process where id == 1] ![file where true] [process where id == 3]",
        ],
        Some(docs),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let hits = alerts(&out.stdout);
    assert_eq!(hits.len(), 1, "{}", text(&out.stdout));
    assert_eq!(hits[0]["events"][1], serde_json::json!({"missing": true}));
    assert_eq!(hits[0]["events"][0]["id"], 1);
    assert_eq!(hits[0]["join_keys"], serde_json::json!(["a"]));
}

#[test]
fn query_syntax_error_is_positioned() {
    let out = query(&["process where process.name =="], Some(""));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("<query>:1:"), "{stderr}");
    assert!(stderr.contains('^'), "{stderr}");
}

#[test]
fn query_reports_malformed_lines_and_goes_on() {
    let input = "{\"@timestamp\": 1, \"event\": {\"category\": \"process\"}}\nnot json\n{\"@timestamp\": 2, \"event\": {\"category\": \"process\"}}\n";
    let out = query(&["process where true"], Some(input));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(alerts(&out.stdout).len(), 2);
    assert!(
        text(&out.stderr).contains("<stdin>:2:"),
        "{}",
        text(&out.stderr)
    );
}

/// The seed rule with some lines of its `[rule]` table replaced, written to a temporary directory.
fn seed_variant(dir: &std::path::Path, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text =
        std::fs::read_to_string(repo().join("examples/rules/launchdaemon_creation_and_load.toml"))
            .unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    let path = dir.join("variant.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_honours_max_signals_per_interval() {
    let tmp = temp_dir("max-signals");
    let dir = tmp.path();
    let rule = seed_variant(
        dir,
        &[(
            "from = \"now-9m\"",
            "from = \"now-70m\"\ninterval = \"1h\"\nmax_signals = 1",
        )],
    );
    let out = tripline(&["run", "--rules", rule.to_str().unwrap(), "examples/events"]);
    let stderr = text(&out.stderr);
    // All three true positives fall in the same hour: one is raised, two are dropped and counted.
    assert_eq!(alerts(&out.stdout).len(), 3, "{stderr}");
    assert!(
        stderr.contains("3 matches, 3 alerts, 2 matches dropped by max_signals=1 per 1h"),
        "{stderr}"
    );
    tmp.close().unwrap();
}

#[test]
fn run_timestamp_override_falls_back_to_timestamp() {
    let tmp = temp_dir("override");
    let dir = tmp.path();
    // The example events carry no event.ingested: Kibana falls back to @timestamp, and so does tripline.
    let rule = seed_variant(
        dir,
        &[(
            "from = \"now-9m\"",
            "from = \"now-9m\"\ntimestamp_override = \"event.ingested\"",
        )],
    );
    let out = tripline(&["run", "--rules", rule.to_str().unwrap(), "examples/events"]);
    assert_eq!(alerts(&out.stdout).len(), 9, "{}", text(&out.stderr));
    // Without the fallback every event lacks its timestamp.
    let strict = seed_variant(
        dir,
        &[("from = \"now-9m\"", "from = \"now-9m\"\ntimestamp_override = \"event.ingested\"\ntimestamp_override_fallback_disabled = true")],
    );
    let out = tripline(&[
        "run",
        "--rules",
        strict.to_str().unwrap(),
        "examples/events",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(alerts(&out.stdout).len(), 0, "{stderr}");
    assert!(stderr.contains("46 bad lines"), "{stderr}");
    assert!(stderr.contains("event.ingested"), "{stderr}");
    tmp.close().unwrap();
}

#[test]
fn run_counts_out_of_order_events() {
    let tmp = temp_dir("order");
    let dir = tmp.path();
    let good =
        std::fs::read_to_string(repo().join("examples/events/macos-launchdaemon.ndjson")).unwrap();
    let reversed: Vec<&str> = good.lines().rev().collect();
    let path = dir.join("reversed.ndjson");
    std::fs::write(&path, reversed.join("\n")).unwrap();
    let out = tripline(&["run", "--rules", "examples/rules", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Every event after the first is older than the one before it: one total, not one per rule.
    assert!(
        stderr.contains("tripline: 45 events arrived out of order"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("out of order").count(), 1, "{stderr}");
    // The rule lost events to lateness: abnormal, so it gets its own line.
    assert!(
        stderr.contains("]: 0 matches, 0 alerts, 12 late events not matched"),
        "{stderr}"
    );
    tmp.close().unwrap();
}

#[test]
fn run_summary_lists_only_rules_that_alerted_or_lost_events() {
    let tmp = temp_dir("concise");
    let dir = tmp.path();
    let seed =
        std::fs::read_to_string(repo().join("examples/rules/launchdaemon_creation_and_load.toml"))
            .unwrap();
    std::fs::write(dir.join("seed.toml"), &seed).unwrap();
    for i in 0..3 {
        let quiet = seed
            .replacen(
                "rule_id = \"9d19ece6-c20e-481a-90c5-ccca596537de\"",
                &format!("rule_id = \"quiet-{i}\""),
                1,
            )
            .replacen(
                "process.name == \"launchctl\"",
                "process.name == \"nothing\"",
                1,
            );
        assert_ne!(quiet, seed);
        std::fs::write(dir.join(format!("quiet-{i}.toml")), quiet).unwrap();
    }
    let out = tripline(&["run", "--rules", dir.to_str().unwrap(), "examples/events"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(alerts(&out.stdout).len(), 9, "{stderr}");
    assert_eq!(stderr.matches("  LaunchDaemon").count(), 1, "{stderr}");
    assert!(stderr.contains("]: 3 matches, 9 alerts\n"), "{stderr}");
    assert!(stderr.contains("  3 other rules: no matches\n"), "{stderr}");
    assert!(!stderr.contains("out of order"), "{stderr}");
    tmp.close().unwrap();
}

#[test]
fn run_line_counts_add_up() {
    // lines read = events + bad lines + blank lines, whatever made a line bad.
    let tmp = temp_dir("counts");
    let dir = tmp.path();
    let good =
        std::fs::read_to_string(repo().join("examples/events/macos-launchdaemon.ndjson")).unwrap();
    let mut bytes: Vec<u8> = Vec::new();
    for (i, line) in good.lines().enumerate() {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        match i {
            3 => bytes.extend_from_slice(b"{\"@timestamp\": \n"),
            7 => bytes.extend_from_slice(b"{\"a\": \"\xff\xfe\"}\n"),
            9 => bytes.extend_from_slice(b"   \n\r\n"),
            _ => {}
        }
    }
    bytes.extend_from_slice(b"\xc3\n");
    let path = dir.join("mixed.ndjson");
    std::fs::write(&path, &bytes).unwrap();
    let total_lines = bytes.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(total_lines, 46 + 3 + 2);
    let out = tripline(&["run", "--rules", "examples/rules", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("46 events read, 3 bad lines, 2 blank lines skipped (51 lines)"),
        "{stderr}"
    );
    assert!(stderr.contains("events=46 "), "{stderr}");
    assert_eq!(alerts(&out.stdout).len(), 9);

    // A JSON array: elements instead of lines, a non-UTF-8 element is a bad one.
    let mut array = b"[".to_vec();
    for (i, line) in good.lines().enumerate() {
        array.extend_from_slice(line.as_bytes());
        array.extend_from_slice(b",\n");
        if i == 5 {
            array.extend_from_slice(b"{\"x\": \"\xff\"},\n{\"no\": \"timestamp\"},\n");
        }
    }
    array.extend_from_slice(b"{}]");
    let path = dir.join("array.json");
    std::fs::write(&path, &array).unwrap();
    let out = tripline(&["run", "--rules", "examples/rules", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("46 events read, 3 bad lines (49 lines)"),
        "{stderr}"
    );
    tmp.close().unwrap();
}

#[test]
fn check_skips_non_rule_files_and_rejects_duplicate_rule_ids() {
    let tmp = temp_dir("tree");
    let dir = tmp.path();
    let seed =
        std::fs::read_to_string(repo().join("examples/rules/launchdaemon_creation_and_load.toml"))
            .unwrap();
    std::fs::create_dir_all(dir.join("old")).unwrap();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::write(dir.join("a_seed.toml"), &seed).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[project]\nname = \"detection_rules\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("etc/settings.toml"), "key = 1\n").unwrap();
    // Same rule_id in a later file: refused like Kibana does, naming both files.
    std::fs::write(dir.join("old/seed.toml"), &seed).unwrap();
    let out = tripline(&["check", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.ends_with(
            "2 files skipped (not a rule file: no `[rule]` or `[metadata]` table)\n\
             2 rules: 1 valid, 1 invalid, 0 unsupported\n"
        ),
        "{stdout}"
    );
    let line = seed.lines().position(|l| l.starts_with("rule_id")).unwrap() + 1;
    let expected = format!(
        "{}:{line}:11: duplicate rule_id `9d19ece6-c20e-481a-90c5-ccca596537de`: {}:{line}:11 already uses it",
        dir.join("old/seed.toml").display(),
        dir.join("a_seed.toml").display()
    );
    assert!(stdout.contains(&expected), "{stdout}");

    // run: the duplicate is reported and skipped, the first runs; invalid rules make the status 2.
    let out = tripline(&["run", "--rules", dir.to_str().unwrap(), "examples/events"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(alerts(&out.stdout).len(), 9, "{stderr}");
    assert!(
        stderr.contains(
            "1 rules run (1 invalid, 0 unsupported, 0 disabled, 2 non-rule files skipped)"
        ),
        "{stderr}"
    );

    // Without the duplicate the tree is clean: skipped files do not fail `check`.
    std::fs::remove_file(dir.join("old/seed.toml")).unwrap();
    let out = tripline(&["check", "--verbose", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("pyproject.toml: skipped: not a rule file"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("1 rules: 1 valid, 0 invalid, 0 unsupported\n"),
        "{stdout}"
    );
    tmp.close().unwrap();
}
