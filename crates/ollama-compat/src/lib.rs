//! hearth's Ollama-compatible HTTP server: Ollama's native `/api/*` endpoints and its OpenAI
//! `/v1/*` layer, served in-process by `hearth-engine`, over Ollama's on-disk model store.
//!
//! The HTTP layer talks to inference only through the [`backend::Loader`] and
//! [`backend::LoadedModel`] traits, so [`routes::router`] can be exercised without sockets or a
//! model; [`server::serve`] binds it with the real engine.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hearth_ollama_compat::{backend::EngineLoader, config::ServerConfig, server};
//! # async fn run() -> std::io::Result<()> {
//! let config = ServerConfig::new("/tmp/models".into());
//! let builtin = hearth_store::builtin::catalog_entries(&["models".into()], true);
//! server::serve(config, Arc::new(EngineLoader), builtin, server::shutdown_signal()).await
//! # }
//! ```

pub mod backend;
pub mod capguard;
pub mod classify_request;
pub mod config;
pub mod convert;
pub mod error;
#[cfg(test)]
mod fake;
pub mod guard;
pub mod http;
pub mod infer;
pub mod keep_alive;
pub mod metrics;
pub mod prompt;
pub mod routes;
pub mod scheduler;
pub mod server;
pub mod show_info;
pub mod state;
pub mod tool_choice;
pub mod tools;
pub mod wire;

pub use config::ServerConfig;
pub use error::ApiError;
pub use routes::router;
pub use server::serve;
