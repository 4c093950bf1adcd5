//! Test data and the real write path: Synthea bundles (with `urn:uuid:` references resolved to
//! `Type/id`) and the valid R4 examples, written to a temporary SQLite store with
//! `Indexer::extract`, `prepare_body` and write jobs, exactly as the server writes.

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weave_fhir::r4;
use weave_search::{parse_query, parse_query_with, Indexer};
use weave_store::sqlite::{Durability, SqliteOptions, SqliteStore};
use weave_store::{prepare_body, write_blocking, Method, Store, StoreError, WriteTx};

/// The base URL the tests index and search with.
pub const BASE: &str = "http://weave.test/fhir";

/// One resource to write.
#[derive(Debug, Clone)]
pub struct Res {
    pub ty: String,
    pub id: String,
    pub json: Value,
}

/// The shared test material, when present.
pub fn shared_dir() -> Option<PathBuf> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"));
    if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        println!("NOTICE: {} not found; skipping", p.display());
        None
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

/// Replaces every `reference` found in `map` by its `Type/id`.
fn resolve_refs(v: &mut Value, map: &HashMap<String, String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                match x {
                    Value::String(s) if k == "reference" => {
                        if let Some(local) = map.get(s.as_str()) {
                            *s = local.clone();
                        }
                    }
                    _ => resolve_refs(x, map),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_refs(x, map)),
        _ => {}
    }
}

/// The resources of the Synthea bundles; each takes its fullUrl's uuid as id. Practitioners and
/// Organizations recur across bundles: the first copy is kept.
pub fn synthea(shared: &Path, max_files: usize) -> Vec<Res> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for f in json_files(&shared.join("testdata/synthea/smart-generated-sample-data-R4")).into_iter().take(max_files) {
        let Some(bundle) = read_json(&f) else { continue };
        let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        let mut map = HashMap::new();
        let mut items = Vec::new();
        for e in entries {
            let (Some(url), Some(ty)) = (e["fullUrl"].as_str(), e["resource"]["resourceType"].as_str()) else { continue };
            let id = url.rsplit(':').next().unwrap_or(url).to_owned();
            map.insert(url.to_owned(), format!("{ty}/{id}"));
            items.push((ty.to_owned(), id, e["resource"].clone()));
        }
        for (ty, id, mut json) in items {
            if !seen.insert((ty.clone(), id.clone())) {
                continue;
            }
            resolve_refs(&mut json, &map);
            json["id"] = Value::String(id.clone());
            out.push(Res { ty, id, json });
        }
    }
    out
}

/// The R4 examples that pass validation, first of each type/id. Returns (kept, invalid, duplicates).
pub fn examples(shared: &Path) -> (Vec<Res>, usize, usize) {
    let mut out = Vec::new();
    let (mut invalid, mut dup) = (0, 0);
    let mut seen = HashSet::new();
    for f in json_files(&shared.join("testdata/fhir-r4-examples/fhir_models-r4-4.0.1-json")) {
        let Some(json) = read_json(&f) else {
            invalid += 1;
            continue;
        };
        let (Some(ty), Some(id)) = (json["resourceType"].as_str(), json["id"].as_str()) else {
            invalid += 1;
            continue;
        };
        if !r4().is_resource_type(ty) || weave_fhir::validate::validate_resource(r4(), &json).iter().any(|i| i.is_error()) {
            invalid += 1;
            continue;
        }
        if !seen.insert((ty.to_owned(), id.to_owned())) {
            dup += 1;
            continue;
        }
        out.push(Res { ty: ty.to_owned(), id: id.to_owned(), json });
    }
    (out, invalid, dup)
}

/// A store in a temporary directory (no fsync per commit: the test does not need it).
pub fn open_store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    let opts = SqliteOptions { durability: Durability::Normal, ..SqliteOptions::default() };
    SqliteStore::open(&dir.path().join("search.db"), &opts).expect("open the store")
}

/// Writes resources (as `ty/id` with the given body) through the real write path, in jobs of a
/// few hundred.
pub fn write_all(store: &SqliteStore, indexer: &Indexer, items: &[(String, String, &Value)]) {
    for chunk in items.chunks(400) {
        let mut prepared: Vec<_> = chunk
            .iter()
            .map(|(t, id, v)| {
                let ix = indexer.extract(t, v);
                let mut body = (*v).clone();
                (t.clone(), id.clone(), prepare_body(&mut body, id), ix)
            })
            .collect();
        write_blocking(store, move |tx: &mut dyn WriteTx| -> Result<(), StoreError> {
            for (t, id, body, ix) in &mut prepared {
                tx.put(t, id, body, Method::Put, ix)?;
            }
            Ok(())
        })
        .expect("write job");
    }
}

