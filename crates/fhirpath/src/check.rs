//! Static (semantic) checks run at compile time against a context type: paths that cannot exist in strict mode,
//! choice elements written with their type suffix (`valueQuantity`), string functions on non-string types,
//! non-Boolean `iif` criteria, arithmetic on types that never combine, and (optionally) ordered functions on
//! unordered collections. The checker only rejects what is certainly wrong: unknown types pass.

use smallvec::{smallvec, SmallVec};

use crate::ast::{BinOp, Call, Expr, ExprKind, Func, Lit, SysType, TypeSpec};
use crate::error::ParseError;
use crate::model::{index, ElemType, Kind, Prim, TypeId, TypeIndex};
use crate::CompileOptions;

/// A static type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Sys(SysType),
    Fhir(TypeId),
}

/// What is known about a sub-expression's result: its possible types (`None` = unknown) and whether its order
/// is meaningful.
#[derive(Debug, Clone)]
struct Info {
    tys: Option<SmallVec<[Ty; 4]>>,
    ordered: bool,
}

impl Info {
    fn unknown() -> Info {
        Info {
            tys: None,
            ordered: true,
        }
    }
    fn of(t: Ty) -> Info {
        Info {
            tys: Some(smallvec![t]),
            ordered: true,
        }
    }
    fn sys(t: SysType) -> Info {
        Info::of(Ty::Sys(t))
    }
    fn empty() -> Info {
        Info {
            tys: Some(SmallVec::new()),
            ordered: true,
        }
    }
}

struct Checker<'o> {
    idx: &'static TypeIndex,
    opts: &'o CompileOptions<'o>,
}

/// Runs the checks. Without a context type only type-independent checks apply.
pub(crate) fn check(e: &Expr, opts: &CompileOptions<'_>) -> Result<(), ParseError> {
    let idx = index();
    let root = match opts.context_type {
        Some(t) => match idx.lookup(t) {
            Some(id) => Info::of(Ty::Fhir(id)),
            None if opts.strict => {
                return Err(ParseError::semantic(
                    e.pos,
                    format!("unknown context type '{t}'"),
                ))
            }
            None => Info::unknown(),
        },
        None => Info::unknown(),
    };
    let c = Checker { idx, opts };
    c.expr(e, &root).map(|_| ())
}

/// The System type a FHIR primitive behaves as.
fn sys_of(idx: &TypeIndex, t: Ty) -> Option<SysType> {
    match t {
        Ty::Sys(s) => Some(s),
        Ty::Fhir(id) => Some(match idx.prim(id)? {
            Prim::Boolean => SysType::Boolean,
            Prim::Integer => SysType::Integer,
            Prim::Decimal => SysType::Decimal,
            Prim::String => SysType::String,
            Prim::Date => SysType::Date,
            Prim::DateTime => SysType::DateTime,
            Prim::Time => SysType::Time,
        }),
    }
}

