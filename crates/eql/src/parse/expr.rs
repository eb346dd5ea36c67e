//! Expressions, with Elasticsearch's precedence:
//! `or` < `and` < `not` < comparison < `+ -` < `* / %` < unary minus < predicate.
//! As in Elasticsearch's grammar, a predicate (`in`, `:`, `like`, `regex`) applies to the
//! primary expression just before it: `a + b in (1)` is `a + (b in (1))`.

use super::{Node, PResult, Parser, MAX_TREE_DEPTH};
use crate::ast::{BinaryOp, Expr, ExprKind, FieldRef, Literal, MatchOp};
use crate::diag::{Code, Diagnostic};
use crate::funcs;
use crate::lex::Tok;
use crate::span::Span;

// Binding strength of binary operators, loosest first.
const OR: u8 = 1;
const AND: u8 = 2;
const COMPARE: u8 = 4;
const ADD: u8 = 5;
const MUL: u8 = 6;
const UNARY: u8 = 7;

fn op_level(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => OR,
        BinaryOp::And => AND,
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq => COMPARE,
        BinaryOp::Add | BinaryOp::Sub => ADD,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => MUL,
    }
}

fn operand_span(kind: &ExprKind) -> Span {
    match kind {
        ExprKind::Not(e) | ExprKind::Neg(e) => e.span,
        _ => Span::default(),
    }
}

fn leaf(kind: ExprKind, span: Span) -> Node {
    Node {
        expr: Expr { kind, span },
        depth: 1,
    }
}

