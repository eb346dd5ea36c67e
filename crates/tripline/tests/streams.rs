//! `tripline run` over streams, through the binary: out-of-order input within `--max-lateness`, late events,
//! the state cap, idle flushing of live input, and clean ends (closed stdout, SIGINT, SIGTERM).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

fn seed_rule() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/rules/launchdaemon_creation_and_load.toml")
}

fn iso(ms: i64) -> String {
    let (s, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (m, s) = (s / 60, s % 60);
    format!("2026-11-28T00:{m:02}:{s:02}.{milli:03}Z")
}

/// A LaunchDaemon plist written on `host` at `ms`.
fn plist(ms: i64, host: u32) -> String {
    format!(
        r#"{{"@timestamp":"{}","event":{{"id":"f{host}-{ms}","category":["file"],"type":["creation"]}},"host":{{"id":"h{host}","os":{{"type":"macos"}}}},"file":{{"path":"/Library/LaunchDaemons/x{host}.plist"}},"data_stream":{{"type":"logs","dataset":"endpoint.events.file","namespace":"default"}}}}"#,
        iso(ms)
    )
}

/// `launchctl load` on `host` at `ms`.
fn launchctl(ms: i64, host: u32) -> String {
    format!(
        r#"{{"@timestamp":"{}","event":{{"id":"p{host}-{ms}","category":["process"],"type":["start"]}},"host":{{"id":"h{host}","os":{{"type":"macos"}}}},"process":{{"name":"launchctl","args":["launchctl","load"]}},"data_stream":{{"type":"logs","dataset":"endpoint.events.process","namespace":"default"}}}}"#,
        iso(ms)
    )
}

/// Noise on `host` at `ms`.
fn noise(ms: i64, host: u32) -> String {
    format!(
        r#"{{"@timestamp":"{}","event":{{"id":"n{host}-{ms}","category":["process"],"type":["start"]}},"host":{{"id":"h{host}","os":{{"type":"macos"}}}},"process":{{"name":"ls"}},"data_stream":{{"type":"logs","dataset":"endpoint.events.process","namespace":"default"}}}}"#,
        iso(ms)
    )
}

fn tripline(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tripline"));
    command
        .arg("run")
        .arg("--rules")
        .arg(seed_rule())
        .args(args);
    command
}

/// A fresh directory for one test's event files; removed on drop, so also when the test fails.
fn scratch(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tripline-streams-{test}-"))
        .tempdir()
        .unwrap()
}

fn write_events(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The alert groups (one per sequence) as sorted event ids of their building blocks.
fn sequences(stdout: &str) -> Vec<Vec<String>> {
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let alert: Map<String, Value> = serde_json::from_str(line).unwrap();
        let Some(group) = alert.get("kibana.alert.group.id").and_then(Value::as_str) else {
            continue;
        };
        let id = alert
            .get("event")
            .and_then(|e| e.get("id"))
            .or_else(|| alert.get("event.id"))
            .and_then(Value::as_str);
        if let Some(id) = id {
            groups
                .entry(group.to_string())
                .or_default()
                .push(id.to_string());
        }
    }
    let mut out: Vec<Vec<String>> = groups
        .into_values()
        .map(|mut ids| {
            ids.sort();
            ids
        })
        .collect();
    out.sort();
    out
}

/// A story over 30 hosts: each writes a plist; hosts divisible by 3 load it 20s later, hosts ≡ 1 (mod 3)
/// load it 70s later (outside the 1m maxspan). Noise between. Sorted by time.
fn story() -> Vec<(i64, String)> {
    let mut events = Vec::new();
    for host in 0..30u32 {
        let t = i64::from(host) * 1_000;
        events.push((t, plist(t, host)));
        events.push((t + 500, noise(t + 500, host)));
        match host % 3 {
            0 => events.push((t + 20_000, launchctl(t + 20_000, host))),
            1 => events.push((t + 70_000, launchctl(t + 70_000, host))),
            _ => {}
        }
    }
    events.sort_by_key(|(t, _)| *t);
    events
}

fn run_file(path: &PathBuf, extra: &[&str]) -> (Vec<Vec<String>>, String) {
    let output = tripline(extra).arg(path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (sequences(&String::from_utf8_lossy(&output.stdout)), stderr)
}

#[test]
fn shuffled_within_lateness_gives_the_sorted_alerts_and_later_events_are_counted() {
    let tmp = scratch("lateness");
    let sorted: Vec<String> = story().into_iter().map(|(_, l)| l).collect();
    let (expected, _) = run_file(&write_events(tmp.path(), "sorted.ndjson", &sorted), &[]);
    assert_eq!(expected.len(), 10, "{expected:?}");

    // Every event delayed by up to 4s (deterministic pseudo-random), arrival order by delayed time.
    let mut shuffled: Vec<(i64, usize, String)> = story()
        .into_iter()
        .enumerate()
        .map(|(i, (t, line))| (t + ((i as i64 * 7919) % 4_001), i, line))
        .collect();
    shuffled.sort();
    let shuffled: Vec<String> = shuffled.into_iter().map(|(_, _, l)| l).collect();
    assert_ne!(shuffled, sorted);
    let path = write_events(tmp.path(), "shuffled.ndjson", &shuffled);
    let (got, stderr) = run_file(&path, &["--max-lateness", "5s"]);
    assert_eq!(got, expected);
    assert!(stderr.contains("late=0"), "{stderr}");

    // Split into two files, each half of the input interleaved out of order: still the same.
    let (a, b): (Vec<_>, Vec<_>) = shuffled
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let a: Vec<String> = a.into_iter().map(|(_, l)| l).collect();
    let b: Vec<String> = b.into_iter().map(|(_, l)| l).collect();
    let half = a.len() / 2;
    let first = write_events(
        tmp.path(),
        "part1.ndjson",
        &[&a[..half], &b[..half]].concat(),
    );
    let second = write_events(
        tmp.path(),
        "part2.ndjson",
        &[&a[half..], &b[half..]].concat(),
    );
    // Each file ends more than a minute ahead of where the next half starts: two minutes allowed.
    let output = tripline(&["--max-lateness", "2m"])
        .arg(&first)
        .arg(&second)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        sequences(&String::from_utf8_lossy(&output.stdout)),
        expected
    );

    // Each launchctl arrives just after an event 3s newer (another host). Within 5s of lateness it is put
    // back in order; with none allowed it is late: the sequences it would complete are lost, and the
    // summary counts the late events (the 20 launchctl, and plists written just after such a noise event).
    let mut behind = Vec::new();
    for (t, line) in story() {
        if line.contains("launchctl") {
            behind.push(noise(t + 3_000, 99));
        }
        behind.push(line);
    }
    let path = write_events(tmp.path(), "behind.ndjson", &behind);
    let (got, _) = run_file(&path, &["--max-lateness", "5s"]);
    assert_eq!(got, expected);
    let (strict, stderr) = run_file(&path, &["--max-lateness", "0"]);
    assert!(strict.is_empty(), "{strict:?}");
    assert!(stderr.contains("30 late events not matched"), "{stderr}");
    assert!(stderr.contains("late=30"), "{stderr}");
}

#[test]
fn state_cap_evicts_oldest_and_reports() {
    let tmp = scratch("cap");
    let sorted: Vec<String> = story().into_iter().map(|(_, l)| l).collect();
    let path = write_events(tmp.path(), "capped.ndjson", &sorted);
    // 20s between a plist and its launchctl: 20 partials are live at once; only 5 may be.
    let (got, stderr) = run_file(&path, &["--max-state", "5"]);
    assert!(got.len() < 10, "{got:?}");
    assert!(
        stderr.contains("state entries evicted by --max-state"),
        "{stderr}"
    );
    assert!(stderr.contains("state=0 keys=0"), "{stderr}");
}

fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "tripline did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_rest(mut pipe: impl Read) -> String {
    let mut text = String::new();
    pipe.read_to_string(&mut text).unwrap();
    text
}

