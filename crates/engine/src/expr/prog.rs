//! The program [`CompiledExpr::matches`] runs: the bool-query layer of the node list
//! rearranged for speed, with the same answers.
//!
//! - `and`/`or` chains become one n-ary node whose operands run cheapest first. The
//!   bool-query layer is two-valued and every operand is a pure function of the event
//!   (a leaf that would fail in Elasticsearch is null, that is false, here), so the
//!   order of operands cannot change a result, only how soon it is known.
//! - `not not x` is `x` (two-valued).
//! - A leaf over one field with a constant test (`f == "x"`, `f : (...)`, `f in (...)`,
//!   `f == null`, date ranges …) tests the field's values directly: the leaf matches
//!   when some value (null for a missing field or an empty list) passes, exactly what
//!   the general leaf evaluation computes, without its bookkeeping.
//! - Everything else runs the node list as before ([`eval::matches`]).

use std::sync::Arc;

use super::eval::{self, MAX_COMBINATIONS};
use super::functions;
use super::wildcard::{bytes_eq, StringMatcher};
use super::{CmpKind, CmpOp, CompiledExpr, Func, InSet, Node, NodeId};
use crate::event::Event;
use crate::field::FieldId;
use crate::value::{Value, NULL};

/// Nesting of alternating `and`/`or`/`not` kept in the program; deeper parts run on
/// the node list (which has its own depth handling).
pub(crate) const MAX_DEPTH: usize = 16;
/// `in` lists of up to this many strings are compared one by one (no hashing).
const FEW_STRINGS: usize = 8;

/// A flat program; `ops[0]` is the root, the operands of an n-ary node are contiguous.
#[derive(Debug, Clone)]
pub(crate) struct Prog {
    ops: Box<[Op]>,
}

#[derive(Debug, Clone)]
enum Op {
    Const(bool),
    All {
        first: u32,
        len: u32,
    },
    Any {
        first: u32,
        len: u32,
    },
    Not(u32),
    /// Some value of `field` (null when it has none) passes `test`.
    Test {
        field: FieldId,
        test: Test,
    },
    /// A node of the node list, by [`eval::matches`].
    Node(NodeId),
}

/// A constant test of one value, as the leaf it replaces evaluates it (true only).
#[derive(Debug, Clone)]
enum Test {
    /// `==` a string (`Cmp` `Plain`).
    StrEq(Box<str>),
    /// `in` strings only, case-sensitive, not ip.
    StrIn(Box<[Box<str>]>),
    Cmp {
        op: CmpOp,
        kind: CmpKind,
        lit: Value,
    },
    Match(Arc<StringMatcher>),
    In(Arc<InSet>),
    IsNull,
    IsNotNull,
    DateCmp {
        op: CmpOp,
        lo: i64,
        hi: i64,
    },
    DateIn {
        ranges: Box<[(i64, i64)]>,
        has_null: bool,
    },
    /// `cidrMatch(f, blocks...)`, the blocks parsed.
    Cidr(Box<[ipnet::IpNet]>),
}

impl Test {
    fn passes(&self, v: &Value) -> bool {
        match self {
            Test::StrEq(s) => matches!(v, Value::Str(x) if bytes_eq(x.as_bytes(), s.as_bytes())),
            Test::StrIn(list) => matches!(
                v,
                Value::Str(x) if list.iter().any(|s| bytes_eq(s.as_bytes(), x.as_bytes()))
            ),
            Test::Cmp { op, kind, lit } => eval::compare(*op, *kind, v, lit) == Some(true),
            Test::Match(m) => matches!(eval::match_node(v, m), Value::Bool(true)),
            Test::In(set) => matches!(eval::in_set(set, v), Value::Bool(true)),
            Test::IsNull => v.is_null(),
            Test::IsNotNull => !v.is_null(),
            Test::DateCmp { op, lo, hi } => {
                matches!(eval::date_cmp_value(v, *op, *lo, *hi), Value::Bool(true))
            }
            Test::Cidr(nets) => matches!(functions::cidr_match_parsed(v, nets), Value::Bool(true)),
            Test::DateIn { ranges, has_null } => {
                matches!(eval::date_in_value(v, ranges, *has_null), Value::Bool(true))
            }
        }
    }

    /// Relative cost, for ordering operands.
    fn cost(&self) -> u32 {
        match self {
            Test::StrEq(_) | Test::IsNull | Test::IsNotNull => 1,
            Test::StrIn(list) => 1 + u32::try_from(list.len()).unwrap_or(u32::MAX) / 4,
            Test::Cmp {
                kind: CmpKind::Plain,
                ..
            } => 1,
            Test::In(_) => 3,
            Test::Match(m) => m.cost(),
            Test::Cmp { .. } | Test::DateCmp { .. } | Test::DateIn { .. } | Test::Cidr(_) => 8,
        }
    }
}

