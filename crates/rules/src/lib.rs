//! `rules`: Elastic detection-rules TOML → validated [`Rule`]s; index-pattern selection; engine matches →
//! Kibana-shaped alert documents. No I/O beyond reading rule files.
//!
//! ```no_run
//! let loaded = rules::load_paths(&["examples/rules".into()]);
//! for outcome in &loaded {
//!     if let rules::Loaded::Invalid(errors) = outcome {
//!         for error in errors {
//!             eprintln!("{error}");
//!         }
//!     }
//! }
//! ```

pub mod alert;
pub mod compile;
pub mod datemath;
pub mod index;
pub mod load;

pub use index::{EventLocation, IndexSelector};
pub use load::{
    load_file, load_paths, load_str, reject_duplicate_ids, Loaded, Rule, RuleError, Skipped,
    Unsupported,
};
