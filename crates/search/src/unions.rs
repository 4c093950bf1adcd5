//! Parameters that are the union of two others on the same type — Observation's `combo-*`
//! (`combo-code` is `Observation.code | Observation.component.code`, that is `code` ∪
//! `component-code`). They get no index rows of their own (they were a fifth of Observation's);
//! a search on one is answered from its members' rows: `AnyOf` of the members, and for the
//! negating forms (`:not`, `:not-in`, `:missing=true`) `AllOf` of the members' negations.

/// `(type, union, [members])`, checked against the R4 expressions by the differential test.
const UNIONS: [(&str, &str, [&str; 2]); 6] = [
    ("Observation", "combo-code", ["code", "component-code"]),
    ("Observation", "combo-data-absent-reason", ["data-absent-reason", "component-data-absent-reason"]),
    ("Observation", "combo-value-concept", ["value-concept", "component-value-concept"]),
    ("Observation", "combo-value-quantity", ["value-quantity", "component-value-quantity"]),
    ("Observation", "combo-code-value-concept", ["code-value-concept", "component-code-value-concept"]),
    ("Observation", "combo-code-value-quantity", ["code-value-quantity", "component-code-value-quantity"]),
];

/// The members of a union parameter, when `code` is one on `resource_type`.
pub fn members(resource_type: &str, code: &str) -> Option<[&'static str; 2]> {
    UNIONS.iter().find(|(t, c, _)| *t == resource_type && *c == code).map(|(_, _, m)| *m)
}

#[cfg(test)]
mod tests {
    use super::UNIONS;
    use weave_fhir::r4;

    #[test]
    fn each_union_is_its_members_expressions_joined() {
        for (t, code, [a, b]) in UNIONS {
            let expr = |c: &str| r4().search_param(t, c).and_then(|p| p.expression.clone()).unwrap_or_default();
            let (u, ea, eb) = (expr(code), expr(a), expr(b));
            let own = |e: &str| e.split(" | ").filter(|p| p.contains(&format!("{t}."))).map(str::to_owned).collect::<Vec<_>>();
            let mut joined = own(&ea);
            joined.extend(own(&eb));
            if r4().search_param(t, code).is_some_and(|p| p.components.is_empty()) {
                assert_eq!(own(&u), joined, "{t}.{code}");
            } else {
                // Composites: the union's elements are the members' elements.
                assert_eq!(u, format!("{ea} | {eb}"), "{t}.{code}");
            }
        }
    }
}
