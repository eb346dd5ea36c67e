//! `engine`: EQL syntax tree + field schema → compiled [`Plan`]; JSON events → matches,
//! with Elasticsearch's semantics.
//!
//! Pipeline: [`compile`] a parsed query against a [`schema::Schema`] (registering the fields
//! it reads in a [`field::FieldTable`]); parse documents with
//! [`field::FieldTable::parse_event`]; then either stream them through a
//! [`runtime::Matcher`] in (timestamp, tiebreaker) order, or hand a finite set to
//! [`query::run`], which orders them and answers as `_eql/search` does.

pub mod dispatch;
pub mod event;
pub mod expr;
pub mod field;
pub mod plan;
pub mod prefilter;
pub mod query;
pub mod runtime;
pub mod schema;
pub mod time;
pub mod value;

pub use plan::{compile, Plan, QueryOptions};
pub use runtime::{Match, Matcher};
