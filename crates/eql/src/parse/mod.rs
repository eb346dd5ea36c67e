//! Hand-written recursive-descent parser for Elasticsearch's EQL grammar.
//!
//! Syntax errors stop parsing (one error); checks that Elasticsearch makes after parsing
//! (function names and arities, join-key counts, stage counts, ...) are collected and
//! all returned together.

mod expr;
mod query;

use crate::ast::{Expr, Query};
use crate::diag::{Code, Diagnostic};
use crate::lex::{self, Tok, Token};
use crate::span::Span;

/// How many nested parentheses / `not` / unary minus levels are accepted before E202.
pub const MAX_NESTING: usize = 64;
/// How deep an expression tree may grow (e.g. a chain of 1000 `or`) before E202.
pub const MAX_TREE_DEPTH: u32 = 1000;

type PResult<T> = Result<T, Diagnostic>;

pub(crate) struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    nesting: usize,
    /// Errors that do not stop parsing.
    checks: Vec<Diagnostic>,
}

/// An expression together with the depth of its tree, used to bound recursion later on.
pub(crate) struct Node {
    expr: Expr,
    depth: u32,
}

pub fn parse_query(text: &str) -> Result<Query, Vec<Diagnostic>> {
    if u32::try_from(text.len()).is_err() {
        return Err(vec![Diagnostic::error(
            Code("E201"),
            Span::new(0, 0),
            "query is too large (more than 4 GiB)",
        )]);
    }
    let toks = lex::lex(text)?;
    let mut parser = Parser {
        text,
        toks,
        pos: 0,
        nesting: 0,
        checks: Vec::new(),
    };
    let result = parser.statement();
    let mut errors = std::mem::take(&mut parser.checks);
    match result {
        Ok(query) if errors.is_empty() => Ok(query),
        Ok(_) => Err(errors),
        Err(fatal) => {
            errors.push(fatal);
            errors.sort_by_key(|d| (d.span.start, d.span.end));
            Err(errors)
        }
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.toks
            .get(self.pos + ahead)
            .or_else(|| self.toks.last())
            .map_or(&Tok::Eof, |t| &t.tok)
    }

    fn span(&self) -> Span {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or_else(Span::default, |t| t.span)
    }

    /// End of the previous token (for spans that end where the last consumed token ends).
    fn prev_end(&self) -> u32 {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.span.end)
    }

    /// Consumes the current token and hands it over (consumed tokens are never looked at again,
    /// only their spans). The final `Eof` is never consumed.
    fn bump(&mut self) -> Token {
        let last = self.toks.len().saturating_sub(1);
        let Some(slot) = self.toks.get_mut(self.pos) else {
            let end = self.text.len();
            return Token {
                tok: Tok::Eof,
                span: Span::new(end, end),
            };
        };
        let token = Token {
            tok: std::mem::replace(&mut slot.tok, Tok::Eof),
            span: slot.span,
        };
        if self.pos < last {
            self.pos += 1;
        } else {
            slot.tok = Tok::Eof;
        }
        token
    }

    fn at(&self, tok: &Tok) -> bool {
        self.peek() == tok
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.at(tok) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> PResult<Span> {
        if self.at(tok) {
            Ok(self.bump().span)
        } else {
            Err(self.unexpected(what))
        }
    }

    fn found(&self) -> String {
        let span = self.span();
        lex::describe(self.peek(), self.text, span)
    }

    /// E201 "expected X, found Y" at the current token.
    #[cold]
    #[inline(never)]
    fn unexpected(&self, expected: &str) -> Diagnostic {
        let mut diag = Diagnostic::error(
            Code("E201"),
            self.span(),
            format!("expected {expected}, found {}", self.found()),
        );
        if let Some(hint) = self.keyword_hint() {
            diag = diag.with_hint(hint);
        }
        diag
    }

    /// When a reserved word sits where a name was probably meant, say how to escape it.
    fn keyword_hint(&self) -> Option<String> {
        let span = self.span();
        let word = self.text.get(span.range())?;
        if let Tok::Ident(name) = self.peek() {
            let lower = name.to_ascii_lowercase();
            if lex::is_keyword(&lower) {
                return Some(format!("EQL keywords are lowercase: write `{lower}`"));
            }
        }
        let reserved = lex::is_keyword(word);
        let usable = !matches!(
            self.peek(),
            Tok::And | Tok::Or | Tok::By | Tok::With | Tok::Where
        );
        (reserved && usable).then(|| {
            format!("`{word}` is a reserved word; write `` `{word}` `` to use it as a field name")
        })
    }

    fn check(&mut self, diag: Diagnostic) {
        self.checks.push(diag);
    }

    fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.too_nested());
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn too_nested(&self) -> Diagnostic {
        Diagnostic::error(
            Code("E202"),
            self.span(),
            format!("expression nested too deeply (more than {MAX_NESTING} levels)"),
        )
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests;
