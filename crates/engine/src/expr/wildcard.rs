//! String pattern sets: EQL wildcards (`*`, `?`), Lucene regexps and exact strings,
//! each set compiled once into a hash set plus one multi-pattern automaton, so a
//! `:` against hundreds of patterns costs one scan of the value.

use std::borrow::Cow;

use ahash::AHashSet;
use aho_corasick::{AhoCorasick, AhoCorasickKind};
use memchr::memmem;
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
/// Exact strings go to a hash set (a short list when few); `*`-only wildcards are
/// globs, checked one by one when few or cheap (anchored at both ends), otherwise
/// behind an Aho-Corasick prefilter over each glob's longest literal piece; `?`
/// wildcards and regexps share one multi-pattern automaton. ASCII `?` wildcards whose
/// `?`s sit in their first or last `*`-separated segment are also kept as globs and
/// checked directly on ASCII values, where they mean the same as the automaton; a
/// non-ASCII value goes through the automaton, whose Unicode case folding they do not
/// model.
#[derive(Debug, Clone)]
pub struct StringMatcher {
    case_insensitive: bool,
    /// Patterns without wildcards (lowercased when case-insensitive).
    exact: Exact,
    globs: Vec<Glob>,
    /// Globs checked one by one on every value: without inner pieces (`a*b`, `*`),
    /// which an ASCII value needs no folded copy for, and with.
    anchored: Vec<usize>,
    inner: Vec<usize>,
    /// Finds the key literal of each glob in `keyed`.
    prefilter: Option<AhoCorasick>,
    keyed: Vec<usize>,
    /// `?` wildcards checked directly on ASCII values (ASCII-lowercased when
    /// case-insensitive); they are also in `automaton`.
    ascii_globs: Vec<QGlob>,
    /// One automaton over every `?` wildcard and regexp (anchored), built eagerly:
    /// a pattern that cannot be built is a compile error, never a silent non-match.
    automaton: Option<meta::Regex>,
    /// `automaton` without the patterns of `ascii_globs`: what ASCII values still need.
    ascii_automaton: Option<meta::Regex>,
    /// ASCII values take [`Self::match_ascii`] (off only in the plain reference).
    ascii_route: bool,
    /// An ASCII value needs a folded copy (hashed exact strings, globs with inner
    /// pieces, the prefilter) when case-insensitive.
    needs_folded: bool,
    /// Per `?` wildcard, its longest literal piece (ASCII-lowercased when case-insensitive): every
    /// match contains it. `None` when there is a regexp, or a `?` wildcard without such a piece
    /// (`?*`) or, case-insensitive, with a non-ASCII one (the automaton folds case the simple
    /// Unicode way: `K` matches `k`). For [`Self::literals`].
    question_keys: Option<Vec<Box<str>>>,
}

/// Exact patterns: a few compared one by one (no hashing), more hashed.
#[derive(Debug, Clone)]
enum Exact {
    Few(Vec<Box<str>>),
    Many(AHashSet<Box<str>>),
}

/// Up to this many exact patterns are compared one by one.
const FEW_EXACT: usize = 8;
/// Globs anchored at both ends (`a*b`) cost two short comparisons: up to this many
/// are checked one by one rather than through the prefilter.
const DIRECT_ANCHORED: usize = 64;
/// Globs with inner pieces (`*a*`) each search the value: up to this many are
/// checked one by one.
const DIRECT_INNER: usize = 4;
/// Up to this many `?` wildcards are checked directly on ASCII values.
const DIRECT_QUESTION: usize = 64;
/// Values up to this length are lowercased on the stack.
const STACK_FOLD: usize = 256;

impl Exact {
    fn new(set: AHashSet<Box<str>>) -> Exact {
        if set.len() <= FEW_EXACT {
            Exact::Few(set.into_iter().collect())
        } else {
            Exact::Many(set)
        }
    }

