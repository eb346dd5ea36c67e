//! Random syntax trees survive printing and parsing: parse(print(tree)) == tree, spans aside.
//! Trees are limited to what the parser can build (e.g. numbers are never negative literals:
//! `-5` reads back as negation of 5).

use eql::ast::*;
use eql::funcs::FUNCTIONS;
use eql::Span;
use proptest::prelude::*;

fn expr(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 *?._-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
        Just("\"\\\n\t\r\u{0}\u{8}\u{c}\u{1b}'`".to_string()),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        (0..=i64::MAX).prop_map(Literal::Int),
        (0.0..1e300f64).prop_map(Literal::Float),
        prop_oneof![Just(0.5), Just(1e-300), Just(5e14), Just(1.0)].prop_map(Literal::Float),
        text().prop_map(Literal::String),
    ]
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_@][a-z0-9_]{0,6}",
        Just("sequence".to_string()),
        Just("with space".to_string()),
        Just("back`quote".to_string()),
        Just("1digit".to_string()),
        Just(String::new()),
    ]
}

fn field() -> impl Strategy<Value = FieldRef> {
    (prop::collection::vec(segment(), 1..4), any::<bool>()).prop_map(|(segments, optional)| {
        FieldRef {
            path: segments.join("."),
            optional,
            indexes: Vec::new(),
        }
    })
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        literal().prop_map(|l| expr(ExprKind::Literal(l))),
        field().prop_map(|f| expr(ExprKind::Field(f))),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    prop::sample::select(vec![
        And, Or, Eq, NotEq, Lt, LtEq, Gt, GtEq, Add, Sub, Mul, Div, Mod,
    ])
}

fn any_expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 48, 4, |inner| {
        let list = prop::collection::vec(inner.clone(), 1..4);
        let patterns =
            prop::collection::vec(literal().prop_map(|l| expr(ExprKind::Literal(l))), 1..4);
        let call = (
            0..FUNCTIONS.len(),
            any::<bool>(),
            prop::collection::vec(inner.clone(), 0..5),
        )
            .prop_filter_map("arity", |(i, ci, args)| {
                let spec = &FUNCTIONS[i];
                (spec.accepts(args.len()) && (!ci || spec.case_insensitive)).then(|| {
                    expr(ExprKind::Call {
                        name: spec.name.to_string(),
                        case_insensitive: ci,
                        args,
                    })
                })
            });
        prop_oneof![
            inner.clone().prop_map(|e| expr(ExprKind::Not(Box::new(e)))),
            inner.clone().prop_map(|e| expr(ExprKind::Neg(Box::new(e)))),
            (binary_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| expr(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                }
            )),
            (inner.clone(), list, any::<bool>(), any::<bool>()).prop_map(
                |(l, list, negated, ci)| {
                    expr(ExprKind::In {
                        lhs: Box::new(l),
                        list,
                        negated,
                        case_insensitive: ci,
                    })
                }
            ),
            (
                prop::sample::select(vec![MatchOp::Colon, MatchOp::Like, MatchOp::Regex]),
                any::<bool>(),
                inner,
                patterns
            )
                .prop_map(|(op, ci, l, patterns)| expr(ExprKind::Match {
                    op,
                    // `:` is always case-insensitive and has no `~` form.
                    case_insensitive: ci && op != MatchOp::Colon,
                    lhs: Box::new(l),
                    patterns,
                })),
            call,
        ]
    })
}

fn category() -> impl Strategy<Value = Category> {
    prop_oneof![
        Just(Category::Any),
        "[a-z_][a-z0-9_]{0,8}".prop_map(Category::Named),
        text().prop_map(Category::Named),
    ]
}

fn event() -> impl Strategy<Value = EventQuery> {
    (category(), any_expr()).prop_map(|(category, condition)| EventQuery {
        category,
        condition,
        span: Span::default(),
    })
}

fn keys(n: usize) -> impl Strategy<Value = Vec<Expr>> {
    prop::collection::vec(field().prop_map(|f| expr(ExprKind::Field(f))), n..=n)
}

fn seq_stage(n_keys: usize) -> impl Strategy<Value = SequenceStage> {
    (event(), keys(n_keys), any::<bool>(), 1u32..5).prop_map(|(query, by, missing, runs)| {
        SequenceStage {
            query,
            by,
            missing,
            runs,
            span: Span::default(),
        }
    })
}

fn time_span() -> impl Strategy<Value = TimeSpan> {
    (
        1u64..1_000_000,
        prop::sample::select(vec![
            TimeUnit::Millis,
            TimeUnit::Seconds,
            TimeUnit::Minutes,
            TimeUnit::Hours,
            TimeUnit::Days,
        ]),
    )
        .prop_map(|(value, unit)| TimeSpan {
            value,
            unit,
            span: Span::default(),
        })
}

fn body() -> impl Strategy<Value = QueryBody> {
    let sequence = (0usize..3, 0usize..3).prop_flat_map(|(top, per_stage)| {
        (
            keys(top),
            prop::option::of(time_span()),
            prop::collection::vec(seq_stage(per_stage), 2..5),
            prop::option::of(seq_stage(per_stage)),
        )
            .prop_map(|(by, maxspan, mut stages, until)| {
                // At least one stage must be an event that is present.
                stages[0].missing = false;
                QueryBody::Sequence(Sequence {
                    by,
                    maxspan,
                    stages,
                    until,
                    span: Span::default(),
                })
            })
    });
    let sample = (0usize..3, 0usize..3).prop_flat_map(|(top, per_stage)| {
        let stage = (event(), keys(per_stage)).prop_map(|(query, by)| SampleStage {
            query,
            by,
            span: Span::default(),
        });
        (keys(top), prop::collection::vec(stage, 2..4)).prop_map(|(by, stages)| {
            QueryBody::Sample(Sample {
                by,
                stages,
                span: Span::default(),
            })
        })
    });
    prop_oneof![event().prop_map(QueryBody::Event), sequence, sample]
}

fn query() -> impl Strategy<Value = Query> {
    let pipe = (any::<bool>(), 0u64..=i64::MAX as u64).prop_map(|(head, count)| {
        if head {
            Pipe::Head {
                count,
                span: Span::default(),
            }
        } else {
            Pipe::Tail {
                count,
                span: Span::default(),
            }
        }
    });
    (body(), prop::collection::vec(pipe, 0..3)).prop_map(|(body, pipes)| Query {
        body,
        pipes,
        span: Span::default(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_gives_the_same_tree(tree in query()) {
        let printed = eql::print(&tree);
        match eql::parse(&printed) {
            Ok(parsed) => prop_assert_eq!(eql::strip_spans(&parsed), tree, "printed:\n{}", printed),
            Err(errors) => prop_assert!(
                false,
                "printed form does not parse:\n{}",
                eql::render::render_all(&errors, "<printed>", &printed)
            ),
        }
    }
}
