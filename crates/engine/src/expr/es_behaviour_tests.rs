//! Elasticsearch behaviours the conformance suite does not pin, each grounded in the
//! Elasticsearch source (x-pack/plugin/eql and x-pack/plugin/ql) named in its comment.

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

fn eval_with(schema: &Schema, cond: &str, doc: serde_json::Value) -> bool {
    let mut table = FieldTable::with_defaults(schema);
    let compiled = compile_condition(&condition(cond), schema, &mut table)
        .unwrap_or_else(|e| panic!("{cond}: {e:?}"));
    let event = table.parse_event(&doc.to_string(), &OPTS).unwrap();
    compiled.matches(&event)
}

fn check(cond: &str, doc: serde_json::Value) -> bool {
    eval_with(&Schema::empty(), cond, doc)
}

fn value_of(cond: &str, doc: serde_json::Value) -> Value {
    let schema = Schema::empty();
    let mut table = FieldTable::with_defaults(&schema);
    let compiled = compile_key(&condition(cond), &schema, &mut table).unwrap();
    let event = table.parse_event(&doc.to_string(), &OPTS).unwrap();
    compiled.eval(&event)
}

fn errors(schema: &Schema, cond: &str) -> Vec<String> {
    let mut table = FieldTable::with_defaults(schema);
    match compile_condition(&condition(cond), schema, &mut table) {
        Ok(_) => Vec::new(),
        Err(d) => d.into_iter().map(|d| d.message).collect(),
    }
}

fn mapping() -> Schema {
    Schema::from_es_mapping(&json!({"properties": {
        "k": {"type": "keyword"}, "n": {"type": "long"}, "ip": {"type": "ip"},
        "v": {"type": "version"}, "b": {"type": "boolean"},
        "d": {"type": "date"}, "dd": {"type": "date", "format": "dd-MM-yyyy"}
    }}))
    .unwrap()
}