impl Checker<'_> {
    fn strict(&self) -> bool {
        self.opts.strict
    }

    fn expr(&self, e: &Expr, this: &Info) -> Result<Info, ParseError> {
        Ok(match &e.kind {
            ExprKind::Empty => Info::empty(),
            ExprKind::Lit(l) => match l {
                Lit::Boolean(_) => Info::sys(SysType::Boolean),
                Lit::Integer(_) => Info::sys(SysType::Integer),
                Lit::Decimal(_) => Info::sys(SysType::Decimal),
                Lit::String(_) => Info::sys(SysType::String),
                Lit::Date(_) => Info::sys(SysType::Date),
                Lit::DateTime(_) => Info::sys(SysType::DateTime),
                Lit::Time(_) => Info::sys(SysType::Time),
                Lit::Quantity(..) => Info::sys(SysType::Quantity),
                Lit::Invalid(_) => Info::unknown(),
            },
            ExprKind::Const(name) => match name.as_str() {
                "ucum" | "sct" | "loinc" => Info::sys(SysType::String),
                _ => Info::unknown(),
            },
            ExprKind::This => this.clone(),
            ExprKind::Index => Info::sys(SysType::Integer),
            ExprKind::Total => Info::unknown(),
            ExprKind::Member(m) => {
                let input = match &m.base {
                    Some(b) => self.expr(b, this)?,
                    None => this.clone(),
                };
                self.member(
                    &input,
                    &m.name,
                    m.base.is_none().then_some(m.type_filter).flatten(),
                    e,
                )?
            }
            ExprKind::Call(c) => self.call(c, e, this)?,
            ExprKind::Indexer(base, ix) => {
                let b = self.expr(base, this)?;
                self.expr(ix, this)?;
                self.ordered(&b, e, "an indexer")?;
                b
            }
            ExprKind::Neg(x) => self.expr(x, this)?,
            ExprKind::Binary(op, l, r) => {
                let a = self.expr(l, this)?;
                let b = self.expr(r, this)?;
                self.binary(*op, &a, &b, e)?
            }
            ExprKind::Is(x, _) => {
                self.expr(x, this)?;
                Info::sys(SysType::Boolean)
            }
            ExprKind::As(x, spec) => {
                self.expr(x, this)?;
                type_info(spec)
            }
        })
    }

    fn member(
        &self,
        input: &Info,
        name: &str,
        filter: Option<TypeId>,
        e: &Expr,
    ) -> Result<Info, ParseError> {
        let Some(tys) = &input.tys else {
            return Ok(Info::unknown());
        };
        let mut out: SmallVec<[Ty; 4]> = SmallVec::new();
        let mut unknown = false;
        let mut failed_on: Option<&'static str> = None;
        let mut type_mismatch = false;
        for &t in tys {
            let Ty::Fhir(id) = t else { continue };
            if let Some(f) = filter {
                if self.idx.is_subtype(id, f) || self.idx.is_subtype(f, id) {
                    out.push(Ty::Fhir(f));
                } else {
                    failed_on = failed_on.or(self.idx.name(id));
                    type_mismatch = true;
                }
                continue;
            }
            let owner = if self.idx.prim(id).is_some() {
                self.idx.element_type
            } else {
                id
            };
            match self.idx.element(owner, name) {
                Some(el) => match &el.ty {
                    ElemType::Single(t) => out.push(Ty::Fhir(*t)),
                    ElemType::Choice(alts) => out.extend(alts.iter().map(|a| Ty::Fhir(a.ty))),
                },
                None => {
                    if let Some((el, _)) = self.idx.element_for_key(owner, name) {
                        return Err(ParseError::semantic(
                            e.pos,
                            format!(
                                "'{name}' is not a path: the choice element is '{}'",
                                el.name
                            ),
                        ));
                    }
                    let kind = self.idx.get(owner).map(|t| t.kind);
                    if matches!(kind, Some(Kind::AbstractResource)) {
                        unknown = true;
                    } else {
                        failed_on = failed_on.or(self.idx.get(owner).map(|t| t.path));
                    }
                }
            }
        }
        if out.is_empty() && !unknown && self.strict() {
            if let Some(on) = failed_on {
                let msg = if type_mismatch {
                    format!("the path starts with type '{name}' but its input is {on}")
                } else {
                    format!("'{name}' is not an element of {on}")
                };
                return Err(ParseError::semantic(e.pos, msg));
            }
        }
        Ok(if unknown {
            Info::unknown()
        } else {
            Info {
                tys: Some(out),
                ordered: input.ordered,
            }
        })
    }

    fn ordered(&self, input: &Info, e: &Expr, what: &str) -> Result<(), ParseError> {
        if self.strict() && self.opts.check_ordered_functions && !input.ordered {
            return Err(ParseError::semantic(
                e.pos,
                format!("{what} needs an ordered collection"),
            ));
        }
        Ok(())
    }

    fn is_stringish(&self, t: Ty) -> bool {
        match t {
            Ty::Sys(s) => s == SysType::String,
            Ty::Fhir(id) => self.idx.prim(id).is_some(),
        }
    }

    fn call(&self, c: &Call, e: &Expr, this: &Info) -> Result<Info, ParseError> {
        let input = match &c.base {
            Some(b) => self.expr(b, this)?,
            None => this.clone(),
        };
        let item_scope = Info {
            tys: input.tys.clone(),
            ordered: true,
        };
        let mut arg_infos = Vec::with_capacity(c.args.len());
        for (i, a) in c.args.iter().enumerate() {
            if c.func.takes_type() {
                break;
            }
            let scope = if c.func.takes_lambda() && !(c.func == Func::Aggregate && i == 1) {
                &item_scope
            } else {
                this
            };
            arg_infos.push(self.expr(a, scope)?);
        }
        Ok(match c.func {
            Func::Where | Func::Distinct | Func::Trace => input,
            Func::Select => Info {
                tys: arg_infos.first().and_then(|a| a.tys.clone()),
                ordered: input.ordered,
            },
            Func::Skip | Func::Take | Func::First | Func::Last | Func::Tail | Func::Single => {
                self.ordered(&input, e, &format!("{}()", c.func.name()))?;
                input
            }
            Func::Children | Func::Descendants => Info {
                tys: None,
                ordered: false,
            },
            Func::OfType | Func::As => c.type_arg.as_ref().map_or_else(Info::unknown, type_info),
            Func::Iif => {
                if let Some(tys) = arg_infos.first().and_then(|a| a.tys.as_ref()) {
                    let boolean =
                        |t: &Ty| sys_of(self.idx, *t).is_none_or(|s| s == SysType::Boolean);
                    if !tys.is_empty() && !tys.iter().any(boolean) {
                        return Err(ParseError::semantic(
                            c.args[0].pos,
                            "the iif criterion is not a Boolean",
                        ));
                    }
                }
                let mut tys: SmallVec<[Ty; 4]> = SmallVec::new();
                for a in &arg_infos[1..] {
                    match &a.tys {
                        Some(t) => tys.extend(t.iter().copied()),
                        None => return Ok(Info::unknown()),
                    }
                }
                Info {
                    tys: Some(tys),
                    ordered: true,
                }
            }
            f if is_string_func(f) => {
                if let Some(tys) = &input.tys {
                    if !tys.is_empty() && !tys.iter().any(|t| self.is_stringish(*t)) {
                        return Err(ParseError::semantic(
                            e.pos,
                            format!("{}() applies to strings only", c.func.name()),
                        ));
                    }
                }
                result_of(f)
            }
            Func::Extension => self
                .idx
                .lookup("Extension")
                .map_or_else(Info::unknown, |t| Info::of(Ty::Fhir(t))),
            f => result_of(f),
        })
    }

    fn binary(&self, op: BinOp, a: &Info, b: &Info, e: &Expr) -> Result<Info, ParseError> {
        use SysType as S;
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Mod => {}
            BinOp::Union => {
                return Ok(match (&a.tys, &b.tys) {
                    (Some(x), Some(y)) => Info {
                        tys: Some(x.iter().chain(y).copied().collect()),
                        ordered: true,
                    },
                    _ => Info::unknown(),
                })
            }
            BinOp::Concat => return Ok(Info::sys(S::String)),
            _ => return Ok(Info::sys(S::Boolean)),
        }
        let (Some(x), Some(y)) = (&a.tys, &b.tys) else {
            return Ok(Info::unknown());
        };
        let sx: Option<Vec<S>> = x.iter().map(|t| sys_of(self.idx, *t)).collect();
        let sy: Option<Vec<S>> = y.iter().map(|t| sys_of(self.idx, *t)).collect();
        let (Some(sx), Some(sy)) = (sx, sy) else {
            return Ok(Info::unknown());
        };
        if sx.is_empty() || sy.is_empty() {
            return Ok(Info::empty());
        }
        // Date/time arithmetic needs a time-valued quantity: `@1974-12-25 + 7` can never be valid. (Other
        // mismatches, such as 'a' - 'b', are reported when evaluated.)
        let temporal = |s: S| matches!(s, S::Date | S::DateTime | S::Time);
        let valid = |l: S, r: S| match op {
            BinOp::Add | BinOp::Sub if temporal(l) => r == S::Quantity,
            BinOp::Add if temporal(r) => false,
            _ => true,
        };
        if !sx.iter().any(|l| sy.iter().any(|r| valid(*l, *r))) {
            return Err(ParseError::semantic(
                e.pos,
                format!(
                    "operator cannot combine {} and {}",
                    sx[0].name(),
                    sy[0].name()
                ),
            ));
        }
        Ok(Info::unknown())
    }
}

