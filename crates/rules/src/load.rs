//! detection-rules TOML → [`Rule`], with every error located as file:line:column.
//!
//! A file is sorted into one of four outcomes: ready to run (an EQL rule whose fields are valid), recognised
//! but not runnable by tripline (another rule type: query, threshold, new_terms, ...), invalid (TOML syntax,
//! missing or wrongly typed fields, a query that does not parse, a `rule_id` another file already uses), or
//! skipped as not a rule file at all (valid TOML with neither `[rule]` nor `[metadata]`: `pyproject.toml`,
//! configuration kept beside the rules). Query positions are shifted from the query string into the file, so
//! an error points at the spot inside the TOML file.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::datemath;
use crate::index::IndexSelector;

/// Rule types Kibana's detection engine knows that tripline does not run (yet).
pub const UNSUPPORTED_TYPES: &[&str] = &[
    "query",
    "saved_query",
    "threshold",
    "threat_match",
    "machine_learning",
    "new_terms",
    "esql",
];

const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];

/// Kibana's defaults when a rule omits its schedule or its signal cap.
pub const DEFAULT_FROM: &str = "now-6m";
pub const DEFAULT_INTERVAL: &str = "5m";
pub const DEFAULT_MAX_SIGNALS: u64 = 100;

/// The text of one rule file, kept so that later errors (query compilation) can be shown in context.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
}

/// An error located in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub path: PathBuf,
    /// 1-based; 0 when the error concerns the file as a whole (unreadable).
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The offending source line with a caret under the spot (empty when there is no position).
    pub snippet: String,
    /// The complete rendering when it comes from elsewhere (a query diagnostic rendered by `eql::render`).
    pub rendered: Option<String>,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(rendered) = &self.rendered {
            return write!(f, "{}", rendered.trim_end());
        }
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )?;
        }
        if !self.snippet.is_empty() {
            write!(f, "\n{}", self.snippet)?;
        }
        Ok(())
    }
}

impl RuleError {
    /// An error at a byte range of the file; renders the line with carets under the range.
    pub fn at(
        file: &SourceFile,
        range: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = eql::span::line_col(&file.text, range.start);
        RuleError {
            path: file.path.clone(),
            line,
            column,
            message: message.into(),
            snippet: caret_snippet(&file.text, range),
            rendered: None,
        }
    }

    pub fn whole_file(path: &Path, message: impl Into<String>) -> Self {
        RuleError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            snippet: String::new(),
            rendered: None,
        }
    }
}

/// ` 12 | text\n    |   ^^^` for the first line of `range`.
pub fn caret_snippet(text: &str, range: std::ops::Range<usize>) -> String {
    let start = range.start.min(text.len());
    let (line_no, column) = eql::span::line_col(text, start);
    let line_start = text
        .get(..start)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line_end = text
        .get(start..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| start + i);
    let line_text = text
        .get(line_start..line_end)
        .unwrap_or("")
        .trim_end_matches('\r');
    let end = range.end.clamp(start, line_end);
    let width = text.get(start..end).map_or(1, |s| s.chars().count()).max(1);
    let gutter = line_no.to_string();
    let pad = " ".repeat(gutter.len());
    format!(
        "{pad} |\n{gutter} | {line_text}\n{pad} | {}{}",
        " ".repeat(column.saturating_sub(1)),
        "^".repeat(width)
    )
}

/// One MITRE ATT&CK mapping of a rule, as in `[[rule.threat]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Threat {
    pub framework: String,
    pub tactic: ThreatRef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub technique: Vec<Technique>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ThreatRef {
    pub id: String,
    pub name: String,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub reference: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtechnique: Vec<ThreatRef>,
}

