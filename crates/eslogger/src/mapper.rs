//! One eslogger line → zero or more ECS documents shaped like Elastic Defend's (ESLOGGER.md §6).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Map, Value};

use crate::base64;
use crate::json::Node;
use crate::table::{Key, ProcessInfo, ProcessTable};
use crate::token::AuditToken;

/// ECS version stamped on every document (the schema version Defend 8.11+ writes).
const ECS_VERSION: &str = "8.11.0";
/// Defend writes `endpoint`; a converter says what it is so the documents are not mistaken for Defend's.
const AGENT_TYPE: &str = "tripline-eslogger";

const PROCESS_DATASET: &str = "endpoint.events.process";
const FILE_DATASET: &str = "endpoint.events.file";
/// BTM has no Defend counterpart; a dataset outside `endpoint.events.*` keeps Defend rules off it.
const BTM_DATASET: &str = "eslogger.events.btm";

/// Why a line could not be mapped. `column` is set for JSON syntax errors (1-based); field errors name
/// the JSON path instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError {
    pub column: Option<usize>,
    pub message: String,
}

impl MapError {
    pub(crate) fn field(path: &str, problem: &str) -> Self {
        MapError {
            column: None,
            message: format!("{path}: {problem}"),
        }
    }
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "column {column}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for MapError {}

#[derive(Debug, Clone)]
pub struct MapperOptions {
    /// `host.id` on every document. eslogger output carries no host identity; Defend uses the
    /// Hardware UUID in upper case (see [`crate::hardware_uuid`]). Written verbatim.
    pub host_id: String,
    /// `host.name` and `host.hostname`, when known.
    pub host_name: Option<String>,
    /// `host.os.version` (`sw_vers -productVersion`), when known; also sets `host.os.full`.
    pub host_os_version: Option<String>,
    /// `data_stream.namespace`.
    pub namespace: String,
    /// Process table cap; beyond it the oldest entry is evicted and counted.
    pub max_processes: usize,
}

impl Default for MapperOptions {
    fn default() -> Self {
        MapperOptions {
            host_id: String::new(),
            host_name: None,
            host_os_version: None,
            namespace: "default".to_string(),
            max_processes: 65_536,
        }
    }
}

/// Counters for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapperStats {
    /// Non-blank lines given to [`Mapper::map_line`].
    pub lines: u64,
    /// ECS documents produced.
    pub documents: u64,
    /// Lines mapped, per eslogger event type.
    pub mapped: BTreeMap<String, u64>,
    /// Lines skipped because tripline has no mapping for their event type, per type.
    pub unknown: BTreeMap<String, u64>,
    /// `close` events without `modified: true` (not a file change; skipped).
    pub close_unmodified: u64,
    /// Lines whose `event_type` number disagrees with the event name. The name decides (it is what
    /// eslogger is invoked with); the line is still mapped.
    pub event_type_mismatches: u64,
    /// Lines that returned an error.
    pub errors: u64,
    pub processes_tracked: usize,
    /// Process-table entries dropped at the cap (their children lose `process.parent.name` etc.).
    pub processes_evicted: u64,
}

impl MapperStats {
    pub fn unknown_total(&self) -> u64 {
        self.unknown.values().sum()
    }
}

/// `es_event_type_t` codes (ESTypes.h) of the names whose number we can cross-check.
fn event_type_code(name: &str) -> Option<i64> {
    Some(match name {
        "exec" => 9,
        "open" => 10,
        "fork" => 11,
        "close" => 12,
        "create" => 13,
        "exit" => 15,
        "link" => 19,
        "rename" => 25,
        "setextattr" => 27,
        "unlink" => 32,
        "write" => 33,
        "truncate" => 41,
        "clone" => 61,
        "deleteextattr" => 70,
        "copyfile" => 110,
        "btm_launch_item_add" => 124,
        "btm_launch_item_remove" => 125,
        _ => return None,
    })
}

const MAPPED_TYPES: &[&str] = &[
    "exec",
    "fork",
    "exit",
    "create",
    "rename",
    "close",
    "unlink",
    "btm_launch_item_add",
];

