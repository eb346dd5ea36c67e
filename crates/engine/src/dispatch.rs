//! Rule dispatch: which of many plans an event can possibly match, decided without evaluating them.
//!
//! Every stage of a plan (sequence and sample stages, missing stages, `until`) gets a *gate*: its category
//! (or `any`) and, when the condition has one, an *anchor*: a disjunction of constant tests
//! (`field == "x"`, `field in ("a", "b")`, `in~`, `field : ("a", "*b*")` — a `*` glob contributes its
//! longest literal piece, which every match contains) that must hold whenever the condition does — a necessary condition read from the compiled bool-query layer
//! (an `and` takes its most selective side, an `or` needs both sides anchored). Anchors are indexed by
//! (field, constant) — exact constants in a hash map, glob literals in one Aho-Corasick automaton per
//! field — so an event costs a lookup and a scan per value of each anchor field plus the category lists,
//! instead of evaluating every plan.
//!
//! A plan is offered an event when any of its gates passes; skipping the others is invisible in the
//! results because a plan's state only changes on events that match one of its stages (time is moved
//! separately with `Matcher::advance_to`). Candidates come back in plan order, so alerts keep the order
//! of the plain every-plan loop.

use ahash::AHashMap;
use aho_corasick::{AhoCorasick, MatchKind};

use crate::event::Event;
use crate::expr::{CmpKind, CmpOp, CompiledExpr, Node, NodeId, StagePredicate};
use crate::field::{FieldId, FieldTable};
use crate::plan::{Plan, PlanKind};
use crate::value::Value;

/// Fields with a handful of distinct values: an anchor on them filters little, so another conjunct
/// is preferred when there is one.
const LOW_CARDINALITY_FIELDS: &[&str] = &[
    "event.type",
    "event.kind",
    "event.outcome",
    "event.category",
    "event.module",
    "event.dataset",
    "event.provider",
    "host.os.type",
    "host.os.name",
    "host.os.family",
    "host.os.platform",
    "data_stream.dataset",
    "network.direction",
    "network.transport",
    "network.protocol",
    "agent.type",
];
/// Fields with somewhat more values (an action per event kind).
const MEDIUM_CARDINALITY_FIELDS: &[&str] = &["event.action", "event.code"];

/// One constant test: the field's value is one of `values` or contains one of `contains`
/// (ASCII-lowercased when case-insensitive).
#[derive(Debug, Clone)]
struct Anchor {
    field: FieldId,
    case_insensitive: bool,
    values: Vec<Box<str>>,
    contains: Vec<Box<str>>,
}

/// Glob literals shorter than this appear in too many values to be worth indexing.
const MIN_CONTAINED_LITERAL: usize = 3;

/// Where a gate is filed: plan index and required category (index into `categories`).
#[derive(Debug, Clone, Copy)]
struct GateRef {
    plan: u32,
    category: Option<u32>,
}

#[derive(Debug, Default)]
struct AnchorIndex {
    field: FieldId,
    case_insensitive: bool,
    by_value: AHashMap<Box<str>, Vec<GateRef>>,
    /// Literals a value must contain, with their gates; searched with `automaton`.
    literals: Vec<(Box<str>, Vec<GateRef>)>,
    automaton: Option<AhoCorasick>,
    /// Gates offered for any value of the field (their literals could not be indexed).
    always: Vec<GateRef>,
    /// Every gate filed here: offered when a value cannot be looked up exactly (not a string, or a
    /// non-ASCII string under case-insensitive matching, whose folding the index does not model).
    all: Vec<GateRef>,
}

/// Plans indexed for dispatch. Built once per field table, shared read-only (threads included).
#[derive(Debug, Default)]
pub struct Dispatcher {
    plans: usize,
    category_field: Option<FieldId>,
    categories: Vec<Box<str>>,
    /// Gates without anchor: by category, and `any`.
    by_category: Vec<Vec<u32>>,
    any: Vec<u32>,
    anchors: Vec<AnchorIndex>,
    /// Plans with at least one anchored gate, and how many have only category gates: for statistics.
    anchored_plans: usize,
}

