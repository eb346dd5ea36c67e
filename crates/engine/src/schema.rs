//! Field types: from an Elasticsearch mapping, from built-in ECS types, or
//! inferred from documents the way Elasticsearch's dynamic mapping would.

use std::collections::HashMap;
use std::sync::Arc;

use crate::time::DateFormat;
use crate::value::Value;

/// An Elasticsearch field type, reduced to what changes EQL's behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldType {
    Keyword,
    /// Analysed text; EQL uses its keyword sub-field, so it behaves as a string.
    Text,
    Wildcard,
    /// long, integer, short, byte, unsigned_long.
    Long,
    /// double, float, half_float, scaled_float.
    Double,
    Boolean,
    Date,
    DateNanos,
    Ip,
    Version,
    Object,
    Nested,
    /// An alias to another field; resolved by [`Schema::lookup`].
    Alias(String),
    /// Mapped with a type EQL has no special rules for, or not mapped at all.
    Unknown,
}

impl FieldType {
    /// Parses an Elasticsearch mapping `type` name.
    pub fn from_es_name(name: &str) -> FieldType {
        match name {
            "keyword" | "constant_keyword" | "match_only_text" => FieldType::Keyword,
            "text" => FieldType::Text,
            "wildcard" => FieldType::Wildcard,
            "long" | "integer" | "short" | "byte" | "unsigned_long" => FieldType::Long,
            "double" | "float" | "half_float" | "scaled_float" => FieldType::Double,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "date_nanos" => FieldType::DateNanos,
            "ip" => FieldType::Ip,
            "version" => FieldType::Version,
            "object" | "flattened" => FieldType::Object,
            "nested" => FieldType::Nested,
            _ => FieldType::Unknown,
        }
    }

    /// String-valued types: `==` exact, `:` wildcard, functions on text.
    pub fn is_string(&self) -> bool {
        matches!(
            self,
            FieldType::Keyword | FieldType::Text | FieldType::Wildcard
        )
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldType::Long | FieldType::Double)
    }

    pub fn is_date(&self) -> bool {
        matches!(self, FieldType::Date | FieldType::DateNanos)
    }

    /// The name EQL error messages use.
    pub fn es_name(&self) -> &str {
        match self {
            FieldType::Keyword => "keyword",
            FieldType::Text => "text",
            FieldType::Wildcard => "wildcard",
            FieldType::Long => "long",
            FieldType::Double => "double",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::DateNanos => "date_nanos",
            FieldType::Ip => "ip",
            FieldType::Version => "version",
            FieldType::Object => "object",
            FieldType::Nested => "nested",
            FieldType::Alias(_) => "alias",
            FieldType::Unknown => "unknown",
        }
    }
}

/// What the schema says about one field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldInfo {
    pub ty: FieldType,
    /// `null_value` of the mapping: an explicit JSON null is indexed as this value.
    pub null_value: Option<Value>,
    /// `format` of a date field; `None` is Elasticsearch's default
    /// `strict_date_optional_time||epoch_millis`.
    pub date_format: Option<Arc<DateFormat>>,
}

impl FieldInfo {
    fn of_type(ty: FieldType) -> FieldInfo {
        FieldInfo {
            ty,
            null_value: None,
            date_format: None,
        }
    }
}

/// The outcome of resolving a field path against the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedField {
    /// The path whose value the documents hold (an alias's target; a multi-field's parent).
    pub source_path: String,
    pub ty: FieldType,
    pub null_value: Option<Value>,
    pub date_format: Option<Arc<DateFormat>>,
    /// Whether the schema knows the field (mapped, ECS, or inferred).
    pub known: bool,
}

/// Field types for one run. Lookups resolve aliases and multi-fields.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    fields: HashMap<String, FieldInfo>,
    /// Multi-field sub-fields (`hostname.keyword`) → the parent path holding the value.
    sub_fields: HashMap<String, String>,
    /// An explicit mapping: unknown non-optional fields are errors, as in Elasticsearch.
    strict: bool,
}

