//! Server configuration and Ollama's environment parsing (`OLLAMA_HOST`, `OLLAMA_ORIGINS`, …).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use crate::scheduler::SchedulerConfig;
use hearth_store::registry::RegistryClient;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// The model store (`OLLAMA_MODELS`).
    pub models_dir: PathBuf,
    /// Read-only model stores (Ollama's layout) consulted after `models_dir`, in order: a bundled
    /// executable's own models, or a store on read-only media. Listed and served, never written,
    /// deleted from or pruned. Empty by default; the binary fills it from `HEARTH_EXTRA_MODELS`.
    pub read_only_models: Vec<PathBuf>,
    /// Scheduler limits.
    pub scheduler: SchedulerConfig,
    /// Extra CORS origins (`OLLAMA_ORIGINS`).
    pub origins: Vec<String>,
    /// This machine's host name, also accepted in the `Host` header (as Ollama does). The binary
    /// sets it from `HOSTNAME` or `/etc/hostname`; `None` accepts only loopback and private names.
    pub hostname: Option<String>,
    /// Optional bearer key.
    pub api_key: Option<String>,
    /// Largest JSON body accepted (blob uploads are not limited).
    pub body_limit: usize,
    /// Remove unreferenced blobs at startup (off with `OLLAMA_NOPRUNE`).
    pub prune: bool,
    /// What `/api/pull` and `/api/push` use to reach a registry. `None`: offline, a pull
    /// succeeds only for a model that is already here and push is refused.
    pub registry_client: Option<Arc<dyn RegistryClient>>,
    /// More routes served next to the API, behind the same guards (the binary mounts the
    /// read-only `/v2/` registry routes here for `hearth serve --registry`). They carry their own
    /// state and must not overlap the API's paths.
    pub extra_routes: Option<axum::Router>,
    /// Serve the built-in web UI under `/ui/` (off with `--no-ui` / `HEARTH_NO_UI`).
    pub ui: bool,
    /// `/v1/responses`: how many responses are kept for `previous_response_id` (0 keeps none).
    pub responses_max: usize,
    /// `/v1/responses`: how long a kept response can be continued.
    pub responses_ttl: std::time::Duration,
}

impl ServerConfig {
    /// Defaults for a store directory.
    pub fn new(models_dir: PathBuf) -> Self {
        ServerConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            models_dir,
            read_only_models: Vec::new(),
            scheduler: SchedulerConfig::default(),
            origins: Vec::new(),
            hostname: None,
            api_key: None,
            body_limit: 64 << 20,
            prune: true,
            registry_client: None,
            extra_routes: None,
            ui: true,
            responses_max: 1024,
            responses_ttl: std::time::Duration::from_secs(3600),
        }
    }
}

/// Ollama's port.
pub const DEFAULT_PORT: u16 = 11434;

/// Parse `OLLAMA_HOST` as Ollama does: `host`, `host:port`, `:port`, `[v6]:port`, `http://…`
/// (port 80), `https://…` (port 443). A bad port falls back to 11434. Returns host and port.
pub fn parse_host(value: &str) -> (String, u16) {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let (scheme_port, rest) = match v.split_once("://") {
        Some(("https", r)) => (443, r),
        Some((_, r)) => (80, r),
        None => (DEFAULT_PORT, v),
    };
    let rest = rest.split('/').next().unwrap_or("");
    let (host, port) = if let Some(r) = rest.strip_prefix('[') {
        match r.split_once(']') {
            Some((h, p)) => (h.to_owned(), p.strip_prefix(':').map(str::to_owned)),
            None => (r.to_owned(), None),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_owned(), Some(p.to_owned())),
            _ => (rest.to_owned(), None),
        }
    };
    let host = if host.is_empty() {
        "127.0.0.1".to_owned()
    } else {
        host
    };
    let port = match port {
        Some(p) => p.parse().unwrap_or(DEFAULT_PORT),
        None => scheme_port,
    };
    (host, port)
}

/// Resolve `OLLAMA_HOST` into a socket address to bind.
pub fn bind_addr(value: &str) -> std::io::Result<SocketAddr> {
    let (host, port) = parse_host(value);
    (host.as_str(), port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("cannot resolve {host}")))
}

/// The base URL a client uses for `OLLAMA_HOST` (`0.0.0.0` becomes `127.0.0.1`).
pub fn client_base_url(value: &str) -> String {
    let v = value.trim();
    let scheme = if v.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    let (host, port) = parse_host(v);
    let host = match host.as_str() {
        "0.0.0.0" | "::" => "127.0.0.1".to_owned(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_owned(),
    };
    format!("{scheme}://{host}:{port}")
}

/// Split `OLLAMA_ORIGINS` (comma-separated, whitespace and quotes trimmed).
pub fn parse_origins(value: &str) -> Vec<String> {
    value
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_host_forms() {
        assert_eq!(parse_host(""), ("127.0.0.1".into(), 11434));
        assert_eq!(parse_host("0.0.0.0"), ("0.0.0.0".into(), 11434));
        assert_eq!(parse_host(":8080"), ("127.0.0.1".into(), 8080));
        assert_eq!(parse_host("example.com:bad"), ("example.com".into(), 11434));
        assert_eq!(parse_host("http://example.com"), ("example.com".into(), 80));
        assert_eq!(
            parse_host("https://example.com/path"),
            ("example.com".into(), 443)
        );
        assert_eq!(parse_host("[::1]:9000"), ("::1".into(), 9000));
        assert_eq!(parse_host("\"127.0.0.1:1234\""), ("127.0.0.1".into(), 1234));
        assert_eq!(client_base_url("0.0.0.0:5000"), "http://127.0.0.1:5000");
    }
}
