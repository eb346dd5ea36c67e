//! Compiled EQL expressions with Elasticsearch's semantics.
//!
//! An expression compiles to a flat, index-addressed list of [`Node`]s. Evaluation
//! follows how Elasticsearch runs an EQL filter:
//! - `and`/`or`/`not` at the top become bool queries: two-valued.
//! - Every other maximal subexpression (a comparison, `:`, `in`, a function call, …)
//!   is a *leaf*: a term/range/wildcard query or a multi-value-aware script. Either
//!   way it matches when some choice of values for its field references (each
//!   reference ranging over the field's values; null when the field is missing)
//!   makes the three-valued expression true.
//! - `field != literal` and `field not in (...)` are `not` of the positive leaf,
//!   as Elasticsearch translates them (a must_not term query).

mod compile;
mod eval;
mod functions;
mod prog;
pub mod regex;
pub mod wildcard;

use std::sync::Arc;

use eql::ast;

use crate::event::Event;
use crate::field::{FieldId, FieldTable};
use crate::schema::Schema;
use crate::value::Value;

pub use compile::{compile_condition, compile_event_query, compile_key, use_as_sample_key};

/// Index of a node in a [`CompiledExpr`].
pub type NodeId = u32;

/// A compiled expression: a predicate (`matches`) and a value (`eval`).
#[derive(Debug, Clone)]
pub struct CompiledExpr {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: NodeId,
    /// Every field the expression reads.
    pub(crate) fields: Vec<FieldId>,
    /// What `matches` runs: built from `nodes` and `root` (see [`prog`]).
    pub(crate) prog: prog::Prog,
}

impl CompiledExpr {
    /// Whether the event satisfies the expression (null counts as no match).
    pub fn matches(&self, event: &Event) -> bool {
        self.prog.matches(self, event)
    }

    /// `matches` straight from the node list: the reference the program is tested against.
    #[cfg(test)]
    pub(crate) fn matches_plain(&self, event: &Event) -> bool {
        eval::matches(self, self.root, event)
    }

    /// The expression's value (three-valued for booleans; a multi-valued field
    /// comes back as [`Value::List`]).
    pub fn eval(&self, event: &Event) -> Value {
        eval::value(self, self.root, event)
    }

    /// The fields the expression reads.
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }

    /// An expression that always matches.
    pub fn always() -> CompiledExpr {
        CompiledExpr {
            nodes: vec![Node::Lit(Value::Bool(true))],
            root: 0,
            fields: Vec::new(),
            prog: prog::Prog::node(0),
        }
    }
}

/// A stage predicate: category check plus condition.
#[derive(Debug, Clone)]
pub struct StagePredicate {
    /// `None` for `any`.
    pub(crate) category: Option<(FieldId, Arc<str>)>,
    pub condition: CompiledExpr,
}

impl StagePredicate {
    pub fn matches(&self, event: &Event) -> bool {
        if let Some((field, name)) = &self.category {
            let value = event.get(*field);
            let hit = value.elements().iter().any(|v| {
                v.as_str()
                    .is_some_and(|s| wildcard::bytes_eq(s.as_bytes(), name.as_bytes()))
            });
            if !hit {
                return false;
            }
        }
        self.condition.matches(event)
    }

    /// The category this stage requires (`None` for `any`).
    pub fn category(&self) -> Option<&str> {
        self.category.as_ref().map(|(_, c)| c.as_ref())
    }
}

/// Comparison operators after normalisation (literal on the right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// How a comparison interprets its operands, decided from field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpKind {
    /// Numbers numerically, strings by code point, booleans.
    Plain,
    /// IP addresses (either side parsed).
    Ip,
    /// Semantic versions, as Elasticsearch's `version` field type orders them.
    Version,
    /// Dates: strings parsed as ISO 8601 / epoch millis.
    Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Add,
    Between,
    CidrMatch,
    Concat,
    Divide,
    EndsWith,
    IndexOf,
    Length,
    Modulo,
    Multiply,
    Number,
    StartsWith,
    String,
    StringContains,
    Substring,
    Subtract,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Lit(Value),
    /// A field reference; `occ` is its occurrence number inside its leaf.
    Field {
        id: FieldId,
        occ: u16,
        index: Option<u32>,
    },
    /// Boundary between bool-query logic and a leaf; `fields` are the leaf's
    /// field occurrences in `occ` order.
    Leaf {
        expr: NodeId,
        fields: Box<[FieldId]>,
    },
    And(NodeId, NodeId),
    Or(NodeId, NodeId),
    Not(NodeId),
    IsNull(NodeId),
    IsNotNull(NodeId),
    Neg(NodeId),
    Cmp {
        op: CmpOp,
        kind: CmpKind,
        lhs: NodeId,
        rhs: NodeId,
    },
    Arith {
        op: ArithOp,
        lhs: NodeId,
        rhs: NodeId,
    },
    /// `:`, `like`, `regex` (any pattern).
    Match {
        lhs: NodeId,
        matcher: Arc<wildcard::StringMatcher>,
    },
    /// `in` / `in~` against constants.
    In {
        lhs: NodeId,
        set: Arc<InSet>,
    },
    /// `in` against non-constant members: `lhs == m1 or lhs == m2 ...`.
    InDynamic {
        lhs: NodeId,
        list: Box<[NodeId]>,
    },
    Call {
        func: Func,
        case_insensitive: bool,
        args: Box<[NodeId]>,
    },
    /// A date value (canonical text) as its epoch number: milliseconds, or
    /// nanoseconds for `date_nanos` (`nanos`). Elements of a list map one by one.
    EpochNumber {
        arg: NodeId,
        nanos: bool,
    },
    /// A date field against a constant that stands for the instants `lo..=hi`
    /// (epoch nanoseconds; a partial date is a range, see `DateField::bounds`).
    DateCmp {
        op: CmpOp,
        lhs: NodeId,
        lo: i64,
        hi: i64,
    },
    /// A date field `in` constants, each a range as for `==`.
    DateIn {
        lhs: NodeId,
        ranges: Box<[(i64, i64)]>,
        has_null: bool,
    },
}

/// A constant `in` list, hashed.
#[derive(Debug, Clone, Default)]
pub(crate) struct InSet {
    pub(crate) strings: ahash::AHashSet<Arc<str>>,
    pub(crate) ints: ahash::AHashSet<i64>,
    pub(crate) floats: Vec<f64>,
    pub(crate) bools: [bool; 2],
    pub(crate) case_insensitive: bool,
    pub(crate) kind_ip: bool,
    pub(crate) has_null: bool,
}

/// Compiles a condition against a schema, registering the fields it reads.
/// Convenience wrapper used by tests and callers without their own table.
pub fn compile_standalone(
    expr: &ast::Expr,
    schema: &Schema,
) -> Result<(CompiledExpr, FieldTable), Vec<eql::Diagnostic>> {
    let mut table = FieldTable::with_defaults(schema);
    let compiled = compile_condition(expr, schema, &mut table)?;
    Ok((compiled, table))
}

#[cfg(test)]
mod es_behaviour_tests;
#[cfg(test)]
mod prog_tests;
#[cfg(test)]
mod tests;