/// Live input: a sequence's alert comes out while stdin stays open (idle flush releases it although
/// --max-lateness is a minute); then a signal ends the run cleanly with the summary.
#[cfg(unix)]
fn live_run_then_signal(signal: &str) {
    let mut child = tripline(&["--max-lateness", "60s", "--idle-flush", "300ms"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", plist(0, 1)).unwrap();
    writeln!(stdin, "{}", launchctl(1_000, 1)).unwrap();
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        sender.send(line).unwrap();
        read_rest(stdout)
    });
    let first = receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("no alert while the input stayed open");
    assert!(first.contains("kibana.alert"), "{first}");

    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // stdin stays open: the run must notice the signal on its own.
    let status = wait_for(&mut child, Duration::from_secs(10));
    drop(stdin);
    let stderr = read_rest(child.stderr.take().unwrap());
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("2 events read"), "{stderr}");
    assert!(stderr.contains("1 matches"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigterm_ends_a_live_run_cleanly() {
    live_run_then_signal("-TERM");
}

#[cfg(unix)]
#[test]
fn sigint_ends_a_live_run_cleanly() {
    live_run_then_signal("-INT");
}

#[test]
fn closed_stdout_ends_quietly_with_the_summary() {
    let tmp = scratch("closed");
    // Many alerts: the reader takes one line and goes away.
    let mut lines = Vec::new();
    for host in 0..3_000u32 {
        let t = i64::from(host) * 10;
        lines.push(plist(t, host));
        lines.push(launchctl(t + 5, host));
    }
    let path = write_events(tmp.path(), "many.ndjson", &lines);
    let mut child = tripline(&[])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("kibana.alert"));
    drop(stdout);
    let status = wait_for(&mut child, Duration::from_secs(60));
    let stderr = read_rest(child.stderr.take().unwrap());
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("output closed"), "{stderr}");
    assert!(stderr.contains("events read"), "{stderr}");
}
