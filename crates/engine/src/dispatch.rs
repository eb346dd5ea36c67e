//! Rule dispatch: which of many plans an event can possibly match, decided without evaluating them.
//!
//! Every stage of a plan (sequence and sample stages, missing stages, `until`) gets a *gate*: a
//! conjunction of *clauses* that must all hold whenever the stage matches. A clause is a disjunction of
//! *atoms*, constant tests on one field read from the compiled bool-query layer:
//! - `Exact`: some string value of the field is one of the constants (`==`, `in`, `in~`, `:` without
//!   wildcards; ASCII-folded when case-insensitive);
//! - `Contains`: some string value contains a literal (the longest literal piece of a `*` glob, which
//!   every match contains; `startsWith`, `endsWith`, `stringContains`);
//! - `Exists`: the field has a non-null value (any other test of the field alone that is never true on
//!   null: comparisons, `:` patterns without usable literal, `cidrMatch`, `!= null`).
//!
//! An `and` contributes the clauses of both sides, an `or` the pairwise disjunctions of its sides'
//! clauses, a `not` nothing; the stage's category is one more clause. Of a gate's clauses the most
//! selective (by a static estimate) is its *primary*: the gate is filed under each of its atoms. Up to
//! [`MAX_FILTERS`] others are *filters*, checked only when a primary atom holds (each distinct clause
//! at most once per event).
//!
//! Per event, every field value that can decide a primary atom is looked up once — exact constants in
//! a hash map, literals in one Aho-Corasick automaton per field, case-sensitive and case-insensitive
//! alike — giving the primary atoms that hold; the gates filed under them whose filters also hold name
//! the candidates. Fields only filters test are looked up when a filter first asks. Dispatchers built
//! together with [`Dispatcher::shared`] (one per rule group of a run) share the atom index, so that the
//! atoms computed for an event serve them all ([`Dispatcher::prepare`],
//! [`Dispatcher::candidates_prepared`]).
//!
//! A plan is offered an event when any of its gates passes; skipping the others is invisible in the
//! results because a plan's state only changes on events that match one of its stages (time is moved
//! separately with `Matcher::advance_to`). Candidates come back in plan order, so alerts keep the order
//! of the plain every-plan loop. Every approximation here errs towards offering: a value the index
//! cannot decide (a non-ASCII string under case-insensitive matching, whose folding it does not model; a
//! number under `:`, which matches its string form) makes every atom of its kind on that field hold.

use std::sync::Arc;

use ahash::{AHashMap, AHashSet};
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, MatchKind, StartKind};

use crate::event::Event;
use crate::expr::{CmpKind, CmpOp, CompiledExpr, Func, Node, NodeId};
use crate::field::{FieldId, FieldTable};
use crate::plan::Plan;
use crate::value::Value;

/// Fields with a handful of distinct values: a test on them filters little.
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
    "network.type",
    "agent.type",
];
/// Fields with somewhat more values (an action per event kind).
const MEDIUM_CARDINALITY_FIELDS: &[&str] = &["event.action", "event.code"];

/// Glob literals shorter than this appear in too many values to be worth indexing.
const MIN_CONTAINED_LITERAL: usize = 3;
/// Clauses kept per subexpression; an `or` of two conjunctions multiplies their clauses.
const MAX_CLAUSES: usize = 16;
/// Atoms kept per clause (longer disjunctions are dropped: they constrain little).
const MAX_CLAUSE_ATOMS: usize = 8192;
/// Filters checked per gate.
const MAX_FILTERS: usize = 6;
/// Filter clauses longer than this are checked by looking their atoms up among those that hold
/// (few) rather than one by one.
const SCAN_CLAUSE_ATOMS: usize = 8;
/// A gate whose most selective clause is at least this likely (by [`Builder::weight`]) and tests
/// only context atoms is a context gate.
const CONTEXT_WEIGHT: f64 = 0.1;
/// Context sets remembered per scratch (all dispatchers together) before starting afresh.
const CONTEXT_MEMO_LIMIT: usize = 8192;
/// Bool-layer nesting read for clauses; deeper parts constrain nothing (bounds the recursion).
const MAX_DEPTH: usize = 256;
const NONE: u32 = u32::MAX;

/// A constant test on one field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AtomKey {
    /// Some string value equals `value` (both ASCII-lowercased when `ci`).
    Exact {
        field: FieldId,
        ci: bool,
        value: Box<str>,
    },
    /// Some string value contains `literal` (ASCII case ignored when `ci`).
    Contains {
        field: FieldId,
        ci: bool,
        literal: Box<str>,
    },
    /// Some value is not null.
    Exists(FieldId),
}

impl AtomKey {
    fn field(&self) -> FieldId {
        match self {
            AtomKey::Exact { field, .. } | AtomKey::Contains { field, .. } => *field,
            AtomKey::Exists(field) => *field,
        }
    }

    /// (field, case-insensitive) of the lookup that decides the atom; `None` for `Exists`.
    fn index_key(&self) -> Option<(FieldId, bool)> {
        match self {
            AtomKey::Exact { field, ci, .. } | AtomKey::Contains { field, ci, .. } => {
                Some((*field, *ci))
            }
            AtomKey::Exists(_) => None,
        }
    }
}

/// Disjunction of atoms, sorted, without duplicates. Empty: never holds.
type Clause = Vec<u32>;

/// The atoms one folded constant decides: the case-insensitive one, and case-sensitive ones with
/// their exact text (constants differing only in ASCII case share the folded form).
#[derive(Debug)]
struct Decides {
    insensitive: u32,
    sensitive: Vec<(Box<str>, u32)>,
}

impl Default for Decides {
    fn default() -> Self {
        Decides {
            insensitive: NONE,
            sensitive: Vec::new(),
        }
    }
}

impl Decides {
    /// Marks the atoms `text` (a value, or a match of the folded constant in one) decides; `ascii`:
    /// the value is ASCII (else case-insensitive atoms are left to the undecided marker).
    #[inline]
    fn mark(&self, text: &[u8], ascii: bool, set: &mut AtomSet) {
        if ascii && self.insensitive != NONE {
            set.mark(self.insensitive);
        }
        for (exact, atom) in &self.sensitive {
            if exact.as_bytes() == text {
                set.mark(*atom);
            }
        }
    }
}

/// Exact constants by their ASCII-lowercased text, in an open-addressing table over a hash of the
/// lowercased bytes: a value is looked up without making a lowercased copy of it.
#[derive(Debug, Default)]
struct ExactTable {
    /// Power-of-two many slots: (hash, entry + 1), 0 for empty.
    slots: Vec<(u64, u32)>,
    entries: Vec<(Box<str>, Decides)>,
}

impl ExactTable {
    fn new(values: AHashMap<Box<str>, Decides>) -> ExactTable {
        if values.is_empty() {
            return ExactTable::default();
        }
        let size = (values.len() * 2).next_power_of_two();
        let mut table = ExactTable {
            slots: vec![(0, 0); size],
            entries: Vec::with_capacity(values.len()),
        };
        for (folded, decides) in values {
            let hash = folded_hash(folded.as_bytes());
            let mut at = hash as usize & (size - 1);
            while table.slots.get(at).is_some_and(|s| s.1 != 0) {
                at = (at + 1) & (size - 1);
            }
            table.entries.push((folded, decides));
            if let Some(slot) = table.slots.get_mut(at) {
                *slot = (hash, u32::try_from(table.entries.len()).unwrap_or(NONE));
            }
        }
        table
    }

    /// The entry whose constant equals `value` ignoring ASCII case.
    #[inline]
    fn get(&self, value: &[u8]) -> Option<&Decides> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let hash = folded_hash(value);
        let mut at = hash as usize & mask;
        loop {
            let &(h, entry) = self.slots.get(at)?;
            if entry == 0 {
                return None;
            }
            if h == hash {
                let (folded, decides) = self.entries.get(entry as usize - 1)?;
                if folded.as_bytes().eq_ignore_ascii_case(value) {
                    return Some(decides);
                }
            }
            at = (at + 1) & mask;
        }
    }
}

/// A hash of `bytes` with ASCII letters lowercased, 8 bytes at a time.
#[inline]
fn folded_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    // Per byte: 0x80 where it is an ASCII capital (`A`..=`Z`), then 0x20 added to those.
    let lower = |w: u64| {
        let low7 = w & 0x7f7f_7f7f_7f7f_7f7f;
        let at_least_a = low7.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
        let above_z = low7.wrapping_add(0x2525_2525_2525_2525);
        let capital = at_least_a & !above_z & !w & 0x8080_8080_8080_8080;
        w | (capital >> 2)
    };
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        h = (h ^ lower(w)).wrapping_mul(K).rotate_left(27);
    }
    // The last bytes as one word, each in its own byte lane (as `lower` needs), read in overlapping
    // pieces rather than copied byte by byte (a variable-length copy is a call to `memcpy`).
    let rest = chunks.remainder();
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    let half = |b: &[u8]| u64::from(u32::from_le_bytes(b.try_into().unwrap_or([0; 4])));
    let tail = match rest.len() {
        0 => 0,
        n if bytes.len() >= 8 => {
            word(bytes.get(bytes.len() - 8..).unwrap_or_default()) >> (64 - 8 * n)
        }
        n @ 4.. => {
            half(rest.get(..4).unwrap_or_default())
                | half(rest.get(n - 4..).unwrap_or_default()) << (8 * (n - 4))
        }
        n => {
            let at = |i: usize| u64::from(rest.get(i).copied().unwrap_or(0));
            at(0) | at(n / 2) << (8 * (n / 2)) | at(n - 1) << (8 * (n - 1))
        }
    };
    h = (h ^ lower(tail)).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The two lookups of a field: exact constants, contained literals.
const VALUES: usize = 0;
const LITERALS: usize = 1;

/// Exact constants and literals tested on one field, case-sensitively or not, with the atoms they
/// decide: one hash lookup (of the ASCII-lowercased value) and one ASCII-case-insensitive scan per
/// value serve both kinds; case-sensitive atoms are then confirmed on the value's own text.
#[derive(Debug)]
struct FieldIndex {
    field: FieldId,
    /// Undecided-marker ids of the case-sensitive and case-insensitive atoms (`NONE`: no such atoms).
    parts: [u32; 2],
    /// A `:` pattern tests the field (per part): numbers and booleans match by their string form,
    /// which the index does not model (they make every atom of the part hold).
    lenient: [bool; 2],
    /// Per lookup (`VALUES`, `LITERALS`): done for every event (some primary atom needs it), or only
    /// when a filter asks.
    eager: [bool; 2],
    by_value: ExactTable,
    /// Lengths of the shortest and longest constant, and of the shortest literal: values outside
    /// are not looked up (hashing long values costs).
    value_lengths: (usize, usize),
    min_literal: usize,
    /// Finds every literal in a value.
    automaton: Option<Scanner>,
    /// Per automaton pattern.
    literals: Vec<Decides>,
    /// The literals could not be indexed: no string value is decided.
    undecidable: bool,
}

/// An Aho-Corasick automaton with its unanchored start state, driven byte by byte (values are
/// short: an iterator's set-up would cost more than the scan). A DFA (fastest per byte, slower to
/// build and larger) for literals scanned for every event; a contiguous NFA (compact, quick to
/// build) for those scanned only when a filter asks.
#[derive(Debug)]
enum Scanner {
    Dfa(DFA, StateID),
    Nfa(contiguous::NFA, StateID),
}

/// Calls `found(pattern, matched text)` for every occurrence of every pattern of `automaton` in
/// `bytes` (overlapping ones included: the standard match semantics).
#[inline]
fn scan<A: Automaton>(
    automaton: &A,
    start: StateID,
    bytes: &[u8],
    mut found: impl FnMut(usize, &[u8]),
) {
    let mut sid = start;
    for (at, &byte) in bytes.iter().enumerate() {
        sid = automaton.next_state(Anchored::No, sid, byte);
        if !automaton.is_special(sid) {
            continue;
        }
        if automaton.is_dead(sid) {
            break;
        }
        for i in 0..automaton.match_len(sid) {
            let pattern = automaton.match_pattern(sid, i);
            let begin = (at + 1).saturating_sub(automaton.pattern_len(pattern));
            found(
                pattern.as_usize(),
                bytes.get(begin..at + 1).unwrap_or_default(),
            );
        }
    }
}

