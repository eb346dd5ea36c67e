//! The seed rule over a generated stream: ≥100k events on hundreds of hosts, with planted true positives and
//! near-misses. Alerts must be raised for exactly the planted positives (checked by the ids of the events in
//! each alert group), through the binary, as a user would run it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

/// splitmix64: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.below((hi - lo + 1) as u64) as i64)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const T0_MS: i64 = 1_795_910_400_000; // 2026-11-28T00:00:00Z
const HOSTS: usize = 400;
/// Hosts that only ever run processes: targets of the "launchctl on another host" near-miss, so that the
/// launchctl cannot meet a pending file event of their own.
const EXEC_ONLY_HOSTS: usize = 10;
const TARGET_EVENTS: usize = 100_000;

struct Generator {
    rng: Rng,
    events: Vec<(i64, u64, String)>,
    next_id: u64,
    host_ids: Vec<String>,
}

impl Generator {
    fn iso(ms: i64) -> String {
        let ts = jiff::Timestamp::from_millisecond(ms).unwrap();
        ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    fn push(&mut self, ms: i64, mut doc: Value) -> String {
        self.next_id += 1;
        let id = format!("ev-{}", self.next_id);
        doc["event"]["id"] = json!(id);
        doc["event"]["kind"] = json!("event");
        doc["@timestamp"] = json!(Self::iso(ms));
        self.events.push((ms, self.next_id, doc.to_string()));
        id
    }

    fn host(&self, host: usize, os: &str) -> Value {
        json!({"id": self.host_ids[host], "name": format!("mac-{host:03}"), "os": {"type": os}})
    }

    fn file(&mut self, host: usize, ms: i64, path: &str, event_type: &str, os: &str) -> String {
        let action = match event_type {
            "creation" => "creation",
            "deletion" => "deletion",
            _ => "modification",
        };
        let doc = json!({
            "data_stream": {"type": "logs", "dataset": "endpoint.events.file", "namespace": "default"},
            "event": {"category": ["file"], "type": [event_type], "action": action},
            "file": {"path": path, "name": path.rsplit('/').next().unwrap()},
            "process": {"name": "cp", "pid": 300 + host},
            "host": self.host(host, os),
            "user": {"name": "root"}
        });
        self.push(ms, doc)
    }

    fn exec(
        &mut self,
        host: usize,
        ms: i64,
        name: &str,
        args: &[&str],
        event_type: &str,
        os: &str,
    ) -> String {
        let doc = json!({
            "data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"},
            "event": {"category": ["process"], "type": [event_type], "action": "exec"},
            "process": {"name": name, "args": args, "pid": 500 + host, "parent": {"name": "bash"}},
            "host": self.host(host, os),
            "user": {"name": "root"}
        });
        self.push(ms, doc)
    }

    /// Events that match neither stage of the rule.
    fn noise(&mut self, host: usize, ms: i64) {
        match self.rng.below(6) {
            0 => {
                let name = self.rng.pick(&["ls", "curl", "python3", "git", "mdworker"]);
                self.exec(host, ms, name, &[name, "-v"], "start", "macos");
            }
            1 => {
                let verb = self.rng.pick(&["list", "print", "bootout", "kickstart"]);
                self.exec(
                    host,
                    ms,
                    "launchctl",
                    &["launchctl", verb, "system"],
                    "start",
                    "macos",
                );
            }
            2 => {
                self.exec(
                    host,
                    ms,
                    "launchctl",
                    &["launchctl", "load", "/x.plist"],
                    "end",
                    "macos",
                );
            }
            3 => {
                let path = format!(
                    "/Users/u{host}/Library/Caches/cache-{}.db",
                    self.rng.below(100)
                );
                self.file(host, ms, &path, "change", "macos");
            }
            4 => {
                self.file(
                    host,
                    ms,
                    "/Library/LaunchAgents/com.vendor.agent.plist",
                    "creation",
                    "macos",
                );
            }
            _ => {
                self.file(
                    host,
                    ms,
                    "/private/tmp/LaunchDaemons/not-really.plist",
                    "creation",
                    "macos",
                );
            }
        }
    }
}

