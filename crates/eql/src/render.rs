//! Diagnostics as plain text (no colour):
//!
//! ```text
//! rule.toml:2:18: error[E201]: expected `]` to close the stage, found `by`
//!   |
//! 2 |   [process where a by x
//!   |                    ^^
//!   = hint: ...
//! ```

use crate::diag::{Diagnostic, Severity};
use crate::span::{line_col, Span};
use std::fmt::Write;

/// Renders one diagnostic against the text it was found in. `origin` names that text
/// (a file path, `<query>`, ...); line and column are 1-based, columns count characters.
pub fn render(diag: &Diagnostic, origin: &str, text: &str) -> String {
    let (line, col) = line_col(text, diag.span.start as usize);
    let severity = match diag.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!(
        "{origin}:{line}:{col}: {severity}[{}]: {}\n",
        diag.code.0, diag.message
    );
    let gutter = diag
        .labels
        .iter()
        .map(|l| line_col(text, l.span.start as usize).0)
        .chain([line])
        .max()
        .unwrap_or(line)
        .to_string()
        .len();
    snippet(&mut out, text, diag.span, '^', None, gutter);
    for label in &diag.labels {
        snippet(
            &mut out,
            text,
            label.span,
            '-',
            Some(&label.message),
            gutter,
        );
    }
    if let Some(hint) = &diag.hint {
        let _ = writeln!(out, "{:gutter$} = hint: {hint}", "");
    }
    out
}

/// Renders every diagnostic, separated by blank lines.
pub fn render_all(diags: &[Diagnostic], origin: &str, text: &str) -> String {
    diags
        .iter()
        .map(|d| render(d, origin, text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The source line holding `span.start`, and a marker line under the span's part on it.
fn snippet(
    out: &mut String,
    text: &str,
    span: Span,
    mark: char,
    note: Option<&str>,
    gutter: usize,
) {
    let start = (span.start as usize).min(text.len());
    let (line_no, col) = line_col(text, start);
    let line_start = text
        .get(..start)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line_end = text
        .get(start..)
        .and_then(|r| r.find('\n'))
        .map_or(text.len(), |i| start + i);
    let line = text
        .get(line_start..line_end)
        .unwrap_or("")
        .trim_end_matches('\r');
    // Tabs become one space so that the marker stays aligned, one column per character.
    let shown: String = line
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let end = (span.end as usize).clamp(start, line_end);
    let width = text.get(start..end).map_or(0, |s| s.chars().count()).max(1);
    let _ = writeln!(out, "{:gutter$} |", "");
    let _ = writeln!(out, "{line_no:>gutter$} | {shown}");
    let marker = mark.to_string().repeat(width);
    let pad = col - 1;
    match note {
        Some(note) => {
            let _ = writeln!(out, "{:gutter$} | {:pad$}{marker} {note}", "", "");
        }
        None => {
            let _ = writeln!(out, "{:gutter$} | {:pad$}{marker}", "", "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

    #[test]
    fn caret_under_span() {
        let text = "process where\n  a = 1";
        let diag = Diagnostic::error(
            Code("E201"),
            Span::new(18, 19),
            "expected an operator, found `=`",
        )
        .with_hint("use `==` to compare values");
        assert_eq!(
            render(&diag, "q.eql", text),
            "q.eql:2:5: error[E201]: expected an operator, found `=`\n  |\n2 |   a = 1\n  |     ^\n  = hint: use `==` to compare values\n"
        );
    }

    #[test]
    fn end_of_text_and_labels() {
        let text = "[a where b";
        let diag = Diagnostic::error(
            Code("E201"),
            Span::new(10, 10),
            "expected `]`, found end of query",
        )
        .with_label(Span::new(0, 1), "stage opened here");
        let shown = render(&diag, "<query>", text);
        assert!(shown.starts_with("<query>:1:11: error[E201]"), "{shown}");
        assert!(shown.contains("  |           ^\n"), "{shown}");
        assert!(shown.contains("  | - stage opened here\n"), "{shown}");
    }
}
