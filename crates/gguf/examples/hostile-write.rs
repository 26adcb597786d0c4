//! `cargo run --release -p hearth-gguf --features edit --example hostile-write -- MODEL.gguf
//! OUT_DIR [CASE...]`: write the hostile-edit table's files (real tensor data copied), for
//! reproducing by hand what llama.cpp does with them, or seeding a fuzzer's corpus.

use hearth_gguf::edit::{hostile::CASES, Data, Gguf};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out, only @ ..] = args.as_slice() else {
        eprintln!("usage: hostile-write MODEL.gguf OUT_DIR [CASE...]");
        std::process::exit(2);
    };
    let base = Gguf::open(model.as_ref())?;
    std::fs::create_dir_all(out)?;
    for case in CASES
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == c.name))
    {
        let mut g = base.clone();
        (case.apply)(&mut g);
        let path = std::path::Path::new(out).join(format!("{}.gguf", case.name));
        g.write(&path, Data::Copy)?;
        println!("{} ({})", path.display(), case.field);
    }
    Ok(())
}
