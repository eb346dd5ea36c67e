//! The sample state machine: pure logic, generic over the event handle `E` and key `K`.
//!
//! Elasticsearch's `SampleIterator` groups events by composite join key, fetches for each
//! key and stage at most `stages + max_samples_per_key - 1` events, then picks combinations
//! of distinct events (one per stage, in stage order) by backtracking, at most
//! `max_samples_per_key` of them. Samples are returned ordered by key (ascending, nulls
//! first) and capped by `size`. Which events fill a stage is not specified; we keep the
//! first ones to arrive.
//!
//! As a query (`_eql/search`), samples have no time bound: state is per key and only flushed
//! at [`SampleMachine::finish`]. As a rule in a stream ([`SampleMachine::set_window`], used by
//! `tripline run` with the rule's look-back), a sample is emitted as soon as its key holds one
//! distinct event per stage within the window, and the key starts afresh; events older than
//! the window are dropped, and keys with nothing left in it are expired by
//! [`SampleMachine::advance_to`]. Either way an optional cap on held events evicts the least
//! recently active key first, counted in [`SampleMachine::evicted`].

use std::collections::BTreeMap;
use std::hash::Hash;

use ahash::AHashMap;

/// One sample: its key and one event per stage, in stage order.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleOutput<E, K> {
    pub key: K,
    pub events: Vec<E>,
}

/// Per stage, the events kept for one key: (arrival id, event).
type Groups<E> = Vec<Vec<(u64, E)>>;

#[derive(Debug)]
struct KeyEvents<E> {
    groups: Groups<E>,
    /// Event time of each held event, by arrival id (streaming mode slides on it).
    times: Vec<(u64, i64)>,
    newest: i64,
    /// The index position this key is registered under.
    scheduled: i64,
}

impl<E> KeyEvents<E> {
    fn len(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }
}

#[derive(Debug)]
pub struct SampleMachine<E, K> {
    stages: usize,
    max_samples_per_key: usize,
    /// Events kept per key and stage.
    keys: AHashMap<K, KeyEvents<E>>,
    /// Keys by `newest + window` at the time they were indexed (stale entries are skipped).
    index: BTreeMap<i64, Vec<K>>,
    index_len: usize,
    window: Option<i64>,
    cap: Option<usize>,
    live: usize,
    evicted: u64,
    counter: u64,
}

impl<E: Clone, K: Clone + Eq + Hash + Ord> SampleMachine<E, K> {
    pub fn new(stages: usize, max_samples_per_key: usize) -> Self {
        SampleMachine {
            stages,
            max_samples_per_key: max_samples_per_key.max(1),
            keys: AHashMap::new(),
            index: BTreeMap::new(),
            index_len: 0,
            window: None,
            cap: None,
            live: 0,
            evicted: 0,
            counter: 0,
        }
    }

    /// Streaming (rule) mode: samples are emitted as they complete within `window_ns`.
    pub fn set_window(&mut self, window_ns: Option<i64>) {
        self.window = window_ns.map(|w| w.max(0));
    }

