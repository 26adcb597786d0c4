//! KV cache sizing: how many cells (token positions) a memory budget buys, from the model's
//! real key/value sizes.
//!
//! A cell holds one key and one value vector for every layer and KV head. The head widths come
//! from the GGUF's `<arch>.attention.key_length` / `value_length` when present (they differ from
//! `n_embd / n_head` in e.g. Gemma and Qwen3), else from `n_embd / n_head`. The cache is f16.

use llama_cpp_2::model::LlamaModel;

use crate::{EngineError, LoadConfig};

/// Bytes per KV element: the context's cache type is llama.cpp's default, f16.
const KV_ELEMENT_BYTES: u64 = 2;

/// The smallest per-slot context the engine runs with (also the floor for `num_ctx`).
pub(crate) const MIN_SLOT_CTX: u32 = 64;

/// The dimensions that decide a KV cell's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KvShape {
    pub n_layer: u64,
    pub n_head_kv: u64,
    /// Width of one key head.
    pub key_len: u64,
    /// Width of one value head.
    pub value_len: u64,
}

impl KvShape {
    /// The shape of a loaded model's cache.
    pub(crate) fn of(model: &LlamaModel) -> Self {
        let arch = model
            .meta_val_str("general.architecture")
            .unwrap_or_default();
        let meta = |key: &str| {
            model
                .meta_val_str(&format!("{arch}.attention.{key}"))
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&v| v > 0)
        };
        let fallback = (model.n_embd().max(0) as u64) / u64::from(model.n_head().max(1));
        KvShape {
            n_layer: u64::from(model.n_layer()),
            n_head_kv: u64::from(model.n_head_kv()),
            key_len: meta("key_length").unwrap_or(fallback),
            value_len: meta("value_length").unwrap_or(fallback),
        }
    }

    /// Bytes of one cell: a key and a value vector for every layer and KV head.
    pub(crate) fn bytes_per_cell(&self) -> u64 {
        self.n_layer * self.n_head_kv * (self.key_len + self.value_len) * KV_ELEMENT_BYTES
    }

    /// Cells per slot that `budget` bytes hold when shared by `parallel` slots.
    pub(crate) fn cells_per_slot(&self, budget: u64, parallel: u32) -> u64 {
        budget / self.bytes_per_cell().max(1) / u64::from(parallel.max(1))
    }
}

/// Per-slot context length: the request, capped by the trained length and the KV budget.
///
/// The budget is a hard cap: the context is cut to what it holds. A budget too small for even
/// [`MIN_SLOT_CTX`] cells per slot is an [`EngineError::Context`] rather than a silent overrun.
pub(crate) fn slot_context(
    shape: &KvShape,
    n_ctx_train: u32,
    config: &LoadConfig,
) -> Result<u32, EngineError> {
    let n = config
        .num_ctx
        .max(MIN_SLOT_CTX)
        .min(n_ctx_train.max(MIN_SLOT_CTX));
    let Some(budget) = config.kv_budget_bytes else {
        return Ok(n);
    };
    let parallel = config.parallel.max(1);
    let cells = shape.cells_per_slot(budget, parallel);
    if cells < u64::from(MIN_SLOT_CTX) {
        return Err(EngineError::Context(format!(
            "a KV budget of {budget} bytes holds {cells} cells per slot \
             ({} bytes a cell, {parallel} slots); at least {MIN_SLOT_CTX} are needed: \
             raise the budget or lower the parallel slots",
            shape.bytes_per_cell()
        )));
    }
    Ok(n.min(cells.min(u64::from(u32::MAX)) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M: 30 layers, 3 KV heads of 64.
    const SMOLLM2: KvShape = KvShape {
        n_layer: 30,
        n_head_kv: 3,
        key_len: 64,
        value_len: 64,
    };

    fn config(num_ctx: u32, parallel: u32, budget: Option<u64>) -> LoadConfig {
        LoadConfig {
            num_ctx,
            parallel,
            kv_budget_bytes: budget,
            ..LoadConfig::default()
        }
    }

    #[test]
    fn cell_size_counts_keys_and_values_of_every_layer_and_kv_head() {
        assert_eq!(SMOLLM2.bytes_per_cell(), 30 * 3 * (64 + 64) * 2);
        // Gemma 3 4B: 34 layers, 4 KV heads of 256 (n_embd / n_head would say 2560 / 8 = 320).
        let gemma = KvShape {
            n_layer: 34,
            n_head_kv: 4,
            key_len: 256,
            value_len: 256,
        };
        assert_eq!(gemma.bytes_per_cell(), 139_264);
        // Different key and value widths (e.g. DeepSeek's MLA) are each counted.
        let mixed = KvShape {
            key_len: 192,
            value_len: 128,
            ..SMOLLM2
        };
        assert_eq!(mixed.bytes_per_cell(), 30 * 3 * 320 * 2);
    }

    #[test]
    fn a_budget_buys_its_cells_split_over_the_slots() {
        let cell = SMOLLM2.bytes_per_cell();
        assert_eq!(SMOLLM2.cells_per_slot(cell * 1000, 1), 1000);
        assert_eq!(SMOLLM2.cells_per_slot(cell * 1000, 4), 250);
        assert_eq!(SMOLLM2.cells_per_slot(cell * 1000 - 1, 1), 999);
        assert_eq!(SMOLLM2.cells_per_slot(cell * 1000, 0), 1000);
    }

    #[test]
    fn slot_context_is_capped_by_training_and_budget() {
        let cell = SMOLLM2.bytes_per_cell();
        assert_eq!(
            slot_context(&SMOLLM2, 8192, &config(4096, 4, None)),
            Ok(4096)
        );
        assert_eq!(
            slot_context(&SMOLLM2, 2048, &config(4096, 4, None)),
            Ok(2048)
        );
        assert_eq!(slot_context(&SMOLLM2, 8192, &config(1, 4, None)), Ok(64));
        // 4 slots × 1000 cells fit: each slot gets 1000 of the 4096 asked.
        let budget = Some(cell * 4000);
        assert_eq!(
            slot_context(&SMOLLM2, 8192, &config(4096, 4, budget)),
            Ok(1000)
        );
        assert_eq!(
            slot_context(&SMOLLM2, 8192, &config(512, 4, budget)),
            Ok(512)
        );
    }

    #[test]
    fn the_floor_never_exceeds_the_budget() {
        let cell = SMOLLM2.bytes_per_cell();
        // 100 cells per slot is below the old 256 floor but within the budget: honoured.
        assert_eq!(
            slot_context(&SMOLLM2, 8192, &config(4096, 2, Some(cell * 200))),
            Ok(100)
        );
        assert_eq!(
            slot_context(&SMOLLM2, 8192, &config(4096, 1, Some(cell * 64))),
            Ok(64)
        );
        // Less than the minimum per slot: a clear error, never more memory than allowed.
        let err = slot_context(&SMOLLM2, 8192, &config(4096, 4, Some(cell * 100))).unwrap_err();
        assert!(
            matches!(&err, EngineError::Context(m) if m.contains("KV budget") && m.contains("25 cells")),
            "{err}"
        );
    }
}
