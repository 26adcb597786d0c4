//! Request guards in front of every route: the Host-header check against DNS rebinding (when
//! bound to loopback), the `OLLAMA_ORIGINS` allow-list (403 for other origins), the optional
//! bearer key (constant-time compared), and per-endpoint request metrics.

use std::net::IpAddr;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ApiError;
use crate::state::SharedState;

const DEFAULT_ORIGIN_HOSTS: &[&str] = &["localhost", "127.0.0.1", "0.0.0.0"];
const DEFAULT_SCHEMES: &[&str] = &[
    "app://*",
    "file://*",
    "tauri://*",
    "vscode-webview://*",
    "vscode-file://*",
];

/// Every allowed origin pattern: `OLLAMA_ORIGINS` plus Ollama's defaults.
pub fn origin_patterns(extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = extra.to_vec();
    for host in DEFAULT_ORIGIN_HOSTS {
        for scheme in ["http", "https"] {
            out.push(format!("{scheme}://{host}"));
            out.push(format!("{scheme}://{host}:*"));
        }
    }
    out.extend(DEFAULT_SCHEMES.iter().map(|s| s.to_string()));
    out
}

/// Glob match with `*` standing for any run of characters.
pub fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    true
}

fn origin_allowed(patterns: &[String], origin: &str) -> bool {
    patterns.iter().any(|p| glob(p, origin))
}

/// Whether a Host header is acceptable for a loopback-bound server (`hostname`: this machine's
/// name, from the server's configuration).
pub fn host_allowed(host: &str, hostname: Option<&str>) -> bool {
    if host.is_empty() {
        return true;
    }
    let h = match host.strip_prefix('[') {
        Some(r) => r.split(']').next().unwrap_or(""),
        None => host
            .rsplit_once(':')
            .filter(|(h, _)| !h.contains(':'))
            .map_or(host, |(h, _)| h),
    };
    let h = h.to_ascii_lowercase();
    if h == "localhost"
        || h.ends_with(".localhost")
        || h.ends_with(".local")
        || h.ends_with(".internal")
    {
        return true;
    }
    if hostname.is_some_and(|n| n.eq_ignore_ascii_case(&h)) {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_unspecified() || ip.is_link_local()
        }
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
        }
        Err(_) => false,
    }
}

/// The CORS layer answering preflights and adding headers for allowed origins.
pub fn cors(extra: &[String]) -> CorsLayer {
    let patterns = origin_patterns(extra);
    let mut headers = vec![
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::USER_AGENT,
        header::ACCEPT,
        header::HeaderName::from_static("x-requested-with"),
        header::HeaderName::from_static("openai-beta"),
        header::HeaderName::from_static("x-api-key"),
        header::HeaderName::from_static("anthropic-version"),
        header::HeaderName::from_static("anthropic-beta"),
        header::HeaderName::from_static("anthropic-dangerous-direct-browser-access"),
    ];
    for h in [
        "arch",
        "async",
        "custom-poll-interval",
        "helper-method",
        "lang",
        "os",
        "package-version",
        "poll-helper",
        "retry-count",
        "runtime",
        "runtime-version",
        "timeout",
    ] {
        if let Ok(name) = header::HeaderName::from_bytes(format!("x-stainless-{h}").as_bytes()) {
            headers.push(name);
        }
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(|o| origin_allowed(&patterns, o))
        }))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::HEAD,
            Method::OPTIONS,
        ])
        .allow_headers(headers)
}

/// Host, origin and key checks (outermost layer).
pub async fn guard(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let cfg = &st.config;
    if cfg.bind.ip().is_loopback() {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !host_allowed(host, st.config.hostname.as_deref()) {
            return StatusCode::FORBIDDEN.into_response();
        }
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| origin_allowed(&origin_patterns(&cfg.origins), o));
        if !ok {
            return StatusCode::FORBIDDEN.into_response();
        }
    }
    let is_options = req.method() == Method::OPTIONS;
    if let Some(key) = &cfg.api_key {
        let exempt = is_options || req.uri().path() == "/";
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("");
        // Anthropic's clients send the key as `x-api-key`.
        let x_api_key = req
            .headers()
            .get("x-api-key")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let matches = |k: &str| bool::from(k.as_bytes().ct_eq(key.as_bytes()));
        if !exempt && !matches(given) && !matches(x_api_key) {
            return if is_anthropic(req.uri().path()) {
                ApiError::Unauthorized.into_anthropic()
            } else {
                ApiError::Unauthorized.into_response()
            };
        }
    }
    // A declared length over the limit is refused before a byte of the body is read (blob
    // uploads stream to disk and have no limit).
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.body_limit as u64)
        && !req.uri().path().starts_with("/api/blobs/")
    {
        let msg = format!(
            "request body too large: {} bytes declared, the limit is {} bytes; send less, or \
             raise the server's limit (HEARTH_BODY_LIMIT)",
            declared.unwrap_or_default(),
            cfg.body_limit
        );
        let e = ApiError::TooLarge(msg);
        return if is_anthropic(req.uri().path()) {
            e.into_anthropic()
        } else if req.uri().path().starts_with("/v1/") {
            e.into_openai()
        } else {
            e.into_response()
        };
    }
    let mut resp = next.run(req).await;
    if is_options && resp.status() == StatusCode::OK {
        *resp.status_mut() = StatusCode::NO_CONTENT;
    }
    resp
}

/// Whether a path is one of the Anthropic routes, whose errors take Anthropic's shape.
fn is_anthropic(path: &str) -> bool {
    path == "/v1/messages" || path.starts_with("/v1/messages/")
}

/// Count requests by route template and status.
pub async fn track(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    st.metrics.request(&endpoint, resp.status().as_u16());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in [
            "",
            "localhost",
            "localhost:11434",
            "127.0.0.1:11434",
            "[::1]:11434",
            "foo.localhost",
            "box.local",
            "10.0.0.2",
            "0.0.0.0",
        ] {
            assert!(host_allowed(ok, None), "{ok}");
        }
        for bad in [
            "evil.com",
            "evil.com:11434",
            "8.8.8.8",
            "localhost.evil.com",
        ] {
            assert!(!host_allowed(bad, None), "{bad}");
        }
        assert!(host_allowed("MyBox:11434", Some("mybox")));
        assert!(!host_allowed("mybox", Some("otherbox")));
    }

    #[test]
    fn origins() {
        let p = origin_patterns(&[
            "chrome-extension://*".into(),
            "https://app.example.com".into(),
        ]);
        for ok in [
            "http://localhost",
            "http://localhost:3000",
            "https://127.0.0.1:8443",
            "app://x",
            "chrome-extension://abc",
            "https://app.example.com",
        ] {
            assert!(origin_allowed(&p, ok), "{ok}");
        }
        for bad in [
            "http://evil.com",
            "https://app.example.com.evil",
            "http://localhost.evil.com",
        ] {
            assert!(!origin_allowed(&p, bad), "{bad}");
        }
    }
}
