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
use std::collections::BinaryHeap;
use std::sync::Arc;

use crate::event::Event;
use crate::query::event_order;

struct Held<P> {
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
        event_order(&other.event, &self.event)
    }
}

/// A reorder buffer; `P` is whatever the caller wants back with each event (e.g. which
/// matchers want it).
pub struct Reorder<P> {
    lateness_ns: i64,
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
        self.heap.push(Held { event, payload });
        Ok(())
    }

    /// The earliest held event once it is final (below the watermark).
    pub fn pop_ready(&mut self) -> Option<(Arc<Event>, P)> {
        let watermark = self.watermark()?;
        let ready = self
            .heap
            .peek()
            .is_some_and(|h| h.event.timestamp.unwrap_or(i64::MIN) < watermark);
        if ready {
            self.pop_any()
        } else {
            None
        }
    }

    /// The earliest held event, final or not (end of input, or an idle stream). Events
    /// earlier than it are late from now on.
    pub fn pop_any(&mut self) -> Option<(Arc<Event>, P)> {
        let held = self.heap.pop()?;
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
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
