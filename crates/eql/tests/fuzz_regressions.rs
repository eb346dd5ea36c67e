//! Replays every fuzz seed, committed regression (fuzz/regressions/) and local crash (fuzz/artifacts/)
//! through the same target bodies the libFuzzer targets run (fuzz/src/), on stable Rust. This is the
//! CI fuzz smoke step: `scripts/fuzz.sh --smoke`.

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[path = "../../../fuzz/src/eql_parse.rs"]
mod eql_parse;

fn fuzz_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn check(target: &str, body: fn(&[u8])) {
    let (count, failures) = replay::replay(&fuzz_dir(), target, body);
    assert!(
        count > 0,
        "no seeds found for {target} under {}",
        fuzz_dir().display()
    );
    assert!(
        failures.is_empty(),
        "{target}: {} of {count} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn eql_parse_seeds_and_regressions() {
    check("eql_parse", eql_parse::run);
}
