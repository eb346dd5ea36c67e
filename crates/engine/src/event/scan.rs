//! The fast path of event parsing: one pass over the bytes of a line that validates
//! the document as serde_json would and hands the registered fields to the
//! [`Collector`] exactly as the serde path (`RootSeed`/`NodeSeed` in the parent
//! module) does: same values, same order.
//!
//! The scanner never reports errors itself. On anything invalid, or anything it leaves
//! to serde_json (a non-string `_index`, a number out of `f64` range, nesting at
//! serde_json's recursion limit), it returns [`Bail`] and the caller reruns the serde
//! path, which gives the exact error message and position (or the result).
//!
//! serde_json does not validate everything the same way everywhere, and neither may we:
//! values the serde path walks (`deserialize_any`, keys via `deserialize_str`) are
//! parsed strictly: `\u` escapes must form valid surrogate pairs, numbers must fit an
//! `f64`, and containers count towards the recursion limit of 128. Values it skips
//! (`IgnoredAny`) are only checked against the grammar: lone surrogates and `1e400`
//! pass there, and there is no depth limit.

use super::{Collector, Scalar};
use crate::field::{ChildIndex, FieldId, FieldTable};

/// Why the scanner gave up; the serde path decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bail {
    /// The document is not valid JSON (or breaks serde_json's limits): serde rejects it.
    Invalid,
    /// Valid or not, the scanner leaves this document to serde.
    Unsupported,
}

/// The scanner gave up (zero-sized, to keep the hot path's results small; the reason
/// is in [`Scanner::unsupported`]).
#[derive(Debug)]
struct Stop;

type Scan<T> = Result<T, Stop>;

/// serde_json's recursion limit: its 128th nested container (counting the root) on
/// the walked path is an error.
const MAX_DEPTH: usize = 128;

/// Extracts the registered fields of `text` into `c`; [`Bail`] leaves partial values
/// in `c` for the caller to discard.
pub(super) fn collect(text: &str, c: &mut Collector<'_>) -> Result<(), Bail> {
    let table = c.table;
    collect_with(text, c, table, &[])
}

/// [`collect`] walking only the paths of `paths` (a pruned copy of the table's trie, see
/// [`TimePaths`]). `Err` when the document is invalid or holds anything whose reading depends on
/// which paths are walked: the caller then runs the full walk.
pub(super) fn collect_pruned(
    text: &str,
    c: &mut Collector<'_>,
    paths: &TimePaths,
) -> Result<(), Bail> {
    thread_local! {
        /// The byte classes of the line being scanned (see [`classify`]), reused line to line.
        static CLASSES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    CLASSES.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let result = collect_with(text, c, paths, classify(text.as_bytes(), &mut buf));
            // A huge line does not keep its buffer for the rest of the run.
            if buf.capacity() > 1 << 20 {
                *buf = Vec::new();
            }
            result
        }
        Err(_) => {
            let mut own = Vec::new();
            let classes = classify(text.as_bytes(), &mut own);
            collect_with(text, c, paths, classes)
        }
    })
}

/// `classes`: for a pruned walk, [`classify`] of `text` (else unused).
fn collect_with<P: Paths>(
    text: &str,
    c: &mut Collector<'_>,
    paths: &P,
    classes: &[u8],
) -> Result<(), Bail> {
    let b = text.as_bytes();
    let mut scanner = Scanner {
        text,
        b,
        classes,
        pos: 0,
        table: paths,
        c,
        scratch: String::new(),
        unsupported: false,
    };
    scanner.root().map_err(|Stop| match scanner.unsupported {
        true => Bail::Unsupported,
        false => Bail::Invalid,
    })
}

/// The trie the scanner walks: the table's, or a pruned one.
trait Paths {
    /// A pruned trie: values it skips might be walked by the full one, which reads them more
    /// strictly (`\u` escapes, number range, depth). The scanner then stops at anything where
    /// that could make a difference, so that a document it accepts the full walk accepts too.
    const PRUNED: bool;
    type Index;
    fn index(&self, node: u32) -> Option<&Self::Index>;
    /// Whether a key starting with `first` may lead to a child of the node of `index`.
    fn may_match(index: &Self::Index, first: Option<u8>) -> bool;
    /// The node the unescaped key `doc[start..end]` leads to from `node`.
    fn lookup(&self, node: u32, doc: &[u8], start: usize, end: usize) -> Option<u32>;
    /// The node a (possibly dotted) key leads to from `node`.
    fn walk(&self, node: u32, key: &str) -> Option<u32>;
    fn field(&self, node: u32) -> Option<FieldId>;
}

impl Paths for FieldTable {
    const PRUNED: bool = false;
    type Index = ChildIndex;

    #[inline]
    fn index(&self, node: u32) -> Option<&ChildIndex> {
        Some(&self.trie.get(node as usize)?.index)
    }

    #[inline]
    fn may_match(index: &ChildIndex, first: Option<u8>) -> bool {
        index.may_match(first)
    }

    #[inline]
    fn lookup(&self, node: u32, doc: &[u8], start: usize, end: usize) -> Option<u32> {
        lookup(self, node, doc, start, end)
    }

    fn walk(&self, node: u32, key: &str) -> Option<u32> {
        FieldTable::walk(self, node, key)
    }

    #[inline]
    fn field(&self, node: u32) -> Option<FieldId> {
        self.node_field(node)
    }
}

