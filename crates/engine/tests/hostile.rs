//! Hostile rules: the deepest trees the parser accepts, huge `in` and pattern lists, pathological
//! regexps and wildcards. Each compiles and matches in time linear in its input, or is rejected with a
//! diagnostic. Complexity is checked by comparing the cost of inputs of different sizes (best of several
//! runs, generous ratios: a quadratic algorithm overshoots them many times over), never by absolute
//! wall-clock thresholds. Deep trees are compiled and evaluated on a thread with Rust's default 2 MiB
//! stack.

// Test helpers outside #[test] fns report failures by panicking, which is what a test should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use engine::event::EventOptions;
use engine::field::FieldTable;
use engine::schema::Schema;
use engine::{Match, Plan, QueryOptions};

const DEFAULT_STACK: usize = 2 << 20;

/// Held by every test in this file: the cost comparisons must not overlap another test's heavy work.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ecs() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(Schema::ecs)
}

fn on_default_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(DEFAULT_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

struct Compiled {
    plan: Plan,
    fields: FieldTable,
}

fn compile(text: &str) -> Result<Compiled, Vec<eql::Diagnostic>> {
    let query = eql::parse(text)?;
    let mut fields = FieldTable::with_defaults(ecs());
    let plan = engine::compile(&query, ecs(), &QueryOptions::default(), &mut fields)?;
    Ok(Compiled { plan, fields })
}

fn compile_ok(text: &str) -> Compiled {
    match compile(text) {
        Ok(compiled) => compiled,
        Err(diagnostics) => panic!(
            "does not compile: {:?}",
            diagnostics
                .iter()
                .map(|d| (d.code.0, d.message.as_str()))
                .collect::<Vec<_>>()
        ),
    }
}

impl Compiled {
    /// A process event with the given command line, name and pid.
    fn event(&self, command_line: &str, name: &str, pid: i64) -> Arc<engine::event::Event> {
        let doc = serde_json::json!({
            "@timestamp": "2024-01-01T00:00:00Z",
            "event": {"category": "process"},
            "process": {"command_line": command_line, "name": name, "pid": pid},
        });
        Arc::new(
            self.fields
                .parse_event(&doc.to_string(), &EventOptions::default())
                .unwrap(),
        )
    }

    fn matches(&self, event: &Arc<engine::event::Event>) -> bool {
        let found = engine::query::run(&self.plan, vec![Arc::clone(event)]);
        matches!(found.as_slice(), [Match::Event(_)])
    }
}

/// The fastest of `runs` timings of `f` (the minimum is the least disturbed by other load).
fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// Asserts that the cost of `large` (an input `factor` times the size of `small`'s) grows less than
/// `factor * slack` times. Each attempt takes the best of three alternating timings (both sizes see the
/// same background load); a cost that grows too fast in three attempts in a row is not noise.
fn assert_linear(
    what: &str,
    factor: f64,
    slack: f64,
    mut small: impl FnMut(),
    mut large: impl FnMut(),
) {
    let floor = Duration::from_micros(50);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (mut best_small, mut best_large) = (Duration::MAX, Duration::MAX);
        for _ in 0..3 {
            best_small = best_small.min(best_of(1, &mut small));
            best_large = best_large.min(best_of(1, &mut large));
        }
        let ratio = best_large.max(floor).as_secs_f64() / best_small.max(floor).as_secs_f64();
        if ratio < factor * slack {
            return;
        }
        seen.push(format!("{ratio:.1}x ({best_small:?} → {best_large:?})"));
    }
    panic!(
        "{what}: input grew {factor}x, cost grew {}; not linear",
        seen.join(", ")
    );
}

fn diagnostic_codes(result: Result<Compiled, Vec<eql::Diagnostic>>) -> Vec<(&'static str, String)> {
    match result {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics
            .into_iter()
            .map(|d| (d.code.0, d.message))
            .collect(),
    }
}

