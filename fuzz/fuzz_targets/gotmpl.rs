//! Fuzz target: the Go-template subset (Modelfile `TEMPLATE`, the request's `template` field),
//! validated and rendered with every variable set.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if hearth_store::gotmpl::validate(src).is_err() {
        return;
    }
    let vars: HashMap<&str, String> = [
        ("System", "be brief".to_owned()),
        ("Prompt", "hi {{ .System }}".to_owned()),
        ("Response", String::new()),
        ("Suffix", "}}".to_owned()),
    ]
    .into_iter()
    .collect();
    let _ = hearth_store::gotmpl::render(src, &vars);
});
