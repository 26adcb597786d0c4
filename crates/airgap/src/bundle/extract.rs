//! Startup of a bundled executable: extract each payload once into the cache, content-addressed
//! and verified, point the engine's bundled-model lookup at a folder of links to them, and lay
//! the store models out as a read-only Ollama store (manifests plus links to the cached blobs).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use hearth_store::{atomic_write, hex, Digest, Store};

use super::format::{read_manifest, Located};
use crate::error::{io, AirgapError, Result};
use crate::hashing::copy_hashing;
use crate::progress::bytes_bar;

/// Blobs smaller than this are unpacked without a progress bar (templates, parameters…).
const BAR_MIN: u64 = 1 << 20;

/// What a bundled executable made available.
#[derive(Debug, Clone)]
pub struct Activated {
    /// The folder holding its built-in models (searched first for them).
    pub dir: PathBuf,
    /// The names of hearth's bundled models it carries.
    pub models: Vec<String>,
    /// The read-only Ollama-layout store of its store models (consulted before `HEARTH_EXTRA_MODELS`);
    /// `None` when it carries none.
    pub store: Option<PathBuf>,
    /// The store models' names, as listings show them.
    pub store_models: Vec<String>,
}

/// If the running executable is a bundle, extract its models (once) into the first writable of
/// `cache_candidates` ([`crate::cache::CacheRoots::candidates`]) and say where they are:
/// [`Activated::dir`] holds its built-in models, [`Activated::store`] its read-only store of store
/// models. `None` for a plain executable (only its last 64 bytes are read). The caller passes
/// these folders on as configuration; nothing here touches the environment.
pub fn activate(cache_candidates: &[PathBuf]) -> Result<Option<Activated>> {
    let exe = std::env::current_exe().map_err(io("locating the running executable"))?;
    if read_manifest(&exe)?.is_none() {
        return Ok(None);
    }
    let cache = crate::cache::cache_dir(cache_candidates)?;
    activate_from(&exe, &cache)
}

