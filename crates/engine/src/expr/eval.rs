//! Evaluation of compiled expressions over one event.

use std::borrow::Cow;
use std::cmp::Ordering;

use smallvec::SmallVec;

use super::functions::{self, compare_ips, compare_versions};
use super::wildcard::{with_ascii_lowercase, StringMatcher};
use super::{ArithOp, CmpKind, CmpOp, CompiledExpr, Func, InSet, Node, NodeId};
use crate::event::Event;
use crate::field::FieldId;
use crate::time;
use crate::value::{Value, NULL};

/// Upper bound on value combinations tried for one leaf (several multi-valued
/// fields in one expression multiply); beyond it the leaf does not match.
pub(crate) const MAX_COMBINATIONS: usize = 1 << 16;

fn node(expr: &CompiledExpr, id: NodeId) -> Option<&Node> {
    expr.nodes.get(id as usize)
}

/// Two-valued evaluation of the bool-query layer.
pub(crate) fn matches(expr: &CompiledExpr, id: NodeId, event: &Event) -> bool {
    match node(expr, id) {
        Some(Node::And(a, b)) => matches(expr, *a, event) && matches(expr, *b, event),
        Some(Node::Or(a, b)) => matches(expr, *a, event) || matches(expr, *b, event),
        Some(Node::Not(a)) => !matches(expr, *a, event),
        Some(Node::Lit(v)) => v.as_bool() == Some(true),
        Some(Node::Leaf {
            expr: inner,
            fields,
        }) => leaf_matches(expr, *inner, fields, event),
        Some(_) => {
            let env = Env {
                values: SmallVec::new(),
                event,
            };
            truthy(&eval(expr, id, &env))
        }
        None => false,
    }
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// Values bound to the field occurrences of the leaf being evaluated.
pub(crate) struct Env<'e> {
    values: SmallVec<[&'e Value; 4]>,
    event: &'e Event,
}

/// A leaf matches when some choice of one value per field occurrence makes it true.
fn leaf_matches(
    expr: &CompiledExpr,
    inner: NodeId,
    fields: &[crate::field::FieldId],
    event: &Event,
) -> bool {
    let all: SmallVec<[&Value; 4]> = fields.iter().map(|f| event.get(*f)).collect();
    if all.iter().all(|v| !matches!(v, Value::List(_))) {
        let env = Env { values: all, event };
        return truthy(&eval(expr, inner, &env));
    }
    // Odometer over the elements of each multi-valued occurrence.
    let choices: SmallVec<[&[Value]; 4]> = all
        .iter()
        .map(|v| match v {
            Value::List(items) if !items.is_empty() => items.as_slice(),
            Value::List(_) => std::slice::from_ref(&NULL),
            other => std::slice::from_ref(*other),
        })
        .collect();
    let mut counters: SmallVec<[usize; 4]> = SmallVec::from_elem(0, choices.len());
    let mut tried = 0usize;
    loop {
        let values: SmallVec<[&Value; 4]> = choices
            .iter()
            .zip(counters.iter())
            .map(|(c, i)| c.get(*i).unwrap_or(&NULL))
            .collect();
        let env = Env { values, event };
        if truthy(&eval(expr, inner, &env)) {
            return true;
        }
        tried += 1;
        if tried >= MAX_COMBINATIONS {
            return false;
        }
        let mut pos = 0;
        loop {
            let Some(counter) = counters.get_mut(pos) else {
                return false;
            };
            *counter += 1;
            if *counter < choices.get(pos).map_or(0, |c| c.len()) {
                break;
            }
            *counter = 0;
            pos += 1;
        }
    }
}

/// The value of an expression for output or join keys: a bare field gives all its
/// values; otherwise each field reads as its first (smallest) value, as a script does.
pub(crate) fn value(expr: &CompiledExpr, id: NodeId, event: &Event) -> Value {
    match node(expr, id) {
        Some(Node::Field {
            id: f, index: None, ..
        }) => event.get(*f).clone(),
        Some(Node::Leaf {
            expr: inner,
            fields,
        }) => {
            let values = fields.iter().map(|f| script_value(event.get(*f))).collect();
            let env = Env { values, event };
            eval(expr, *inner, &env).into_owned()
        }
        Some(Node::And(..) | Node::Or(..) | Node::Not(..)) => Value::Bool(matches(expr, id, event)),
        Some(Node::EpochNumber { arg, nanos }) => epoch_number(&value(expr, *arg, event), *nanos),
        _ => {
            let env = Env {
                values: SmallVec::new(),
                event,
            };
            eval(expr, id, &env).into_owned()
        }
    }
}

/// Elasticsearch scripts read a multi-valued field's first doc value: the smallest.
fn script_value(v: &Value) -> &Value {
    match v {
        Value::List(items) => items.iter().min_by(|a, b| a.total_cmp(b)).unwrap_or(&NULL),
        other => other,
    }
}

fn kleene_not(v: &Value) -> Value {
    match v {
        Value::Bool(b) => Value::Bool(!b),
        _ => Value::Null,
    }
}

/// Three-valued evaluation inside a leaf.
pub(crate) fn eval<'a>(expr: &'a CompiledExpr, id: NodeId, env: &Env<'a>) -> Cow<'a, Value> {
    // Each arm that recurses delegates to a helper: `eval` runs once per nesting
    // level, so its own stack frame must stay small (deep chains, hostile.rs).
    let Some(n) = node(expr, id) else {
        return Cow::Owned(Value::Null);
    };
    match n {
        Node::Lit(v) => Cow::Borrowed(v),
        Node::Field { id: f, occ, index } => field_value(env, *f, *occ, *index),
        Node::Leaf { expr: inner, .. } => eval(expr, *inner, env),
        Node::And(a, b) => Cow::Owned(kleene_and(expr, env, *a, *b)),
        Node::Or(a, b) => Cow::Owned(kleene_or(expr, env, *a, *b)),
        Node::Not(a) => Cow::Owned(kleene_not(&eval(expr, *a, env))),
        Node::IsNull(a) => Cow::Owned(Value::Bool(eval(expr, *a, env).is_null())),
        Node::IsNotNull(a) => Cow::Owned(Value::Bool(!eval(expr, *a, env).is_null())),
        Node::Neg(a) => Cow::Owned(negate(&eval(expr, *a, env))),
        Node::Cmp { op, kind, lhs, rhs } => Cow::Owned(cmp_node(expr, env, *op, *kind, *lhs, *rhs)),
        Node::Arith { op, lhs, rhs } => Cow::Owned(arith_node(expr, env, *op, *lhs, *rhs)),
        Node::Match { lhs, matcher } => Cow::Owned(match_node(&eval(expr, *lhs, env), matcher)),
        Node::In { lhs, set } => Cow::Owned(in_set(set, &eval(expr, *lhs, env))),
        Node::InDynamic { lhs, list } => Cow::Owned(in_dynamic(expr, env, *lhs, list)),
        Node::Call {
            func,
            case_insensitive,
            args,
        } => Cow::Owned(call_node(expr, env, *func, *case_insensitive, args)),
        Node::EpochNumber { arg, nanos } => {
            Cow::Owned(epoch_number(&eval(expr, *arg, env), *nanos))
        }
        Node::DateCmp { op, lhs, lo, hi } => Cow::Owned(date_cmp(expr, env, *op, *lhs, *lo, *hi)),
        Node::DateIn {
            lhs,
            ranges,
            has_null,
        } => Cow::Owned(date_in(expr, env, *lhs, ranges, *has_null)),
    }
}

fn field_value<'a>(env: &Env<'a>, f: FieldId, occ: u16, index: Option<u32>) -> Cow<'a, Value> {
    let v: &'a Value = match env.values.get(occ as usize) {
        Some(v) => v,
        None => script_value(env.event.get(f)),
    };
    match index {
        None => Cow::Borrowed(v),
        Some(i) => Cow::Borrowed(v.elements().get(i as usize).unwrap_or(&NULL)),
    }
}

