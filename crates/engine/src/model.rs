//! The public handle to a loaded model: load, generate, embed, score continuations, tokenize,
//! render chat.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use crate::embed::Embeddings;
use crate::job::{Command, Job, ScoreJob};
use crate::score::{ScoreRequest, Scoring, MAX_TOP_LOGPROBS};
use crate::template::{ChatMessage, ChatTemplate};
use crate::worker;
use crate::{llama_backend, EngineError, Event, GenerateRequest, Grammar, LoadConfig, Prompt};
use hearth_gguf::GgufInfo;

/// What is known about a loaded model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// The GGUF file.
    pub path: PathBuf,
    /// `general.architecture` (e.g. `llama`, `gemma3`).
    pub architecture: String,
    /// Number of weights.
    pub n_params: u64,
    /// Bytes of weights.
    pub size_bytes: u64,
    /// Context length the model was trained with.
    pub n_ctx_train: u32,
    /// Embedding width.
    pub n_embd: u32,
    /// Vocabulary size.
    pub n_vocab: u32,
    /// Context length of each parallel sequence.
    pub context_length: u32,
    /// Parallel sequences (slots).
    pub parallel: u32,
    /// Threads used for decoding.
    pub threads: u32,
    /// The chat template from `tokenizer.chat_template`, if any.
    pub chat_template: Option<String>,
    /// Everything the GGUF header says (metadata, tensor count, version).
    pub gguf: Arc<GgufInfo>,
}

/// A running generation. Read events until [`Event::Done`] or [`Event::Error`];
/// dropping it cancels the generation within one decode step and frees its KV cells.
/// Fakes build one from scripted events with [`Generation::channel`] or
/// [`Generation::from_events`].
#[derive(Debug)]
pub struct Generation {
    /// Filled by the inference thread, or by hand through [`Generation::channel`].
    pub(crate) rx: tokio_mpsc::UnboundedReceiver<Event>,
}

impl Generation {
    /// The next event (async).
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event, blocking the current thread (not for use inside an async runtime).
    pub fn blocking_next(&mut self) -> Option<Event> {
        self.rx.blocking_recv()
    }
}

struct Inner {
    llama: Arc<LlamaModel>,
    info: ModelInfo,
    template: Option<ChatTemplate>,
    commands: mpsc::Sender<Command>,
    thread: Option<std::thread::JoinHandle<()>>,
    counters: Arc<crate::prompt_cache::Counters>,
    /// Whether the inference thread panicked.
    health: Arc<worker::contain::Health>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            join_off_runtime(thread);
        }
    }
}

/// Wait for a stopping inference thread without blocking async code.
///
/// The last [`Model`] is often dropped on a tokio worker (eviction, keep-alive expiry), where
/// joining would stall every task on that worker for the rest of the current decode step and
/// the freeing of the context. There a short-lived thread does the join. Outside a runtime
/// (a CLI exiting) the join stays synchronous, so everything is freed before `drop` returns.
fn join_off_runtime(thread: std::thread::JoinHandle<()>) {
    if tokio::runtime::Handle::try_current().is_err() {
        let _ = thread.join();
        return;
    }
    let joiner = std::thread::Builder::new()
        .name("hearth-unload".into())
        .spawn(move || {
            let _ = thread.join();
        });
    if let Err(e) = joiner {
        // The handle went with the failed closure: the inference thread runs on, detached,
        // and still stops and frees the model on its own.
        tracing::warn!(error = %e, "cannot start a thread to join the inference thread");
    }
}

/// A loaded model. Clone it freely: every clone talks to the same inference thread,
/// which stops (and frees the model) when the last clone is dropped.
#[derive(Clone)]
pub struct Model {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.inner.info.path)
            .finish()
    }
}

