//! Index patterns: which events a rule sees.
//!
//! A rule's `index` lists Elasticsearch index patterns (`logs-endpoint.events.*`, `winlogbeat-*`), each of which
//! may itself be a comma list and may exclude with a leading `-`. An event names where it lives either by
//! `_index` (a concrete index, or a data stream's backing index `.ds-<stream>-<yyyy.MM.dd>-<generation>`) or by
//! `data_stream.{type,dataset,namespace}` (stream `<type>-<dataset>-<namespace>`). An event that carries
//! neither is seen by every rule: tripline cannot tell where it would have been indexed.

use serde_json::Value;

/// The indices a rule searches: inclusions and exclusions in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSelector {
    /// `(exclude, pattern)`; later entries win, as in Elasticsearch's index resolution.
    terms: Vec<(bool, String)>,
}

/// Kibana's default `securitySolution:defaultIndex`, used when a rule names no index.
pub const DEFAULT_INDEX_PATTERNS: &[&str] = &[
    "apm-*-transaction*",
    "auditbeat-*",
    "endgame-*",
    "filebeat-*",
    "logs-*",
    "packetbeat-*",
    "traces-apm*",
    "winlogbeat-*",
    "-*elastic-cloud-logs-*",
];

/// Where an event would live in Elasticsearch: the names an index pattern is tested against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EventLocation {
    /// Concrete index, then data stream name when known. Empty = unknown location.
    pub names: Vec<String>,
}

impl EventLocation {
    /// Reads `_index` and `data_stream.*` from an event document (nested or dotted keys).
    pub fn of(doc: &serde_json::Map<String, Value>) -> Self {
        let part = |name: &str| -> Option<&str> {
            let nested = doc
                .get("data_stream")
                .and_then(|ds| ds.get(name))
                .and_then(Value::as_str);
            nested.or_else(|| {
                doc.get(&format!("data_stream.{name}"))
                    .and_then(Value::as_str)
            })
        };
        let index = doc.get("_index").and_then(Value::as_str);
        EventLocation::from_parts(index, part("type"), part("dataset"), part("namespace"))
    }

    /// From an event's `_index` and its `data_stream.{type,dataset,namespace}` values, however obtained.
    pub fn from_parts(
        index: Option<&str>,
        stream_type: Option<&str>,
        dataset: Option<&str>,
        namespace: Option<&str>,
    ) -> Self {
        let mut names = Vec::new();
        if let Some(index) = index {
            let local = index.rsplit(':').next().unwrap_or(index);
            names.push(local.to_string());
            if let Some(stream) = data_stream_of_backing_index(local) {
                names.push(stream.to_string());
            }
        }
        if let (Some(kind), Some(dataset), Some(namespace)) = (stream_type, dataset, namespace) {
            let stream = format!("{kind}-{dataset}-{namespace}");
            if !names.contains(&stream) {
                names.push(stream);
            }
        }
        EventLocation { names }
    }

    pub fn is_known(&self) -> bool {
        !self.names.is_empty()
    }
}

/// `.ds-logs-endpoint.events.process-default-2026.11.28-000001` → `logs-endpoint.events.process-default`.
pub fn data_stream_of_backing_index(index: &str) -> Option<&str> {
    let rest = index.strip_prefix(".ds-")?;
    let (before_generation, generation) = rest.rsplit_once('-')?;
    if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (stream, date) = before_generation.rsplit_once('-')?;
    let is_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'.'
            } else {
                b.is_ascii_digit()
            }
        });
    (is_date && !stream.is_empty()).then_some(stream)
}