impl Schema {
    /// No types known; every field allowed and typed by its JSON values.
    pub fn empty() -> Schema {
        Schema::default()
    }

    /// Built-in ECS types for common ECS field names; unknown fields allowed.
    pub fn ecs() -> Schema {
        let mut schema = Schema::default();
        for (path, ty) in ECS_FIELDS {
            schema
                .fields
                .insert((*path).to_string(), FieldInfo::of_type(ty.clone()));
        }
        schema
    }

    /// Whether unknown non-optional fields are compile errors.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    pub fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// Reads the text of a `.mapping` file: lines starting with `#` dropped, then JSON.
    pub fn from_es_mapping_text(text: &str) -> Result<Schema, String> {
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect();
        let json: serde_json::Value = serde_json::from_str(&kept.join("\n")).map_err(|e| {
            format!(
                "invalid mapping JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            )
        })?;
        Schema::from_es_mapping(&json)
    }

    /// Reads an Elasticsearch mapping: `{"properties": {...}}`, optionally wrapped in
    /// `{"mappings": ...}` or `{"<index>": {"mappings": ...}}`. The result is strict.
    pub fn from_es_mapping(mapping: &serde_json::Value) -> Result<Schema, String> {
        let mut root = mapping;
        // Accept the shapes `GET /index/_mapping` and `PUT /index` bodies use.
        for _ in 0..2 {
            if root.get("properties").is_some() {
                break;
            }
            if let Some(inner) = root.get("mappings") {
                root = inner;
                continue;
            }
            if let Some(obj) = root.as_object() {
                if obj.len() == 1 {
                    if let Some(inner) = obj.values().next() {
                        root = inner;
                        continue;
                    }
                }
            }
        }
        let properties = root
            .get("properties")
            .ok_or_else(|| "mapping has no `properties` object".to_string())?;
        let mut schema = Schema {
            strict: true,
            ..Schema::default()
        };
        schema.add_properties("", properties)?;
        Ok(schema)
    }

    fn add_properties(
        &mut self,
        prefix: &str,
        properties: &serde_json::Value,
    ) -> Result<(), String> {
        let obj = properties
            .as_object()
            .ok_or_else(|| format!("`properties` of `{prefix}` is not an object"))?;
        for (name, def) in obj {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            self.add_field(&path, def)?;
        }
        Ok(())
    }

    fn add_field(&mut self, path: &str, def: &serde_json::Value) -> Result<(), String> {
        let type_name = def.get("type").and_then(|t| t.as_str());
        let ty = match type_name {
            Some("alias") => {
                let target = def
                    .get("path")
                    .and_then(|p| p.as_str())
                    .ok_or_else(|| format!("alias `{path}` has no `path`"))?;
                FieldType::Alias(target.to_string())
            }
            Some(name) => FieldType::from_es_name(name),
            None if def.get("properties").is_some() => FieldType::Object,
            None => FieldType::Unknown,
        };
        let null_value = def.get("null_value").map(Value::from_json);
        let date_format = match def.get("format").and_then(|f| f.as_str()) {
            Some(spec) if ty.is_date() => Some(Arc::new(
                DateFormat::new(spec).map_err(|e| format!("field `{path}`: {e}"))?,
            )),
            _ => None,
        };
        if let Some(props) = def.get("properties") {
            self.add_properties(path, props)?;
        }
        if let Some(subs) = def.get("fields").and_then(|f| f.as_object()) {
            for (sub, sub_def) in subs {
                let sub_path = format!("{path}.{sub}");
                let sub_ty = sub_def
                    .get("type")
                    .and_then(|t| t.as_str())
                    .map_or(FieldType::Unknown, FieldType::from_es_name);
                self.fields
                    .insert(sub_path.clone(), FieldInfo::of_type(sub_ty));
                self.sub_fields.insert(sub_path, path.to_string());
            }
        }
        self.fields.insert(
            path.to_string(),
            FieldInfo {
                ty,
                null_value,
                date_format,
            },
        );
        Ok(())
    }

    /// Adds or replaces one field's type.
    pub fn insert(&mut self, path: &str, ty: FieldType) {
        self.fields.insert(path.to_string(), FieldInfo::of_type(ty));
    }

    /// `other` layered over `self`: its fields win; strict if either is. A date field
    /// both map with different formats (indices queried together) reads values in
    /// either format, `self`'s first.
    pub fn merged_with(mut self, other: &Schema) -> Schema {
        for (path, info) in &other.fields {
            let mut info = info.clone();
            if let Some(previous) = self.fields.get(path) {
                if previous.ty.is_date() && info.ty.is_date() {
                    info.date_format = union_formats(&previous.date_format, &info.date_format);
                }
            }
            self.fields.insert(path.clone(), info);
        }
        for (sub, parent) in &other.sub_fields {
            self.sub_fields.insert(sub.clone(), parent.clone());
        }
        self.strict |= other.strict;
        self
    }

    /// Adds the fields of one document that the schema does not know yet, typed as
    /// Elasticsearch's dynamic mapping would (numbers → long/double, booleans,
    /// ISO-date-looking strings → date, other strings → keyword).
    pub fn infer_from_document(&mut self, doc: &serde_json::Value) {
        let source = doc.get("_source").filter(|s| s.is_object()).unwrap_or(doc);
        self.infer_object("", source);
    }

    fn infer_object(&mut self, prefix: &str, value: &serde_json::Value) {
        let Some(obj) = value.as_object() else { return };
        for (key, v) in obj {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            self.infer_value(&path, v);
        }
    }

    fn infer_value(&mut self, path: &str, v: &serde_json::Value) {
        let ty = match v {
            serde_json::Value::Null => return,
            serde_json::Value::Bool(_) => FieldType::Boolean,
            serde_json::Value::Number(n) => {
                if n.is_f64() {
                    FieldType::Double
                } else {
                    FieldType::Long
                }
            }
            serde_json::Value::String(s) => {
                if crate::time::looks_like_iso_date(s) {
                    FieldType::Date
                } else {
                    FieldType::Keyword
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    self.infer_value(path, item);
                }
                return;
            }
            serde_json::Value::Object(_) => {
                self.infer_object(path, v);
                return;
            }
        };
        if self.resolve_alias(path).is_none() {
            self.fields
                .entry(path.to_string())
                .or_insert(FieldInfo::of_type(ty));
        }
    }

    fn resolve_alias(&self, path: &str) -> Option<(String, &FieldInfo)> {
        let mut current = path.to_string();
        // Aliases cannot chain in Elasticsearch; the bound only guards bad input.
        for _ in 0..8 {
            let info = self.fields.get(&current)?;
            match &info.ty {
                FieldType::Alias(target) => current = target.clone(),
                _ => return Some((current, info)),
            }
        }
        None
    }

    /// Resolves a field path: alias → target, multi-field → parent value with the
    /// sub-field's type. Unknown fields come back with `known: false`, type Unknown.
    pub fn lookup(&self, path: &str) -> ResolvedField {
        if let Some((target, info)) = self.resolve_alias(path) {
            let source_path = self.sub_fields.get(&target).cloned().unwrap_or(target);
            // A text field's keyword sub-field is what EQL reads; both are strings.
            return ResolvedField {
                source_path,
                ty: info.ty.clone(),
                null_value: info.null_value.clone(),
                date_format: info.date_format.clone(),
                known: true,
            };
        }
        ResolvedField {
            source_path: path.to_string(),
            ty: FieldType::Unknown,
            null_value: None,
            date_format: None,
            known: false,
        }
    }

    /// The type of a path, aliases resolved; Unknown when not known.
    pub fn field_type(&self, path: &str) -> FieldType {
        self.lookup(path).ty
    }
}

/// The formats of a date field mapped twice; `None` (the default format) is kept as
/// an alternative when only one side has a custom format.
fn union_formats(
    a: &Option<Arc<DateFormat>>,
    b: &Option<Arc<DateFormat>>,
) -> Option<Arc<DateFormat>> {
    let default = || DateFormat::new(DEFAULT_DATE_FORMAT).ok();
    match (a, b) {
        (None, None) => None,
        (Some(a), Some(b)) => Some(Arc::new(a.union(b))),
        (Some(a), None) => default().map(|d| Arc::new(a.union(&d))),
        (None, Some(b)) => default().map(|d| Arc::new(d.union(b))),
    }
}

/// Elasticsearch's format for a date field that names none.
pub const DEFAULT_DATE_FORMAT: &str = "strict_date_optional_time||epoch_millis";

/// ECS field names with a non-keyword type. Names not listed are keywords (or unknown).
static ECS_FIELDS: &[(&str, FieldType)] = &[
    ("@timestamp", FieldType::Date),
    ("event.created", FieldType::Date),
    ("event.ingested", FieldType::Date),
    ("event.start", FieldType::Date),
    ("event.end", FieldType::Date),
    ("process.start", FieldType::Date),
    ("process.end", FieldType::Date),
    ("process.parent.start", FieldType::Date),
    ("process.parent.end", FieldType::Date),
    ("file.created", FieldType::Date),
    ("file.ctime", FieldType::Date),
    ("file.mtime", FieldType::Date),
    ("file.accessed", FieldType::Date),
    ("event.sequence", FieldType::Long),
    ("event.severity", FieldType::Long),
    ("event.duration", FieldType::Long),
    ("event.risk_score", FieldType::Double),
    ("process.pid", FieldType::Long),
    ("process.ppid", FieldType::Long),
    ("process.pgid", FieldType::Long),
    ("process.exit_code", FieldType::Long),
    ("process.uptime", FieldType::Long),
    ("process.thread.id", FieldType::Long),
    ("process.parent.pid", FieldType::Long),
    ("process.parent.ppid", FieldType::Long),
    ("process.parent.pgid", FieldType::Long),
    ("process.parent.exit_code", FieldType::Long),
    ("process.parent.thread.id", FieldType::Long),
    ("process.group_leader.pid", FieldType::Long),
    ("process.session_leader.pid", FieldType::Long),
    ("process.entry_leader.pid", FieldType::Long),
    ("process.previous.pid", FieldType::Long),
    ("process.interactive", FieldType::Boolean),
    ("process.parent.interactive", FieldType::Boolean),
    ("file.size", FieldType::Long),
    ("file.inode", FieldType::Keyword),
    ("source.ip", FieldType::Ip),
    ("source.nat.ip", FieldType::Ip),
    ("source.port", FieldType::Long),
    ("source.nat.port", FieldType::Long),
    ("source.bytes", FieldType::Long),
    ("source.packets", FieldType::Long),
    ("destination.ip", FieldType::Ip),
    ("destination.nat.ip", FieldType::Ip),
    ("destination.port", FieldType::Long),
    ("destination.nat.port", FieldType::Long),
    ("destination.bytes", FieldType::Long),
    ("destination.packets", FieldType::Long),
    ("client.ip", FieldType::Ip),
    ("client.nat.ip", FieldType::Ip),
    ("client.port", FieldType::Long),
    ("client.bytes", FieldType::Long),
    ("server.ip", FieldType::Ip),
    ("server.nat.ip", FieldType::Ip),
    ("server.port", FieldType::Long),
    ("server.bytes", FieldType::Long),
    ("host.ip", FieldType::Ip),
    ("host.uptime", FieldType::Long),
    ("related.ip", FieldType::Ip),
    ("observer.ip", FieldType::Ip),
    ("network.bytes", FieldType::Long),
    ("network.packets", FieldType::Long),
    ("http.response.status_code", FieldType::Long),
    ("http.request.bytes", FieldType::Long),
    ("http.response.bytes", FieldType::Long),
    ("dll.code_signature.trusted", FieldType::Boolean),
    ("dll.code_signature.exists", FieldType::Boolean),
    ("process.code_signature.trusted", FieldType::Boolean),
    ("process.code_signature.exists", FieldType::Boolean),
    ("process.parent.code_signature.trusted", FieldType::Boolean),
    ("process.parent.code_signature.exists", FieldType::Boolean),
    ("file.code_signature.trusted", FieldType::Boolean),
    ("file.code_signature.exists", FieldType::Boolean),
    ("process.pe.imphash", FieldType::Keyword),
    ("user.id", FieldType::Keyword),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alias_resolves_to_its_target() {
        let schema = Schema::from_es_mapping(&json!({"properties": {
            "event_type": {"type": "keyword"},
            "event": {"properties": {"category": {"type": "alias", "path": "event_type"}}}
        }}))
        .unwrap();
        let r = schema.lookup("event.category");
        assert_eq!(r.source_path, "event_type");
        assert_eq!(r.ty, FieldType::Keyword);
        assert!(schema.is_strict());
        assert!(!schema.lookup("nope").known);
    }

    #[test]
    fn null_value_and_multi_fields() {
        let schema = Schema::from_es_mapping(&json!({"properties": {
            "opt": {"type": "keyword", "null_value": "NULL"},
            "hostname": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
            "n": {"type": "integer"}
        }}))
        .unwrap();
        assert_eq!(schema.lookup("opt").null_value, Some(Value::str("NULL")));
        let sub = schema.lookup("hostname.keyword");
        assert_eq!(sub.source_path, "hostname");
        assert_eq!(sub.ty, FieldType::Keyword);
        assert_eq!(schema.field_type("n"), FieldType::Long);
    }

    #[test]
    fn mapping_text_drops_comment_lines() {
        let schema = Schema::from_es_mapping_text(
            "# comment\n{\"properties\": {\"a\": {\"type\": \"ip\"}}}",
        )
        .unwrap();
        assert_eq!(schema.field_type("a"), FieldType::Ip);
        assert!(Schema::from_es_mapping_text("{").is_err());
    }

    #[test]
    fn ecs_and_merge() {
        let ecs = Schema::ecs();
        assert_eq!(ecs.field_type("source.ip"), FieldType::Ip);
        assert_eq!(ecs.field_type("process.pid"), FieldType::Long);
        assert!(!ecs.is_strict());
        let explicit = Schema::from_es_mapping(
            &json!({"properties": {"source": {"properties": {"ip": {"type": "keyword"}}}}}),
        )
        .unwrap();
        let merged = ecs.merged_with(&explicit);
        assert_eq!(merged.field_type("source.ip"), FieldType::Keyword);
        assert_eq!(merged.field_type("process.pid"), FieldType::Long);
    }

    #[test]
    fn date_formats_merge_across_indices() {
        let one = Schema::from_es_mapping(&json!({"properties": {
            "d": {"type": "date", "format": "dd-MM-yyyy"}, "k": {"type": "keyword", "format": "x"}
        }}))
        .unwrap();
        let two = Schema::from_es_mapping(&json!({"properties": {
            "d": {"type": "date", "format": "yyyy-MM-dd"}
        }}))
        .unwrap();
        assert_eq!(one.lookup("k").date_format, None);
        let merged = one.merged_with(&two);
        let format = merged.lookup("d").date_format.unwrap();
        assert_eq!(format.spec(), "dd-MM-yyyy||yyyy-MM-dd");
        assert_eq!(format.parse("17-12-2022"), format.parse("2022-12-17"));
        let err = Schema::from_es_mapping(&json!({"properties": {
            "d": {"type": "date", "format": "yyyy-ww"}
        }}))
        .unwrap_err();
        assert!(err.contains("field `d`"), "{err}");
    }

    #[test]
    fn dynamic_inference() {
        let mut schema = Schema::empty();
        schema.infer_from_document(
            &json!({"a": 1, "b": {"c": "x"}, "d": ["1970-01-01T00:00:00.000Z"], "e": 1.5}),
        );
        assert_eq!(schema.field_type("a"), FieldType::Long);
        assert_eq!(schema.field_type("b.c"), FieldType::Keyword);
        assert_eq!(schema.field_type("d"), FieldType::Date);
        assert_eq!(schema.field_type("e"), FieldType::Double);
    }
}