/// A validated EQL rule, ready to compile.
#[derive(Debug, Clone)]
pub struct Rule {
    pub source: SourceFile,
    pub rule_id: String,
    /// Where `rule_id`'s value sits in the file (for duplicate-id errors).
    pub rule_id_span: std::ops::Range<usize>,
    pub name: String,
    pub description: String,
    pub severity: String,
    pub risk_score: i64,
    pub tags: Vec<String>,
    pub threat: Vec<Threat>,
    pub rule_type: String,
    pub language: String,
    pub query: String,
    /// Byte offset in the file of each byte of `query` (one extra entry for the end).
    pub query_offsets: Vec<usize>,
    pub index_patterns: Vec<String>,
    pub index: IndexSelector,
    pub from: String,
    pub interval: String,
    /// Width of one Kibana execution window (`now` − `from`), in nanoseconds.
    pub lookback_ns: i64,
    pub interval_ns: i64,
    pub timestamp_override: Option<String>,
    /// Kibana falls back to `@timestamp` when the override field is missing, unless this is set.
    pub timestamp_override_fallback_disabled: bool,
    pub event_category_override: Option<String>,
    pub tiebreaker_field: Option<String>,
    pub max_signals: u64,
    pub enabled: bool,
    pub building_block_type: Option<String>,
    pub author: Vec<String>,
    pub license: Option<String>,
    pub references: Vec<String>,
    pub false_positives: Vec<String>,
    pub version: i64,
}

impl Rule {
    /// Maps a byte range of the query string to a byte range of the file.
    pub fn query_range_in_file(&self, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let last = self.query_offsets.len().saturating_sub(1);
        let at = |i: usize| self.query_offsets.get(i.min(last)).copied().unwrap_or(0);
        at(range.start)..at(range.end).max(at(range.start))
    }

    /// A query diagnostic, located in the file and rendered against the whole file.
    pub fn query_error(&self, diagnostic: &eql::Diagnostic) -> RuleError {
        let shift = |span: eql::Span| {
            let range = self.query_range_in_file(span.range());
            eql::Span::new(range.start, range.end)
        };
        let mut shifted = diagnostic.clone();
        shifted.span = shift(diagnostic.span);
        for label in &mut shifted.labels {
            label.span = shift(label.span);
        }
        let (line, column) = eql::span::line_col(&self.source.text, shifted.span.start as usize);
        let origin = self.source.path.display().to_string();
        RuleError {
            path: self.source.path.clone(),
            line,
            column,
            message: format!("{} [{}]", diagnostic.message, diagnostic.code.0),
            snippet: String::new(),
            rendered: Some(eql::render(&shifted, &origin, &self.source.text)),
        }
    }

    /// Parses the query; errors are located in the file.
    pub fn parse_query(&self) -> Result<eql::ast::Query, Vec<RuleError>> {
        eql::parse(&self.query)
            .map_err(|diagnostics| diagnostics.iter().map(|d| self.query_error(d)).collect())
    }

    /// The timestamp field as Kibana's EQL search uses it.
    pub fn timestamp_field(&self) -> &str {
        self.timestamp_override.as_deref().unwrap_or("@timestamp")
    }
}

/// A rule tripline recognises but cannot run.
#[derive(Debug, Clone)]
pub struct Unsupported {
    pub path: PathBuf,
    pub name: String,
    pub rule_type: String,
    pub reason: String,
    /// Kibana refuses a duplicate id whatever the rule type, so these take part in the duplicate check.
    pub rule_id: String,
    pub rule_id_span: std::ops::Range<usize>,
    pub source: SourceFile,
}

/// A TOML file that is not a rule file (no `[rule]` and no `[metadata]` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// The outcome of loading one rule file.
#[derive(Debug, Clone)]
pub enum Loaded {
    Ready(Box<Rule>),
    Unsupported(Unsupported),
    Invalid(Vec<RuleError>),
    /// Not a rule file: neither run nor counted as a rule.
    Skipped(Skipped),
}