/// The part of a table's trie leading to a few fields (the time fields of events no rule reads
/// beyond their time): node 0 is the root, as in the table. Built once per run (or batch).
#[derive(Debug, Clone)]
pub(crate) struct TimePaths {
    nodes: Vec<PrunedNode>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PrunedNode {
    /// Bit `b` set: some child's name starts with byte `b`.
    first: [u64; 4],
    /// Some child has the empty name (keys starting with `.`, or empty, test this, as in the
    /// table's index).
    empty: bool,
    children: Vec<(Box<[u8]>, u32)>,
    field: Option<FieldId>,
}

impl TimePaths {
    /// The paths of the fields of `table` set in `only` (indexed by id).
    pub(crate) fn new(table: &FieldTable, only: &[bool]) -> TimePaths {
        let mut nodes = vec![PrunedNode::default()];
        for (id, _) in only.iter().enumerate().filter(|(_, keep)| **keep) {
            let id = FieldId(u32::try_from(id).unwrap_or(u32::MAX));
            if table.spec(id).is_none() {
                continue;
            }
            let mut node = 0usize;
            for segment in table.path(id).split('.') {
                let next = nodes.len();
                let Some(n) = nodes.get_mut(node) else {
                    break;
                };
                let child = match n
                    .children
                    .iter()
                    .find(|(name, _)| **name == *segment.as_bytes())
                {
                    Some((_, child)) => *child as usize,
                    None => {
                        match segment.as_bytes().first() {
                            Some(&b) => {
                                if let Some(word) = n.first.get_mut(usize::from(b >> 6)) {
                                    *word |= 1 << (b & 63);
                                }
                            }
                            None => n.empty = true,
                        }
                        n.children
                            .push((Box::from(segment.as_bytes()), next as u32));
                        nodes.push(PrunedNode::default());
                        next
                    }
                };
                node = child;
            }
            if let Some(n) = nodes.get_mut(node) {
                n.field = Some(id);
            }
        }
        TimePaths { nodes }
    }

    fn child(&self, node: u32, segment: &[u8]) -> Option<u32> {
        let n = self.nodes.get(node as usize)?;
        n.children
            .iter()
            .find(|(name, _)| **name == *segment)
            .map(|(_, child)| *child)
    }
}

impl Paths for TimePaths {
    const PRUNED: bool = true;
    type Index = PrunedNode;

    #[inline]
    fn index(&self, node: u32) -> Option<&PrunedNode> {
        self.nodes.get(node as usize)
    }

    #[inline]
    fn may_match(index: &PrunedNode, first: Option<u8>) -> bool {
        match first {
            None | Some(b'.') => index.empty,
            Some(b) => index
                .first
                .get(usize::from(b >> 6))
                .is_some_and(|word| word & (1 << (b & 63)) != 0),
        }
    }

    fn lookup(&self, node: u32, doc: &[u8], start: usize, end: usize) -> Option<u32> {
        let key = doc.get(start..end)?;
        if !Self::may_match(self.nodes.get(node as usize)?, key.first().copied()) {
            return None;
        }
        // Names hold no dots: a child named like the whole key is the answer.
        if let Some(child) = self.child(node, key) {
            return Some(child);
        }
        key.split(|&b| b == b'.')
            .try_fold(node, |node, segment| self.child(node, segment))
    }

    fn walk(&self, node: u32, key: &str) -> Option<u32> {
        self.lookup(node, key.as_bytes(), 0, key.len())
    }

