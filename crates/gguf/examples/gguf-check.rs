//! `cargo run --release -p hearth-gguf --example gguf-check -- FILE...`: run hearth's GGUF
//! validation (header, then the semantic rules) over files and print each verdict. Files
//! without weights are checked as vocabularies.

fn main() {
    let mut failed = false;
    for arg in std::env::args().skip(1) {
        let path = std::path::Path::new(&arg);
        let verdict = match hearth_gguf::validate(path) {
            Err(e) => Err(e.to_string()),
            Ok(info) if info.tensors.is_empty() => hearth_gguf::check_vocab(&info)
                .map(|()| {
                    format!(
                        "ok (vocabulary only, {})",
                        info.architecture().unwrap_or("?")
                    )
                })
                .map_err(|e| e.to_string()),
            Ok(info) => hearth_gguf::check_model(&info)
                .map(|()| {
                    format!(
                        "ok ({}, {} tensors)",
                        info.architecture().unwrap_or("?"),
                        info.tensors.len()
                    )
                })
                .map_err(|e| e.to_string()),
        };
        match verdict {
            Ok(v) => println!("{arg}: {v}"),
            Err(e) => {
                failed = true;
                println!("{arg}: REJECTED: {e}");
            }
        }
    }
    std::process::exit(i32::from(failed));
}
