//! A model that exists only in a store (SmolLM2's GGUF imported under a custom name, with a
//! SYSTEM, PARAMETERs and a LICENSE layer added) is bundled, and the bundle serves it under its
//! own name with an empty HOME, an empty OLLAMA_MODELS store, no network interfaces but loopback (when
//! a namespace can be made) and the source tree's `models/` hidden: `/api/tags` lists it,
//! `/api/show` returns its system and parameters, `/api/generate` answers, deleting it is refused
//! as read-only, and `run` answers in-process (also next to a server that lacks the model). A copy with one byte of its weights flipped is
//! refused at startup, naming the model.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, Layer, Store};

const NAME: &str = "mymodel:q4";
const SYSTEM: &str = "You are Bundly, a terse assistant carried inside one executable.";

const SCRIPT: &str = r#"
set -eu
if [ "$ISOLATE" = 1 ]; then
    mount -t tmpfs none "$REPO_MODELS"    # the bundle must not find the source tree's weights
    ip link set lo up 2>/dev/null || true
    echo "interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
fi
base="http://$OLLAMA_HOST"
# wait_up LOG: until the server started last ($pid) answers on $base.
wait_up() {
    i=0
    until curl -sf "$base/" >/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 120 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "server did not come up"; cat "$1"; exit 1
        fi
        sleep 0.5
    done
}
"$BUNDLE" serve >"$WORK/serve.log" 2>&1 &
pid=$!
wait_up "$WORK/serve.log"
# printf, not echo: sh's echo would turn the JSON's \n escapes into newlines.
printf 'tags: %s\n' "$(curl -sf "$base/api/tags")"
printf 'show: %s\n' "$(curl -sf "$base/api/show" -d "{\"model\":\"$NAME\"}")"
printf 'generate: %s\n' "$(curl -sf "$base/api/generate" -d "{\"model\":\"$NAME\",\"prompt\":\"Say hello.\",\"stream\":false}")"
printf 'delete: %s\n' "$(curl -s -X DELETE "$base/api/delete" -d "{\"model\":\"$NAME\"}" -w ' HTTP %{http_code}')"
kill "$pid"; wait "$pid" || true
# Nothing listens on OLLAMA_HOST any more: `run` loads the model in-process.
printf 'run: %s\n' "$("$BUNDLE" run "$NAME" 'Say hello.')"
# A plain hearth serves OLLAMA_HOST without the model: `run` still answers, in-process.
"$HEARTH" serve >"$WORK/plain.log" 2>&1 &
pid=$!
wait_up "$WORK/plain.log"
printf 'run beside: %s\n' "$("$BUNDLE" run "$NAME" 'Say hello.')"
kill "$pid"; wait "$pid" || true
if curl -s --max-time 3 http://1.1.1.1/ >/dev/null 2>&1; then echo "NETWORK REACHABLE"; fi
"#;

/// The command's output, with its stderr shown when it failed.
fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Import SmolLM2's GGUF as `NAME` into `store`, then add SYSTEM, PARAMETER and LICENSE layers.
fn make_store_model(hearth: &Path, store_dir: &Path) -> Store {
    let gguf = common::smollm2_gguf();
    ok(
        Command::new(hearth)
            .arg("import")
            .arg(&gguf)
            .args(["--name", NAME, "--models-dir"])
            .arg(store_dir)
            .output()
            .unwrap(),
        "hearth import",
    );
    let store = Store::new(store_dir);
    let name = ModelName::parse(NAME).unwrap();
    let mut manifest = store.get(&name).unwrap().expect("imported").manifest;
    let params = r#"{"temperature":0,"num_predict":12,"seed":7,"top_k":20}"#;
    for (media, text) in [
        (mt::MEDIA_SYSTEM, SYSTEM),
        (mt::MEDIA_PARAMS, params),
        (mt::MEDIA_LICENSE, "Apache-2.0 (SmolLM2)"),
    ] {
        let digest = store.put_blob_bytes(text.as_bytes()).unwrap();
        manifest.layers.push(Layer {
            media_type: media.into(),
            digest: digest.wire(),
            size: text.len() as u64,
            from: None,
        });
    }
    store.put_manifest(&name, &manifest).unwrap();
    store
}

fn line<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
}

