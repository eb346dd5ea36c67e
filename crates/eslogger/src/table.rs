//! The process table: what is known about each live process image, keyed by (pid, pidversion).
//! Bounded: exits and execs remove entries; beyond the cap the oldest insertion is evicted (counted).

use std::collections::{HashMap, VecDeque};

pub(crate) type Key = (u64, u64);

#[derive(Clone, Debug, Default)]
pub(crate) struct ProcessInfo {
    pub(crate) executable: String,
    /// argv of the last exec of this image, inherited by forks; `None` when the process started
    /// before capture (eslogger gives no snapshot of running processes).
    pub(crate) args: Option<Vec<String>>,
    /// Key of the image this one came from (pre-exec image or forking parent): Defend's parent entity.
    pub(crate) parent: Option<Key>,
}

struct Slot {
    info: ProcessInfo,
    generation: u64,
}

pub(crate) struct ProcessTable {
    slots: HashMap<Key, Slot>,
    /// Insertion order for eviction; entries whose generation no longer matches are stale.
    order: VecDeque<(Key, u64)>,
    next_generation: u64,
    capacity: usize,
    pub(crate) evicted: u64,
}

impl ProcessTable {
    pub(crate) fn new(capacity: usize) -> Self {
        ProcessTable {
            slots: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&ProcessInfo> {
        self.slots.get(key).map(|slot| &slot.info)
    }

    pub(crate) fn contains(&self, key: &Key) -> bool {
        self.slots.contains_key(key)
    }

    /// Marks an entry as recently active so eviction takes idle processes first.
    pub(crate) fn touch(&mut self, key: &Key) {
        if let Some(slot) = self.slots.get_mut(key) {
            slot.generation = self.next_generation;
            self.order.push_back((*key, self.next_generation));
            self.next_generation += 1;
            self.compact();
        }
    }

    pub(crate) fn remove(&mut self, key: &Key) {
        self.slots.remove(key);
    }

    pub(crate) fn insert(&mut self, key: Key, info: ProcessInfo) {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.slots.insert(key, Slot { info, generation });
        self.order.push_back((key, generation));
        while self.slots.len() > self.capacity {
            let Some((old_key, old_generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .slots
                .get(&old_key)
                .is_some_and(|slot| slot.generation == old_generation)
            {
                self.slots.remove(&old_key);
                self.evicted += 1;
            }
        }
        self.compact();
    }

    /// Removals and touches leave stale order entries; drop them once they outnumber the table.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.capacity.max(self.slots.len()) {
            let slots = &self.slots;
            self.order.retain(|(key, generation)| {
                slots
                    .get(key)
                    .is_some_and(|slot| slot.generation == *generation)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str) -> ProcessInfo {
        ProcessInfo {
            executable: name.to_string(),
            args: None,
            parent: None,
        }
    }

    #[test]
    fn evicts_oldest_beyond_capacity() {
        let mut table = ProcessTable::new(2);
        table.insert((1, 1), info("a"));
        table.insert((2, 1), info("b"));
        table.insert((3, 1), info("c"));
        assert_eq!(table.len(), 2);
        assert!(!table.contains(&(1, 1)));
        assert_eq!(table.evicted, 1);
    }

    #[test]
    fn reinsert_refreshes_and_removal_is_not_eviction() {
        let mut table = ProcessTable::new(2);
        table.insert((1, 1), info("a"));
        table.insert((2, 1), info("b"));
        table.insert((1, 1), info("a2"));
        table.insert((3, 1), info("c"));
        // (2,1) was the oldest live insertion.
        assert!(table.contains(&(1, 1)));
        assert!(!table.contains(&(2, 1)));
        table.remove(&(1, 1));
        assert_eq!(table.evicted, 1);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn touched_entries_outlive_idle_ones() {
        let mut table = ProcessTable::new(2);
        table.insert((1, 1), info("a"));
        table.insert((2, 1), info("b"));
        table.touch(&(1, 1));
        table.insert((3, 1), info("c"));
        assert!(table.contains(&(1, 1)));
        assert!(!table.contains(&(2, 1)));
        for _ in 0..100 {
            table.touch(&(3, 1));
        }
        assert!(table.order.len() <= 4);
    }

    #[test]
    fn order_queue_stays_bounded_under_churn() {
        let mut table = ProcessTable::new(4);
        for pid in 0..10_000 {
            table.insert((pid, 0), info("x"));
            table.remove(&(pid, 0));
        }
        assert!(table.order.len() <= 8);
        assert_eq!(table.evicted, 0);
    }
}
