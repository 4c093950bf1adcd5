//! Bundle entries: parsing `request` into something the processors can act on.

use crate::error::{issue, ApiError};
use crate::http::{is_valid_id, parse_etag, query_pairs};
use crate::routes::Req;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::value::RawValue;
use serde_json::Value;
use weave_fhir::outcome::{Issue, IssueType};
use weave_fhir::r4;

/// One entry of a transaction or batch.
#[derive(Debug, Clone)]
pub struct Entry {
    pub index: usize,
    pub full_url: Option<String>,
    pub method: Method,
    /// The request URL as given (relative to the base).
    pub url: String,
    /// Resource type named by the URL.
    pub resource_type: String,
    /// Instance id named by the URL, when it names one.
    pub id: Option<String>,
    /// The query part of the URL (a conditional update/delete or a search).
    pub query: Option<String>,
    pub resource: Option<Value>,
    /// A POST entry's resource still as text (a Bundle parsed from its bytes, see
    /// [`parse_text_entries`]): parsed by [`Entry::parse_text`] when the transaction reaches it.
    pub text: Option<Box<RawValue>>,
    pub if_none_exist: Option<String>,
    pub if_match: Option<u64>,
    pub if_none_match: Option<String>,
}

fn at(index: usize, field: &str, msg: String) -> Issue {
    let mut i = issue(IssueType::Invalid, msg);
    i.expression = vec![format!("Bundle.entry[{index}].{field}")];
    i
}

/// Parses and checks every entry, taking their resources out of the Bundle (never copied); all
/// problems are reported together.
pub fn parse_entries(bundle: &mut Value, transaction: bool) -> Result<Vec<Entry>, ApiError> {
    let entries = match bundle.get_mut("entry") {
        None => return Ok(Vec::new()),
        Some(Value::Array(a)) => std::mem::take(a),
        Some(_) => return Err(ApiError::invalid("Bundle.entry must be an array")),
    };
    collect_entries(entries.into_iter().map(|e| (e, None)), transaction)
}

/// Parses every entry (each with its resource as text, if it was read so) and reports all
/// problems together.
fn collect_entries(entries: impl ExactSizeIterator<Item = (Value, Option<Box<RawValue>>)>, transaction: bool) -> Result<Vec<Entry>, ApiError> {
    let mut out = Vec::with_capacity(entries.len());
    let mut problems = Vec::new();
    for (index, (e, text)) in entries.enumerate() {
        match parse_entry(index, e, text) {
            Ok(entry) => out.push(entry),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if transaction {
        check_duplicate_full_urls(&out, &mut problems);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::BadRequest(problems))
    }
}

fn check_duplicate_full_urls(entries: &[Entry], problems: &mut Vec<Issue>) {
    let mut seen = std::collections::HashMap::new();
    for e in entries {
        let Some(f) = &e.full_url else { continue };
        if let Some(first) = seen.insert(f.as_str(), e.index) {
            problems.push(at(
                e.index,
                "fullUrl",
                format!("fullUrl '{f}' is used by entries {first} and {}; each must be unique", e.index),
            ));
        }
    }
}

/// A transaction entry as read from the Bundle's bytes: its resource left as text.
#[derive(serde::Deserialize)]
pub struct EntryText {
    #[serde(rename = "fullUrl")]
    full_url: Option<Value>,
    request: Option<Value>,
    resource: Option<Box<RawValue>>,
}

/// Like [`parse_entries`] for a transaction read with its resources as text: a POST entry keeps
/// its resource as text until the transaction reaches it, so that each resource is parsed,
/// checked, indexed, serialized and freed in turn, its memory still in the cache, instead of all
/// of them parsed first (a Bundle's tree is larger than a core's cache).
pub fn parse_text_entries(entries: Vec<EntryText>) -> Result<Vec<Entry>, ApiError> {
    let entries = entries.into_iter().map(|e| {
        let mut fields = serde_json::Map::new();
        if let Some(f) = e.full_url {
            fields.insert("fullUrl".into(), f);
        }
        if let Some(r) = e.request {
            fields.insert("request".into(), r);
        }
        (Value::Object(fields), e.resource)
    });
    collect_entries(entries, true)
}

/// A resource read as text, parsed.
fn parse_resource_text(index: usize, text: &RawValue) -> Result<Value, Issue> {
    serde_json::from_str(text.get()).map_err(|e| at(index, "resource", format!("the resource is not valid JSON: {e}")))
}

fn parse_entry(index: usize, mut e: Value, mut text: Option<Box<RawValue>>) -> Result<Entry, Vec<Issue>> {
    let mut resource = e.as_object_mut().and_then(|o| o.remove("resource"));
    let req = e.get("request").ok_or_else(|| vec![at(index, "request", "the entry has no request".into())])?;
    let s = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_owned);
    let method_text = s("method").ok_or_else(|| vec![at(index, "request.method", "the entry has no request.method".into())])?;
    let method = match method_text.as_str() {
        "GET" => Method::GET,
        "HEAD" => Method::HEAD,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        m => return Err(vec![at(index, "request.method", format!("'{m}' is not an HTTP verb FHIR allows"))]),
    };
    let url = s("url").ok_or_else(|| vec![at(index, "request.url", "the entry has no request.url".into())])?;
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.trim_matches('/').to_owned(), Some(q.to_owned())),
        None => (url.trim_matches('/').to_owned(), None),
    };
    let mut parts = path.split('/');
    let resource_type = parts.next().unwrap_or("").to_owned();
    let id = parts.next().map(str::to_owned);
    let mut problems = Vec::new();
    let is_read = method == Method::GET || method == Method::HEAD;
    if !is_read && !r4().is_resource_type(&resource_type) {
        problems.push(at(index, "request.url", format!("'{url}' does not name a known resource type")));
    }
    if let Some(id) = &id {
        if !is_read && !is_valid_id(id) {
            problems.push(at(index, "request.url", format!("'{id}' is not a valid resource id")));
        }
    }
    if method != Method::POST {
        if let Some(t) = text.take() {
            resource = Some(parse_resource_text(index, &t).map_err(|i| vec![i])?);
        }
    }
    if text.is_none() {
        check_resource_presence(index, &method, &resource, &resource_type, &mut problems);
    }
    let if_match = match s("ifMatch") {
        Some(m) => match parse_etag(&m) {
            Some(v) => Some(v),
            None => {
                problems.push(at(index, "request.ifMatch", format!("'{m}' is not a version ETag")));
                None
            }
        },
        None => None,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Entry {
        index,
        full_url: e.get("fullUrl").and_then(Value::as_str).map(str::to_owned),
        method,
        url,
        resource_type,
        id,
        query,
        resource,
        text,
        if_none_exist: s("ifNoneExist"),
        if_match,
        if_none_match: s("ifNoneMatch"),
    })
}

