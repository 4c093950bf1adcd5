//! Fuzz target: any input string is compiled (plain and in strict mode against Patient) and, when it compiles,
//! evaluated against a small fixed Patient. Nothing may panic, overflow the stack or hang.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_eval -- -max_total_time=60` from `crates/fhirpath`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use weave_fhirpath::{result_to_json, CompileOptions, EvalContext, Expression};

fn patient() -> &'static serde_json::Value {
    static P: OnceLock<serde_json::Value> = OnceLock::new();
    P.get_or_init(|| {
        serde_json::from_str(
            r##"{"resourceType":"Patient","id":"p1","active":true,"gender":"female","birthDate":"1974-12-25",
            "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime",
            "valueDateTime":"1974-12-25T14:35:45-05:00"}]},
            "name":[{"use":"official","family":"Chalmers","given":["Peter","James"]},{"given":[null,"Jim"],
            "_given":[{"id":"g1"},null]}],
            "telecom":[{"system":"phone","value":"(03) 5555 6473","rank":1}],
            "contained":[{"resourceType":"Organization","id":"o1","name":"Acme"}],
            "managingOrganization":{"reference":"#o1"},
            "extension":[{"url":"http://x","valueQuantity":{"value":4.50,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}]}"##,
        )
        .expect("fixed patient parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let strict = CompileOptions { context_type: Some("Patient"), strict: true, check_ordered_functions: true };
    let _ = Expression::compile_with(src, &strict);
    if let Ok(expr) = Expression::compile(src) {
        if let Ok(out) = expr.evaluate(patient(), &EvalContext::default()) {
            let _ = result_to_json(&out);
        }
    }
});
