//! The shared state every handler sees.

use std::sync::Arc;

use crate::backend::Loader;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::scheduler::Scheduler;
use hearth_store::catalog::{BuiltinEntry, Catalog};
use hearth_store::Store;

/// Catalogue, scheduler, metrics and configuration.
#[derive(Debug)]
pub struct AppState {
    /// Known models.
    pub catalog: Catalog,
    /// Loaded models.
    pub scheduler: Scheduler,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Configuration.
    pub config: ServerConfig,
}

/// What handlers extract with `State`.
pub type SharedState = Arc<AppState>;

/// Lease the model of a record (loading it if needed), with its Modelfile's `num_ctx`.
pub async fn lease(
    st: &AppState,
    record: &hearth_store::catalog::ModelRecord,
    keep_alive: Option<crate::keep_alive::KeepAlive>,
) -> crate::error::ApiResult<crate::scheduler::Lease> {
    st.scheduler
        .acquire(
            &record.name.display(),
            &record.model_path,
            keep_alive,
            crate::convert::param_num_ctx(&record.params),
        )
        .await
}

impl AppState {
    /// Build the state from a configuration, a loader and the built-in models.
    pub fn new(
        config: ServerConfig,
        loader: Arc<dyn Loader>,
        builtin: Vec<BuiltinEntry>,
    ) -> SharedState {
        let catalog = Catalog::new(Store::new(&config.models_dir), builtin)
            .with_read_only(config.read_only_models.iter().map(Store::new));
        let scheduler = Scheduler::new(loader, config.scheduler.clone());
        Arc::new(AppState {
            catalog,
            scheduler,
            metrics: Metrics::default(),
            config,
        })
    }
}
