//! hearth's inference engine: GGUF models run in-process through llama.cpp.
//!
//! A [`Model`] is a cheap, cloneable, `Send + Sync` handle to one loaded model. Its llama.cpp
//! context lives on one dedicated, named OS thread that serves every request with continuous
//! batching: each step decodes one token for every generating sequence and prefills new prompts
//! in chunks, reusing the longest cached prefix of each slot. [`Model::score_continuations`]
//! scores K short continuations of one prefix in one batch, the prefix evaluated once.
//!
//! ```no_run
//! use hearth_engine::{Event, GenerateRequest, LoadConfig, Model, SamplingOptions};
//! let model = Model::load("models/smollm2-135m.gguf".as_ref(), LoadConfig::default())?;
//! let mut stream = model.generate(GenerateRequest::new("The sky is").with_options(SamplingOptions::greedy()))?;
//! while let Some(event) = stream.blocking_next() {
//!     match event {
//!         Event::Token { text, .. } => print!("{text}"),
//!         Event::Done(done) => println!("\n{} tokens", done.eval_count),
//!         Event::Error(e) => eprintln!("{e}"),
//!     }
//! }
//! # Ok::<(), hearth_engine::EngineError>(())
//! ```

mod embed;
mod error;
mod event;
mod generator;
mod grammar;
mod hparams;
mod job;
mod kv;
mod llama_backend;
mod model;
mod options;
mod prompt_cache;
mod sampler;
mod schedule;
mod score;
mod slot;
mod text;
mod threads;
mod vocab_only;
mod worker;

pub use embed::Embeddings;
pub use error::EngineError;
pub use event::{Completion, DoneReason, Event, Logprobs, TokenLogprob};
pub use generator::{GenerationSender, Generator};
pub use grammar::json_schema_gbnf;
/// Chat templates (the `hearth-template` crate), re-exported under their old path.
pub use hearth_template as template;
pub use llama_backend::set_llama_logs;
pub use model::{Generation, Model, ModelInfo};
pub use options::{FlashAttention, GenerateRequest, Grammar, LoadConfig, Prompt, SamplingOptions};
pub use prompt_cache::PromptCacheStats;
pub use score::{ContinuationScore, ScoreRequest, Scores, Scoring};
pub use template::ChatMessage;
pub use threads::physical_cores;
pub use vocab_only::tokenize_gguf;

/// Which compute backend this build of the engine uses (for labels in benches and logs).
pub fn backend_name() -> &'static str {
    if cfg!(feature = "cuda") {
        "cuda"
    } else if cfg!(feature = "metal") {
        "metal"
    } else if cfg!(feature = "vulkan") {
        "vulkan"
    } else {
        "cpu"
    }
}
