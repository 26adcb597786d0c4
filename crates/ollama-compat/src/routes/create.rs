//! `POST /api/create`: a new manifest from uploaded GGUF blobs (`files`) or an existing model
//! (`from`), with template, system, parameters, messages and licence layers.

use std::collections::BTreeMap;
use std::path::Path;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json as j, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::http::{json, OJson};
use crate::state::SharedState;
use crate::wire::Message;
use hearth_store::catalog::ModelRecord;
use hearth_store::import::{text_layer, weights_layer, write_manifest, ModelFacts};
use hearth_store::names::ModelName;
use hearth_store::{manifest as mt, ConfigV2, Digest};

/// `POST /api/create` body.
#[derive(Debug, Default, Deserialize)]
pub struct CreateBody {
    /// New model name.
    #[serde(default)]
    pub model: Option<String>,
    /// Deprecated alias of `model`.
    #[serde(default)]
    pub name: Option<String>,
    /// Existing model to start from.
    #[serde(default)]
    pub from: Option<String>,
    /// `{"file.gguf": "sha256:..."}`, uploaded beforehand.
    #[serde(default)]
    pub files: Option<BTreeMap<String, String>>,
    /// LoRA adapters (unsupported).
    #[serde(default)]
    pub adapters: Option<BTreeMap<String, String>>,
    /// Go template.
    #[serde(default)]
    pub template: Option<String>,
    /// System prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// Licence: a string or a list.
    #[serde(default)]
    pub license: Option<Value>,
    /// Options merged over the base model's.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// Few-shot history.
    #[serde(default)]
    pub messages: Option<Vec<Message>>,
    /// Quantization (unsupported).
    #[serde(default, alias = "quantization")]
    pub quantize: Option<String>,
    /// Stream status lines (default true).
    #[serde(default)]
    pub stream: Option<bool>,
}

/// What a create changes relative to its base.
#[derive(Debug, Default)]
pub struct Overrides {
    /// TEMPLATE.
    pub template: Option<String>,
    /// SYSTEM.
    pub system: Option<String>,
    /// LICENSE.
    pub license: Option<Vec<String>>,
    /// PARAMETERs.
    pub parameters: Map<String, Value>,
    /// MESSAGEs.
    pub messages: Option<Vec<Value>>,
}

/// The handler.
pub async fn handler(State(st): State<SharedState>, OJson(body): OJson<CreateBody>) -> Response {
    let stream = body.stream.unwrap_or(true);
    let st2 = st.clone();
    let result = tokio::task::spawn_blocking(move || create(&st2, body))
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(e)));
    match result {
        Ok(statuses) if stream => {
            let lines: Vec<Value> = statuses.into_iter().map(|s| j!({ "status": s })).collect();
            super::stream::ndjson(futures::stream::iter(lines))
        }
        Ok(_) => json(&j!({ "status": "success" })),
        Err(e) => e.into_response(),
    }
}

fn create(st: &SharedState, body: CreateBody) -> ApiResult<Vec<String>> {
    let model = body
        .model
        .clone()
        .filter(|m| !m.is_empty())
        .or(body.name.clone())
        .unwrap_or_default();
    let name = ModelName::parse(&model).ok_or_else(|| ApiError::bad("invalid model name"))?;
    if body.quantize.as_ref().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad(
            "quantization is only supported for F16, BF16 and F32 models",
        ));
    }
    if body.adapters.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(ApiError::bad("adapters are not supported"));
    }
    let mut statuses = Vec::new();
    let base = match (&body.files, &body.from) {
        (Some(files), _) if !files.is_empty() => {
            statuses.push("parsing GGUF".to_owned());
            from_files(st, files)?
        }
        (_, Some(from)) if !from.is_empty() => {
            let from_name =
                ModelName::parse(from).ok_or_else(|| ApiError::bad("invalid model name"))?;
            st.catalog
                .resolve(&from_name)?
                .ok_or_else(|| ApiError::NotFound(format!("model \"{from}\" not found")))?
        }
        _ => return Err(ApiError::bad("neither 'from' or 'files' was specified")),
    };
    let overrides = Overrides {
        template: body.template.filter(|t| !t.is_empty()),
        system: body.system,
        license: body.license.map(|l| match l {
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            Value::String(s) => vec![s],
            _ => Vec::new(),
        }),
        parameters: body.parameters.unwrap_or_default(),
        messages: body.messages.map(|ms| {
            ms.iter()
                .map(|m| j!({ "role": m.role, "content": m.content }))
                .collect()
        }),
    };
    let layers = write_model(st, &name, &base, &overrides)?;
    for l in layers {
        statuses.push(format!("using existing layer {l}"));
    }
    statuses.push("writing manifest".into());
    statuses.push("success".into());
    Ok(statuses)
}