/// What to look up for one field: its `Exists` atom and its index (`NONE` when absent).
#[derive(Debug, Clone, Copy)]
struct FieldSlot {
    exists: u32,
    index: u32,
}

const EMPTY_SLOT: FieldSlot = FieldSlot {
    exists: NONE,
    index: NONE,
};

/// How an atom is decided.
#[derive(Debug, Clone, Copy)]
struct AtomSource {
    /// Undecided-marker id (`NONE` for `Exists`).
    part: u32,
    /// Its field's index and lookup (`index * 2 + VALUES / LITERALS`; `NONE` for `Exists`).
    lookup: u32,
}

/// Every atom and clause of a set of dispatchers, and how to compute which hold for an event.
#[derive(Debug, Default)]
struct AtomIndex {
    keys: Vec<AtomKey>,
    sources: Vec<AtomSource>,
    indexes: Vec<FieldIndex>,
    /// Number of undecided-marker ids.
    parts: usize,
    /// Per field id.
    by_field: Vec<FieldSlot>,
    /// Filter clauses, shared by the dispatchers.
    clauses: Vec<ClauseInfo>,
    /// Atom ids, lookup ids and undecided-marker ids the clauses list.
    clause_items: Vec<u32>,
    /// Per atom: its bit in an event's context set (`NONE`: not a context atom), and the number of
    /// words a context set takes.
    context_bit: Vec<u32>,
    context_words: usize,
    /// Per undecided-marker id: the context bits of its atoms (ranges of `part_context_bits`).
    part_context: Vec<(u32, u32)>,
    part_context_bits: Vec<u32>,
}

/// One filter clause: ranges of `AtomIndex::clause_items`.
#[derive(Debug, Clone, Copy)]
struct ClauseInfo {
    /// Sorted.
    atoms: (u32, u32),
    /// When there are many atoms: their lookups, undecided markers and `Exists` atoms.
    lookups: (u32, u32),
    parts: (u32, u32),
    exists: (u32, u32),
}

/// One stage's gate.
#[derive(Debug, Clone, Copy)]
struct Gate {
    plan: u32,
    /// Range of `GroupGates::filters`.
    filters: (u32, u32),
}

/// The gates of one dispatcher's plans, filed by primary atom.
#[derive(Debug, Default)]
struct GroupGates {
    plans: usize,
    gates: Vec<Gate>,
    /// Filter clause ids (into `AtomIndex::clauses`), per gate most selective first.
    filters: Vec<u32>,
    /// Per atom: the range of `posted` holding the gates whose primary clause has it.
    post_start: Vec<u32>,
    posted: Vec<u32>,
    /// Per undecided-marker id: gates with a primary atom it covers.
    part_start: Vec<u32>,
    part_posted: Vec<u32>,
    /// Plans with a gate that has no clause (`any where true` and the like).
    always: Vec<u32>,
    /// Context gates: gates whose best clauses are common low-cardinality tests (host type,
    /// category, event type and action, fields present). Which of them pass those clauses depends
    /// only on the event's context set, so it is worked out once per distinct set (per scratch)
    /// rather than gate by gate; the gates that pass then check their other clauses as filters.
    /// Per gate: its plan, its context clauses as context-set masks (`AtomIndex::context_words`
    /// words each; a range of `context_masks`) and its filters (a range of `filters`).
    context_gates: Vec<ContextGate>,
    context_masks: Vec<u64>,
    anchored_plans: usize,
    /// Primary atom field and kind → gates (for `describe`).
    primary_stats: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Copy)]
struct ContextGate {
    plan: u32,
    masks: (u32, u32),
    filters: (u32, u32),
}

/// Plans indexed for dispatch. Built once per field table, shared read-only (threads included).
#[derive(Debug, Default)]
pub struct Dispatcher {
    atoms: Arc<AtomIndex>,
    group: GroupGates,
    /// Tells this dispatcher's remembered context outcomes from others' in a shared scratch.
    id: u64,
}

/// Source of [`Dispatcher::id`]s.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Which atoms hold for the current event, and which clauses were found to.
#[derive(Debug, Default)]
struct AtomSet {
    epoch: u32,
    stamp: Vec<u32>,
    part_stamp: Vec<u32>,
    /// Per field lookup (see [`AtomSource::lookup`]): done for this event, and the range of
    /// `holding` it marked.
    done: Vec<u32>,
    marked: Vec<(u32, u32)>,
    /// Per clause: `epoch * 2 + holds` once evaluated for this event.
    clause_memo: Vec<u32>,
    holding: Vec<u32>,
    /// Undecided-marker ids marked: every atom they cover holds.
    undecided: Vec<u32>,
    /// Eager lookups of recent field values and the atoms they marked, by hash of (field, value):
    /// field values repeat across events (executables, users, actions), and replaying the atoms
    /// costs less than hashing and scanning the value again. Tied to the index of `prepared`.
    memo: Vec<MemoSlot>,
    /// The memo key of the value being looked up.
    key: Vec<u8>,
    /// Per field index: how well the memo serves it. Fields whose values rarely repeat (ids, command
    /// lines) would only pay for keys and evict the values that do repeat.
    memo_stats: Vec<MemoStats>,
}

/// See [`AtomSet::memo_stats`].
#[derive(Debug, Default, Clone, Copy)]
struct MemoStats {
    tries: u32,
    hits: u32,
    /// Lookups since the memo was last judged not to pay: after [`MEMO_RETRY`] it is tried again.
    skipped: u32,
}

/// Memo lookups of a field before the memo is judged for it.
const MEMO_PROBATION: u32 = 512;
/// A field's memo lookups must hit at least once in this many.
const MEMO_MIN_HIT_RATIO: u32 = 4;
/// Lookups without the memo before a field is given it again (its values may start repeating).
const MEMO_RETRY: u32 = 1 << 16;

/// One remembered field value (see [`AtomSet::memo`]), inline: a hit reads two or three adjacent
/// cache lines.
#[derive(Debug, Clone, Copy)]
struct MemoSlot {
    hash: u64,
    /// Field index + 1 (0: empty slot).
    index: u32,
    len: u16,
    /// Atoms the `VALUES` lookup marked (the first `values` of `atoms`), then those the `LITERALS`
    /// lookup marked.
    values: u8,
    literals: u8,
    atoms: [u32; MEMO_ATOMS],
    key: [u8; MEMO_KEY],
}

impl Default for MemoSlot {
    fn default() -> Self {
        MemoSlot {
            hash: 0,
            index: 0,
            len: 0,
            values: 0,
            literals: 0,
            atoms: [0; MEMO_ATOMS],
            key: [0; MEMO_KEY],
        }
    }
}

/// Memo slots per scratch (direct-mapped).
const MEMO_SLOTS: usize = 1024;
/// Longer keys are looked up plainly (they repeat less).
const MEMO_KEY: usize = 112;
/// Values marking more atoms are looked up plainly.
const MEMO_ATOMS: usize = 8;

impl AtomSet {
    fn begin(&mut self, index: &AtomIndex) {
        let grow = |v: &mut Vec<u32>, n: usize| {
            if v.len() < n {
                v.resize(n, 0);
            }
        };
        grow(&mut self.stamp, index.keys.len());
        grow(&mut self.part_stamp, index.parts);
        grow(&mut self.done, index.indexes.len() * 2);
        if self.marked.len() < index.indexes.len() * 2 {
            self.marked.resize(index.indexes.len() * 2, (0, 0));
        }
        grow(&mut self.clause_memo, index.clauses.len());
        self.epoch = self.epoch.wrapping_add(1);
        // The clause memo holds `epoch * 2`: restart before it overflows.
        if self.epoch == 0 || self.epoch >= 1 << 31 {
            for v in [
                &mut self.stamp,
                &mut self.part_stamp,
                &mut self.done,
                &mut self.clause_memo,
            ] {
                v.iter_mut().for_each(|s| *s = 0);
            }
            self.epoch = 1;
        }
        self.holding.clear();
        self.undecided.clear();
    }

    #[inline]
    fn mark(&mut self, atom: u32) {
        if let Some(s) = self.stamp.get_mut(atom as usize) {
            if *s != self.epoch {
                *s = self.epoch;
                self.holding.push(atom);
            }
        }
    }

    #[inline]
    fn mark_undecided(&mut self, part: u32) {
        if let Some(s) = self.part_stamp.get_mut(part as usize) {
            if *s != self.epoch {
                *s = self.epoch;
                self.undecided.push(part);
            }
        }
    }

    /// Looks up the values of the indexed `field` (`lookup` as in [`AtomSource::lookup`]).
    fn look_up(&mut self, index: &AtomIndex, lookup: u32, event: &Event) {
        if self.done.get(lookup as usize) == Some(&self.epoch) {
            return;
        }
        if let Some(fi) = index.indexes.get(lookup as usize / 2) {
            self.run_lookup(fi, lookup, event.get(fi.field));
        }
    }

    /// Runs lookup `lookup` of `fi` (its field's) on `value`, noting which atoms it marked.
    #[inline]
    fn run_lookup(&mut self, fi: &FieldIndex, lookup: u32, value: &Value) {
        if let Some(done) = self.done.get_mut(lookup as usize) {
            *done = self.epoch;
        }
        let start = self.holding.len();
        fi.look_up(value, lookup as usize % 2, self);
        if let Some(range) = self.marked.get_mut(lookup as usize) {
            *range = (
                u32::try_from(start).unwrap_or(NONE),
                u32::try_from(self.holding.len()).unwrap_or(NONE),
            );
        }
    }

    /// The memo key of `value` in `self.key`: each string element as its length and bytes, each
    /// null as a marker. `false` when the value's lookups may mark undecided ids (non-ASCII
    /// strings, other kinds of element, literals that could not be indexed), which the memo does
    /// not keep, or when the key is too long.
    fn memo_key(&mut self, fi: &FieldIndex, value: &Value) -> bool {
        if fi.undecidable {
            return false;
        }
        self.key.clear();
        for element in value.elements() {
            match element {
                Value::Null if self.key.len() + 4 <= MEMO_KEY => {
                    self.key.extend_from_slice(&[0xff; 4])
                }
                Value::Str(s) if s.is_ascii() => {
                    let Ok(len) = u32::try_from(s.len()) else {
                        return false;
                    };
                    if self.key.len() + 4 + s.len() > MEMO_KEY {
                        return false;
                    }
                    self.key.extend_from_slice(&len.to_le_bytes());
                    self.key.extend_from_slice(s.as_bytes());
                }
                _ => return false,
            }
        }
        true
    }

    /// Whether to look field index `index` up in the memo (see [`AtomSet::memo_stats`]).
    fn memo_pays(&mut self, index: u32) -> bool {
        let index = index as usize;
        if self.memo_stats.len() <= index {
            self.memo_stats.resize(index + 1, MemoStats::default());
        }
        let Some(stats) = self.memo_stats.get_mut(index) else {
            return false;
        };
        if stats.tries < MEMO_PROBATION
            || stats.hits.saturating_mul(MEMO_MIN_HIT_RATIO) >= stats.tries
        {
            return true;
        }
        stats.skipped += 1;
        if stats.skipped >= MEMO_RETRY {
            *stats = MemoStats::default();
        }
        false
    }

