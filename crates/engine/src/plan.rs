//! `ast::Query` → [`Plan`]: stages with compiled conditions and join keys, sequence shape
//! (maxspan, until, runs expanded, missing stages), sample shape, pipes and size.
//!
//! The checks Elasticsearch makes on the shape of a query (join key counts, maxspan,
//! runs, number of stages) are made here, each with the span of the offending part.

use eql::ast::{self, ExprKind, Pipe, QueryBody};
use eql::{Code, Diagnostic, Span};

use crate::expr::{self, CompiledExpr, StagePredicate};
use crate::field::FieldTable;
use crate::schema::Schema;

/// Diagnostic codes of query-shape checks (E36x).
pub mod codes {
    use eql::Code;
    /// Stages with different numbers of join keys.
    pub const JOIN_KEY_COUNT: Code = Code("E360");
    /// A sequence needs at least two stages (counting `runs`).
    pub const SEQUENCE_TOO_SHORT: Code = Code("E361");
    /// Every stage of a sequence is a missing-event stage.
    pub const NO_POSITIVE_STAGE: Code = Code("E362");
    /// `maxspan` must be positive.
    pub const MAXSPAN_NOT_POSITIVE: Code = Code("E363");
    /// `runs` out of range.
    pub const RUNS_OUT_OF_RANGE: Code = Code("E364");
    /// A sample needs at least two stages.
    pub const SAMPLE_TOO_SHORT: Code = Code("E365");
}

/// Most repetitions Elasticsearch accepts for `with runs=N`.
pub const MAX_RUNS: u32 = 100;

/// Request-level settings, as `_eql/search` takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOptions {
    pub timestamp_field: String,
    pub tiebreaker_field: Option<String>,
    pub category_field: String,
    /// Most results returned (events, sequences or samples); `None` = no cap.
    pub size: Option<u64>,
    /// Samples per join key (Elasticsearch's default is 1).
    pub max_samples_per_key: usize,
    /// Bound on sequence state age when the query has no maxspan (a rule's look-back), ns.
    pub lookback: Option<i64>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            timestamp_field: "@timestamp".to_string(),
            tiebreaker_field: None,
            category_field: "event.category".to_string(),
            size: None,
            max_samples_per_key: 1,
            lookback: None,
        }
    }
}

/// One compiled `[category where condition] by keys`.
#[derive(Debug, Clone)]
pub struct StagePlan {
    /// Category check and condition.
    pub predicate: StagePredicate,
    /// Composite join key: the query-level `by` keys, then the stage's own.
    pub keys: Vec<KeyPlan>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct KeyPlan {
    pub expr: CompiledExpr,
    /// A bare `?field`: null is a valid key value.
    pub optional: bool,
}

#[derive(Debug, Clone)]
pub struct SequenceStagePlan {
    pub stage: StagePlan,
    pub missing: bool,
    pub runs: u32,
}

#[derive(Debug, Clone)]
pub struct SequencePlan {
    /// As written (a stage with `runs=N` appears once).
    pub stages: Vec<SequenceStagePlan>,
    pub until: Option<StagePlan>,
    pub maxspan_ns: Option<i64>,
    /// After `runs` expansion: the written stage each position comes from.
    pub expanded: Vec<usize>,
}

impl SequencePlan {
    /// Missing flags of the expanded stages.
    pub fn expanded_missing(&self) -> Vec<bool> {
        self.expanded
            .iter()
            .map(|&i| self.stages.get(i).is_some_and(|s| s.missing))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct SamplePlan {
    pub stages: Vec<StagePlan>,
}

#[derive(Debug, Clone)]
pub enum PlanKind {
    Event(StagePlan),
    Sequence(SequencePlan),
    Sample(SamplePlan),
}

/// A pipe after the query body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanPipe {
    Head(u64),
    Tail(u64),
}

/// A compiled query, ready for [`crate::runtime::Matcher`] or [`crate::query::run`].
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: PlanKind,
    pub pipes: Vec<PlanPipe>,
    pub options: QueryOptions,
}

impl Plan {
    /// Every stage predicate of the plan, `until` included: an event changes the plan's state or
    /// output only if one of them matches it.
    pub fn stage_predicates(&self) -> Vec<&StagePredicate> {
        match &self.kind {
            PlanKind::Event(stage) => vec![&stage.predicate],
            PlanKind::Sequence(seq) => seq
                .stages
                .iter()
                .map(|s| &s.stage.predicate)
                .chain(seq.until.iter().map(|u| &u.predicate))
                .collect(),
            PlanKind::Sample(sample) => sample.stages.iter().map(|s| &s.predicate).collect(),
        }
    }

    pub fn is_sequence(&self) -> bool {
        matches!(self.kind, PlanKind::Sequence(_))
    }

    pub fn is_sample(&self) -> bool {
        matches!(self.kind, PlanKind::Sample(_))
    }