/// Extract the payloads of the bundle at `exe` into `cache` (`blobs/sha256-<hex>`, plus
/// `bundles/<id>/<file>` links for hearth's bundled models and a read-only store
/// `bundles/<id>/store/` for store models) without touching the environment.
pub fn activate_from(exe: &Path, cache: &Path) -> Result<Option<Activated>> {
    let Some((manifest, id)) = read_manifest(exe)? else {
        return Ok(None);
    };
    // Links must hold absolute targets, whatever the cache dir was given as.
    std::fs::create_dir_all(cache).map_err(io(format!("creating {}", cache.display())))?;
    let cache = cache
        .canonicalize()
        .map_err(io(format!("resolving {}", cache.display())))?;
    let blobs = cache.join("blobs");
    let view = cache.join("bundles").join(&hex(&id)[..16]);
    for dir in [&blobs, &view] {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    for p in &manifest.models {
        let at = Located {
            offset: p.offset,
            size: p.size,
        };
        let what = format!("bundled model {}", p.name);
        let blob = extract_one(exe, &p.sha256, at, &what, &blobs)?;
        link(&blob, &view.join(&p.file))?;
    }
    let mut store_models = Vec::new();
    let store = if manifest.store.is_empty() {
        None
    } else {
        let root = view.join("store");
        let view_store = Store::new(&root);
        let linked = root.join("blobs");
        std::fs::create_dir_all(&linked).map_err(io(format!("creating {}", linked.display())))?;
        let payloads = manifest.payloads();
        for s in &manifest.store {
            // read_manifest checked the name, the manifest and that every blob is carried.
            let (name, m) = s.parse().ok_or_else(|| {
                AirgapError::Invalid(format!(
                    "damaged bundle {}: store model {}",
                    exe.display(),
                    s.name
                ))
            })?;
            let what = format!("model {}", name.display());
            for layer in std::iter::once(&m.config).chain(&m.layers) {
                let digest = Digest::parse(&layer.digest).ok_or_else(|| {
                    AirgapError::Invalid(format!("{what}: bad digest {:?}", layer.digest))
                })?;
                let at = *payloads.get(digest.hex()).ok_or_else(|| {
                    AirgapError::Invalid(format!(
                        "{what}: blob {} is not in the bundle",
                        layer.digest
                    ))
                })?;
                let blob = extract_one(
                    exe,
                    digest.hex(),
                    at,
                    &format!("blob {} of {what}", layer.digest),
                    &blobs,
                )?;
                link(&blob, &view_store.blob_path(&digest))?;
            }
            // The manifest last, as a pull writes it: it only appears over a complete model.
            let mut path = root.join("manifests");
            for part in name.manifest_parts() {
                path.push(part);
            }
            if std::fs::read(&path).ok().as_deref() != Some(s.manifest.as_bytes()) {
                atomic_write(&path, s.manifest.as_bytes())?;
            }
            store_models.push(name.display());
        }
        Some(root)
    };
    Ok(Some(Activated {
        dir: view,
        models: manifest.models.iter().map(|p| p.name.clone()).collect(),
        store,
        store_models,
    }))
}

/// `blobs/sha256-<hex>`, written from the payload at `at` unless a file of the right size is
/// there (it was verified before it was renamed into place). `what` names the model in errors.
fn extract_one(exe: &Path, sha256: &str, at: Located, what: &str, blobs: &Path) -> Result<PathBuf> {
    let sha256 = sha256.to_ascii_lowercase();
    let target = blobs.join(format!("sha256-{sha256}"));
    if std::fs::metadata(&target).is_ok_and(|m| m.is_file() && m.len() == at.size) {
        return Ok(target);
    }
    let ctx = format!("extracting {what} to {}", target.display());
    let mut src = File::open(exe).map_err(io(ctx.clone()))?;
    src.seek(SeekFrom::Start(at.offset))
        .map_err(io(ctx.clone()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".extract-")
        .tempfile_in(blobs)
        .map_err(io(ctx.clone()))?;
    let pb = if at.size >= BAR_MIN {
        bytes_bar(at.size, &format!("unpacking {what}"))
    } else {
        indicatif::ProgressBar::hidden()
    };
    let (digest, size) =
        copy_hashing(&mut src.take(at.size), tmp.as_file_mut(), &pb).map_err(io(ctx.clone()))?;
    pb.finish_and_clear();
    if size != at.size || digest.hex() != sha256 {
        tracing::error!(what, bundle = %exe.display(), "bundled payload fails its sha256 check");
        return Err(AirgapError::DigestMismatch {
            what: format!("{what} in {}", exe.display()),
            expected: format!("sha256:{sha256} ({} bytes)", at.size),
            got: format!("{} ({size} bytes)", digest.wire()),
        });
    }
    tmp.as_file().sync_all().map_err(io(ctx.clone()))?;
    tmp.persist(&target).map_err(|e| AirgapError::Io {
        context: ctx,
        err: e.error,
    })?;
    tracing::debug!(what, blob = %target.display(), "unpacked and verified");
    Ok(target)
}

/// Make `link` a symlink to `target`, atomically (temp name, then rename over).
fn link(target: &Path, link: &Path) -> Result<()> {
    if std::fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    let ctx = format!("linking {} to {}", link.display(), target.display());
    let tmp = link.with_file_name(format!(".link-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    symlink(target, &tmp)
        .and_then(|_| std::fs::rename(&tmp, link))
        .map_err(io(ctx))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(target, link).map(|_| ())
}

#[cfg(test)]
mod tests {
    use hearth_store::catalog::Catalog;
    use hearth_store::names::ModelName;
    use hearth_store::{manifest as mt, Layer, Manifest, Store};

    use super::super::format::footer;
    use super::super::{resolve, write_bundle, BuiltinSource, Source};
    use super::*;

    fn fake(dir: &Path, payload: &[u8], sha: Option<&str>) -> (PathBuf, Source) {
        let exe = dir.join("exe");
        std::fs::write(&exe, b"\x7fELF not really an executable").unwrap();
        let w = dir.join("w.gguf");
        std::fs::write(&w, payload).unwrap();
        let digest = Digest::of(payload);
        let src = Source::Builtin(BuiltinSource {
            name: "tiny:1".into(),
            file: "tiny.gguf".into(),
            path: w,
            sha256: sha.map_or_else(|| digest.hex().to_owned(), str::to_owned),
            size: payload.len() as u64,
        });
        (exe, src)
    }

    /// A store model with weights, system, params and licence layers.
    fn store_model(store: &Store, name: &str, weights: &[u8], system: &str) -> Manifest {
        let layer = |media: &str, bytes: &[u8]| Layer {
            media_type: media.into(),
            digest: store.put_blob_bytes(bytes).unwrap().wire(),
            size: bytes.len() as u64,
            from: None,
        };
        let m = Manifest::new(
            layer(
                mt::MEDIA_CONFIG,
                br#"{"model_format":"gguf","model_family":"llama"}"#,
            ),
            vec![
                layer(mt::MEDIA_MODEL, weights),
                layer(mt::MEDIA_SYSTEM, system.as_bytes()),
                layer(mt::MEDIA_PARAMS, br#"{"temperature":0.25,"stop":["END"]}"#),
                layer(mt::MEDIA_LICENSE, b"Apache-2.0"),
            ],
        );
        store
            .put_manifest(&ModelName::parse(name).unwrap(), &m)
            .unwrap();
        m
    }

    /// A bundle made by hand: `exe`, then `manifest` with a footer of `version`.
    fn raw_bundle(path: &Path, manifest: &serde_json::Value, version: u32) {
        let mut bytes = b"\x7fELF not really an executable".to_vec();
        let body = serde_json::to_vec(manifest).unwrap();
        let at = bytes.len() as u64;
        bytes.extend_from_slice(&body);
        let mut f = footer(&body, at);
        f[48..52].copy_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(&f);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn round_trip_extracts_once_and_rebundles() {
        let d = tempfile::tempdir().unwrap();
        let (exe, src) = fake(d.path(), b"GGUF weights", None);
        let out = d.path().join("bundle");
        let m = write_bundle(&exe, std::slice::from_ref(&src), &out).unwrap();
        assert_eq!(m.models[0].offset % super::super::ALIGN, 0);
        let cache = d.path().join("cache");
        let a = activate_from(&out, &cache).unwrap().unwrap();
        assert!(a.store.is_none() && a.store_models.is_empty());
        let linked = a.dir.join("tiny.gguf");
        assert_eq!(std::fs::read(&linked).unwrap(), b"GGUF weights");
        let blob = std::fs::read_link(&linked).unwrap();
        let before = std::fs::metadata(&blob).unwrap().modified().unwrap();
        activate_from(&out, &cache).unwrap().unwrap();
        assert_eq!(
            std::fs::metadata(&blob).unwrap().modified().unwrap(),
            before
        );
        // Bundling a bundle keeps only the executable part.
        let again = d.path().join("again");
        let m2 = write_bundle(&out, &[src], &again).unwrap();
        assert_eq!(m2.exe_size, m.exe_size);
        assert_eq!(std::fs::read(&again).unwrap(), std::fs::read(&out).unwrap());
        assert!(activate_from(&exe, &cache).unwrap().is_none());
    }

    #[test]
    fn wrong_digest_is_refused_at_bundle_time() {
        let d = tempfile::tempdir().unwrap();
        let (exe, src) = fake(d.path(), b"weights", Some(&"0".repeat(64)));
        let out = d.path().join("bundle");
        let err = write_bundle(&exe, &[src], &out).unwrap_err().to_string();
        assert!(err.contains("sha256 mismatch"), "{err}");
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            2,
            "no temp left"
        );
    }

    #[test]
    fn corrupted_payload_is_never_used() {
        let d = tempfile::tempdir().unwrap();
        let (exe, src) = fake(d.path(), b"weights!", None);
        let out = d.path().join("bundle");
        let m = write_bundle(&exe, &[src], &out).unwrap();
        let mut bytes = std::fs::read(&out).unwrap();
        bytes[m.models[0].offset as usize] ^= 0xff;
        std::fs::write(&out, &bytes).unwrap();
        let cache = d.path().join("cache");
        let err = activate_from(&out, &cache).unwrap_err().to_string();
        assert!(err.contains("sha256 mismatch"), "{err}");
        assert_eq!(std::fs::read_dir(cache.join("blobs")).unwrap().count(), 0);
        // Truncation is caught by the footer check.
        std::fs::write(&out, &bytes[..bytes.len() - 10]).unwrap();
        assert!(activate_from(&out, &cache).unwrap().is_none());
        let mut cut = bytes.clone();
        cut.drain(100..200);
        std::fs::write(&out, &cut).unwrap();
        let err = activate_from(&out, &cache).unwrap_err().to_string();
        assert!(err.contains("damaged bundle"), "{err}");
    }

    #[test]
    fn store_models_travel_with_every_layer_and_serve_read_only() {
        let d = tempfile::tempdir().unwrap();
        let (exe, bundled) = fake(d.path(), b"GGUF shared weights", None);
        let store = Store::new(d.path().join("store"));
        let manifest = store_model(&store, "team/mine:q4", b"GGUF shared weights", "Be brief.");
        store_model(&store, "other:1", b"GGUF other weights", "Other.");
        let stores = [store.clone()];
        let mine = resolve("Team/Mine:Q4", &stores, &[]).unwrap();
        let Source::Store(s) = &mine else {
            panic!("expected a store model: {mine:?}")
        };
        assert_eq!(s.name.display(), "team/mine:q4");
        assert_eq!(s.blobs.len(), 5, "config and four layers");
        let out = d.path().join("bundle");
        let m = write_bundle(&exe, &[bundled, mine.clone(), mine], &out).unwrap();
        assert_eq!(m.version, super::super::VERSION);
        assert_eq!(m.store.len(), 1, "named twice, carried once");
        // The weights equal the bundled model's payload: carried once.
        assert_eq!((m.models.len(), m.blobs.len()), (1, 4));

        let cache = d.path().join("cache");
        let a = activate_from(&out, &cache).unwrap().unwrap();
        assert_eq!(a.store_models, vec!["team/mine:q4".to_owned()]);
        let ro = Store::new(a.store.clone().unwrap());
        let listed = ro.list();
        assert_eq!(listed.len(), 1);
        let original = std::fs::read(
            store
                .root()
                .join("manifests/registry.ollama.ai/team/mine/q4"),
        )
        .unwrap();
        assert_eq!(
            listed[0].digest,
            Digest::of(&original).hex(),
            "manifest kept byte for byte"
        );
        assert_eq!(listed[0].manifest, manifest);
        // Every blob is a link into the shared, content-addressed cache.
        for digest in manifest.digests() {
            let d = Digest::parse(digest).unwrap();
            let link = ro.blob_path(&d);
            assert_eq!(
                std::fs::read_link(&link).unwrap(),
                cache
                    .canonicalize()
                    .unwrap()
                    .join("blobs")
                    .join(d.file_name())
            );
            assert!(link.is_file());
        }

        // The catalogue serves it after the writable store, with its layers.
        let main = Store::new(d.path().join("main"));
        let catalog = Catalog::new(main.clone(), Vec::new()).with_read_only([ro.clone()]);
        let r = catalog
            .resolve(&ModelName::parse("team/mine:q4").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r.system.as_deref(), Some("Be brief."));
        assert_eq!(r.params["temperature"], 0.25);
        assert_eq!(r.license, vec!["Apache-2.0".to_owned()]);
        assert_eq!(
            std::fs::read(&r.model_path).unwrap(),
            b"GGUF shared weights"
        );
        assert_eq!(catalog.list().len(), 1);
        assert!(catalog
            .read_only_source(&ModelName::parse("team/mine:q4").unwrap())
            .is_some());
        assert!(catalog
            .resolve(&ModelName::parse("other:1").unwrap())
            .unwrap()
            .is_none());
        // Startup prune of the writable store never reaches the read-only one.
        assert_eq!(main.prune_unreferenced(), 0);
        assert_eq!(ro.list().len(), 1);

        // A second start reuses everything.
        let blob = cache
            .join("blobs")
            .join(format!("sha256-{}", m.blobs[0].sha256));
        let before = std::fs::metadata(&blob).unwrap().modified().unwrap();
        let again = activate_from(&out, &cache).unwrap().unwrap();
        assert_eq!(again.store, a.store);
        assert_eq!(
            std::fs::metadata(&blob).unwrap().modified().unwrap(),
            before
        );
    }

    #[test]
    fn a_corrupted_store_blob_is_refused_naming_the_model() {
        let d = tempfile::tempdir().unwrap();
        let (exe, _) = fake(d.path(), b"unused", None);
        let store = Store::new(d.path().join("store"));
        store_model(&store, "mine:q4", b"GGUF weights of mine", "Be brief.");
        let src = resolve("mine:q4", &[store], &[]).unwrap();
        let out = d.path().join("bundle");
        let m = write_bundle(&exe, &[src], &out).unwrap();
        assert!(m.models.is_empty());
        let weights = m.blobs.iter().find(|b| b.size == 20).unwrap();
        let mut bytes = std::fs::read(&out).unwrap();
        bytes[weights.offset as usize + 3] ^= 0x01;
        std::fs::write(&out, &bytes).unwrap();
        let cache = d.path().join("cache");
        let err = activate_from(&out, &cache).unwrap_err().to_string();
        assert!(
            err.contains("sha256 mismatch") && err.contains("model mine:q4"),
            "{err}"
        );
        let bad = cache
            .join("blobs")
            .join(format!("sha256-{}", weights.sha256));
        assert!(!bad.exists(), "never unpacked");
        let ro = Store::new(
            std::fs::read_dir(cache.join("bundles"))
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path()
                .join("store"),
        );
        assert!(ro.list().is_empty(), "no manifest over a refused blob");
    }

    #[test]
    fn unknown_names_list_what_can_be_bundled() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::new(d.path().join("store"));
        store_model(&store, "mine:q4", b"weights", "s");
        let err = resolve("nope:1", std::slice::from_ref(&store), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot be bundled")
                && err.contains("smollm2:135m")
                && err.contains("mine:q4")
                && err.contains(&store.root().display().to_string()),
            "{err}"
        );
        let err = resolve("bad name", std::slice::from_ref(&store), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid model name"), "{err}");
        // A model whose blob is gone is refused before anything is written.
        let m = store
            .get(&ModelName::parse("mine:q4").unwrap())
            .unwrap()
            .unwrap();
        let weights = Digest::parse(&m.manifest.layer(mt::MEDIA_MODEL).unwrap().digest).unwrap();
        std::fs::remove_file(store.blob_path(&weights)).unwrap();
        let err = resolve("mine:q4", &[store], &[]).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn hostile_store_entries_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("bundle");
        let sha = Digest::of(b"x").hex().to_owned();
        let manifest = |name: &str, digest: &str| {
            let m = serde_json::json!({"schemaVersion": 2, "config": {"mediaType": mt::MEDIA_CONFIG,
                "digest": digest, "size": 1}, "layers": [{"mediaType": mt::MEDIA_MODEL, "digest": digest, "size": 1}]});
            serde_json::json!({"version": 2, "exe_size": 31, "models": [],
                "store": [{"name": name, "manifest": m.to_string()}], "blobs": []})
        };
        for (name, digest, why) in [
            (
                "registry.ollama.ai/library/../x:1",
                format!("sha256:{sha}"),
                "unsafe store model name",
            ),
            (
                "registry.ollama.ai/../../x:1",
                format!("sha256:{sha}"),
                "unsafe store model name",
            ),
            ("../x", format!("sha256:{sha}"), "unsafe store model name"),
            (
                "registry.ollama.ai/library/x:1",
                "sha256:../../../etc/passwd".into(),
                "bad digest",
            ),
            (
                "registry.ollama.ai/library/x:1",
                format!("sha256-{sha}"),
                "bad digest",
            ),
            (
                "registry.ollama.ai/library/x:1",
                format!("sha256:{sha}"),
                "not in the bundle",
            ),
        ] {
            raw_bundle(&path, &manifest(name, &digest), 2);
            let err = activate_from(&path, &d.path().join("cache"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("damaged bundle") && err.contains(why),
                "{name} {digest}: {err}"
            );
        }
        let blob = serde_json::json!({"sha256": "../../etc", "offset": 4096, "size": 1});
        let mut m = manifest("registry.ollama.ai/library/x:1", &format!("sha256:{sha}"));
        m["blobs"] = serde_json::json!([blob]);
        raw_bundle(&path, &m, 2);
        let err = activate_from(&path, &d.path().join("cache"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad blob digest"), "{err}");
        assert!(!d.path().join("cache/bundles").exists(), "nothing unpacked");
    }

    #[test]
    fn format_versions() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("bundle");
        // A version 1 bundle (no store fields) is still read.
        raw_bundle(
            &path,
            &serde_json::json!({"version": 1, "exe_size": 31, "models": []}),
            1,
        );
        let a = activate_from(&path, &d.path().join("cache"))
            .unwrap()
            .unwrap();
        assert!(a.models.is_empty() && a.store.is_none());
        // Store models in a version 1 manifest, or a newer version, are refused clearly.
        let v1_with_store = serde_json::json!({"version": 1, "exe_size": 31, "models": [],
            "store": [{"name": "registry.ollama.ai/library/x:1", "manifest": "{}"}]});
        raw_bundle(&path, &v1_with_store, 1);
        let err = activate_from(&path, &d.path().join("cache"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("carries no store models"), "{err}");
        raw_bundle(
            &path,
            &serde_json::json!({"version": 3, "exe_size": 31, "models": []}),
            3,
        );
        let err = activate_from(&path, &d.path().join("cache"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("format version 3") && err.contains("newer hearth"),
            "{err}"
        );
    }
}