#[derive(Deserialize)]
struct RawFile {
    rule: Option<Spanned<RawRule>>,
    /// Only its presence matters: a file with `[metadata]` but no `[rule]` is a broken rule file.
    metadata: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawRule {
    rule_id: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    risk_score: Option<Spanned<i64>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    threat: Vec<Threat>,
    #[serde(rename = "type")]
    rule_type: Option<Spanned<String>>,
    language: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
    index: Option<Spanned<Vec<String>>>,
    from: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    timestamp_override: Option<Spanned<String>>,
    #[serde(default)]
    timestamp_override_fallback_disabled: bool,
    event_category_override: Option<Spanned<String>>,
    tiebreaker_field: Option<Spanned<String>>,
    max_signals: Option<Spanned<i64>>,
    enabled: Option<bool>,
    building_block_type: Option<String>,
    #[serde(default)]
    author: Vec<String>,
    license: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    false_positives: Vec<String>,
    version: Option<i64>,
}

/// Loads one rule file from its text.
pub fn load_str(path: &Path, text: &str) -> Loaded {
    let source = SourceFile {
        path: path.to_path_buf(),
        text: Arc::from(text),
    };
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            let range = error.span().unwrap_or(0..0);
            let message = error.message().trim().to_string();
            return Loaded::Invalid(vec![RuleError::at(&source, range, message)]);
        }
    };
    let Some(rule) = raw.rule else {
        if raw.metadata.is_none() {
            return Loaded::Skipped(Skipped {
                path: path.to_path_buf(),
                reason: "not a rule file (no `[rule]` or `[metadata]` table)".to_string(),
            });
        }
        return Loaded::Invalid(vec![RuleError::at(
            &source,
            0..0,
            "missing `[rule]` table (detection-rules format: `[metadata]`, `[rule]`, `[[rule.threat]]`)",
        )]);
    };
    let table_span = rule.span();
    let rule = rule.into_inner();
    validate(source, table_span, rule)
}

/// Loads one rule file from disk.
pub fn load_file(path: &Path) -> Loaded {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => load_str(path, &text),
            Err(error) => {
                let offset = error.utf8_error().valid_up_to();
                let lossy = String::from_utf8_lossy(error.as_bytes()).into_owned();
                let source = SourceFile {
                    path: path.to_path_buf(),
                    text: Arc::from(lossy.as_str()),
                };
                Loaded::Invalid(vec![RuleError::at(
                    &source,
                    offset..offset + 1,
                    "file is not valid UTF-8",
                )])
            }
        },
        Err(error) => Loaded::Invalid(vec![RuleError::whole_file(
            path,
            format!("cannot read rule file: {error}"),
        )]),
    }
}

/// Expands files and directory trees into the `.toml` files they hold, sorted for stable output.
/// A path given explicitly is loaded whatever its extension.
pub fn rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, RuleError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|error| {
            RuleError::whole_file(path, format!("cannot read rule path: {error}"))
        })?;
        if meta.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), RuleError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| RuleError::whole_file(dir, format!("cannot list directory: {error}")))?;
    let mut children: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| {
            RuleError::whole_file(dir, format!("cannot list directory: {error}"))
        })?;
        children.push(entry.path());
    }
    children.sort();
    for child in children {
        if child.is_dir() {
            walk(&child, files)?;
        } else if child.extension().is_some_and(|ext| ext == "toml") {
            files.push(child);
        }
    }
    Ok(())
}

/// Loads every rule under the given files and directories. A file reached twice (`-r rules -r rules/macos`)
/// is loaded once; a `rule_id` already used by an earlier file makes the later file invalid, as Kibana
/// refuses to import duplicates.
pub fn load_paths(paths: &[PathBuf]) -> Vec<Loaded> {
    let mut loaded = Vec::new();
    let mut seen_files: HashSet<PathBuf> = HashSet::new();
    for path in paths {
        match rule_files(std::slice::from_ref(path)) {
            Ok(files) => {
                for file in files {
                    let identity = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
                    if seen_files.insert(identity) {
                        loaded.push(load_file(&file));
                    }
                }
            }
            Err(error) => loaded.push(Loaded::Invalid(vec![error])),
        }
    }
    reject_duplicate_ids(&mut loaded);
    loaded
}

