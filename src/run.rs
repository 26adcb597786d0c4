//! `hearth run`: answer one prompt or chat interactively, through the server at `OLLAMA_HOST` when
//! one answers (like `ollama run`), else with the model loaded in-process.

mod remote;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use hearth_engine::{
    ChatMessage, Completion, Event, GenerateRequest, LoadConfig, Model, SamplingOptions,
};
use hearth_ollama_compat::convert;
use hearth_ollama_compat::prompt::{self, Modelfile};
use hearth_store::builtin;
use hearth_store::catalog::Catalog;
use hearth_store::names::ModelName;
use hearth_store::Store;

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// A model name (the store's, a bundled executable's, or hearth's bundled smollm2:135m) or a
    /// path to a .gguf file.
    pub model: String,
    /// The prompt; without it, read stdin (or chat interactively on a terminal).
    pub prompt: Vec<String>,
    /// Print Ollama-style timings after the answer (prompt eval rate, eval rate).
    #[arg(long)]
    pub verbose: bool,
    /// Sampling seed (same seed and prompt give the same answer).
    #[arg(long)]
    pub seed: Option<i64>,
    /// Sampling temperature (0 = greedy).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Maximum tokens to generate.
    #[arg(long = "num-predict")]
    pub num_predict: Option<i32>,
    /// Context length per sequence (in-process default 4096; a server uses its own default).
    #[arg(long = "num-ctx", env = "OLLAMA_CONTEXT_LENGTH")]
    pub num_ctx: Option<u32>,
    /// Threads (default: physical cores).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Answer format: "json" constrains the output to a JSON object.
    #[arg(long)]
    pub format: Option<String>,
}

/// What a model argument names: the GGUF, and how its store manifest asks it to be run.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The weights.
    pub path: PathBuf,
    /// Modelfile SYSTEM, TEMPLATE and MESSAGEs (see [`prompt::render`]).
    pub modelfile: Modelfile,
    /// Modelfile PARAMETERs (the command line's options win).
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// Resolve a model argument as `hearth serve` does: an existing `.gguf` file, else a model of the
/// store (`OLLAMA_MODELS`, default `~/.ollama/models`), else of the read-only stores
/// (`HEARTH_EXTRA_MODELS`: a bundled executable's own models), else one of hearth's bundled models.
pub fn resolve_model(name: &str) -> Result<Resolved> {
    let path = PathBuf::from(name);
    if path.is_file() {
        return Ok(Resolved {
            path,
            ..Resolved::default()
        });
    }
    let store = Store::new(crate::locations::models_dir_from_env());
    let catalog = Catalog::new(store, Vec::new()).with_read_only(
        crate::locations::read_only_stores()
            .into_iter()
            .map(Store::new),
    );
    if let Some(n) = ModelName::parse(name) {
        if let Some(r) = catalog.resolve(&n).map_err(|e| anyhow::anyhow!("{e}"))? {
            return Ok(Resolved {
                modelfile: Modelfile::of(&r),
                path: r.model_path,
                params: r.params,
            });
        }
    }
    if let Some(m) = builtin::find(name) {
        return Ok(Resolved {
            path: crate::locations::locate_builtin(m)?,
            ..Resolved::default()
        });
    }
    let mut known: Vec<String> = builtin::all().iter().map(|m| m.name.clone()).collect();
    known.extend(catalog.list().into_iter().map(|r| r.name.display()));
    bail!(
        "model '{name}' not found: give a path to a .gguf file or one of: {}",
        known.join(", ")
    )
}

