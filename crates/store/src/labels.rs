//! Numbers as Ollama prints them in model details (`134.52M`, `7.2B`).

/// Ollama's `format.HumanNumber`: `7B`, `7.2B`, `134.52M`, `12K`, `999`.
pub fn human_number(n: u64) -> String {
    const THOUSAND: f64 = 1e3;
    const MILLION: f64 = 1e6;
    const BILLION: f64 = 1e9;
    let v = n as f64;
    if v >= BILLION {
        let b = v / BILLION;
        if b == b.floor() {
            format!("{b:.0}B")
        } else {
            format!("{b:.1}B")
        }
    } else if v >= MILLION {
        let m = v / MILLION;
        if m == m.floor() {
            format!("{m:.0}M")
        } else {
            format!("{m:.2}M")
        }
    } else if v >= THOUSAND {
        format!("{:.0}K", v / THOUSAND)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_ollama() {
        assert_eq!(human_number(134_515_008), "134.52M");
        assert_eq!(human_number(268_098_176), "268.10M");
        assert_eq!(human_number(7_241_732_096), "7.2B");
        assert_eq!(human_number(8_000_000_000), "8B");
        assert_eq!(human_number(12_345), "12K");
        assert_eq!(human_number(5), "5");
    }
}
