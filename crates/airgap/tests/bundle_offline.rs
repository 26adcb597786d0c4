//! A bundle built from the release binary serves its model with an empty HOME, no network
//! interfaces but loopback, and the source tree's `models/` hidden: `serve` answers
//! `/api/generate` on 127.0.0.1:11434 inside the namespace, and `run` answers too.

mod common;

use std::process::Command;

const SCRIPT: &str = r#"
set -eu
if [ "$ISOLATE" = 1 ]; then
    mount -t tmpfs none "$REPO_MODELS"    # the bundle must not find the source tree's weights
    ip link set lo up 2>/dev/null || true
    echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
fi
"$BUNDLE" serve >"$WORK/serve.log" 2>&1 &
pid=$!
i=0
until curl -sf http://127.0.0.1:11434/ >/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 120 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "server did not come up"; cat "$WORK/serve.log"; exit 1
    fi
    sleep 0.5
done
curl -sf http://127.0.0.1:11434/api/tags
echo
curl -sf http://127.0.0.1:11434/api/generate -d '{"model":"smollm2:135m","prompt":"Say hello.","stream":false,"options":{"num_predict":8,"temperature":0,"seed":1}}'
echo
kill "$pid"; wait "$pid" || true
echo "run: $("$BUNDLE" run smollm2:135m --num-predict 8 --temperature 0 'Say hello.')"
if curl -s --max-time 3 http://1.1.1.1/ >/dev/null 2>&1; then echo "NETWORK REACHABLE"; fi
"#;

#[test]
fn bundle_serves_offline_with_empty_home() {
    let hearth = common::hearth_bin();
    let work = tempfile::tempdir().unwrap();
    let bundle = work.path().join("hearth-bundle");
    let out = Command::new(&hearth)
        .args(["bundle", "--model", "smollm2:135m", "-o"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hearth bundle failed (is models/smollm2-135m.gguf fetched? run scripts/fetch-models.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let home = work.path().join("home");
    std::fs::create_dir(&home).unwrap();

    let (mut cmd, isolated) = common::offline_sh(SCRIPT, &home, work.path());
    cmd.env("BUNDLE", &bundle);
    let stdout = common::run_offline(cmd, isolated);
    let generate = stdout
        .lines()
        .find(|l| l.contains("\"response\""))
        .expect("a /api/generate answer");
    let v: serde_json::Value = serde_json::from_str(generate).unwrap();
    assert_eq!(v["done"], true, "{v}");
    assert!(!v["response"].as_str().unwrap().trim().is_empty(), "{v}");
    assert!(stdout.contains("\"smollm2:135m\""), "listed in /api/tags");
    let run = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run: "))
        .unwrap();
    assert!(!run.trim().is_empty(), "`run` answered nothing");

    let blob = home.join(".cache/hearth/blobs").join(format!(
        "sha256-{}",
        hearth_store::builtin::find("smollm2:135m").unwrap().sha256
    ));
    assert!(blob.is_file(), "extracted to {}", blob.display());
}
