//! A GGUF header as Ollama's `/api/show` presents it: the `model_info` object.

use hearth_store::gguf::{GgufInfo, GgufValue};
use serde_json::{Map, Value};

/// A metadata value as JSON; arrays are kept whole.
pub fn value_json(value: &GgufValue) -> Value {
    match value {
        GgufValue::U64(v) => Value::from(*v),
        GgufValue::I64(v) => Value::from(*v),
        GgufValue::F64(v) => serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number),
        GgufValue::Bool(v) => Value::Bool(*v),
        GgufValue::String(v) => Value::String(v.clone()),
        GgufValue::Array(items) => Value::Array(items.iter().map(value_json).collect()),
    }
}

/// The `model_info` object of `/api/show`: every metadata key except `general.name` and
/// `tokenizer.chat_template`, plus `general.parameter_count`. As in Ollama, arrays are only
/// included when `verbose`; otherwise a non-empty array becomes `null` (Ollama reads them with a
/// maximum array size of 0, which drops the values but keeps the key). An unreadable header
/// (no metadata) gives an empty object.
pub fn model_info(info: &GgufInfo, verbose: bool) -> Map<String, Value> {
    let mut map = Map::new();
    if info.metadata.is_empty() {
        return map;
    }
    for (key, value) in &info.metadata {
        if key == "general.name" || key == "tokenizer.chat_template" {
            continue;
        }
        let json = match value {
            GgufValue::Array(items) if !verbose && !items.is_empty() => Value::Null,
            other => value_json(other),
        };
        map.insert(key.clone(), json);
    }
    map.insert(
        "general.parameter_count".into(),
        info.parameter_count().into(),
    );
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_store::gguf::TensorInfo;

    fn info() -> GgufInfo {
        let mut info = GgufInfo::default();
        let mut put = |k: &str, v: GgufValue| {
            info.metadata.insert(k.into(), v);
        };
        put("general.architecture", GgufValue::String("llama".into()));
        put("general.name", GgufValue::String("tiny".into()));
        put("llama.context_length", GgufValue::U64(2048));
        put(
            "llama.attention.layer_norm_rms_epsilon",
            GgufValue::F64(1e-5),
        );
        put(
            "tokenizer.ggml.tokens",
            GgufValue::Array(
                ["<s>", "</s>", "a", "b", "c", "d"]
                    .map(|t| GgufValue::String(t.into()))
                    .to_vec(),
            ),
        );
        info.tensors = vec![
            TensorInfo {
                name: "token_embd.weight".into(),
                dims: vec![4, 2],
                ggml_type: 0,
                ..TensorInfo::default()
            },
            TensorInfo {
                name: "blk.0.attn_q.weight".into(),
                dims: vec![64],
                ggml_type: 2,
                ..TensorInfo::default()
            },
        ];
        info
    }

    #[test]
    fn model_info_follows_ollama() {
        let info = info();
        let brief = model_info(&info, false);
        assert!(!brief.contains_key("general.name"));
        assert_eq!(brief["tokenizer.ggml.tokens"], Value::Null);
        assert_eq!(brief["general.parameter_count"], 72);
        assert_eq!(brief["llama.context_length"], 2048);
        assert_eq!(brief["general.architecture"], "llama");
        assert_eq!(brief["llama.attention.layer_norm_rms_epsilon"], 1e-5);
        let full = model_info(&info, true);
        assert_eq!(full["tokenizer.ggml.tokens"][5], "d");
        assert!(model_info(&GgufInfo::default(), true).is_empty());
    }
}
