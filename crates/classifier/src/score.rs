//! The per-tool score type the classifiers share and the probability helpers they combine it with
//! (a leaf module: it depends on nothing else in the crate).

/// One tool's verdict: the probability that the request needs it and whether the verdict is firm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToolScore {
    /// Probability (0..1) that the request needs the tool.
    pub p: f64,
    /// Whether the scorer is confident enough that no other method should be consulted.
    pub firm: bool,
}

impl ToolScore {
    /// Confidence of the binary decision: max(p, 1 − p).
    pub fn certainty(&self) -> f64 {
        self.p.max(1.0 - self.p)
    }
}

/// Token confidence from per-tool probabilities: the least certain decision (1 when there are none).
pub fn token_confidence(ps: impl IntoIterator<Item = f64>) -> f64 {
    ps.into_iter().map(|p| p.max(1.0 - p)).fold(1.0, f64::min)
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The inverse of [`sigmoid`], clamped away from ±∞.
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}
