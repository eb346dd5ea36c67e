//! The sample state machine: pure logic, generic over the event handle `E` and key `K`.
//!
//! Elasticsearch's `SampleIterator` groups events by composite join key, fetches for each
//! key and stage at most `stages + max_samples_per_key - 1` events, then picks combinations
//! of distinct events (one per stage, in stage order) by backtracking, at most
//! `max_samples_per_key` of them. Samples are returned ordered by key (ascending, nulls
//! first) and capped by `size`. Which events fill a stage is not specified; we keep the
//! first ones to arrive.
//!
//! Samples have no time bound: state is per key and only flushed at [`SampleMachine::finish`].

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
pub struct SampleMachine<E, K> {
    stages: usize,
    max_samples_per_key: usize,
    /// Events kept per key and stage: (arrival id, event).
    keys: AHashMap<K, Groups<E>>,
    counter: u64,
}

impl<E: Clone, K: Clone + Eq + Hash + Ord> SampleMachine<E, K> {
    pub fn new(stages: usize, max_samples_per_key: usize) -> Self {
        SampleMachine {
            stages,
            max_samples_per_key: max_samples_per_key.max(1),
            keys: AHashMap::new(),
            counter: 0,
        }
    }

    fn per_stage_cap(&self) -> usize {
        self.stages + self.max_samples_per_key - 1
    }

    /// Offers one event with the `(stage, key)` pairs it matched.
    pub fn push(&mut self, event: &E, hits: &[(usize, K)]) {
        self.counter += 1;
        let cap = self.per_stage_cap();
        let stages = self.stages;
        for (stage, key) in hits {
            let groups = self
                .keys
                .entry(key.clone())
                .or_insert_with(|| (0..stages).map(|_| Vec::new()).collect());
            if let Some(group) = groups.get_mut(*stage) {
                if group.len() < cap {
                    group.push((self.counter, event.clone()));
                }
            }
        }
    }

    pub fn state_len(&self) -> usize {
        self.keys
            .values()
            .map(|g| g.iter().map(Vec::len).sum::<usize>())
            .sum()
    }

    /// Emits every sample, ordered by key, at most `limit` of them.
    pub fn finish(&mut self, limit: Option<usize>, out: &mut Vec<SampleOutput<E, K>>) {
        let mut keys: Vec<(K, Groups<E>)> = self.keys.drain().collect();
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
