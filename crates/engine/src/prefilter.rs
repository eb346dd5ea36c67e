//! Literal prefilter: decides from a line's raw text, before any field is extracted, that no stage
//! of any loaded plan can match the event, so that only its time needs reading.
//!
//! Every stage predicate must have a necessary condition made of constant string tests (`==`, `in`,
//! `in~`, `:` / `like` with `*` globs) on fields whose extracted value is the JSON string as written.
//! A line that then contains none of those constants (ASCII case ignored, which only adds false
//! positives) cannot make any of them hold — provided the JSON text shows every string as it is:
//! the check applies to lines that are all ASCII and hold no `\u` escape; other escapes (`\"`, `\\`,
//! `\/`, `\n`…) only stand for characters a literal piece never contains (pieces are cut at them).
//! When some stage has no such condition (e.g. `any where true`, numeric tests only), there is no
//! prefilter and every line is extracted.

use aho_corasick::AhoCorasick;

use crate::expr::{CmpKind, CmpOp, CompiledExpr, Node, NodeId};
use crate::field::{FieldId, FieldTable};
use crate::plan::Plan;
use crate::schema::FieldType;
use crate::value::Value;

/// Literal pieces shorter than this are too common to skip anything.
const MIN_LITERAL: usize = 3;
/// More literals than this make the scan cost more than the extraction it saves.
const MAX_LITERALS: usize = 256;

/// Raw-text test run before extraction (see the module documentation).
#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    literals: usize,
}

impl Prefilter {
    /// A prefilter for `plans` (compiled against `table`), or `None` when some stage cannot be
    /// ruled out by literals.
    pub fn new(plans: &[&Plan], table: &FieldTable) -> Option<Prefilter> {
        let mut literals: Vec<String> = Vec::new();
        for plan in plans {
            for predicate in plan.stage_predicates() {
                let condition = &predicate.condition;
                let needed = necessary(condition, condition.root, table, 0)?;
                literals.extend(needed);
            }
        }
        literals.sort();
        literals.dedup();
        if literals.is_empty() || literals.len() > MAX_LITERALS {
            return None;
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&literals)
            .ok()?;
        Some(Prefilter {
            automaton,
            literals: literals.len(),
        })
    }

    /// Whether some stage may match the document written as `line`; `false` only when none can.
    pub fn may_match(&self, line: &str) -> bool {
        !line.is_ascii()
            || memchr::memmem::find(line.as_bytes(), b"\\u").is_some()
            || self.automaton.is_match(line)
    }

    /// Distinct literals searched.
    pub fn len(&self) -> usize {
        self.literals
    }

    pub fn is_empty(&self) -> bool {
        self.literals == 0
    }
}

/// Literals one of which the raw text contains whenever node `id` holds; `None` when there is no
/// such set. Of an `and`, the side with the longer shortest literal; of an `or`, both sides.
fn necessary(
    expr: &CompiledExpr,
    id: NodeId,
    table: &FieldTable,
    depth: usize,
) -> Option<Vec<String>> {
    if depth > 256 {
        return None;
    }
    match expr.nodes.get(id as usize)? {
        Node::And(a, b) => {
            let left = necessary(expr, *a, table, depth + 1);
            let right = necessary(expr, *b, table, depth + 1);
            match (left, right) {
                (Some(l), Some(r)) => Some(if strength(&r) > strength(&l) { r } else { l }),
                (l, r) => l.or(r),
            }
        }
        Node::Or(a, b) => {
            let mut left = necessary(expr, *a, table, depth + 1)?;
            left.extend(necessary(expr, *b, table, depth + 1)?);
            Some(left)
        }
        Node::Leaf { expr: inner, .. } => leaf_literals(expr, *inner, table),
        _ => None,
    }
}

/// Shortest literal first, then fewer literals: longer literals occur in fewer lines.
fn strength(literals: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = literals.iter().map(String::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(literals.len()))
}

/// A bare field whose extracted value is the JSON string as written (no canonical form, no
/// substitute for null).
fn raw_string_field(expr: &CompiledExpr, id: NodeId, table: &FieldTable) -> Option<FieldId> {
    let Node::Field {
        id: field,
        index: None,
        ..
    } = expr.nodes.get(id as usize)?
    else {
        return None;
    };
    let spec = table.spec(*field)?;
    let raw = matches!(
        spec.ty,
        FieldType::Keyword | FieldType::Wildcard | FieldType::Text | FieldType::Unknown
    );
    (raw && spec.null_value.is_none()).then_some(*field)
}

fn leaf_literals(expr: &CompiledExpr, id: NodeId, table: &FieldTable) -> Option<Vec<String>> {
    let constants: Vec<&str> = match expr.nodes.get(id as usize)? {
        Node::Cmp {
            op: CmpOp::Eq,
            kind: CmpKind::Plain,
            lhs,
            rhs,
        } => {
            raw_string_field(expr, *lhs, table)?;
            match expr.nodes.get(*rhs as usize)? {
                Node::Lit(Value::Str(s)) => vec![s.as_ref()],
                _ => return None,
            }
        }
        Node::In { lhs, set } => {
            raw_string_field(expr, *lhs, table)?;
            let only_strings = set.ints.is_empty()
                && set.floats.is_empty()
                && !set.bools[0]
                && !set.bools[1]
                && !set.kind_ip
                && !set.strings.is_empty();
            if !only_strings {
                return None;
            }
            set.strings.iter().map(|s| s.as_ref()).collect()
        }
        Node::Match { lhs, matcher } => {
            raw_string_field(expr, *lhs, table)?;
            let (values, contains, _) = matcher.literals()?;
            values.into_iter().chain(contains).collect()
        }
        _ => return None,
    };
    constants.into_iter().map(literal_piece).collect()
}

