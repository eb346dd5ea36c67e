//! `event_ndjson`: arbitrary text → `FieldTable::parse_event`, as an NDJSON document and wrapped as an
//! Elasticsearch hit (`{"_index", "_id", "_source": ...}`), with fields registered under nested and
//! dotted paths of several types; and the scanner (the fast path) against the serde path on both.

use std::sync::OnceLock;

use engine::event::{EventOptions, ScanDeclined};
use engine::field::FieldTable;
use engine::schema::Schema;

fn table() -> &'static FieldTable {
    static TABLE: OnceLock<FieldTable> = OnceLock::new();
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
        ] {
            table.register(path, &schema);
        }
        table
    })
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

/// Panics when the event reader panics, or its fast path disagrees with the serde path.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let table = table();
    fast_matches_plain(table, text);
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
