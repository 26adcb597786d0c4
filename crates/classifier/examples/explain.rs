//! Explain the rules classifier's decisions on dev-set items: for each item id given, every
//! tool's evidence (rule, word overlap, name hits), final score and whether it was needed.
//!
//! `cargo run --release -p hearth-classifier --example explain -- shop-007 code-021`

use std::path::Path;

use hearth_classifier::{devset, RulesClassifier};

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/classifier/devset.jsonl");
    let items = devset::load(&path).expect("dev set loads");
    let rules = RulesClassifier::default();
    for id in std::env::args().skip(1) {
        let Some(item) = items.iter().find(|i| i.id == id) else {
            eprintln!("no item {id}");
            continue;
        };
        let registry = item.registry().expect("registry");
        println!("== {id} [{}] {:?}", item.split, item.request);
        let evidence = rules.evidence(&registry, &item.request);
        let scores = rules.score(&registry, &item.request);
        for ((tool, e), s) in registry.tools().iter().zip(&evidence).zip(&scores) {
            let needed = item.needed.contains(&tool.name);
            let granted = s.p >= rules.grant_threshold();
            if !needed && !granted && e.total == 0.0 {
                continue;
            }
            let mark = match (needed, granted) {
                (true, false) => "MISSING",
                (false, true) => "extra",
                (true, true) => "ok",
                _ => "",
            };
            println!(
                "  {:<28} r{} rule {:?} total {:.2} hits {} rel {:.2} -> p {:.3}{} {mark}",
                tool.name,
                tool.risk_level,
                e.rule,
                e.total,
                e.name_hits,
                e.relative,
                s.p,
                if s.firm { " firm" } else { "" },
            );
        }
    }
}