/// The longest piece of a constant that a line containing the value shows as it is: ASCII, none of
/// the characters JSON escapes (`"`, `\`, `/`, controls), and not a bare number (a keyword value
/// read from a JSON number is printed anew). `None` when no piece is long enough.
fn literal_piece(constant: &str) -> Option<String> {
    let piece = constant
        .split(|c: char| !c.is_ascii() || c.is_ascii_control() || matches!(c, '"' | '\\' | '/'))
        .max_by_key(|p| p.len())?;
    let numeric = piece
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    (piece.len() >= MIN_LITERAL && !numeric).then(|| piece.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventOptions;
    use crate::plan::QueryOptions;
    use crate::schema::Schema;

    fn build(queries: &[&str]) -> (Vec<Plan>, FieldTable) {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let plans = queries
            .iter()
            .map(|q| {
                let ast = eql::parse(q).unwrap();
                crate::plan::compile(&ast, &schema, &QueryOptions::default(), &mut table).unwrap()
            })
            .collect();
        (plans, table)
    }

    fn prefilter(queries: &[&str]) -> Option<Prefilter> {
        let (plans, table) = build(queries);
        let refs: Vec<&Plan> = plans.iter().collect();
        Prefilter::new(&refs, &table)
    }

    #[test]
    fn seed_rule_lines_without_its_constants_are_ruled_out() {
        let p = prefilter(&[r#"sequence by host.id with maxspan=1m
            [file where event.type != "deletion" and file.path : ("/Library/LaunchDaemons/*", "/System/Library/LaunchDaemons/*")]
            [process where event.type == "start" and process.name == "launchctl" and process.args == "load"]"#])
        .unwrap();
        assert!(!p.may_match(r#"{"process":{"name":"bash"},"file":{"path":"/tmp/x"}}"#));
        assert!(p.may_match(r#"{"process":{"name":"launchctl"}}"#));
        // Case is ignored (the glob is case-insensitive), escaped slashes do not hide the piece.
        assert!(p.may_match(r#"{"file":{"path":"\/library\/LAUNCHDAEMONS\/x.plist"}}"#));
        // `\u` escapes and non-ASCII text are never ruled out.
        assert!(p.may_match(r#"{"process":{"name":"launch\u0063tl"}}"#));
        assert!(p.may_match(r#"{"process":{"name":"bäsh"}}"#));
    }

    #[test]
    fn stages_without_literal_conditions_disable_it() {
        assert!(prefilter(&[r#"process where true"#]).is_none());
        assert!(prefilter(&[r#"process where process.pid == 4"#]).is_none());
        assert!(prefilter(&[r#"process where not process.name == "bash""#]).is_none());
        assert!(prefilter(&[r#"process where process.name == "ab""#]).is_none());
        assert!(prefilter(&[r#"network where destination.ip == "10.0.0.1""#]).is_none());
        assert!(prefilter(&[r#"process where process.name : "*""#]).is_none());
        // A numeric-looking keyword constant may be written as a JSON number in the document.
        assert!(prefilter(&[r#"process where event.code == "4624""#]).is_none());
        // One stage without literals is enough.
        assert!(prefilter(&[
            r#"process where process.name == "bash""#,
            r#"process where process.pid > 4"#
        ])
        .is_none());
        // An `or` needs literals on both sides; an `and` on one.
        assert!(
            prefilter(&[r#"process where process.name == "bash" or process.pid == 1"#]).is_none()
        );
        assert!(
            prefilter(&[r#"process where process.name == "bash" and process.pid == 1"#]).is_some()
        );
    }

    /// The prefilter never rules out an event a stage matches.
    #[test]
    fn never_rules_out_a_matching_event() {
        let queries = [
            r#"process where process.name : ("cmd.exe", "*powershell*") and process.args : "*-enc*""#,
            r#"file where file.name : "*.PLIST" or file.path == "C:\\Windows\\x.dll""#,
            r#"process where process.name in~ ("SSHD", "Cron") and user.name != "root""#,
            r#"process where process.command_line like~ "*curl http*""#,
        ];
        let (plans, table) = build(&queries);
        let refs: Vec<&Plan> = plans.iter().collect();
        let p = Prefilter::new(&refs, &table).unwrap();
        let docs = [
            r#"{"@timestamp":1,"event":{"category":"process"},"process":{"name":"CMD.EXE","args":["/C","-ENC","x"]}}"#,
            r#"{"@timestamp":1,"event":{"category":"process"},"process":{"name":"xpowershellx","args":["-enc"]}}"#,
            r#"{"@timestamp":1,"event":{"category":"file"},"file":{"name":"a.plist"}}"#,
            r#"{"@timestamp":1,"event":{"category":"file"},"file":{"path":"C:\\Windows\\x.dll"}}"#,
            r#"{"@timestamp":1,"event":{"category":"process"},"process":{"name":"sshd"},"user":{"name":"bob"}}"#,
            r#"{"@timestamp":1,"event":{"category":"process"},"process":{"command_line":"CURL HTTP://x"}}"#,
            r#"{"@timestamp":1,"event":{"category":"process"},"process":{"name":"bash"}}"#,
        ];
        let mut ruled_out = 0;
        for doc in docs {
            let event = table.parse_event(doc, &EventOptions::default()).unwrap();
            let matches = plans
                .iter()
                .flat_map(Plan::stage_predicates)
                .any(|predicate| predicate.matches(&event));
            if !p.may_match(doc) {
                ruled_out += 1;
                assert!(!matches, "{doc}");
            }
        }
        assert_eq!(ruled_out, 1);
    }
}
