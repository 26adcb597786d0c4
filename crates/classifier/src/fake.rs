//! A scripted [`Generator`] for unit tests of the LLM and hybrid classifiers (no model): it reads
//! which tool a prompt (or a scored continuation) asks about and answers as scripted, with the
//! log-probabilities the real engine would report, or fails the way the engine can.

use std::collections::HashMap;
use std::sync::Mutex;

use hearth_engine::{
    ChatMessage, Completion, ContinuationScore, DoneReason, EngineError, Event, GenerateRequest,
    Generation, GenerationSender, Generator, Grammar, Logprobs, Prompt, ScoreRequest, Scores,
    Scoring, TokenLogprob,
};

use crate::grammar::YES_NO_GBNF;

/// How the fake answers about one tool.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A well-formed answer: P(yes) (per-tool) or P(true) (JSON) is this probability.
    P(f64),
    /// `generate` itself fails (a request the engine refuses).
    Refuse,
    /// The generation starts and then fails with [`Event::Error`].
    Fail,
    /// The generation ends without ever answering yes or no.
    Garbage,
    /// The generation never ends (for deadlines).
    Hang,
}

/// One piece of answer text and, for a choice, its two candidates and P(first).
type Piece = (String, Option<(&'static str, &'static str, f64)>);

/// The scripted generator. Every generation is recorded in [`FakeGenerator::asked`].
#[derive(Debug, Default)]
pub struct FakeGenerator {
    answers: HashMap<String, Answer>,
    /// Verbatim answer text in JSON mode (instead of one built from the answers).
    json_text: Option<String>,
    /// The tools asked about, one entry per per-tool generation (all tools for a JSON one).
    asked: Mutex<Vec<String>>,
    /// Senders of hanging generations, kept so they never end.
    hanging: Mutex<Vec<GenerationSender>>,
    /// Senders of hanging scorings, kept so they never end.
    hanging_scores: Mutex<Vec<tokio::sync::oneshot::Sender<Result<Scores, EngineError>>>>,
    /// Calls of `score_continuations`.
    score_calls: Mutex<usize>,
    /// The prefix text of each `score_continuations` call.
    score_prefixes: Mutex<Vec<String>>,
    /// Whether it refuses to score continuations (like generators other than the engine's).
    no_scoring: bool,
}

impl FakeGenerator {
    /// Answer `p` for every tool in `answers`; unknown tools are an unparseable answer.
    pub fn new(answers: &[(&str, Answer)]) -> Self {
        Self {
            answers: answers
                .iter()
                .map(|(n, a)| ((*n).to_owned(), a.clone()))
                .collect(),
            ..Self::default()
        }
    }

    /// Answer JSON-mode prompts with exactly `text`.
    pub fn with_json_text(mut self, text: &str) -> Self {
        self.json_text = Some(text.to_owned());
        self
    }

    /// A fake that cannot score continuations (the classifier then generates per tool).
    pub fn without_scoring(mut self) -> Self {
        self.no_scoring = true;
        self
    }

    /// How many scoring calls were made.
    pub fn score_calls(&self) -> usize {
        *self.score_calls.lock().unwrap()
    }

    /// The prefix text of each scoring call so far, in order.
    pub fn score_prefixes(&self) -> Vec<String> {
        self.score_prefixes.lock().unwrap().clone()
    }

    /// The tools asked about so far, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }

    fn answer(&self, tool: &str) -> Answer {
        self.answers.get(tool).cloned().unwrap_or(Answer::Garbage)
    }

    fn events(&self, pieces: Vec<Piece>) -> Generation {
        let mut events: Vec<Event> = pieces
            .into_iter()
            .map(|(text, choice)| {
                // Like the engine with logprobs on: one entry per token; forced text is certain.
                let logprobs = match choice {
                    Some((first, second, p)) => Logprobs {
                        sampled: token(&text, if text == first { p } else { 1.0 - p }),
                        top_logprobs: vec![token(first, p), token(second, 1.0 - p)],
                    },
                    None => Logprobs {
                        sampled: token(&text, 1.0),
                        top_logprobs: Vec::new(),
                    },
                };
                let logprobs = vec![logprobs];
                Event::Token { text, logprobs }
            })
            .collect();
        events.push(Event::Done(done()));
        Generation::from_events(events)
    }

    fn hang(&self) -> Generation {
        let (tx, generation) = Generation::channel();
        self.hanging.lock().unwrap().push(tx);
        generation
    }

    fn per_tool(&self, prompt: &str) -> Result<Generation, EngineError> {
        // The question's last line names the tool: "Tool: <name>: <description>".
        let tool = prompt
            .rsplit("\nTool: ")
            .next()
            .and_then(|l| l.split(':').next())
            .unwrap_or_default()
            .to_owned();
        self.asked.lock().unwrap().push(tool.clone());
        match self.answer(&tool) {
            Answer::P(p) => {
                let text = if p >= 0.5 { "yes" } else { "no" };
                Ok(self.events(vec![(text.to_owned(), Some(("yes", "no", p)))]))
            }
            Answer::Refuse => Err(refused()),
            Answer::Fail => Ok(Generation::from_events([Event::Error(
                EngineError::WorkerGone,
            )])),
            Answer::Garbage => {
                Ok(self.events(vec![("maybe".to_owned(), Some(("maybe", "perhaps", 0.9)))]))
            }
            Answer::Hang => Ok(self.hang()),
        }
    }

