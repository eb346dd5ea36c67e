//! The syntax tree of an EQL query, as Elasticsearch's EQL dialect defines it.
//!
//! Every node carries the [`Span`] of the source text it came from, so that later
//! stages (the engine's compiler, the rule validator) can point at the exact spot.
//! The tree is plain data: no evaluation, no I/O.

use crate::span::Span;

/// A whole query: its body and the pipes that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub body: QueryBody,
    pub pipes: Vec<Pipe>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryBody {
    /// `<category> where <expr>`
    Event(EventQuery),
    /// `sequence [by k, ...] [with maxspan=D] [stage]... [until [stage]]`
    Sequence(Sequence),
    /// `sample by k, ... [stage]...`
    Sample(Sample),
}

/// `<category> where <condition>`; `category` is `Any` for the `any` keyword.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    pub category: Category,
    pub condition: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Category {
    /// The `any` keyword: every event, whatever its category.
    Any,
    /// A category name as written (identifier or quoted string), e.g. `process`.
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// Top-level `sequence by ...` keys, shared by every stage (and by `until`).
    pub by: Vec<Expr>,
    pub maxspan: Option<TimeSpan>,
    pub stages: Vec<SequenceStage>,
    pub until: Option<SequenceStage>,
    pub span: Span,
}

/// One `[ ... ]` of a sequence, with its own `by` keys and modifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceStage {
    pub query: EventQuery,
    /// Stage-level `by` keys; compared positionally across stages.
    pub by: Vec<Expr>,
    /// `![ ... ]`: a missing-event stage.
    pub missing: bool,
    /// `with runs=N`: the stage repeats N consecutive times (N >= 1; 1 when absent).
    pub runs: u32,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Top-level `sample by ...` keys.
    pub by: Vec<Expr>,
    pub stages: Vec<SampleStage>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SampleStage {
    pub query: EventQuery,
    pub by: Vec<Expr>,
    pub span: Span,
}

/// A duration as written, e.g. `maxspan=30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSpan {
    pub value: u64,
    pub unit: TimeUnit,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Millis,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeSpan {
    /// The duration in nanoseconds, saturating on overflow.
    pub fn as_nanos(&self) -> i64 {
        let per_unit: u64 = match self.unit {
            TimeUnit::Millis => 1_000_000,
            TimeUnit::Seconds => 1_000_000_000,
            TimeUnit::Minutes => 60 * 1_000_000_000,
            TimeUnit::Hours => 3_600 * 1_000_000_000,
            TimeUnit::Days => 86_400 * 1_000_000_000,
        };
        let nanos = self.value.saturating_mul(per_unit);
        i64::try_from(nanos).unwrap_or(i64::MAX)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pipe {
    Head { count: u64, span: Span },
    Tail { count: u64, span: Span },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    Field(FieldRef),
    Not(Box<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `and`, `or`, comparisons and arithmetic.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `lhs : pattern`, `lhs : (p1, p2)`, `lhs like~ (...)`, `lhs regex "..."`.
    /// True when any pattern matches.
    Match {
        op: MatchOp,
        case_insensitive: bool,
        lhs: Box<Expr>,
        patterns: Vec<Expr>,
    },
    /// `lhs in (...)`, `lhs not in (...)`, `lhs in~ (...)`.
    In {
        lhs: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    /// A function call. `name` is the canonical name from the function table
    /// (e.g. `startsWith`), whatever case the query used; `case_insensitive`
    /// records a trailing `~` (e.g. `startsWith~(...)`).
    Call {
        name: String,
        case_insensitive: bool,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    And,
    Or,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `:` — wildcard (`*`, `?`) and always case-insensitive.
    Colon,
    /// `like` / `like~` — wildcard match.
    Like,
    /// `regex` / `regex~` — Lucene-style regex anchored on the whole value.
    Regex,
}

/// A field reference: `process.name`, `?process.name`, `` `odd name`.x ``, `args[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// The dotted path as Elasticsearch names the field, e.g. `process.parent.name`
    /// (backquotes removed). Array indexes are not part of it.
    pub path: String,
    /// Leading `?`: the field may be absent or unmapped; it then evaluates to null.
    pub optional: bool,
    /// Trailing `[N]` indexes, outermost first (e.g. `args[0]` → `[0]`).
    pub indexes: Vec<u32>,
}