/// Deletes resources through write jobs.
pub fn delete_all(store: &SqliteStore, keys: &[(String, String)]) {
    let keys = keys.to_vec();
    write_blocking(store, move |tx: &mut dyn WriteTx| -> Result<(), StoreError> {
        for (t, id) in &keys {
            tx.delete(t, id)?;
        }
        Ok(())
    })
    .expect("delete job");
}

/// A store holding `resources` (written as they are), for small hand-made data sets.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub indexer: Indexer,
}

impl Fixture {
    pub fn new(resources: &[Value]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_store(&dir);
        let f = Fixture { _dir: dir, store, indexer: Indexer::new(BASE) };
        f.add(resources);
        f
    }

    /// Writes more resources (each carries its type and id).
    pub fn add(&self, resources: &[Value]) {
        let items: Vec<(String, String, &Value)> = resources
            .iter()
            .map(|r| (r["resourceType"].as_str().unwrap_or_default().to_owned(), r["id"].as_str().unwrap_or_default().to_owned(), r))
            .collect();
        write_all(&self.store, &self.indexer, &items);
    }

    /// The plan of `Type?query`.
    pub fn explain(&self, ty: &str, query: &str) -> Vec<String> {
        let parsed = parse_query(ty, &split_query(query), true, BASE, 1000, 1000).unwrap_or_else(|e| panic!("{ty}?{query}: {e}"));
        self.store.explain(&parsed.query).unwrap_or_else(|e| panic!("{ty}?{query}: {e}"))
    }

    /// Runs `Type?query` (unencoded `a=b&c=d`) and returns the sorted ids of the matches, or the
    /// parse or store error.
    pub fn try_ids(&self, ty: &str, query: &str) -> Result<Vec<String>, String> {
        self.try_ids_with(ty, query, weave_search::terminology::builtin())
    }

    /// [`Fixture::try_ids`] with a terminology for `:in`, `:not-in`, `:above` and `:below`.
    pub fn try_ids_with(&self, ty: &str, query: &str, term: &dyn weave_search::terminology::Terminology) -> Result<Vec<String>, String> {
        let parsed = parse_query_with(ty, &split_query(query), true, BASE, 1000, 1000, term).map_err(|e| e.to_string())?;
        let page = self.store.search(&parsed.query).map_err(|e| e.to_string())?;
        let mut ids: Vec<String> = page.matches.into_iter().map(|(_, id, _)| id).collect();
        ids.sort();
        Ok(ids)
    }

    /// The matches plus their `_include`/`_revinclude` targets, as sorted `Type/id`.
    pub fn with_includes(&self, ty: &str, query: &str) -> Vec<String> {
        let parsed = parse_query(ty, &split_query(query), true, BASE, 1000, 1000).unwrap_or_else(|e| panic!("{ty}?{query}: {e}"));
        let page = self.store.search(&parsed.query).expect("search");
        let rids: Vec<i64> = page.matches.iter().map(|m| m.2).collect();
        let mut out: Vec<String> = page.matches.iter().map(|(t, id, _)| format!("{t}/{id}")).collect();
        let mut extra = Vec::new();
        for inc in &parsed.includes {
            let params = include_params(&inc.source_type, &inc.param);
            extra.extend(self.store.include_rows(&rids, &inc.source_type, &params, inc.target_type.as_deref()).expect("include"));
        }
        for inc in &parsed.revincludes {
            let params = include_params(&inc.source_type, &inc.param);
            extra.extend(self.store.revinclude_rows(&rids, &inc.source_type, &params).expect("revinclude"));
        }
        for s in self.store.read_rows(&extra).expect("read rows") {
            out.push(format!("{}/{}", s.resource_type, s.id));
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The reference parameters an include names: the one given, or for `*` every reference
/// parameter of the source type (what the server passes to the store).
pub fn include_params(source_type: &str, param: &str) -> Vec<String> {
    if param != "*" {
        return vec![param.to_owned()];
    }
    r4().search_params(source_type)
        .iter()
        .filter(|p| p.kind == weave_fhir::model::SearchParamType::Reference)
        .map(|p| p.code.clone())
        .collect()
}

/// `a=b&c=d` → pairs (no percent-decoding: the tests write values plainly).
pub fn split_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (p.to_owned(), String::new()),
        })
        .collect()
}
