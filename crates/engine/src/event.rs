//! Events: the original JSON text plus the values of the registered fields,
//! extracted in one streaming pass (no DOM per event).
//!
//! Documents may use nested objects, flat dotted keys or any mix; arrays (also of
//! objects) make a field multi-valued, as Elasticsearch flattens them; a search hit
//! `{"_index", "_id", "_source": {...}}` is read from its `_source`.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::field::{FieldId, FieldSpec, FieldTable};
use crate::schema::FieldType;
use crate::time;
use crate::value::{Value, NULL};

/// One parsed event.
#[derive(Debug, Clone)]
pub struct Event {
    /// The original JSON text of the document (or hit).
    pub raw: Box<str>,
    /// Registered fields present in the document, sorted by id.
    slots: Vec<(FieldId, Value)>,
    /// Epoch nanoseconds (milliseconds precision when the field is a `date`).
    pub timestamp: Option<i64>,
    pub tiebreaker: Value,
    /// Arrival number, set by the caller.
    pub seq: u64,
    index: Option<Box<str>>,
}

/// How [`FieldTable::parse_event`] treats a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOptions {
    /// A missing timestamp is an error (sample queries do not need one).
    pub require_timestamp: bool,
}

impl Default for EventOptions {
    fn default() -> Self {
        EventOptions {
            require_timestamp: true,
        }
    }
}

/// A document that cannot be an event, with the position of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// 1-based line within the parsed text (1 for one NDJSON line).
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    pub message: String,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for EventError {}

impl Event {
    /// The value of a registered field; null when the document lacks it.
    pub fn get(&self, id: FieldId) -> &Value {
        match self.slots.binary_search_by_key(&id, |(k, _)| *k) {
            Ok(i) => self.slots.get(i).map_or(&NULL, |(_, v)| v),
            Err(_) => &NULL,
        }
    }

    /// The fields present, in id order.
    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &Value)> {
        self.slots.iter().map(|(k, v)| (*k, v))
    }

    /// The index the event came from: a hit's `_index`, or the document's own `_index`.
    pub fn index(&self) -> Option<&str> {
        self.index.as_deref()
    }

    /// The full document, parsed (for output): a hit's `_source`, else the document.
    pub fn source(&self) -> serde_json::Value {
        match serde_json::from_str::<serde_json::Value>(&self.raw) {
            Ok(serde_json::Value::Object(mut obj)) => match obj.get("_source") {
                Some(serde_json::Value::Object(_)) => obj.remove("_source").unwrap_or_default(),
                _ => serde_json::Value::Object(obj),
            },
            Ok(other) => other,
            Err(_) => serde_json::Value::Null,
        }
    }

    /// An event from already-extracted values (tests, synthetic events).
    pub fn from_parts(
        raw: &str,
        mut slots: Vec<(FieldId, Value)>,
        timestamp: Option<i64>,
        tiebreaker: Value,
        seq: u64,
    ) -> Event {
        slots.sort_by_key(|(k, _)| *k);
        Event {
            raw: raw.into(),
            slots,
            timestamp,
            tiebreaker,
            seq,
            index: None,
        }
    }
}

