//! Operator and function semantics, checked against Elasticsearch's documented and
//! spec-pinned behaviour.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::event::EventOptions;

const OPTS: EventOptions = EventOptions {
    require_timestamp: false,
};

fn condition(text: &str) -> ast::Expr {
    let query =
        eql::parse(&format!("any where {text}")).unwrap_or_else(|e| panic!("parse {text}: {e:?}"));
    match query.body {
        ast::QueryBody::Event(e) => e.condition,
        other => panic!("not an event query: {other:?}"),
    }
}

/// Evaluates `cond` over `doc` with `schema`.
fn eval_with(schema: &Schema, cond: &str, doc: &serde_json::Value) -> bool {
    let mut table = FieldTable::with_defaults(schema);
    let compiled = compile_condition(&condition(cond), schema, &mut table)
        .unwrap_or_else(|e| panic!("{cond}: {e:?}"));
    let event = table.parse_event(&doc.to_string(), &OPTS).unwrap();
    compiled.matches(&event)
}

fn check(cond: &str, doc: serde_json::Value) -> bool {
    eval_with(&Schema::empty(), cond, &doc)
}

fn value_of(cond: &str, doc: serde_json::Value) -> Value {
    let schema = Schema::empty();
    let mut table = FieldTable::with_defaults(&schema);
    let compiled = compile_key(&condition(cond), &schema, &mut table).unwrap();
    let event = table.parse_event(&doc.to_string(), &OPTS).unwrap();
    compiled.eval(&event)
}

fn compile_errors(schema: &Schema, cond: &str) -> Vec<String> {
    let mut table = FieldTable::with_defaults(schema);
    match compile_condition(&condition(cond), schema, &mut table) {
        Ok(_) => Vec::new(),
        Err(d) => d.into_iter().map(|d| d.message).collect(),
    }
}

