//! Engine matches → Kibana-shaped alert documents.
//!
//! The shape follows Kibana's security detection engine (8.x): an alert is the source event's fields, with the
//! source's `event` object flattened to dotted `event.*` keys, plus flat dotted `kibana.alert.*` keys. A single
//! event match gives one alert. A sequence gives one building-block alert per event
//! (`kibana.alert.building_block_type: "default"`, `kibana.alert.group.index` = position) and one shell alert
//! holding the fields the events share, all with the same `kibana.alert.group.id`; building blocks come first.
//!
//! Deliberate differences from Kibana, because tripline runs without a clock or a cluster:
//! - `@timestamp` is the time of the event that completed the match (Kibana: wall-clock time of the rule run),
//!   so the same input gives the same output.
//! - `kibana.alert.uuid` is a SHA-256 over the rule id and the ids and indices of the source events (plus the
//!   position for building blocks), as Kibana does; an event without `_id` is identified by a hash of its text.
//! - `kibana.alert.rule.uuid` is the rule's `rule_id` (Kibana uses the saved object's id).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::load::Rule;

/// Elasticsearch metadata keys that are never part of an alert's `_source`.
const METADATA_KEYS: &[&str] = &[
    "_id",
    "_index",
    "_score",
    "_routing",
    "_version",
    "_seq_no",
    "_primary_term",
    "_ignored",
    "sort",
];

/// One source event of a match, as alert building needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEvent {
    /// The document (a search hit's `_source`, or the NDJSON object) without Elasticsearch metadata keys.
    pub doc: Map<String, Value>,
    /// `_id` when the input carries one, else a hash of the document text.
    pub id: String,
    /// `_index` when the input carries one, else empty.
    pub index: String,
    /// The event time the engine ordered the event by, in epoch nanoseconds.
    pub timestamp_ns: i64,
}

impl SourceEvent {
    /// Reads a raw JSON document or search hit (`{"_id", "_index", "_source": {...}}`).
    pub fn from_json_text(raw: &str, timestamp_ns: i64) -> SourceEvent {
        let parsed: Map<String, Value> = serde_json::from_str(raw).unwrap_or_default();
        SourceEvent::from_object(parsed, raw, timestamp_ns)
    }

    pub fn from_object(
        mut object: Map<String, Value>,
        raw: &str,
        timestamp_ns: i64,
    ) -> SourceEvent {
        let id = match object.get("_id") {
            Some(Value::String(id)) => id.clone(),
            _ => content_id(raw),
        };
        let index = match object.get("_index") {
            Some(Value::String(index)) => index.clone(),
            _ => String::new(),
        };
        let mut doc = match object.remove("_source") {
            Some(Value::Object(source)) => source,
            Some(other) => {
                object.insert("_source".into(), other);
                object
            }
            None => object,
        };
        for key in METADATA_KEYS {
            doc.remove(*key);
        }
        SourceEvent {
            doc,
            id,
            index,
            timestamp_ns,
        }
    }

    pub fn from_engine(event: &engine::event::Event) -> SourceEvent {
        SourceEvent::from_json_text(&event.raw, event.timestamp.unwrap_or(0))
    }
}

/// A stable id for a document without `_id`: the first 20 bytes of the SHA-256 of its text, in hex.
fn content_id(raw: &str) -> String {
    let digest = Sha256::digest(raw.trim().as_bytes());
    hex(digest.iter().take(20).copied())
}

fn hex(bytes: impl Iterator<Item = u8>) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::new();
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // Length-prefix each part so that ("ab","c") and ("a","bc") differ.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(hasher.finalize().iter().copied())
}

/// `2021-01-14T23:19:34.938Z`: JavaScript's `toISOString`, which Kibana writes.
pub fn iso_millis(nanos: i64) -> String {
    let millis = nanos.div_euclid(1_000_000);
    jiff::Timestamp::from_millisecond(millis)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_string())
}

