//! The shared rule corpus and telemetry next to the repository, for tests and benches alike
//! (included with `#[path]`).

use std::path::{Path, PathBuf};

/// `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Every `.toml` file under `dir`, recursively, appended to `out`.
pub fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// Every rule file of the detection-rules corpus (rules and building blocks), sorted.
pub fn corpus_rule_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["rules", "rules_building_block"] {
        toml_files(
            &shared_dir().join("corpus/detection-rules").join(dir),
            &mut files,
        );
    }
    files.sort();
    files
}

/// The `query = '''...'''` of an EQL rule file (the corpus writes every query this way).
pub fn eql_query(text: &str) -> Option<&str> {
    if !text.contains("language = \"eql\"") {
        return None;
    }
    let start = text.find("query = '''")? + "query = '''".len();
    let end = start + text.get(start..)?.find("'''")?;
    text.get(start..end)
}