    fn contains(&self, s: &str) -> bool {
        match self {
            Exact::Few(list) => list.iter().any(|p| p.as_ref() == s),
            Exact::Many(set) => set.contains(s),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Exact::Few(list) => list.is_empty(),
            Exact::Many(set) => set.is_empty(),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Exact::Few(list) => Box::new(list.iter().map(|s| s.as_ref())),
            Exact::Many(set) => Box::new(set.iter().map(|s| s.as_ref())),
        }
    }
}

/// A wildcard made of literal pieces separated by `*`.
#[derive(Debug, Clone)]
struct Glob {
    pieces: Vec<String>,
    /// Searchers for the pieces between the first and the last.
    inner: Vec<memmem::Finder<'static>>,
    /// The first piece's leading and the last piece's trailing (up to) 8 bytes: most
    /// values fail on one load and compare, before any full comparison.
    head: Word,
    tail: Word,
}

/// Up to 8 bytes of a pattern at one end of a value, as a masked little-endian word.
#[derive(Debug, Clone, Copy)]
struct Word {
    bits: u64,
    mask: u64,
}

impl Word {
    /// The first up to 8 bytes of `piece`, to compare with a value's first 8.
    fn head(piece: &[u8]) -> Word {
        let mut bytes = [0u8; 8];
        let mut mask = [0u8; 8];
        for (i, b) in piece.iter().take(8).enumerate() {
            if let (Some(slot), Some(m)) = (bytes.get_mut(i), mask.get_mut(i)) {
                *slot = *b;
                *m = 0xff;
            }
        }
        Word {
            bits: u64::from_le_bytes(bytes),
            mask: u64::from_le_bytes(mask),
        }
    }

    /// The last up to 8 bytes of `piece`, to compare with a value's last 8.
    fn tail(piece: &[u8]) -> Word {
        let mut bytes = [0u8; 8];
        let mut mask = [0u8; 8];
        for (i, b) in piece.iter().rev().take(8).enumerate() {
            if let (Some(slot), Some(m)) = (bytes.get_mut(7 - i), mask.get_mut(7 - i)) {
                *slot = *b;
                *m = 0xff;
            }
        }
        Word {
            bits: u64::from_le_bytes(bytes),
            mask: u64::from_le_bytes(mask),
        }
    }

    /// Whether 8 bytes of the value agree with the pattern bytes this word holds.
    fn matches(self, word: u64) -> bool {
        word & self.mask == self.bits
    }
}

/// Byte equality with short lengths compared inline, without a call into `memcmp`
/// (most constants are short, and the call dominates comparing them).
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        // Two overlapping words cover 8 to 16 bytes.
        8..=16 => first_word(a) == first_word(b) && last_word(a) == last_word(b),
        4..=7 => {
            let word = |s: &[u8]| {
                (
                    s.first_chunk::<4>().map(|w| u32::from_le_bytes(*w)),
                    s.last_chunk::<4>().map(|w| u32::from_le_bytes(*w)),
                )
            };
            word(a) == word(b)
        }
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

fn first_word(s: &[u8]) -> Option<u64> {
    s.first_chunk::<8>().map(|b| u64::from_le_bytes(*b))
}

fn last_word(s: &[u8]) -> Option<u64> {
    s.last_chunk::<8>().map(|b| u64::from_le_bytes(*b))
}

