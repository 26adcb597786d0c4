//! Prompt assembly, in one place: a model's Modelfile parts (SYSTEM, TEMPLATE, MESSAGE) and a
//! request (a prompt, a conversation, or `hearth run`'s session) rendered against the GGUF's own
//! chat template into the text the engine is given.
//!
//! `/api/generate`, `/api/chat`, the `/v1/*` layer (which translates onto those two) and
//! `hearth run`'s in-process path all call [`render`]; the rules are:
//!
//! - **Prompt** (`/api/generate`, `/v1/completions`): `raw` passes the prompt through. Otherwise
//!   a TEMPLATE renders `{{ .System }}` and `{{ .Prompt }}`: the request's own template, else the
//!   Modelfile's when the GGUF has no chat template. A broken request template is an error; a
//!   broken Modelfile template falls back to the chat template, with the system (the request's,
//!   else the Modelfile's), the Modelfile MESSAGEs (left out when the request continues a
//!   `context`) and the prompt as the user turn.
//! - **Chat** (`/api/chat`, `/v1/chat/completions`): the Modelfile SYSTEM (unless the
//!   conversation opens with its own system message) and MESSAGEs, then the conversation, through
//!   the chat template. Tools are passed to templates that render them; for the others their
//!   description joins the system message and earlier tool calls are written back as
//!   `<tool_call>` text.
//! - **Session** (`hearth run`): a Modelfile TEMPLATE stands in for a missing GGUF chat template
//!   and renders the last user turn; otherwise as chat, without tools.

use std::collections::HashMap;

use hearth_engine::{ChatMessage, EngineError};
use serde_json::Value;

use crate::backend::LoadedModel;
use crate::error::ApiError;
use crate::tools;
use crate::wire::Message;
use hearth_store::catalog::ModelRecord;

/// What a model's Modelfile says about its prompts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Modelfile {
    /// SYSTEM.
    pub system: Option<String>,
    /// TEMPLATE (used only where the GGUF has no chat template, or by a request's own).
    pub template: Option<String>,
    /// The MESSAGE history, put before every conversation.
    pub messages: Vec<ChatMessage>,
}

impl Modelfile {
    /// The Modelfile parts of a store record.
    pub fn of(record: &ModelRecord) -> Self {
        Modelfile {
            system: record.system.clone(),
            template: record.template.clone(),
            messages: modelfile_messages(record),
        }
    }
}

/// The model side of rendering: whether the GGUF carries a chat template, and rendering with it.
pub trait ChatTemplate {
    /// Whether the model has a chat template of its own.
    fn has_chat_template(&self) -> bool;
    /// Render a conversation with the model's chat template.
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError>;
}

impl ChatTemplate for dyn LoadedModel {
    fn has_chat_template(&self) -> bool {
        self.facts().has_chat_template
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        LoadedModel::render_chat(self, messages, tools, add_generation_prompt)
    }
}

impl ChatTemplate for hearth_engine::Model {
    fn has_chat_template(&self) -> bool {
        self.info().chat_template.is_some()
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        hearth_engine::Model::render_chat(self, messages, tools, add_generation_prompt)
    }
}

/// What is asked for.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// One prompt: `/api/generate`, `/v1/completions`.
    Prompt {
        /// The prompt.
        prompt: &'a str,
        /// The request's SYSTEM override.
        system: Option<&'a str>,
        /// The request's TEMPLATE override.
        template: Option<&'a str>,
        /// No templating at all: the prompt is the text.
        raw: bool,
        /// The request continues a `context`: the Modelfile MESSAGEs are not repeated.
        continues: bool,
    },
    /// A conversation: `/api/chat`, `/v1/chat/completions`.
    Chat {
        /// The messages.
        messages: &'a [Message],
        /// Tool definitions (possibly none).
        tools: &'a [Value],
        /// Whether the model's template renders `tools` itself ([`template_renders_tools`]).
        native_tools: bool,
    },
    /// `hearth run`'s history (user and assistant turns).
    Session(&'a [ChatMessage]),
}

/// Why a prompt could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A TEMPLATE did not render (the request's own, or `hearth run`'s Modelfile one).
    #[error("template error: {0}")]
    Template(String),
    /// The chat template failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<PromptError> for ApiError {
    fn from(e: PromptError) -> Self {
        match e {
            PromptError::Template(_) => ApiError::BadRequest(e.to_string()),
            PromptError::Engine(e) => e.into(),
        }
    }
}

