//! Model-supplied sizes checked before llama-cpp-2 reads them.
//!
//! llama-cpp-2's accessors `n_ctx_train`, `n_layer`, `n_head`, `n_head_kv` and the embedding
//! width behind `embeddings_seq_ith` turn llama.cpp's `int32_t` results into `u32`/`usize`
//! with `expect`/`unwrap`. llama.cpp stores these GGUF `uint32` values as they are, so one above
//! `i32::MAX` comes back negative and the accessor panics (`llama.context_length` = 2^32−1:
//! "n_ctx_train fits into an u32"). A file carrying such a value is refused at load instead,
//! naming the key and its value.

use std::path::Path;

use hearth_gguf::{GgufInfo, GgufValue};

use crate::EngineError;

/// The `<arch>.` keys whose values hearth reads through a panicking llama-cpp-2 accessor.
const CHECKED: [&str; 6] = [
    "context_length",
    "block_count",
    "embedding_length",
    "embedding_length_out",
    "attention.head_count",
    "attention.head_count_kv",
];

/// Refuse a header whose checked values (scalars, or each element of a per-layer array) are
/// negative or above `i32::MAX`.
pub(crate) fn check(path: &Path, gguf: &GgufInfo) -> Result<(), EngineError> {
    let Some(arch) = gguf.architecture() else {
        return Ok(());
    };
    for key in CHECKED {
        let key = format!("{arch}.{key}");
        let Some(value) = gguf.get(&key) else {
            continue;
        };
        let values = match value {
            GgufValue::Array(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        for v in values {
            let fits = match *v {
                GgufValue::U64(n) => n <= i32::MAX as u64,
                GgufValue::I64(n) => (0..=i64::from(i32::MAX)).contains(&n),
                _ => true,
            };
            if !fits {
                return Err(EngineError::InvalidGguf {
                    path: path.to_owned(),
                    reason: format!("`{key}` = {} is out of range (0 to {})", show(v), i32::MAX),
                });
            }
        }
    }
    Ok(())
}

fn show(v: &GgufValue) -> String {
    match v {
        GgufValue::U64(n) => n.to_string(),
        GgufValue::I64(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pairs: &[(&str, GgufValue)]) -> GgufInfo {
        let mut info = GgufInfo::default();
        info.metadata.insert(
            "general.architecture".into(),
            GgufValue::String("llama".into()),
        );
        for (k, v) in pairs {
            info.metadata.insert((*k).into(), v.clone());
        }
        info
    }

    #[test]
    fn values_llama_cpp_2_would_panic_on_are_refused() {
        let path = Path::new("m.gguf");
        let ok = header(&[
            ("llama.context_length", GgufValue::U64(8192)),
            (
                "llama.attention.head_count",
                GgufValue::Array(vec![GgufValue::U64(9); 30]),
            ),
        ]);
        assert_eq!(check(path, &ok), Ok(()));
        let huge = header(&[("llama.context_length", GgufValue::U64(u32::MAX as u64))]);
        let err = check(path, &huge).unwrap_err().to_string();
        assert!(
            err.contains("`llama.context_length` = 4294967295 is out of range"),
            "{err}"
        );
        let layer = header(&[(
            "llama.attention.head_count_kv",
            GgufValue::Array(vec![GgufValue::U64(3), GgufValue::U64(1 << 31)]),
        )]);
        assert!(check(path, &layer).is_err());
        let negative = header(&[("llama.block_count", GgufValue::I64(-1))]);
        assert!(check(path, &negative).is_err());
        assert_eq!(
            check(path, &GgufInfo::default()),
            Ok(()),
            "no architecture: llama.cpp decides"
        );
    }
}
