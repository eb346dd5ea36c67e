//! Snapshot tests of the mapped output for every real eslogger line in shared/telemetry and for the
//! Atomic Red Team T1543.004 scenario, plus the layout variants eslogger has used.

// Test helpers outside #[test] fns report failures by panicking, which is what a test should do.
#![allow(clippy::panic)]

use std::path::PathBuf;

use eslogger::{entity_id, AuditToken, Mapper, MapperOptions};
use serde_json::{json, Value};

const HOST_ID: &str = "5D7C2A4E-9B1F-5E3A-8C6D-2F4B1A0E9C77";

fn mapper() -> Mapper {
    Mapper::new(MapperOptions {
        host_id: HOST_ID.to_string(),
        host_name: Some("art-mac".to_string()),
        host_os_version: Some("15.6".to_string()),
        ..MapperOptions::default()
    })
}

/// The shared reference data (../shared/telemetry from the repository root), or TRIPLINE_TELEMETRY_DIR.
fn telemetry_dir() -> PathBuf {
    match std::env::var_os("TRIPLINE_TELEMETRY_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/telemetry"),
    }
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn art_scenario() -> String {
    read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/art-t1543.004.eslogger.ndjson"))
}

fn map_all(mapper: &mut Mapper, text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        match mapper.map_line(line) {
            Ok(docs) => out.extend(docs),
            Err(err) => panic!("line {}: {err}", index + 1),
        }
    }
    out
}

#[test]
fn real_mullvad_lines_map_without_errors() {
    let text = read(telemetry_dir().join("eslogger-real-mullvad-tests.ndjson"));
    let mut mapper = mapper();
    let mut count = 0;
    for (index, line) in text.lines().enumerate() {
        let docs = mapper
            .map_line(line)
            .unwrap_or_else(|err| panic!("line {}: {err}", index + 1));
        assert_eq!(docs.len(), 1, "line {}", index + 1);
        insta::assert_json_snapshot!(format!("mullvad_line_{}", index + 1), docs);
        count += 1;
    }
    assert_eq!(count, 4);
    let stats = mapper.stats();
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.unknown_total(), 0);
    assert_eq!(stats.event_type_mismatches, 0);
}

#[test]
fn macos26_array_tokens_give_the_same_identity_as_objects() {
    let text = read(telemetry_dir().join("eslogger-real-mullvad-tests.ndjson"));
    let fork_line = text.lines().nth(2).expect("line 3 is the macOS 26 fork");
    let docs = mapper().map_line(fork_line).unwrap();
    let process = &docs[0]["process"];
    assert_eq!(process["pid"], json!(21497));
    assert_eq!(process["parent"]["pid"], json!(19745));
    let token = AuditToken {
        pid: 21497,
        pidversion: 38282,
        euid: None,
        ruid: None,
        egid: None,
        rgid: None,
        auid: None,
        asid: None,
    };
    assert_eq!(process["entity_id"], json!(entity_id(HOST_ID, &token)));
    assert_eq!(docs[0]["user"]["id"], json!("501"));
    assert_eq!(docs[0]["group"]["id"], json!("20"));
}

#[test]
fn art_t1543_004_scenario_snapshot() {
    let mut mapper = mapper();
    let docs = map_all(&mut mapper, &art_scenario());
    insta::assert_json_snapshot!("art_t1543_004", docs);
    insta::assert_debug_snapshot!("art_t1543_004_stats", mapper.stats());
}

