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
    /// A faster equivalent of `automaton`, for a few literals.
    pairs: Option<Pairs>,
    literals: usize,
}

/// At most this many distinct byte pairs get the pair search; more would cost more than the
/// automaton.
const MAX_PAIRS: usize = 4;

/// Case-insensitive literal search by two rare bytes per literal, in the manner of memchr's
/// "packed pair" search: 256 positions at a time, the two bytes compared (case folded) at their
/// distance in a loop the compiler vectorizes; the few candidates left are verified against the
/// whole literals. Literals sharing their pair (`launchctl`, `LaunchDaemons`) share the pass.
/// The automaton cannot do this itself: ASCII case folding costs it its fast prefilters (it falls
/// back to the literals' first bytes, which JSON text is full of).
#[derive(Debug)]
struct Pairs {
    pairs: Vec<Pair>,
}

#[derive(Debug)]
struct Pair {
    /// How far the second byte is after the first.
    distance: usize,
    /// The two bytes as compared: a letter is tested lowercased (`| 0x20` on the text), anything
    /// else as it is.
    byte: [u8; 2],
    fold: [u8; 2],
    /// The literals with this pair, and where the first byte is in each.
    literals: Vec<(Box<[u8]>, usize)>,
}

impl Pairs {
    fn new(literals: &[String]) -> Option<Pairs> {
        let mut pairs: Vec<Pair> = Vec::new();
        for literal in literals {
            let bytes = literal.as_bytes();
            let mut order: Vec<usize> = (0..bytes.len()).collect();
            // Rarest bytes first; between equals, the earlier.
            order.sort_by(|&a, &b| {
                let f = |i: usize| frequency(bytes.get(i).copied().unwrap_or(0));
                f(a).total_cmp(&f(b)).then(a.cmp(&b))
            });
            let (first, second) = (*order.first()?, *order.get(1)?);
            let at = [first.min(second), first.max(second)];
            let probe = |i: usize| {
                let b = bytes.get(i).copied().unwrap_or(0);
                match b.is_ascii_alphabetic() {
                    true => (b.to_ascii_lowercase(), 0x20),
                    false => (b, 0),
                }
            };
            let ((b0, f0), (b1, f1)) = (probe(at[0]), probe(at[1]));
            let distance = at[1] - at[0];
            let entry = (Box::from(bytes), at[0]);
            match pairs
                .iter_mut()
                .find(|p| p.distance == distance && p.byte == [b0, b1] && p.fold == [f0, f1])
            {
                Some(pair) => pair.literals.push(entry),
                None => pairs.push(Pair {
                    distance,
                    byte: [b0, b1],
                    fold: [f0, f1],
                    literals: vec![entry],
                }),
            }
        }
        (pairs.len() <= MAX_PAIRS).then_some(Pairs { pairs })
    }

    /// [`Prefilter::may_match`]: whether `hay` is not plain text (see [`plain_text`]) or contains
    /// some literal, ASCII case ignored. The first pair's pass also does the plain-text test.
    fn may_match(&self, hay: &[u8]) -> bool {
        let Some((first, rest)) = self.pairs.split_first() else {
            return !plain_text(hay);
        };
        first.is_match_or_not_plain(hay) || rest.iter().any(|pair| pair.is_match(hay))
    }

    #[cfg(test)]
    fn is_match(&self, hay: &[u8]) -> bool {
        self.pairs.iter().any(|pair| pair.is_match(hay))
    }
}

const LANES: usize = 256;

impl Pair {
    /// Whether `hay` contains one of the literals, ASCII case ignored.
    fn is_match(&self, hay: &[u8]) -> bool {
        self.scan::<false>(hay)
    }

    /// Whether `hay` contains one of the literals or is not plain text, in one pass.
    fn is_match_or_not_plain(&self, hay: &[u8]) -> bool {
        self.scan::<true>(hay)
    }

    /// [`Pair::is_match`]; with `PLAIN`, also true when `hay` is not [`plain_text`].
    #[inline(always)]
    fn scan<const PLAIN: bool>(&self, hay: &[u8]) -> bool {
        // Positions of the first byte to look at: the second must fit.
        let positions = hay.len().saturating_sub(self.distance);
        if positions < LANES {
            return (PLAIN && !plain_text(hay)) || (0..positions).any(|p| self.verify(hay, p));
        }
        let mut start = 0;
        while start + LANES <= positions {
            if self.block::<PLAIN>(hay, start) {
                return true;
            }
            start += LANES;
        }
        // The last positions, in one block overlapping the previous one.
        if start < positions && self.block::<PLAIN>(hay, positions - LANES) {
            return true;
        }
        // The blocks saw the bytes before `positions` and the `\u` starting there.
        PLAIN && !plain_text(hay.get(positions..).unwrap_or_default())
    }

