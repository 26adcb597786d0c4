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
//!
//! Templates come from model files, which may be hostile: rendering is bounded by minijinja's
//! fuel ([`FUEL`] instructions per render), its recursion limit, and an output cap
//! ([`MAX_OUTPUT`] bytes), so no template can hang or exhaust the process that renders it.
//!
//! This crate is pure Rust (minijinja and serde): the engine uses it, and it can be tested and
//! fuzzed without llama.cpp.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};

mod pyrepr;
mod strftime;
mod tojson;

use pyrepr::python_formatter;
use strftime::strftime_now;
use tojson::tojson;

/// The name the one template is registered under.
const NAME: &str = "chat_template";

/// Instructions one render may execute. A real chat template spends tens per message, so this
/// allows conversations of many thousands of messages while stopping a hostile template's
/// nested loops within a fraction of a second.
pub const FUEL: u64 = 20_000_000;

/// Longest prompt a render may produce, in bytes (far beyond any context window).
pub const MAX_OUTPUT: usize = 64 << 20;

/// Why a template could not be compiled or rendered: the text is what users see
/// (`raise_exception(msg)` gives exactly `msg`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

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
    /// [`TemplateError`] when the template has a syntax error.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
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
            .map_err(|e| TemplateError(describe(&e)))?;
        Ok(ChatTemplate { env })
    }

    /// Render `messages` as a prompt. `tools` (absent or empty: `none`, so `{% if tools %}` is
    /// false) are the tool definitions as JSON; `add_generation_prompt` opens an assistant turn.
    ///
    /// # Errors
    /// [`TemplateError`] when rendering fails; for `raise_exception(msg)` the error
    /// carries exactly `msg`.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
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
    ) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| TemplateError(describe(&e)))?;
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
        let mut out = CappedOutput(Vec::new());
        template
            .render_captured_to(ctx, &mut out)
            .map_err(|e| template_error(&e))?;
        String::from_utf8(out.0)
            .map_err(|_| TemplateError("the template produced invalid UTF-8".into()))
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
        // The closing `%}` comes after the opening `{%` (in `{%}` they overlap).
        let Some(end) = tag[2..].find("%}").map(|i| i + 2) else {
            out.push_str(tag);
            rest = "";
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

/// The render's output, refusing to grow past [`MAX_OUTPUT`].
struct CappedOutput(Vec<u8>);

impl std::io::Write for CappedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_OUTPUT {
            return Err(std::io::Error::other(format!(
                "the template's output exceeds {} MiB",
                MAX_OUTPUT >> 20
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
fn template_error(e: &Error) -> TemplateError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(raised) = err.downcast_ref::<TemplateException>() {
            return TemplateError(raised.0.clone());
        }
        source = err.source();
    }
    TemplateError(describe(e))
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

    fn render(source: &str, messages: &[ChatMessage]) -> Result<String, TemplateError> {
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
            TemplateError(
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
        assert_eq!(err, TemplateError("No tools here: user".into()));
    }

    #[test]
    fn syntax_errors_are_reported_at_compile_time() {
        let err = ChatTemplate::new("{% for m in messages %}", "", "").unwrap_err();
        assert!(
            matches!(err, TemplateError(ref m) if m.contains("syntax error")),
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
    fn a_template_that_loops_too_long_runs_out_of_fuel() {
        let t = ChatTemplate::new(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let started = std::time::Instant::now();
        let err = t.render(&[], None, false).unwrap_err();
        assert!(err.0.contains("fuel"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn a_template_whose_output_is_too_long_is_stopped() {
        let t = ChatTemplate::new(
            "{% for a in range(100000) %}{% for b in range(10) %}{{ 'y' * 100 }}{% endfor %}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let err = t.render(&[], None, false).unwrap_err();
        assert!(err.0.contains("exceeds 64 MiB"), "{err}");
    }

    #[test]
    fn deep_recursion_is_an_error_not_a_stack_overflow() {
        // Rendered on a thread with tokio's default worker stack (2 MiB), where the server renders.
        let t = ChatTemplate::new(
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "",
            "",
        )
        .unwrap();
        let err = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || t.render(&[], None, false).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert!(err.0.contains("recursion"), "{err}");
    }

    /// Found by `scripts/fuzz chat_template`: `{%}` made the closing marker overlap the opening
    /// one and panicked; an unclosed tag duplicated the text before it.
    #[test]
    fn overlapping_and_unclosed_tags_do_not_panic_or_duplicate() {
        assert_eq!(neutralise_generation_tags("a{%}b%}c"), "a{%}b%}c");
        assert_eq!(neutralise_generation_tags("a{%}"), "a{%}");
        assert_eq!(
            neutralise_generation_tags("x{% generation"),
            "x{% generation"
        );
        assert_eq!(
            neutralise_generation_tags("{%- generation -%}y{% endgeneration %}"),
            "{%- if true -%}y{% endif %}"
        );
        assert!(ChatTemplate::new("{%}", "", "").is_err());
    }
}
