//! `weave-fhir-gen`: reads the official FHIR R4 (4.0.1) definition bundles and writes the compact,
//! tab-separated model data that `weave-fhir` embeds (`crates/fhir/data/`).
//!
//! Usage: `cargo run -p weave-fhir-gen -- <definitions-dir> <output-dir>`, and
//! `cargo run -p weave-fhir-gen -- zstd-dict <out-file> <sample-dir>…` for the store's body
//! dictionary (see `dict`).
//! (e.g. `/work/shared/fhir-r4-definitions crates/fhir/data`). The format of each output file is
//! described in `crates/fhir/data/README.md`; the reader is `weave_fhir::model::load`.

mod dict;
mod hierarchies;
mod out;
mod search;
mod structures;
mod valuesets;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, out, samples @ ..] = args.as_slice() {
        if mode == "zstd-dict" {
            return dict::run(Path::new(out), &samples.iter().map(PathBuf::from).collect::<Vec<_>>());
        }
    }
    let [defs, out_dir] = args.as_slice() else {
        bail!("usage: weave-fhir-gen <fhir-r4-definitions-dir> <output-dir>");
    };
    let defs = PathBuf::from(defs);
    let out_dir = PathBuf::from(out_dir);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let resources = read_json(&defs.join("profiles-resources.json"))?;
    let types = read_json(&defs.join("profiles-types.json"))?;
    let structure = structures::generate(&[&types, &resources])?;
    write(&out_dir, "types.tsv", &structure.text)?;

    let vs_bundle = read_json(&defs.join("valuesets.json"))?;
    let vs = valuesets::generate(&vs_bundle, &structure.required_value_sets)?;
    write(&out_dir, "valuesets.tsv", &vs.text)?;
    eprintln!(
        "value sets: {} required bindings, {} expanded, {} not expandable",
        structure.required_value_sets.len(),
        vs.n_expanded,
        vs.not_expanded.len()
    );
    for url in &vs.not_expanded {
        eprintln!("  not expanded: {url}");
    }

    let h = hierarchies::generate(&vs_bundle)?;
    write(&out_dir, "hierarchies.tsv", &h.text)?;
    eprintln!(
        "code system hierarchies: {} systems, {} codes, {} is-a relations",
        h.n_systems, h.n_codes, h.n_edges
    );
    for (url, reason) in &h.skipped {
        eprintln!("  hierarchy skipped: {url}: {reason}");
    }

    let sp = read_json(&defs.join("search-parameters.json"))?;
    let (sp_text, n_sp) = search::generate_search_params(&sp)?;
    write(&out_dir, "search.tsv", &sp_text)?;
    eprintln!("search parameters: {n_sp}");

    let comp = read_json(&defs.join("compartmentdefinition-patient.json"))?;
    write(
        &out_dir,
        "compartment-patient.tsv",
        &search::generate_compartment(&comp)?,
    )?;
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {} ({} bytes)", path.display(), text.len());
    Ok(())
}
