//! Live state of a run: idle flushes, periodic `--stats-every` lines, and the state part of the summary
//! (late events, evictions, state left at end of input).

use std::time::{Duration, Instant};

use engine::runtime::Match;

use super::{emit, LiveRule, Stats};
use crate::output::Output;

/// Totals over every rule.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Snapshot {
    /// State entries (partial sequences, held sample events).
    pub state: usize,
    /// Join keys holding state.
    pub keys: usize,
    /// Events waiting in reorder buffers.
    pub buffered: usize,
    pub evicted: u64,
    pub late: u64,
}

impl Snapshot {
    pub(super) fn of(live: &[LiveRule]) -> Snapshot {
        let mut total = Snapshot::default();
        for rule in live {
            total.state += rule.matcher.state_len();
            total.keys += rule.matcher.key_count();
            total.buffered += rule.matcher.buffered();
            total.evicted += rule.matcher.evicted();
            total.late += rule.matcher.late();
        }
        total
    }

    fn line(&self, documents: u64) -> String {
        let memory = match crate::streaming::memory_kib() {
            Some((peak, now)) => format!(", rss {} MiB (peak {} MiB)", now / 1024, peak / 1024),
            None => String::new(),
        };
        format!(
            "events={documents} state={} keys={} buffered={} evicted={} late={}{memory}",
            self.state, self.keys, self.buffered, self.evicted, self.late
        )
    }
}

/// Live input went quiet: every rule releases what it holds, alerts go out now.
pub(super) fn idle(
    live: &mut [LiveRule],
    matches: &mut Vec<Match>,
    output: &mut Output,
) -> anyhow::Result<()> {
    for rule in live.iter_mut() {
        rule.matcher.flush(matches);
        emit(rule, matches, output)?;
    }
    Ok(())
}

/// `--stats-every`: a state line on stderr at most this often.
pub(super) struct Reporter {
    every: Option<Duration>,
    last: Instant,
}

impl Reporter {
    pub(super) fn new(every: Option<Duration>) -> Reporter {
        Reporter {
            every,
            last: Instant::now(),
        }
    }

    /// Called per document; looks at the clock only every 4096 of them (and on idle).
    pub(super) fn tick(&mut self, stats: &Stats, live: &[LiveRule], force_clock: bool) {
        let Some(every) = self.every else {
            return;
        };
        if !force_clock && !stats.documents.is_multiple_of(4096) {
            return;
        }
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        eprintln!(
            "tripline: stats {}",
            Snapshot::of(live).line(stats.documents)
        );
    }
}

/// The state part of the summary: totals at end of input (before the final flush). What each rule lost
/// to lateness or the state cap goes on that rule's summary line ([`losses`]).
pub(super) fn summary_lines(at_end: &Snapshot, documents: u64) -> Vec<String> {
    vec![format!(
        "tripline: state at end of input: {}",
        at_end.line(documents)
    )]
}

/// What a rule lost: late events it could not match, state evicted by the cap. Empty when nothing.
pub(super) fn losses(rule: &LiveRule) -> Vec<String> {
    let (late, evicted) = (rule.matcher.late(), rule.matcher.evicted());
    let mut parts = Vec::new();
    if late > 0 {
        parts.push(format!(
            "{late} late events not matched (older than --max-lateness behind the newest)"
        ));
    }
    if evicted > 0 {
        parts.push(format!("{evicted} state entries evicted by --max-state"));
    }
    parts
}
