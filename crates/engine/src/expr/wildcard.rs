//! String pattern sets: EQL wildcards (`*`, `?`), Lucene regexps and exact strings,
//! each set compiled once into a hash set plus one multi-pattern automaton, so a
//! `:` against hundreds of patterns costs one scan of the value.

use std::borrow::Cow;

use ahash::AHashSet;
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use smallvec::SmallVec;

/// One pattern of a `:` / `like` / `regex` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// EQL wildcard: `*` any run of characters, `?` exactly one; everything else literal.
    Wildcard(String),
    /// Lucene regular expression, anchored on the whole value.
    Regex(String),
}

/// Matches a string against any of a set of patterns.
///
/// Exact strings go to a hash set; `*`-only wildcards are checked as globs behind an
/// Aho-Corasick prefilter over each glob's longest literal piece; `?` wildcards and
/// regexps share one multi-pattern automaton.
#[derive(Debug, Clone)]
pub struct StringMatcher {
    case_insensitive: bool,
    /// Patterns without wildcards (lowercased when case-insensitive).
    exact: AHashSet<Box<str>>,
    globs: Vec<Glob>,
    /// Finds the key literal of each glob in `keyed`.
    prefilter: Option<AhoCorasick>,
    keyed: Vec<usize>,
    /// Globs whose pieces are all empty (`*`, `**`): checked on every value.
    unkeyed: Vec<usize>,
    /// One automaton over every `?` wildcard and regexp (anchored), built eagerly:
    /// a pattern that cannot be built is a compile error, never a silent non-match.
    automaton: Option<meta::Regex>,
}

/// A wildcard made of literal pieces separated by `*`.
#[derive(Debug, Clone)]
struct Glob {
    pieces: Vec<String>,
}

impl Glob {
    fn new(pattern: &str) -> Glob {
        Glob {
            pieces: pattern.split('*').map(str::to_string).collect(),
        }
    }

    /// The longest piece: present in every matching value.
    fn key(&self) -> &str {
        self.pieces
            .iter()
            .max_by_key(|p| p.len())
            .map_or("", String::as_str)
    }

    /// Greedy leftmost matching, exact for patterns whose only wildcard is `*`.
    fn is_match(&self, s: &str) -> bool {
        let (Some(first), Some(last)) = (self.pieces.first(), self.pieces.last()) else {
            return false;
        };
        if self.pieces.len() == 1 {
            return s == first;
        }
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        let Some(mut middle) = s.get(first.len()..s.len() - last.len()) else {
            return false;
        };
        let inner = self
            .pieces
            .get(1..self.pieces.len() - 1)
            .unwrap_or_default();
        for piece in inner {
            match middle.find(piece.as_str()) {
                Some(i) => middle = middle.get(i + piece.len()..).unwrap_or(""),
                None => return false,
            }
        }
        true
    }
}

