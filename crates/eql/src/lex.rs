//! Lexer: query text → tokens, following Elasticsearch's EQL lexer rules
//! (longest match, case-sensitive lowercase keywords, hidden comments and whitespace).

use crate::diag::{Code, Diagnostic};
use crate::span::Span;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    // Keywords (lowercase only, as in Elasticsearch).
    And,
    Any,
    By,
    False,
    In,
    InTilde,
    Join,
    Like,
    LikeTilde,
    Maxspan,
    Not,
    Null,
    Of,
    Or,
    Regex,
    RegexTilde,
    Sample,
    Sequence,
    True,
    Until,
    Where,
    With,
    // Operators and punctuation.
    Colon,
    Assign,
    EqEq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Dot,
    Comma,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Pipe,
    Question,
    /// `![`, the opening of a missing-event stage.
    MissingOpen,
    /// A string literal, already unescaped.
    Str(String),
    /// Digits only; the text is read from the span.
    Integer,
    /// A number with a fraction or exponent; the text is read from the span.
    Decimal,
    Ident(String),
    /// A backquoted identifier, with ``` `` ``` already unescaped.
    QuotedIdent(String),
    /// `name~`, used for case-insensitive function calls.
    TildeIdent(String),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

pub const KEYWORDS: &[(&str, Tok)] = &[
    ("and", Tok::And),
    ("any", Tok::Any),
    ("by", Tok::By),
    ("false", Tok::False),
    ("in", Tok::In),
    ("join", Tok::Join),
    ("like", Tok::Like),
    ("maxspan", Tok::Maxspan),
    ("not", Tok::Not),
    ("null", Tok::Null),
    ("of", Tok::Of),
    ("or", Tok::Or),
    ("regex", Tok::Regex),
    ("sample", Tok::Sample),
    ("sequence", Tok::Sequence),
    ("true", Tok::True),
    ("until", Tok::Until),
    ("where", Tok::Where),
    ("with", Tok::With),
];

/// True when `word` is a reserved word and therefore cannot be a bare identifier.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|(k, _)| *k == word)
}

/// True when `word` lexes as one plain (non-keyword) identifier.
pub fn is_plain_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    let first_ok =
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '@');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !is_keyword(word)
}

/// How a token is named in "expected X, found Y" messages.
pub fn describe(tok: &Tok, text: &str, span: Span) -> String {
    match tok {
        Tok::Eof => "end of query".to_string(),
        Tok::Str(_) => "a string".to_string(),
        Tok::Integer | Tok::Decimal => format!("number `{}`", text.get(span.range()).unwrap_or("")),
        Tok::Ident(name) => format!("`{name}`"),
        Tok::QuotedIdent(_) | Tok::TildeIdent(_) => {
            format!("`{}`", text.get(span.range()).unwrap_or(""))
        }
        _ => format!("`{}`", text.get(span.range()).unwrap_or("")),
    }
}

