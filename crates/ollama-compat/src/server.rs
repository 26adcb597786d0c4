//! `serve`: bind, route, and shut down gracefully (stop accepting, give in-flight streams a
//! grace period, then cancel them).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Loader;
use crate::config::ServerConfig;
use crate::state::AppState;
use hearth_store::catalog::BuiltinEntry;

/// A temp file not written to for this long belongs to no live transfer.
const TEMP_FILE_IDLE_SECS: u64 = 600;

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
    // Temp files of uploads and writes a crash interrupted (partial pulls stay, to resume).
    {
        let store = hearth_store::Store::new(&config.models_dir);
        let (files, bytes) = tokio::task::spawn_blocking(move || {
            store.sweep_temp_files(std::time::Duration::from_secs(TEMP_FILE_IDLE_SECS))
        })
        .await
        .unwrap_or((0, 0));
        if files > 0 {
            tracing::warn!(
                files,
                bytes,
                "removed temp files left by interrupted writes"
            );
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn startup_sweeps_temp_files_of_interrupted_writes() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs");
        std::fs::create_dir_all(&blobs).unwrap();
        let killed = blobs.join(".upload-killed");
        std::fs::write(&killed, vec![0u8; 4096]).unwrap();
        let old =
            std::time::SystemTime::now() - std::time::Duration::from_secs(2 * TEMP_FILE_IDLE_SECS);
        std::fs::File::options()
            .write(true)
            .open(&killed)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let partial = blobs.join(format!("sha256-{}-partial", "c".repeat(64)));
        std::fs::write(&partial, b"resume me").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = ServerConfig::new(dir.path().to_owned());
        let loader = Arc::new(crate::fake::FakeLoader::default());
        serve_on(listener, config, loader, Vec::new(), async {})
            .await
            .unwrap();
        assert!(
            !killed.exists(),
            "the interrupted upload's temp file is still there"
        );
        assert!(
            partial.exists(),
            "a resumable pull's partial file must stay"
        );
    }
}
