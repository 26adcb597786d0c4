//! The one wire → engine mapping: `options` (Modelfile params < request options) into
//! [`SamplingOptions`], `format` into a [`Grammar`], `think` validation.

use hearth_engine::{Grammar, SamplingOptions};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Options that change how a model is loaded; accepted and type-checked, applied at load time.
const LOAD_INTS: &[&str] = &[
    "num_batch",
    "num_gpu",
    "main_gpu",
    "num_thread",
    "draft_num_predict",
    "num_keep",
    "num_gqa",
];
/// Legacy or unsupported numeric options accepted and ignored.
const IGNORED_FLOATS: &[&str] = &["mirostat", "mirostat_eta", "mirostat_tau", "tfs_z"];
/// Boolean options accepted and ignored.
const IGNORED_BOOLS: &[&str] = &[
    "use_mmap",
    "use_mlock",
    "numa",
    "penalize_newline",
    "low_vram",
    "f16_kv",
    "logits_all",
    "vocab_only",
];

/// Merge Modelfile parameters and request options over Ollama's defaults.
pub fn sampling_options(
    params: &Map<String, Value>,
    request: Option<&Map<String, Value>>,
) -> Result<SamplingOptions, ApiError> {
    let mut opts = SamplingOptions::default();
    for (k, v) in params.iter().chain(request.into_iter().flatten()) {
        apply(&mut opts, k, v)?;
    }
    Ok(opts)
}

/// The `num_ctx` a Modelfile asks for (used at load time).
pub fn param_num_ctx(params: &Map<String, Value>) -> Option<u32> {
    params
        .get("num_ctx")
        .and_then(Value::as_f64)
        .filter(|n| *n > 0.0)
        .map(|n| n as u32)
}

fn apply(o: &mut SamplingOptions, key: &str, v: &Value) -> Result<(), ApiError> {
    if v.is_null() {
        return Ok(());
    }
    let float = || {
        v.as_f64()
            .map(|f| f as f32)
            .ok_or_else(|| type_error(key, "float32"))
    };
    let int = || {
        v.as_f64()
            .map(|f| f as i64)
            .ok_or_else(|| type_error(key, "int"))
    };
    match key {
        "temperature" => o.temperature = float()?,
        "top_p" => o.top_p = float()?,
        "min_p" => o.min_p = float()?,
        "typical_p" => o.typical_p = float()?,
        "repeat_penalty" => o.repeat_penalty = float()?,
        "presence_penalty" => o.presence_penalty = float()?,
        "frequency_penalty" => o.frequency_penalty = float()?,
        "top_k" => o.top_k = int()?.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        "repeat_last_n" => o.repeat_last_n = int()?.clamp(-1, i32::MAX as i64) as i32,
        "seed" => o.seed = int()?,
        "num_predict" => o.num_predict = int()?.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        "num_ctx" => {
            let n = int()?;
            o.num_ctx = (n > 0).then(|| n.min(u32::MAX as i64) as u32);
        }
        "stop" => {
            o.stop = match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| type_error(key, "[]string"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(type_error(key, "[]string")),
            };
            o.stop.retain(|s| !s.is_empty());
        }
        k if LOAD_INTS.contains(&k) => {
            int()?;
        }
        k if IGNORED_FLOATS.contains(&k) => {
            float()?;
        }
        k if IGNORED_BOOLS.contains(&k) => {
            v.as_bool().ok_or_else(|| type_error(key, "bool"))?;
        }
        other => tracing::warn!(option = other, "invalid option provided"),
    }
    Ok(())
}

fn type_error(key: &str, ty: &str) -> ApiError {
    ApiError::Option(format!("option \"{key}\" must be of type {ty}"))
}

/// `format`: absent, null or `""` → none; `"json"` → JSON; an object → JSON schema.
pub fn grammar(format: Option<&Value>) -> Result<Option<Grammar>, ApiError> {
    match format {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s == "json" => Ok(Some(Grammar::Json)),
        Some(Value::Object(schema)) => Ok(Some(Grammar::JsonSchema(Value::Object(schema.clone())))),
        Some(other) => Err(ApiError::bad(format!(
            "invalid format: {other}; expected \"json\" or a valid JSON Schema object"
        ))),
    }
}

/// `think`: returns whether thinking was asked for; rejects values Ollama rejects.
pub fn think_requested(think: Option<&Value>) -> Result<bool, ApiError> {
    match think {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if ["low", "medium", "high", "max"].contains(&s.as_str()) => {
            Ok(true)
        }
        Some(other) => Err(ApiError::bad(format!("invalid think value: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn precedence_and_defaults() {
        let params = obj(json!({"temperature": 0.2, "stop": ["a"], "seed": 1}));
        let req = obj(
            json!({"temperature": 0.5, "num_predict": 3.0, "mirostat": 0, "tfs_z": 1.0, "numa": false, "whatever": [1]}),
        );
        let o = sampling_options(&params, Some(&req)).unwrap();
        assert_eq!(o.temperature, 0.5);
        assert_eq!(o.stop, vec!["a"]);
        assert_eq!(o.seed, 1);
        assert_eq!(o.num_predict, 3);
        assert_eq!(o.top_k, 40);
        assert_eq!(o.top_p, 0.9);
        assert_eq!(o.repeat_penalty, 1.0);
    }

    #[test]
    fn wrong_types_are_500s() {
        let err =
            sampling_options(&Map::new(), Some(&obj(json!({"temperature": "hot"})))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "option \"temperature\" must be of type float32"
        );
        assert_eq!(err.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn formats() {
        assert_eq!(grammar(None).unwrap(), None);
        assert_eq!(grammar(Some(&json!(""))).unwrap(), None);
        assert_eq!(grammar(Some(&json!("json"))).unwrap(), Some(Grammar::Json));
        assert!(matches!(
            grammar(Some(&json!({"type": "object"}))).unwrap(),
            Some(Grammar::JsonSchema(_))
        ));
        assert!(grammar(Some(&json!("yaml")))
            .unwrap_err()
            .to_string()
            .starts_with("invalid format: \"yaml\""));
    }

    #[test]
    fn think_values() {
        assert!(!think_requested(Some(&json!(false))).unwrap());
        assert!(think_requested(Some(&json!("high"))).unwrap());
        assert!(think_requested(Some(&json!("extreme"))).is_err());
    }
}
