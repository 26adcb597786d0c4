//! What a GGUF header says: metadata values, tensor infos and the accessors every reader needs.

use std::collections::BTreeMap;

use crate::types::{file_type_name, ggml_type};

/// A GGUF metadata value. Unsigned integers widen to `U64`, signed ones to `I64`, floats to
/// `F64` (an `f32` keeps its shortest decimal form, so `1e-5f32` reads back as `1e-5`).
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    /// Any unsigned integer.
    U64(u64),
    /// Any signed integer.
    I64(i64),
    /// Any float.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string.
    String(String),
    /// An array of scalars (GGUF forbids nested arrays).
    Array(Vec<GgufValue>),
}

impl GgufValue {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            GgufValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as `u64` if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            GgufValue::U64(v) => Some(v),
            GgufValue::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
}

/// One tensor as the header describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Elements per dimension, innermost first (ggml's `ne`).
    pub dims: Vec<u64>,
    /// The ggml type id (`GGML_TYPE_*`).
    pub ggml_type: u32,
    /// Offset of the tensor's data from [`GgufInfo::data_offset`].
    pub offset: u64,
    /// Bytes of tensor data.
    pub size: u64,
}

impl TensorInfo {
    /// Number of elements (product of the dimensions).
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// The ggml type's name, e.g. `Q4_K` or `F32`.
    pub fn type_name(&self) -> &'static str {
        ggml_type(self.ggml_type).map_or("unknown", |t| t.name)
    }
}

/// What a GGUF header says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GgufInfo {
    /// GGUF format version (2 or 3).
    pub version: u32,
    /// Number of tensors the header declares.
    pub tensor_count: u64,
    /// Size of the whole file in bytes.
    pub file_size: u64,
    /// Every metadata key and value.
    pub metadata: BTreeMap<String, GgufValue>,
    /// Absolute file offset where tensor data starts.
    pub data_offset: u64,
    /// Alignment of the data section and of every tensor offset.
    pub alignment: u64,
    /// Every tensor, in file order.
    pub tensors: Vec<TensorInfo>,
}

impl GgufInfo {
    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    /// A metadata value.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.metadata.get(key)
    }

    /// A string metadata value.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(GgufValue::as_str)
    }

    /// An integer metadata value of any width, if non-negative.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(GgufValue::as_u64)
    }

    /// `<architecture>.context_length`: the context the model was trained with.
    pub fn context_length(&self) -> Option<u64> {
        self.get_u64(&format!("{}.context_length", self.architecture()?))
    }

    /// The quantization named by `general.file_type` (llama.cpp's `llama_ftype`), in Ollama's
    /// spelling: `Q4_1`, `Q4_K_M`, `F16`… `None` when the key is missing or the id unknown.
    pub fn file_type_name(&self) -> Option<&'static str> {
        file_type_name(u32::try_from(self.get_u64("general.file_type")?).ok()?)
    }

    /// Total number of weights: the sum of every tensor's elements (what Ollama reports).
    pub fn parameter_count(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |sum, t| sum.saturating_add(t.n_elements()))
    }
}
