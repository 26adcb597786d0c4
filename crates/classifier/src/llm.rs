//! The LLM classifier: grammar-constrained answers on the in-process engine, with confidence read
//! from token probabilities.
//!
//! * [`LlmMode::Scored`] (default): one shared prefix (instructions, the tools asked about, the
//!   request) and one short continuation per tool asked about (`Tool: <name>` / `Needed:`),
//!   scored by the engine in one batched pass over the prefix's KV cells
//!   ([`Generator::score_continuations`]); P(yes) is read from the logits after each
//!   continuation. Every request reuses the cached instructions, and requests that ask about
//!   the same tools of a registry (all of them, for the `llm` method) reuse the tool list. A generator
//!   that cannot score falls back to [`LlmMode::PerTool`].
//! * [`LlmMode::PerTool`]: one prompt per tool, all sharing the instructions, few-shot
//!   turns and the request as a prefix; each generates one grammar-constrained token (`yes`/`no`)
//!   and the engine batches them together. P(yes) comes from the log-probabilities.
//! * [`LlmMode::Json`]: one generation constrained to `{"<tool>":true|false,...}` with exactly the
//!   registry's keys; P(true) is read at each boolean.
//!
//! Risky tools (risk ≥ 4) need [`LlmConfig::risky_threshold`]. Any engine error, timeout or
//! unreadable answer denies every tool.

use std::sync::Arc;
use std::time::Duration;

use hearth_engine::{
    Event, GenerateRequest, Generator, Grammar, Logprobs, Prompt, SamplingOptions, ScoreRequest,
};

use crate::classifier::{BoxFuture, Classifier};
use crate::logprob::{
    binary_probability, candidate_probability, YES_CANDIDATES, YES_NO_CANDIDATES,
};
use crate::score::{logit, sigmoid, token_confidence};
use crate::{grammar, parse, prompt, CapabilityToken, ToolDefinition, ToolRegistry};

/// How the model is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LlmMode {
    /// Every tool asked about scored in one batched pass: one continuation per tool after a
    /// shared, cached prefix holding those tools and the request.
    #[default]
    Scored,
    /// One yes/no generation per tool over a shared cached prefix (batched).
    PerTool,
    /// One constrained JSON object with every tool's boolean.
    Json,
}

/// Turns a raw probability into a calibrated one: σ(scale·logit(p) + bias).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Multiplies the raw logit (temperature scaling).
    pub scale: f64,
    /// Added to the scaled logit (contextual-calibration style bias correction).
    pub bias: f64,
}

impl Default for Calibration {
    /// Centres SmolLM2-135M's P(yes): its mean log-odds is about −2 whatever the tool (BFCL dev
    /// split), so the default bias maps a neutral answer to 0.5.
    fn default() -> Self {
        Self {
            scale: 1.0,
            bias: 2.0,
        }
    }
}

impl Calibration {
    /// No correction.
    pub const IDENTITY: Self = Self {
        scale: 1.0,
        bias: 0.0,
    };

    /// The calibration measured for a model: SmolLM2's (the default, fitted on the BFCL dev
    /// split) for SmolLM2 checkpoints, none for other models. A bias fitted on one model's
    /// answers says nothing about another's: applied to Gemma 3 270M it turned every answer
    /// into a yes.
    pub fn for_model(generator: &dyn Generator) -> Self {
        Self::for_name(&generator.model_name())
    }

    /// The calibration measured for a model's answers in `mode`: [`Calibration::for_name`] for
    /// the per-tool and JSON prompts it was fitted on, none for the scored prompt (no fit yet:
    /// neutral rather than another prompt's).
    pub fn for_mode(name: &str, mode: LlmMode) -> Self {
        match mode {
            LlmMode::PerTool | LlmMode::Json => Self::for_name(name),
            LlmMode::Scored => Self::IDENTITY,
        }
    }

    /// [`Calibration::for_model`] by the model's name ([`Generator::model_name`]: the GGUF's
    /// `general.name`, or its path).
    pub fn for_name(name: &str) -> Self {
        if name.to_ascii_lowercase().contains("smollm2") {
            Self::default()
        } else {
            Self::IDENTITY
        }
    }

    /// Apply to a raw probability.
    pub fn apply(&self, p: f64) -> f64 {
        sigmoid(self.scale * logit(p) + self.bias)
    }
}