impl StringMatcher {
    /// Compiles the patterns, including the regex automaton, so that every failure
    /// (syntax, size limit) surfaces here; it yields the index of the offending
    /// pattern in `patterns` and a message.
    pub fn new(
        patterns: &[Pattern],
        case_insensitive: bool,
    ) -> Result<StringMatcher, (usize, String)> {
        let mut exact = AHashSet::new();
        let mut globs = Vec::new();
        let mut regexes = Vec::new();
        // For each entry of `regexes`, the index of its pattern in `patterns`.
        let mut regex_origin = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            match p {
                Pattern::Wildcard(w) if !w.contains(['*', '?']) => {
                    exact.insert(fold(w, case_insensitive).into_owned().into_boxed_str());
                }
                Pattern::Wildcard(w) if !w.contains('?') => {
                    globs.push(Glob::new(&fold(w, case_insensitive)))
                }
                // Case-insensitive wildcards fold each character with its simple Unicode
                // case mapping, like Lucene's `AutomatonQueries.toCaseInsensitiveChar`.
                Pattern::Wildcard(w) if case_insensitive => {
                    regexes.push(format!("(?i:{})", wildcard_to_regex(w)));
                    regex_origin.push(i);
                }
                Pattern::Wildcard(w) => {
                    regexes.push(wildcard_to_regex(w));
                    regex_origin.push(i);
                }
                // `regex~` folds ASCII letters only (see `lucene_to_regex`).
                Pattern::Regex(r) => {
                    regexes.push(
                        super::regex::lucene_to_regex(r, case_insensitive).map_err(|e| (i, e))?,
                    );
                    regex_origin.push(i);
                }
            }
        }
        let (mut keyed, mut unkeyed, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        for (i, g) in globs.iter().enumerate() {
            if g.key().is_empty() {
                unkeyed.push(i);
            } else {
                keyed.push(i);
                keys.push(g.key().to_string());
            }
        }
        let prefilter = if keys.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    // Cheap to build (rules compile in bulk); matching stays linear.
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&keys)
                    .map_err(|e| (0, format!("too many patterns: {e}")))?,
            )
        };
        let anchored: Vec<String> = regexes.iter().map(|r| format!("^(?:{r})$")).collect();
        let automaton = if anchored.is_empty() {
            None
        } else {
            Some(
                build_automaton(&anchored)
                    .map_err(|(i, msg)| (regex_origin.get(i).copied().unwrap_or(0), msg))?,
            )
        };
        Ok(StringMatcher {
            case_insensitive,
            exact,
            globs,
            prefilter,
            keyed,
            unkeyed,
            automaton,
        })
    }

    /// The literal content of the patterns when none is a regexp or `?` wildcard: the exact strings,
    /// the longest literal piece of each `*` glob (every match contains it), and whether matching is
    /// case-insensitive (all lowercased then). `None` when a pattern has no literal piece (`*`).
    /// Used by [`crate::dispatch`] to index rules by constant.
    pub(crate) fn literals(&self) -> Option<(Vec<&str>, Vec<&str>, bool)> {
        if self.automaton.is_some() || !self.unkeyed.is_empty() {
            return None;
        }
        Some((
            self.exact.iter().map(|s| s.as_ref()).collect(),
            self.globs.iter().map(Glob::key).collect(),
            self.case_insensitive,
        ))
    }

    pub fn is_match(&self, s: &str) -> bool {
        if !self.exact.is_empty() || !self.globs.is_empty() {
            let folded = fold(s, self.case_insensitive);
            if self.exact.contains(folded.as_ref()) {
                return true;
            }
            if self
                .unkeyed
                .iter()
                .any(|i| self.globs.get(*i).is_some_and(|g| g.is_match(&folded)))
            {
                return true;
            }
            if let Some(ac) = &self.prefilter {
                // Each glob is checked at most once per value, however often its key
                // occurs (`*aa*b` on `aaaa…`): matching stays linear in the value.
                let mut checked: SmallVec<[u64; 4]> = SmallVec::new();
                for m in ac.find_overlapping_iter(folded.as_ref()) {
                    let key = m.pattern().as_usize();
                    let (word, bit) = (key / 64, 1u64 << (key % 64));
                    if checked.len() <= word {
                        checked.resize(word + 1, 0);
                    }
                    match checked.get_mut(word) {
                        Some(w) if *w & bit == 0 => *w |= bit,
                        _ => continue,
                    }
                    let glob = self.keyed.get(key).and_then(|i| self.globs.get(*i));
                    if glob.is_some_and(|g| g.is_match(&folded)) {
                        return true;
                    }
                }
            }
        }
        self.automaton.as_ref().is_some_and(|re| re.is_match(s))
    }
}

/// Size limit of one compiled pattern set (Thompson NFA, about 50k states).
/// Elasticsearch refuses regexps whose automaton passes 10 000 determinized states
/// (`max_determinized_states`, `TooComplexToDeterminizeException`), so patterns near
/// this limit would fail there too; the limit keeps hostile patterns from
/// exhausting memory.
const NFA_SIZE_LIMIT: usize = 2 << 20;
/// Bound on the automaton of a whole pattern list (one `:` with thousands of `?` wildcards).
const NFA_TOTAL_SIZE_LIMIT: usize = 128 << 20;

