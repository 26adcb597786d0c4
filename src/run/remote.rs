//! `hearth run` as a client: stream `/api/chat` from the server at `OLLAMA_HOST`, like `ollama run`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use hearth_engine::ChatMessage;
use serde_json::{json, Map, Value};

use super::{RunArgs, Timings};

/// How long the probe waits for the server to answer `HEAD /`.
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// A server that answered the probe.
pub struct Remote {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

impl Remote {
    /// Probe `base` with `HEAD /`; `None` when nothing answers in time.
    pub fn probe(base: &str) -> Option<Remote> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let http = reqwest::Client::builder()
            .connect_timeout(PROBE_TIMEOUT)
            .build()
            .ok()?;
        let answered = runtime.block_on(async {
            let head = http.head(format!("{base}/")).timeout(PROBE_TIMEOUT).send();
            matches!(head.await, Ok(r) if r.status().is_success())
        });
        if !answered {
            tracing::debug!(base, "no server answered; running in-process");
            return None;
        }
        Some(Remote {
            runtime,
            http,
            base: base.to_owned(),
        })
    }

    /// Whether the server has `model` (`POST /api/show` succeeds).
    pub fn has_model(&self, model: &str) -> bool {
        self.runtime.block_on(async {
            let show = self
                .http
                .post(format!("{}/api/show", self.base))
                .json(&json!({ "model": model }))
                .timeout(PROBE_TIMEOUT * 4)
                .send();
            matches!(show.await, Ok(r) if r.status().is_success())
        })
    }

    /// Stream one chat answer to stdout; returns its text (what was shown when interrupted).
    pub fn answer(
        &self,
        args: &RunArgs,
        messages: &[ChatMessage],
        interrupted: &AtomicBool,
    ) -> Result<String> {
        let body = request_body(args, messages)?;
        self.runtime
            .block_on(self.stream(body, args.verbose, interrupted))
    }

    async fn stream(&self, body: Value, verbose: bool, interrupted: &AtomicBool) -> Result<String> {
        let send = self
            .http
            .post(format!("{}/api/chat", self.base))
            .json(&body)
            .send();
        let resp = tokio::select! {
            r = send => r.with_context(|| format!("could not reach the server at {}", self.base))?,
            () = until_interrupted(interrupted) => return Ok(String::new()),
        };
        if !resp.status().is_success() {
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            bail!("{} ({status})", error_message(&text));
        }
        let mut bytes = resp.bytes_stream();
        let mut pending: Vec<u8> = Vec::new();
        let mut text = String::new();
        let mut out = std::io::stdout().lock();
        let interrupt = until_interrupted(interrupted);
        tokio::pin!(interrupt);
        loop {
            let chunk = tokio::select! {
                c = bytes.next() => c,
                () = &mut interrupt => {
                    // Dropping the response closes the connection: the server cancels at once.
                    let _ = writeln!(out);
                    return Ok(text);
                }
            };
            let Some(chunk) = chunk else {
                bail!("the server closed the stream before the answer finished");
            };
            pending.extend_from_slice(&chunk.context("reading the answer")?);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let v: Value =
                    serde_json::from_slice(&line).context("the server sent a malformed line")?;
                if let Some(e) = v.get("error").and_then(Value::as_str) {
                    bail!("{e}");
                }
                let piece = v["message"]["content"].as_str().unwrap_or_default();
                if !piece.is_empty() {
                    if out
                        .write_all(piece.as_bytes())
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        // stdout closed (e.g. `| head`): stop quietly.
                        return Ok(text);
                    }
                    text.push_str(piece);
                }
                if v["done"].as_bool() == Some(true) {
                    let _ = writeln!(out);
                    if verbose {
                        Timings::from_chunk(&v).print();
                    }
                    return Ok(text);
                }
            }
        }
    }
}

/// Resolves once Ctrl-C was pressed (the handler only sets the flag).
async fn until_interrupted(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `{"error": ...}` message of an error body, else the body itself.
fn error_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| text.trim().to_owned())
}

/// The `/api/chat` body for the run flags.
fn request_body(args: &RunArgs, messages: &[ChatMessage]) -> Result<Value> {
    let mut options = Map::new();
    if let Some(seed) = args.seed {
        options.insert("seed".into(), json!(seed));
    }
    if let Some(t) = args.temperature {
        options.insert("temperature".into(), json!(t));
    }
    if let Some(n) = args.num_predict {
        options.insert("num_predict".into(), json!(n));
    }
    if let Some(n) = args.num_ctx {
        options.insert("num_ctx".into(), json!(n));
    }
    if let Some(n) = args.threads {
        options.insert("num_thread".into(), json!(n));
    }
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let mut body = json!({"model": args.model, "messages": messages, "stream": true});
    if !options.is_empty() {
        body["options"] = Value::Object(options);
    }
    match args.format.as_deref() {
        None => {}
        Some("json") => body["format"] = json!("json"),
        Some(schema) => {
            let schema: Value = serde_json::from_str(schema)
                .context("--format must be \"json\" or a JSON schema")?;
            body["format"] = schema;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs {
            model: "smollm2:135m".into(),
            prompt: vec![],
            verbose: false,
            seed: Some(7),
            temperature: Some(0.0),
            num_predict: None,
            num_ctx: None,
            threads: None,
            format: Some("json".into()),
        }
    }

    #[test]
    fn body_carries_only_the_given_options() {
        let m = [super::super::user("hi".into())];
        let b = request_body(&args(), &m).unwrap();
        assert_eq!(b["options"], json!({"seed": 7, "temperature": 0.0}));
        assert_eq!(b["format"], "json");
        assert_eq!(b["messages"], json!([{"role": "user", "content": "hi"}]));
        let mut a = args();
        a.format = Some("{not json".into());
        assert!(request_body(&a, &m).is_err());
    }

    #[test]
    fn error_bodies_become_their_message() {
        assert_eq!(
            error_message(r#"{"error":"model \"x\" not found"}"#),
            "model \"x\" not found"
        );
        assert_eq!(error_message("plain\n"), "plain");
    }

    #[test]
    fn nothing_listening_means_no_remote() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(Remote::probe(&format!("http://127.0.0.1:{port}")).is_none());
    }
}
