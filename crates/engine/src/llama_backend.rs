//! The process-wide llama.cpp backend (initialised once), the routing of its logs into `tracing`,
//! and the lock that lets one decode run at a time.

use std::sync::OnceLock;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};

use crate::{EngineError, FlashAttention};

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

/// One decode at a time in the whole process. Every decode already uses all physical cores;
/// two models (or a model and an embedding context) decoding at once would oversubscribe them,
/// and OpenMP's spinning threads then make both several times slower than taking turns.
static COMPUTE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Decode `batch` on `ctx`, waiting for any other decode in the process to finish first.
pub(crate) fn decode(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch<'_>,
) -> Result<(), llama_cpp_2::DecodeError> {
    let _turn = COMPUTE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ctx.decode(batch)
}

/// llama.cpp's `llama_flash_attn_type` for a [`FlashAttention`] setting.
pub(crate) fn flash_attn_type(setting: FlashAttention) -> i32 {
    const AUTO: i32 = -1;
    const DISABLED: i32 = 0;
    const ENABLED: i32 = 1;
    match setting {
        FlashAttention::Auto => AUTO,
        FlashAttention::Enabled => ENABLED,
        FlashAttention::Disabled => DISABLED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_attention_settings_map_to_llamas_values() {
        assert_eq!(flash_attn_type(FlashAttention::Auto), -1);
        assert_eq!(flash_attn_type(FlashAttention::Enabled), 1);
        assert_eq!(flash_attn_type(FlashAttention::Disabled), 0);
    }
}
