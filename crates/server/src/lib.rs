//! Weave's HTTP edge: the FHIR R4 REST API over axum.
//!
//! Only this crate knows HTTP. Requests are dispatched by hand ([`routes`]) rather than through
//! axum's router so that every unknown path, method or type is answered with an
//! `OperationOutcome`. Handlers parse and check the request, do CPU work (validation, index
//! extraction) on the request's task, and hand one atomic write job to the store.

pub mod bulk;
mod bundle;
mod bundle_text;
mod compartment;
mod capability;
mod crud;
pub mod deadletter;
mod error;
mod history;
mod http;
pub mod identity;
pub mod import;
mod index;
pub mod lanes;
pub mod merge;
pub mod mllp;
mod patch;
pub mod reindex;
mod routes;
mod shape;
mod state;
pub mod terminology;

pub use error::ApiError;
pub use mllp::{serve_mllp, serve_mllp_on, MllpConfig};
pub use state::{AppState, ServerConfig};

use axum::Router;
use std::net::SocketAddr;

/// The whole API as a router, for tests (`oneshot`) and for [`serve`].
pub fn app(state: AppState) -> Router {
    Router::new().fallback(routes::dispatch).with_state(state).layer(
        tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::DEBUG))
            .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG)),
    )
}

/// Serves the API on `addr` until ctrl-c (or SIGTERM).
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