/// Splits `text` into tokens, ending with [`Tok::Eof`]. Returns every lexical error found.
pub fn lex(text: &str) -> Result<Vec<Token>, Vec<Diagnostic>> {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    if lexer.errors.is_empty() {
        Ok(lexer.tokens)
    } else {
        Err(lexer.errors)
    }
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    errors: Vec<Diagnostic>,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.tokens.push(Token {
            tok,
            span: Span::new(start, self.pos),
        });
    }

    fn error(&mut self, code: &'static str, start: usize, end: usize, message: String) {
        self.errors.push(Diagnostic::error(
            Code(code),
            Span::new(start, end),
            message,
        ));
    }

    fn run(&mut self) {
        while let Some(b) = self.peek(0) {
            let start = self.pos;
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'/' if self.peek(1) == Some(b'/') => self.line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'"' => self.double_quoted(),
                b'\'' => self.single_quoted(start),
                b'?' if matches!(self.peek(1), Some(b'"') | Some(b'\'')) => self.legacy_raw(start),
                b'`' => self.quoted_ident(),
                b'0'..=b'9' => self.number(),
                b'.' if matches!(self.peek(1), Some(b'0'..=b'9')) => self.number(),
                b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'@' => self.word(),
                _ => self.punct(start, b),
            }
        }
        let end = self.text.len();
        self.tokens.push(Token {
            tok: Tok::Eof,
            span: Span::new(end, end),
        });
    }

    fn punct(&mut self, start: usize, b: u8) {
        let two = |s: &Self, c: u8| s.peek(1) == Some(c);
        let (tok, len) = match b {
            b'=' if two(self, b'=') => (Tok::EqEq, 2),
            b'=' => (Tok::Assign, 1),
            b'!' if two(self, b'=') => (Tok::NotEq, 2),
            b'!' if two(self, b'[') => (Tok::MissingOpen, 2),
            b'<' if two(self, b'=') => (Tok::LtEq, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if two(self, b'=') => (Tok::GtEq, 2),
            b'>' => (Tok::Gt, 1),
            b':' => (Tok::Colon, 1),
            b'+' => (Tok::Plus, 1),
            b'-' => (Tok::Minus, 1),
            b'*' => (Tok::Star, 1),
            b'/' => (Tok::Slash, 1),
            b'%' => (Tok::Percent, 1),
            b'.' => (Tok::Dot, 1),
            b',' => (Tok::Comma, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'|' => (Tok::Pipe, 1),
            b'?' => (Tok::Question, 1),
            _ => {
                let ch = self.text.get(start..).and_then(|s| s.chars().next());
                let width = ch.map_or(1, char::len_utf8);
                self.pos += width;
                let shown = ch.map_or_else(|| "?".to_string(), |c| c.escape_debug().to_string());
                self.error(
                    "E101",
                    start,
                    start + width,
                    format!("unexpected character `{shown}`"),
                );
                return;
            }
        };
        self.pos += len;
        self.push(tok, start);
    }

    fn line_comment(&mut self) {
        while let Some(b) = self.peek(0) {
            if b == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// `/* ... */`, nesting allowed as in Elasticsearch's grammar.
    fn block_comment(&mut self) {
        let start = self.pos;
        self.pos += 2;
        let mut depth = 1usize;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => {
                    self.error(
                        "E107",
                        start,
                        start + 2,
                        "unterminated comment: `/*` has no matching `*/`".to_string(),
                    );
                    return;
                }
                (Some(b'/'), Some(b'*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (Some(b'*'), Some(b'/')) => {
                    depth -= 1;
                    self.pos += 2;
                }
                _ => self.pos += 1,
            }
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        self.pos += 1;
        while matches!(self.peek(0), Some(b) if b.is_ascii_alphanumeric() || b == b'_') {
            self.pos += 1;
        }
        let word = self.text.get(start..self.pos).unwrap_or("");
        if self.peek(0) == Some(b'~') {
            self.pos += 1;
            let tok = match word {
                "in" => Tok::InTilde,
                "like" => Tok::LikeTilde,
                "regex" => Tok::RegexTilde,
                _ => Tok::TildeIdent(word.to_string()),
            };
            self.push(tok, start);
            return;
        }
        let tok = KEYWORDS
            .iter()
            .find(|(k, _)| *k == word)
            .map_or_else(|| Tok::Ident(word.to_string()), |(_, t)| t.clone());
        self.push(tok, start);
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while matches!(self.peek(0), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - from
    }

    /// INTEGER_VALUE or DECIMAL_VALUE, longest match.
    fn number(&mut self) {
        let start = self.pos;
        let mut decimal = false;
        if self.peek(0) == Some(b'.') {
            self.pos += 1;
            self.digits();
            decimal = true;
        } else {
            self.digits();
            if self.peek(0) == Some(b'.') {
                self.pos += 1;
                self.digits();
                decimal = true;
            }
        }
        // Exponent only when complete: `1e` is the integer 1 followed by identifier `e`.
        if matches!(self.peek(0), Some(b'e') | Some(b'E')) {
            let sign = usize::from(matches!(self.peek(1), Some(b'+') | Some(b'-')));
            if matches!(self.peek(1 + sign), Some(b'0'..=b'9')) {
                self.pos += 1 + sign;
                self.digits();
                decimal = true;
            }
        }
        self.push(if decimal { Tok::Decimal } else { Tok::Integer }, start);
    }

    fn quoted_ident(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek(0) {
                None => {
                    self.error(
                        "E106",
                        start,
                        self.pos,
                        "unterminated backquoted identifier".to_string(),
                    );
                    return;
                }
                Some(b'`') if self.peek(1) == Some(b'`') => {
                    value.push('`');
                    self.pos += 2;
                }
                Some(b'`') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => {
                    let ch = self.text.get(self.pos..).and_then(|s| s.chars().next());
                    if let Some(c) = ch {
                        value.push(c);
                        self.pos += c.len_utf8();
                    } else {
                        self.pos += 1;
                    }
                }
            }
        }
        self.push(Tok::QuotedIdent(value), start);
    }

    fn double_quoted(&mut self) {
        let start = self.pos;
        if self
            .text
            .get(start..)
            .is_some_and(|s| s.starts_with("\"\"\""))
            && self.raw_string()
        {
            return;
        }
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(b) = self.peek(0) else {
                self.unterminated(start);
                return;
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\r' | b'\n' => {
                    self.unterminated(start);
                    return;
                }
                b'\\' => {
                    if !self.escape(&mut value) {
                        self.skip_rest_of_string();
                        return;
                    }
                }
                _ => {
                    let ch = self.text.get(self.pos..).and_then(|s| s.chars().next());
                    if let Some(c) = ch {
                        value.push(c);
                        self.pos += c.len_utf8();
                    } else {
                        self.pos += 1;
                    }
                }
            }
        }
        self.push(Tok::Str(value), start);
    }

    fn unterminated(&mut self, start: usize) {
        let end = self.line_end(start);
        self.pos = end;
        self.error(
            "E102",
            start,
            end,
            "unterminated string: expected a closing `\"` on the same line".to_string(),
        );
    }

    fn line_end(&self, from: usize) -> usize {
        self.bytes
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n' || b == b'\r'))
            .map_or(self.bytes.len(), |i| from + i)
    }

    /// After a bad escape, resume lexing after the string so that only one error is reported for it.
    fn skip_rest_of_string(&mut self) {
        while let Some(b) = self.peek(0) {
            match b {
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\n' | b'\r' => return,
                b'\\' => self.pos += 2,
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.bytes.len());
    }

    /// One escape sequence at `self.pos` (a backslash). Returns false after reporting an error.
    fn escape(&mut self, value: &mut String) -> bool {
        let start = self.pos;
        let Some(next) = self.peek(1) else {
            self.pos += 1;
            self.unterminated(start);
            return false;
        };
        let simple = match next {
            b't' => Some('\t'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b'"' => Some('"'),
            b'\'' => Some('\''),
            b'\\' => Some('\\'),
            _ => None,
        };
        if let Some(c) = simple {
            value.push(c);
            self.pos += 2;
            return true;
        }
        if next == b'u' {
            return self.unicode_escape(value);
        }
        let shown = self
            .text
            .get(start + 1..)
            .and_then(|s| s.chars().next())
            .map_or(String::new(), |c| c.to_string());
        let end = start + 1 + shown.len().max(1);
        self.pos = end.min(self.bytes.len());
        self.errors.push(
            Diagnostic::error(
                Code("E103"),
                Span::new(start, end),
                format!("invalid escape sequence `\\{shown}` in string"),
            )
            .with_hint(
                "valid escapes are \\t \\b \\f \\n \\r \\\" \\' \\\\ \\uXXXX \\u{X..}; \
                 use a triple-quoted string \"\"\"...\"\"\" to keep backslashes as written",
            ),
        );
        false
    }

    /// `\uXXXX` (exactly four hex digits) or `\u{X..}` (two to eight hex digits).
    fn unicode_escape(&mut self, value: &mut String) -> bool {
        let start = self.pos;
        let hex_run = |from: usize| {
            self.bytes.get(from..).map_or(0, |r| {
                r.iter().take_while(|b| b.is_ascii_hexdigit()).count()
            })
        };
        let (digits_from, digits_len, end) = if self.peek(2) == Some(b'{') {
            let n = hex_run(start + 3);
            if n == 0 || self.bytes.get(start + 3 + n) != Some(&b'}') {
                return self.bad_unicode(
                    start,
                    start + 3 + n,
                    "expected hex digits and a closing `}`",
                );
            }
            if !(2..=8).contains(&n) {
                let shown = self
                    .text
                    .get(start..start + 4 + n)
                    .unwrap_or("")
                    .to_string();
                return self.bad_unicode(
                    start,
                    start + 4 + n,
                    &format!("unicode sequence in curly braces should use 2 to 8 hex digits, `{shown}` has {n}"),
                );
            }
            (start + 3, n, start + 4 + n)
        } else {
            let n = hex_run(start + 2).min(4);
            if n < 4 {
                return self.bad_unicode(
                    start,
                    start + 2 + n,
                    "`\\u` must be followed by exactly 4 hex digits or `{...}`",
                );
            }
            (start + 2, 4, start + 6)
        };
        let hex = self
            .text
            .get(digits_from..digits_from + digits_len)
            .unwrap_or("");
        let code = u32::from_str_radix(hex, 16).unwrap_or(u32::MAX);
        if code == 0 {
            return self.bad_unicode(start, end, "unicode sequence results in null");
        }
        match char::from_u32(code) {
            Some(c) => {
                value.push(c);
                self.pos = end;
                true
            }
            None => self.bad_unicode(
                start,
                end,
                &format!("invalid unicode character code `{hex}`"),
            ),
        }
    }

    fn bad_unicode(&mut self, start: usize, end: usize, message: &str) -> bool {
        let end = end.min(self.bytes.len()).max(start + 1);
        self.pos = end;
        self.error("E108", start, end, message.to_string());
        false
    }

    /// `"""raw"""`: no escapes; ends at the first `"""`, which may be followed by up to two
    /// more quotes that belong to the value. Returns false when there is no closing `"""` on the line.
    fn raw_string(&mut self) -> bool {
        let start = self.pos;
        let body_from = start + 3;
        let line_end = self.line_end(body_from);
        let line = self.text.get(body_from..line_end).unwrap_or("");
        let Some(close) = line.find("\"\"\"") else {
            // A plain `""` followed by something else is lexed by the caller.
            if self.peek(3).is_some() {
                self.pos = line_end;
                self.error(
                    "E102",
                    start,
                    line_end,
                    "unterminated raw string: expected a closing `\"\"\"` on the same line"
                        .to_string(),
                );
                return true;
            }
            return false;
        };
        let mut end = body_from + close + 3;
        for _ in 0..2 {
            if self.bytes.get(end) == Some(&b'"') {
                end += 1;
            }
        }
        let value = self.text.get(body_from..end - 3).unwrap_or("").to_string();
        self.pos = end;
        self.push(Tok::Str(value), start);
        true
    }

    fn single_quoted(&mut self, start: usize) {
        let end = self.scan_quoted(start + 1, b'\'');
        self.pos = end;
        self.errors.push(
            Diagnostic::error(
                Code("E104"),
                Span::new(start, end),
                "single quotes do not delimit strings in EQL",
            )
            .with_hint("use double quotes [\"] to define string literals, not single quotes [']"),
        );
    }

    fn legacy_raw(&mut self, start: usize) {
        let quote = self.peek(1).unwrap_or(b'"');
        let end = self.scan_quoted(start + 2, quote);
        self.pos = end;
        self.errors.push(
            Diagnostic::error(
                Code("E105"),
                Span::new(start, end),
                format!("`?{}` strings are not supported", quote as char),
            )
            .with_hint("use triple double quotes [\"\"\"] to define unescaped string literals"),
        );
    }

    /// End offset of a quoted run starting at `from` (just after the opening quote).
    fn scan_quoted(&self, from: usize, quote: u8) -> usize {
        let mut i = from;
        while let Some(&b) = self.bytes.get(i) {
            match b {
                b'\\' => i += 2,
                b'\n' | b'\r' => return i,
                _ if b == quote => return i + 1,
                _ => i += 1,
            }
        }
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        lex(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn err_code(text: &str) -> &'static str {
        lex(text).unwrap_err()[0].code.0
    }

    #[test]
    fn keywords_are_lowercase_only() {
        assert_eq!(
            toks("and AND"),
            vec![Tok::And, Tok::Ident("AND".into()), Tok::Eof]
        );
    }

    #[test]
    fn tilde_forms() {
        assert_eq!(
            toks("in~ like~ regex~ startsWith~"),
            vec![
                Tok::InTilde,
                Tok::LikeTilde,
                Tok::RegexTilde,
                Tok::TildeIdent("startsWith".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn numbers_longest_match() {
        assert_eq!(
            toks("5s"),
            vec![Tok::Integer, Tok::Ident("s".into()), Tok::Eof]
        );
        assert_eq!(toks("1e5 1.5 .5 1. 1e"), {
            vec![
                Tok::Decimal,
                Tok::Decimal,
                Tok::Decimal,
                Tok::Decimal,
                Tok::Integer,
                Tok::Ident("e".into()),
                Tok::Eof,
            ]
        });
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            toks(r#""a\"b\\c\n""#),
            vec![Tok::Str("a\"b\\c\n".into()), Tok::Eof]
        );
        assert_eq!(
            toks(r#""\u0041\u{42}""#),
            vec![Tok::Str("AB".into()), Tok::Eof]
        );
        assert_eq!(
            toks(r#""""a\b""""#),
            vec![Tok::Str("a\\b".into()), Tok::Eof]
        );
        assert_eq!(toks(r#""""""""#), vec![Tok::Str("".into()), Tok::Eof]);
        assert_eq!(
            toks(r#""""""hello""world!"""""#),
            vec![Tok::Str(r#"""hello""world!""#.into()), Tok::Eof]
        );
        assert_eq!(toks(r#""""a"""""#), vec![Tok::Str("a\"".into()), Tok::Eof]);
        assert_eq!(toks(r#""""#), vec![Tok::Str(String::new()), Tok::Eof]);
    }

    #[test]
    fn string_errors() {
        assert_eq!(err_code("'x'"), "E104");
        assert_eq!(err_code("?\"x\""), "E105");
        assert_eq!(err_code("\"abc"), "E102");
        assert_eq!(err_code(r#""\w""#), "E103");
        assert_eq!(err_code(r#""\u{D}""#), "E108");
        assert_eq!(err_code(r#""\u0000""#), "E108");
        assert_eq!(err_code(r#""\u001""#), "E108");
        assert_eq!(err_code(r#""\u{110000}""#), "E108");
    }

    #[test]
    fn comments_nest() {
        assert_eq!(toks("a /* x /* y */ z */ b // c\nd"), {
            vec![
                Tok::Ident("a".into()),
                Tok::Ident("b".into()),
                Tok::Ident("d".into()),
                Tok::Eof,
            ]
        });
        assert_eq!(err_code("a /* x"), "E107");
    }

    #[test]
    fn quoted_identifiers() {
        assert_eq!(
            toks("`a``b`"),
            vec![Tok::QuotedIdent("a`b".into()), Tok::Eof]
        );
        assert_eq!(err_code("`abc"), "E106");
    }

    #[test]
    fn punctuation() {
        assert_eq!(
            toks("![ != == = ? :"),
            vec![
                Tok::MissingOpen,
                Tok::NotEq,
                Tok::EqEq,
                Tok::Assign,
                Tok::Question,
                Tok::Colon,
                Tok::Eof
            ]
        );
        assert_eq!(err_code("a # b"), "E101");
        assert_eq!(err_code("é"), "E101");
    }
}
