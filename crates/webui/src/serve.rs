//! The axum router serving the embedded files under `/ui/`, with a strict Content-Security-Policy
//! (same-origin scripts, styles and fetches only; no inline script can run even if model text
//! ever reached the DOM as HTML).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::assets::asset;

/// Where the server mounts the UI.
pub const PREFIX: &str = "/ui/";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// The UI's routes: `/ui` (redirect), `/ui/` (the page) and `/ui/{*path}` (its files). Generic
/// over the state so the server can merge it into a router of any state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent(PREFIX) }))
        .route("/ui/", get(|| async { respond("") }))
        .route(
            "/ui/{*path}",
            get(|Path(path): Path<String>| async move { respond(&path) }),
        )
}

fn respond(path: &str) -> Response {
    let Some(a) = asset(path) else {
        return (StatusCode::NOT_FOUND, "404 page not found").into_response();
    };
    let mut resp = a.bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str) -> (StatusCode, String, String) {
        let resp = router::<()>()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, ctype, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn serves_the_page_its_files_and_404s() {
        let (s, t, body) = get("/ui/").await;
        assert_eq!(s, StatusCode::OK);
        assert!(t.starts_with("text/html"), "{t}");
        assert!(body.contains("<title>hearth</title>"), "{body}");
        let (s, t, _) = get("/ui/js/chat.js").await;
        assert_eq!(
            (s, t.starts_with("text/javascript")),
            (StatusCode::OK, true)
        );
        assert_eq!(get("/ui/js/nope.js").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get("/ui/../Cargo.toml").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get("/ui").await.0, StatusCode::PERMANENT_REDIRECT);
    }

    #[tokio::test]
    async fn pages_carry_a_strict_csp() {
        let resp = router::<()>()
            .oneshot(Request::get("/ui/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let csp = resp.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    }
}