    #[inline]
    fn field(&self, node: u32) -> Option<FieldId> {
        self.nodes.get(node as usize)?.field
    }
}

/// A string token: the bytes between its quotes, and whether they hold escapes.
#[derive(Debug, Clone, Copy)]
struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

enum RootKey {
    Source,
    Index,
    Other(Option<u32>),
}

struct Scanner<'a, 'c, 't, 'p, P> {
    text: &'a str,
    b: &'a [u8],
    /// Pruned walks: [`classify`] of `b`, where string ends are looked up.
    classes: &'a [u8],
    pos: usize,
    table: &'p P,
    c: &'c mut Collector<'t>,
    /// Unescaped text of the current key or value, when it has escapes.
    scratch: String,
    /// The scanner stopped at something it leaves to serde, not at an error.
    unsupported: bool,
}

impl<P: Paths> Scanner<'_, '_, '_, '_, P> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    #[inline]
    fn expect(&mut self, ch: u8) -> Scan<()> {
        if self.peek() == Some(ch) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Stop)
        }
    }

    /// After a key: whitespace, the colon, whitespace.
    #[inline]
    fn colon(&mut self) -> Scan<()> {
        if self.b.get(self.pos) == Some(&b':') {
            self.pos += 1;
        } else {
            self.ws();
            self.expect(b':')?;
        }
        self.ws();
        Ok(())
    }

    /// After a member or element: `true` for a comma (then at the next token), `false`
    /// for the closing bracket (consumed).
    #[inline]
    fn next_or_close(&mut self, close: u8) -> Scan<bool> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(Stop),
        }
    }

    /// `RootSeed`: a hit's `_source` and `_index`, else the fields from the root.
    fn root(&mut self) -> Scan<()> {
        self.ws();
        self.expect(b'{')?;
        self.ws();
        let mut in_hit = false;
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.expect(b'"')?;
                let key = self.string::<true>()?;
                let kind = self.root_key(key, in_hit)?;
                self.colon()?;
                match kind {
                    RootKey::Source => {
                        if !in_hit {
                            self.c.clear();
                        }
                        in_hit = true;
                        self.value(0, 1)?;
                    }
                    RootKey::Index => self.index_value(in_hit)?,
                    RootKey::Other(_) if in_hit => self.skip()?,
                    RootKey::Other(Some(node)) => self.value(node, 1)?,
                    RootKey::Other(None) => self.skip()?,
                }
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        self.ws();
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(Stop)
        }
    }

    fn root_key(&mut self, key: Str, in_hit: bool) -> Scan<RootKey> {
        if key.escaped {
            self.unescape(key)?;
            return Ok(match self.scratch.as_str() {
                "_source" => RootKey::Source,
                "_index" => RootKey::Index,
                _ if in_hit => RootKey::Other(None),
                other => RootKey::Other(self.table.walk(0, other)),
            });
        }
        Ok(match self.b.get(key.start..key.end).ok_or(Stop)? {
            b"_source" => RootKey::Source,
            b"_index" => RootKey::Index,
            _ if in_hit => RootKey::Other(None),
            _ => RootKey::Other(self.table.lookup(0, self.b, key.start, key.end)),
        })
    }

    /// A root `_index`: a string is the event's index (and, outside a hit, the field
    /// `_index` if registered). Anything else goes to the serde path, which reads it
    /// as a `serde_json::Value` (deduplicated keys, its own limits).
    fn index_value(&mut self, in_hit: bool) -> Scan<()> {
        if self.peek() != Some(b'"') {
            self.unsupported = true;
            return Err(Stop);
        }
        self.pos += 1;
        let s = self.string::<true>()?;
        let text = if s.escaped {
            self.unescape(s)?;
            self.scratch.as_str()
        } else {
            self.text.get(s.start..s.end).ok_or(Stop)?
        };
        self.c.index = Some(text.into());
        if !in_hit {
            let field = self
                .table
                .walk(0, "_index")
                .and_then(|node| self.table.field(node));
            if let Some(id) = field {
                self.c.push(id, Scalar::Str(text));
            }
        }
        Ok(())
    }

    /// `NodeSeed`: any value at trie node `node`, inside `depth` walked containers.
    fn value(&mut self, node: u32, depth: usize) -> Scan<()> {
        let field = self.table.field(node);
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                let s = self.string::<true>()?;
                if let Some(id) = field {
                    if s.escaped {
                        self.unescape(s)?;
                        self.c.push(id, Scalar::Str(&self.scratch));
                    } else {
                        let text = self.text.get(s.start..s.end).ok_or(Stop)?;
                        self.c.push(id, Scalar::Str(text));
                    }
                }
            }
            Some(b'{') => self.object(node, depth + 1)?,
            Some(b'[') => self.array(node, depth + 1)?,
            Some(b'-' | b'0'..=b'9') => {
                let n = self.number()?;
                if let Some(id) = field {
                    self.c.push(id, n);
                }
            }
            Some(b't') => {
                self.literal(b"true")?;
                if let Some(id) = field {
                    self.c.push(id, Scalar::Bool(true));
                }
            }
            Some(b'f') => {
                self.literal(b"false")?;
                if let Some(id) = field {
                    self.c.push(id, Scalar::Bool(false));
                }
            }
            Some(b'n') => {
                self.literal(b"null")?;
                if let Some(id) = field {
                    self.c.push(id, Scalar::Null);
                }
            }
            _ => return Err(Stop),
        }
        Ok(())
    }

    /// Whether a walked container at `depth` is past the limit. Pruned walks stop at half of it, so
    /// that walked and skipped containers stay below the limit together (see `skip_container`).
    #[inline]
    fn too_deep(depth: usize) -> bool {
        depth >= MAX_DEPTH || (P::PRUNED && depth > MAX_DEPTH / 2)
    }

    /// A walked object (at its `{`); `depth` counts it.
    fn object(&mut self, node: u32, depth: usize) -> Scan<()> {
        if Self::too_deep(depth) {
            return Err(Stop);
        }
        self.pos += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        let table = self.table;
        let index = table.index(node).ok_or(Stop)?;
        loop {
            self.expect(b'"')?;
            let key = self.string::<true>()?;
            let child = self.child(index, node, key)?;
            self.colon()?;
            match child {
                Some(child) => self.value(child, depth)?,
                None => self.skip()?,
            }
            if !self.next_or_close(b'}')? {
                return Ok(());
            }
        }
    }

    /// A walked array (at its `[`): every element at the same node.
    fn array(&mut self, node: u32, depth: usize) -> Scan<()> {
        if Self::too_deep(depth) {
            return Err(Stop);
        }
        self.pos += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(node, depth)?;
            if !self.next_or_close(b']')? {
                return Ok(());
            }
        }
    }

    /// The trie node a key leads to from `node` (whose children are `index`).
    #[inline]
    fn child(&mut self, index: &P::Index, node: u32, key: Str) -> Scan<Option<u32>> {
        if !key.escaped {
            // Most keys match no child: rejected on their first byte, without a call.
            let first = if key.start < key.end {
                self.b.get(key.start).copied()
            } else {
                None
            };
            if !P::may_match(index, first) {
                return Ok(None);
            }
            return Ok(self.table.lookup(node, self.b, key.start, key.end));
        }
        self.unescape(key)?;
        Ok(self.table.walk(node, &self.scratch))
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        if self.b.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Stop)
        }
    }

    /// A string body (after the opening quote), through the closing quote. `STRICT`:
    /// `\u` escapes must pair surrogates, as serde_json's `parse_str` requires (its
    /// `ignore_str`, for skipped values, does not).
    #[inline]
    fn string<const STRICT: bool>(&mut self) -> Scan<Str> {
        let start = self.pos;
        let mut escaped = false;
        loop {
            let i = self.find_special(self.pos);
            match self.b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Str {
                        start,
                        end: i,
                        escaped,
                    });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos = i + 1;
                    self.escape::<STRICT>()?;
                }
                // A control character, or the end of the input.
                _ => return Err(Stop),
            }
        }
    }

    /// A skipped string's body (after the opening quote), through the closing quote: checked as
    /// serde_json's `ignore_str` does (`\u` escapes without surrogate pairing), inlined into the
    /// skipping loops without building a [`Str`].
    #[inline(always)]
    fn skip_string(&mut self) -> Scan<()> {
        let b = self.b;
        let mut i = self.pos;
        loop {
            i = self.find_special(i);
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                // The common escapes (Windows paths) without leaving the loop.
                Some(b'\\') => match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    _ => {
                        self.pos = i + 1;
                        self.escape::<false>()?;
                        i = self.pos;
                    }
                },
                // A control character, or the end of the input.
                _ => return Err(Stop),
            }
        }
    }

    /// The first `"`, `\\` or control character at or after `i`, or `b.len()` or more.
    #[inline(always)]
    fn find_special(&self, i: usize) -> usize {
        if P::PRUNED {
            // Most of the line is skipped there: its classes were found in one vectorized pass,
            // which takes the per-word tests off the chain from one string to the next.
            find_classified(self.classes, i)
        } else {
            find_string_special(self.b, i)
        }
    }

    /// One escape, after its backslash.
    fn escape<const STRICT: bool>(&mut self) -> Scan<()> {
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'u') => {
                if P::PRUNED && !STRICT {
                    // Skipped here; the full walk may read it strictly.
                    return Err(Stop);
                }
                self.pos += 1;
                let n = self.hex4()?;
                if STRICT {
                    if (0xDC00..=0xDFFF).contains(&n) {
                        return Err(Stop);
                    }
                    if (0xD800..=0xDBFF).contains(&n) {
                        if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(Stop);
                        }
                        self.pos += 2;
                        if !(0xDC00..=0xDFFF).contains(&self.hex4()?) {
                            return Err(Stop);
                        }
                    }
                }
                Ok(())
            }
            _ => Err(Stop),
        }
    }

    fn hex4(&mut self) -> Scan<u32> {
        let digits = self.b.get(self.pos..self.pos + 4).ok_or(Stop)?;
        self.pos += 4;
        hex4(digits).ok_or(Stop)
    }

    /// The text of a validated strict string with escapes, into `scratch`.
    fn unescape(&mut self, s: Str) -> Scan<()> {
        self.scratch.clear();
        let raw = self.text.get(s.start..s.end).ok_or(Stop)?;
        let bytes = raw.as_bytes();
        let mut done = 0;
        while let Some(off) = memchr::memchr(b'\\', bytes.get(done..).unwrap_or_default()) {
            let at = done + off;
            self.scratch.push_str(raw.get(done..at).ok_or(Stop)?);
            let (ch, len) = match bytes.get(at + 1) {
                Some(b'"') => ('"', 2),
                Some(b'\\') => ('\\', 2),
                Some(b'/') => ('/', 2),
                Some(b'b') => ('\u{8}', 2),
                Some(b'f') => ('\u{c}', 2),
                Some(b'n') => ('\n', 2),
                Some(b'r') => ('\r', 2),
                Some(b't') => ('\t', 2),
                Some(b'u') => {
                    let n = bytes.get(at + 2..at + 6).and_then(hex4).ok_or(Stop)?;
                    if (0xD800..=0xDBFF).contains(&n) {
                        let lo = bytes.get(at + 8..at + 12).and_then(hex4).ok_or(Stop)?;
                        let c = 0x1_0000 + ((n - 0xD800) << 10) + (lo.wrapping_sub(0xDC00));
                        (char::from_u32(c).ok_or(Stop)?, 12)
                    } else {
                        (char::from_u32(n).ok_or(Stop)?, 6)
                    }
                }
                _ => return Err(Stop),
            };
            self.scratch.push(ch);
            done = at + len;
        }
        self.scratch.push_str(raw.get(done..).ok_or(Stop)?);
        Ok(())
    }

    /// A number on the walked path, as serde_json's `deserialize_any` reads it.
    fn number(&mut self) -> Scan<Scalar<'static>> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        let is_float = self.number_tail()?;
        let digits = self.b.get(int_start..self.pos).ok_or(Stop)?;
        if !is_float && digits.len() <= 19 {
            let magnitude = digits
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            return Ok(if !negative {
                match i64::try_from(magnitude) {
                    Ok(i) => Scalar::Int(i),
                    Err(_) => Scalar::Float(magnitude as f64),
                }
            } else if magnitude == 0 {
                // serde_json reads `-0` as a float.
                Scalar::Float(-0.0)
            } else if magnitude <= 1 << 63 {
                Scalar::Int((magnitude as i64).wrapping_neg())
            } else {
                Scalar::Float(-(magnitude as f64))
            });
        }
        // Beyond u64, or with a fraction or exponent: serde_json (float_roundtrip)
        // rounds correctly, as does std; out of range is its error.
        let text = self.text.get(start..self.pos).ok_or(Stop)?;
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Scalar::Float(f)),
            _ => Err(Stop),
        }
    }

    /// A number's digits after the sign (checked against the JSON grammar); `true` if it
    /// has a fraction or an exponent. A digit after a leading `0` is left for the
    /// caller to reject, as serde_json does.
    #[inline]
    fn number_tail(&mut self) -> Scan<bool> {
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.pos += 1;
                self.digits();
            }
            _ => return Err(Stop),
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(Stop);
            }
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(Stop);
            }
            is_float = true;
        }
        Ok(is_float)
    }

    #[inline]
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Skips any value (at its first byte) as serde_json's `IgnoredAny` does.
    #[inline]
    fn skip(&mut self) -> Scan<()> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string()
            }
            Some(b'{' | b'[') => self.skip_container(),
            _ => self.skip_scalar(),
        }
    }

    /// A number or literal (strings and containers are handled by the callers).
    #[inline]
    fn skip_scalar(&mut self) -> Scan<()> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') if P::PRUNED => {
                // The full walk may read this number: out of `f64` range is then an error. Only
                // an exponent or some 300 digits get there.
                let start = self.pos;
                if self.peek() == Some(b'-') {
                    self.pos += 1;
                }
                let float = self.number_tail()?;
                let text = self.b.get(start..self.pos).unwrap_or_default();
                if text.len() > 300 || (float && text.iter().any(|&c| c | 0x20 == b'e')) {
                    return Err(Stop);
                }
                Ok(())
            }
            Some(b'-') => {
                self.pos += 1;
                self.number_tail().map(|_| ())
            }
            Some(b'0'..=b'9') => self.number_tail().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(Stop),
        }
    }

    /// Skips a scalar, or returns the container it starts (`true`: an object),
    /// without consuming its bracket.
    #[inline(always)]
    fn skip_scalar_or_open(&mut self) -> Scan<Option<bool>> {
        match self.peek() {
            Some(b'{') => Ok(Some(true)),
            Some(b'[') => Ok(Some(false)),
            Some(b'"') => {
                self.pos += 1;
                self.skip_string().map(|()| None)
            }
            _ => self.skip_scalar().map(|()| None),
        }
    }

    /// An object key of a skipped object, through the colon and whitespace after it.
    #[inline(always)]
    fn skip_key(&mut self) -> Scan<()> {
        self.expect(b'"')?;
        self.skip_string()?;
        self.colon()
    }

    /// Skips a container (at its bracket) without recursion, as serde_json does: there
    /// is no depth limit here.
    fn skip_container(&mut self) -> Scan<()> {
        let mut stack = BitStack::default();
        let mut opened = self.peek() == Some(b'{');
        'open: loop {
            // At the bracket of a container `opened` (true: an object).
            stack.push(opened);
            if P::PRUNED && stack.len >= MAX_DEPTH / 2 {
                return Err(Stop);
            }
            self.pos += 1;
            self.ws();
            let close = if opened { b'}' } else { b']' };
            if self.peek() == Some(close) {
                self.pos += 1;
                stack.pop();
            } else {
                if opened {
                    self.skip_key()?;
                }
                if let Some(inner) = self.skip_scalar_or_open()? {
                    opened = inner;
                    continue 'open;
                }
            }
            // After a value: the rest of the enclosing containers.
            while let Some(in_object) = stack.top() {
                let close = if in_object { b'}' } else { b']' };
                if self.next_or_close(close)? {
                    if in_object {
                        self.skip_key()?;
                    }
                    if let Some(inner) = self.skip_scalar_or_open()? {
                        opened = inner;
                        continue 'open;
                    }
                } else {
                    stack.pop();
                }
            }
            return Ok(());
        }
    }
}

