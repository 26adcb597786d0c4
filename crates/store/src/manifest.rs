//! Ollama's manifest format (Docker v2 schema with `application/vnd.ollama.image.*` layers).

use serde::{Deserialize, Serialize};

/// Media type of the GGUF weights layer.
pub const MEDIA_MODEL: &str = "application/vnd.ollama.image.model";
/// Media type of the Go-template layer.
pub const MEDIA_TEMPLATE: &str = "application/vnd.ollama.image.template";
/// Legacy media type of the template layer.
pub const MEDIA_PROMPT: &str = "application/vnd.ollama.image.prompt";
/// Media type of the system-prompt layer.
pub const MEDIA_SYSTEM: &str = "application/vnd.ollama.image.system";
/// Media type of the parameters (options JSON) layer.
pub const MEDIA_PARAMS: &str = "application/vnd.ollama.image.params";
/// Media type of the few-shot messages layer.
pub const MEDIA_MESSAGES: &str = "application/vnd.ollama.image.messages";
/// Media type of a licence layer.
pub const MEDIA_LICENSE: &str = "application/vnd.ollama.image.license";
/// Media type of the config blob.
pub const MEDIA_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Media type of the manifest itself.
pub const MEDIA_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// One content-addressed layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    /// What the blob holds.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Blob size in bytes.
    pub size: u64,
    /// Parent model this layer came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// A model manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// Docker v2 manifest media type.
    #[serde(default)]
    pub media_type: String,
    /// The `ConfigV2` blob.
    pub config: Layer,
    /// Weights, template, system, params, messages, licence layers.
    #[serde(default)]
    pub layers: Vec<Layer>,
}

impl Manifest {
    /// A new manifest from its config and layers.
    pub fn new(config: Layer, layers: Vec<Layer>) -> Self {
        Manifest {
            schema_version: 2,
            media_type: MEDIA_MANIFEST.to_owned(),
            config,
            layers,
        }
    }

    /// The first layer of a media type.
    pub fn layer(&self, media_type: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.media_type == media_type)
    }

    /// Every digest this manifest references (config included).
    pub fn digests(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.config.digest.as_str())
            .chain(self.layers.iter().map(|l| l.digest.as_str()))
    }

    /// Total size: layers plus config, as `/api/tags` reports it.
    pub fn total_size(&self) -> u64 {
        self.config.size + self.layers.iter().map(|l| l.size).sum::<u64>()
    }
}

/// The config blob (`ConfigV2`): the fields hearth reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigV2 {
    /// `gguf`.
    #[serde(default)]
    pub model_format: String,
    /// Family (architecture), e.g. `llama`.
    #[serde(default)]
    pub model_family: String,
    /// Families.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_families: Option<Vec<String>>,
    /// Parameter size label, e.g. `135M`.
    #[serde(default)]
    pub model_type: String,
    /// Quantization, e.g. `Q4_K_M`.
    #[serde(default)]
    pub file_type: String,
    /// Capabilities recorded at create time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// `amd64`.
    #[serde(default)]
    pub architecture: String,
    /// `linux`.
    #[serde(default)]
    pub os: String,
}
