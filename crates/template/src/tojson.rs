//! The `tojson` filter: Python's `json.dumps` as transformers calls it from chat templates.

use std::fmt::Write as _;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::pyrepr::number_text;

/// How `tojson` lays out JSON (Python's `json.dumps` arguments).
struct JsonStyle {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    ensure_ascii: bool,
}

/// transformers' `tojson`: `json.dumps(x, ensure_ascii=False, indent=indent,
/// separators=separators, sort_keys=sort_keys)`.
pub(super) fn tojson(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = match kwargs.get::<Option<Value>>("indent")?.or(indent) {
        None => None,
        Some(v) if v.is_none() || v.is_undefined() => None,
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_owned(),
            None => " ".repeat(
                i64::try_from(v.clone())
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            "tojson: indent must be an integer or a string",
                        )
                    })?
                    .max(0) as usize,
            ),
        }),
    };
    let (mut item_sep, mut key_sep) = if indent.is_some() {
        (",", ": ")
    } else {
        (", ", ": ")
    };
    let separators: Option<Value> = kwargs.get("separators")?;
    let separators: Option<Vec<String>> = match separators {
        Some(v) if !v.is_none() => Some(
            v.try_iter()?
                .map(|s| s.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .filter(|s| s.len() == 2)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        "tojson: separators must be two strings",
                    )
                })?,
        ),
        _ => None,
    };
    if let Some(seps) = &separators {
        item_sep = &seps[0];
        key_sep = &seps[1];
    }
    let style = JsonStyle {
        indent,
        item_sep: item_sep.to_owned(),
        key_sep: key_sep.to_owned(),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let mut out = String::new();
    write_json(&mut out, value, &style, 0)?;
    Ok(Value::from(out))
}

fn write_json(
    out: &mut String,
    value: &Value,
    style: &JsonStyle,
    level: usize,
) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => out.push_str(&number_text(value, true)),
        ValueKind::String => {
            write_json_str(out, value.as_str().unwrap_or_default(), style.ensure_ascii)
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = value.try_iter()?.collect();
            if style.sort_keys {
                keys.sort_by_key(json_key);
            }
            let entries = keys
                .into_iter()
                .map(|k| {
                    let v = value.get_item(&k)?;
                    Ok((k, v))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            write_container(
                out,
                style,
                level,
                ('{', '}'),
                &entries,
                |out, (k, v), level| {
                    write_json_str(out, &json_key(k), style.ensure_ascii);
                    out.push_str(&style.key_sep);
                    write_json(out, v, style, level)
                },
            )?;
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            write_container(out, style, level, ('[', ']'), &items, |out, v, level| {
                write_json(out, v, style, level)
            })?;
        }
        _ => write_json_str(out, &value.to_string(), style.ensure_ascii),
    }
    Ok(())
}

/// A dict key as json.dumps writes it: strings as they are, other scalars as JSON text.
fn json_key(key: &Value) -> String {
    match key.kind() {
        ValueKind::String => key.as_str().unwrap_or_default().to_owned(),
        ValueKind::None | ValueKind::Undefined => "null".into(),
        ValueKind::Bool => if key.is_true() { "true" } else { "false" }.into(),
        ValueKind::Number => number_text(key, true),
        _ => key.to_string(),
    }
}

fn write_container<T>(
    out: &mut String,
    style: &JsonStyle,
    level: usize,
    (open, close): (char, char),
    items: &[T],
    mut write_item: impl FnMut(&mut String, &T, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return Ok(());
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&style.item_sep);
        }
        if let Some(indent) = &style.indent {
            out.push('\n');
            out.push_str(&indent.repeat(level + 1));
        }
        write_item(out, item, level + 1)?;
    }
    if let Some(indent) = &style.indent {
        out.push('\n');
        out.push_str(&indent.repeat(level));
    }
    out.push(close);
    Ok(())
}

fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && c as u32 >= 0x7f) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use crate::ChatTemplate;

    fn render(source: &str) -> String {
        ChatTemplate::new(source, "<s>", "</s>")
            .and_then(|t| t.render(&[], None, false))
            .unwrap()
    }

    #[test]
    fn tojson_matches_python_json_dumps() {
        // Expected strings checked against transformers' environment (Jinja2 3.1 + json.dumps),
        // except key order: minijinja (without `preserve_order`) and serde_json keep maps sorted.
        let t = render;
        assert_eq!(
            t(r#"{{ {"b": [1, 2.5, "q\"<é>"], "a": none, "c": true} | tojson }}"#),
            r#"{"a": null, "b": [1, 2.5, "q\"<é>"], "c": true}"#
        );
        assert_eq!(
            t("{{ [1, {'k': []}] | tojson(indent=2) }}"),
            "[\n  1,\n  {\n    \"k\": []\n  }\n]"
        );
        assert_eq!(
            t("{{ {'x': 1.0, 'y': 1e-7, 'z': 1e20} | tojson }}"),
            r#"{"x": 1.0, "y": 1e-07, "z": 1e+20}"#
        );
        assert_eq!(t("{{ 'a\nb\u{1}' | tojson }}"), r#""a\nb\u0001""#);
        assert_eq!(t("{{ 'é' | tojson(ensure_ascii=true) }}"), r#""\u00e9""#);
        assert_eq!(t("{{ [1, 2] | tojson(separators=[',', ':']) }}"), "[1,2]");
    }
}
