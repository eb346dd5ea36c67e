//! Options and plumbing for `tripline run` over unbounded streams: event-time lateness, state caps,
//! idle flushing of live input (stdin), periodic state reports.
//!
//! Policy (also in `--help` and the README):
//! - sequence and sample rules get events in event order: an event waits until the newest event time
//!   seen is more than `--max-lateness` past it. Input shuffled within that bound gives the same alerts
//!   as sorted input;
//! - an event later than that is *late*: event rules still evaluate it (they need no order), sequence and
//!   sample rules do not (their state has moved past its time); late events are counted per rule in the
//!   summary;
//! - live input (stdin) that stays quiet for `--idle-flush` releases everything held, so an alert never
//!   waits for more input; events older than the newest one seen are late after that;
//! - each sequence or sample rule holds at most `--max-state` state entries; past it the join key with the
//!   oldest state is evicted (counted per rule in the summary).

use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use clap::Args;

/// Default allowed lateness: sources batching a few seconds (agents, shippers) stay in order.
pub const DEFAULT_MAX_LATENESS: &str = "5s";
/// Default state cap per rule: about 1 KiB per partial sequence → about 1 GiB at worst per rule.
pub const DEFAULT_MAX_STATE: u64 = 1_000_000;

#[derive(Debug, Clone, Args)]
pub struct StreamArgs {
    /// How far behind the newest event an event may arrive and still be matched in order by sequence and
    /// sample rules (e.g. 0, 500ms, 5s, 2m). Later events are counted as late and only event rules see them
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_MAX_LATENESS, value_parser = parse_duration)]
    pub max_lateness: Duration,
    /// Most state entries (partial sequences, held sample events) one rule keeps; past it the join key with
    /// the oldest state is evicted and counted in the summary
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_STATE, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_state: u64,
    /// Live input (stdin) quiet for this long releases every held event, so alerts do not wait for more
    /// input (0 = never)
    #[arg(long, value_name = "DURATION", default_value = "250ms", value_parser = parse_duration)]
    pub idle_flush: Duration,
    /// Print a state line (events, live state, held events, evictions, late events, memory) to stderr this
    /// often
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub stats_every: Option<Duration>,
}

impl StreamArgs {
    pub fn lateness_ns(&self) -> i64 {
        i64::try_from(self.max_lateness.as_nanos()).unwrap_or(i64::MAX)
    }

    pub fn max_state(&self) -> usize {
        usize::try_from(self.max_state).unwrap_or(usize::MAX)
    }

    /// The idle interval, if idle flushing is on.
    pub fn idle(&self) -> Option<Duration> {
        (!self.idle_flush.is_zero()).then_some(self.idle_flush)
    }
}

/// `0`, `250ms`, `5s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: expected e.g. 0, 500ms, 5s, 2m, 1h"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1_000.0,
        "us" | "µs" => value / 1_000_000.0,
        "m" => value * 60.0,
        "h" => value * 3_600.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}`: use ms, s, m or h"
            ))
        }
    };
    if !seconds.is_finite() || !(0.0..=1.0e9).contains(&seconds) {
        return Err(format!("duration `{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Standard input for a run: with an idle interval, read by a thread so that a quiet stream shows up as
/// `ErrorKind::TimedOut` reads (the reader turns those into `Record::Idle`), without losing data.
pub fn stdin_reader(idle: Option<Duration>) -> Box<dyn BufRead> {
    match idle {
        None => Box::new(BufReader::new(io::stdin().lock())),
        Some(idle) => Box::new(BufReader::with_capacity(64 * 1024, IdleStdin::spawn(idle))),
    }
}

/// Stdin through a channel, so reads can time out.
struct IdleStdin {
    chunks: Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    offset: usize,
    idle: Duration,
}

impl IdleStdin {
    fn spawn(idle: Duration) -> IdleStdin {
        // A small bound: the reader runs at most a few chunks ahead of matching.
        let (sender, chunks) = mpsc::sync_channel(4);
        let spawned = std::thread::Builder::new()
            .name("stdin".to_string())
            .spawn(move || {
                let mut stdin = io::stdin().lock();
                loop {
                    let mut buf = vec![0u8; 64 * 1024];
                    match stdin.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            buf.truncate(n);
                            if sender.send(Ok(buf)).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            let _ = sender.send(Err(e));
                            return;
                        }
                    }
                }
            });
        if let Err(error) = spawned {
            // No thread: the receiver reports the failure as a read error.
            let (sender, receiver) = mpsc::sync_channel(1);
            let _ = sender.send(Err(error));
            return IdleStdin {
                chunks: receiver,
                current: Vec::new(),
                offset: 0,
                idle,
            };
        }
        IdleStdin {
            chunks,
            current: Vec::new(),
            offset: 0,
            idle,
        }
    }
}

impl Read for IdleStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.offset >= self.current.len() {
            match self.chunks.recv_timeout(self.idle) {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.offset = 0;
                }
                Ok(Err(error)) => return Err(error),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "input idle"))
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let available = self.current.get(self.offset..).unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.offset += n;
        Ok(n)
    }
}

/// Peak and current resident memory of this process (Linux `/proc`), in KiB.
pub fn memory_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1e300h").is_err());
    }
}