fn is_string_func(f: Func) -> bool {
    matches!(
        f,
        Func::StartsWith
            | Func::EndsWith
            | Func::Contains
            | Func::Matches
            | Func::MatchesFull
            | Func::ReplaceMatches
            | Func::Replace
            | Func::Substring
            | Func::IndexOf
            | Func::LastIndexOf
            | Func::Upper
            | Func::Lower
            | Func::Length
            | Func::ToChars
            | Func::Split
            | Func::Trim
    )
}

/// The result type of functions whose result does not depend on their input's type.
fn result_of(f: Func) -> Info {
    match f {
        Func::Count | Func::Length | Func::IndexOf | Func::LastIndexOf | Func::ToInteger => {
            Info::sys(SysType::Integer)
        }
        Func::Upper
        | Func::Lower
        | Func::Replace
        | Func::ReplaceMatches
        | Func::Substring
        | Func::ToChars
        | Func::Split
        | Func::Trim
        | Func::ToStringFn => Info::sys(SysType::String),
        Func::ToDecimal => Info::sys(SysType::Decimal),
        Func::ToQuantity => Info::sys(SysType::Quantity),
        Func::Empty
        | Func::Exists
        | Func::All
        | Func::AllTrue
        | Func::AnyTrue
        | Func::AllFalse
        | Func::AnyFalse
        | Func::IsDistinct
        | Func::SubsetOf
        | Func::SupersetOf
        | Func::Is
        | Func::Not
        | Func::HasValue
        | Func::StartsWith
        | Func::EndsWith
        | Func::Contains
        | Func::Matches
        | Func::MatchesFull
        | Func::ConvertsToBoolean
        | Func::ConvertsToInteger
        | Func::ConvertsToDecimal
        | Func::ConvertsToString
        | Func::ConvertsToDate
        | Func::ConvertsToDateTime
        | Func::ConvertsToTime
        | Func::ConvertsToQuantity
        | Func::ToBoolean => Info::sys(SysType::Boolean),
        _ => Info::unknown(),
    }
}

