//! `tripline query`: one EQL query over a finite set of events, answered as `_eql/search` would.

use std::path::Path;
use std::sync::Arc;

use engine::event::EventOptions;
use engine::field::FieldTable;
use engine::plan::QueryOptions;
use engine::runtime::Match;
use engine::schema::Schema;
use serde_json::{json, Value};

use crate::cli::{OutputFormat, QueryArgs};
use crate::input::{Inputs, Record};
use crate::output::Output;
use crate::{status, Failure};

/// Elasticsearch's test loader replaces this in stored `.mapping` files by `keyword` or `wildcard`; both
/// behave alike for EQL, so a mapping file used as stored reads it as `keyword`.
const STRING_TYPE_PLACEHOLDER: &str = "[runtime_random_keyword_type]";

/// One `--mapping` file; several are layered in order (indices queried together).
fn read_mapping(path: &Path) -> Result<Schema, Failure> {
    let text = std::fs::read_to_string(path).map_err(|error| Failure {
        status: status::USAGE,
        message: format!("tripline: cannot read mapping {}: {error}", path.display()),
    })?;
    let text = text.replace(STRING_TYPE_PLACEHOLDER, "keyword");
    Schema::from_es_mapping_text(&text).map_err(|error| Failure {
        status: status::USAGE,
        message: format!("tripline: mapping {}: {error}", path.display()),
    })
}

pub fn run(args: QueryArgs) -> anyhow::Result<u8> {
    let ast = eql::parse(&args.query).map_err(|diagnostics| Failure {
        status: status::USAGE,
        message: eql::render::render_all(&diagnostics, "<query>", &args.query),
    })?;

    let mut schema = Schema::ecs();
    for path in &args.mapping {
        schema = schema.merged_with(&read_mapping(path)?);
    }

    // Read every document first: the query answers over the whole set, in Elasticsearch's order, and
    // unmapped fields are typed from the values as Elasticsearch's dynamic mapping would.
    let files = Inputs::expand_dirs(&args.files)?;
    let inputs = Inputs::new(&files);
    let mut documents: Vec<(String, String)> = Vec::new();
    let mut bad = 0u64;
    let mut eslogger = crate::eslogger_input::for_format(args.input, &args.eslogger)?;
    let mut passthrough = crate::input::Passthrough;
    let mapper: &mut dyn crate::input::RecordMapper = match eslogger.as_mut() {
        Some(eslogger) => eslogger,
        None => &mut passthrough,
    };
    inputs.for_each_with(mapper, &mut |position, record| {
        match record {
            Record::Document(text) => documents.push((position.to_string(), text.to_string())),
            Record::Idle | Record::Blank => {}
            Record::Bad(why) => {
                bad += 1;
                eprintln!("{position}: {why}");
            }
        }
        Ok(())
    })?;
    for (_, text) in &documents {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            schema.infer_from_document(&value);
        }
    }

    let options = QueryOptions {
        timestamp_field: args.timestamp_field.clone(),
        tiebreaker_field: args.tiebreaker_field.clone(),
        category_field: args.category_field.clone(),
        size: args.size,
        max_samples_per_key: usize::try_from(args.max_samples_per_key).unwrap_or(usize::MAX),
        lookback: None,
    };
    let mut fields = FieldTable::new(
        &schema,
        &options.timestamp_field,
        options.tiebreaker_field.as_deref(),
        &options.category_field,
    );
    let plan =
        engine::plan::compile(&ast, &schema, &options, &mut fields).map_err(|diagnostics| {
            Failure {
                status: status::USAGE,
                message: eql::render::render_all(&diagnostics, "<query>", &args.query),
            }
        })?;
    let event_options = EventOptions {
        require_timestamp: plan.needs_timestamp(),
    };
    let mut events = Vec::with_capacity(documents.len());
    for (seq, (position, text)) in documents.iter().enumerate() {
        match fields.parse_event(text, &event_options) {
            Ok(mut event) => {
                event.seq = seq as u64;
                events.push(Arc::new(event));
            }
            Err(error) => {
                bad += 1;
                eprintln!("{position}: {error}");
            }
        }
    }
    drop(documents);

    let mut output = Output::open(None, OutputFormat::Ndjson)?;
    for hit in engine::query::run(&plan, events) {
        match hit {
            Match::Event(event) => output.raw_line(&event.raw)?,
            Match::Sequence { join_keys, events } => {
                let keys: Vec<Value> = join_keys.iter().map(|k| k.to_json()).collect();
                let docs: Vec<Value> = events
                    .iter()
                    .map(|event| match event {
                        Some(event) => serde_json::from_str(&event.raw).unwrap_or(Value::Null),
                        None => json!({"missing": true}),
                    })
                    .collect();
                output.json_line(&json!({"join_keys": keys, "events": docs}))?;
            }
        }
    }
    output.flush()?;
    if bad > 0 {
        eprintln!("tripline: {bad} input records skipped (see above)");
    }
    Ok(status::OK)
}
