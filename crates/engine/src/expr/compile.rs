//! AST → flat node list, with the checks Elasticsearch's verifier makes when
//! field types are known.

use smol_str::SmolStr;
use std::sync::Arc;

use eql::ast::{self, BinaryOp, ExprKind, Literal, MatchOp};
use eql::{Code, Diagnostic};

use super::prog::Prog;
use super::wildcard::{Pattern, StringMatcher};
use super::{ArithOp, CmpKind, CmpOp, CompiledExpr, Func, InSet, Node, NodeId, StagePredicate};
use crate::event::{canonical_ip, Event};
use crate::field::{FieldId, FieldSpec, FieldTable};
use crate::schema::{FieldType, Schema};
use crate::time::DateFormat;
use crate::value::Value;

/// Unknown field with an explicit mapping.
pub const E_UNKNOWN_FIELD: Code = Code("E301");
/// Operand types Elasticsearch rejects.
pub const E_TYPE_MISMATCH: Code = Code("E302");
/// A construct Elasticsearch does not support (e.g. comparing two fields).
pub const E_UNSUPPORTED: Code = Code("E303");
/// Wrong function arity or an unknown function.
pub const E_FUNCTION: Code = Code("E304");
/// An invalid pattern (regex syntax, CIDR block).
pub const E_PATTERN: Code = Code("E305");
/// A pattern or list member that must be a constant.
pub const E_NOT_CONSTANT: Code = Code("E306");

/// The static type of a compiled node, from field types and literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Ip,
    Version,
    Date,
    /// Unknown: free-form JSON decides at run time.
    Any,
}

impl Ty {
    fn of_field(ty: &FieldType) -> Ty {
        match ty {
            FieldType::Keyword | FieldType::Text | FieldType::Wildcard => Ty::Str,
            FieldType::Long => Ty::Int,
            FieldType::Double => Ty::Float,
            FieldType::Boolean => Ty::Bool,
            FieldType::Date | FieldType::DateNanos => Ty::Date,
            FieldType::Ip => Ty::Ip,
            FieldType::Version => Ty::Version,
            _ => Ty::Any,
        }
    }

    fn of_value(v: &Value) -> Ty {
        match v {
            Value::Null => Ty::Null,
            Value::Bool(_) => Ty::Bool,
            Value::Int(_) => Ty::Int,
            Value::Float(_) => Ty::Float,
            Value::Str(_) => Ty::Str,
            Value::List(_) => Ty::Any,
        }
    }

    /// String-like: values are strings at run time.
    fn is_stringy(self) -> bool {
        matches!(self, Ty::Str | Ty::Ip | Ty::Version)
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Null => "null",
            Ty::Bool => "boolean",
            Ty::Int => "long",
            Ty::Float => "double",
            Ty::Str => "keyword",
            Ty::Ip => "ip",
            Ty::Version => "version",
            Ty::Date => "date",
            Ty::Any => "unknown",
        }
    }
}

struct Compiler<'s, 't> {
    schema: &'s Schema,
    table: &'t mut FieldTable,
    nodes: Vec<Node>,
    fields: Vec<FieldId>,
    /// Field occurrences of the leaf being compiled.
    occ: Option<Vec<FieldId>>,
    diags: Vec<Diagnostic>,
}

/// Compiles a `where` condition.
pub fn compile_condition(
    expr: &ast::Expr,
    schema: &Schema,
    table: &mut FieldTable,
) -> Result<CompiledExpr, Vec<Diagnostic>> {
    let mut c = Compiler::new(schema, table);
    let root = c.pred(expr);
    c.finish(root)
}

/// Compiles a join key (`by` expression). A bare field evaluates to all its values.
pub fn compile_key(
    expr: &ast::Expr,
    schema: &Schema,
    table: &mut FieldTable,
) -> Result<CompiledExpr, Vec<Diagnostic>> {
    let mut c = Compiler::new(schema, table);
    let root = if matches!(expr.kind, ExprKind::Field(_)) {
        c.value(expr).0
    } else {
        c.leaf(expr)
    };
    c.finish(root)
}

