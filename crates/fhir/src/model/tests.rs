//! Unit tests of the model lookups against the embedded R4 data.

use super::*;

#[test]
fn loads_all_types_and_search_params() {
    let m = r4();
    assert_eq!(m.all_search_params().len(), 1378);
    // R4's resource-types value set: 146 (the definitions package also carries SubscriptionStatus,
    // an R4B resource, which is not one here).
    assert_eq!(m.resource_types().count(), 146);
    assert!(!m.is_resource_type("SubscriptionStatus"));
    let names: Vec<&str> = m.resource_types().collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(m.is_resource_type("Patient"));
    assert!(!m.is_resource_type("Resource"));
    assert!(!m.is_resource_type("DomainResource"));
    assert!(!m.is_resource_type("HumanName"));
    assert!(m.is_primitive("code") && m.is_primitive("dateTime") && !m.is_primitive("Quantity"));
}

#[test]
fn type_defs_and_subtypes() {
    let m = r4();
    let p = m.type_def("Patient").expect("Patient");
    assert_eq!(p.kind, TypeKind::Resource);
    assert_eq!(p.base.as_deref(), Some("DomainResource"));
    assert!(m.is_subtype_of("Patient", "Resource"));
    assert!(m.is_subtype_of("Patient", "Patient"));
    assert!(m.is_subtype_of("Age", "Quantity"));
    assert!(m.is_subtype_of("code", "string"));
    assert!(m.is_subtype_of("SimpleQuantity", "Quantity"));
    assert!(!m.is_subtype_of("Quantity", "Age"));
    assert!(!m.is_subtype_of("Patient", "Observation"));
    assert!(m
        .type_def("date")
        .and_then(|t| t.regex.as_deref())
        .is_some_and(|r| r.starts_with("([0-9]")));
}

#[test]
fn element_lookup_own_inherited_and_backbone() {
    let m = r4();
    let bd = m.element("Patient", "birthDate").expect("birthDate");
    assert_eq!(bd.path, "Patient.birthDate");
    assert_eq!(bd.types[0].code, "date");
    assert!(!bd.is_array());
    let id = m.element("Patient", "id").expect("inherited id");
    assert_eq!(id.path, "Resource.id");
    assert_eq!(id.types[0].code, "id");
    assert_eq!(
        m.element("Patient", "text")
            .map(|e| e.types[0].code.as_str()),
        Some("Narrative")
    );
    let contact = m.element("Patient", "contact").expect("contact");
    assert_eq!(contact.type_path.as_deref(), Some("Patient.contact"));
    assert!(contact.is_array());
    assert_eq!(
        m.element("Patient.contact", "name")
            .map(|e| e.path.as_str()),
        Some("Patient.contact.name")
    );
    assert_eq!(
        m.element("Patient.contact", "id").map(|e| e.path.as_str()),
        Some("Element.id")
    );
    assert_eq!(
        m.element("Patient.contact", "modifierExtension")
            .map(|e| e.path.as_str()),
        Some("BackboneElement.modifierExtension")
    );
    assert_eq!(
        m.element("Quantity", "value")
            .map(|e| e.types[0].code.as_str()),
        Some("decimal")
    );
    assert_eq!(
        m.element("Age", "value").map(|e| e.path.as_str()),
        Some("Quantity.value")
    );
    assert_eq!(
        m.element("Extension", "url")
            .map(|e| e.types[0].code.as_str()),
        Some("System.String")
    );
    assert!(m.element("Patient", "foo").is_none());
    assert!(m.element("Nope", "id").is_none());
}

#[test]
fn content_reference_is_followed() {
    let m = r4();
    let item = m.element("Questionnaire.item", "item").expect("item.item");
    assert_eq!(item.type_path.as_deref(), Some("Questionnaire.item"));
    assert_eq!(item.types[0].code, "BackboneElement");
    let link = m
        .element("Questionnaire.item.item", "linkId")
        .expect("nested linkId");
    assert_eq!(link.path, "Questionnaire.item.linkId");
    assert!(m.element("Questionnaire.item.item.item", "text").is_some());
    assert!(m.element("Parameters.parameter.part", "name").is_some());
    assert_eq!(
        m.children("Questionnaire.item.item").len(),
        m.children("Questionnaire.item").len()
    );
}

