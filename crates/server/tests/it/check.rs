//! The test harness: a fresh API over its own temp-dir SQLite store per test, a small request
//! builder that drives it with `tower::ServiceExt::oneshot`, and response assertions (status,
//! JSON body, `OperationOutcome`, version headers, "nothing was written").

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use std::path::{Path, PathBuf};
use tower::ServiceExt;
use weave_server::{AppState, ServerConfig};
use weave_store::sqlite::{SqliteOptions, SqliteStore};

/// The base URL the test servers are configured with.
pub const BASE: &str = "http://weave.test/fhir";

/// The shared test-data folder, or `None` (with a notice) when it is not present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).to_path_buf();
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("NOTICE: {} not found; skipping shared-data tests", dir.display());
        None
    }
}

/// All files under `dir` (recursively) whose name ends with `.{ext}`, sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for entry in rd.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Reads and parses a JSON file (numbers keep their text: `arbitrary_precision`).
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// One API over one store in a temp dir (dropped with the server).
pub struct Server {
    app: Router,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

/// The store's observable write state: the change-feed position and live counts per type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub last_seq: i64,
    pub counts: Vec<(String, u64)>,
}

impl Server {
    /// A server with the default configuration (base URL [`BASE`]).
    pub fn new() -> Server {
        Server::with_config(ServerConfig { base_url: BASE.into(), ..ServerConfig::default() })
    }

    /// A server with the given configuration.
    pub fn with_config(config: ServerConfig) -> Server {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let store = SqliteStore::open(&dir.path().join("weave.db"), &SqliteOptions::default())
            .expect("opening the SQLite store");
        let state = AppState::new(store, config);
        Server { app: weave_server::app(state.clone()), state, _dir: dir }
    }

    /// A request to build and send.
    pub fn call(&self, method: Method, uri: &str) -> Call<'_> {
        Call { server: self, method, uri: uri.to_owned(), headers: Vec::new(), body: Vec::new() }
    }

    pub fn get(&self, uri: &str) -> Call<'_> {
        self.call(Method::GET, uri)
    }

    pub fn post(&self, uri: &str) -> Call<'_> {
        self.call(Method::POST, uri)
    }

    pub fn put(&self, uri: &str) -> Call<'_> {
        self.call(Method::PUT, uri)
    }

    pub fn delete(&self, uri: &str) -> Call<'_> {
        self.call(Method::DELETE, uri)
    }

    pub fn patch(&self, uri: &str) -> Call<'_> {
        self.call(Method::PATCH, uri)
    }

    /// Sends a raw request through the router.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.app.clone().oneshot(req).await.expect("the router is infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("reading the response body").to_bytes();
        Resp { status, headers, body }
    }

    /// POSTs a resource to its type and expects 201; returns (id, stored body).
    pub async fn create(&self, resource: &Value) -> (String, Value) {
        let t = resource["resourceType"].as_str().expect("resource has a resourceType");
        let body = self.post(&format!("/{t}")).json(resource).send().await.expect(StatusCode::CREATED).json();
        let id = body["id"].as_str().expect("created resource has an id").to_owned();
        (id, body)
    }

    /// `GET /{t}?_summary=count` → `total`.
    pub async fn count(&self, t: &str) -> u64 {
        let b = self.get(&format!("/{t}?_summary=count")).send().await.expect(StatusCode::OK).json();
        b["total"].as_u64().unwrap_or_else(|| panic!("no total in the count of {t}: {b}"))
    }

    /// The store's write state, straight from the store.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            last_seq: self.state.store.last_seq().expect("last_seq"),
            counts: self.state.store.counts().expect("counts"),
        }
    }
}

