//! Fuzz target: the GGUF header reader and the semantic model rules, on arbitrary bytes. Nothing
//! may panic, hang or allocate from an unchecked count; whatever passes must also answer every
//! question the store and the server ask of a header.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(info) = hearth_gguf::validate_bytes(data) else {
        return;
    };
    let _ = hearth_gguf::check_vocab(&info);
    let _ = hearth_gguf::check_model(&info);
    let _ = info.architecture();
    let _ = info.context_length();
    let _ = info.file_type_name();
    let _ = info.parameter_count();
    for t in &info.tensors {
        let _ = t.n_elements();
        let _ = t.type_name();
    }
});