fn check_resource_presence(index: usize, method: &Method, resource: &Option<Value>, t: &str, problems: &mut Vec<Issue>) {
    let needs = *method == Method::POST || *method == Method::PUT || *method == Method::PATCH;
    match (needs, resource) {
        (true, None) => problems.push(at(index, "resource", format!("a {method} entry needs a resource"))),
        (true, Some(r)) if *method != Method::PATCH => problems.extend(type_mismatch(index, r, t)),
        _ => {}
    }
}

fn type_mismatch(index: usize, r: &Value, t: &str) -> Option<Issue> {
    let rt = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
    (rt != t).then(|| at(index, "resource", format!("the resource is a '{rt}' but the request URL is for '{t}'")))
}

impl Entry {
    /// Parses a resource left as text (see [`parse_text_entries`]) and checks its type against
    /// the request URL.
    pub fn parse_text(&mut self) -> Result<(), Issue> {
        let Some(text) = self.text.take() else { return Ok(()) };
        let r = parse_resource_text(self.index, &text)?;
        if let Some(i) = type_mismatch(self.index, &r, &self.resource_type) {
            return Err(i);
        }
        self.resource = Some(r);
        Ok(())
    }

    /// This entry as a stand-alone request (for batch processing and transaction reads).
    pub fn to_request(&self, outer: &Req) -> Req {
        let mut headers = HeaderMap::new();
        let set = |headers: &mut HeaderMap, name: &'static str, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                headers.insert(HeaderName::from_static(name), v);
            }
        };
        if let Some(v) = &self.if_none_exist {
            set(&mut headers, "if-none-exist", v);
        }
        if let Some(v) = self.if_match {
            set(&mut headers, "if-match", &crate::http::etag(v));
        }
        if let Some(v) = &self.if_none_match {
            set(&mut headers, "if-none-match", v);
        }
        if let Some(v) = outer.headers.get("prefer") {
            headers.insert(HeaderName::from_static("prefer"), v.clone());
        }
        let is_json_patch = self.method == Method::PATCH
            && self.resource.as_ref().and_then(|r| r.get("resourceType")).and_then(Value::as_str) == Some("Binary");
        let body = match &self.resource {
            Some(r) if is_json_patch => binary_patch_body(r),
            Some(r) => Bytes::from(serde_json::to_vec(r).unwrap_or_default()),
            None => self.text.as_ref().map_or_else(Bytes::new, |t| Bytes::copy_from_slice(t.get().as_bytes())),
        };
        if is_json_patch {
            set(&mut headers, "content-type", "application/json-patch+json");
        }
        let path = self.url.split('?').next().unwrap_or("");
        Req {
            method: self.method.clone(),
            segments: path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            query: query_pairs(self.query.as_deref()),
            headers,
            body,
        }
    }
}

/// A JSON Patch inside a Bundle travels as a Binary resource with base64 data.
fn binary_patch_body(binary: &Value) -> Bytes {
    use base64::Engine as _;
    let data = binary.get("data").and_then(Value::as_str).unwrap_or("");
    Bytes::from(base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_default())
}