/// The values a one-field leaf ranges over, as [`eval`]'s leaf evaluation chooses them.
fn any_value(v: &Value, test: &Test) -> bool {
    match v {
        Value::List(items) if !items.is_empty() => items
            .iter()
            .take(MAX_COMBINATIONS)
            .any(|item| test.passes(item)),
        Value::List(_) => test.passes(&NULL),
        other => test.passes(other),
    }
}

impl Prog {
    /// Runs `id` of the node list as it is.
    pub(crate) fn node(id: NodeId) -> Prog {
        Prog {
            ops: Box::new([Op::Node(id)]),
        }
    }

    pub(crate) fn build(expr: &CompiledExpr) -> Prog {
        let (tree, _) = tree(expr, expr.root, 0);
        let mut ops = vec![Op::Const(false)];
        let mut queue = std::collections::VecDeque::from([(tree, 0usize)]);
        while let Some((t, slot)) = queue.pop_front() {
            let op = match t {
                T::Const(b) => Op::Const(b),
                T::Test(field, test) => Op::Test { field, test },
                T::Node(id) => Op::Node(id),
                T::Not(inner) => {
                    let at = ops.len();
                    ops.push(Op::Const(false));
                    queue.push_back((*inner, at));
                    Op::Not(u32::try_from(at).unwrap_or(u32::MAX))
                }
                T::All(items) if items.is_empty() => Op::Const(true),
                T::Any(items) if items.is_empty() => Op::Const(false),
                T::All(items) => Self::operands(&mut ops, &mut queue, items, true),
                T::Any(items) => Self::operands(&mut ops, &mut queue, items, false),
            };
            if let Some(place) = ops.get_mut(slot) {
                *place = op;
            }
        }
        Prog {
            ops: ops.into_boxed_slice(),
        }
    }

    /// Reserves contiguous slots for `items` (filled later from `queue`).
    fn operands(
        ops: &mut Vec<Op>,
        queue: &mut std::collections::VecDeque<(T, usize)>,
        items: Vec<(T, u32)>,
        all: bool,
    ) -> Op {
        let first = ops.len();
        let len = items.len();
        for (k, item) in items.into_iter().enumerate() {
            ops.push(Op::Const(false));
            queue.push_back((item.0, first + k));
        }
        let (first, len) = (
            u32::try_from(first).unwrap_or(u32::MAX),
            u32::try_from(len).unwrap_or(u32::MAX),
        );
        if all {
            Op::All { first, len }
        } else {
            Op::Any { first, len }
        }
    }

    pub(crate) fn matches(&self, expr: &CompiledExpr, event: &Event) -> bool {
        self.ops.first().is_some_and(|op| self.run(op, expr, event))
    }

    fn run(&self, op: &Op, expr: &CompiledExpr, event: &Event) -> bool {
        match op {
            Op::Test { field, test } => any_value(event.get(*field), test),
            // Tests, the usual operands, run in the loop without a call.
            Op::All { first, len } => self.children(*first, *len).iter().all(|o| match o {
                Op::Test { field, test } => any_value(event.get(*field), test),
                o => self.run_nested(o, expr, event),
            }),
            Op::Any { first, len } => self.children(*first, *len).iter().any(|o| match o {
                Op::Test { field, test } => any_value(event.get(*field), test),
                o => self.run_nested(o, expr, event),
            }),
            Op::Not(inner) => !self
                .ops
                .get(*inner as usize)
                .is_some_and(|o| self.run_nested(o, expr, event)),
            Op::Const(b) => *b,
            Op::Node(id) => eval::matches(expr, *id, event),
        }
    }

    #[inline(never)]
    fn run_nested(&self, op: &Op, expr: &CompiledExpr, event: &Event) -> bool {
        self.run(op, expr, event)
    }

    fn children(&self, first: u32, len: u32) -> &[Op] {
        let first = first as usize;
        self.ops
            .get(first..first.saturating_add(len as usize))
            .unwrap_or_default()
    }
}

/// The program as a tree, before layout.
enum T {
    Const(bool),
    /// Operands with their costs, cheapest first.
    All(Vec<(T, u32)>),
    Any(Vec<(T, u32)>),
    Not(Box<T>),
    Test(FieldId, Test),
    Node(NodeId),
}

/// Relative cost of a node run on the node list.
const NODE_COST: u32 = 30;

