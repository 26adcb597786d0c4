//! A scripted backend for HTTP-layer unit tests (no model): it streams fixed tokens, honours
//! `num_predict`, emits JSON under a grammar, and reports when a generation is dropped. Through
//! the generation seam ([`LoadedModel::generator`]) it answers the classifier's per-tool yes/no
//! questions: yes (P = 0.9), or an engine error when the request says `FAIL`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use hearth_engine::{
    ChatMessage, Completion, DoneReason, Embeddings, EngineError, Event, GenerateRequest,
    Generation, Generator, Grammar, LoadConfig, Logprobs, Prompt, TokenLogprob,
};

use crate::backend::{EventStream, LoadedFacts, LoadedModel, Loader};

/// Counters shared with the test.
#[derive(Debug, Default)]
pub struct FakeStats {
    /// Models loaded.
    pub loads: AtomicUsize,
    /// Generations dropped before finishing.
    pub cancelled: AtomicUsize,
}

/// The fake loader.
#[derive(Debug, Default, Clone)]
pub struct FakeLoader(pub Arc<FakeStats>);

impl Loader for FakeLoader {
    fn load(
        &self,
        _path: &Path,
        config: LoadConfig,
    ) -> BoxFuture<'static, Result<Arc<dyn LoadedModel>, EngineError>> {
        self.0.loads.fetch_add(1, Ordering::SeqCst);
        let stats = Arc::clone(&self.0);
        Box::pin(async move {
            Ok(Arc::new(FakeModel {
                stats,
                ctx: config.num_ctx,
            }) as Arc<dyn LoadedModel>)
        })
    }
}

#[derive(Clone)]
struct FakeModel {
    stats: Arc<FakeStats>,
    ctx: u32,
}

struct DropGuard(Arc<FakeStats>, bool);

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl DropGuard {
    fn disarm(mut self) {
        self.1 = true;
    }
}

impl LoadedModel for FakeModel {
    fn prompt_cache(&self) -> hearth_engine::PromptCacheStats {
        // Fixed figures, so that /metrics and /api/ps can be checked to carry them.
        hearth_engine::PromptCacheStats {
            hits: 2,
            misses: 1,
            restored_tokens: 300,
            shared_copies: 3,
            shared_tokens: 900,
            bytes: 1234,
            entries: 1,
            budget: 4096,
        }
    }

    fn facts(&self) -> LoadedFacts {
        LoadedFacts {
            context_length: self.ctx,
            parallel: 4,
            size_bytes: 1234,
            has_chat_template: true,
        }
    }

    fn generate(&self, request: GenerateRequest) -> Result<EventStream, EngineError> {
        let prompt = match &request.prompt {
            Prompt::Text(t) => t.clone(),
            Prompt::Tokens(t) => format!("{} tokens", t.len()),
        };
        let slow = prompt.contains("SLOW");
        let pieces: Vec<String> = if request.grammar.is_some() {
            vec!["{\"answer\": ".into(), "42}".into()]
        } else if prompt.contains("TOOL") {
            vec![
                "<tool_call>{\"name\": \"get_weather\", ".into(),
                "\"arguments\": {\"city\": \"Tokyo\"}}</tool_call>".into(),
            ]
        } else if slow {
            (0..10_000).map(|i| format!("t{i} ")).collect()
        } else {
            vec!["Hello".into(), ",".into(), " world".into(), "!".into()]
        };
        let limit = if request.options.num_predict >= 0 {
            request.options.num_predict as usize
        } else {
            usize::MAX
        };
        let reason = if pieces.len() > limit {
            DoneReason::Length
        } else {
            DoneReason::Stop
        };
        let pieces: Vec<String> = pieces.into_iter().take(limit).collect();
        let n = pieces.len() as u32;
        let logprobs = request.logprobs.is_some();
        let guard = DropGuard(Arc::clone(&self.stats), false);
        let tokens = futures::stream::iter(pieces).then(move |text| async move {
            if slow {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let lp = if logprobs {
                vec![hearth_engine::Logprobs {
                    sampled: hearth_engine::TokenLogprob {
                        token: text.clone(),
                        logprob: -0.5,
                        bytes: text.clone().into_bytes(),
                    },
                    top_logprobs: Vec::new(),
                }]
            } else {
                Vec::new()
            };
            Event::Token { text, logprobs: lp }
        });
        let done = futures::stream::once(async move {
            guard.disarm();
            Event::Done(Completion {
                done_reason: reason,
                prompt_eval_count: 7,
                cached_prompt_tokens: 0,
                prompt_eval_duration_ns: 1000,
                eval_count: n,
                eval_duration_ns: 2000,
                total_duration_ns: 3000,
                context: vec![1, 2, 3],
                truncated_tokens: 0,
            })
        });
        Ok(tokens.chain(done).boxed())
    }

    fn embed(
        &self,
        inputs: Vec<String>,
        truncate: bool,
    ) -> BoxFuture<'static, Result<Embeddings, EngineError>> {
        Box::pin(async move {
            if !truncate && inputs.iter().any(|i| i.len() > 100) {
                return Err(EngineError::ContextOverflow {
                    tokens: 200,
                    context: 100,
                });
            }
            let vectors = inputs.iter().map(|_| vec![0.5, 0.5, 0.5, 0.5]).collect();
            Ok(Embeddings {
                vectors,
                norms: vec![2.0; inputs.len()],
                prompt_eval_count: inputs.len() as u32 * 3,
            })
        })
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        _tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        Ok(render(messages, add_generation_prompt))
    }