/// Turns a compiled join key into a sample key. Samples take their keys from a
/// composite aggregation, whose `terms` source gives a date as its raw doc value, a
/// number (epoch milliseconds; PR elastic/elasticsearch#29370, and EQL's
/// `CompositeKeyExtractor` passes the long through), where sequences print dates
/// as text. So `sample by @timestamp_pretty` keys are `1671235200000` whatever the
/// index's `format`.
pub fn use_as_sample_key(key: &mut CompiledExpr, table: &FieldTable) {
    let Some(Node::Field {
        id, index: None, ..
    }) = key.nodes.get(key.root as usize)
    else {
        return;
    };
    let Some(spec) = table.spec(*id) else { return };
    if !spec.ty.is_date() {
        return;
    }
    let nanos = spec.ty == FieldType::DateNanos;
    key.nodes.push(Node::EpochNumber {
        arg: key.root,
        nanos,
    });
    key.root = u32::try_from(key.nodes.len() - 1).unwrap_or(u32::MAX);
    key.prog = Prog::build(key);
}

/// Compiles `<category> where <condition>` into a stage predicate.
pub fn compile_event_query(
    query: &ast::EventQuery,
    schema: &Schema,
    table: &mut FieldTable,
) -> Result<StagePredicate, Vec<Diagnostic>> {
    let condition = compile_condition(&query.condition, schema, table)?;
    let category = match &query.category {
        ast::Category::Any => None,
        ast::Category::Named(name) => Some((table.category_field(), Arc::from(name.as_str()))),
    };
    Ok(StagePredicate {
        category,
        condition,
    })
}

impl<'s, 't> Compiler<'s, 't> {
    fn new(schema: &'s Schema, table: &'t mut FieldTable) -> Self {
        Compiler {
            schema,
            table,
            nodes: Vec::new(),
            fields: Vec::new(),
            occ: None,
            diags: Vec::new(),
        }
    }

    fn finish(mut self, root: NodeId) -> Result<CompiledExpr, Vec<Diagnostic>> {
        if !self.diags.is_empty() {
            return Err(self.diags);
        }
        self.fields.sort();
        self.fields.dedup();
        let mut compiled = CompiledExpr {
            nodes: self.nodes,
            root,
            fields: self.fields,
            prog: Prog::node(root),
        };
        compiled.prog = Prog::build(&compiled);
        Ok(compiled)
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
    }

