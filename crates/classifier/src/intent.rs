//! Generic intent knowledge for the rules classifier: everyday words mapped to tool vocabulary,
//! the effect verbs a risky tool needs the user to say, and prerequisite reads (the read-only
//! tools a task needs to obtain its inputs).
//!
//! Everything here is a small, explainable table over *words*, not over particular tool names:
//! * [`SYNONYMS`] adds tool vocabulary to a request ("how much did I spend" also speaks of
//!   transactions and payments), at a lower weight than the user's own words;
//! * [`EFFECTS`] says which request words ask for the effect of a risky tool's verb (`send_*`
//!   needs "send", "pay", "email", …; `delete_*` needs "delete", "remove", …). A risky tool that
//!   only word overlap supports is not granted when the user's own, non-negated words never ask
//!   for its effect;
//! * [`prerequisites`] grants low-risk read tools a granted task depends on: the read/list tool
//!   of the object a granted tool changes ("reschedule the meeting" → list/find events), and the
//!   read tools for files when the request names a file ("pay the bill in bill.pdf").

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;

use crate::lexical::{stem, words};
use crate::negation::is_negated;
use crate::score::ToolScore;
use crate::vocabulary::{
    CHANGE_VERBS, EFFECTS, FILE_OBJECTS, NOUN_CUES, OBJECT_GROUPS, PHRASES, P_PREREQUISITE,
    READ_VERBS, SYNONYMS, SYNONYM_WEIGHT,
};
use crate::ToolDefinition;

/// Lower-case, stemmed word tokens of `text` with their byte offsets (no stopword filter).
pub(crate) fn tokens(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push((s, stem(&text[s..i].to_lowercase())));
        }
    }
    out
}

pub(crate) fn stems(list: &[&str]) -> HashSet<String> {
    list.iter().map(|w| stem(w)).collect()
}

/// The fixed word tables above, stemmed once: every request and tool is compared with them.
pub(crate) struct Tables {
    pub(crate) read: HashSet<String>,
    change: HashSet<String>,
    file_objects: HashSet<String>,
    /// Words [`objects`] drops: the read and change verbs and generic words.
    object_skip: HashSet<String>,
    /// [`OBJECT_GROUPS`]; the first word of each names the group.
    groups: Vec<Vec<String>>,
    /// [`EFFECTS`]' verbs and cues, in its order.
    effects: Vec<(HashSet<String>, HashSet<String>)>,
    /// [`SYNONYMS`]: everyday words and the tool words they add.
    synonyms: Vec<(Vec<String>, Vec<String>)>,
}

pub(crate) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let list = |l: &[&str]| l.iter().map(|w| stem(w)).collect::<Vec<_>>();
        let read = stems(READ_VERBS);
        let change = stems(CHANGE_VERBS);
        let generic = [
            "all", "by", "to", "from", "the", "a", "of", "for", "my", "new", "info", "detail",
            "details", "list",
        ];
        let object_skip = read
            .iter()
            .chain(&change)
            .cloned()
            .chain(generic.map(stem))
            .collect();
        Tables {
            object_skip,
            read,
            change,
            file_objects: stems(FILE_OBJECTS),
            groups: OBJECT_GROUPS.iter().map(|g| list(g)).collect(),
            effects: EFFECTS.iter().map(|(v, c)| (stems(v), stems(c))).collect(),
            synonyms: SYNONYMS.iter().map(|(e, t)| (list(e), list(t))).collect(),
        }
    })
}

