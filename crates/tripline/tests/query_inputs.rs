//! `tripline query` fed the way outside users and checkers feed it: stored ES mapping files, several
//! mappings, commented JSON arrays, byte order marks, gzip on stdin, nanosecond timestamps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

/// A fresh directory, unique per test; removed on drop, so also when the test fails.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tripline-query-inputs-{name}-"))
        .tempdir()
        .unwrap()
}

fn query(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("query")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn hits(out: &Output) -> Vec<Value> {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn ids(hits: &[Value]) -> Vec<i64> {
    hits.iter().map(|h| h["id"].as_i64().unwrap()).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn stored_mapping_files_repeated_with_comments_and_placeholder() {
    let tmp = temp_dir("mappings");
    let dir = tmp.path();
    let first = dir.join("one.mapping");
    std::fs::write(
        &first,
        "# a comment line, as in the EQL spec's mapping files\n\
         {\"properties\": {\"name\": {\"type\": \"[runtime_random_keyword_type]\"},\n\
          \"event\": {\"properties\": {\"category\": {\"type\": \"alias\", \"path\": \"kind\"}}}}}\n",
    )
    .unwrap();
    let second = dir.join("two.mapping");
    std::fs::write(
        &second,
        "{\"properties\": {\"addr\": {\"type\": \"ip\"}}}\n",
    )
    .unwrap();
    let data = dir.join("events.data");
    std::fs::write(
        &data,
        "[\n// the loader accepts comment lines\n\
         {\"@timestamp\": \"1\", \"kind\": \"net\", \"name\": \"Abc\", \"addr\": \"10.0.0.1\", \"id\": 1},\n\
         ////another\n\
         {\"@timestamp\": \"2\", \"kind\": \"net\", \"name\": \"abc\", \"addr\": \"10.1.0.1\", \"id\": 2}\n]\n",
    )
    .unwrap();
    let (first, second, data) = (
        first.to_str().unwrap(),
        second.to_str().unwrap(),
        data.to_str().unwrap(),
    );
    // The placeholder reads as keyword: `==` is exact; the second mapping makes `addr` an ip.
    let out = query(
        &[
            "--mapping",
            first,
            "--mapping",
            second,
            "net where name == \"abc\" and cidrMatch(addr, \"10.1.0.0/16\")",
            data,
        ],
        b"",
    );
    assert_eq!(ids(&hits(&out)), vec![2]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    // Without the second mapping `addr` is a string and cidrMatch on it is a query error, as in ES.
    let out = query(
        &[
            "--mapping",
            first,
            "net where cidrMatch(addr, \"10.1.0.0/16\")",
            data,
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    tmp.close().unwrap();
}

#[test]
fn byte_order_marks_are_not_data() {
    let ndjson =
        b"\xef\xbb\xbf{\"@timestamp\": 1, \"event\": {\"category\": \"process\"}, \"id\": 1}\r\n";
    assert_eq!(ids(&hits(&query(&["process where true"], ndjson))), vec![1]);
    let array =
        b"\xef\xbb\xbf[{\"@timestamp\": 1, \"event\": {\"category\": \"process\"}, \"id\": 1}]";
    assert_eq!(ids(&hits(&query(&["process where true"], array))), vec![1]);
}

#[test]
fn gzip_on_stdin_is_unpacked() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(
            b"{\"@timestamp\": 2, \"event\": {\"category\": \"process\"}, \"id\": 2}\n\
              {\"@timestamp\": 1, \"event\": {\"category\": \"process\"}, \"id\": 1}\n",
        )
        .unwrap();
    let packed = encoder.finish().unwrap();
    let out = query(&["process where true", "-"], &packed);
    assert_eq!(ids(&hits(&out)), vec![1, 2]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn nanosecond_timestamps_as_iso_or_fractional_millis_order_alike() {
    let tmp = temp_dir("nanos");
    let dir = tmp.path();
    let mapping = dir.join("nanos.mapping");
    std::fs::write(
        &mapping,
        "{\"properties\": {\"@timestamp\": {\"type\": \"date_nanos\"}}}",
    )
    .unwrap();
    let mapping = mapping.to_str().unwrap();
    // Epoch millis with a sub-millisecond fraction (what ES's spec loader indexes) and the same
    // instants as ISO strings: 1 ms, 1.000001 ms, 1.5 ms.
    let fractional = "{\"@timestamp\": \"1.5\", \"event\": {\"category\": \"process\"}, \"id\": 3}\n\
                      {\"@timestamp\": \"1.000001\", \"event\": {\"category\": \"process\"}, \"id\": 2}\n\
                      {\"@timestamp\": \"1\", \"event\": {\"category\": \"process\"}, \"id\": 1}\n";
    let iso = "{\"@timestamp\": \"1970-01-01T00:00:00.0015Z\", \"event\": {\"category\": \"process\"}, \"id\": 3}\n\
               {\"@timestamp\": \"1970-01-01T00:00:00.001000001Z\", \"event\": {\"category\": \"process\"}, \"id\": 2}\n\
               {\"@timestamp\": \"1970-01-01T00:00:00.001Z\", \"event\": {\"category\": \"process\"}, \"id\": 1}\n";
    for input in [fractional, iso] {
        let out = query(
            &["--mapping", mapping, "process where true"],
            input.as_bytes(),
        );
        assert_eq!(ids(&hits(&out)), vec![1, 2, 3], "{input}");
        // 0.5 ms apart at most: a 1ms maxspan holds, the order is by the nanoseconds.
        let out = query(
            &[
                "--mapping",
                mapping,
                "sequence with maxspan=1ms [process where id == 2] [process where id == 3]",
            ],
            input.as_bytes(),
        );
        assert_eq!(hits(&out).len(), 1, "{input}");
    }
    tmp.close().unwrap();
}

#[test]
fn samples_need_no_timestamp() {
    let input = "{\"event\": {\"category\": \"process\"}, \"id\": 1, \"k\": \"a\"}\n\
                 {\"event\": {\"category\": \"file\"}, \"id\": 2, \"k\": \"a\"}\n";
    let out = query(
        &["sample by k [process where true] [file where true]"],
        input.as_bytes(),
    );
    let found = hits(&out);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["join_keys"], json!(["a"]));
    assert_eq!(ids(found[0]["events"].as_array().unwrap()), vec![1, 2]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}
