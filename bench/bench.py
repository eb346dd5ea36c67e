#!/usr/bin/env python3
"""Whole-process benchmark driver (started by bench/run.sh, which builds tripline and the Python eql venv).

Generates events with gen_events.py (cached by generator version, seed and count), runs each case as a child
process and reads its resource usage from wait4 (wall time, user+sys CPU, peak RSS), then prints and records
events/s, MB/s, ratios and the acceptance checks of issue 6. With --save-baseline / --compare it keeps or checks
medians against a saved baseline.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIB = 1024 * 1024


def generate(count, seed, cache_dir):
    """Returns (path, positives) of the event file for (count, seed), generating it once."""
    version = subprocess.run([sys.executable, os.path.join(HERE, "gen_events.py"), "--count", "0", "--version"],
                             check=True, capture_output=True, text=True).stdout.strip()
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, "events-v%s-seed%d-n%d.ndjson" % (version, seed, count))
    meta = path + ".meta.json"
    if os.path.exists(path) and os.path.exists(meta):
        with open(meta) as f:
            return path, json.load(f)["positives"]
    print("generating %d events -> %s" % (count, path), file=sys.stderr, flush=True)
    started = time.perf_counter()
    with open(path + ".tmp", "w") as out:
        proc = subprocess.run([sys.executable, os.path.join(HERE, "gen_events.py"), "--count", str(count),
                               "--seed", str(seed)], stdout=out, stderr=subprocess.PIPE, text=True, check=True)
    positives = int(proc.stderr.strip().rsplit("=", 1)[-1])
    os.replace(path + ".tmp", path)
    with open(meta, "w") as f:
        json.dump({"positives": positives, "count": count, "seed": seed, "bytes": os.path.getsize(path)}, f)
    print("  generated in %.1fs" % (time.perf_counter() - started), file=sys.stderr, flush=True)
    return path, positives


def measure(argv, stdout_path, stderr_path):
    """Runs argv; returns wall/user/sys seconds, peak RSS (KiB, from the kernel) and the exit status."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
            "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss, "exit": proc.returncode}


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def supports_threads(tripline):
    help_text = subprocess.run([tripline, "run", "--help"], capture_output=True, text=True).stdout
    return "--threads" in help_text


def tripline_case(tripline, rules, threads, events_path, threaded):
    argv = [tripline, "run"]
    for r in rules:
        argv += ["--rules", r]
    if threaded:
        argv += ["--threads", str(threads)]
    return argv + [events_path]


def run_sample(name, argv, i, raw_dir, alerts_from):
    """Runs one case once (its `i`-th sample)."""
    # Alert output can be hundreds of MB: it goes to the temp dir, never under bench/runs.
    stdout_dir = tempfile.gettempdir() if alerts_from == "lines" else raw_dir
    stdout_path = os.path.join(stdout_dir, "tripline-bench-%d-%s.%d.stdout" % (os.getpid(), name, i))
    stderr_path = os.path.join(raw_dir, "%s.%d.stderr" % (name, i))
    print("run %-22s #%d: %s" % (name, i + 1, " ".join(argv)), file=sys.stderr, flush=True)
    sample = measure(argv, stdout_path, stderr_path)
    if alerts_from == "lines":
        sample["alerts"] = count_lines(stdout_path)
        os.remove(stdout_path)  # alert documents are big; the count is what is kept
        with open(stderr_path, errors="replace") as f:
            found = re.search(r"(\d+) matches", f.readline())
        sample["matches"] = int(found.group(1)) if found else None
    else:
        try:
            with open(stdout_path) as f:
                sample["alerts"] = json.load(f)["alerts"]
        except (ValueError, KeyError, OSError):
            sample["alerts"] = None
        sample["matches"] = sample["alerts"]
    if sample["exit"] not in (0, 2):  # 2: some corpus rules invalid, the valid ones still ran
        with open(stderr_path, errors="replace") as f:
            tail = f.read()[-2000:]
        raise SystemExit("case %s failed with exit %s:\n%s" % (name, sample["exit"], tail))
    print("    wall %.2fs cpu %.2fs rss %.1f MiB alerts %s" % (
        sample["wall_s"], sample["cpu_s"], sample["maxrss_kib"] / 1024, sample["alerts"]),
        file=sys.stderr, flush=True)
    return sample


def run_cases(cases, raw_dir, repeat):
    """Runs every case `repeat` times, in rounds (each round runs every case once), so that a machine
    slowing down or speeding up during the run weighs on all cases alike and the ratios stay fair.
    Returns one record per case, with every sample and medians."""
    samples = {name: [] for name, *_ in cases}
    for i in range(repeat):
        for name, argv, _events, _size, alerts_from in cases:
            samples[name].append(run_sample(name, argv, i, raw_dir, alerts_from))
    return [make_record(name, argv, events, size, samples[name])
            for name, argv, events, size, _alerts_from in cases]