/// Defend's entity id is `base64("<agent.id>-<pid>-<start time>")`, new per fork and per exec.
/// eslogger's pidversion changes exactly then, so `base64("<host.id>-<pid>-<pidversion>")` gives the
/// same identity (and is reproducible from any event naming the process).
pub fn entity_id(host_id: &str, token: &AuditToken) -> String {
    base64::encode(format!("{host_id}-{}-{}", token.pid, token.pidversion).as_bytes())
}

struct FileRef {
    path: String,
    truncated: bool,
    inode: Option<u64>,
    size: Option<u64>,
}

impl FileRef {
    fn parse(node: &Node<'_>) -> Result<Self, MapError> {
        let (inode, size) = match node.opt("stat")? {
            Some(stat) => (stat.opt_u64("st_ino")?, stat.opt_u64("st_size")?),
            None => (None, None),
        };
        Ok(FileRef {
            path: node.get("path")?.str()?.to_string(),
            truncated: node.opt_bool("path_truncated")?.unwrap_or(false),
            inode,
            size,
        })
    }
}

/// The parts of `es_process_t` the mapping uses.
struct EsProcess {
    token: AuditToken,
    parent_token: Option<AuditToken>,
    ppid: Option<u64>,
    executable: FileRef,
    signing_id: Option<String>,
    team_id: Option<String>,
    codesigning_flags: Option<u64>,
    is_platform_binary: Option<bool>,
    group_id: Option<u64>,
    session_id: Option<u64>,
}

impl EsProcess {
    fn parse(node: &Node<'_>) -> Result<Self, MapError> {
        node.object()?;
        Ok(EsProcess {
            token: AuditToken::parse(&node.get("audit_token")?)?,
            parent_token: node
                .opt("parent_audit_token")?
                .map(|n| AuditToken::parse(&n))
                .transpose()?,
            ppid: node.opt_u64("ppid")?,
            executable: FileRef::parse(&node.get("executable")?)?,
            signing_id: node.opt_str("signing_id")?.map(str::to_string),
            team_id: node.opt_str("team_id")?.map(str::to_string),
            codesigning_flags: node.opt_u64("codesigning_flags")?,
            is_platform_binary: node.opt_bool("is_platform_binary")?,
            group_id: node.opt_u64("group_id")?,
            session_id: node.opt_u64("session_id")?,
        })
    }

    /// The real parent: `parent_audit_token` (macOS 11+), else `ppid`.
    fn parent_pid(&self) -> Option<u64> {
        self.parent_token.map(|token| token.pid).or(self.ppid)
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn directory(path: &str) -> Option<&str> {
    match path.rsplit_once('/') {
        Some(("", _)) => Some("/"),
        Some((dir, _)) => Some(dir),
        None => None,
    }
}

/// Text after the last dot, without it; none for dot-files like `.hidden` or a trailing dot.
fn extension(name: &str) -> Option<&str> {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => Some(ext),
        _ => None,
    }
}

/// `file://` URL (BTM `item_url`) → path, percent-decoded.
fn file_url_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let decoded = if b == b'%' {
            bytes
                .get(i + 1..i + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        } else {
            None
        };
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    let path = String::from_utf8_lossy(&out).into_owned();
    // Directory URLs end in '/'; ECS paths do not.
    Some(match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed.to_string(),
        _ => path,
    })
}

fn args_fields(out: &mut Map<String, Value>, args: &[String]) {
    out.insert("args".into(), json!(args));
    out.insert("args_count".into(), json!(args.len()));
    out.insert("command_line".into(), json!(args.join(" ")));
}

fn insert_if(out: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        out.insert(key.to_string(), value);
    }
}

/// `<kern/cs_blobs.h>` bits.
const CS_VALID: u64 = 0x0000_0001;
const CS_ADHOC: u64 = 0x0000_0002;
const CS_SIGNED: u64 = 0x2000_0000;

