//! The `hearth` command line: run models in-process, serve Ollama's API, manage models.

mod bundle;
mod classify;
mod client;
mod eval;
mod hf_env;
mod locations;
mod policy_args;
mod probe;
mod run;
mod serve;
mod supervisor;
mod transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// hearth: GGUF models in-process through llama.cpp, served over Ollama's API.
#[derive(Parser, Debug)]
#[command(name = "hearth", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a model: answer PROMPT, or chat interactively when no PROMPT is given on a terminal.
    Run(run::RunArgs),
    /// Serve Ollama's API (native /api and OpenAI /v1) on OLLAMA_HOST.
    Serve(serve::ServeArgs),
    /// List models (asks the server at OLLAMA_HOST).
    #[command(alias = "ls")]
    List,
    /// List loaded models.
    Ps,
    /// Show a model's details.
    Show(client::ShowArgs),
    /// Unload a model.
    Stop {
        /// Model name.
        model: String,
    },
    /// Delete models.
    Rm {
        /// Model names.
        #[arg(required = true)]
        models: Vec<String>,
    },
    /// Copy a model under a new name.
    Cp {
        /// Existing model.
        source: String,
        /// New name.
        destination: String,
    },
    /// Create a model from a Modelfile.
    Create(client::CreateArgs),
    /// Classify requests into capability tokens (which tools each request may use).
    Classify(classify::ClassifyArgs),
    /// Evaluate the capability classifiers on the labelled dev set.
    EvalClassifier(eval::EvalArgs),
    /// Write one executable that carries models and serves them with nothing else installed.
    Bundle(bundle::BundleArgs),
    /// Write a model to an archive file (for removable media).
    Export(transfer::ExportArgs),
    /// Import a model archive, or a GGUF file as a new model (`--name`).
    Import(transfer::ImportArgs),
    /// Pull a model from a registry (another hearth with `serve --registry`, or Ollama's).
    Pull(transfer::PullArgs),
    /// Serve the local model store as a read-only registry (for `pull --insecure`).
    Registry(transfer::RegistryArgs),
    /// Push a local model to a registry (its name says where: host:port/ns/model:tag).
    Push(transfer::PushArgs),
    /// Load a model file with a tiny context and decode one token (run by `serve` in a child
    /// process before it loads a never-seen file in-process).
    #[command(name = "__probe-model", hide = true)]
    ProbeModel(probe::ProbeArgs),
}

fn main() -> ExitCode {
    if let Err(e) = bundle::activate() {
        eprintln!("Error: {}", one_line(&e));
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::List => client::run(client::Verb::List),
        Command::Ps => client::run(client::Verb::Ps),
        Command::Show(args) => client::run(client::Verb::Show(args)),
        Command::Stop { model } => client::run(client::Verb::Stop(model)),
        Command::Rm { models } => client::run(client::Verb::Rm(models)),
        Command::Cp {
            source,
            destination,
        } => client::run(client::Verb::Cp(source, destination)),
        Command::Create(args) => client::run(client::Verb::Create(args)),
        Command::Classify(args) => classify::run(args),
        Command::EvalClassifier(args) => eval::run(args),
        Command::Bundle(args) => bundle::run(args),
        Command::Export(args) => transfer::export(args),
        Command::Import(args) => transfer::import(args),
        Command::Pull(args) => transfer::pull(args),
        Command::Registry(args) => transfer::serve_registry(args),
        Command::Push(args) => transfer::push(args),
        Command::ProbeModel(args) => probe::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr through `tracing`; `RUST_LOG`/`HEARTH_LOG` choose the level (default: warnings).
/// `HEARTH_LLAMA_LOGS=1` also routes llama.cpp's own logs there.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("HEARTH_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let llama_logs = std::env::var("HEARTH_LLAMA_LOGS").is_ok_and(|v| v == "1" || v == "true");
    hearth_engine::set_llama_logs(llama_logs);
}

/// An error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn an_empty_models_dir_means_the_default() {
        // Ollama treats OLLAMA_MODELS="" as unset; so must every verb that takes the store.
        for verb in ["serve", "bundle", "pull"] {
            let mut args = vec!["hearth", verb, "--models-dir", ""];
            if verb == "bundle" {
                args.extend(["--model", "smollm2:135m", "-o", "x"]);
            }
            if verb == "pull" {
                args.push("smollm2:135m");
            }
            let parsed = Cli::try_parse_from(&args);
            assert!(parsed.is_ok(), "{verb}: {}", parsed.unwrap_err());
        }
    }
}