/// A request being built.
pub struct Call<'a> {
    server: &'a Server,
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Call<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A FHIR JSON body.
    pub fn json(self, v: &Value) -> Self {
        let bytes = serde_json::to_vec(v).expect("serializing a test body");
        self.body(bytes, "application/fhir+json")
    }

    /// Any body with its content type.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &str) -> Self {
        self.body = bytes.into();
        self.header("content-type", content_type)
    }

    /// Sends the request.
    pub async fn send(self) -> Resp {
        let mut req = Request::builder().method(self.method).uri(self.uri.as_str());
        for (k, v) in &self.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).expect("test header name");
            req = req.header(name, HeaderValue::from_str(v).expect("test header value"));
        }
        let req = req.body(Body::from(self.body)).expect("building the request");
        self.server.send(req).await
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The body as text (for messages).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status; on mismatch the message shows the body.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Resp {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text());
        self
    }

    /// The body parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {:?}", self.text()))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The version in the `ETag` header (`W/"3"`).
    #[track_caller]
    pub fn version(&self) -> u64 {
        let etag = self.header("etag").unwrap_or_else(|| panic!("no ETag; headers {:?}", self.headers));
        etag_version(etag).unwrap_or_else(|| panic!("ETag {etag} is not W/\"n\""))
    }

    /// True when the body is an `OperationOutcome` with an error/fatal issue that has a
    /// non-empty diagnostic.
    pub fn is_error_outcome(&self) -> bool {
        let Ok(v) = serde_json::from_slice::<Value>(&self.body) else { return false };
        v["resourceType"] == "OperationOutcome"
            && v["issue"].as_array().is_some_and(|issues| {
                issues.iter().any(|i| {
                    matches!(i["severity"].as_str(), Some("error" | "fatal"))
                        && i["diagnostics"].as_str().is_some_and(|d| d.trim().len() > 5)
                })
            })
    }

    /// Asserts the status, a FHIR JSON content type and an error `OperationOutcome` with a
    /// diagnostic; returns all diagnostics and issue expressions joined (lower-cased) for
    /// further checks.
    #[track_caller]
    pub fn outcome(self, status: StatusCode) -> String {
        let resp = self.expect(status);
        let ct = resp.header("content-type").unwrap_or("");
        assert!(ct.starts_with("application/fhir+json"), "content type {ct:?} of an error");
        assert!(resp.is_error_outcome(), "not an error OperationOutcome with a diagnostic: {}", resp.text());
        let v = resp.json();
        let mut diags: Vec<String> = Vec::new();
        for i in v["issue"].as_array().into_iter().flatten() {
            diags.extend(i["diagnostics"].as_str().map(str::to_lowercase));
            diags.extend(i["expression"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_lowercase));
        }
        diags.join(" | ")
    }
}

/// `W/"3"` → 3.
pub fn etag_version(etag: &str) -> Option<u64> {
    etag.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// A copy of a resource without `id` and without the server-managed `meta.versionId` and
/// `meta.lastUpdated` (and without `meta` if nothing else is left in it).
pub fn strip_server_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
        let empty = o.get_mut("meta").and_then(Value::as_object_mut).is_some_and(|m| {
            m.remove("versionId");
            m.remove("lastUpdated");
            m.is_empty()
        });
        if empty {
            o.remove("meta");
        }
    }
    v
}

/// The first difference between two JSON values, as a path with both sides (`None` if equal).
pub fn first_difference(a: &Value, b: &Value) -> Option<String> {
    fn walk(a: &Value, b: &Value, path: &str) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, va) in x {
                    match y.get(k) {
                        Some(vb) => {
                            if let Some(d) = walk(va, vb, &format!("{path}.{k}")) {
                                return Some(d);
                            }
                        }
                        None => return Some(format!("{path}.{k}: missing on the right")),
                    }
                }
                y.keys().find(|k| !x.contains_key(*k)).map(|k| format!("{path}.{k}: missing on the left"))
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                x.iter().zip(y).enumerate().find_map(|(i, (va, vb))| walk(va, vb, &format!("{path}[{i}]")))
            }
            _ if a == b => None,
            _ => Some(format!("{path}: {} != {}", short(a), short(b))),
        }
    }
    walk(a, b, "")
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        format!("{}…", &s[..s.char_indices().nth(120).map_or(s.len(), |(i, _)| i)])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_found_and_server_fields_ignored() {
        let parse = |s: &str| serde_json::from_str::<Value>(s).expect("json");
        let a = parse(r#"{"resourceType": "Patient", "id": "a", "meta": {"versionId": "1", "lastUpdated": "x"}, "n": [1, {"b": 1.50}]}"#);
        let b = parse(r#"{"resourceType": "Patient", "id": "b", "n": [1, {"b": 1.50}]}"#);
        assert_eq!(first_difference(&strip_server_fields(&a), &strip_server_fields(&b)), None);
        let c = parse(r#"{"resourceType": "Patient", "n": [1, {"b": 1.5}]}"#);
        assert_eq!(first_difference(&strip_server_fields(&b), &c).as_deref(), Some(".n[1].b: 1.50 != 1.5"));
        let tagged = json!({"resourceType": "Patient", "meta": {"versionId": "1", "tag": [{"code": "t"}]}});
        assert!(first_difference(&strip_server_fields(&tagged), &c).is_some(), "meta.tag is compared");
        assert!(first_difference(&json!({"a": [1]}), &json!({"a": [1, 2]})).is_some());
        assert_eq!(etag_version("W/\"12\""), Some(12));
    }
}