/// Render the prompt text for `request` to a model with `modelfile`'s parts and `model`'s chat
/// template (see the module documentation for the rules).
pub fn render<M: ChatTemplate + ?Sized>(
    modelfile: &Modelfile,
    model: &M,
    request: Request<'_>,
) -> Result<String, PromptError> {
    match request {
        Request::Prompt {
            prompt,
            system,
            template,
            raw,
            continues,
        } => {
            if raw {
                return Ok(prompt.to_owned());
            }
            render_prompt(modelfile, model, prompt, system, template, continues)
        }
        Request::Chat {
            messages,
            tools,
            native_tools,
        } => {
            let chat = chat_messages(modelfile, messages, tools, native_tools);
            let tools_arg = (native_tools && !tools.is_empty()).then_some(tools);
            Ok(model.render_chat(&chat, tools_arg, true)?)
        }
        Request::Session(messages) => match &modelfile.template {
            Some(t) if !model.has_chat_template() => {
                let last = messages.iter().rev().find(|m| m.role == "user");
                let system = modelfile.system.as_deref().unwrap_or_default();
                let prompt = last.map(|m| m.content.as_str()).unwrap_or_default();
                fill(t, system, prompt).map_err(PromptError::Template)
            }
            _ => {
                let mut all = Vec::with_capacity(messages.len() + modelfile.messages.len() + 1);
                all.extend(modelfile.system.clone().map(|s| message("system", s)));
                all.extend_from_slice(&modelfile.messages);
                all.extend_from_slice(messages);
                Ok(model.render_chat(&all, None, true)?)
            }
        },
    }
}

fn render_prompt<M: ChatTemplate + ?Sized>(
    modelfile: &Modelfile,
    model: &M,
    prompt: &str,
    system: Option<&str>,
    template: Option<&str>,
    continues: bool,
) -> Result<String, PromptError> {
    let system = system.or(modelfile.system.as_deref());
    let own = || {
        modelfile
            .template
            .as_deref()
            .filter(|_| !model.has_chat_template())
    };
    match template
        .or_else(own)
        .map(|t| fill(t, system.unwrap_or_default(), prompt))
    {
        Some(Ok(text)) => return Ok(text),
        Some(Err(e)) if template.is_some() => return Err(PromptError::Template(e)),
        // A broken Modelfile TEMPLATE falls back to the chat template.
        _ => {}
    }
    let mut messages = Vec::with_capacity(modelfile.messages.len() + 2);
    messages.extend(system.map(|s| message("system", s.to_owned())));
    if !continues {
        messages.extend_from_slice(&modelfile.messages);
    }
    messages.push(message("user", prompt.to_owned()));
    Ok(model.render_chat(&messages, None, true)?)
}

/// A Go template with `.System` and `.Prompt`.
fn fill(template: &str, system: &str, prompt: &str) -> Result<String, String> {
    let vars = HashMap::from([("System", system.to_owned()), ("Prompt", prompt.to_owned())]);
    hearth_store::gotmpl::render(template, &vars)
}

fn message(role: &str, content: String) -> ChatMessage {
    ChatMessage {
        role: role.into(),
        content,
        ..ChatMessage::default()
    }
}

/// Whether a chat template handles `tools` itself.
pub fn template_renders_tools(template: &str) -> bool {
    template.contains("tools")
}

/// The Modelfile MESSAGE history of a record as chat messages.
pub fn modelfile_messages(record: &ModelRecord) -> Vec<ChatMessage> {
    record
        .messages
        .iter()
        .filter_map(|m| {
            Some(ChatMessage {
                role: m.get("role")?.as_str()?.to_owned(),
                content: m
                    .get("content")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                ..Default::default()
            })
        })
        .collect()
}

