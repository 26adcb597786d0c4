//! Generic argument constraints from a token's `constraints` slot.
//!
//! Per tool, an object whose keys are parameter names and whose values are checks:
//! `{"allow": [..]}` (value must be one of them), `{"prefix": [..]}` (string starts with one),
//! `{"pattern": "regex"}` (whole string matches). Each check also applies to every element of an
//! array argument. CapGuard's two shapes are understood too: `recipient_whitelist` (parameters
//! `to`/`recipient`/`recipients`) and `path_whitelist` (parameter `path`, by prefix).

use serde_json::Value;

/// Check `args` of a call to `tool` against its constraint object; `Err` names the failing check.
pub fn check(constraint: &Value, args: &serde_json::Map<String, Value>) -> Result<(), String> {
    let Some(spec) = constraint.as_object() else {
        return Err("the constraint is not an object".into());
    };
    for (key, rule) in spec {
        match key.as_str() {
            "recipient_whitelist" => {
                for param in ["to", "recipient", "recipients"] {
                    if let Some(v) = args.get(param) {
                        check_values(param, v, &serde_json::json!({ "allow": rule }))?;
                    }
                }
            }
            "path_whitelist" => {
                if let Some(v) = args.get("path") {
                    check_values("path", v, &serde_json::json!({ "prefix": rule }))?;
                }
            }
            param => {
                if let Some(v) = args.get(param) {
                    check_values(param, v, rule)?;
                }
            }
        }
    }
    Ok(())
}

fn check_values(param: &str, value: &Value, rule: &Value) -> Result<(), String> {
    if let Value::Array(items) = value {
        return items.iter().try_for_each(|v| check_values(param, v, rule));
    }
    let rule = rule
        .as_object()
        .ok_or_else(|| format!("{param}: the check is not an object"))?;
    if let Some(allow) = rule.get("allow") {
        let allowed = allow
            .as_array()
            .ok_or_else(|| format!("{param}: allow is not a list"))?;
        if !allowed.iter().any(|a| same(a, value)) {
            return Err(format!("{param}={value} is not in the allow-list"));
        }
    }
    if let Some(prefixes) = rule.get("prefix") {
        let prefixes = prefixes
            .as_array()
            .ok_or_else(|| format!("{param}: prefix is not a list"))?;
        let s = value
            .as_str()
            .ok_or_else(|| format!("{param}: not a string"))?;
        if !prefixes
            .iter()
            .filter_map(Value::as_str)
            .any(|p| s.starts_with(p))
            || s.contains("..")
        {
            return Err(format!("{param}={value} is outside the allowed prefixes"));
        }
    }
    if let Some(pattern) = rule.get("pattern") {
        let pattern = pattern
            .as_str()
            .ok_or_else(|| format!("{param}: pattern is not a string"))?;
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("{param}: bad pattern: {e}"))?;
        let s = value
            .as_str()
            .ok_or_else(|| format!("{param}: not a string"))?;
        if !re.is_match(s) {
            return Err(format!("{param}={value} does not match {pattern:?}"));
        }
    }
    Ok(())
}

/// Strings compare case-insensitively (email addresses), everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y.trim()),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn capguard_recipient_whitelist() {
        let c = json!({"recipient_whitelist": ["me@example.com"]});
        assert!(check(&c, &args(json!({"to": "Me@Example.com"}))).is_ok());
        assert!(check(&c, &args(json!({"to": "x@evil.example"}))).is_err());
        assert!(check(
            &c,
            &args(json!({"to": ["me@example.com", "x@evil.example"]}))
        )
        .is_err());
    }

    #[test]
    fn generic_checks() {
        let c = json!({"path": {"prefix": ["/home/me/"]}, "amount": {"allow": [10, 20]}, "iban": {"pattern": "DE\\d{20}"}});
        assert!(check(
            &c,
            &args(
                json!({"path": "/home/me/a.txt", "amount": 10, "iban": "DE44500105175407324931"})
            )
        )
        .is_ok());
        assert!(check(&c, &args(json!({"path": "/home/me/../../etc/passwd"}))).is_err());
        assert!(check(&c, &args(json!({"amount": 1000}))).is_err());
        assert!(check(&c, &args(json!({"iban": "GB00"}))).is_err());
    }
}