    /// Runs the eager lookups of `fi` (index `index`) on `value`, or replays them from the memo.
    #[inline]
    fn run_eager(&mut self, fi: &FieldIndex, index: u32, value: &Value) {
        let lookups = [VALUES, LITERALS]
            .map(|kind| fi.eager[kind].then_some(index.saturating_mul(2) | kind as u32));
        // Exact constants alone cost a hash (often not even that: lengths rule most values out),
        // no less than the memo's own.
        if !fi.eager[LITERALS] || !self.memo_pays(index) || !self.memo_key(fi, value) {
            for lookup in lookups.into_iter().flatten() {
                self.run_lookup(fi, lookup, value);
            }
            return;
        }
        if self.memo.len() < MEMO_SLOTS {
            self.memo.resize(MEMO_SLOTS, MemoSlot::default());
        }
        let hash = folded_hash(&self.key) ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let at = (hash >> 32) as usize & (MEMO_SLOTS - 1);
        let remembered = self.memo.get(at).and_then(|slot| {
            let hit = slot.index == index + 1
                && slot.hash == hash
                && slot.key.get(..usize::from(slot.len)) == Some(&self.key[..]);
            hit.then_some((slot.atoms, slot.values, slot.literals))
        });
        if let Some(stats) = self.memo_stats.get_mut(index as usize) {
            // Halved now and then: the recent lookups count, and the counts never overflow.
            if stats.tries >= 1 << 20 {
                stats.tries /= 2;
                stats.hits /= 2;
            }
            stats.tries += 1;
            stats.hits += u32::from(remembered.is_some());
        }
        if let Some((atoms, values, literals)) = remembered {
            let split = [
                atoms.get(..usize::from(values)).unwrap_or_default(),
                atoms
                    .get(usize::from(values)..usize::from(values) + usize::from(literals))
                    .unwrap_or_default(),
            ];
            for (lookup, atoms) in lookups.into_iter().zip(split) {
                let Some(lookup) = lookup else { continue };
                if let Some(done) = self.done.get_mut(lookup as usize) {
                    *done = self.epoch;
                }
                let start = self.holding.len();
                for &atom in atoms {
                    self.mark(atom);
                }
                if let Some(range) = self.marked.get_mut(lookup as usize) {
                    *range = (
                        u32::try_from(start).unwrap_or(NONE),
                        u32::try_from(self.holding.len()).unwrap_or(NONE),
                    );
                }
            }
            return;
        }
        let first = self.holding.len();
        let mut counts = [0usize; 2];
        for (count, lookup) in counts.iter_mut().zip(lookups) {
            if let Some(lookup) = lookup {
                let start = self.holding.len();
                self.run_lookup(fi, lookup, value);
                *count = self.holding.len() - start;
            }
        }
        let marked = self.holding.get(first..).unwrap_or_default();
        let (Some(slot), Ok(len), Ok(values), Ok(literals)) = (
            self.memo.get_mut(at),
            u16::try_from(self.key.len()),
            u8::try_from(counts[0]),
            u8::try_from(counts[1]),
        ) else {
            return;
        };
        if let (Some(atoms), Some(key)) = (
            slot.atoms.get_mut(..marked.len()),
            slot.key.get_mut(..self.key.len()),
        ) {
            atoms.copy_from_slice(marked);
            key.copy_from_slice(&self.key);
            slot.hash = hash;
            slot.index = index + 1;
            slot.len = len;
            slot.values = values;
            slot.literals = literals;
        }
    }

    /// Whether `atom` holds, looking its field up first if nothing did yet.
    #[inline]
    fn holds(&mut self, atom: u32, index: &AtomIndex, event: &Event) -> bool {
        if self.stamp.get(atom as usize) == Some(&self.epoch) {
            return true;
        }
        let Some(source) = index.sources.get(atom as usize) else {
            return false;
        };
        if source.part == NONE {
            return false;
        }
        if self.done.get(source.lookup as usize) != Some(&self.epoch) {
            self.look_up(index, source.lookup, event);
            if self.stamp.get(atom as usize) == Some(&self.epoch) {
                return true;
            }
        }
        self.part_stamp.get(source.part as usize) == Some(&self.epoch)
    }

    /// Whether some atom of clause `id` holds (memoised per event).
    #[inline]
    fn clause_holds(&mut self, id: u32, index: &AtomIndex, event: &Event) -> bool {
        let memo = self.clause_memo.get(id as usize).copied().unwrap_or(0);
        if memo >> 1 == self.epoch {
            return memo & 1 == 1;
        }
        let Some(clause) = index.clauses.get(id as usize) else {
            return false;
        };
        let items = |(start, end): (u32, u32)| {
            index
                .clause_items
                .get(start as usize..end as usize)
                .unwrap_or_default()
        };
        let atoms = items(clause.atoms);
        let holds = if atoms.len() <= SCAN_CLAUSE_ATOMS {
            atoms.iter().any(|&a| self.holds(a, index, event))
        } else {
            // Few atoms hold: look those its fields' lookups marked up in the (sorted) clause.
            let mut holds = items(clause.exists)
                .iter()
                .any(|&a| self.stamp.get(a as usize) == Some(&self.epoch));
            for &lookup in items(clause.lookups) {
                if holds {
                    break;
                }
                self.look_up(index, lookup, event);
                let (start, end) = self.marked.get(lookup as usize).copied().unwrap_or((0, 0));
                holds = self
                    .holding
                    .get(start as usize..end as usize)
                    .unwrap_or_default()
                    .iter()
                    .any(|a| atoms.binary_search(a).is_ok());
            }
            holds
                || items(clause.parts)
                    .iter()
                    .any(|&p| self.part_stamp.get(p as usize) == Some(&self.epoch))
        };
        if let Some(m) = self.clause_memo.get_mut(id as usize) {
            *m = self.epoch << 1 | u32::from(holds);
        }
        holds
    }
}

/// (dispatcher id, context-set hash) → (context set, the context gates passing their context
/// clauses) for the sets met so far.
type ContextMemo = AHashMap<(u64, u64), Vec<(Box<[u64]>, Box<[u32]>)>>;

/// Per-thread working memory of [`Dispatcher::candidates`].
#[derive(Debug, Default)]
pub struct DispatchScratch {
    atoms: AtomSet,
    /// The index `atoms` were computed with by [`Dispatcher::prepare`] (held, so that the pointer
    /// cannot be reused by another index while compared).
    prepared: Option<Arc<AtomIndex>>,
    plan_stamp: Vec<u32>,
    plan_epoch: u32,
    /// The event's context set (see [`GroupGates::context_gates`]) and its hash.
    context: Vec<u64>,
    context_hash: u64,
    /// (dispatcher id, context hash) → (context set, the context gates passing their context
    /// clauses).
    context_memo: ContextMemo,
}

impl Dispatcher {
    /// Indexes `plans` (compiled against `table`); candidate numbers are positions in `plans`.
    pub fn new(plans: &[&Plan], table: &FieldTable) -> Dispatcher {
        Dispatcher::shared(&[plans], table)
            .pop()
            .unwrap_or_default()
    }

    /// [`Dispatcher::new`] for plans whose `<category> where` tests `category_field` (a table shared
    /// by rules with different category fields). Each stage's category test names its field itself,
    /// so `category_field` only documents the call.
    pub fn with_category(
        plans: &[&Plan],
        table: &FieldTable,
        category_field: FieldId,
    ) -> Dispatcher {
        let _ = category_field;
        Dispatcher::new(plans, table)
    }

    /// One dispatcher per group of plans (all compiled against `table`), sharing one atom index: the
    /// atoms computed for an event by one of them ([`Dispatcher::prepare`]) serve all.
    pub fn shared(groups: &[&[&Plan]], table: &FieldTable) -> Vec<Dispatcher> {
        let mut builder = Builder {
            table,
            kinds: (0..table.len())
                .map(|i| FieldKind::of(table.path(FieldId(u32::try_from(i).unwrap_or(NONE)))))
                .collect(),
            atoms: AHashMap::new(),
            keys: Vec::new(),
            lenient: AHashSet::new(),
            clause_ids: AHashMap::new(),
            clauses: Vec::new(),
        };
        let staged: Vec<Staged> = groups
            .iter()
            .map(|plans| builder.stage_group(plans))
            .collect();
        let atoms = Arc::new(builder.index(&staged));
        staged
            .into_iter()
            .map(|s| Dispatcher {
                group: GroupGates::new(&atoms, table, s),
                atoms: Arc::clone(&atoms),
                id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            })
            .collect()
    }

    /// How plan `plan` is gated, one line per gate: its primary clause (or, for a context gate, its
    /// context clauses) and its filters, each clause as its first few atoms. For tuning.
    pub fn explain(&self, plan: u32, table: &FieldTable) -> Vec<String> {
        let g = &self.group;
        let a = &*self.atoms;
        let show = |atoms: &[u32]| -> String {
            let shown: Vec<String> = atoms
                .iter()
                .take(4)
                .filter_map(|&atom| a.keys.get(atom as usize))
                .map(|key| {
                    let ci = |ci: &bool| if *ci { "~" } else { "" };
                    match key {
                        AtomKey::Exact {
                            field,
                            ci: c,
                            value,
                        } => {
                            format!("{} =={} {value:?}", table.path(*field), ci(c))
                        }
                        AtomKey::Contains {
                            field,
                            ci: c,
                            literal,
                        } => {
                            format!("{} contains{} {literal:?}", table.path(*field), ci(c))
                        }
                        AtomKey::Exists(field) => format!("{} exists", table.path(*field)),
                    }
                })
                .collect();
            let more = atoms.len().saturating_sub(4);
            match more {
                0 => format!("[{}]", shown.join(" | ")),
                _ => format!("[{} | {more} more]", shown.join(" | ")),
            }
        };
        let filters = |(start, end): (u32, u32)| -> String {
            g.filters
                .get(start as usize..end as usize)
                .unwrap_or_default()
                .iter()
                .filter_map(|&c| a.clauses.get(c as usize))
                .map(|c| {
                    let atoms = a
                        .clause_items
                        .get(c.atoms.0 as usize..c.atoms.1 as usize)
                        .unwrap_or_default();
                    format!(" & {}", show(atoms))
                })
                .collect()
        };
        let mut out = Vec::new();
        for (i, gate) in g.gates.iter().enumerate() {
            if gate.plan != plan {
                continue;
            }
            let i = u32::try_from(i).unwrap_or(NONE);
            let primary: Vec<u32> = (0..u32::try_from(a.keys.len()).unwrap_or(NONE))
                .filter(|&atom| range(&g.posted, &g.post_start, atom).contains(&i))
                .collect();
            out.push(format!("{}{}", show(&primary), filters(gate.filters)));
        }
        let words = a.context_words.max(1);
        for gate in g.context_gates.iter().filter(|c| c.plan == plan) {
            let masks = g
                .context_masks
                .get(gate.masks.0 as usize..gate.masks.1 as usize)
                .unwrap_or_default();
            let clauses: Vec<String> = masks
                .chunks(words)
                .map(|mask| {
                    let atoms: Vec<u32> = (0..u32::try_from(a.keys.len()).unwrap_or(NONE))
                        .filter(|&atom| {
                            let bit = a.context_bit.get(atom as usize).copied().unwrap_or(NONE);
                            mask.get(bit as usize / 64)
                                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
                        })
                        .collect();
                    show(&atoms)
                })
                .collect();
            out.push(format!(
                "context {}{}",
                clauses.join(" & "),
                filters(gate.filters)
            ));
        }
        if g.always.contains(&plan) {
            out.push("every event".to_string());
        }
        out
    }

    /// Number of plans indexed.
    pub fn len(&self) -> usize {
        self.group.plans
    }

    pub fn is_empty(&self) -> bool {
        self.group.plans == 0
    }

    /// Plans every stage of which is anchored on something more than its category.
    pub fn anchored_plans(&self) -> usize {
        self.group.anchored_plans
    }

    /// One line per primary-atom field: how many gates are filed under it; then the sizes of the
    /// index and the plans offered every event. For tuning and diagnostics.
    pub fn describe(&self, _table: &FieldTable) -> Vec<String> {
        let g = &self.group;
        let mut out: Vec<String> = g
            .primary_stats
            .iter()
            .map(|(what, gates)| format!("{what}: {gates} gates"))
            .collect();
        let a = &*self.atoms;
        let eager = |k: usize| a.indexes.iter().filter(|f| f.eager[k]).count();
        out.push(format!(
            "{} gates, {} filters; shared index: {} atoms, {} filter clauses, {} fields looked up \
             per event ({} scanned for literals), {} on demand",
            g.gates.len(),
            g.filters.len(),
            a.keys.len(),
            a.clauses.len(),
            eager(VALUES),
            eager(LITERALS),
            a.indexes
                .iter()
                .filter(|f| !f.eager[VALUES] && !f.eager[LITERALS])
                .count()
        ));
        out.push(format!("unanchored any: {} plans", g.always.len()));
        out
    }

