//! Reading ahead: with several threads, a reading thread splits the input into batches of lines while
//! the caller's thread matches the previous batch (its parsing and matching run on the worker pool).
//! Otherwise the workers would wait while each batch is read, and reading is a tenth of the work.
//!
//! Everything the reading thread meets reaches the caller in input order, as [`Feed`] items: lines
//! before a bad record are matched before it is reported, exactly as when reading and matching take
//! turns on one thread.

use std::sync::mpsc;

use super::parallel::Lines;
use crate::input::{Inputs, Position, Record, RecordMapper};
use crate::interrupt::{Interrupt, Interrupted};

/// Batches in flight between the reading thread and the caller: one being matched, one ready, one
/// being filled. Memory stays flat.
const BATCHES_AHEAD: usize = 1;

/// What the reading thread hands over, in input order.
pub(super) enum Feed {
    /// A batch of document lines (numbered by arrival from 1, as [`Record::Document`]s are counted).
    Lines(Lines),
    Blank,
    Bad(Position, String),
    Idle,
}

/// Reads `inputs` on a thread of its own, in batches of `capacity` lines, and calls `handle` with each
/// item on the calling thread. Stops reading when `handle` fails; the first error wins (the caller's,
/// else the reading's, such as an unreadable file or Ctrl-C: [`Interrupted`]).
pub(super) fn read_ahead(
    inputs: &Inputs,
    mapper: &mut dyn RecordMapper,
    interrupt: &Interrupt,
    progress: Option<&indicatif::ProgressBar>,
    capacity: usize,
    handle: &mut dyn FnMut(&mut Feed) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (feed_tx, feed_rx) = mpsc::sync_channel::<Feed>(BATCHES_AHEAD);
    let (spare_tx, spare_rx) = mpsc::channel::<Lines>();
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("tripline-reader".into())
            .spawn_scoped(scope, move || {
                read_into(
                    inputs, mapper, interrupt, progress, capacity, &feed_tx, &spare_rx,
                )
            });
        let reader = match reader {
            Ok(reader) => reader,
            Err(error) => {
                return Err(anyhow::Error::from(error).context("cannot start a reading thread"))
            }
        };
        let mut handled = Ok(());
        for mut feed in feed_rx.iter() {
            handled = handle(&mut feed);
            if handled.is_err() {
                break;
            }
            if let Feed::Lines(mut lines) = feed {
                lines.clear();
                // The reader may have finished: then nobody wants the buffer back.
                let _ = spare_tx.send(lines);
            }
        }
        // The reader's next send fails once the receiver is gone: it stops.
        drop(feed_rx);
        let read = reader.join().unwrap_or_else(|_| {
            Err(ReadError::Input(anyhow::anyhow!(
                "the reading thread failed"
            )))
        });
        handled.and(read.map_err(|error| match error {
            ReadError::Input(error) => error,
            ReadError::Stopped => anyhow::anyhow!("reading stopped"),
        }))
    })
}

enum ReadError {
    Input(anyhow::Error),
    /// The caller stopped taking batches (its own error is the one reported).
    Stopped,
}

impl From<anyhow::Error> for ReadError {
    fn from(error: anyhow::Error) -> ReadError {
        ReadError::Input(error)
    }
}

fn read_into(
    inputs: &Inputs,
    mapper: &mut dyn RecordMapper,
    interrupt: &Interrupt,
    progress: Option<&indicatif::ProgressBar>,
    capacity: usize,
    feed: &mpsc::SyncSender<Feed>,
    spare: &mpsc::Receiver<Lines>,
) -> Result<(), ReadError> {
    let mut lines = Lines::default();
    let mut documents: u64 = 0;
    let mut stopped = false;
    let send = |item: Feed, stopped: &mut bool| -> anyhow::Result<()> {
        if feed.send(item).is_err() {
            *stopped = true;
            return Err(anyhow::anyhow!("reading stopped"));
        }
        Ok(())
    };
    let send_lines = |lines: &mut Lines, stopped: &mut bool| -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let next = spare.try_recv().unwrap_or_default();
        send(Feed::Lines(std::mem::replace(lines, next)), stopped)
    };
    let result = inputs.for_each_with(mapper, &mut |position, record| {
        if interrupt.requested() {
            return Err(Interrupted.into());
        }
        match record {
            Record::Document(text) => {
                documents += 1;
                if documents.is_multiple_of(4096) {
                    if let Some(bar) = progress {
                        bar.set_position(
                            inputs.bytes_read.load(std::sync::atomic::Ordering::Relaxed),
                        );
                    }
                }
                if lines.push(text, position, documents, capacity) {
                    send_lines(&mut lines, &mut stopped)?;
                }
                Ok(())
            }
            Record::Blank => send(Feed::Blank, &mut stopped),
            Record::Bad(why) => {
                // Lines before a bad record are matched first: they came first.
                send_lines(&mut lines, &mut stopped)?;
                send(Feed::Bad(position.clone(), why), &mut stopped)
            }
            Record::Idle => {
                send_lines(&mut lines, &mut stopped)?;
                send(Feed::Idle, &mut stopped)
            }
        }
    });
    // The lines of the last batch run at the end of the input and after Ctrl-C, not after a failed
    // read: as when reading and matching take turns (`run`'s error path).
    let finished = match &result {
        Ok(()) => true,
        Err(error) => error.is::<Interrupted>(),
    };
    if finished && !stopped {
        let _ = send_lines(&mut lines, &mut stopped);
    }
    match result {
        Err(_) if stopped => Err(ReadError::Stopped),
        other => other.map_err(ReadError::Input),
    }
}
