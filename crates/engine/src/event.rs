//! Events: the original JSON text plus the values of the registered fields,
//! extracted in one streaming pass (no DOM per event).
//!
//! Documents may use nested objects, flat dotted keys or any mix; arrays (also of
//! objects) make a field multi-valued, as Elasticsearch flattens them; a search hit
//! `{"_index", "_id", "_source": {...}}` is read from its `_source`.

use smol_str::SmolStr;
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use smallvec::SmallVec;

use crate::field::{FieldId, FieldSpec, FieldTable};

mod scan;
use crate::schema::FieldType;
use crate::time;
use crate::value::{Value, NULL};

/// One parsed event.
#[derive(Debug, Clone)]
pub struct Event {
    /// The original JSON text of the document (or hit).
    pub raw: Arc<str>,
    /// Registered fields present in the document, sorted by id. Shared: one parse of a line serves
    /// every rule group (they differ only in which field gives the time), see [`Event::with_time`].
    slots: Arc<Slots>,
    /// Epoch nanoseconds (milliseconds precision when the field is a `date`).
    pub timestamp: Option<i64>,
    pub tiebreaker: Value,
    /// Arrival number, set by the caller.
    pub seq: u64,
    index: Option<Arc<str>>,
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
        self.slots.get(id)
    }

    /// The fields present, in id order.
    pub fn fields(&self) -> impl Iterator<Item = (FieldId, &Value)> {
        self.slots.entries.iter().map(|(k, v)| (*k, v))
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
            slots: Arc::new(Slots::new(slots)),
            timestamp,
            tiebreaker,
            seq,
            index: None,
        }
    }
}

/// The extracted fields of one document, sorted by id, with a presence bitmap: rules look fields up
/// many times per event, and most lookups are of fields the document lacks.
#[derive(Debug, Default)]
struct Slots {
    entries: Vec<(FieldId, Value)>,
    /// Per 64 field ids: which are present, and how many entries precede the word (its rank).
    /// Empty when `entries` holds an id twice (events built by hand), then looked up by search.
    words: SmallVec<[(u64, u32); 4]>,
}

/// The one empty field set fields-free copies share: a sequence holding a million partial matches
/// holds a million such copies.
fn empty_slots() -> Arc<Slots> {
    static EMPTY: std::sync::OnceLock<Arc<Slots>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::new(Slots::default())))
}

impl Slots {
    /// `entries` sorted by id.
    fn new(entries: Vec<(FieldId, Value)>) -> Slots {
        let mut words: SmallVec<[(u64, u32); 4]> = SmallVec::new();
        let mut unique = true;
        for (position, (id, _)) in entries.iter().enumerate() {
            let (word, bit) = ((id.0 / 64) as usize, id.0 % 64);
            while words.len() <= word {
                words.push((0, u32::try_from(position).unwrap_or(u32::MAX)));
            }
            if let Some((bits, _)) = words.get_mut(word) {
                unique &= *bits & (1 << bit) == 0;
                *bits |= 1 << bit;
            }
        }
        if !unique {
            words.clear();
        }
        Slots { entries, words }
    }

    fn get(&self, id: FieldId) -> &Value {
        if self.words.is_empty() {
            return match self.entries.binary_search_by_key(&id, |(k, _)| *k) {
                Ok(i) => self.entries.get(i).map_or(&NULL, |(_, v)| v),
                Err(_) => &NULL,
            };
        }
        let (word, bit) = ((id.0 / 64) as usize, id.0 % 64);
        let Some(&(bits, rank)) = self.words.get(word) else {
            return &NULL;
        };
        if bits & (1 << bit) == 0 {
            return &NULL;
        }
        let before = (bits & ((1u64 << bit) - 1)).count_ones();
        self.entries
            .get((rank + before) as usize)
            .map_or(&NULL, |(_, v)| v)
    }
}

impl Event {
    /// The same document with another time and tiebreaker (sharing text and fields).
    pub fn with_time(&self, timestamp: Option<i64>, tiebreaker: Value) -> Event {
        Event {
            raw: Arc::clone(&self.raw),
            slots: Arc::clone(&self.slots),
            timestamp,
            tiebreaker,
            seq: self.seq,
            index: self.index.clone(),
        }
    }

    /// The document without its extracted fields: what results need (text, time, order).
    pub fn without_fields(&self) -> Event {
        Event {
            raw: Arc::clone(&self.raw),
            slots: empty_slots(),
            timestamp: self.timestamp,
            tiebreaker: self.tiebreaker.clone(),
            seq: self.seq,
            index: self.index.clone(),
        }
    }
}

/// A field events are ordered by, and how its values become epoch nanoseconds.
#[derive(Debug, Clone)]
pub struct TimeField {
    pub id: FieldId,
    /// `date` (truncated to milliseconds) rather than `date_nanos`.
    pub millis: bool,
    pub format: Option<Arc<time::DateFormat>>,
}

