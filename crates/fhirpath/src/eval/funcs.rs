//! Function dispatch, and the collection functions: existence, filtering and projection, subsetting,
//! combining, aggregate, sort, iif, trace and the type functions.

use std::cmp::Ordering;

use smallvec::smallvec;

use super::ops::{compare_items, equal_items, item_key_equal};
use super::{err, single, to_bool, type_of, EvalResult, Evaluator, Scope};
use crate::ast::{Call, Expr, ExprKind, Func};
use crate::error::{EvalError, Pos};
use crate::value::{Collection, Item};

fn boolean<'a>(b: bool) -> EvalResult<'a> {
    Ok(smallvec![Item::Boolean(b)])
}

impl<'a> Evaluator<'_, 'a> {
    pub(crate) fn call(&self, c: &'a Call, pos: Pos, sc: Scope<'_, 'a>) -> EvalResult<'a> {
        let owned;
        let input: &[Item<'a>] = match &c.base {
            Some(b) => {
                owned = self.eval(b, sc)?;
                &owned
            }
            None => sc.this,
        };
        if c.func.takes_lambda() {
            return self.lambda_call(c, input, pos, sc);
        }
        match c.func {
            Func::Empty => boolean(input.is_empty()),
            Func::AllTrue | Func::AnyTrue | Func::AllFalse | Func::AnyFalse => {
                all_any(c.func, input, pos)
            }
            Func::SubsetOf | Func::SupersetOf => {
                let other = self.eval(&c.args[0], sc)?;
                let (small, big) = if c.func == Func::SubsetOf {
                    (input, &other[..])
                } else {
                    (&other[..], input)
                };
                boolean(
                    small
                        .iter()
                        .all(|x| big.iter().any(|y| equal_items(x, y) == Some(true))),
                )
            }
            Func::Count => Ok(smallvec![Item::Integer(input.len() as i64)]),
            Func::Distinct => Ok(distinct(input.iter().cloned())),
            Func::IsDistinct => boolean(distinct(input.iter().cloned()).len() == input.len()),
            Func::OfType => {
                let spec = c
                    .type_arg
                    .as_ref()
                    .ok_or_else(|| EvalError::new(pos, "ofType needs a type"))?;
                let mut out = Collection::new();
                for item in input {
                    if self.is_type(item, spec, true, pos)? {
                        out.push(item.clone());
                    }
                }
                Ok(out)
            }
            Func::Is => {
                let spec = c
                    .type_arg
                    .as_ref()
                    .ok_or_else(|| EvalError::new(pos, "a type is needed"))?;
                let Some(item) = single(input, pos, c.func.name())? else {
                    return Ok(Collection::new());
                };
                boolean(self.is_type(item, spec, false, pos)?)
            }
            Func::As => {
                let spec = c
                    .type_arg
                    .as_ref()
                    .ok_or_else(|| EvalError::new(pos, "a type is needed"))?;
                self.cast(input, spec, pos)
            }
            Func::Type => Ok(input.iter().map(type_of).collect()),
            Func::Not => match to_bool(input, pos)? {
                None => Ok(Collection::new()),
                Some(b) => boolean(!b),
            },
            Func::Single => Ok(single(input, pos, "single()")?
                .cloned()
                .into_iter()
                .collect()),
            Func::First => Ok(input.first().cloned().into_iter().collect()),
            Func::Last => Ok(input.last().cloned().into_iter().collect()),
            Func::Tail => Ok(input.iter().skip(1).cloned().collect()),
            Func::Skip | Func::Take => {
                let n = self.eval(&c.args[0], sc)?;
                let n = self.integer_arg(&n, c.args[0].pos)?.unwrap_or(0);
                let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
                Ok(if c.func == Func::Skip {
                    input.iter().skip(n).cloned().collect()
                } else {
                    input.iter().take(n).cloned().collect()
                })
            }
            Func::Intersect => {
                let other = self.eval(&c.args[0], sc)?;
                Ok(distinct(
                    input
                        .iter()
                        .filter(|x| other.iter().any(|y| item_key_equal(x, y)))
                        .cloned(),
                ))
            }
            Func::Exclude => {
                let other = self.eval(&c.args[0], sc)?;
                Ok(input
                    .iter()
                    .filter(|x| !other.iter().any(|y| item_key_equal(x, y)))
                    .cloned()
                    .collect())
            }
            Func::Union => {
                let other = self.eval(&c.args[0], sc)?;
                Ok(distinct(input.iter().cloned().chain(other)))
            }
            Func::Combine => {
                let other = self.eval(&c.args[0], sc)?;
                Ok(input.iter().cloned().chain(other).collect())
            }
            Func::Children | Func::Descendants => Ok(self.tree(input, c.func == Func::Descendants)),
            Func::Now => Ok(smallvec![Item::DateTime(self.now())]),
            Func::Today => Ok(smallvec![Item::Date(self.now().date_part())]),
            Func::TimeOfDay => Ok(smallvec![Item::Time(self.now().time_part())]),
            _ => self.value_call(c, input, pos, sc),
        }
    }

    /// Functions whose arguments are evaluated per input item.
    fn lambda_call(
        &self,
        c: &'a Call,
        input: &[Item<'a>],
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        match c.func {
            Func::Where | Func::Exists | Func::All => {
                if c.args.is_empty() {
                    return boolean(!input.is_empty());
                }
                let mut out = Collection::new();
                for (i, item) in input.iter().enumerate() {
                    let keep = to_bool(&self.eval_on(&c.args[0], item, i, sc)?, c.args[0].pos)?
                        .unwrap_or(false);
                    match (c.func, keep) {
                        (Func::Exists, true) => return boolean(true),
                        (Func::All, false) => return boolean(false),
                        (Func::Where, true) => out.push(item.clone()),
                        _ => {}
                    }
                }
                match c.func {
                    Func::Exists => boolean(false),
                    Func::All => boolean(true),
                    _ => Ok(out),
                }
            }
            Func::Select => {
                let mut out = Collection::new();
                for (i, item) in input.iter().enumerate() {
                    out.extend(self.eval_on(&c.args[0], item, i, sc)?);
                }
                Ok(out)
            }
            Func::Repeat => self.repeat(&c.args[0], input, sc),
            Func::Aggregate => {
                let mut total = match c.args.get(1) {
                    Some(init) => self.eval(init, sc)?,
                    None => Collection::new(),
                };
                for (i, item) in input.iter().enumerate() {
                    let scope = Scope {
                        this: std::slice::from_ref(item),
                        index: Some(i),
                        total: Some(&total),
                    };
                    total = self.eval(&c.args[0], scope)?;
                }
                Ok(total)
            }
            Func::Sort => self.sort(&c.args, input, pos, sc),
            Func::Iif => {
                if input.len() > 1 {
                    return err(pos, "iif() cannot be applied to more than one item");
                }
                let scope = Scope {
                    this: input,
                    index: sc.index,
                    total: sc.total,
                };
                let crit = self.eval(&c.args[0], scope)?;
                let chosen =
                    match single(&crit, c.args[0].pos, "iif criterion")?.map(Item::to_system) {
                        None | Some(Item::Boolean(false)) => c.args.get(2),
                        Some(Item::Boolean(true)) => c.args.get(1),
                        Some(other) => {
                            return err(
                                c.args[0].pos,
                                format!(
                                    "iif criterion must be Boolean, got {}",
                                    other.type_info().name
                                ),
                            )
                        }
                    };
                match chosen {
                    Some(e) => self.eval(e, scope),
                    None => Ok(Collection::new()),
                }
            }
            Func::Trace => {
                let label = self.eval(&c.args[0], sc)?;
                let label = single(&label, pos, "trace name")?
                    .and_then(|l| l.as_str().map(str::to_owned))
                    .unwrap_or_default();
                if let Some(f) = self.ctx.trace {
                    match c.args.get(1) {
                        Some(proj) => {
                            let mut shown = Collection::new();
                            for (i, item) in input.iter().enumerate() {
                                shown.extend(self.eval_on(proj, item, i, sc)?);
                            }
                            f(&label, &shown);
                        }
                        None => f(&label, input),
                    }
                }
                Ok(input.iter().cloned().collect())
            }
            _ => err(pos, format!("'{}' is not a lambda function", c.func.name())),
        }
    }

    fn repeat(&self, e: &'a Expr, input: &[Item<'a>], sc: Scope<'_, 'a>) -> EvalResult<'a> {
        let mut out = Collection::new();
        let mut frontier: Collection<'a> = input.iter().cloned().collect();
        let mut rounds = 0usize;
        while !frontier.is_empty() {
            rounds += 1;
            if rounds > 10_000 {
                break;
            }
            let mut next = Collection::new();
            for (i, item) in frontier.iter().enumerate() {
                for r in self.eval_on(e, item, i, sc)? {
                    if !out.iter().any(|o| item_key_equal(o, &r)) {
                        out.push(r.clone());
                        next.push(r);
                    }
                }
            }
            frontier = next;
        }
        Ok(out)
    }

    fn sort(
        &self,
        keys: &'a [Expr],
        input: &[Item<'a>],
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        // A leading unary minus on a key means descending order.
        let keys: Vec<(&'a Expr, bool)> = keys
            .iter()
            .map(|k| match &k.kind {
                ExprKind::Neg(inner) => (&**inner, true),
                _ => (k, false),
            })
            .collect();
        let mut rows: Vec<(Vec<Option<Item<'a>>>, Item<'a>)> = Vec::with_capacity(input.len());
        for (i, item) in input.iter().enumerate() {
            let mut row = Vec::with_capacity(keys.len().max(1));
            if keys.is_empty() {
                row.push(Some(item.clone()));
            }
            for (k, _) in &keys {
                let v = self.eval_on(k, item, i, sc)?;
                row.push(single(&v, k.pos, "sort key")?.cloned());
            }
            rows.push((row, item.clone()));
        }
        let mut failure: Option<EvalError> = None;
        rows.sort_by(|(a, _), (b, _)| {
            for (n, (x, y)) in a.iter().zip(b).enumerate() {
                let desc = keys.get(n).is_some_and(|k| k.1);
                // Items without a key come first whatever the direction.
                let ord = match (x, y) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => match compare_items(x, y, pos) {
                        Ok(o) => o.unwrap_or(Ordering::Equal),
                        Err(e) => {
                            failure.get_or_insert(e);
                            Ordering::Equal
                        }
                    },
                };
                let ord = if desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(rows.into_iter().map(|(_, item)| item).collect())
    }

    fn tree(&self, input: &[Item<'a>], deep: bool) -> Collection<'a> {
        let mut out = Collection::new();
        for item in input {
            if let Item::Node(n) = item {
                self.children(n, &mut out);
            }
        }
        if deep {
            let mut i = 0;
            while i < out.len() {
                if let Item::Node(n) = out[i].clone() {
                    self.children(&n, &mut out);
                }
                i += 1;
            }
        }
        out
    }
}

fn all_any<'a>(func: Func, input: &[Item<'a>], pos: Pos) -> EvalResult<'a> {
    let mut values = Vec::with_capacity(input.len());
    for item in input {
        match item.to_system() {
            Item::Boolean(b) => values.push(b),
            other => {
                return err(
                    pos,
                    format!(
                        "{}() needs Boolean items, got {}",
                        func.name(),
                        other.type_info().name
                    ),
                )
            }
        }
    }
    boolean(match func {
        Func::AllTrue => values.iter().all(|b| *b),
        Func::AnyTrue => values.iter().any(|b| *b),
        Func::AllFalse => values.iter().all(|b| !*b),
        _ => values.iter().any(|b| !*b),
    })
}

/// Keeps the first of equal items.
pub(crate) fn distinct<'a>(items: impl Iterator<Item = Item<'a>>) -> Collection<'a> {
    let mut out = Collection::new();
    for item in items {
        if !out.iter().any(|o| item_key_equal(o, &item)) {
            out.push(item);
        }
    }
    out
}