impl Model {
    /// Validate `path` as a GGUF model llama.cpp can run (header and semantic rules), load it through llama.cpp and start its inference thread.
    /// Blocking: call it from a blocking-capable thread.
    pub fn load(path: &Path, config: LoadConfig) -> Result<Model, EngineError> {
        let gguf = Arc::new(hearth_gguf::validate_model(path)?);
        crate::hparams::check(path, &gguf)?;
        let backend = llama_backend::backend()?;
        let params = LlamaModelParams::default().with_n_gpu_layers(config.gpu_layers);
        let llama =
            LlamaModel::load_from_file(backend, path, &params).map_err(|e| EngineError::Load {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let llama = Arc::new(llama);
        let threads = config.threads.unwrap_or_else(crate::physical_cores).max(1);
        // The header was read once already; llama.cpp's `chat_template` reads the same key.
        let chat_template = gguf
            .get_str("tokenizer.chat_template")
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let vocab = llama.vocab();
        let piece = |t: LlamaToken| {
            String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned()
        };
        let template = chat_template
            .as_deref()
            .and_then(|src| ChatTemplate::new(src, &piece(vocab.bos()), &piece(vocab.eos())).ok());

        let (commands, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let worker_model = Arc::clone(&llama);
        let worker_config = config.clone();
        let counters = Arc::new(crate::prompt_cache::Counters::default());
        counters
            .budget
            .store(config.cache_ram_bytes, std::sync::atomic::Ordering::Relaxed);
        let worker_counters = Arc::clone(&counters);
        let health = Arc::new(worker::contain::Health::default());
        let worker_health = Arc::clone(&health);
        let name = format!(
            "hearth-{}",
            path.file_stem()
                .map_or("model".into(), |s| s.to_string_lossy())
        );
        let thread = std::thread::Builder::new()
            .name(name.chars().take(15).collect())
            .spawn(move || {
                worker::run(
                    backend,
                    worker_model,
                    worker_config,
                    threads,
                    rx,
                    ready_tx,
                    worker_counters,
                    worker_health,
                )
            })
            .map_err(|e| EngineError::Context(format!("cannot start inference thread: {e}")))?;
        let context_length = match ready_rx.recv() {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(health.gone());
            }
        };
        let info = ModelInfo {
            path: path.to_owned(),
            architecture: gguf.architecture().unwrap_or("unknown").to_owned(),
            n_params: llama.n_params(),
            size_bytes: llama.size(),
            n_ctx_train: llama.n_ctx_train(),
            n_embd: llama.n_embd().max(0) as u32,
            n_vocab: llama.n_vocab().max(0) as u32,
            context_length,
            parallel: config.parallel.max(1),
            threads,
            chat_template,
            gguf,
        };
        tracing::info!(path = %path.display(), ctx = context_length, parallel = info.parallel, threads, "model loaded");
        Ok(Model {
            inner: Arc::new(Inner {
                llama,
                info,
                template,
                commands,
                thread: Some(thread),
                counters,
                health,
            }),
        })
    }

    /// How this model has reused prompt prefixes (copies between slots, the host-memory cache).
    pub fn prompt_cache(&self) -> crate::PromptCacheStats {
        self.inner.counters.stats()
    }

    /// What is known about this model.
    pub fn info(&self) -> &ModelInfo {
        &self.inner.info
    }

    /// Whether the inference thread still serves. After a panic on it (every request it held
    /// got [`EngineError::Panicked`]) it never will again: drop this model and load it again.
    pub fn is_alive(&self) -> bool {
        self.inner.health.panicked().is_none()
            && self.inner.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Why new work is refused: the panic, or the thread having stopped; `None` while alive.
    fn failure(&self) -> Option<EngineError> {
        (!self.is_alive()).then(|| self.inner.health.gone())
    }

    /// Send a command to the inference thread (tests of its failure handling).
    #[cfg(test)]
    pub(crate) fn send_command(&self, command: Command) {
        let _ = self.inner.commands.send(command);
    }

    /// Start a generation. Errors in the request itself (bad grammar, prompt too long with
    /// `truncate: false`) are returned here; failures while decoding arrive as [`Event::Error`].
    pub fn generate(&self, request: GenerateRequest) -> Result<Generation, EngineError> {
        let received = Instant::now();
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if let Some(n) = request.logprobs {
            if n > 20 {
                return Err(EngineError::InvalidRequest(
                    "top_logprobs must be between 0 and 20".into(),
                ));
            }
        }
        let grammar = request
            .grammar
            .as_ref()
            .map(|g| self.compile_grammar(g))
            .transpose()?;
        let mut tokens = self.prompt_tokens(&request.prompt, true)?;
        if tokens.is_empty() {
            tokens.push(self.inner.llama.vocab().bos());
        }
        let n_ctx = request
            .options
            .num_ctx
            .map_or(self.inner.info.context_length, |n| {
                n.clamp(4, self.inner.info.context_length)
            });
        let truncated = truncate_prompt(&mut tokens, n_ctx, request.truncate)?;
        let (events, rx) = tokio_mpsc::unbounded_channel();
        let job = Job {
            tokens,
            options: request.options,
            grammar,
            logprobs: request.logprobs,
            n_ctx,
            truncated,
            received,
            events,
        };
        self.inner
            .commands
            .send(Command::Generate(Box::new(job)))
            .map_err(|_| self.inner.health.gone())?;
        Ok(Generation { rx })
    }

    /// Embed each input (mean-pooled unless the model says otherwise, L2-normalised).
    /// Inputs longer than the context are cut when `truncate`, refused otherwise. The inference
    /// thread runs them a group at a time, taking turns with generation; dropping the receiver
    /// cancels the rest before the next group.
    pub fn embed(
        &self,
        inputs: &[String],
        truncate: bool,
    ) -> Result<oneshot::Receiver<Result<Embeddings, EngineError>>, EngineError> {
        if let Some(e) = self.failure() {
            return Err(e);
        }
        let limit = self.inner.info.context_length;
        let mut batches = Vec::with_capacity(inputs.len());
        for input in inputs {
            let mut tokens = self.tokenize(input, true);
            if tokens.is_empty() {
                tokens.push(self.inner.llama.vocab().bos());
            }
            if tokens.len() > limit as usize {
                if !truncate {
                    return Err(EngineError::ContextOverflow {
                        tokens: tokens.len(),
                        context: limit,
                    });
                }
                tokens.truncate(limit as usize);
            }
            batches.push(tokens);
        }
        let (reply, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Embed {
                inputs: batches,
                reply,
            })
            .map_err(|_| self.inner.health.gone())?;
        Ok(rx)
    }

    /// Score short continuations of one prefix ([`ScoreRequest`]): the prefix is evaluated once
    /// (not at all when the previous scoring request had the same one; only the rest when it
    /// shared a start) and every continuation is decoded as its own sequence over the prefix's
    /// KV cells, as many as fit in one batch. Request errors (bad token ids, an empty
    /// continuation or candidate, more than 20 top log-probabilities) are returned here; one
    /// that does not fit the context arrives as the result's error.
    pub fn score_continuations(&self, request: ScoreRequest) -> Result<Scoring, EngineError> {
        let received = Instant::now();
        if let Some(e) = self.failure() {
            return Err(e);
        }
        if request.top_logprobs > MAX_TOP_LOGPROBS {
            return Err(EngineError::InvalidRequest(format!(
                "top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}"
            )));
        }
        let mut prefix = self.prompt_tokens(&request.prefix, true)?;
        if prefix.is_empty() {
            prefix.push(self.inner.llama.vocab().bos());
        }
        let continuations = request
            .continuations
            .iter()
            .map(|c| self.prompt_tokens(c, false))
            .collect::<Result<Vec<_>, _>>()?;
        if continuations.iter().any(Vec::is_empty) {
            return Err(EngineError::InvalidRequest(
                "a continuation to score is empty".into(),
            ));
        }
        let candidate_tokens = request
            .candidates
            .iter()
            .map(|c| self.prompt_tokens(c, false))
            .collect::<Result<Vec<_>, _>>()?;
        let candidates = candidate_tokens
            .iter()
            .map(|t| t.first().copied())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| EngineError::InvalidRequest("a candidate token is empty".into()))?;
        let (reply, scoring) = Scoring::channel();
        let job = ScoreJob {
            prefix,
            continuations,
            candidates,
            candidate_tokens: candidate_tokens
                .iter()
                .map(|t| t.iter().map(|t| t.0).collect())
                .collect(),
            token_logprobs: request.token_logprobs,
            top_logprobs: request.top_logprobs,
            received,
            reply,
        };
        self.inner
            .commands
            .send(Command::Score(Box::new(job)))
            .map_err(|_| self.inner.health.gone())?;
        Ok(scoring)
    }

    /// A prompt's tokens (`add_special`: BOS when the model wants one), ids checked.
    fn prompt_tokens(
        &self,
        prompt: &Prompt,
        add_special: bool,
    ) -> Result<Vec<LlamaToken>, EngineError> {
        let tokens = match prompt {
            Prompt::Text(text) => self.tokenize(text, add_special),
            Prompt::Tokens(tokens) => tokens.iter().map(|&t| LlamaToken(t)).collect(),
        };
        let n_vocab = self.inner.info.n_vocab as i32;
        if let Some(bad) = tokens.iter().find(|t| t.0 < 0 || t.0 >= n_vocab) {
            return Err(EngineError::InvalidRequest(format!(
                "token id {} is outside the vocabulary",
                bad.0
            )));
        }
        Ok(tokens)
    }

    /// Tokenize text; `add_special` adds BOS when the model wants one. Special tokens written in
    /// the text (e.g. `<|im_start|>`) are parsed as such.
    pub fn tokenize(&self, text: &str, add_special: bool) -> Vec<LlamaToken> {
        self.inner
            .llama
            .vocab()
            .tokenize(text.as_bytes(), add_special, true)
    }

    /// Token ids as plain integers (for APIs).
    pub fn tokenize_ids(&self, text: &str, add_special: bool) -> Vec<i32> {
        self.tokenize(text, add_special)
            .into_iter()
            .map(|t| t.0)
            .collect()
    }

    /// Tokens back to text (special tokens rendered).
    pub fn detokenize(&self, tokens: &[i32]) -> String {
        let vocab = self.inner.llama.vocab();
        let mut bytes = Vec::new();
        for &t in tokens {
            if t >= 0 && t < self.inner.info.n_vocab as i32 {
                bytes.extend(vocab.token_to_piece(LlamaToken(t), true, None));
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Render a conversation with the model's own chat template (Jinja, through minijinja),
    /// falling back to llama.cpp's built-in templates when the model has none or it fails.
    pub fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        if let Some(template) = &self.inner.template {
            match template.render(messages, tools, add_generation_prompt) {
                Ok(text) => return Ok(text),
                Err(e) => {
                    tracing::warn!(error = %e, "chat template failed; using llama.cpp's built-in")
                }
            }
        }
        self.render_builtin(messages, add_generation_prompt)
    }

    fn render_builtin(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        let llama = &self.inner.llama;
        // A GGUF without a template: pick llama.cpp's built-in one by architecture.
        let builtin = if self.inner.info.architecture.starts_with("gemma") {
            "gemma"
        } else {
            "chatml"
        };
        let template = llama
            .chat_template(None)
            .or_else(|_| llama_cpp_2::model::LlamaChatTemplate::new(builtin).map_err(|_| ()))
            .map_err(|_| EngineError::Template("no chat template available".into()))?;
        let chat = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Template(e.to_string()))?;
        llama
            .apply_chat_template(&template, &chat, add_generation_prompt)
            .map_err(|e| EngineError::Template(e.to_string()))
    }

    /// Turn a grammar request into GBNF and check that llama.cpp accepts it.
    fn compile_grammar(&self, grammar: &Grammar) -> Result<String, EngineError> {
        let gbnf = match grammar {
            Grammar::Gbnf(text) => text.clone(),
            Grammar::Json => JSON_GBNF.to_owned(),
            Grammar::JsonSchema(schema) => crate::grammar::json_schema_gbnf(schema)?,
        };
        LlamaSampler::grammar(&self.inner.llama, &gbnf, "root")
            .map_err(|e| EngineError::Grammar(format!("{e}")))?;
        Ok(gbnf)
    }
}

/// Fit a prompt into `n_ctx` (leaving room to generate): cut from the front, keeping the first token
/// (BOS), or refuse. Returns how many tokens were dropped.
fn truncate_prompt(
    tokens: &mut Vec<LlamaToken>,
    n_ctx: u32,
    truncate: bool,
) -> Result<u32, EngineError> {
    let limit = n_ctx as usize;
    if tokens.len() < limit {
        return Ok(0);
    }
    if !truncate {
        return Err(EngineError::ContextOverflow {
            tokens: tokens.len(),
            context: n_ctx,
        });
    }
    // Like Ollama: keep the head token, drop the oldest tokens so the prompt fills half the context.
    let keep_tail = (limit / 2).max(1);
    let drop = tokens.len() - keep_tail - 1;
    tokens.drain(1..1 + drop);
    Ok(drop as u32)
}

/// A JSON object at the top level, as Ollama's `format: "json"` produces.
pub(crate) const JSON_GBNF: &str = r#"root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt/] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws
ws     ::= | " " | "\n" [ \t]{0,20}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A thread that takes `ms` to stop, and a receiver told when it has.
    fn slow_thread(ms: u64) -> (std::thread::JoinHandle<()>, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            let _ = tx.send(());
        });
        (thread, rx)
    }