#[test]
fn choice_elements_and_properties() {
    let m = r4();
    let v = m.element("Observation", "value").expect("value[x]");
    assert!(v.is_choice);
    assert_eq!(v.path, "Observation.value[x]");
    assert!(v.types.iter().any(|t| t.code == "Quantity"));
    let (e, t) = m
        .resolve_property("Observation", "valueQuantity")
        .expect("valueQuantity");
    assert_eq!((e.path.as_str(), t), ("Observation.value[x]", "Quantity"));
    let (_, t) = m
        .resolve_property("Observation", "effectiveDateTime")
        .expect("effectiveDateTime");
    assert_eq!(t, "dateTime");
    let (e, t) = m
        .resolve_property("Patient", "birthDate")
        .expect("birthDate");
    assert_eq!((e.name.as_str(), t), ("birthDate", "date"));
    assert!(m.resolve_property("Observation", "valueFoo").is_none());
    assert!(m.resolve_property("Observation", "value").is_none());
    assert!(m.resolve_property("Patient", "_birthDate").is_none());
    let (_, t) = m
        .resolve_property("Extension", "valueCodeableConcept")
        .expect("ext value");
    assert_eq!(t, "CodeableConcept");
    let (e, t) = m
        .resolve_property("Questionnaire.item.item", "answerValueSet")
        .expect("nested prop");
    assert_eq!(
        (e.path.as_str(), t),
        ("Questionnaire.item.answerValueSet", "canonical")
    );
}

#[test]
fn children_include_inherited_first() {
    let m = r4();
    let names: Vec<&str> = m
        .children("Patient")
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(&names[..4], &["id", "meta", "implicitRules", "language"]);
    assert!(names.contains(&"contained") && names.contains(&"birthDate"));
    let xhtml_ext = m.element("xhtml", "extension").expect("xhtml.extension");
    assert_eq!(xhtml_ext.max, Some(0));
    assert_eq!(
        m.children("xhtml")
            .iter()
            .filter(|e| e.name == "extension")
            .count(),
        1
    );
}

#[test]
fn targets_bindings_and_flags() {
    let m = r4();
    let subject = m.element("Observation", "subject").expect("subject");
    assert_eq!(subject.types[0].code, "Reference");
    assert!(subject.types[0]
        .target_profiles
        .contains(&"http://hl7.org/fhir/StructureDefinition/Patient".to_string()));
    assert!(subject.is_summary);
    let status = m.element("Observation", "status").expect("status");
    assert!(status.is_modifier);
    let b = status.binding.as_ref().expect("binding");
    assert_eq!(b.strength, BindingStrength::Required);
    assert_eq!(
        b.value_set,
        "http://hl7.org/fhir/ValueSet/observation-status"
    );
    // A versioned canonical in the definitions is stored without `|4.0.1`.
    assert!(m.type_def("Patient").is_some());
    let gender = m
        .element("Patient", "gender")
        .and_then(|e| e.binding.as_ref())
        .expect("gender binding");
    assert!(!gender.value_set.contains('|'));
}

#[test]
fn value_sets() {
    let m = r4();
    let vs = m
        .value_set("http://hl7.org/fhir/ValueSet/administrative-gender")
        .expect("gender");
    assert!(vs.contains(None, "female"));
    assert!(vs.contains(Some("http://hl7.org/fhir/administrative-gender"), "unknown"));
    assert!(!vs.contains(Some("http://other"), "female"));
    assert!(!vs.contains(None, "f"));
    assert!(vs.has_system("http://hl7.org/fhir/administrative-gender"));
    assert!(m
        .value_set("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1")
        .is_some());
    assert!(m
        .value_set("http://hl7.org/fhir/ValueSet/mimetypes")
        .is_none());
    let types = m
        .value_set("http://hl7.org/fhir/ValueSet/resource-types")
        .expect("resource-types");
    assert!(types.contains(None, "Patient"));
}

