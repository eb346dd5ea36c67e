#!/usr/bin/env python3
"""Regenerates fuzz/seeds/<target>/ from the shared reference data (../../shared by default).

Seeds are test inputs only: spec queries, a sample of corpus rule queries and files, telemetry lines
and eslogger lines. Deterministic (sorted, fixed stride), small (well under 2 MB in total).
Usage: fuzz/make_seeds.py [SHARED_DIR]
"""
import hashlib
import json
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared")
SEEDS = os.path.join(HERE, "seeds")


def write(target, name, text):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    data = text.encode("utf-8")
    digest = hashlib.sha1(data).hexdigest()[:12]
    with open(os.path.join(folder, f"{name}-{digest}"), "wb") as f:
        f.write(data)


def every(items, count):
    """`count` items spread evenly over the sorted list."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def main():
    for target in os.listdir(SEEDS) if os.path.isdir(SEEDS) else []:
        for name in os.listdir(os.path.join(SEEDS, target)):
            os.remove(os.path.join(SEEDS, target, name))

    cases = json.load(open(os.path.join(SHARED, "eql-spec", "cases.json")))
    queries = sorted({c["query"] for c in cases if c.get("query")})
    for i, q in enumerate(queries):
        write("eql_parse", f"spec{i:03}", q)
        write("eql_compile", f"spec{i:03}", q)

    manifest = os.path.join(SHARED, "corpus", "detection-rules", "MANIFEST-eql.txt")
    rule_paths = sorted(line.split()[1] for line in open(manifest) if line.strip())
    rules_dir = os.path.join(SHARED, "corpus", "detection-rules")
    for i, rel in enumerate(every(rule_paths, 200)):
        text = open(os.path.join(rules_dir, rel), encoding="utf-8").read()
        query = tomllib.loads(text).get("rule", {}).get("query")
        if query:
            write("eql_parse", f"rule{i:03}", query)
            write("eql_compile", f"rule{i:03}", query)
    for i, rel in enumerate(every(rule_paths, 40)):
        write("rule_toml", f"rule{i:02}", open(os.path.join(rules_dir, rel), encoding="utf-8").read())
    seed_dir = os.path.join(SHARED, "seed")
    for name in sorted(os.listdir(seed_dir)):
        if name.endswith(".toml"):
            write("rule_toml", "seed", open(os.path.join(seed_dir, name), encoding="utf-8").read())

    telemetry = os.path.join(SHARED, "telemetry")
    for name in sorted(os.listdir(telemetry)):
        if not name.endswith(".ndjson") or name.startswith("eslogger"):
            continue
        lines = [l for l in open(os.path.join(telemetry, name), encoding="utf-8").read().splitlines() if l.strip()]
        for i, line in enumerate(every(lines, 25)):
            write("event_ndjson", f"{name.split('.')[0][:20]}{i:02}", line)

    eslogger_lines = []
    for path in [os.path.join(telemetry, "eslogger-real-mullvad-tests.ndjson"),
                 os.path.join(HERE, "..", "crates", "eslogger", "tests", "data", "art-t1543.004.eslogger.ndjson")]:
        eslogger_lines += [l for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
    for i, line in enumerate(eslogger_lines[:4]):
        write("eslogger_line", f"mullvad{i}", line)
    art = eslogger_lines[4:]
    # Consecutive runs keep fork → exec → exit chains together, so parent lookups succeed.
    for i in range(0, len(art), 8):
        write("eslogger_line", f"art{i:03}", "\n".join(art[i:i + 8]) + "\n")


main()