/// Reads a dotted path from a document whose keys may be nested objects or dotted, like lodash `get`
/// over the flattened and unflattened forms Kibana sees.
fn lookup<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = doc.get(path) {
        return Some(value);
    }
    // Try every split point: `a.b.c` as `a` → `b.c`, `a.b` → `c`.
    let mut search_from = 0;
    while let Some(dot) = path.get(search_from..).and_then(|s| s.find('.')) {
        let split = search_from + dot;
        let head = path.get(..split).unwrap_or("");
        let tail = path.get(split + 1..).unwrap_or("");
        if let Some(Value::Object(inner)) = doc.get(head) {
            if let Some(found) = lookup(inner, tail) {
                return Some(found);
            }
        }
        search_from = split + 1;
    }
    None
}

/// A reason template value: strings and numbers as text, arrays joined with `, `; empty or `-` is absent.
fn reason_value(doc: &Map<String, Value>, path: &str) -> Option<String> {
    let text = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match lookup(doc, path)? {
        Value::Array(items) => {
            if items.is_empty() || (items.len() == 1 && items.first() == Some(&Value::from("-"))) {
                return None;
            }
            Some(items.iter().filter_map(text).collect::<Vec<_>>().join(", "))
        }
        Value::String(s) if s.is_empty() => None,
        other => text(other),
    }
}

/// Kibana's alert reason sentence, e.g. `process event with process launchctl, by root on mac-1 created
/// low alert My Rule.`
pub fn reason(doc: &Map<String, Value>, rule_name: &str, severity: &str) -> String {
    let mut out = String::new();
    if let Some(category) = reason_value(doc, "event.category") {
        out.push_str(&category);
        out.push(' ');
    }
    out.push_str("event");
    let of_interest = [
        ("process.name", " process ", ","),
        ("process.parent.name", " parent process ", ","),
        ("file.name", " file ", ","),
    ];
    let mut details = String::new();
    for (path, before, after) in of_interest {
        if let Some(value) = reason_value(doc, path) {
            details.push_str(before);
            details.push_str(&value);
            details.push_str(after);
        }
    }
    for (address, port, label) in [
        ("source.ip", "source.port", " source "),
        ("destination.ip", "destination.port", " destination "),
    ] {
        if let Some(value) = reason_value(doc, address) {
            details.push_str(label);
            details.push_str(&value);
        }
        if let Some(value) = reason_value(doc, port) {
            details.push(':');
            details.push_str(&value);
            details.push(',');
        }
    }
    if !details.is_empty() {
        out.push_str(" with");
        out.push_str(&details);
    }
    if let Some(user) = reason_value(doc, "user.name") {
        out.push_str(" by ");
        out.push_str(&user);
    }
    if let Some(host) = reason_value(doc, "host.name") {
        out.push_str(" on ");
        out.push_str(&host);
    }
    out.push_str(&format!(" created {severity} alert {rule_name}."));
    out
}