fn daemon_path(rng: &mut Rng) -> String {
    let dir = rng.pick(&["/Library/LaunchDaemons", "/System/Library/LaunchDaemons"]);
    format!("{dir}/com.planted.{}.plist", rng.below(10_000))
}

fn load_args(rng: &mut Rng) -> Vec<&'static str> {
    match rng.below(3) {
        0 => vec!["launchctl", "load", "/Library/LaunchDaemons/p.plist"],
        1 => vec!["launchctl", "load", "-w", "/Library/LaunchDaemons/p.plist"],
        _ => vec![
            "sudo",
            "launchctl",
            "load",
            "/System/Library/LaunchDaemons/p.plist",
        ],
    }
}

struct Planted {
    positives: BTreeSet<(String, String)>,
    near_misses: usize,
    events: Vec<(i64, u64, String)>,
}

fn generate(seed: u64) -> Planted {
    let mut rng = Rng(seed);
    let host_ids = (0..HOSTS)
        .map(|_| {
            let a = rng.next();
            let b = rng.next();
            format!(
                "{:08X}-{:04X}-5{:03X}-{:04X}-{:012X}",
                a >> 32,
                (a >> 16) & 0xFFFF,
                a & 0xFFF,
                (b >> 48) | 0x8000,
                b & 0xFFFF_FFFF_FFFF
            )
        })
        .collect();
    let mut g = Generator {
        rng: Rng(seed ^ 0xA5A5),
        events: Vec::new(),
        next_id: 0,
        host_ids,
    };
    let mut positives = BTreeSet::new();
    let mut near_misses = 0;
    let mut cursors: Vec<i64> = (0..HOSTS)
        .map(|_| T0_MS + rng.range(0, 1_800_000))
        .collect();
    while g.events.len() < TARGET_EVENTS {
        let host = EXEC_ONLY_HOSTS + rng.below((HOSTS - EXEC_ONLY_HOSTS) as u64) as usize;
        let mut t = cursors[host];
        // Background activity before the episode.
        for _ in 0..rng.range(3, 12) {
            t += rng.range(200, 20_000);
            g.noise(host, t);
        }
        let exec_only = rng.below(EXEC_ONLY_HOSTS as u64) as usize;
        g.noise(exec_only, t + rng.range(0, 1_000));
        let episode = rng.below(10);
        let start = t + rng.range(1_000, 5_000);
        let path = daemon_path(&mut rng);
        let args = load_args(&mut rng);
        let gap = rng.range(1_000, 55_000);
        match episode {
            0..=2 => {
                let event_type = rng.pick(&["creation", "change"]);
                let file = g.file(host, start, &path, event_type, "macos");
                // Unrelated activity between the two steps does not matter.
                g.noise(host, start + gap / 2);
                let exec = g.exec(host, start + gap, "launchctl", &args, "start", "macos");
                positives.insert((file, exec));
            }
            3 => {
                // launchctl after more than a minute.
                g.file(host, start, &path, "creation", "macos");
                g.exec(
                    host,
                    start + rng.range(65_000, 300_000),
                    "launchctl",
                    &args,
                    "start",
                    "macos",
                );
                near_misses += 1;
            }
            4 => {
                // launchctl on another host.
                g.file(host, start, &path, "creation", "macos");
                g.exec(exec_only, start + gap, "launchctl", &args, "start", "macos");
                near_misses += 1;
            }
            5 => {
                g.file(host, start, &path, "change", "macos");
                g.exec(
                    host,
                    start + gap,
                    "launchctl",
                    &["launchctl", "unload", "/Library/LaunchDaemons/p.plist"],
                    "start",
                    "macos",
                );
                near_misses += 1;
            }
            6 => {
                g.file(host, start, &path, "deletion", "macos");
                g.exec(host, start + gap, "launchctl", &args, "start", "macos");
                near_misses += 1;
            }
            7 => {
                g.file(
                    host,
                    start,
                    "/Users/u/Library/LaunchAgents/com.user.plist",
                    "creation",
                    "macos",
                );
                g.exec(host, start + gap, "launchctl", &args, "start", "macos");
                near_misses += 1;
            }
            8 => {
                // Same behaviour on a Linux host.
                g.file(host, start, &path, "creation", "linux");
                g.exec(host, start + gap, "launchctl", &args, "start", "linux");
                near_misses += 1;
            }
            _ => {
                // A process named differently that loads something.
                g.file(host, start, &path, "creation", "macos");
                g.exec(host, start + gap, "launchd", &args, "start", "macos");
                near_misses += 1;
            }
        }
        // Leave more than maxspan before this host's next episode, and idle time so that the planted
        // matches stay under the rule's max_signals (100 per 5-minute interval).
        cursors[host] = start + 300_000 + 65_000 + rng.range(0, 1_800_000);
    }
    g.events.sort();
    Planted {
        positives,
        near_misses,
        events: g.events,
    }
}