impl Glob {
    fn new(pattern: &str) -> Glob {
        let pieces: Vec<String> = pattern.split('*').map(str::to_string).collect();
        let inner = pieces
            .get(1..pieces.len().saturating_sub(1))
            .unwrap_or_default()
            .iter()
            .map(|p| memmem::Finder::new(p.as_bytes()).into_owned())
            .collect();
        let head = Word::head(pieces.first().map_or(&[][..], |p| p.as_bytes()));
        let tail = Word::tail(pieces.last().map_or(&[][..], |p| p.as_bytes()));
        Glob {
            pieces,
            inner,
            head,
            tail,
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
    /// (Byte-wise: a UTF-8 piece occurs in UTF-8 text only at character boundaries.)
    fn is_match(&self, s: &str) -> bool {
        if self.pieces.len() == 1 {
            return self.pieces.first().is_some_and(|p| p == s);
        }
        let s = s.as_bytes();
        self.ends_match(s, false) && find_in_order(&self.inner, self.middle(s))
    }

    /// Whether the first and the last piece match at the ends of `s` (`ascii_ci`:
    /// `s` is ASCII, compared as if ASCII-lowercased; the pieces are lowercase then).
    fn ends_match(&self, s: &[u8], ascii_ci: bool) -> bool {
        let (Some(first), Some(last)) = (self.pieces.first(), self.pieces.last()) else {
            return false;
        };
        let (first, last) = (first.as_bytes(), last.as_bytes());
        if s.len() < first.len() + last.len() {
            return false;
        }
        let eq = |a: &[u8], b: &[u8]| {
            if ascii_ci {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let word = |w: u64| if ascii_ci { ascii_lower_word(w) } else { w };
        let (head, tail) = (
            s.get(..first.len()).unwrap_or_default(),
            s.get(s.len() - last.len()..).unwrap_or_default(),
        );
        // One masked word per end decides pieces of up to 8 bytes (values of 8 bytes
        // or more); longer pieces, or shorter values, are compared in full.
        let tail_ok = match last_word(s) {
            Some(w) => self.tail.matches(word(w)) && (last.len() <= 8 || eq(tail, last)),
            None => eq(tail, last),
        };
        tail_ok
            && match first_word(s) {
                Some(w) => self.head.matches(word(w)) && (first.len() <= 8 || eq(head, first)),
                None => eq(head, first),
            }
    }

    /// What lies between the first and the last piece (`s` long enough for both).
    fn middle<'s>(&self, s: &'s [u8]) -> &'s [u8] {
        let first = self.pieces.first().map_or(0, String::len);
        let last = self.pieces.last().map_or(0, String::len);
        s.get(first..s.len().saturating_sub(last))
            .unwrap_or_default()
    }
}

/// ASCII letters of a word of ASCII bytes lowercased (SWAR: per byte, `A..=Z` gets
/// 0x20 added; bytes of 0x80 and above are left alone).
fn ascii_lower_word(w: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let h = w & LOW7;
    // High bit of each byte: the byte is at least b'A', resp. greater than b'Z'.
    let ge_a = h + 0x3f3f_3f3f_3f3f_3f3f;
    let gt_z = h + 0x2525_2525_2525_2525;
    let upper = ge_a & !gt_z & !w & HIGH;
    w | (upper >> 2)
}

/// Whether the needles occur in `hay` one after another, without overlapping
/// (leftmost each: exact for literal pieces between `*`s).
fn find_in_order(needles: &[memmem::Finder<'static>], mut hay: &[u8]) -> bool {
    for finder in needles {
        match finder.find(hay) {
            Some(i) => hay = hay.get(i + finder.needle().len()..).unwrap_or_default(),
            None => return false,
        }
    }
    true
}

/// An ASCII wildcard whose `?`s (any one byte of an ASCII value) are all in its first
/// or last `*`-separated segment: those two segments have fixed lengths and are
/// anchored, so matching stays greedy and leftmost, as for [`Glob`].
#[derive(Debug, Clone)]
struct QGlob {
    /// With `?` standing for any byte.
    first: Box<[u8]>,
    last: Box<[u8]>,
    /// No `*` at all: `first` is the whole pattern.
    single: bool,
    inner: Vec<memmem::Finder<'static>>,
}

impl QGlob {
    /// `pattern` lowercased already when case-insensitive; `None` when it does not qualify.
    fn new(pattern: &str) -> Option<QGlob> {
        if !pattern.is_ascii() {
            return None;
        }
        let segments: Vec<&str> = pattern.split('*').collect();
        let inner = segments
            .get(1..segments.len().saturating_sub(1))
            .unwrap_or_default();
        if inner.iter().any(|s| s.contains('?')) {
            return None;
        }
        Some(QGlob {
            first: Box::from(segments.first()?.as_bytes()),
            last: Box::from(segments.last()?.as_bytes()),
            single: segments.len() == 1,
            inner: inner
                .iter()
                .map(|p| memmem::Finder::new(p.as_bytes()).into_owned())
                .collect(),
        })
    }

    /// `ascii_ci`: `s` compared as if ASCII-lowercased (the pattern is lowercase then).
    fn is_match(&self, s: &[u8], ascii_ci: bool) -> bool {
        let segment = |pattern: &[u8], s: &[u8]| {
            pattern.len() == s.len()
                && pattern.iter().zip(s).all(|(p, c)| {
                    *p == b'?' || *p == if ascii_ci { c.to_ascii_lowercase() } else { *c }
                })
        };
        if self.single {
            return segment(&self.first, s);
        }
        let (first, last) = (self.first.len(), self.last.len());
        if s.len() < first + last {
            return false;
        }
        let head = s.get(..first).unwrap_or_default();
        let tail = s.get(s.len() - last..).unwrap_or_default();
        if !segment(&self.first, head) || !segment(&self.last, tail) {
            return false;
        }
        let Some(middle) = s.get(first..s.len() - last) else {
            return false;
        };
        if self.inner.is_empty() {
            return true;
        }
        // Inner pieces are searched for in a folded copy.
        if ascii_ci && middle.iter().any(u8::is_ascii_uppercase) {
            let folded = middle.to_ascii_lowercase();
            return find_in_order(&self.inner, &folded);
        }
        find_in_order(&self.inner, middle)
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
        Self::build(patterns, case_insensitive, true)
    }

    /// The matcher without any of the shortcuts (every glob behind the prefilter, every
    /// `?` wildcard in the automaton, values always folded in full): the reference the
    /// shortcuts are tested against.
    #[cfg(test)]
    pub(crate) fn plain(
        patterns: &[Pattern],
        case_insensitive: bool,
    ) -> Result<StringMatcher, (usize, String)> {
        Self::build(patterns, case_insensitive, false)
    }

    fn build(
        patterns: &[Pattern],
        case_insensitive: bool,
        shortcuts: bool,
    ) -> Result<StringMatcher, (usize, String)> {
        let mut exact = AHashSet::new();
        let mut globs = Vec::new();
        let mut regexes = Vec::new();
        // For each entry of `regexes`, the index of its pattern in `patterns`, and its
        // direct form on ASCII values if it has one.
        let mut regex_origin = Vec::new();
        let mut regex_ascii: Vec<Option<QGlob>> = Vec::new();
        let question_keys = patterns
            .iter()
            .filter_map(|p| match p {
                Pattern::Wildcard(w) if !w.contains('?') => None,
                Pattern::Wildcard(w) => {
                    let key = w.split(['*', '?']).max_by_key(|piece| piece.len());
                    Some(
                        key.filter(|k| !k.is_empty())
                            .and_then(|k| match case_insensitive {
                                true if k.is_ascii() => {
                                    Some(k.to_ascii_lowercase().into_boxed_str())
                                }
                                true => None,
                                false => Some(Box::from(k)),
                            }),
                    )
                }
                Pattern::Regex(_) => Some(None),
            })
            .collect::<Option<Vec<_>>>();
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
                // On ASCII text and an ASCII pattern that is ASCII case-insensitivity.
                Pattern::Wildcard(w) if case_insensitive => {
                    regexes.push(format!("(?i:{})", wildcard_to_regex(w)));
                    regex_origin.push(i);
                    regex_ascii.push(QGlob::new(&w.to_ascii_lowercase()));
                }
                Pattern::Wildcard(w) => {
                    regexes.push(wildcard_to_regex(w));
                    regex_origin.push(i);
                    regex_ascii.push(QGlob::new(w));
                }
                // `regex~` folds ASCII letters only (see `lucene_to_regex`).
                Pattern::Regex(r) => {
                    regexes.push(
                        super::regex::lucene_to_regex(r, case_insensitive).map_err(|e| (i, e))?,
                    );
                    regex_origin.push(i);
                    regex_ascii.push(None);
                }
            }
        }
        let anchored_globs = globs.iter().filter(|g| g.inner.is_empty()).count();
        let inner_globs = globs.len() - anchored_globs;
        let (mut anchored, mut inner, mut keyed, mut keys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, g) in globs.iter().enumerate() {
            let is_direct = if g.key().is_empty() {
                // `*`, `**`: no literal to look for.
                true
            } else if !shortcuts {
                false
            } else if g.inner.is_empty() {
                anchored_globs <= DIRECT_ANCHORED
            } else {
                inner_globs <= DIRECT_INNER
            };
            if is_direct && g.inner.is_empty() {
                anchored.push(i);
            } else if is_direct {
                inner.push(i);
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
        let whole: Vec<String> = regexes.iter().map(|r| format!("^(?:{r})$")).collect();
        let automaton = if whole.is_empty() {
            None
        } else {
            Some(
                build_automaton(&whole)
                    .map_err(|(i, msg)| (regex_origin.get(i).copied().unwrap_or(0), msg))?,
            )
        };
        let direct_count = regex_ascii.iter().filter(|q| q.is_some()).count();
        let (ascii_globs, ascii_automaton) =
            if !shortcuts || direct_count == 0 || direct_count > DIRECT_QUESTION {
                (Vec::new(), automaton.clone())
            } else {
                let rest: Vec<String> = whole
                    .iter()
                    .zip(&regex_ascii)
                    .filter(|(_, q)| q.is_none())
                    .map(|(r, _)| r.clone())
                    .collect();
                let direct_globs = || regex_ascii.iter().flatten().cloned().collect();
                if rest.is_empty() {
                    (direct_globs(), None)
                } else {
                    match build_automaton(&rest) {
                        Ok(re) => (direct_globs(), Some(re)),
                        // A subset of patterns that built together: this should not fail, but
                        // if it does the full automaton serves ASCII values too.
                        Err(_) => (Vec::new(), automaton.clone()),
                    }
                }
            };
        let exact = if shortcuts {
            Exact::new(exact)
        } else {
            Exact::Many(exact)
        };
        let needs_folded = matches!(&exact, Exact::Many(set) if !set.is_empty())
            || !inner.is_empty()
            || prefilter.is_some();
        Ok(StringMatcher {
            case_insensitive,
            exact,
            globs,
            anchored,
            inner,
            needs_folded,
            prefilter,
            keyed,
            ascii_globs,
            automaton,
            ascii_automaton,
            ascii_route: shortcuts,
            question_keys,
        })
    }

    /// The literal content of the patterns when none is a regexp: the exact strings, the longest
    /// literal piece of each `*` glob and `?` wildcard (every match contains it), and whether
    /// matching is case-insensitive (all lowercased then). `None` when a pattern has no literal
    /// piece (`*`, `?*`) or a case-insensitive `?` wildcard's is not ASCII. Used by
    /// [`crate::dispatch`] to index rules by constant.
    pub(crate) fn literals(&self) -> Option<(Vec<&str>, Vec<&str>, bool)> {
        if self.globs.iter().any(|g| g.key().is_empty()) {
            return None;
        }
        let question: Vec<&str> = match (&self.automaton, &self.question_keys) {
            (None, _) => Vec::new(),
            (Some(_), Some(keys)) => keys.iter().map(|k| k.as_ref()).collect(),
            (Some(_), None) => return None,
        };
        Some((
            self.exact.iter().collect(),
            self.globs.iter().map(Glob::key).chain(question).collect(),
            self.case_insensitive,
        ))
    }

    /// A rough cost of one `is_match` on a short value, for ordering tests cheapest first.
    pub(crate) fn cost(&self) -> u32 {
        let mut cost = 2 + u32::from(matches!(self.exact, Exact::Many(_)));
        cost += u32::try_from(self.anchored.len()).unwrap_or(u32::MAX) / 4;
        cost += 6 * u32::try_from(self.inner.len()).unwrap_or(u32::MAX);
        cost += u32::try_from(self.ascii_globs.len()).unwrap_or(u32::MAX) / 4;
        if self.prefilter.is_some() {
            cost += 10;
        }
        if self.ascii_automaton.is_some() {
            cost += 20;
        }
        cost
    }

    pub fn is_match(&self, s: &str) -> bool {
        if self.ascii_route && s.is_ascii() {
            self.match_ascii(s)
        } else {
            self.match_general(s)
        }
    }

    /// An ASCII value: `fold` is ASCII lowercasing, which the one-by-one checks do as
    /// they compare; a folded copy is made only for what needs one.
    fn match_ascii(&self, s: &str) -> bool {
        let ci = self.case_insensitive;
        let b = s.as_bytes();
        let exact_few = match &self.exact {
            // Patterns are lowercase when case-insensitive (`fold`).
            Exact::Few(list) if ci => list
                .iter()
                .any(|p| p.len() == b.len() && p.as_bytes().eq_ignore_ascii_case(b)),
            Exact::Few(list) => list.iter().any(|p| bytes_eq(p.as_bytes(), b)),
            Exact::Many(_) => false,
        };
        if exact_few
            || self
                .anchored
                .iter()
                .any(|i| self.globs.get(*i).is_some_and(|g| g.ends_match(b, ci)))
            || self.ascii_globs.iter().any(|q| q.is_match(b, ci))
        {
            return true;
        }
        if self.needs_folded {
            let folded_part = |folded: &str| {
                matches!(&self.exact, Exact::Many(set) if set.contains(folded))
                    || self
                        .inner
                        .iter()
                        .any(|i| self.globs.get(*i).is_some_and(|g| g.is_match(folded)))
                    || self.prefiltered(folded)
            };
            let hit = if ci {
                with_ascii_lowercase(s, folded_part)
            } else {
                folded_part(s)
            };
            if hit {
                return true;
            }
        }
        self.ascii_automaton
            .as_ref()
            .is_some_and(|re| re.is_match(s))
    }

    fn match_general(&self, s: &str) -> bool {
        if !self.exact.is_empty() || !self.globs.is_empty() {
            let folded = fold(s, self.case_insensitive);
            if self.exact.contains(folded.as_ref())
                || self
                    .anchored
                    .iter()
                    .chain(&self.inner)
                    .any(|i| self.globs.get(*i).is_some_and(|g| g.is_match(&folded)))
                || self.prefiltered(&folded)
            {
                return true;
            }
        }
        self.automaton.as_ref().is_some_and(|re| re.is_match(s))
    }

    /// The globs behind the prefilter.
    fn prefiltered(&self, folded: &str) -> bool {
        let Some(ac) = &self.prefilter else {
            return false;
        };
        // Each glob is checked at most once per value, however often its key
        // occurs (`*aa*b` on `aaaa…`): matching stays linear in the value.
        let mut checked: SmallVec<[u64; 4]> = SmallVec::new();
        for m in ac.find_overlapping_iter(folded) {
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
            if glob.is_some_and(|g| g.is_match(folded)) {
                return true;
            }
        }
        false
    }
}

/// Runs `f` on `s` (ASCII) with ASCII letters lowercased: what `str::to_lowercase`
/// gives for ASCII text, copied only when `s` has an uppercase letter, on the stack
/// when short.
pub(crate) fn with_ascii_lowercase<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    if !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(s);
    }
    if s.len() > STACK_FOLD {
        return f(&s.to_ascii_lowercase());
    }
    let mut buf: SmallVec<[u8; STACK_FOLD]> = SmallVec::from_slice(s.as_bytes());
    buf.make_ascii_lowercase();
    match std::str::from_utf8(&buf) {
        Ok(lowered) => f(lowered),
        Err(_) => f(&s.to_ascii_lowercase()),
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
    fn question_mark_globs_qualify() {
        for p in [
            "?:\\windows\\x.exe",
            "a?c",
            "?:\\users\\*\\x.exe",
            "*.ex?",
            "?*?",
        ] {
            assert!(QGlob::new(p).is_some(), "{p}");
        }
        for p in ["*a?b*", "a*?*b", "é?"] {
            assert!(QGlob::new(p).is_none(), "{p}");
        }
        let m = wc(&["?:\\Windows\\mmc.exe"], true);
        assert_eq!(m.ascii_globs.len(), 1);
        assert!(m.ascii_automaton.is_none());
        assert!(m.is_match("C:\\WINDOWS\\mmc.exe"));
        assert!(!m.is_match("CC:\\WINDOWS\\mmc.exe"));
        assert!(m.is_match("é:\\WINDOWS\\mmc.exe"));
    }

    #[test]
    fn many_patterns() {
        let owned: Vec<String> = (0..500).map(|i| format!("*proc{i}.exe")).collect();
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        let m = wc(&refs, true);
        assert!(m.is_match("C:\\x\\PROC499.EXE"));
        assert!(!m.is_match("C:\\x\\PROC500.EXE"));
    }

    /// A glob (`*` only) or an ASCII `?` glob as the anchored regex it stands for.
    fn regex_reference(pattern: &str, s: &str) -> bool {
        let re = regex_automata::meta::Regex::new(&format!("^(?:{})$", wildcard_to_regex(pattern)))
            .unwrap();
        re.is_match(s)
    }

    const PIECES: &[&str] = &[
        "a",
        "b",
        "ab",
        "ba",
        "abcdefgh",
        "ABCDEFGH",
        "AB",
        "X.EXE",
        "x.exe",
        "\\",
        "é",
        "ſ",
        "ǅ",
        "\u{212A}",
        "0123456789",
    ];

    fn arb_text(max: usize) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop::collection::vec(prop::sample::select(PIECES), 0..max).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        #[test]
        fn short_equality_is_equality(a in "[ab]{0,20}", b in "[ab]{0,20}") {
            proptest::prop_assert_eq!(bytes_eq(a.as_bytes(), b.as_bytes()), a == b);
            proptest::prop_assert!(bytes_eq(a.as_bytes(), a.as_bytes()));
        }

        #[test]
        fn globs_match_as_their_regex(
            pieces in proptest::collection::vec(arb_text(4), 2..5),
            values in proptest::collection::vec(arb_text(12), 1..4),
            fills in proptest::collection::vec(arb_text(3), 4),
        ) {
            let pattern = pieces.join("*");
            let glob = Glob::new(&pattern);
            let mut values = values;
            // A value built from the pattern, likely to match.
            let mut built = String::new();
            for (i, p) in pieces.iter().enumerate() {
                if i > 0 {
                    built.push_str(fills.get(i % 4).map_or("", String::as_str));
                }
                built.push_str(p);
            }
            values.push(built);
            let lower = Glob::new(&fold(&pattern, true));
            for v in &values {
                proptest::prop_assert_eq!(glob.is_match(v), regex_reference(&pattern, v), "{:?} on {:?}", pattern, v);
                if v.is_ascii() {
                    // Comparing as if lowercased is comparing the lowercased value.
                    let folded = v.to_ascii_lowercase();
                    proptest::prop_assert_eq!(
                        lower.ends_match(v.as_bytes(), true),
                        lower.ends_match(folded.as_bytes(), false),
                        "{:?} on {:?}", pattern, v
                    );
                }
            }
        }

        #[test]
        fn ascii_question_globs_match_as_their_regex(
            pattern in "[abAB?*]{0,10}",
            values in proptest::collection::vec("[abAB]{0,12}", 1..4),
        ) {
            if let Some(q) = QGlob::new(&pattern) {
                for v in &values {
                    proptest::prop_assert_eq!(q.is_match(v.as_bytes(), false), regex_reference(&pattern, v), "{:?} on {:?}", pattern, v);
                }
            }
            if let Some(q) = QGlob::new(&pattern.to_ascii_lowercase()) {
                for v in &values {
                    let re = regex_automata::meta::Regex::new(&format!("^(?i:{})$", wildcard_to_regex(&pattern))).unwrap();
                    proptest::prop_assert_eq!(q.is_match(v.as_bytes(), true), re.is_match(v), "{:?} on {:?}", pattern, v);
                }
            }
        }
    }
}