impl IndexSelector {
    /// Builds a selector from a rule's `index` entries; each entry may be a comma list.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        let mut terms = Vec::new();
        for entry in patterns {
            for piece in entry.as_ref().split(',') {
                let piece = piece.trim();
                if piece.is_empty() {
                    continue;
                }
                let (exclude, pattern) = match piece.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, piece),
                };
                let local = pattern.rsplit(':').next().unwrap_or(pattern);
                terms.push((exclude, local.to_string()));
            }
        }
        IndexSelector { terms }
    }

    pub fn default_security() -> Self {
        IndexSelector::new(DEFAULT_INDEX_PATTERNS)
    }

    /// True when the event belongs to one of the selected indices (or its location is unknown).
    pub fn selects(&self, location: &EventLocation) -> bool {
        if !location.is_known() {
            return true;
        }
        location.names.iter().any(|name| self.selects_name(name))
    }

    fn selects_name(&self, name: &str) -> bool {
        let mut selected = false;
        for (exclude, pattern) in &self.terms {
            if wildcard_match(pattern, name) {
                selected = !exclude;
            }
        }
        selected
    }
}

/// Elasticsearch index-pattern matching: `*` matches any run of characters; everything else is literal.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        // No `*` at all: the whole text must equal the pattern.
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn location(doc: Value) -> EventLocation {
        match doc {
            Value::Object(map) => EventLocation::of(&map),
            _ => EventLocation::default(),
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("logs-*", "logs-x"));
        assert!(wildcard_match("logs-*", "logs-"));
        assert!(!wildcard_match("logs-*", "log"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "abc"));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxbyy"));
        assert!(!wildcard_match("ab*b", "ab"));
        assert!(wildcard_match("exact", "exact"));
        assert!(!wildcard_match("exact", "exactly"));
    }

    #[test]
    fn backing_index() {
        assert_eq!(
            data_stream_of_backing_index(
                ".ds-logs-endpoint.events.process-default-2026.11.28-000001"
            ),
            Some("logs-endpoint.events.process-default")
        );
        assert_eq!(
            data_stream_of_backing_index("logs-x-2026.11.28-000001"),
            None
        );
        assert_eq!(
            data_stream_of_backing_index(".ds-logs-x-notadate-000001"),
            None
        );
        assert_eq!(data_stream_of_backing_index(".ds--2026.11.28-000001"), None);
    }

    #[test]
    fn selection_by_index_and_data_stream() {
        let endpoint = IndexSelector::new(&["logs-endpoint.events.*"]);
        let by_backing = location(json!({
            "_index": ".ds-logs-endpoint.events.process-default-2026.11.28-000001"
        }));
        let by_stream = location(json!({
            "data_stream": {"type": "logs", "dataset": "endpoint.events.file", "namespace": "default"}
        }));
        let by_dotted = location(json!({
            "data_stream.type": "logs", "data_stream.dataset": "endpoint.events.file",
            "data_stream.namespace": "default"
        }));
        let elsewhere = location(json!({"_index": "winlogbeat-8.0.0"}));
        let unknown = location(json!({"host": {"name": "a"}}));
        assert!(endpoint.selects(&by_backing));
        assert!(endpoint.selects(&by_stream));
        assert!(endpoint.selects(&by_dotted));
        assert!(!endpoint.selects(&elsewhere));
        assert!(endpoint.selects(&unknown));
    }

    #[test]
    fn comma_lists_and_exclusions() {
        let selector = IndexSelector::new(&["logs-*,-logs-noisy-*", "winlogbeat-*"]);
        assert!(selector.selects(&location(json!({"_index": "logs-a"}))));
        assert!(!selector.selects(&location(json!({"_index": "logs-noisy-1"}))));
        assert!(selector.selects(&location(json!({"_index": "winlogbeat-1"}))));
        assert!(!selector.selects(&location(json!({"_index": "auditbeat-1"}))));
        let remote = IndexSelector::new(&["remote:logs-*"]);
        assert!(remote.selects(&location(json!({"_index": "logs-a"}))));
        assert!(IndexSelector::default_security().selects(&location(json!({"_index": "logs-a"}))));
        assert!(!IndexSelector::default_security()
            .selects(&location(json!({"_index": "logs-elastic-cloud-logs-8"}))));
    }
}
