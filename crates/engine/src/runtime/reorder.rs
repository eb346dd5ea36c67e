//! Event-time reordering for unbounded streams.
//!
//! [`Matcher`](super::Matcher)s need events in (timestamp, tiebreaker, arrival) order, but
//! real streams arrive slightly out of order (several sources, batching agents). A
//! [`Reorder`] buffer holds events until they are final: the **watermark** is the newest
//! event time seen minus the allowed lateness, and an event is released once its time is
//! below the watermark, in Elasticsearch's event order ([`crate::query::event_order`]).
//! An event that arrives below the watermark is **late**: it is handed back to the caller,
//! who decides what to do with it (`tripline run` counts it and still evaluates it against
//! event queries, which need no order).
//!
//! So input shuffled by at most `lateness` gives exactly the order of sorted input, and the
//! memory held is bounded by the events of one lateness interval.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use crate::event::Event;
use crate::query::event_order;

struct Held<P> {
    /// The event's time, copied next to it so that the heap's sift compares (the first key of
    /// [`event_order`]) do not read the cold event; equal times fall back to `event_order`.
    ts: Option<i64>,
    event: Arc<Event>,
    payload: P,
}

impl<P> PartialEq for Held<P> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<P> Eq for Held<P> {}

impl<P> PartialOrd for Held<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<P> Ord for Held<P> {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest event must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        let ts = match (other.ts, self.ts) {
            (Some(x), Some(y)) => x.cmp(&y),
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if ts != Ordering::Equal {
            return ts;
        }
        event_order(&other.event, &self.event)
    }
}

/// A reorder buffer; `P` is whatever the caller wants back with each event (e.g. which
/// matchers want it).
pub struct Reorder<P> {
    lateness_ns: i64,
    /// Held events that arrived in event order (each no earlier than the one before it),
    /// earliest first: the usual case, kept out of the heap so that it costs O(1) per event.
    run: VecDeque<Held<P>>,
    /// The other held events. The next event out is the earlier of the two fronts, so the
    /// order is exactly that of one heap holding everything (event order is total: arrival
    /// numbers differ).
    heap: BinaryHeap<Held<P>>,
    newest: Option<i64>,
    /// Time of the latest event released: nothing earlier may be accepted any more.
    released: Option<i64>,
    late: u64,
}

impl<P> Reorder<P> {
    /// A buffer allowing events up to `lateness_ns` behind the newest one seen.
    pub fn new(lateness_ns: i64) -> Reorder<P> {
        Reorder {
            lateness_ns: lateness_ns.max(0),
            run: VecDeque::new(),
            heap: BinaryHeap::new(),
            newest: None,
            released: None,
            late: 0,
        }
    }

