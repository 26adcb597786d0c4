//! The engine's bundled models as catalogue entries (only those whose weights are on disk).

use crate::catalog::BundledEntry;
use crate::names::ModelName;

/// Every bundled model found on disk. Missing ones are logged with the fetch command.
pub fn entries() -> Vec<BundledEntry> {
    hearth_engine::bundled::all()
        .iter()
        .filter_map(|m| {
            let path = match hearth_engine::bundled::locate(m) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(model = %m.name, error = %e, "bundled model not available");
                    return None;
                }
            };
            Some(BundledEntry {
                name: ModelName::parse(&m.name)?,
                aliases: m
                    .aliases
                    .iter()
                    .filter_map(|a| ModelName::parse(a))
                    .collect(),
                path,
                sha256: m.sha256.clone(),
                size: m.size,
                family: m.architecture.clone(),
                quantization: m.quantization.clone(),
                license: m.license.clone(),
            })
        })
        .collect()
}
