//! `eql`: Elasticsearch EQL text → syntax tree, with positioned diagnostics. No I/O, no events.
//!
//! ```
//! let query = eql::parse("process where process.name == \"launchctl\"").unwrap();
//! assert!(matches!(query.body, eql::ast::QueryBody::Event(_)));
//! ```

pub mod ast;
pub mod diag;
pub mod funcs;
pub mod lex;
mod parse;
pub mod print;
pub mod render;
pub mod span;
pub mod strip;

pub use diag::{Code, Diagnostic, Severity};
pub use parse::{MAX_NESTING, MAX_TREE_DEPTH};
pub use print::print;
pub use render::render;
pub use span::Span;
pub use strip::strip_spans;

/// Parses one query. On failure returns every error found (at least one).
pub fn parse(text: &str) -> Result<ast::Query, Vec<Diagnostic>> {
    parse::parse_query(text)
}
