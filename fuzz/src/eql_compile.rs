//! `eql_compile`: arbitrary text → parse → `engine::compile` against the ECS schema; a compiled plan
//! is then run over a few fixed events so evaluation of hostile queries is exercised too.

use std::sync::{Arc, OnceLock};

use engine::event::EventOptions;
use engine::field::FieldTable;
use engine::plan::QueryOptions;
use engine::schema::Schema;

fn ecs() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(Schema::ecs)
}

/// Events whose fields cover the common ECS types; a plan reads only the fields it registered.
const EVENTS: &[&str] = &[
    r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process","type":["start"]},"process":{"name":"bash","pid":10,"args":["bash","-c","id"],"executable":"/bin/bash","parent":{"name":"sshd","pid":1}},"user":{"name":"root","id":"0"},"host":{"id":"h1"}}"#,
    r#"{"@timestamp":"2024-01-01T00:00:01.5Z","event.category":"network","source":{"ip":"10.0.0.1","port":4444},"destination.ip":"2001:db8::1","destination.port":443,"process.name":"curl","process.pid":11,"host.id":"h1","user.name":"ROOT"}"#,
    r#"{"@timestamp":1704067203000,"event":{"category":["file","process"]},"file":{"path":"C:\\Windows\\x.exe","name":"x.exe","size":12.5},"process":{"name":null,"pid":"12","args":[]},"host":{"id":"h2"}}"#,
    r#"{"@timestamp":"2024-01-01T00:00:04Z","event":{"category":"process","type":"end"},"process":{"name":"bash","pid":10,"exit_code":-1,"args":["bash"],"command_line":"bash -c 'aaaa*b'"},"host":{"id":"h1"},"user":{"name":"root"}}"#,
];

/// Panics when parsing, compiling or evaluating panics.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = eql::parse(text) else {
        return;
    };
    let schema = ecs();
    let options = QueryOptions::default();
    let mut fields = FieldTable::with_defaults(schema);
    let Ok(plan) = engine::compile(&query, schema, &options, &mut fields) else {
        return;
    };
    let event_options = EventOptions {
        require_timestamp: plan.needs_timestamp(),
    };
    let events = EVENTS
        .iter()
        .enumerate()
        .filter_map(|(seq, raw)| {
            let mut event = fields.parse_event(raw, &event_options).ok()?;
            event.seq = seq as u64;
            Some(Arc::new(event))
        })
        .collect();
    let _matches = engine::query::run(&plan, events);
}