/// Follows the unescaped key `doc[start..end]` from trie node `node`, as
/// `FieldTable::walk` does with `key.split('.')`.
#[inline]
fn lookup(table: &FieldTable, node: u32, doc: &[u8], start: usize, end: usize) -> Option<u32> {
    let index = &table.trie.get(node as usize)?.index;
    let key = doc.get(start..end)?;
    if !index.may_match(key.first().copied()) {
        return None;
    }
    let head = head_at(doc, start, key.len());
    // Names hold no dots: a child named like the whole key is the answer.
    if let Some(child) = index.get(key, head) {
        return Some(child);
    }
    let dot = find_dot(key, head)?;
    let child = index.get(key.get(..dot)?, head_at(doc, start, dot))?;
    lookup_segments(table, child, doc, start + dot + 1, end)
}

/// [`lookup`] for the rest of a dotted key, segment by segment.
fn lookup_segments(
    table: &FieldTable,
    mut node: u32,
    doc: &[u8],
    mut start: usize,
    end: usize,
) -> Option<u32> {
    loop {
        let index = &table.trie.get(node as usize)?.index;
        let rest = doc.get(start..end)?;
        if !index.may_match(rest.first().copied()) {
            return None;
        }
        match memchr::memchr(b'.', rest) {
            None => return index.get(rest, head_at(doc, start, rest.len())),
            Some(dot) => {
                node = index.get(rest.get(..dot)?, head_at(doc, start, dot))?;
                start += dot + 1;
            }
        }
    }
}

