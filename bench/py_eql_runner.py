#!/usr/bin/env python3
"""Runs one detection rule's EQL query with the reference Python engine (PyPI `eql` 1.0.1) over NDJSON events.

Python `eql` is not Elasticsearch, so this wrapper bridges three differences (see bench/README.md):
1. Event type: Python eql dispatches on one `event_type` string; ECS keeps the category in the array
   `event.category`. Each event is streamed once with type = the first of its categories that the query uses
   (else its first category), so `process where ...` sees process events as ES would.
2. ECS arrays: ES compares a multi-valued field by "any value matches"; Python eql compares the list itself.
   Comparisons against literals (`==`, `!=`, `in`, `not in`, `:`) on fields that ECS documents as arrays
   (ECS_ARRAY_FIELDS) are rewritten to membership tests (`arrayContains`, a wildcard over every element).
3. Time: Python eql wants a number in its `time_unit` ticks per second; `@timestamp` (ISO 8601) is converted to
   epoch milliseconds and the engine runs with time_unit=1000, so `maxspan=1m` means 60 000 ticks.
Known remaining difference: Python eql compares strings case-insensitively (ES `==` is case-sensitive).

Prints one JSON object on stdout: {"events": N, "alerts": N, "bytes": N}.
"""

import argparse
import json
import sys
import tomllib
from datetime import datetime

import eql
import eql.ast as ast

ECS_ARRAY_FIELDS = {
    "event.category", "event.type", "process.args", "process.parent.args", "host.ip", "host.mac",
    "related.ip", "related.user", "related.hosts", "related.hash", "tags", "process.Ext.ancestry",
    "file.Ext.original.path_parts", "dns.resolved_ip", "threat.indicator.ip",
}


def field_name(node):
    if isinstance(node, ast.Field):
        return ".".join([node.base] + [str(p) for p in node.path])
    return None


def is_literal(node):
    return isinstance(node, (ast.String, ast.Number, ast.Boolean, ast.Null))


def rewrite(node):
    """Returns `node` with comparisons of ECS array fields against literals turned into membership tests."""
    if isinstance(node, ast.Comparison) and node.comparator in ("==", "!=") and is_literal(node.right) and \
            field_name(node.left) in ECS_ARRAY_FIELDS:
        contains = ast.FunctionCall("arrayContains", [node.left, node.right])
        return contains if node.comparator == "==" else ast.Not(contains)
    if isinstance(node, ast.InSet) and field_name(node.expression) in ECS_ARRAY_FIELDS and \
            all(is_literal(v) for v in node.container):
        return ast.FunctionCall("arrayContains", [node.expression] + list(node.container))
    if isinstance(node, ast.FunctionCall) and node.name == "wildcard" and node.arguments and \
            field_name(node.arguments[0]) in ECS_ARRAY_FIELDS:
        return ast.FunctionCall("ecsAnyWildcard", node.arguments)
    if isinstance(node, ast.BaseNode):
        for slot in getattr(type(node), "__slots__", ()):
            value = getattr(node, slot, None)
            if isinstance(value, ast.BaseNode):
                setattr(node, slot, rewrite(value))
            elif isinstance(value, list):
                setattr(node, slot, [rewrite(v) if isinstance(v, ast.BaseNode) else v for v in value])
    return node


def any_wildcard(array, *patterns):
    if array is None:
        return None
    values = array if isinstance(array, list) else [array]
    return any(eql.functions.Wildcard.run(v, *patterns) for v in values if isinstance(v, str))


def event_types(node):
    """Every event type (category) the query names."""
    found = set()

    def walk(n):
        if isinstance(n, ast.EventQuery):
            found.add(n.event_type)
        if isinstance(n, ast.BaseNode):
            for slot in getattr(type(n), "__slots__", ()):
                value = getattr(n, slot, None)
                for v in (value if isinstance(value, list) else [value]):
                    if isinstance(v, ast.BaseNode):
                        walk(v)
    walk(node)
    return found


def epoch_ms(text):
    # fromisoformat (3.11+) reads the trailing "Z"
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rule", required=True, help="detection rule TOML")
    parser.add_argument("events", help="NDJSON file")
    args = parser.parse_args()
    with open(args.rule, "rb") as f:
        query_text = tomllib.load(f)["rule"]["query"]
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions, eql.parser.skip_optimizations:
        query = eql.parse_query(query_text)
    query = rewrite(query)
    wanted = event_types(query)

    alerts = 0

    def on_result(result):
        nonlocal alerts
        alerts += 1

    engine = eql.PythonEngine({"time_unit": 1000, "functions": {"ecsAnyWildcard": any_wildcard}})
    engine.add_output_hook(on_result)
    engine.add_query(query)
    events = 0
    size = 0
    Event = eql.Event
    with open(args.events, "rb") as f:
        for line in f:
            size += len(line)
            data = json.loads(line)
            categories = data.get("event", {}).get("category") or ["generic"]
            if isinstance(categories, str):
                categories = [categories]
            event_type = next((c for c in categories if c in wanted), categories[0])
            engine.stream_event(Event(event_type, epoch_ms(data["@timestamp"]), data))
            events += 1
    engine.finalize()
    json.dump({"events": events, "alerts": alerts, "bytes": size}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
