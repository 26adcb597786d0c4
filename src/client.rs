//! The CLI as a client of a running server at `OLLAMA_HOST`, like the `ollama` CLI:
//! `list`, `ps`, `show`, `stop`, `rm`, `cp`, `create -f Modelfile`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use hearth_ollama_compat::config;
use hearth_store::modelfile;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

/// `hearth show` options.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Model name.
    pub model: String,
    /// Show the Modelfile.
    #[arg(long)]
    pub modelfile: bool,
    /// Show the parameters.
    #[arg(long)]
    pub parameters: bool,
    /// Show the template.
    #[arg(long)]
    pub template: bool,
    /// Show the system prompt.
    #[arg(long)]
    pub system: bool,
    /// Show the licence.
    #[arg(long)]
    pub license: bool,
}

/// `hearth create` options.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Name of the new model.
    pub model: String,
    /// The Modelfile.
    #[arg(short, long, default_value = "Modelfile")]
    pub file: PathBuf,
}

/// What the client asks of the server.
#[derive(Debug)]
pub enum Verb {
    /// `hearth list`.
    List,
    /// `hearth ps`.
    Ps,
    /// `hearth show`.
    Show(ShowArgs),
    /// `hearth stop MODEL`.
    Stop(String),
    /// `hearth rm MODEL...`.
    Rm(Vec<String>),
    /// `hearth cp SRC DST`.
    Cp(String, String),
    /// `hearth create NAME -f Modelfile`.
    Create(CreateArgs),
}

/// The server's base URL from `OLLAMA_HOST`.
pub fn base_url() -> String {
    config::client_base_url(&std::env::var("OLLAMA_HOST").unwrap_or_default())
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new() -> anyhow::Result<Self> {
        Ok(Client {
            http: reqwest::Client::builder().build()?,
            base: base_url(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let resp = req
            .send()
            .await
            .with_context(|| format!("could not connect to a running server at {}", self.base))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let msg = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(text);
        bail!("{msg} ({status})")
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .send(self.http.get(self.url(path)))
            .await?
            .json()
            .await?)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<reqwest::Response> {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }
}

/// Run a client verb.
pub fn run(verb: Verb) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let c = Client::new()?;
        match verb {
            Verb::List => list(&c).await,
            Verb::Ps => ps(&c).await,
            Verb::Show(a) => show(&c, a).await,
            Verb::Stop(m) => {
                c.post("/api/generate", json!({"model": m, "keep_alive": 0}))
                    .await?;
                Ok(())
            }
            Verb::Rm(models) => {
                for m in models {
                    c.send(
                        c.http
                            .delete(c.url("/api/delete"))
                            .json(&json!({ "model": m })),
                    )
                    .await?;
                    println!("deleted '{m}'");
                }
                Ok(())
            }
            Verb::Cp(src, dst) => {
                c.post("/api/copy", json!({"source": src, "destination": dst}))
                    .await?;
                println!("copied '{src}' to '{dst}'");
                Ok(())
            }
            Verb::Create(a) => create(&c, a).await,
        }
    })
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

fn ago(ts: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return ts.to_owned();
    };
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    match secs {
        0..60 => "Less than a minute ago".into(),
        60..3600 => format!("{} minutes ago", secs / 60),
        3600..86400 => format!("{} hours ago", secs / 3600),
        _ => format!("{} days ago", secs / 86400),
    }
}

