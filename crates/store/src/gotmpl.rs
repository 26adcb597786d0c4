//! A small subset of Go's text/template for Modelfile `TEMPLATE`s and the `template` request
//! field: `{{ .System }}`, `{{ .Prompt }}`, `{{ .Response }}`, `{{ .Suffix }}`,
//! `{{ if .X }}…{{ else }}…{{ end }}` and the `{{-`/`-}}` trim markers. Anything else
//! (`range`, functions) is reported so the caller can fall back to the model's chat template.

use std::collections::HashMap;

#[derive(Debug, PartialEq)]
enum Tok {
    Text(String),
    Action(String),
}

/// Check that a template only uses the supported subset.
pub fn validate(src: &str) -> Result<(), String> {
    render(src, &HashMap::new()).map(|_| ())
}

/// Render with the given variables (missing ones are empty).
pub fn render(src: &str, vars: &HashMap<&str, String>) -> Result<String, String> {
    let toks = tokenize(src)?;
    let mut out = String::new();
    // Each frame: (this branch active, an earlier branch of this `if` was taken, parent active).
    let mut stack: Vec<(bool, bool, bool)> = Vec::new();
    let active = |stack: &Vec<(bool, bool, bool)>| stack.last().is_none_or(|f| f.0);
    for tok in toks {
        match tok {
            Tok::Text(t) => {
                if active(&stack) {
                    out.push_str(&t);
                }
            }
            Tok::Action(a) => {
                let words: Vec<&str> = a.split_whitespace().collect();
                match words.as_slice() {
                    ["if", var] | ["else", "if", var] => {
                        let value = lookup(var, vars)?;
                        let truthy = !value.is_empty();
                        if words[0] == "else" {
                            let (_, taken, parent) = stack.pop().ok_or("else without if")?;
                            let on = parent && !taken && truthy;
                            stack.push((on, taken || on, parent));
                        } else {
                            let parent = active(&stack);
                            stack.push((parent && truthy, parent && truthy, parent));
                        }
                    }
                    ["else"] => {
                        let (_, taken, parent) = stack.pop().ok_or("else without if")?;
                        stack.push((parent && !taken, true, parent));
                    }
                    ["end"] => {
                        stack.pop().ok_or("end without if")?;
                    }
                    [var] if var.starts_with('.') => {
                        let value = lookup(var, vars)?;
                        if active(&stack) {
                            out.push_str(&value);
                        }
                    }
                    [] => {}
                    _ if a.trim_start().starts_with("/*") => {}
                    _ => return Err(format!("unsupported template action {{{{ {a} }}}}")),
                }
            }
        }
    }
    if !stack.is_empty() {
        return Err("unexpected EOF: missing {{ end }}".into());
    }
    Ok(out)
}

fn lookup(var: &str, vars: &HashMap<&str, String>) -> Result<String, String> {
    let name = var
        .strip_prefix('.')
        .ok_or_else(|| format!("unsupported expression {var}"))?;
    match name {
        "System" | "Prompt" | "Response" | "Suffix" | "Think" | "ThinkLevel" => {
            Ok(vars.get(name).cloned().unwrap_or_default())
        }
        _ => Err(format!("unsupported variable {var}")),
    }
}

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(i) = rest.find("{{") {
        let mut text = rest[..i].to_owned();
        let after = &rest[i + 2..];
        let trim_prev = after.starts_with('-');
        let end = after.find("}}").ok_or("unclosed action")?;
        let mut action = &after[..end];
        if trim_next {
            text = text.trim_start().to_owned();
        }
        if trim_prev {
            text = text.trim_end().to_owned();
            action = &action[1..];
        }
        trim_next = action.ends_with('-');
        if trim_next {
            action = &action[..action.len() - 1];
        }
        toks.push(Tok::Text(text));
        toks.push(Tok::Action(action.trim().to_owned()));
        rest = &after[end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    toks.push(Tok::Text(text.to_owned()));
    Ok(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_modelfile_template() {
        let t = "{{ if .System }}<|system|>\n{{ .System }}\n{{- end }}<|user|>\n{{ .Prompt }}<|assistant|>\n";
        let mut vars = HashMap::new();
        vars.insert("Prompt", "hi".to_owned());
        assert_eq!(render(t, &vars).unwrap(), "<|user|>\nhi<|assistant|>\n");
        vars.insert("System", "be nice".to_owned());
        assert_eq!(
            render(t, &vars).unwrap(),
            "<|system|>\nbe nice<|user|>\nhi<|assistant|>\n"
        );
    }

    #[test]
    fn else_and_errors() {
        let vars = HashMap::new();
        assert_eq!(
            render("{{if .System}}a{{else}}b{{end}}", &vars).unwrap(),
            "b"
        );
        assert!(render("{{ range .Messages }}x{{ end }}", &vars).is_err());
        assert!(render("{{ if .System }}", &vars).is_err());
    }
}