/// Turns every rule whose `rule_id` an earlier rule already has into an invalid outcome naming both files.
pub fn reject_duplicate_ids(loaded: &mut [Loaded]) {
    // rule_id → (file, line, column) of its first use.
    let mut first_use: HashMap<String, (PathBuf, usize, usize)> = HashMap::new();
    for outcome in loaded.iter_mut() {
        let (rule_id, source, span) = match outcome {
            Loaded::Ready(rule) => (&rule.rule_id, &rule.source, &rule.rule_id_span),
            Loaded::Unsupported(rule) if !rule.rule_id.is_empty() => {
                (&rule.rule_id, &rule.source, &rule.rule_id_span)
            }
            _ => continue,
        };
        match first_use.get(rule_id) {
            Some((first_path, line, column)) => {
                let error = RuleError::at(
                    source,
                    span.clone(),
                    format!(
                        "duplicate rule_id `{rule_id}`: {}:{line}:{column} already uses it \
                         (Kibana refuses two rules with one rule_id)",
                        first_path.display()
                    ),
                );
                *outcome = Loaded::Invalid(vec![error]);
            }
            None => {
                let (line, column) = eql::span::line_col(&source.text, span.start);
                first_use.insert(rule_id.clone(), (source.path.clone(), line, column));
            }
        }
    }
}

