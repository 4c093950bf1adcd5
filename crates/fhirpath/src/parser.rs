//! FHIRPath parser: precedence climbing over the token stream into [`Expr`]. Function names, argument counts and
//! type specifiers are resolved here, so errors come with the position of the offending token.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::ast::{BinOp, Call, Expr, ExprKind, Func, Lit, Member, SysType, TypeSpec};
use crate::datetime::Temporal;
use crate::error::{ParseError, Pos};
use crate::eval::compile_regex;
use crate::lexer::{tokenize, Tok, Token};
use crate::model::{index, Kind};
use crate::ucum::calendar_keyword;

/// Deepest nesting accepted (brackets, unary operators, chained calls): keeps recursion bounded.
const MAX_DEPTH: u32 = 256;

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
    };
    let e = p.expr(0)?;
    match p.peek() {
        Tok::Eof => Ok(e),
        other => Err(ParseError::syntax(
            p.pos(),
            format!("unexpected {}", describe(other)),
        )),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Delimited(s) => format!("identifier '{s}'"),
        Tok::Str(_) => "string".into(),
        Tok::Number(n) => format!("number {n}"),
        Tok::DateTime(d) => format!("date/time @{d}"),
        Tok::Special(s) => format!("${s}"),
        Tok::Sym(s) => format!("'{s}'"),
        Tok::Eof => "end of expression".into(),
    }
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: u32,
}

fn binop(t: &Tok) -> Option<(BinOp, u8)> {
    Some(match t {
        Tok::Ident(w) => match w.as_str() {
            "implies" => (BinOp::Implies, 1),
            "or" => (BinOp::Or, 2),
            "xor" => (BinOp::Xor, 2),
            "and" => (BinOp::And, 3),
            "in" => (BinOp::In, 4),
            "contains" => (BinOp::Contains, 4),
            "div" => (BinOp::IntDiv, 10),
            "mod" => (BinOp::Mod, 10),
            _ => return None,
        },
        Tok::Sym(s) => match *s {
            "=" => (BinOp::Eq, 5),
            "~" => (BinOp::Equiv, 5),
            "!=" => (BinOp::Ne, 5),
            "!~" => (BinOp::NotEquiv, 5),
            "<" => (BinOp::Lt, 6),
            "<=" => (BinOp::Le, 6),
            ">" => (BinOp::Gt, 6),
            ">=" => (BinOp::Ge, 6),
            "|" => (BinOp::Union, 7),
            "+" => (BinOp::Add, 9),
            "-" => (BinOp::Sub, 9),
            "&" => (BinOp::Concat, 9),
            "*" => (BinOp::Mul, 10),
            "/" => (BinOp::Div, 10),
            _ => return None,
        },
        _ => return None,
    })
}