    /// Whether one of the literals has its first tested byte in `start..start + LANES` (all of
    /// which leave room for the second); with `PLAIN`, also whether a byte there is not ASCII or
    /// starts a `\u`.
    #[inline(always)]
    fn block<const PLAIN: bool>(&self, hay: &[u8], start: usize) -> bool {
        let ([byte0, byte1], [fold0, fold1]) = (self.byte, self.fold);
        // `start + LANES <= hay.len() - distance`, and the distance is at least 1.
        let (Some(a), Some(b), Some(c)) = (
            hay.get(start..).and_then(|r| r.first_chunk::<LANES>()),
            hay.get(start + self.distance..)
                .and_then(|r| r.first_chunk::<LANES>()),
            hay.get(start + 1..).and_then(|r| r.first_chunk::<LANES>()),
        ) else {
            return true;
        };
        let mut any = 0u8;
        let mut high = 0u8;
        let mut escape = 0u8;
        for k in 0..LANES {
            any |= u8::from((a[k] | fold0) == byte0) & u8::from((b[k] | fold1) == byte1);
            if PLAIN {
                high |= a[k];
                escape |= u8::from(a[k] == b'\\') & u8::from(c[k] == b'u');
            }
        }
        (PLAIN && (high >= 0x80 || escape != 0))
            || (any != 0 && (start..start + LANES).any(|p| self.verify(hay, p)))
    }

    /// Whether the pair is at `p` and one of its literals around it.
    fn verify(&self, hay: &[u8], p: usize) -> bool {
        let ([byte0, byte1], [fold0, fold1]) = (self.byte, self.fold);
        hay.get(p).is_some_and(|&c| c | fold0 == byte0)
            && hay
                .get(p + self.distance)
                .is_some_and(|&c| c | fold1 == byte1)
            && self.literals.iter().any(|(literal, at)| {
                p.checked_sub(*at)
                    .and_then(|s| hay.get(s..s + literal.len()))
                    .is_some_and(|t| t.eq_ignore_ascii_case(literal))
            })
    }
}

/// Whether `b` is all ASCII and holds no `\u`: one pass, 32 bytes at a time, accumulated
/// lane by lane (vectorized; lines almost never stop it early).
fn plain_text(b: &[u8]) -> bool {
    let mut high = [0u8; 32];
    let mut escape = [0u8; 32];
    let mut i = 0;
    // Each chunk and the same shifted by one byte (two plain loads).
    while let (Some(w), Some(n)) = (
        b.get(i..).and_then(|rest| rest.first_chunk::<32>()),
        b.get(i + 1..).and_then(|rest| rest.first_chunk::<32>()),
    ) {
        for k in 0..32 {
            let (this, next) = (w[k], n[k]);
            high[k] |= this;
            escape[k] |= u8::from(this == b'\\') & u8::from(next == b'u');
        }
        i += 32;
    }
    let rest = b.get(i..).unwrap_or_default();
    high.iter().all(|&h| h < 0x80)
        && escape.iter().all(|&e| e == 0)
        && rest.is_ascii()
        && !rest.windows(2).any(|w| w == b"\\u")
}

