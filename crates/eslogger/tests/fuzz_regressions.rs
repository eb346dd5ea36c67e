//! Replays every fuzz seed, committed regression (fuzz/regressions/) and local crash (fuzz/artifacts/)
//! through the same target bodies the libFuzzer targets run (fuzz/src/), on stable Rust. This is the
//! CI fuzz smoke step: `scripts/fuzz.sh --smoke`.

#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[path = "../../../fuzz/src/eslogger_line.rs"]
mod eslogger_line;

#[test]
fn eslogger_line_seeds_and_regressions() {
    replay::check(
        env!("CARGO_MANIFEST_DIR"),
        "eslogger_line",
        eslogger_line::run,
    );
}

/// Hostile eslogger lines: deep JSON nesting anywhere in a message is an error or a document, never a
/// stack overflow, on a thread with the default 2 MiB stack.
#[test]
fn deeply_nested_lines_fail_cleanly_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut mapper = eslogger::Mapper::new(eslogger::MapperOptions::default());
            for depth in [100, 10_000, 100_000] {
                let arrays = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
                let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
                for line in [
                    arrays.clone(),
                    objects.clone(),
                    format!("{{\"event\":{{\"exec\":{objects}}}}}"),
                    format!("{{\"process\":{arrays},\"event\":{{\"exit\":{{}}}}}}"),
                ] {
                    let _ = mapper.map_line(&line);
                }
            }
        })
        .and_then(|handle| handle.join().map_err(|_| std::io::Error::other("panicked")))
        .unwrap_or_else(|error| unreachable!("hostile eslogger line: {error}"));
}
