//! The server's terminology: `weave_search`'s [`Resolver`] over the ValueSet and CodeSystem
//! resources in the store (found by `url`, and `version` when a canonical is `url|version`), with
//! the R4 value sets of the model behind them.
//!
//! Expansions and hierarchies are cached. The cache follows the change feed: before answering,
//! [`StoreTerminology`] asks the store for the newest change to a ValueSet or a CodeSystem (one
//! index probe each) and forgets everything when it is newer than the last one it saw — a
//! definition was created, updated or deleted by any path (REST, transactions, imports).
//!
//! When several current resources share a canonical url and no version is asked for, the one
//! written last is used.

use std::sync::{Arc, Mutex, PoisonError};
use serde_json::Value;
use weave_search::terminology::{Direction, Expansion, Resolver, Source, Terminology, TerminologyError};
use weave_store::query::{Clause, Predicate, SearchQuery, UriMatch};
use weave_store::Store;

/// The most resources sharing one canonical url that are considered.
const MAX_SAME_URL: usize = 100;

/// ValueSets and CodeSystems from the store.
pub struct StoreSource {
    store: Arc<dyn Store>,
}

impl StoreSource {
    /// The current `resource_type` with canonical `url` (and `version`), the latest written.
    fn find(&self, resource_type: &str, url: &str, version: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
        let mut query = SearchQuery::all(resource_type);
        query.count = MAX_SAME_URL;
        query.clauses.push(Clause { any_of: vec![Predicate::Uri { param: "url".into(), value: url.to_owned(), mode: UriMatch::Exact }] });
        if let Some(v) = version {
            query.clauses.push(Clause { any_of: vec![Predicate::Token { param: "version".into(), system: None, code: Some(v.to_owned()) }] });
        }
        let page = self.store.search(&query).map_err(unavailable)?;
        let rids: Vec<i64> = page.matches.iter().map(|m| m.2).collect();
        let rows = self.store.read_rows(&rids).map_err(unavailable)?;
        let Some(latest) = rows.iter().filter(|s| s.body.is_some()).max_by_key(|s| s.seq) else { return Ok(None) };
        let body = latest.body.as_deref().unwrap_or_default();
        let value: Value = serde_json::from_str(body)
            .map_err(|e| TerminologyError::Unavailable(format!("{resource_type}/{} is unreadable: {e}", latest.id)))?;
        Ok(Some(Arc::new(value)))
    }
}

fn unavailable(e: weave_store::StoreError) -> TerminologyError {
    TerminologyError::Unavailable(e.to_string())
}

impl Source for StoreSource {
    fn value_set(&self, url: &str, version: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
        self.find("ValueSet", url, version)
    }

    fn code_system(&self, url: &str, version: Option<&str>) -> Result<Option<Arc<Value>>, TerminologyError> {
        self.find("CodeSystem", url, version)
    }
}

/// The terminology search consults, kept in step with the store.
pub struct StoreTerminology {
    resolver: Resolver<StoreSource>,
    /// The newest change to a definition that the cache reflects.
    seen: Mutex<i64>,
}

impl StoreTerminology {
    pub fn new(store: Arc<dyn Store>) -> StoreTerminology {
        StoreTerminology { resolver: Resolver::new(StoreSource { store }), seen: Mutex::new(0) }
    }

    /// Drops the cache when a ValueSet or CodeSystem changed since the last look.
    fn refresh(&self) -> Result<(), TerminologyError> {
        let store = &self.resolver.source().store;
        let newest = store.last_seq_of("ValueSet").map_err(unavailable)?.max(store.last_seq_of("CodeSystem").map_err(unavailable)?);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if newest > *seen {
            self.resolver.invalidate();
            *seen = newest;
        }
        Ok(())
    }
}

impl Terminology for StoreTerminology {
    fn expand(&self, value_set: &str) -> Result<Arc<Expansion>, TerminologyError> {
        self.refresh()?;
        self.resolver.expand(value_set)
    }

    fn subsumed(&self, system: &str, code: &str, direction: Direction) -> Result<Arc<Expansion>, TerminologyError> {
        self.refresh()?;
        self.resolver.subsumed(system, code, direction)
    }
}
