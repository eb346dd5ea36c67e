//! `FieldTable::parse_times_textless` (the times of a line no rule reads beyond its time, read
//! without making an event) against the event path (`parse_only_textless` + `TimeField::nanos`):
//! whenever the shortcut answers, it answers what the event path does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use engine::event::TimeField;
use engine::field::FieldTable;
use engine::schema::Schema;
use proptest::prelude::*;
use serde_json::json;

/// A table as `tripline run` builds it: rules registered some fields (one of them a `date` and one
/// a `date_nanos` that are also time fields), then the groups' time fields were registered.
fn table() -> (FieldTable, Vec<TimeField>) {
    let schema = Schema::from_es_mapping(&json!({"properties": {
        "@timestamp": {"type": "date"},
        "when": {"type": "date"},
        "precise": {"type": "date_nanos"},
        "formatted": {"type": "date", "format": "epoch_second"},
        "k": {"type": "keyword"},
        "event": {"properties": {
            "ingested": {"type": "date"},
            "created": {"type": "date"}
        }}
    }}))
    .unwrap();
    let mut t = FieldTable::new(&schema, "@timestamp", None, "event.category");
    for path in ["when", "precise", "formatted", "k", "event.created"] {
        t.register(path, &schema);
    }
    let mut times = vec![t.time_field()];
    for path in [
        "event.ingested",
        "when",
        "precise",
        "formatted",
        "k",
        "event.created",
    ] {
        times.push(t.register_time_field(path, &schema));
    }
    (t, times)
}

/// Checks the shortcut on `doc`; true when it answered for every time field.
fn check(t: &FieldTable, times: &[TimeField], doc: &str) -> bool {
    let mut only = vec![false; t.len()];
    for field in times {
        only[field.id.0 as usize] = true;
    }
    let kept = t.only_fields(&only);
    let Some(line) = t.parse_times_textless(doc, &kept) else {
        return false;
    };
    let event = t
        .parse_only_textless(doc, &kept)
        .unwrap_or_else(|e| panic!("times read from a line the event path rejects ({e}): {doc}"));
    let mut all = true;
    for field in times {
        match line.nanos(field) {
            Some(ns) => assert_eq!(
                Ok(ns),
                field.nanos(&event),
                "field {:?}, doc: {doc}",
                t.path(field.id)
            ),
            None => all = false,
        }
    }
    all
}

fn time_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // ISO 8601, with every precision and zone form.
        4 => (
            1600i32..2400,
            1u32..13,
            1u32..29,
            0u32..24,
            0u32..60,
            0u32..60,
            prop::option::of("[0-9]{1,9}"),
            prop::sample::select(vec!["Z", "", "+02:00", "-0530", "+00:00"]),
        )
            .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
                let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                format!("\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}\"")
            }),
        1 => (1600i32..2400, 1u32..13, 1u32..29)
            .prop_map(|(y, mo, d)| format!("\"{y:04}-{mo:02}-{d:02}\"")),
        // Epoch milliseconds, as numbers and as strings.
        2 => any::<i64>().prop_map(|ms| ms.to_string()),
        1 => (-10_000_000_000_000i64..10_000_000_000_000).prop_map(|ms| ms.to_string()),
        1 => (-10_000_000_000_000i64..10_000_000_000_000).prop_map(|ms| format!("\"{ms}\"")),
        1 => (-1.0e13f64..1.0e13).prop_map(|ms| format!("{ms:?}")),
        // Things that are no time, or no scalar.
        1 => prop::sample::select(vec![
            "null", "true", "\"\"", "\"yesterday\"", "\"2024-13-01T00:00:00Z\"", "1e400", "[]",
            "{}", "\"\\u0032024-01-01T00:00:00Z\"", "\"2024-01-01T00:00:00\\u005a\"",
        ])
        .prop_map(str::to_string),
    ]
}

/// A value: a time, or an array of them.
fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => time_text(),
        1 => prop::collection::vec(time_text(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
    ]
}

/// A line holding some of the time fields, nested or dotted, possibly twice, among other fields.
fn document() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        (
            prop::sample::select(vec![
                "@timestamp",
                "when",
                "precise",
                "formatted",
                "k",
                "event.ingested",
                "event.created",
                "other",
            ]),
            value_text()
        )
            .prop_map(|(k, v)| format!("\"{k}\":{v}")),
        (
            prop::sample::select(vec!["ingested", "created", "action"]),
            value_text()
        )
            .prop_map(|(k, v)| format!("\"event\":{{\"{k}\":{v},\"kind\":\"event\"}}")),
    ];
    prop::collection::vec(member, 0..6).prop_map(|m| format!("{{{}}}", m.join(",")))
}