#[inline(never)]
fn kleene_and<'a>(expr: &'a CompiledExpr, env: &Env<'a>, a: NodeId, b: NodeId) -> Value {
    let l = eval(expr, a, env);
    if matches!(*l, Value::Bool(false)) {
        return Value::Bool(false);
    }
    let r = eval(expr, b, env);
    match (&*l, &*r) {
        (_, Value::Bool(false)) => Value::Bool(false),
        (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
        _ => Value::Null,
    }
}

#[inline(never)]
fn kleene_or<'a>(expr: &'a CompiledExpr, env: &Env<'a>, a: NodeId, b: NodeId) -> Value {
    let l = eval(expr, a, env);
    if matches!(*l, Value::Bool(true)) {
        return Value::Bool(true);
    }
    let r = eval(expr, b, env);
    match (&*l, &*r) {
        (_, Value::Bool(true)) => Value::Bool(true),
        (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
        _ => Value::Null,
    }
}

fn negate(v: &Value) -> Value {
    match v {
        Value::Int(i) => i.checked_neg().map_or(Value::Null, Value::Int),
        Value::Float(f) => Value::Float(-f),
        _ => Value::Null,
    }
}

#[inline(never)]
fn cmp_node<'a>(
    expr: &'a CompiledExpr,
    env: &Env<'a>,
    op: CmpOp,
    kind: CmpKind,
    lhs: NodeId,
    rhs: NodeId,
) -> Value {
    let l = eval(expr, lhs, env);
    let r = eval(expr, rhs, env);
    compare(op, kind, &l, &r).map_or(Value::Null, Value::Bool)
}

