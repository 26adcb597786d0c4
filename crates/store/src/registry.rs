//! The seam through which the server reaches a model registry for `POST /api/pull` and
//! `POST /api/push`: this crate only streams what a [`RegistryClient`] reports, the binary
//! plugs in the real protocol client (`hearth-airgap`, which depends on this crate).

use std::fmt;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::names::ModelName;
use crate::Store;

/// Where a client sends Ollama's progress objects (`{"status": …, "digest", "total",
/// "completed"}`), in order; the last one of a successful transfer is `{"status":"success"}`.
pub type ProgressSink = Box<dyn FnMut(Value) + Send>;

/// A failed pull or push, with the text Ollama's clients show (`{"error": "<text>"}`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RegistryError(pub String);

impl RegistryError {
    /// An error from anything displayable.
    pub fn new(msg: impl fmt::Display) -> Self {
        RegistryError(msg.to_string())
    }
}

/// Pulls models into and pushes models out of the store over the registry protocol.
///
/// Both futures are `'static` and are dropped when the HTTP client goes away, so an
/// implementation must leave the store consistent at any await point (partial downloads are
/// expected to stay invisible until verified).
pub trait RegistryClient: Send + Sync + fmt::Debug {
    /// Pull `name` (`host/ns/model:tag`) into `store`; `insecure` allows plain HTTP.
    fn pull(
        &self,
        store: Store,
        name: ModelName,
        insecure: bool,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<(), RegistryError>>;

    /// Push the local model `name` from `store` to the registry its host names.
    fn push(
        &self,
        store: Store,
        name: ModelName,
        insecure: bool,
        progress: ProgressSink,
    ) -> BoxFuture<'static, Result<(), RegistryError>>;
}