#[test]
fn equality_is_exact_and_case_sensitive() {
    let doc = json!({"name": "Explorer.EXE", "n": 5});
    assert!(check(r#"name == "Explorer.EXE""#, doc.clone()));
    assert!(!check(r#"name == "explorer.exe""#, doc.clone()));
    assert!(check("n == 5", doc.clone()));
    assert!(check("n == 5.0", doc.clone()));
    assert!(check("n < 5.5 and n >= 4.9", doc.clone()));
    assert!(check(r#"name != "x""#, doc.clone()));
    assert!(!check(r#"name != "Explorer.EXE""#, doc.clone()));
    assert!(check(r#""System" < "system""#, doc.clone()));
    assert!(check(r#"name != "* /add*""#, json!({"name": "a /add b"})));
}

#[test]
fn colon_is_case_insensitive_wildcard() {
    let doc = json!({"p": "C:\\Windows\\System32\\CMD.exe"});
    assert!(check(r#"p : "c:\\windows\\*\\cmd.EXE""#, doc.clone()));
    assert!(check(r#"p : ("x", "*cmd.exe")"#, doc.clone()));
    assert!(!check(r#"p : "*cmd""#, doc.clone()));
    assert!(check(
        r#"p : "c:\\windows\\system32\\cmd.ex?""#,
        doc.clone()
    ));
    assert!(check(r#"p like~ "*CMD.EXE""#, doc.clone()));
    assert!(!check(r#"p like "*cmd.exe""#, doc.clone()));
    assert!(check(r#"p like "*CMD.exe""#, doc.clone()));
}

#[test]
fn in_and_in_insensitive() {
    let doc = json!({"p": "Net.exe", "n": 3});
    assert!(check(r#"p in ("net1.exe", "Net.exe")"#, doc.clone()));
    assert!(!check(r#"p in ("net.exe")"#, doc.clone()));
    assert!(check(r#"p in~ ("net.exe")"#, doc.clone()));
    assert!(!check(r#"p in~ ("net*")"#, doc.clone()));
    assert!(check("n in (1, 2, 3.0)", doc.clone()));
    assert!(check("n not in (1, 2)", doc.clone()));
    // `not in` is a must_not terms query: a missing field matches.
    assert!(check("missing not in (1, 2)", doc.clone()));
    assert!(!check("missing in (1, 2)", doc));
}

#[test]
fn regex_is_anchored() {
    let doc = json!({"c": "2045"});
    assert!(check(r#"c regex "[24][0-9]{3}""#, doc.clone()));
    assert!(!check(r#"c regex "[0-9]{3}""#, doc.clone()));
    assert!(check(r#"c regex~ "20.*""#, doc));
    assert!(check(r#"c regex~ "ABC""#, json!({"c": "abc"})));
    assert!(!check(r#"c regex "ABC""#, json!({"c": "abc"})));
}

#[test]
fn null_logic() {
    let doc = json!({"a": 1});
    // Comparisons with a missing field are null: no match, either way round.
    assert!(!check("missing > 0", doc.clone()));
    assert!(!check("missing < 0", doc.clone()));
    assert!(check("missing == null", doc.clone()));
    assert!(!check("a == null", doc.clone()));
    assert!(check("a != null", doc.clone()));
    // `null == (cmp)` where the comparison is null: true (nullEqualityWithGtAndHead).
    assert!(check("null == (missing > -1)", doc.clone()));
    assert!(!check("null == (a > -1)", doc.clone()));
    // `field != constant` is a must_not term query: a missing field matches.
    assert!(check(r#"missing != "x""#, doc.clone()));
    // `not` over a query is two-valued (bool must_not).
    assert!(check("not missing > 0", doc.clone()));
    assert!(check(r#"not missing : "x*""#, doc.clone()));
    // Function results that are null never match.
    assert!(!check(r#"length(missing) != 3"#, doc.clone()));
    assert!(!check(r#"concat(a, missing) == "1""#, doc));
}

#[test]
fn multi_valued_fields_match_any_element() {
    let doc = json!({"tags": ["a", "b"], "n": [1, 10]});
    assert!(check(r#"tags == "b""#, doc.clone()));
    assert!(check(r#"tags : "B""#, doc.clone()));
    assert!(check(r#"tags in ("x", "a")"#, doc.clone()));
    assert!(check("n > 5 and n < 5", doc.clone()));
    // must_not term: true only when no element equals.
    assert!(!check(r#"tags != "a""#, doc.clone()));
    assert!(check(r#"tags != "c""#, doc.clone()));
    // Scripts iterate the values too.
    assert!(check(
        r#"length(tags) == 1 and startsWith(tags, "b")"#,
        doc.clone()
    ));
    assert!(check("n + 1 == 11", doc.clone()));
    // Arrays of objects flatten.
    assert!(check(
        r#"p.name == "y""#,
        json!({"p": [{"name": "x"}, {"name": "y"}]})
    ));
}

#[test]
fn arithmetic() {
    let doc = json!({"id": 83, "f": 2.5});
    assert!(check("id / 2 == 41", doc.clone()));
    assert!(check("id % 10 == 3", doc.clone()));
    assert!(check("id / 2.0 == 41.5", doc.clone()));
    assert!(check("f * 2 == 5", doc.clone()));
    assert!(check("-id == -83", doc.clone()));
    assert!(check(
        "add(id, 1) == 84 and subtract(id, 3) == 80",
        doc.clone()
    ));
    assert!(check(
        "multiply(id, 2) == 166 and divide(id, 2) == 41 and modulo(id, 2) == 1",
        doc.clone()
    ));
    // Overflow and integer division by zero give null, never a panic.
    assert!(!check("id * 9223372036854775807 > 0", doc.clone()));
    assert!(!check("id / 0 == 0", doc.clone()));
    assert!(!check("(id / 0) != 0", doc));
}

#[test]
fn string_functions() {
    let doc = json!({"f": "explorer.exe", "e": ""});
    assert!(check(
        r#"startsWith(f, "explorer") and not startsWith(f, "EXPLORER")"#,
        doc.clone()
    ));
    assert!(check(
        r#"startsWith~(f, "EXPLORER") and endsWith~(f, ".EXE")"#,
        doc.clone()
    ));
    assert!(check(
        r#"stringContains(f, "plore") and stringContains~(f, "PLORE")"#,
        doc.clone()
    ));
    assert!(check(
        r#"indexOf(f, "plore") == 2 and indexOf(f, "x") == 1 and indexOf(f, "plore", 3) == null"#,
        doc.clone()
    ));
    assert!(check(r#"indexOf~(f, "PLORE") == 2"#, doc.clone()));
    assert!(check(r#"length(f) == 12 and length(e) == 0"#, doc.clone()));
    assert!(check(
        r#"substring(f, -4) == ".exe" and substring(f, 0, 3) == "exp""#,
        doc.clone()
    ));
    assert!(check(r#"between(f, "ex", ".") == "plorer""#, doc.clone()));
    assert!(check(
        r#"concat(f, "-", 1) == "explorer.exe-1""#,
        doc.clone()
    ));
    assert!(check(r#"string(length(f)) == "12""#, doc.clone()));
    assert!(check(
        r#"number("0x32", 16) == 50 and number("12") == 12"#,
        doc
    ));
}

#[test]
fn typed_fields() {
    let schema = Schema::from_es_mapping(&json!({"properties": {
        "ip": {"type": "ip"}, "v": {"type": "version"}, "k": {"type": "keyword"}, "n": {"type": "long"}
    }}))
    .unwrap();
    let doc = json!({"ip": "10.6.48.157", "v": "1.11.3", "k": "12", "n": "40"});
    assert!(eval_with(
        &schema,
        r#"cidrMatch(ip, "10.6.48.157/8")"#,
        &doc
    ));
    assert!(eval_with(
        &schema,
        r#"cidrMatch(ip, "192.168.0.0/16", "10.0.0.0/8")"#,
        &doc
    ));
    assert!(!eval_with(
        &schema,
        r#"cidrMatch(ip, "192.168.0.0/16")"#,
        &doc
    ));
    assert!(eval_with(&schema, r#"ip == "10.6.48.157""#, &doc));
    assert!(eval_with(&schema, r#"ip == "::ffff:10.6.48.157""#, &doc));
    assert!(eval_with(&schema, r#"ip > "10.6.48.20""#, &doc));
    assert!(eval_with(&schema, r#"v > "1.5.0""#, &doc));
    assert!(!eval_with(&schema, r#"v < "1.5.0""#, &doc));
    assert!(!eval_with(&schema, r#"v < "1.5.0""#, &json!({"v": "bad"})));
    assert!(eval_with(
        &schema,
        r#"v < "1.5.0""#,
        &json!({"v": "1.2.4-SNAPSHOT"})
    ));
    // A number against a keyword field compares as its text, as a term query does.
    assert!(eval_with(&schema, "k == 12", &doc));
    assert!(eval_with(&schema, "n == 40 and n > 39", &doc));
}

#[test]
fn strict_schema_errors_and_optional_fields() {
    let schema = Schema::from_es_mapping(&json!({"properties": {
        "k": {"type": "keyword"}, "n": {"type": "long"}, "o": {"type": "keyword", "null_value": "NULL"}
    }}))
    .unwrap();
    assert_eq!(
        compile_errors(&schema, r#"nope == "x""#),
        vec!["unknown field `nope`"]
    );
    assert!(compile_errors(&schema, r#"?nope == "x""#).is_empty());
    assert!(!eval_with(&schema, r#"?nope == "x""#, &json!({})));
    assert!(eval_with(&schema, "?nope == null", &json!({})));
    assert!(!compile_errors(&schema, r#"n == "abc""#).is_empty());
    assert!(!compile_errors(&schema, r#"length(n) > 1"#).is_empty());
    assert!(!compile_errors(&schema, r#"k == n"#).is_empty());
    assert!(!compile_errors(&schema, r#"k regex "(a""#).is_empty());
    assert!(!compile_errors(&schema, r#"cidrMatch(k, "10.0.0.0/8")"#).is_empty());
    // null_value: an explicit null reads as the mapping's value.
    assert!(eval_with(&schema, r#"?o == "NULL""#, &json!({"o": null})));
    assert!(eval_with(&schema, "?o == null", &json!({})));
    assert!(!eval_with(&schema, "?o == null", &json!({"o": null})));
    // Free-form JSON: unknown fields are fine and null.
    assert!(compile_errors(&Schema::ecs(), r#"nope == "x""#).is_empty());
}

#[test]
fn category_predicate() {
    let schema = Schema::empty();
    let mut table = FieldTable::with_defaults(&schema);
    let query = eql::parse(r#"process where true"#).unwrap();
    let ast::QueryBody::Event(eq) = &query.body else {
        panic!()
    };
    let stage = compile_event_query(eq, &schema, &mut table).unwrap();
    let parse = |d: serde_json::Value| table.parse_event(&d.to_string(), &OPTS).unwrap();
    assert!(stage.matches(&parse(json!({"event": {"category": "process"}}))));
    assert!(stage.matches(&parse(
        json!({"event": {"category": ["network", "process"]}})
    )));
    assert!(!stage.matches(&parse(json!({"event": {"category": "Process"}}))));
    assert!(!stage.matches(&parse(json!({}))));
    assert_eq!(stage.category(), Some("process"));
}

#[test]
fn key_values() {
    assert_eq!(
        value_of("a", json!({"a": [1, 2]})),
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(value_of("a", json!({})), Value::Null);
    assert_eq!(
        value_of("concat(a, \"x\")", json!({"a": "q"})),
        Value::str("qx")
    );
}

#[test]
fn large_wildcard_lists() {
    let pats: Vec<String> = (0..400).map(|i| format!("\"*\\\\tool{i}.exe\"")).collect();
    let cond = format!("p : ({})", pats.join(", "));
    assert!(check(&cond, json!({"p": "C:\\x\\TOOL399.exe"})));
    assert!(!check(&cond, json!({"p": "C:\\x\\TOOL400.exe"})));
}

fn arb_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (-3i64..3).prop_map(serde_json::Value::from),
        prop::sample::select(vec!["a", "b", "A"]).prop_map(serde_json::Value::from),
    ]
}

fn arb_atom() -> impl Strategy<Value = String> {
    prop_oneof![
        (prop::sample::select(vec!["x", "y", "z"]), -2i64..2)
            .prop_map(|(f, n)| format!("{f} > {n}")),
        (
            prop::sample::select(vec!["x", "y", "z"]),
            prop::sample::select(vec!["a", "b"])
        )
            .prop_map(|(f, s)| format!("{f} : \"{s}\"")),
        prop::sample::select(vec!["x", "y", "z"]).prop_map(|f| format!("{f} == null")),
        prop::sample::select(vec!["x", "y", "z"]).prop_map(|f| format!("length({f}) > 0")),
        prop::sample::select(vec!["x", "y"]).prop_map(|f| format!("{f} != 1")),
    ]
}

proptest! {
    #[test]
    fn double_negation_and_de_morgan(x in arb_value(), y in arb_value(), z in arb_value(), a in arb_atom(), b in arb_atom()) {
        let doc = json!({"x": x, "y": y, "z": z});
        let ea = check(&a, doc.clone());
        prop_assert_eq!(check(&format!("not not ({a})"), doc.clone()), ea);
        prop_assert_eq!(check(&format!("not ({a})"), doc.clone()), !ea);
        prop_assert_eq!(
            check(&format!("not (({a}) and ({b}))"), doc.clone()),
            check(&format!("not ({a}) or not ({b})"), doc.clone())
        );
        prop_assert_eq!(
            check(&format!("not (({a}) or ({b}))"), doc.clone()),
            check(&format!("not ({a}) and not ({b})"), doc)
        );
    }

    #[test]
    fn three_valued_inside_scripts(x in arb_value(), y in arb_value()) {
        // Inside a leaf (`null == (...)`), `not` and `and` are three-valued.
        let doc = json!({"x": x, "y": y});
        let inner_null = check("null == (x > 0 and y > 0)", doc.clone());
        let negated_null = check("null == (not (x > 0 and y > 0))", doc);
        prop_assert_eq!(inner_null, negated_null);
    }

    #[test]
    fn json_shapes_give_identical_slots(name in "[a-z]{0,6}", pid in any::<i64>(), tags in prop::collection::vec("[a-z]{1,3}", 0..3)) {
        let schema = Schema::empty();
        let mut table = FieldTable::with_defaults(&schema);
        let ids: Vec<FieldId> = ["process.name", "process.pid", "process.parent.tags"]
            .iter().map(|p| table.register(p, &schema)).collect();
        let nested = json!({"process": {"name": name, "pid": pid, "parent": {"tags": tags}}});
        let flat = json!({"process.name": name, "process.pid": pid, "process.parent.tags": tags});
        let mixed = json!({"process": {"name": name, "parent.tags": tags}, "process.pid": pid});
        let hit = json!({"_index": "i", "_id": "1", "_source": nested});
        let base = table.parse_event(&nested.to_string(), &OPTS).unwrap();
        for doc in [flat, mixed, hit] {
            let ev = table.parse_event(&doc.to_string(), &OPTS).unwrap();
            for id in &ids {
                prop_assert_eq!(ev.get(*id), base.get(*id));
            }
        }
    }
}
