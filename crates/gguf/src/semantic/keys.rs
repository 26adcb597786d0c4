//! Typed reads of metadata keys for the semantic rules: each failure names the key.

use std::ops::RangeInclusive;

use super::SemanticError;
use crate::{GgufInfo, GgufValue};

/// What a value is, for error messages.
pub(crate) fn kind(v: &GgufValue) -> &'static str {
    match v {
        GgufValue::U64(_) | GgufValue::I64(_) => "an integer",
        GgufValue::F64(_) => "a float",
        GgufValue::Bool(_) => "a bool",
        GgufValue::String(_) => "a string",
        GgufValue::Array(_) => "an array",
    }
}

/// One integer value, checked against `range`.
fn int_value(key: &str, v: &GgufValue, range: &RangeInclusive<u64>) -> Result<u64, SemanticError> {
    let n = match *v {
        GgufValue::U64(n) => n,
        GgufValue::I64(n) if n >= 0 => n as u64,
        GgufValue::I64(n) => {
            return Err(SemanticError::new(
                key,
                format!("{n} is out of range ({}..={})", range.start(), range.end()),
            ))
        }
        ref other => {
            return Err(SemanticError::new(
                key,
                format!("must be an integer, found {}", kind(other)),
            ))
        }
    };
    if !range.contains(&n) {
        return Err(SemanticError::new(
            key,
            format!("{n} is out of range ({}..={})", range.start(), range.end()),
        ));
    }
    Ok(n)
}

/// An optional integer key within `range`.
pub(crate) fn uint(
    info: &GgufInfo,
    key: &str,
    range: RangeInclusive<u64>,
) -> Result<Option<u64>, SemanticError> {
    info.get(key).map(|v| int_value(key, v, &range)).transpose()
}

/// A required integer key within `range`.
pub(crate) fn uint_required(
    info: &GgufInfo,
    key: &str,
    range: RangeInclusive<u64>,
) -> Result<u64, SemanticError> {
    uint(info, key, range)?.ok_or_else(|| SemanticError::new(key, "is missing"))
}

/// An integer key that may instead be an array of one value per layer (llama.cpp's
/// `get_key_or_arr`): `None` when absent, else `n_layer` values, each within `range`.
pub(crate) fn uint_per_layer(
    info: &GgufInfo,
    key: &str,
    n_layer: u64,
    range: RangeInclusive<u64>,
) -> Result<Option<Vec<u64>>, SemanticError> {
    let Some(v) = info.get(key) else {
        return Ok(None);
    };
    match v {
        GgufValue::Array(items) => {
            if items.len() as u64 != n_layer {
                return Err(SemanticError::new(
                    key,
                    format!(
                        "has {} entries, but the model has {n_layer} layers (one entry per layer)",
                        items.len()
                    ),
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| int_value(&format!("{key}[{i}]"), item, &range))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        v => {
            let n = int_value(key, v, &range)?;
            Ok(Some(vec![n; n_layer as usize]))
        }
    }
}

/// How a float must lie.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Float {
    /// Finite and `>= 0`.
    NonNegative,
    /// Finite and `> 0`.
    Positive,
    /// Finite and within `0.0..=max`.
    AtMost(f64),
    /// Finite.
    Finite,
}

/// An optional float key obeying `rule`.
pub(crate) fn float(info: &GgufInfo, key: &str, rule: Float) -> Result<Option<f64>, SemanticError> {
    let Some(v) = info.get(key) else {
        return Ok(None);
    };
    let x = match *v {
        GgufValue::F64(x) => x,
        ref other => {
            return Err(SemanticError::new(
                key,
                format!("must be a float, found {}", kind(other)),
            ))
        }
    };
    let ok = x.is_finite()
        && match rule {
            Float::NonNegative => x >= 0.0,
            Float::Positive => x > 0.0,
            Float::AtMost(max) => (0.0..=max).contains(&x),
            Float::Finite => true,
        };
    if !ok {
        let want = match rule {
            Float::NonNegative => "a finite number >= 0".to_owned(),
            Float::Positive => "a finite number > 0".to_owned(),
            Float::AtMost(max) => format!("a finite number in 0..={max}"),
            Float::Finite => "a finite number".to_owned(),
        };
        return Err(SemanticError::new(
            key,
            format!("{x} is invalid (must be {want})"),
        ));
    }
    Ok(Some(x))
}

/// An optional string key.
pub(crate) fn string<'a>(info: &'a GgufInfo, key: &str) -> Result<Option<&'a str>, SemanticError> {
    match info.get(key) {
        None => Ok(None),
        Some(GgufValue::String(s)) => Ok(Some(s)),
        Some(other) => Err(SemanticError::new(
            key,
            format!("must be a string, found {}", kind(other)),
        )),
    }
}

/// An optional array key.
pub(crate) fn array<'a>(
    info: &'a GgufInfo,
    key: &str,
) -> Result<Option<&'a [GgufValue]>, SemanticError> {
    match info.get(key) {
        None => Ok(None),
        Some(GgufValue::Array(items)) => Ok(Some(items)),
        Some(other) => Err(SemanticError::new(
            key,
            format!("must be an array, found {}", kind(other)),
        )),
    }
}