fn until(ts: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return ts.to_owned();
    };
    let secs = (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    match secs {
        s if s > 100 * 365 * 86400 => "Forever".into(),
        s if s < 60 => "Less than a minute from now".into(),
        s if s < 3600 => format!("{} minutes from now", s / 60),
        s => format!("{} hours from now", s / 3600),
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

async fn list(c: &Client) -> anyhow::Result<()> {
    let tags = c.get("/api/tags").await?;
    println!("{:<32} {:<14} {:<10} MODIFIED", "NAME", "ID", "SIZE");
    for m in tags["models"].as_array().into_iter().flatten() {
        let id: String = str_of(m, "digest").chars().take(12).collect();
        let size = human_size(m["size"].as_u64().unwrap_or(0));
        println!(
            "{:<32} {:<14} {:<10} {}",
            str_of(m, "name"),
            id,
            size,
            ago(str_of(m, "modified_at"))
        );
    }
    Ok(())
}

async fn ps(c: &Client) -> anyhow::Result<()> {
    let ps = c.get("/api/ps").await?;
    println!(
        "{:<32} {:<14} {:<10} {:<10} {:<8} UNTIL",
        "NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT"
    );
    for m in ps["models"].as_array().into_iter().flatten() {
        let id: String = str_of(m, "digest").chars().take(12).collect();
        println!(
            "{:<32} {:<14} {:<10} {:<10} {:<8} {}",
            str_of(m, "name"),
            id,
            human_size(m["size"].as_u64().unwrap_or(0)),
            "100% CPU",
            m["context_length"].as_u64().unwrap_or(0),
            until(str_of(m, "expires_at"))
        );
    }
    Ok(())
}

async fn show(c: &Client, a: ShowArgs) -> anyhow::Result<()> {
    let s: Value = c
        .post("/api/show", json!({ "model": a.model }))
        .await?
        .json()
        .await?;
    let field = if a.modelfile {
        Some("modelfile")
    } else if a.parameters {
        Some("parameters")
    } else if a.template {
        Some("template")
    } else if a.system {
        Some("system")
    } else if a.license {
        Some("license")
    } else {
        None
    };
    if let Some(f) = field {
        println!("{}", str_of(&s, f));
        return Ok(());
    }
    let d = &s["details"];
    let arch = str_of(d, "family");
    let ctx = s["model_info"]
        .get(format!("{arch}.context_length"))
        .and_then(Value::as_u64);
    let emb = s["model_info"]
        .get(format!("{arch}.embedding_length"))
        .and_then(Value::as_u64);
    println!("  Model");
    println!("    {:<20}{}", "architecture", arch);
    println!("    {:<20}{}", "parameters", str_of(d, "parameter_size"));
    if let Some(ctx) = ctx {
        println!("    {:<20}{}", "context length", ctx);
    }
    if let Some(emb) = emb {
        println!("    {:<20}{}", "embedding length", emb);
    }
    println!(
        "    {:<20}{}",
        "quantization",
        str_of(d, "quantization_level")
    );
    println!("\n  Capabilities");
    for cap in s["capabilities"].as_array().into_iter().flatten() {
        println!("    {}", cap.as_str().unwrap_or_default());
    }
    let params = str_of(&s, "parameters");
    if !params.is_empty() {
        println!("\n  Parameters");
        for line in params.lines() {
            println!("    {line}");
        }
    }
    let license = str_of(&s, "license");
    if !license.is_empty() {
        println!("\n  License");
        for line in license.lines().take(2) {
            println!("    {line}");
        }
    }
    Ok(())
}

fn bar(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(msg.to_owned());
    pb
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("opening {}", path.display()))?
        .len();
    let pb = bar(len, "hashing");
    let digest = hearth_store::sha256_file(path, &mut |n| pb.inc(n))
        .with_context(|| format!("reading {}", path.display()))?;
    pb.finish_and_clear();
    Ok(digest.wire())
}

async fn upload(c: &Client, path: &Path, digest: &str) -> anyhow::Result<()> {
    let url = c.url(&format!("/api/blobs/{digest}"));
    let exists = c
        .http
        .head(&url)
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    if exists {
        return Ok(());
    }
    let file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let pb = bar(len, "uploading");
    let pb2 = pb.clone();
    let stream = tokio_util_stream(file).map(move |chunk| {
        if let Ok(b) = &chunk {
            pb2.inc(b.len() as u64);
        }
        chunk
    });
    c.send(c.http.post(url).body(reqwest::Body::wrap_stream(stream)))
        .await?;
    pb.finish_and_clear();
    Ok(())
}

/// A file as a stream of 1 MiB chunks.
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    })
}

async fn create(c: &Client, a: CreateArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let mf = modelfile::parse(&text).map_err(anyhow::Error::msg)?;
    let mut body = json!({ "model": a.model, "stream": true });
    let base_dir = a.file.parent().unwrap_or(Path::new("."));
    let from_path = {
        let p = PathBuf::from(shellexpand_home(&mf.from));
        if p.is_absolute() {
            p
        } else {
            base_dir.join(p)
        }
    };
    if from_path.is_file() {
        let digest = sha256_file(&from_path)?;
        upload(c, &from_path, &digest).await?;
        let file_name = from_path
            .file_name()
            .map_or("model.gguf".into(), |f| f.to_string_lossy().into_owned());
        body["files"] = json!({ file_name: digest });
    } else {
        body["from"] = json!(mf.from);
    }
    if let Some(t) = &mf.template {
        body["template"] = json!(t);
    }
    if let Some(s) = &mf.system {
        body["system"] = json!(s);
    }
    if !mf.parameters.is_empty() {
        body["parameters"] = Value::Object(mf.parameters.clone());
    }
    if !mf.messages.is_empty() {
        body["messages"] = mf
            .messages
            .iter()
            .map(|(r, c)| json!({"role": r, "content": c}))
            .collect();
    }
    if !mf.license.is_empty() {
        body["license"] = json!(mf.license);
    }
    let resp = c.post("/api/create", body).await?;
    let mut lines = resp.bytes_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = lines.next().await {
        buf.extend_from_slice(&chunk?);
        while let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            let v: Value = serde_json::from_slice(&line).unwrap_or(Value::Null);
            if let Some(e) = v.get("error").and_then(Value::as_str) {
                bail!("{e}");
            }
            if let Some(s) = v.get("status").and_then(Value::as_str) {
                eprintln!("{s}");
            }
        }
    }
    Ok(())
}

fn shellexpand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => p.to_owned(),
    }
}
