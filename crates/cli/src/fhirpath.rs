//! `weave fhirpath`: evaluate an expression against a JSON resource, for people trying expressions.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;
use weave_fhirpath::{CompileOptions, EvalContext, Expression, Item};

/// `weave fhirpath`.
#[derive(Args, Clone, Debug)]
pub struct FhirpathArgs {
    /// Print the result as one boolean (empty → false, a single boolean → itself, anything else → true).
    #[arg(long)]
    pub predicate: bool,
    /// Strict mode: a path that cannot exist on the input's type is a semantic error.
    #[arg(long)]
    pub strict: bool,
    /// The FHIRPath expression.
    pub expression: String,
    /// A FHIR JSON resource.
    pub file: PathBuf,
}

pub fn run(args: &FhirpathArgs) -> Result<()> {
    let text = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let resource: Value = serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", args.file.display()))?;
    let context_type = resource.get("resourceType").and_then(Value::as_str);
    let options = CompileOptions { context_type: if args.strict { context_type } else { None }, strict: args.strict, ..CompileOptions::default() };
    let expr = match Expression::compile_with(&args.expression, &options) {
        Ok(e) => e,
        Err(e) => bail!("invalid expression: {e}"),
    };
    let result = match expr.evaluate(&resource, &EvalContext::default()) {
        Ok(r) => r,
        Err(e) => bail!("evaluation failed: {e}"),
    };
    let out = if args.predicate {
        let b = match result.as_slice() {
            [] => false,
            [Item::Boolean(b)] => *b,
            _ => true,
        };
        json!([{ "type": "boolean", "value": b }])
    } else {
        weave_fhirpath::result_to_json(&result)
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
