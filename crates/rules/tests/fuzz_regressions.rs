//! Replays every fuzz seed, committed regression (fuzz/regressions/) and local crash (fuzz/artifacts/)
//! through the same target bodies the libFuzzer targets run (fuzz/src/), on stable Rust. This is the
//! CI fuzz smoke step: `scripts/fuzz.sh --smoke`.

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[path = "../../../fuzz/src/rule_toml.rs"]
mod rule_toml;

#[test]
fn rule_toml_seeds_and_regressions() {
    replay::check(env!("CARGO_MANIFEST_DIR"), "rule_toml", rule_toml::run);
}

/// Hostile rule files: deep TOML nesting and a deeply nested query are errors, not stack overflows,
/// on a thread with the default 2 MiB stack.
#[test]
fn deeply_nested_rule_files_fail_cleanly_on_a_small_stack() {
    let files = [
        format!("[rule]\nx = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        format!("[rule]\nx = {}1{}\n", "{a=".repeat(100_000), "}".repeat(100_000)),
        format!("{}\n", "[a.".repeat(100_000)),
        format!(
            "[rule]\nname=\"n\"\ntype=\"eql\"\nlanguage=\"eql\"\nquery='''\nprocess where {}a == 1{}\n'''\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
    ];
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for text in files {
                let loaded = rules::load_str(std::path::Path::new("hostile.toml"), &text);
                assert!(
                    matches!(loaded, rules::Loaded::Invalid(_)),
                    "hostile file accepted: {}",
                    &text[..40.min(text.len())]
                );
            }
        })
        .and_then(|handle| handle.join().map_err(|_| std::io::Error::other("panicked")))
        .unwrap_or_else(|error| unreachable!("hostile rule file: {error}"));
}