impl TimeField {
    /// The event's time: `Ok(None)` when the field is absent; `Err` with the value's text when it
    /// cannot be read as a time.
    pub fn nanos(&self, event: &Event) -> Result<Option<i64>, String> {
        let v = event.get(self.id);
        if v.is_null() {
            return Ok(None);
        }
        match timestamp_nanos(v, self.format.as_deref(), self.millis) {
            Some(ns) => Ok(Some(ns)),
            None => Err(v.to_string()),
        }
    }
}

impl FieldTable {
    /// The timestamp field of this table as a [`TimeField`].
    pub fn time_field(&self) -> TimeField {
        TimeField {
            id: self.timestamp_field(),
            millis: self.timestamp_millis(),
            format: self.timestamp_format_arc(),
        }
    }

    /// Parses one JSON document, extracting only the registered fields, without reading its time
    /// (`timestamp` is `None`, `tiebreaker` null): for callers that order events by several fields.
    pub fn parse_untimed(&self, text: &str) -> Result<Event, EventError> {
        self.parse_fields(Arc::from(text))
    }

    /// [`FieldTable::parse_untimed`] on text the caller already holds shared.
    pub fn parse_untimed_shared(&self, text: Arc<str>) -> Result<Event, EventError> {
        self.parse_fields(text)
    }

    /// Parses one JSON document, extracting only the registered fields.
    pub fn parse_event(&self, text: &str, opts: &EventOptions) -> Result<Event, EventError> {
        let mut event = self.parse_fields(Arc::from(text))?;
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
                    let (line, column) = locate_key(&event.raw, self.path(self.timestamp_field()));
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

    /// [`FieldTable::parse_untimed_shared`] keeping only the fields whose id is set in `only`
    /// (indexed by id). The whole document is still checked, so a bad line is found all the same:
    /// for events no rule can match, whose other fields would never be read.
    pub fn parse_untimed_only(&self, text: Arc<str>, only: &[bool]) -> Result<Event, EventError> {
        self.parse_fields_with(&text, || Arc::clone(&text), Some(only))
    }

    /// [`FieldTable::parse_untimed_only`] for a line that no rule will read beyond its time: the
    /// event does not keep the text (`raw` is empty), so the line is not copied.
    pub fn parse_untimed_only_textless(
        &self,
        text: &str,
        only: &[bool],
    ) -> Result<Event, EventError> {
        self.parse_fields_with(text, || Arc::from(""), Some(only))
    }

    /// The fields set in `only` (indexed by id), for [`FieldTable::parse_only_textless`]: build
    /// once, parse many lines.
    pub fn only_fields(&self, only: &[bool]) -> OnlyFields {
        OnlyFields {
            paths: scan::TimePaths::new(self, only),
            only: Box::from(only),
        }
    }

    /// The times of the fields kept by `fields` (time fields) for a line no rule reads beyond its
    /// time, without making an event: `None` when the line must take [`FieldTable::parse_only_textless`]
    /// (it is invalid, or the walk leaves it to the full one).
    pub fn parse_times_textless(&self, text: &str, fields: &OnlyFields) -> Option<LineTimes> {
        let mut collector = Collector::new(self);
        collector.only = Some(&fields.only);
        collector.times = Some(LineTimes::default());
        scan::collect_pruned(text, &mut collector, &fields.paths).ok()?;
        collector.times.take()
    }

    /// [`FieldTable::parse_untimed_only_textless`] with the kept fields prepared: the line is
    /// walked along their paths only, everything else skipped (still checked). Lines where the
    /// full walk could read a skipped value differently (`\u` escapes, exponents, deep nesting)
    /// or that are invalid take the full walk, so the result is always the same.
    pub fn parse_only_textless(
        &self,
        text: &str,
        fields: &OnlyFields,
    ) -> Result<Event, EventError> {
        let mut collector = Collector::new(self);
        collector.only = Some(&fields.only);
        if scan::collect_pruned(text, &mut collector, &fields.paths).is_err() {
            drop(collector);
            return self.parse_untimed_only_textless(text, &fields.only);
        }
        let index = collector.index.take();
        let slots = collector.finish_slots();
        Ok(Event {
            raw: empty_text(),
            slots: Arc::new(slots),
            timestamp: None,
            tiebreaker: Value::Null,
            seq: 0,
            index: index.map(Arc::from),
        })
    }

    fn parse_fields(&self, text: Arc<str>) -> Result<Event, EventError> {
        self.parse_fields_with(&text, || Arc::clone(&text), None)
    }

    /// Extracts the registered fields (those set in `only`, when given) of `text`; the event keeps
    /// the text `raw` gives.
    fn parse_fields_with(
        &self,
        text: &str,
        raw: impl FnOnce() -> Arc<str>,
        only: Option<&[bool]>,
    ) -> Result<Event, EventError> {
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
        let mut collector = Collector::new(self);
        collector.only = only;
        self.collect_fields(text, &mut collector)?;
        let index = collector.index.take();
        let slots = collector.finish_slots();
        Ok(Event {
            raw: raw(),
            slots: Arc::new(slots),
            timestamp: None,
            tiebreaker: Value::Null,
            seq: 0,
            index: index.map(Arc::from),
        })
    }

    /// Walks the document once, handing every registered field's scalars to `collector`.
    fn collect_fields(&self, text: &str, collector: &mut Collector<'_>) -> Result<(), EventError> {
        if scan::collect(text, collector).is_ok() {
            return Ok(());
        }
        // Invalid, or something the scanner leaves to serde_json: the serde path decides,
        // from scratch, and gives the error with its position.
        collector.clear();
        collector.index = None;
        self.collect_fields_serde(text, collector)
    }

    /// [`FieldTable::collect_fields`] through serde_json only (the reference the scanner
    /// is tested against).
    fn collect_fields_serde(
        &self,
        text: &str,
        collector: &mut Collector<'_>,
    ) -> Result<(), EventError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let result = RootSeed { c: collector }
            .deserialize(&mut de)
            .and_then(|()| de.end());
        result.map_err(|e| EventError {
            line: e.line().max(1),
            column: e.column().max(1),
            message: strip_serde_position(&e.to_string()),
        })
    }

