//! Comparing trees while ignoring where their parts came from.

use crate::ast::{
    EventQuery, Expr, ExprKind, Pipe, Query, QueryBody, Sample, SampleStage, Sequence,
    SequenceStage, TimeSpan,
};
use crate::span::Span;

/// A copy of `query` with every span set to `Span::default()`, so that two parses of
/// differently formatted text compare equal when they mean the same.
pub fn strip_spans(query: &Query) -> Query {
    let body = match &query.body {
        QueryBody::Event(e) => QueryBody::Event(event(e)),
        QueryBody::Sequence(s) => QueryBody::Sequence(Sequence {
            by: exprs(&s.by),
            maxspan: s.maxspan.map(|t| TimeSpan {
                span: Span::default(),
                ..t
            }),
            stages: s.stages.iter().map(stage).collect(),
            until: s.until.as_ref().map(stage),
            span: Span::default(),
        }),
        QueryBody::Sample(s) => QueryBody::Sample(Sample {
            by: exprs(&s.by),
            stages: s
                .stages
                .iter()
                .map(|st| SampleStage {
                    query: event(&st.query),
                    by: exprs(&st.by),
                    span: Span::default(),
                })
                .collect(),
            span: Span::default(),
        }),
    };
    let pipes = query
        .pipes
        .iter()
        .map(|p| match p {
            Pipe::Head { count, .. } => Pipe::Head {
                count: *count,
                span: Span::default(),
            },
            Pipe::Tail { count, .. } => Pipe::Tail {
                count: *count,
                span: Span::default(),
            },
        })
        .collect();
    Query {
        body,
        pipes,
        span: Span::default(),
    }
}

fn event(e: &EventQuery) -> EventQuery {
    EventQuery {
        category: e.category.clone(),
        condition: strip_expr(&e.condition),
        span: Span::default(),
    }
}

fn stage(s: &SequenceStage) -> SequenceStage {
    SequenceStage {
        query: event(&s.query),
        by: exprs(&s.by),
        missing: s.missing,
        runs: s.runs,
        span: Span::default(),
    }
}

fn exprs(list: &[Expr]) -> Vec<Expr> {
    list.iter().map(strip_expr).collect()
}

/// A copy of `expr` with every span set to `Span::default()`.
pub fn strip_expr(expr: &Expr) -> Expr {
    let boxed = |e: &Expr| Box::new(strip_expr(e));
    let kind = match &expr.kind {
        ExprKind::Literal(l) => ExprKind::Literal(l.clone()),
        ExprKind::Field(f) => ExprKind::Field(f.clone()),
        ExprKind::Not(e) => ExprKind::Not(boxed(e)),
        ExprKind::Neg(e) => ExprKind::Neg(boxed(e)),
        ExprKind::Binary { op, lhs, rhs } => ExprKind::Binary {
            op: *op,
            lhs: boxed(lhs),
            rhs: boxed(rhs),
        },
        ExprKind::Match {
            op,
            case_insensitive,
            lhs,
            patterns,
        } => ExprKind::Match {
            op: *op,
            case_insensitive: *case_insensitive,
            lhs: boxed(lhs),
            patterns: exprs(patterns),
        },
        ExprKind::In {
            lhs,
            list,
            negated,
            case_insensitive,
        } => ExprKind::In {
            lhs: boxed(lhs),
            list: exprs(list),
            negated: *negated,
            case_insensitive: *case_insensitive,
        },
        ExprKind::Call {
            name,
            case_insensitive,
            args,
        } => ExprKind::Call {
            name: name.clone(),
            case_insensitive: *case_insensitive,
            args: exprs(args),
        },
    };
    Expr {
        kind,
        span: Span::default(),
    }
}
