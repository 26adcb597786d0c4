//! hearth's Ollama-compatible HTTP server: Ollama's native `/api/*` endpoints and its OpenAI
//! `/v1/*` layer, served in-process by `hearth-engine`, over Ollama's on-disk model store.
//!
//! The HTTP layer talks to inference only through the [`backend::Loader`] and
//! [`backend::LoadedModel`] traits, so [`routes::router`] can be exercised without sockets or a
//! model; [`server::serve`] binds it with the real engine.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hearth_ollama_compat::{backend::EngineLoader, bundled, config::ServerConfig, server};
//! # async fn run() -> std::io::Result<()> {
//! let config = ServerConfig::new("/tmp/models".into());
//! server::serve(config, Arc::new(EngineLoader), bundled::entries(), server::shutdown_signal()).await
//! # }
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod backend;
pub mod bundled;
pub mod capguard;
pub mod catalog;
pub mod config;
pub mod convert;
pub mod error;
#[cfg(test)]
mod fake;
pub mod gotmpl;
pub mod guard;
pub mod http;
pub mod infer;
pub mod keep_alive;
pub mod metrics;
pub mod modelfile;
pub mod names;
pub mod registry_client;
pub mod routes;
pub mod scheduler;
pub mod server;
pub mod state;
pub mod store;
pub mod tools;
pub mod wire;

pub use config::ServerConfig;
pub use error::ApiError;
pub use registry_client::{RegistryClient, RegistryError};
pub use routes::router;
pub use server::serve;