    /// A timestamp value in epoch nanoseconds, truncated to milliseconds for `date`.
    fn timestamp_nanos(&self, v: &Value) -> Option<i64> {
        timestamp_nanos(v, self.timestamp_format(), self.timestamp_millis())
    }
}

/// A timestamp value in epoch nanoseconds (custom `format` first), truncated to milliseconds when
/// `millis` (a `date` field).
fn timestamp_nanos(v: &Value, format: Option<&time::DateFormat>, millis: bool) -> Option<i64> {
    let custom = format.and_then(|format| match v.first() {
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
    if millis {
        time::floor_millis(ns)
    } else {
        Some(ns)
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

/// Fields kept from lines no rule reads beyond their time; see [`FieldTable::only_fields`].
#[derive(Debug, Clone)]
pub struct OnlyFields {
    paths: scan::TimePaths,
    only: Box<[bool]>,
}

/// The empty text all text-less events share (no allocation per line).
fn empty_text() -> Arc<str> {
    static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::from("")))
}

/// Values found during the walk, in document order.
struct Collector<'t> {
    table: &'t FieldTable,
    /// The values found are the first `len`; the rest are nulls, room where the next values are
    /// made in place (see [`Collector::push`]). Taken from [`SPARE`], given back when done.
    values: Vec<(FieldId, Value)>,
    len: usize,
    index: Option<Box<str>>,
    /// When set, only these fields (indexed by id) are kept: the document is still read whole.
    only: Option<&'t [bool]>,
    /// When set, the kept fields' times are read into it instead of values being made.
    times: Option<LineTimes>,
}

thread_local! {
    /// A collector's room, all nulls, passed on line to line: grouping leaves nulls where the
    /// values were, so no line allocates or fills it anew.
    static SPARE: std::cell::Cell<Vec<(FieldId, Value)>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The most room [`SPARE`] keeps: a huge line does not keep its room for the rest of the run.
const SPARE_MAX: usize = 4096;

enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl<'t> Collector<'t> {
    fn new(table: &'t FieldTable) -> Self {
        Collector {
            table,
            // (No room to take while the thread is being torn down.)
            values: SPARE.try_with(std::cell::Cell::take).unwrap_or_default(),
            len: 0,
            index: None,
            only: None,
            times: None,
        }
    }

    fn push(&mut self, id: FieldId, scalar: Scalar<'_>) {
        if let Some(only) = self.only {
            if !only.get(id.0 as usize).copied().unwrap_or(false) {
                return;
            }
        }
        let Some(spec) = self.table.spec(id) else {
            return;
        };
        if let Some(times) = self.times.as_mut() {
            times.take(id, spec, &scalar);
            return;
        }
        // The value is made in its place, a null slot: one made first and then pushed is copied
        // through the stack, and reading back what was just written there stalls.
        if self.len == self.values.len() {
            self.values.push((id, Value::Null));
        }
        let Some((slot_id, slot)) = self.values.get_mut(self.len) else {
            return;
        };
        self.len += 1;
        *slot_id = id;
        match scalar {
            Scalar::Null => {
                if let Some(v) = &spec.null_value {
                    *slot = v.clone();
                }
            }
            other if spec.ty.is_date() => *slot = coerce_date(spec, other),
            other => coerce_into(&spec.ty, other, slot),
        }
    }

    /// Forgets the values found so far.
    fn clear(&mut self) {
        if let Some(times) = self.times.as_mut() {
            *times = LineTimes::default();
        }
        for (_, v) in self.values.iter_mut().take(self.len) {
            *v = Value::Null;
        }
        self.len = 0;
    }

    /// Groups repeated fields into lists; drops nulls (Elasticsearch does not index them).
    fn finish(self) -> Vec<(FieldId, Value)> {
        self.finish_slots().entries
    }

    /// [`Collector::finish`] as the event keeps it.
    fn finish_slots(mut self) -> Slots {
        let found = self.values.get_mut(..self.len).unwrap_or_default();
        let slots = group_found(found, self.table.len());
        self.len = 0;
        slots
    }
}

impl Drop for Collector<'_> {
    fn drop(&mut self) {
        self.clear();
        let values = std::mem::take(&mut self.values);
        if values.len() <= SPARE_MAX {
            let _ = SPARE.try_with(|spare| {
                let other = spare.take();
                spare.set(if other.len() > values.len() {
                    other
                } else {
                    values
                });
            });
        }
    }
}

/// `values` (in document order, ids below `ids`) grouped by id, in id order: each id's non-null
/// values in document order, one value or a list of them all, exactly as a stable sort by id and
/// [`merge_runs`] would give them ([`group_fields_by_sort`]). Nulls are dropped (Elasticsearch
/// does not index them). Ids are small dense integers: each id's place is its rank among the ids
/// present, without a comparison sort.
#[doc(hidden)]
pub fn group_fields(mut values: Vec<(FieldId, Value)>, ids: usize) -> Vec<(FieldId, Value)> {
    group_found(&mut values, ids).entries
}

/// [`group_fields`], taking the values out of `found` (which is left all nulls), with the words
/// [`Slots::new`] would find (the grouping has them at hand).
fn group_found(found: &mut [(FieldId, Value)], ids: usize) -> Slots {
    thread_local! {
        /// Reused line to line (no allocation or clearing per line); see [`GroupScratch`].
        static SCRATCH: std::cell::RefCell<GroupScratch> =
            std::cell::RefCell::new(GroupScratch::default());
    }
    if found
        .iter()
        .any(|(id, v)| id.0 as usize >= ids && !v.is_null())
    {
        // Not ids of the table: no bitmap to place them by.
        let values = found.iter_mut().map(std::mem::take).collect();
        return Slots::new(group_fields_by_sort(values));
    }
    let slots = SCRATCH.try_with(|cell| {
        let mut scratch = cell.try_borrow_mut().ok()?;
        let slots = scratch.group(found, ids);
        // A huge line does not keep its room for the rest of the run.
        if scratch.repeats.capacity() > 1 << 16 {
            scratch.repeats = Vec::new();
        }
        Some(slots)
    });
    match slots {
        Ok(Some(slots)) => slots,
        // In use or torn down (neither happens in practice): fresh space.
        _ => GroupScratch::default().group(found, ids),
    }
}

/// Working space of [`group_found`]. Between calls `first` is all `u32::MAX`, `more` and `present`
/// all zero, so a call only touches the entries of the ids it sees.
#[derive(Default)]
struct GroupScratch {
    /// Per id: the position of its first value (`u32::MAX`: none).
    first: Vec<u32>,
    /// Per id: how many values it has after the first.
    more: Vec<u32>,
    /// Bit per id: present.
    present: Vec<u64>,
    /// The positions of values whose id came before, in document order.
    repeats: Vec<u32>,
}

impl GroupScratch {
    /// [`group_found`] for ids below `ids`.
    fn group(&mut self, found: &mut [(FieldId, Value)], ids: usize) -> Slots {
        if self.first.len() < ids {
            self.first.resize(ids, u32::MAX);
            self.more.resize(ids, 0);
            self.present.resize(ids.div_ceil(64), 0);
        }
        self.repeats.clear();
        let mut unique = 0usize;
        for (i, (id, v)) in found.iter().enumerate() {
            if v.is_null() {
                continue;
            }
            let id = id.0 as usize;
            let (Some(at), Some(word)) = (self.first.get_mut(id), self.present.get_mut(id / 64))
            else {
                continue;
            };
            if *at == u32::MAX {
                *at = i as u32;
                *word |= 1 << (id % 64);
                unique += 1;
            } else {
                self.repeats.push(i as u32);
                if let Some(n) = self.more.get_mut(id) {
                    *n += 1;
                }
            }
        }
        self.merge_repeats(found);
        // The first value of each id (its run merged into it), by id. Taken whole: a copy of the
        // pair through the stack then reads what was written the same way, without a stall.
        let mut grouped = Vec::with_capacity(unique);
        // Per word up to the last one with an id: its bits and the entries before it.
        let mut words: SmallVec<[(u64, u32); 4]> = SmallVec::new();
        let used = ids.div_ceil(64).min(self.present.len());
        for (w, word) in self.present.iter_mut().take(used).enumerate() {
            let mut bits = std::mem::take(word);
            if bits != 0 {
                let before = u32::try_from(grouped.len()).unwrap_or(u32::MAX);
                while words.len() < w {
                    words.push((0, before));
                }
                words.push((bits, before));
            }
            while bits != 0 {
                let id = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(at) = self.first.get_mut(id) {
                    if let Some(entry) = found.get_mut(*at as usize) {
                        grouped.push(std::mem::take(entry));
                    }
                    *at = u32::MAX;
                }
                if let Some(n) = self.more.get_mut(id) {
                    *n = 0;
                }
            }
        }
        Slots {
            entries: grouped,
            words,
        }
    }

    /// Each later value of an id (taken, leaving null) joins its first one, in document order,
    /// as [`merge_runs`] folds a run.
    fn merge_repeats(&self, found: &mut [(FieldId, Value)]) {
        for &i in &self.repeats {
            let Some((id, v)) = found.get_mut(i as usize) else {
                continue;
            };
            let id = id.0 as usize;
            let v = std::mem::take(v);
            let (Some(&at), Some(&more)) = (self.first.get(id), self.more.get(id)) else {
                continue;
            };
            let Some((_, merged)) = found.get_mut(at as usize) else {
                continue;
            };
            match merged {
                Value::List(list) => list.push(v),
                _ => {
                    // Room for the whole run, as `merge_runs` gives it.
                    let mut list = Vec::with_capacity(more as usize + 1);
                    list.push(std::mem::take(merged));
                    list.push(v);
                    *merged = Value::List(list);
                }
            }
        }
    }
}

/// [`group_fields`] by a stable sort by id and [`merge_runs`].
fn group_fields_by_sort(mut values: Vec<(FieldId, Value)>) -> Vec<(FieldId, Value)> {
    values.retain(|(_, v)| !v.is_null());
    // Stable: repeated fields keep document order.
    values.sort_by_key(|(k, _)| *k);
    if values
        .windows(2)
        .any(|w| w.first().map(|x| x.0) == w.last().map(|x| x.0))
    {
        merge_runs(&mut values);
    }
    // Events are kept (sequences, samples): give back the room of a sparse document.
    if values.capacity() > 2 * values.len() + 4 {
        values.shrink_to_fit();
    }
    values
}

/// Merges each run of one id (sorted) into one value, in place: the first value, or a
/// list of them all (extending the first if it is a list already).
fn merge_runs(values: &mut Vec<(FieldId, Value)>) {
    let mut kept = 0;
    let mut read = 0;
    while let Some(&(id, _)) = values.get(read) {
        let run = values
            .get(read..)
            .map_or(1, |rest| rest.iter().take_while(|(k, _)| *k == id).count());
        let mut items = values
            .get_mut(read..read + run)
            .into_iter()
            .flatten()
            .map(|(_, v)| std::mem::take(v));
        let mut merged = items.next().unwrap_or_default();
        for v in items {
            match &mut merged {
                Value::List(list) => list.push(v),
                _ => {
                    let mut list = Vec::with_capacity(run);
                    list.push(std::mem::take(&mut merged));
                    list.push(v);
                    merged = Value::List(list);
                }
            }
        }
        if let Some(slot) = values.get_mut(kept) {
            *slot = (id, merged);
        }
        kept += 1;
        read += run;
    }
    values.truncate(kept);
}

/// A date field's value in one canonical form, whatever format the document used:
/// the instant as Elasticsearch prints it (`2022-12-17T00:00:00.000Z`; up to
/// nanoseconds for `date_nanos`). Equal instants then compare, join and dispatch
/// equal, across indices with different mapping formats. A value the format cannot
/// read (Elasticsearch would have rejected the document) is kept as it is.
fn coerce_date(spec: &FieldSpec, scalar: Scalar<'_>) -> Value {
    match scalar_date(spec, &scalar) {
        Some(ns) => Value::Str(canonical_date(ns, spec.ty == FieldType::DateNanos)),
        None => coerce(&spec.ty, scalar),
    }
}

/// The instant a date field's JSON scalar names (by the field's format), or `None` when it names
/// none (the value is then kept as it is).
fn scalar_date(spec: &FieldSpec, scalar: &Scalar<'_>) -> Option<i64> {
    let text: Cow<str> = match scalar {
        Scalar::Str(s) => Cow::Borrowed(s),
        Scalar::Int(i) => Cow::Owned(i.to_string()),
        Scalar::Float(f) => Cow::Owned(f.to_string()),
        Scalar::Bool(_) | Scalar::Null => return None,
    };
    match &spec.date_format {
        Some(format) => format.parse(&text),
        None => time::parse_timestamp_str(&text),
    }
}

/// What reading the canonical text of `nanos` ([`canonical_date`]) back gives: the instant
/// itself for `date_nanos`, floored to milliseconds for `date` (`None` where that leaves `i64`).
fn canonical_date_nanos(nanos: i64, keep_nanos: bool) -> Option<i64> {
    if keep_nanos {
        Some(nanos)
    } else {
        time::floor_millis(nanos)
    }
}

/// The times of a line's time fields, read without making an event: for lines no rule reads
/// beyond their time (see [`FieldTable::parse_times_textless`]). Each is what the event of the
/// same line would give its [`TimeField`], or unknown (the caller then takes that path).
#[derive(Debug, Default)]
pub struct LineTimes {
    /// Per field present: the instant its first value names (before any truncation to
    /// milliseconds), or `None` for what this shortcut does not model (a null, a value that names
    /// no instant, a field of another type or with a format of its own).
    found: SmallVec<[(FieldId, Option<i64>); 4]>,
}

impl LineTimes {
    /// A field's value, in document order: the first one is what an event's field gives first.
    fn take(&mut self, id: FieldId, spec: &FieldSpec, scalar: &Scalar<'_>) {
        if self.found.iter().any(|(seen, _)| *seen == id) {
            return;
        }
        // What `timestamp_nanos` reads from the value the event would hold.
        let instant = match (&spec.ty, scalar) {
            // Time fields are registered untyped: the value is kept as it is in the document.
            (FieldType::Unknown, Scalar::Str(s)) => time::parse_timestamp_str(s),
            (FieldType::Unknown, Scalar::Int(ms)) => time::from_epoch_millis_i64(*ms),
            (FieldType::Unknown, Scalar::Float(ms)) => time::from_epoch_millis_f64(*ms),
            // A date a rule registered first: its canonical text, read back.
            (ty, Scalar::Str(_) | Scalar::Int(_) | Scalar::Float(_))
                if ty.is_date() && spec.date_format.is_none() =>
            {
                scalar_date(spec, scalar)
                    .and_then(|ns| canonical_date_nanos(ns, *ty == FieldType::DateNanos))
            }
            _ => None,
        };
        self.found.push((id, instant));
    }

    /// What [`TimeField::nanos`] gives for the event of this line: `Some(None)` when the field
    /// is absent, `None` when this shortcut cannot tell.
    pub fn nanos(&self, field: &TimeField) -> Option<Option<i64>> {
        if field.format.is_some() {
            return None;
        }
        match self.found.iter().find(|(id, _)| *id == field.id) {
            None => Some(None),
            // (An instant a `date` cannot hold is an error on the event path: left to it.)
            Some(&(_, instant)) => match instant {
                Some(ns) if field.millis => time::floor_millis(ns).map(Some),
                other => other.map(Some),
            },
        }
    }
}

/// The canonical text of an instant in a `date` (milliseconds) or `date_nanos` field. (A `date`'s
/// is made without a `String` first: events hold one or more each.)
pub fn canonical_date(nanos: i64, keep_nanos: bool) -> SmolStr {
    if keep_nanos {
        SmolStr::new(time::format_nanos_iso(nanos))
    } else {
        SmolStr::new(std::str::from_utf8(&time::millis_iso_bytes(nanos)).unwrap_or_default())
    }
}

/// Converts a JSON scalar to what Elasticsearch indexes for the field's type.
fn coerce(ty: &FieldType, scalar: Scalar<'_>) -> Value {
    let mut value = Value::Null;
    coerce_into(ty, scalar, &mut value);
    value
}

/// [`coerce`] into `out`, each value made in its place (see [`Collector::push`]).
#[inline(always)]
fn coerce_into(ty: &FieldType, scalar: Scalar<'_>, out: &mut Value) {
    match (ty, scalar) {
        (_, Scalar::Null) => *out = Value::Null,
        (FieldType::Keyword | FieldType::Text | FieldType::Wildcard | FieldType::Version, s) => {
            match s {
                Scalar::Str(s) => *out = Value::Str(SmolStr::new(s)),
                Scalar::Bool(b) => *out = Value::str(if b { "true" } else { "false" }),
                Scalar::Int(i) => *out = Value::Str(SmolStr::new(i.to_string())),
                Scalar::Float(f) => *out = Value::Str(SmolStr::new(f.to_string())),
                Scalar::Null => *out = Value::Null,
            }
        }
        (FieldType::Ip, Scalar::Str(s)) => {
            *out = Value::Str(match canonical_ip_text(s) {
                Cow::Borrowed(same) => SmolStr::new(same),
                Cow::Owned(canonical) => SmolStr::new(canonical),
            })
        }
        (FieldType::Long, Scalar::Str(s)) => match parse_long(s) {
            Some(i) => *out = Value::Int(i),
            None => *out = Value::Str(SmolStr::new(s)),
        },
        (FieldType::Long, Scalar::Float(f)) if f.is_finite() && f.abs() < 9.2e18 => {
            *out = Value::Int(f.trunc() as i64)
        }
        (FieldType::Double, Scalar::Int(i)) => *out = Value::Float(i as f64),
        (FieldType::Double, Scalar::Str(s)) => match s.trim().parse::<f64>() {
            Ok(f) => *out = Value::Float(f),
            Err(_) => *out = Value::Str(SmolStr::new(s)),
        },
        (FieldType::Boolean, Scalar::Str("true")) => *out = Value::Bool(true),
        (FieldType::Boolean, Scalar::Str("false")) => *out = Value::Bool(false),
        (_, Scalar::Bool(b)) => *out = Value::Bool(b),
        (_, Scalar::Int(i)) => *out = Value::Int(i),
        (_, Scalar::Float(f)) => *out = Value::Float(f),
        (_, Scalar::Str(s)) => *out = Value::Str(SmolStr::new(s)),
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

/// What an `ip` field holds for the text `s`: its canonical form ([`canonical_ip`]), or `s` itself when
/// it is no address. Usually `s` is already canonical dotted-decimal IPv4 (the parser takes nothing
/// else: no spaces, no leading zeros), which is then kept without formatting it anew.
pub fn canonical_ip_text(s: &str) -> Cow<'_, str> {
    if is_plain_ipv4(s) {
        return Cow::Borrowed(s);
    }
    canonical_ip(s).map_or(Cow::Borrowed(s), Cow::Owned)
}

/// Whether `s` is dotted-decimal IPv4 exactly as `Ipv4Addr` parses and prints it: four groups of
/// decimal digits, each 0 to 255 without leading zeros. (The standard parser is several times slower
/// than this, and events hold several addresses each.)
fn is_plain_ipv4(s: &str) -> bool {
    let mut groups = 0;
    for group in s.as_bytes().split(|&b| b == b'.') {
        groups += 1;
        let plain = match *group {
            [d] => d.is_ascii_digit(),
            [b'1'..=b'9', d] => d.is_ascii_digit(),
            [b'1', d, e] => d.is_ascii_digit() && e.is_ascii_digit(),
            [b'2', b'0'..=b'4', d] => d.is_ascii_digit(),
            [b'2', b'5', b'0'..=b'5'] => true,
            _ => false,
        };
        if !plain || groups > 4 {
            return false;
        }
    }
    groups == 4
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
                        self.c.clear();
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

/// The fields one path extracted from a document: `(values in id order, index)`.
#[doc(hidden)]
pub type Extracted = (Vec<(FieldId, Value)>, Option<Box<str>>);

/// Why the scanner left a document to the serde path.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanDeclined {
    /// Invalid: the serde path must reject it too.
    Invalid,
    /// Not handled by the scanner (a root `_index` that is not a string).
    Unsupported,
}

impl FieldTable {
    /// Test hook: the fields the scanner extracts, or why it leaves the document to the
    /// serde path.
    #[doc(hidden)]
    pub fn extract_fields_fast(&self, text: &str) -> Result<Extracted, ScanDeclined> {
        let mut c = Collector::new(self);
        scan::collect(text, &mut c).map_err(|bail| match bail {
            scan::Bail::Invalid => ScanDeclined::Invalid,
            scan::Bail::Unsupported => ScanDeclined::Unsupported,
        })?;
        let index = c.index.take();
        Ok((c.finish(), index))
    }

    /// Test hook: the fields the serde path extracts (the reference for the scanner).
    #[doc(hidden)]
    pub fn extract_fields_plain(&self, text: &str) -> Result<Extracted, EventError> {
        let mut c = Collector::new(self);
        self.collect_fields_serde(text, &mut c)?;
        let index = c.index.take();
        Ok((c.finish(), index))
    }

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
        // Within a millisecond of the earliest instant epoch nanoseconds hold: the millisecond it
        // falls in starts before that, so a `date` cannot hold it (was an overflow).
        let err = t
            .parse_event(
                r#"{"@timestamp": "-9223372036854.775"}"#,
                &EventOptions::default(),
            )
            .unwrap_err();
        assert!(err.message.starts_with("invalid timestamp"), "{err}");
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

    #[test]
    fn slot_lookup_by_bitmap_agrees_with_search() {
        // Ids spread over several 64-id words, some words empty, first and last bits of a word.
        let ids: Vec<u32> = vec![0, 1, 63, 64, 65, 127, 200, 255, 256, 300, 511];
        let entries: Vec<(FieldId, Value)> = ids
            .iter()
            .map(|&i| (FieldId(i), Value::Int(i64::from(i))))
            .collect();
        let slots = Slots::new(entries.clone());
        assert!(!slots.words.is_empty());
        for probe in 0..600u32 {
            let expected = entries
                .iter()
                .find(|(k, _)| k.0 == probe)
                .map_or(&NULL, |(_, v)| v);
            assert_eq!(slots.get(FieldId(probe)), expected, "id {probe}");
        }
        // A repeated id (hand-built events) falls back to searching.
        let repeated = Slots::new(vec![
            (FieldId(3), Value::Int(1)),
            (FieldId(3), Value::Int(2)),
        ]);
        assert!(repeated.words.is_empty());
        assert!(!repeated.get(FieldId(3)).is_null());
        assert!(Slots::default().get(FieldId(0)).is_null());
    }
}

#[cfg(test)]
mod group_tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            2 => Just(Value::Null),
            4 => any::<i64>().prop_map(Value::Int),
            1 => prop::collection::vec(any::<i64>().prop_map(Value::Int), 0..3).prop_map(Value::List),
        ]
    }

    proptest! {
        /// The grouping's slots (words included) are what the sort and `Slots::new` give, and it
        /// leaves nulls behind.
        #[test]
        fn grouped_slots_match_sorted_slots(
            ids in prop_oneof![Just(1usize), 2usize..70, 120usize..300],
            raw in prop::collection::vec((0u32..300, value()), 0..100),
        ) {
            let values: Vec<(FieldId, Value)> = raw
                .into_iter()
                .map(|(id, v)| (FieldId(id % ids as u32), v))
                .collect();
            let want = Slots::new(group_fields_by_sort(values.clone()));
            let mut found = values;
            let got = group_found(&mut found, ids);
            prop_assert_eq!(format!("{:?}", got.entries), format!("{:?}", want.entries));
            prop_assert_eq!(got.words, want.words);
            prop_assert!(found.iter().all(|(_, v)| v.is_null()));
        }
    }

    /// A collector passes its room on all nulls, whether finished, cleared or dropped midway.
    #[test]
    fn spare_room_comes_back_empty() {
        let schema = crate::schema::Schema::empty();
        let mut t = FieldTable::with_defaults(&schema);
        let a = t.register("a", &schema);
        let b = t.register("b", &schema);
        for round in 0..3 {
            let mut c = Collector::new(&t);
            assert!(c.values.iter().all(|(_, v)| v.is_null()), "round {round}");
            for i in 0..40 {
                c.push(if i % 3 == 0 { a } else { b }, Scalar::Int(i));
            }
            match round {
                0 => assert_eq!(c.finish().len(), 2),
                1 => {
                    c.clear();
                    c.push(a, Scalar::Str("x"));
                    assert_eq!(c.finish(), vec![(a, Value::str("x"))]);
                }
                _ => drop(c),
            }
        }
        let c = Collector::new(&t);
        assert!(c.values.len() >= 40);
        assert!(c.values.iter().all(|(_, v)| v.is_null()));
    }
}