def make_record(name, argv, events, size, samples):
    record = {"name": name, "argv": argv, "events": events, "bytes": size, "samples": samples}
    for key in ("wall_s", "cpu_s", "maxrss_kib"):
        values = [s[key] for s in samples]
        record[key] = statistics.median(values)
        record[key + "_mad"] = statistics.median([abs(v - record[key]) for v in values])
    record["alerts"] = samples[-1]["alerts"]
    record["matches"] = samples[-1]["matches"]
    record["events_per_s"] = events / record["wall_s"]
    record["mb_per_s"] = size / 1e6 / record["wall_s"]
    record["events_per_cpu_s"] = events / record["cpu_s"] if record["cpu_s"] else 0.0
    return record


def ratio(a, b):
    return a / b if b else float("nan")


def summarize(results, args, positives):
    by = {r["name"]: r for r in results}
    lines = []
    lines.append("%-24s %8s %8s %10s %10s %7s %8s %8s %7s" % (
        "case", "wall s", "cpu s", "events/s", "ev/cpu-s", "MB/s", "RSS MiB", "matches", "alerts"))
    for r in results:
        lines.append("%-24s %8.2f %8.2f %10.0f %10.0f %7.1f %8.1f %8s %7s" % (
            r["name"], r["wall_s"], r["cpu_s"], r["events_per_s"], r["events_per_cpu_s"], r["mb_per_s"],
            r["maxrss_kib"] / 1024, r["matches"], r["alerts"]))
    lines.append("seed-rule positives planted by the generator (large file): %d" % positives)
    checks = []
    py = by.get("python_seed")
    seed = by.get("tripline_seed_t1")
    c1 = by.get("tripline_corpus_t1")
    c2 = by.get("tripline_corpus_t2")
    if py and seed:
        w, c = ratio(seed["events_per_s"], py["events_per_s"]), ratio(seed["events_per_cpu_s"], py["events_per_cpu_s"])
        lines.append("tripline seed / python seed:        %6.2fx wall, %6.2fx cpu  (goal >= 10)" % (w, c))
        checks.append(("seed >= 10x python", w >= 10))
    if py and c1:
        w, c = ratio(c1["events_per_s"], py["events_per_s"]), ratio(c1["events_per_cpu_s"], py["events_per_cpu_s"])
        lines.append("tripline corpus / python seed:      %6.2fx wall, %6.2fx cpu  (goal >= 3)" % (w, c))
        checks.append(("corpus >= 3x python seed", w >= 3))
    if c1 and c2:
        w = ratio(c2["events_per_s"], c1["events_per_s"])
        lines.append("corpus threads 2 / threads 1:       %6.2fx wall             (goal >= 1.6)" % w)
        checks.append(("threads2 >= 1.6x threads1", w >= 1.6))
    tripline_runs = [r for r in results if r["name"].startswith("tripline")]
    if tripline_runs:
        peak = max(r["maxrss_kib"] for r in tripline_runs) / 1024
        lines.append("peak RSS of tripline runs:          %6.1f MiB            (goal < 200)" % peak)
        checks.append(("peak RSS < 200 MiB", peak < 200))
    for name in ("seed_t1", "corpus_t1"):
        big, small = by.get("tripline_" + name), by.get("small_tripline_" + name)
        if big and small:
            grow = big["maxrss_kib"] / small["maxrss_kib"]
            lines.append("RSS %s: %.1f MiB on %d events vs %.1f MiB on %d events (x%.2f)" % (
                name, big["maxrss_kib"] / 1024, big["events"], small["maxrss_kib"] / 1024, small["events"], grow))
            # independent of size: the large file may not need markedly more (allow 20% + 8 MiB of jitter)
            checks.append(("RSS %s independent of file size" % name,
                           big["maxrss_kib"] <= small["maxrss_kib"] * 1.2 + 8 * 1024))
    if py and seed and seed["alerts"] is not None and py["alerts"] is not None:
        lines.append("seed rule: tripline %s sequences (%s alert documents), python %s sequences" % (
            seed["matches"], seed["alerts"], py["matches"]))
    for name, ok in checks:
        lines.append("%-40s %s" % (name, "PASS" if ok else "FAIL"))
    return lines, checks


# Single-threaded cases are compared on CPU time (robust when other jobs share the machine); multi-threaded
# ones on wall time, which is what threads are for.
def compare_metric(record):
    return "wall_s" if record["name"].endswith("_t2") else "cpu_s"