fn tree(expr: &CompiledExpr, id: NodeId, depth: usize) -> (T, u32) {
    let node = |id: NodeId| expr.nodes.get(id as usize);
    match node(id) {
        _ if depth > MAX_DEPTH => (T::Node(id), NODE_COST),
        Some(Node::And(..)) | Some(Node::Or(..)) => {
            let and = matches!(node(id), Some(Node::And(..)));
            // The chain's operands left to right, without recursion.
            let mut operands = Vec::new();
            let mut stack = vec![id];
            while let Some(at) = stack.pop() {
                match node(at) {
                    Some(Node::And(a, b)) if and => stack.extend([*b, *a]),
                    Some(Node::Or(a, b)) if !and => stack.extend([*b, *a]),
                    _ => operands.push(at),
                }
            }
            let mut items: Vec<(T, u32)> = operands
                .into_iter()
                .map(|o| tree(expr, o, depth + 1))
                .collect();
            // Stable: equal costs keep the query's order.
            items.sort_by_key(|(_, cost)| *cost);
            let cost = items
                .iter()
                .fold(0u32, |sum, (_, c)| sum.saturating_add(*c));
            (if and { T::All(items) } else { T::Any(items) }, cost)
        }
        Some(Node::Not(a)) => {
            let mut negate = true;
            let mut inner = *a;
            while let Some(Node::Not(b)) = node(inner) {
                negate = !negate;
                inner = *b;
            }
            let (t, cost) = tree(expr, inner, depth + 1);
            let t = match t {
                t if !negate => t,
                T::Const(b) => T::Const(!b),
                t => T::Not(Box::new(t)),
            };
            (t, cost)
        }
        Some(Node::Lit(v)) => (T::Const(v.as_bool() == Some(true)), 0),
        Some(Node::Leaf {
            expr: inner,
            fields,
        }) => match leaf_test(expr, *inner, fields) {
            Some((field, test)) => {
                let cost = test.cost();
                (T::Test(field, test), cost)
            }
            None => (T::Node(id), NODE_COST),
        },
        _ => (T::Node(id), NODE_COST),
    }
}

/// The direct test a leaf amounts to: one field occurrence (`fields`), compared with
/// a constant.
fn leaf_test(expr: &CompiledExpr, inner: NodeId, fields: &[FieldId]) -> Option<(FieldId, Test)> {
    let [field] = fields else {
        return None;
    };
    let node = |id: NodeId| expr.nodes.get(id as usize);
    // The leaf's only field, read whole (not `f[i]`).
    let is_field = |id: NodeId| matches!(node(id), Some(Node::Field { id: f, occ: 0, index: None }) if f == field);
    let test = match node(inner)? {
        Node::Cmp { op, kind, lhs, rhs } if is_field(*lhs) => match node(*rhs)? {
            Node::Lit(Value::Str(s)) if *op == CmpOp::Eq && *kind == CmpKind::Plain => {
                Test::StrEq(Box::from(s.as_ref()))
            }
            Node::Lit(lit) => Test::Cmp {
                op: *op,
                kind: *kind,
                lit: lit.clone(),
            },
            _ => return None,
        },
        Node::Match { lhs, matcher } if is_field(*lhs) => Test::Match(Arc::clone(matcher)),
        Node::In { lhs, set } if is_field(*lhs) => {
            let only_strings = set.ints.is_empty()
                && set.floats.is_empty()
                && !set.bools[0]
                && !set.bools[1]
                && !set.kind_ip
                && !set.case_insensitive;
            if only_strings && set.strings.len() <= FEW_STRINGS {
                // Which strings are in the set is all that decides a true answer
                // (`has_null` only turns false into null).
                Test::StrIn(set.strings.iter().map(|s| Box::from(s.as_ref())).collect())
            } else {
                Test::In(Arc::clone(set))
            }
        }
        Node::Call {
            func: Func::CidrMatch,
            args,
            ..
        } if args.first().is_some_and(|a| is_field(*a)) => {
            let mut nets = Vec::new();
            for a in args.get(1..).unwrap_or_default() {
                let Node::Lit(v) = node(*a)? else {
                    return None;
                };
                nets.extend(v.as_str().and_then(functions::parse_cidr));
            }
            Test::Cidr(nets.into_boxed_slice())
        }
        Node::IsNull(a) if is_field(*a) => Test::IsNull,
        Node::IsNotNull(a) if is_field(*a) => Test::IsNotNull,
        Node::DateCmp { op, lhs, lo, hi } if is_field(*lhs) => Test::DateCmp {
            op: *op,
            lo: *lo,
            hi: *hi,
        },
        Node::DateIn {
            lhs,
            ranges,
            has_null,
        } if is_field(*lhs) => Test::DateIn {
            ranges: ranges.clone(),
            has_null: *has_null,
        },
        _ => return None,
    };
    Some((*field, test))
}
