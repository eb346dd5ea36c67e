//! Grouping an event's extracted values by field (`engine::event::group_fields`, the end of every
//! parse) against the model it replaced: drop nulls, stable sort by id, merge each run of one id
//! into its first value or a list of them all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use smol_str::SmolStr;

use engine::event::group_fields;
use engine::field::FieldId;
use engine::value::Value;
use proptest::prelude::*;

/// The former `Collector::finish`: stable sort, then `merge_runs`.
fn model(mut values: Vec<(FieldId, Value)>) -> Vec<(FieldId, Value)> {
    values.retain(|(_, v)| !v.is_null());
    values.sort_by_key(|(k, _)| *k);
    let mut out: Vec<(FieldId, Value)> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let id = values[i].0;
        let run = values[i..].iter().take_while(|(k, _)| *k == id).count();
        let mut items = values[i..i + run]
            .iter_mut()
            .map(|(_, v)| std::mem::take(v));
        let mut merged = items.next().unwrap();
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
        out.push((id, merged));
        i += run;
    }
    out
}

/// The room of every list (the model gives a merged list room for its run, no more).
fn capacities(values: &[(FieldId, Value)]) -> Vec<usize> {
    fn walk(v: &Value, out: &mut Vec<usize>) {
        if let Value::List(items) = v {
            out.push(items.capacity());
            for item in items {
                walk(item, out);
            }
        }
    }
    let mut out = Vec::new();
    for (_, v) in values {
        walk(v, &mut out);
    }
    out
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => any::<i64>().prop_map(Value::Int),
        1 => (-1e9f64..1e9).prop_map(Value::Float),
        3 => "[a-z]{0,6}".prop_map(|s| Value::Str(SmolStr::new(s))),
    ]
}

/// What the collector hands over: scalars, and now and then a list (a mapping's `null_value` may
/// be an array), even an empty one.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => scalar(),
        1 => prop::collection::vec(scalar(), 0..4).prop_map(Value::List),
    ]
}

/// Values in document order with ids below the returned count: few ids (many repeats) to
/// hundreds (spanning several bitmap words), plus the edges of a word.
fn document() -> impl Strategy<Value = (usize, Vec<(FieldId, Value)>)> {
    prop_oneof![Just(1usize), 2usize..8, 60usize..70, 100usize..400].prop_flat_map(|ids| {
        let id = prop_oneof![
            4 => 0..ids as u32,
            1 => prop::sample::select(vec![0u32, 63, 64, 127, 128])
                .prop_map(move |i| i.min(ids as u32 - 1)),
        ];
        (
            Just(ids),
            prop::collection::vec((id.prop_map(FieldId), value()), 0..120),
        )
    })
}

fn check(ids: usize, values: Vec<(FieldId, Value)>) {
    let want = model(values.clone());
    let got = group_fields(values.clone(), ids);
    assert_eq!(
        format!("{got:?}"),
        format!("{want:?}"),
        "ids {ids}, values {values:?}"
    );
    assert_eq!(capacities(&got), capacities(&want), "values {values:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn grouping_matches_sort_and_merge((ids, values) in document()) {
        check(ids, values);
    }
}

#[test]
fn grouping_edges() {
    let s = |t: &str| Value::Str(SmolStr::new(t));
    check(0, vec![]);
    check(5, vec![]);
    check(5, vec![(FieldId(3), Value::Null)]);
    check(
        70,
        vec![
            (FieldId(69), s("a")),
            (FieldId(0), Value::Int(1)),
            (FieldId(69), Value::Null),
            (FieldId(64), s("b")),
            (FieldId(63), s("c")),
            (FieldId(69), Value::List(vec![s("x")])),
            (FieldId(0), Value::Int(2)),
            (FieldId(69), s("d")),
        ],
    );
    // A list first: later values extend it.
    check(
        3,
        vec![
            (FieldId(1), Value::List(vec![s("x"), s("y")])),
            (FieldId(1), s("z")),
            (FieldId(1), Value::List(vec![])),
        ],
    );
    // Ids beyond the count given (not the table's): still grouped.
    check(
        2,
        vec![
            (FieldId(500), s("a")),
            (FieldId(1), s("b")),
            (FieldId(500), s("c")),
        ],
    );
}