/// Settings of the LLM classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Prompting mode.
    pub mode: LlmMode,
    /// Calibrated probability needed to grant a tool with risk ≤ 3.
    pub threshold: f64,
    /// Calibrated probability needed to grant a risky tool (risk ≥ 4).
    pub risky_threshold: f64,
    /// Whole-classification deadline; past it everything is denied.
    pub timeout: Duration,
    /// Include the few-shot turns (per-tool mode).
    pub few_shot: bool,
    /// Calibration of the model's P(yes); `None` uses the one measured for the model and mode
    /// ([`Calibration::for_mode`]).
    pub calibration: Option<Calibration>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            mode: LlmMode::default(),
            threshold: 0.5,
            risky_threshold: 0.7,
            timeout: Duration::from_secs(60),
            few_shot: true,
            calibration: None,
        }
    }
}

impl LlmConfig {
    /// The probability a tool needs to be granted.
    pub fn threshold_for(&self, tool: &ToolDefinition) -> f64 {
        if tool.is_risky() {
            self.risky_threshold
        } else {
            self.threshold
        }
    }
}

/// Why the model gave no usable answer (the classifier then denies everything).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The engine refused or failed the generation.
    #[error("engine: {0}")]
    Engine(#[from] hearth_engine::EngineError),
    /// The answer did not come within the deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The answer could not be read.
    #[error("{0}")]
    Unparseable(String),
}

/// The LLM classifier over one model, reached through the engine's [`Generator`] seam.
#[derive(Clone)]
pub struct LlmClassifier {
    generator: Arc<dyn Generator>,
    label: String,
    config: LlmConfig,
    /// The model's name, which picks its calibration unless the config names one.
    model_name: String,
}

impl std::fmt::Debug for LlmClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClassifier")
            .field("label", &self.label)
            .field("config", &self.config)
            .field("model_name", &self.model_name)
            .finish_non_exhaustive()
    }
}

impl LlmClassifier {
    /// A classifier over `generator` (a loaded [`hearth_engine::Model`], or a fake) with default
    /// settings; its label is the generator's [`Generator::label`] (the model file's stem).
    pub fn new(generator: Arc<dyn Generator>) -> Self {
        let label = generator.label();
        let model_name = generator.model_name();
        Self {
            generator,
            label,
            config: LlmConfig::default(),
            model_name,
        }
    }

    /// Replace the settings.
    #[must_use]
    pub fn with_config(mut self, config: LlmConfig) -> Self {
        self.config = config;
        self
    }

    /// Name the model in `classification_method` (`llm-<label>`).
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// The model's name ([`Generator::model_name`]), which picks its calibration.
    pub fn model_name(&self) -> &str {
        &self.model_name
    }

    /// The settings.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Calibrated P(needed) for the tools at `which` (indices into the registry), in that order.
    pub async fn score(
        &self,
        registry: &ToolRegistry,
        request: &str,
        which: &[usize],
    ) -> Result<Vec<f64>, LlmError> {
        if which.is_empty() {
            return Ok(Vec::new());
        }
        let work = async {
            match self.config.mode {
                LlmMode::Scored if self.generator.can_score() => {
                    self.score_batched(registry, request, which).await
                }
                LlmMode::Scored | LlmMode::PerTool => {
                    self.score_per_tool(registry, request, which).await
                }
                LlmMode::Json => self.score_json(registry, request, which).await,
            }
        };
        let raw = tokio::time::timeout(self.config.timeout, work)
            .await
            .map_err(|_| LlmError::Timeout(self.config.timeout))??;
        let calibration = self
            .config
            .calibration
            .unwrap_or_else(|| Calibration::for_mode(&self.model_name, self.config.mode));
        Ok(raw.into_iter().map(|p| calibration.apply(p)).collect())
    }

    /// Raw P(yes) for the tools at `which` from one scoring call: those tools' lines and the
    /// request as the shared prefix, one continuation per tool.
    async fn score_batched(
        &self,
        registry: &ToolRegistry,
        request: &str,
        which: &[usize],
    ) -> Result<Vec<f64>, LlmError> {
        let messages =
            prompt::scored_messages(request, which.iter().map(|&i| &registry.tools()[i]));
        let prefix = self.generator.render_chat(&messages, None, true)?;
        let continuations = which
            .iter()
            .map(|&i| Prompt::Text(prompt::scored_continuation(&registry.tools()[i])))
            .collect();
        let req = ScoreRequest::new(Prompt::Text(prefix))
            .with_continuations(continuations)
            .with_candidates(&YES_NO_CANDIDATES);
        let scores = self.generator.score_continuations(req)?.wait().await?;
        if scores.continuations.len() != which.len() {
            return Err(LlmError::Unparseable(format!(
                "{} scores for {} tools",
                scores.continuations.len(),
                which.len()
            )));
        }
        tracing::debug!(
            tools = which.len(),
            prefix_evaluated = scores.prefix_evaluated,
            prefix_reused = scores.prefix_reused,
            ms = scores.total_duration_ns / 1_000_000,
            "scored tools in one pass"
        );
        scores
            .continuations
            .iter()
            .zip(which)
            .map(|(c, &i)| {
                candidate_probability(&c.candidates, &scores.candidate_tokens, YES_CANDIDATES)
                    .ok_or_else(|| {
                        LlmError::Unparseable(format!(
                            "neither yes nor no for tool {:?}",
                            registry.tools()[i].name
                        ))
                    })
            })
            .collect()
    }

