//! Public API behaviour: compile once / evaluate many, results that borrow the input, typed output rendering,
//! variables, resolve(), strict-mode checks and evaluation errors with positions.

use serde_json::{json, Value};
use weave_fhirpath::{
    result_to_json, CompileOptions, EvalContext, Expression, Item, ParseErrorKind, Resolver, Text,
};

fn eval_json(src: &str, resource: &Value) -> Value {
    let expr = Expression::compile(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let out = expr
        .evaluate(resource, &EvalContext::default())
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    result_to_json(&out)
}

fn observation() -> Value {
    // Parsed from text so that the decimal keeps its written precision (185.50).
    serde_json::from_str(&json!({
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/123"},
        "valueQuantity": {"value": 185.50, "unit": "lbs", "system": "http://unitsofmeasure.org", "code": "[lb_av]"},
        "effectiveDateTime": "2016-03-28T09:12:00+01:00"
    })
    .to_string()
    .replace("185.5", "185.50"))
    .unwrap()
}

#[test]
fn choice_elements_are_typed() {
    let obs = observation();
    assert_eq!(
        eval_json("Observation.value.value", &obs),
        json!([{"type": "decimal", "value": "185.50"}])
    );
    assert_eq!(
        eval_json("Observation.value is Quantity", &obs)[0]["value"],
        "true"
    );
    assert_eq!(
        eval_json("Observation.value > 80 'kg'", &obs)[0]["value"],
        "true"
    );
    assert_eq!(
        eval_json("Observation.effective", &obs),
        json!([{"type": "dateTime", "value": "@2016-03-28T09:12:00+01:00"}])
    );
    let q = eval_json("Observation.value", &obs);
    assert_eq!(q[0]["type"], "Quantity");
    assert_eq!(q[0]["value"]["code"], "[lb_av]");
}

#[test]
fn compiled_expressions_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Expression>();
    let expr = Expression::compile("name.given.first()").unwrap();
    std::thread::scope(|s| {
        for i in 0..2 {
            let expr = &expr;
            s.spawn(move || {
                let p = json!({"resourceType": "Patient", "name": [{"given": [format!("n{i}")]}]});
                let out = expr.evaluate(&p, &EvalContext::default()).unwrap();
                assert_eq!(out[0].as_str(), Some(format!("n{i}").as_str()));
            });
        }
    });
}

#[test]
fn one_compiled_expression_serves_many_resources() {
    let expr = Expression::compile("name.given.first()").unwrap();
    let ctx = EvalContext::default();
    for name in ["Ann", "Bob", "Cy"] {
        let p = json!({"resourceType": "Patient", "name": [{"given": [name, "X"]}]});
        let out = expr.evaluate(&p, &ctx).unwrap();
        // The result borrows the input: no copy of the string.
        match &out[0] {
            Item::Node(n) => assert!(std::ptr::eq(n.json(), &p["name"][0]["given"][0])),
            other => panic!("expected a node, got {other:?}"),
        }
        assert_eq!(out[0].as_str(), Some(name));
    }
}

#[test]
fn primitive_extensions_and_has_value() {
    let p = json!({
        "resourceType": "Patient", "birthDate": "1974-12-25",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                       "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "name": [{"given": [null, "James"], "_given": [{"id": "g0"}, null]}]
    });
    assert_eq!(
        eval_json(
            "Patient.birthDate.extension(%`ext-patient-birthTime`).value",
            &p
        )[0]["value"],
        "@1974-12-25T14:35:45-05:00"
    );
    assert_eq!(
        eval_json("name.given.hasValue()", &p),
        json!([{"type": "boolean", "value": "false"}])
    );
    assert_eq!(
        eval_json("name.given.id", &p),
        json!([{"type": "string", "value": "g0"}])
    );
    assert_eq!(
        eval_json("name.given[1].hasValue()", &p)[0]["value"],
        "true"
    );
}

#[test]
fn decimals_are_exact_and_dates_precise() {
    let none = json!({});
    assert_eq!(eval_json("0.1 + 0.2 = 0.3", &none)[0]["value"], "true");
    assert_eq!(
        eval_json("1.50 * 2", &none),
        json!([{"type": "decimal", "value": "3.00"}])
    );
    assert_eq!(eval_json("@2018-03 < @2018-03-01", &none), json!([]));
    assert_eq!(
        eval_json("@2018-03-01 + 1 month", &none)[0]["value"],
        "@2018-04-01"
    );
    assert_eq!(eval_json("1 'g' = 1000 'mg'", &none)[0]["value"], "true");
    assert_eq!(
        eval_json("(1 'wk').toString()", &none)[0]["value"],
        "1 'wk'"
    );
}

