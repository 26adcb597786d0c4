//! `keep_alive` values: numbers are seconds, strings are Go durations, negative means forever.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// How long a model stays loaded after its last request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeepAlive {
    /// Unload after this long idle (zero: right after the request).
    For(Duration),
    /// Never unload.
    Forever,
}

impl KeepAlive {
    /// Ollama's default, five minutes.
    pub const DEFAULT: KeepAlive = KeepAlive::For(Duration::from_secs(300));

    /// From seconds; negative is forever.
    pub fn from_secs_f64(secs: f64) -> KeepAlive {
        if secs < 0.0 {
            KeepAlive::Forever
        } else {
            KeepAlive::For(Duration::from_secs_f64(secs.min(1e12)))
        }
    }

    /// Parse a request value: a Go duration string (`"10m"`, `"1h30m"`, `"-1m"`, `"0"`).
    pub fn parse_request(s: &str) -> Result<KeepAlive, String> {
        parse_go_duration(s.trim()).map(KeepAlive::from_secs_f64)
    }

    /// Parse `OLLAMA_KEEP_ALIVE`: a Go duration or bare integer seconds.
    pub fn parse_env(s: &str) -> Result<KeepAlive, String> {
        let s = s.trim().trim_matches(|c| c == '"' || c == '\'');
        if let Ok(n) = s.parse::<i64>() {
            return Ok(KeepAlive::from_secs_f64(n as f64));
        }
        Self::parse_request(s)
    }

    /// True for a zero duration (unload at once).
    pub fn is_zero(&self) -> bool {
        matches!(self, KeepAlive::For(d) if d.is_zero())
    }
}

/// Deserialize an optional keep_alive: absent or `null` is `None`.
pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<KeepAlive>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(f64),
        Str(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Num(n)) => Ok(Some(KeepAlive::from_secs_f64(n))),
        Some(Raw::Str(s)) => KeepAlive::parse_request(&s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Parse a Go `time.ParseDuration` string into seconds.
fn parse_go_duration(s: &str) -> Result<f64, String> {
    let err = || format!("time: invalid duration \"{s}\"");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration \"{s}\""))?;
        let value: f64 = rest[..num_end].parse().map_err(|_| err())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("time: unknown unit in duration \"{s}\"")),
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    Ok(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> Option<KeepAlive> {
        #[derive(Deserialize)]
        struct R {
            #[serde(default, deserialize_with = "deserialize_opt")]
            keep_alive: Option<KeepAlive>,
        }
        serde_json::from_str::<R>(json).unwrap().keep_alive
    }

    #[test]
    fn ollama_table() {
        assert_eq!(
            req(r#"{"keep_alive":42}"#),
            Some(KeepAlive::For(Duration::from_secs(42)))
        );
        assert_eq!(
            req(r#"{"keep_alive":42.5}"#),
            Some(KeepAlive::For(Duration::from_millis(42500)))
        );
        assert_eq!(
            req(r#"{"keep_alive":"42m"}"#),
            Some(KeepAlive::For(Duration::from_secs(2520)))
        );
        assert_eq!(
            req(r#"{"keep_alive":"1h30m"}"#),
            Some(KeepAlive::For(Duration::from_secs(5400)))
        );
        assert_eq!(req(r#"{"keep_alive":-1}"#), Some(KeepAlive::Forever));
        assert_eq!(req(r#"{"keep_alive":-3.14}"#), Some(KeepAlive::Forever));
        assert_eq!(req(r#"{"keep_alive":"-1m"}"#), Some(KeepAlive::Forever));
        assert!(req(r#"{"keep_alive":"0"}"#).unwrap().is_zero());
        assert_eq!(req(r#"{"keep_alive":null}"#), None);
        assert_eq!(req("{}"), None);
    }

    #[test]
    fn bare_number_string_is_an_error_in_requests_only() {
        assert!(KeepAlive::parse_request("3600").is_err());
        assert_eq!(
            KeepAlive::parse_env("3600").unwrap(),
            KeepAlive::For(Duration::from_secs(3600))
        );
        assert_eq!(KeepAlive::parse_env("\"5m\"").unwrap(), KeepAlive::DEFAULT);
    }
}
