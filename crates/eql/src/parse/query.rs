//! Statement level: event queries, `sequence`, `sample`, pipes.

use super::{PResult, Parser};
use crate::ast::{
    Category, EventQuery, Expr, ExprKind, Literal, Pipe, Query, QueryBody, Sample, SampleStage,
    Sequence, SequenceStage, TimeSpan, TimeUnit,
};
use crate::diag::{Code, Diagnostic};
use crate::funcs;
use crate::lex::Tok;
use crate::span::Span;

/// Pipes Elasticsearch knows by name but rejects.
const UNSUPPORTED_PIPES: &[&str] = &["count", "filter", "sort", "unique", "unique_count"];

impl Parser<'_> {
    pub(super) fn statement(&mut self) -> PResult<Query> {
        let start = self.span();
        let body = match self.peek() {
            Tok::Sequence => QueryBody::Sequence(self.sequence()?),
            Tok::Sample => QueryBody::Sample(self.sample()?),
            Tok::Join => {
                return Err(Diagnostic::error(
                    Code("E206"),
                    self.span(),
                    "`join` is not supported by Elasticsearch EQL",
                )
                .with_hint("use `sequence` (ordered) or `sample` (unordered) instead"))
            }
            _ => QueryBody::Event(
                self.event_filter("`sequence`, `sample`, `any` or an event category")?,
            ),
        };
        let mut pipes = Vec::new();
        while self.at(&Tok::Pipe) {
            pipes.push(self.pipe()?);
        }
        if !self.at(&Tok::Eof) {
            return Err(self.unexpected("`|` or end of query"));
        }
        Ok(Query {
            body,
            pipes,
            span: Span::new(start.start as usize, self.prev_end() as usize),
        })
    }

    /// `(any | <category>) where <expr>`
    pub(super) fn event_filter(&mut self, expected: &str) -> PResult<EventQuery> {
        let start = self.span();
        let category = match self.peek().clone() {
            Tok::Any => Category::Any,
            Tok::Ident(name) => Category::Named(name),
            Tok::Str(name) => Category::Named(name),
            Tok::QuotedIdent(_) => {
                return Err(self.unexpected(expected).with_hint(
                    "an event category cannot be backquoted; write it as a string, e.g. \"my category\"",
                ))
            }
            _ => return Err(self.unexpected(expected)),
        };
        self.bump();
        self.expect(&Tok::Where, "`where`")?;
        let condition = self.expr()?;
        Ok(EventQuery {
            category,
            span: start.to(condition.span),
            condition,
        })
    }

    /// `by k1, k2` — the `by` is already consumed. Returns the keys and the span of the list.
    fn join_keys(&mut self) -> PResult<(Vec<Expr>, Span)> {
        let mut keys = vec![self.expr()?];
        while self.eat(&Tok::Comma) {
            keys.push(self.expr()?);
        }
        let span = keys
            .iter()
            .map(|k| k.span)
            .reduce(Span::to)
            .unwrap_or_default();
        for key in &keys {
            if !matches!(key.kind, ExprKind::Field(_)) {
                self.check(Diagnostic::error(
                    Code("E215"),
                    key.span,
                    "join keys must be field names",
                ));
            }
        }
        Ok((keys, span))
    }

    fn optional_by(&mut self) -> PResult<(Vec<Expr>, Option<Span>)> {
        if self.eat(&Tok::By) {
            let (keys, span) = self.join_keys()?;
            Ok((keys, Some(span)))
        } else {
            Ok((Vec::new(), None))
        }
    }

    fn sequence(&mut self) -> PResult<Sequence> {
        let start = self.bump().span;
        let mut by = Vec::new();
        let mut maxspan = None;
        if self.eat(&Tok::By) {
            by = self.join_keys()?.0;
            if self.at(&Tok::With) {
                maxspan = Some(self.maxspan()?);
            }
        } else if self.at(&Tok::With) {
            maxspan = Some(self.maxspan()?);
            if self.at(&Tok::By) {
                let by_span = self.bump().span;
                let (keys, keys_span) = self.join_keys()?;
                by = keys;
                self.check(
                    Diagnostic::error(
                        Code("E210"),
                        by_span.to(keys_span),
                        "sequence `by` must come before `with maxspan`, not after",
                    )
                    .with_hint("write `sequence by <keys> with maxspan=<duration>`"),
                );
            }
        }

        let mut stages = Vec::new();
        let mut key_spans = Vec::new();
        while matches!(self.peek(), Tok::LBracket | Tok::MissingOpen) {
            let (stage, keys_span) = self.sequence_stage()?;
            key_spans.push(keys_span);
            stages.push(stage);
        }
        if stages.is_empty() {
            let expected = if maxspan.is_some() || !by.is_empty() {
                "`[` to start a sequence stage"
            } else {
                "`by`, `with` or `[` to start a sequence stage"
            };
            return Err(self.unexpected(expected));
        }
        let mut until = None;
        if self.eat(&Tok::Until) {
            if !matches!(self.peek(), Tok::LBracket | Tok::MissingOpen) {
                return Err(self.unexpected("`[` to start the `until` stage"));
            }
            let (stage, keys_span) = self.sequence_stage()?;
            key_spans.push(keys_span);
            until = Some(stage);
        }
        let span = Span::new(start.start as usize, self.prev_end() as usize);

        // `with runs=N` counts as N stages.
        let expanded: u64 = stages.iter().map(|s| u64::from(s.runs)).sum();
        if expanded < 2 {
            self.check(
                Diagnostic::error(
                    Code("E211"),
                    span,
                    format!("a sequence needs at least 2 stages, found {expanded}"),
                )
                .with_hint("for a single event use `<category> where <condition>`"),
            );
        }
        if stages.iter().all(|s| s.missing) {
            self.check(Diagnostic::error(
                Code("E214"),
                span,
                "a sequence needs at least one stage that is not a missing event `![ ... ]`",
            ));
        }
        let all_stages: Vec<(usize, Span)> = stages
            .iter()
            .chain(until.iter())
            .zip(&key_spans)
            .map(|(s, keys)| (s.by.len(), keys.unwrap_or(s.span)))
            .collect();
        self.check_key_counts(&all_stages);
        Ok(Sequence {
            by,
            maxspan,
            stages,
            until,
            span,
        })
    }

    /// Every stage must have as many `by` keys as the first (Elasticsearch's rule).
    fn check_key_counts(&mut self, stages: &[(usize, Span)]) {
        let Some(&(expected, _)) = stages.first() else {
            return;
        };
        for &(found, span) in stages.iter().skip(1) {
            if found != expected {
                self.check(Diagnostic::error(
                    Code("E212"),
                    span,
                    format!(
                        "inconsistent number of join keys: expected {expected} but found {found}"
                    ),
                ));
            }
        }
    }

    /// `with maxspan=<n><unit>`
    fn maxspan(&mut self) -> PResult<TimeSpan> {
        let start = self.bump().span;
        self.expect(&Tok::Maxspan, "`maxspan`")?;
        self.expect(&Tok::Assign, "`=`")?;
        let number = self.span();
        let text = self.text.get(number.range()).unwrap_or("").to_string();
        let value = match self.peek() {
            Tok::Integer => {
                self.bump();
                match text.parse::<u64>() {
                    Ok(v) if v > 0 => v,
                    Ok(_) => {
                        self.check(Diagnostic::error(
                            Code("E209"),
                            number,
                            "maxspan must be a positive duration, found 0",
                        ));
                        1
                    }
                    Err(_) => {
                        self.check(Diagnostic::error(
                            Code("E209"),
                            number,
                            format!("maxspan value `{text}` is too large"),
                        ));
                        1
                    }
                }
            }
            Tok::Decimal => {
                self.bump();
                self.check(
                    Diagnostic::error(
                        Code("E209"),
                        number,
                        format!("decimal time interval `{text}` is not supported"),
                    )
                    .with_hint("use a positive integer with a unit, e.g. `maxspan=90s`"),
                );
                1
            }
            _ => return Err(self.unexpected("a duration such as `30s`")),
        };
        let unit = match self.peek().clone() {
            Tok::Ident(unit) => {
                let unit_span = self.bump().span;
                match unit.as_str() {
                    "ms" => TimeUnit::Millis,
                    "s" => TimeUnit::Seconds,
                    "m" => TimeUnit::Minutes,
                    "h" => TimeUnit::Hours,
                    "d" => TimeUnit::Days,
                    _ => {
                        self.check(Diagnostic::error(
                            Code("E209"),
                            unit_span,
                            format!("unknown time unit `{unit}`; expected one of ms, s, m, h, d"),
                        ));
                        TimeUnit::Seconds
                    }
                }
            }
            _ => {
                self.check(
                    Diagnostic::error(
                        Code("E209"),
                        number,
                        format!("no time unit after maxspan value `{text}`"),
                    )
                    .with_hint(format!("did you mean `{text}s`? units: ms, s, m, h, d")),
                );
                TimeUnit::Seconds
            }
        };
        Ok(TimeSpan {
            value,
            unit,
            span: Span::new(start.start as usize, self.prev_end() as usize),
        })
    }

    /// `[ ... ] [by keys] [with runs=N]` or `![ ... ] ...`. Also returns the span of its keys.
    fn sequence_stage(&mut self) -> PResult<(SequenceStage, Option<Span>)> {
        let open = self.bump();
        let missing = open.tok == Tok::MissingOpen;
        let query = self.event_filter("`any` or an event category")?;
        self.close_stage(open.span)?;
        let (by, keys_span) = self.optional_by()?;
        let mut runs = 1;
        if self.at(&Tok::With) {
            runs = self.runs()?;
        }
        let stage = SequenceStage {
            query,
            by,
            missing,
            runs,
            span: Span::new(open.span.start as usize, self.prev_end() as usize),
        };
        Ok((stage, keys_span))
    }

    fn close_stage(&mut self, open: Span) -> PResult<()> {
        if self.at(&Tok::RBracket) {
            self.bump();
            Ok(())
        } else {
            Err(self
                .unexpected("`]` to close the stage")
                .with_label(open, "stage opened here"))
        }
    }

    /// `with runs=N`
    fn runs(&mut self) -> PResult<u32> {
        self.bump();
        let key_span = self.span();
        match self.peek().clone() {
            Tok::Ident(key) if key == "runs" => {
                self.bump();
            }
            Tok::Ident(key) => {
                return Err(Diagnostic::error(
                    Code("E213"),
                    key_span,
                    format!("unknown stage option `{key}`; expected `runs`"),
                ))
            }
            Tok::Maxspan => {
                return Err(Diagnostic::error(
                    Code("E213"),
                    key_span,
                    "`with maxspan` belongs after `sequence [by ...]`, before the first stage",
                ))
            }
            _ => return Err(self.unexpected("`runs`")),
        }
        self.expect(&Tok::Assign, "`=`")?;
        let number = self.span();
        let text = self.text.get(number.range()).unwrap_or("").to_string();
        match self.peek() {
            Tok::Integer => {
                self.bump();
                match text.parse::<u32>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => {
                        self.check(Diagnostic::error(
                            Code("E213"),
                            number,
                            format!("runs must be a positive integer, found `{text}`"),
                        ));
                        Ok(1)
                    }
                }
            }
            Tok::Decimal => {
                self.bump();
                self.check(Diagnostic::error(
                    Code("E213"),
                    number,
                    format!("runs must be a positive integer, found `{text}`"),
                ));
                Ok(1)
            }
            _ => Err(self.unexpected("a number of runs")),
        }
    }

    fn sample(&mut self) -> PResult<Sample> {
        let start = self.bump().span;
        let (by, _) = self.optional_by()?;
        let mut stages = Vec::new();
        let mut key_spans = Vec::new();
        while matches!(self.peek(), Tok::LBracket | Tok::MissingOpen) {
            let open = self.bump();
            if open.tok == Tok::MissingOpen {
                self.check(Diagnostic::error(
                    Code("E214"),
                    open.span,
                    "missing-event stages `![ ... ]` are only supported in sequences",
                ));
            }
            let query = self.event_filter("`any` or an event category")?;
            self.close_stage(open.span)?;
            let (keys, keys_span) = self.optional_by()?;
            let span = Span::new(open.span.start as usize, self.prev_end() as usize);
            key_spans.push((keys.len(), keys_span.unwrap_or(span)));
            stages.push(SampleStage {
                query,
                by: keys,
                span,
            });
        }
        if stages.is_empty() {
            let expected = if by.is_empty() {
                "`by` or `[` to start a sample stage"
            } else {
                "`[` to start a sample stage"
            };
            return Err(self.unexpected(expected));
        }
        let span = Span::new(start.start as usize, self.prev_end() as usize);
        if stages.len() < 2 {
            self.check(Diagnostic::error(
                Code("E211"),
                span,
                format!("a sample needs at least 2 stages, found {}", stages.len()),
            ));
        }
        self.check_key_counts(&key_spans);
        Ok(Sample { by, stages, span })
    }

    /// `| head N`, `| tail N`; Elasticsearch rejects every other pipe.
    fn pipe(&mut self) -> PResult<Pipe> {
        let bar = self.bump().span;
        let name_span = self.span();
        let name = match self.peek().clone() {
            Tok::Ident(name) => name,
            _ => return Err(self.unexpected("a pipe name (`head` or `tail`)")),
        };
        self.bump();
        let mut args = Vec::new();
        if !matches!(self.peek(), Tok::Pipe | Tok::Eof) {
            args.push(self.expr()?);
            while self.eat(&Tok::Comma) {
                args.push(self.expr()?);
            }
        }
        let span = Span::new(bar.start as usize, self.prev_end() as usize);
        if UNSUPPORTED_PIPES.contains(&name.as_str()) {
            return Err(Diagnostic::error(
                Code("E203"),
                name_span,
                format!("pipe `{name}` is not supported by Elasticsearch EQL"),
            )
            .with_hint("only `| head N` and `| tail N` are supported"));
        }
        if name != "head" && name != "tail" {
            let mut diag =
                Diagnostic::error(Code("E204"), name_span, format!("unknown pipe `{name}`"));
            let known = ["head", "tail"]
                .into_iter()
                .chain(UNSUPPORTED_PIPES.iter().copied());
            if let Some(similar) = funcs::closest(&name, known) {
                diag = diag.with_hint(format!("did you mean `{similar}`?"));
            }
            return Err(diag);
        }
        let count = pipe_count(&name, &args, name_span)?;
        Ok(if name == "head" {
            Pipe::Head { count, span }
        } else {
            Pipe::Tail { count, span }
        })
    }
}

fn pipe_count(name: &str, args: &[Expr], name_span: Span) -> PResult<u64> {
    let [arg] = args else {
        return Err(Diagnostic::error(
            Code("E205"),
            name_span,
            format!(
                "pipe `{name}` expects exactly one argument, found {}",
                args.len()
            ),
        ));
    };
    match &arg.kind {
        ExprKind::Literal(Literal::Int(n)) => u64::try_from(*n).map_err(|_| bad_count(name, arg)),
        _ => Err(bad_count(name, arg)),
    }
}

fn bad_count(name: &str, arg: &Expr) -> Diagnostic {
    Diagnostic::error(
        Code("E205"),
        arg.span,
        format!("pipe `{name}` expects a non-negative integer"),
    )
}
