#!/usr/bin/env bash
# Memory benchmark for bounded state (issue 5): streams N events over K distinct join keys (host.id) with the
# seed rule (sequence by host.id with maxspan=1m) from a fast generator straight into `tripline run`'s stdin,
# out of order within 2s, and records peak RSS (/usr/bin/time -v), live state every 2s (`--stats-every`) and
# the state left at end of input. The first 20% of the events (40s of event time) open one partial sequence per
# key (all K live at once), the rest (160s) is noise on the same hosts while event time passes the 1m windows:
# state must fall back to 0.
#   bench/state.sh [EVENTS] [KEYS]       defaults: 10000000 1000000
#   BENCH_NO_BUILD=1   use the existing release binaries
#   BENCH_ARGS="..."   extra `tripline run` options (e.g. "--max-state 100000")
# Writes bench/runs/state-<UTC time>.txt and prints its figures.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
target="${CARGO_TARGET_DIR:-$root/target}"
events="${1:-10000000}"
keys="${2:-1000000}"

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    echo "building tripline and state_gen (release)..." >&2
    (cd "$root" && cargo build --release --quiet -p tripline --bin tripline --example state_gen)
fi
tripline="$target/release/tripline"
generator="$target/release/examples/state_gen"
[[ -x "$tripline" && -x "$generator" ]] || { echo "missing release binaries under $target" >&2; exit 1; }

mkdir -p "$here/runs"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
report="$here/runs/state-$stamp.txt"
alerts="$(mktemp "${TMPDIR:-/tmp}/tripline-state-alerts.XXXXXX")"
log="$(mktemp "${TMPDIR:-/tmp}/tripline-state-log.XXXXXX")"
trap 'rm -f "$alerts" "$log"' EXIT

# shellcheck disable=SC2086
"$generator" --events "$events" --keys "$keys" --span-secs 200 --jitter-ms 2000 2>>"$log" \
    | /usr/bin/time -v "$tripline" run -r "$root/../shared/seed/launchdaemon_creation_and_load.toml" \
        --max-lateness 5s --stats-every 2s ${BENCH_ARGS:-} >"$alerts" 2>>"$log"

peak_kib="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")"
max_state="$(grep -o 'state=[0-9]*' "$log" | cut -d= -f2 | sort -n | tail -1)"
max_keys="$(grep -o 'keys=[0-9]*' "$log" | cut -d= -f2 | sort -n | tail -1)"
end_line="$(grep 'state at end of input' "$log" || true)"
wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")"
{
    echo "# bench/state.sh $events events, $keys keys, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(nproc) cores, $(uname -sr); tripline $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "events:            $events"
    echo "distinct keys:     $keys"
    echo "peak RSS:          $((peak_kib / 1024)) MiB ($peak_kib KiB)"
    echo "max live state:    ${max_state:-?} entries over ${max_keys:-?} keys (sampled every 2s)"
    echo "state at end:      ${end_line#tripline: state at end of input: }"
    echo "alert documents:   $(wc -l <"$alerts")"
    echo "wall clock:        $wall"
    echo
    echo "## stderr (stats lines, summary, /usr/bin/time -v)"
    cat "$log"
} >"$report"
sed -n '1,10p' "$report"
echo "(full report: $report)"