const TYPE_OP_PREC: u8 = 8;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.toks[(self.i + ahead).min(self.toks.len() - 1)].tok
    }

    fn pos(&self) -> Pos {
        self.toks[self.i.min(self.toks.len() - 1)].pos
    }

    fn next(&mut self) -> Token {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn expect(&mut self, sym: &'static str) -> Result<(), ParseError> {
        if *self.peek() == Tok::Sym(sym) {
            self.i += 1;
            Ok(())
        } else {
            Err(ParseError::syntax(
                self.pos(),
                format!("expected '{sym}', found {}", describe(self.peek())),
            ))
        }
    }

    /// Builds a node, refusing trees taller than [`MAX_DEPTH`].
    fn node(&self, kind: ExprKind, pos: Pos) -> Result<Expr, ParseError> {
        let e = Expr::new(kind, pos);
        if e.depth > MAX_DEPTH {
            return Err(ParseError::syntax(pos, "expression nested too deeply"));
        }
        Ok(e)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::syntax(
                self.pos(),
                "expression nested too deeply",
            ));
        }
        Ok(())
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut lhs = self.unary()?;
        loop {
            let pos = self.pos();
            if let Tok::Ident(w) = self.peek() {
                if (w == "is" || w == "as") && TYPE_OP_PREC >= min_prec {
                    let is = w == "is";
                    self.i += 1;
                    let spec = self.type_specifier()?;
                    let kind = if is {
                        ExprKind::Is(Box::new(lhs), spec)
                    } else {
                        ExprKind::As(Box::new(lhs), spec)
                    };
                    lhs = self.node(kind, pos)?;
                    continue;
                }
            }
            let Some((op, prec)) = binop(self.peek()) else {
                break;
            };
            if prec < min_prec {
                break;
            }
            self.i += 1;
            let rhs = self.expr(prec + 1)?;
            lhs = self.node(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), pos)?;
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        match self.peek() {
            Tok::Sym("-") => {
                self.i += 1;
                self.enter()?;
                let operand = self.unary()?;
                self.depth -= 1;
                let e = negate(operand, pos);
                self.node(e.kind, e.pos)
            }
            Tok::Sym("+") => {
                self.i += 1;
                self.enter()?;
                let operand = self.unary()?;
                self.depth -= 1;
                Ok(operand)
            }
            _ => {
                let term = self.term()?;
                self.postfix(term)
            }
        }
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, ParseError> {
        loop {
            match self.peek() {
                Tok::Sym(".") => {
                    self.i += 1;
                    e = self.invocation(Some(e))?;
                }
                Tok::Sym("[") => {
                    let pos = self.pos();
                    self.i += 1;
                    let index = self.expr(0)?;
                    self.expect("]")?;
                    e = self.node(ExprKind::Indexer(Box::new(e), Box::new(index)), pos)?;
                }
                _ => return Ok(e),
            }
        }
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let kind = match self.peek().clone() {
            Tok::Number(n) => {
                self.i += 1;
                return self.number(&n, pos);
            }
            Tok::Str(s) => {
                self.i += 1;
                ExprKind::Lit(Lit::String(s))
            }
            Tok::DateTime(d) => {
                self.i += 1;
                ExprKind::Lit(date_literal(&d, pos)?)
            }
            Tok::Special(s) => {
                self.i += 1;
                match s.as_str() {
                    "this" => ExprKind::This,
                    "index" => ExprKind::Index,
                    _ => ExprKind::Total,
                }
            }
            Tok::Sym("(") => {
                self.i += 1;
                let e = self.expr(0)?;
                self.expect(")")?;
                return Ok(e);
            }
            Tok::Sym("{") => {
                self.i += 1;
                self.expect("}")?;
                ExprKind::Empty
            }
            Tok::Sym("%") => {
                self.i += 1;
                match self.next().tok {
                    Tok::Ident(n) | Tok::Delimited(n) | Tok::Str(n) => ExprKind::Const(n),
                    other => {
                        return Err(ParseError::syntax(
                            pos,
                            format!("expected a name after '%', found {}", describe(&other)),
                        ))
                    }
                }
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.i += 1;
                ExprKind::Lit(Lit::Boolean(w == "true"))
            }
            Tok::Ident(_) | Tok::Delimited(_) => return self.invocation(None),
            other => {
                return Err(ParseError::syntax(
                    pos,
                    format!("unexpected {}", describe(&other)),
                ))
            }
        };
        self.node(kind, pos)
    }

    fn number(&mut self, text: &str, pos: Pos) -> Result<Expr, ParseError> {
        let unit = match self.peek().clone() {
            Tok::Str(u) => Some(u),
            Tok::Ident(w) if calendar_keyword(&w).is_some() => Some(w),
            _ => None,
        };
        let lit = if let Some(unit) = unit {
            self.i += 1;
            let value = Decimal::from_str(text)
                .map_err(|_| ParseError::syntax(pos, "number out of range"))?;
            Lit::Quantity(value, unit)
        } else if text.contains('.') {
            Lit::Decimal(
                Decimal::from_str(text)
                    .map_err(|_| ParseError::syntax(pos, "number out of range"))?,
            )
        } else {
            match text.parse::<i64>() {
                Ok(i) => Lit::Integer(i),
                Err(_) => Lit::Decimal(
                    Decimal::from_str(text)
                        .map_err(|_| ParseError::syntax(pos, "number out of range"))?,
                ),
            }
        };
        self.node(ExprKind::Lit(lit), pos)
    }

    fn identifier(&mut self) -> Result<(String, bool), ParseError> {
        let pos = self.pos();
        match self.next().tok {
            Tok::Ident(w) => Ok((w, false)),
            Tok::Delimited(w) => Ok((w, true)),
            other => Err(ParseError::syntax(
                pos,
                format!("expected an identifier, found {}", describe(&other)),
            )),
        }
    }

    /// A member or a function call, applied to `base` (or to the focus).
    fn invocation(&mut self, base: Option<Expr>) -> Result<Expr, ParseError> {
        let pos = self.pos();
        if let Tok::Special(s) = self.peek().clone() {
            // `x.$this` is not FHIRPath; reject clearly.
            return Err(ParseError::syntax(
                pos,
                format!("unexpected ${s} after '.'"),
            ));
        }
        let (name, delimited) = self.identifier()?;
        if !delimited && base.is_none() && is_reserved(&name) {
            return Err(ParseError::syntax(
                pos,
                format!("unexpected keyword '{name}'"),
            ));
        }
        if *self.peek() == Tok::Sym("(") {
            self.i += 1;
            return self.call(base, &name, pos);
        }
        let type_filter = if base.is_none() && name.starts_with(|c: char| c.is_ascii_uppercase()) {
            index()
                .lookup(&name)
                .filter(|id| index().get(*id).is_some_and(|t| t.kind != Kind::Backbone))
        } else {
            None
        };
        let member = Member {
            base,
            ext_key: format!("_{name}"),
            name,
            type_filter,
        };
        self.node(ExprKind::Member(Box::new(member)), pos)
    }

    fn call(&mut self, base: Option<Expr>, name: &str, pos: Pos) -> Result<Expr, ParseError> {
        let mut args = Vec::new();
        if *self.peek() != Tok::Sym(")") {
            loop {
                args.push(self.expr(0)?);
                if *self.peek() == Tok::Sym(",") {
                    self.i += 1;
                    continue;
                }
                break;
            }
        }
        self.expect(")")?;
        let func = Func::from_name(name)
            .ok_or_else(|| ParseError::semantic(pos, format!("unknown function '{name}'")))?;
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(ParseError::semantic(
                pos,
                format!(
                    "function '{name}' takes {} argument(s), {} given",
                    arity_text(min, max),
                    args.len()
                ),
            ));
        }
        let type_arg = if func.takes_type() {
            let name = qualified_name(&args[0]).ok_or_else(|| {
                ParseError::semantic(args[0].pos, format!("'{}' needs a type name", func.name()))
            })?;
            Some(resolve_type(&name))
        } else {
            None
        };
        let flags = match args.get(1).map(|a| &a.kind) {
            None => Some(""),
            Some(ExprKind::Lit(Lit::String(f))) if func != Func::ReplaceMatches => Some(f.as_str()),
            Some(_) => None,
        };
        let regex = match (func, args.first().map(|a| &a.kind), flags) {
            (
                Func::Matches | Func::MatchesFull,
                Some(ExprKind::Lit(Lit::String(p))),
                Some(flags),
            ) => Some(compile_regex(func, p, flags).map_err(|e| {
                ParseError::semantic(args[0].pos, format!("invalid regular expression: {e}"))
            })?),
            (Func::ReplaceMatches, Some(ExprKind::Lit(Lit::String(p))), _) => {
                Some(compile_regex(func, p, "").map_err(|e| {
                    ParseError::semantic(args[0].pos, format!("invalid regular expression: {e}"))
                })?)
            }
            _ => None,
        };
        self.node(
            ExprKind::Call(Box::new(Call {
                base,
                func,
                args,
                type_arg,
                regex,
            })),
            pos,
        )
    }

    fn type_specifier(&mut self) -> Result<TypeSpec, ParseError> {
        let (mut name, _) = self.identifier()?;
        while *self.peek() == Tok::Sym(".")
            && matches!(self.peek_at(1), Tok::Ident(_) | Tok::Delimited(_))
        {
            self.i += 1;
            let (part, _) = self.identifier()?;
            name.push('.');
            name.push_str(&part);
        }
        Ok(resolve_type(&name))
    }
}