#[test]
fn search_parameters() {
    let m = r4();
    let p = m.search_param("Patient", "birthdate").expect("birthdate");
    assert_eq!(p.kind, SearchParamType::Date);
    assert_eq!(
        p.url,
        "http://hl7.org/fhir/SearchParameter/individual-birthdate"
    );
    assert!(m.search_param("Patient", "_id").is_some());
    assert!(m.search_param("Patient", "_text").is_some());
    assert!(m.search_param("Bundle", "_text").is_none());
    let comp = m
        .search_param("Observation", "code-value-quantity")
        .expect("composite");
    assert_eq!(comp.kind, SearchParamType::Composite);
    assert_eq!(comp.components.len(), 2);
    assert!(comp.components[0]
        .definition_url
        .starts_with("http://hl7.org/fhir/SearchParameter/"));
    let subj = m.search_param("Observation", "subject").expect("subject");
    assert!(subj.targets.iter().any(|t| t == "Patient"));
    assert!(m.search_params("Observation").len() > 30);
    assert!(m.search_params("Nope").is_empty());
}

#[test]
fn patient_compartment() {
    let m = r4();
    let obs = m.patient_compartment("Observation").expect("Observation");
    assert!(obs.iter().any(|p| p == "subject"));
    assert!(m.patient_compartment("Organization").is_none());
}

#[test]
fn json_property_names_do_not_collide() {
    let m = r4();
    for node in &m.nodes {
        let expected: usize = node
            .all
            .iter()
            .map(|&e| &m.elements[e as usize])
            .map(|e| if e.is_choice { e.types.len() } else { 1 })
            .sum();
        assert_eq!(node.props.len(), expected);
        assert_eq!(node.by_name.len(), node.all.len());
    }
}

#[test]
fn code_system_hierarchies() {
    let m = r4();
    let issue = "http://hl7.org/fhir/issue-type";
    let h = m.code_system_hierarchy(issue).expect("issue-type hierarchy");
    assert_eq!((h.url(), h.version()), (issue, Some("4.0.1")));
    assert_eq!(h.len(), 31, "every code, roots and leaves too");
    assert_eq!(m.code_system_parents(issue, "deleted"), Some(vec!["not-found"]));
    assert_eq!(m.code_system_parents(issue, "not-found"), Some(vec!["processing"]));
    assert_eq!(m.code_system_parents(issue, "processing"), Some(vec![]));
    assert_eq!(
        m.code_system_children(issue, "invalid"),
        Some(vec!["structure", "required", "value", "invariant"])
    );
    assert_eq!(m.code_system_children(issue, "informational"), Some(vec![]));
    assert_eq!(m.code_system_children(issue, "no-such-code"), None);
    assert!(m.code_system_hierarchy(&format!("{issue}|4.0.1")).is_some());
    // data-absent-reason: asked-unknown ⊂ unknown (nested concepts, no hierarchyMeaning).
    let dar = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
    assert_eq!(m.code_system_parents(dar, "asked-unknown"), Some(vec!["unknown"]));
    // Flat systems, example-content systems and unknown systems have none.
    assert!(m.code_system_hierarchy("http://hl7.org/fhir/administrative-gender").is_none());
    assert!(m
        .code_system_hierarchy("http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason")
        .is_none());
    assert_eq!(m.code_system_children("http://example.org/none", "x"), None);
    // Indexes agree with codes, both ways, for every relation held.
    let mut relations = 0;
    for h in m.code_system_hierarchies() {
        for (i, code) in h.codes().iter().enumerate() {
            let i = i as u32;
            assert_eq!(h.index_of(code), Some(i));
            for &c in h.child_indexes(i) {
                assert!(h.parent_indexes(c).contains(&i), "{} {code}", h.url());
                relations += 1;
            }
        }
    }
    assert_eq!((m.code_system_hierarchies().len(), relations), (24, 144));
}

#[test]
fn hierarchy_lines_are_checked() {
    let ok = load::parse_hierarchies("S\thttp://x\t\nC\ta\nC\tb\ta\nC\tc\ta\tb\n").expect("valid");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].version(), None);
    assert_eq!(ok[0].parents("c").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(ok[0].children("a").collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(ok[0].parent_indexes(99), &[] as &[u32]);
    for bad in ["C\ta\n", "S\thttp://x\t\nC\tb\tzz\n", "S\thttp://x\t\nC\ta\nC\ta\n", "X\t1\n"] {
        assert!(load::parse_hierarchies(bad).is_err(), "{bad:?}");
    }
}