fn code_signature(process: &EsProcess) -> Option<Value> {
    let mut out = Map::new();
    if let Some(flags) = process.codesigning_flags {
        out.insert("exists".into(), json!(flags & CS_SIGNED != 0));
        // Trusted = a valid, non-ad-hoc signature from Apple or a Developer ID team.
        let trusted = flags & CS_VALID != 0
            && flags & CS_ADHOC == 0
            && (process.is_platform_binary == Some(true) || process.team_id.is_some());
        out.insert("trusted".into(), json!(trusted));
    }
    insert_if(
        &mut out,
        "signing_id",
        process.signing_id.as_ref().map(|id| json!(id)),
    );
    insert_if(
        &mut out,
        "team_id",
        process.team_id.as_ref().map(|id| json!(id)),
    );
    (!out.is_empty()).then_some(Value::Object(out))
}

fn user_fields(doc: &mut Map<String, Value>, token: &AuditToken) {
    let id = |value: Option<u64>| value.map(|v| json!(v.to_string()));
    let mut user = Map::new();
    insert_if(&mut user, "id", id(token.euid));
    if let Some(real) = id(token.ruid) {
        user.insert("Ext".into(), json!({ "real": { "id": real } }));
    }
    let mut group = Map::new();
    insert_if(&mut group, "id", id(token.egid));
    if let Some(real) = id(token.rgid) {
        group.insert("Ext".into(), json!({ "real": { "id": real } }));
    }
    if !user.is_empty() {
        doc.insert("user".into(), Value::Object(user));
    }
    if !group.is_empty() {
        doc.insert("group".into(), Value::Object(group));
    }
}

struct Envelope {
    timestamp: String,
    sequence: Option<u64>,
}

/// What kind of ECS event a line becomes.
struct Kind {
    category: &'static str,
    event_type: &'static str,
    action: &'static str,
    dataset: &'static str,
    module: &'static str,
    message: &'static str,
}

const PROCESS_START_EXEC: Kind = Kind {
    category: "process",
    event_type: "start",
    action: "exec",
    dataset: PROCESS_DATASET,
    module: "endpoint",
    message: "Endpoint process event",
};

pub struct Mapper {
    options: MapperOptions,
    table: ProcessTable,
    stats: MapperStats,
}

impl Mapper {
    pub fn new(options: MapperOptions) -> Self {
        let table = ProcessTable::new(options.max_processes);
        Mapper {
            options,
            table,
            stats: MapperStats::default(),
        }
    }

    pub fn options(&self) -> &MapperOptions {
        &self.options
    }

    pub fn stats(&self) -> MapperStats {
        let mut stats = self.stats.clone();
        stats.processes_tracked = self.table.len();
        stats.processes_evicted = self.table.evicted;
        stats
    }

    /// Maps one eslogger line. Blank lines, unknown event types and unmodified closes give no
    /// documents (counted in [`Mapper::stats`]); exec/fork/exit also update the process table.
    pub fn map_line(&mut self, line: &str) -> Result<Vec<Value>, MapError> {
        if line.trim().is_empty() {
            return Ok(Vec::new());
        }
        self.stats.lines += 1;
        let result = serde_json::from_str::<Value>(line)
            .map_err(|err| {
                let text = err.to_string();
                let message = match text.rsplit_once(" at line ") {
                    Some((message, _)) => message.to_string(),
                    None => text,
                };
                MapError {
                    column: Some(err.column()),
                    message: format!("invalid JSON: {message}"),
                }
            })
            .and_then(|value| self.map_value(&value));
        match &result {
            Ok(docs) => self.stats.documents += docs.len() as u64,
            Err(_) => self.stats.errors += 1,
        }
        result
    }

