//! `weave-fhir-gen zstd-dict OUT SAMPLES…`: trains the zstd dictionary that the store compresses
//! resource bodies with (`crates/store/data/fhir-r4.zdict`).
//!
//! The samples are resources shaped as the store keeps them — `resourceType`, `id`, then `meta`
//! with empty `versionId` and `lastUpdated`, then the rest, serialized compactly — taken from
//! JSON files (single resources, Bundles' entries) under the sample folders. Local references
//! written `urn:uuid:…` in transaction bundles are rewritten `Type/…` as the server would.
//! A dictionary's bytes must never change once stores use it: write a new file for a new one.

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Dictionary size: large enough for the keys, code systems and units that FHIR resources share.
const DICT_BYTES: usize = 96 * 1024;
/// Samples kept (spread evenly over what was found), enough for zstd's trainer.
const MAX_SAMPLES: usize = 30_000;

pub fn run(out: &Path, dirs: &[PathBuf]) -> Result<()> {
    let mut samples = Vec::new();
    for dir in dirs {
        collect(dir, &mut samples)?;
    }
    if samples.len() < 1000 {
        bail!("only {} sample resources found; give the R4 examples and the Synthea bundles", samples.len());
    }
    let step = samples.len().div_ceil(MAX_SAMPLES);
    let kept: Vec<Vec<u8>> = samples.into_iter().step_by(step).collect();
    let dict = zstd::dict::from_samples(&kept, DICT_BYTES).context("training the dictionary")?;
    std::fs::write(out, &dict).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("zstd dictionary: {} bytes from {} sample resources -> {}", dict.len(), kept.len(), out.display());
    Ok(())
}

fn collect(path: &Path, samples: &mut Vec<Vec<u8>>) -> Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            collect(&p, samples)?;
        }
        return Ok(());
    }
    if path.extension().and_then(|e| e.to_str()) != Some("json") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(&std::fs::read(path)?) else { return Ok(()) };
    let entries = value.get("entry").and_then(Value::as_array);
    match (value.get("resourceType").and_then(Value::as_str), entries) {
        (Some("Bundle"), Some(entries)) => {
            for e in entries {
                if let Some(r) = e.get("resource") {
                    samples.push(stored_shape(r));
                }
            }
        }
        (Some(_), _) => samples.push(stored_shape(&value)),
        _ => {}
    }
    Ok(())
}

/// A resource as the store writes it, before compression.
fn stored_shape(resource: &Value) -> Vec<u8> {
    let Some(obj) = resource.as_object() else { return Vec::new() };
    let mut meta = Map::new();
    meta.insert("versionId".into(), Value::String(String::new()));
    meta.insert("lastUpdated".into(), Value::String(String::new()));
    if let Some(Value::Object(m)) = obj.get("meta") {
        meta.extend(m.iter().filter(|(k, _)| *k != "versionId" && *k != "lastUpdated").map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut out = Map::new();
    out.insert("resourceType".into(), obj.get("resourceType").cloned().unwrap_or(Value::Null));
    let id = obj.get("id").and_then(Value::as_str).map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    out.insert("id".into(), Value::String(id));
    out.insert("meta".into(), Value::Object(meta));
    out.extend(obj.iter().filter(|(k, _)| !matches!(k.as_str(), "resourceType" | "id" | "meta")).map(|(k, v)| (k.clone(), v.clone())));
    let text = serde_json::to_string(&Value::Object(out)).unwrap_or_default();
    text.replace("\"urn:uuid:", "\"Patient/").into_bytes()
}
