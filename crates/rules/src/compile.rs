//! A rule's query → an engine plan, with the request settings Kibana's EQL search would use.

use engine::field::FieldTable;
use engine::plan::{Plan, QueryOptions};
use engine::schema::Schema;

use crate::load::{Rule, RuleError};

impl Rule {
    /// The category field: `event_category_override` or EQL's default.
    pub fn category_field(&self) -> &str {
        self.event_category_override
            .as_deref()
            .unwrap_or("event.category")
    }

    /// The `_eql/search` settings Kibana sends for this rule. Kibana also sends `size = max_signals`
    /// per execution; tripline applies that cap per interval when alerts are raised (see
    /// [`crate::alert::SignalBudget`]), so the plan itself is uncapped.
    pub fn query_options(&self) -> QueryOptions {
        QueryOptions {
            timestamp_field: self.timestamp_field().to_string(),
            tiebreaker_field: self.tiebreaker_field.clone(),
            category_field: self.category_field().to_string(),
            size: None,
            max_samples_per_key: 1,
            lookback: Some(self.lookback_ns),
        }
    }

    /// Parses and compiles the query against `fields` (which gains the fields the plan reads).
    /// Errors are located in the rule file.
    pub fn compile(
        &self,
        schema: &Schema,
        fields: &mut FieldTable,
    ) -> Result<Plan, Vec<RuleError>> {
        let query = self.parse_query()?;
        engine::plan::compile(&query, schema, &self.query_options(), fields)
            .map_err(|diagnostics| diagnostics.iter().map(|d| self.query_error(d)).collect())
    }

    /// A field table for this rule's timestamp, tiebreaker and category settings.
    pub fn field_table(&self, schema: &Schema) -> FieldTable {
        FieldTable::new(
            schema,
            self.timestamp_field(),
            self.tiebreaker_field.as_deref(),
            self.category_field(),
        )
    }
}
