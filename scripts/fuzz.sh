#!/usr/bin/env bash
# Fuzzing driver.
#
#   scripts/fuzz.sh TARGET|all SECONDS   build and run each target for SECONDS (libFuzzer -max_total_time),
#                                        one after another, then print executions, corpus size and crashes.
#   scripts/fuzz.sh --smoke              CI step: replay every seed (fuzz/seeds), committed regression
#                                        (fuzz/regressions) and local crash (fuzz/artifacts) through the target
#                                        bodies with plain `cargo test` on stable Rust (seconds, no libFuzzer build).
#   scripts/fuzz.sh --smoke-libfuzzer    the same inputs through the real libFuzzer binaries (-runs=0); needs the
#                                        nightly-feature build of all targets (minutes), so CI uses --smoke.
#
# Working corpora grow in fuzz/corpus/<target> (not committed); seeds in fuzz/seeds/<target> are read, never
# written. Crashes stay in fuzz/artifacts/<target>; minimise one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin TARGET fuzz/artifacts/TARGET/crash-...
# and commit it under fuzz/regressions/TARGET/ (replayed by --smoke).
# Environment: CARGO_TARGET_DIR (build dir, default fuzz/target), FUZZ_NICE (default 10),
# FUZZ_FLAGS (extra libFuzzer flags), FUZZ_NO_BUILD=1 (run the binaries already built).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/fuzz"
TARGETS=(eql_parse eql_compile rule_toml event_ndjson eslogger_line)
NICE="${FUZZ_NICE:-10}"
# cargo-fuzz needs nightly-only compiler flags (sanitizer coverage); RUSTC_BOOTSTRAP lets stable accept them.
export RUSTC_BOOTSTRAP=1

usage() {
    echo "usage: $0 TARGET|all SECONDS | --smoke | --smoke-libfuzzer" >&2
    echo "targets: ${TARGETS[*]}" >&2
    exit 2
}

dict_for() {
    case "$1" in
        eql_parse | eql_compile) echo "-dict=$FUZZ/dicts/eql.dict" ;;
        *) echo "" ;;
    esac
}

count_files() {
    if [ -d "$1" ]; then find "$1" -maxdepth 1 -type f | wc -l; else echo 0; fi
}

count_crashes() {
    if [ -d "$1" ]; then
        find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l
    else
        echo 0
    fi
}

build() {
    (cd "$FUZZ" && nice -n "$NICE" cargo fuzz build -O -a "$@")
}

# The built fuzzer binary; run directly so that edits to the crates during a long run do not trigger
# rebuilds inside the timed window.
binary() {
    local triple
    triple=$(rustc -vV | sed -n 's/^host: //p')
    echo "${CARGO_TARGET_DIR:-$FUZZ/target}/$triple/release/$1"
}

# Runs one target for SECONDS, restarting after a crash until the time is used up, and prints one summary line.
run_target() {
    local target="$1" seconds="$2"
    local corpus="$FUZZ/corpus/$target" artifacts="$FUZZ/artifacts/$target"
    local log="$FUZZ/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$FUZZ/logs"
    : >"$log"
    local crashes_before executions=0 started remaining
    crashes_before=$(count_crashes "$artifacts")
    started=$(date +%s)
    remaining="$seconds"
    local restarts=0
    while [ "$remaining" -gt 0 ] && [ "$restarts" -lt 20 ]; do
        local status=0
        # shellcheck disable=SC2046
        (cd "$FUZZ" && nice -n "$NICE" "$(binary "$target")" "$corpus" "$FUZZ/seeds/$target" \
            -max_total_time="$remaining" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts/" $(dict_for "$target") ${FUZZ_FLAGS:-}) >>"$log" 2>&1 || status=$?
        # Executions of this round: the final-stats line, or the last status line after a crash.
        local round
        round=$(tac "$log" | grep -m1 -oE 'stat::number_of_executed_units: [0-9]+' | grep -oE '[0-9]+$' || true)
        if [ -z "$round" ] || [ "$status" -ne 0 ]; then
            round=$(tac "$log" | grep -m1 -oE '^#[0-9]+' | tr -d '#' || echo 0)
        fi
        executions=$((executions + ${round:-0}))
        echo "--- round ended (exit $status, $round executions) ---" >>"$log"
        [ "$status" -eq 0 ] && break
        restarts=$((restarts + 1))
        remaining=$((seconds - ($(date +%s) - started)))
    done
    local elapsed corpus_size crashes
    elapsed=$(($(date +%s) - started))
    corpus_size=$(count_files "$corpus")
    local corpus_bytes
    corpus_bytes=$(du -sb "$corpus" | cut -f1)
    crashes=$(($(count_crashes "$artifacts") - crashes_before))
    printf '%-14s executions=%-10s corpus=%s files (%s bytes) time=%ss new_crashes=%s log=%s\n' \
        "$target" "$executions" "$corpus_size" "$corpus_bytes" "$elapsed" "$crashes" "$log"
}

case "${1:-}" in
    --smoke)
        cd "$ROOT"
        exec cargo test -p eql -p engine -p rules -p eslogger --test fuzz_regressions
        ;;
    --smoke-libfuzzer)
        [ "${FUZZ_NO_BUILD:-0}" = 1 ] || build
        for target in "${TARGETS[@]}"; do
            inputs=("$FUZZ/seeds/$target")
            for extra in regressions artifacts; do
                [ -d "$FUZZ/$extra/$target" ] && inputs+=("$FUZZ/$extra/$target")
            done
            (cd "$FUZZ" && "$(binary "$target")" "${inputs[@]}" -runs=0 -timeout=20)
        done
        ;;
    "" | -h | --help) usage ;;
    *)
        [ $# -eq 2 ] || usage
        [[ "$2" =~ ^[0-9]+$ ]] || usage
        if [ "$1" = all ]; then
            selected=("${TARGETS[@]}")
        else
            selected=("$1")
            [[ " ${TARGETS[*]} " == *" $1 "* ]] || usage
        fi
        if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
            if [ "$1" = all ]; then build; else build "$1"; fi
        fi
        summary=()
        for target in "${selected[@]}"; do
            summary+=("$(run_target "$target" "$2")")
            echo "${summary[-1]}"
        done
        echo "== summary =="
        printf '%s\n' "${summary[@]}"
        ;;
esac