#[test]
fn art_scenario_has_the_fields_the_seed_rule_reads() {
    let mut mapper = mapper();
    let docs = map_all(&mut mapper, &art_scenario());
    let stats = mapper.stats();
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.unknown.get("btm_launch_item_remove"), Some(&1));
    // cp's read of the source and touch's close did not modify anything.
    assert_eq!(stats.close_unmodified, 2);

    let loads: Vec<&Value> = docs
        .iter()
        .filter(|doc| doc["process"]["name"] == "launchctl" && doc["event"]["action"] == "exec")
        .collect();
    assert_eq!(loads.len(), 2, "load and unload");
    let load = loads[0];
    assert_eq!(
        load["process"]["args"],
        json!([
            "launchctl",
            "load",
            "-w",
            "/Library/LaunchDaemons/com.atomicredteam.plist"
        ])
    );
    assert_eq!(load["process"]["executable"], "/bin/launchctl");
    assert_eq!(load["event"]["type"], json!(["start"]));
    assert_eq!(load["event"]["category"], json!(["process"]));
    assert_eq!(load["data_stream"]["dataset"], "endpoint.events.process");
    assert_eq!(load["host"]["os"]["type"], "macos");
    assert_eq!(load["host"]["id"], HOST_ID);
    assert_eq!(load["user"]["id"], "0");
    // Real parent is the sudo that forked it; parent entity is the pre-exec (forked sudo) image.
    assert_eq!(load["process"]["parent"]["name"], "sudo");
    assert_eq!(load["process"]["parent"]["pid"], json!(2350));
    assert_eq!(
        load["process"]["parent"]["args"],
        json!([
            "sudo",
            "launchctl",
            "load",
            "-w",
            "/Library/LaunchDaemons/com.atomicredteam.plist"
        ])
    );

    let plist_writes: Vec<&Value> = docs
        .iter()
        .filter(|doc| doc["file"]["path"] == "/Library/LaunchDaemons/com.atomicredteam.plist")
        .collect();
    let actions: Vec<&Value> = plist_writes
        .iter()
        .map(|doc| &doc["event"]["action"])
        .collect();
    assert_eq!(
        actions,
        [
            &json!("creation"),
            &json!("modification"),
            &json!("deletion")
        ]
    );
    assert_eq!(plist_writes[0]["process"]["name"], "cp");
    assert_eq!(plist_writes[0]["file"]["extension"], "plist");
    assert_eq!(
        plist_writes[0]["file"]["directory"],
        "/Library/LaunchDaemons"
    );
    assert_eq!(
        plist_writes[0]["data_stream"]["dataset"],
        "endpoint.events.file"
    );

    // Forks carry the parent's argv, like Defend.
    let sudo_fork = docs
        .iter()
        .find(|doc| doc["event"]["action"] == "fork" && doc["process"]["name"] == "sudo")
        .unwrap();
    assert_eq!(sudo_fork["process"]["args"][1], "cp");

    let btm = docs
        .iter()
        .find(|doc| doc["event"]["action"] == "btm_launch_item_add")
        .unwrap();
    assert_eq!(
        btm["btm"]["item_path"],
        "/Library/LaunchDaemons/com.atomicredteam.plist"
    );
    assert_eq!(btm["process"]["name"], "smd");
    assert_eq!(btm["data_stream"]["dataset"], "eslogger.events.btm");

    // Every exec and fork gets a distinct entity id; exits close them (table back to the two
    // long-running processes seen acting: launchd and the ART bash, plus the BTM daemon's instigator).
    let mut ids: Vec<&Value> = docs
        .iter()
        .filter(|doc| doc["event"]["type"] == json!(["start"]))
        .map(|doc| &doc["process"]["entity_id"])
        .collect();
    let starts = ids.len();
    ids.sort_by_key(|id| id.to_string());
    ids.dedup();
    assert_eq!(ids.len(), starts);
    assert_eq!(mapper.stats().processes_tracked, 3);
}

fn envelope(name: &str, code: i64, payload: Value) -> String {
    json!({
        "schema_version": 1, "version": 11, "time": "2026-08-04T11:38:25.825904694Z", "global_seq_num": 7,
        "event_type": code,
        "process": {
            "audit_token": {"pid": 40, "pidversion": 400, "euid": 0, "ruid": 501, "egid": 0, "rgid": 20, "auid": 501, "asid": 1},
            "parent_audit_token": {"pid": 1, "pidversion": 1, "euid": 0, "ruid": 0, "egid": 0, "rgid": 0, "auid": 0, "asid": 1},
            "ppid": 1, "executable": {"path": "/usr/bin/python3", "path_truncated": false},
            "signing_id": "com.apple.python3", "team_id": null, "codesigning_flags": 637623057, "is_platform_binary": true
        },
        "event": { name: payload }
    })
    .to_string()
}

fn file(path: &str) -> Value {
    json!({"path": path, "path_truncated": false, "stat": {"st_ino": 77, "st_size": 12}})
}

#[test]
fn create_and_rename_accept_both_destination_forms() {
    let mut mapper = mapper();
    let new_path = envelope(
        "create",
        13,
        json!({"destination_type": 1, "acl": null, "destination": {"new_path": {"dir": file("/Library/LaunchDaemons"), "filename": "evil.plist", "mode": 420}}}),
    );
    let docs = mapper.map_line(&new_path).unwrap();
    assert_eq!(docs[0]["file"]["path"], "/Library/LaunchDaemons/evil.plist");
    assert_eq!(docs[0]["event"]["type"], json!(["creation"]));

    let rename = envelope(
        "rename",
        25,
        json!({"destination_type": 0, "source": file("/private/tmp/x.tmp"), "destination": {"existing_file": file("/Library/LaunchDaemons/evil.plist")}}),
    );
    let docs = mapper.map_line(&rename).unwrap();
    assert_eq!(docs[0]["file"]["path"], "/Library/LaunchDaemons/evil.plist");
    assert_eq!(
        docs[0]["file"]["Ext"]["original"]["path"],
        "/private/tmp/x.tmp"
    );
    assert_eq!(docs[0]["file"]["Ext"]["original"]["extension"], "tmp");
    assert_eq!(docs[0]["event"]["action"], "rename");
    assert_eq!(docs[0]["event"]["type"], json!(["change"]));
    assert_eq!(docs[0]["user"]["Ext"]["real"]["id"], "501");

    let rename_new = envelope(
        "rename",
        25,
        json!({"destination_type": 1, "source": file("/tmp/a"), "destination": {"new_path": {"dir": file("/"), "filename": "b"}}}),
    );
    assert_eq!(
        mapper.map_line(&rename_new).unwrap()[0]["file"]["path"],
        "/b"
    );

    let neither = envelope(
        "create",
        13,
        json!({"destination_type": 0, "destination": {}}),
    );
    let err = mapper.map_line(&neither).unwrap_err();
    assert!(err.message.contains("existing_file or new_path"), "{err}");
}