/// Name words of a tool, camelCase/snake_case split and stemmed (stopwords kept: "get", "list").
pub(crate) fn name_words(tool: &ToolDefinition) -> Vec<String> {
    let spaced: String = tool
        .name
        .rsplit('.')
        .next()
        .unwrap_or(&tool.name)
        .chars()
        .flat_map(|c| {
            if c.is_uppercase() {
                vec![' ', c]
            } else {
                vec![c]
            }
        })
        .collect();
    tokens(&spaced)
        .into_iter()
        .map(|(_, w)| w)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

/// The request's content words with weights: the user's own words 1.0, synonyms [`SYNONYM_WEIGHT`].
pub fn weighted_request_words(request: &str) -> HashMap<String, f64> {
    let own = words(request);
    let mut out: HashMap<String, f64> = own.iter().map(|w| (w.clone(), 1.0)).collect();
    let mut all: HashSet<String> = tokens(request).into_iter().map(|(_, w)| w).collect();
    // A time of day ("the 3pm", "at 10:30") speaks of something scheduled.
    if all.iter().any(|w| is_clock_time(w)) {
        all.insert(stem("appointment"));
    }
    for (everyday, tool_words) in &tables().synonyms {
        if everyday.iter().any(|w| all.contains(w)) {
            for t in tool_words {
                out.entry(t.clone()).or_insert(SYNONYM_WEIGHT);
            }
        }
    }
    out
}

/// Whether a token is a time of day: "3pm", "10am" (a "10:30" is split into two numbers and is
/// not counted).
fn is_clock_time(w: &str) -> bool {
    let digits = w.trim_end_matches("am").trim_end_matches("pm");
    digits.len() < w.len()
        && (1..=2).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
}

/// Whether the user's own words (not negated) ask for an effect of `tool`'s verbs. Tools whose
/// names carry no known effect verb are not restricted (`true`).
pub fn effect_requested(tool: &ToolDefinition, own: &str) -> bool {
    effect_classes(tool).is_empty() || cue_said(tool, own)
}

/// Whether the effect `tool` has is asked for, but of an object another tool of the same effect
/// names and `tool` does not ("book the hotel" asks `reserve_hotel`, not `book_flight`).
pub fn other_object_named(tool: &ToolDefinition, tools: &[ToolDefinition], own: &str) -> bool {
    let classes = effect_classes(tool);
    if classes.is_empty() {
        return false;
    }
    let mut said: Vec<String> = tokens(own).into_iter().map(|(_, w)| w).collect();
    said.extend(weighted_request_words(own).into_keys());
    let said = objects(&said);
    let own_objects = objects(name_words(tool).get(1..).unwrap_or_default());
    if !own_objects.is_disjoint(&said) {
        return false;
    }
    // A bare ask ("lock up", "commit it") points at no other object.
    if bare_cue(tool, own, tools) {
        return false;
    }
    tools
        .iter()
        .filter(|u| u.name != tool.name && !is_read(u))
        .any(|u| {
            let n = name_words(u);
            n.len() > 1
                && effect_classes(u).iter().any(|c| classes.contains(c))
                && !objects(n.get(1..).unwrap_or_default()).is_disjoint(&said)
        })
}

/// Whether some cue of `tool`'s effect stands without an object in its clause: no object word of
/// any side-effect tool of the same effect follows it before the clause ends ("lock up and arm
/// the alarm": "lock" names no object; "arm" names the alarm).
pub(crate) fn bare_cue(tool: &ToolDefinition, own: &str, tools: &[ToolDefinition]) -> bool {
    let classes = effect_classes(tool);
    let rivals: HashSet<String> = tools
        .iter()
        .filter(|u| !is_read(u) && effect_classes(u).iter().any(|c| classes.contains(c)))
        .flat_map(|u| objects(name_words(u).get(1..).unwrap_or_default()))
        .collect();
    let cues = cues_said(tool, own);
    let toks = tokens(own);
    toks.iter().enumerate().any(|(k, (at, w))| {
        if !cues.contains(w) {
            return false;
        }
        let end = own[*at..]
            .find(['.', ',', ';', ':', '!', '?'])
            .map_or(own.len(), |e| at + e);
        let window: Vec<String> = toks[k + 1..]
            .iter()
            .take_while(|(a, t)| *a < end && t != "and" && t != "then")
            .take(5)
            .map(|(_, t)| t.clone())
            .collect();
        objects(&window).is_disjoint(&rivals)
    })
}

/// Indices into [`EFFECTS`] of the effects `tool`'s name asks for.
pub(crate) fn effect_classes(tool: &ToolDefinition) -> Vec<usize> {
    let names = name_words(tool);
    let effects = &tables().effects;
    // The tool's own verb (its first name word) decides when it is a known effect verb
    // (`update_scheduled_payment` is an update, not a payment); otherwise any name word does.
    let matching = |words: &[String]| -> Vec<usize> {
        (0..effects.len())
            .filter(|&i| words.iter().any(|w| effects[i].0.contains(w)))
            .collect()
    };
    // A light verb before an effect verb defers to it (`start_return` returns, `request_refund` refunds).
    let light = [
        "start", "make", "do", "perform", "initiate", "request", "submit", "issue",
    ];
    if names.len() > 1 && light.contains(&names[0].as_str()) {
        let second = matching(&names[1..2]);
        if !second.is_empty() {
            return second;
        }
    }
    let mut classes = matching(names.get(..1).unwrap_or_default());
    if classes.is_empty() {
        classes = matching(&names);
    }
    // A description that opens with a list of verbs ("Create, change or delete a DNS record",
    // "Add or replace an insurance plan") has each of their effects.
    let listed = description_verbs(&tool.description);
    if listed.len() > 1 {
        for c in matching(&listed) {
            if !classes.contains(&c) {
                classes.push(c);
            }
        }
    }
    classes
}

/// The verbs a description opens with when it lists several ("Create, change or delete ..."
/// → create, change, delete), stemmed; a single opening word is returned alone.
fn description_verbs(description: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^\s*([A-Za-z]+)((?:\s*,\s*[A-Za-z]+)*)(?:,?\s+(?:or|and)\s+([A-Za-z]+))?\b")
            .expect("description verbs")
    });
    let Some(m) = re.captures(description) else {
        return Vec::new();
    };
    let mut out = vec![stem(&m[1].to_lowercase())];
    if let Some(rest) = m.get(2) {
        out.extend(
            rest.as_str()
                .split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(|w| stem(&w.to_lowercase())),
        );
    }
    if let Some(last) = m.get(3) {
        out.push(stem(&last.as_str().to_lowercase()));
    }
    out
}

