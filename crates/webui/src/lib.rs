//! hearth's built-in web UI: hand-written HTML, CSS and JavaScript (no build step, no framework,
//! no network) embedded in the binary with `include_bytes!`, served by [`router`] under `/ui/`.
//!
//! The UI talks to the same origin's API only (`/api/*`, `/metrics`, `/api/hearth/server`), so
//! the server's Host/Origin guards and CORS stay as they are. This crate knows nothing of the
//! server: it must not import `hearth-ollama-compat` or the engine; the server mounts it.

mod assets;
mod serve;

pub use assets::{asset, Asset, ASSETS};
pub use serve::{router, PREFIX};
