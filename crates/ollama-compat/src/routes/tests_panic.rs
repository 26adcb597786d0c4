//! A panicking handler answers 500 with Ollama's error shape, and the next request is served.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;

use super::tests::{app_with, send};

#[tokio::test]
async fn a_panicking_handler_gives_500_and_the_server_carries_on() {
    let boom = Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            let depth = std::hint::black_box(3);
            if depth > 2 {
                panic!("too deep: {depth}");
            }
            "unreachable"
        }),
    );
    let a = app_with(|c| c.extra_routes = Some(boom));
    let (s, _, body) = send(&a, Request::get("/boom").body(Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("panicked") && msg.contains("too deep: 3"),
        "{msg}"
    );
    let (s, _, _) = send(
        &a,
        Request::get("/api/version").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}
