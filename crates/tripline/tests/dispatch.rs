//! The fast paths of `tripline run` (rule dispatch by constants, several threads) give byte-identical
//! alerts to the plain path (every event offered to every rule, one thread), over the whole shared rule
//! corpus and real telemetry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Real event samples (shared telemetry and the repository's examples), repeated `copies` times with
/// increasing timestamps so that sequences span copies and batches hold more than one thread's share.
/// The file is removed when the returned path is dropped, so also when the test fails.
fn events_file(copies: usize, tag: &str) -> tempfile::TempPath {
    let mut sources: Vec<PathBuf> = vec![repo().join("examples/events/macos-launchdaemon.ndjson")];
    let telemetry = repo().join("../shared/telemetry");
    for name in [
        "elastic-defend-macos.ndjson",
        "macos-attack-dataset-all.ndjson",
        "elastic-defend-official-sample-events-windows.ndjson",
    ] {
        sources.push(telemetry.join(name));
    }
    let mut docs: Vec<serde_json::Map<String, Value>> = Vec::new();
    for path in &sources {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(Value::Object(doc)) = serde_json::from_str(line) {
                docs.push(doc);
            }
        }
    }
    assert!(docs.len() > 40, "event samples not found");
    let mut out = String::new();
    let mut second = 0u64;
    for copy in 0..copies {
        for doc in &docs {
            let mut doc = doc.clone();
            second += 1;
            let (minute, sec) = (second / 60, second % 60);
            let stamp = format!(
                "2026-01-01T{:02}:{:02}:{:02}.000Z",
                minute / 60,
                minute % 60,
                sec
            );
            doc.insert("@timestamp".into(), Value::String(stamp));
            // Most rules read `event.ingested` first; keep one clock (the samples' own ingest times
            // would put the copies out of order).
            if let Some(Value::Object(event)) = doc.get_mut("event") {
                event.remove("ingested");
            }
            doc.remove("event.ingested");
            // Distinct documents per copy (alert ids hash the text).
            doc.insert("labels".into(), serde_json::json!({ "copy": copy }));
            out.push_str(&serde_json::to_string(&doc).unwrap());
            out.push('\n');
        }
    }
    let path = tempfile::Builder::new()
        .prefix(&format!("tripline-dispatch-{tag}-"))
        .suffix(".ndjson")
        .tempfile()
        .unwrap()
        .into_temp_path();
    std::fs::write(&path, out).unwrap();
    path
}

fn run(extra: &[&str], events: &Path) -> (String, String) {
    let corpus = repo().join("../shared/corpus/detection-rules");
    run_rules(
        &[corpus.join("rules"), corpus.join("rules_building_block")],
        extra,
        events,
    )
}