#[test]
fn seed_rule_alerts_on_exactly_the_planted_positives() {
    let planted = generate(0x7219_11E5);
    assert!(planted.events.len() >= TARGET_EVENTS);
    assert!(planted.positives.len() > 100, "{}", planted.positives.len());
    assert!(planted.near_misses > 300, "{}", planted.near_misses);

    // Removed on drop, so also when the test fails (unless TRIPLINE_KEEP_GENERATED, below).
    let mut tmp = tempfile::Builder::new()
        .prefix("tripline-generated-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let events_path = dir.join("events.ndjson.gz");
    let file = std::fs::File::create(&events_path).unwrap();
    let mut gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    for (_, _, line) in &planted.events {
        gz.write_all(line.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    gz.finish().unwrap().flush().unwrap();

    let alerts_path = dir.join("alerts.ndjson");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("run")
        .arg("--rules")
        .arg(repo.join("examples/rules"))
        .arg(&events_path)
        .arg("--output")
        .arg(&alerts_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} events read, 0 bad lines",
            planted.events.len()
        )),
        "{stderr}"
    );

    // Building blocks, grouped by alert group, ordered by position → the event ids of each match.
    let text = std::fs::read_to_string(&alerts_path).unwrap();
    let mut groups: BTreeMap<String, BTreeMap<u64, String>> = BTreeMap::new();
    let mut shells = 0;
    for line in text.lines() {
        let alert: Value = serde_json::from_str(line).unwrap();
        let group = alert["kibana.alert.group.id"].as_str().unwrap().to_string();
        match alert["kibana.alert.group.index"].as_u64() {
            Some(position) => {
                let id = alert["event.id"].as_str().unwrap().to_string();
                groups.entry(group).or_default().insert(position, id);
            }
            None => {
                assert_eq!(alert["kibana.alert.uuid"].as_str(), Some(group.as_str()));
                shells += 1;
            }
        }
    }
    let found: BTreeSet<(String, String)> = groups
        .values()
        .map(|ids| {
            let ids: Vec<&String> = ids.values().collect();
            assert_eq!(ids.len(), 2);
            (ids[0].clone(), ids[1].clone())
        })
        .collect();
    // TRIPLINE_KEEP_GENERATED=1 keeps the generated events (plain NDJSON too) for benchmarks and debugging.
    let keep = std::env::var_os("TRIPLINE_KEEP_GENERATED").is_some();
    if keep {
        let mut plain = std::fs::File::create(dir.join("events.ndjson")).unwrap();
        for (_, _, line) in &planted.events {
            writeln!(plain, "{line}").unwrap();
        }
        eprintln!("kept {}", dir.display());
        tmp.disable_cleanup(true);
    }
    let missed: Vec<_> = planted.positives.difference(&found).collect();
    let extra: Vec<_> = found.difference(&planted.positives).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed {missed:?}\nextra {extra:?}\n{stderr}"
    );
    assert!(!stderr.contains("max_signals"), "{stderr}");
    assert_eq!(shells, planted.positives.len());
    if !keep {
        tmp.close().unwrap();
    }
}