    async fn score_per_tool(
        &self,
        registry: &ToolRegistry,
        request: &str,
        which: &[usize],
    ) -> Result<Vec<f64>, LlmError> {
        // Submit everything first: the engine batches the sequences and reuses the shared prefix.
        let mut generations = Vec::with_capacity(which.len());
        for &i in which {
            let tool = &registry.tools()[i];
            let messages = prompt::per_tool_messages(request, tool, self.config.few_shot);
            let text = self.generator.render_chat(&messages, None, true)?;
            let req = GenerateRequest {
                prompt: Prompt::Text(text),
                options: SamplingOptions {
                    num_predict: 1,
                    ..SamplingOptions::greedy()
                },
                grammar: Some(Grammar::Gbnf(grammar::YES_NO_GBNF.to_owned())),
                logprobs: Some(20),
                truncate: false,
            };
            generations.push(self.generator.generate(req)?);
        }
        let mut out = Vec::with_capacity(which.len());
        for (generation, &i) in generations.iter_mut().zip(which) {
            let (_, logprobs) = collect(generation).await?;
            let first = logprobs.first().ok_or_else(|| {
                LlmError::Unparseable(format!("no answer for tool {:?}", registry.tools()[i].name))
            })?;
            let p = binary_probability(first, "", "yes", "no").ok_or_else(|| {
                LlmError::Unparseable(format!(
                    "neither yes nor no for tool {:?}",
                    registry.tools()[i].name
                ))
            })?;
            out.push(p);
        }
        Ok(out)
    }

    async fn score_json(
        &self,
        registry: &ToolRegistry,
        request: &str,
        which: &[usize],
    ) -> Result<Vec<f64>, LlmError> {
        let text = self.generator.render_chat(
            &prompt::json_messages(request, registry.tools()),
            None,
            true,
        )?;
        let forced: usize = registry.names().map(|n| n.len() + 8).sum();
        let req = GenerateRequest {
            prompt: Prompt::Text(text),
            options: SamplingOptions {
                num_predict: (forced + 16) as i32,
                ..SamplingOptions::greedy()
            },
            grammar: Some(Grammar::Gbnf(grammar::json_object_gbnf(registry))),
            logprobs: Some(20),
            truncate: false,
        };
        let mut generation = self.generator.generate(req)?;
        let (answer, logprobs) = collect(&mut generation).await?;
        let grants = parse::parse_grants(&answer, registry).map_err(LlmError::Unparseable)?;
        // Byte offset where each boolean starts in the compact answer. The grammar writes the keys
        // in registry order; `grants` follows the JSON map's order (sorted unless serde_json's
        // `preserve_order` is on), so values are looked up by name.
        let values: std::collections::HashMap<&str, bool> =
            grants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let mut offsets = Vec::with_capacity(grants.len());
        let mut at = 1; // "{"
        for (k, name) in registry.names().enumerate() {
            let value = values.get(name).copied().unwrap_or(false);
            at += usize::from(k > 0) + name.len() + 3; // [","] + "\"name\":"
            offsets.push((at, value));
            at += if value { 4 } else { 5 };
        }
        let mut starts = Vec::with_capacity(logprobs.len());
        let mut pos = 0;
        for lp in &logprobs {
            starts.push(pos);
            pos += lp.sampled.bytes.len();
        }
        Ok(which
            .iter()
            .map(|&i| {
                let (offset, value) = offsets[i];
                let j = starts.partition_point(|&s| s <= offset).saturating_sub(1);
                let prefix = answer
                    .get(starts.get(j).copied().unwrap_or(0)..offset)
                    .unwrap_or("");
                logprobs
                    .get(j)
                    .and_then(|lp| binary_probability(lp, prefix, "true", "false"))
                    .unwrap_or(if value { 0.99 } else { 0.01 })
            })
            .collect())
    }

    /// Grant decisions for `scores` over all registry tools (thresholds by risk).
    fn decide(&self, registry: &ToolRegistry, scores: &[f64]) -> Vec<(String, bool)> {
        registry
            .tools()
            .iter()
            .zip(scores)
            .map(|(t, &p)| (t.name.clone(), p >= self.config.threshold_for(t)))
            .collect()
    }
}