/// Builds the automaton over `anchored` patterns; on failure, the index of the
/// pattern at fault (found by building the patterns one by one when the error
/// does not say) and a message.
/// Case-insensitivity is inside each pattern (inline flag or explicit classes).
fn build_automaton(anchored: &[String]) -> Result<meta::Regex, (usize, String)> {
    let build = |patterns: &[&String]| {
        // Each pattern may use up to the limit; a long list shares a larger bound.
        let limit = NFA_SIZE_LIMIT
            .saturating_mul(patterns.len().max(1))
            .min(NFA_TOTAL_SIZE_LIMIT);
        meta::Regex::builder()
            .syntax(syntax::Config::new())
            // Only `is_match` is used: without capture states the PikeVM's slot table stays
            // small (with them it grows as states × patterns and 10k `?` wildcards need ~59 GB).
            .configure(
                meta::Config::new()
                    .nfa_size_limit(Some(limit))
                    .which_captures(WhichCaptures::None),
            )
            .build_many(patterns)
            .map_err(Box::new)
    };
    let all: Vec<&String> = anchored.iter().collect();
    let err = match build(&all) {
        Ok(re) => return Ok(re),
        Err(e) => e,
    };
    if let Some(id) = err.pattern() {
        return Err((id.as_usize(), describe_build_error(&err)));
    }
    for (i, p) in anchored.iter().enumerate() {
        if let Err(e) = build(&[p]) {
            return Err((i, describe_build_error(&e)));
        }
    }
    Err((
        0,
        format!("the patterns together are too large to compile: {err}"),
    ))
}

fn describe_build_error(err: &meta::BuildError) -> String {
    if err.size_limit().is_some() {
        format!("pattern too large to compile (limit {NFA_SIZE_LIMIT} bytes): {err}")
    } else if let Some(syntax) = err.syntax_error() {
        format!("invalid regular expression: {syntax}")
    } else {
        format!("invalid pattern: {err}")
    }
}

fn fold(s: &str, case_insensitive: bool) -> Cow<'_, str> {
    if case_insensitive && s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Translates an EQL wildcard to regex syntax (unanchored).
pub fn wildcard_to_regex(w: &str) -> String {
    let mut out = String::with_capacity(w.len() + 8);
    let mut literal = String::new();
    for c in w.chars() {
        match c {
            '*' | '?' => {
                out.push_str(&regex_syntax_escape(&literal));
                literal.clear();
                out.push_str(if c == '*' { "(?s:.*)" } else { "(?s:.)" });
            }
            _ => literal.push(c),
        }
    }
    out.push_str(&regex_syntax_escape(&literal));
    out
}

fn regex_syntax_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~ \t\n".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wc(ps: &[&str], ci: bool) -> StringMatcher {
        let pats: Vec<Pattern> = ps
            .iter()
            .map(|p| Pattern::Wildcard(p.to_string()))
            .collect();
        StringMatcher::new(&pats, ci).unwrap()
    }

    #[test]
    fn wildcards() {
        let m = wc(&["*.exe", "cmd?", "exact"], false);
        assert!(m.is_match("a.exe"));
        assert!(m.is_match(".exe"));
        assert!(!m.is_match("a.EXE"));
        assert!(m.is_match("cmd1"));
        assert!(!m.is_match("cmd"));
        assert!(!m.is_match("cmd12"));
        assert!(m.is_match("exact"));
        assert!(!m.is_match("exactly"));
        let m = wc(&["*.EXE", "EXACT", "C:\\Windows\\*"], true);
        assert!(m.is_match("a.exe"));
        assert!(m.is_match("exact"));
        assert!(m.is_match("c:\\windows\\system32"));
        assert!(!m.is_match("c:\\windowsx"));
    }

    #[test]
    fn metacharacters_are_literal() {
        let m = wc(&["a.b(c)[d]+$^|\\*"], false);
        assert!(m.is_match("a.b(c)[d]+$^|\\xyz"));
        assert!(!m.is_match("aXb(c)[d]+$^|\\"));
        let m = wc(&["a*b*a"], false);
        assert!(m.is_match("aba"));
        assert!(!m.is_match("ab"));
        assert!(m.is_match("a-b-b-a"));
        let m = wc(&["*"], false);
        assert!(m.is_match(""));
        let m = wc(&["line1\n*"], false);
        assert!(m.is_match("line1\nline2\nline3"));
    }

    #[test]
    fn many_patterns() {
        let owned: Vec<String> = (0..500).map(|i| format!("*proc{i}.exe")).collect();
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        let m = wc(&refs, true);
        assert!(m.is_match("C:\\x\\PROC499.EXE"));
        assert!(!m.is_match("C:\\x\\PROC500.EXE"));
    }
}