    /// Positions (in the order given to [`Dispatcher::new`]) of the plans `event` may match, ascending.
    /// Every plan some stage of which matches the event is included.
    pub fn candidates(&self, event: &Event, scratch: &mut DispatchScratch, out: &mut Vec<u32>) {
        self.prepare(event, scratch);
        self.collect(event, scratch, out);
    }

    /// Computes which primary atoms hold for `event`, for [`Dispatcher::candidates_prepared`] calls
    /// of this dispatcher and of those built with it by [`Dispatcher::shared`].
    pub fn prepare(&self, event: &Event, scratch: &mut DispatchScratch) {
        let index = &*self.atoms;
        let set = &mut scratch.atoms;
        if !scratch
            .prepared
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &self.atoms))
        {
            // The memo names another index's fields and atoms.
            set.memo.clear();
            set.memo_stats.clear();
        }
        set.begin(index);
        for (field, value) in event.fields() {
            let Some(slot) = index.by_field.get(field.0 as usize) else {
                continue;
            };
            if slot.exists != NONE && value.elements().iter().any(|v| !v.is_null()) {
                set.mark(slot.exists);
            }
            let Some(fi) = index.indexes.get(slot.index as usize) else {
                continue;
            };
            set.run_eager(fi, slot.index, value);
        }
        // Context atoms are all looked up above, so the set is complete here.
        let context = &mut scratch.context;
        context.clear();
        context.resize(index.context_words, 0);
        let mut set_bit = |bit: u32| {
            if let Some(word) = context.get_mut(bit as usize / 64) {
                *word |= 1 << (bit % 64);
            }
        };
        for &atom in &set.holding {
            if let Some(&bit) = index.context_bit.get(atom as usize) {
                if bit != NONE {
                    set_bit(bit);
                }
            }
        }
        for &part in &set.undecided {
            let (start, end) = index
                .part_context
                .get(part as usize)
                .copied()
                .unwrap_or((0, 0));
            for &bit in index
                .part_context_bits
                .get(start as usize..end as usize)
                .unwrap_or_default()
            {
                set_bit(bit);
            }
        }
        scratch.context_hash = context.iter().fold(0u64, |h, &w| {
            (h.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
        });
        if !scratch
            .prepared
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &self.atoms))
        {
            scratch.prepared = Some(Arc::clone(&self.atoms));
        }
    }

    /// The context gates passing their context clauses for the prepared event (remembered per
    /// distinct context set).
    fn passing_context_gates<'s>(
        &self,
        context: &[u64],
        hash: u64,
        memo: &'s mut ContextMemo,
    ) -> &'s [u32] {
        let g = &self.group;
        let key = (self.id, hash);
        if memo.len() >= CONTEXT_MEMO_LIMIT && !memo.contains_key(&key) {
            memo.clear();
        }
        let entries = memo.entry(key).or_default();
        let at = match entries.iter().position(|(set, _)| set.as_ref() == context) {
            Some(at) => at,
            None => {
                let words = self.atoms.context_words.max(1);
                let mut passing: Vec<u32> = Vec::new();
                for (i, gate) in g.context_gates.iter().enumerate() {
                    let masks = g
                        .context_masks
                        .get(gate.masks.0 as usize..gate.masks.1 as usize)
                        .unwrap_or_default();
                    let passes = masks
                        .chunks(words)
                        .all(|mask| mask.iter().zip(context).any(|(m, c)| m & c != 0));
                    if passes {
                        passing.push(u32::try_from(i).unwrap_or(NONE));
                    }
                }
                entries.push((context.into(), passing.into()));
                entries.len() - 1
            }
        };
        entries.get(at).map_or(&[][..], |(_, passing)| passing)
    }

    /// [`Dispatcher::candidates`] for the event last given to [`Dispatcher::prepare`] of this
    /// dispatcher or one sharing its index (`event` must hold the same fields: another group's view of
    /// the same document). Computes the atoms itself when the scratch holds another index's.
    pub fn candidates_prepared(
        &self,
        event: &Event,
        scratch: &mut DispatchScratch,
        out: &mut Vec<u32>,
    ) {
        let ready = scratch
            .prepared
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &self.atoms));
        if !ready {
            self.prepare(event, scratch);
        }
        self.collect(event, scratch, out);
    }

    fn collect(&self, event: &Event, scratch: &mut DispatchScratch, out: &mut Vec<u32>) {
        out.clear();
        let g = &self.group;
        let index = &*self.atoms;
        if scratch.plan_stamp.len() < g.plans {
            scratch.plan_stamp.resize(g.plans, 0);
        }
        scratch.plan_epoch = scratch.plan_epoch.wrapping_add(1);
        if scratch.plan_epoch == 0 {
            scratch.plan_stamp.iter_mut().for_each(|s| *s = 0);
            scratch.plan_epoch = 1;
        }
        let epoch = scratch.plan_epoch;
        let stamps = &mut scratch.plan_stamp;
        let set = &mut scratch.atoms;
        let mut offer = |plan: u32, filters: (u32, u32), set: &mut AtomSet, out: &mut Vec<u32>| {
            let Some(stamp) = stamps.get_mut(plan as usize) else {
                return;
            };
            if *stamp == epoch {
                return;
            }
            let filters = g
                .filters
                .get(filters.0 as usize..filters.1 as usize)
                .unwrap_or_default();
            for &clause in filters {
                if !set.clause_holds(clause, index, event) {
                    return;
                }
            }
            *stamp = epoch;
            out.push(plan);
        };
        if !g.context_gates.is_empty() {
            let passing = self.passing_context_gates(
                &scratch.context,
                scratch.context_hash,
                &mut scratch.context_memo,
            );
            for &gate in passing {
                if let Some(gate) = g.context_gates.get(gate as usize) {
                    offer(gate.plan, gate.filters, set, out);
                }
            }
        }
        let mut consider = |gate: u32, set: &mut AtomSet, out: &mut Vec<u32>| {
            if let Some(gate) = g.gates.get(gate as usize) {
                offer(gate.plan, gate.filters, set, out);
            }
        };
        // Filters may look fields up and so extend both lists; what they add files no gate here
        // (those fields decide no primary atom), but reading by position stays correct either way.
        let mut i = 0;
        while let Some(&atom) = set.holding.get(i) {
            for &gate in range(&g.posted, &g.post_start, atom) {
                consider(gate, set, out);
            }
            i += 1;
        }
        let mut i = 0;
        while let Some(&part) = set.undecided.get(i) {
            for &gate in range(&g.part_posted, &g.part_start, part) {
                consider(gate, set, out);
            }
            i += 1;
        }
        for &plan in &g.always {
            if let Some(stamp) = stamps.get_mut(plan as usize) {
                if *stamp != epoch {
                    *stamp = epoch;
                    out.push(plan);
                }
            }
        }
        out.sort_unstable();
    }
}

/// `items[start[i]..start[i + 1]]`.
#[inline]
fn range<'a>(items: &'a [u32], start: &[u32], i: u32) -> &'a [u32] {
    let i = i as usize;
    match (start.get(i), start.get(i + 1)) {
        (Some(&s), Some(&e)) => items.get(s as usize..e as usize).unwrap_or_default(),
        _ => &[],
    }
}

impl FieldIndex {
    fn new(field: FieldId) -> FieldIndex {
        FieldIndex {
            field,
            parts: [NONE; 2],
            lenient: [false; 2],
            eager: [false; 2],
            by_value: ExactTable::default(),
            value_lengths: (usize::MAX, 0),
            min_literal: usize::MAX,
            automaton: None,
            literals: Vec::new(),
            undecidable: false,
        }
    }

    /// Marks the atoms of one lookup (`VALUES` or `LITERALS`) that the field's `value` decides.
    #[inline]
    fn look_up(&self, value: &Value, kind: usize, set: &mut AtomSet) {
        for element in value.elements() {
            match element {
                Value::Null => {}
                Value::Str(s) => {
                    let ascii = s.is_ascii();
                    if !ascii {
                        // Unicode case folding can turn non-ASCII characters into ASCII ones (K, ſ).
                        set.mark_undecided(self.parts[1]);
                    }
                    if kind == VALUES {
                        self.exact(s, ascii, set);
                    } else {
                        self.contained(s, ascii, set);
                    }
                }
                // Equality, `in` and the string functions never hold on other kinds; `:` matches
                // their string form.
                _ => {
                    for (part, lenient) in self.parts.iter().zip(self.lenient) {
                        if lenient {
                            set.mark_undecided(*part);
                        }
                    }
                }
            }
        }
    }

    #[inline]
    fn exact(&self, s: &str, ascii: bool, set: &mut AtomSet) {
        if s.len() < self.value_lengths.0 || s.len() > self.value_lengths.1 {
            return;
        }
        if let Some(decides) = self.by_value.get(s.as_bytes()) {
            decides.mark(s.as_bytes(), ascii, set);
        }
    }

    #[inline]
    fn contained(&self, s: &str, ascii: bool, set: &mut AtomSet) {
        if self.undecidable {
            for part in self.parts {
                set.mark_undecided(part);
            }
            return;
        }
        if s.len() < self.min_literal {
            return;
        }
        let found = |pattern: usize, text: &[u8]| {
            if let Some(decides) = self.literals.get(pattern) {
                decides.mark(text, ascii, set);
            }
        };
        match &self.automaton {
            Some(Scanner::Dfa(dfa, start)) => scan(dfa, *start, s.as_bytes(), found),
            Some(Scanner::Nfa(nfa, start)) => scan(nfa, *start, s.as_bytes(), found),
            None => {}
        }
    }
}

/// One group's gates before the index exists: (plan, primary clause, filter clause ids).
struct Staged {
    plans: usize,
    gates: Vec<(u32, Clause, Vec<u32>)>,
    /// Context gates: plan, context clauses, filter clause ids.
    context: Vec<(u32, Vec<Clause>, Vec<u32>)>,
    always: Vec<u32>,
    anchored_plans: usize,
}

impl GroupGates {
    fn new(atoms: &AtomIndex, table: &FieldTable, staged: Staged) -> GroupGates {
        let mut g = GroupGates {
            plans: staged.plans,
            always: staged.always,
            anchored_plans: staged.anchored_plans,
            ..GroupGates::default()
        };
        let mut by_atom: Vec<Vec<u32>> = vec![Vec::new(); atoms.keys.len()];
        let mut by_part: Vec<Vec<u32>> = vec![Vec::new(); atoms.parts];
        let mut stats: AHashMap<String, usize> = AHashMap::new();
        for (plan, primary, filters) in staged.gates {
            let gate = u32::try_from(g.gates.len()).unwrap_or(NONE);
            let start = u32::try_from(g.filters.len()).unwrap_or(NONE);
            g.filters.extend(filters);
            let end = u32::try_from(g.filters.len()).unwrap_or(NONE);
            g.gates.push(Gate {
                plan,
                filters: (start, end),
            });
            let mut parts: Vec<u32> = Vec::new();
            for &atom in &primary {
                if let Some(list) = by_atom.get_mut(atom as usize) {
                    list.push(gate);
                }
                if let Some(source) = atoms.sources.get(atom as usize) {
                    if source.part != NONE && !parts.contains(&source.part) {
                        parts.push(source.part);
                    }
                }
            }
            for part in parts {
                if let Some(list) = by_part.get_mut(part as usize) {
                    list.push(gate);
                }
            }
            let what = primary
                .first()
                .and_then(|&a| atoms.keys.get(a as usize))
                .map_or_else(String::new, |k| describe_atom(k, table));
            *stats.entry(what).or_default() += 1;
        }
        let words = atoms.context_words;
        for (plan, clauses, filters) in staged.context {
            let start = u32::try_from(g.context_masks.len()).unwrap_or(NONE);
            for clause in clauses {
                let mut mask = vec![0u64; words];
                for atom in clause {
                    let bit = atoms
                        .context_bit
                        .get(atom as usize)
                        .copied()
                        .unwrap_or(NONE);
                    if let Some(word) = mask.get_mut(bit as usize / 64) {
                        *word |= 1 << (bit % 64);
                    }
                }
                g.context_masks.extend(mask);
            }
            let end = u32::try_from(g.context_masks.len()).unwrap_or(NONE);
            let first = u32::try_from(g.filters.len()).unwrap_or(NONE);
            g.filters.extend(filters);
            let last = u32::try_from(g.filters.len()).unwrap_or(NONE);
            g.context_gates.push(ContextGate {
                plan,
                masks: (start, end),
                filters: (first, last),
            });
            *stats.entry("(context gates)".to_string()).or_default() += 1;
        }
        (g.post_start, g.posted) = flatten(by_atom);
        (g.part_start, g.part_posted) = flatten(by_part);
        let mut stats: Vec<(String, usize)> = stats.into_iter().collect();
        stats.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        g.primary_stats = stats;
        g
    }
}

