//! The server the real-model integration tests share: `serve` starts `hearth serve`'s router
//! over a loopback socket with the REAL bundled models (smollm2:135m must be there; a missing
//! model fails loudly, naming scripts/fetch-models.sh), on its own thread and runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hearth_ollama_compat::backend::EngineLoader;
use hearth_ollama_compat::{server, ServerConfig};

/// The bundled model the tests drive.
pub const MODEL: &str = "smollm2:135m";

/// The repository's `models/` directory, where scripts/fetch-models.sh puts the bundled models.
pub fn models_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
}

/// Start a server with an empty temporary store and the bundled models, `configure`d; returns
/// its base URL. Call it once per test binary (behind a `OnceLock`): llama.cpp's backend is
/// process-wide, and each test has its own runtime, so the server gets a thread of its own.
pub fn serve(configure: impl FnOnce(&mut ServerConfig) + Send + 'static) -> String {
    let model =
        hearth_store::builtin::find(MODEL).expect("smollm2:135m is in the bundled manifest");
    let models = models_dir();
    if let Err(e) = hearth_store::builtin::locate(model, std::slice::from_ref(&models)) {
        panic!("the bundled model {MODEL} is missing ({e}); run scripts/fetch-models.sh");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let dir = tempfile::tempdir().unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", listener.local_addr().unwrap()))
                .unwrap();
            let mut config = ServerConfig::new(dir.path().to_owned());
            configure(&mut config);
            server::serve_on(
                listener,
                config,
                Arc::new(EngineLoader),
                hearth_store::builtin::catalog_entries(&[models], true),
                std::future::pending(),
            )
            .await
            .unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A client patient enough for a cold model load on a busy machine.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}