#[test]
fn a_usual_line_is_answered_without_an_event() {
    let (t, times) = table();
    let doc = r#"{"@timestamp":"2025-11-28T08:00:00.004Z","event":{"ingested":"2025-11-28T08:00:01.5Z","created":"2025-11-28T08:00:00.004Z"},"when":1764316800004,"precise":"2025-11-28T08:00:00.123456789Z","formatted":"2025-11-28T08:00:00Z","k":"2025-11-28T08:00:00Z","process":{"name":"x"}}"#;
    let mut only = vec![false; t.len()];
    for field in &times {
        only[field.id.0 as usize] = true;
    }
    let line = t
        .parse_times_textless(doc, &t.only_fields(&only))
        .expect("a usual line");
    assert_eq!(line.nanos(&times[0]), Some(Some(1_764_316_800_004_000_000)));
    assert_eq!(line.nanos(&times[1]), Some(Some(1_764_316_801_500_000_000)));
    assert_eq!(line.nanos(&times[2]), Some(Some(1_764_316_800_004_000_000)));
    assert_eq!(line.nanos(&times[3]), Some(Some(1_764_316_800_123_456_789)));
    // `formatted` has a format of its own, `k` is a keyword: those are left to the event path.
    assert_eq!(line.nanos(&times[4]), None);
    assert_eq!(line.nanos(&times[5]), None);
    assert_eq!(line.nanos(&times[6]), Some(Some(1_764_316_800_004_000_000)));
    check(&t, &times, doc);
}

#[test]
fn unusual_lines_take_the_event_path() {
    let (t, times) = table();
    let mut only = vec![false; t.len()];
    for field in &times {
        only[field.id.0 as usize] = true;
    }
    let kept = t.only_fields(&only);
    for doc in [
        r#"{"@timestamp":"2025-11-28T08:00:00Z""#,
        r#"[{"@timestamp":"2025-11-28T08:00:00Z"}]"#,
    ] {
        assert!(t.parse_times_textless(doc, &kept).is_none(), "{doc}");
    }
    // Values the shortcut does not model leave their field unknown.
    for doc in [
        r#"{"@timestamp":null}"#,
        r#"{"@timestamp":"yesterday"}"#,
        r#"{"@timestamp":true}"#,
        r#"{"@timestamp":[null,"2025-11-28T08:00:00Z"]}"#,
        // An instant whose millisecond no epoch nanoseconds can hold.
        r#"{"@timestamp":"-9223372036854.775"}"#,
    ] {
        let line = t.parse_times_textless(doc, &kept).expect(doc);
        assert_eq!(line.nanos(&times[0]), None, "{doc}");
        assert_eq!(line.nanos(&times[1]), Some(None), "{doc}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn times_are_what_the_event_path_reads(doc in document()) {
        let (t, times) = table();
        check(&t, &times, &doc);
    }

    /// Most generated lines are answered (the property above is not met by declining).
    #[test]
    fn clean_lines_are_answered(
        stamps in prop::collection::vec(
            // Within the instants epoch nanoseconds can hold.
            (1700i32..2200, 1u32..13, 1u32..29, 0u32..24, prop::option::of("[0-9]{1,9}")),
            3,
        )
    ) {
        let (t, times) = table();
        let iso: Vec<String> = stamps
            .iter()
            .map(|(y, mo, d, h, frac)| {
                let frac = frac.as_ref().map(|f| format!(".{f}")).unwrap_or_default();
                format!("\"{y:04}-{mo:02}-{d:02}T{h:02}:00:00{frac}Z\"")
            })
            .collect();
        let doc = format!(
            r#"{{"@timestamp":{},"event":{{"ingested":{}}},"when":{},"precise":{}}}"#,
            iso[0], iso[1], iso[2], iso[1]
        );
        let answered = times
            .iter()
            .filter(|f| f.format.is_none() && t.path(f.id) != "k")
            .count();
        prop_assert!(answered >= 4);
        let mut only = vec![false; t.len()];
        for field in &times {
            only[field.id.0 as usize] = true;
        }
        let line = t.parse_times_textless(&doc, &t.only_fields(&only));
        prop_assert!(line.is_some(), "{}", doc);
        check(&t, &times, &doc);
        let line = line.unwrap();
        let told = times.iter().filter(|f| line.nanos(f).is_some()).count();
        prop_assert!(told >= answered, "{} of {} told: {}", told, answered, doc);
    }
}
