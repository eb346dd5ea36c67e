//! Replays every fuzz seed, committed regression (fuzz/regressions/) and local crash (fuzz/artifacts/)
//! through the same target bodies the libFuzzer targets run (fuzz/src/), on stable Rust. This is the
//! CI fuzz smoke step: `scripts/fuzz.sh --smoke`.

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[path = "../../../fuzz/src/eql_parse.rs"]
mod eql_parse;

#[test]
fn eql_parse_seeds_and_regressions() {
    replay::check(env!("CARGO_MANIFEST_DIR"), "eql_parse", eql_parse::run);
}