impl FieldTable {
    /// Parses one JSON document, extracting only the registered fields.
    pub fn parse_event(&self, text: &str, opts: &EventOptions) -> Result<Event, EventError> {
        let first = text.bytes().position(|b| !b.is_ascii_whitespace());
        if first.map(|i| text.as_bytes().get(i)) != Some(Some(&b'{')) {
            let offset = first.unwrap_or(text.len());
            let (line, column) = line_col(text, offset);
            return Err(EventError {
                line,
                column,
                message: "expected a JSON object".into(),
            });
        }
        let mut collector = Collector {
            table: self,
            values: Vec::new(),
            index: None,
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let result = RootSeed { c: &mut collector }
            .deserialize(&mut de)
            .and_then(|()| de.end());
        if let Err(e) = result {
            return Err(EventError {
                line: e.line().max(1),
                column: e.column().max(1),
                message: strip_serde_position(&e.to_string()),
            });
        }
        let index = collector.index.take();
        let slots = collector.finish();
        let mut event = Event {
            raw: text.into(),
            slots,
            timestamp: None,
            tiebreaker: Value::Null,
            seq: 0,
            index,
        };
        let ts_value = event.get(self.timestamp_field()).clone();
        event.timestamp = match &ts_value {
            Value::Null => {
                if opts.require_timestamp {
                    return Err(EventError {
                        line: 1,
                        column: 1,
                        message: format!(
                            "missing timestamp field `{}`",
                            self.path(self.timestamp_field())
                        ),
                    });
                }
                None
            }
            v => match self.timestamp_nanos(v) {
                Some(ns) => Some(ns),
                None => {
                    let (line, column) = locate_key(text, self.path(self.timestamp_field()));
                    return Err(EventError {
                        line,
                        column,
                        message: format!(
                            "invalid timestamp `{v}`: expected ISO 8601 or epoch milliseconds"
                        ),
                    });
                }
            },
        };
        if let Some(tb) = self.tiebreaker_field() {
            event.tiebreaker = event.get(tb).clone();
        }
        Ok(event)
    }

    /// A timestamp value in epoch nanoseconds, truncated to milliseconds for `date`.
    fn timestamp_nanos(&self, v: &Value) -> Option<i64> {
        let custom = self.timestamp_format().and_then(|format| match v.first() {
            Value::Str(s) => format.parse(s),
            Value::Int(i) => format.parse(&i.to_string()),
            _ => None,
        });
        let ns = match (custom, v.first()) {
            (Some(ns), _) => Some(ns),
            (None, Value::Int(ms)) => time::from_epoch_millis_i64(*ms),
            (None, Value::Float(ms)) => time::from_epoch_millis_f64(*ms),
            (None, Value::Str(s)) => time::parse_timestamp_str(s),
            _ => None,
        }?;
        Some(if self.timestamp_millis() {
            ns.div_euclid(1_000_000) * 1_000_000
        } else {
            ns
        })
    }
}

fn strip_serde_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(msg).to_string(),
        None => msg.to_string(),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// Best-effort position of a field's value for error messages: after its last key segment.
fn locate_key(text: &str, path: &str) -> (usize, usize) {
    let last = path.rsplit('.').next().unwrap_or(path);
    let needle = format!("\"{last}\"");
    match text.find(&needle) {
        Some(i) => {
            let after = i + needle.len();
            let value_start = text
                .get(after..)
                .and_then(|rest| rest.find(|c: char| c != ':' && !c.is_whitespace()))
                .map_or(after, |j| after + j);
            line_col(text, value_start)
        }
        None => (1, 1),
    }
}

/// Values found during the walk, in document order.
struct Collector<'t> {
    table: &'t FieldTable,
    values: Vec<(FieldId, Value)>,
    index: Option<Box<str>>,
}

enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Collector<'_> {
    fn push(&mut self, id: FieldId, scalar: Scalar<'_>) {
        let Some(spec) = self.table.spec(id) else {
            return;
        };
        let value = match scalar {
            Scalar::Null => match &spec.null_value {
                Some(v) => v.clone(),
                None => Value::Null,
            },
            other if spec.ty.is_date() => coerce_date(spec, other),
            other => coerce(&spec.ty, other),
        };
        self.values.push((id, value));
    }

    /// Groups repeated fields into lists; drops nulls (Elasticsearch does not index them).
    fn finish(mut self) -> Vec<(FieldId, Value)> {
        self.values.retain(|(_, v)| !v.is_null());
        if self.values.len() <= 1 {
            return self.values;
        }
        self.values.sort_by_key(|(k, _)| *k);
        let mut out: Vec<(FieldId, Value)> = Vec::with_capacity(self.values.len());
        for (id, v) in self.values {
            match out.last_mut() {
                Some((last_id, last)) if *last_id == id => match last {
                    Value::List(items) => items.push(v),
                    _ => {
                        let first = std::mem::take(last);
                        *last = Value::List(vec![first, v]);
                    }
                },
                _ => out.push((id, v)),
            }
        }
        out
    }
}

