//! FHIR-specific functions: `extension()`, `hasValue()`, `getValue()`, `resolve()` (contained, Bundle, a
//! caller's [`crate::Resolver`], else a typed stub from `Type/id`), `memberOf()` over the model's value sets,
//! `conformsTo()` for base definitions, `htmlChecks()`.

use serde_json::Value;
use smallvec::smallvec;

use super::{err, single, EvalResult, Evaluator, Scope};
use crate::ast::{Call, Func};
use crate::error::Pos;
use crate::model::TypeId;
use crate::value::{Collection, Item, Node, NULL};

const CORE_SD: &str = "http://hl7.org/fhir/StructureDefinition/";

impl<'a> Evaluator<'_, 'a> {
    pub(crate) fn fhir_call(
        &self,
        c: &'a Call,
        input: &[Item<'a>],
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        match c.func {
            Func::Extension => {
                let url = self.eval(&c.args[0], sc)?;
                let Some(url) = single(&url, c.args[0].pos, "extension url")?
                    .and_then(|u| u.as_str().map(str::to_owned))
                else {
                    return Ok(Collection::new());
                };
                Ok(self.extensions(input, &url))
            }
            Func::HasValue => {
                let has = match input {
                    [Item::Node(n)] => {
                        self.idx.prim(n.ty).is_some() && !n.value.is_null() || is_plain_primitive(n)
                    }
                    [] => false,
                    [_] => true,
                    _ => false,
                };
                Ok(smallvec![Item::Boolean(has)])
            }
            Func::GetValue => Ok(match input {
                [item @ Item::Node(n)]
                    if !n.value.is_null()
                        && (self.idx.prim(n.ty).is_some() || is_plain_primitive(n)) =>
                {
                    smallvec![item.to_system()]
                }
                _ => Collection::new(),
            }),
            Func::Resolve => {
                let mut out = Collection::new();
                for item in input {
                    let reference = match item {
                        Item::Node(n) if n.value.is_object() => {
                            n.value.get("reference").and_then(Value::as_str)
                        }
                        other => other.as_str(),
                    };
                    if let Some(r) = reference {
                        if let Some(found) = self.resolve(r) {
                            out.push(found);
                        }
                    }
                }
                Ok(out)
            }
            Func::MemberOf => self.member_of(c, input, pos, sc),
            Func::ConformsTo => {
                let url = self.eval(&c.args[0], sc)?;
                let Some(url) = single(&url, c.args[0].pos, "profile url")?
                    .and_then(|u| u.as_str().map(str::to_owned))
                else {
                    return Ok(Collection::new());
                };
                let Some(tid) = url.strip_prefix(CORE_SD).and_then(|t| self.idx.lookup(t)) else {
                    return err(
                        pos,
                        format!("cannot check conformance to unknown profile '{url}'"),
                    );
                };
                let mut out = Collection::new();
                for item in input {
                    let ok = matches!(item, Item::Node(n) if self.idx.is_subtype(n.ty, tid));
                    out.push(Item::Boolean(ok));
                }
                Ok(out)
            }
            Func::HtmlChecks => Ok(smallvec![Item::Boolean(true)]),
            Func::Subsumes | Func::SubsumedBy => err(
                pos,
                format!("{}() needs a terminology service", c.func.name()),
            ),
            other => err(pos, format!("function '{}' is not supported", other.name())),
        }
    }

    fn extensions(&self, input: &[Item<'a>], url: &str) -> Collection<'a> {
        let ext_ty = self.idx.extension_type;
        let mut out = Collection::new();
        for item in input {
            let Item::Node(n) = item else { continue };
            let holder = if n.value.is_object() {
                Some(n.value)
            } else {
                n.ext
            };
            let Some(Value::Array(exts)) = holder.and_then(|h| h.get("extension")) else {
                continue;
            };
            for e in exts {
                if e.get("url").and_then(Value::as_str) == Some(url) {
                    out.push(Item::Node(Node {
                        value: e,
                        ext: None,
                        ty: ext_ty,
                    }));
                }
            }
        }
        out
    }

    /// Finds the target of a reference: `#id` in `contained`, a Bundle entry (by `fullUrl` or `Type/id`), the
    /// context's resolver, else a stub typed from `Type/id` (so `resolve() is Patient` works while indexing).
    pub(crate) fn resolve(&self, reference: &str) -> Option<Item<'a>> {
        let container = self.ctx.resource.unwrap_or(match &self.resource {
            Item::Node(n) => n.value,
            _ => &NULL,
        });
        if let Some(id) = reference.strip_prefix('#') {
            let contained = container.get("contained")?.as_array()?;
            let found = contained
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id))?;
            return Some(Item::Node(Node::resource(found)));
        }
        let bundle = self.ctx.root_resource.unwrap_or(container);
        if bundle.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
            if let Some(Value::Array(entries)) = bundle.get("entry") {
                for e in entries {
                    let Some(res) = e.get("resource") else {
                        continue;
                    };
                    let full = e.get("fullUrl").and_then(Value::as_str);
                    if full == Some(reference) || type_id_matches(res, reference) {
                        return Some(Item::Node(Node::resource(res)));
                    }
                }
            }
        }
        if let Some(r) = self.ctx.resolver {
            if let Some(v) = r.resolve(reference) {
                return Some(Item::Node(Node::resource(v)));
            }
        }
        if !self.ctx.reference_stubs {
            return None;
        }
        let ty = reference_type(reference).and_then(|t| self.idx.lookup(t))?;
        self.idx
            .model
            .is_resource_type(self.idx.name(ty)?)
            .then_some(Item::Node(Node {
                value: &NULL,
                ext: None,
                ty,
            }))
    }

    fn member_of(
        &self,
        c: &'a Call,
        input: &[Item<'a>],
        pos: Pos,
        sc: Scope<'_, 'a>,
    ) -> EvalResult<'a> {
        let url = self.eval(&c.args[0], sc)?;
        let Some(url) = single(&url, c.args[0].pos, "value set url")?
            .and_then(|u| u.as_str().map(str::to_owned))
        else {
            return Ok(Collection::new());
        };
        let Some(item) = single(input, pos, "memberOf")? else {
            return Ok(Collection::new());
        };
        let base_url = url.split('|').next().unwrap_or(&url);
        let Some(vs) = self.idx.model.value_set(base_url) else {
            return Ok(Collection::new());
        };
        let codings: Vec<(Option<&str>, &str)> = match item {
            Item::Node(n) if n.value.is_object() => {
                let v = n.value;
                match v.get("coding") {
                    Some(Value::Array(cs)) => cs.iter().filter_map(coding_pair).collect(),
                    _ => coding_pair(v).into_iter().collect(),
                }
            }
            other => other
                .as_str()
                .map(|code| (None, code))
                .into_iter()
                .collect(),
        };
        if codings.is_empty() {
            return Ok(Collection::new());
        }
        let hit = codings
            .iter()
            .any(|(system, code)| vs.contains(*system, code));
        Ok(smallvec![Item::Boolean(hit)])
    }
}

