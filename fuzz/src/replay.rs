//! Replays saved inputs through a fuzz target body: `fuzz/seeds/<target>/*`,
//! `fuzz/regressions/<target>/*` (minimised crashes, committed) and `fuzz/artifacts/<target>/*`
//! (crashes found locally, not committed); with `FUZZ_REPLAY_CORPUS=1` also the local working corpus
//! `fuzz/corpus/<target>/*` (e.g. after changing a target's checks). Each input runs on its own thread with Rust's default
//! 2 MiB stack, so deep recursion shows up as it would on a worker thread.

use std::path::{Path, PathBuf};

/// Every input file of `target`, sorted, from the three directories under `fuzz_dir`.
pub fn inputs(fuzz_dir: &Path, target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut kinds = vec!["seeds", "regressions", "artifacts"];
    if std::env::var_os("FUZZ_REPLAY_CORPUS").is_some_and(|v| v == "1") {
        kinds.push("corpus");
    }
    for kind in kinds {
        let Ok(entries) = std::fs::read_dir(fuzz_dir.join(kind).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_note = path.extension().is_some_and(|e| e == "md");
            if path.is_file() && !is_note {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs `body` on every input; returns the inputs that panicked, with the panic message.
pub fn replay(fuzz_dir: &Path, target: &str, body: fn(&[u8])) -> (usize, Vec<String>) {
    let files = inputs(fuzz_dir, target);
    let mut failures = Vec::new();
    for path in &files {
        let data = match std::fs::read(path) {
            Ok(data) => data,
            Err(error) => {
                failures.push(format!("{}: unreadable: {error}", path.display()));
                continue;
            }
        };
        let outcome = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || body(&data))
            .map(|handle| handle.join());
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(payload)) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {message}", path.display()));
            }
            Err(error) => failures.push(format!("{}: thread: {error}", path.display())),
        }
    }
    (files.len(), failures)
}

/// The replay test of one target, for `crates/<name>/tests/fuzz_regressions.rs`: every saved input of
/// `target` (under `<crate_dir>/../../fuzz`) must run through `body` without a panic, and there must be some.
pub fn check(crate_dir: &str, target: &str, body: fn(&[u8])) {
    let fuzz_dir = Path::new(crate_dir).join("../../fuzz");
    let (count, failures) = replay(&fuzz_dir, target, body);
    assert!(
        count > 0,
        "no seeds found for {target} under {}",
        fuzz_dir.display()
    );
    assert!(
        failures.is_empty(),
        "{target}: {} of {count} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
