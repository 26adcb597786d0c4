//! The boundary between HTTP and inference: the server holds `Arc<dyn Loader>` and
//! `Arc<dyn LoadedModel>`, never llama.cpp types, so the router can be unit-tested with a fake.

use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use hearth_engine::{ChatMessage, Embeddings, EngineError, Event, GenerateRequest, LoadConfig};

/// A generation's events; dropping the stream cancels the generation.
pub type EventStream = BoxStream<'static, Event>;

/// What the server needs to know about a loaded model.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedFacts {
    /// Context length of each parallel sequence.
    pub context_length: u32,
    /// Parallel sequences.
    pub parallel: u32,
    /// Bytes of weights in memory.
    pub size_bytes: u64,
    /// Whether the model has a chat template of its own.
    pub has_chat_template: bool,
}

/// One loaded model.
pub trait LoadedModel: Send + Sync + 'static {
    /// Context length, parallelism, size.
    fn facts(&self) -> LoadedFacts;
    /// Start a generation.
    fn generate(&self, request: GenerateRequest) -> Result<EventStream, EngineError>;
    /// Embed inputs (L2-normalised vectors).
    fn embed(
        &self,
        inputs: Vec<String>,
        truncate: bool,
    ) -> BoxFuture<'static, Result<Embeddings, EngineError>>;
    /// Render a conversation with the model's chat template.
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError>;
    /// Token ids of a text (special tokens parsed, no BOS added).
    fn tokenize(&self, text: &str) -> Vec<i32>;
    /// Text of token ids.
    fn detokenize(&self, tokens: &[i32]) -> String;
    /// The generation seam for in-process users such as the capability classifier
    /// (`/api/classify`): the same model, as the engine's [`hearth_engine::Generator`].
    fn generator(&self) -> Arc<dyn hearth_engine::Generator>;
    /// How the model has reused prompt prefixes (zeros for backends without a prompt cache).
    fn prompt_cache(&self) -> hearth_engine::PromptCacheStats {
        hearth_engine::PromptCacheStats::default()
    }
    /// Whether it can still serve; `false` once its inference thread has died (a panic), so
    /// the scheduler unloads it and the next request loads it again.
    fn alive(&self) -> bool {
        true
    }
}

/// Loads models.
pub trait Loader: Send + Sync + 'static {
    /// Load the GGUF at `path`.
    fn load(
        &self,
        path: &Path,
        config: LoadConfig,
    ) -> BoxFuture<'static, Result<Arc<dyn LoadedModel>, EngineError>>;
}

/// The real engine.
#[derive(Debug, Default, Clone, Copy)]
pub struct EngineLoader;

impl Loader for EngineLoader {
    fn load(
        &self,
        path: &Path,
        config: LoadConfig,
    ) -> BoxFuture<'static, Result<Arc<dyn LoadedModel>, EngineError>> {
        let path = path.to_owned();
        Box::pin(async move {
            let model =
                tokio::task::spawn_blocking(move || hearth_engine::Model::load(&path, config))
                    .await
                    .map_err(|e| {
                        EngineError::Context(format!("model loading task failed: {e}"))
                    })??;
            Ok(Arc::new(EngineModel(model)) as Arc<dyn LoadedModel>)
        })
    }
}

struct EngineModel(hearth_engine::Model);

impl LoadedModel for EngineModel {
    fn facts(&self) -> LoadedFacts {
        let info = self.0.info();
        LoadedFacts {
            context_length: info.context_length,
            parallel: info.parallel,
            size_bytes: info.size_bytes,
            has_chat_template: info.chat_template.is_some(),
        }
    }

    fn generate(&self, request: GenerateRequest) -> Result<EventStream, EngineError> {
        let generation = self.0.generate(request)?;
        Ok(Box::pin(futures::stream::unfold(
            generation,
            |mut g| async move { g.next().await.map(|event| (event, g)) },
        )))
    }

    fn embed(
        &self,
        inputs: Vec<String>,
        truncate: bool,
    ) -> BoxFuture<'static, Result<Embeddings, EngineError>> {
        let rx = self.0.embed(&inputs, truncate);
        Box::pin(async move { rx?.await.map_err(|_| EngineError::WorkerGone)? })
    }

    fn render_chat(
        &self,
        messages: &[ChatMessage],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        self.0.render_chat(messages, tools, add_generation_prompt)
    }

    fn tokenize(&self, text: &str) -> Vec<i32> {
        self.0.tokenize_ids(text, false)
    }

    fn detokenize(&self, tokens: &[i32]) -> String {
        self.0.detokenize(tokens)
    }

    fn generator(&self) -> Arc<dyn hearth_engine::Generator> {
        Arc::new(self.0.clone())
    }

    fn prompt_cache(&self) -> hearth_engine::PromptCacheStats {
        self.0.prompt_cache()
    }

    fn alive(&self) -> bool {
        self.0.is_alive()
    }
}

/// Checks a model file before it is loaded in-process. The binary supplies one that loads the
/// file in a short-lived child process first (only it knows its own executable), so a file that
/// aborts llama.cpp kills the child, not the server; it also refuses files known to be bad.
pub trait ModelProbe: Send + Sync + std::fmt::Debug + 'static {
    /// `Ok` to go on and load `path` with `config` in-process; `Err(reason)` refuses the load,
    /// and the request gets a 400 with `reason` as its error.
    fn check(&self, path: &Path, config: &LoadConfig) -> BoxFuture<'static, Result<(), String>>;
}