def compare(results, baseline_path):
    with open(baseline_path) as f:
        baseline = {r["name"]: r for r in json.load(f)["results"]}
    lines = ["compared with baseline %s:" % baseline_path]
    regressions = 0
    for r in results:
        base = baseline.get(r["name"])
        if not base:
            lines.append("  %-22s not in baseline" % r["name"])
            continue
        metric = compare_metric(r)
        # per event, so baselines taken on another file size still compare
        now, then = r[metric] / r["events"], base[metric] / base["events"]
        noise = max(0.05, 3 * max(r.get(metric + "_mad", 0) / r[metric] if r[metric] else 0,
                                  base.get(metric + "_mad", 0) / base[metric] if base[metric] else 0))
        change = now / then - 1
        flag = "SLOWER" if change > noise else ("faster" if change < -noise else "same")
        # The reference engine is context, not the thing guarded.
        if r["name"].startswith("python"):
            flag = "(reference) " + flag
        regressions += flag == "SLOWER"
        lines.append("  %-22s %s/event %+6.1f%% (noise threshold %.1f%%) %s" % (
            r["name"], metric, change * 100, noise * 100, flag))
        rss_change = r["maxrss_kib"] / base["maxrss_kib"] - 1
        if rss_change > 0.10 and r["maxrss_kib"] - base["maxrss_kib"] > 4096:
            regressions += 1
            lines.append("  %-22s peak RSS %+6.1f%% MORE MEMORY" % (r["name"], rss_change * 100))
    lines.append("regressions: %d" % regressions)
    return lines, regressions


def main():
    parser = argparse.ArgumentParser(description="tripline whole-process benchmark")
    parser.add_argument("--tripline", required=True, help="release tripline binary")
    parser.add_argument("--python", help="python of a venv with eql==1.0.1 (omit to skip the Python engine)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the large file")
    parser.add_argument("--small", type=int, default=200_000, help="events in the small file (RSS check); 0 skips")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (median is reported)")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "tripline-bench"),
                        help="where generated event files are kept")
    parser.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus", "detection-rules"))
    parser.add_argument("--out", help="results directory (default bench/runs/<UTC date>)")
    parser.add_argument("--only", help="comma-separated case names to run")
    parser.add_argument("--save-baseline", metavar="FILE")
    parser.add_argument("--compare", metavar="FILE")
    args = parser.parse_args()

    seed_rules = [os.path.join(ROOT, "examples", "rules")]
    corpus_rules = [os.path.join(args.corpus, "rules"), os.path.join(args.corpus, "rules_building_block")]
    for path in corpus_rules:
        if not os.path.isdir(path):
            raise SystemExit("corpus directory not found: %s (use --corpus)" % path)
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out_dir = args.out or os.path.join(HERE, "runs", stamp.strftime("%Y-%m-%d"))
    raw_dir = os.path.join(out_dir, "raw-" + stamp.strftime("%H%M%S"))
    os.makedirs(raw_dir, exist_ok=True)

    big, positives = generate(args.events, args.seed, args.cache)
    big_size = os.path.getsize(big)
    threaded = supports_threads(args.tripline)
    if not threaded:
        print("note: this tripline has no --threads; threads cases run with its default", file=sys.stderr)
    cases = []
    if args.python:
        cases.append(("python_seed", [args.python, os.path.join(HERE, "py_eql_runner.py"), "--rule",
                                      os.path.join(seed_rules[0], "launchdaemon_creation_and_load.toml"), big],
                      args.events, big_size, "json"))
    cases.append(("tripline_seed_t1", tripline_case(args.tripline, seed_rules, 1, big, threaded),
                  args.events, big_size, "lines"))
    cases.append(("tripline_corpus_t1", tripline_case(args.tripline, corpus_rules, 1, big, threaded),
                  args.events, big_size, "lines"))
    if threaded:
        cases.append(("tripline_corpus_t2", tripline_case(args.tripline, corpus_rules, 2, big, threaded),
                      args.events, big_size, "lines"))
    if args.small:
        small, _ = generate(args.small, args.seed, args.cache)
        small_size = os.path.getsize(small)
        cases.append(("small_tripline_seed_t1", tripline_case(args.tripline, seed_rules, 1, small, threaded),
                      args.small, small_size, "lines"))
        cases.append(("small_tripline_corpus_t1", tripline_case(args.tripline, corpus_rules, 1, small, threaded),
                      args.small, small_size, "lines"))
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c[0] in wanted]

    results = run_cases(cases, raw_dir, args.repeat)
    lines, checks = summarize(results, args, positives)
    regressions = 0
    if args.compare:
        more, regressions = compare(results, args.compare)
        lines += more
    header = ["tripline benchmark %s UTC on %s (%d CPUs), load average before/after: %s" % (
        stamp.strftime("%Y-%m-%d %H:%M:%S"), platform.node(), os.cpu_count(), " ".join(
            "%.2f" % x for x in os.getloadavg())),
        "large file: %d events, %.1f MB; repeat %d (medians)" % (args.events, big_size / 1e6, args.repeat)]
    text = "\n".join(header + lines)
    print(text)
    document = {"date": stamp.isoformat(), "events": args.events, "small": args.small, "seed": args.seed,
                "repeat": args.repeat, "results": results, "checks": dict(checks), "summary": text}
    with open(os.path.join(raw_dir, "results.json"), "w") as f:
        json.dump(document, f, indent=1)
    with open(os.path.join(out_dir, "summary.txt"), "a") as f:
        f.write(text + "\n\n")
    if args.save_baseline:
        shutil.copyfile(os.path.join(raw_dir, "results.json"), args.save_baseline)
        print("baseline saved to %s" % args.save_baseline)
    return 3 if regressions else 0


if __name__ == "__main__":
    sys.exit(main())