/// Lists → (start offsets, one more than lists; concatenation).
fn flatten(lists: Vec<Vec<u32>>) -> (Vec<u32>, Vec<u32>) {
    let mut start = Vec::with_capacity(lists.len() + 1);
    let mut all = Vec::new();
    start.push(0);
    for list in lists {
        all.extend(list);
        start.push(u32::try_from(all.len()).unwrap_or(NONE));
    }
    (start, all)
}

fn describe_atom(key: &AtomKey, table: &FieldTable) -> String {
    let ci = |ci: &bool| if *ci { " (ci)" } else { "" };
    match key {
        AtomKey::Exact { field, ci: c, .. } => {
            format!("{}{} (exact)", table.path(*field), ci(c))
        }
        AtomKey::Contains { field, ci: c, .. } => {
            format!("{}{} (contains)", table.path(*field), ci(c))
        }
        AtomKey::Exists(field) => format!("{} (exists)", table.path(*field)),
    }
}

/// How many distinct values a field has, roughly (for [`Builder::weight`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Low,
    Medium,
    /// Argument lists: many values per event, some (`-c`, `/c`) very common.
    Args,
    Other,
}

impl FieldKind {
    fn of(path: &str) -> FieldKind {
        if LOW_CARDINALITY_FIELDS.contains(&path) {
            FieldKind::Low
        } else if MEDIUM_CARDINALITY_FIELDS.contains(&path) {
            FieldKind::Medium
        } else if path.ends_with(".args") {
            FieldKind::Args
        } else {
            FieldKind::Other
        }
    }
}

/// Reads clauses from conditions and interns their atoms and filter clauses.
struct Builder<'t> {
    table: &'t FieldTable,
    /// Per field id.
    kinds: Vec<FieldKind>,
    atoms: AHashMap<AtomKey, u32>,
    keys: Vec<AtomKey>,
    /// Index parts a `:` pattern reads (see [`FieldIndex::lenient`]).
    lenient: AHashSet<(FieldId, bool)>,
    clause_ids: AHashMap<Clause, u32>,
    clauses: Vec<Clause>,
}

