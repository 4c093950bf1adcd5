//! SearchParameters (`search-parameters.json`) as `P`/`K` lines and the patient
//! CompartmentDefinition as `C` lines.

use crate::out::{arr_of, bundle_resources, clean, shorten, str_of, SP_PREFIX};
use anyhow::{anyhow, Result};
use serde_json::Value;
use std::fmt::Write as _;

/// `P\tcode\turl\ttype\tbase\texpression\txpathUsage\ttargets\tmultipleOr\tmultipleAnd\tmodifiers\tcomparators\tchains`
/// per parameter (lists comma-separated, booleans `1`/`0`/empty), followed by one
/// `K\tdefinition\texpression` line per composite component. Returns the text and the count.
pub fn generate_search_params(bundle: &Value) -> Result<(String, usize)> {
    let mut text = String::from("# weave-fhir R4 4.0.1 search parameters; see README.md\n");
    let mut n = 0;
    for sp in
        bundle_resources(bundle).filter(|r| str_of(r, "resourceType") == Some("SearchParameter"))
    {
        let code = str_of(sp, "code").ok_or_else(|| anyhow!("SearchParameter without code"))?;
        let url = str_of(sp, "url").ok_or_else(|| anyhow!("SearchParameter {code} without url"))?;
        writeln!(
            text,
            "P\t{code}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            shorten(url, SP_PREFIX),
            str_of(sp, "type").unwrap_or(""),
            list(sp, "base"),
            clean(str_of(sp, "expression").unwrap_or("")),
            str_of(sp, "xpathUsage").unwrap_or(""),
            list(sp, "target"),
            flag(sp, "multipleOr"),
            flag(sp, "multipleAnd"),
            list(sp, "modifier"),
            list(sp, "comparator"),
            list(sp, "chain"),
        )?;
        for comp in arr_of(sp, "component") {
            writeln!(
                text,
                "K\t{}\t{}",
                shorten(str_of(comp, "definition").unwrap_or(""), SP_PREFIX),
                clean(str_of(comp, "expression").unwrap_or(""))
            )?;
        }
        n += 1;
    }
    Ok((text, n))
}

/// `C\tResourceType\tparam,param` per resource of the patient compartment (params may be empty).
pub fn generate_compartment(comp: &Value) -> Result<String> {
    let mut text = String::from("# weave-fhir R4 4.0.1 Patient compartment; see README.md\n");
    for r in arr_of(comp, "resource") {
        let code = str_of(r, "code").ok_or_else(|| anyhow!("compartment resource without code"))?;
        writeln!(text, "C\t{code}\t{}", list(r, "param"))?;
    }
    Ok(text)
}

fn list(v: &Value, key: &str) -> String {
    arr_of(v, key)
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

fn flag(v: &Value, key: &str) -> &'static str {
    match v.get(key).and_then(Value::as_bool) {
        Some(true) => "1",
        Some(false) => "0",
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn composite_parameter_lines() {
        let b = json!({"entry": [{"resource": {"resourceType": "SearchParameter", "code": "c",
            "url": "http://hl7.org/fhir/SearchParameter/X-c", "type": "composite", "base": ["X"],
            "expression": "X.a", "xpathUsage": "normal", "multipleOr": false,
            "component": [{"definition": "http://hl7.org/fhir/SearchParameter/X-a", "expression": "a"}]}}]});
        let (text, n) = generate_search_params(&b).expect("generate");
        assert_eq!(n, 1);
        assert!(text.ends_with("P\tc\tX-c\tcomposite\tX\tX.a\tnormal\t\t0\t\t\t\t\nK\tX-a\ta\n"));
    }
}
