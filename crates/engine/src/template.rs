//! Chat templates from the GGUF (`tokenizer.chat_template`), rendered with minijinja the way
//! Hugging Face transformers renders them.
//!
//! transformers compiles templates in a sandboxed Jinja2 environment with `trim_blocks=True`,
//! `lstrip_blocks=True` and the `loopcontrols` extension, and adds `raise_exception`,
//! `strftime_now` and a `tojson` filter that is Python's `json.dumps` (`", "` and `": "`
//! separators, no HTML escaping, optional `indent`). [`ChatTemplate`] sets minijinja up the same
//! way, with minijinja-contrib's `pycompat` for Python string and dict methods (`strip`,
//! `startswith`, `split`, `items`…), and prints `None`, `True` and `False` as Python does.
//! transformers' `{% generation %}` marker (for assistant masks) renders its body unchanged.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Output, State};
use serde::{Deserialize, Serialize};

use crate::EngineError;

/// The name the one template is registered under.
const NAME: &str = "chat_template";

/// One chat message as templates see it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The message text.
    pub content: String,
    /// Tool calls made by an assistant message, each `{"type": "function", "function": {"name",
    /// "arguments"}}` (arguments as an object; a JSON string or the flat `{"name",
    /// "arguments"}` form is normalised to that before rendering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<serde_json::Value>>,
    /// For a `tool` message: the tool whose result this is (also exposed to templates as `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

/// A compiled chat template. Compile once with [`ChatTemplate::new`], render many times; it is
/// `Send + Sync` and rendering takes `&self`.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
}

impl ChatTemplate {
    /// Compile `source` (a Jinja chat template) with the model's BOS and EOS token texts.
    ///
    /// # Errors
    /// [`EngineError::Template`] when the template has a syntax error.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, EngineError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.set_formatter(python_formatter);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_global("bos_token", bos_token.to_owned());
        env.add_global("eos_token", eos_token.to_owned());
        env.add_template_owned(NAME, neutralise_generation_tags(source))
            .map_err(|e| EngineError::Template(describe(&e)))?;
        Ok(ChatTemplate { env })
    }

    /// Render `messages` as a prompt. `tools` (absent or empty: `none`, so `{% if tools %}` is
    /// false) are the tool definitions as JSON; `add_generation_prompt` opens an assistant turn.
    ///
    /// # Errors
    /// [`EngineError::Template`] when rendering fails; for `raise_exception(msg)` the error
    /// carries exactly `msg`.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        self.render_with(
            messages,
            tools,
            add_generation_prompt,
            &serde_json::Map::new(),
        )
    }

    /// [`render`](Self::render) with extra template variables, e.g. `enable_thinking: false`
    /// for Ollama's `think: false`. `messages`, `tools` and `add_generation_prompt` win over
    /// `extra` keys of the same name.
    ///
    /// # Errors
    /// As [`render`](Self::render).
    pub fn render_with(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, EngineError> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| EngineError::Template(describe(&e)))?;
        let mut ctx: BTreeMap<String, Value> = extra
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_serialize(v)))
            .collect();
        let messages: Vec<serde_json::Value> = messages.iter().map(message_value).collect();
        ctx.insert("messages".into(), Value::from_serialize(&messages));
        let tools = match tools {
            Some(tools) if !tools.is_empty() => Value::from_serialize(tools),
            _ => Value::from(()),
        };
        ctx.insert("tools".into(), tools);
        ctx.insert(
            "add_generation_prompt".into(),
            Value::from(add_generation_prompt),
        );
        template.render(ctx).map_err(|e| template_error(&e))
    }
}

/// A message as the template sees it: `role`, `content`, normalised `tool_calls`, and for tool
/// results both `tool_name` and the HF-conventional `name`.
fn message_value(m: &ChatMessage) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    obj.insert("role".into(), m.role.clone().into());
    obj.insert("content".into(), m.content.clone().into());
    if let Some(calls) = &m.tool_calls {
        obj.insert(
            "tool_calls".into(),
            calls.iter().map(normalise_tool_call).collect(),
        );
    }
    if let Some(name) = &m.tool_name {
        obj.insert("tool_name".into(), name.clone().into());
        obj.insert("name".into(), name.clone().into());
    }
    serde_json::Value::Object(obj)
}