    fn json(&self, prompt: &str) -> Result<Generation, EngineError> {
        // The prompt lists the tools as "- <name> (risk=N): ...", in registry order.
        let tools: Vec<String> = prompt
            .lines()
            .filter_map(|l| l.strip_prefix("- ")?.split(" (risk=").next())
            .map(str::to_owned)
            .collect();
        self.asked.lock().unwrap().extend(tools.iter().cloned());
        if let Some(text) = &self.json_text {
            return Ok(self.events(vec![(text.clone(), None)]));
        }
        let mut pieces = Vec::new();
        for (i, tool) in tools.iter().enumerate() {
            let sep = if i == 0 { "{" } else { "," };
            pieces.push((format!("{sep}\"{tool}\":"), None));
            match self.answer(tool) {
                Answer::P(p) => {
                    let text = if p >= 0.5 { "true" } else { "false" };
                    pieces.push((text.to_owned(), Some(("true", "false", p))));
                }
                Answer::Refuse => return Err(refused()),
                Answer::Fail => {
                    return Ok(Generation::from_events([Event::Error(
                        EngineError::WorkerGone,
                    )]))
                }
                Answer::Garbage => pieces.push(("maybe".to_owned(), None)),
                Answer::Hang => return Ok(self.hang()),
            }
        }
        pieces.push(("}".to_owned(), None));
        Ok(self.events(pieces))
    }
}

fn token(text: &str, p: f64) -> TokenLogprob {
    TokenLogprob {
        token: text.to_owned(),
        logprob: p.max(1e-9).ln() as f32,
        bytes: text.as_bytes().to_vec(),
    }
}

fn refused() -> EngineError {
    EngineError::ContextOverflow {
        tokens: 9000,
        context: 2048,
    }
}

fn done() -> Completion {
    Completion {
        done_reason: DoneReason::Stop,
        prompt_eval_count: 1,
        cached_prompt_tokens: 0,
        prompt_eval_duration_ns: 1,
        eval_count: 1,
        eval_duration_ns: 1,
        total_duration_ns: 2,
        context: Vec::new(),
        truncated_tokens: 0,
    }
}

/// Scripted scores for one continuation: the first yes-like candidate gets P(yes), the first
/// no-like one 1 − P(yes), the others nothing; `None` answers with nothing for either.
fn candidate_scores(candidates: &[String], p: Option<f64>) -> ContinuationScore {
    let (mut yes, mut no) = (false, false);
    let candidates: Vec<f32> = candidates
        .iter()
        .map(|c| {
            let word = c.trim().to_lowercase();
            let q = match p {
                Some(p) if word == "yes" && !std::mem::replace(&mut yes, true) => p,
                Some(p) if word == "no" && !std::mem::replace(&mut no, true) => 1.0 - p,
                _ => 1e-12,
            };
            q.max(1e-12).ln() as f32
        })
        .collect();
    ContinuationScore {
        normalised: candidates.clone(),
        candidates,
        ..ContinuationScore::default()
    }
}

impl Generator for FakeGenerator {
    /// The continuations name the tools ("Tool: <name>\nNeeded:"); each is answered as
    /// scripted, all in one result, or the whole call fails as the first failing tool says.
    fn score_continuations(&self, request: ScoreRequest) -> Result<Scoring, EngineError> {
        if self.no_scoring {
            return Err(EngineError::InvalidRequest("cannot score".into()));
        }
        *self.score_calls.lock().unwrap() += 1;
        let text = |p: &Prompt| match p {
            Prompt::Text(t) => t.clone(),
            Prompt::Tokens(_) => String::new(),
        };
        let candidates: Vec<String> = request.candidates.iter().map(text).collect();
        self.score_prefixes
            .lock()
            .unwrap()
            .push(text(&request.prefix));
        let mut scores = Scores {
            candidate_tokens: (0..candidates.len() as i32).map(|i| vec![i]).collect(),
            ..Scores::default()
        };
        for continuation in &request.continuations {
            let continuation = text(continuation);
            let tool = continuation
                .strip_prefix("Tool: ")
                .and_then(|rest| rest.split('\n').next())
                .unwrap_or_default()
                .to_owned();
            self.asked.lock().unwrap().push(tool.clone());
            let score = match self.answer(&tool) {
                Answer::P(p) => candidate_scores(&candidates, Some(p)),
                Answer::Garbage => candidate_scores(&candidates, None),
                Answer::Refuse => return Err(refused()),
                Answer::Fail => return Ok(Scoring::ready(Err(EngineError::WorkerGone))),
                Answer::Hang => {
                    let (tx, scoring) = Scoring::channel();
                    self.hanging_scores.lock().unwrap().push(tx);
                    return Ok(scoring);
                }
            };
            scores.continuations.push(score);
        }
        Ok(Scoring::ready(Ok(scores)))
    }

    fn can_score(&self) -> bool {
        !self.no_scoring
    }

    /// The last message only: it holds the request and the tool(s) asked about.
    fn render_chat(
        &self,
        messages: &[ChatMessage],
        _tools: Option<&[serde_json::Value]>,
        _add_generation_prompt: bool,
    ) -> Result<String, EngineError> {
        Ok(messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default())
    }

    fn generate(&self, request: GenerateRequest) -> Result<Generation, EngineError> {
        let Prompt::Text(prompt) = &request.prompt else {
            return Err(EngineError::InvalidRequest("expected a text prompt".into()));
        };
        match &request.grammar {
            Some(Grammar::Gbnf(g)) if g == YES_NO_GBNF => self.per_tool(prompt),
            Some(Grammar::Gbnf(_)) => self.json(prompt),
            _ => Err(EngineError::InvalidRequest(
                "the classifier always sends a grammar".into(),
            )),
        }
    }

    fn model_name(&self) -> String {
        "fake".into()
    }

    fn label(&self) -> String {
        "fake".into()
    }
}