/// `segment_head` of `doc[start..start + len]`, read as one word when the document
/// has eight bytes there.
#[inline]
fn head_at(doc: &[u8], start: usize, len: usize) -> u64 {
    match doc.get(start..).and_then(|rest| rest.first_chunk::<8>()) {
        Some(chunk) if len < 8 => u64::from_le_bytes(*chunk) & ((1u64 << (8 * len)) - 1),
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => doc
            .get(start..start + len)
            .map_or(0, crate::field::segment_head),
    }
}

/// The first `.` of a key whose head word is `head`.
#[inline]
fn find_dot(key: &[u8], head: u64) -> Option<usize> {
    if key.len() > 8 {
        return memchr::memchr(b'.', key);
    }
    const ONES: u64 = u64::MAX / 255;
    // Zero bytes of `head ^ "........"` (padding bytes are 0, never a dot); the lowest
    // flagged byte is exact.
    let x = head ^ (ONES * u64::from(b'.'));
    let m = x.wrapping_sub(ONES) & !x & (ONES << 7);
    let i = (m.trailing_zeros() / 8) as usize;
    (m != 0 && i < key.len()).then_some(i)
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u32::from(v))
    })
}

/// The high bit of each byte of `w` (little-endian) that is `"`, `\` or a control character
/// (< 0x20), and maybe of bytes above such a byte: the lowest flagged byte is exact.
#[inline]
fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    // The usual "has a zero byte" tricks.
    let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let q = q.wrapping_sub(ONES) & !q;
    let bs = w ^ (ONES * u64::from(b'\\'));
    let bs = bs.wrapping_sub(ONES) & !bs;
    (ctrl | q | bs) & HIGH
}