#[test]
fn a_store_model_is_bundled_and_served_offline_under_its_own_name() {
    let hearth = common::hearth_bin();
    let work = tempfile::tempdir().unwrap();
    let store_dir = work.path().join("store");
    let store = make_store_model(&hearth, &store_dir);

    // Unknown names are refused with what can be bundled.
    let out = Command::new(&hearth)
        .args(["bundle", "--model", "nope:1", "-o"])
        .arg(work.path().join("never"))
        .arg("--models-dir")
        .arg(&store_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("cannot be bundled") && err.contains(NAME) && err.contains("smollm2:135m"),
        "{err}"
    );
    assert!(!work.path().join("never").exists());

    let bundle = work.path().join("hearth-mymodel");
    let out = ok(
        Command::new(&hearth)
            .args(["bundle", "--model", NAME, "-o"])
            .arg(&bundle)
            .arg("--models-dir")
            .arg(&store_dir)
            .env_remove("OLLAMA_MODELS")
            .output()
            .unwrap(),
        "hearth bundle",
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    let (manifest, _) = hearth_airgap::bundle::read_manifest(&bundle)
        .unwrap()
        .expect("a bundle");
    assert!(
        manifest.models.is_empty(),
        "no hearth-bundled model asked for"
    );
    assert_eq!(manifest.store.len(), 1);
    assert_eq!(
        manifest.blobs.len(),
        5,
        "config, weights, system, params, licence"
    );

    let home = work.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let user_store = work.path().join("empty-store");
    std::fs::create_dir(&user_store).unwrap();
    let (mut cmd, isolated) = common::offline_sh(SCRIPT, &home, work.path());
    cmd.env("OLLAMA_MODELS", &user_store)
        .env("OLLAMA_HOST", format!("127.0.0.1:{}", common::free_port()))
        .env("BUNDLE", &bundle)
        .env("HEARTH", &hearth)
        .env("NAME", NAME);
    let stdout = common::run_offline(cmd, isolated);

    let tags: serde_json::Value = serde_json::from_str(line(&stdout, "tags: ")).unwrap();
    let listed: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(listed.contains(&NAME), "{tags}");
    let original =
        std::fs::read(store_dir.join("manifests/registry.ollama.ai/library/mymodel/q4")).unwrap();
    let entry = &tags["models"][listed.iter().position(|n| *n == NAME).unwrap()];
    assert_eq!(
        entry["digest"],
        hearth_store::Digest::of(&original).hex(),
        "the manifest travelled byte for byte"
    );

    let show: serde_json::Value = serde_json::from_str(line(&stdout, "show: ")).unwrap();
    assert_eq!(show["system"], SYSTEM, "{show}");
    let params = show["parameters"].as_str().unwrap_or_default();
    assert!(
        params.contains("temperature") && params.contains("num_predict") && params.contains("12"),
        "{show}"
    );
    assert_eq!(show["license"], "Apache-2.0 (SmolLM2)", "{show}");
    assert_eq!(show["details"]["family"], "llama", "{show}");

    let generate: serde_json::Value = serde_json::from_str(line(&stdout, "generate: ")).unwrap();
    assert_eq!(generate["done"], true, "{generate}");
    assert!(
        !generate["response"].as_str().unwrap().trim().is_empty(),
        "{generate}"
    );
    assert!(
        generate["eval_count"].as_u64().unwrap() <= 12,
        "num_predict from the model's parameters: {generate}"
    );

    let delete = line(&stdout, "delete: ");
    assert!(
        delete.ends_with("HTTP 400") && delete.contains("read-only"),
        "{delete}"
    );

    let run = line(&stdout, "run: ");
    assert!(!run.trim().is_empty(), "`run` answered nothing");
    let beside = line(&stdout, "run beside: ");
    assert!(
        !beside.trim().is_empty(),
        "`run` next to a server without the model answered nothing"
    );

    // Unpacked once into the cache; the user's (empty) store was never written to.
    let weights = store
        .get(&ModelName::parse(NAME).unwrap())
        .unwrap()
        .unwrap()
        .manifest
        .layer(mt::MEDIA_MODEL)
        .unwrap()
        .digest
        .replace(':', "-");
    assert!(home.join(".cache/hearth/blobs").join(&weights).is_file());
    assert_eq!(std::fs::read_dir(&user_store).unwrap().count(), 0);
    assert!(!home.join(".ollama").exists());

    // One flipped byte in the weights: refused at startup, naming the model, nothing unpacked.
    let corrupt = work.path().join("hearth-corrupt");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let biggest = manifest.blobs.iter().max_by_key(|b| b.size).unwrap();
    bytes[(biggest.offset + biggest.size / 2) as usize] ^= 0x40;
    std::fs::write(&corrupt, &bytes).unwrap();
    drop(bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&corrupt, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let fresh = work.path().join("fresh-home");
    std::fs::create_dir(&fresh).unwrap();
    let out = Command::new(&corrupt)
        .args(["run", NAME, "Say hello."])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &fresh)
        .env("OLLAMA_HOST", format!("127.0.0.1:{}", common::free_port()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a corrupted bundle ran: {err}");
    assert!(
        err.contains("sha256 mismatch") && err.contains("model mymodel:q4"),
        "{err}"
    );
    let unpacked = fresh.join(".cache/hearth/blobs").join(&weights);
    assert!(!unpacked.exists(), "the corrupted weights were unpacked");
}