    /// Whether the query orders events by time (samples do not need timestamps).
    pub fn needs_timestamp(&self) -> bool {
        !self.is_sample()
    }
}

/// Compiles a parsed query. `fields` gains every field the plan reads.
pub fn compile(
    query: &ast::Query,
    schema: &Schema,
    options: &QueryOptions,
    fields: &mut FieldTable,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut compiler = Compiler {
        schema,
        fields,
        diags: &mut diags,
    };
    let kind = match &query.body {
        QueryBody::Event(event) => compiler.stage(event, &[], &[]).map(PlanKind::Event),
        QueryBody::Sequence(seq) => compiler.sequence(seq).map(PlanKind::Sequence),
        QueryBody::Sample(sample) => compiler.sample(sample).map(PlanKind::Sample),
    };
    let pipes = query
        .pipes
        .iter()
        .map(|p| match p {
            Pipe::Head { count, .. } => PlanPipe::Head(*count),
            Pipe::Tail { count, .. } => PlanPipe::Tail(*count),
        })
        .collect();
    match kind {
        Some(kind) if diags.is_empty() => Ok(Plan {
            kind,
            pipes,
            options: options.clone(),
        }),
        _ => {
            if diags.is_empty() {
                diags.push(Diagnostic::error(
                    Code("E360"),
                    query.span,
                    "query could not be compiled",
                ));
            }
            Err(diags)
        }
    }
}

struct Compiler<'a> {
    schema: &'a Schema,
    fields: &'a mut FieldTable,
    diags: &'a mut Vec<Diagnostic>,
}

