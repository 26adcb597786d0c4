//! The process-wide llama.cpp backend (initialised once) and the routing of its logs into `tracing`.

use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};

use crate::EngineError;

static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
static LOGS: OnceLock<bool> = OnceLock::new();

/// Choose whether llama.cpp/ggml logs reach `tracing` (at their own levels, target `llama_cpp_2`).
/// Only the first call counts; without a call they are off, keeping the terminal quiet.
pub fn set_llama_logs(enabled: bool) {
    LOGS.get_or_init(|| {
        send_logs_to_tracing(LogOptions::default().with_logs_enabled(enabled));
        enabled
    });
}

/// The llama.cpp backend, initialised on first use. `LlamaBackend::init` may run only once per
/// process, so every model shares this value.
pub(crate) fn backend() -> Result<&'static LlamaBackend, EngineError> {
    set_llama_logs(false);
    BACKEND
        .get_or_init(|| LlamaBackend::init().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| EngineError::Context(format!("llama.cpp backend init failed: {e}")))
}