fn from_files(st: &SharedState, files: &BTreeMap<String, String>) -> ApiResult<ModelRecord> {
    let mut gguf = None;
    for (file, digest) in files {
        let p = Path::new(file);
        if p.is_absolute()
            || p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(ApiError::bad("file path must be relative"));
        }
        let d = Digest::parse(digest).ok_or_else(|| ApiError::bad("invalid digest format"))?;
        let path = st.catalog.store().blob_path(&d);
        if !path.is_file() {
            return Err(ApiError::bad(format!("blob \"{digest}\" not found")));
        }
        if gguf.is_none() {
            // A GGUF is checked in full here, so a file llama.cpp would abort on is refused
            // now with the field at fault, not at its first use.
            match hearth_store::gguf::validate(&path) {
                Ok(info) => {
                    hearth_store::gguf::check_model(&info).map_err(|e| {
                        ApiError::bad(format!("invalid model file \"{file}\": {e}"))
                    })?;
                    gguf = Some((d, path, info));
                }
                Err(hearth_store::gguf::GgufError::Invalid { reason, .. })
                    if !reason.starts_with("bad magic") =>
                {
                    return Err(ApiError::bad(format!(
                        "invalid model file \"{file}\": {reason}"
                    )));
                }
                Err(_) => {}
            }
        }
    }
    let (digest, path, info) =
        gguf.ok_or_else(|| ApiError::bad("supplied file was not in GGUF format"))?;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(ModelRecord {
        name: ModelName::parse("imported").expect("valid literal"),
        model_path: path,
        digest: digest.hex().to_owned(),
        size,
        modified: std::time::SystemTime::now(),
        template: None,
        system: None,
        params: Map::new(),
        messages: Vec::new(),
        license: Vec::new(),
        config: ConfigV2 {
            model_family: info.architecture().unwrap_or_default().to_owned(),
            ..ConfigV2::default()
        },
        parent: String::new(),
    })
}

/// Write a manifest for `name`: the base's weights (imported into `blobs/` when they live
/// elsewhere, as bundled models do) plus its layers with the overrides applied. Returns the
/// layer digests.
pub fn write_model(
    st: &SharedState,
    name: &ModelName,
    base: &ModelRecord,
    o: &Overrides,
) -> ApiResult<Vec<String>> {
    let store = st.catalog.store();
    let weights = import_weights(st, base)?;
    let weights_size = std::fs::metadata(store.blob_path(&weights))
        .map_err(ApiError::internal)?
        .len();
    let mut layers = vec![weights_layer(
        &weights,
        weights_size,
        (!base.parent.is_empty()).then(|| base.parent.clone()),
    )];
    let mut push_text = |media: &str, text: &str| -> ApiResult<()> {
        layers.push(text_layer(store, media, text).map_err(ApiError::internal)?);
        Ok(())
    };
    if let Some(t) = o.template.as_ref().or(base.template.as_ref()) {
        push_text(mt::MEDIA_TEMPLATE, t)?;
    }
    if let Some(s) = o.system.as_ref().or(base.system.as_ref()) {
        push_text(mt::MEDIA_SYSTEM, s)?;
    }
    let mut params = base.params.clone();
    params.extend(o.parameters.clone());
    if !params.is_empty() {
        push_text(mt::MEDIA_PARAMS, &Value::Object(params).to_string())?;
    }
    let messages = o.messages.clone().unwrap_or_else(|| base.messages.clone());
    if !messages.is_empty() {
        push_text(mt::MEDIA_MESSAGES, &Value::Array(messages).to_string())?;
    }
    for l in o.license.clone().unwrap_or_else(|| base.license.clone()) {
        push_text(mt::MEDIA_LICENSE, &l)?;
    }
    let facts = ModelFacts::of_details(&st.catalog.details(base));
    let old = store.get(name).map_err(ApiError::internal)?;
    let manifest = write_manifest(store, name, &facts, layers).map_err(ApiError::internal)?;
    if let Some(old) = old {
        store.prune(old.manifest.digests().map(str::to_owned).collect());
    }
    Ok(manifest.layers.iter().map(|l| l.digest.clone()).collect())
}

/// The weights' digest in `blobs/`, hard-linking (or copying) a file from outside the store.
fn import_weights(st: &SharedState, base: &ModelRecord) -> ApiResult<Digest> {
    let store = st.catalog.store();
    // A blob of a read-only store (a bundle's model) is linked or copied into this one.
    let in_a_store = st.catalog.blob_digest(&base.model_path);
    if let Some(d) = in_a_store
        .as_ref()
        .filter(|d| store.blob_path(d) == base.model_path)
    {
        return Ok(d.clone());
    }
    let known = in_a_store.or_else(|| Digest::parse(&format!("sha256:{}", base.digest)));
    if let Some(d) = known.as_ref().filter(|d| store.has_blob(d)) {
        return Ok(d.clone());
    }
    let file = std::fs::File::open(&base.model_path).map_err(ApiError::internal)?;
    let stream = futures::stream::iter(ChunkReader(file));
    let digest = match known {
        Some(d) => d,
        None => {
            hearth_store::sha256_file(&base.model_path, &mut |_| {}).map_err(ApiError::internal)?
        }
    };
    let dest = store.blob_path(&digest);
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(ApiError::internal)?;
    }
    let tmp = dest.with_file_name(format!("{}{}", hearth_store::LINK_PREFIX, digest.hex()));
    // The file itself, not a symlink to it (a read-only store's blobs may be links).
    let source = base
        .model_path
        .canonicalize()
        .unwrap_or_else(|_| base.model_path.clone());
    if std::fs::hard_link(&source, &tmp)
        .and_then(|_| std::fs::rename(&tmp, &dest))
        .is_ok()
    {
        return Ok(digest);
    }
    let _ = std::fs::remove_file(&tmp);
    let handle = tokio::runtime::Handle::current();
    handle
        .block_on(store.put_blob_stream(&digest, stream))
        .map_err(ApiError::internal)?;
    Ok(digest)
}

struct ChunkReader(std::fs::File);

impl Iterator for ChunkReader {
    type Item = Result<bytes::Bytes, std::io::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::Read;
        let mut buf = vec![0u8; 1 << 20];
        match self.0.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some(Ok(bytes::Bytes::from(buf)))
            }
            Err(e) => Some(Err(e)),
        }
    }
}
