//! `tripline`: the command line. Glue only: arguments → a verb → an exit status.

mod check;
mod cli;
mod eslogger_input;
mod input;
mod interrupt;
mod output;
mod query;
mod run;
mod streaming;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Events are many small allocations freed in bulk, often on another thread than the one that made
/// them: mimalloc spends markedly less time there than the system allocator (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit statuses (documented in `--help` and the README).
pub mod status {
    pub const OK: u8 = 0;
    pub const IO: u8 = 1;
    pub const USAGE: u8 = 2;
}

/// The error a verb returns when standard output was closed by the reader: not a failure.
#[derive(Debug)]
pub struct OutputClosed;

impl std::fmt::Display for OutputClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "output closed")
    }
}

impl std::error::Error for OutputClosed {}

/// An error that carries its own exit status (usage and rule errors).
#[derive(Debug)]
pub struct Failure {
    pub status: u8,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Failure {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help/version on stdout with status 0, usage errors on stderr with status 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                status::USAGE
            } else {
                status::OK
            });
        }
    };
    let result = match cli.command {
        Command::Query(args) => query::run(args),
        Command::Check(args) => check::run(args),
        Command::Run(args) => run::run(args),
        Command::Convert(args) => eslogger_input::convert_command(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if error.downcast_ref::<OutputClosed>().is_some() {
                return ExitCode::from(status::OK);
            }
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::from(status::OK);
                }
            }
            if let Some(failure) = error.downcast_ref::<Failure>() {
                if !failure.message.is_empty() {
                    eprintln!("{}", failure.message);
                }
                return ExitCode::from(failure.status);
            }
            eprintln!("tripline: {error:#}");
            ExitCode::from(status::IO)
        }
    }
}
