//! Locating and reading the shared reference data (rule corpus, conformance cases).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// `<workspace root>/../shared`, or `$TRIPLINE_SHARED`. Panics (loudly) when absent.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("TRIPLINE_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    assert!(
        dir.is_dir(),
        "shared reference data not found at {} (set TRIPLINE_SHARED)",
        dir.display()
    );
    dir
}

fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            toml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// (file, query) for every detection rule whose language is `eql`.
pub fn rule_queries() -> Vec<(PathBuf, String)> {
    let root = shared_dir().join("corpus/detection-rules");
    let mut files = Vec::new();
    for sub in ["rules", "rules_building_block"] {
        toml_files(&root.join(sub), &mut files);
    }
    files.sort();
    let mut queries = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let Some(rule) = doc.get("rule").and_then(|r| r.as_table()) else {
            continue;
        };
        if rule.get("language").and_then(|l| l.as_str()) != Some("eql") {
            continue;
        }
        let query = rule
            .get("query")
            .and_then(|q| q.as_str())
            .unwrap_or_else(|| panic!("{}: eql rule without query", file.display()));
        queries.push((file, query.to_string()));
    }
    queries
}

/// (name, query) for every case of Elasticsearch's conformance suite.
pub fn spec_queries() -> Vec<(String, String)> {
    let path = shared_dir().join("eql-spec/cases.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    cases
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{}/{}",
                    c["suite"].as_str().unwrap(),
                    c["name"].as_str().unwrap()
                ),
                c["query"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