fn arity_text(min: usize, max: usize) -> String {
    if min == max {
        min.to_string()
    } else {
        format!("{min} to {max}")
    }
}

fn is_reserved(w: &str) -> bool {
    matches!(w, "and" | "or" | "xor" | "implies" | "div" | "mod")
}

/// `-` applied to a number literal folds into the literal; anything else is a negation node.
fn negate(operand: Expr, pos: Pos) -> Expr {
    let folded = match &operand.kind {
        ExprKind::Lit(Lit::Integer(i)) => i.checked_neg().map(Lit::Integer),
        ExprKind::Lit(Lit::Decimal(d)) => Some(Lit::Decimal(-*d)),
        ExprKind::Lit(Lit::Quantity(v, u)) => Some(Lit::Quantity(-*v, u.clone())),
        _ => None,
    };
    match folded {
        Some(lit) => Expr::new(ExprKind::Lit(lit), pos),
        None => Expr::new(ExprKind::Neg(Box::new(operand)), pos),
    }
}

/// The dotted name of a type argument written as a path (`FHIR.Patient`, `` FHIR.`Patient` ``, `string`).
fn qualified_name(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Member(m) => match &m.base {
            None => Some(m.name.clone()),
            Some(b) => Some(format!("{}.{}", qualified_name(b)?, m.name)),
        },
        _ => None,
    }
}