    /// Caps held events (at least 1): past it, the least recently active key is evicted.
    pub fn set_cap(&mut self, cap: Option<usize>) {
        self.cap = cap.map(|c| c.max(1));
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn indexed(&self) -> bool {
        self.window.is_some() || self.cap.is_some()
    }

    /// Offers one event at time `ts` (streaming mode); completed samples go to `out`.
    pub fn push_at(
        &mut self,
        event: &E,
        ts: i64,
        hits: &[(usize, K)],
        out: &mut Vec<SampleOutput<E, K>>,
    ) {
        self.counter += 1;
        let id = self.counter;
        let cap = self.per_stage_cap();
        let stages = self.stages;
        let window = self.window;
        let indexed = self.indexed();
        let mut touched: Vec<&K> = Vec::new();
        for (stage, key) in hits {
            let state = self.keys.entry(key.clone()).or_insert_with(|| KeyEvents {
                groups: (0..stages).map(|_| Vec::new()).collect(),
                times: Vec::new(),
                newest: ts,
                scheduled: i64::MIN,
            });
            if let Some(window) = window {
                // Slide: what fell out of the window can no longer share a sample with `ts`.
                let oldest = ts.saturating_sub(window);
                if state.times.first().is_some_and(|&(_, t)| t < oldest) {
                    let before = state.len();
                    let gone: Vec<u64> = state
                        .times
                        .iter()
                        .filter(|&&(_, t)| t < oldest)
                        .map(|&(i, _)| i)
                        .collect();
                    state.times.retain(|&(_, t)| t >= oldest);
                    for group in state.groups.iter_mut() {
                        group.retain(|(i, _)| !gone.contains(i));
                    }
                    self.live = self.live.saturating_sub(before - state.len());
                }
            }
            state.newest = state.newest.max(ts);
            if let Some(group) = state.groups.get_mut(*stage) {
                if group.len() < cap {
                    group.push((id, event.clone()));
                    self.live += 1;
                    if !matches!(state.times.last(), Some(&(i, _)) if i == id) {
                        state.times.push((id, ts));
                    }
                }
            }
            if indexed && state.scheduled == i64::MIN {
                let at = state.newest.saturating_add(window.unwrap_or(0));
                state.scheduled = at;
                self.index.entry(at).or_default().push(key.clone());
                self.index_len += 1;
            }
            if !touched.contains(&key) {
                touched.push(key);
            }
        }
        if window.is_some() {
            for key in touched {
                self.emit_if_complete(key, out);
            }
        }
        self.enforce_cap();
    }

    fn emit_if_complete(&mut self, key: &K, out: &mut Vec<SampleOutput<E, K>>) {
        let Some(state) = self.keys.get(key) else {
            return;
        };
        if state.groups.iter().any(Vec::is_empty) {
            return;
        }
        let mut found = Vec::new();
        let mut partial = Vec::with_capacity(self.stages);
        pick(
            &state.groups,
            0,
            &mut partial,
            &mut found,
            self.max_samples_per_key,
        );
        if found.is_empty() {
            return;
        }
        if let Some(state) = self.keys.remove(key) {
            self.live = self.live.saturating_sub(state.len());
        }
        for events in found {
            out.push(SampleOutput {
                key: key.clone(),
                events,
            });
        }
    }

    /// Streaming mode: drops keys with no event inside the window ending at `watermark`.
    pub fn advance_to(&mut self, watermark: i64) {
        let Some(window) = self.window else {
            return;
        };
        while let Some(entry) = self.index.first_entry() {
            if *entry.key() >= watermark {
                break;
            }
            let (at, keys) = entry.remove_entry();
            self.index_len = self.index_len.saturating_sub(keys.len());
            for key in keys {
                let Some(state) = self.keys.get_mut(&key) else {
                    continue;
                };
                if state.scheduled != at {
                    continue;
                }
                let next = state.newest.saturating_add(window);
                if next < watermark {
                    if let Some(state) = self.keys.remove(&key) {
                        self.live = self.live.saturating_sub(state.len());
                    }
                } else {
                    // Active since it was indexed: look again when its newest event leaves.
                    state.scheduled = next;
                    self.index.entry(next).or_default().push(key);
                    self.index_len += 1;
                }
            }
        }
    }

    fn enforce_cap(&mut self) {
        if self.index_len > 2 * self.keys.len() + 1024 {
            self.index.clear();
            for (key, state) in &self.keys {
                self.index
                    .entry(state.scheduled)
                    .or_default()
                    .push(key.clone());
            }
            self.index_len = self.keys.len();
        }
        let Some(cap) = self.cap else {
            return;
        };
        while self.live > cap {
            let Some(entry) = self.index.first_entry() else {
                return;
            };
            let (at, mut keys) = entry.remove_entry();
            self.index_len = self.index_len.saturating_sub(keys.len());
            while self.live > cap {
                let Some(key) = keys.pop() else {
                    break;
                };
                if self.keys.get(&key).is_some_and(|s| s.scheduled == at) {
                    if let Some(state) = self.keys.remove(&key) {
                        let dropped = state.len();
                        self.live = self.live.saturating_sub(dropped);
                        self.evicted += dropped as u64;
                    }
                }
            }
            if !keys.is_empty() {
                self.index_len += keys.len();
                self.index.insert(at, keys);
            }
        }
    }

    fn per_stage_cap(&self) -> usize {
        self.stages + self.max_samples_per_key - 1
    }

    /// Offers one event with the `(stage, key)` pairs it matched (query mode: no time).
    pub fn push(&mut self, event: &E, hits: &[(usize, K)]) {
        let mut none = Vec::new();
        self.push_at(event, i64::MIN, hits, &mut none);
    }

    pub fn state_len(&self) -> usize {
        self.live
    }

    /// Emits every sample, ordered by key, at most `limit` of them.
    pub fn finish(&mut self, limit: Option<usize>, out: &mut Vec<SampleOutput<E, K>>) {
        let mut keys: Vec<(K, Groups<E>)> = self.keys.drain().map(|(k, s)| (k, s.groups)).collect();
        self.index.clear();
        self.index_len = 0;
        self.live = 0;
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let mut emitted = 0usize;
        for (key, groups) in keys {
            if groups.iter().any(Vec::is_empty) {
                continue;
            }
            let mut found = Vec::new();
            let mut partial = Vec::with_capacity(self.stages);
            pick(
                &groups,
                0,
                &mut partial,
                &mut found,
                self.max_samples_per_key,
            );
            for events in found {
                if limit.is_some_and(|l| emitted >= l) {
                    return;
                }
                out.push(SampleOutput {
                    key: key.clone(),
                    events,
                });
                emitted += 1;
            }
        }
    }
}

/// Depth-first choice of one distinct event per stage.
fn pick<E: Clone>(
    groups: &[Vec<(u64, E)>],
    stage: usize,
    partial: &mut Vec<(u64, E)>,
    found: &mut Vec<Vec<E>>,
    max: usize,
) {
    let Some(group) = groups.get(stage) else {
        return;
    };
    for (id, event) in group {
        if partial.iter().any(|(p, _)| p == id) {
            continue;
        }
        partial.push((*id, event.clone()));
        if stage + 1 == groups.len() {
            found.push(partial.iter().map(|(_, e)| e.clone()).collect());
        } else {
            pick(groups, stage + 1, partial, found, max);
        }
        partial.pop();
        if found.len() >= max {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        stages: usize,
        max: usize,
        events: &[(u32, &[(usize, &'static str)])],
        limit: Option<usize>,
    ) -> Vec<(&'static str, Vec<u32>)> {
        let mut machine = SampleMachine::new(stages, max);
        for (id, hits) in events {
            let hits: Vec<(usize, &str)> = hits.to_vec();
            machine.push(id, &hits);
        }
        let mut out = Vec::new();
        machine.finish(limit, &mut out);
        out.into_iter().map(|s| (s.key, s.events)).collect()
    }

    #[test]
    fn one_sample_per_key_ordered_by_key() {
        let got = run(
            2,
            1,
            &[
                (1, &[(0, "b")]),
                (2, &[(1, "b")]),
                (3, &[(0, "a")]),
                (4, &[(1, "a")]),
                (5, &[(0, "c")]),
            ],
            None,
        );
        assert_eq!(got, vec![("a", vec![3, 4]), ("b", vec![1, 2])]);
    }

    #[test]
    fn events_are_distinct_within_a_sample() {
        // Event 1 matches both stages; alone it cannot form a sample.
        let got = run(2, 1, &[(1, &[(0, "k"), (1, "k")])], None);
        assert!(got.is_empty());
        let got = run(2, 1, &[(1, &[(0, "k"), (1, "k")]), (2, &[(1, "k")])], None);
        assert_eq!(got, vec![("k", vec![1, 2])]);
    }

    #[test]
    fn streaming_emits_on_completion_within_the_window() {
        let mut machine: SampleMachine<u32, &str> = SampleMachine::new(2, 1);
        machine.set_window(Some(10));
        let mut out = Vec::new();
        machine.push_at(&1, 0, &[(0, "k")], &mut out);
        // 11 after the first: it slid out, no sample.
        machine.push_at(&2, 11, &[(1, "k")], &mut out);
        assert!(out.is_empty());
        machine.push_at(&3, 12, &[(0, "k")], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].events, vec![3, 2]);
        // The key starts afresh.
        assert_eq!(machine.state_len(), 0);
        machine.push_at(&4, 13, &[(0, "j")], &mut out);
        assert_eq!(machine.state_len(), 1);
        machine.advance_to(24);
        assert_eq!(machine.state_len(), 0);
        assert_eq!(machine.key_count(), 0);
    }

    #[test]
    fn cap_evicts_least_recent_key() {
        let mut machine: SampleMachine<u32, u32> = SampleMachine::new(2, 1);
        machine.set_window(Some(1_000));
        machine.set_cap(Some(2));
        let mut out = Vec::new();
        for i in 0..5u32 {
            machine.push_at(&i, i64::from(i), &[(0, i)], &mut out);
            assert!(machine.state_len() <= 2);
        }
        assert_eq!(machine.evicted(), 3);
        // Keys 4 and 3 survived and complete; key 0 was evicted and starts afresh.
        for i in [4u32, 3, 0] {
            machine.push_at(&(10 + i), 10, &[(1, i)], &mut out);
        }
        let keys: Vec<u32> = out.iter().map(|s| s.key).collect();
        assert_eq!(keys, vec![4, 3]);
        assert_eq!(machine.state_len(), 1);
    }

    #[test]
    fn several_samples_per_key_and_limit() {
        let events: &[(u32, &[(usize, &str)])] = &[
            (1, &[(0, "k")]),
            (2, &[(0, "k")]),
            (3, &[(1, "k")]),
            (4, &[(1, "k")]),
        ];
        let got = run(2, 2, events, None);
        assert_eq!(got, vec![("k", vec![1, 3]), ("k", vec![1, 4])]);
        let got = run(2, 2, events, Some(1));
        assert_eq!(got, vec![("k", vec![1, 3])]);
        assert!(run(2, 2, events, Some(0)).is_empty());
    }
}
