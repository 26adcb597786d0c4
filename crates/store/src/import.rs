//! The one way a model's manifest is built from its GGUF weights: `hearth create`, `/api/create`,
//! the offline import and Hugging Face imports all describe a model the way Ollama's create does.

use hearth_gguf::GgufInfo;

use crate::catalog::Details;
use crate::manifest::{self as mt, ConfigV2, Layer, Manifest};
use crate::names::ModelName;
use crate::{Digest, Store, StoreError};

/// What the config blob says about a model: Ollama's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelFacts {
    /// Architecture (`llama`, `gemma3`).
    pub family: String,
    /// Families (`[family]` for a plain GGUF).
    pub families: Vec<String>,
    /// Parameter count label (`134.52M`).
    pub parameter_size: String,
    /// Quantisation (`Q4_1`).
    pub quantization: String,
}

impl ModelFacts {
    /// The facts a GGUF header states.
    pub fn of_gguf(info: &GgufInfo) -> Self {
        let family = info.architecture().unwrap_or_default().to_owned();
        ModelFacts {
            families: vec![family.clone()],
            family,
            parameter_size: crate::human_number(info.parameter_count()),
            quantization: info.file_type_name().unwrap_or_default().to_owned(),
        }
    }

    /// The facts the catalogue reports for a model (its `details`), e.g. to re-create a model
    /// from an existing one.
    pub fn of_details(details: &Details) -> Self {
        ModelFacts {
            family: details.family.clone(),
            families: details.families.clone(),
            parameter_size: details.parameter_size.clone(),
            quantization: details.quantization_level.clone(),
        }
    }

    /// Ollama's config blob for these facts.
    pub fn config(&self) -> ConfigV2 {
        ConfigV2 {
            model_format: "gguf".into(),
            model_family: self.family.clone(),
            model_families: Some(self.families.clone()),
            model_type: self.parameter_size.clone(),
            file_type: self.quantization.clone(),
            capabilities: None,
            architecture: "amd64".into(),
            os: "linux".into(),
        }
    }
}

/// The weights layer of a blob: `size` bytes stored under `digest`, derived `from` a parent model.
pub fn weights_layer(digest: &Digest, size: u64, from: Option<String>) -> Layer {
    Layer {
        media_type: mt::MEDIA_MODEL.into(),
        digest: digest.wire(),
        size,
        from,
    }
}

/// A layer holding `text` (template, system prompt, parameters …), written as a blob.
pub fn text_layer(store: &Store, media_type: &str, text: &str) -> Result<Layer, StoreError> {
    let digest = store.put_blob_bytes(text.as_bytes())?;
    Ok(Layer {
        media_type: media_type.into(),
        digest: digest.wire(),
        size: text.len() as u64,
        from: None,
    })
}

/// Write the config blob for `facts` and the manifest for `name` (`layers` are already stored,
/// the weights first). The manifest replaces any earlier one atomically.
pub fn write_manifest(
    store: &Store,
    name: &ModelName,
    facts: &ModelFacts,
    layers: Vec<Layer>,
) -> Result<Manifest, StoreError> {
    let config_bytes = serde_json::to_vec(&facts.config()).map_err(std::io::Error::other)?;
    let config_digest = store.put_blob_bytes(&config_bytes)?;
    let manifest = Manifest::new(
        Layer {
            media_type: mt::MEDIA_CONFIG.into(),
            digest: config_digest.wire(),
            size: config_bytes.len() as u64,
            from: None,
        },
        layers,
    );
    store.put_manifest(name, &manifest)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gguf_becomes_ollamas_config_and_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut info = GgufInfo::default();
        info.metadata.insert(
            "general.architecture".into(),
            hearth_gguf::GgufValue::String("llama".into()),
        );
        info.metadata
            .insert("general.file_type".into(), hearth_gguf::GgufValue::U64(3));
        let facts = ModelFacts::of_gguf(&info);
        assert_eq!(facts.family, "llama");
        assert_eq!(facts.quantization, "Q4_1");
        let weights = store.put_blob_bytes(b"weights").unwrap();
        let name = ModelName::parse("m:1").unwrap();
        let manifest = write_manifest(
            &store,
            &name,
            &facts,
            vec![weights_layer(&weights, 7, None)],
        )
        .unwrap();
        let stored = store.get(&name).unwrap().unwrap();
        assert_eq!(stored.manifest, manifest);
        assert_eq!(manifest.layers[0].media_type, mt::MEDIA_MODEL);
        let config: ConfigV2 =
            serde_json::from_str(&store.read_blob_string(&manifest.config.digest).unwrap())
                .unwrap();
        assert_eq!(config.model_family, "llama");
        assert_eq!(config.file_type, "Q4_1");
        assert_eq!(config.os, "linux");
    }

    #[test]
    fn catalogue_details_carry_over() {
        let details = Details {
            parent_model: "p".into(),
            format: "gguf".into(),
            family: "gemma3".into(),
            families: vec!["gemma3".into(), "clip".into()],
            parameter_size: "1B".into(),
            quantization_level: "Q8_0".into(),
        };
        let config = ModelFacts::of_details(&details).config();
        assert_eq!(config.model_family, "gemma3");
        assert_eq!(
            config.model_families,
            Some(vec!["gemma3".to_owned(), "clip".to_owned()])
        );
        assert_eq!(config.model_type, "1B");
        assert_eq!(config.file_type, "Q8_0");
        assert_eq!(config.model_format, "gguf");
        assert_eq!(config.architecture, "amd64");
    }
}