#[test]
fn external_constants_and_trace() {
    let p = json!({"resourceType": "Patient", "gender": "female"});
    let traced = std::cell::RefCell::new(Vec::new());
    let trace =
        |name: &str, items: &[Item<'_>]| traced.borrow_mut().push((name.to_string(), items.len()));
    let mut ctx =
        EvalContext::default().with_variable("wanted", [Item::String(Text::Borrowed("female"))]);
    ctx.trace = Some(&trace);
    let expr = Expression::compile("gender.trace('g') = %wanted").unwrap();
    let out = expr.evaluate(&p, &ctx).unwrap();
    assert_eq!(result_to_json(&out)[0]["value"], "true");
    assert_eq!(traced.borrow().as_slice(), &[("g".to_string(), 1)]);
    let unknown = Expression::compile("%nope")
        .unwrap()
        .evaluate(&p, &ctx)
        .unwrap_err();
    assert_eq!((unknown.line(), unknown.column()), (1, 1));
}

struct Store(Value);

impl Resolver for Store {
    fn resolve(&self, reference: &str) -> Option<&Value> {
        (reference == "Patient/123").then_some(&self.0)
    }
}

#[test]
fn resolve_contained_bundle_resolver_and_stub() {
    let obs = observation();
    // Without a resolver the reference still tells the type.
    assert_eq!(
        eval_json("subject.where(resolve() is Patient).reference", &obs)[0]["value"],
        "Patient/123"
    );
    let store = Store(json!({"resourceType": "Patient", "id": "123", "gender": "male"}));
    let ctx = EvalContext {
        resolver: Some(&store),
        ..EvalContext::default()
    };
    let expr = Expression::compile("subject.resolve().gender").unwrap();
    assert_eq!(
        result_to_json(&expr.evaluate(&obs, &ctx).unwrap())[0]["value"],
        "male"
    );
    let p = json!({"resourceType": "Patient", "managingOrganization": {"reference": "#o1"},
                   "contained": [{"resourceType": "Organization", "id": "o1", "name": "Acme"}]});
    assert_eq!(
        eval_json("managingOrganization.resolve().name", &p)[0]["value"],
        "Acme"
    );
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "1", "gender": "other"}},
        {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Observation", "subject": {"reference": "urn:uuid:1"}}}
    ]});
    assert_eq!(
        eval_json("entry[1].resource.subject.resolve().gender", &bundle)[0]["value"],
        "other"
    );
    assert_eq!(
        eval_json("entry.resource.ofType(Patient).id", &bundle)[0]["value"],
        "1"
    );
}

#[test]
fn strict_mode_rejects_impossible_paths() {
    let strict = CompileOptions {
        context_type: Some("Patient"),
        strict: true,
        ..CompileOptions::default()
    };
    assert!(Expression::compile_with("name.given", &strict).is_ok());
    assert!(Expression::compile_with("Patient.contact.name.family", &strict).is_ok());
    assert!(Expression::compile_with("birthDate.extension.value", &strict).is_ok());
    let e = Expression::compile_with("name.given1", &strict).unwrap_err();
    assert_eq!(
        (e.kind, e.line(), e.column()),
        (ParseErrorKind::Semantic, 1, 6)
    );
    // Not strict: an unknown path is just empty, but a choice suffix is never a path.
    let lax = CompileOptions {
        context_type: Some("Observation"),
        ..CompileOptions::default()
    };
    assert!(Expression::compile_with("Observation.foo", &lax).is_ok());
    assert!(Expression::compile_with("Observation.valueQuantity", &lax).is_err());
}

#[test]
fn evaluation_errors_carry_positions() {
    let p = json!({"resourceType": "Patient", "name": [{"given": ["a"]}, {"given": ["b"]}]});
    let expr = Expression::compile("true and\n  name.single().exists()").unwrap();
    let e = expr.evaluate(&p, &EvalContext::default()).unwrap_err();
    assert_eq!((e.line(), e.column()), (2, 8));
}

#[test]
fn every_r4_search_parameter_compiles_and_checks() {
    let model = weave_fhir::r4();
    let mut n = 0;
    for sp in model.all_search_params() {
        let Some(src) = &sp.expression else { continue };
        let expr = Expression::compile(src).unwrap_or_else(|e| panic!("{}: {src}: {e}", sp.url));
        assert_eq!(expr.source(), src);
        for base in &sp.base {
            if !model.is_resource_type(base) {
                continue;
            }
            let opts = CompileOptions {
                context_type: Some(base),
                ..CompileOptions::default()
            };
            Expression::compile_with(src, &opts)
                .unwrap_or_else(|e| panic!("{} on {base}: {src}: {e}", sp.url));
            n += 1;
        }
    }
    assert!(n > 1000, "{n} (expression, base) pairs");
}

#[test]
fn member_of_uses_the_model_value_sets() {
    let p = json!({"resourceType": "Patient", "gender": "female",
                   "maritalStatus": {"coding": [{"system": "http://hl7.org/fhir/administrative-gender", "code": "other"}]}});
    let vs = "http://hl7.org/fhir/ValueSet/administrative-gender";
    assert_eq!(
        eval_json(&format!("gender.memberOf('{vs}')"), &p)[0]["value"],
        "true"
    );
    assert_eq!(
        eval_json(&format!("'bogus'.memberOf('{vs}|4.0.1')"), &p)[0]["value"],
        "false"
    );
    // A CodeableConcept is a member when one of its codings is.
    assert_eq!(
        eval_json(&format!("maritalStatus.memberOf('{vs}')"), &p)[0]["value"],
        "true"
    );
    // A value set the model cannot expand gives no answer.
    assert_eq!(
        eval_json("gender.memberOf('http://example.org/ValueSet/unknown')", &p),
        json!([])
    );
}

#[test]
fn lenient_as_filters_several_items() {
    let obs = json!({"resourceType": "Observation", "component": [
        {"valueQuantity": {"value": 120, "unit": "mmHg"}}, {"valueString": "n/a"}, {"valueQuantity": {"value": 80}}]});
    let expr = Expression::compile("(Observation.component.value as Quantity).value").unwrap();
    assert!(
        expr.evaluate(&obs, &EvalContext::default()).is_err(),
        "the specification makes this an error"
    );
    let ctx = EvalContext {
        lenient_as: true,
        ..EvalContext::default()
    };
    let out = expr.evaluate(&obs, &ctx).unwrap();
    assert_eq!(
        result_to_json(&out),
        json!([{"type": "decimal", "value": "120"}, {"type": "decimal", "value": "80"}])
    );
}
