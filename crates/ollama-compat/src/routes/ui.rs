//! Mounting the embedded web UI (`hearth-webui`) under `/ui/`. Its files are public, static and
//! carry no data, so they are served without the API key (a browser cannot send a bearer token
//! when it navigates; the page asks for the key and sends it on every API call). The Host check
//! against DNS rebinding and the origin allow-list apply to them exactly as to the API.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::guard::{glob, host_allowed, origin_patterns};
use crate::state::SharedState;

/// `app` with the UI's routes merged in (the API's own routes, fallbacks and layers unchanged).
pub fn mount(app: Router, state: SharedState) -> Router {
    hearth_webui::router::<()>()
        .layer(from_fn_with_state(state, guard))
        .merge(app)
}

/// The Host and origin checks of [`crate::guard::guard`], without the key.
async fn guard(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    if !allowed(&st, &req) {
        return StatusCode::FORBIDDEN.into_response();
    }
    next.run(req).await
}

fn allowed(st: &SharedState, req: &Request) -> bool {
    let cfg = &st.config;
    let get = |name| {
        req.headers()
            .get(name)
            .map(|h| h.to_str().unwrap_or("\u{0}"))
    };
    if cfg.bind.ip().is_loopback()
        && !host_allowed(get(header::HOST).unwrap_or(""), cfg.hostname.as_deref())
    {
        return false;
    }
    match get(header::ORIGIN) {
        Some(origin) => origin_patterns(&cfg.origins)
            .iter()
            .any(|p| glob(p, origin)),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use serde_json::Value;

    use super::super::tests::{app_with, send};

    fn get(uri: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(k, *v);
        }
        req.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn the_page_needs_no_key_but_every_api_call_does() {
        let a = app_with(|c| c.api_key = Some("s3cr3t-ui-key".into()));
        let (s, h, body) = send(&a, get("/ui/", &[])).await;
        assert_eq!(s, StatusCode::OK);
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(String::from_utf8_lossy(&body).contains("<title>hearth</title>"));
        assert_eq!(send(&a, get("/ui/js/api.js", &[])).await.0, StatusCode::OK);
        assert_eq!(
            send(&a, get("/ui/nope.js", &[])).await.0,
            StatusCode::NOT_FOUND
        );
        for path in ["/api/hearth/server", "/api/tags", "/metrics"] {
            assert_eq!(
                send(&a, get(path, &[])).await.0,
                StatusCode::UNAUTHORIZED,
                "{path}"
            );
        }
        let auth = [(header::AUTHORIZATION, "Bearer s3cr3t-ui-key")];
        let (s, _, body) = send(&a, get("/api/hearth/server", &auth)).await;
        assert_eq!(s, StatusCode::OK);
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("s3cr3t"), "the key leaked: {text}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["config"]["api_key"], true);
        assert_eq!(v["config"]["ui"], true);
        assert_eq!(v["config"]["num_parallel"], 4);
        assert!(
            v["backend"]["name"].is_string() && v["version"].is_string(),
            "{v}"
        );
    }

    #[tokio::test]
    async fn host_and_origin_guards_cover_the_ui() {
        let a = app_with(|_| {});
        for (name, value) in [
            (header::HOST, "evil.example"),
            (header::ORIGIN, "http://evil.example"),
        ] {
            let (s, _, _) = send(&a, get("/ui/", &[(name.clone(), value)])).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{name}: {value}");
        }
        let ok = [
            (header::HOST, "127.0.0.1:11434"),
            (header::ORIGIN, "http://127.0.0.1:11434"),
        ];
        assert_eq!(send(&a, get("/ui/app.css", &ok)).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn off_means_404_and_the_root_never_changes() {
        for ui in [true, false] {
            let a = app_with(|c| c.ui = ui);
            let (s, _, body) = send(&a, get("/", &[])).await;
            assert_eq!((s, &body[..]), (StatusCode::OK, &b"Ollama is running"[..]));
            let expect = if ui {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(send(&a, get("/ui/", &[])).await.0, expect);
        }
    }
}
