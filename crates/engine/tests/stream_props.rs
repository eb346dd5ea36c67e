//! Streaming invariants, as properties over generated streams:
//! - input shuffled by at most the allowed lateness, fed through a [`Reorder`] buffer, gives
//!   exactly the matches of sorted input;
//! - how the stream is cut into batches (files, reads) does not change the matches;
//! - matchers sharded by join-key hash give together exactly the matches of one matcher;
//! - with a look-back, state returns to zero once event time passes the windows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use engine::event::{Event, EventOptions};
use engine::field::FieldTable;
use engine::runtime::reorder::Reorder;
use engine::runtime::stream::StreamMatcher;
use engine::runtime::{Match, Matcher};
use engine::schema::Schema;
use engine::{Plan, QueryOptions};
use proptest::prelude::*;

const MS: i64 = 1_000_000;

/// Queries in the shape of real rules: the seed rule, a three-stage one with `until`, a
/// trailing missing stage, and a sample.
const QUERIES: &[&str] = &[
    r#"sequence by host.id with maxspan=50ms
        [file where file.path : "/Library/LaunchDaemons/*"]
        [process where process.name == "launchctl"]"#,
    r#"sequence by host.id with maxspan=80ms
        [process where process.name == "a"]
        [process where process.name == "b"]
        [file where true]
      until [process where process.name == "stop"]"#,
    r#"sequence by host.id with maxspan=40ms
        [process where process.name == "a"]
        [process where process.name == "b"]
        ![file where true]"#,
    r#"sample by host.id [process where process.name == "a"] [file where true]"#,
];

struct Setup {
    plan: Arc<Plan>,
    fields: FieldTable,
    host_id: engine::field::FieldId,
}

fn setup(query: &str) -> Setup {
    let schema = Schema::ecs();
    let options = QueryOptions {
        lookback: Some(200 * MS),
        ..QueryOptions::default()
    };
    let mut fields = FieldTable::new(
        &schema,
        &options.timestamp_field,
        None,
        &options.category_field,
    );
    let ast = eql::parse(query).unwrap();
    let plan = engine::compile(&ast, &schema, &options, &mut fields).unwrap();
    let host_id = fields.register("host.id", &schema);
    Setup {
        plan: Arc::new(plan),
        fields,
        host_id,
    }
}

/// (time ms, host, kind) → an ECS document.
fn doc(ts_ms: i64, host: u8, kind: u8) -> String {
    let (category, name, path) = match kind {
        0 => ("file", "cp", "/Library/LaunchDaemons/x.plist"),
        1 => ("process", "launchctl", ""),
        2 => ("process", "a", ""),
        3 => ("process", "b", ""),
        4 => ("file", "cp", "/tmp/other"),
        _ => ("process", "stop", ""),
    };
    format!(
        r#"{{"@timestamp":{ts_ms},"host":{{"id":"h{host}"}},"event":{{"category":"{category}"}},"process":{{"name":"{name}"}},"file":{{"path":"{path}"}}}}"#
    )
}

/// Events in true order: `seq` is the position in sorted order (standing in for a
/// tiebreaker), so equal timestamps order the same whatever the arrival.
fn events(setup: &Setup, raw: &[(i64, u8, u8)]) -> Vec<Arc<Event>> {
    let mut ts = 0;
    raw.iter()
        .enumerate()
        .map(|(i, &(step, host, kind))| {
            ts += step;
            let mut e = setup
                .fields
                .parse_event(&doc(ts, host, kind), &EventOptions::default())
                .unwrap();
            e.seq = i as u64;
            Arc::new(e)
        })
        .collect()
}

/// A match as the sequence numbers of its events, for comparison.
fn ids(m: &Match) -> Vec<i64> {
    match m {
        Match::Event(e) => vec![e.seq as i64],
        Match::Sequence { events, .. } => events
            .iter()
            .map(|e| e.as_ref().map_or(-1, |e| e.seq as i64))
            .collect(),
    }
}