impl Compiler<'_> {
    fn stage(
        &mut self,
        event: &ast::EventQuery,
        top_keys: &[ast::Expr],
        own_keys: &[ast::Expr],
    ) -> Option<StagePlan> {
        let predicate = match expr::compile_event_query(event, self.schema, self.fields) {
            Ok(p) => Some(p),
            Err(mut d) => {
                self.diags.append(&mut d);
                None
            }
        };
        let mut keys = Vec::with_capacity(top_keys.len() + own_keys.len());
        let mut keys_ok = true;
        for key in top_keys.iter().chain(own_keys) {
            match expr::compile_key(key, self.schema, self.fields) {
                Ok(k) => keys.push(KeyPlan {
                    expr: k,
                    optional: matches!(&key.kind, ExprKind::Field(f) if f.optional),
                }),
                Err(mut d) => {
                    self.diags.append(&mut d);
                    keys_ok = false;
                }
            }
        }
        let predicate = predicate?;
        keys_ok.then_some(StagePlan {
            predicate,
            keys,
            span: event.span,
        })
    }

    /// ES: every stage (and `until`) must have as many join keys as the first.
    fn check_key_counts<'s>(&mut self, stages: impl Iterator<Item = (&'s [ast::Expr], Span)>) {
        let mut expected: Option<usize> = None;
        for (by, span) in stages {
            match expected {
                None => expected = Some(by.len()),
                Some(n) if n != by.len() => {
                    let at = match (by.first(), by.last()) {
                        (Some(first), Some(last)) => first.span.to(last.span),
                        _ => span,
                    };
                    self.diags.push(Diagnostic::error(
                        codes::JOIN_KEY_COUNT,
                        at,
                        format!("inconsistent number of join keys specified; expected [{n}] but found [{}]", by.len()),
                    ));
                }
                Some(_) => {}
            }
        }
    }

    fn sequence(&mut self, seq: &ast::Sequence) -> Option<SequencePlan> {
        let until_by = seq.until.as_ref().map(|u| (u.by.as_slice(), u.span));
        self.check_key_counts(
            seq.stages
                .iter()
                .map(|s| (s.by.as_slice(), s.span))
                .chain(until_by),
        );

        let maxspan_ns = match &seq.maxspan {
            Some(span) if span.value == 0 => {
                self.diags.push(Diagnostic::error(
                    codes::MAXSPAN_NOT_POSITIVE,
                    span.span,
                    "a positive maxspan value is required; found [0]",
                ));
                None
            }
            Some(span) => Some(span.as_nanos()),
            None => None,
        };

        let mut expanded = Vec::new();
        for (i, stage) in seq.stages.iter().enumerate() {
            if stage.runs == 0 || stage.runs > MAX_RUNS {
                self.diags.push(Diagnostic::error(
                    codes::RUNS_OUT_OF_RANGE,
                    stage.span,
                    format!(
                        "runs must be between 1 and {MAX_RUNS}; found [{}]",
                        stage.runs
                    ),
                ));
                continue;
            }
            for _ in 0..stage.runs {
                expanded.push(i);
            }
        }
        if expanded.len() < 2 {
            self.diags.push(Diagnostic::error(
                codes::SEQUENCE_TOO_SHORT,
                seq.span,
                format!(
                    "a sequence requires a minimum of 2 queries, found [{}]",
                    expanded.len()
                ),
            ));
        }
        if !seq.stages.is_empty() && seq.stages.iter().all(|s| s.missing) {
            self.diags.push(Diagnostic::error(
                codes::NO_POSITIVE_STAGE,
                seq.span,
                "a sequence requires at least one positive event query; found none",
            ));
        }

        let mut stages = Vec::with_capacity(seq.stages.len());
        for stage in &seq.stages {
            if let Some(plan) = self.stage(&stage.query, &seq.by, &stage.by) {
                stages.push(SequenceStagePlan {
                    stage: plan,
                    missing: stage.missing,
                    runs: stage.runs,
                });
            }
        }
        let until = match &seq.until {
            Some(u) => Some(self.stage(&u.query, &seq.by, &u.by)?),
            None => None,
        };
        (stages.len() == seq.stages.len()).then_some(SequencePlan {
            stages,
            until,
            maxspan_ns,
            expanded,
        })
    }

    fn sample(&mut self, sample: &ast::Sample) -> Option<SamplePlan> {
        self.check_key_counts(sample.stages.iter().map(|s| (s.by.as_slice(), s.span)));
        if sample.stages.len() < 2 {
            self.diags.push(Diagnostic::error(
                codes::SAMPLE_TOO_SHORT,
                sample.span,
                format!(
                    "a sample requires a minimum of 2 queries, found [{}]",
                    sample.stages.len()
                ),
            ));
        }
        let mut stages = Vec::with_capacity(sample.stages.len());
        for stage in &sample.stages {
            if let Some(mut plan) = self.stage(&stage.query, &sample.by, &stage.by) {
                for key in &mut plan.keys {
                    expr::use_as_sample_key(&mut key.expr, self.fields);
                }
                stages.push(plan);
            }
        }
        (stages.len() == sample.stages.len()).then_some(SamplePlan { stages })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ast::Query {
        eql::parse(text).unwrap_or_else(|d| panic!("parse failed: {d:?}"))
    }

    fn compile_query(query: &ast::Query) -> Result<Plan, Vec<Diagnostic>> {
        let schema = Schema::empty();
        let mut fields = FieldTable::new(&schema, "@timestamp", None, "event.category");
        compile(query, &schema, &QueryOptions::default(), &mut fields)
    }

    fn compile_text(text: &str) -> Result<Plan, Vec<Diagnostic>> {
        compile_query(&parse(text))
    }

    fn codes_of(result: Result<Plan, Vec<Diagnostic>>) -> Vec<&'static str> {
        result
            .err()
            .unwrap_or_default()
            .iter()
            .map(|d| d.code.0)
            .collect()
    }

    fn sequence_mut(query: &mut ast::Query) -> &mut ast::Sequence {
        match &mut query.body {
            QueryBody::Sequence(seq) => seq,
            other => panic!("not a sequence: {other:?}"),
        }
    }

    #[test]
    fn sequence_needs_two_stages_counting_runs() {
        // The parser rejects these too; the plan checks ASTs built by other means.
        let mut query = parse("sequence [a where true] [b where true]");
        sequence_mut(&mut query).stages.pop();
        assert_eq!(codes_of(compile_query(&query)), vec!["E361"]);
        sequence_mut(&mut query).stages[0].runs = 2;
        assert!(codes_of(compile_query(&query)).is_empty());
        sequence_mut(&mut query).stages[0].runs = MAX_RUNS + 1;
        assert_eq!(codes_of(compile_query(&query)), vec!["E364", "E361"]);

        let plan =
            compile_text("sequence [a where true] with runs=3 ![b where true] [c where true]")
                .unwrap();
        match &plan.kind {
            PlanKind::Sequence(seq) => {
                assert_eq!(seq.expanded, vec![0, 0, 0, 1, 2]);
                assert_eq!(
                    seq.expanded_missing(),
                    vec![false, false, false, true, false]
                );
            }
            other => panic!("not a sequence: {other:?}"),
        }
    }

    #[test]
    fn sequence_shape_errors_point_at_the_spot() {
        // `sequence [a where true] by x [b where true] by y, z`
        let mut query = parse("sequence [a where true] by x [b where true] by y");
        let z = sequence_mut(&mut parse(
            "sequence [a where true] by z [b where true] by z",
        ))
        .stages[0]
            .by[0]
            .clone();
        sequence_mut(&mut query).stages[1].by.push(z);
        let err = compile_query(&query).unwrap_err();
        assert_eq!(err[0].code.0, "E360");
        assert!(err[0].message.contains("expected [1] but found [2]"));

        let mut query = parse("sequence ![a where true] [b where true]");
        sequence_mut(&mut query).stages[1].missing = true;
        assert_eq!(codes_of(compile_query(&query)), vec!["E362"]);

        let mut query = parse("sequence with maxspan=1s [a where true] [b where true]");
        if let Some(span) = sequence_mut(&mut query).maxspan.as_mut() {
            span.value = 0;
        }
        assert_eq!(codes_of(compile_query(&query)), vec!["E363"]);
    }

    #[test]
    fn maxspan_and_pipes_compile() {
        let plan = compile_text(
            "sequence with maxspan=2s [a where true] [b where true] | head 4 | tail 2",
        )
        .unwrap();
        assert_eq!(plan.pipes, vec![PlanPipe::Head(4), PlanPipe::Tail(2)]);
        match &plan.kind {
            PlanKind::Sequence(seq) => assert_eq!(seq.maxspan_ns, Some(2_000_000_000)),
            other => panic!("not a sequence: {other:?}"),
        }
    }
}