    fn error(&mut self, code: Code, span: eql::Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::error(code, span, message));
    }

    /// How a date field reads constants compared with it (`None`: not a mapped date field).
    fn date_field(&self, expr: &ast::Expr) -> Option<DateField> {
        let ExprKind::Field(f) = &expr.kind else {
            return None;
        };
        let resolved = self.schema.lookup(&f.path);
        resolved.ty.is_date().then(|| DateField {
            path: f.path.clone(),
            format: resolved.date_format,
            nanos: resolved.ty == FieldType::DateNanos,
        })
    }

    /// The bool-query layer: `and`/`or`/`not` and the leaves under them.
    fn pred(&mut self, expr: &ast::Expr) -> NodeId {
        match &expr.kind {
            ExprKind::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
            } => {
                let (a, b) = (self.pred(lhs), self.pred(rhs));
                self.push(Node::And(a, b))
            }
            ExprKind::Binary {
                op: BinaryOp::Or,
                lhs,
                rhs,
            } => {
                let (a, b) = (self.pred(lhs), self.pred(rhs));
                self.push(Node::Or(a, b))
            }
            ExprKind::Not(inner) => {
                let a = self.pred(inner);
                self.push(Node::Not(a))
            }
            // `field != constant` is a must_not term query: true when no value equals
            // (including when the field is missing).
            ExprKind::Binary {
                op: BinaryOp::NotEq,
                lhs,
                rhs,
            } if is_field(lhs)
                && !is_null_const(lhs, self.schema)
                && is_foldable(rhs, self.schema)
                && !is_null_const(rhs, self.schema) =>
            {
                let eq = ast::Expr {
                    kind: ExprKind::Binary {
                        op: BinaryOp::Eq,
                        lhs: lhs.clone(),
                        rhs: rhs.clone(),
                    },
                    span: expr.span,
                };
                let a = self.leaf(&eq);
                self.push(Node::Not(a))
            }
            ExprKind::In {
                lhs,
                list,
                negated: true,
                case_insensitive,
            } => {
                let positive = ast::Expr {
                    kind: ExprKind::In {
                        lhs: lhs.clone(),
                        list: list.clone(),
                        negated: false,
                        case_insensitive: *case_insensitive,
                    },
                    span: expr.span,
                };
                let a = self.leaf(&positive);
                self.push(Node::Not(a))
            }
            ExprKind::Literal(Literal::Bool(b)) => self.push(Node::Lit(Value::Bool(*b))),
            _ => self.leaf(expr),
        }
    }

    fn leaf(&mut self, expr: &ast::Expr) -> NodeId {
        let outer = self.occ.replace(Vec::new());
        let (inner, _) = self.value(expr);
        let fields = std::mem::replace(&mut self.occ, outer).unwrap_or_default();
        self.push(Node::Leaf {
            expr: inner,
            fields: fields.into_boxed_slice(),
        })
    }

    /// Evaluates a constant expression at compile time.
    fn fold(&mut self, expr: &ast::Expr) -> Option<Value> {
        if !is_foldable(expr, self.schema) {
            return None;
        }
        let mut sub = Compiler::new(self.schema, self.table);
        let (root, _) = sub.value(expr);
        let diags = std::mem::take(&mut sub.diags);
        let nodes = std::mem::take(&mut sub.nodes);
        self.diags.extend(diags);
        let compiled = CompiledExpr {
            nodes,
            root,
            fields: Vec::new(),
            prog: Prog::node(root),
        };
        let empty = Event::from_parts("", Vec::new(), None, Value::Null, 0);
        Some(compiled.eval(&empty))
    }

    fn value(&mut self, expr: &ast::Expr) -> (NodeId, Ty) {
        match &expr.kind {
            ExprKind::Literal(lit) => {
                let v = literal_value(lit);
                let ty = Ty::of_value(&v);
                (self.push(Node::Lit(v)), ty)
            }
            ExprKind::Field(f) => self.field(f, expr.span),
            ExprKind::Not(inner) => {
                let (a, _) = self.value(inner);
                (self.push(Node::Not(a)), Ty::Bool)
            }
            ExprKind::Neg(inner) => {
                let (a, ty) = self.value(inner);
                if !matches!(ty, Ty::Int | Ty::Float | Ty::Any | Ty::Null) {
                    self.error(
                        E_TYPE_MISMATCH,
                        expr.span,
                        format!("cannot negate a value of type {}", ty.name()),
                    );
                }
                (self.push(Node::Neg(a)), ty)
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, expr.span),
            ExprKind::Match {
                op,
                case_insensitive,
                lhs,
                patterns,
            } => self.matcher(*op, *case_insensitive, lhs, patterns, expr.span),
            ExprKind::In {
                lhs,
                list,
                negated,
                case_insensitive,
            } => {
                let node = self.in_list(lhs, list, *case_insensitive);
                if *negated {
                    (self.push(Node::Not(node)), Ty::Bool)
                } else {
                    (node, Ty::Bool)
                }
            }
            ExprKind::Call {
                name,
                case_insensitive,
                args,
            } => self.call(name, *case_insensitive, args, expr.span),
        }
    }

    fn field(&mut self, f: &ast::FieldRef, span: eql::Span) -> (NodeId, Ty) {
        let resolved = self.schema.lookup(&f.path);
        if !resolved.known && self.schema.is_strict() {
            if f.optional {
                return (self.push(Node::Lit(Value::Null)), Ty::Null);
            }
            self.error(E_UNKNOWN_FIELD, span, format!("unknown field `{}`", f.path));
            return (self.push(Node::Lit(Value::Null)), Ty::Null);
        }
        if matches!(resolved.ty, FieldType::Object | FieldType::Nested) {
            self.error(
                E_TYPE_MISMATCH,
                span,
                format!(
                    "cannot use field `{}` of type {}, only its sub-fields",
                    f.path,
                    resolved.ty.es_name()
                ),
            );
        }
        let ty = Ty::of_field(&resolved.ty);
        let id = self.table.register_spec(FieldSpec {
            path: resolved.source_path,
            ty: resolved.ty,
            null_value: resolved.null_value,
            date_format: resolved.date_format,
        });
        self.fields.push(id);
        let occ = match &mut self.occ {
            Some(list) => {
                list.push(id);
                u16::try_from(list.len() - 1).unwrap_or(u16::MAX)
            }
            None => u16::MAX,
        };
        let index = f.indexes.first().copied();
        (self.push(Node::Field { id, occ, index }), ty)
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: eql::Span,
    ) -> (NodeId, Ty) {
        let cmp = match op {
            BinaryOp::And | BinaryOp::Or => {
                let (a, _) = self.value(lhs);
                let (b, _) = self.value(rhs);
                let node = if op == BinaryOp::And {
                    Node::And(a, b)
                } else {
                    Node::Or(a, b)
                };
                return (self.push(node), Ty::Bool);
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                let arith = match op {
                    BinaryOp::Add => ArithOp::Add,
                    BinaryOp::Sub => ArithOp::Sub,
                    BinaryOp::Mul => ArithOp::Mul,
                    BinaryOp::Div => ArithOp::Div,
                    _ => ArithOp::Mod,
                };
                return self.arith(arith, lhs, rhs, span);
            }
            BinaryOp::Eq => CmpOp::Eq,
            BinaryOp::NotEq => CmpOp::NotEq,
            BinaryOp::Lt => CmpOp::Lt,
            BinaryOp::LtEq => CmpOp::LtEq,
            BinaryOp::Gt => CmpOp::Gt,
            BinaryOp::GtEq => CmpOp::GtEq,
        };
        self.comparison(cmp, lhs, rhs)
    }

    /// A comparison. Kept out of [`Self::binary`] so that deep arithmetic or boolean
    /// chains, which recurse through `binary`, use small stack frames.
    #[inline(never)]
    fn comparison(&mut self, cmp: CmpOp, lhs: &ast::Expr, rhs: &ast::Expr) -> (NodeId, Ty) {
        // `x == null` is an is-null test (and `null == null` is true); `x != null` is-not-null.
        if is_null_const(rhs, self.schema) || is_null_const(lhs, self.schema) {
            let other = if is_null_const(rhs, self.schema) {
                lhs
            } else {
                rhs
            };
            let (a, _) = self.value(other);
            return match cmp {
                CmpOp::Eq => (self.push(Node::IsNull(a)), Ty::Bool),
                CmpOp::NotEq => (self.push(Node::IsNotNull(a)), Ty::Bool),
                _ => (self.push(Node::Lit(Value::Null)), Ty::Bool),
            };
        }
        // Literals go to the right, as Elasticsearch's optimizer arranges them.
        let (lhs, rhs, cmp) = if is_foldable(lhs, self.schema) && !is_foldable(rhs, self.schema) {
            (rhs, lhs, flip(cmp))
        } else {
            (lhs, rhs, cmp)
        };
        if !is_foldable(rhs, self.schema) {
            self.error(
                E_UNSUPPORTED,
                rhs.span,
                "comparisons against fields or expressions over fields are not supported; compare with a constant",
            );
        }
        let (l, lty) = self.value(lhs);
        let (mut r, rty) = match self.fold(rhs) {
            Some(v) => {
                let ty = Ty::of_value(&v);
                (self.push(Node::Lit(v)), ty)
            }
            None => self.value(rhs),
        };
        if lty == Ty::Date {
            if let (Some(Node::Lit(v)), Some(date)) =
                (self.nodes.get(r as usize).cloned(), self.date_field(lhs))
            {
                return match date.bounds(&v) {
                    Ok(Some((lo, hi))) => (
                        self.push(Node::DateCmp {
                            op: cmp,
                            lhs: l,
                            lo,
                            hi,
                        }),
                        Ty::Bool,
                    ),
                    Ok(None) => (self.push(Node::Lit(Value::Null)), Ty::Bool),
                    Err(msg) => {
                        self.error(E_TYPE_MISMATCH, rhs.span, msg);
                        (self.push(Node::Lit(Value::Null)), Ty::Bool)
                    }
                };
            }
        }
        let kind = match (lty, rty) {
            (Ty::Ip, _) | (_, Ty::Ip) => CmpKind::Ip,
            (Ty::Version, _) | (_, Ty::Version) => CmpKind::Version,
            (Ty::Date, _) | (_, Ty::Date) => CmpKind::Date,
            _ => CmpKind::Plain,
        };
        // Coerce the constant to the field's type, as a term/range query would.
        if let Some(Node::Lit(v)) = self.nodes.get(r as usize).cloned() {
            match coerce_constant(lty, &v) {
                Ok(Some(c)) => r = self.push(Node::Lit(c)),
                Ok(None) => {}
                Err(msg) => self.error(E_TYPE_MISMATCH, rhs.span, msg),
            }
        }
        (
            self.push(Node::Cmp {
                op: cmp,
                kind,
                lhs: l,
                rhs: r,
            }),
            Ty::Bool,
        )
    }

    fn arith(
        &mut self,
        op: ArithOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        span: eql::Span,
    ) -> (NodeId, Ty) {
        let (a, lty) = self.value(lhs);
        let (b, rty) = self.value(rhs);
        for (ty, side) in [(lty, lhs), (rty, rhs)] {
            if !matches!(ty, Ty::Int | Ty::Float | Ty::Any | Ty::Null) {
                self.error(
                    E_TYPE_MISMATCH,
                    side.span,
                    format!("arithmetic needs numbers, found {}", ty.name()),
                );
            }
        }
        let _ = span;
        let ty = if lty == Ty::Float || rty == Ty::Float {
            Ty::Float
        } else if lty == Ty::Int && rty == Ty::Int {
            Ty::Int
        } else {
            Ty::Any
        };
        (self.push(Node::Arith { op, lhs: a, rhs: b }), ty)
    }

    fn matcher(
        &mut self,
        op: MatchOp,
        case_insensitive: bool,
        lhs: &ast::Expr,
        patterns: &[ast::Expr],
        span: eql::Span,
    ) -> (NodeId, Ty) {
        let (l, lty) = self.value(lhs);
        // ip and version fields are not strings to Elasticsearch either.
        if matches!(
            lty,
            Ty::Int | Ty::Float | Ty::Bool | Ty::Date | Ty::Ip | Ty::Version
        ) {
            self.error(
                E_TYPE_MISMATCH,
                lhs.span,
                format!(
                    "pattern matching needs a string, found {}; consider using [==] instead",
                    lty.name()
                ),
            );
        }
        let ci = op == MatchOp::Colon || case_insensitive;
        let mut pats = Vec::with_capacity(patterns.len());
        for p in patterns {
            let text = match self.fold(p) {
                Some(Value::Str(s)) => s.to_string(),
                Some(Value::Null) => continue,
                // Both sides of `:`, `like` and `regex` must be strings in Elasticsearch
                // (EQL `InsensitiveBinaryComparison.resolveInputType`: `isString`).
                Some(Value::Int(_) | Value::Float(_) | Value::Bool(_)) => {
                    self.error(E_TYPE_MISMATCH, p.span, "a pattern must be a string");
                    continue;
                }
                _ => {
                    self.error(
                        E_NOT_CONSTANT,
                        p.span,
                        "a pattern must be a constant string",
                    );
                    continue;
                }
            };
            pats.push(match op {
                MatchOp::Regex => Pattern::Regex(text),
                MatchOp::Colon | MatchOp::Like => Pattern::Wildcard(text),
            });
        }
        if pats.is_empty() {
            return (self.push(Node::Lit(Value::Null)), Ty::Bool);
        }
        match StringMatcher::new(&pats, ci) {
            Ok(m) => (
                self.push(Node::Match {
                    lhs: l,
                    matcher: Arc::new(m),
                }),
                Ty::Bool,
            ),
            Err((i, msg)) => {
                let at = patterns.get(i).map_or(span, |p| p.span);
                self.error(E_PATTERN, at, msg);
                (self.push(Node::Lit(Value::Null)), Ty::Bool)
            }
        }
    }

    fn in_list(&mut self, lhs: &ast::Expr, list: &[ast::Expr], case_insensitive: bool) -> NodeId {
        let (l, lty) = self.value(lhs);
        let date = if lty == Ty::Date {
            self.date_field(lhs)
        } else {
            None
        };
        if let Some(date) = date.filter(|_| list.iter().all(|i| is_foldable(i, self.schema))) {
            // A terms query on a date field: each member a rounded range, as `==`.
            let mut ranges = Vec::with_capacity(list.len());
            let mut has_null = false;
            for item in list {
                match self.fold(item).map(|v| date.bounds(&v)) {
                    Some(Ok(Some(range))) => ranges.push(range),
                    Some(Ok(None)) | None => has_null = true,
                    Some(Err(msg)) => self.error(E_TYPE_MISMATCH, item.span, msg),
                }
            }
            return self.push(Node::DateIn {
                lhs: l,
                ranges: ranges.into_boxed_slice(),
                has_null,
            });
        }
        if list.iter().all(|item| is_foldable(item, self.schema)) {
            let mut set = InSet {
                case_insensitive,
                kind_ip: lty == Ty::Ip,
                ..InSet::default()
            };
            for item in list {
                let Some(v) = self.fold(item) else { continue };
                if let Some(msg) = incompatible_member(lty, &v) {
                    self.error(E_TYPE_MISMATCH, item.span, msg);
                    continue;
                }
                let v = match coerce_constant(lty, &v) {
                    Ok(Some(c)) => c,
                    Ok(None) => v,
                    Err(msg) => {
                        self.error(E_TYPE_MISMATCH, item.span, msg);
                        continue;
                    }
                };
                match v {
                    Value::Null => set.has_null = true,
                    Value::Str(s) => {
                        let s = if case_insensitive {
                            Arc::from(s.to_lowercase())
                        } else {
                            Arc::from(s.as_str())
                        };
                        set.strings.insert(s);
                    }
                    Value::Int(i) => {
                        set.ints.insert(i);
                    }
                    Value::Float(f) => set.floats.push(f),
                    Value::Bool(b) => set.bools[usize::from(b)] = true,
                    Value::List(_) => {}
                }
            }
            return self.push(Node::In {
                lhs: l,
                set: Arc::new(set),
            });
        }
        // Elasticsearch's `In.resolveType`: every member must be a constant.
        for m in list.iter().filter(|m| !is_foldable(m, self.schema)) {
            self.error(
                E_UNSUPPORTED,
                m.span,
                "comparisons against fields are not supported; `in` needs constants",
            );
        }
        let members: Vec<NodeId> = list.iter().map(|m| self.value(m).0).collect();
        self.push(Node::InDynamic {
            lhs: l,
            list: members.into_boxed_slice(),
        })
    }

    fn call(
        &mut self,
        name: &str,
        case_insensitive: bool,
        args: &[ast::Expr],
        span: eql::Span,
    ) -> (NodeId, Ty) {
        let Some((func, min, max)) = lookup_function(name) else {
            self.error(E_FUNCTION, span, format!("unknown function `{name}`"));
            return (self.push(Node::Lit(Value::Null)), Ty::Any);
        };
        if args.len() < min || max.is_some_and(|m| args.len() > m) {
            let expected = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            self.error(
                E_FUNCTION,
                span,
                format!(
                    "`{name}` takes {expected} argument(s), found {}",
                    args.len()
                ),
            );
        }
        let insensitive_ok = matches!(
            func,
            Func::Between
                | Func::EndsWith
                | Func::IndexOf
                | Func::StartsWith
                | Func::StringContains
        );
        if case_insensitive && !insensitive_ok {
            self.error(
                E_FUNCTION,
                span,
                format!("`{name}` has no case-insensitive `~` form"),
            );
        }
        let compiled: Vec<(NodeId, Ty)> = args.iter().map(|a| self.value(a)).collect();
        let arg_ty = |i: usize| compiled.get(i).map_or(Ty::Null, |(_, t)| *t);
        let arg_span = |i: usize| args.get(i).map_or(span, |a| a.span);
        let string_args: &[usize] = match func {
            Func::Between => &[0, 1, 2],
            Func::EndsWith | Func::StartsWith | Func::StringContains | Func::IndexOf => &[0, 1],
            Func::Length | Func::Number | Func::Substring => &[0],
            _ => &[],
        };
        for &i in string_args {
            let ty = arg_ty(i);
            if matches!(ty, Ty::Int | Ty::Float | Ty::Bool | Ty::Date) {
                self.error(
                    E_TYPE_MISMATCH,
                    arg_span(i),
                    format!(
                        "argument {} of `{name}` must be a string, found {}",
                        i + 1,
                        ty.name()
                    ),
                );
            }
        }
        let numeric_args: &[usize] = match func {
            Func::Add | Func::Subtract | Func::Multiply | Func::Divide | Func::Modulo => &[0, 1],
            Func::Substring => &[1, 2],
            Func::IndexOf => &[2],
            Func::Number => &[1],
            _ => &[],
        };
        for &i in numeric_args {
            let ty = arg_ty(i);
            if ty.is_stringy() || matches!(ty, Ty::Bool | Ty::Date) {
                self.error(
                    E_TYPE_MISMATCH,
                    arg_span(i),
                    format!(
                        "argument {} of `{name}` must be a number, found {}",
                        i + 1,
                        ty.name()
                    ),
                );
            }
        }
        if func == Func::CidrMatch {
            let ty = arg_ty(0);
            if !matches!(ty, Ty::Ip | Ty::Any | Ty::Null | Ty::Str)
                || (ty == Ty::Str && self.schema.is_strict() && args.first().is_some_and(is_field))
            {
                self.error(
                    E_TYPE_MISMATCH,
                    arg_span(0),
                    format!(
                        "first argument of `cidrMatch` must be an ip, found {}",
                        ty.name()
                    ),
                );
            }
            for (i, a) in args.iter().enumerate().skip(1) {
                match self.fold(a) {
                    Some(Value::Str(s)) if super::functions::parse_cidr(&s).is_some() => {}
                    Some(_) => self.error(
                        E_PATTERN,
                        a.span,
                        format!("argument {} of `cidrMatch` is not a CIDR block", i + 1),
                    ),
                    None => self.error(
                        E_NOT_CONSTANT,
                        a.span,
                        "cidrMatch needs constant CIDR blocks",
                    ),
                }
            }
        }
        let ty = match func {
            Func::Between | Func::Concat | Func::String | Func::Substring => Ty::Str,
            Func::EndsWith | Func::StartsWith | Func::StringContains | Func::CidrMatch => Ty::Bool,
            Func::IndexOf | Func::Length => Ty::Int,
            Func::Number => Ty::Any,
            Func::Add | Func::Subtract | Func::Multiply | Func::Divide | Func::Modulo => {
                if arg_ty(0) == Ty::Float || arg_ty(1) == Ty::Float {
                    Ty::Float
                } else if arg_ty(0) == Ty::Int && arg_ty(1) == Ty::Int {
                    Ty::Int
                } else {
                    Ty::Any
                }
            }
        };
        let ids: Vec<NodeId> = compiled.into_iter().map(|(id, _)| id).collect();
        (
            self.push(Node::Call {
                func,
                case_insensitive,
                args: ids.into_boxed_slice(),
            }),
            ty,
        )
    }
}