fn cue_said(tool: &ToolDefinition, own: &str) -> bool {
    !cues_said(tool, own).is_empty()
}

/// The (stemmed) words of `own` that ask for an effect of `tool`.
pub(crate) fn cues_said(tool: &ToolDefinition, own: &str) -> Vec<String> {
    cues(tool, own, false)
}

/// Whether `own` names an effect of `tool` only to refuse it ("don't delete it").
pub(crate) fn effect_refused(tool: &ToolDefinition, own: &str) -> bool {
    !cues(tool, own, true).is_empty()
}

/// Whether token `k` of `own` is a verb in the past, told of by its subject ("the lamp I bought",
/// "I already paid", "texts I never sent"): a report of what happened, not an ask.
fn narrated(own: &str, toks: &[(usize, String)], k: usize) -> bool {
    /// Words a reported past verb follows: its subject, a perfect's auxiliary, an adverb.
    const BEFORE_REPORTED: &[&str] = &[
        "i", "we", "he", "she", "they", "ve", "had", "has", "have", "already", "just", "never",
    ];
    let (Some((at, _)), Some((_, before))) =
        (toks.get(k), k.checked_sub(1).and_then(|j| toks.get(j)))
    else {
        return false;
    };
    let raw: String = own[*at..]
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect();
    BEFORE_REPORTED.contains(&before.as_str()) && crate::lexical::is_past_form(&raw.to_lowercase())
}

/// The cues of `tool`'s effect in `own`, verbs only: the negated ones when `negated`, else
/// the others.
fn cues(tool: &ToolDefinition, own: &str, negated: bool) -> Vec<String> {
    let effects = &tables().effects;
    let classes = effect_classes(tool);
    let own = rephrased(own);
    let own = own.as_str();
    let toks = tokens(own);
    toks.iter()
        .enumerate()
        .filter(|(k, (at, w))| {
            // "tell me ..." and "let me ..." ask for an answer, not a message.
            let to_me = matches!(w.as_str(), "tell" | "let" | "ask" | "show")
                && toks.get(k + 1).is_some_and(|(_, n)| n == "me");
            // "which messages", "the white text" ask for nothing; nor does "the lamp I bought".
            let noun = noun_cues().contains(w) && !verb_position(own, &toks, *k);
            !to_me
                && !noun
                && !narrated(own, &toks, *k)
                && classes.iter().any(|&i| effects[i].1.contains(w))
                && is_negated(&own[..*at]) == negated
        })
        .map(|(_, (_, w))| w.clone())
        .collect()
}

