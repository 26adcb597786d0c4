//! Modelfile parsing (`FROM`, `PARAMETER`, `TEMPLATE`, `SYSTEM`, `MESSAGE`, `LICENSE`,
//! `ADAPTER`), done client-side as the `ollama` CLI does before calling `/api/create`.

use serde_json::{Map, Value};

/// A parsed Modelfile.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Modelfile {
    /// `FROM`: a model name or a path to a GGUF file.
    pub from: String,
    /// `PARAMETER`s (`stop` collects into an array).
    pub parameters: Map<String, Value>,
    /// `TEMPLATE`.
    pub template: Option<String>,
    /// `SYSTEM`.
    pub system: Option<String>,
    /// `MESSAGE role content`.
    pub messages: Vec<(String, String)>,
    /// `LICENSE`s.
    pub license: Vec<String>,
    /// `ADAPTER`s.
    pub adapters: Vec<String>,
}

/// Parse a Modelfile.
pub fn parse(text: &str) -> Result<Modelfile, String> {
    let mut mf = Modelfile::default();
    let mut rest = text;
    while !rest.is_empty() {
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let line = rest[..line_end].trim();
        if line.is_empty() || line.starts_with('#') {
            rest = rest.get(line_end + 1..).unwrap_or("");
            continue;
        }
        let (cmd, after) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let cmd = cmd.to_ascii_uppercase();
        // The argument may be a """ block spanning lines.
        let start = rest.len() - rest.trim_start().len()
            + rest.trim_start().find(char::is_whitespace).unwrap_or(0);
        let arg_region = rest[start..].trim_start_matches([' ', '\t']);
        let (arg, consumed) = match cmd.as_str() {
            "PARAMETER" | "MESSAGE" => {
                let (first, tail) = after
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| format!("{cmd} needs two arguments"))?;
                let tail = tail.trim_start();
                let offset = arg_region.find(tail).unwrap_or(0);
                let (value, used) = read_value(&arg_region[offset..])?;
                (
                    format!("{first}\u{0}{value}"),
                    start + (rest[start..].len() - arg_region.len()) + offset + used,
                )
            }
            _ => {
                let (value, used) = read_value(arg_region)?;
                (
                    value,
                    start + (rest[start..].len() - arg_region.len()) + used,
                )
            }
        };
        match cmd.as_str() {
            "FROM" => mf.from = arg,
            "TEMPLATE" => mf.template = Some(arg),
            "SYSTEM" => mf.system = Some(arg),
            "LICENSE" => mf.license.push(arg),
            "ADAPTER" => mf.adapters.push(arg),
            "PARAMETER" => {
                let (k, v) = arg.split_once('\u{0}').unwrap_or((&arg, ""));
                let value = parse_param(v);
                if k == "stop" {
                    let entry = mf
                        .parameters
                        .entry("stop")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(items) = entry {
                        items.push(Value::String(v.to_owned()));
                    }
                } else {
                    mf.parameters.insert(k.to_owned(), value);
                }
            }
            "MESSAGE" => {
                let (role, content) = arg.split_once('\u{0}').unwrap_or((&arg, ""));
                mf.messages
                    .push((role.to_ascii_lowercase(), content.to_owned()));
            }
            other => return Err(format!("unknown Modelfile command: {other}")),
        }
        rest = rest.get(consumed..).unwrap_or("");
        rest = rest.strip_prefix('\n').unwrap_or(rest);
        if let Some(nl) = rest.find('\n').filter(|&nl| rest[..nl].trim().is_empty()) {
            rest = &rest[nl + 1..];
        }
    }
    if mf.from.is_empty() {
        return Err("no FROM line in Modelfile".into());
    }
    Ok(mf)
}

/// A value: `"""block"""`, `"quoted"`, or the rest of the line. Returns it and bytes consumed.
fn read_value(s: &str) -> Result<(String, usize), String> {
    if let Some(body) = s.strip_prefix("\"\"\"") {
        let end = body.find("\"\"\"").ok_or("unterminated \"\"\" block")?;
        return Ok((body[..end].to_owned(), 3 + end + 3));
    }
    let line_end = s.find('\n').unwrap_or(s.len());
    let line = s[..line_end].trim_end();
    if let Some(q) = line.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        return Ok((q.replace("\\\"", "\""), line_end));
    }
    Ok((line.to_owned(), line_end))
}

fn parse_param(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = v.parse::<f64>() {
        return serde_json::Number::from_f64(f).map_or(Value::String(v.into()), Value::Number);
    }
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(v.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_modelfile() {
        let mf = parse(
            "# comment\nFROM smollm2:135m\nPARAMETER temperature 0.2\nPARAMETER stop \"<|im_end|>\"\nPARAMETER stop END\n\
             PARAMETER num_ctx 2048\nSYSTEM \"\"\"You are\nterse.\"\"\"\nTEMPLATE \"{{ .Prompt }}\"\nMESSAGE user hi\nMESSAGE assistant hello there\nLICENSE MIT\n",
        )
        .unwrap();
        assert_eq!(mf.from, "smollm2:135m");
        assert_eq!(mf.parameters["temperature"], 0.2);
        assert_eq!(mf.parameters["num_ctx"], 2048);
        assert_eq!(
            mf.parameters["stop"],
            serde_json::json!(["<|im_end|>", "END"])
        );
        assert_eq!(mf.system.as_deref(), Some("You are\nterse."));
        assert_eq!(mf.template.as_deref(), Some("{{ .Prompt }}"));
        assert_eq!(
            mf.messages,
            vec![
                ("user".into(), "hi".into()),
                ("assistant".into(), "hello there".into())
            ]
        );
        assert_eq!(mf.license, vec!["MIT"]);
    }

    #[test]
    fn needs_from() {
        assert!(parse("SYSTEM hi\n").is_err());
    }
}
