//! Word-overlap evidence between a request and a tool's name, description and parameters: the
//! rules classifier's fallback for tools that no explicit rule covers.

use std::collections::{HashMap, HashSet};

use crate::ToolDefinition;

/// Words that carry no intent (plus generic API verbs that every tool name shares).
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "but",
    "by",
    "can",
    "could",
    "do",
    "does",
    "for",
    "from",
    "give",
    "has",
    "have",
    "he",
    "her",
    "here",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "like",
    "me",
    "my",
    "need",
    "no",
    "not",
    "now",
    "of",
    "on",
    "or",
    "our",
    "out",
    "please",
    "she",
    "should",
    "so",
    "some",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "up",
    "us",
    "want",
    "was",
    "we",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yes",
    "let",
    "know",
    "tell",
    "help",
    "make",
    "get",
    "use",
    "using",
    "used",
    "given",
    "specific",
    "based",
    "provide",
    "provided",
    "return",
    "returns",
    "retrieve",
    "information",
    "info",
    "data",
    "detail",
    "details",
    "value",
    "type",
    "default",
    "optional",
    "required",
    "one",
    "two",
    "also",
    "each",
    "other",
    "new",
    "more",
    "most",
    "many",
    "much",
    "such",
    "only",
    "see",
    "show",
    "find",
    "check",
    "certain",
    "particular",
    "result",
    "results",
    "list",
    "number",
    "name",
    "id",
    "function",
    "tool",
    "api",
    "call",
    "request",
    "user",
    "string",
    "integer",
    "float",
    "dict",
    "array",
    "boolean",
];

/// Weights of the places a word can appear in a tool's text.
const NAME_WEIGHT: f64 = 1.0;
const PARAM_WEIGHT: f64 = 0.5;
const DESCRIPTION_WEIGHT: f64 = 0.6;

/// Lower-case content words of `text`, camelCase and snake_case split, lightly stemmed.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            let w = stem(&cur.to_lowercase());
            if w.len() >= 2
                && !w.chars().all(|c| c.is_ascii_digit())
                && !STOPWORDS.contains(&w.as_str())
            {
                out.push(w);
            }
            cur.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower {
                flush(&mut cur, &mut out);
            }
            prev_lower = c.is_lowercase() || c.is_ascii_digit();
            cur.push(c);
        } else {
            flush(&mut cur, &mut out);
            prev_lower = false;
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// Irregular forms and derived nouns mapped to the word tools use ("spent" → "spend").
const LEMMAS: &[(&str, &str)] = &[
    ("spent", "spend"),
    ("paid", "pay"),
    ("payment", "pay"),
    ("payments", "pay"),
    ("sent", "send"),
    ("bought", "buy"),
    ("wrote", "write"),
    ("written", "write"),
    ("made", "make"),
    ("took", "take"),
    ("gave", "give"),
    ("got", "get"),
    ("did", "do"),
    ("found", "find"),
    ("ran", "run"),
    ("emails", "email"),
    ("e-mail", "email"),
    ("files", "file"),
];

/// Irregular past forms, for telling a report ("I sent it") from an ask ("send it").
const IRREGULAR_PAST: &[&str] = &[
    "sent",
    "bought",
    "paid",
    "sold",
    "gave",
    "told",
    "wrote",
    "made",
    "took",
    "got",
    "put",
    "left",
    "spent",
    "lent",
    "brought",
    "set",
    "shut",
    "kept",
    "won",
    "lost",
    "forgot",
    "forgotten",
    "given",
    "taken",
    "written",
    "done",
    "did",
    "ran",
    "began",
    "chose",
    "chosen",
    "hid",
    "hidden",
    "froze",
    "frozen",
    "rang",
    "shared",
    "split",
    "cut",
];

/// Whether lower-case `w` is a past form: a regular one ("cancelled") or an irregular one
/// ("bought").
pub fn is_past_form(w: &str) -> bool {
    (w.len() > 4 && w.ends_with("ed")) || IRREGULAR_PAST.contains(&w)
}

/// A crude English stemmer: enough to match "emails"/"email", "booking"/"book", "deleted"/"delete",
/// plus a few irregular forms ("spent"/"spend", "paid"/"payment"/"pay").
pub fn stem(w: &str) -> String {
    if !w.is_ascii() {
        return w.to_owned();
    }
    if let Some((_, lemma)) = LEMMAS.iter().find(|(form, _)| *form == w) {
        return (*lemma).to_owned();
    }
    let n = w.len();
    let base = if n > 4 && w.ends_with("ies") {
        format!("{}y", &w[..n - 3])
    } else if n > 5 && w.ends_with("ing") {
        w[..n - 3].to_owned()
    } else if n > 4 && w.ends_with("ed") && !w.ends_with("eed") {
        w[..n - 2].to_owned()
    } else if n > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w[..n - 1].to_owned()
    } else {
        w.to_owned()
    };
    if base.len() > 4 && base.ends_with('e') {
        return base[..base.len() - 1].to_owned();
    }
    base
}