/// A date field as a term or range query on it reads a constant.
struct DateField {
    path: String,
    format: Option<Arc<DateFormat>>,
    nanos: bool,
}

impl DateField {
    /// The instants a constant stands for, as Elasticsearch's `DateFieldType` reads a
    /// query value: parsed with the field's format (numbers by their text), rounded
    /// down and up (`"2022-12-17"` covers the whole day: an upper bound goes through
    /// the round-up parser), at the field's resolution (milliseconds for `date`).
    /// `Ok(None)` for null; `Err` when the format cannot read it (Elasticsearch fails
    /// the query: "failed to parse date field").
    fn bounds(&self, v: &Value) -> Result<Option<(i64, i64)>, String> {
        let text = match v {
            Value::Null => return Ok(None),
            Value::Str(s) => s.to_string(),
            Value::Int(_) | Value::Float(_) => v.to_string(),
            Value::Bool(_) | Value::List(_) => {
                return Err(format!(
                    "cannot compare date field `{}` with {v}",
                    self.path
                ))
            }
        };
        let parsed = match &self.format {
            Some(format) => format.parse_bounds(&text),
            None => crate::time::parse_default_bounds(&text),
        };
        let Some((lo, hi)) = parsed else {
            let format = self
                .format
                .as_ref()
                .map_or(crate::schema::DEFAULT_DATE_FORMAT, |f| f.spec());
            return Err(format!(
                "failed to parse date field [{text}] with format [{format}]"
            ));
        };
        if self.nanos {
            return Ok(Some((lo, hi)));
        }
        match (crate::time::floor_millis(lo), crate::time::floor_millis(hi)) {
            (Some(lo), Some(hi)) => Ok(Some((lo, hi))),
            _ => Err(format!(
                "date [{text}] of field `{}` is out of range",
                self.path
            )),
        }
    }
}

