//! Synthetic events shared by the benches.

use std::sync::Arc;

use engine::event::{Event, EventOptions};
use engine::field::FieldTable;
use engine::schema::Schema;
use engine::{Plan, QueryOptions};

pub const EVENTS: usize = 100_000;

/// Compiles `query` and parses `EVENTS` synthetic process/file events one millisecond apart.
pub fn setup(query: &str) -> (Arc<Plan>, Vec<Arc<Event>>) {
    let schema = Schema::ecs();
    let options = QueryOptions::default();
    let mut fields = FieldTable::new(
        &schema,
        &options.timestamp_field,
        None,
        &options.category_field,
    );
    let ast = eql::parse(query).unwrap_or_else(|d| panic!("bench query does not parse: {d:?}"));
    let plan = engine::compile(&ast, &schema, &options, &mut fields)
        .unwrap_or_else(|d| panic!("bench query: {d:?}"));
    let names = [
        "bash",
        "curl",
        "launchctl",
        "osascript",
        "sh",
        "python3",
        "ssh",
        "sudo",
    ];
    let events = (0..EVENTS)
        .map(|i| {
            let category = if i % 3 == 0 { "file" } else { "process" };
            let name = names[i % names.len()];
            let text = format!(
                r#"{{"@timestamp":{},"event":{{"category":"{category}"}},"process":{{"name":"{name}","pid":{},"args":["-c","echo {i}"]}},"host":{{"name":"host-{}"}}}}"#,
                1_700_000_000_000u64 + i as u64,
                i % 5_000,
                i % 50,
            );
            let mut event = fields
                .parse_event(&text, &EventOptions::default())
                .unwrap_or_else(|e| panic!("bench event: {e}"));
            event.seq = i as u64;
            Arc::new(event)
        })
        .collect();
    (Arc::new(plan), events)
}