/// Analyzer `ResolveOrReplaceOptionalRefs` replaces an unmapped `?field` in a filter by
/// a null literal before the verifier runs; optimizer `ReplaceNullChecks` then turns
/// `x == null` / `x != null` into `IsNull` / `not IsNull`. Field-to-field comparisons
/// stay errors (ql `ExpressionTranslators.BinaryComparisons.checkBinaryComparison`:
/// "Comparisons against fields are not (currently) supported").
#[test]
fn unmapped_optional_fields_are_null_literals() {
    let schema = mapping();
    assert!(errors(&schema, "?x == ?y").is_empty());
    assert!(eval_with(&schema, "?x == ?y", json!({})));
    assert!(!eval_with(&schema, "?x != ?y", json!({})));
    assert!(eval_with(&schema, "k == ?y", json!({})));
    assert!(!eval_with(&schema, "k == ?y", json!({"k": "a"})));
    assert!(eval_with(&schema, r#"?x != "a""#, json!({})));
    assert!(eval_with(
        &schema,
        r#"?x in ("a", null) or true"#,
        json!({})
    ));
    assert!(!errors(&schema, "k == n").is_empty());
    assert!(!errors(&schema, "?k == n").is_empty());
}

/// ql `In.resolveType`: every member must be foldable ("Comparisons against fields are
/// not (currently) supported", EQL `VerifierTests.testPropertyEquationInClauseFilterUnsupported`)
/// and type-compatible with the value (`DataTypes.areCompatible`).
#[test]
fn in_needs_compatible_constants() {
    let schema = mapping();
    assert!(!errors(&schema, r#"k in (k, "SYSTEM")"#).is_empty());
    assert!(!errors(&schema, r#"n in (1, "2")"#).is_empty());
    assert!(!errors(&schema, r#"k in ("a", 1)"#).is_empty());
    assert!(!errors(&schema, "b in (true, 1)").is_empty());
    assert!(errors(&schema, "n in (1, 2.5, null)").is_empty());
    assert!(eval_with(&schema, "n in (1, 2.0)", json!({"n": 2})));
    assert!(!eval_with(&schema, "n in (1, 2.5)", json!({"n": 2})));
    // `in` on a field is a terms query over the non-null members and `not` a must_not
    // around it (ql `ExpressionTranslators.InComparisons`): null members just drop out.
    assert!(!eval_with(&schema, "n in (1, null)", json!({"n": 2})));
    assert!(eval_with(&schema, "not n in (1, null)", json!({"n": 2})));
    assert!(eval_with(
        &schema,
        r#"?x in ("a", null) == null"#,
        json!({})
    ));
}

/// EQL `InsensitiveBinaryComparison.resolveInputType` requires strings on both sides of
/// `:` ("…; consider using [==] instead"); `Like`/`RLike` require a string field. ip and
/// version fields are not strings.
#[test]
fn colon_needs_strings_on_both_sides() {
    let schema = mapping();
    assert!(!errors(&schema, "n : 5").is_empty());
    assert!(!errors(&schema, r#"n : "5""#).is_empty());
    assert!(!errors(&schema, "k : 5").is_empty());
    assert!(!errors(&schema, r#"ip : "10.*""#).is_empty());
    assert!(!errors(&schema, r#"v like "1.*""#).is_empty());
    assert!(errors(&schema, r#"k : "5*""#).is_empty());
}

/// ql `ExpressionTranslators.BinaryComparisons`: `field != constant` is a `NotQuery`
/// around the term query, and `not in` is `not` of a terms query: true when no value
/// equals, which includes a missing field; false when any element of an array equals.
#[test]
fn negations_on_arrays_and_missing_fields() {
    let doc = json!({"tags": ["a", "b"], "n": [1, 5]});
    assert!(!check(r#"tags != "a""#, doc.clone()));
    assert!(check(r#"tags != "c""#, doc.clone()));
    assert!(!check(r#"tags not in ("b", "x")"#, doc.clone()));
    assert!(check(r#"tags not in ("c", "x")"#, doc.clone()));
    assert!(check(r#"missing != "a""#, doc.clone()));
    assert!(check(r#"missing not in ("a")"#, doc.clone()));
    assert!(!check("n != 5", doc.clone()));
    // Inside a function the comparison is a script on the first value: no rewrite.
    assert!(!check(r#"length(missing) != 1"#, doc));
}

/// Case-insensitive functions lowercase both sides with `toLowerCase(Locale.ROOT)`
/// (EQL `StringUtils.stringContains` / `between`, `StartsWithFunctionProcessor`), which
/// maps whole strings: Greek capital sigma at a word end becomes final sigma.
#[test]
fn unicode_case_folding_in_tilde_functions() {
    let doc = json!({"s": "ΟΔΟΣ", "e": "ÉCOLE", "g": "STRASSE"});
    assert!(check(r#"endsWith~(s, "ς")"#, doc.clone()));
    assert!(check(r#"startsWith~(e, "éc")"#, doc.clone()));
    assert!(check(r#"stringContains~(e, "COL")"#, doc.clone()));
    assert!(check(r#"indexOf~(e, "olE") == 2"#, doc.clone()));
    // No full case folding: ß is not "ss".
    assert!(!check(r#"stringContains~(g, "ß")"#, doc.clone()));
    assert!(check(r#"e : "écol*""#, doc.clone()));
    assert!(check(r#"e in~ ("école")"#, doc.clone()));
    // `regex~` folds ASCII only (ql `RLikePattern`: `RegExp.ASCII_CASE_INSENSITIVE`).
    assert!(check(r#"e regex~ "Éc.*""#, doc.clone()));
    assert!(!check(r#"e regex~ "éc.*""#, doc));
}

/// EQL `StringUtils.between`: an empty input or bound returns the input; a missing
/// bound gives ""; greedy takes the last right bound (`lastIndexOf`), and when that
/// lies before the left bound's end Java's `substring` throws (null here).
#[test]
fn between_edge_cases() {
    let doc = json!({"s": "a-b-c", "l": "a-b-c-d", "e": ""});
    let between = |args: &str| value_of(&format!("between({args})"), doc.clone());
    assert_eq!(between(r#"s, "", "-""#), Value::str("a-b-c"));
    assert_eq!(between(r#"e, "a", "b""#), Value::str(""));
    assert_eq!(between(r#"s, "x", "-""#), Value::str(""));
    assert_eq!(between(r#"s, "-", "x""#), Value::str(""));
    assert_eq!(between(r#"s, "-", "-""#), Value::str("b"));
    assert_eq!(between(r#"s, "-", "-", true"#), Value::str("b"));
    assert_eq!(between(r#"l, "-", "-", true"#), Value::str("b-c"));
    assert_eq!(between(r#"s, "b", "a", true"#), Value::Null);
    assert_eq!(between(r#"s, "B", "C", false"#), Value::str(""));
    assert_eq!(
        value_of(r#"between~(s, "B", "C")"#, doc.clone()),
        Value::str("-")
    );
    assert_eq!(between(r#"missing, "a", "b""#), Value::Null);
}

/// EQL `StringUtils.substringSlice`: Python slice semantics on UTF-16 units.
#[test]
fn substring_negative_indices() {
    let doc = json!({"s": "hello", "e": ""});
    let sub = |args: &str| value_of(&format!("substring({args})"), doc.clone());
    assert_eq!(sub("s, -3"), Value::str("llo"));
    assert_eq!(sub("s, -10, 2"), Value::str("he"));
    assert_eq!(sub("s, 1, -1"), Value::str("ell"));
    assert_eq!(sub("s, 3, 1"), Value::str(""));
    assert_eq!(sub("s, 2, 100"), Value::str("llo"));
    assert_eq!(sub("s, -2, -4"), Value::str(""));
    assert_eq!(sub("e, 1"), Value::str(""));
    assert_eq!(sub("s, 0, 5"), Value::str("hello"));
}

/// EQL `ToNumberFunctionProcessor`: base 10 goes through `DecimalFormat.parse` over
/// the whole string (a long when integral, else a double; exponent `E` only), other
/// bases through `Integer.parseInt`; a `0x` prefix means base 16 when no base is given.
#[test]
fn number_with_radix_and_floats() {
    let doc = json!({});
    let num = |args: &str| value_of(&format!("number({args})"), doc.clone());
    assert_eq!(num(r#""0x1F""#), Value::Int(31));
    assert_eq!(num(r#""1F", 16"#), Value::Int(31));
    assert_eq!(num(r#""-1F", 16"#), Value::Int(-31));
    assert_eq!(num(r#""0x1F", 10"#), Value::Null);
    assert_eq!(num(r#""ffffffff", 16"#), Value::Null); // beyond a Java int
    assert_eq!(num(r#""101", 2"#), Value::Int(5));
    assert_eq!(num(r#""2.0""#), Value::Int(2));
    assert_eq!(num(r#""1.5""#), Value::Float(1.5));
    assert_eq!(num(r#"".5""#), Value::Float(0.5));
    assert_eq!(num(r#""1E3""#), Value::Int(1000));
    assert_eq!(num(r#""1E-3""#), Value::Float(0.001));
    assert_eq!(num(r#""1e3""#), Value::Null);
    assert_eq!(num(r#""1E+3""#), Value::Null);
    assert_eq!(num(r#""+5""#), Value::Null);
    assert_eq!(num(r#""1,000""#), Value::Null);
    assert_eq!(num(r#""9223372036854775807""#), Value::Int(i64::MAX));
    assert_eq!(num(r#""1", 37"#), Value::Null);
}

/// EQL `CIDRUtils.isInRange`: IPv6 blocks, single addresses; an IPv4 address against
/// an IPv6 block is compared in its IPv4-mapped form (`encode`), and an IPv4-mapped
/// address is IPv4 (Java's `InetAddress.getByAddress`); prefixes past 32/128 fail.
#[test]
fn cidr_match_ipv6() {
    let schema = mapping();
    let m = |ip: &str, blocks: &str| {
        eval_with(
            &schema,
            &format!("cidrMatch(ip, {blocks})"),
            json!({ "ip": ip }),
        )
    };
    assert!(m("2001:db8::1", r#""2001:db8::/32""#));
    assert!(!m("2001:db9::1", r#""2001:db8::/32""#));
    assert!(m("fe80::1", r#""10.0.0.0/8", "fe80::/10""#));
    assert!(m("::1", r#""::1""#));
    assert!(m("10.0.0.1", r#""::/0""#));
    assert!(m("10.0.0.1", r#""::ffff:0:0/96""#));
    assert!(!m("10.0.0.1", r#""2001:db8::/32""#));
    assert!(m("::ffff:10.1.2.3", r#""10.0.0.0/8""#));
    assert!(!errors(&schema, r#"cidrMatch(ip, "2001:db8::/129")"#).is_empty());
}

/// The `version` field type (x-pack versionfield `VersionEncoder`) orders by Semantic
/// Versioning precedence: numeric parts numerically, a pre-release before its release,
/// pre-release identifiers numeric < alphanumeric, more identifiers after fewer; invalid
/// versions after every valid one.
#[test]
fn version_with_pre_release() {
    let schema = mapping();
    let lt = |a: &str, b: &str| eval_with(&schema, &format!(r#"v < "{b}""#), json!({ "v": a }));
    let chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
        "not-a-version",
    ];
    for pair in chain.windows(2) {
        assert!(lt(pair[0], pair[1]), "{} < {}", pair[0], pair[1]);
        assert!(!lt(pair[1], pair[0]), "!({} < {})", pair[1], pair[0]);
    }
}

/// A date field reads query constants with its mapping `format`, and a term or range
/// query rounds a partial date (`DateFieldType.termQuery` → `rangeQuery` with the
/// round-up parser for inclusive upper bounds: `JavaDateMathParser` / `roundUpParser`).
#[test]
fn date_constants_use_the_format_and_round() {
    let schema = mapping();
    let noon = json!({"d": "2022-12-17T12:00:00Z", "dd": "17-12-2022"});
    assert!(eval_with(&schema, r#"d == "2022-12-17""#, noon.clone()));
    assert!(!eval_with(&schema, r#"d < "2022-12-17""#, noon.clone()));
    assert!(eval_with(&schema, r#"d <= "2022-12-17""#, noon.clone()));
    assert!(!eval_with(&schema, r#"d > "2022-12-17""#, noon.clone()));
    assert!(eval_with(&schema, r#"d >= "2022-12-17""#, noon.clone()));
    assert!(eval_with(&schema, r#"d == "2022-12-17T12""#, noon.clone()));
    assert!(!eval_with(&schema, r#"d == "2022-12-17T11""#, noon.clone()));
    assert!(eval_with(&schema, "d == 1671278400000", noon.clone()));
    assert!(eval_with(
        &schema,
        r#"d in ("2022-12-16", "2022-12-17")"#,
        noon.clone()
    ));
    assert!(eval_with(&schema, r#"d != "2022-12-18""#, noon.clone()));
    assert!(eval_with(&schema, r#"dd == "17-12-2022""#, noon.clone()));
    assert!(eval_with(&schema, r#"dd < "18-12-2022""#, noon.clone()));
    assert!(!errors(&schema, r#"dd == "2022-12-17""#).is_empty());
    assert!(!errors(&schema, r#"d == "yesterday""#).is_empty());
    // An instant whose millisecond starts before the earliest epoch nanoseconds: an error, not
    // an overflow.
    assert!(!errors(&schema, r#"d == "-9223372036854.775""#).is_empty());
    // Values in other formats and epoch milliseconds are the same instants.
    assert!(eval_with(
        &schema,
        r#"d == "2022-12-17""#,
        json!({"d": 1671278400000_i64})
    ));
}

/// Samples read join keys from a composite aggregation, which gives a date as its
/// epoch-millisecond doc value (`CompositeKeyExtractor`); sequences print the instant.
#[test]
fn date_keys_of_samples_are_epoch_millis() {
    let schema = mapping();
    let mut table = FieldTable::with_defaults(&schema);
    let mut key = compile_key(&condition("dd"), &schema, &mut table).unwrap();
    let event = table
        .parse_event(r#"{"dd": ["17-12-2022", "16-12-2022"]}"#, &OPTS)
        .unwrap();
    assert_eq!(
        key.eval(&event),
        Value::List(vec![
            Value::str("2022-12-17T00:00:00.000Z"),
            Value::str("2022-12-16T00:00:00.000Z")
        ])
    );
    use_as_sample_key(&mut key, &table);
    assert_eq!(
        key.eval(&event),
        Value::List(vec![
            Value::Int(1_671_235_200_000),
            Value::Int(1_671_148_800_000)
        ])
    );
}
