//! Ctrl-C in live mode (`sudo eslogger … | tripline run …`): the terminal sends SIGINT to the whole pipeline.
//! eslogger exits and closes the pipe; tripline must not die with it but read what is left, finish its rules
//! and print the summary. The first Ctrl-C therefore only asks the run to stop at the next record (or at end
//! of input, whichever comes first); a second one exits at once for an upstream that never ends.
//! SIGTERM and SIGHUP (a service manager stopping tripline, a closed terminal) are handled the same way
//! (ctrlc's `termination` feature). Live stdin is read with an idle timeout (`crate::streaming`), so a run
//! whose upstream keeps the pipe open still notices the request within `--idle-flush`.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

/// Exit status of a process ended by SIGINT (128 + 2), used for the immediate second Ctrl-C.
const INTERRUPTED_STATUS: i32 = 130;

/// Set once Ctrl-C was pressed.
#[derive(Clone, Default)]
pub struct Interrupt {
    requested: Arc<AtomicBool>,
}

impl Interrupt {
    /// Installs the handler. Failing to install (a handler already set) leaves the default behaviour.
    pub fn install() -> Interrupt {
        let interrupt = Interrupt::default();
        let requested = interrupt.requested.clone();
        let presses = AtomicU32::new(0);
        let installed = ctrlc::set_handler(move || {
            if presses.fetch_add(1, Ordering::SeqCst) > 0 {
                std::process::exit(INTERRUPTED_STATUS);
            }
            requested.store(true, Ordering::SeqCst);
        });
        if let Err(error) = installed {
            eprintln!("tripline: Ctrl-C will end the run without a summary ({error})");
        }
        interrupt
    }

    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }
}

/// The error a run's reader stops with after Ctrl-C: not a failure, the run finishes normally.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted")
    }
}

impl std::error::Error for Interrupted {}
