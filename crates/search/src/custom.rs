//! Search parameters defined by users: `SearchParameter` resources stored in Weave, active once
//! `$reindex` has indexed every resource of their base types with them. The catalog the query
//! parser reads is the R4 definitions plus the active custom ones ([`param_def`]).

use serde_json::Value;
use std::sync::RwLock;
use weave_fhir::model::{SearchParamDef, SearchParamType};
use weave_fhir::r4;

/// The active custom parameters. Definitions are leaked when installed: they are few and change
/// only with `$reindex`, and the parser hands out `'static` references like the R4 model's.
static ACTIVE: RwLock<Vec<&'static SearchParamDef>> = RwLock::new(Vec::new());

/// The definition of `code` on `resource_type`: R4's, else an active custom one.
pub fn param_def(resource_type: &str, code: &str) -> Option<&'static SearchParamDef> {
    if let Some(d) = r4().search_param(resource_type, code) {
        return Some(d);
    }
    let active = ACTIVE.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    active.iter().copied().find(|d| d.code == code && d.base.iter().any(|b| b == resource_type))
}

/// Makes `defs` the active custom parameters (replacing the previous set).
pub fn install(defs: Vec<SearchParamDef>) {
    let leaked: Vec<&'static SearchParamDef> = defs.into_iter().map(|d| &*Box::leak(Box::new(d))).collect();
    *ACTIVE.write().unwrap_or_else(std::sync::PoisonError::into_inner) = leaked;
}

/// The active custom parameters.
pub fn active() -> Vec<&'static SearchParamDef> {
    ACTIVE.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// Reads a `SearchParameter` resource as a definition Weave can index: a code, base types, a
/// FHIRPath expression and a type other than composite or special; its code must not shadow an
/// R4 parameter of a base type.
pub fn from_resource(sp: &Value) -> Result<SearchParamDef, String> {
    let s = |k: &str| sp.get(k).and_then(Value::as_str);
    let list = |k: &str| -> Vec<String> {
        sp.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
    };
    let name = s("url").or(s("id")).unwrap_or("a SearchParameter").to_owned();
    let code = s("code").filter(|c| !c.is_empty()).ok_or_else(|| format!("{name}: no code"))?.to_owned();
    let kind = match s("type") {
        Some("string") => SearchParamType::String,
        Some("token") => SearchParamType::Token,
        Some("reference") => SearchParamType::Reference,
        Some("date") => SearchParamType::Date,
        Some("number") => SearchParamType::Number,
        Some("quantity") => SearchParamType::Quantity,
        Some("uri") => SearchParamType::Uri,
        other => return Err(format!("{name}: type {other:?} cannot be indexed (string, token, reference, date, number, quantity or uri)")),
    };
    let base = list("base");
    if base.is_empty() || base.iter().any(|b| !r4().is_resource_type(b)) {
        return Err(format!("{name}: base must name resource types"));
    }
    if let Some(b) = base.iter().find(|b| r4().search_param(b, &code).is_some()) {
        return Err(format!("{name}: '{code}' is already an R4 parameter of {b}"));
    }
    let expression = s("expression").filter(|e| !e.trim().is_empty()).ok_or_else(|| format!("{name}: no expression"))?.to_owned();
    if let Err(e) = weave_fhirpath::Expression::compile(&expression) {
        return Err(format!("{name}: the expression does not compile: {e}"));
    }
    Ok(SearchParamDef {
        code,
        url: s("url").unwrap_or_default().to_owned(),
        kind,
        base,
        expression: Some(expression),
        xpath_usage: None,
        targets: list("target"),
        components: Vec::new(),
        multiple_or: None,
        multiple_and: None,
        modifiers: list("modifier"),
        comparators: list("comparator"),
        chains: list("chain"),
    })
}
