//! Fuzz target bodies. Each module is one self-contained file with `pub fn run(data: &[u8])` that
//! panics only on a bug; the replay tests in `crates/*/tests/fuzz_regressions.rs` include the same
//! files with `#[path]`, so CI replays every seed and regression on stable Rust without libFuzzer.

pub mod eql_compile;
pub mod eql_parse;
pub mod eslogger_line;
pub mod event_ndjson;
pub mod replay;
pub mod rule_toml;
