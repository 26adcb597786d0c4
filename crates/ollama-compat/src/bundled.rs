//! The engine's bundled models as catalogue entries (only those whose weights are on disk).

use crate::catalog::BundledEntry;
use crate::names::ModelName;

/// Every bundled model found on disk. Missing ones are logged with the fetch command (at debug
/// level only when `HEARTH_BUNDLED_DIR` is set, as a bundled executable sets it: such a folder
/// carries the chosen models, not all of them).
pub fn entries() -> Vec<BundledEntry> {
    let chosen = std::env::var_os(hearth_engine::bundled::DIR_ENV).is_some_and(|d| !d.is_empty());
    hearth_engine::bundled::all()
        .iter()
        .filter_map(|m| {
            let path = match hearth_engine::bundled::locate(m) {
                Ok(p) => p,
                Err(e) if chosen => {
                    tracing::debug!(model = %m.name, error = %e, "bundled model not available");
                    return None;
                }
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
