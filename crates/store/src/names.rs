//! Model names with Ollama's rules: `[host/][namespace/]model[:tag]`, defaults
//! `registry.ollama.ai`, `library`, `latest`; case-insensitive matching; short display form.

use std::fmt;

/// The default registry host.
pub const DEFAULT_HOST: &str = "registry.ollama.ai";
/// The default namespace.
pub const DEFAULT_NAMESPACE: &str = "library";
/// The default tag.
pub const DEFAULT_TAG: &str = "latest";

/// A fully qualified model name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelName {
    /// Registry host, e.g. `registry.ollama.ai`.
    pub host: String,
    /// Namespace, e.g. `library`.
    pub namespace: String,
    /// Model, e.g. `llama3.2`.
    pub model: String,
    /// Tag, e.g. `latest`.
    pub tag: String,
}

impl ModelName {
    /// Parse a name; `None` when any part is empty or has characters Ollama refuses.
    pub fn parse(input: &str) -> Option<ModelName> {
        let s = input.trim();
        let s = s.split_once("://").map_or(s, |(_, rest)| rest);
        let s = s.split_once('@').map_or(s, |(name, _digest)| name);
        if s.is_empty() {
            return None;
        }
        let (path, tag) = match s.rfind(':') {
            Some(i) if !s[i + 1..].contains('/') => (&s[..i], Some(&s[i + 1..])),
            _ => (s, None),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let (host, namespace, model) = match parts.as_slice() {
            [m] => (None, None, *m),
            [ns, m] => (None, Some(*ns), *m),
            [h, ns, m] => (Some(*h), Some(*ns), *m),
            _ => return None,
        };
        let name = ModelName {
            host: host.unwrap_or(DEFAULT_HOST).to_owned(),
            namespace: namespace.unwrap_or(DEFAULT_NAMESPACE).to_owned(),
            model: model.to_owned(),
            tag: tag.unwrap_or(DEFAULT_TAG).to_owned(),
        };
        let ok = valid_part(&name.host, 350, |c| {
            c.is_ascii_alphanumeric() || "-_.:".contains(c)
        }) && valid_part(&name.namespace, 80, |c| {
            c.is_ascii_alphanumeric() || "-_".contains(c)
        }) && valid_part(&name.model, 80, |c| {
            c.is_ascii_alphanumeric() || "-_.".contains(c)
        }) && valid_part(&name.tag, 80, |c| {
            c.is_ascii_alphanumeric() || "-_.".contains(c)
        });
        ok.then_some(name)
    }

    /// The short form clients see: default host and namespace dropped, tag always shown.
    pub fn display(&self) -> String {
        let mut out = String::new();
        if !self.host.eq_ignore_ascii_case(DEFAULT_HOST) {
            out.push_str(&self.host);
            out.push('/');
            out.push_str(&self.namespace);
            out.push('/');
        } else if !self.namespace.eq_ignore_ascii_case(DEFAULT_NAMESPACE) {
            out.push_str(&self.namespace);
            out.push('/');
        }
        out.push_str(&self.model);
        out.push(':');
        out.push_str(&self.tag);
        out
    }

    /// The full form `host/namespace/model:tag` (used in capability errors).
    pub fn full(&self) -> String {
        format!(
            "{}/{}/{}:{}",
            self.host, self.namespace, self.model, self.tag
        )
    }

    /// Case-insensitive equality, as Ollama matches names against manifests.
    pub fn matches(&self, other: &ModelName) -> bool {
        self.host.eq_ignore_ascii_case(&other.host)
            && self.namespace.eq_ignore_ascii_case(&other.namespace)
            && self.model.eq_ignore_ascii_case(&other.model)
            && self.tag.eq_ignore_ascii_case(&other.tag)
    }

    /// Path components of the manifest below `manifests/`.
    pub fn manifest_parts(&self) -> [&str; 4] {
        [&self.host, &self.namespace, &self.model, &self.tag]
    }
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

fn valid_part(s: &str, max: usize, rest: impl Fn(char) -> bool) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {}
        _ => return false,
    }
    s.len() <= max && chars.all(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in() {
        let n = ModelName::parse("llama3.2").unwrap();
        assert_eq!(n.full(), "registry.ollama.ai/library/llama3.2:latest");
        assert_eq!(n.display(), "llama3.2:latest");
        assert_eq!(
            ModelName::parse("myns/m:tag").unwrap().display(),
            "myns/m:tag"
        );
        assert_eq!(
            ModelName::parse("hf.co/user/repo:Q4_K_M")
                .unwrap()
                .display(),
            "hf.co/user/repo:Q4_K_M"
        );
    }

    #[test]
    fn host_port_is_not_a_tag() {
        let n = ModelName::parse("host:5000/ns/m").unwrap();
        assert_eq!(n.host, "host:5000");
        assert_eq!(n.tag, "latest");
    }

    #[test]
    fn empty_sides_are_invalid() {
        for bad in ["", "ns/", "m:", "/m", "a/b/c/d", "bad name", "ns.x/m", "-m"] {
            assert!(ModelName::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn matching_ignores_case() {
        let a = ModelName::parse("SmolLM2:135M").unwrap();
        let b = ModelName::parse("smollm2:135m").unwrap();
        assert!(a.matches(&b));
    }
}
