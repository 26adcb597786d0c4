//! The [`RegistryClient`] `hearth serve` plugs into `POST /api/pull` and `POST /api/push`:
//! this crate's resumable, verified [`pull`](super::pull()) and its [`push`](super::push()), and
//! `hf.co/…` names from the local Hugging Face cache, else the Hub ([`crate::hf::pull`], as
//! `hearth pull` does).

use futures::future::BoxFuture;
use hearth_store::names::{ModelName, DEFAULT_HOST};
use hearth_store::registry::{ProgressSink, RegistryClient, RegistryError};
use hearth_store::Store;

use super::pull::PullOptions;

/// The registry protocol client of this crate, behind the server's [`RegistryClient`] seam.
#[derive(Debug, Clone)]
pub struct AirgapRegistry {
    /// Where `hf.co/…` names are looked for and fetched from.
    pub hf: crate::hf::HfOptions,
}

impl RegistryClient for AirgapRegistry {
    fn pull(
        &self,
        store: Store,
        name: ModelName,
        insecure: bool,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<(), RegistryError>> {
        let hf = self.hf.clone();
        Box::pin(async move {
            if crate::hf::is_hf(&name) {
                let opts = hf;
                return crate::hf::pull(&store, &name, &opts, progress)
                    .await
                    .map(|_| ())
                    .map_err(|e| failed("hf.co pull", &name, e));
            }
            let opts = PullOptions { insecure };
            super::pull(&store, &name, &opts, progress)
                .await
                .map(|_| ())
                .map_err(|e| failed("pull", &name, e))
        })
    }

    fn push(
        &self,
        store: Store,
        name: ModelName,
        insecure: bool,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<(), RegistryError>> {
        Box::pin(async move {
            if name.host.eq_ignore_ascii_case(DEFAULT_HOST) {
                return Err(RegistryError(format!(
                    "pushing to {DEFAULT_HOST} needs ollama.com keys, which hearth does not have; \
                     copy the model to a name on a hearth registry (host:port/namespace/model:tag) \
                     and push that"
                )));
            }
            let opts = PullOptions { insecure };
            super::push(&store, &name, &opts, progress)
                .await
                .map_err(|e| failed("push", &name, e))
        })
    }
}

/// Log a failed transfer and turn it into the error the API streams back.
fn failed(what: &str, name: &ModelName, e: impl std::fmt::Display) -> RegistryError {
    tracing::warn!(model = %name, error = %e, "{what} failed");
    RegistryError::new(e)
}