/// Read a generation to its end: the text and the per-token log-probabilities.
async fn collect(
    generation: &mut hearth_engine::Generation,
) -> Result<(String, Vec<Logprobs>), LlmError> {
    let mut text = String::new();
    let mut logprobs = Vec::new();
    while let Some(event) = generation.next().await {
        match event {
            Event::Token {
                text: t,
                logprobs: l,
            } => {
                text.push_str(&t);
                logprobs.extend(l);
            }
            Event::Done(_) => return Ok((text, logprobs)),
            Event::Error(e) => return Err(LlmError::Engine(e)),
        }
    }
    Err(LlmError::Unparseable(
        "the generation ended without a result".into(),
    ))
}

impl Classifier for LlmClassifier {
    fn method(&self) -> String {
        format!("llm-{}", self.label)
    }

    fn classify<'a>(
        &'a self,
        registry: &'a ToolRegistry,
        request: &'a str,
    ) -> BoxFuture<'a, CapabilityToken> {
        Box::pin(async move {
            let all: Vec<usize> = (0..registry.len()).collect();
            match self.score(registry, request, &all).await {
                Ok(scores) => {
                    let mut token = CapabilityToken::new(
                        registry,
                        request,
                        self.decide(registry, &scores),
                        token_confidence(scores.iter().copied()),
                        self.method(),
                    );
                    token.scores = registry.names().map(str::to_owned).zip(scores).collect();
                    token
                }
                Err(e) => {
                    tracing::warn!(error = %e, "LLM classification failed; denying every tool");
                    CapabilityToken::deny_all(registry, request, &self.method(), &e.to_string())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{Answer, FakeGenerator};

    fn registry() -> ToolRegistry {
        ToolRegistry::from_tools(vec![
            ToolDefinition::new("read_website", "Fetch a web page by URL", 2),
            ToolDefinition::new("search_emails", "Search the mailbox", 2),
            ToolDefinition::new("send_email", "Send an email", 4),
            ToolDefinition::new("delete_file", "Delete a file", 5),
        ])
        .unwrap()
    }

    /// P(yes) per tool: a low-risk yes, a low-risk no, a risky "maybe" under the risky threshold,
    /// a risky clear yes.
    fn answers() -> Vec<(&'static str, Answer)> {
        vec![
            ("read_website", Answer::P(0.8)),
            ("search_emails", Answer::P(0.3)),
            ("send_email", Answer::P(0.6)),
            ("delete_file", Answer::P(0.9)),
        ]
    }

    fn llm(generator: FakeGenerator, mode: LlmMode) -> LlmClassifier {
        LlmClassifier::new(Arc::new(generator)).with_config(LlmConfig {
            mode,
            timeout: Duration::from_millis(100),
            ..LlmConfig::default()
        })
    }

    #[test]
    fn answers_map_to_grants_by_risk_threshold() {
        for mode in [LlmMode::Scored, LlmMode::PerTool, LlmMode::Json] {
            let generator = Arc::new(FakeGenerator::new(&answers()));
            let c = LlmClassifier::new(generator.clone()).with_config(LlmConfig {
                mode,
                ..LlmConfig::default()
            });
            let token = c.classify_blocking(&registry(), "do the thing");
            assert!(
                !token.is_failure(),
                "{mode:?}: {}",
                token.classification_method
            );
            assert_eq!(token.classification_method, "llm-fake");
            assert_eq!(
                token.granted(),
                ["delete_file", "read_website"],
                "{mode:?} {token:?}"
            );
            assert_eq!(token.granted_tools.len(), 4);
            // The fake's name is not SmolLM2's: no calibration, the scores are its P(yes).
            for (tool, p) in [
                ("read_website", 0.8),
                ("search_emails", 0.3),
                ("send_email", 0.6),
            ] {
                assert!(
                    (token.scores[tool] - p).abs() < 1e-3,
                    "{mode:?} {tool}: {token:?}"
                );
            }
            // The least certain decision: send_email at 0.6.
            assert!((token.confidence - 0.6).abs() < 1e-3, "{mode:?}: {token:?}");
            assert_eq!(
                generator.asked(),
                ["read_website", "search_emails", "send_email", "delete_file"]
            );
        }
    }

    #[test]
    fn calibration_applies_to_the_models_answers() {
        let generator = FakeGenerator::new(&answers());
        let c = llm(generator, LlmMode::PerTool).with_config(LlmConfig {
            calibration: Some(Calibration::default()),
            ..LlmConfig::default()
        });
        let token = c.classify_blocking(&registry(), "x");
        // SmolLM2's +2 bias lifts 0.3 and 0.6 over their thresholds.
        assert_eq!(token.granted().len(), 4, "{token:?}");
        assert!((token.scores["search_emails"] - Calibration::default().apply(0.3)).abs() < 1e-3);
    }

    #[test]
    fn calibration_is_chosen_by_the_models_name() {
        assert_eq!(
            Calibration::for_model(&FakeGenerator::default()),
            Calibration::IDENTITY
        );
        assert_eq!(
            Calibration::for_name("SmolLM2 135M Instruct"),
            Calibration::default()
        );
        assert_eq!(
            Calibration::for_name("Gemma 3 270m It"),
            Calibration::IDENTITY
        );
        // SmolLM2's fit is for the per-tool and JSON prompts, not the scored one.
        let smol = "SmolLM2 135M Instruct";
        assert_eq!(
            Calibration::for_mode(smol, LlmMode::PerTool),
            Calibration::default()
        );
        assert_eq!(
            Calibration::for_mode(smol, LlmMode::Scored),
            Calibration::IDENTITY
        );
    }

    #[test]
    fn the_scored_mode_asks_about_every_tool_in_one_call() {
        let generator = Arc::new(FakeGenerator::new(&answers()));
        let c = LlmClassifier::new(generator.clone());
        assert_eq!(c.config().mode, LlmMode::Scored);
        let token = c.classify_blocking(&registry(), "do the thing");
        assert_eq!(
            token.granted(),
            ["delete_file", "read_website"],
            "{token:?}"
        );
        assert_eq!(generator.score_calls(), 1);
        assert_eq!(generator.asked().len(), 4);
    }

    #[test]
    fn the_scored_prefix_lists_only_the_tools_asked_about() {
        let generator = Arc::new(FakeGenerator::new(&answers()));
        let c = LlmClassifier::new(generator.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let p = runtime
            .block_on(c.score(&registry(), "mail the page", &[0, 2]))
            .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(generator.asked(), ["read_website", "send_email"]);
        let prefix = generator.score_prefixes().pop().unwrap();
        assert!(
            prefix.contains("- read_website (risk=2)") && prefix.contains("- send_email (risk=4)"),
            "{prefix}"
        );
        assert!(
            !prefix.contains("search_emails") && !prefix.contains("delete_file"),
            "{prefix}"
        );
    }

    #[test]
    fn a_generator_that_cannot_score_is_asked_per_tool() {
        let generator = Arc::new(FakeGenerator::new(&answers()).without_scoring());
        let token = LlmClassifier::new(generator.clone()).classify_blocking(&registry(), "x");
        assert!(!token.is_failure(), "{}", token.classification_method);
        assert_eq!(token.granted(), ["delete_file", "read_website"]);
        assert_eq!(generator.score_calls(), 0);
        assert_eq!(generator.asked().len(), 4, "one generation per tool");
    }

    #[test]
    fn any_failure_denies_every_tool() {
        let cases = [
            (Answer::Refuse, "-error: engine:"),
            (Answer::Fail, "-error: engine:"),
            (Answer::Garbage, "-error: neither yes nor no"),
            (Answer::Hang, "-error: timed out"),
        ];
        for mode in [LlmMode::Scored, LlmMode::PerTool, LlmMode::Json] {
            for (answer, why) in cases.clone() {
                let mut script = answers();
                script[1].1 = answer;
                let token =
                    llm(FakeGenerator::new(&script), mode).classify_blocking(&registry(), "x");
                assert!(token.granted().is_empty(), "{mode:?} {why}: {token:?}");
                assert!(token.is_failure() && token.confidence == 0.0);
                let method = &token.classification_method;
                let why = if mode == LlmMode::Json && why.contains("neither") {
                    "-error: unparseable answer"
                } else {
                    why
                };
                assert!(
                    method.starts_with("llm-fake-error: ") && method.contains(why),
                    "{mode:?} {why}: {method}"
                );
            }
        }
    }

    #[test]
    fn unparseable_json_answers_deny_every_tool() {
        for text in [
            "{\"read_website\":true}",
            "{\"read_website\":true,\"search_emails\":true,\"send_email\":true,\"delete_file\":true,\"evil\":true}",
            "not json",
        ] {
            let generator = FakeGenerator::new(&answers()).with_json_text(text);
            let token = llm(generator, LlmMode::Json).classify_blocking(&registry(), "x");
            assert!(token.granted().is_empty() && token.is_failure(), "{text}: {token:?}");
        }
    }
}