fn sorted(mut matches: Vec<Vec<i64>>) -> Vec<Vec<i64>> {
    matches.sort();
    matches
}

/// The reference: sorted input straight into one streaming matcher.
fn reference(setup: &Setup, events: &[Arc<Event>]) -> Vec<Vec<i64>> {
    let mut matcher = Matcher::for_stream(Arc::clone(&setup.plan), None);
    let mut out = Vec::new();
    for e in events {
        matcher.push(e, &mut out);
    }
    matcher.finish(&mut out);
    sorted(out.iter().map(ids).collect())
}

/// Arrival order: each event delayed by up to `lateness_ms`, then the stream cut into
/// batches of `batch` events; the buffer is drained only between batches.
fn through_reorder(
    setup: &Setup,
    events: &[Arc<Event>],
    delays: &[i64],
    lateness_ms: i64,
    batch: usize,
) -> (Vec<Vec<i64>>, u64) {
    let mut arrival: Vec<(i64, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let delay = delays.get(i).copied().unwrap_or(0) % (lateness_ms + 1);
            (e.timestamp.unwrap() / MS + delay, i)
        })
        .collect();
    arrival.sort();
    let mut buffer: Reorder<()> = Reorder::new(lateness_ms * MS);
    let mut matcher = Matcher::for_stream(Arc::clone(&setup.plan), None);
    let mut out = Vec::new();
    for chunk in arrival.chunks(batch.max(1)) {
        for &(_, i) in chunk {
            let event = Arc::clone(&events[i]);
            if matcher.relevant(&event) {
                assert!(
                    buffer.push(event, ()).is_ok(),
                    "event within lateness refused"
                );
            } else {
                assert!(buffer.observe(event.timestamp.unwrap()));
            }
        }
        while let Some((event, ())) = buffer.pop_ready() {
            matcher.push(&event, &mut out);
        }
        if let Some(watermark) = buffer.watermark() {
            matcher.advance_to(watermark, &mut out);
        }
    }
    while let Some((event, ())) = buffer.pop_any() {
        matcher.push(&event, &mut out);
    }
    matcher.finish(&mut out);
    (sorted(out.iter().map(ids).collect()), buffer.late())
}

/// The same through [`StreamMatcher`], as `tripline run` drives it: events pushed in arrival
/// order, time announced at batch ends, an idle flush after the batches listed in `idle`.
fn through_stream(
    setup: &Setup,
    events: &[Arc<Event>],
    delays: &[i64],
    lateness_ms: i64,
    batch: usize,
    idle: &[usize],
) -> (Vec<Vec<i64>>, u64) {
    let mut arrival: Vec<(i64, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let delay = delays.get(i).copied().unwrap_or(0) % (lateness_ms + 1);
            (e.timestamp.unwrap() / MS + delay, i)
        })
        .collect();
    arrival.sort();
    let mut stream = StreamMatcher::new(Arc::clone(&setup.plan), lateness_ms * MS, None);
    let mut out = Vec::new();
    for (n, chunk) in arrival.chunks(batch.max(1)).enumerate() {
        for &(_, i) in chunk {
            stream.push(&events[i], &mut out);
        }
        if let Some(newest) = chunk
            .iter()
            .map(|&(_, i)| events[i].timestamp.unwrap())
            .max()
        {
            stream.advance_to(newest, &mut out);
        }
        if idle.contains(&n) {
            stream.flush(&mut out);
        }
    }
    stream.finish(&mut out);
    (sorted(out.iter().map(ids).collect()), stream.late())
}

fn shard_of(event: &Event, setup: &Setup, shards: usize) -> usize {
    let mut hasher = DefaultHasher::new();
    event.get(setup.host_id).to_string().hash(&mut hasher);
    (hasher.finish() % shards as u64) as usize
}