/// The first `"`, `\` or control character (< 0x20) at or after `i`, or `b.len()`.
#[inline(always)]
fn find_string_special(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        let m = special_bytes(u64::from_le_bytes(*chunk));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// Bytes after a text in its [`classify`] classes: nonzero, so that a search stops there.
const CLASS_PAD: usize = 8;

/// The classes of the bytes of `b`, into `buf`: nonzero (0xff) for `"`, `\\` and control
/// characters (< 0x20), zero for the rest, then [`CLASS_PAD`] nonzero bytes.
fn classify<'b>(b: &[u8], buf: &'b mut Vec<u8>) -> &'b [u8] {
    let len = b.len() + CLASS_PAD;
    if buf.len() < len {
        buf.resize(len, 1);
    }
    let classes = buf.get_mut(..len).unwrap_or_default();
    let (body, pad) = classes.split_at_mut(b.len());
    // Element by element, without branches: vectorized (0xff, the compare's own mask, for a hit).
    for (class, &c) in body.iter_mut().zip(b) {
        *class = u8::from((c == b'"') | (c == b'\\') | (c < 0x20)).wrapping_neg();
    }
    pad.fill(1);
    classes
}

/// The first nonzero class at or after `i`, or `classes.len()`.
#[inline(always)]
fn find_classified(classes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = classes.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*chunk);
        if w != 0 {
            return i + (w.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = classes.get(i..).unwrap_or_default();
    rest.iter()
        .position(|&c| c != 0)
        .map_or(classes.len(), |p| i + p)
}

/// The kinds (object or array) of the open containers of a skipped value.
#[derive(Default)]
struct BitStack {
    len: usize,
    /// Levels 0..64, bit set for an object.
    low: u64,
    /// Levels from 64 on.
    deep: Vec<bool>,
}

impl BitStack {
    #[inline]
    fn push(&mut self, object: bool) {
        if self.len < 64 {
            self.low = (self.low & !(1 << self.len)) | (u64::from(object) << self.len);
        } else {
            self.deep.push(object);
        }
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) {
        if self.len > 64 {
            self.deep.pop();
        }
        self.len = self.len.saturating_sub(1);
    }

    #[inline]
    fn top(&self) -> Option<bool> {
        let top = self.len.checked_sub(1)?;
        if top < 64 {
            Some(self.low & (1 << top) != 0)
        } else {
            self.deep.last().copied()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::FieldId;
    use crate::schema::Schema;
    use crate::value::Value;

    fn table() -> FieldTable {
        let schema = Schema::empty();
        let mut t = FieldTable::with_defaults(&schema);
        for path in [
            "a",
            "a.b",
            "a.b.c",
            "k",
            "n",
            "x.y",
            "_index",
            "é",
            "",
            "e..f",
            "long_name_over_8",
        ] {
            t.register(path, &schema);
        }
        t
    }

    type Extracted = (Vec<(FieldId, Value)>, Option<Box<str>>);

    fn fast(t: &FieldTable, doc: &str) -> Result<Extracted, Bail> {
        let mut c = Collector::new(t);
        collect(doc, &mut c)?;
        let index = c.index.take();
        Ok((c.finish(), index))
    }

    fn plain(t: &FieldTable, doc: &str) -> Option<Extracted> {
        let mut c = Collector::new(t);
        t.collect_fields_serde(doc, &mut c).ok()?;
        let index = c.index.take();
        Some((c.finish(), index))
    }

    /// Both paths accept `doc` and extract the same.
    fn same(doc: &str) {
        let t = table();
        let want = plain(&t, doc).unwrap_or_else(|| panic!("serde rejects {doc:?}"));
        let got = fast(&t, doc).unwrap_or_else(|b| panic!("scanner {b:?} on {doc:?}"));
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{doc:?}");
    }

    /// serde rejects `doc`, and the scanner calls it invalid.
    fn invalid(doc: &str) {
        let t = table();
        assert!(plain(&t, doc).is_none(), "serde accepts {doc:?}");
        assert_eq!(fast(&t, doc).err(), Some(Bail::Invalid), "{doc:?}");
    }

    #[test]
    fn structure_and_whitespace() {
        same("{}");
        same(" \t\r\n{ } \n");
        same(r#"{"a":1,"zz":{"q":[1,{"r":[]},[]]},"k":"v"}"#);
        same("{ \"k\" :\t\"v\" ,\n\"a\" : [ 1 , 2 ] }");
        for doc in [
            "",
            "{",
            "}",
            "{,}",
            r#"{"k":1,}"#,
            r#"{"zz":[1,]}"#,
            r#"{"zz":{"q":1,}}"#,
            r#"{"k" 1}"#,
            r#"{"k":1 "a":2}"#,
            r#"{k:1}"#,
            r#"{"k":1}x"#,
            r#"{"k":1}}"#,
            r#"{"zz":[1 2]}"#,
            r#"{"zz":{"q"}}"#,
            r#"{"zz":[}"#,
            "{\"k\":1}\u{c}",
            "\u{c}{}",
            r#"{"k":}"#,
            r#"{"zz":{1:2}}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":{"b":1,}}"#,
        ] {
            invalid(doc);
        }
    }

    #[test]
    fn literals() {
        same(r#"{"a":true,"k":false,"n":null,"zz":[true,false,null]}"#);
        for doc in [
            r#"{"a":tru}"#,
            r#"{"zz":nul}"#,
            r#"{"k":falsy}"#,
            r#"{"zz":True}"#,
        ] {
            invalid(doc);
        }
    }

    #[test]
    fn strings_and_escapes() {
        same(r#"{"k":"plain","a":"C:\\Windows\\System32","zz":"\"q\""}"#);
        same(r#"{"k":"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u4e2d \ud83d\ude00 \uD83D\uDE00"}"#);
        same(r#"{"k":"日本語 é 😀","a":["\u0000","\u001f"]}"#);
        // Lone surrogates pass where serde skips the value, not where it reads it.
        same(r#"{"zz":"\ud800","zz2":["\udc00",{"q":"\ud800\u0041","\udfff":1}]}"#);
        for doc in [
            r#"{"k":"\ud800"}"#,
            r#"{"k":"\udc00"}"#,
            r#"{"k":"\ud800\u0041"}"#,
            r#"{"k":"\ud800\ud800"}"#,
            r#"{"k":"\ud800x"}"#,
            r#"{"\ud800":1}"#,
            r#"{"a":{"\udc00":1}}"#,
            r#"{"zz":"\x"}"#,
            r#"{"zz":"\u12"}"#,
            r#"{"zz":"\u12G4"}"#,
            "{\"zz\":\"a\u{1}b\"}",
            "{\"k\":\"tab\there\"}",
            "{\"zz\":\"new\nline\"}",
            r#"{"zz":"unterminated}"#,
            r#"{"zz":"\"#,
        ] {
            invalid(doc);
        }
    }

    #[test]
    fn numbers() {
        for n in [
            "0",
            "-0",
            "1",
            "-1",
            "0.0",
            "-0.0",
            "1.5",
            "1e3",
            "1E3",
            "1e+3",
            "1e-3",
            "-1.25e-7",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "123456789012345678901234567890",
            "-123456789012345678901234567890",
            "1.7976931348623157e308",
            "4.9e-324",
            "2.4e-324",
            "1e-400",
            "-1e-400",
            "0e99999999999",
            "1e-99999999999",
            "0.1000000000000000055511151231257827021181583404541015625",
            "9007199254740993",
            "1.00000000000000011102230246251565404236316680908203125",
        ] {
            same(&format!(r#"{{"n":{n},"a":[{n}],"k":{n},"zz":{n}}}"#));
        }
        // Long mantissas around rounding boundaries (both sides must round correctly).
        let zeros = "0".repeat(1000);
        for n in [
            format!("9007199254740993.{zeros}1"),
            format!("9007199254740993.{zeros}"),
            format!("9007199254740992{zeros}e-1000"),
            format!("-9007199254740993{zeros}1e-1001"),
            format!("0.{zeros}9007199254740993e1000"),
            format!("2.4703282292062327{zeros}1e-324"),
            format!("1{}", "0".repeat(300)),
            format!("1{zeros}e-1000"),
        ] {
            same(&format!(r#"{{"n":{n},"zz":{n}}}"#));
        }
        // Out of range: an error where serde reads the number, fine where it skips it.
        for n in [
            "1e400",
            "-1e400",
            "1e99999999999",
            "1.7976931348623159e308",
            &"9".repeat(400),
        ] {
            invalid(&format!(r#"{{"n":{n}}}"#));
            invalid(&format!(r#"{{"a":{{"q":1,"b":{{"c":{n}}}}}}}"#));
            same(&format!(r#"{{"zz":{n},"yy":[{n}]}}"#));
        }
        for n in [
            "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "-a", "0x10", "1.e3", "NaN",
        ] {
            invalid(&format!(r#"{{"n":{n}}}"#));
            invalid(&format!(r#"{{"zz":[{n}]}}"#));
        }
    }

    #[test]
    fn keys_dotted_nested_and_duplicated() {
        same(r#"{"a.b.c":"1","a":{"b.c":"2","b":{"c":"3"}},"a.b":{"c":"4"}}"#);
        same(r#"{"x.y":1,"x":{"y":2},"x":{"y":3},"x.y":[4,5]}"#);
        same(r#"{"a":[{"b":1},{"b":[2,3]},[{"b":4}],{"c":5}],"a.b":[[6],[[7]]]}"#);
        same(r#"{"":1,".":2,"e..f":3,"e":{"":{"f":4}},"e.":{"f":5},"é":"x","\u00e9":"y"}"#);
        same(r#"{"long_name_over_8":1,"long_name_over_9":2,"long_name_over_":3}"#);
        same(r#"{"\u0061":{"\u0062":"escaped keys"},"a\u002eb":"dot","\u006b":"k"}"#);
        same(r#"{"k":1,"k":"two","k":[3,null],"n":null,"n":1}"#);
        same(r#"{"a":{"b":{"c":{"d":1}},"b.c.d":2,"x":{"b":1}}}"#);
    }

    #[test]
    fn hits() {
        same(r#"{"_index":"i","_id":"1","_source":{"k":"x","a":{"b":1}},"k":"outside"}"#);
        same(r#"{"k":"before","_index":"i","_source":{"k":"in"},"_source":{"k":"again"}}"#);
        same(r#"{"_source":{"k":1},"_index":"late","k":"after"}"#);
        same(r#"{"_index":"i\u00e9","k":1}"#);
        same(r#"{"\u005fsource":{"k":1},"\u005findex":"e"}"#);
        same(r#"{"_source":"not an object","_index":"i"}"#);
        same(r#"{"_source":[{"k":1},{"k":2}]}"#);
        let t = table();
        assert_eq!(
            fast(&t, r#"{"_index":["i"]}"#).err(),
            Some(Bail::Unsupported)
        );
        assert_eq!(
            fast(&t, r#"{"_index":{"a":1}}"#).err(),
            Some(Bail::Unsupported)
        );
        invalid(r#"{"_index":"\ud800"}"#);
    }

    /// The pruned walk takes ordinary lines itself and leaves to the full walk exactly what it
    /// might read differently.
    #[test]
    fn pruned_walk_declines_what_the_full_walk_may_read_strictly() {
        let t = table();
        let mut only = vec![false; t.len()];
        only[t.id("@timestamp").unwrap().0 as usize] = true;
        only[t.id("a.b").unwrap().0 as usize] = true;
        let paths = TimePaths::new(&t, &only);
        let pruned = |doc: &str| {
            let mut c = Collector::new(&t);
            c.only = Some(&only);
            collect_pruned(doc, &mut c, &paths).map(|()| c.finish())
        };
        let got = pruned(
            r#"{"@timestamp":"2025-01-01T00:00:00Z","k":"\"x\"","a":{"b":1,"q":[1.5,-2,{"z":null}]},"a.b":2}"#,
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        for doc in [
            r#"{"k":"\u0041"}"#,
            r#"{"zz":{"q":"\ud800"}}"#,
            r#"{"n":1e3}"#,
            r#"{"zz":[1E-3]}"#,
            r#"{"n":1}x"#,
            r#"{"_index":1}"#,
        ] {
            assert!(pruned(doc).is_err(), "{doc}");
        }
        assert!(pruned(&format!(r#"{{"n":{}}}"#, "9".repeat(301))).is_err());
        assert!(pruned(&format!(r#"{{"zz":{}}}"#, "[".repeat(64))).is_err());
        assert!(pruned(&format!(
            r#"{{"zz":{}1{}}}"#,
            "[".repeat(63),
            "]".repeat(63)
        ))
        .is_ok());
        // Escapes the full walk reads the same way pass.
        assert!(pruned(r#"{"k":"a\"b\\c\/d\n","@timestamp":"x"}"#).is_ok());
    }

    /// The class search finds what the word-at-a-time search finds, from every start, with the
    /// special byte anywhere (the line's end, where the padding is, included).
    #[test]
    fn classified_search_matches_word_search() {
        let mut buf = Vec::new();
        for len in 0..40 {
            for special in [
                b'"', b'\\', 0x00, 0x1f, b'\n', b'\t', b'a', 0x20, 0x7f, b'#', b']',
            ] {
                for at in 0..len {
                    let mut b = vec![b'x'; len];
                    b[at] = special;
                    if at + 3 < len {
                        b[at + 3] = b'"';
                    }
                    let classes = classify(&b, &mut buf).to_vec();
                    assert_eq!(classes.len(), len + CLASS_PAD);
                    for start in 0..=len + 2 {
                        let want = find_string_special(&b, start);
                        let got = find_classified(&classes, start);
                        assert_eq!(got.min(len), want.min(len), "{b:?} from {start}");
                    }
                }
            }
        }
        // A longer text leaves no stale classes behind for a shorter one.
        classify(&[b'"'; 64], &mut buf);
        let classes = classify(b"abc", &mut buf);
        assert_eq!(classes, [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    }

    /// The pruned walk (string ends from the classes) reads strings as the full walk does: every
    /// special byte at every place in a skipped string, a walked key or the kept value.
    #[test]
    fn pruned_walk_strings_match_full_walk() {
        let t = table();
        let mut only = vec![false; t.len()];
        only[t.id("k").unwrap().0 as usize] = true;
        let paths = TimePaths::new(&t, &only);
        let pruned = |doc: &str| {
            let mut c = Collector::new(&t);
            c.only = Some(&only);
            collect_pruned(doc, &mut c, &paths).map(|()| c.finish())
        };
        let full = |doc: &str| {
            let mut c = Collector::new(&t);
            c.only = Some(&only);
            t.collect_fields_serde(doc, &mut c)
                .ok()
                .map(|()| c.finish())
        };
        let pieces = [
            "", "\"", "\\", "\\\\", "\\\"", "\\n", "\\/", "\\x", "\u{1}", "\u{1f}", "\t", "\n",
            "\u{7f}", " ", "}", "]", ",", ":", "\\\\\"",
        ];
        for piece in pieces {
            for at in 0..12 {
                let body: String = "abcdefghijkl".chars().take(at).collect::<String>() + piece;
                for doc in [
                    format!(r#"{{"zz":"{body}","k":"v"}}"#),
                    format!(r#"{{"k":"{body}"}}"#),
                    format!(r#"{{"{body}":"x","k":"v"}}"#),
                    format!(r#"{{"zz":{{"{body}":["{body}"]}},"k":"v"}}"#),
                    format!(r#"{{"k":"v","zz":"{body}"}}"#),
                    format!(r#"{{"k":"v","zz":"{body}"#),
                ] {
                    match (pruned(&doc), full(&doc)) {
                        (Ok(p), Some(f)) => {
                            assert_eq!(format!("{p:?}"), format!("{f:?}"), "{doc:?}")
                        }
                        // Declined: the caller takes the full walk.
                        (Err(_), _) => {}
                        (Ok(p), None) => panic!("pruned accepts {doc:?} ({p:?}), serde rejects it"),
                    }
                }
            }
        }
        // Ordinary escapes do not make it decline.
        assert!(pruned(r#"{"zz":"C:\\Windows\\x\"q\"","k":"a\\b","z\\z":1}"#).is_ok());
    }

    #[test]
    fn recursion_limit() {
        // serde_json fails at the 128th container it walks (counting the root); it
        // skips values without a limit.
        let walked = |n: usize| format!("{{\"k\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        same(&walked(126));
        invalid(&walked(127));
        invalid(&walked(2000));
        let skipped = |n: usize| format!("{{\"zz\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        same(&skipped(127));
        same(&skipped(5000));
    }
}