/// Whether some cue of `tool`'s effect in `own` is used as a verb. A cue that is also one of the
/// tool's `objects` ("the unread emails", "my rent payment") is read as a noun unless it stands
/// where an imperative does: first in a clause, or after "please", "to", "and", "then", "you"
/// ("email Bob the notes", "buy the top result", "I need to email her").
pub(crate) fn asked_by_verb(
    tool: &ToolDefinition,
    own: &str,
    tool_objects: &HashSet<String>,
) -> bool {
    let cues: HashSet<String> = cues_said(tool, own).into_iter().collect();
    if cues.is_empty() {
        return false;
    }
    let text = rephrased(own);
    let toks = tokens(&text);
    toks.iter().enumerate().any(|(k, (at, w))| {
        if !cues.contains(w) {
            return false;
        }
        if objects(std::slice::from_ref(w)).is_disjoint(tool_objects) && !noun_cues().contains(w) {
            return true;
        }
        // "Emails from Alice this week?" asks nothing.
        if text[*at..]
            .split(['.', '!', ';'])
            .next()
            .is_some_and(|c| c.contains('?'))
        {
            return false;
        }
        verb_position(&text, &toks, k)
    })
}

/// Whether token `k` of `text` stands where an imperative does: first in a clause, or after
/// "please", "to", "and", "then", "you", ...
pub(crate) fn verb_position(text: &str, toks: &[(usize, String)], k: usize) -> bool {
    const BEFORE_VERB: &[&str] = &[
        "please", "pls", "to", "and", "then", "you", "also", "just", "now", "go", "ahead", "lets",
        "let's", "i", "we", "kindly",
    ];
    let at = toks[k].0;
    let clause_start = text[..at]
        .trim_end()
        .chars()
        .last()
        .is_none_or(|c| matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '(' | '-'));
    clause_start || (k > 0 && BEFORE_VERB.iter().any(|b| stem(b) == toks[k - 1].1))
}

fn noun_cues() -> &'static HashSet<String> {
    static CUES: OnceLock<HashSet<String>> = OnceLock::new();
    CUES.get_or_init(|| stems(NOUN_CUES))
}

/// `own` with the multi-word asks of [`PHRASES`] spelled as their one-word cue ("check out the
/// cart" → "checkout the cart", "take it off" → "remove it").
pub(crate) fn rephrased(own: &str) -> String {
    static RES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let res = RES.get_or_init(|| {
        PHRASES
            .iter()
            .map(|(p, r)| (Regex::new(p).expect("phrase pattern"), *r))
            .collect()
    });
    let mut text = own.to_owned();
    for (re, with) in res {
        if re.is_match(&text) {
            text = re.replace_all(&text, *with).into_owned();
        }
    }
    text
}

pub(crate) fn file_named() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)\b[\w\-]+\.(txt|pdf|docx?|csv|xlsx?|md|json|pptx?|odt|rtf|log)\b|\b(the|this|that|my|attached) (notice|bill|invoice|attachment|document|file|letter|statement|contract|receipt)\b",
        )
        .expect("file pattern")
    })
}

/// Object words of a tool's name (its verb and generic words dropped), grouped synonyms unified.
pub(crate) fn objects(words: &[String]) -> HashSet<String> {
    let t = tables();
    words
        .iter()
        .filter(|w| !t.object_skip.contains(*w) && w.len() > 1)
        .map(|w| {
            t.groups
                .iter()
                .find(|g| g.contains(w))
                .map_or_else(|| w.clone(), |g| g[0].clone())
        })
        .collect()
}

/// Whether `tool` reads without side effects: its name starts with a read verb, or it is risk 1
/// and its name carries no known effect verb (BFCL's `cd`, `pwd`).
pub(crate) fn is_read(tool: &ToolDefinition) -> bool {
    let n = name_words(tool);
    n.first().is_some_and(|w| tables().read.contains(w))
        || (tool.risk_level <= 1 && effect_classes(tool).is_empty())
}