fn type_info(spec: &TypeSpec) -> Info {
    match spec {
        TypeSpec::System(s) => Info::sys(*s),
        TypeSpec::Fhir(t) | TypeSpec::Both(_, t) => Info::of(Ty::Fhir(*t)),
        TypeSpec::Never => Info::empty(),
        TypeSpec::Unknown(_) => Info::unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn run(src: &str, ctx: Option<&str>, strict: bool) -> Result<(), ParseError> {
        let opts = CompileOptions {
            context_type: ctx,
            strict,
            check_ordered_functions: true,
        };
        check(&parse(src)?, &opts)
    }

    #[test]
    fn strict_paths() {
        assert!(run("Patient.name.given", Some("Patient"), true).is_ok());
        assert!(run("contact.name.family", Some("Patient"), true).is_ok());
        assert!(run(
            "Observation.value.as(Quantity).unit",
            Some("Observation"),
            true
        )
        .is_ok());
        assert!(run(
            "(Observation.value as Period).unit",
            Some("Observation"),
            true
        )
        .is_err());
        assert!(run("name.given1", Some("Patient"), true).is_err());
        assert!(run("name.given1", Some("Patient"), false).is_ok());
        assert!(run("Patient.children().skip(1)", Some("Patient"), true).is_err());
        assert!(run("Bundle.entry.resource.name", Some("Bundle"), true).is_ok());
    }

    #[test]
    fn type_errors_without_strict() {
        assert!(run("Observation.valueQuantity", Some("Observation"), false).is_err());
        assert!(run("identifier.startsWith('a')", Some("Patient"), false).is_err());
        assert!(run("identifier.value.startsWith('a')", Some("Patient"), false).is_ok());
        assert!(run("iif(1 | 2, true, false)", None, false).is_err());
        assert!(run("iif({} | true, true, false)", None, false).is_ok());
        assert!(run("@1974-12-25 + 7", None, false).is_err());
        assert!(run("@1974-12-25 + 7 days", None, false).is_ok());
    }
}