/// The `kibana.alert.rule.*` and other rule-derived keys every alert of `rule` carries.
fn rule_fields(rule: &Rule, out: &mut Map<String, Value>) {
    let threat = serde_json::to_value(&rule.threat).unwrap_or(Value::Array(Vec::new()));
    let strings = |items: &[String]| Value::from(items.to_vec());
    let mut parameters = Map::new();
    parameters.insert("description".into(), rule.description.clone().into());
    parameters.insert("risk_score".into(), rule.risk_score.into());
    parameters.insert("severity".into(), rule.severity.clone().into());
    parameters.insert("rule_id".into(), rule.rule_id.clone().into());
    parameters.insert("from".into(), rule.from.clone().into());
    parameters.insert("to".into(), "now".into());
    parameters.insert("max_signals".into(), rule.max_signals.into());
    parameters.insert("threat".into(), threat.clone());
    parameters.insert("type".into(), rule.rule_type.clone().into());
    parameters.insert("language".into(), rule.language.clone().into());
    parameters.insert("query".into(), rule.query.clone().into());
    parameters.insert("index".into(), strings(&rule.index_patterns));
    let optional = [
        ("timestamp_override", &rule.timestamp_override),
        ("event_category_override", &rule.event_category_override),
        ("tiebreaker_field", &rule.tiebreaker_field),
        ("building_block_type", &rule.building_block_type),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            parameters.insert(key.into(), value.clone().into());
        }
    }

    let prefix = "kibana.alert.rule.";
    let mut put = |key: &str, value: Value| {
        out.insert(format!("{prefix}{key}"), value);
    };
    put("author", strings(&rule.author));
    put("category", "Event Correlation Rule".into());
    put("consumer", "siem".into());
    put("description", rule.description.clone().into());
    put("enabled", rule.enabled.into());
    put("false_positives", strings(&rule.false_positives));
    put("from", rule.from.clone().into());
    put("interval", rule.interval.clone().into());
    if let Some(license) = &rule.license {
        put("license", license.clone().into());
    }
    put("max_signals", rule.max_signals.into());
    put("name", rule.name.clone().into());
    put("parameters", Value::Object(parameters));
    put("producer", "siem".into());
    put("references", strings(&rule.references));
    put("risk_score", rule.risk_score.into());
    put("rule_id", rule.rule_id.clone().into());
    put("rule_type_id", "siem.eqlRule".into());
    put("severity", rule.severity.clone().into());
    put("tags", strings(&rule.tags));
    put("threat", threat);
    put("to", "now".into());
    put("type", rule.rule_type.clone().into());
    put("uuid", rule.rule_id.clone().into());
    put("version", rule.version.into());
    if let Some(timestamp_override) = &rule.timestamp_override {
        put("timestamp_override", timestamp_override.clone().into());
    }
    out.insert("kibana.alert.severity".into(), rule.severity.clone().into());
    out.insert("kibana.alert.risk_score".into(), rule.risk_score.into());
    out.insert("kibana.alert.status".into(), "active".into());
    out.insert("kibana.alert.workflow_status".into(), "open".into());
    out.insert("kibana.space_ids".into(), Value::from(vec!["default"]));
}

fn event_ancestor(event: &SourceEvent) -> Value {
    serde_json::json!({"id": event.id, "type": "event", "index": event.index, "depth": 0})
}

/// The alert for one event: its fields, its `event.*` flattened, and the alert fields.
fn event_alert(rule: &Rule, event: &SourceEvent, alert_time_ns: i64) -> Map<String, Value> {
    let mut alert = Map::new();
    let mut event_fields = Map::new();
    for (key, value) in &event.doc {
        if key == "kibana"
            || key == "signal"
            || key.starts_with("kibana.")
            || key == "threshold_result"
        {
            continue;
        }
        if key == "event" {
            if let Value::Object(inner) = value {
                flatten_into("event", inner, &mut event_fields);
                continue;
            }
        }
        if let Some(rest) = key.strip_prefix("event.") {
            event_fields.insert(format!("event.{rest}"), value.clone());
            continue;
        }
        alert.insert(key.clone(), value.clone());
    }
    for (key, value) in &event_fields {
        alert.insert(key.clone(), value.clone());
    }
    // The reason reads the source as Kibana's merged document, before alert fields are added.
    let reason_text = reason(&event.doc, &rule.name, &rule.severity);
    alert.insert("@timestamp".into(), iso_millis(alert_time_ns).into());
    rule_fields(rule, &mut alert);
    alert.insert(
        "kibana.alert.ancestors".into(),
        Value::Array(vec![event_ancestor(event)]),
    );
    alert.insert("kibana.alert.depth".into(), 1.into());
    alert.insert("kibana.alert.reason".into(), reason_text.into());
    if let Some(kind) = &rule.building_block_type {
        alert.insert(
            "kibana.alert.building_block_type".into(),
            kind.clone().into(),
        );
    }
    let original_time = lookup(&event.doc, "@timestamp")
        .and_then(Value::as_str)
        .and_then(|text| text.parse::<jiff::Timestamp>().ok())
        .map(|t| iso_millis(i64::try_from(t.as_nanosecond()).unwrap_or(event.timestamp_ns)))
        .unwrap_or_else(|| iso_millis(event.timestamp_ns));
    alert.insert("kibana.alert.original_time".into(), original_time.into());
    for (key, value) in &event_fields {
        if let Some(rest) = key.strip_prefix("event.") {
            alert.insert(format!("kibana.alert.original_event.{rest}"), value.clone());
        }
    }
    alert.insert("event.kind".into(), "signal".into());
    alert
}

