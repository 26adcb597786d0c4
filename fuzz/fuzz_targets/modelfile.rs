//! Fuzz target: the Modelfile parser (`/api/create`'s `modelfile` and `hearth create -f`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hearth_store::modelfile::parse(text);
    }
});