    /// Event time below which no event is accepted any more; every event still to come out
    /// of the buffer is at or above it. `None` before the first event.
    pub fn watermark(&self) -> Option<i64> {
        let from_newest = self.newest.map(|t| t.saturating_sub(self.lateness_ns));
        match (from_newest, self.released) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Notes an event's time without holding it (an event no matcher needs still moves the
    /// watermark). Returns `false` when the time is late.
    pub fn observe(&mut self, ts: i64) -> bool {
        if self.watermark().is_some_and(|w| ts < w) {
            self.late += 1;
            return false;
        }
        self.newest = Some(self.newest.map_or(ts, |n| n.max(ts)));
        true
    }

    /// Moves the newest time seen forward (never back, never counted late): time learnt from
    /// events the caller does not buffer.
    pub fn note_time(&mut self, ts: i64) {
        self.newest = Some(self.newest.map_or(ts, |n| n.max(ts)));
    }

    /// Holds `event` until it is final. A late event is given back as `Err`.
    pub fn push(&mut self, event: Arc<Event>, payload: P) -> Result<(), (Arc<Event>, P)> {
        let ts = event.timestamp.unwrap_or(i64::MIN);
        if !self.observe(ts) {
            return Err((event, payload));
        }
        let held = Held {
            ts: event.timestamp,
            event,
            payload,
        };
        let in_order = self
            .run
            .back()
            .is_none_or(|last| last.cmp(&held) != Ordering::Less);
        if in_order {
            self.run.push_back(held);
        } else {
            self.heap.push(held);
        }
        Ok(())
    }

    /// The earliest held event, and whether it is the heap's (else the run's front).
    fn earliest(&self) -> Option<(&Held<P>, bool)> {
        match (self.heap.peek(), self.run.front()) {
            // `Held`'s order is reversed (for the max-heap): greater is earlier.
            (Some(h), Some(r)) => Some(if h.cmp(r) == Ordering::Greater {
                (h, true)
            } else {
                (r, false)
            }),
            (Some(h), None) => Some((h, true)),
            (None, r) => r.map(|r| (r, false)),
        }
    }

    /// The earliest held event once it is final (below the watermark).
    pub fn pop_ready(&mut self) -> Option<(Arc<Event>, P)> {
        let watermark = self.watermark()?;
        let (earliest, from_heap) = self.earliest()?;
        if earliest.ts.unwrap_or(i64::MIN) < watermark {
            // Called after every event: pick the front once, not again in `pop_any`.
            self.pop_from(from_heap)
        } else {
            None
        }
    }

    /// The earliest held event, final or not (end of input, or an idle stream). Events
    /// earlier than it are late from now on.
    pub fn pop_any(&mut self) -> Option<(Arc<Event>, P)> {
        let (_, from_heap) = self.earliest()?;
        self.pop_from(from_heap)
    }

    fn pop_from(&mut self, from_heap: bool) -> Option<(Arc<Event>, P)> {
        let held = if from_heap {
            self.heap.pop()?
        } else {
            self.run.pop_front()?
        };
        let ts = held.event.timestamp.unwrap_or(i64::MIN);
        self.released = Some(self.released.map_or(ts, |r| r.max(ts)));
        Some((held.event, held.payload))
    }

    /// Releases nothing but declares everything up to the newest time seen final: used when
    /// the stream has been idle, after draining with [`Reorder::pop_any`].
    pub fn close_up_to_newest(&mut self) {
        if let Some(newest) = self.newest {
            self.released = Some(self.released.map_or(newest, |r| r.max(newest)));
        }
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.heap.len() + self.run.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events refused as late so far.
    pub fn late(&self) -> u64 {
        self.late
    }

    pub fn lateness_ns(&self) -> i64 {
        self.lateness_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::value::Value;

    fn event(ts_ms: i64, seq: u64) -> Arc<Event> {
        Arc::new(Event::from_parts(
            "{}",
            Vec::new(),
            Some(ts_ms * 1_000_000),
            Value::Null,
            seq,
        ))
    }

    fn ms(e: &Arc<Event>) -> i64 {
        e.timestamp.unwrap_or(0) / 1_000_000
    }

    #[test]
    fn releases_in_order_once_behind_the_watermark() {
        let mut buffer: Reorder<()> = Reorder::new(10 * 1_000_000);
        for (i, t) in [5, 3, 9, 1, 14].into_iter().enumerate() {
            assert!(buffer.push(event(t, i as u64), ()).is_ok());
        }
        // Newest 14, lateness 10: watermark 4 → 1 and 3 are final.
        let mut out = Vec::new();
        while let Some((e, ())) = buffer.pop_ready() {
            out.push(ms(&e));
        }
        assert_eq!(out, vec![1, 3]);
        assert_eq!(buffer.watermark(), Some(4 * 1_000_000));
        // 2 is now late; 4 is not.
        assert!(buffer.push(event(2, 10), ()).is_err());
        assert!(buffer.push(event(4, 11), ()).is_ok());
        assert_eq!(buffer.late(), 1);
        while let Some((e, ())) = buffer.pop_any() {
            out.push(ms(&e));
        }
        assert_eq!(out, vec![1, 3, 4, 5, 9, 14]);
        assert!(buffer.is_empty());
    }

    #[test]
    fn equal_times_wait_for_time_to_move_and_keep_arrival_order() {
        let mut buffer: Reorder<u8> = Reorder::new(0);
        assert!(buffer.push(event(1, 2), 2).is_ok());
        assert!(buffer.push(event(1, 1), 1).is_ok());
        assert!(buffer.pop_ready().is_none());
        assert!(buffer.push(event(2, 3), 3).is_ok());
        let first: Vec<u8> = std::iter::from_fn(|| buffer.pop_ready().map(|(_, p)| p)).collect();
        assert_eq!(first, vec![1, 2]);
    }

    /// The buffer as one sorted list, the plain way: the heap (with its copied sort keys)
    /// must give the same events in the same order, and the same late ones.
    struct Model {
        lateness: i64,
        held: Vec<Arc<Event>>,
        newest: Option<i64>,
        released: Option<i64>,
    }

    impl Model {
        fn watermark(&self) -> Option<i64> {
            let from_newest = self.newest.map(|t| t.saturating_sub(self.lateness));
            match (from_newest, self.released) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }

        fn push(&mut self, e: Arc<Event>) -> bool {
            let ts = e.timestamp.unwrap_or(i64::MIN);
            if self.watermark().is_some_and(|w| ts < w) {
                return false;
            }
            self.newest = Some(self.newest.map_or(ts, |n| n.max(ts)));
            self.held.push(e);
            true
        }

        fn pop(&mut self, only_ready: bool) -> Option<u64> {
            let watermark = self.watermark();
            let i =
                (0..self.held.len()).min_by(|&a, &b| event_order(&self.held[a], &self.held[b]))?;
            let ts = self.held[i].timestamp.unwrap_or(i64::MIN);
            if only_ready && watermark.is_none_or(|w| ts >= w) {
                return None;
            }
            self.released = Some(self.released.map_or(ts, |r| r.max(ts)));
            Some(self.held.remove(i).seq)
        }
    }

    proptest::proptest! {
        #[test]
        fn releases_like_one_sorted_buffer(
            ops in proptest::collection::vec((0u8..10, -30i64..40), 0..200),
            lateness in 0i64..50,
        ) {
            let mut buffer: Reorder<u64> = Reorder::new(lateness * 1_000_000);
            let mut model = Model { lateness: lateness * 1_000_000, held: Vec::new(), newest: None, released: None };
            let mut clock = 0i64;
            for (seq, (op, step)) in ops.into_iter().enumerate() {
                let seq = seq as u64;
                match op {
                    // Mostly in order, sometimes behind, ties in time on purpose.
                    0..=5 => {
                        let ts = if op == 0 { clock + step } else { clock + step.max(0) / 10 };
                        clock = clock.max(ts);
                        let e = event(ts, seq);
                        let accepted = buffer.push(Arc::clone(&e), seq).is_ok();
                        proptest::prop_assert_eq!(accepted, model.push(e));
                    }
                    6 => {
                        let ts = (clock + step) * 1_000_000;
                        buffer.note_time(ts);
                        model.newest = Some(model.newest.map_or(ts, |n| n.max(ts)));
                    }
                    7 => {
                        let got = buffer.pop_any().map(|(e, p)| { assert_eq!(e.seq, p); p });
                        proptest::prop_assert_eq!(got, model.pop(false));
                    }
                    8 => {
                        buffer.close_up_to_newest();
                        if let Some(n) = model.newest {
                            model.released = Some(model.released.map_or(n, |r| r.max(n)));
                        }
                    }
                    // No timestamp: first in event order (accepted only before a watermark).
                    _ => {
                        let e = Arc::new(Event::from_parts("{}", Vec::new(), None, Value::Null, seq));
                        let accepted = buffer.push(Arc::clone(&e), seq).is_ok();
                        proptest::prop_assert_eq!(accepted, model.push(e));
                    }
                }
                loop {
                    let got = buffer.pop_ready().map(|(_, p)| p);
                    proptest::prop_assert_eq!(got, model.pop(true));
                    if got.is_none() {
                        break;
                    }
                }
                proptest::prop_assert_eq!(buffer.len(), model.held.len());
                proptest::prop_assert_eq!(buffer.watermark(), model.watermark());
            }
            loop {
                let got = buffer.pop_any().map(|(_, p)| p);
                proptest::prop_assert_eq!(got, model.pop(false));
                if got.is_none() {
                    break;
                }
            }
        }
    }

    #[test]
    fn idle_close_makes_older_events_late() {
        let mut buffer: Reorder<()> = Reorder::new(60_000 * 1_000_000);
        assert!(buffer.push(event(100, 0), ()).is_ok());
        while buffer.pop_any().is_some() {}
        buffer.close_up_to_newest();
        assert_eq!(buffer.watermark(), Some(100 * 1_000_000));
        assert!(buffer.push(event(99, 1), ()).is_err());
        assert!(buffer.push(event(100, 2), ()).is_ok());
    }
}
