//! `hearth run`: answer one prompt or chat interactively with a model loaded in-process.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use hearth_engine::{
    bundled, ChatMessage, Completion, Event, GenerateRequest, LoadConfig, Model, SamplingOptions,
};

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// A bundled model name (e.g. smollm2:135m) or a path to a .gguf file.
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
    /// Context length per sequence.
    #[arg(
        long = "num-ctx",
        env = "OLLAMA_CONTEXT_LENGTH",
        default_value_t = 4096
    )]
    pub num_ctx: u32,
    /// Threads (default: physical cores).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Answer format: "json" constrains the output to a JSON object.
    #[arg(long)]
    pub format: Option<String>,
}

/// Resolve a model argument to a GGUF path: an existing file, or a bundled model name.
pub fn resolve_model(name: &str) -> Result<PathBuf> {
    let path = PathBuf::from(name);
    if path.is_file() {
        return Ok(path);
    }
    if let Some(m) = bundled::find(name) {
        return bundled::locate(m).map_err(Into::into);
    }
    let known: Vec<_> = bundled::all().iter().map(|m| m.name.as_str()).collect();
    bail!(
        "model '{name}' not found: give a path to a .gguf file or one of: {}",
        known.join(", ")
    )
}

pub fn run(args: RunArgs) -> Result<()> {
    let path = resolve_model(&args.model)?;
    let config = LoadConfig {
        num_ctx: args.num_ctx,
        parallel: 1,
        threads: args.threads,
        ..LoadConfig::default()
    };
    let model =
        Model::load(&path, config).with_context(|| format!("loading {}", path.display()))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .context("installing the Ctrl-C handler")?;

    let prompt = args.prompt.join(" ");
    if !prompt.is_empty() {
        return answer(&model, &args, &[user(prompt)], &interrupted).map(|_| ());
    }
    if std::io::stdin().is_terminal() {
        return chat(&model, &args, &interrupted);
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .context("reading the prompt from stdin")?;
    answer(&model, &args, &[user(text)], &interrupted).map(|_| ())
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
fn chat(model: &Model, args: &RunArgs, interrupted: &AtomicBool) -> Result<()> {
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
        let reply = answer(model, args, &history, interrupted)?;
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
    args: &RunArgs,
    messages: &[ChatMessage],
    interrupted: &AtomicBool,
) -> Result<String> {
    let prompt = model.render_chat(messages, None, true)?;
    let mut options = SamplingOptions::default();
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
                    print_timings(&done);
                }
                return Ok(text);
            }
            Event::Error(e) => bail!(e),
        }
    }
    bail!("the model stopped without finishing the answer")
}

fn print_timings(done: &Completion) {
    let rate = |count: u32, ns: u64| {
        if ns == 0 {
            0.0
        } else {
            f64::from(count) / (ns as f64 / 1e9)
        }
    };
    let secs = |ns: u64| ns as f64 / 1e9;
    eprintln!("total duration:       {:.6}s", secs(done.total_duration_ns));
    eprintln!("prompt eval count:    {} token(s)", done.prompt_eval_count);
    eprintln!(
        "prompt eval duration: {:.6}s",
        secs(done.prompt_eval_duration_ns)
    );
    eprintln!(
        "prompt eval rate:     {:.2} tokens/s",
        rate(
            done.prompt_eval_count - done.cached_prompt_tokens,
            done.prompt_eval_duration_ns
        )
    );
    eprintln!("eval count:           {} token(s)", done.eval_count);
    eprintln!("eval duration:        {:.6}s", secs(done.eval_duration_ns));
    eprintln!(
        "eval rate:            {:.2} tokens/s",
        rate(done.eval_count, done.eval_duration_ns)
    );
}
