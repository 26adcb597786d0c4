//! `GET /api/hearth/server`: what the web UI's Server page shows and the rest of the API does
//! not say: version, backend (compute backend, CPU features, threads), the effective
//! configuration (never the API key itself, only whether one is set) and the loaded models.
//! Read-only, behind the same Host/Origin guards and API key as every other route.

use axum::extract::State;
use axum::response::Response;
use serde_json::{json as j, Value};

use crate::http::json;
use crate::keep_alive::KeepAlive;
use crate::state::SharedState;
use crate::wire::local_time;

/// `GET /api/hearth/server`.
pub async fn handler(State(st): State<SharedState>) -> Response {
    let cfg = &st.config;
    let sched = st.scheduler.config();
    let loaded: Vec<Value> = st
        .scheduler
        .status()
        .into_iter()
        .map(|s| {
            j!({
                "name": s.name, "size": s.size, "context_length": s.context_length,
                "expires_at": local_time(s.expires_at), "busy": s.busy,
            })
        })
        .collect();
    let in_flight = st.scheduler.queue_depth();
    json(&j!({
        "version": super::models::OLLAMA_VERSION,
        "hearth_version": env!("CARGO_PKG_VERSION"),
        "backend": {
            "name": hearth_engine::backend_name(),
            "cpu_features": cpu_features(),
            "threads": sched.threads.unwrap_or_else(hearth_engine::physical_cores),
        },
        "config": {
            "bind": cfg.bind.to_string(),
            "num_parallel": sched.num_parallel,
            "context_length": sched.num_ctx,
            "keep_alive": keep_alive_text(sched.keep_alive),
            "max_loaded_models": sched.max_loaded,
            "max_queue": sched.max_queue,
            "kv_budget_bytes": sched.kv_budget_bytes,
            "cache_ram_bytes": sched.cache_ram_bytes,
            "flash_attention": sched.flash_attention.as_str(),
            "body_limit_bytes": cfg.body_limit,
            "api_key": cfg.api_key.is_some(),
            "registry": cfg.extra_routes.is_some(),
            "ui": cfg.ui,
            "extra_origins": cfg.origins,
        },
        "requests_in_flight": in_flight,
        "loaded": loaded,
    }))
}

/// A keep-alive as people write it: `5m`, `90s`, `forever`.
fn keep_alive_text(k: KeepAlive) -> String {
    match k {
        KeepAlive::Forever => "forever".to_owned(),
        KeepAlive::For(d) => {
            let s = d.as_secs();
            match s {
                0 => "0s".to_owned(),
                s if s % 3600 == 0 => format!("{}h", s / 3600),
                s if s % 60 == 0 => format!("{}m", s / 60),
                s => format!("{s}s"),
            }
        }
    }
}

/// The SIMD features this CPU has that ggml's CPU backend uses.
fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut out: Vec<&'static str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => { $( if std::arch::is_x86_feature_detected!($f) { out.push($f); } )* };
        }
        probe!(
            "sse4.2",
            "avx",
            "avx2",
            "fma",
            "f16c",
            "bmi2",
            "avx512f",
            "avx512bw",
            "avx512vnni"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => { $( if std::arch::is_aarch64_feature_detected!($f) { out.push($f); } )* };
        }
        probe!("neon", "dotprod", "i8mm", "sve");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keep_alive_reads_as_written() {
        assert_eq!(keep_alive_text(KeepAlive::DEFAULT), "5m");
        assert_eq!(
            keep_alive_text(KeepAlive::For(Duration::from_secs(90))),
            "90s"
        );
        assert_eq!(
            keep_alive_text(KeepAlive::For(Duration::from_secs(7200))),
            "2h"
        );
        assert_eq!(keep_alive_text(KeepAlive::Forever), "forever");
    }
}