    /// Maps one already-parsed eslogger message.
    pub fn map_value(&mut self, value: &Value) -> Result<Vec<Value>, MapError> {
        let root = Node::root(value);
        root.object()?;
        let event = root.get("event")?;
        let mut entries = event.object()?.iter();
        let name = match (entries.next(), entries.next()) {
            (Some((name, _)), None) => name.as_str(),
            (None, _) => {
                return Err(MapError::field(
                    "event",
                    "expected one key (the event name), found none",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(MapError::field(
                    "event",
                    &format!(
                        "expected one key (the event name), found {}",
                        event.object()?.len()
                    ),
                ))
            }
        };
        if let (Some(code), Some(expected)) = (root.opt_i64("event_type")?, event_type_code(name)) {
            if code != expected {
                self.stats.event_type_mismatches += 1;
            }
        }
        if !MAPPED_TYPES.contains(&name) {
            *self.stats.unknown.entry(name.to_string()).or_default() += 1;
            return Ok(Vec::new());
        }
        let payload = event.get(name)?;
        payload.object()?;
        let envelope = Envelope {
            timestamp: parse_time(&root.get("time")?)?,
            sequence: root.opt_u64("global_seq_num")?,
        };
        let actor = EsProcess::parse(&root.get("process")?)?;
        let docs = match name {
            "exec" => vec![self.exec(&envelope, &actor, &payload)?],
            "fork" => vec![self.fork(&envelope, &actor, &payload)?],
            "exit" => vec![self.exit(&envelope, &actor, &payload)?],
            "create" => {
                let path = destination_path(&payload)?;
                vec![self.file_event(&envelope, &actor, FileAction::Creation, path, None)]
            }
            "rename" => {
                let source = FileRef::parse(&payload.get("source")?)?;
                let path = destination_path(&payload)?;
                vec![self.file_event(&envelope, &actor, FileAction::Rename, path, Some(source))]
            }
            "close" => {
                if payload.opt_bool("modified")? != Some(true) {
                    self.stats.close_unmodified += 1;
                    return Ok(Vec::new());
                }
                let target = FileRef::parse(&payload.get("target")?)?;
                vec![self.file_event(&envelope, &actor, FileAction::Modification, target, None)]
            }
            "unlink" => {
                let target = FileRef::parse(&payload.get("target")?)?;
                vec![self.file_event(&envelope, &actor, FileAction::Deletion, target, None)]
            }
            "btm_launch_item_add" => vec![self.btm_add(&envelope, &actor, &payload)?],
            _ => Vec::new(),
        };
        *self.stats.mapped.entry(name.to_string()).or_default() += 1;
        Ok(docs)
    }

    fn entity(&self, token: &AuditToken) -> String {
        entity_id(&self.options.host_id, token)
    }

    /// Remembers a process seen acting (it may predate the capture) so its children get names.
    fn observe(&mut self, process: &EsProcess) {
        let key = process.token.key();
        if self.table.contains(&key) {
            self.table.touch(&key);
        } else {
            let info = ProcessInfo {
                executable: process.executable.path.clone(),
                args: None,
                parent: None,
            };
            self.table.insert(key, info);
        }
    }

    fn base(&self, envelope: &Envelope, kind: &Kind) -> Map<String, Value> {
        let mut doc = Map::new();
        doc.insert("@timestamp".into(), json!(envelope.timestamp));
        doc.insert("agent".into(), json!({ "type": AGENT_TYPE }));
        doc.insert(
            "data_stream".into(),
            json!({ "type": "logs", "dataset": kind.dataset, "namespace": self.options.namespace }),
        );
        doc.insert("ecs".into(), json!({ "version": ECS_VERSION }));
        let mut event = Map::new();
        event.insert("kind".into(), json!("event"));
        event.insert("module".into(), json!(kind.module));
        event.insert("dataset".into(), json!(kind.dataset));
        event.insert("category".into(), json!([kind.category]));
        event.insert("type".into(), json!([kind.event_type]));
        event.insert("action".into(), json!(kind.action));
        if let Some(sequence) = envelope.sequence {
            event.insert("sequence".into(), json!(sequence));
            event.insert(
                "id".into(),
                json!(format!("{}-{sequence}", self.options.host_id)),
            );
        }
        event.insert("created".into(), json!(envelope.timestamp));
        doc.insert("event".into(), Value::Object(event));
        let mut os = Map::new();
        os.insert("type".into(), json!("macos"));
        os.insert("family".into(), json!("macos"));
        os.insert("platform".into(), json!("macos"));
        os.insert("name".into(), json!("macOS"));
        if let Some(version) = &self.options.host_os_version {
            os.insert("version".into(), json!(version));
            os.insert("full".into(), json!(format!("macOS {version}")));
        }
        let mut host = Map::new();
        host.insert("id".into(), json!(self.options.host_id));
        if let Some(name) = &self.options.host_name {
            host.insert("name".into(), json!(name));
            host.insert("hostname".into(), json!(name));
        }
        host.insert("os".into(), Value::Object(os));
        doc.insert("host".into(), Value::Object(host));
        doc.insert("message".into(), json!(kind.message));
        doc
    }

    /// `process.parent.*` from what the table knows about the parent.
    fn parent_fields(
        &self,
        pid: Option<u64>,
        entity_key: Option<Key>,
        info: Option<&ProcessInfo>,
    ) -> Map<String, Value> {
        let mut parent = Map::new();
        insert_if(&mut parent, "pid", pid.map(|pid| json!(pid)));
        if let Some((pid, pidversion)) = entity_key {
            let token = AuditToken {
                pid,
                pidversion,
                euid: None,
                ruid: None,
                egid: None,
                rgid: None,
                auid: None,
                asid: None,
            };
            parent.insert("entity_id".into(), json!(self.entity(&token)));
        }
        if let Some(info) = info {
            parent.insert("executable".into(), json!(info.executable));
            parent.insert("name".into(), json!(basename(&info.executable)));
            if let Some(args) = &info.args {
                args_fields(&mut parent, args);
            }
        }
        parent
    }

    /// `process.*` common to process events: identity, image, argv, leaders, signature.
    fn process_fields(&self, process: &EsProcess, args: Option<&[String]>) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("pid".into(), json!(process.token.pid));
        out.insert("entity_id".into(), json!(self.entity(&process.token)));
        out.insert("executable".into(), json!(process.executable.path));
        out.insert("name".into(), json!(basename(&process.executable.path)));
        if let Some(args) = args {
            args_fields(&mut out, args);
        }
        insert_if(
            &mut out,
            "group_leader",
            process.group_id.map(|pid| json!({ "pid": pid })),
        );
        insert_if(
            &mut out,
            "session_leader",
            process.session_id.map(|pid| json!({ "pid": pid })),
        );
        insert_if(&mut out, "code_signature", code_signature(process));
        out
    }

    fn exec(
        &mut self,
        envelope: &Envelope,
        actor: &EsProcess,
        payload: &Node<'_>,
    ) -> Result<Value, MapError> {
        let target = EsProcess::parse(&payload.get("target")?)?;
        let args = payload
            .opt("args")?
            .map(|node| node.strings())
            .transpose()?;
        let cwd = payload
            .opt("cwd")?
            .map(|node| FileRef::parse(&node))
            .transpose()?;
        let script = payload
            .opt("script")?
            .map(|node| FileRef::parse(&node))
            .transpose()?;

        let mut doc = self.base(envelope, &PROCESS_START_EXEC);
        let mut process = self.process_fields(&target, args.as_deref());
        if let Some(cwd) = cwd {
            process.insert("working_directory".into(), json!(cwd.path));
        }
        if let Some(script) = script {
            process.insert("Ext".into(), json!({ "script": { "path": script.path } }));
        }
        // Defend: parent.entity_id is this pid's pre-exec image, parent.pid/name the real parent.
        let parent_info = target
            .parent_token
            .and_then(|token| self.table.get(&token.key()));
        let parent = self.parent_fields(target.parent_pid(), Some(actor.token.key()), parent_info);
        process.insert("parent".into(), Value::Object(parent));
        doc.insert("process".into(), Value::Object(process));
        user_fields(&mut doc, &target.token);

        // The pre-exec image is gone; the new image inherits nothing but its pid.
        if actor.token.key() != target.token.key() {
            self.table.remove(&actor.token.key());
        }
        let info = ProcessInfo {
            executable: target.executable.path.clone(),
            args,
            parent: Some(actor.token.key()),
        };
        self.table.insert(target.token.key(), info);
        Ok(Value::Object(doc))
    }

    fn fork(
        &mut self,
        envelope: &Envelope,
        actor: &EsProcess,
        payload: &Node<'_>,
    ) -> Result<Value, MapError> {
        let child = EsProcess::parse(&payload.get("child")?)?;
        self.observe(actor);
        let parent_info = self.table.get(&actor.token.key()).cloned();
        // A fork runs the parent's image, so it carries the parent's argv (as Defend reports it).
        let args = parent_info.as_ref().and_then(|info| info.args.clone());
        let kind = Kind {
            action: "fork",
            ..PROCESS_START_EXEC
        };
        let mut doc = self.base(envelope, &kind);
        let mut process = self.process_fields(&child, args.as_deref());
        let parent = self.parent_fields(
            Some(actor.token.pid),
            Some(actor.token.key()),
            parent_info.as_ref(),
        );
        process.insert("parent".into(), Value::Object(parent));
        doc.insert("process".into(), Value::Object(process));
        user_fields(&mut doc, &child.token);
        let info = ProcessInfo {
            executable: child.executable.path.clone(),
            args,
            parent: Some(actor.token.key()),
        };
        self.table.insert(child.token.key(), info);
        Ok(Value::Object(doc))
    }

    fn exit(
        &mut self,
        envelope: &Envelope,
        actor: &EsProcess,
        payload: &Node<'_>,
    ) -> Result<Value, MapError> {
        let stat = payload.get("stat")?.i64()?;
        let info = self.table.get(&actor.token.key()).cloned();
        let kind = Kind {
            event_type: "end",
            action: "end",
            ..PROCESS_START_EXEC
        };
        let mut doc = self.base(envelope, &kind);
        let args = info.as_ref().and_then(|info| info.args.as_deref());
        let mut process = self.process_fields(actor, args);
        // wait(2) status: exited normally when the low 7 bits are 0; the code is the next byte.
        // A signal death has no exit code in ECS terms, so none is written.
        if stat & 0x7f == 0 {
            process.insert("exit_code".into(), json!((stat >> 8) & 0xff));
        }
        let parent_info = actor
            .parent_token
            .and_then(|token| self.table.get(&token.key()));
        let parent_entity = info
            .as_ref()
            .and_then(|info| info.parent)
            .or(actor.parent_token.map(|t| t.key()));
        let parent = self.parent_fields(actor.parent_pid(), parent_entity, parent_info);
        process.insert("parent".into(), Value::Object(parent));
        doc.insert("process".into(), Value::Object(process));
        user_fields(&mut doc, &actor.token);
        self.table.remove(&actor.token.key());
        Ok(Value::Object(doc))
    }

    /// The acting process on file events: Defend writes identity, image, command line, parent pid.
    fn actor_fields(&self, actor: &EsProcess) -> Map<String, Value> {
        let mut process = Map::new();
        process.insert("pid".into(), json!(actor.token.pid));
        process.insert("entity_id".into(), json!(self.entity(&actor.token)));
        process.insert("executable".into(), json!(actor.executable.path));
        process.insert("name".into(), json!(basename(&actor.executable.path)));
        if let Some(args) = self
            .table
            .get(&actor.token.key())
            .and_then(|info| info.args.as_ref())
        {
            process.insert("command_line".into(), json!(args.join(" ")));
        }
        insert_if(&mut process, "code_signature", code_signature(actor));
        insert_if(
            &mut process,
            "parent",
            actor.parent_pid().map(|pid| json!({ "pid": pid })),
        );
        process
    }

    fn file_event(
        &mut self,
        envelope: &Envelope,
        actor: &EsProcess,
        action: FileAction,
        file: FileRef,
        original: Option<FileRef>,
    ) -> Value {
        self.observe(actor);
        let (event_type, action_name) = match action {
            FileAction::Creation => ("creation", "creation"),
            FileAction::Rename => ("change", "rename"),
            FileAction::Modification => ("change", "modification"),
            FileAction::Deletion => ("deletion", "deletion"),
        };
        let kind = Kind {
            category: "file",
            event_type,
            action: action_name,
            dataset: FILE_DATASET,
            module: "endpoint",
            message: "Endpoint file event",
        };
        let mut doc = self.base(envelope, &kind);
        let mut file_doc = file_fields(&file);
        if let Some(original) = original {
            let mut ext = Map::new();
            let name = basename(&original.path);
            let mut original_doc = Map::new();
            original_doc.insert("path".into(), json!(original.path));
            original_doc.insert("name".into(), json!(name));
            insert_if(
                &mut original_doc,
                "extension",
                extension(name).map(|e| json!(e)),
            );
            ext.insert("original".into(), Value::Object(original_doc));
            merge_ext(&mut file_doc, ext);
        }
        doc.insert("file".into(), Value::Object(file_doc));
        doc.insert("process".into(), Value::Object(self.actor_fields(actor)));
        user_fields(&mut doc, &actor.token);
        Value::Object(doc)
    }

    fn btm_add(
        &mut self,
        envelope: &Envelope,
        actor: &EsProcess,
        payload: &Node<'_>,
    ) -> Result<Value, MapError> {
        self.observe(actor);
        let instigator = payload
            .opt("instigator")?
            .map(|node| EsProcess::parse(&node))
            .transpose()?;
        let app = payload
            .opt("app")?
            .map(|node| EsProcess::parse(&node))
            .transpose()?;
        let item = payload.get("item")?;
        let kind = Kind {
            category: "configuration",
            event_type: "change",
            action: "btm_launch_item_add",
            dataset: BTM_DATASET,
            module: "eslogger",
            message: "eslogger background task management event",
        };
        let mut doc = self.base(envelope, &kind);
        let mut btm = Map::new();
        insert_if(
            &mut btm,
            "item_type",
            item.opt_i64("item_type")?.map(|t| json!(t)),
        );
        insert_if(
            &mut btm,
            "item_type_name",
            item.opt_i64("item_type")?
                .and_then(btm_item_type_name)
                .map(|t| json!(t)),
        );
        insert_if(
            &mut btm,
            "legacy",
            item.opt_bool("legacy")?.map(|b| json!(b)),
        );
        insert_if(
            &mut btm,
            "managed",
            item.opt_bool("managed")?.map(|b| json!(b)),
        );
        insert_if(
            &mut btm,
            "uid",
            item.opt_u64("uid")?.map(|u| json!(u.to_string())),
        );
        let item_url = item.get("item_url")?.str()?;
        btm.insert("item_url".into(), json!(item_url));
        insert_if(
            &mut btm,
            "item_path",
            file_url_path(item_url).map(|p| json!(p)),
        );
        if let Some(app_url) = item.opt_str("app_url")? {
            btm.insert("app_url".into(), json!(app_url));
            insert_if(
                &mut btm,
                "app_path",
                file_url_path(app_url).map(|p| json!(p)),
            );
        }
        insert_if(
            &mut btm,
            "executable_path",
            payload.opt_str("executable_path")?.map(|p| json!(p)),
        );
        doc.insert("btm".into(), Value::Object(btm));
        // ESLOGGER.md §6: the instigator is the actor; app, then the message's process, as fallbacks.
        let who = instigator.as_ref().or(app.as_ref()).unwrap_or(actor);
        doc.insert("process".into(), Value::Object(self.actor_fields(who)));
        user_fields(&mut doc, &who.token);
        Ok(Value::Object(doc))
    }
}

fn btm_item_type_name(item_type: i64) -> Option<&'static str> {
    Some(match item_type {
        0 => "user_item",
        1 => "app",
        2 => "login_item",
        3 => "agent",
        4 => "daemon",
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum FileAction {
    Creation,
    Rename,
    Modification,
    Deletion,
}

fn merge_ext(file_doc: &mut Map<String, Value>, extra: Map<String, Value>) {
    match file_doc.get_mut("Ext") {
        Some(Value::Object(existing)) => existing.extend(extra),
        _ => {
            file_doc.insert("Ext".into(), Value::Object(extra));
        }
    }
}

fn file_fields(file: &FileRef) -> Map<String, Value> {
    let mut out = Map::new();
    let name = basename(&file.path);
    out.insert("path".into(), json!(file.path));
    out.insert("name".into(), json!(name));
    insert_if(&mut out, "extension", extension(name).map(|e| json!(e)));
    insert_if(
        &mut out,
        "directory",
        directory(&file.path).map(|d| json!(d)),
    );
    insert_if(&mut out, "inode", file.inode.map(|i| json!(i.to_string())));
    insert_if(&mut out, "size", file.size.map(|s| json!(s)));
    if file.truncated {
        // eslogger cut the path at PATH_MAX: flag it so nobody trusts a match on it.
        out.insert("Ext".into(), json!({ "path_truncated": true }));
    }
    out
}

/// `create`/`rename` destination: `existing_file` (es_file_t) or `new_path {dir, filename}`.
fn destination_path(payload: &Node<'_>) -> Result<FileRef, MapError> {
    let destination = payload.get("destination")?;
    if let Some(existing) = destination.opt("existing_file")? {
        return FileRef::parse(&existing);
    }
    if let Some(new_path) = destination.opt("new_path")? {
        let dir = FileRef::parse(&new_path.get("dir")?)?;
        let filename = new_path.get("filename")?.str()?;
        let path = if dir.path.ends_with('/') {
            format!("{}{filename}", dir.path)
        } else {
            format!("{}/{filename}", dir.path)
        };
        return Ok(FileRef {
            path,
            truncated: dir.truncated,
            inode: None,
            size: None,
        });
    }
    Err(MapError::field(
        "event.*.destination",
        "expected existing_file or new_path",
    ))
}

/// eslogger writes RFC 3339 UTC with 9 fractional digits; any RFC 3339 instant is accepted and
/// re-written with nanoseconds.
fn parse_time(node: &Node<'_>) -> Result<String, MapError> {
    let text = node.str()?;
    let timestamp: jiff::Timestamp = text.parse().map_err(|err| {
        MapError::field("time", &format!("expected an RFC 3339 timestamp: {err}"))
    })?;
    Ok(format!("{timestamp:.9}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_extensions() {
        assert_eq!(basename("/bin/launchctl"), "launchctl");
        assert_eq!(extension("com.apple.lauchd.plist"), Some("plist"));
        assert_eq!(extension(".espl.plist"), Some("plist"));
        assert_eq!(extension(".hidden"), None);
        assert_eq!(extension("trailing."), None);
        assert_eq!(extension("noext"), None);
        assert_eq!(
            directory("/Library/LaunchDaemons/x.plist"),
            Some("/Library/LaunchDaemons")
        );
        assert_eq!(directory("/x"), Some("/"));
    }

    #[test]
    fn file_urls() {
        assert_eq!(
            file_url_path("file:///Library/LaunchDaemons/com.example.daemon.plist").as_deref(),
            Some("/Library/LaunchDaemons/com.example.daemon.plist")
        );
        assert_eq!(
            file_url_path("file:///Applications/Example%20App.app/").as_deref(),
            Some("/Applications/Example App.app")
        );
        assert_eq!(file_url_path("file:///bad%zz").as_deref(), Some("/bad%zz"));
        assert_eq!(file_url_path("https://x"), None);
    }

    #[test]
    fn time_keeps_nanoseconds() {
        let value = json!("2025-08-07T13:21:35.880814738Z");
        assert_eq!(
            parse_time(&Node::root(&value)).unwrap(),
            "2025-08-07T13:21:35.880814738Z"
        );
        let value = json!("2025-08-07T15:21:35.5+02:00");
        assert_eq!(
            parse_time(&Node::root(&value)).unwrap(),
            "2025-08-07T13:21:35.500000000Z"
        );
        let value = json!("yesterday");
        assert!(parse_time(&Node::root(&value))
            .unwrap_err()
            .message
            .starts_with("time:"));
    }
}