fn flatten_into(prefix: &str, object: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (key, value) in object {
        let path = format!("{prefix}.{key}");
        match value {
            Value::Object(inner) => flatten_into(&path, inner, out),
            other => {
                out.insert(path, other.clone());
            }
        }
    }
}

/// The alert for a single-event match.
pub fn alert_for_event(rule: &Rule, event: &SourceEvent) -> Map<String, Value> {
    let mut alert = event_alert(rule, event, event.timestamp_ns);
    let uuid = sha256_hex(&[&event.id, &event.index, &rule.rule_id]);
    alert.insert("kibana.alert.uuid".into(), uuid.into());
    alert
}

/// The alerts for a sequence: one building block per present event, then the shell alert.
/// Missing-event positions (`![...]` stages) have no document and give no building block.
pub fn alerts_for_sequence(rule: &Rule, events: &[SourceEvent]) -> Vec<Map<String, Value>> {
    if events.is_empty() {
        return Vec::new();
    }
    let completed_at = events.iter().map(|e| e.timestamp_ns).max().unwrap_or(0);
    let mut identity: Vec<&str> = vec![&rule.rule_id];
    for event in events {
        identity.push(&event.id);
        identity.push(&event.index);
    }
    let mut blocks: Vec<Map<String, Value>> = Vec::with_capacity(events.len() + 1);
    for (position, event) in events.iter().enumerate() {
        let mut block = event_alert(rule, event, completed_at);
        let position_text = position.to_string();
        let mut parts = identity.clone();
        parts.push(&position_text);
        block.insert("kibana.alert.uuid".into(), sha256_hex(&parts).into());
        blocks.push(block);
    }

    // The shell: what every building block shares, then the alert fields of a depth-2 alert.
    let mut shell = object_array_intersection(&blocks).unwrap_or_default();
    let reason_text = reason(&shell, &rule.name, &rule.severity);
    let mut ancestors = Vec::new();
    for (event, block) in events.iter().zip(&blocks) {
        ancestors.push(event_ancestor(event));
        ancestors.push(serde_json::json!({
            "id": block.get("kibana.alert.uuid").cloned().unwrap_or(Value::Null),
            "type": "signal",
            "index": "",
            "depth": 1,
            "rule": rule.rule_id,
        }));
    }
    let mut shell_identity: Vec<String> = Vec::new();
    for ancestor in &ancestors {
        for key in ["id", "index"] {
            shell_identity.push(
                ancestor
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            );
        }
    }
    shell_identity.push(rule.rule_id.clone());
    let shell_uuid = sha256_hex(
        &shell_identity
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    shell.insert("@timestamp".into(), iso_millis(completed_at).into());
    rule_fields(rule, &mut shell);
    shell.insert("kibana.alert.ancestors".into(), Value::Array(ancestors));
    shell.insert("kibana.alert.depth".into(), 2.into());
    shell.insert("kibana.alert.reason".into(), reason_text.into());
    match &rule.building_block_type {
        Some(kind) => shell.insert(
            "kibana.alert.building_block_type".into(),
            kind.clone().into(),
        ),
        None => shell.remove("kibana.alert.building_block_type"),
    };
    shell.insert("kibana.alert.uuid".into(), shell_uuid.clone().into());
    shell.insert("kibana.alert.group.id".into(), shell_uuid.clone().into());
    shell.insert("event.kind".into(), "signal".into());

    let mut alerts = Vec::with_capacity(blocks.len() + 1);
    for (position, mut block) in blocks.into_iter().enumerate() {
        block.insert("kibana.alert.building_block_type".into(), "default".into());
        block.insert("kibana.alert.group.id".into(), shell_uuid.clone().into());
        block.insert("kibana.alert.group.index".into(), position.into());
        alerts.push(block);
    }
    alerts.push(shell);
    alerts
}

/// Kibana's merge of building blocks into the shell: keys present in all with equal values; nested objects
/// merged recursively; arrays intersected. An object left with nothing in common disappears.
fn object_array_intersection(objects: &[Map<String, Value>]) -> Option<Map<String, Value>> {
    let (first, rest) = objects.split_first()?;
    let mut acc = Some(first.clone());
    for object in rest {
        acc = acc.and_then(|a| object_pair_intersection(&a, object));
    }
    acc
}

fn object_pair_intersection(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for (key, a_value) in a {
        let Some(b_value) = b.get(key) else { continue };
        let merged = match (a_value, b_value) {
            (Value::Object(a_inner), Value::Object(b_inner)) => {
                object_pair_intersection(a_inner, b_inner).map(Value::Object)
            }
            (a_value, b_value)
                if a_value == b_value && !a_value.is_object() && !a_value.is_array() =>
            {
                Some(a_value.clone())
            }
            (Value::Array(a_items), Value::Array(b_items)) => {
                Some(array_intersection(a_items, b_items))
            }
            (Value::Array(a_items), b_scalar) if !b_scalar.is_object() => {
                Some(array_intersection(a_items, std::slice::from_ref(b_scalar)))
            }
            (a_scalar, Value::Array(b_items)) if !a_scalar.is_object() => {
                Some(array_intersection(std::slice::from_ref(a_scalar), b_items))
            }
            _ => None,
        };
        if let Some(value) = merged {
            out.insert(key.clone(), value);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// lodash `intersection`: unique values of `a` (in order) that also occur in `b`, compared by identity,
/// so objects never match.
fn array_intersection(a: &[Value], b: &[Value]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for item in a {
        if !item.is_object() && !item.is_array() && b.contains(item) && !out.contains(item) {
            out.push(item.clone());
        }
    }
    Value::Array(out)
}

/// Kibana caps each rule execution at `max_signals` matches. tripline has no executions, so it caps
/// per rule and per `interval`-wide bucket of event time (the completing event's time), and counts what
/// it drops so that the run summary can say so.
#[derive(Debug, Clone, Default)]
pub struct SignalBudget {
    bucket: Option<i64>,
    used: u64,
    /// Matches dropped because the cap was reached.
    pub suppressed: u64,
}

impl SignalBudget {
    /// True when a match completed at `time_ns` may raise alerts.
    pub fn admit(&mut self, rule: &Rule, time_ns: i64) -> bool {
        let bucket = time_ns.div_euclid(rule.interval_ns.max(1));
        if self.bucket != Some(bucket) {
            self.bucket = Some(bucket);
            self.used = 0;
        }
        if self.used >= rule.max_signals {
            self.suppressed += 1;
            return false;
        }
        self.used += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{load_str, Loaded};
    use serde_json::json;
    use std::path::Path;

    fn seed_rule() -> Rule {
        let text = include_str!("../../../examples/rules/launchdaemon_creation_and_load.toml");
        match load_str(
            Path::new("examples/rules/launchdaemon_creation_and_load.toml"),
            text,
        ) {
            Loaded::Ready(rule) => *rule,
            other => panic!("{other:?}"),
        }
    }

    fn source(value: Value) -> SourceEvent {
        let text = value.to_string();
        let ts = value["@timestamp"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map_or(0, |t| t.as_nanosecond() as i64);
        SourceEvent::from_json_text(&text, ts)
    }

    fn file_event() -> SourceEvent {
        source(json!({
            "_id": "file-1",
            "_index": ".ds-logs-endpoint.events.file-default-2026.11.28-000001",
            "@timestamp": "2026-11-28T10:00:00.123456Z",
            "event": {"category": ["file"], "type": ["creation"], "action": "creation", "kind": "event"},
            "file": {"path": "/Library/LaunchDaemons/com.evil.plist", "name": "com.evil.plist"},
            "process": {"name": "cp", "pid": 100},
            "host": {"id": "H1", "name": "mac-1", "os": {"type": "macos"}},
            "user": {"name": "root"}
        }))
    }

    fn launchctl_event() -> SourceEvent {
        source(json!({
            "@timestamp": "2026-11-28T10:00:30.5Z",
            "event": {"category": ["process"], "type": ["start"], "action": "exec", "kind": "event"},
            "process": {"name": "launchctl", "args": ["launchctl", "load", "/Library/LaunchDaemons/com.evil.plist"],
                        "parent": {"name": "bash"}, "pid": 101},
            "host": {"id": "H1", "name": "mac-1", "os": {"type": "macos"}},
            "user": {"name": "root"}
        }))
    }

    #[test]
    fn reason_wording_matches_kibana() {
        let doc = launchctl_event().doc;
        assert_eq!(
            reason(&doc, "R", "low"),
            "process event with process launchctl, parent process bash, by root on mac-1 created low alert R."
        );
        let bare = Map::new();
        assert_eq!(reason(&bare, "R", "high"), "event created high alert R.");
        let network = json!({"event": {"category": ["network", "process"]}, "source": {"ip": "10.0.0.1", "port": 44},
                             "destination": {"ip": "10.0.0.2"}, "host.name": "h"});
        assert_eq!(
            reason(network.as_object().unwrap(), "N", "medium"),
            "network, process event with source 10.0.0.1:44, destination 10.0.0.2 on h created medium alert N."
        );
    }

    #[test]
    fn single_event_alert() {
        let alert = alert_for_event(&seed_rule(), &file_event());
        insta::assert_json_snapshot!("single_event_alert", alert);
    }

    #[test]
    fn sequence_alerts() {
        let alerts = alerts_for_sequence(&seed_rule(), &[file_event(), launchctl_event()]);
        assert_eq!(alerts.len(), 3);
        let group = alerts[2]["kibana.alert.group.id"].clone();
        assert_eq!(alerts[2]["kibana.alert.uuid"], group);
        assert_eq!(alerts[0]["kibana.alert.group.id"], group);
        assert_eq!(alerts[1]["kibana.alert.group.index"], 1);
        insta::assert_json_snapshot!("sequence_alerts", alerts);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let rule = seed_rule();
        let a = alerts_for_sequence(&rule, &[file_event(), launchctl_event()]);
        let b = alerts_for_sequence(&rule, &[file_event(), launchctl_event()]);
        let ids = |alerts: &[Map<String, Value>]| {
            alerts
                .iter()
                .map(|a| a["kibana.alert.uuid"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        let mut unique = ids(&a);
        unique.dedup();
        assert_eq!(unique.len(), 3);
        let swapped = alerts_for_sequence(&rule, &[launchctl_event(), file_event()]);
        assert_ne!(ids(&a)[2], ids(&swapped)[2]);
    }

    #[test]
    fn intersection_follows_kibana() {
        let a = json!({"x": 1, "y": [1, 2, 3], "z": {"p": 1, "q": 2}, "w": "a", "only_a": 1});
        let b = json!({"x": 1, "y": [2, 3, 4], "z": {"p": 1, "q": 3}, "w": "b"});
        let merged =
            object_pair_intersection(a.as_object().unwrap(), b.as_object().unwrap()).unwrap();
        assert_eq!(
            Value::Object(merged),
            json!({"x": 1, "y": [2, 3], "z": {"p": 1}})
        );
        let disjoint = json!({"z": {"q": 1}});
        let other = json!({"z": {"q": 2}});
        assert_eq!(
            object_pair_intersection(disjoint.as_object().unwrap(), other.as_object().unwrap()),
            None
        );
    }

    #[test]
    fn budget_caps_per_interval() {
        let mut rule = seed_rule();
        rule.max_signals = 2;
        let minute = 60_000_000_000;
        let mut budget = SignalBudget::default();
        assert!(budget.admit(&rule, 0));
        assert!(budget.admit(&rule, minute));
        assert!(!budget.admit(&rule, 2 * minute));
        // The next 5-minute window starts afresh.
        assert!(budget.admit(&rule, 5 * minute));
        assert_eq!(budget.suppressed, 1);
    }

    #[test]
    fn hits_and_metadata() {
        let hit = SourceEvent::from_json_text(
            r#"{"_id":"abc","_index":"logs-x","_score":1,"_source":{"a":1}}"#,
            5,
        );
        assert_eq!(hit.id, "abc");
        assert_eq!(hit.index, "logs-x");
        assert_eq!(Value::Object(hit.doc), json!({"a": 1}));
        let plain = SourceEvent::from_json_text(r#"{"a":1,"_index":"i"}"#, 5);
        assert_eq!(plain.id.len(), 40);
        assert_eq!(Value::Object(plain.doc), json!({"a": 1}));
        assert_eq!(iso_millis(1_500_000_000), "1970-01-01T00:00:01.500Z");
    }
}
