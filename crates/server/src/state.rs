//! Shared state of the API: the store and the configuration.

use std::sync::Arc;
use weave_search::Indexer;
use weave_store::Store;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The public base URL, without a trailing slash (`http://127.0.0.1:8080`).
    pub base_url: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Page size when `_count` is not given.
    pub default_count: usize,
    /// Largest page size served.
    pub max_count: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: 32 * 1024 * 1024,
            default_count: 50,
            max_count: 1000,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    /// Compiled search parameters (shared with write jobs; replaced by `$reindex`).
    indexer: Arc<std::sync::RwLock<Arc<Indexer>>>,
    /// The person index (filled by [`crate::identity::spawn_linker`]).
    pub identity: Arc<crate::identity::Identity>,
    /// Point lookups and broad searches (see [`crate::lanes`]).
    pub lanes: Arc<crate::lanes::Lanes>,
    /// The `$reindex` job (see [`crate::reindex`]).
    pub reindexer: Arc<crate::reindex::Reindexer>,
    /// Value sets and code systems for token search (see [`crate::terminology`]).
    pub terminology: Arc<crate::terminology::StoreTerminology>,
    /// What transactions' conditional creates and updates last resolved to (see
    /// [`crate::bundle::Resolved`]).
    pub resolved: Arc<crate::bundle::Resolved>,
}

impl AppState {
    /// State over a store with a configuration; compiles the search parameters.
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> AppState {
        let terminology = Arc::new(crate::terminology::StoreTerminology::new(Arc::clone(&store)));
        let indexer = Indexer::new(&config.base_url).with_terminology(terminology.clone());
        let indexer = Arc::new(std::sync::RwLock::new(Arc::new(indexer)));
        let identity = Arc::new(crate::identity::Identity::default());
        AppState { store, config: Arc::new(config), indexer, identity, lanes: Arc::default(), reindexer: Arc::default(), terminology, resolved: Arc::default() }
    }

    /// The compiled search parameters in force.
    pub fn indexer(&self) -> Arc<Indexer> {
        Arc::clone(&self.indexer.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Puts new compiled search parameters in force (`$reindex`).
    pub fn set_indexer(&self, indexer: Indexer) {
        let indexer = indexer.with_terminology(self.terminology.clone());
        *self.indexer.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(indexer);
    }

    /// `base/Type/id`.
    pub fn url_of(&self, resource_type: &str, id: &str) -> String {
        format!("{}/{resource_type}/{id}", self.config.base_url)
    }
}