/// Resolves a type name: `System.X`, `FHIR.X`, or unqualified (model first, then System).
pub(crate) fn resolve_type(name: &str) -> TypeSpec {
    let idx = index();
    let fhir = |n: &str| {
        idx.lookup(n)
            .filter(|id| idx.get(*id).is_some_and(|t| t.kind != Kind::Backbone))
    };
    match name.split_once('.') {
        Some(("System", n)) => SysType::from_name(n).map_or(TypeSpec::Never, TypeSpec::System),
        Some(("FHIR", n)) => fhir(n).map_or_else(|| TypeSpec::Unknown(name.into()), TypeSpec::Fhir),
        Some(_) => TypeSpec::Unknown(name.into()),
        None => match (fhir(name), SysType::from_name(name)) {
            (Some(f), Some(s)) => TypeSpec::Both(s, f),
            (Some(f), None) => TypeSpec::Fhir(f),
            (None, Some(s)) => TypeSpec::System(s),
            (None, None) => TypeSpec::Unknown(name.into()),
        },
    }
}

fn date_literal(text: &str, pos: Pos) -> Result<Lit, ParseError> {
    let bad = || ParseError::syntax(pos, format!("invalid date/time literal @{text}"));
    if let Some(time) = text.strip_prefix('T') {
        if time.ends_with('Z') || time.contains('+') || time.contains('-') {
            return Ok(Lit::Invalid(format!(
                "a time literal cannot have a time-zone offset: @{text}"
            )));
        }
        return Temporal::parse_time(time).map(Lit::Time).ok_or_else(bad);
    }
    if text.contains('T') {
        return Temporal::parse_date_time(text)
            .map(Lit::DateTime)
            .ok_or_else(bad);
    }
    Temporal::parse_date(text).map(Lit::Date).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the tree with explicit parentheses to check precedence and associativity.
    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Lit(Lit::Integer(i)) => i.to_string(),
            ExprKind::Lit(Lit::Boolean(b)) => b.to_string(),
            ExprKind::Lit(Lit::String(s)) => format!("'{s}'"),
            ExprKind::Lit(Lit::Quantity(v, u)) => format!("{v}[{u}]"),
            ExprKind::Lit(_) => "lit".into(),
            ExprKind::Member(m) => match &m.base {
                Some(b) => format!("{}.{}", shape(b), m.name),
                None => m.name.clone(),
            },
            ExprKind::Call(c) => {
                let args: Vec<String> = c.args.iter().map(shape).collect();
                let base = c
                    .base
                    .as_ref()
                    .map(|b| format!("{}.", shape(b)))
                    .unwrap_or_default();
                format!("{base}{}({})", c.func.name(), args.join(","))
            }
            ExprKind::Binary(op, l, r) => format!("({} {op:?} {})", shape(l), shape(r)),
            ExprKind::Neg(x) => format!("-{}", shape(x)),
            ExprKind::Is(x, _) => format!("({} is T)", shape(x)),
            ExprKind::As(x, _) => format!("({} as T)", shape(x)),
            ExprKind::Indexer(a, b) => format!("{}[{}]", shape(a), shape(b)),
            ExprKind::Empty => "{}".into(),
            ExprKind::This => "$this".into(),
            ExprKind::Index => "$index".into(),
            ExprKind::Total => "$total".into(),
            ExprKind::Const(c) => format!("%{c}"),
        }
    }

    fn p(src: &str) -> String {
        shape(&parse(src).unwrap_or_else(|e| panic!("{src}: {e}")))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(p("1+2*3+4"), "((1 Add (2 Mul 3)) Add 4)");
        assert_eq!(p("1 > 2 is Boolean"), "(1 Gt (2 is T))");
        assert_eq!(p("(1 | 1 is Integer)"), "(1 Union (1 is T))");
        assert_eq!(
            p("true and '0215' in ('0215' | '0216')"),
            "(true And ('0215' In ('0215' Union '0216')))"
        );
        assert_eq!(p("a implies b or c and d"), "(a Implies (b Or (c And d)))");
        assert_eq!(p("-1.convertsToInteger()"), "-1.convertsToInteger()");
        assert_eq!(p("-2"), "-2");
        assert_eq!(p("a.b[0].c"), "a.b[0].c");
    }

    #[test]
    fn quantities_keywords_and_identifiers() {
        assert_eq!(p("4 days"), "4[days]");
        assert_eq!(p("10 'mg'.toString()"), "10[mg].toString()");
        assert_eq!(p("name.`given`"), "name.given");
        assert_eq!(p("x.contains('a')"), "x.contains('a')");
        assert_eq!(p("(a) contains b"), "(a Contains b)");
    }

    #[test]
    fn errors() {
        for bad in [
            "", "1 +", "a.", "a..b", "(1", "f(1,)", "and", "a b", "1 2", "@20", "where(", "$that",
            "%",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(
            parse("nosuch(1)").unwrap_err().kind,
            crate::error::ParseErrorKind::Semantic
        );
        assert_eq!(
            parse("first(1)").unwrap_err().kind,
            crate::error::ParseErrorKind::Semantic
        );
    }
}
