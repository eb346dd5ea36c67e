#!/usr/bin/env bash
# Whole-process benchmark of `tripline run` beside the reference Python engine (PyPI eql 1.0.1).
# Builds tripline in release, installs eql into a temporary venv, generates seeded events and runs
# bench/bench.py (all of whose options pass through: --events N --small N --repeat R --save-baseline FILE
# --compare FILE --only CASES --tripline BIN ...). See bench/README.md.
#   BENCH_NO_BUILD=1   use the existing release binary
#   BENCH_VENV=DIR     reuse a venv that already has eql==1.0.1 (default: a fresh temporary one)
#   BENCH_NO_PYTHON=1  skip the Python engine
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
target="${CARGO_TARGET_DIR:-$root/target}"
tripline="$target/release/tripline"
# `--tripline BIN` (passed on to bench.py) benchmarks another binary: nothing to build then.
for ((i = 1; i <= $#; i++)); do
    if [[ "${!i}" == "--tripline" ]]; then
        next=$((i + 1))
        tripline="${!next}"
        BENCH_NO_BUILD=1
    fi
done

if [[ -z "${BENCH_NO_BUILD:-}" ]]; then
    echo "building tripline (release)..." >&2
    (cd "$root" && cargo build --release --quiet -p tripline)
fi
[[ -x "$tripline" ]] || { echo "no release binary at $tripline" >&2; exit 1; }

python_args=()
if [[ -z "${BENCH_NO_PYTHON:-}" ]]; then
    venv="${BENCH_VENV:-}"
    if [[ -z "$venv" ]]; then
        venv="$(mktemp -d "${TMPDIR:-/tmp}/tripline-bench-venv.XXXXXX")"
        trap 'rm -rf "$venv"' EXIT
        echo "installing eql==1.0.1 into $venv..." >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check eql==1.0.1
    fi
    python_args=(--python "$venv/bin/python")
fi

python3 "$here/bench.py" "${python_args[@]}" "$@" --tripline "$tripline"