pub fn run(args: RunArgs) -> Result<()> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("installing the Ctrl-C handler")?;
    // A GGUF path is always run in-process; a name goes to the server when one answers, unless
    // that server lacks a model found here (say, one a bundled executable carries).
    let mut local = None;
    if !std::path::Path::new(&args.model).is_file() {
        if let Some(server) = remote::Remote::probe(&crate::client::base_url()) {
            if server.has_model(&args.model) {
                return converse(&args, &interrupted, |messages| {
                    server.answer(&args, messages, &interrupted)
                });
            }
            match resolve_model(&args.model) {
                Ok(r) => {
                    tracing::info!(model = %args.model, "the server does not have it; running in-process");
                    local = Some(r);
                }
                // Neither has it: let the server say so, as before.
                Err(_) => {
                    return converse(&args, &interrupted, |messages| {
                        server.answer(&args, messages, &interrupted)
                    })
                }
            }
        }
    }
    let resolved = match local {
        Some(r) => r,
        None => resolve_model(&args.model)?,
    };
    let config = LoadConfig {
        num_ctx: args
            .num_ctx
            .or_else(|| convert::param_num_ctx(&resolved.params))
            .unwrap_or(4096),
        parallel: 1,
        threads: args.threads,
        ..LoadConfig::default()
    };
    let path = &resolved.path;
    crate::probe::check_before_cli_load(path, args.threads)
        .map_err(|why| anyhow::anyhow!("cannot load {}: {why}", path.display()))?;
    let model = Model::load(path, config).with_context(|| format!("loading {}", path.display()))?;
    converse(&args, &interrupted, |messages| {
        answer(&model, &resolved, &args, messages, &interrupted)
    })
}

/// One answer for the prompt argument or piped stdin, else an interactive chat on a terminal.
fn converse(
    args: &RunArgs,
    interrupted: &AtomicBool,
    mut answer: impl FnMut(&[ChatMessage]) -> Result<String>,
) -> Result<()> {
    let prompt = args.prompt.join(" ");
    if !prompt.is_empty() {
        return answer(&[user(prompt)]).map(|_| ());
    }
    if std::io::stdin().is_terminal() {
        return chat(args, interrupted, &mut answer);
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .context("reading the prompt from stdin")?;
    answer(&[user(text)]).map(|_| ())
}

fn user(content: String) -> ChatMessage {
    ChatMessage {
        role: "user".into(),
        content,
        ..ChatMessage::default()
    }
}

/// Interactive chat with history; `"""` starts and ends multi-line input, `/bye` quits,
/// Ctrl-C stops the current answer.
fn chat(
    args: &RunArgs,
    interrupted: &AtomicBool,
    answer: &mut dyn FnMut(&[ChatMessage]) -> Result<String>,
) -> Result<()> {
    let stdin = std::io::stdin();
    let mut history: Vec<ChatMessage> = Vec::new();
    let mut lines = stdin.lock().lines();
    eprintln!(
        "Chatting with {} — /bye to quit, \"\"\" for multi-line input, Ctrl-C stops an answer.",
        args.model
    );
    loop {
        eprint!(">>> ");
        interrupted.store(false, Ordering::SeqCst);
        let Some(line) = lines.next() else {
            return Ok(());
        };
        let line = line.context("reading input")?;
        let mut input = line.trim().to_owned();
        if let Some(rest) = input.strip_prefix("\"\"\"") {
            let mut block = vec![rest.to_owned()];
            loop {
                eprint!("... ");
                let Some(next) = lines.next() else { break };
                let next = next.context("reading input")?;
                if let Some(head) = next.strip_suffix("\"\"\"") {
                    block.push(head.to_owned());
                    break;
                }
                block.push(next);
            }
            input = block.join("\n").trim().to_owned();
        }
        match input.as_str() {
            "" => continue,
            "/bye" | "/exit" => return Ok(()),
            "/clear" => {
                history.clear();
                eprintln!("Cleared session context");
                continue;
            }
            _ => {}
        }
        history.push(user(input));
        let reply = answer(&history)?;
        history.push(ChatMessage {
            role: "assistant".into(),
            content: reply,
            ..ChatMessage::default()
        });
    }
}

/// Stream one answer to stdout; returns its text.
fn answer(
    model: &Model,
    resolved: &Resolved,
    args: &RunArgs,
    messages: &[ChatMessage],
    interrupted: &AtomicBool,
) -> Result<String> {
    let prompt = prompt::render(
        &resolved.modelfile,
        model,
        prompt::Request::Session(messages),
    )?;
    let mut options: SamplingOptions = convert::sampling_options(&resolved.params, None)
        .map_err(|e| anyhow::anyhow!("the model's parameters: {e}"))?;
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    if let Some(t) = args.temperature {
        options.temperature = t;
    }
    if let Some(n) = args.num_predict {
        options.num_predict = n;
    }
    let mut request = GenerateRequest::new(prompt).with_options(options);
    match args.format.as_deref() {
        None => {}
        Some("json") => request = request.with_grammar(hearth_engine::Grammar::Json),
        Some(schema) => {
            let schema = serde_json::from_str(schema)
                .context("--format must be \"json\" or a JSON schema")?;
            request = request.with_grammar(hearth_engine::Grammar::JsonSchema(schema));
        }
    }
    let mut stream = model.generate(request)?;
    let mut out = std::io::stdout().lock();
    let mut text = String::new();
    while let Some(event) = stream.blocking_next() {
        if interrupted.load(Ordering::SeqCst) {
            drop(stream);
            writeln!(out).ok();
            return Ok(text);
        }
        match event {
            Event::Token { text: piece, .. } => {
                if out
                    .write_all(piece.as_bytes())
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    // stdout closed (e.g. `| head`): stop quietly.
                    return Ok(text);
                }
                text.push_str(&piece);
            }
            Event::Done(done) => {
                let _ = writeln!(out);
                if args.verbose {
                    Timings::from_completion(&done).print();
                }
                return Ok(text);
            }
            Event::Error(e) => bail!(e),
        }
    }
    bail!("the model stopped without finishing the answer")
}

