//! Objects the user commands something of in a verb that names no effect of the tool acting on
//! them ("give Priya the entry notice"): the policy grants such an object's one side-effect tool.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::intent::{objects, rephrased, stems, tables, tokens, verb_position};
use crate::negation::is_negated;

/// Verbs that carry no effect of their own: auxiliaries, modals and the verbs of asking for help
/// ("can you", "I need", "help me"), with the pronouns and particles that can open a clause.
/// [`commanded_objects`] skips them.
const LIGHT_VERBS: &[&str] = &[
    "be", "is", "am", "are", "was", "were", "have", "has", "had", "do", "does", "did", "can",
    "could", "would", "will", "should", "shall", "may", "might", "must", "need", "want", "like",
    "help", "let", "please", "pls", "hey", "hi", "hello", "ok", "okay", "so", "thank", "thanks",
    "try", "go", "make", "get", "keep", "know", "think", "wonder", "see", "what", "which", "who",
    "how", "when", "where", "why", "it", "this", "that", "there", "my", "the", "a", "an", "i",
    "we", "you", "me", "us", "our", "your", "also", "just", "now", "then", "and", "or", "but",
    "if", "not", "no", "yes", "all", "any", "some", "one",
];

/// Objects the user commands something of in an imperative that is neither a read nor a light
/// verb ("give Priya the entry notice" → notice), whether or not the verb is an effect cue: the
/// policy grants the one side-effect tool of such an object, whose effect the verb did not name.
/// Statements ("I filled the tank", "we reviewed it"), past and progressive forms, "tell me" and
/// negated clauses command nothing; the object ends at punctuation, "and", "then", "but" or a
/// negation ("summarize the page but don't email anyone" commands no email).
pub(crate) fn commanded_objects(own: &str) -> HashSet<String> {
    static LIGHT: OnceLock<HashSet<String>> = OnceLock::new();
    let light = LIGHT.get_or_init(|| stems(LIGHT_VERBS));
    let read = &tables().read;
    let text = rephrased(own);
    let toks = tokens(&text);
    let mut out = HashSet::new();
    for (k, (at, w)) in toks.iter().enumerate() {
        let raw = text[*at..]
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let statement = k > 0 && matches!(toks[k - 1].1.as_str(), "i" | "we");
        // "tell me", "show me" ask for an answer.
        let to_me = toks.get(k + 1).is_some_and(|(_, n)| n == "me");
        if read.contains(w)
            || light.contains(w)
            || w.chars().any(|c| c.is_ascii_digit())
            || raw.ends_with("ed")
            || raw.ends_with("ing")
            || statement
            || to_me
            || !verb_position(&text, &toks, k)
            || is_negated(&text[..*at])
        {
            continue;
        }
        let end = text[*at..]
            .find(['.', ',', ';', ':', '!', '?'])
            .map_or(text.len(), |e| at + e);
        let window: Vec<String> = toks[k + 1..]
            .iter()
            .take_while(|(a, t)| {
                *a < end
                    && !matches!(t.as_str(), "and" | "then" | "but")
                    && !is_negated(&text[*at..*a])
            })
            .take(8)
            .map(|(_, t)| t.clone())
            .collect();
        out.extend(objects(&window));
    }
    out
}
