//! `rule_toml`: arbitrary text → the rule-file loader. Every error is rendered (positions, caret
//! snippets), and a rule that loads is parsed and compiled against the ECS schema.

use std::path::Path;
use std::sync::OnceLock;

use engine::schema::Schema;

fn ecs() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(Schema::ecs)
}

/// Panics when loading, error rendering or compiling panics.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match rules::load_str(Path::new("fuzz/rule.toml"), text) {
        rules::Loaded::Ready(rule) => {
            let schema = ecs();
            let mut fields = rule.field_table(schema);
            let _options = rule.query_options();
            if let Err(errors) = rule.compile(schema, &mut fields) {
                for error in errors {
                    let _rendered = error.to_string();
                }
            }
        }
        rules::Loaded::Unsupported(unsupported) => {
            let _described = format!("{unsupported:?}");
        }
        rules::Loaded::Invalid(errors) => {
            for error in errors {
                let _rendered = error.to_string();
            }
        }
        rules::Loaded::Skipped(skipped) => {
            let _described = format!("{skipped:?}");
        }
    }
}