/// A date field's value in one canonical form, whatever format the document used:
/// the instant as Elasticsearch prints it (`2022-12-17T00:00:00.000Z`; up to
/// nanoseconds for `date_nanos`). Equal instants then compare, join and dispatch
/// equal, across indices with different mapping formats. A value the format cannot
/// read (Elasticsearch would have rejected the document) is kept as it is.
fn coerce_date(spec: &FieldSpec, scalar: Scalar<'_>) -> Value {
    let text: Cow<str> = match &scalar {
        Scalar::Str(s) => Cow::Borrowed(s),
        Scalar::Int(i) => Cow::Owned(i.to_string()),
        Scalar::Float(f) => Cow::Owned(f.to_string()),
        Scalar::Bool(_) | Scalar::Null => return coerce(&spec.ty, scalar),
    };
    let nanos = match &spec.date_format {
        Some(format) => format.parse(&text),
        None => time::parse_timestamp_str(&text),
    };
    match nanos {
        Some(ns) => Value::Str(Arc::from(canonical_date(
            ns,
            spec.ty == FieldType::DateNanos,
        ))),
        None => coerce(&spec.ty, scalar),
    }
}

/// The canonical text of an instant in a `date` (milliseconds) or `date_nanos` field.
pub fn canonical_date(nanos: i64, keep_nanos: bool) -> String {
    if keep_nanos {
        time::format_nanos_iso(nanos)
    } else {
        time::format_millis_iso(nanos)
    }
}

/// Converts a JSON scalar to what Elasticsearch indexes for the field's type.
fn coerce(ty: &FieldType, scalar: Scalar<'_>) -> Value {
    match (ty, scalar) {
        (_, Scalar::Null) => Value::Null,
        (FieldType::Keyword | FieldType::Text | FieldType::Wildcard | FieldType::Version, s) => {
            match s {
                Scalar::Str(s) => Value::str(s),
                Scalar::Bool(b) => Value::str(if b { "true" } else { "false" }),
                Scalar::Int(i) => Value::Str(Arc::from(i.to_string())),
                Scalar::Float(f) => Value::Str(Arc::from(f.to_string())),
                Scalar::Null => Value::Null,
            }
        }
        (FieldType::Ip, Scalar::Str(s)) => {
            Value::Str(canonical_ip(s).map_or_else(|| Arc::from(s), Arc::from))
        }
        (FieldType::Long, Scalar::Str(s)) => {
            parse_long(s).map_or_else(|| Value::str(s), Value::Int)
        }
        (FieldType::Long, Scalar::Float(f)) if f.is_finite() && f.abs() < 9.2e18 => {
            Value::Int(f.trunc() as i64)
        }
        (FieldType::Double, Scalar::Int(i)) => Value::Float(i as f64),
        (FieldType::Double, Scalar::Str(s)) => s
            .trim()
            .parse::<f64>()
            .map_or_else(|_| Value::str(s), Value::Float),
        (FieldType::Boolean, Scalar::Str("true")) => Value::Bool(true),
        (FieldType::Boolean, Scalar::Str("false")) => Value::Bool(false),
        (_, Scalar::Bool(b)) => Value::Bool(b),
        (_, Scalar::Int(i)) => Value::Int(i),
        (_, Scalar::Float(f)) => Value::Float(f),
        (_, Scalar::Str(s)) => Value::str(s),
    }
}

fn parse_long(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    let f = t.parse::<f64>().ok()?;
    (f.is_finite() && f.abs() < 9.2e18).then(|| f.trunc() as i64)
}

/// The canonical text of an IP address as Elasticsearch returns it (IPv4-mapped → IPv4).
pub fn canonical_ip(s: &str) -> Option<String> {
    let ip: IpAddr = s.trim().parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    })
}

/// A map key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// The document root: handles hits (`_source`, `_index`) then walks fields.
struct RootSeed<'c, 't> {
    c: &'c mut Collector<'t>,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut in_hit = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "_source" => {
                    // A hit: fields come from `_source` only; drop anything gathered outside it.
                    if !in_hit {
                        self.c.values.clear();
                    }
                    in_hit = true;
                    map.next_value_seed(NodeSeed { c: self.c, node: 0 })?;
                }
                "_index" => {
                    let v: serde_json::Value = map.next_value()?;
                    if let serde_json::Value::String(s) = &v {
                        self.c.index = Some(s.as_str().into());
                    }
                    if !in_hit {
                        if let Some(node) = self.c.table.child(0, "_index") {
                            NodeSeed { c: self.c, node }
                                .deserialize(v)
                                .map_err(de::Error::custom)?;
                        }
                    }
                }
                other if in_hit => {
                    let _ = other;
                    map.next_value::<IgnoredAny>()?;
                }
                other => match self.c.table.walk(0, other) {
                    Some(node) => map.next_value_seed(NodeSeed { c: self.c, node })?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        Ok(())
    }
}

