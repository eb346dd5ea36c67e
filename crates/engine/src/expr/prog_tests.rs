//! The predicate program and the matcher shortcuts against the plain evaluation they
//! replace, on random conditions, patterns and values (case folding and non-ASCII text
//! included).

use proptest::prelude::*;
use serde_json::json;

use super::wildcard::{Pattern, StringMatcher};
use super::*;
use crate::event::EventOptions;

const OPTS: EventOptions = EventOptions {
    require_timestamp: false,
};

/// Text pieces: ASCII letters in both cases, separators, and characters whose case
/// mappings differ between `to_lowercase` and Unicode simple case folding
/// (`ſ`, Kelvin `K`, `İ`, titlecase `ǅ`, `ß`), plus wildcard characters.
const PIECES: &[&str] = &[
    "a", "A", "b", "B", "s", "S", "k", "K", "x", ".", "\\", "é", "É", "ſ", "\u{212A}", "ß", "İ",
    "ǅ", "cmd", "CMD", "exe",
];

fn arb_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..max).prop_map(|v| v.concat())
}

fn arb_wildcard() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(PIECES),
            2 => Just("*"),
            1 => Just("?"),
        ],
        0..7,
    )
    .prop_map(|v| v.concat())
}

fn arb_pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        8 => arb_wildcard().prop_map(Pattern::Wildcard),
        1 => prop::sample::select(vec!["a.*", "[a-c]+", "ab|AB", ".é.", "x*", "C.D.*"])
            .prop_map(|r| Pattern::Regex(r.to_string())),
    ]
}

fn arb_patterns() -> impl Strategy<Value = Vec<Pattern>> {
    prop_oneof![
        6 => prop::collection::vec(arb_pattern(), 1..6),
        // Past the one-by-one thresholds.
        1 => prop::collection::vec(arb_pattern(), 6..80),
    ]
}

/// A value that `pattern` likely matches: wildcards filled in, letters' case flipped.
fn fill(pattern: &str, star: &str, any: &str, flip: bool) -> String {
    let filled = pattern.replace('*', star).replace('?', any);
    if flip {
        filled
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    } else {
        filled
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn string_matcher_shortcuts_agree_with_plain(
        patterns in arb_patterns(),
        ci in any::<bool>(),
        values in prop::collection::vec(arb_text(8), 1..6),
        pick in any::<prop::sample::Index>(),
        star in arb_text(3),
        any_char in prop::sample::select(vec!["a", "Z", "é", "K", ".", "\u{212A}"]),
        flip in any::<bool>(),
    ) {
        let fast = StringMatcher::new(&patterns, ci);
        let plain = StringMatcher::plain(&patterns, ci);
        prop_assert_eq!(fast.is_ok(), plain.is_ok());
        let (Ok(fast), Ok(plain)) = (fast, plain) else { return Ok(()) };
        let mut values = values;
        if let Pattern::Wildcard(w) = pick.get(&patterns) {
            values.push(fill(w, &star, any_char, flip));
            values.push(fill(w, "", "a", false));
            values.push(format!("{}{}", fill(w, &star, any_char, flip), "x".repeat(300)));
            values.push(format!("{}{}", "X".repeat(300), fill(w, &star, any_char, flip)));
        }
        for v in &values {
            prop_assert_eq!(fast.is_match(v), plain.is_match(v), "{:?} ci={} value {:?}", patterns, ci, v);
        }
    }
}

fn arb_scalar() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (-2i64..4).prop_map(serde_json::Value::from),
        Just(json!(1.5)),
        prop::sample::select(vec![
            "a",
            "A",
            "ab",
            "Ab",
            "b",
            "é",
            "É",
            "ſ",
            "cmd.exe",
            "CMD.EXE",
            "C:\\x\\cmd.exe",
            "10.0.0.1",
            "::1",
            "192.168.1.1",
            "::ffff:10.0.0.1",
            " 10.1.2.3",
            "2020-01-01T00:00:00Z",
            "2020-01-02",
            "1",
            "",
            "\u{212A}",
        ])
        .prop_map(serde_json::Value::from),
    ]
}

fn arb_field_value() -> impl Strategy<Value = Option<serde_json::Value>> {
    prop_oneof![
        1 => Just(None),
        4 => arb_scalar().prop_map(Some),
        2 => prop::collection::vec(arb_scalar(), 0..4).prop_map(|v| Some(serde_json::Value::from(v))),
    ]
}

/// Fields of several types (ECS): untyped, keyword, long, ip, date.
const FIELDS: &[&str] = &[
    "x",
    "y",
    "process.name",
    "process.pid",
    "source.ip",
    "event.created",
];