/// Per-thread working memory of [`Dispatcher::candidates`].
#[derive(Debug, Default)]
pub struct DispatchScratch {
    stamp: Vec<u32>,
    epoch: u32,
    event_categories: Vec<u32>,
    folded: String,
}

impl Dispatcher {
    /// Indexes `plans` (compiled against `table`); candidate numbers are positions in `plans`.
    pub fn new(plans: &[&Plan], table: &FieldTable) -> Dispatcher {
        let mut d = Dispatcher {
            plans: plans.len(),
            category_field: Some(table.category_field()),
            ..Dispatcher::default()
        };
        let mut index_of: AHashMap<(FieldId, bool), usize> = AHashMap::new();
        for (plan_index, plan) in plans.iter().enumerate() {
            let plan_index = u32::try_from(plan_index).unwrap_or(u32::MAX);
            let mut anchored = false;
            for predicate in stage_predicates(plan) {
                let category = predicate.category().map(|c| d.category_id(c));
                let gate = GateRef {
                    plan: plan_index,
                    category,
                };
                match best_anchor(&predicate.condition, predicate.condition.root, table) {
                    Some((alternatives, _)) => {
                        anchored = true;
                        for anchor in alternatives {
                            let slot = *index_of
                                .entry((anchor.field, anchor.case_insensitive))
                                .or_insert_with(|| {
                                    d.anchors.push(AnchorIndex {
                                        field: anchor.field,
                                        case_insensitive: anchor.case_insensitive,
                                        ..AnchorIndex::default()
                                    });
                                    d.anchors.len() - 1
                                });
                            if let Some(index) = d.anchors.get_mut(slot) {
                                for value in anchor.values {
                                    index.by_value.entry(value).or_default().push(gate);
                                }
                                for literal in anchor.contains {
                                    match index.literals.iter_mut().find(|(l, _)| *l == literal) {
                                        Some((_, gates)) => gates.push(gate),
                                        None => index.literals.push((literal, vec![gate])),
                                    }
                                }
                                index.all.push(gate);
                            }
                        }
                    }
                    None => match category {
                        Some(c) => {
                            if let Some(list) = d.by_category.get_mut(c as usize) {
                                list.push(plan_index);
                            }
                        }
                        None => d.any.push(plan_index),
                    },
                }
            }
            d.anchored_plans += usize::from(anchored);
        }
        for index in d.anchors.iter_mut() {
            if index.literals.is_empty() {
                continue;
            }
            let built = AhoCorasick::builder()
                .ascii_case_insensitive(index.case_insensitive)
                .match_kind(MatchKind::Standard)
                .build(index.literals.iter().map(|(l, _)| l.as_bytes()));
            match built {
                Ok(automaton) => index.automaton = Some(automaton),
                // Cannot search the literals: offer their gates for every value of the field.
                Err(_) => index
                    .always
                    .extend(index.literals.drain(..).flat_map(|(_, g)| g)),
            }
        }
        d
    }

    fn category_id(&mut self, name: &str) -> u32 {
        let index = match self.categories.iter().position(|c| c.as_ref() == name) {
            Some(i) => i,
            None => {
                self.categories.push(name.into());
                self.by_category.push(Vec::new());
                self.categories.len() - 1
            }
        };
        u32::try_from(index).unwrap_or(u32::MAX)
    }

    /// Number of plans indexed.
    pub fn len(&self) -> usize {
        self.plans
    }

    pub fn is_empty(&self) -> bool {
        self.plans == 0
    }

    /// Plans with at least one stage anchored on constants.
    pub fn anchored_plans(&self) -> usize {
        self.anchored_plans
    }

