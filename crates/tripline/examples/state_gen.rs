//! Event generator for the state benchmark (`bench/state.sh`): small but realistic Elastic Defend ECS
//! events for the seed rule (LaunchDaemon file creation, then `launchctl load` on the same host within 1m),
//! written as NDJSON to stdout as fast as tripline can read them.
//!
//! Shape of the stream (`N` events over `span` seconds of event time, `K` hosts = join keys):
//! - first 20% of the events (40s of the default 200s): every 2nd is a LaunchDaemon plist written on a new
//!   host (K hosts, each leaving one partial sequence, all K live at once since they fit in the 1m maxspan);
//!   every other one is a `launchctl load` on the host whose plist came 5% of the events (10s) earlier, if
//!   that host is one of the planted positives (host % 100 == 7), else noise;
//! - the rest: noise only (processes, other files) on random known hosts; nothing new is started, so once
//!   event time passes the 1m windows the rule's state must fall back to zero;
//! - each timestamp is moved back by up to `--jitter-ms` (arrival order stays the generation order), so
//!   the stream is out of order within that bound.
//!
//! Prints the planted positives count to stderr. Usage:
//! `state_gen [--events N] [--keys K] [--span-secs S] [--jitter-ms J]`

use std::io::{self, BufWriter, Write};

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
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

struct Options {
    events: u64,
    keys: u64,
    span_ms: u64,
    jitter_ms: u64,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        events: 10_000_000,
        keys: 1_000_000,
        span_ms: 200_000,
        jitter_ms: 2_000,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .parse::<u64>()
            .map_err(|e| format!("{flag}: {e}"))?;
        match flag.as_str() {
            "--events" => o.events = value,
            "--keys" => o.keys = value,
            "--span-secs" => o.span_ms = value * 1000,
            "--jitter-ms" => o.jitter_ms = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(o)
}

/// 2026-11-28T00:00:00Z plus `ms` (under 24 hours), as Elastic Defend writes it.
fn timestamp(out: &mut Vec<u8>, ms: u64) {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    let _ = write!(out, "2026-11-28T{h:02}:{m:02}:{s:02}.{milli:03}Z");
}

fn host_id(host: u64) -> u64 {
    // Spread ids so that they look like UUID-ish hex rather than counters.
    host.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_5EED
}

enum Kind {
    Plist,
    Launchctl,
    NoiseProcess,
    NoiseFile,
}

fn event(out: &mut Vec<u8>, ms: u64, host: u64, kind: &Kind, pid: u64) {
    out.extend_from_slice(b"{\"@timestamp\":\"");
    timestamp(out, ms);
    let id = host_id(host);
    let _ = match kind {
        Kind::Plist => write!(
            out,
            "\",\"event\":{{\"category\":[\"file\"],\"type\":[\"creation\"],\"action\":\"creation\"}},\
             \"host\":{{\"id\":\"{id:016x}\",\"os\":{{\"type\":\"macos\"}}}},\
             \"file\":{{\"path\":\"/Library/LaunchDaemons/com.app{}.plist\"}},\
             \"process\":{{\"name\":\"cp\",\"pid\":{pid}}},\
             \"data_stream\":{{\"type\":\"logs\",\"dataset\":\"endpoint.events.file\",\"namespace\":\"default\"}}}}",
            host % 1000
        ),
        Kind::Launchctl => write!(
            out,
            "\",\"event\":{{\"category\":[\"process\"],\"type\":[\"start\"],\"action\":\"exec\"}},\
             \"host\":{{\"id\":\"{id:016x}\",\"os\":{{\"type\":\"macos\"}}}},\
             \"process\":{{\"name\":\"launchctl\",\"pid\":{pid},\"args\":[\"launchctl\",\"load\",\"/Library/LaunchDaemons/com.app.plist\"]}},\
             \"data_stream\":{{\"type\":\"logs\",\"dataset\":\"endpoint.events.process\",\"namespace\":\"default\"}}}}"
        ),
        Kind::NoiseProcess => write!(
            out,
            "\",\"event\":{{\"category\":[\"process\"],\"type\":[\"start\"],\"action\":\"exec\"}},\
             \"host\":{{\"id\":\"{id:016x}\",\"os\":{{\"type\":\"macos\"}}}},\
             \"process\":{{\"name\":\"ls\",\"pid\":{pid},\"args\":[\"ls\",\"-l\"]}},\
             \"data_stream\":{{\"type\":\"logs\",\"dataset\":\"endpoint.events.process\",\"namespace\":\"default\"}}}}"
        ),
        Kind::NoiseFile => write!(
            out,
            "\",\"event\":{{\"category\":[\"file\"],\"type\":[\"change\"],\"action\":\"modification\"}},\
             \"host\":{{\"id\":\"{id:016x}\",\"os\":{{\"type\":\"macos\"}}}},\
             \"file\":{{\"path\":\"/Users/u/Library/Caches/c{pid}.db\"}},\
             \"process\":{{\"name\":\"cfprefsd\",\"pid\":{pid}}},\
             \"data_stream\":{{\"type\":\"logs\",\"dataset\":\"endpoint.events.file\",\"namespace\":\"default\"}}}}"
        ),
    };
    out.push(b'\n');
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("state_gen: {e}");
            std::process::exit(2);
        }
    };
    let mut rng = Rng(42);
    let stdout = io::stdout();
    let mut writer = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut line = Vec::with_capacity(512);
    let phase1 = o.events / 5;
    // The launchctl for a plist comes 5% of the events later (an odd index: plists are on even ones).
    let delay = o.events / 20 / 2 * 2 + 1;
    let mut planted = 0u64;
    for i in 0..o.events {
        let ms = i.saturating_mul(o.span_ms) / o.events.max(1);
        let ms = ms.saturating_sub(rng.below(o.jitter_ms + 1));
        let pid = 100 + rng.below(60_000);
        let known = (i.min(phase1) / 2).clamp(1, o.keys);
        let (host, kind) = if i < phase1 && i % 2 == 0 && i / 2 < o.keys {
            (i / 2, Kind::Plist)
        } else if i < phase1 + delay && i % 2 == 1 && i >= delay {
            let host = (i - delay) / 2;
            if host % 100 == 7 && host < o.keys && (i - delay) < phase1 {
                planted += 1;
                (host, Kind::Launchctl)
            } else {
                (rng.below(known), Kind::NoiseProcess)
            }
        } else if rng.below(2) == 0 {
            (rng.below(known), Kind::NoiseProcess)
        } else {
            (rng.below(known), Kind::NoiseFile)
        };
        line.clear();
        event(&mut line, ms, host, &kind, pid);
        if writer.write_all(&line).is_err() {
            // The reader went away (e.g. a benchmark cut short): stop quietly.
            return;
        }
    }
    let _ = writer.flush();
    eprintln!(
        "state_gen: {} events, {} hosts, {planted} planted positives",
        o.events,
        o.keys.min(phase1 / 2)
    );
}