impl Builder<'_> {
    fn intern(&mut self, key: AtomKey, lenient: bool) -> u32 {
        if lenient {
            if let Some(k) = key.index_key() {
                self.lenient.insert(k);
            }
        }
        if let Some(&atom) = self.atoms.get(&key) {
            return atom;
        }
        let atom = u32::try_from(self.keys.len()).unwrap_or(NONE);
        self.keys.push(key.clone());
        self.atoms.insert(key, atom);
        atom
    }

    fn intern_clause(&mut self, clause: Clause) -> u32 {
        if let Some(&id) = self.clause_ids.get(&clause) {
            return id;
        }
        let id = u32::try_from(self.clauses.len()).unwrap_or(NONE);
        self.clauses.push(clause.clone());
        self.clause_ids.insert(clause, id);
        id
    }

    /// The gates of one group's plans.
    fn stage_group(&mut self, plans: &[&Plan]) -> Staged {
        let mut staged = Staged {
            plans: plans.len(),
            gates: Vec::new(),
            context: Vec::new(),
            always: Vec::new(),
            anchored_plans: 0,
        };
        for (plan_index, plan) in plans.iter().enumerate() {
            let plan_index = u32::try_from(plan_index).unwrap_or(NONE);
            let mut anchored = true;
            for predicate in plan.stage_predicates() {
                let mut clauses = self.necessary(&predicate.condition);
                anchored &= !clauses.is_empty();
                // The category test is `==` on the predicate's own category field.
                if let Some((field, category)) = &predicate.category {
                    let atom = self.intern(
                        AtomKey::Exact {
                            field: *field,
                            ci: false,
                            value: category.as_ref().into(),
                        },
                        false,
                    );
                    clauses.push(vec![atom]);
                }
                if clauses.iter().any(Vec::is_empty) {
                    // The stage can never match (a constant false or null condition).
                    continue;
                }
                self.order(&mut clauses);
                clauses.dedup();
                if self.is_context_gate(&clauses) {
                    let (context, others): (Vec<Clause>, Vec<Clause>) = clauses
                        .into_iter()
                        .partition(|c| c.iter().all(|&a| self.is_context_atom(a)));
                    let filters = others
                        .into_iter()
                        .take(MAX_FILTERS)
                        .map(|c| self.intern_clause(c))
                        .collect();
                    staged.context.push((plan_index, context, filters));
                    continue;
                }
                let mut clauses = clauses.into_iter();
                match clauses.next() {
                    None => staged.always.push(plan_index),
                    Some(primary) => {
                        let filters: Vec<u32> = clauses
                            .take(MAX_FILTERS)
                            .map(|c| self.intern_clause(c))
                            .collect();
                        staged.gates.push((plan_index, primary, filters));
                    }
                }
            }
            staged.anchored_plans += usize::from(anchored);
        }
        staged.always.dedup();
        staged
    }

    /// Common tests: low-cardinality equality and field presence.
    fn is_context_atom(&self, atom: u32) -> bool {
        match self.keys.get(atom as usize) {
            Some(AtomKey::Exists(_)) => true,
            Some(AtomKey::Exact { .. }) => self.weight(atom).0 >= 0.1,
            _ => false,
        }
    }

    /// A gate (its clauses, most selective first) that would be visited for many events, its best
    /// clause testing common things.
    fn is_context_gate(&self, clauses: &[Clause]) -> bool {
        clauses.first().is_some_and(|primary| {
            self.clause_weight(primary) >= CONTEXT_WEIGHT
                && primary.iter().all(|&a| self.is_context_atom(a))
        })
    }

    /// Clauses all of which hold whenever `expr` matches.
    fn necessary(&mut self, expr: &CompiledExpr) -> Vec<Clause> {
        self.clauses(expr, expr.root, 0)
    }

    fn clauses(&mut self, expr: &CompiledExpr, id: NodeId, depth: usize) -> Vec<Clause> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        match expr.nodes.get(id as usize) {
            Some(Node::And(a, b)) => {
                let mut left = self.clauses(expr, *a, depth + 1);
                left.extend(self.clauses(expr, *b, depth + 1));
                self.trim(&mut left, MAX_CLAUSES);
                left
            }
            Some(Node::Or(a, b)) => {
                let mut left = self.clauses(expr, *a, depth + 1);
                if left.is_empty() {
                    return left;
                }
                let mut right = self.clauses(expr, *b, depth + 1);
                if right.is_empty() {
                    return right;
                }
                // Keep the product small: the most selective clauses of each side.
                let (mut keep_left, mut keep_right) = (left.len(), right.len());
                while keep_left * keep_right > MAX_CLAUSES {
                    if keep_left >= keep_right {
                        keep_left -= 1;
                    } else {
                        keep_right -= 1;
                    }
                }
                self.trim(&mut left, keep_left);
                self.trim(&mut right, keep_right);
                let mut out = Vec::with_capacity(left.len() * right.len());
                for l in &left {
                    for r in &right {
                        let mut c: Clause = l.iter().chain(r).copied().collect();
                        self.simplify(&mut c);
                        if c.len() <= MAX_CLAUSE_ATOMS {
                            out.push(c);
                        }
                    }
                }
                out
            }
            Some(Node::Not(a)) => match expr.nodes.get(*a as usize) {
                Some(Node::Not(inner)) => self.clauses(expr, *inner, depth + 1),
                _ => Vec::new(),
            },
            Some(Node::Lit(v)) => {
                if v.as_bool() == Some(true) {
                    Vec::new()
                } else {
                    vec![Vec::new()]
                }
            }
            Some(Node::Leaf { expr: inner, .. }) => match self.leaf(expr, *inner) {
                Some(mut clause) => {
                    self.simplify(&mut clause);
                    if clause.len() <= MAX_CLAUSE_ATOMS {
                        vec![clause]
                    } else {
                        Vec::new()
                    }
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// The atoms one of which holds whenever the leaf does, if there are such.
    fn leaf(&mut self, expr: &CompiledExpr, id: NodeId) -> Option<Clause> {
        let node = expr.nodes.get(id as usize)?;
        let exists =
            |b: &mut Self, field: FieldId| Some(vec![b.intern(AtomKey::Exists(field), false)]);
        match node {
            Node::Cmp { op, kind, lhs, rhs } => {
                let field = field_of(expr, *lhs)?;
                match (op, kind, expr.nodes.get(*rhs as usize)?) {
                    // `==` on strings is exact (code points); a non-string value never equals a string.
                    (CmpOp::Eq, CmpKind::Plain, Node::Lit(Value::Str(s))) => {
                        let key = AtomKey::Exact {
                            field,
                            ci: false,
                            value: Box::from(s.as_ref()),
                        };
                        Some(vec![self.intern(key, false)])
                    }
                    // A comparison with null on either side is null.
                    (_, _, Node::Lit(v)) if !v.is_null() => exists(self, field),
                    _ => None,
                }
            }
            Node::In { lhs, set } => {
                let field = field_of(expr, *lhs)?;
                let only_strings = set.ints.is_empty()
                    && set.floats.is_empty()
                    && !set.bools[0]
                    && !set.bools[1]
                    && !set.kind_ip;
                if !only_strings {
                    // `in` is null on null.
                    return exists(self, field);
                }
                let ci = set.case_insensitive;
                let mut clause = Vec::with_capacity(set.strings.len());
                for s in &set.strings {
                    let value = fold(s, ci);
                    clause.push(self.intern(AtomKey::Exact { field, ci, value }, false));
                }
                Some(clause)
            }
            Node::Match { lhs, matcher } => {
                let field = field_of(expr, *lhs)?;
                let usable = matcher.literals().filter(|(_, contains, _)| {
                    contains.iter().all(|l| l.len() >= MIN_CONTAINED_LITERAL)
                });
                let Some((values, contains, ci)) = usable else {
                    // A pattern is null on null.
                    return Some(vec![self.intern(AtomKey::Exists(field), true)]);
                };
                let mut clause = Vec::with_capacity(values.len() + contains.len());
                for v in values {
                    let key = AtomKey::Exact {
                        field,
                        ci,
                        value: fold(v, ci),
                    };
                    clause.push(self.intern(key, true));
                }
                for l in contains {
                    let key = AtomKey::Contains {
                        field,
                        ci,
                        literal: fold(l, ci),
                    };
                    clause.push(self.intern(key, true));
                }
                Some(clause)
            }
            Node::IsNotNull(arg) => exists(self, field_of(expr, *arg)?),
            Node::Call {
                func,
                case_insensitive,
                args,
            } => {
                let field = field_of(expr, *args.first()?)?;
                match func {
                    // Null unless the first argument is a string.
                    Func::StartsWith | Func::EndsWith | Func::StringContains => {
                        let literal = match args.get(1).and_then(|a| expr.nodes.get(*a as usize)) {
                            Some(Node::Lit(Value::Str(s))) if s.len() >= MIN_CONTAINED_LITERAL => s,
                            _ => return exists(self, field),
                        };
                        // The functions compare Unicode-lowercased strings when case-insensitive.
                        let literal: Box<str> = if *case_insensitive {
                            literal.to_lowercase().into()
                        } else {
                            literal.as_str().into()
                        };
                        let key = AtomKey::Contains {
                            field,
                            ci: *case_insensitive,
                            literal,
                        };
                        Some(vec![self.intern(key, false)])
                    }
                    Func::CidrMatch => exists(self, field),
                    _ => None,
                }
            }
            Node::DateCmp { lhs, .. } | Node::DateIn { lhs, .. } => {
                exists(self, field_of(expr, *lhs)?)
            }
            _ => None,
        }
    }

    /// Sorts, removes duplicates and atoms implied by an `Exists` of their field in the clause.
    fn simplify(&self, clause: &mut Clause) {
        clause.sort_unstable();
        clause.dedup();
        let exists: Vec<FieldId> = clause
            .iter()
            .filter_map(|&a| match self.keys.get(a as usize) {
                Some(AtomKey::Exists(f)) => Some(*f),
                _ => None,
            })
            .collect();
        if !exists.is_empty() {
            clause.retain(|&a| match self.keys.get(a as usize) {
                Some(k @ (AtomKey::Exact { .. } | AtomKey::Contains { .. })) => {
                    !exists.contains(&k.field())
                }
                _ => true,
            });
        }
    }

    /// Estimated share of events an atom holds for, and a bound on the share of a disjunction of
    /// such atoms on the same field (static guesses from the field's kind: a field has one value or
    /// a few, so a long list of names is not much likelier to hold than a short one).
    fn weight(&self, atom: u32) -> (f64, f64) {
        let Some(key) = self.keys.get(atom as usize) else {
            return (1.0, 1.0);
        };
        let kind = self
            .kinds
            .get(key.field().0 as usize)
            .copied()
            .unwrap_or(FieldKind::Other);
        let low = kind == FieldKind::Low;
        let medium = kind == FieldKind::Medium;
        let args = kind == FieldKind::Args;
        match key {
            AtomKey::Exact { .. } if low => (0.3, 1.0),
            AtomKey::Exact { .. } if medium => (0.1, 0.6),
            AtomKey::Exact { .. } if args => (0.03, 0.3),
            AtomKey::Exact { .. } => (0.005, 0.08),
            AtomKey::Contains { literal, .. } => {
                let base: f64 = match literal.len() {
                    0..=3 => 0.15,
                    4..=5 => 0.06,
                    6..=9 => 0.03,
                    _ => 0.015,
                };
                if low || medium || args {
                    ((base * 3.0).min(1.0), 1.0)
                } else {
                    (base, 0.15)
                }
            }
            AtomKey::Exists(_) if low || medium => (1.0, 1.0),
            AtomKey::Exists(_) => (0.6, 0.6),
        }
    }

    fn clause_weight(&self, clause: &Clause) -> f64 {
        // Sum per (field, kind of test), each bounded; atoms are few kinds of few fields.
        let mut sums: Vec<((FieldId, u8), f64, f64)> = Vec::new();
        for &atom in clause {
            let Some(key) = self.keys.get(atom as usize) else {
                continue;
            };
            let kind = match key {
                AtomKey::Exact { .. } => 0u8,
                AtomKey::Contains { .. } => 1,
                AtomKey::Exists(_) => 2,
            };
            let (w, cap) = self.weight(atom);
            match sums.iter_mut().find(|(k, _, _)| *k == (key.field(), kind)) {
                Some((_, sum, _)) => *sum += w,
                None => sums.push(((key.field(), kind), w, cap)),
            }
        }
        sums.iter()
            .map(|(_, sum, cap)| sum.min(*cap))
            .sum::<f64>()
            .min(1.0)
    }

    /// Most selective first (ties: fewer atoms).
    fn order(&self, clauses: &mut [Clause]) {
        let mut keyed: Vec<(f64, usize, Clause)> = clauses
            .iter_mut()
            .map(|c| (self.clause_weight(c), c.len(), std::mem::take(c)))
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (slot, (_, _, c)) in clauses.iter_mut().zip(keyed) {
            *slot = c;
        }
    }

    /// Keeps the `n` most selective clauses (dropping clauses only weakens the condition).
    fn trim(&self, clauses: &mut Vec<Clause>, n: usize) {
        if clauses.len() > n {
            self.order(clauses);
            clauses.truncate(n);
        }
    }

    /// Builds the lookup structures of the interned atoms; the lookups of fields that decide some
    /// gate's primary atom run for every event, the others when a filter asks.
    fn index(self, staged: &[Staged]) -> AtomIndex {
        let mut index = AtomIndex {
            sources: vec![
                AtomSource {
                    part: NONE,
                    lookup: NONE,
                };
                self.keys.len()
            ],
            by_field: vec![EMPTY_SLOT; self.table.len()],
            ..AtomIndex::default()
        };
        // Per index: folded literal → position in its `literals`; folded constant → what it decides.
        let mut literal_of: Vec<AHashMap<Box<str>, usize>> = Vec::new();
        let mut values_of: Vec<AHashMap<Box<str>, Decides>> = Vec::new();
        for (atom, key) in self.keys.iter().enumerate() {
            let atom = u32::try_from(atom).unwrap_or(NONE);
            let field = key.field();
            if index.by_field.len() <= field.0 as usize {
                index.by_field.resize(field.0 as usize + 1, EMPTY_SLOT);
            }
            let Some(slot) = index.by_field.get_mut(field.0 as usize) else {
                continue;
            };
            let Some((_, ci)) = key.index_key() else {
                slot.exists = atom;
                continue;
            };
            if slot.index == NONE {
                slot.index = u32::try_from(index.indexes.len()).unwrap_or(NONE);
                index.indexes.push(FieldIndex::new(field));
                literal_of.push(AHashMap::new());
                values_of.push(AHashMap::new());
            }
            let (Some(fi), Some(literal_of), Some(values_of)) = (
                index.indexes.get_mut(slot.index as usize),
                literal_of.get_mut(slot.index as usize),
                values_of.get_mut(slot.index as usize),
            ) else {
                continue;
            };
            let side = usize::from(ci);
            let kind = match key {
                AtomKey::Contains { .. } => LITERALS,
                _ => VALUES,
            };
            if let (Some(part), Some(lenient), Some(source)) = (
                fi.parts.get_mut(side),
                fi.lenient.get_mut(side),
                index.sources.get_mut(atom as usize),
            ) {
                if *part == NONE {
                    *part = u32::try_from(index.parts).unwrap_or(NONE);
                    index.parts += 1;
                }
                *lenient |= self.lenient.contains(&(field, ci));
                *source = AtomSource {
                    part: *part,
                    lookup: slot.index.saturating_mul(2).saturating_add(kind as u32),
                };
            }
            match key {
                AtomKey::Exact { value, .. } => {
                    fi.value_lengths.0 = fi.value_lengths.0.min(value.len());
                    fi.value_lengths.1 = fi.value_lengths.1.max(value.len());
                }
                AtomKey::Contains { literal, .. } => {
                    fi.min_literal = fi.min_literal.min(literal.len())
                }
                AtomKey::Exists(_) => {}
            }
            let (decides, text) = match key {
                AtomKey::Exact { value, .. } => (
                    values_of
                        .entry(value.to_ascii_lowercase().into())
                        .or_default(),
                    value,
                ),
                AtomKey::Contains { literal, .. } => {
                    let folded: Box<str> = literal.to_ascii_lowercase().into();
                    let at = *literal_of.entry(folded).or_insert_with(|| {
                        fi.literals.push(Decides::default());
                        fi.literals.len() - 1
                    });
                    let Some(decides) = fi.literals.get_mut(at) else {
                        continue;
                    };
                    (decides, literal)
                }
                AtomKey::Exists(_) => continue,
            };
            if ci {
                decides.insensitive = atom;
            } else {
                decides.sensitive.push((text.clone(), atom));
            }
        }
        index.context_bit = vec![NONE; self.keys.len()];
        let mut bits = 0u32;
        let context_atoms = staged
            .iter()
            .flat_map(|s| &s.context)
            .flat_map(|(_, clauses, _)| clauses.iter().flatten());
        for &atom in context_atoms {
            if let Some(bit) = index.context_bit.get_mut(atom as usize) {
                if *bit == NONE {
                    *bit = bits;
                    bits += 1;
                }
            }
        }
        index.context_words = (bits as usize).div_ceil(64);
        let mut part_bits: Vec<Vec<u32>> = vec![Vec::new(); index.parts];
        for (atom, &bit) in index.context_bit.iter().enumerate() {
            if let (true, Some(source)) = (bit != NONE, index.sources.get(atom)) {
                if let Some(list) = part_bits.get_mut(source.part as usize) {
                    list.push(bit);
                }
            }
        }
        (index.part_context, index.part_context_bits) = {
            let (start, all) = flatten(part_bits);
            (start.windows(2).map(|w| (w[0], w[1])).collect(), all)
        };
        // Lookups deciding a primary or a context atom run for every event.
        let primary_atoms = staged
            .iter()
            .flat_map(|s| &s.gates)
            .flat_map(|gate| gate.1.iter());
        let context_atoms = (0..index.context_bit.len())
            .filter(|&a| index.context_bit.get(a).is_some_and(|&b| b != NONE))
            .map(|a| u32::try_from(a).unwrap_or(NONE))
            .collect::<Vec<u32>>();
        for &atom in primary_atoms.chain(context_atoms.iter()) {
            let Some(source) = index.sources.get(atom as usize) else {
                continue;
            };
            let (i, kind) = (source.lookup as usize / 2, source.lookup as usize % 2);
            if let Some(eager) = index
                .indexes
                .get_mut(i)
                .and_then(|fi| fi.eager.get_mut(kind))
            {
                *eager = true;
            }
        }
        for (fi, values) in index.indexes.iter_mut().zip(values_of) {
            fi.by_value = ExactTable::new(values);
        }
        for (fi, literal_of) in index.indexes.iter_mut().zip(literal_of) {
            if literal_of.is_empty() {
                continue;
            }
            let mut patterns: Vec<(Box<str>, usize)> = literal_of.into_iter().collect();
            patterns.sort_by_key(|(_, at)| *at);
            let patterns = patterns.iter().map(|(l, _)| l.as_bytes());
            // Every literal is searched ASCII-case-insensitively: a necessary condition for both
            // kinds of atom (case-sensitive ones are confirmed on the matched text).
            let built = if fi.eager[LITERALS] {
                DFA::builder()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .start_kind(StartKind::Unanchored)
                    .prefilter(false)
                    .build(patterns)
                    .ok()
                    .and_then(|dfa| {
                        let start = dfa.start_state(Anchored::No).ok()?;
                        Some(Scanner::Dfa(dfa, start))
                    })
            } else {
                contiguous::NFA::builder()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(true)
                    .prefilter(false)
                    .build(patterns)
                    .ok()
                    .and_then(|nfa| {
                        let start = nfa.start_state(Anchored::No).ok()?;
                        Some(Scanner::Nfa(nfa, start))
                    })
            };
            match built {
                Some(automaton) => fi.automaton = Some(automaton),
                // Cannot search the literals: every atom of the field holds for every string.
                None => {
                    fi.undecidable = true;
                    fi.eager = [true; 2];
                }
            }
        }
        for clause in self.clauses {
            let items = &mut index.clause_items;
            let mut push = |list: &mut dyn Iterator<Item = u32>| {
                let start = u32::try_from(items.len()).unwrap_or(NONE);
                items.extend(list);
                (start, u32::try_from(items.len()).unwrap_or(NONE))
            };
            let (mut lookups, mut parts, mut exists) = (Vec::new(), Vec::new(), Vec::new());
            if clause.len() > SCAN_CLAUSE_ATOMS {
                for &atom in &clause {
                    match index.sources.get(atom as usize) {
                        Some(source) if source.part != NONE => {
                            lookups.push(source.lookup);
                            parts.push(source.part);
                        }
                        _ => exists.push(atom),
                    }
                }
                lookups.sort_unstable();
                lookups.dedup();
                parts.sort_unstable();
                parts.dedup();
            }
            index.clauses.push(ClauseInfo {
                atoms: push(&mut clause.into_iter()),
                lookups: push(&mut lookups.into_iter()),
                parts: push(&mut parts.into_iter()),
                exists: push(&mut exists.into_iter()),
            });
        }
        index.keys = self.keys;
        index
    }
}

/// The field a bare `field` or `field[i]` reads (either way, any value it yields is one of the field's).
fn field_of(expr: &CompiledExpr, id: NodeId) -> Option<FieldId> {
    match expr.nodes.get(id as usize)? {
        Node::Field { id: field, .. } => Some(*field),
        _ => None,
    }
}

/// Constants as the index stores them: ASCII-lowercased when case-insensitive. Case-insensitive
/// constants come Unicode-lowercased already (as the evaluator compares them with a lowercased value);
/// an ASCII value lowercases the ASCII way, so a constant with other characters left can only match
/// a non-ASCII value — and those are never decided (see [`FieldIndex::look_up`]).
fn fold(s: &str, ci: bool) -> Box<str> {
    if ci {
        s.to_ascii_lowercase().into_boxed_str()
    } else {
        Box::from(s)
    }
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
        r#"process where host.os.type == "windows" and event.type == "start" and process.executable : "?:\\Windows\\*""#,
        r#"process where startsWith~(process.name, "POWER") and stringContains(process.command_line, "-nop")"#,
        r#"network where cidrMatch(source.ip, "10.0.0.0/8") and destination.port > 1000"#,
        r#"process where process.pid != null and user.name : "ÜBER*""#,
        r#"any where event.code : "4624""#,
        r#"process where (process.name == "a" and user.name == "x") or (process.name == "b" and user.name == "y")"#,
        r#"process where process.pe.original_file_name == "x.exe" and process.name in ("n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11", "ls")"#,
        r#"process where false"#,
        r#"any where true"#,
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
        r#"{"@timestamp":11,"event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"windows"}},"process":{"name":"PowerShell.exe","executable":"C:\\Windows\\System32\\powershell.exe","command_line":"powershell -nop -enc AA","pid":4}}"#,
        r#"{"@timestamp":12,"event":{"category":["network"]},"source":{"ip":"10.1.2.3"},"destination":{"port":8080}}"#,
        r#"{"@timestamp":13,"event":{"category":["process"],"code":4624},"process":{"pid":1},"user":{"name":"über-admin"}}"#,
        r#"{"@timestamp":14,"event":{"category":["process"]},"process":{"name":"b","pe":{"original_file_name":"x.exe"}},"user":{"name":["q","y"]}}"#,
        r#"{"@timestamp":15,"event":{"category":["process"]},"process":{"name":"ls","pe":{"original_file_name":"x.exe"}}}"#,
        r#"{"@timestamp":16,"event":{"category":["process"],"type":["start"]},"host":{"os":{"type":"windows"}},"process":{"name":"\u212Aat.exe","executable":"D:\\Windows\\k.exe"},"user":{"name":"\u00dcber"}}"#,
    ];

    fn compile(queries: &[&str], table: &mut FieldTable) -> Vec<Plan> {
        let schema = Schema::ecs();
        queries
            .iter()
            .map(|q| {
                let ast = eql::parse(q).unwrap();
                crate::compile(&ast, &schema, &QueryOptions::default(), table).unwrap()
            })
            .collect()
    }

    fn matches_a_stage(plan: &Plan, event: &Event) -> bool {
        plan.stage_predicates().iter().any(|p| p.matches(event))
    }

    /// Checks that every plan a stage of which matches `event` is offered; returns the candidates.
    fn checked(
        dispatcher: &Dispatcher,
        plans: &[Plan],
        event: &Event,
        scratch: &mut DispatchScratch,
    ) -> Vec<u32> {
        let mut out = Vec::new();
        dispatcher.candidates(event, scratch, &mut out);
        assert!(out.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        for (i, plan) in plans.iter().enumerate() {
            if matches_a_stage(plan, event) {
                assert!(
                    out.contains(&(i as u32)),
                    "plan {i} matches but is not offered: {}",
                    event.raw
                );
            }
        }
        out
    }

    #[test]
    fn candidates_include_every_plan_a_stage_of_which_matches() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let plans = compile(QUERIES, &mut table);
        let refs: Vec<&Plan> = plans.iter().collect();
        let dispatcher = Dispatcher::new(&refs, &table);
        assert!(dispatcher.anchored_plans() >= 15);
        let mut scratch = DispatchScratch::default();
        let (mut skipped, mut matched) = (0, 0);
        // Twice: the second pass answers context gates from the scratch's memo.
        for _ in 0..2 {
            for text in EVENTS {
                let event = table.parse_event(text, &EventOptions::default()).unwrap();
                let out = checked(&dispatcher, &plans, &event, &mut scratch);
                skipped += plans.len() - out.len();
                matched += plans.iter().filter(|p| matches_a_stage(p, &event)).count();
            }
        }
        assert!(matched > EVENTS.len(), "the events exercise the plans");
        // The index must actually skip work, not offer everything.
        assert!(
            skipped > EVENTS.len() * 2 * (QUERIES.len() - 5),
            "skipped only {skipped}"
        );
    }

    const UNTIMED: EventOptions = EventOptions {
        require_timestamp: false,
    };

    /// (query, events its condition holds for: offered, events the index must rule out).
    const ANCHOR_KINDS: &[(&str, &[&str], &[&str])] = &[
        // Exact, case-sensitive: `==`, `in`.
        (
            r#"process where process.name == "cmd.exe""#,
            &[r#"{"event":{"category":"process"},"process":{"name":"cmd.exe"}}"#],
            &[
                r#"{"event":{"category":"process"},"process":{"name":"CMD.EXE"}}"#,
                r#"{"event":{"category":"process"},"process":{"name":7}}"#,
                r#"{"event":{"category":"file"},"process":{"name":"cmd.exe"}}"#,
            ],
        ),
        // Exact, case-insensitive: `in~`, `:` without wildcards.
        (
            r#"process where process.name in~ ("CMD.exe", "pwsh.EXE") or process.name : "Bash""#,
            &[
                r#"{"event":{"category":"process"},"process":{"name":"cmd.EXE"}}"#,
                r#"{"event":{"category":"process"},"process":{"name":["x","PWSH.exe"]}}"#,
                r#"{"event":{"category":"process"},"process":{"name":"BASH"}}"#,
            ],
            &[r#"{"event":{"category":"process"},"process":{"name":"cmd.exe.bak"}}"#],
        ),
        // Contained literal of a glob, both cases.
        (
            r#"process where process.command_line : "*-EncodedCommand *" and process.args : "*.ps1""#,
            &[
                r#"{"event":{"category":"process"},"process":{"command_line":"x -encodedcommand a","args":["b.PS1"]}}"#,
            ],
            &[
                r#"{"event":{"category":"process"},"process":{"command_line":"x -enc a","args":["b.PS1"]}}"#,
                r#"{"event":{"category":"process"},"process":{"command_line":"x -encodedcommand a","args":["b.ps2"]}}"#,
            ],
        ),
        (
            r#"process where process.executable like "*\\Temp\\*""#,
            &[r#"{"event":{"category":"process"},"process":{"executable":"C:\\Temp\\x.exe"}}"#],
            &[r#"{"event":{"category":"process"},"process":{"executable":"C:\\TEMP\\x.exe"}}"#],
        ),
        // String functions.
        (
            r#"process where startsWith~(process.name, "POWER") and endsWith(process.name, ".exe") and stringContains(process.command_line, "-nop")"#,
            &[
                r#"{"event":{"category":"process"},"process":{"name":"powershell.exe","command_line":"a -nop"}}"#,
            ],
            &[
                r#"{"event":{"category":"process"},"process":{"name":"powershell.EXE","command_line":"a -nop"}}"#,
                r#"{"event":{"category":"process"},"process":{"name":"powershell.exe","command_line":"a -NOP"}}"#,
            ],
        ),
        // Field presence: comparisons, `cidrMatch`, `!= null`, patterns without a usable literal.
        (
            r#"network where destination.port > 1000 and cidrMatch(source.ip, "10.0.0.0/8") and process.pid != null and process.name : "?sh""#,
            &[
                r#"{"event":{"category":"network"},"destination":{"port":8080},"source":{"ip":"10.1.1.1"},"process":{"pid":1,"name":"zsh"}}"#,
            ],
            &[
                r#"{"event":{"category":"network"},"source":{"ip":"10.1.1.1"},"process":{"pid":1,"name":"zsh"}}"#,
                r#"{"event":{"category":"network"},"destination":{"port":8080},"process":{"pid":1,"name":"zsh"}}"#,
                r#"{"event":{"category":"network"},"destination":{"port":8080},"source":{"ip":"10.1.1.1"},"process":{"name":"zsh"}}"#,
                r#"{"event":{"category":"network"},"destination":{"port":8080},"source":{"ip":"10.1.1.1"},"process":{"pid":1}}"#,
            ],
        ),
        // Several clauses of a conjunction must hold together.
        (
            r#"process where process.name == "a" and user.name == "b" and host.os.type == "linux""#,
            &[
                r#"{"event":{"category":"process"},"process":{"name":"a"},"user":{"name":"b"},"host":{"os":{"type":"linux"}}}"#,
            ],
            &[
                r#"{"event":{"category":"process"},"process":{"name":"a"},"user":{"name":"c"},"host":{"os":{"type":"linux"}}}"#,
                r#"{"event":{"category":"process"},"process":{"name":"a"},"user":{"name":"b"},"host":{"os":{"type":"macos"}}}"#,
                r#"{"event":{"category":"process"},"process":{"name":"z"},"user":{"name":"b"},"host":{"os":{"type":"linux"}}}"#,
            ],
        ),
        // An `or` of conjunctions: every pairing of their clauses.
        (
            r#"process where (process.name == "a" and user.name == "x") or (process.name == "b" and user.name == "y")"#,
            &[
                r#"{"event":{"category":"process"},"process":{"name":"a"},"user":{"name":"x"}}"#,
                r#"{"event":{"category":"process"},"process":{"name":"b"},"user":{"name":["q","y"]}}"#,
            ],
            &[
                r#"{"event":{"category":"process"},"process":{"name":"a"},"user":{"name":"z"}}"#,
                r#"{"event":{"category":"process"},"process":{"name":"c"},"user":{"name":"x"}}"#,
            ],
        ),
        // A long filter clause (looked up among the atoms that hold).
        (
            r#"process where process.pe.original_file_name == "x.exe" and process.name in ("n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11", "ls")"#,
            &[
                r#"{"event":{"category":"process"},"process":{"name":"ls","pe":{"original_file_name":"x.exe"}}}"#,
            ],
            &[
                r#"{"event":{"category":"process"},"process":{"name":"cat","pe":{"original_file_name":"x.exe"}}}"#,
            ],
        ),
        // A context gate: common tests only (the `?` pattern contributes presence).
        (
            r#"process where host.os.type == "windows" and event.type == "start" and process.executable : "?:\\Windows\\*""#,
            &[
                r#"{"event":{"category":"process","type":"start"},"host":{"os":{"type":"windows"}},"process":{"executable":"C:\\Windows\\a.exe"}}"#,
            ],
            &[
                r#"{"event":{"category":"process","type":"start"},"host":{"os":{"type":"linux"}},"process":{"executable":"C:\\Windows\\a.exe"}}"#,
                r#"{"event":{"category":"process","type":"end"},"host":{"os":{"type":"windows"}},"process":{"executable":"C:\\Windows\\a.exe"}}"#,
                r#"{"event":{"category":"process","type":"start"},"host":{"os":{"type":"windows"}}}"#,
            ],
        ),
        // Category only, and a condition that never holds.
        (
            r#"file where true"#,
            &[r#"{"event":{"category":["process","file"]}}"#],
            &[
                r#"{"event":{"category":"process"}}"#,
                r#"{"file":{"path":"x"}}"#,
            ],
        ),
        (
            r#"process where false"#,
            &[],
            &[r#"{"event":{"category":"process"}}"#],
        ),
        // Non-ASCII constants under case-insensitive matching: ASCII values are decided.
        (
            r#"process where process.name : "ÜBER*" or process.name in~ ("ŞAH")"#,
            &[
                r#"{"event":{"category":"process"},"process":{"name":"über-x"}}"#,
                r#"{"event":{"category":"process"},"process":{"name":"şah"}}"#,
            ],
            &[r#"{"event":{"category":"process"},"process":{"name":"uber-x"}}"#],
        ),
    ];

    /// Values the index cannot decide are offered to every gate their field could open.
    const UNDECIDED: &[(&str, &str)] = &[
        // The Kelvin sign lowercases to an ASCII `k`.
        (
            r#"process where process.name : "kat*""#,
            r#"{"event":{"category":"process"},"process":{"name":"\u212Aat.exe"}}"#,
        ),
        (
            r#"process where process.name in~ ("kat.exe")"#,
            r#"{"event":{"category":"process"},"process":{"name":"\u212AAT.EXE"}}"#,
        ),
        // `:` matches a number's string form.
        (
            r#"any where event.code : "4624""#,
            r#"{"event":{"code":4624}}"#,
        ),
        (
            r#"any where event.code : "*62*""#,
            r#"{"event":{"code":4624}}"#,
        ),
    ];

    #[test]
    fn each_kind_of_anchor_offers_what_holds_and_rules_out_what_cannot() {
        let schema = Schema::ecs();
        for (query, hold, ruled_out) in ANCHOR_KINDS {
            let mut table = FieldTable::with_defaults(&schema);
            let plans = compile(&[query], &mut table);
            let refs: Vec<&Plan> = plans.iter().collect();
            let dispatcher = Dispatcher::new(&refs, &table);
            let mut scratch = DispatchScratch::default();
            for text in *hold {
                let event = table.parse_event(text, &UNTIMED).unwrap();
                assert!(
                    matches_a_stage(&plans[0], &event),
                    "{query} holds for {text}"
                );
                assert_eq!(checked(&dispatcher, &plans, &event, &mut scratch), [0]);
            }
            for text in *ruled_out {
                let event = table.parse_event(text, &UNTIMED).unwrap();
                let out = checked(&dispatcher, &plans, &event, &mut scratch);
                assert!(out.is_empty(), "{query}: {text} should be ruled out");
            }
        }
        for (query, text) in UNDECIDED {
            let mut table = FieldTable::with_defaults(&schema);
            let plans = compile(&[query], &mut table);
            let refs: Vec<&Plan> = plans.iter().collect();
            let dispatcher = Dispatcher::new(&refs, &table);
            let event = table.parse_event(text, &UNTIMED).unwrap();
            assert!(
                matches_a_stage(&plans[0], &event),
                "{query} holds for {text}"
            );
            let out = checked(&dispatcher, &plans, &event, &mut DispatchScratch::default());
            assert_eq!(out, [0], "{query}: {text}");
        }
    }

    #[test]
    fn shared_dispatchers_answer_as_separate_ones() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let plans = compile(QUERIES, &mut table);
        let (first, second) = plans.split_at(QUERIES.len() / 2);
        let first: Vec<&Plan> = first.iter().collect();
        let second: Vec<&Plan> = second.iter().collect();
        let shared = Dispatcher::shared(&[&first, &second], &table);
        let alone = [
            Dispatcher::new(&first, &table),
            Dispatcher::new(&second, &table),
        ];
        let mut scratch = DispatchScratch::default();
        let mut own = DispatchScratch::default();
        let (mut got, mut want) = (Vec::new(), Vec::new());
        for text in EVENTS.iter().chain(EVENTS) {
            let event = table.parse_event(text, &EventOptions::default()).unwrap();
            // One lookup for both groups, as a run does.
            shared[0].prepare(&event, &mut scratch);
            for (dispatcher, reference) in shared.iter().zip(&alone) {
                dispatcher.candidates_prepared(&event, &mut scratch, &mut got);
                reference.candidates(&event, &mut own, &mut want);
                assert_eq!(got, want, "{text}");
            }
            // A scratch prepared by another index computes afresh.
            alone[0].prepare(&event, &mut scratch);
            shared[1].candidates_prepared(&event, &mut scratch, &mut got);
            alone[1].candidates(&event, &mut own, &mut want);
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn remembered_lookups_answer_as_fresh_ones() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let mut queries = QUERIES.to_vec();
        queries.extend([
            r#"process where process.name == "cmd.exe""#,
            r#"process where process.args == "ab" and process.name : "*md*""#,
            r#"process where process.executable : "*\\Temp\\*""#,
        ]);
        let plans = compile(&queries, &mut table);
        let refs: Vec<&Plan> = plans.iter().collect();
        let dispatcher = Dispatcher::new(&refs, &table);
        // Values differing in ASCII case only (hashed alike), arrays of the same bytes split
        // differently, nulls, non-ASCII text and numbers: each must answer as looked up afresh.
        let mut texts: Vec<String> = EVENTS.iter().map(|t| t.to_string()).collect();
        for name in ["cmd.exe", "CMD.EXE", "Cmd.exe", "cmd.exë", "cmd.exe "] {
            for args in [r#"["ab"]"#, r#"["a","b"]"#, r#"["a",null,"b"]"#, r#"[1]"#] {
                for exe in [r#""C:\\Temp\\x""#, r#""C:\\TEMP\\x""#, "null"] {
                    texts.push(format!(
                        r#"{{"event":{{"category":"process"}},"process":{{"name":"{name}","args":{args},"executable":{exe}}}}}"#
                    ));
                }
            }
        }
        let mut kept = DispatchScratch::default();
        let (mut got, mut want) = (Vec::new(), Vec::new());
        for round in 0..3 {
            for text in texts.iter().skip(round).chain(texts.iter().rev()) {
                let event = table.parse_event(text, &UNTIMED).unwrap();
                dispatcher.candidates(&event, &mut kept, &mut got);
                dispatcher.candidates(&event, &mut DispatchScratch::default(), &mut want);
                assert_eq!(got, want, "{text}");
                assert_eq!(checked(&dispatcher, &plans, &event, &mut kept), want);
            }
        }
    }

    #[test]
    fn fields_the_memo_does_not_serve_answer_as_fresh_ones() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let queries = [
            r#"process where process.command_line : "*-enc*""#,
            r#"process where process.executable : "*\\Temp\\*""#,
        ];
        let plans = compile(&queries, &mut table);
        let refs: Vec<&Plan> = plans.iter().collect();
        let dispatcher = Dispatcher::new(&refs, &table);
        let mut kept = DispatchScratch::default();
        let (mut got, mut want) = (Vec::new(), Vec::new());
        // Unique command lines (the memo stops serving that field, then tries it again) beside
        // executables that repeat; then command lines that repeat too.
        let rounds = usize::try_from(MEMO_PROBATION * 2 + MEMO_RETRY + 64).unwrap_or(usize::MAX);
        for i in 0..rounds {
            let command_line = if i > rounds - 64 {
                format!("x -enc {}", i % 3)
            } else if i % 7 == 0 {
                format!("x -enc {i}")
            } else {
                format!("x {i}")
            };
            let exe = [r"C:\\Temp\\a.exe", r"C:\\b.exe"][i % 2];
            let text = format!(
                r#"{{"event":{{"category":"process"}},"process":{{"command_line":"{command_line}","executable":"{exe}"}}}}"#
            );
            let event = table.parse_event(&text, &UNTIMED).unwrap();
            dispatcher.candidates(&event, &mut kept, &mut got);
            dispatcher.candidates(&event, &mut DispatchScratch::default(), &mut want);
            assert_eq!(got, want, "{text}");
        }
        // The memo was judged for the command line at least once.
        let judged = kept
            .atoms
            .memo_stats
            .iter()
            .any(|s| s.skipped > 0 || s.tries > MEMO_PROBATION);
        assert!(judged);
    }

    #[test]
    fn dispatched_matchers_give_the_same_matches_as_offering_every_event() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let plans: Vec<Arc<Plan>> = compile(QUERIES, &mut table)
            .into_iter()
            .map(Arc::new)
            .collect();
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

    /// [`folded_hash`] as first written: the tail copied byte by byte into a zeroed word.
    fn folded_hash_bytewise(bytes: &[u8]) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let lower = |w: u64| {
            let mut b = w.to_le_bytes();
            b.make_ascii_lowercase();
            u64::from_le_bytes(b)
        };
        let mut h = (bytes.len() as u64).wrapping_mul(K);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            h = (h ^ lower(w)).wrapping_mul(K).rotate_left(27);
        }
        let mut tail = [0u8; 8];
        for (t, b) in tail.iter_mut().zip(chunks.remainder()) {
            *t = *b;
        }
        h = (h ^ lower(u64::from_le_bytes(tail))).wrapping_mul(K);
        h ^ (h >> 29)
    }

    proptest::proptest! {
        #[test]
        fn folded_hash_is_the_bytewise_one(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            proptest::prop_assert_eq!(folded_hash(&bytes), folded_hash_bytewise(&bytes));
            proptest::prop_assert_eq!(folded_hash(&bytes), folded_hash(&bytes.to_ascii_uppercase()));
        }
    }

    #[test]
    fn exact_table_ignores_ascii_case_only() {
        let mut values: AHashMap<Box<str>, Decides> = AHashMap::new();
        let words = [
            "cmd.exe",
            "a",
            "",
            "powershell_ise.exe",
            "über",
            "\u{130}x",
            "12345678",
        ];
        for (i, w) in words.iter().enumerate() {
            values.insert(
                w.to_ascii_lowercase().into(),
                Decides {
                    insensitive: i as u32,
                    sensitive: Vec::new(),
                },
            );
        }
        let table = ExactTable::new(values);
        let found = |v: &str| table.get(v.as_bytes()).map(|d| d.insensitive);
        assert_eq!(found("CMD.EXE"), Some(0));
        assert_eq!(found("cmd.exe"), Some(0));
        assert_eq!(found("A"), Some(1));
        assert_eq!(found(""), Some(2));
        assert_eq!(found("PowerShell_ISE.exe"), Some(3));
        assert_eq!(found("üBER"), Some(4));
        assert_eq!(found("ÜBER"), None, "non-ASCII letters are not folded");
        assert_eq!(found("\u{130}X"), Some(5));
        assert_eq!(found("12345678"), Some(6));
        assert_eq!(found("cmd.ex"), None);
        assert_eq!(found("cmd.exe "), None);
        // Lowercasing 8 bytes at once agrees with byte-by-byte for every byte in every lane.
        for b in 0..=255u8 {
            for lane in 0..16 {
                let mut v = vec![b'x'; 16];
                v[lane] = b;
                let folded = v.to_ascii_lowercase();
                assert_eq!(
                    folded_hash(&v),
                    folded_hash(&folded),
                    "byte {b} lane {lane}"
                );
            }
        }
    }

    #[test]
    fn explain_and_describe_name_the_gates() {
        let schema = Schema::ecs();
        let mut table = FieldTable::with_defaults(&schema);
        let plans = compile(QUERIES, &mut table);
        let refs: Vec<&Plan> = plans.iter().collect();
        let dispatcher = Dispatcher::new(&refs, &table);
        let first = dispatcher.explain(0, &table).join(" || ");
        assert!(first.contains("process.name == \"launchctl\""), "{first}");
        assert!(dispatcher
            .explain(20, &table)
            .contains(&"every event".to_string()));
        assert!(dispatcher.explain(19, &table).is_empty(), "never matches");
        assert!(dispatcher.describe(&table).len() > 3);
    }
}