#[inline(never)]
fn arith_node<'a>(
    expr: &'a CompiledExpr,
    env: &Env<'a>,
    op: ArithOp,
    lhs: NodeId,
    rhs: NodeId,
) -> Value {
    let l = eval(expr, lhs, env);
    let r = eval(expr, rhs, env);
    functions::arith(op, &l, &r)
}

pub(crate) fn match_node(l: &Value, matcher: &StringMatcher) -> Value {
    match l {
        Value::Null => Value::Null,
        Value::Str(s) => Value::Bool(matcher.is_match(s)),
        other => match functions::to_java_string(other) {
            Some(s) => Value::Bool(matcher.is_match(&s)),
            None => Value::Null,
        },
    }
}

#[inline(never)]
fn in_dynamic<'a>(expr: &'a CompiledExpr, env: &Env<'a>, lhs: NodeId, list: &[NodeId]) -> Value {
    let l = eval(expr, lhs, env);
    if l.is_null() {
        return Value::Null;
    }
    let mut saw_null = false;
    for m in list {
        let r = eval(expr, *m, env);
        match compare(CmpOp::Eq, CmpKind::Plain, &l, &r) {
            Some(true) => return Value::Bool(true),
            None => saw_null = true,
            Some(false) => {}
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(false)
    }
}

#[inline(never)]
fn call_node<'a>(
    expr: &'a CompiledExpr,
    env: &Env<'a>,
    func: Func,
    case_insensitive: bool,
    args: &[NodeId],
) -> Value {
    let values: SmallVec<[Cow<Value>; 4]> = args.iter().map(|a| eval(expr, *a, env)).collect();
    let refs: SmallVec<[&Value; 4]> = values.iter().map(|v| v.as_ref()).collect();
    functions::call(func, case_insensitive, &refs)
}

// The date arms live outside `eval`, which recurses once per nesting level: its
// stack frame must stay small (deep `a + 1 + 1 ...` chains, hostile.rs).
#[inline(never)]
fn date_cmp<'a>(
    expr: &'a CompiledExpr,
    env: &Env<'a>,
    op: CmpOp,
    lhs: NodeId,
    lo: i64,
    hi: i64,
) -> Value {
    date_cmp_value(&eval(expr, lhs, env), op, lo, hi)
}

pub(crate) fn date_cmp_value(v: &Value, op: CmpOp, lo: i64, hi: i64) -> Value {
    let Some(v) = date_nanos(v) else {
        return Value::Null;
    };
    let within = lo <= v && v <= hi;
    Value::Bool(match op {
        CmpOp::Eq => within,
        CmpOp::NotEq => !within,
        CmpOp::Lt => v < lo,
        CmpOp::LtEq => v <= hi,
        CmpOp::Gt => v > hi,
        CmpOp::GtEq => v >= lo,
    })
}