    /// One line per anchor field: its path, how many gates are filed under it and under how many
    /// constants; then the unanchored gates by category. For tuning and diagnostics.
    pub fn describe(&self, table: &FieldTable) -> Vec<String> {
        let mut lines: Vec<(usize, String)> = self
            .anchors
            .iter()
            .map(|a| {
                (
                    a.all.len(),
                    format!(
                        "{}{}: {} gates, {} constants",
                        table.path(a.field),
                        if a.case_insensitive { " (ci)" } else { "" },
                        a.all.len(),
                        a.by_value.len()
                    ),
                )
            })
            .collect();
        lines.sort_by_key(|(gates, _)| std::cmp::Reverse(*gates));
        let mut out: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
        for (name, plans) in self.categories.iter().zip(&self.by_category) {
            out.push(format!("unanchored {name}: {} gates", plans.len()));
        }
        out.push(format!("unanchored any: {} gates", self.any.len()));
        out
    }

    /// Positions (in the order given to [`Dispatcher::new`]) of the plans `event` may match, ascending.
    /// Every plan some stage of which matches the event is included.
    pub fn candidates(&self, event: &Event, scratch: &mut DispatchScratch, out: &mut Vec<u32>) {
        out.clear();
        // One scratch may serve several dispatchers: stamps only grow, and a fresh epoch per call
        // makes marks left by another dispatcher stale.
        if scratch.stamp.len() < self.plans {
            scratch.stamp.resize(self.plans, 0);
        }
        scratch.epoch = scratch.epoch.wrapping_add(1);
        if scratch.epoch == 0 {
            scratch.stamp.iter_mut().for_each(|s| *s = 0);
            scratch.epoch = 1;
        }
        let epoch = scratch.epoch;
        let stamp = &mut scratch.stamp;
        let mut mark = |plan: u32, out: &mut Vec<u32>| {
            if let Some(s) = stamp.get_mut(plan as usize) {
                if *s != epoch {
                    *s = epoch;
                    out.push(plan);
                }
            }
        };

        scratch.event_categories.clear();
        if let Some(field) = self.category_field {
            for value in event.get(field).elements() {
                if let Some(name) = value.as_str() {
                    if let Some(i) = self.categories.iter().position(|c| c.as_ref() == name) {
                        scratch
                            .event_categories
                            .push(u32::try_from(i).unwrap_or(u32::MAX));
                    }
                }
            }
        }
        let categories = &scratch.event_categories;
        let category_ok = |gate: &GateRef| gate.category.is_none_or(|c| categories.contains(&c));

        for &plan in &self.any {
            mark(plan, out);
        }
        for &c in categories {
            for &plan in self
                .by_category
                .get(c as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                mark(plan, out);
            }
        }
        for index in &self.anchors {
            for value in event.get(index.field).elements() {
                let key: Option<&str> = match value {
                    Value::Null => continue,
                    Value::Str(s) if !index.case_insensitive => Some(s),
                    Value::Str(s) if s.is_ascii() => {
                        if s.bytes().any(|b| b.is_ascii_uppercase()) {
                            scratch.folded.clear();
                            scratch.folded.push_str(s);
                            scratch.folded.make_ascii_lowercase();
                            Some(scratch.folded.as_str())
                        } else {
                            Some(s)
                        }
                    }
                    _ => None,
                };
                let Some(key) = key else {
                    for gate in &index.all {
                        if category_ok(gate) {
                            mark(gate.plan, out);
                        }
                    }
                    continue;
                };
                let exact = index.by_value.get(key).map_or(&[][..], Vec::as_slice);
                for gate in exact.iter().chain(&index.always) {
                    if category_ok(gate) {
                        mark(gate.plan, out);
                    }
                }
                if let Some(automaton) = &index.automaton {
                    for found in automaton.find_overlapping_iter(key) {
                        let gates = index.literals.get(found.pattern().as_usize());
                        for gate in gates.map_or(&[][..], |(_, g)| g.as_slice()) {
                            if category_ok(gate) {
                                mark(gate.plan, out);
                            }
                        }
                    }
                }
            }
        }
        out.sort_unstable();
    }
}

