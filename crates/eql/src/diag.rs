//! Diagnostics: errors as data, with a stable code, an exact span and an optional hint.
//! Rendering to text happens in [`crate::render`] only.

use crate::span::Span;

/// Stable diagnostic codes. Never reuse a released code; add new ones at the end of a range.
/// Ranges: E1xx lexer, E2xx parser, E3xx semantic checks (functions, fields, types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub &'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// One lowercase sentence fragment, no trailing period: "expected `]`, found `where`".
    pub message: String,
    /// The primary spot.
    pub span: Span,
    /// Secondary spots (e.g. the opening bracket of an unclosed group).
    pub labels: Vec<Label>,
    /// How to fix it, when known: "did you mean `startsWith`?".
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            labels: Vec::new(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }
}