fn coding_pair(v: &Value) -> Option<(Option<&str>, &str)> {
    Some((
        v.get("system").and_then(Value::as_str),
        v.get("code")?.as_str()?,
    ))
}

fn is_plain_primitive(n: &Node<'_>) -> bool {
    n.ty == TypeId::UNKNOWN
        && matches!(
            n.value,
            Value::String(_) | Value::Number(_) | Value::Bool(_)
        )
}

/// `Patient/123`, `http://x/fhir/Patient/123`, `Patient/123/_history/2` → `Patient`.
fn reference_type(reference: &str) -> Option<&str> {
    let path = reference.split(['?', '#']).next()?;
    let parts: Vec<&str> = path.split('/').collect();
    let n = parts.len();
    let at = if n >= 4 && parts[n - 2] == "_history" {
        n - 4
    } else {
        n.checked_sub(2)?
    };
    let t = parts.get(at)?;
    t.starts_with(|c: char| c.is_ascii_uppercase())
        .then_some(*t)
}

fn type_id_matches(res: &Value, reference: &str) -> bool {
    let (Some(rt), Some(id)) = (
        res.get("resourceType").and_then(Value::as_str),
        res.get("id").and_then(Value::as_str),
    ) else {
        return false;
    };
    let path = reference.split('/').collect::<Vec<_>>();
    let n = path.len();
    n >= 2 && path[n - 2] == rt && path[n - 1] == id
}