fn raw_stream() -> impl Strategy<Value = Vec<(i64, u8, u8)>> {
    proptest::collection::vec((0i64..12, 0u8..4, 0u8..6), 0..150)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn shuffled_within_lateness_equals_sorted(
        query in 0..QUERIES.len(),
        raw in raw_stream(),
        delays in proptest::collection::vec(0i64..1000, 150),
        lateness_ms in 0i64..60,
        batch in 1usize..20,
    ) {
        let setup = setup(QUERIES[query]);
        let events = events(&setup, &raw);
        let expected = reference(&setup, &events);
        let (got, late) = through_reorder(&setup, &events, &delays, lateness_ms, batch);
        prop_assert_eq!(late, 0);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn stream_matcher_shuffled_within_lateness_equals_sorted(
        query in 0..QUERIES.len(),
        raw in raw_stream(),
        delays in proptest::collection::vec(0i64..1000, 150),
        lateness_ms in 0i64..60,
        batch in 1usize..20,
    ) {
        let setup = setup(QUERIES[query]);
        let events = events(&setup, &raw);
        let (got, late) = through_stream(&setup, &events, &delays, lateness_ms, batch, &[]);
        prop_assert_eq!(late, 0);
        prop_assert_eq!(got, reference(&setup, &events));
    }

    #[test]
    fn idle_flushes_do_not_change_sorted_input(
        query in 0..QUERIES.len(),
        raw in raw_stream(),
        batch in 1usize..20,
        idle in proptest::collection::vec(0usize..30, 0..6),
    ) {
        let setup = setup(QUERIES[query]);
        let events = events(&setup, &raw);
        let no_delay = vec![0; events.len()];
        let (got, late) = through_stream(&setup, &events, &no_delay, 30, batch, &idle);
        prop_assert_eq!(late, 0);
        prop_assert_eq!(got, reference(&setup, &events));
    }

    #[test]
    fn batching_does_not_change_matches(
        query in 0..QUERIES.len(),
        raw in raw_stream(),
        batch in 1usize..40,
    ) {
        let setup = setup(QUERIES[query]);
        let events = events(&setup, &raw);
        let no_delay = vec![0; events.len()];
        let (one_by_one, _) = through_reorder(&setup, &events, &no_delay, 5, 1);
        let (batched, _) = through_reorder(&setup, &events, &no_delay, 5, batch);
        prop_assert_eq!(&batched, &one_by_one);
        prop_assert_eq!(batched, reference(&setup, &events));
    }

    #[test]
    fn sharding_by_key_does_not_change_matches(
        query in 0..QUERIES.len(),
        raw in raw_stream(),
        shards in 1usize..5,
    ) {
        let setup = setup(QUERIES[query]);
        let events = events(&setup, &raw);
        let mut matchers: Vec<Matcher> =
            (0..shards).map(|_| Matcher::for_stream(Arc::clone(&setup.plan), None)).collect();
        let mut out = Vec::new();
        for e in &events {
            let shard = shard_of(e, &setup, shards);
            matchers[shard].push(e, &mut out);
        }
        for m in matchers.iter_mut() {
            m.finish(&mut out);
        }
        prop_assert_eq!(sorted(out.iter().map(ids).collect()), reference(&setup, &events));
    }

    #[test]
    fn state_returns_to_zero_after_the_windows(
        query in 0..QUERIES.len(),
        raw in raw_stream(),
    ) {
        let setup = setup(QUERIES[query]);
        let events = events(&setup, &raw);
        let mut matcher = Matcher::for_stream(Arc::clone(&setup.plan), None);
        let mut out = Vec::new();
        for e in &events {
            matcher.push(e, &mut out);
        }
        let last = events.last().map_or(0, |e| e.timestamp.unwrap());
        matcher.advance_to(last + 201 * MS, &mut out);
        prop_assert_eq!(matcher.state_len(), 0);
        prop_assert_eq!(matcher.key_count(), 0);
    }
}

#[test]
fn late_events_are_refused_and_counted() {
    let setup = setup(QUERIES[0]);
    let events = events(&setup, &[(100, 0, 0), (100, 0, 1), (0, 1, 1)]);
    let mut buffer: Reorder<()> = Reorder::new(10 * MS);
    assert!(buffer.push(Arc::clone(&events[1]), ()).is_ok());
    // 100 ms behind the newest with 10 ms allowed.
    assert!(buffer.push(Arc::clone(&events[0]), ()).is_err());
    assert_eq!(buffer.late(), 1);

    // Through the stream matcher: the late file event is lost to the sequence and counted.
    let mut stream = StreamMatcher::new(Arc::clone(&setup.plan), 10 * MS, None);
    let mut out = Vec::new();
    stream.push(&events[1], &mut out);
    stream.push(&events[0], &mut out);
    stream.finish(&mut out);
    assert!(out.is_empty());
    assert_eq!(stream.late(), 1);
}

#[test]
fn every_query_matches_the_plain_story() {
    // Host 0: a LaunchDaemon file, launchctl, then a, b and a file; host 1: a and b alone.
    // Each query has a match, so the properties above compare non-trivial results.
    let story = [
        (1, 0, 0),
        (1, 0, 1),
        (1, 0, 2),
        (1, 0, 3),
        (1, 0, 4),
        (1, 1, 2),
        (1, 1, 3),
    ];
    for query in QUERIES {
        let setup = setup(query);
        let events = events(&setup, &story);
        assert!(
            !reference(&setup, &events).is_empty(),
            "no match for {query}"
        );
    }
}

/// Feeds `events` in the given arrival order; `ahead`: each event's predicate work is done first
/// with [`engine::runtime::offer_sharing`] (as `tripline run` does on its parsing threads, the
/// event's fields-free copy shared with an earlier offer of it) and applied with `push_offered`,
/// else the matcher evaluates it in `push`.
fn arrivals(
    setup: &Setup,
    events: &[Arc<Event>],
    order: &[usize],
    lateness_ms: i64,
    ahead: bool,
) -> (Vec<Vec<i64>>, u64) {
    let mut stream = StreamMatcher::new(Arc::clone(&setup.plan), lateness_ms * MS, None);
    let mut out = Vec::new();
    for &i in order {
        let event = &events[i];
        if ahead {
            // A first offer (as to another rule) makes the copy the second one reuses.
            let mut slim = None;
            let first = engine::runtime::offer_sharing(&setup.plan, event, &mut slim);
            let offer = engine::runtime::offer_sharing(&setup.plan, event, &mut slim);
            drop(first);
            stream.push_offered(event, offer, &mut out);
        } else {
            stream.push(event, &mut out);
        }
    }
    stream.finish(&mut out);
    // In output order: the two ways must agree match for match, not just as sets.
    (out.iter().map(ids).collect(), stream.late())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn offers_worked_out_ahead_give_the_matchers_own_answers(
        query in 0..QUERIES.len() + 2,
        raw in raw_stream(),
        delays in proptest::collection::vec(0i64..40, 150),
        lateness_ms in 0i64..20,
    ) {
        let text = match query {
            q if q < QUERIES.len() => QUERIES[q],
            q if q == QUERIES.len() => r#"process where process.name == "a""#,
            _ => r#"any where host.id != "h1" | head 7"#,
        };
        let setup = setup(text);
        let events = events(&setup, &raw);
        // Arrival order jittered by up to 40 ms, so that some events come late.
        let mut order: Vec<(i64, usize)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.timestamp.unwrap() / MS + delays.get(i).copied().unwrap_or(0), i))
            .collect();
        order.sort();
        let order: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
        let plain = arrivals(&setup, &events, &order, lateness_ms, false);
        prop_assert_eq!(arrivals(&setup, &events, &order, lateness_ms, true), plain);
    }
}
