//! NDJSON and SSE bodies straight from a stream of serialisable items: one `serde_json::to_vec`
//! per item, no extra buffering hop.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures::{Stream, StreamExt};
use serde::Serialize;

/// An `application/x-ndjson` response, one JSON object per line.
pub fn ndjson<S, T>(items: S) -> Response
where
    S: Stream<Item = T> + Send + 'static,
    T: Serialize,
{
    let body = items.map(|item| {
        let mut line = serde_json::to_vec(&item).unwrap_or_else(|e| error_line(&e.to_string()));
        line.push(b'\n');
        Ok::<_, std::convert::Infallible>(Bytes::from(line))
    });
    let mut resp = Response::new(Body::from_stream(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    resp
}

/// A `text/event-stream` response: each item becomes `data: <json>\n\n`, then `data: [DONE]`.
pub fn sse<S, T>(items: S) -> Response
where
    S: Stream<Item = T> + Send + 'static,
    T: Serialize,
{
    let events = items
        .map(|item| {
            let json = serde_json::to_vec(&item).unwrap_or_else(|e| error_line(&e.to_string()));
            let mut line = Vec::with_capacity(json.len() + 8);
            line.extend_from_slice(b"data: ");
            line.extend_from_slice(&json);
            line.extend_from_slice(b"\n\n");
            Bytes::from(line)
        })
        .chain(futures::stream::once(async {
            Bytes::from_static(b"data: [DONE]\n\n")
        }))
        .map(Ok::<_, std::convert::Infallible>);
    let mut resp = Response::new(Body::from_stream(events));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

fn error_line(msg: &str) -> Vec<u8> {
    serde_json::json!({ "error": msg }).to_string().into_bytes()
}