fn validate(source: SourceFile, table_span: std::ops::Range<usize>, raw: RawRule) -> Loaded {
    let mut errors = Vec::new();
    // The `[rule]` header, to point at when a field is missing.
    let header = source
        .text
        .find("[rule]")
        .map_or(table_span.start..table_span.start, |at| at..at + 6);
    let required =
        |field: Option<Spanned<String>>, name: &str, errors: &mut Vec<RuleError>| match field {
            Some(value) if value.get_ref().trim().is_empty() => {
                errors.push(RuleError::at(
                    &source,
                    value.span(),
                    format!("`{name}` must not be empty"),
                ));
                None
            }
            Some(value) => Some(value),
            None => {
                errors.push(RuleError::at(
                    &source,
                    header.clone(),
                    format!("missing required field `rule.{name}`"),
                ));
                None
            }
        };
    let rule_type = required(raw.rule_type, "type", &mut errors);
    let name = required(raw.name, "name", &mut errors);
    let rule_id = required(raw.rule_id, "rule_id", &mut errors);
    let description = required(raw.description, "description", &mut errors);
    let severity = required(raw.severity, "severity", &mut errors);

    if let Some(severity) = &severity {
        if !SEVERITIES.contains(&severity.get_ref().as_str()) {
            errors.push(RuleError::at(
                &source,
                severity.span(),
                format!(
                    "unknown severity `{}`, expected one of low, medium, high, critical",
                    severity.get_ref()
                ),
            ));
        }
    }
    let risk_score = match raw.risk_score {
        Some(score) if (0..=100).contains(score.get_ref()) => *score.get_ref(),
        Some(score) => {
            errors.push(RuleError::at(
                &source,
                score.span(),
                format!("risk_score {} is outside 0..=100", score.get_ref()),
            ));
            0
        }
        None => {
            errors.push(RuleError::at(
                &source,
                header.clone(),
                "missing required field `rule.risk_score`",
            ));
            0
        }
    };

    let type_name = rule_type
        .as_ref()
        .map(|t| t.get_ref().clone())
        .unwrap_or_default();
    if rule_type.is_some() && type_name != "eql" {
        if UNSUPPORTED_TYPES.contains(&type_name.as_str()) {
            if errors.is_empty() {
                let (rule_id, rule_id_span) = rule_id
                    .map(|id| (id.get_ref().clone(), id.span()))
                    .unwrap_or_default();
                return Loaded::Unsupported(Unsupported {
                    path: source.path.clone(),
                    name: name.map(|n| n.into_inner()).unwrap_or_default(),
                    reason: format!("rule type `{type_name}` is not supported yet (only `eql`)"),
                    rule_type: type_name,
                    rule_id,
                    rule_id_span,
                    source,
                });
            }
        } else if let Some(rule_type) = &rule_type {
            errors.push(RuleError::at(
                &source,
                rule_type.span(),
                format!(
                    "unknown rule type `{type_name}`, expected one of eql, {}",
                    UNSUPPORTED_TYPES.join(", ")
                ),
            ));
        }
        return Loaded::Invalid(errors);
    }

    let language = match raw.language {
        Some(language) if language.get_ref() == "eql" => language.into_inner(),
        Some(language) => {
            errors.push(RuleError::at(
                &source,
                language.span(),
                format!(
                    "an `eql` rule needs `language = \"eql\"`, found `{}`",
                    language.get_ref()
                ),
            ));
            String::new()
        }
        None => "eql".to_string(),
    };

    let query = required(raw.query, "query", &mut errors);
    let query_offsets = query
        .as_ref()
        .map(|q| literal_offsets(&source.text, q.span(), q.get_ref()));

    let index_patterns: Vec<String> = match raw.index {
        Some(index) => {
            if index.get_ref().iter().any(|p| p.trim().is_empty()) {
                errors.push(RuleError::at(
                    &source,
                    index.span(),
                    "index patterns must not be empty",
                ));
            }
            index.into_inner()
        }
        None => Vec::new(),
    };
    let index = if index_patterns.is_empty() {
        IndexSelector::default_security()
    } else {
        IndexSelector::new(&index_patterns)
    };

    let from = raw
        .from
        .map(|f| (f.span(), f.into_inner()))
        .unwrap_or((header.clone(), DEFAULT_FROM.to_string()));
    let lookback_ns = match datemath::parse_relative(&from.1) {
        Ok(offset) if offset < 0 => offset.saturating_neg(),
        Ok(_) => {
            errors.push(RuleError::at(
                &source,
                from.0.clone(),
                "`from` must lie before `now`",
            ));
            0
        }
        Err(message) => {
            errors.push(RuleError::at(
                &source,
                from.0.clone(),
                format!("from: {message}"),
            ));
            0
        }
    };
    let interval = raw
        .interval
        .map(|i| (i.span(), i.into_inner()))
        .unwrap_or((header.clone(), DEFAULT_INTERVAL.to_string()));
    let interval_ns = match datemath::parse_interval(&interval.1) {
        Ok(ns) => ns,
        Err(message) => {
            errors.push(RuleError::at(
                &source,
                interval.0.clone(),
                format!("interval: {message}"),
            ));
            0
        }
    };
    let max_signals = match raw.max_signals {
        Some(max) if *max.get_ref() >= 1 => u64::try_from(*max.get_ref()).unwrap_or(u64::MAX),
        Some(max) => {
            errors.push(RuleError::at(
                &source,
                max.span(),
                "max_signals must be at least 1",
            ));
            DEFAULT_MAX_SIGNALS
        }
        None => DEFAULT_MAX_SIGNALS,
    };
    let field = |value: Option<Spanned<String>>, name: &str, errors: &mut Vec<RuleError>| {
        value.and_then(|v| {
            if v.get_ref().trim().is_empty() {
                errors.push(RuleError::at(
                    &source,
                    v.span(),
                    format!("`{name}` must not be empty"),
                ));
                None
            } else {
                Some(v.into_inner())
            }
        })
    };
    let timestamp_override = field(raw.timestamp_override, "timestamp_override", &mut errors);
    let event_category_override = field(
        raw.event_category_override,
        "event_category_override",
        &mut errors,
    );
    let tiebreaker_field = field(raw.tiebreaker_field, "tiebreaker_field", &mut errors);

    if !errors.is_empty() {
        return Loaded::Invalid(errors);
    }
    let (
        Some(query),
        Some(query_offsets),
        Some(name),
        Some(rule_id),
        Some(description),
        Some(severity),
    ) = (query, query_offsets, name, rule_id, description, severity)
    else {
        // Unreachable in practice: a missing field above always records an error.
        return Loaded::Invalid(vec![RuleError::at(&source, header, "incomplete rule")]);
    };
    let rule_id_span = rule_id.span();
    let rule = Rule {
        source,
        rule_id: rule_id.into_inner(),
        rule_id_span,
        name: name.into_inner(),
        description: description.into_inner(),
        severity: severity.into_inner(),
        risk_score,
        tags: raw.tags,
        threat: raw.threat,
        rule_type: type_name,
        language,
        query: query.into_inner(),
        query_offsets,
        index_patterns,
        index,
        from: from.1,
        interval: interval.1,
        lookback_ns,
        interval_ns,
        timestamp_override,
        timestamp_override_fallback_disabled: raw.timestamp_override_fallback_disabled,
        event_category_override,
        tiebreaker_field,
        max_signals,
        enabled: raw.enabled.unwrap_or(true),
        building_block_type: raw.building_block_type,
        author: raw.author,
        license: raw.license,
        references: raw.references,
        false_positives: raw.false_positives,
        version: raw.version.unwrap_or(1),
    };
    Loaded::Ready(Box::new(rule))
}

