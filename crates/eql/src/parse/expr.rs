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
        let result = self.or_expr();
        self.leave();
        result
    }

    fn make(&self, kind: ExprKind, span: Span, depth: u32) -> PResult<Node> {
        if depth > MAX_TREE_DEPTH {
            return Err(Diagnostic::error(
                Code("E202"),
                span,
                format!("expression too deeply nested (more than {MAX_TREE_DEPTH} levels)"),
            )
            .with_hint("long `or` chains of comparisons can be written as `field in (...)`"));
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

    fn or_expr(&mut self) -> PResult<Node> {
        let mut lhs = self.and_expr()?;
        while self.eat(&Tok::Or) {
            let rhs = self.and_expr()?;
            lhs = self.binary(BinaryOp::Or, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn and_expr(&mut self) -> PResult<Node> {
        let mut lhs = self.not_expr()?;
        while self.eat(&Tok::And) {
            let rhs = self.not_expr()?;
            lhs = self.binary(BinaryOp::And, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn not_expr(&mut self) -> PResult<Node> {
        if self.at(&Tok::Not) {
            let start = self.bump().span;
            self.enter()?;
            let operand = self.not_expr();
            self.leave();
            let operand = operand?;
            let span = start.to(operand.expr.span);
            let depth = operand.depth + 1;
            return self.make(ExprKind::Not(Box::new(operand.expr)), span, depth);
        }
        if matches!(self.peek(), Tok::Ident(_)) && self.peek_at(1) == &Tok::Of {
            return Err(Diagnostic::error(
                Code("E207"),
                self.span(),
                "process relationships (`descendant of`, `child of`, `event of`) are not supported by Elasticsearch EQL",
            ));
        }
        self.comparison()
    }

    fn comparison_op(&self) -> Option<BinaryOp> {
        Some(match self.peek() {
            Tok::EqEq => BinaryOp::Eq,
            Tok::NotEq => BinaryOp::NotEq,
            Tok::Lt => BinaryOp::Lt,
            Tok::LtEq => BinaryOp::LtEq,
            Tok::Gt => BinaryOp::Gt,
            Tok::GtEq => BinaryOp::GtEq,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> PResult<Node> {
        let lhs = self.additive()?;
        if self.at(&Tok::Assign) {
            return Err(self
                .unexpected("an operator")
                .with_hint("use `==` to compare values"));
        }
        let Some(op) = self.comparison_op() else {
            return Ok(lhs);
        };
        self.bump();
        let rhs = self.additive()?;
        if self.comparison_op().is_some() || self.at(&Tok::Assign) {
            return Err(self
                .unexpected("`and`, `or` or the end of the condition")
                .with_hint("comparisons cannot be chained; combine them with `and`"));
        }
        self.binary(op, lhs, rhs)
    }

    fn additive(&mut self) -> PResult<Node> {
        let mut lhs = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Tok::Plus => BinaryOp::Add,
                Tok::Minus => BinaryOp::Sub,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.multiplicative()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
    }

    fn multiplicative(&mut self) -> PResult<Node> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Star => BinaryOp::Mul,
                Tok::Slash => BinaryOp::Div,
                Tok::Percent => BinaryOp::Mod,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.unary()?;
            lhs = self.binary(op, lhs, rhs)?;
        }
    }

    fn unary(&mut self) -> PResult<Node> {
        let negate = match self.peek() {
            Tok::Minus => true,
            Tok::Plus => false,
            _ => return self.predicated(),
        };
        let start = self.bump().span;
        self.enter()?;
        let operand = self.unary();
        self.leave();
        let operand = operand?;
        if !negate {
            // Unary plus is dropped, as in Elasticsearch.
            return Ok(operand);
        }
        let span = start.to(operand.expr.span);
        let depth = operand.depth + 1;
        self.make(ExprKind::Neg(Box::new(operand.expr)), span, depth)
    }

    /// A primary expression and at most one predicate (`in`, `not in`, `:`, `like`, `regex`).
    fn predicated(&mut self) -> PResult<Node> {
        let lhs = self.primary()?;
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

    fn literal(&mut self) -> PResult<Option<Node>> {
        let span = self.span();
        let lit = match self.peek().clone() {
            Tok::Null => Literal::Null,
            Tok::True => Literal::Bool(true),
            Tok::False => Literal::Bool(false),
            Tok::Str(s) => Literal::String(s),
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
        match self.peek().clone() {
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
            Tok::Ident(name) if self.peek_at(1) == &Tok::LParen => self.call(name, false),
            Tok::TildeIdent(name) => {
                if self.peek_at(1) != &Tok::LParen {
                    self.bump();
                    return Err(self.unexpected("`(` after a case-insensitive function name"));
                }
                self.call(name, true)
            }
            Tok::Ident(_) | Tok::QuotedIdent(_) | Tok::Question => self.field(),
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn call(&mut self, written: String, case_insensitive: bool) -> PResult<Node> {
        let name_span = self.bump().span;
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
        match self.peek().clone() {
            Tok::Ident(name) | Tok::QuotedIdent(name) => {
                self.bump();
                Ok(name)
            }
            _ => Err(self.unexpected("a field name")),
        }
    }
}

fn lhs_span_to(kind: &ExprKind, end: Span) -> Span {
    match kind {
        ExprKind::In { lhs, .. } | ExprKind::Match { lhs, .. } => lhs.span.to(end),
        _ => end,
    }
}