/// The largest `n` in 1..=max for which `accepts(n)` holds, assuming it is monotone.
fn largest_accepted(max: usize, accepts: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, max);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if accepts(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Compiles the deepest query of a shape the parser accepts (found by bisection), then compiles it
/// again and evaluates it on a default-size stack.
fn check_deepest(what: &str, build: fn(usize) -> String) {
    let deepest = largest_accepted(5_000, |n| eql::parse(&build(n)).is_ok());
    assert!(deepest >= 10, "{what}: only {deepest} levels accepted");
    assert!(
        eql::parse(&build(deepest + 1)).is_err(),
        "{what}: limit is not monotone"
    );
    let text = build(deepest);
    // Evaluation alone first (compiled on this thread's larger stack), so a failure says which half.
    let compiled = compile_ok(&text);
    on_default_stack(move || {
        let event = compiled.event("cmd", "name", 3);
        // The answer itself is checked elsewhere; here evaluation must simply finish.
        let _ = compiled.matches(&event);
        drop(compiled);
    });
    on_default_stack(move || drop(compile_ok(&text)));
}

#[test]
fn deepest_or_chain() {
    let _serial = serial();
    check_deepest("or chain", |n| {
        let terms: Vec<String> = (0..n).map(|i| format!("process.pid == {i}")).collect();
        format!("process where {}", terms.join(" or "))
    });
}

#[test]
fn deepest_and_chain_in_a_sequence() {
    let _serial = serial();
    check_deepest("and chain in a sequence", |n| {
        let terms: Vec<String> = (0..n).map(|i| format!("process.pid != {i}")).collect();
        format!(
            "sequence by process.pid [process where {}] [process where true]",
            terms.join(" and ")
        )
    });
}

/// Regression: compile and eval once overflowed a 2 MiB stack at ~780 arithmetic levels (debug build),
/// below the 998 levels the parser accepts; their frames were shrunk.
#[test]
fn deepest_arithmetic_chain() {
    let _serial = serial();
    check_deepest("arithmetic chain", |n| {
        format!("process where process.pid{} == {n}", " + 1".repeat(n))
    });
}

#[test]
fn deepest_not_chain() {
    let _serial = serial();
    check_deepest("not chain", |n| {
        format!("process where {}process.pid == 3", "not ".repeat(n))
    });
}

#[test]
fn deepest_nested_calls() {
    let _serial = serial();
    check_deepest("nested calls", |n| {
        format!(
            "process where length({}process.name{}) > 0",
            "concat(".repeat(n),
            ", \"x\")".repeat(n)
        )
    });
}

#[test]
fn deepest_parentheses() {
    let _serial = serial();
    check_deepest("parentheses", |n| {
        format!(
            "process where {}process.pid == 3{}",
            "(".repeat(n),
            ")".repeat(n)
        )
    });
}

#[test]
fn huge_in_lists_compile_and_match_by_hashing() {
    let _serial = serial();
    let list = |n: usize| {
        let values: Vec<String> = (0..n).map(|i| format!("\"name{i}\"")).collect();
        format!("process where process.name in~ ({})", values.join(", "))
    };
    let big = compile_ok(&list(100_000));
    assert!(big.matches(&big.event("", "name99999", 1)));
    assert!(big.matches(&big.event("", "NAME5", 1)));
    assert!(!big.matches(&big.event("", "name100000", 1)));

    let ints: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let numeric = compile_ok(&format!(
        "process where process.pid in ({})",
        ints.join(", ")
    ));
    assert!(numeric.matches(&numeric.event("", "", 99_999)));
    assert!(!numeric.matches(&numeric.event("", "", 100_000)));

    // Compiling is linear in the list length.
    let (small_text, large_text) = (list(12_500), list(100_000));
    assert_linear(
        "compile in list",
        8.0,
        4.0,
        || drop(compile_ok(&small_text)),
        || drop(compile_ok(&large_text)),
    );

    // A lookup costs the same whatever the list length: 100 values vs 100k values.
    let tiny = compile_ok(&list(100));
    let probe_tiny = tiny.event("", "absent", 1);
    let probe_big = big.event("", "absent", 1);
    assert_linear(
        "in-list lookup vs list length",
        1.0,
        20.0,
        || (0..200).for_each(|_| assert!(!tiny.matches(&probe_tiny))),
        || (0..200).for_each(|_| assert!(!big.matches(&probe_big))),
    );
}

/// A named pattern family: index → pattern.
type Shape = (&'static str, fn(usize) -> String);

fn pattern_list(n: usize, shape: &dyn Fn(usize) -> String) -> String {
    let quoted: Vec<String> = (0..n).map(|i| format!("\"{}\"", shape(i))).collect();
    format!(
        "process where process.command_line : ({})",
        quoted.join(", ")
    )
}

/// The value that `shape(i)` matches: wildcards filled in.
fn fill(pattern: &str) -> String {
    pattern
        .replace("\\\\", "\\")
        .replace('*', "aa")
        .replace('?', "b")
}

#[test]
fn huge_wildcard_lists_compile_and_match_in_linear_time() {
    let _serial = serial();
    let shapes: [Shape; 3] = [
        ("infix globs", |i| format!("*p{i}x*")),
        ("prefix and suffix globs", |i| {
            format!("c:\\\\dir{i}\\\\*.exe")
        }),
        ("exact strings", |i| format!("value{i}")),
    ];
    for (what, shape) in shapes {
        let compiled = compile_ok(&pattern_list(10_000, &shape));
        let hit = fill(&shape(9_999));
        assert!(
            compiled.matches(&compiled.event(&hit, "", 1)),
            "{what}: {hit:?} should match"
        );
        // Matching a long miss is linear in the value's length.
        let (short_miss, long_miss) = ("ab".repeat(8_000), "ab".repeat(64_000));
        let (short_event, long_event) = (
            compiled.event(&short_miss, "", 1),
            compiled.event(&long_miss, "", 1),
        );
        assert_linear(
            what,
            8.0,
            4.0,
            || assert!(!compiled.matches(&short_event)),
            || assert!(!compiled.matches(&long_event)),
        );
    }
}

/// `?` wildcards go to one multi-pattern automaton. 10k of them compile (without capture slots: with
/// them the PikeVM cache needed ~59 GB and aborted the process) and match; matching is linear in the
/// value but each byte costs time proportional to the pattern set when the lazy DFA gives up (see
/// notes-for-engine.md), so linearity is checked on 1k patterns.
#[test]
fn huge_single_character_wildcard_lists_compile_and_match_in_linear_time() {
    let _serial = serial();
    let shape = |i: usize| format!("*q{i}?z*");
    let compiled = compile_ok(&pattern_list(10_000, &shape));
    let hit = fill(&shape(9_999));
    assert!(
        compiled.matches(&compiled.event(&hit, "", 1)),
        "{hit:?} should match"
    );
    assert!(!compiled.matches(&compiled.event("q10000bz", "", 1)));

    let compiled = compile_ok(&pattern_list(1_000, &shape));
    let (short_event, long_event) = (
        compiled.event(&"ab".repeat(200), "", 1),
        compiled.event(&"ab".repeat(1_600), "", 1),
    );
    assert_linear(
        "single-character wildcards",
        8.0,
        4.0,
        || assert!(!compiled.matches(&short_event)),
        || assert!(!compiled.matches(&long_event)),
    );
}

/// `*a*a*…*b` and similar patterns are matched without backtracking, whatever the value.
#[test]
fn pathological_wildcards_match_in_linear_time() {
    let _serial = serial();
    let cases: [(&str, String, char); 5] = [
        ("many stars", format!("{}b", "*a".repeat(500)), 'a'),
        ("star pairs", "*aa*b*c".to_string(), 'a'),
        ("repeated key", "*aaaa*b*aaaa*c".to_string(), 'a'),
        ("question marks", format!("*{}b", "a?".repeat(200)), 'a'),
        (
            "case-insensitive stars",
            format!("{}B", "*A".repeat(500)),
            'a',
        ),
    ];
    for (what, pattern, fill) in cases {
        let op = if what.starts_with("case") {
            "like~"
        } else {
            ":"
        };
        let compiled = compile_ok(&format!(
            "process where process.command_line {op} \"{pattern}\""
        ));
        let value = |n: usize| format!("{}c", fill.to_string().repeat(n));
        let (short_event, long_event) = (
            compiled.event(&value(16_000), "", 1),
            compiled.event(&value(128_000), "", 1),
        );
        assert_linear(
            what,
            8.0,
            4.0,
            || assert!(!compiled.matches(&short_event)),
            || assert!(!compiled.matches(&long_event)),
        );
    }
}

#[test]
fn pathological_regexps_match_in_linear_time_or_are_rejected() {
    let _serial = serial();
    for pattern in [
        "(a*)*b",
        "(a|a)*b",
        "(a|aa)*c",
        "(.*)*x",
        "(a+)+b",
        "(a?){30}a{30}b",
        "([a-z]+)*[0-9]",
    ] {
        let compiled = compile_ok(&format!(
            "process where process.command_line regex \"{pattern}\""
        ));
        let (short_event, long_event) = (
            compiled.event(&"a".repeat(16_000), "", 1),
            compiled.event(&"a".repeat(128_000), "", 1),
        );
        assert_linear(
            pattern,
            8.0,
            4.0,
            || assert!(!compiled.matches(&short_event), "{pattern}"),
            || assert!(!compiled.matches(&long_event), "{pattern}"),
        );
    }
}

/// Huge counted repetitions either fail with a size diagnostic (regex-automata's NFA size limit,
/// turned into a Diagnostic) or compile to an automaton whose matching is linear in the value.
#[test]
fn huge_counted_repetitions_are_linear_or_rejected() {
    let _serial = serial();
    for pattern in [
        "a{1000}{1000}",
        "((a{100}){100}){100}",
        "(.{1000}){1000}",
        "[a-z]{100000}",
        "(a|b){5000}{5000}",
    ] {
        let text = format!("process where process.command_line regex \"{pattern}\"");
        match compile(&text) {
            Err(diagnostics) => {
                let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
                assert!(
                    messages
                        .iter()
                        .any(|m| m.contains("too large") || m.contains("repetition")),
                    "{pattern}: rejected without a size diagnostic: {messages:?}"
                );
            }
            Ok(compiled) => {
                let (short_event, long_event) = (
                    compiled.event(&"a".repeat(16_000), "", 1),
                    compiled.event(&"a".repeat(128_000), "", 1),
                );
                assert_linear(
                    pattern,
                    8.0,
                    4.0,
                    || assert!(!compiled.matches(&short_event), "{pattern}"),
                    || assert!(!compiled.matches(&long_event), "{pattern}"),
                );
            }
        }
    }
    // 100k `?` in one wildcard: a 100k-step automaton, or a size diagnostic.
    let many_questions = format!("*{}*", "?".repeat(100_000));
    let text = format!("process where process.command_line : \"{many_questions}\"");
    if let Ok(compiled) = compile(&text) {
        assert!(!compiled.matches(&compiled.event("short", "", 1)));
        assert!(compiled.matches(&compiled.event(&"x".repeat(100_001), "", 1)));
    }
}

#[test]
fn deeply_nested_regex_groups_are_rejected_with_a_diagnostic() {
    let _serial = serial();
    let pattern = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    let text = format!("process where process.command_line regex \"{pattern}\"");
    let codes = on_default_stack(move || diagnostic_codes(compile(&text)));
    assert!(
        !codes.is_empty(),
        "10k nested regex groups should be rejected"
    );
}

/// Hostile events: deeply nested JSON, under a registered path and elsewhere, as a document and as a
/// hit's `_source`, is an error or an event, never a stack overflow.
#[test]
fn deeply_nested_events_fail_cleanly_on_a_small_stack() {
    let _serial = serial();
    on_default_stack(|| {
        let mut fields = FieldTable::with_defaults(ecs());
        fields.register("process.name", ecs());
        fields.register("a.b", ecs());
        let options = EventOptions {
            require_timestamp: false,
        };
        for depth in [200, 10_000, 100_000] {
            let arrays = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            let documents = [
                format!("{{\"process\":{{\"name\":{arrays}}}}}"),
                format!("{{\"other\":{arrays}}}"),
                format!("{{\"a\":{objects}}}"),
                format!("{{\"_index\":\"i\",\"_source\":{{\"process\":{objects}}}}}"),
                format!("{{\"a\":{{\"b\":{arrays}}}"),
                objects,
            ];
            for document in documents {
                if let Err(error) = fields.parse_event(&document, &options) {
                    assert!(error.line >= 1 && error.column >= 1, "{error}");
                }
            }
        }
    });
}
