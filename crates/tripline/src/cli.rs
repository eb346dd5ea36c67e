//! Command-line definitions (clap derive). Values are checked here once; the verbs get ready-to-use args.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::input::InputFormat;

pub const EXIT_CODES: &str = "\
Exit status:
  0  success (bad input lines are reported on stderr but do not fail a run unless --strict)
  1  input or output failure: an input cannot be read, --strict met a bad line, output cannot be written
  2  usage or rule error: bad arguments, a query that does not parse or compile, invalid rule files
     (`check` reports every invalid rule; `run` runs the valid ones and still exits 2)
A closed standard output (`tripline run ... | head -1`) ends the program quietly with status 0.
SIGINT (Ctrl-C), SIGTERM or SIGHUP end `run` cleanly: reading stops, complete matches are written, the
summary is printed, status as above; a second signal exits at once with status 130.";

#[derive(Debug, Parser)]
#[command(
    name = "tripline",
    version,
    about = "Runs Elastic Security detection rules (EQL) over event files and streams, raising Kibana-shaped alerts",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one EQL query over events and print what Elasticsearch's `_eql/search` would return
    #[command(after_help = EXIT_CODES)]
    Query(QueryArgs),
    /// Validate detection rule files (TOML) and print `N rules: X valid, Y invalid, Z unsupported`
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Run detection rules over events in one streaming pass and print alerts
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Convert other event formats (macOS eslogger JSON) to ECS NDJSON as Elastic Defend writes it
    Convert(crate::eslogger_input::ConvertArgs),
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Field holding the event time (ISO 8601 or epoch milliseconds)
    #[arg(long, default_value = "@timestamp", value_name = "FIELD")]
    pub timestamp_field: String,
    /// Field that orders events with equal timestamps
    #[arg(long, value_name = "FIELD")]
    pub tiebreaker_field: Option<String>,
    /// Field holding the event category
    #[arg(long, default_value = "event.category", value_name = "FIELD")]
    pub category_field: String,
    /// Elasticsearch mapping (JSON; `#` comment lines allowed) giving field types; repeat for indices
    /// queried together
    #[arg(long, value_name = "FILE")]
    pub mapping: Vec<PathBuf>,
    /// Most results to return (default: no cap)
    #[arg(long, value_name = "N")]
    pub size: Option<u64>,
    /// Samples per join key for `sample` queries
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_samples_per_key: u64,
    /// Input format
    #[arg(long = "input", value_enum, default_value_t = InputFormat::Ndjson, value_name = "FORMAT")]
    pub input: InputFormat,
    #[command(flatten)]
    pub eslogger: crate::eslogger_input::EsloggerArgs,
    /// The EQL query
    pub query: String,
    /// NDJSON or JSON-array files (plain or gzip); none or `-` reads stdin
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule files or directories (searched recursively for *.toml)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Also list unsupported rules and skipped non-rule files one by one
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One alert document per line
    Ndjson,
    /// A table for people: time, rule, severity, host, reason (one row per match)
    Table,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Rule file or directory (searched recursively for *.toml); repeat for more
    #[arg(long, short = 'r', required = true, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Event files or directories (NDJSON or JSON arrays, plain or gzip); none or `-` reads stdin
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,
    /// Write alerts here instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Alert output format
    #[arg(long, value_enum, default_value_t = OutputFormat::Ndjson)]
    pub format: OutputFormat,
    /// Stop at the first bad input line (malformed JSON, not an object, missing or bad timestamp)
    #[arg(long)]
    pub strict: bool,
    /// Input format
    #[arg(long = "input", value_enum, default_value_t = InputFormat::Ndjson, value_name = "FORMAT")]
    pub input: InputFormat,
    #[command(flatten)]
    pub eslogger: crate::eslogger_input::EsloggerArgs,
    /// No summary on stderr
    #[arg(long, short)]
    pub quiet: bool,
    /// Threads parsing and matching events (default: available cores; stdin is read with one)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub threads: Option<u64>,
    /// Offer every event to every rule instead of only to rules whose constants it carries (for testing)
    #[arg(long, hide = true)]
    pub no_dispatch: bool,
    #[command(flatten)]
    pub stream: crate::streaming::StreamArgs,
}