/// Bring a tool call into the OpenAI/HF shape `{"type": "function", "function": {"name",
/// "arguments": {..}}}`: wrap the flat `{"name", "arguments"}` form, add a missing `type`, and
/// parse `arguments` given as a JSON string.
fn normalise_tool_call(call: &serde_json::Value) -> serde_json::Value {
    let serde_json::Value::Object(obj) = call else {
        return call.clone();
    };
    let mut obj = obj.clone();
    if !obj.contains_key("function") && obj.contains_key("name") {
        let mut function = serde_json::Map::new();
        for key in ["name", "arguments"] {
            if let Some(v) = obj.remove(key) {
                function.insert(key.into(), v);
            }
        }
        obj.insert("function".into(), function.into());
    }
    obj.entry("type").or_insert_with(|| "function".into());
    if let Some(serde_json::Value::Object(function)) = obj.get_mut("function") {
        if let Some(serde_json::Value::String(text)) = function.get("arguments") {
            if let Ok(parsed @ serde_json::Value::Object(_)) = serde_json::from_str(text) {
                function.insert("arguments".into(), parsed);
            }
        }
    }
    serde_json::Value::Object(obj)
}

/// Replace transformers' `{% generation %}` / `{% endgeneration %}` (unknown to minijinja) with
/// `{% if true %}` / `{% endif %}`, keeping any whitespace-control markers.
fn neutralise_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag.find("%}") else {
            break;
        };
        let inner = &tag[2..end];
        let (open, body) = split_marker(inner, true);
        let (body, close) = split_marker(body, false);
        let replacement = match body.trim() {
            "generation" => Some("if true"),
            "endgeneration" => Some("endif"),
            _ => None,
        };
        match replacement {
            Some(word) => {
                out.push_str("{%");
                out.push_str(open);
                out.push(' ');
                out.push_str(word);
                out.push(' ');
                out.push_str(close);
                out.push_str("%}");
            }
            None => out.push_str(&tag[..end + 2]),
        }
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Split a leading (or trailing) `-`/`+` whitespace-control marker off a tag's inside.
fn split_marker(s: &str, leading: bool) -> (&str, &str) {
    if leading {
        match s.chars().next() {
            Some('-' | '+') => (&s[..1], &s[1..]),
            _ => ("", s),
        }
    } else {
        match s.chars().last() {
            Some('-' | '+') => (&s[..s.len() - 1], &s[s.len() - 1..]),
            _ => (s, ""),
        }
    }
}

/// The message of a template's `raise_exception(msg)`, carried as the minijinja error's source.
#[derive(Debug)]
struct TemplateException(String);

impl fmt::Display for TemplateException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateException {}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message.clone())
        .with_source(TemplateException(message)))
}

/// `raise_exception`'s message verbatim, any other error described with its causes.
fn template_error(e: &Error) -> EngineError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(raised) = err.downcast_ref::<TemplateException>() {
            return EngineError::Template(raised.0.clone());
        }
        source = err.source();
    }
    EngineError::Template(describe(e))
}

fn describe(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        let _ = write!(text, ": {err}");
        source = err.source();
    }
    text
}

/// Print values as Jinja2 does: `None`, `True`, `False`, and Python reprs for lists and dicts.
fn python_formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    let text = match value.kind() {
        ValueKind::None => "None".to_owned(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.to_owned(),
        ValueKind::Seq | ValueKind::Map => python_repr(value),
        _ => return minijinja::escape_formatter(out, state, value),
    };
    out.write_str(&text)
        .map_err(|_| Error::from(ErrorKind::WriteFailure))
}