/// The weighted vocabulary of one tool.
#[derive(Debug, Clone, Default)]
pub struct ToolWords {
    weights: HashMap<String, f64>,
}

impl ToolWords {
    /// Vocabulary from a definition: name words weigh most, then description, then parameter names.
    pub fn new(tool: &ToolDefinition) -> Self {
        let mut weights: HashMap<String, f64> = HashMap::new();
        let mut add = |text: &str, weight: f64| {
            for w in words(text) {
                let e = weights.entry(w).or_insert(0.0);
                *e = e.max(weight);
            }
        };
        add(&tool.name, NAME_WEIGHT);
        add(&tool.description, DESCRIPTION_WEIGHT);
        for p in &tool.parameters {
            add(&p.name, PARAM_WEIGHT);
        }
        Self { weights }
    }

    /// Overlap features with a request's word set: (name-word hits weighted, total weighted overlap).
    pub fn overlap(&self, request: &HashSet<String>) -> Overlap {
        let weighted: HashMap<String, f64> = request.iter().map(|w| (w.clone(), 1.0)).collect();
        self.overlap_weighted(&weighted)
    }

    /// Overlap with weighted request words (the user's own words 1.0, added synonyms less). Only
    /// full-weight words count as name hits.
    pub fn overlap_weighted(&self, request: &HashMap<String, f64>) -> Overlap {
        let mut o = Overlap::default();
        for (w, &rw) in request {
            if let Some(&weight) = self.weights.get(w) {
                o.total += weight * rw;
                if weight >= NAME_WEIGHT && rw >= 1.0 {
                    o.name_hits += 1;
                }
            }
        }
        o
    }
}

/// How much of a tool's vocabulary a request uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overlap {
    /// Request words that occur in the tool's name.
    pub name_hits: u32,
    /// Weighted count of shared words.
    pub total: f64,
}

/// The set of a request's content words.
pub fn request_words(request: &str) -> HashSet<String> {
    words(request).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_stems() {
        assert_eq!(words("getWeatherForecast"), ["weather", "forecast"]);
        assert_eq!(
            words("search_emails from Alice"),
            ["search", "email", "alic"]
        );
        assert_eq!(words("Booking flights"), ["book", "flight"]);
        assert_eq!(
            words("spent paid payments emails"),
            ["spend", "pay", "pay", "email"]
        );
    }

    #[test]
    fn name_words_weigh_most() {
        let t = ToolDefinition::new("send_email", "Deliver a message to a recipient", 4)
            .with_param("to", "");
        let tw = ToolWords::new(&t);
        let o = tw.overlap(&request_words("please send this email to Bob"));
        assert_eq!(o.name_hits, 2);
        let o = tw.overlap(&request_words("a message for Bob"));
        assert_eq!(o.name_hits, 0);
        assert!((o.total - DESCRIPTION_WEIGHT).abs() < 1e-9);
    }
}
