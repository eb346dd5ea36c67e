//! `event_ndjson`: arbitrary text → `FieldTable::parse_event`, as an NDJSON document and wrapped as an
//! Elasticsearch hit (`{"_index", "_id", "_source": ...}`), with fields registered under nested and
//! dotted paths of several types; the scanner (the fast path) against the serde path on both; and the
//! pruned walk for lines read for a few fields only (`parse_only_textless`) against the full one; and the
//! times read without an event (`parse_times_textless`) against the times of the event.

use std::sync::OnceLock;

use engine::event::{EventOptions, OnlyFields, ScanDeclined, TimeField};
use engine::field::FieldTable;
use engine::schema::Schema;

fn table() -> &'static FieldTable {
    &table_and_times().0
}

/// Time fields as `tripline run` registers them: the table's own, one a rule registered first as a
/// `date` (`event.created`), one registered only as a time field (`event.ingested`).
fn time_fields() -> &'static [TimeField] {
    &table_and_times().1
}

fn table_and_times() -> &'static (FieldTable, Vec<TimeField>) {
    static TABLE: OnceLock<(FieldTable, Vec<TimeField>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let schema = Schema::ecs();
        let mut table = FieldTable::new(
            &schema,
            "@timestamp",
            Some("event.sequence"),
            "event.category",
        );
        for path in [
            "process.name",
            "process.pid",
            "process.args",
            "process.parent.executable",
            "process.Ext.ancestry",
            "source.ip",
            "destination.port",
            "user.id",
            "host.os.version",
            "file.size",
            "dll.code_signature.trusted",
            "a.b.c",
            "a.b",
            "labels.dotted.key",
            "event.created",
        ] {
            table.register(path, &schema);
        }
        let mut times = vec![table.time_field()];
        for path in ["event.created", "event.ingested"] {
            times.push(table.register_time_field(path, &schema));
        }
        (table, times)
    })
}

/// Where `parse_times_textless` answers, it answers what the event of the line gives.
fn times_match_events(table: &FieldTable, text: &str) {
    static KEPT: OnceLock<OnlyFields> = OnceLock::new();
    let kept = KEPT.get_or_init(|| {
        let mut only = vec![false; table.len()];
        for field in time_fields() {
            if let Some(slot) = only.get_mut(field.id.0 as usize) {
                *slot = true;
            }
        }
        table.only_fields(&only)
    });
    let Some(times) = table.parse_times_textless(text, kept) else {
        return;
    };
    let event = table.parse_only_textless(text, kept);
    assert!(
        event.is_ok(),
        "times read from a line the event path rejects"
    );
    if let Ok(event) = event {
        for field in time_fields() {
            if let Some(ns) = times.nanos(field) {
                assert!(
                    Ok(ns) == field.nanos(&event),
                    "times {ns:?} but event {:?}",
                    field.nanos(&event)
                );
            }
        }
    }
}

fn parse_one(table: &FieldTable, text: &str, options: &EventOptions) {
    match table.parse_event(text, options) {
        Ok(event) => {
            for (id, value) in event.fields() {
                let _path = table.path(id);
                let _json = value.to_json();
                assert!(
                    event.get(id) == value,
                    "slot lookup disagrees with iteration"
                );
            }
            let _index = event.index();
            let _source = event.source();
        }
        Err(error) => {
            let _rendered = error.to_string();
        }
    }
}

/// The scanner (`parse_event`'s fast path) must extract exactly what the serde path does,
/// or leave the document to it: as invalid only when serde rejects it too.
fn fast_matches_plain(table: &FieldTable, text: &str) {
    let plain = table.extract_fields_plain(text);
    match table.extract_fields_fast(text) {
        Ok(fast) => {
            let same = plain
                .as_ref()
                .is_ok_and(|p| format!("{p:?}") == format!("{fast:?}"));
            assert!(same, "scanner {fast:?} but serde path {plain:?}");
        }
        Err(ScanDeclined::Invalid) => {
            assert!(plain.is_err(), "scanner called a valid document invalid");
        }
        Err(ScanDeclined::Unsupported) => {}
    }
}

/// Kept-field sets for the pruned walk: the time field (as `tripline run` uses it for lines no rule
/// can match), with the tiebreaker, and nested/dotted paths sharing prefixes.
fn kept_sets(table: &FieldTable) -> &'static [(Vec<bool>, OnlyFields)] {
    static SETS: OnceLock<Vec<(Vec<bool>, OnlyFields)>> = OnceLock::new();
    SETS.get_or_init(|| {
        let sets: [&[&str]; 3] = [
            &["@timestamp"],
            &["@timestamp", "event.sequence"],
            &["a.b", "a.b.c", "process.name", "labels.dotted.key"],
        ];
        sets.iter()
            .map(|paths| {
                let mut only = vec![false; table.len()];
                for path in *paths {
                    if let Some(slot) = table.id(path).and_then(|id| only.get_mut(id.0 as usize)) {
                        *slot = true;
                    }
                }
                let fields = table.only_fields(&only);
                (only, fields)
            })
            .collect()
    })
}

/// The pruned walk must keep what the full walk keeps, and fail where (and as) it fails.
fn pruned_matches_full(table: &FieldTable, text: &str) {
    for (only, fields) in kept_sets(table) {
        let pruned = table.parse_only_textless(text, fields);
        let full = table.parse_untimed_only_textless(text, only);
        match (pruned, full) {
            (Ok(p), Ok(f)) => {
                let p_fields: Vec<_> = p.fields().map(|(k, v)| (k, v.clone())).collect();
                let f_fields: Vec<_> = f.fields().map(|(k, v)| (k, v.clone())).collect();
                assert!(
                    p_fields == f_fields,
                    "pruned {p_fields:?} but full {f_fields:?}"
                );
                assert!(
                    p.index() == f.index(),
                    "pruned and full walks read _index differently"
                );
            }
            (Err(p), Err(f)) => assert!(p == f, "pruned error {p:?} but full error {f:?}"),
            (p, f) => assert!(p.is_ok() == f.is_ok(), "pruned {p:?} but full {f:?}"),
        }
    }
}

/// Panics when the event reader panics, or its fast path disagrees with the serde path.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let table = table();
    fast_matches_plain(table, text);
    pruned_matches_full(table, text);
    times_match_events(table, text);
    for require_timestamp in [true, false] {
        let options = EventOptions { require_timestamp };
        parse_one(table, text, &options);
        let hit = format!(
            r#"{{"_index":"logs-endpoint.events.process-default","_id":"x","_source":{text}}}"#
        );
        parse_one(table, &hit, &options);
        if require_timestamp {
            fast_matches_plain(table, &hit);
        }
    }
}
