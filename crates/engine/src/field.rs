//! The registry of field paths the plans of one run read. Each event is parsed
//! once, extracting only these fields (see [`crate::event`]).

use std::sync::Arc;

use ahash::AHashMap;

use crate::schema::{FieldType, Schema};
use crate::time::DateFormat;
use crate::value::Value;

/// Index of a registered field in a [`FieldTable`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// One registered field: the path documents hold it under and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// The path in the documents (aliases already resolved).
    pub path: String,
    pub ty: FieldType,
    /// Substituted for an explicit JSON `null` (mapping `null_value`).
    pub null_value: Option<Value>,
    /// A date field's mapping `format` (`None`: the default).
    pub date_format: Option<Arc<DateFormat>>,
}

/// A node of the path trie: one dotted segment.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrieNode {
    pub(crate) children: AHashMap<Box<str>, u32>,
    pub(crate) field: Option<FieldId>,
}

/// Path → [`FieldId`] registry, shared by all plans of one run.
#[derive(Debug, Clone)]
pub struct FieldTable {
    specs: Vec<FieldSpec>,
    by_path: AHashMap<String, FieldId>,
    /// Trie over dotted path segments; node 0 is the document root.
    pub(crate) trie: Vec<TrieNode>,
    timestamp: FieldId,
    tiebreaker: Option<FieldId>,
    category: FieldId,
    /// The timestamp field is `date` (millisecond precision) rather than `date_nanos`.
    timestamp_millis: bool,
    /// The timestamp field's mapping `format`, if it has one.
    timestamp_format: Option<Arc<DateFormat>>,
}

impl FieldTable {
    /// A table with the fixed fields registered; paths resolved through `schema`.
    pub fn new(
        schema: &Schema,
        timestamp_field: &str,
        tiebreaker_field: Option<&str>,
        category_field: &str,
    ) -> Self {
        let mut table = FieldTable {
            specs: Vec::new(),
            by_path: AHashMap::new(),
            trie: vec![TrieNode::default()],
            timestamp: FieldId(0),
            tiebreaker: None,
            category: FieldId(0),
            timestamp_millis: true,
            timestamp_format: None,
        };
        // The timestamp is converted separately; register it untyped so its raw form survives.
        let ts = schema.lookup(timestamp_field);
        table.timestamp_millis = !matches!(ts.ty, FieldType::DateNanos | FieldType::Unknown);
        table.timestamp_format = ts.date_format;
        table.timestamp = table.register_spec(FieldSpec {
            path: ts.source_path,
            ty: FieldType::Unknown,
            null_value: None,
            date_format: None,
        });
        table.tiebreaker = tiebreaker_field.map(|f| table.register(f, schema));
        table.category = table.register(category_field, schema);
        table
    }

    /// `@timestamp`, no tiebreaker, `event.category`.
    pub fn with_defaults(schema: &Schema) -> Self {
        FieldTable::new(schema, "@timestamp", None, "event.category")
    }

    /// Registers a field path (resolving aliases and multi-fields through `schema`).
    pub fn register(&mut self, path: &str, schema: &Schema) -> FieldId {
        let resolved = schema.lookup(path);
        self.register_spec(FieldSpec {
            path: resolved.source_path,
            ty: resolved.ty,
            null_value: resolved.null_value,
            date_format: resolved.date_format,
        })
    }

    /// Registers an already-resolved field. The first registration of a path wins.
    pub fn register_spec(&mut self, spec: FieldSpec) -> FieldId {
        if let Some(id) = self.by_path.get(&spec.path) {
            return *id;
        }
        let id = FieldId(u32::try_from(self.specs.len()).unwrap_or(u32::MAX));
        let mut node = 0usize;
        for segment in spec.path.split('.') {
            let next_index = self.trie.len();
            let child = match self.trie.get_mut(node) {
                Some(n) => *n
                    .children
                    .entry(Box::from(segment))
                    .or_insert(next_index as u32),
                None => break,
            };
            if child as usize == next_index {
                self.trie.push(TrieNode::default());
            }
            node = child as usize;
        }
        if let Some(n) = self.trie.get_mut(node) {
            n.field = Some(id);
        }
        self.by_path.insert(spec.path.clone(), id);
        self.specs.push(spec);
        id
    }

    /// The id of a registered document path.
    pub fn id(&self, path: &str) -> Option<FieldId> {
        self.by_path.get(path).copied()
    }

    pub fn spec(&self, id: FieldId) -> Option<&FieldSpec> {
        self.specs.get(id.0 as usize)
    }

    pub fn path(&self, id: FieldId) -> &str {
        self.specs
            .get(id.0 as usize)
            .map_or("", |s| s.path.as_str())
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    pub fn timestamp_field(&self) -> FieldId {
        self.timestamp
    }

    pub fn tiebreaker_field(&self) -> Option<FieldId> {
        self.tiebreaker
    }

    pub fn category_field(&self) -> FieldId {
        self.category
    }

    /// Whether timestamps are truncated to milliseconds (`date`) or kept in nanoseconds.
    pub fn timestamp_millis(&self) -> bool {
        self.timestamp_millis
    }

    /// The timestamp field's mapping `format`, if it names one.
    pub fn timestamp_format(&self) -> Option<&DateFormat> {
        self.timestamp_format.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registration_is_idempotent_and_resolves_aliases() {
        let schema = Schema::from_es_mapping(&json!({"properties": {
            "event_type": {"type": "keyword"},
            "event": {"properties": {"category": {"type": "alias", "path": "event_type"}}}
        }}))
        .unwrap();
        let mut t = FieldTable::with_defaults(&schema);
        let cat = t.category_field();
        assert_eq!(t.path(cat), "event_type");
        assert_eq!(t.register("event_type", &schema), cat);
        let a = t.register("process.name", &schema);
        let b = t.register("process.name", &schema);
        assert_eq!(a, b);
        assert_eq!(t.id("process.name"), Some(a));
        assert_eq!(t.len(), 3);
    }
}