/// Python's `repr` of a value (strings quoted, as inside a printed list or dict).
fn python_repr(value: &Value) -> String {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if value.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => number_text(value, false),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            let quote = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::with_capacity(s.len() + 2);
            out.push(quote);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == quote => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            out.push(quote);
            out
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = value
                .try_iter()
                .map(|it| it.map(|v| python_repr(&v)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = value
                .try_iter()
                .map(|keys| {
                    keys.map(|k| {
                        let v = value.get_item(&k).unwrap_or_default();
                        format!("{}: {}", python_repr(&k), python_repr(&v))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        _ => value.to_string(),
    }
}

/// An integer's digits, or a float as Python prints it (`1.0`, `1e-06`, `1e+16`); `json`
/// selects json.dumps' spelling of the non-finite values.
fn number_text(value: &Value, json: bool) -> String {
    if value.is_integer() {
        return value.to_string();
    }
    let Ok(f) = f64::try_from(value.clone()) else {
        return value.to_string();
    };
    python_float(f, json)
}

fn python_float(f: f64, json: bool) -> String {
    if f.is_nan() {
        return if json { "NaN" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return match (f > 0.0, json) {
            (true, true) => "Infinity",
            (false, true) => "-Infinity",
            (true, false) => "inf",
            (false, false) => "-inf",
        }
        .into();
    }
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return f.to_string();
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = f.to_string();
        if plain.contains('.') {
            plain
        } else {
            plain + ".0"
        }
    } else {
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        )
    }
}

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
fn tojson(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
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

/// `strftime_now(format)`: the current time (UTC) formatted like Python's `strftime`.
fn strftime_now(format: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    strftime(format, i64::try_from(now).unwrap_or(0))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Format a Unix time (UTC) with the C `strftime` conversions chat templates use, including
/// glibc's `%-d` (no padding). Unknown conversions are copied through.
fn strftime(format: &str, unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let weekday = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = BEFORE[(month - 1) as usize] + day + i64::from(leap && month > 2);
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let month_name = MONTHS[(month - 1) as usize];
    let weekday_name = WEEKDAYS[weekday];

    let mut out = String::with_capacity(format.len() + 16);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let unpadded = chars.peek() == Some(&'-');
        if unpadded {
            chars.next();
        }
        let num = |out: &mut String, v: i64, width: usize| {
            let _ = if unpadded {
                write!(out, "{v}")
            } else {
                write!(out, "{v:0width$}")
            };
        };
        match chars.next() {
            Some('Y') => num(&mut out, year, 4),
            Some('y') => num(&mut out, year.rem_euclid(100), 2),
            Some('m') => num(&mut out, month, 2),
            Some('d') => num(&mut out, day, 2),
            Some('e') => {
                let _ = write!(out, "{day:2}");
            }
            Some('H') => num(&mut out, hour, 2),
            Some('I') => num(&mut out, hour12, 2),
            Some('M') => num(&mut out, minute, 2),
            Some('S') => num(&mut out, second, 2),
            Some('j') => num(&mut out, yday, 3),
            Some('p') => out.push_str(if hour < 12 { "AM" } else { "PM" }),
            Some('B') => out.push_str(month_name),
            Some('b' | 'h') => out.push_str(&month_name[..3]),
            Some('A') => out.push_str(weekday_name),
            Some('a') => out.push_str(&weekday_name[..3]),
            Some('w') => num(&mut out, weekday as i64, 1),
            Some('u') => num(&mut out, if weekday == 0 { 7 } else { weekday as i64 }, 1),
            Some('F') => {
                let _ = write!(out, "{year:04}-{month:02}-{day:02}");
            }
            Some('D') => {
                let _ = write!(out, "{month:02}/{day:02}/{:02}", year.rem_euclid(100));
            }
            Some('T') => {
                let _ = write!(out, "{hour:02}:{minute:02}:{second:02}");
            }
            Some('R') => {
                let _ = write!(out, "{hour:02}:{minute:02}");
            }
            Some('Z') => out.push_str("UTC"),
            Some('z') => out.push_str("+0000"),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                if unpadded {
                    out.push('-');
                }
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M-Instruct's `tokenizer.chat_template`, as stored in its GGUF.
    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    /// Gemma 3's chat template (google/gemma-3-*-it `tokenizer_config.json`).
    const GEMMA3: &str = r#"{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '

' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '

' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '
' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>
' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model
'}}
{%- endif -%}
"#;

    fn msg(role: &str, content: &str) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
            ..Default::default()
        }
    }

    fn conversation() -> Vec<ChatMessage> {
        vec![
            msg("system", "You are terse."),
            msg("user", "Hi!"),
            msg("assistant", "Hello."),
            msg("user", "What is 2+2?"),
        ]
    }

    fn render(source: &str, messages: &[ChatMessage]) -> Result<String, EngineError> {
        ChatTemplate::new(source, "<s>", "</s>")?.render(messages, None, false)
    }

    #[test]
    fn templates_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ChatTemplate>();
    }

    #[test]
    fn smollm2_renders_chatml() {
        let t = ChatTemplate::new(SMOLLM2, "<|im_start|>", "<|im_end|>").unwrap();
        let body = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n\
                    <|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n";
        assert_eq!(t.render(&conversation(), None, false).unwrap(), body);
        assert_eq!(
            t.render(&conversation(), None, true).unwrap(),
            format!("{body}<|im_start|>assistant\n")
        );
        // Without a system message the template adds its default one.
        assert_eq!(
            t.render(&[msg("user", "Hi!")], None, true).unwrap(),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
             <|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn gemma3_folds_the_system_prompt_into_the_first_user_turn() {
        let t = ChatTemplate::new(GEMMA3, "<bos>", "<eos>").unwrap();
        let body = "<bos><start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n\
                    <start_of_turn>model\nHello.<end_of_turn>\n\
                    <start_of_turn>user\nWhat is 2+2?<end_of_turn>\n";
        assert_eq!(t.render(&conversation(), None, false).unwrap(), body);
        assert_eq!(
            t.render(&conversation(), None, true).unwrap(),
            format!("{body}<start_of_turn>model\n")
        );
        let err = t.render(&[msg("assistant", "x")], None, true).unwrap_err();
        assert_eq!(
            err,
            EngineError::Template(
                "Conversation roles must alternate user/assistant/user/assistant/...".into()
            )
        );
    }

    #[test]
    fn raise_exception_carries_its_message() {
        let err = render(
            "{{ raise_exception('No tools here: ' + messages[0].role) }}",
            &[msg("user", "x")],
        )
        .unwrap_err();
        assert_eq!(err, EngineError::Template("No tools here: user".into()));
    }

    #[test]
    fn syntax_errors_are_reported_at_compile_time() {
        let err = ChatTemplate::new("{% for m in messages %}", "", "").unwrap_err();
        assert!(
            matches!(err, EngineError::Template(ref m) if m.contains("syntax error")),
            "{err}"
        );
    }

    #[test]
    fn tools_reach_the_template() {
        let source = "{% if tools %}{% for t in tools %}{{ t.function.name }};{% endfor %}{% else %}no tools{% endif %}";
        let t = ChatTemplate::new(source, "", "").unwrap();
        let tools = [
            serde_json::json!({"type": "function", "function": {"name": "get_weather", "parameters": {}}}),
        ];
        assert_eq!(t.render(&[], Some(&tools), false).unwrap(), "get_weather;");
        assert_eq!(t.render(&[], None, false).unwrap(), "no tools");
        assert_eq!(t.render(&[], Some(&[]), false).unwrap(), "no tools");
        let t = ChatTemplate::new("{{ tools is none }}", "", "").unwrap();
        assert_eq!(t.render(&[], None, false).unwrap(), "True");
    }

    #[test]
    fn tool_calls_and_results_have_the_hf_shape() {
        let source = "{% for m in messages %}{% if m.tool_calls %}{% for c in m.tool_calls %}\
                      {{ c.type }}:{{ c.function.name }}{{ c.function.arguments | tojson }}{% endfor %}\
                      {% elif m.role == 'tool' %}|{{ m.name }}={{ m.content }}|{{ m.tool_name }}{% endif %}{% endfor %}";
        let call = ChatMessage {
            role: "assistant".into(),
            tool_calls: Some(vec![
                serde_json::json!({"function": {"name": "add", "arguments": {"a": 1, "b": 2}}}),
                serde_json::json!({"name": "neg", "arguments": "{\"x\": 3}"}),
            ]),
            ..Default::default()
        };
        let result = ChatMessage {
            role: "tool".into(),
            content: "3".into(),
            tool_name: Some("add".into()),
            ..Default::default()
        };
        assert_eq!(
            render(source, &[call, result]).unwrap(),
            "function:add{\"a\": 1, \"b\": 2}function:neg{\"x\": 3}|add=3|add"
        );
    }

    #[test]
    fn tojson_matches_python_json_dumps() {
        // Expected strings checked against transformers' environment (Jinja2 3.1 + json.dumps),
        // except key order: minijinja (without `preserve_order`) and serde_json keep maps sorted.
        let t = |s: &str| render(s, &[]).unwrap();
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

    #[test]
    fn python_features_work() {
        let t = |s: &str| render(s, &[msg("user", "  Hello World  ")]).unwrap();
        assert_eq!(
            t("{{ messages[0].content.strip() }}|{{ messages[0].content.split() | length }}"),
            "Hello World|2"
        );
        assert_eq!(
            t("{{ messages[0].content.strip().startswith('Hello') }}"),
            "True"
        );
        assert_eq!(
            t("{% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %}"),
            "a=1"
        );
        assert_eq!(t("{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"), "3");
        assert_eq!(t("{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"), "02");
        assert_eq!(
            t("{{ bos_token }}{{ eos_token }}{{ none }}{{ false }}{{ [1, 'a'] }}"),
            "<s></s>NoneFalse[1, 'a']"
        );
        assert_eq!(t("{{ strftime_now('%Y') | length }}"), "4");
        let extra = serde_json::json!({"enable_thinking": false});
        let t = ChatTemplate::new("{{ enable_thinking }}", "", "").unwrap();
        assert_eq!(
            t.render_with(&[], None, false, extra.as_object().unwrap())
                .unwrap(),
            "False"
        );
    }

    #[test]
    fn whitespace_follows_transformers() {
        // trim_blocks drops the newline after a tag, lstrip_blocks the indentation before it.
        let source = "{% for m in messages %}\n    {% if m.role == 'user' %}\n[{{ m.content }}]\n    {% endif %}\n{% endfor %}\n";
        assert_eq!(
            render(source, &conversation()).unwrap(),
            "[Hi!]\n[What is 2+2?]\n"
        );
    }

    #[test]
    fn generation_markers_are_transparent() {
        let source = "{% for m in messages %}{%- generation -%}{{ m.content }}{% endgeneration %}{% endfor %}";
        assert_eq!(
            render(source, &[msg("assistant", "a"), msg("assistant", "b")]).unwrap(),
            "ab"
        );
        assert_eq!(
            neutralise_generation_tags("x{%- generation +%}y{% endgeneration %}"),
            "x{%- if true +%}y{% endif %}"
        );
        assert_eq!(
            neutralise_generation_tags("{{ a }}{% if b %}{% endif %}{%"),
            "{{ a }}{% if b %}{% endif %}{%"
        );
    }

    #[test]
    fn strftime_formats_like_c() {
        assert_eq!(strftime("%d %b %Y", 0), "01 Jan 1970");
        // 2023-11-14 22:13:20 UTC, a Tuesday.
        assert_eq!(
            strftime("%A %-d %B %Y %H:%M:%S %j %I%p %F %y %%", 1_700_000_000),
            "Tuesday 14 November 2023 22:13:20 318 10PM 2023-11-14 23 %"
        );
        // 2024-02-29, a leap day.
        assert_eq!(strftime("%F %j %a", 1_709_164_800), "2024-02-29 060 Thu");
        assert_eq!(strftime("%Q", 0), "%Q");
    }

    #[test]
    fn python_floats() {
        assert_eq!(python_float(1.0, true), "1.0");
        assert_eq!(python_float(0.0001, true), "0.0001");
        assert_eq!(python_float(0.00001, true), "1e-05");
        assert_eq!(python_float(1e16, true), "1e+16");
        assert_eq!(
            python_float(123_456_789_012_345.6, true),
            "123456789012345.6"
        );
        assert_eq!(python_float(-0.0, true), "-0.0");
        assert_eq!(python_float(f64::INFINITY, true), "Infinity");
    }
}