/// For a TOML string literal at `span` of `text` whose decoded value is `value`, the file offset of each byte
/// of `value` (plus one for its end). Walks the raw literal beside the decoded value: equal characters advance
/// both; an escape or a line-ending backslash advances the raw side only as far as it encodes.
fn literal_offsets(text: &str, span: std::ops::Range<usize>, value: &str) -> Vec<usize> {
    let raw = text.get(span.clone()).unwrap_or("");
    let (quote_len, basic) = if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with('"') {
        (1, true)
    } else {
        (1, false)
    };
    let mut content_start = span.start + quote_len.min(raw.len());
    // A newline right after an opening `'''` / `"""` is not part of the value.
    if quote_len == 3 {
        let after = text.get(content_start..).unwrap_or("");
        if after.starts_with("\r\n") {
            content_start += 2;
        } else if after.starts_with('\n') {
            content_start += 1;
        }
    }
    let content = text.get(content_start..span.end).unwrap_or("");
    let mut offsets = Vec::with_capacity(value.len() + 1);
    let mut raw_chars = content.char_indices().peekable();
    for decoded in value.chars() {
        let at = loop {
            match raw_chars.next() {
                None => break content.len(),
                Some((at, '\\')) if basic => match raw_chars.peek() {
                    Some(&(_, next)) if next.is_whitespace() => {
                        // Line-ending backslash: it and the whitespace after it encode nothing.
                        while raw_chars.peek().is_some_and(|&(_, w)| w.is_whitespace()) {
                            raw_chars.next();
                        }
                    }
                    Some(&(_, next)) => {
                        // An escape sequence encodes exactly one character: this one.
                        raw_chars.next();
                        let hex_digits = match next {
                            'u' => 4,
                            'U' => 8,
                            _ => 0,
                        };
                        for _ in 0..hex_digits {
                            raw_chars.next();
                        }
                        break at;
                    }
                    None => break at,
                },
                Some((at, c)) if c == decoded => break at,
                // Raw text that encodes nothing (a carriage return TOML folded).
                Some(_) => {}
            }
        };
        for _ in 0..decoded.len_utf8() {
            offsets.push(content_start + at);
        }
    }
    offsets.push(content_start + raw_chars.peek().map_or(content.len(), |&(at, _)| at));
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets_of(toml_text: &str) -> (String, Vec<usize>) {
        #[derive(Deserialize)]
        struct Doc {
            q: Spanned<String>,
        }
        let doc: Doc = toml::from_str(toml_text).unwrap();
        let value = doc.q.get_ref().clone();
        let offsets = literal_offsets(toml_text, doc.q.span(), &value);
        (value, offsets)
    }

    /// Every decoded character must sit at an offset where the file shows that same character,
    /// unless it came from an escape (then the offset points at the backslash).
    fn check_alignment(toml_text: &str) {
        let (value, offsets) = offsets_of(toml_text);
        assert_eq!(offsets.len(), value.len() + 1, "{toml_text}");
        for (i, c) in value.char_indices() {
            let at = offsets[i];
            let in_file = toml_text[at..].chars().next().unwrap();
            assert!(
                in_file == c || in_file == '\\',
                "{toml_text:?} byte {i}: {c:?} vs {in_file:?}"
            );
        }
    }

    #[test]
    fn literal_offsets_follow_the_raw_text() {
        check_alignment("q = '''\nprocess where true\n'''\n");
        check_alignment("q = '''process where true'''\n");
        check_alignment("q = 'a b c'\n");
        check_alignment("q = \"a \\\"b\\\" \\u00e9 c\"\n");
        check_alignment("q = \"\"\"\nline one \\\n   line two\n\"\"\"\n");
        check_alignment("q = '''\r\nwindows\r\nline endings'''\n");
        let (value, offsets) = offsets_of("q = '''\nabc'''");
        assert_eq!(value, "abc");
        assert_eq!(offsets, vec![8, 9, 10, 11]);
    }

    const SEED: &str = include_str!("../../../examples/rules/launchdaemon_creation_and_load.toml");

    #[test]
    fn seed_rule_loads() {
        let Loaded::Ready(rule) = load_str(Path::new("seed.toml"), SEED) else {
            panic!("seed rule should load")
        };
        assert_eq!(rule.rule_id, "9d19ece6-c20e-481a-90c5-ccca596537de");
        assert_eq!(rule.lookback_ns, 9 * 60 * 1_000_000_000);
        assert_eq!(rule.interval_ns, 5 * 60 * 1_000_000_000);
        assert_eq!(rule.max_signals, DEFAULT_MAX_SIGNALS);
        assert_eq!(rule.threat.len(), 1);
        assert_eq!(rule.threat[0].tactic.id, "TA0003");
        assert_eq!(rule.threat[0].technique[0].id, "T1543");
        assert!(rule.enabled);
        // The query's first byte is the first byte after `'''\n` in the file.
        let start = SEED.find("sequence by host.id").unwrap();
        assert_eq!(rule.query_range_in_file(0..8), start..start + 8);
    }

    fn errors_of(text: &str) -> Vec<String> {
        match load_str(Path::new("r.toml"), text) {
            Loaded::Invalid(errors) => errors
                .iter()
                .map(|e| format!("{}:{} {}", e.line, e.column, e.message))
                .collect(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    const MINIMAL: &str = "[metadata]\nmaturity = \"production\"\n\n[rule]\nname = \"n\"\nrule_id = \"id\"\ndescription = \"d\"\nrisk_score = 21\nseverity = \"low\"\ntype = \"eql\"\nlanguage = \"eql\"\nquery = '''\nprocess where true\n'''\n";

    #[test]
    fn minimal_rule_uses_kibana_defaults() {
        let Loaded::Ready(rule) = load_str(Path::new("r.toml"), MINIMAL) else {
            panic!("minimal rule should load")
        };
        assert_eq!(rule.from, "now-6m");
        assert_eq!(rule.interval, "5m");
        assert_eq!(rule.index, IndexSelector::default_security());
        assert_eq!(rule.timestamp_field(), "@timestamp");
    }

    #[test]
    fn toml_syntax_error_is_located() {
        let errors = errors_of("[rule]\nname = \"unterminated\n");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("2:"), "{errors:?}");
    }

    #[test]
    fn wrong_type_is_located() {
        let text = MINIMAL.replace("risk_score = 21", "risk_score = \"high\"");
        let errors = errors_of(&text);
        assert!(errors[0].starts_with("8:14"), "{errors:?}");
    }

    #[test]
    fn missing_fields_point_at_the_rule_table() {
        let text = MINIMAL.replace("name = \"n\"\n", "");
        assert_eq!(
            errors_of(&text),
            vec!["4:1 missing required field `rule.name`"]
        );
        assert_eq!(
            errors_of("[metadata]\n"),
            vec!["1:1 missing `[rule]` table (detection-rules format: `[metadata]`, `[rule]`, `[[rule.threat]]`)"]
        );
    }

    #[test]
    fn bad_values_are_reported() {
        let text = MINIMAL
            .replace("severity = \"low\"", "severity = \"urgent\"")
            .replace(
                "[rule]\n",
                "[rule]\nfrom = \"yesterday\"\ninterval = \"5q\"\nmax_signals = 0\n",
            );
        let errors = errors_of(&text);
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors
            .iter()
            .any(|e| e.contains("unknown severity `urgent`")));
        assert!(errors.iter().any(|e| e.starts_with("5:8 from:")));
        assert!(errors.iter().any(|e| e.starts_with("6:12 interval:")));
        assert!(errors.iter().any(|e| e.contains("max_signals")));
    }

    #[test]
    fn other_rule_types_are_unsupported_not_invalid() {
        for kind in UNSUPPORTED_TYPES {
            let text = MINIMAL
                .replace("type = \"eql\"", &format!("type = \"{kind}\""))
                .replace("language = \"eql\"", "language = \"kuery\"");
            match load_str(Path::new("r.toml"), &text) {
                Loaded::Unsupported(u) => assert_eq!(u.rule_type, *kind),
                other => panic!("{kind}: {other:?}"),
            }
        }
        let text = MINIMAL.replace("type = \"eql\"", "type = \"magic\"");
        assert!(errors_of(&text)[0].contains("unknown rule type `magic`"));
        let text = MINIMAL.replace("language = \"eql\"", "language = \"kuery\"");
        assert!(errors_of(&text)[0].contains("needs `language = \"eql\"`"));
    }

    #[test]
    fn toml_files_that_are_not_rules_are_skipped() {
        let pyproject =
            "[project]\nname = \"detection_rules\"\n\n[tool.setuptools]\npackages = []\n";
        match load_str(Path::new("pyproject.toml"), pyproject) {
            Loaded::Skipped(skipped) => {
                assert_eq!(skipped.path, Path::new("pyproject.toml"));
                assert!(skipped.reason.contains("not a rule file"), "{skipped:?}");
            }
            other => panic!("expected skipped, got {other:?}"),
        }
        assert!(matches!(
            load_str(Path::new("empty.toml"), ""),
            Loaded::Skipped(_)
        ));
        // A `[rule]` table with broken fields, or `[metadata]` without `[rule]`, is a broken rule file.
        assert!(errors_of("[rule]\nname = \"n\"\n")[0].contains("missing required field"));
        assert!(
            errors_of("[metadata]\nmaturity = \"production\"\n")[0].contains("missing `[rule]`")
        );
        // TOML that does not parse cannot be told apart: invalid.
        assert!(matches!(
            load_str(Path::new("x.toml"), "[project\n"),
            Loaded::Invalid(_)
        ));
    }

    /// A directory of rule files, removed when the guard is dropped (a failing test included).
    fn temp_tree(name: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("rules-load-{name}-"))
            .tempdir()
            .unwrap();
        for (file, text) in files {
            let path = tmp.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        tmp
    }

    #[test]
    fn a_duplicate_rule_id_makes_the_later_file_invalid_naming_both() {
        let kuery = MINIMAL
            .replace("type = \"eql\"", "type = \"query\"")
            .replace("language = \"eql\"", "language = \"kuery\"");
        let other = MINIMAL.replace("rule_id = \"id\"", "rule_id = \"other\"");
        let tmp = temp_tree(
            "dup",
            &[
                ("a.toml", MINIMAL),
                ("b/c.toml", &other),
                ("b/d.toml", MINIMAL),
                ("e.toml", &kuery),
            ],
        );
        let dir = tmp.path().to_path_buf();
        // The same tree twice: files are loaded once, not reported as duplicates of themselves.
        let loaded = load_paths(&[dir.clone(), dir.join("b")]);
        assert_eq!(loaded.len(), 4);
        assert!(matches!(&loaded[0], Loaded::Ready(rule) if rule.rule_id == "id"));
        assert!(matches!(&loaded[1], Loaded::Ready(rule) if rule.rule_id == "other"));
        for (index, file) in [(2, "b/d.toml"), (3, "e.toml")] {
            let Loaded::Invalid(errors) = &loaded[index] else {
                panic!("{file}: expected invalid, got {:?}", loaded[index])
            };
            let shown = errors[0].to_string();
            let first = dir.join("a.toml");
            let expected = format!(
                "{}:6:11: duplicate rule_id `id`: {}:6:11 already uses it",
                dir.join(file).display(),
                first.display()
            );
            assert!(shown.starts_with(&expected), "{shown}");
            assert!(
                shown.contains("6 | rule_id = \"id\"\n  |           ^^^^"),
                "{shown}"
            );
        }
        tmp.close().unwrap();
    }

    #[test]
    fn display_has_file_line_column_and_caret() {
        let text = MINIMAL.replace("severity = \"low\"", "severity = \"urgent\"");
        let Loaded::Invalid(errors) = load_str(Path::new("dir/r.toml"), &text) else {
            panic!()
        };
        let shown = errors[0].to_string();
        assert!(
            shown.starts_with("dir/r.toml:9:12: unknown severity"),
            "{shown}"
        );
        assert!(
            shown.contains("9 | severity = \"urgent\"\n  |            ^^^^^^^^"),
            "{shown}"
        );
    }
}