    fn tokenize(&self, text: &str) -> Vec<i32> {
        text.bytes().map(i32::from).collect()
    }

    fn detokenize(&self, tokens: &[i32]) -> String {
        tokens.iter().map(|&t| t as u8 as char).collect()
    }

    fn generator(&self) -> Arc<dyn Generator> {
        Arc::new(self.clone())
    }
}

fn render(messages: &[ChatMessage], add_generation_prompt: bool) -> String {
    let mut s: String = messages
        .iter()
        .map(|m| format!("{}: {}\n", m.role, m.content))
        .collect();
    if add_generation_prompt {
        s.push_str("assistant:");
    }
    s
}

fn token(text: &str, p: f32) -> TokenLogprob {
    TokenLogprob {
        token: text.to_owned(),
        logprob: p.ln(),
        bytes: text.as_bytes().to_vec(),
    }
}

impl Generator for FakeModel {
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        _tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        Ok(render(messages, add_generation_prompt))
    }

    /// Only the classifier's one-token yes/no questions: "yes" at P = 0.9, or an engine error
    /// when the prompt's last question says `FAIL`.
    fn generate(&self, request: GenerateRequest) -> Result<Generation, EngineError> {
        let yes_no = matches!(&request.grammar,
            Some(Grammar::Gbnf(g)) if g == hearth_classifier::grammar::YES_NO_GBNF);
        let Prompt::Text(prompt) = &request.prompt else {
            return Err(EngineError::InvalidRequest("expected a text prompt".into()));
        };
        if !yes_no {
            return Err(EngineError::InvalidRequest(
                "the fake generator only answers yes/no questions".into(),
            ));
        }
        let question = prompt.rsplit("Request: ").next().unwrap_or_default();
        if question.contains("FAIL") {
            return Ok(Generation::from_events([Event::Error(
                EngineError::WorkerGone,
            )]));
        }
        let logprobs = Logprobs {
            sampled: token("yes", 0.9),
            top_logprobs: vec![token("yes", 0.9), token("no", 0.1)],
        };
        Ok(Generation::from_events([
            Event::Token {
                text: "yes".into(),
                logprobs: vec![logprobs],
            },
            Event::Done(Completion {
                done_reason: DoneReason::Stop,
                prompt_eval_count: 7,
                cached_prompt_tokens: 0,
                prompt_eval_duration_ns: 1000,
                eval_count: 1,
                eval_duration_ns: 2000,
                total_duration_ns: 3000,
                context: vec![1, 2, 3],
                truncated_tokens: 0,
            }),
        ]))
    }

    fn model_name(&self) -> String {
        "fake".into()
    }

    fn label(&self) -> String {
        "fake".into()
    }
}