impl Parser<'_> {
    /// A full boolean expression.
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        Ok(self.expr_node()?.expr)
    }

    fn expr_node(&mut self) -> PResult<Node> {
        self.enter()?;
        let result = self.binary_chain(OR);
        self.leave();
        result
    }

    fn make(&self, kind: ExprKind, span: Span, depth: u32) -> PResult<Node> {
        if depth > MAX_TREE_DEPTH {
            return Err(tree_too_deep(span));
        }
        Ok(Node {
            expr: Expr { kind, span },
            depth,
        })
    }

    fn binary(&self, op: BinaryOp, lhs: Node, rhs: Node) -> PResult<Node> {
        let span = lhs.expr.span.to(rhs.expr.span);
        let depth = lhs.depth.max(rhs.depth) + 1;
        let kind = ExprKind::Binary {
            op,
            lhs: Box::new(lhs.expr),
            rhs: Box::new(rhs.expr),
        };
        self.make(kind, span, depth)
    }

    /// Precedence climbing over the binary operators binding at least as tightly as `min`.
    /// Only right operands recurse, so nesting depth costs few stack frames per level.
    fn binary_chain(&mut self, min: u8) -> PResult<Node> {
        let mut lhs = self.operand(min)?;
        let mut compared = false;
        while let Some(op) = self.binary_op() {
            let level = op_level(op);
            if level < min {
                break;
            }
            if level == COMPARE && compared {
                return Err(self.chained_comparison());
            }
            self.bump();
            // Left-associative: the right side binds strictly tighter.
            let rhs = self.binary_chain(level + 1)?;
            compared = level == COMPARE;
            lhs = self.binary(op, lhs, rhs)?;
        }
        if self.at(&Tok::Assign) {
            return Err(self.assign_instead_of_eq());
        }
        Ok(lhs)
    }

    fn binary_op(&self) -> Option<BinaryOp> {
        Some(match self.peek() {
            Tok::Or => BinaryOp::Or,
            Tok::And => BinaryOp::And,
            Tok::EqEq => BinaryOp::Eq,
            Tok::NotEq => BinaryOp::NotEq,
            Tok::Lt => BinaryOp::Lt,
            Tok::LtEq => BinaryOp::LtEq,
            Tok::Gt => BinaryOp::Gt,
            Tok::GtEq => BinaryOp::GtEq,
            Tok::Plus => BinaryOp::Add,
            Tok::Minus => BinaryOp::Sub,
            Tok::Star => BinaryOp::Mul,
            Tok::Slash => BinaryOp::Div,
            Tok::Percent => BinaryOp::Mod,
            _ => return None,
        })
    }

    #[cold]
    #[inline(never)]
    fn chained_comparison(&self) -> Diagnostic {
        self.unexpected("`and`, `or` or the end of the condition")
            .with_hint("comparisons cannot be chained; combine them with `and`")
    }

    #[cold]
    #[inline(never)]
    fn assign_instead_of_eq(&self) -> Diagnostic {
        self.unexpected("an operator")
            .with_hint("use `==` to compare values")
    }

    #[cold]
    #[inline(never)]
    fn relationship(&self) -> Diagnostic {
        Diagnostic::error(
            Code("E207"),
            self.span(),
            "process relationships (`descendant of`, `child of`, `event of`) are not supported by Elasticsearch EQL",
        )
    }

    /// A prefix `not` (only where a boolean may stand), a unary minus or plus, or a predicated primary.
    fn operand(&mut self, min: u8) -> PResult<Node> {
        let prefix = match self.peek() {
            Tok::Not if min <= COMPARE => Tok::Not,
            Tok::Minus => Tok::Minus,
            Tok::Plus => Tok::Plus,
            Tok::Ident(_) if min <= COMPARE && self.peek_at(1) == &Tok::Of => {
                return Err(self.relationship())
            }
            _ => return self.predicated(),
        };
        let start = self.bump().span;
        self.enter()?;
        // `not` governs a comparison (`not a == b` is `not (a == b)`); a sign only its operand.
        let operand = if prefix == Tok::Not {
            self.binary_chain(COMPARE)
        } else {
            self.operand(UNARY)
        };
        self.leave();
        let operand = operand?;
        let kind = match prefix {
            Tok::Not => ExprKind::Not(Box::new(operand.expr)),
            Tok::Minus => ExprKind::Neg(Box::new(operand.expr)),
            // Unary plus is dropped, as in Elasticsearch.
            _ => return Ok(operand),
        };
        let span = start.to(operand_span(&kind));
        self.make(kind, span, operand.depth + 1)
    }

    fn predicated(&mut self) -> PResult<Node> {
        let lhs = self.primary()?;
        self.predicate(lhs)
    }

    /// The optional predicate after a primary expression.
    #[inline(never)]
    fn predicate(&mut self, lhs: Node) -> PResult<Node> {
        let negated = self.at(&Tok::Not);
        if negated && !matches!(self.peek_at(1), Tok::In | Tok::InTilde) {
            self.bump();
            return Err(self.unexpected("`in` after `not`"));
        }
        if negated {
            self.bump();
        }
        let (kind, end, depth) = match self.peek() {
            Tok::In | Tok::InTilde => {
                let case_insensitive = self.bump().tok == Tok::InTilde;
                self.expect(&Tok::LParen, "`(` to start the list")?;
                let (list, depth) = self.expr_list("a value")?;
                let end = self.expect(&Tok::RParen, "`,` or `)`")?;
                let kind = ExprKind::In {
                    lhs: Box::new(lhs.expr),
                    list,
                    negated,
                    case_insensitive,
                };
                (kind, end, depth.max(lhs.depth))
            }
            Tok::Colon | Tok::Like | Tok::LikeTilde | Tok::Regex | Tok::RegexTilde => {
                let (op, case_insensitive) = match self.bump().tok {
                    Tok::Colon => (MatchOp::Colon, false),
                    Tok::Like => (MatchOp::Like, false),
                    Tok::LikeTilde => (MatchOp::Like, true),
                    Tok::Regex => (MatchOp::Regex, false),
                    _ => (MatchOp::Regex, true),
                };
                let patterns = if self.eat(&Tok::LParen) {
                    let mut patterns = vec![self.constant("a pattern")?];
                    while self.eat(&Tok::Comma) {
                        patterns.push(self.constant("a pattern")?);
                    }
                    self.expect(&Tok::RParen, "`,` or `)`")?;
                    patterns
                } else {
                    vec![self.constant("a pattern string or `(`")?]
                };
                let end = Span::new(self.prev_end() as usize, self.prev_end() as usize);
                let kind = ExprKind::Match {
                    op,
                    case_insensitive,
                    lhs: Box::new(lhs.expr),
                    patterns,
                };
                (kind, end, lhs.depth)
            }
            _ => return Ok(lhs),
        };
        let span = lhs_span_to(&kind, end);
        self.make(kind, span, depth + 1)
    }

    fn expr_list(&mut self, what: &str) -> PResult<(Vec<Expr>, u32)> {
        if self.at(&Tok::RParen) {
            return Err(self.unexpected(what));
        }
        let first = self.expr_node()?;
        let mut depth = first.depth;
        let mut list = vec![first.expr];
        while self.eat(&Tok::Comma) {
            let next = self.expr_node()?;
            depth = depth.max(next.depth);
            list.push(next.expr);
        }
        Ok((list, depth))
    }

    /// A literal constant (the only thing allowed as a pattern).
    fn constant(&mut self, what: &str) -> PResult<Expr> {
        match self.literal()? {
            Some(node) => Ok(node.expr),
            None => Err(self.unexpected(what)),
        }
    }

    #[inline(never)]
    fn literal(&mut self) -> PResult<Option<Node>> {
        let span = self.span();
        let lit = match self.peek() {
            Tok::Null => Literal::Null,
            Tok::True => Literal::Bool(true),
            Tok::False => Literal::Bool(false),
            Tok::Str(_) => {
                let Tok::Str(s) = self.bump().tok else {
                    return Ok(None);
                };
                return Ok(Some(leaf(ExprKind::Literal(Literal::String(s)), span)));
            }
            Tok::Integer => {
                let text = self.text.get(span.range()).unwrap_or("0");
                match text.parse::<i64>() {
                    Ok(n) => Literal::Int(n),
                    // Too large for a long: Elasticsearch reads it as a double.
                    Err(_) => Literal::Float(self.float(text, span)?),
                }
            }
            Tok::Decimal => {
                let text = self.text.get(span.range()).unwrap_or("0");
                Literal::Float(self.float(text, span)?)
            }
            _ => return Ok(None),
        };
        self.bump();
        Ok(Some(leaf(ExprKind::Literal(lit), span)))
    }

    fn float(&self, text: &str, span: Span) -> PResult<f64> {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(Diagnostic::error(
                Code("E109"),
                span,
                format!("number `{text}` is too large"),
            )),
        }
    }

    fn primary(&mut self) -> PResult<Node> {
        if let Some(node) = self.literal()? {
            return Ok(node);
        }
        match self.peek() {
            Tok::LParen => {
                let open = self.bump().span;
                let inner = self.expr_node()?;
                if !self.at(&Tok::RParen) {
                    return Err(self
                        .unexpected("`)`")
                        .with_label(open, "parenthesis opened here"));
                }
                self.bump();
                Ok(inner)
            }
            Tok::Ident(_) if self.peek_at(1) == &Tok::LParen => self.call(false),
            Tok::TildeIdent(_) => {
                if self.peek_at(1) != &Tok::LParen {
                    self.bump();
                    return Err(self.unexpected("`(` after a case-insensitive function name"));
                }
                self.call(true)
            }
            Tok::Ident(_) | Tok::QuotedIdent(_) | Tok::Question => self.field(),
            _ => Err(self.unexpected("an expression")),
        }
    }

    #[inline(never)]
    fn call(&mut self, case_insensitive: bool) -> PResult<Node> {
        let name = self.bump();
        let name_span = name.span;
        let written = match name.tok {
            Tok::Ident(n) | Tok::TildeIdent(n) => n,
            _ => String::new(),
        };
        self.bump(); // `(`
        let (args, depth) = if self.at(&Tok::RParen) {
            (Vec::new(), 0)
        } else {
            self.expr_list("an argument")?
        };
        let close = self.expect(&Tok::RParen, "`,` or `)`")?;
        let span = name_span.to(close);
        let name = self.resolve_function(&written, case_insensitive, args.len(), name_span, span);
        let kind = ExprKind::Call {
            name,
            case_insensitive,
            args,
        };
        self.make(kind, span, depth + 1)
    }

    #[inline(never)]
    /// Checks the name, `~` and arity against the function table; returns the canonical name.
    fn resolve_function(
        &mut self,
        written: &str,
        case_insensitive: bool,
        count: usize,
        name_span: Span,
        call_span: Span,
    ) -> String {
        let Some(spec) = funcs::lookup(written) else {
            let mut diag = Diagnostic::error(
                Code("E301"),
                name_span,
                format!("unknown function `{written}`"),
            );
            if let Some(similar) = funcs::suggest(written) {
                diag = diag.with_hint(format!("did you mean `{similar}`?"));
            }
            self.check(diag);
            return written.to_string();
        };
        if case_insensitive && !spec.case_insensitive {
            self.check(Diagnostic::error(
                Code("E303"),
                name_span,
                format!(
                    "function `{}` has no case-insensitive `~` variant",
                    spec.name
                ),
            ));
        }
        if !spec.accepts(count) {
            self.check(Diagnostic::error(
                Code("E302"),
                call_span,
                format!(
                    "function `{}` takes {}, found {count}",
                    spec.name,
                    spec.arity_text()
                ),
            ));
        }
        spec.name.to_string()
    }

    /// `?a.b.`c d`[0]`
    #[inline(never)]
    fn field(&mut self) -> PResult<Node> {
        let start = self.span();
        let optional = self.eat(&Tok::Question);
        let mut path = self.segment()?;
        let mut indexes = Vec::new();
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    path.push('.');
                    path.push_str(&self.segment()?);
                }
                // `[` starts an index only when a number follows; otherwise it opens a stage.
                Tok::LBracket if self.peek_at(1) == &Tok::Integer => {
                    let open = self.bump().span;
                    while self.at(&Tok::Integer) {
                        let span = self.bump().span;
                        let text = self.text.get(span.range()).unwrap_or("");
                        indexes.push(text.parse::<u32>().unwrap_or(u32::MAX));
                    }
                    let close = self.expect(&Tok::RBracket, "`]`")?;
                    self.check(Diagnostic::error(
                        Code("E208"),
                        open.to(close),
                        "array indexes are not supported by Elasticsearch EQL",
                    ));
                }
                _ => break,
            }
        }
        let span = Span::new(start.start as usize, self.prev_end() as usize);
        Ok(leaf(
            ExprKind::Field(FieldRef {
                path,
                optional,
                indexes,
            }),
            span,
        ))
    }

    fn segment(&mut self) -> PResult<String> {
        match self.peek() {
            Tok::Ident(_) | Tok::QuotedIdent(_) => match self.bump().tok {
                Tok::Ident(name) | Tok::QuotedIdent(name) => Ok(name),
                _ => Ok(String::new()),
            },
            _ => Err(self.unexpected("a field name")),
        }
    }
}

#[cold]
#[inline(never)]
fn tree_too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        Code("E202"),
        span,
        format!("expression too deeply nested (more than {MAX_TREE_DEPTH} levels)"),
    )
    .with_hint("long `or` chains of comparisons can be written as `field in (...)`")
}

fn lhs_span_to(kind: &ExprKind, end: Span) -> Span {
    match kind {
        ExprKind::In { lhs, .. } | ExprKind::Match { lhs, .. } => lhs.span.to(end),
        _ => end,
    }
}
