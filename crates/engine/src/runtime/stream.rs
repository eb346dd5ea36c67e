//! A rule's matcher over an unbounded, slightly disordered stream: [`StreamMatcher`] puts a
//! [`Reorder`] buffer in front of a [`Matcher`] and bounds its state.
//!
//! Policy (what `tripline run` documents):
//! - **event queries** see each event on arrival: they need no order, so there is no delay
//!   and nothing is ever late for them;
//! - **sequences and samples** see events in event order: an event is held until the
//!   watermark (newest event time seen − `lateness`) passes it. An event older than the
//!   watermark on arrival is **late**: it is counted ([`StreamMatcher::late`]) and not
//!   offered to the sequence, whose state has already moved past its time. Only events that
//!   match one of the rule's stages are held (others only move time on), so the buffer holds
//!   a lateness interval's worth of relevant events, each as its stage hits and join keys
//!   plus the document text (not its extracted fields);
//! - state expires as the watermark passes the windows (maxspan, else look-back) and is capped
//!   at `max_state` entries, oldest key evicted first ([`StreamMatcher::evicted`]);
//! - [`StreamMatcher::flush`] (an idle live stream) releases everything held and treats the
//!   newest time seen as final; [`StreamMatcher::finish`] ends the input.

use std::sync::Arc;

use crate::event::Event;
use crate::plan::Plan;

use super::reorder::Reorder;
use super::{Hits, Match, Matcher, Offer};

pub struct StreamMatcher {
    matcher: Matcher,
    /// `None` for event queries.
    reorder: Option<Reorder<Hits>>,
    /// Late events that matched a stage and were therefore lost to the sequence.
    late: u64,
    /// The watermark the matcher was last advanced to.
    advanced: Option<i64>,
}

impl StreamMatcher {
    /// `lateness_ns`: how far behind the newest event an event may arrive and still be put in
    /// order; `max_state`: cap on sequence/sample state entries.
    pub fn new(plan: Arc<Plan>, lateness_ns: i64, max_state: Option<usize>) -> StreamMatcher {
        let ordered = plan.is_sequence() || plan.is_sample();
        StreamMatcher {
            matcher: Matcher::for_stream(plan, max_state),
            reorder: ordered.then(|| Reorder::new(lateness_ns)),
            late: 0,
            advanced: None,
        }
    }

    pub fn plan(&self) -> &Arc<Plan> {
        self.matcher.plan()
    }

    /// Offers one event in arrival order; matches it (or events it releases) complete go to `out`.
    pub fn push(&mut self, event: &Arc<Event>, out: &mut Vec<Match>) {
        let Some(reorder) = self.reorder.as_mut() else {
            self.matcher.push(event, out);
            return;
        };
        let ts = event.timestamp.unwrap_or(i64::MIN);
        match self.matcher.hits(event) {
            Some(hits) => {
                if reorder.push(Arc::clone(&hits.event), hits).is_err() {
                    self.late += 1;
                }
            }
            None => reorder.note_time(ts),
        }
        self.release(out);
    }

    /// [`StreamMatcher::push`] with the predicate evaluation already done ([`super::offer`] of
    /// this matcher's plan, possibly on another thread).
    pub fn push_offered(&mut self, event: &Arc<Event>, offer: Offer, out: &mut Vec<Match>) {
        let Some(reorder) = self.reorder.as_mut() else {
            if let Offer::Event(matched) = offer {
                self.matcher.push_event_offer(event, matched, out);
            }
            return;
        };
        match offer {
            Offer::Ordered(Some(hits)) => {
                if reorder.push(Arc::clone(&hits.event), hits).is_err() {
                    self.late += 1;
                }
            }
            Offer::Ordered(None) | Offer::Event(_) => {
                reorder.note_time(event.timestamp.unwrap_or(i64::MIN));
            }
        }
        self.release(out);
    }

    /// Event time of the stream has reached `time_ns` (any event, even one this rule is not
    /// offered): releases what became final and expires state behind the watermark.
    pub fn advance_to(&mut self, time_ns: i64, out: &mut Vec<Match>) {
        match self.reorder.as_mut() {
            Some(reorder) => {
                reorder.note_time(time_ns);
                self.release(out);
            }
            None => self.matcher.advance_to(time_ns, out),
        }
    }

    /// The stream went quiet: everything held is released and the newest time seen becomes
    /// final (events older than it are late from now on), so a live stream's alerts do not
    /// wait for more input.
    pub fn flush(&mut self, out: &mut Vec<Match>) {
        let Some(reorder) = self.reorder.as_mut() else {
            return;
        };
        while let Some((_, hits)) = reorder.pop_any() {
            self.matcher.push_hits(&hits, out);
        }
        reorder.close_up_to_newest();
        if let Some(watermark) = reorder.watermark() {
            self.advanced = Some(watermark);
            self.matcher.advance_to(watermark, out);
        }
    }

    /// End of input: releases everything and flushes the matcher.
    pub fn finish(&mut self, out: &mut Vec<Match>) {
        if let Some(reorder) = self.reorder.as_mut() {
            while let Some((_, hits)) = reorder.pop_any() {
                self.matcher.push_hits(&hits, out);
            }
        }
        self.matcher.finish(out);
    }

    fn release(&mut self, out: &mut Vec<Match>) {
        let Some(reorder) = self.reorder.as_mut() else {
            return;
        };
        while let Some((_, hits)) = reorder.pop_ready() {
            self.matcher.push_hits(&hits, out);
        }
        // Irrelevant events are not pushed, so time reaches the matcher here.
        if let Some(watermark) = reorder.watermark() {
            if self.advanced.is_none_or(|a| watermark > a) {
                self.advanced = Some(watermark);
                self.matcher.advance_to(watermark, out);
            }
        }
    }

    /// Late events lost to this rule's sequence or sample.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Events held in the reorder buffer.
    pub fn buffered(&self) -> usize {
        self.reorder.as_ref().map_or(0, Reorder::len)
    }

    /// Live state entries (partials, held sample events, buffered pipe results).
    pub fn state_len(&self) -> usize {
        self.matcher.state_len()
    }

    pub fn key_count(&self) -> usize {
        self.matcher.key_count()
    }

    /// State entries dropped by the `max_state` cap.
    pub fn evicted(&self) -> u64 {
        self.matcher.evicted()
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }
}