fn arb_atom() -> impl Strategy<Value = String> {
    let field = || prop::sample::select(FIELDS);
    let text = || {
        prop::sample::select(vec![
            "a",
            "A",
            "ab",
            "é",
            "É",
            "cmd.exe",
            "CMD.exe",
            "1",
            "10.0.0.1",
            "2020-01-01",
        ])
    };
    let pattern = || {
        prop::sample::select(vec![
            "a*", "*B", "*b*", "?b", "A?", "é*", "*.EXE", "c?d*", "cmd.exe", "C:\\\\*", "*", "?*",
        ])
    };
    prop_oneof![
        (field(), text()).prop_map(|(f, s)| format!("{f} == \"{s}\"")),
        (field(), text()).prop_map(|(f, s)| format!("{f} != \"{s}\"")),
        (field(), -1i64..3).prop_map(|(f, n)| format!("{f} == {n}")),
        (field(), -1i64..3).prop_map(|(f, n)| format!("{f} > {n}")),
        (field(), text()).prop_map(|(f, s)| format!("{f} <= \"{s}\"")),
        (field(), pattern()).prop_map(|(f, p)| format!("{f} : \"{p}\"")),
        (field(), pattern(), pattern()).prop_map(|(f, p, q)| format!("{f} : (\"{p}\", \"{q}\")")),
        (field(), pattern()).prop_map(|(f, p)| format!("{f} like \"{p}\"")),
        (field(), pattern()).prop_map(|(f, p)| format!("{f} like~ \"{p}\"")),
        (field(), text(), text()).prop_map(|(f, a, b)| format!("{f} in (\"{a}\", \"{b}\")")),
        (field(), text(), text()).prop_map(|(f, a, b)| format!("{f} in~ (\"{a}\", \"{b}\")")),
        (field(), text()).prop_map(|(f, a)| format!("{f} not in (\"{a}\", null)")),
        (field(), -1i64..3).prop_map(|(f, n)| format!("{f} in ({n}, 2)")),
        field().prop_map(|f| format!("{f} == null")),
        field().prop_map(|f| format!("{f} != null")),
        field().prop_map(|f| format!("{f} regex~ \"a.*\"")),
        field().prop_map(|f| format!("length({f}) > 1")),
        (field(), text()).prop_map(|(f, s)| format!("startsWith~({f}, \"{s}\")")),
        Just("concat(x, y) == \"ab\"".to_string()),
        Just("cidrMatch(source.ip, \"10.0.0.0/8\")".to_string()),
        Just("cidrMatch(source.ip, \"192.168.0.0/16\", \"::1\", \"10.0.0.0/8\")".to_string()),
        Just("cidrMatch(x, \"10.0.0.0/8\", \"fe80::/10\")".to_string()),
        Just("x[0] == \"a\"".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
    ]
}

fn arb_condition() -> impl Strategy<Value = String> {
    arb_atom().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..5)
                .prop_map(|v| format!("({})", v.join(" and "))),
            prop::collection::vec(inner.clone(), 2..5)
                .prop_map(|v| format!("({})", v.join(" or "))),
            inner.clone().prop_map(|c| format!("not {c}")),
            inner.prop_map(|c| format!("not not ({c})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn program_agrees_with_node_evaluation(
        cond in arb_condition(),
        values in prop::collection::vec(arb_field_value(), FIELDS.len()),
    ) {
        let schema = Schema::ecs();
        let Ok(query) = eql::parse(&format!("any where {cond}")) else { return Ok(()) };
        let ast::QueryBody::Event(e) = query.body else { return Ok(()) };
        let mut table = FieldTable::with_defaults(&schema);
        // Type errors (a string against a long field …) are fine: nothing to compare.
        let Ok(compiled) = compile_condition(&e.condition, &schema, &mut table) else { return Ok(()) };
        let mut doc = serde_json::Map::new();
        for (name, v) in FIELDS.iter().zip(&values) {
            if let Some(v) = v {
                doc.insert((*name).to_string(), v.clone());
            }
        }
        let Ok(event) = table.parse_event(&serde_json::Value::Object(doc).to_string(), &OPTS) else {
            return Ok(());
        };
        prop_assert_eq!(compiled.matches(&event), compiled.matches_plain(&event), "{}", cond);
    }
}

#[test]
fn deep_alternation_falls_back_to_nodes() {
    // Deeper than the program keeps: the rest runs on the node list, same answers.
    let mut cond = "x == \"a\"".to_string();
    let mut levels = 0;
    loop {
        let op = if levels % 2 == 0 { "and" } else { "or" };
        let deeper = format!("(y != \"{levels}\" {op} ({cond}))");
        if eql::parse(&format!("any where {deeper}")).is_err() {
            break;
        }
        cond = deeper;
        levels += 1;
    }
    assert!(levels > prog::MAX_DEPTH + 2, "only {levels} levels");
    let schema = Schema::empty();
    let query = eql::parse(&format!("any where {cond}")).unwrap();
    let ast::QueryBody::Event(e) = query.body else {
        panic!("event query")
    };
    let mut table = FieldTable::with_defaults(&schema);
    let compiled = compile_condition(&e.condition, &schema, &mut table).unwrap();
    for doc in [
        json!({"x": "a", "y": "b"}),
        json!({"x": "b", "y": "3"}),
        json!({"x": "b", "y": "b"}),
        json!({}),
    ] {
        let event = table.parse_event(&doc.to_string(), &OPTS).unwrap();
        assert_eq!(
            compiled.matches(&event),
            compiled.matches_plain(&event),
            "{doc}"
        );
    }
}