/// Whether `tool` is a low-risk read tool (risk ≤ 2, name starting with a read verb) whose object
/// the user's own words name ("which *channel*…" → `list_channels`).
pub fn read_object_named(tool: &ToolDefinition, own: &str) -> bool {
    let n = name_words(tool);
    if tool.risk_level > 2 || !n.first().is_some_and(|w| tables().read.contains(w)) {
        return false;
    }
    let said: Vec<String> = tokens(own).into_iter().map(|(_, w)| w).collect();
    !objects(&n).is_disjoint(&objects(&said))
}

/// Raise the low-risk read tools that granted tools (or a named file) depend on, in place.
pub fn prerequisites(
    tools: &[ToolDefinition],
    own: &str,
    scores: &mut [ToolScore],
    threshold: f64,
) {
    let Tables {
        read,
        change,
        file_objects,
        ..
    } = tables();
    let names: Vec<Vec<String>> = tools.iter().map(name_words).collect();
    let changed: Vec<HashSet<String>> = tools
        .iter()
        .zip(&names)
        .zip(scores.iter())
        .filter(|((_, n), s)| s.p >= threshold && n.iter().any(|w| change.contains(w)))
        .map(|((_, n), _)| objects(n))
        .collect();
    let file = file_named().is_match(own);
    for ((tool, n), score) in tools.iter().zip(&names).zip(scores.iter_mut()) {
        if tool.risk_level > 2
            || score.p >= threshold
            || !n.first().is_some_and(|w| read.contains(w))
        {
            continue;
        }
        let own_objects = objects(n);
        let depends = changed.iter().any(|c| !c.is_disjoint(&own_objects))
            || (file && n.iter().any(|w| file_objects.contains(w)));
        if depends {
            score.p = score.p.max(P_PREREQUISITE);
            score.firm = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_questions_speak_of_transactions() {
        let w = weighted_request_words("How much did I spend on food last month?");
        assert_eq!(w.get(&stem("transactions")), Some(&SYNONYM_WEIGHT));
        assert_eq!(w.get(&stem("restaurant")), Some(&SYNONYM_WEIGHT));
        assert_eq!(w.get(&stem("spend")), Some(&1.0));
    }

    #[test]
    fn risky_effects_need_the_users_own_verb() {
        let pay = ToolDefinition::new("send_payment", "Send money to an IBAN", 5);
        assert!(effect_requested(&pay, "Pay the bill in bill.pdf"));
        assert!(!effect_requested(&pay, "How much did I spend last month?"));
        assert!(!effect_requested(
            &pay,
            "Check my transactions but don't pay anything"
        ));
        let book = ToolDefinition::new("book_flight", "Book a seat", 5);
        assert!(!effect_requested(
            &book,
            "Compare flights to Rome, but don't book yet"
        ));
        assert!(effect_requested(
            &book,
            "Please book the 9am flight to Rome"
        ));
        let odd = ToolDefinition::new("frobnicate", "", 5);
        assert!(effect_requested(&odd, "anything"));
        let hotel = ToolDefinition::new("reserve_hotel", "", 4);
        let tools = [book.clone(), hotel.clone()];
        assert!(other_object_named(
            &book,
            &tools,
            "Book the cheapest hotel in Paris"
        ));
        assert!(!other_object_named(
            &hotel,
            &tools,
            "Book the cheapest hotel in Paris"
        ));
    }

    #[test]
    fn change_tools_pull_in_their_read_tools_and_files_their_readers() {
        let tools = vec![
            ToolDefinition::new("get_scheduled_payments", "", 1),
            ToolDefinition::new("update_scheduled_payment", "", 4),
            ToolDefinition::new("read_document", "", 1),
            ToolDefinition::new("get_weather", "", 1),
        ];
        let low = ToolScore {
            p: 0.01,
            firm: false,
        };
        let mut scores = vec![
            low,
            ToolScore {
                p: 0.9,
                firm: false,
            },
            low,
            low,
        ];
        prerequisites(&tools, "adjust my rent payment", &mut scores, 0.2);
        assert!(scores[0].p >= 0.2 && scores[2].p < 0.2 && scores[3].p < 0.2);
        let mut scores = vec![low, low, low, low];
        prerequisites(&tools, "what does notice.txt say?", &mut scores, 0.2);
        assert!(scores[0].p < 0.2 && scores[2].p >= 0.2 && scores[3].p < 0.2);
    }
}
