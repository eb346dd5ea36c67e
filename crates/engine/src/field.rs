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
    /// The same children, for the event scanner (`crate::event::scan`).
    pub(crate) index: ChildIndex,
}

/// Child lookup for the event scanner. Most keys of a document match no child, so a
/// bitmap of the children's first bytes rejects them before anything else; the rest
/// go through a small open-addressing table keyed on the length and first eight bytes,
/// which the scanner reads straight from the document (no hashing of the whole key).
#[derive(Debug, Clone, Default)]
pub(crate) struct ChildIndex {
    /// Bit `b` set: some child's name starts with byte `b`.
    first: [u64; 4],
    /// Some child has the empty name (a path like `a..b`).
    empty: bool,
    entries: Vec<ChildEntry>,
    /// Index + 1 into `entries` (0: free); the length is a power of two.
    slots: Box<[u32]>,
}

#[derive(Debug, Clone)]
struct ChildEntry {
    /// The first (up to) eight bytes of the name, little-endian, zero-padded.
    head: u64,
    name: Box<[u8]>,
    node: u32,
}

impl ChildIndex {
    fn insert(&mut self, name: &str, node: u32) {
        let bytes = name.as_bytes();
        match bytes.first() {
            Some(&b) => {
                if let Some(word) = self.first.get_mut(usize::from(b >> 6)) {
                    *word |= 1 << (b & 63);
                }
            }
            None => self.empty = true,
        }
        self.entries.push(ChildEntry {
            head: segment_head(bytes),
            name: Box::from(bytes),
            node,
        });
        let len = (self.entries.len() * 2).next_power_of_two();
        let mut slots = vec![0u32; len].into_boxed_slice();
        for (i, entry) in self.entries.iter().enumerate() {
            let mut at = slot_of(entry.head, entry.name.len()) & (len - 1);
            while slots.get(at).is_some_and(|s| *s != 0) {
                at = (at + 1) & (len - 1);
            }
            if let Some(slot) = slots.get_mut(at) {
                *slot = u32::try_from(i + 1).unwrap_or(u32::MAX);
            }
        }
        self.slots = slots;
    }

    /// Whether a (possibly dotted) key whose first byte is `first` (`None`: empty) can
    /// match a child.
    #[inline]
    pub(crate) fn may_match(&self, first: Option<u8>) -> bool {
        match first {
            None | Some(b'.') => self.empty,
            Some(b) => self
                .first
                .get(usize::from(b >> 6))
                .is_some_and(|word| word & (1 << (b & 63)) != 0),
        }
    }

    /// The child named exactly `segment`, whose [`segment_head`] is `head`.
    #[inline]
    pub(crate) fn get(&self, segment: &[u8], head: u64) -> Option<u32> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut at = slot_of(head, segment.len()) & mask;
        loop {
            let slot = *self.slots.get(at)?;
            let entry = self.entries.get(slot.checked_sub(1)? as usize)?;
            if entry.head == head
                && entry.name.len() == segment.len()
                && (segment.len() <= 8 || entry.name.get(8..) == segment.get(8..))
            {
                return Some(entry.node);
            }
            at = (at + 1) & mask;
        }
    }
}

/// The first (up to) eight bytes of a path segment as a little-endian word, zero-padded.
#[inline]
pub(crate) fn segment_head(s: &[u8]) -> u64 {
    match s.first_chunk::<8>() {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => {
            let mut buf = [0u8; 8];
            for (d, b) in buf.iter_mut().zip(s) {
                *d = *b;
            }
            u64::from_le_bytes(buf)
        }
    }
}

#[inline]
fn slot_of(head: u64, len: usize) -> usize {
    (head
        .wrapping_add(len as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> 40) as usize
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
                Some(n) => {
                    let child = *n
                        .children
                        .entry(Box::from(segment))
                        .or_insert(next_index as u32);
                    if child as usize == next_index {
                        n.index.insert(segment, child);
                    }
                    child
                }
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

    pub(crate) fn timestamp_format_arc(&self) -> Option<Arc<DateFormat>> {
        self.timestamp_format.clone()
    }

    /// Makes `path` the field `<category> where` conditions compiled from now on test (rules that
    /// override `event_category_override` share one table with the others).
    pub fn set_category_field(&mut self, path: &str, schema: &Schema) {
        self.category = self.register(path, schema);
    }

    /// A field events are ordered by: registered (when it is not yet) and read as `schema` types it
    /// (`date` → milliseconds, `date_nanos` → nanoseconds, its mapping `format`).
    pub fn register_time_field(&mut self, path: &str, schema: &Schema) -> crate::event::TimeField {
        let resolved = schema.lookup(path);
        let millis = !matches!(resolved.ty, FieldType::DateNanos | FieldType::Unknown);
        let format = resolved.date_format.clone();
        let id = match self.by_path.get(&resolved.source_path) {
            Some(id) => *id,
            // Registered untyped, like the table's own timestamp, so that its raw form survives.
            None => self.register_spec(FieldSpec {
                path: resolved.source_path,
                ty: FieldType::Unknown,
                null_value: None,
                date_format: None,
            }),
        };
        crate::event::TimeField { id, millis, format }
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