/// Every stage predicate of a plan, `until` included.
fn stage_predicates(plan: &Plan) -> Vec<&StagePredicate> {
    match &plan.kind {
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

/// Selectivity of an anchor disjunction: (field rank of its weakest member, exact rather than
/// contained, fewer values better).
type Score = (u8, bool, std::cmp::Reverse<usize>);

fn field_rank(table: &FieldTable, field: FieldId) -> u8 {
    let path = table.path(field);
    if LOW_CARDINALITY_FIELDS.contains(&path) {
        0
    } else if MEDIUM_CARDINALITY_FIELDS.contains(&path) {
        1
    } else {
        2
    }
}

fn score(alternatives: &[Anchor], table: &FieldTable) -> Score {
    let rank = alternatives
        .iter()
        .map(|a| field_rank(table, a.field))
        .min()
        .unwrap_or(0);
    let values = alternatives
        .iter()
        .map(|a| a.values.len() + a.contains.len())
        .sum();
    let exact = alternatives.iter().all(|a| a.contains.is_empty());
    (rank, exact, std::cmp::Reverse(values))
}

/// A necessary condition of `id` (true ⇒ one of the anchors holds), the most selective found.
fn best_anchor(
    expr: &CompiledExpr,
    id: NodeId,
    table: &FieldTable,
) -> Option<(Vec<Anchor>, Score)> {
    match expr.nodes.get(id as usize)? {
        Node::And(a, b) => {
            let left = best_anchor(expr, *a, table);
            let right = best_anchor(expr, *b, table);
            match (left, right) {
                (Some(l), Some(r)) => Some(if r.1 > l.1 { r } else { l }),
                (l, r) => l.or(r),
            }
        }
        Node::Or(a, b) => {
            let (mut left, _) = best_anchor(expr, *a, table)?;
            let (right, _) = best_anchor(expr, *b, table)?;
            left.extend(right);
            let s = score(&left, table);
            Some((left, s))
        }
        Node::Leaf { expr: inner, .. } => {
            let anchor = leaf_anchor(expr, *inner)?;
            let alternatives = vec![anchor];
            let s = score(&alternatives, table);
            Some((alternatives, s))
        }
        _ => None,
    }
}

/// A bare field (not `field[i]`).
fn plain_field(expr: &CompiledExpr, id: NodeId) -> Option<FieldId> {
    match expr.nodes.get(id as usize)? {
        Node::Field {
            id: field,
            index: None,
            ..
        } => Some(*field),
        _ => None,
    }
}

/// The constant test a leaf is, if it is one.
fn leaf_anchor(expr: &CompiledExpr, id: NodeId) -> Option<Anchor> {
    match expr.nodes.get(id as usize)? {
        // `==` on strings is exact (code points); a non-string value never equals a string.
        Node::Cmp {
            op: CmpOp::Eq,
            kind: CmpKind::Plain,
            lhs,
            rhs,
        } => {
            let field = plain_field(expr, *lhs)?;
            match expr.nodes.get(*rhs as usize)? {
                Node::Lit(Value::Str(s)) => Some(Anchor {
                    field,
                    case_insensitive: false,
                    values: vec![Box::from(s.as_ref())],
                    contains: Vec::new(),
                }),
                _ => None,
            }
        }
        Node::In { lhs, set } => {
            let field = plain_field(expr, *lhs)?;
            let only_strings = set.ints.is_empty()
                && set.floats.is_empty()
                && !set.bools[0]
                && !set.bools[1]
                && !set.kind_ip
                && !set.strings.is_empty();
            if !only_strings {
                return None;
            }
            anchor_from(
                field,
                set.case_insensitive,
                set.strings.iter().map(|s| s.as_ref()),
                std::iter::empty(),
            )
        }
        Node::Match { lhs, matcher } => {
            let field = plain_field(expr, *lhs)?;
            let (values, contains, case_insensitive) = matcher.literals()?;
            if contains.iter().any(|l| l.len() < MIN_CONTAINED_LITERAL) {
                return None;
            }
            anchor_from(
                field,
                case_insensitive,
                values.into_iter(),
                contains.into_iter(),
            )
        }
        _ => None,
    }
}

/// Case-insensitive constants must be ASCII: event values are folded with ASCII rules only
/// (non-ASCII event values are offered to every gate of the field instead).
fn anchor_from<'a>(
    field: FieldId,
    case_insensitive: bool,
    values: impl Iterator<Item = &'a str>,
    contains: impl Iterator<Item = &'a str>,
) -> Option<Anchor> {
    let fold = |v: &str| -> Option<Box<str>> {
        if !case_insensitive {
            Some(Box::from(v))
        } else if v.is_ascii() {
            Some(v.to_ascii_lowercase().into_boxed_str())
        } else {
            None
        }
    };
    Some(Anchor {
        field,
        case_insensitive,
        values: values.map(fold).collect::<Option<Vec<_>>>()?,
        contains: contains.map(fold).collect::<Option<Vec<_>>>()?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::event::EventOptions;
    use crate::plan::QueryOptions;
    use crate::runtime::{Match, Matcher};
    use crate::schema::Schema;

    const QUERIES: &[&str] = &[
        r#"process where process.name == "launchctl" and process.args == "load""#,
        r#"process where process.name : ("cmd.exe", "powershell.exe") and process.args : "*enc*""#,
        r#"file where file.path : "/Library/LaunchDaemons/*""#,
        r#"process where process.command_line : ("*-enc*", "*/c dir*") and host.os.type == "linux""#,
        r#"file where file.name : "*.PLIST" and file.path : "/library/*""#,
        r#"any where host.os.type == "linux""#,
        r#"network where destination.port == 22"#,
        r#"process where (process.name : "bash" or process.parent.name in~ ("SSHD", "cron")) and user.name != "root""#,
        r#"process where not process.name == "ls""#,
        r#"process where process.name in ("Ünïcode", "ls")"#,
        r#"sequence by host.id with maxspan=1m
             [file where event.type != "deletion" and file.path : "/Library/LaunchDaemons/*"]
             [process where process.name == "launchctl" and process.args == "load"]
           until [process where event.action == "end" and process.name == "launchd"]"#,
        r#"sample by host.id [process where process.name == "curl"] [network where destination.port == 443]"#,
    ];

    const EVENTS: &[&str] = &[
        r#"{"@timestamp":1,"event":{"category":["process"],"type":["start"]},"host":{"id":"a","os":{"type":"macos"}},"process":{"name":"launchctl","args":["launchctl","load","x"]}}"#,
        r#"{"@timestamp":2,"event":{"category":"process"},"host":{"id":"a","os":{"type":"linux"}},"process":{"name":"CMD.EXE","args":["/c","-enc","x"],"command_line":"CMD /C DIR x"},"user":{"name":"bob"}}"#,
        r#"{"@timestamp":3,"event":{"category":["file"],"type":["creation"]},"host":{"id":"a"},"file":{"path":"/Library/LaunchDaemons/x.plist","name":"X.plist"}}"#,
        r#"{"@timestamp":4,"event":{"category":["process"]},"process":{"name":"BASH","parent":{"name":"cron"}},"user":{"name":"root"}}"#,
        r#"{"@timestamp":5,"event":{"category":["process"]},"process":{"name":"ls","parent":{"name":"sshd"}},"user":{"name":"x"}}"#,
        r#"{"@timestamp":6,"event":{"category":["process"]},"process":{"name":"Ünïcode"}}"#,
        r#"{"@timestamp":7,"event":{"category":["network","process"]},"destination":{"port":22},"process":{"name":"curl"},"host":{"id":"a"}}"#,
        r#"{"@timestamp":8,"event":{"category":["network"]},"destination":{"port":443},"host":{"id":"a","os":{"type":"linux"}}}"#,
        r#"{"@timestamp":9,"event":{"category":["process"],"action":"end"},"process":{"name":["launchd","x"]}}"#,
        r#"{"@timestamp":10,"process":{"name":"ls"}}"#,
    ];

    fn compile_all(table: &mut FieldTable) -> Vec<Plan> {
        let schema = Schema::ecs();
        QUERIES
            .iter()
            .map(|q| {
                let ast = eql::parse(q).unwrap();
                crate::compile(&ast, &schema, &QueryOptions::default(), table).unwrap()
            })
            .collect()
    }

    #[test]
    fn candidates_include_every_plan_a_stage_of_which_matches() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let plans = compile_all(&mut table);
        let refs: Vec<&Plan> = plans.iter().collect();
        let dispatcher = Dispatcher::new(&refs, &table);
        assert!(dispatcher.anchored_plans() >= 7);
        let mut scratch = DispatchScratch::default();
        let mut out = Vec::new();
        let mut skipped = 0;
        for text in EVENTS {
            let event = table.parse_event(text, &EventOptions::default()).unwrap();
            dispatcher.candidates(&event, &mut scratch, &mut out);
            assert!(out.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
            for (i, plan) in plans.iter().enumerate() {
                let any_stage = stage_predicates(plan).iter().any(|p| p.matches(&event));
                if any_stage {
                    assert!(out.contains(&(i as u32)), "plan {i} missing for {text}");
                } else if !out.contains(&(i as u32)) {
                    skipped += 1;
                }
            }
        }
        // The index must actually skip work, not offer everything.
        assert!(skipped > EVENTS.len() * 3, "skipped only {skipped}");
    }

    #[test]
    fn dispatched_matchers_give_the_same_matches_as_offering_every_event() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let plans: Vec<Arc<Plan>> = compile_all(&mut table).into_iter().map(Arc::new).collect();
        let refs: Vec<&Plan> = plans.iter().map(|p| p.as_ref()).collect();
        let dispatcher = Dispatcher::new(&refs, &table);
        let mut plain: Vec<Matcher> = plans.iter().map(|p| Matcher::new(p.clone())).collect();
        let mut fast: Vec<Matcher> = plans.iter().map(|p| Matcher::new(p.clone())).collect();
        let (mut plain_out, mut fast_out) = (Vec::new(), Vec::new());
        let mut scratch = DispatchScratch::default();
        let mut candidates = Vec::new();
        for (seq, text) in EVENTS.iter().enumerate() {
            let mut event = table.parse_event(text, &EventOptions::default()).unwrap();
            event.seq = seq as u64;
            let event = Arc::new(event);
            for m in plain.iter_mut() {
                m.push(&event, &mut plain_out);
            }
            dispatcher.candidates(&event, &mut scratch, &mut candidates);
            for &i in &candidates {
                fast[i as usize].push(&event, &mut fast_out);
            }
        }
        for (p, f) in plain.iter_mut().zip(fast.iter_mut()) {
            p.finish(&mut plain_out);
            f.finish(&mut fast_out);
        }
        let describe = |ms: &[Match]| -> Vec<String> {
            ms.iter()
                .map(|m| match m {
                    Match::Event(e) => format!("event {}", e.seq),
                    Match::Sequence { events, .. } => format!(
                        "seq {:?}",
                        events
                            .iter()
                            .map(|e| e.as_ref().map(|e| e.seq))
                            .collect::<Vec<_>>()
                    ),
                })
                .collect()
        };
        assert!(!plain_out.is_empty());
        assert_eq!(describe(&plain_out), describe(&fast_out));
    }
}