#[cfg(test)]
mod ip_tests {
    use super::{canonical_ip, canonical_ip_text};
    use proptest::prelude::*;

    /// The general path: canonical form, or the text itself when it is no address.
    fn general(s: &str) -> String {
        canonical_ip(s).unwrap_or_else(|| s.to_string())
    }

    #[test]
    fn ipv4_fast_path_keeps_only_canonical_text() {
        for s in [
            "10.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "010.0.0.1",
            "10.0.0.01",
            " 10.0.0.1",
            "10.0.0.1 ",
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "::ffff:10.0.0.1",
            "::FFFF:a00:1",
            "2001:DB8::1",
            "2001:db8:0:0:0:0:0:1",
            "",
            "x",
        ] {
            assert_eq!(canonical_ip_text(s), general(s), "{s:?}");
        }
    }

    #[test]
    fn plain_ipv4_groups_are_what_the_standard_parser_takes() {
        // Every group of one to four digits, in each position.
        let groups =
            (0..10_000).flat_map(|n: u32| (1..=4).map(move |width| format!("{n:0width$}")));
        for group in groups.filter(|g| g.len() <= 4) {
            for at in 0..4 {
                let mut parts = ["1", "2", "3", "4"].map(String::from);
                if let Some(part) = parts.get_mut(at) {
                    part.clone_from(&group);
                }
                let s = parts.join(".");
                assert_eq!(
                    super::is_plain_ipv4(&s),
                    s.parse::<std::net::Ipv4Addr>().is_ok(),
                    "{s:?}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn plain_ipv4_is_what_the_standard_parser_takes(s in "([0-9]{1,4}[.]){2,4}[0-9]{1,4}|[0-9.]{0,17}") {
            prop_assert_eq!(super::is_plain_ipv4(&s), s.parse::<std::net::Ipv4Addr>().is_ok(), "{:?}", s);
        }

        #[test]
        fn ip_text_matches_the_general_path(s in "[0-9a-fA-F:. ]{0,24}") {
            prop_assert_eq!(canonical_ip_text(&s), general(&s));
        }

        #[test]
        fn ipv4_like_text_matches_the_general_path(
            parts in prop::collection::vec((0u16..300, prop::bool::weighted(0.1)), 3..6),
            space in prop::sample::select(vec!["", "", "", " ", "\t"]),
        ) {
            let parts: Vec<String> = parts
                .iter()
                .map(|(n, zero)| format!("{}{n}", if *zero { "0" } else { "" }))
                .collect();
            let s = format!("{space}{}", parts.join("."));
            prop_assert_eq!(canonical_ip_text(&s), general(&s));
        }
    }
}
