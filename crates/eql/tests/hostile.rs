//! Hostile query text: deep nesting of every kind, very long chains and lists. Each query either
//! parses or fails with a diagnostic; none may overflow the stack. Every check runs on a thread with
//! Rust's default 2 MiB stack (the main thread has 8 MiB, which would hide recursion problems), and the
//! accepted trees are also printed, reparsed, stripped and dropped there, since those walk the tree
//! recursively too.

// Test helpers outside #[test] fns report failures by panicking, which is what a test should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use eql::ast::Query;
use eql::{Diagnostic, MAX_NESTING, MAX_TREE_DEPTH};

const DEFAULT_STACK: usize = 2 << 20;

/// Runs `f` on a fresh thread with the default stack size; a stack overflow aborts the test binary.
fn on_default_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(DEFAULT_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Parses on a default-size stack; an accepted query is also printed and reparsed there.
fn parse_small_stack(text: String) -> Result<Query, Vec<Diagnostic>> {
    on_default_stack(move || {
        let parsed = eql::parse(&text);
        if let Ok(query) = &parsed {
            let printed = eql::print(query);
            let reparsed = eql::parse(&printed).expect("printed query parses");
            assert_eq!(eql::strip_spans(query), eql::strip_spans(&reparsed));
        }
        parsed
    })
}

fn expect_code(result: Result<Query, Vec<Diagnostic>>, code: &str) -> Vec<Diagnostic> {
    let diagnostics = result.expect_err("hostile query must be rejected");
    assert!(
        diagnostics.iter().any(|d| d.code.0 == code),
        "expected {code}, got {:?}",
        diagnostics
            .iter()
            .map(|d| (d.code.0, d.message.as_str()))
            .collect::<Vec<_>>()
    );
    diagnostics
}

fn query(condition: &str) -> String {
    format!("process where {condition}")
}

#[test]
fn deep_parentheses_are_rejected_without_recursion() {
    for depth in [MAX_NESTING + 1, 10_000, 100_000] {
        let text = query(&format!("{}a == 1{}", "(".repeat(depth), ")".repeat(depth)));
        expect_code(parse_small_stack(text), "E202");
    }
    // Unbalanced: only openings.
    expect_code(parse_small_stack(query(&"(".repeat(100_000))), "E202");
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    let depth = MAX_NESTING - 2;
    let text = query(&format!("{}a == 1{}", "(".repeat(depth), ")".repeat(depth)));
    parse_small_stack(text).expect("nesting within the limit parses");
}

#[test]
fn long_not_chains_are_rejected() {
    for count in [MAX_NESTING + 1, 10_000, 100_000] {
        let text = query(&format!("{}a == 1", "not ".repeat(count)));
        expect_code(parse_small_stack(text), "E202");
    }
}

#[test]
fn long_unary_minus_chains_are_rejected() {
    for count in [10_000, 100_000] {
        expect_code(
            parse_small_stack(query(&format!("a == {}1", "-".repeat(count)))),
            "E202",
        );
        expect_code(
            parse_small_stack(query(&format!("a == {}1", "- ".repeat(count)))),
            "E202",
        );
        expect_code(
            parse_small_stack(query(&format!("a == {}1", "+".repeat(count)))),
            "E202",
        );
    }
}

#[test]
fn deeply_nested_function_calls_are_rejected() {
    for depth in [10_000, 100_000] {
        let text = query(&format!(
            "length({}a{}) == 1",
            "length(".repeat(depth),
            ")".repeat(depth)
        ));
        expect_code(parse_small_stack(text), "E202");
        let text = query(&format!(
            "{}a{}",
            "startsWith(".repeat(depth),
            ", \"x\")".repeat(depth)
        ));
        expect_code(parse_small_stack(text), "E202");
    }
}

#[test]
fn deeply_nested_in_lists_are_rejected() {
    let depth = 50_000;
    let text = query(&format!(
        "a in ({}1{})",
        "(".repeat(depth),
        ")".repeat(depth)
    ));
    expect_code(parse_small_stack(text), "E202");
}

#[test]
fn long_and_chains_parse_or_fail_cleanly() {
    // 50k terms: a left-deep tree far beyond MAX_TREE_DEPTH.
    let terms: Vec<String> = (0..50_000).map(|i| format!("f{} == {i}", i % 7)).collect();
    expect_code(parse_small_stack(query(&terms.join(" and "))), "E202");
    let terms: Vec<String> = (0..50_000).map(|i| format!("f == {i}")).collect();
    expect_code(parse_small_stack(query(&terms.join(" or "))), "E202");
    // Arithmetic chains are left-deep too.
    expect_code(
        parse_small_stack(query(&format!("a == 1{}", " + 1".repeat(50_000)))),
        "E202",
    );
}

#[test]
fn the_deepest_accepted_trees_print_and_drop_on_a_small_stack() {
    // Find the longest `or` chain the parser accepts, then make sure printing, reparsing and
    // dropping it need little stack.
    let chain = |n: usize| {
        query(
            &(0..n)
                .map(|i| format!("f == {i}"))
                .collect::<Vec<_>>()
                .join(" or "),
        )
    };
    let accepted = (1..=MAX_TREE_DEPTH as usize)
        .rev()
        .find(|n| eql::parse(&chain(*n)).is_ok())
        .expect("some chain length is accepted");
    assert!(
        accepted >= (MAX_TREE_DEPTH as usize) / 2,
        "only {accepted} terms accepted"
    );
    parse_small_stack(chain(accepted)).expect("accepted on the small stack too");
    expect_code(parse_small_stack(chain(accepted + 1)), "E202");

    let arith = |n: usize| query(&format!("a == 1{}", " + 1".repeat(n)));
    let accepted = (1..=MAX_TREE_DEPTH as usize)
        .rev()
        .find(|n| eql::parse(&arith(*n)).is_ok())
        .expect("some arithmetic chain is accepted");
    parse_small_stack(arith(accepted)).expect("accepted on the small stack too");

    // Nesting, `not` and calls, each at the deepest accepted level, mixed.
    let nested = format!(
        "{}length(concat(a, \"x\")) > 1{}",
        "not (".repeat(MAX_NESTING / 2 - 2),
        ")".repeat(MAX_NESTING / 2 - 2)
    );
    parse_small_stack(query(&nested)).expect("mixed nesting within the limit parses");
}

#[test]
fn deep_sequences_and_brackets_fail_cleanly() {
    let text = format!("sequence {}", "[".repeat(100_000));
    assert!(parse_small_stack(text).is_err());
    let text = format!("sequence by a {}", "[process where true] ".repeat(10_000));
    // Too many stages or accepted: either way no crash.
    let _ = parse_small_stack(text);
    let text = format!("process where true {}", "| head 1 ".repeat(100_000));
    let _ = parse_small_stack(text);
}

#[test]
fn nested_comments_are_not_recursive() {
    let text = format!("process where true /*{}", "/*".repeat(100_000));
    assert!(parse_small_stack(text).is_err());
    let text = format!(
        "process where true /*{}{}*/",
        "/*".repeat(100_000),
        "*/".repeat(100_000)
    );
    parse_small_stack(text).expect("balanced nested comments are skipped");
}

#[test]
fn huge_lists_parse() {
    let values: Vec<String> = (0..100_000).map(|i| format!("\"v{i}\"")).collect();
    let parsed = parse_small_stack(query(&format!("a in ({})", values.join(", "))))
        .expect("100k-value in list");
    drop(parsed);
    let patterns: Vec<String> = (0..10_000).map(|i| format!("\"*p{i}*\"")).collect();
    parse_small_stack(query(&format!("a : ({})", patterns.join(", ")))).expect("10k-pattern list");
    parse_small_stack(query(&format!("a like~ ({})", patterns.join(", "))))
        .expect("10k-pattern like~ list");
}

#[test]
fn huge_literals_and_identifiers_parse() {
    let long = "a".repeat(1 << 20);
    parse_small_stack(query(&format!("f == \"{long}\""))).expect("1 MiB string");
    parse_small_stack(query(&format!("{long} == 1"))).expect("1 MiB field name");
    let dotted = vec!["a"; 100_000].join(".");
    parse_small_stack(query(&format!("{dotted} == 1"))).expect("100k-segment field name");
    let indexed = format!("a{} == 1", "[0]".repeat(100_000));
    let _ = parse_small_stack(query(&indexed));
    let escapes = "\\u{41}".repeat(100_000);
    parse_small_stack(query(&format!("f == \"{escapes}\""))).expect("many unicode escapes");
}