/// `tripline run --rules … EXTRA EVENTS…`, its output.
fn tripline_run(rules: &[PathBuf], extra: &[&str], events: &[&Path]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tripline"));
    command.arg("run");
    for dir in rules {
        command.arg("--rules").arg(dir);
    }
    command
        .args(extra)
        .args(events)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn run_rules(rules: &[PathBuf], extra: &[&str], events: &Path) -> (String, String) {
    let out = tripline_run(rules, extra, &[events]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "tripline failed: {stderr}"
    );
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

#[test]
fn dispatch_and_threads_give_the_plain_paths_alerts() {
    let corpus = repo().join("../shared/corpus/detection-rules/rules");
    if !corpus.is_dir() {
        panic!("the shared corpus is expected at {}", corpus.display());
    }
    let events = events_file(4, "corpus");
    let (plain, plain_summary) = run(&["--no-dispatch", "--threads", "1"], &events);
    let (fast, fast_summary) = run(&["--threads", "1"], &events);
    let (threaded, threaded_summary) = run(&["--threads", "2"], &events);
    drop(events);
    let alerts = plain.lines().count();
    assert!(
        alerts >= 10,
        "too few alerts to compare: {alerts}\n{plain_summary}"
    );
    assert!(
        plain == fast,
        "dispatch changed the alerts\n{plain_summary}\n{fast_summary}"
    );
    assert!(
        plain == threaded,
        "threads changed the alerts\n{threaded_summary}"
    );
    let strip = |s: &str| {
        s.lines()
            .map(|l| match l.find("s elapsed") {
                // "..., 1.23s elapsed, 456 events/s": timing differs from run to run
                Some(i) => l
                    .get(..i)
                    .and_then(|p| p.rsplit_once(", "))
                    .map_or(l, |(p, _)| p),
                // memory use differs from run to run too
                None => l.split(", rss ").next().unwrap_or(l),
            })
            .map(str::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&plain_summary), strip(&fast_summary));
    assert_eq!(strip(&plain_summary), strip(&threaded_summary));
}

/// The literal prefilter (active for the seed rule: every stage tests constants) reads lines no rule
/// can match for their time only; alerts, counts and bad lines stay those of the plain path.
#[test]
fn literal_prefilter_gives_the_plain_paths_alerts_and_counts() {
    let events = events_file(3, "prefilter");
    let mut text = std::fs::read_to_string(&events).unwrap();
    // Bad lines without any of the rule's literals must still be found and counted.
    text.push_str("{\"@timestamp\":\"2026-01-01T05:00:00.000Z\",\"process\":{\"name\":\"bash\"}\n");
    text.push_str("{\"@timestamp\":\"not a time\",\"process\":{\"name\":\"bash\"}}\n");
    text.push_str("{\"process\":{\"name\":\"bash\"}}\n");
    std::fs::write(&events, text).unwrap();
    let rules = [repo().join("examples/rules")];
    let (plain, plain_summary) = run_rules(&rules, &["--no-dispatch", "--threads", "1"], &events);
    let (fast, fast_summary) = run_rules(&rules, &["--threads", "1"], &events);
    drop(events);
    assert!(
        plain.lines().count() >= 3,
        "no alerts to compare\n{plain_summary}"
    );
    assert!(
        plain == fast,
        "the prefilter changed the alerts\n{fast_summary}"
    );
    assert!(plain_summary.contains(" 3 bad lines"), "{plain_summary}");
    // The totals line up to the alert count (timings differ).
    let counts = |s: &str| {
        s.lines()
            .next()
            .and_then(|l| l.split(" alerts,").next())
            .map(str::to_string)
    };
    assert_eq!(counts(&plain_summary), counts(&fast_summary));
    assert!(fast_summary.contains(" 3 bad lines"), "{fast_summary}");
}

/// Runs tripline; returns stdout, stderr without timings, and the exit status.
fn run_status(
    rules: &[PathBuf],
    extra: &[&str],
    events: &[&Path],
) -> (Vec<u8>, String, Option<i32>) {
    let out = tripline_run(rules, extra, events);
    let stderr = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("state at end of input"))
        .map(|l| match l.find("s elapsed") {
            Some(i) => l
                .get(..i)
                .and_then(|p| p.rsplit_once(", "))
                .map_or(l, |(p, _)| p),
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    (out.stdout, stderr, out.status.code())
}

/// With several threads the input is read on a thread of its own while the previous batch is matched.
/// Alerts, counts, bad lines (malformed JSON, bytes that are not UTF-8, blank lines, across batch
/// boundaries and files), `--strict` stops and unreadable files must be exactly the one-thread run's.
#[test]
fn reading_ahead_gives_the_one_thread_runs_output_and_errors() {
    // Lines per batch in `tripline run` (`BATCH_LINES` in src/run/parallel.rs).
    const BATCH: usize = 1024;
    let events = events_file(16, "readahead");
    let text = std::fs::read(&events).unwrap();
    drop(events);
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert!(lines.len() > 2 * BATCH + 400, "{} lines", lines.len());
    let (first, second) = lines.split_at(BATCH + 200);
    let mut bad_lines = 0;
    let mut a = Vec::new();
    for (i, line) in first.iter().enumerate() {
        a.extend_from_slice(line);
        a.push(b'\n');
        match i {
            100 => {
                a.extend_from_slice(b"{\"@timestamp\": \"2026-01-01T00:00:01Z\", \"process\": \n");
                bad_lines += 1;
            }
            300 => a.extend_from_slice(b"   \n"),
            // Around the end of the first batch.
            i if (BATCH - 3..BATCH).contains(&i) || i == BATCH + 130 => {
                a.extend_from_slice(
                    b"{\"@timestamp\":\"2026-01-01T00:00:01Z\",\"bad\":\xff\xfe}\n",
                );
                bad_lines += 1;
            }
            _ => {}
        }
    }
    let mut b = Vec::new();
    for (i, line) in second.iter().enumerate() {
        b.extend_from_slice(line);
        b.push(b'\n');
        // From line 300 on: a `--strict` run starting with this file has alerts before it stops.
        if i > 300 && i % 97 == 5 {
            b.extend_from_slice(b"not json at all\n\n");
            bad_lines += 1;
        }
    }
    // Removed on drop, so also when the test fails.
    let tmp = tempfile::Builder::new()
        .prefix("tripline-readahead-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let (file_a, file_b) = (dir.join("a.ndjson"), dir.join("b.ndjson"));
    std::fs::write(&file_a, a).unwrap();
    std::fs::write(&file_b, b).unwrap();
    // A gzip stream cut short: reading fails after some of its lines.
    let broken = dir.join("broken.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Long enough that whole batches are read from it before the cut.
    std::io::Write::write_all(&mut gz, &std::fs::read(&file_b).unwrap().repeat(4)).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(&broken, &gz[..gz.len() / 2]).unwrap();
    let corpus = repo().join("../shared/corpus/detection-rules");
    let rules = [corpus.join("rules"), corpus.join("rules_building_block")];

    let cases: [(&[&str], Vec<&Path>); 4] = [
        (&[], vec![&file_a, &file_b]),
        (&["--strict"], vec![&file_a, &file_b]),
        (&["--strict"], vec![&file_b, &file_a]),
        (&[], vec![&file_a, &broken, &file_b]),
    ];
    for (extra, files) in &cases {
        let one = run_status(&rules, &[extra, &["--threads", "1"][..]].concat(), files);
        let two = run_status(&rules, &[extra, &["--threads", "2"][..]].concat(), files);
        assert!(
            !one.0.is_empty(),
            "no alerts to compare for {extra:?}: {}",
            one.1
        );
        assert!(
            one.0 == two.0,
            "threads changed the alerts for {extra:?} {files:?}"
        );
        assert_eq!(
            one.1, two.1,
            "threads changed the summary for {extra:?} {files:?}"
        );
        assert_eq!(
            one.2, two.2,
            "threads changed the exit status for {extra:?}"
        );
    }
    let (_, strict, status) = run_status(&rules, &["--strict", "--threads", "2"], &[&file_a]);
    assert_eq!(status, Some(1), "{strict}");
    assert!(strict.contains("a.ndjson:102"), "{strict}");
    let (_, summary, _) = run_status(&rules, &["--threads", "2"], &[&file_a, &file_b]);
    assert!(
        summary.contains(&format!(" {bad_lines} bad lines")),
        "{bad_lines}: {summary}"
    );
    let (_, broken_run, status) = run_status(&rules, &["--threads", "2"], &[&file_a, &broken]);
    assert_eq!(status, Some(1), "{broken_run}");
    assert!(broken_run.contains("cannot read"), "{broken_run}");
}