#[inline(never)]
fn date_in<'a>(
    expr: &'a CompiledExpr,
    env: &Env<'a>,
    lhs: NodeId,
    ranges: &[(i64, i64)],
    has_null: bool,
) -> Value {
    date_in_value(&eval(expr, lhs, env), ranges, has_null)
}

pub(crate) fn date_in_value(v: &Value, ranges: &[(i64, i64)], has_null: bool) -> Value {
    let Some(v) = date_nanos(v) else {
        return Value::Null;
    };
    if ranges.iter().any(|(lo, hi)| *lo <= v && v <= *hi) {
        Value::Bool(true)
    } else if has_null {
        Value::Null
    } else {
        Value::Bool(false)
    }
}

/// A date value as epoch milliseconds (or nanoseconds); values that are not dates
/// stay as they are.
fn epoch_number(v: &Value, nanos: bool) -> Value {
    match v {
        Value::List(items) => Value::List(items.iter().map(|i| epoch_number(i, nanos)).collect()),
        Value::Str(s) => match time::parse_timestamp_str(s) {
            Some(ns) if nanos => Value::Int(ns),
            Some(ns) => Value::Int(ns.div_euclid(1_000_000)),
            None => v.clone(),
        },
        other => other.clone(),
    }
}

pub(crate) fn in_set(set: &InSet, v: &Value) -> Value {
    let found = match v {
        Value::Null => return Value::Null,
        Value::Str(s) => {
            if set.kind_ip {
                match crate::event::canonical_ip(s) {
                    Some(c) => set.strings.contains(c.as_str()),
                    None => set.strings.contains(s.as_str()),
                }
            } else if set.case_insensitive {
                if s.is_ascii() {
                    // `to_lowercase` of ASCII text, without allocating.
                    with_ascii_lowercase(s, |folded| set.strings.contains(folded))
                } else {
                    set.strings.contains(s.to_lowercase().as_str())
                }
            } else {
                set.strings.contains(s.as_str())
            }
        }
        Value::Int(i) => set.ints.contains(i) || set.floats.contains(&(*i as f64)),
        Value::Float(f) => {
            set.floats.contains(f)
                || (f.fract() == 0.0 && f.abs() < 9.2e18 && set.ints.contains(&(*f as i64)))
        }
        Value::Bool(b) => set.bools[usize::from(*b)],
        Value::List(_) => false,
    };
    if found {
        Value::Bool(true)
    } else if set.has_null {
        Value::Null
    } else {
        Value::Bool(false)
    }
}

/// Three-valued comparison; `None` is null (a null operand or incomparable kinds).
pub(crate) fn compare(op: CmpOp, kind: CmpKind, l: &Value, r: &Value) -> Option<bool> {
    if l.is_null() || r.is_null() {
        return None;
    }
    let ordering = match kind {
        CmpKind::Ip => match (l, r) {
            (Value::Str(a), Value::Str(b)) => compare_ips(a, b).or_else(|| Some(a.cmp(b))),
            _ => None,
        },
        CmpKind::Version => match (l, r) {
            (Value::Str(a), Value::Str(b)) => Some(compare_versions(a, b)),
            _ => None,
        },
        CmpKind::Date => match (date_nanos(l), date_nanos(r)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
        CmpKind::Plain => {
            if matches!(op, CmpOp::Eq | CmpOp::NotEq) {
                let eq = l.scalar_eq(r);
                // Different kinds (a string and a number) are simply unequal.
                return Some(if op == CmpOp::Eq { eq } else { !eq });
            }
            l.scalar_cmp(r)
        }
    }?;
    Some(match op {
        CmpOp::Eq => ordering == Ordering::Equal,
        CmpOp::NotEq => ordering != Ordering::Equal,
        CmpOp::Lt => ordering == Ordering::Less,
        CmpOp::LtEq => ordering != Ordering::Greater,
        CmpOp::Gt => ordering == Ordering::Greater,
        CmpOp::GtEq => ordering != Ordering::Less,
    })
}

fn date_nanos(v: &Value) -> Option<i64> {
    match v {
        Value::Int(ms) => time::from_epoch_millis_i64(*ms),
        Value::Float(ms) => time::from_epoch_millis_f64(*ms),
        Value::Str(s) => time::parse_timestamp_str(s),
        _ => None,
    }
}