/// Ollama's `--verbose` statistics, from the engine or from a server's final chunk.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Timings {
    total_ns: u64,
    load_ns: u64,
    prompt_eval_count: u64,
    /// Prompt tokens actually evaluated (the rate's numerator; cached ones excluded).
    prompt_evaluated: u64,
    prompt_eval_ns: u64,
    eval_count: u64,
    eval_ns: u64,
}

impl Timings {
    fn from_completion(done: &Completion) -> Self {
        Timings {
            total_ns: done.total_duration_ns,
            load_ns: 0,
            prompt_eval_count: u64::from(done.prompt_eval_count),
            prompt_evaluated: u64::from(
                done.prompt_eval_count
                    .saturating_sub(done.cached_prompt_tokens),
            ),
            prompt_eval_ns: done.prompt_eval_duration_ns,
            eval_count: u64::from(done.eval_count),
            eval_ns: done.eval_duration_ns,
        }
    }

    /// From the `done: true` chunk of `/api/chat` or `/api/generate`.
    fn from_chunk(v: &serde_json::Value) -> Self {
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        Timings {
            total_ns: n("total_duration"),
            load_ns: n("load_duration"),
            prompt_eval_count: n("prompt_eval_count"),
            prompt_evaluated: n("prompt_eval_count"),
            prompt_eval_ns: n("prompt_eval_duration"),
            eval_count: n("eval_count"),
            eval_ns: n("eval_duration"),
        }
    }

    fn print(&self) {
        let rate = |count: u64, ns: u64| {
            if ns == 0 {
                0.0
            } else {
                count as f64 / (ns as f64 / 1e9)
            }
        };
        let secs = |ns: u64| ns as f64 / 1e9;
        eprintln!("total duration:       {:.6}s", secs(self.total_ns));
        eprintln!("load duration:        {:.6}s", secs(self.load_ns));
        eprintln!("prompt eval count:    {} token(s)", self.prompt_eval_count);
        eprintln!("prompt eval duration: {:.6}s", secs(self.prompt_eval_ns));
        eprintln!(
            "prompt eval rate:     {:.2} tokens/s",
            rate(self.prompt_evaluated, self.prompt_eval_ns)
        );
        eprintln!("eval count:           {} token(s)", self.eval_count);
        eprintln!("eval duration:        {:.6}s", secs(self.eval_ns));
        eprintln!(
            "eval rate:            {:.2} tokens/s",
            rate(self.eval_count, self.eval_ns)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_from_a_final_chunk() {
        let v = serde_json::json!({"done": true, "total_duration": 2_000_000_000u64,
            "load_duration": 5, "prompt_eval_count": 10, "prompt_eval_duration": 500_000_000u64,
            "eval_count": 128, "eval_duration": 1_000_000_000u64});
        let t = Timings::from_chunk(&v);
        assert_eq!(
            (t.eval_count, t.eval_ns, t.load_ns),
            (128, 1_000_000_000, 5)
        );
        assert_eq!(
            Timings::from_chunk(&serde_json::json!({})),
            Timings::default()
        );
    }
}
