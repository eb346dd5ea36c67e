//! Replays every fuzz seed, committed regression (fuzz/regressions/) and local crash (fuzz/artifacts/)
//! through the same target bodies the libFuzzer targets run (fuzz/src/), on stable Rust. This is the
//! CI fuzz smoke step: `scripts/fuzz.sh --smoke`.

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[path = "../../../fuzz/src/eql_compile.rs"]
mod eql_compile;

#[path = "../../../fuzz/src/event_ndjson.rs"]
mod event_ndjson;

#[test]
fn eql_compile_seeds_and_regressions() {
    replay::check(env!("CARGO_MANIFEST_DIR"), "eql_compile", eql_compile::run);
}

#[test]
fn event_ndjson_seeds_and_regressions() {
    replay::check(
        env!("CARGO_MANIFEST_DIR"),
        "event_ndjson",
        event_ndjson::run,
    );
}
