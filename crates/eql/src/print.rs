//! Canonical EQL text for a syntax tree. `parse(print(q))` gives back `q` (spans aside),
//! except for trees the parser never builds (negative or non-finite numeric literals).

use crate::ast::{
    BinaryOp, Category, EventQuery, Expr, ExprKind, FieldRef, Literal, MatchOp, Pipe, Query,
    QueryBody, SequenceStage, TimeSpan, TimeUnit,
};
use crate::lex::is_plain_identifier;
use std::fmt::Write;

/// Prints a query in canonical form: one stage per line, pipes after the body.
pub fn print(query: &Query) -> String {
    let mut out = String::new();
    match &query.body {
        QueryBody::Event(event) => event_query(&mut out, event),
        QueryBody::Sequence(seq) => {
            out.push_str("sequence");
            keys(&mut out, &seq.by);
            if let Some(span) = &seq.maxspan {
                out.push_str(" with maxspan=");
                time_span(&mut out, span);
            }
            for stage in &seq.stages {
                out.push_str("\n  ");
                sequence_stage(&mut out, stage);
            }
            if let Some(until) = &seq.until {
                out.push_str("\nuntil ");
                sequence_stage(&mut out, until);
            }
        }
        QueryBody::Sample(sample) => {
            out.push_str("sample");
            keys(&mut out, &sample.by);
            for stage in &sample.stages {
                out.push_str("\n  [");
                event_query(&mut out, &stage.query);
                out.push(']');
                keys(&mut out, &stage.by);
            }
        }
    }
    for pipe in &query.pipes {
        let (name, count) = match pipe {
            Pipe::Head { count, .. } => ("head", count),
            Pipe::Tail { count, .. } => ("tail", count),
        };
        let _ = write!(out, " | {name} {count}");
    }
    out
}

/// Prints one expression in canonical form.
pub fn print_expr(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr, 0);
    out
}

fn event_query(out: &mut String, event: &EventQuery) {
    match &event.category {
        Category::Any => out.push_str("any"),
        Category::Named(name) if is_plain_identifier(name) => out.push_str(name),
        Category::Named(name) => string(out, name),
    }
    out.push_str(" where ");
    write_expr(out, &event.condition, 0);
}

fn sequence_stage(out: &mut String, stage: &SequenceStage) {
    out.push_str(if stage.missing { "![" } else { "[" });
    event_query(out, &stage.query);
    out.push(']');
    keys(out, &stage.by);
    if stage.runs != 1 {
        let _ = write!(out, " with runs={}", stage.runs);
    }
}

fn keys(out: &mut String, keys: &[Expr]) {
    for (i, key) in keys.iter().enumerate() {
        out.push_str(if i == 0 { " by " } else { ", " });
        write_expr(out, key, 0);
    }
}

fn time_span(out: &mut String, span: &TimeSpan) {
    let unit = match span.unit {
        TimeUnit::Millis => "ms",
        TimeUnit::Seconds => "s",
        TimeUnit::Minutes => "m",
        TimeUnit::Hours => "h",
        TimeUnit::Days => "d",
    };
    let _ = write!(out, "{}{unit}", span.value);
}

// Binding strength, loosest first; a child weaker than its slot needs parentheses.
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const COMPARE: u8 = 4;
const ADD: u8 = 5;
const MUL: u8 = 6;
const UNARY: u8 = 7;
const PREDICATE: u8 = 8;
const PRIMARY: u8 = 9;

fn binary_level(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => OR,
        BinaryOp::And => AND,
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq => COMPARE,
        BinaryOp::Add | BinaryOp::Sub => ADD,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => MUL,
    }
}

fn level(expr: &Expr) -> u8 {
    match &expr.kind {
        ExprKind::Binary { op, .. } => binary_level(*op),
        ExprKind::Not(_) => NOT,
        ExprKind::Neg(_) => UNARY,
        ExprKind::In { .. } | ExprKind::Match { .. } => PREDICATE,
        // A negative number prints with a leading minus, which reads back as negation.
        ExprKind::Literal(Literal::Int(n)) if *n < 0 => UNARY,
        ExprKind::Literal(Literal::Float(f)) if f.is_sign_negative() => UNARY,
        ExprKind::Literal(_) | ExprKind::Field(_) | ExprKind::Call { .. } => PRIMARY,
    }
}

fn operator(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::And => "and",
        BinaryOp::Or => "or",
        BinaryOp::Eq => "==",
        BinaryOp::NotEq => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
    }
}