impl FieldTable {
    fn child(&self, node: u32, segment: &str) -> Option<u32> {
        self.trie.get(node as usize)?.children.get(segment).copied()
    }

    /// Follows a (possibly dotted) key from a trie node.
    fn walk(&self, mut node: u32, key: &str) -> Option<u32> {
        for segment in key.split('.') {
            node = self.child(node, segment)?;
        }
        Some(node)
    }

    fn node_field(&self, node: u32) -> Option<FieldId> {
        self.trie.get(node as usize)?.field
    }
}

/// Any JSON value found at a trie node.
struct NodeSeed<'c, 't> {
    c: &'c mut Collector<'t>,
    node: u32,
}

impl NodeSeed<'_, '_> {
    fn scalar(self, s: Scalar<'_>) {
        if let Some(id) = self.c.table.node_field(self.node) {
            self.c.push(id, s);
        }
    }
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Scalar::Bool(v));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Scalar::Int(v));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(i) => self.scalar(Scalar::Int(i)),
            Err(_) => self.scalar(Scalar::Float(v as f64)),
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Scalar::Float(v));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Scalar::Str(v));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Scalar::Null);
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let node = self.node;
        while seq
            .next_element_seed(NodeSeed {
                c: &mut *self.c,
                node,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match self.c.table.walk(self.node, &key) {
                Some(node) => map.next_value_seed(NodeSeed {
                    c: &mut *self.c,
                    node,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn table(paths: &[&str]) -> (FieldTable, Vec<FieldId>) {
        let schema = Schema::empty();
        let mut t = FieldTable::with_defaults(&schema);
        let ids = paths.iter().map(|p| t.register(p, &schema)).collect();
        (t, ids)
    }

    const OPTS: EventOptions = EventOptions {
        require_timestamp: false,
    };

    #[test]
    fn nested_flat_and_hit_shapes_agree() {
        let (t, ids) = table(&["process.name", "process.pid", "host.os.type"]);
        let shapes = [
            r#"{"process": {"name": "a", "pid": 1}, "host": {"os": {"type": "linux"}}, "other": [1, {"x": 2}]}"#,
            r#"{"process.name": "a", "process.pid": 1, "host.os.type": "linux"}"#,
            r#"{"process": {"name": "a"}, "process.pid": 1, "host": {"os.type": "linux"}}"#,
            r#"{"_index": "i", "_id": "1", "_source": {"process": {"name": "a", "pid": 1}, "host.os": {"type": "linux"}}}"#,
        ];
        for shape in shapes {
            let e = t.parse_event(shape, &OPTS).unwrap();
            assert_eq!(e.get(ids[0]), &Value::str("a"), "{shape}");
            assert_eq!(e.get(ids[1]), &Value::Int(1), "{shape}");
            assert_eq!(e.get(ids[2]), &Value::str("linux"), "{shape}");
        }
        let hit = t.parse_event(shapes[3], &OPTS).unwrap();
        assert_eq!(hit.index(), Some("i"));
        assert_eq!(
            hit.source(),
            json!({"process": {"name": "a", "pid": 1}, "host.os": {"type": "linux"}})
        );
    }

    #[test]
    fn arrays_become_multi_valued() {
        let (t, ids) = table(&["a.b", "tags"]);
        let e = t
            .parse_event(r#"{"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}], "tags": ["x", null], "z": {"a": {"b": 9}}}"#, &OPTS)
            .unwrap();
        assert_eq!(
            e.get(ids[0]),
            &Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])
        );
        assert_eq!(e.get(ids[1]), &Value::str("x"));
        let e = t
            .parse_event(r#"{"tags": [], "a": {"b": [null]}}"#, &OPTS)
            .unwrap();
        assert!(e.get(ids[1]).is_null());
        assert!(e.get(ids[0]).is_null());
    }

    #[test]
    fn timestamps() {
        let (t, _) = table(&[]);
        let req = EventOptions::default();
        let cases = [
            (r#"{"@timestamp": "1970-01-01T00:00:01.5Z"}"#, 1_500_000_000),
            (r#"{"@timestamp": 1500}"#, 1_500_000_000),
            (r#"{"@timestamp": "1500"}"#, 1_500_000_000),
            (r#"{"@timestamp": 1500.25}"#, 1_500_250_000),
        ];
        for (text, ns) in cases {
            assert_eq!(
                t.parse_event(text, &req).unwrap().timestamp,
                Some(ns),
                "{text}"
            );
        }
        let err = t
            .parse_event(r#"{"@timestamp": "yesterday"}"#, &req)
            .unwrap_err();
        assert_eq!(
            err.message,
            "invalid timestamp `yesterday`: expected ISO 8601 or epoch milliseconds"
        );
        assert_eq!(err.column, 16);
        assert!(t.parse_event(r#"{"a": 1}"#, &req).is_err());
        assert_eq!(t.parse_event(r#"{"a": 1}"#, &OPTS).unwrap().timestamp, None);
    }

    #[test]
    fn date_timestamps_truncate_to_millis_and_nanos_keep() {
        let millis =
            Schema::from_es_mapping(&json!({"properties": {"@timestamp": {"type": "date"}}}))
                .unwrap();
        let nanos =
            Schema::from_es_mapping(&json!({"properties": {"@timestamp": {"type": "date_nanos"}}}))
                .unwrap();
        let doc = r#"{"@timestamp": "1970-01-01T00:00:00.001234567Z"}"#;
        let t = FieldTable::with_defaults(&millis);
        assert_eq!(
            t.parse_event(doc, &EventOptions::default())
                .unwrap()
                .timestamp,
            Some(1_000_000)
        );
        let t = FieldTable::with_defaults(&nanos);
        assert_eq!(
            t.parse_event(doc, &EventOptions::default())
                .unwrap()
                .timestamp,
            Some(1_234_567)
        );
    }

    #[test]
    fn errors_have_positions() {
        let (t, _) = table(&["a"]);
        let e = t.parse_event("  [1]", &OPTS).unwrap_err();
        assert_eq!(
            (e.column, e.message.as_str()),
            (3, "expected a JSON object")
        );
        let e = t.parse_event(r#"{"a": tru}"#, &OPTS).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.column >= 7, "{e:?}");
        assert!(!e.message.contains("at line"));
        assert!(t.parse_event(r#"{"a": 1} x"#, &OPTS).is_err());
    }

    #[test]
    fn typed_coercion_and_null_value() {
        let schema = Schema::from_es_mapping(&json!({"properties": {
            "k": {"type": "keyword"}, "n": {"type": "long"}, "ip": {"type": "ip"},
            "opt": {"type": "keyword", "null_value": "NULL"}
        }}))
        .unwrap();
        let mut t = FieldTable::with_defaults(&schema);
        let ids: Vec<_> = ["k", "n", "ip", "opt"]
            .iter()
            .map(|p| t.register(p, &schema))
            .collect();
        let e = t
            .parse_event(
                r#"{"k": 12, "n": "34", "ip": "::ffff:10.0.0.1", "opt": null}"#,
                &OPTS,
            )
            .unwrap();
        assert_eq!(e.get(ids[0]), &Value::str("12"));
        assert_eq!(e.get(ids[1]), &Value::Int(34));
        assert_eq!(e.get(ids[2]), &Value::str("10.0.0.1"));
        assert_eq!(e.get(ids[3]), &Value::str("NULL"));
        let e = t.parse_event(r#"{"k": "x"}"#, &OPTS).unwrap();
        assert!(e.get(ids[3]).is_null());
    }

    #[test]
    fn escaped_keys_still_match() {
        let (t, ids) = table(&["a.b"]);
        let e = t.parse_event(r#"{"\u0061": {"b": "x"}}"#, &OPTS).unwrap();
        assert_eq!(e.get(ids[0]), &Value::str("x"));
    }
}
