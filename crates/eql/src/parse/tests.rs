//! One test (at least) per grammar branch and per error code of the parser.

use crate::ast::*;
use crate::print::print_expr;
use crate::strip::strip_expr;
use crate::{parse, Diagnostic};

fn ok(text: &str) -> Query {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn errs(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(q) => panic!("{text} parsed: {q:?}"),
        Err(e) => e,
    }
}

fn code(text: &str) -> &'static str {
    errs(text)[0].code.0
}

fn condition(text: &str) -> Expr {
    match ok(&format!("any where {text}")).body {
        QueryBody::Event(e) => e.condition,
        other => panic!("{other:?}"),
    }
}

/// The condition printed back, fully parenthesised structure made visible by the printer.
fn shape(text: &str) -> String {
    print_expr(&condition(text))
}

fn field(path: &str) -> Expr {
    Expr {
        kind: ExprKind::Field(FieldRef {
            path: path.into(),
            optional: false,
            indexes: vec![],
        }),
        span: Default::default(),
    }
}

fn lit(l: Literal) -> Expr {
    Expr {
        kind: ExprKind::Literal(l),
        span: Default::default(),
    }
}

fn sequence(text: &str) -> Sequence {
    match ok(text).body {
        QueryBody::Sequence(s) => s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn event_categories() {
    let q = ok("process where true");
    let QueryBody::Event(e) = &q.body else {
        panic!()
    };
    assert_eq!(e.category, Category::Named("process".into()));
    let QueryBody::Event(e) = ok("\"my category\" where true").body else {
        panic!()
    };
    assert_eq!(e.category, Category::Named("my category".into()));
    let QueryBody::Event(e) = ok("any where true").body else {
        panic!()
    };
    assert_eq!(e.category, Category::Any);
    assert_eq!(q.span, crate::Span::new(0, 18));
    assert_eq!(code("process true"), "E201");
    assert_eq!(code("`process` where true"), "E201");
    assert_eq!(code("process WHERE true"), "E201");
    assert_eq!(code("process where"), "E201");
    assert_eq!(code("'process' where true"), "E104");
}

#[test]
fn sequence_header_and_stages() {
    let s = sequence(
        "sequence by host.id with maxspan=30s [process where true] by a ![file where true] by b with runs=3 until [any where x] by c",
    );
    assert_eq!(s.by.len(), 1);
    assert_eq!(strip_expr(&s.by[0]), field("host.id"));
    let span = s.maxspan.unwrap();
    assert_eq!((span.value, span.unit), (30, TimeUnit::Seconds));
    assert_eq!(s.stages.len(), 2);
    assert!(!s.stages[0].missing && s.stages[1].missing);
    assert_eq!((s.stages[0].runs, s.stages[1].runs), (1, 3));
    assert_eq!(strip_expr(&s.stages[1].by[0]), field("b"));
    assert!(s.until.is_some());
    for (text, unit) in [
        ("5ms", TimeUnit::Millis),
        ("2m", TimeUnit::Minutes),
        ("1h", TimeUnit::Hours),
        ("7d", TimeUnit::Days),
    ] {
        let s = sequence(&format!(
            "sequence with maxspan={text} [a where true] [b where true]"
        ));
        assert_eq!(s.maxspan.unwrap().unit, unit);
    }
    let s = sequence("sequence [a where true] with runs=2");
    assert_eq!(s.stages[0].runs, 2);
}

#[test]
fn sequence_errors() {
    assert_eq!(
        code("sequence with maxspan=1s by a [a where true] [b where true]"),
        "E210"
    );
    assert_eq!(code("sequence [a where true]"), "E211");
    assert_eq!(code("sequence ![a where true] ![b where true]"), "E214");
    assert_eq!(code("sequence [a where true] by x [b where true]"), "E212");
    assert_eq!(
        code("sequence [a where true] by x [b where true] by y until [c where true]"),
        "E212"
    );
    assert_eq!(
        code("sequence with maxspan=0s [a where true] [b where true]"),
        "E209"
    );
    assert_eq!(
        code("sequence with maxspan=1.5s [a where true] [b where true]"),
        "E209"
    );
    assert_eq!(
        code("sequence with maxspan=5 [a where true] [b where true]"),
        "E209"
    );
    assert_eq!(
        code("sequence with maxspan=5w [a where true] [b where true]"),
        "E209"
    );
    assert_eq!(
        code("sequence [a where true] with repeat=2 [b where true]"),
        "E213"
    );
    assert_eq!(
        code("sequence [a where true] with runs=0 [b where true]"),
        "E213"
    );
    assert_eq!(
        code("sequence by string(x) [a where true] [b where true]"),
        "E215"
    );
    assert_eq!(code("sequence [a where true] [b where true"), "E201");
    assert_eq!(code("sequence"), "E201");
    let e = &errs("sequence [a where true] by x [b where true] by x, y")[0];
    assert_eq!(
        e.message,
        "inconsistent number of join keys: expected 1 but found 2"
    );
    assert!(
        errs("sequence with maxspan=5 [a where true] [b where true]")[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("`5s`")
    );
}

#[test]
fn samples() {
    let QueryBody::Sample(s) = ok("sample by h [a where true] by x [b where true] by y").body
    else {
        panic!()
    };
    assert_eq!(s.stages.len(), 2);
    assert_eq!(strip_expr(&s.by[0]), field("h"));
    assert_eq!(code("sample by h ![a where true] [b where true]"), "E214");
    assert_eq!(code("sample by h [a where true]"), "E211");
    assert_eq!(
        code("sample by h [a where true] by x [b where true]"),
        "E212"
    );
}

#[test]
fn pipes() {
    let q = ok("process where true | head 5 | tail 2");
    assert!(matches!(
        q.pipes[..],
        [Pipe::Head { count: 5, .. }, Pipe::Tail { count: 2, .. }]
    ));
    let e = &errs("process where true | filter a == 1")[0];
    assert_eq!(
        (e.code.0, e.message.as_str()),
        (
            "E203",
            "pipe `filter` is not supported by Elasticsearch EQL"
        )
    );
    for pipe in ["count", "sort a", "unique a", "unique_count a"] {
        assert_eq!(code(&format!("process where true | {pipe}")), "E203");
    }
    let e = &errs("process where true | haed 5")[0];
    assert_eq!(e.code.0, "E204");
    assert_eq!(e.hint.as_deref(), Some("did you mean `head`?"));
    assert_eq!(code("process where true | head -1"), "E205");
    assert_eq!(code("process where true | head"), "E205");
    assert_eq!(code("process where true | head 1, 2"), "E205");
    assert_eq!(code("process where true | head 1.5"), "E205");
    assert_eq!(code("process where true | 5"), "E201");
}

#[test]
fn unsupported_constructs() {
    assert_eq!(code("join [a where true] [b where true]"), "E206");
    assert_eq!(
        code("process where descendant of [process where true]"),
        "E207"
    );
    let e = &errs("process where args[0] == \"x\"")[0];
    assert_eq!(e.code.0, "E208");
    assert_eq!(e.span, crate::Span::new(18, 21));
}

#[test]
fn precedence() {
    assert_eq!(shape("a or b and c"), "a or b and c");
    let ExprKind::Binary {
        op: BinaryOp::Or, ..
    } = condition("a or b and c").kind
    else {
        panic!()
    };
    let ExprKind::Binary {
        op: BinaryOp::And,
        lhs,
        ..
    } = condition("not a and b").kind
    else {
        panic!()
    };
    assert!(matches!(lhs.kind, ExprKind::Not(_)));
    let ExprKind::Not(inner) = condition("not a == b").kind else {
        panic!()
    };
    assert!(matches!(
        inner.kind,
        ExprKind::Binary {
            op: BinaryOp::Eq,
            ..
        }
    ));
    let ExprKind::Binary {
        op: BinaryOp::Mul,
        lhs,
        ..
    } = condition("-a * b").kind
    else {
        panic!()
    };
    assert!(matches!(lhs.kind, ExprKind::Neg(_)));
    let ExprKind::Binary {
        op: BinaryOp::Add,
        rhs,
        ..
    } = condition("a + b * c").kind
    else {
        panic!()
    };
    assert!(matches!(
        rhs.kind,
        ExprKind::Binary {
            op: BinaryOp::Mul,
            ..
        }
    ));
    let ExprKind::Binary {
        op: BinaryOp::Sub,
        lhs,
        ..
    } = condition("a - b - c").kind
    else {
        panic!()
    };
    assert!(matches!(
        lhs.kind,
        ExprKind::Binary {
            op: BinaryOp::Sub,
            ..
        }
    ));
    // A predicate binds to the primary before it, as in Elasticsearch's grammar.
    let ExprKind::Binary {
        op: BinaryOp::Add,
        rhs,
        ..
    } = condition("a + b in (1)").kind
    else {
        panic!()
    };
    assert!(matches!(rhs.kind, ExprKind::In { .. }));
    assert_eq!(shape("1 * -2 <= -3 * 4"), "1 * -2 <= -3 * 4");
    let ExprKind::Binary {
        op: BinaryOp::LtEq,
        lhs,
        ..
    } = condition("1 * -2 <= -3 * 4").kind
    else {
        panic!()
    };
    assert!(matches!(
        lhs.kind,
        ExprKind::Binary {
            op: BinaryOp::Mul,
            ..
        }
    ));
}

#[test]
fn comparison_errors() {
    let e = &errs("any where a == b == c")[0];
    assert_eq!(e.code.0, "E201");
    assert!(e.hint.as_deref().unwrap().contains("cannot be chained"));
    let e = &errs("any where a = 1")[0];
    assert_eq!(e.message, "expected an operator, found `=`");
    assert_eq!(e.hint.as_deref(), Some("use `==` to compare values"));
}

#[test]
fn in_predicates() {
    let ExprKind::In {
        list,
        negated,
        case_insensitive,
        ..
    } = condition("a not in~ (1, \"x\")").kind
    else {
        panic!()
    };
    assert_eq!(list.len(), 2);
    assert!(negated && case_insensitive);
    assert_eq!(code("any where a in ()"), "E201");
    assert_eq!(code("any where a not like \"x\""), "E201");
    assert_eq!(code("any where a in (1) in (2)"), "E201");
}

#[test]
fn match_predicates() {
    for (text, want_op, want_ci, n) in [
        ("a : \"x*\"", MatchOp::Colon, false, 1),
        ("a : (\"x\", \"y\")", MatchOp::Colon, false, 2),
        ("a like \"x\"", MatchOp::Like, false, 1),
        ("a like~ (\"x\", \"y\", \"z\")", MatchOp::Like, true, 3),
        ("a regex \".*\"", MatchOp::Regex, false, 1),
        ("a regex~ (\"a\")", MatchOp::Regex, true, 1),
    ] {
        let ExprKind::Match {
            op,
            case_insensitive,
            patterns,
            ..
        } = condition(text).kind
        else {
            panic!("{text}")
        };
        assert_eq!(
            (op, case_insensitive, patterns.len()),
            (want_op, want_ci, n),
            "{text}"
        );
    }
    assert_eq!(code("any where a : b"), "E201");
    assert_eq!(code("any where a : (\"x\" \"y\")"), "E201");
}

#[test]
fn functions() {
    let ExprKind::Call {
        name,
        case_insensitive,
        args,
    } = condition("STARTSWITH~(a, \"x\")").kind
    else {
        panic!()
    };
    assert_eq!(
        (name.as_str(), case_insensitive, args.len()),
        ("startsWith", true, 2)
    );
    let e = &errs("any where startWith(a, \"x\")")[0];
    assert_eq!(
        (e.code.0, e.message.as_str()),
        ("E301", "unknown function `startWith`")
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean `startsWith`?"));
    let e = &errs("any where length(a, b)")[0];
    assert_eq!(
        e.message,
        "function `length` takes exactly 1 argument, found 2"
    );
    assert_eq!(code("any where length~(a)"), "E303");
    assert_eq!(code("any where length~ a"), "E201");
    // Several check errors come back together.
    assert_eq!(errs("any where foo(a) and length() and bar(b)").len(), 3);
    assert_eq!(code("any where concat()"), "E302");
    let ExprKind::Call { args, .. } = condition("cidrMatch(ip, \"10.0.0.0/8\", \"::1/128\")").kind
    else {
        panic!()
    };
    assert_eq!(args.len(), 3);
}

#[test]
fn literals() {
    assert_eq!(strip_expr(&condition("null")), lit(Literal::Null));
    assert_eq!(strip_expr(&condition("true")), lit(Literal::Bool(true)));
    assert_eq!(strip_expr(&condition("false")), lit(Literal::Bool(false)));
    assert_eq!(
        strip_expr(&condition("8589934592")),
        lit(Literal::Int(8_589_934_592))
    );
    assert_eq!(strip_expr(&condition("5e14")), lit(Literal::Float(5e14)));
    assert_eq!(strip_expr(&condition("5.2")), lit(Literal::Float(5.2)));
    assert_eq!(strip_expr(&condition(".5")), lit(Literal::Float(0.5)));
    assert_eq!(
        strip_expr(&condition("1.5E-3")),
        lit(Literal::Float(1.5e-3))
    );
    // Beyond i64: a double, as Elasticsearch does.
    assert_eq!(
        strip_expr(&condition("9223372036854775808")),
        lit(Literal::Float(9_223_372_036_854_775_808.0))
    );
    assert_eq!(code(&format!("any where {}", "9".repeat(400))), "E109");
    assert_eq!(code("any where 1e400"), "E109");
    let ExprKind::Neg(inner) = condition("-5.2").kind else {
        panic!()
    };
    assert_eq!(strip_expr(&inner), lit(Literal::Float(5.2)));
    assert_eq!(strip_expr(&condition("+5")), lit(Literal::Int(5)));
    assert_eq!(
        strip_expr(&condition("\"a\\tb\"")),
        lit(Literal::String("a\tb".into()))
    );
    assert_eq!(
        strip_expr(&condition("\"\"\"C:\\x\"\"\"")),
        lit(Literal::String("C:\\x".into()))
    );
}

#[test]
fn fields() {
    assert_eq!(
        strip_expr(&condition("process.parent.name")),
        field("process.parent.name")
    );
    assert_eq!(strip_expr(&condition("@timestamp")), field("@timestamp"));
    assert_eq!(strip_expr(&condition("`a b`.`c``d`")), field("a b.c`d"));
    assert_eq!(strip_expr(&condition("x.`sequence`")), field("x.sequence"));
    let ExprKind::Field(f) = condition("?process.name").kind else {
        panic!()
    };
    assert!(f.optional);
    let e = &errs("any where args[0][1 2]")[..];
    assert_eq!(e.len(), 2);
    assert_eq!(code("any where process.sequence == 1"), "E201");
    let e = &errs("any where sequence == 1")[0];
    assert!(e.hint.as_deref().unwrap().contains("`` `sequence` ``"));
    assert_eq!(code("any where a.1b"), "E201");
}

#[test]
fn comments_and_whitespace() {
    let q = ok("/* lead */ process // trailing\n where /* a /* nested */ one */ true // end");
    let QueryBody::Event(e) = q.body else {
        panic!()
    };
    assert_eq!(strip_expr(&e.condition), lit(Literal::Bool(true)));
}

#[test]
fn spans_are_exact() {
    let c = condition("a.b == \"x\"");
    assert_eq!(c.span, crate::Span::new(10, 20));
    let ExprKind::Binary { lhs, rhs, .. } = c.kind else {
        panic!()
    };
    assert_eq!(
        (lhs.span, rhs.span),
        (crate::Span::new(10, 13), crate::Span::new(17, 20))
    );
    let e = &errs("process where a == ")[0];
    assert_eq!(e.span, crate::Span::new(19, 19));
    assert_eq!(e.message, "expected an expression, found end of query");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for text in [
        format!("any where {}a{}", "(".repeat(200), ")".repeat(200)),
        format!("any where {}", "(".repeat(100_000)),
        format!("any where {}a", "not ".repeat(100_000)),
        format!("any where {}a", "- ".repeat(100_000)),
        format!("any where {}", "f(".repeat(100_000)),
        format!("any where a{}", " or a".repeat(100_000)),
        format!("any where 1{}", " + 1".repeat(100_000)),
    ] {
        let errors = errs(&text);
        assert_eq!(errors[0].code.0, "E202", "{}", &text[..40]);
    }
    // Within the limits, deep queries parse.
    ok(&format!("any where {}a{}", "(".repeat(60), ")".repeat(60)));
    ok(&format!("any where a{}", " or a".repeat(900)));
}

#[test]
fn never_panics_on_odd_input() {
    for text in [
        "",
        " ",
        "|",
        "]",
        "![",
        "sequence by",
        "sample",
        "any where (",
        "any where a in (",
        "\u{0}",
        "any where \"\\",
        "any where `",
        "any where \"\"\"abc",
        "any where 1 |",
        "any where f(,)",
    ] {
        assert!(parse(text).is_err(), "{text:?}");
    }
}
