//! `_eql/search` over a finite set of events: order them as Elasticsearch does, run the
//! streaming matcher, then order results and apply pipes and `size`.
//!
//! Order of events: timestamp ascending, then tiebreaker ascending (nulls first, as ES
//! sorts), then arrival (`seq`, standing in for ES's implicit shard-doc tiebreaker).
//! Order of results: event hits in event order; sequences by their last positive event
//! (completion order); samples by join key.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::event::Event;
use crate::plan::{Plan, PlanPipe};
use crate::runtime::event_query::apply;
use crate::runtime::{Match, Matcher};

/// Elasticsearch's event order.
pub fn event_order(a: &Event, b: &Event) -> Ordering {
    let ts = match (a.timestamp, b.timestamp) {
        (Some(x), Some(y)) => x.cmp(&y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    ts.then_with(|| tiebreaker_order(&a.tiebreaker, &b.tiebreaker))
        .then_with(|| a.seq.cmp(&b.seq))
}

fn tiebreaker_order(a: &crate::value::Value, b: &crate::value::Value) -> Ordering {
    // Sort on a multi-valued field uses its minimum (ES's default sort mode, ascending).
    let min = |v: &crate::value::Value| {
        v.elements()
            .iter()
            .filter(|e| !e.is_null())
            .min_by(|x, y| x.total_cmp(y))
            .cloned()
            .unwrap_or(crate::value::Value::Null)
    };
    min(a).total_cmp(&min(b))
}

/// Runs `plan` over `events` (in any order) and returns what `_eql/search` would.
pub fn run(plan: &Plan, events: Vec<Arc<Event>>) -> Vec<Match> {
    run_shared(&Arc::new(plan_view(plan)), events)
}

/// As [`run`], for a plan already shared.
pub fn run_shared(plan: &Arc<Plan>, mut events: Vec<Arc<Event>>) -> Vec<Match> {
    events.sort_by(|a, b| event_order(a, b));
    let mut matcher = Matcher::with_pipes(Arc::clone(plan), &[]);
    let mut raw = Vec::new();
    for event in &events {
        matcher.push_raw(event, &mut raw);
    }
    matcher.finish_raw(&mut raw);
    // Sequences released late (trailing missing-event windows) go back to completion order.
    raw.sort_by_key(|(order, _)| *order);
    let mut pipes: Vec<PlanPipe> = plan.pipes.clone();
    if let Some(size) = plan.options.size {
        pipes.push(PlanPipe::Head(size));
    }
    apply(&pipes, raw.into_iter().map(|(_, m)| m).collect())
}

/// `run` takes `&Plan` (the documented contract) but the matcher shares its plan; plans
/// are immutable, so a view sharing the compiled parts is built once per call.
fn plan_view(plan: &Plan) -> Plan {
    plan.clone()
}