/// Elasticsearch's `In.resolveType`: each member's type must be compatible with the
/// value's (`DataTypes.areCompatible`: equal, numeric with numeric, string with
/// string, or null), so `pid in (1, "2")` and `name in ("a", 1)` are query errors.
/// Checked where the field's type is clear; ip, version and date fields read their
/// string constants as values of their own type.
fn incompatible_member(ty: Ty, v: &Value) -> Option<String> {
    let member = Ty::of_value(v);
    let compatible = match (ty, member) {
        (_, Ty::Null) | (Ty::Any | Ty::Null, _) => true,
        (Ty::Int | Ty::Float, m) => matches!(m, Ty::Int | Ty::Float),
        (Ty::Str, m) => m == Ty::Str,
        (Ty::Bool, m) => m == Ty::Bool,
        _ => true,
    };
    (!compatible).then(|| {
        format!(
            "`in` member {v} of type {} is not compatible with a {} value",
            member.name(),
            ty.name()
        )
    })
}

/// Converts a constant to what a query on a field of type `ty` compares against:
/// numbers against keyword fields as their text, numeric strings against numeric
/// fields as numbers, IP text in canonical form. `Ok(None)`: use as is.
fn coerce_constant(ty: Ty, v: &Value) -> Result<Option<Value>, String> {
    match (ty, v) {
        (Ty::Str, Value::Int(_) | Value::Float(_) | Value::Bool(_)) => {
            Ok(Some(Value::Str(SmolStr::new(v.to_string()))))
        }
        (Ty::Ip, Value::Str(s)) => match canonical_ip(s) {
            Some(c) => Ok(Some(Value::Str(SmolStr::new(c)))),
            None => Err(format!("`{s}` is not an IP address")),
        },
        (Ty::Int | Ty::Float, Value::Str(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(Some(Value::Int(i))),
            Err(_) => match s.trim().parse::<f64>() {
                Ok(f) => Ok(Some(Value::Float(f))),
                Err(_) => Err(format!(
                    "cannot compare a number field with the string \"{s}\""
                )),
            },
        },
        (Ty::Int | Ty::Float, Value::Bool(_)) => {
            Err("cannot compare a number field with a boolean".into())
        }
        (Ty::Bool, Value::Str(s)) => match s.as_ref() {
            "true" => Ok(Some(Value::Bool(true))),
            "false" => Ok(Some(Value::Bool(false))),
            _ => Err(format!(
                "cannot compare a boolean field with the string \"{s}\""
            )),
        },
        _ => Ok(None),
    }
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::LtEq => CmpOp::GtEq,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::GtEq => CmpOp::LtEq,
        other => other,
    }
}