/// Wire messages to template messages: Modelfile SYSTEM and MESSAGEs first, tool calls kept
/// structured for templates that render them, or written back as `<tool_call>` text otherwise.
pub fn chat_messages(
    modelfile: &Modelfile,
    messages: &[Message],
    tool_defs: &[Value],
    native_tools: bool,
) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(messages.len() + modelfile.messages.len() + 1);
    let extra =
        (!tool_defs.is_empty() && !native_tools).then(|| tools::tools_system_prompt(tool_defs));
    let join = |a: Option<String>, b: Option<&String>| match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}\n\n{b}")),
        (a, b) => a.or_else(|| b.cloned()),
    };
    let has_system = messages.first().is_some_and(|m| m.role == "system");
    if !has_system {
        if let Some(s) = join(modelfile.system.clone(), extra.as_ref()) {
            out.push(message("system", s));
        }
    }
    out.extend_from_slice(&modelfile.messages);
    for (i, m) in messages.iter().enumerate() {
        let mut content = m.content.clone();
        if i == 0 && has_system {
            content = join(Some(content), extra.as_ref()).unwrap_or_default();
        }
        let calls = m.tool_calls.clone().unwrap_or_default();
        let tool_calls = if native_tools && !calls.is_empty() {
            Some(
                calls
                    .iter()
                    .map(|c| {
                        serde_json::json!({"type": "function", "function": {
                            "name": c.function.name, "arguments": c.function.arguments}})
                    })
                    .collect(),
            )
        } else {
            for c in &calls {
                if !content.is_empty() {
                    content.push('\n');
                }
                content.push_str(&tools::render_call(c));
            }
            None
        };
        out.push(ChatMessage {
            role: m.role.clone(),
            content,
            tool_calls,
            tool_name: m.tool_name.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{ToolCall, ToolFunction};

    /// A chat template writing `role: content` lines (and the tools it is given).
    struct Lines {
        own: bool,
    }

    impl ChatTemplate for Lines {
        fn has_chat_template(&self) -> bool {
            self.own
        }

        fn render_chat(
            &self,
            messages: &[ChatMessage],
            tools: Option<&[Value]>,
            add_generation_prompt: bool,
        ) -> Result<String, EngineError> {
            let mut s: String = messages
                .iter()
                .map(|m| match &m.tool_calls {
                    Some(c) => format!("{}: {} {}\n", m.role, m.content, Value::from(c.clone())),
                    None => format!("{}: {}\n", m.role, m.content),
                })
                .collect();
            if let Some(t) = tools {
                s.insert_str(0, &format!("tools: {}\n", t.len()));
            }
            if add_generation_prompt {
                s.push_str("assistant:");
            }
            Ok(s)
        }
    }

    const GGUF: Lines = Lines { own: true };
    const BARE: Lines = Lines { own: false };

    fn modelfile() -> Modelfile {
        Modelfile {
            system: Some("Be terse.".into()),
            template: Some("[{{ .System }}|{{ .Prompt }}]".into()),
            messages: vec![
                message("user", "hi".into()),
                message("assistant", "yo".into()),
            ],
        }
    }

    fn prompt<'a>(p: &'a str, system: Option<&'a str>, template: Option<&'a str>) -> Request<'a> {
        Request::Prompt {
            prompt: p,
            system,
            template,
            raw: false,
            continues: false,
        }
    }

    fn wire(role: &str, content: &str) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
            ..Message::default()
        }
    }

    #[test]
    fn a_prompt_uses_the_chat_template_with_the_modelfile_parts() {
        let got = render(&modelfile(), &GGUF, prompt("x", None, None)).unwrap();
        assert_eq!(
            got,
            "system: Be terse.\nuser: hi\nassistant: yo\nuser: x\nassistant:"
        );
        let cont = Request::Prompt {
            prompt: "x",
            system: Some("S"),
            template: None,
            raw: false,
            continues: true,
        };
        let got = render(&modelfile(), &GGUF, cont).unwrap();
        assert_eq!(
            got, "system: S\nuser: x\nassistant:",
            "no MESSAGEs after a context"
        );
        let got = render(&Modelfile::default(), &GGUF, prompt("x", None, None)).unwrap();
        assert_eq!(got, "user: x\nassistant:");
    }

    #[test]
    fn a_prompt_template_comes_from_the_request_or_stands_in_for_a_missing_chat_template() {
        let mf = modelfile();
        assert_eq!(
            render(&mf, &BARE, prompt("x", None, None)).unwrap(),
            "[Be terse.|x]"
        );
        assert_eq!(
            render(
                &mf,
                &GGUF,
                prompt("x", Some("S"), Some("<{{ .System }}{{ .Prompt }}>"))
            )
            .unwrap(),
            "<Sx>"
        );
        let raw = Request::Prompt {
            prompt: "{{ x",
            system: None,
            template: None,
            raw: true,
            continues: false,
        };
        assert_eq!(render(&mf, &BARE, raw).unwrap(), "{{ x");
    }

    #[test]
    fn a_broken_request_template_fails_and_a_broken_modelfile_one_falls_back() {
        let err = render(&modelfile(), &GGUF, prompt("x", None, Some("{{ .Nope"))).unwrap_err();
        assert!(matches!(err, PromptError::Template(_)));
        assert!(err.to_string().starts_with("template error: "));
        let api: ApiError = err.into();
        assert_eq!(api.status(), axum::http::StatusCode::BAD_REQUEST);
        let mf = Modelfile {
            template: Some("{{ .Nope".into()),
            ..modelfile()
        };
        let got = render(&mf, &BARE, prompt("x", None, None)).unwrap();
        assert_eq!(
            got,
            "system: Be terse.\nuser: hi\nassistant: yo\nuser: x\nassistant:"
        );
    }

    #[test]
    fn a_chat_puts_the_modelfile_first_unless_it_opens_with_a_system_message() {
        let chat = |messages: &[Message]| {
            let req = Request::Chat {
                messages,
                tools: &[],
                native_tools: false,
            };
            render(&modelfile(), &BARE, req).unwrap()
        };
        assert_eq!(
            chat(&[wire("user", "q")]),
            "system: Be terse.\nuser: hi\nassistant: yo\nuser: q\nassistant:",
            "a chat ignores the Modelfile TEMPLATE"
        );
        assert_eq!(
            chat(&[wire("system", "Mine."), wire("user", "q")]),
            "user: hi\nassistant: yo\nsystem: Mine.\nuser: q\nassistant:"
        );
    }

    #[test]
    fn tools_go_to_templates_that_render_them_and_into_the_system_message_otherwise() {
        let tools = [serde_json::json!({"type": "function", "function": {"name": "get_weather"}})];
        let mut asked = wire("assistant", "");
        asked.tool_calls = Some(vec![ToolCall {
            id: "c1".into(),
            function: ToolFunction {
                index: 0,
                name: "get_weather".into(),
                arguments: serde_json::json!({"city": "Tokyo"}),
            },
        }]);
        let messages = [wire("user", "q"), asked];
        let native = Request::Chat {
            messages: &messages,
            tools: &tools,
            native_tools: true,
        };
        let got = render(&Modelfile::default(), &GGUF, native).unwrap();
        assert!(
            got.starts_with("tools: 1\nuser: q\nassistant:  [{"),
            "{got}"
        );
        assert!(got.contains(r#""name":"get_weather""#), "{got}");
        let injected = Request::Chat {
            messages: &messages,
            tools: &tools,
            native_tools: false,
        };
        let got = render(&modelfile(), &GGUF, injected).unwrap();
        let system = format!("Be terse.\n\n{}", tools::tools_system_prompt(&tools));
        let call = tools::render_call(&messages[1].tool_calls.as_ref().unwrap()[0]);
        assert_eq!(
            got,
            format!(
                "system: {system}\nuser: hi\nassistant: yo\nuser: q\nassistant: {call}\nassistant:"
            )
        );
    }

    #[test]
    fn a_session_renders_the_last_user_turn_with_a_stand_in_template() {
        let history = [
            message("user", "one".into()),
            message("assistant", "1".into()),
            message("user", "two".into()),
        ];
        let mf = modelfile();
        assert_eq!(
            render(&mf, &BARE, Request::Session(&history)).unwrap(),
            "[Be terse.|two]"
        );
        assert_eq!(
            render(&mf, &GGUF, Request::Session(&history)).unwrap(),
            "system: Be terse.\nuser: hi\nassistant: yo\nuser: one\nassistant: 1\nuser: two\nassistant:"
        );
        let broken = Modelfile {
            template: Some("{{ .Nope".into()),
            ..modelfile()
        };
        let err = render(&broken, &BARE, Request::Session(&history)).unwrap_err();
        assert!(err.to_string().starts_with("template error: "));
    }
}