#[test]
fn event_name_decides_and_a_wrong_number_is_counted() {
    let mut mapper = mapper();
    // A test emitter's wrong code (unlink as 19 = LINK): mapped by name, counted.
    let line = envelope(
        "unlink",
        19,
        json!({"target": file("/tmp/x"), "parent_dir": file("/tmp")}),
    );
    let docs = mapper.map_line(&line).unwrap();
    assert_eq!(docs[0]["event"]["type"], json!(["deletion"]));
    assert_eq!(mapper.stats().event_type_mismatches, 1);
}

#[test]
fn unknown_types_and_unmodified_closes_are_counted_not_errors() {
    let mut mapper = mapper();
    let open = envelope("open", 10, json!({"fflag": 1, "file": file("/etc/hosts")}));
    assert!(mapper.map_line(&open).unwrap().is_empty());
    assert!(mapper.map_line(&open).unwrap().is_empty());
    let close = envelope(
        "close",
        12,
        json!({"modified": false, "was_mapped_writable": true, "target": file("/x")}),
    );
    assert!(mapper.map_line(&close).unwrap().is_empty());
    assert!(mapper.map_line("   ").unwrap().is_empty());
    let stats = mapper.stats();
    assert_eq!(stats.unknown.get("open"), Some(&2));
    assert_eq!(stats.close_unmodified, 1);
    assert_eq!(stats.lines, 3);
    assert_eq!(stats.documents, 0);
}

#[test]
fn bad_lines_name_the_column_or_the_field() {
    let mut mapper = mapper();
    let err = mapper.map_line("{\"event\": {\"exec\": ").unwrap_err();
    assert_eq!(err.column, Some(19));
    assert!(err.message.starts_with("invalid JSON"), "{err}");

    let err = mapper
        .map_line(r#"{"event": {"exec": {}, "fork": {}}}"#)
        .unwrap_err();
    assert!(err.message.contains("found 2"), "{err}");

    let err = mapper.map_line("[1,2]").unwrap_err();
    assert_eq!(err.message, "line: expected an object, found an array");

    let mut line: Value = serde_json::from_str(&envelope("exit", 15, json!({"stat": 0}))).unwrap();
    line["process"]["audit_token"]["pid"] = json!("forty");
    let err = mapper.map_line(&line.to_string()).unwrap_err();
    assert_eq!(
        err.message,
        "process.audit_token.pid: expected a non-negative integer, found a string"
    );
    assert_eq!(mapper.stats().errors, 4);
}

#[test]
fn exit_codes_follow_wait_status() {
    let mut mapper = mapper();
    let exited = mapper
        .map_line(&envelope("exit", 15, json!({"stat": 256 * 3})))
        .unwrap();
    assert_eq!(exited[0]["process"]["exit_code"], json!(3));
    assert_eq!(exited[0]["event"]["type"], json!(["end"]));
    let killed = mapper
        .map_line(&envelope("exit", 15, json!({"stat": 9})))
        .unwrap();
    assert!(killed[0]["process"].get("exit_code").is_none());
}

#[test]
fn process_table_is_bounded_and_evictions_counted() {
    let mut mapper = Mapper::new(MapperOptions {
        host_id: HOST_ID.into(),
        max_processes: 8,
        ..MapperOptions::default()
    });
    for pid in 100..200u64 {
        let mut line: Value =
            serde_json::from_str(&envelope("fork", 11, json!({"child": {}}))).unwrap();
        let mut child = line["process"].clone();
        child["audit_token"]["pid"] = json!(pid);
        child["audit_token"]["pidversion"] = json!(pid * 10);
        line["event"]["fork"]["child"] = child;
        mapper.map_line(&line.to_string()).unwrap();
    }
    let stats = mapper.stats();
    assert_eq!(stats.processes_tracked, 8);
    assert_eq!(stats.processes_evicted, 93);
}

#[test]
fn path_truncated_is_flagged() {
    let mut mapper = mapper();
    let line = envelope(
        "close",
        12,
        json!({"modified": true, "target": {"path": "/very/long", "path_truncated": true}}),
    );
    let docs = mapper.map_line(&line).unwrap();
    assert_eq!(docs[0]["file"]["Ext"]["path_truncated"], json!(true));
}