    #[test]
    fn joins_synchronously_outside_a_runtime() {
        let (thread, stopped) = slow_thread(200);
        join_off_runtime(thread);
        assert_eq!(
            stopped.try_recv(),
            Ok(()),
            "returned before the thread stopped"
        );
    }

    #[test]
    fn does_not_block_a_runtime_while_joining() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (thread, stopped) = slow_thread(2_000);
        let started = Instant::now();
        runtime.block_on(async { join_off_runtime(thread) });
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "blocked the runtime for {:?}",
            started.elapsed()
        );
        assert!(
            stopped.try_recv().is_err(),
            "the thread cannot have stopped yet"
        );
        // The join still happens, off the runtime.
        assert_eq!(stopped.recv_timeout(Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn short_prompts_are_untouched() {
        let mut t: Vec<_> = (0..10).map(LlamaToken).collect();
        assert_eq!(truncate_prompt(&mut t, 64, false).unwrap(), 0);
        assert_eq!(t.len(), 10);
    }

    #[test]
    fn long_prompts_keep_head_and_recent_tail() {
        let mut t: Vec<_> = (0..100).map(LlamaToken).collect();
        let dropped = truncate_prompt(&mut t, 64, true).unwrap();
        assert_eq!(t.len(), 33);
        assert_eq!(dropped, 67);
        assert_eq!(t[0], LlamaToken(0));
        assert_eq!(*t.last().unwrap(), LlamaToken(99));
    }

    #[test]
    fn long_prompts_are_refused_without_truncation() {
        let mut t: Vec<_> = (0..100).map(LlamaToken).collect();
        let err = truncate_prompt(&mut t, 64, false).unwrap_err();
        assert!(err.to_string().contains("exceeds the context length"));
    }
}