/// Writes `expr`, parenthesised when it binds more loosely than `min`.
fn write_expr(out: &mut String, expr: &Expr, min: u8) {
    let wrap = level(expr) < min;
    if wrap {
        out.push('(');
    }
    match &expr.kind {
        ExprKind::Literal(lit) => literal(out, lit),
        ExprKind::Field(field) => field_ref(out, field),
        ExprKind::Not(inner) => {
            out.push_str("not ");
            write_expr(out, inner, NOT);
        }
        ExprKind::Neg(inner) => {
            out.push('-');
            write_expr(out, inner, UNARY);
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let at = binary_level(*op);
            // Left-associative operators; comparisons do not chain at all.
            let (left_min, right_min) = if at == COMPARE {
                (ADD, ADD)
            } else {
                (at, at + 1)
            };
            write_expr(out, lhs, left_min);
            let _ = write!(out, " {} ", operator(*op));
            write_expr(out, rhs, right_min);
        }
        ExprKind::In {
            lhs,
            list,
            negated,
            case_insensitive,
        } => {
            write_expr(out, lhs, PRIMARY);
            out.push_str(if *negated { " not in" } else { " in" });
            if *case_insensitive {
                out.push('~');
            }
            out.push_str(" (");
            comma_list(out, list);
            out.push(')');
        }
        ExprKind::Match {
            op,
            case_insensitive,
            lhs,
            patterns,
        } => {
            write_expr(out, lhs, PRIMARY);
            out.push_str(match op {
                MatchOp::Colon => " : ",
                MatchOp::Like => " like",
                MatchOp::Regex => " regex",
            });
            if *op != MatchOp::Colon {
                out.push_str(if *case_insensitive { "~ " } else { " " });
            }
            if let [single] = patterns.as_slice() {
                write_expr(out, single, PRIMARY);
            } else {
                out.push('(');
                comma_list(out, patterns);
                out.push(')');
            }
        }
        ExprKind::Call {
            name,
            case_insensitive,
            args,
        } => {
            out.push_str(name);
            if *case_insensitive {
                out.push('~');
            }
            out.push('(');
            comma_list(out, args);
            out.push(')');
        }
    }
    if wrap {
        out.push(')');
    }
}

fn comma_list(out: &mut String, items: &[Expr]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_expr(out, item, 0);
    }
}

fn literal(out: &mut String, lit: &Literal) {
    match lit {
        Literal::Null => out.push_str("null"),
        Literal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Literal::Int(n) => {
            let _ = write!(out, "{n}");
        }
        // `{:?}` always has a fraction or exponent, so it reads back as the same double.
        Literal::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        Literal::String(s) => string(out, s),
    }
}

fn field_ref(out: &mut String, field: &FieldRef) {
    if field.optional {
        out.push('?');
    }
    for (i, segment) in field.path.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        if is_plain_identifier(segment) {
            out.push_str(segment);
        } else {
            out.push('`');
            out.push_str(&segment.replace('`', "``"));
            out.push('`');
        }
    }
    for index in &field.indexes {
        let _ = write!(out, "[{index}]");
    }
}

/// A double-quoted string with escapes. NUL has no escape (`\u{00}` is rejected) and is
/// written as is, which the lexer accepts.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() && c != '\0' => {
                let _ = write!(out, "\\u{{{:02x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use crate::{parse, print, strip_spans};

    fn canonical(text: &str) -> String {
        print(&parse(text).unwrap())
    }

    fn roundtrips(text: &str) {
        let first = parse(text).unwrap();
        let printed = print(&first);
        let second = parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e:?}"));
        assert_eq!(strip_spans(&first), strip_spans(&second), "{printed}");
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical("process where a==1"), "process where a == 1");
        assert_eq!(canonical("\"my cat\" where true"), "\"my cat\" where true");
    }

    #[test]
    fn parenthesises_by_precedence() {
        assert_eq!(
            canonical("any where (a or b) and c"),
            "any where (a or b) and c"
        );
        assert_eq!(
            canonical("any where a or (b and c)"),
            "any where a or b and c"
        );
        assert_eq!(
            canonical("any where (a + b) * c == 1"),
            "any where (a + b) * c == 1"
        );
        assert_eq!(
            canonical("any where a - (b - c) == 1"),
            "any where a - (b - c) == 1"
        );
        assert_eq!(
            canonical("any where (a + b) in (1)"),
            "any where (a + b) in (1)"
        );
        assert_eq!(canonical("any where not (a == 1)"), "any where not a == 1");
        assert_eq!(
            canonical("any where (not a) and b"),
            "any where not a and b"
        );
        assert_eq!(
            canonical("any where not (a and b)"),
            "any where not (a and b)"
        );
        assert_eq!(
            canonical("any where (a == b) == c"),
            "any where (a == b) == c"
        );
    }

    #[test]
    fn roundtrip_samples() {
        for q in [
            "process where process.name : (\"a*\", \"b\") and not x like~ \"c\"",
            "sequence by host.id with maxspan=5m [process where true] by a ![file where b regex \"x.*\"] by b with runs=2 until [any where c in~ (\"x\", 1)] by c | tail 3",
            "sample by h [any where x > -1] by a [any where startsWith~(a, \"x\")] by b",
            "any where `weird name`.`x``y` == \"\\\"\\n\\t\\\\\"",
            "any where ?a.b != 1.5e10 and -(-a) * 2 % 3 == -a - 1",
            "any where a + b in (1, 2) and (a - 1) : \"x\"",
        ] {
            roundtrips(q);
        }
    }
}