fn literal_value(lit: &Literal) -> Value {
    match lit {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(f) => Value::Float(*f),
        Literal::String(s) => Value::str(s),
    }
}

fn is_field(expr: &ast::Expr) -> bool {
    matches!(expr.kind, ExprKind::Field(_))
}

/// A null constant: the `null` literal, or an optional field the mapping does not
/// have. Elasticsearch's analyzer replaces such a field inside a filter by a null
/// literal before verification (`ResolveOrReplaceOptionalRefs`), so `?x == ?y` on two
/// unmapped fields is `null == null` and no field-to-field comparison.
fn is_null_const(expr: &ast::Expr, schema: &Schema) -> bool {
    match &expr.kind {
        ExprKind::Literal(Literal::Null) => true,
        ExprKind::Field(f) => is_missing_optional(f, schema),
        _ => false,
    }
}

/// `?field` that an explicit mapping lacks: it reads as null.
fn is_missing_optional(f: &ast::FieldRef, schema: &Schema) -> bool {
    f.optional && schema.is_strict() && !schema.lookup(&f.path).known
}

/// No field references anywhere below (unmapped optional fields are null constants).
fn is_foldable(expr: &ast::Expr, schema: &Schema) -> bool {
    let all = |items: &[ast::Expr]| items.iter().all(|e| is_foldable(e, schema));
    match &expr.kind {
        ExprKind::Literal(_) => true,
        ExprKind::Field(f) => is_missing_optional(f, schema),
        ExprKind::Not(e) | ExprKind::Neg(e) => is_foldable(e, schema),
        ExprKind::Binary { lhs, rhs, .. } => is_foldable(lhs, schema) && is_foldable(rhs, schema),
        ExprKind::Match { lhs, patterns, .. } => is_foldable(lhs, schema) && all(patterns),
        ExprKind::In { lhs, list, .. } => is_foldable(lhs, schema) && all(list),
        ExprKind::Call { args, .. } => all(args),
    }
}

/// Function table: canonical function, min and max argument counts.
fn lookup_function(name: &str) -> Option<(Func, usize, Option<usize>)> {
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "add" => (Func::Add, 2, Some(2)),
        "between" => (Func::Between, 3, Some(4)),
        "cidrmatch" => (Func::CidrMatch, 2, None),
        "concat" => (Func::Concat, 1, None),
        "divide" => (Func::Divide, 2, Some(2)),
        "endswith" => (Func::EndsWith, 2, Some(2)),
        "indexof" => (Func::IndexOf, 2, Some(3)),
        "length" => (Func::Length, 1, Some(1)),
        "modulo" => (Func::Modulo, 2, Some(2)),
        "multiply" => (Func::Multiply, 2, Some(2)),
        "number" => (Func::Number, 1, Some(2)),
        "startswith" => (Func::StartsWith, 2, Some(2)),
        "string" => (Func::String, 1, Some(1)),
        "stringcontains" => (Func::StringContains, 2, Some(2)),
        "substring" => (Func::Substring, 2, Some(3)),
        "subtract" => (Func::Subtract, 2, Some(2)),
        _ => return None,
    })
}
