//! `serve`: bind, route, and shut down gracefully (stop accepting, give in-flight streams a
//! grace period, then cancel them).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Loader;
use crate::config::ServerConfig;
use crate::state::AppState;
use hearth_store::catalog::BuiltinEntry;

/// How long in-flight requests may run on after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// Serve until `shutdown` resolves.
pub async fn serve(
    config: ServerConfig,
    loader: Arc<dyn Loader>,
    builtin: Vec<BuiltinEntry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    serve_on(listener, config, loader, builtin, shutdown).await
}

/// Serve on an already bound listener (tests bind port 0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: ServerConfig,
    loader: Arc<dyn Loader>,
    builtin: Vec<BuiltinEntry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Only the writable store is pruned: read-only stores (a bundle's models) are never touched.
    if config.prune {
        let store = hearth_store::Store::new(&config.models_dir);
        let removed = tokio::task::spawn_blocking(move || store.prune_unreferenced())
            .await
            .unwrap_or(0);
        if removed > 0 {
            tracing::info!(removed, "pruned unreferenced blobs");
        }
    }
    let state = AppState::new(config, loader, builtin);
    let app = crate::routes::router(state.clone());
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    shutdown.await;
    tracing::info!("shutting down");
    let _ = tx.send(());
    match tokio::time::timeout(GRACE, server).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => return Err(std::io::Error::other(e)),
        Err(_) => tracing::warn!(
            "in-flight requests still running after the grace period; cancelling them"
        ),
    }
    state.scheduler.unload_all();
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
