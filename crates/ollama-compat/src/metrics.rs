//! `/metrics` in Prometheus (OpenMetrics) text: requests by endpoint and status, tokens in and
//! out, time to first token and inter-token latency, queue depth and loaded models.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route template, e.g. `/api/generate`.
    pub endpoint: String,
    /// HTTP status.
    pub status: u16,
}

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by endpoint and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Prompt tokens evaluated.
    pub tokens_in: Counter,
    /// Tokens generated.
    pub tokens_out: Counter,
    /// Seconds from request start to the first token.
    pub ttft: Histogram,
    /// Seconds between consecutive tokens of a stream.
    pub inter_token: Histogram,
    /// Requests queued or running.
    pub queue_depth: Gauge<i64, AtomicI64>,
    /// Models in memory.
    pub loaded_models: Gauge<i64, AtomicI64>,
    /// Prefix reuse over the loaded models, set at each scrape.
    pub prompt_cache: PromptCacheGauges,
}

/// The prompt cache's figures, summed over the loaded models (gauges: an unloaded model takes
/// its counts with it).
#[derive(Debug, Default)]
pub struct PromptCacheGauges {
    /// Requests whose prefix was restored from host memory.
    pub hits: Gauge<i64, AtomicI64>,
    /// Requests that found nothing worth restoring.
    pub misses: Gauge<i64, AtomicI64>,
    /// Bytes held in host memory.
    pub bytes: Gauge<i64, AtomicI64>,
    /// Tokens restored from host memory instead of prefilled.
    pub restored_tokens: Gauge<i64, AtomicI64>,
    /// Requests whose prefix was copied from another slot.
    pub shared_copies: Gauge<i64, AtomicI64>,
    /// Tokens copied from other slots instead of prefilled.
    pub shared_tokens: Gauge<i64, AtomicI64>,
}

impl PromptCacheGauges {
    /// Set from the loaded models' figures.
    pub fn set(&self, stats: impl IntoIterator<Item = hearth_engine::PromptCacheStats>) {
        let mut sum = hearth_engine::PromptCacheStats::default();
        for s in stats {
            sum += s;
        }
        let g = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.hits.set(g(sum.hits));
        self.misses.set(g(sum.misses));
        self.bytes.set(g(sum.bytes));
        self.restored_tokens.set(g(sum.restored_tokens));
        self.shared_copies.set(g(sum.shared_copies));
        self.shared_tokens.set(g(sum.shared_tokens));
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("hearth");
        let requests = Family::<RequestLabels, Counter>::default();
        let tokens_in = Counter::default();
        let tokens_out = Counter::default();
        let ttft = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let inter_token = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let queue_depth = Gauge::default();
        let loaded_models = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by endpoint and status",
            requests.clone(),
        );
        registry.register(
            "prompt_tokens",
            "Prompt tokens evaluated",
            tokens_in.clone(),
        );
        registry.register("generated_tokens", "Tokens generated", tokens_out.clone());
        registry.register(
            "time_to_first_token_seconds",
            "Time from request to first token",
            ttft.clone(),
        );
        registry.register(
            "inter_token_latency_seconds",
            "Time between streamed tokens",
            inter_token.clone(),
        );
        registry.register(
            "queue_depth",
            "Inference requests queued or running",
            queue_depth.clone(),
        );
        registry.register("loaded_models", "Models in memory", loaded_models.clone());
        let prompt_cache = PromptCacheGauges::default();
        for (name, help, gauge) in [
            (
                "prompt_cache_hits",
                "Requests whose prefix was restored from host memory",
                &prompt_cache.hits,
            ),
            (
                "prompt_cache_misses",
                "Requests that found no prefix worth restoring in host memory",
                &prompt_cache.misses,
            ),
            (
                "prompt_cache_bytes",
                "Bytes of prompt state held in host memory",
                &prompt_cache.bytes,
            ),
            (
                "prompt_cache_restored_tokens",
                "Prompt tokens restored from host memory instead of prefilled",
                &prompt_cache.restored_tokens,
            ),
            (
                "shared_prefix_copies",
                "Requests whose prefix was copied from another slot",
                &prompt_cache.shared_copies,
            ),
            (
                "shared_prefix_tokens",
                "Prompt tokens copied from other slots instead of prefilled",
                &prompt_cache.shared_tokens,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        Metrics {
            registry,
            requests,
            tokens_in,
            tokens_out,
            ttft,
            inter_token,
            queue_depth,
            loaded_models,
            prompt_cache,
        }
    }
}

impl Metrics {
    /// Count one finished request.
    pub fn request(&self, endpoint: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_owned(),
                status,
            })
            .inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_cache_gauges_sum_the_loaded_models() {
        let m = Metrics::default();
        let a = hearth_engine::PromptCacheStats {
            hits: 2,
            misses: 1,
            restored_tokens: 300,
            shared_copies: 3,
            shared_tokens: 900,
            bytes: 1000,
            entries: 1,
            budget: 4096,
        };
        let b = hearth_engine::PromptCacheStats {
            hits: 5,
            bytes: 24,
            shared_tokens: 1,
            ..Default::default()
        };
        m.prompt_cache.set([a, b]);
        let text = m.render();
        for line in [
            "hearth_prompt_cache_hits 7",
            "hearth_prompt_cache_misses 1",
            "hearth_prompt_cache_bytes 1024",
            "hearth_prompt_cache_restored_tokens 300",
            "hearth_shared_prefix_copies 3",
            "hearth_shared_prefix_tokens 901",
        ] {
            assert!(text.contains(line), "{line} missing from {text}");
        }
    }

    #[test]
    fn renders_every_family() {
        let m = Metrics::default();
        m.request("/api/generate", 200);
        m.tokens_out.inc_by(3);
        m.ttft.observe(0.02);
        let text = m.render();
        for name in [
            "hearth_http_requests_total{endpoint=\"/api/generate\",status=\"200\"} 1",
            "hearth_generated_tokens_total 3",
            "hearth_time_to_first_token_seconds_bucket",
            "hearth_inter_token_latency_seconds",
            "hearth_queue_depth",
            "hearth_loaded_models",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