/// Rough relative frequency of a byte in JSON event text, ASCII case ignored (both cases
/// together): what a false candidate of a window costs depends on it.
fn frequency(b: u8) -> f64 {
    // From common to rare, each step a little rarer.
    const ORDER: &[u8] = b"\":,e0t1a2s3i4o5n6r7c8l9d-m_p.u/hgxfwbyv{}k\\[]j zq";
    let folded = b.to_ascii_lowercase();
    match ORDER.iter().position(|&o| o == folded) {
        Some(rank) => 0.9f64.powi(rank as i32),
        None => 0.9f64.powi(ORDER.len() as i32 + 4),
    }
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
            pairs: Pairs::new(&literals),
            literals: literals.len(),
        })
    }

    /// Whether some stage may match the document written as `line`; `false` only when none can.
    pub fn may_match(&self, line: &str) -> bool {
        match &self.pairs {
            Some(pairs) => pairs.may_match(line.as_bytes()),
            None => !plain_text(line.as_bytes()) || self.automaton.is_match(line),
        }
    }

    /// [`Prefilter::may_match`] through the automaton only (the reference for the fast path).
    #[doc(hidden)]
    pub fn may_match_plain(&self, line: &str) -> bool {
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

    fn naive(literals: &[String], hay: &[u8]) -> bool {
        literals.iter().any(|l| {
            hay.windows(l.len())
                .any(|w| w.eq_ignore_ascii_case(l.as_bytes()))
        })
    }

    #[test]
    fn plain_text_is_ascii_without_u_escapes() {
        let naive = |b: &[u8]| b.is_ascii() && !b.windows(2).any(|w| w == b"\\u");
        let base = "a".repeat(100);
        for at in 0..99 {
            for (piece, _) in [("\\u", 0), ("é", 0), ("\\U", 0), ("u\\", 0)] {
                for len in [at + 2, 31, 32, 33, 34, 64, 65, 66, 100] {
                    let mut text = base.clone();
                    text.replace_range(at..at + piece.len().min(2), piece);
                    let text = text.get(..len.min(text.len())).unwrap_or(&text).as_bytes();
                    assert_eq!(plain_text(text), naive(text), "{at} {piece} {len}");
                }
            }
        }
    }

    #[test]
    fn pairs_test_rare_bytes_case_folded() {
        let literals = vec!["LaunchDaemons".to_string(), "launchctl".to_string()];
        let w = Pairs::new(&literals).unwrap();
        // `h` and `u` are rarer than `l`, `a`, `n`, `t`, `c`; both literals have them 3 apart.
        assert_eq!(w.pairs.len(), 1);
        assert_eq!((w.pairs[0].byte, w.pairs[0].distance), (*b"uh", 3));
        for hay in [
            "launchctl",
            "xxLAUNCHCTL",
            "/library/launchdaemons/x",
            "launchdaemon launchct launch ctl",
            "",
            "lau",
            &format!("{}LaunchCTL", "x".repeat(40)),
            &format!("{}LaunchCTL{}", "x".repeat(40), "x".repeat(40)),
            &format!("{}LaunchCT", "x".repeat(70)),
        ] {
            assert_eq!(
                w.is_match(hay.as_bytes()),
                naive(&literals, hay.as_bytes()),
                "{hay}"
            );
        }
    }

    /// The pair searcher agrees with a naive case-insensitive substring test, on texts built
    /// from pieces of the literals (overlaps, near misses, mixed case).
    #[test]
    fn pairs_agree_with_naive_search() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let literal = proptest::string::string_regex("[a-cA-C.:_]{3,9}").unwrap();
        let strategy = (
            proptest::collection::vec(literal, 1..5),
            proptest::collection::vec((any::<u8>(), 0usize..40, any::<bool>()), 0..12),
            "[a-c\\x20\":,@`!Aué\\\\]{0,100}",
        );
        let mut runner = TestRunner::new(Config::with_cases(2000));
        runner
            .run(&strategy, |(literals, pieces, filler)| {
                let Some(w) = Pairs::new(&literals) else {
                    return Ok(());
                };
                // Filler with pieces of literals (prefixes, suffixes, case flipped) spliced in.
                let mut hay: Vec<u8> = filler.into_bytes();
                for (which, cut, upper) in pieces {
                    let l = literals[usize::from(which) % literals.len()].as_bytes();
                    let cut = cut % (l.len() + 1);
                    let piece: Vec<u8> = if upper {
                        l[..cut].to_ascii_uppercase()
                    } else {
                        l[cut / 2..].to_vec()
                    };
                    let at = usize::from(which) % (hay.len() + 1);
                    hay.splice(at..at, piece);
                }
                let hay = hay.repeat(usize::from(hay.len().is_multiple_of(7)) * 5 + 1);
                prop_assert_eq!(w.is_match(&hay), naive(&literals, &hay));
                prop_assert_eq!(
                    w.may_match(&hay),
                    naive(&literals, &hay) || !plain_text(&hay)
                );
                Ok(())
            })
            .unwrap();
    }

    /// The fast path answers as the automaton does, on event lines and mutations of them.
    #[test]
    fn may_match_agrees_with_the_automaton() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let p = prefilter(&[
            r#"sequence by host.id with maxspan=1m
            [file where host.os.type == "macos" and file.path : ("/System/Library/LaunchDaemons/*", "/Library/LaunchDaemons/*")]
            [process where process.name == "launchctl" and process.args == "load"]"#,
            r#"process where process.name in~ ("SSHD", "cron.exe") and user.name != "root""#,
        ])
        .unwrap();
        assert!(p.pairs.is_some());
        // Long enough for the block scans (a few hundred bytes on each side of the literals).
        let base = format!(
            r#"{{"@timestamp":"2025-11-28T08:00:00.004Z","a":"{}","process":{{"name":"launchctl","args":["load","/Library/LaunchDaemons/x.plist"]}},"host":{{"os":{{"type":"macos"}}}},"user":{{"name":"cron"}},"z":"{}"}}"#,
            "C:\\\\Windows x".repeat(30),
            "y ".repeat(150)
        );
        let base = base.as_str();
        // And one without the literals: only near misses, `\u` and non-ASCII decide.
        let near = base
            .replace("launchctl", "launchct1")
            .replace("LaunchDaemons", "LaunchDemons");
        let strategy = (
            proptest::collection::vec((0usize..base.len(), 0u8..5, "[a-zA-Z\\\\ué.]{0,3}"), 0..6),
            any::<bool>(),
        );
        let mut runner = TestRunner::new(Config::with_cases(3000));
        runner
            .run(&strategy, |(edits, with_literals)| {
                let mut text = if with_literals {
                    base.to_string()
                } else {
                    near.clone()
                };
                for (at, op, piece) in edits {
                    let at = (0..=at.min(text.len()))
                        .rev()
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(0);
                    match op {
                        // Deletions break literals; swaps flip case; insertions add escapes,
                        // non-ASCII or letters.
                        0 | 1 => {
                            let end = (at + 1 + usize::from(op) * 3).min(text.len());
                            if text.is_char_boundary(end) {
                                text.replace_range(at..end, "");
                            }
                        }
                        2 => text = text.to_ascii_uppercase(),
                        _ => text.insert_str(at, &piece),
                    }
                }
                prop_assert_eq!(p.may_match(&text), p.may_match_plain(&text), "{}", text);
                Ok(())
            })
            .unwrap();
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
