//! Negation of a matched word by the clause before it ("don't send", "never delete"), shared by
//! the rules and the intent heuristics (a leaf module).

use std::sync::OnceLock;

use regex::Regex;

/// Whether the clause before a match negates it ("don't", "do not", "never", "no", "without").
pub fn is_negated(before: &str) -> bool {
    static NEGATION: OnceLock<Regex> = OnceLock::new();
    let re = NEGATION.get_or_init(|| {
        Regex::new(r"(?i)\b(don'?t|do not|never|no|without|not|nothing to|avoid)\b[^.,;:!?]{0,40}$")
            .expect("negation")
    });
    let start = before.len().saturating_sub(60);
    let start = (start..=before.len())
        .find(|&i| before.is_char_boundary(i))
        .unwrap_or(before.len());
    re.is_match(&before[start..])
}
