//! `eql`: Elasticsearch EQL text → syntax tree, with positioned diagnostics. No I/O, no events.
//!
//! ```
//! let query = eql::parse("process where process.name == \"launchctl\"").unwrap();
//! assert!(matches!(query.body, eql::ast::QueryBody::Event(_)));
//! ```

pub mod ast;
pub mod diag;
pub mod span;

pub use diag::{Code, Diagnostic, Severity};
pub use span::Span;

/// Parses one query. On failure returns every error found (at least one).
pub fn parse(text: &str) -> Result<ast::Query, Vec<Diagnostic>> {
    let _ = text;
    Err(vec![Diagnostic::error(
        Code("E000"),
        Span::default(),
        "parser not yet written",
    )])
}
