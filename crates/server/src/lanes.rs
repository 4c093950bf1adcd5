//! Workload lanes: point lookups (a patient by identifier, one person's observations) are never
//! queued behind broad searches. A broad search — a chain, `_has`, `_include`, `$everything`, or
//! one with no pinpointing clause — runs only while it holds one of a few permits (one fewer
//! than the cores, at least one), so a core always stays free for the point lookups that
//! clinicians wait on. Broad searches then queue among themselves instead of slowing everyone.

use tokio::sync::{Semaphore, SemaphorePermit};
use weave_store::query::{Clause, Predicate};

/// Largest page a point lookup may ask for and still count as one.
const POINT_PAGE: usize = 100;

/// The permits of the broad lane.
pub struct Lanes {
    broad: Semaphore,
}

impl Default for Lanes {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Lanes { broad: Semaphore::new(cores.saturating_sub(1).max(1)) }
    }
}

impl Lanes {
    /// Waits for a broad-lane permit (held until dropped).
    pub async fn broad(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed; `None` would only mean "run unthrottled".
        self.broad.acquire().await.ok()
    }
}

/// Whether a search is a point lookup: no chains, `_has`, includes or negations, a small page,
/// and at least one clause that pins it to a few resources (ids, identifiers, a reference to
/// one resource, a compartment).
pub fn is_point(clauses: &[Clause], includes: bool, count: usize) -> bool {
    if includes || count > POINT_PAGE {
        return false;
    }
    let cheap = |p: &Predicate| !matches!(p, Predicate::Chain { .. } | Predicate::Has { .. } | Predicate::Not(_) | Predicate::Missing { .. });
    let pins = |p: &Predicate| match p {
        Predicate::Id(_) | Predicate::Compartment { .. } => true,
        Predicate::Reference { target_id, .. } => target_id.is_some(),
        Predicate::Token { param, code, .. } => param == "identifier" && code.is_some(),
        _ => false,
    };
    clauses.iter().all(|c| c.any_of.iter().all(cheap)) && clauses.iter().any(|c| !c.any_of.is_empty() && c.any_of.iter().all(pins))
}

#[cfg(test)]
mod tests {
    use super::is_point;
    use weave_store::query::{Clause, Predicate};

    fn token(param: &str) -> Predicate {
        Predicate::Token { param: param.into(), system: None, code: Some("x".into()) }
    }

    #[test]
    fn point_lookups_are_told_from_broad_searches() {
        let ident = Clause { any_of: vec![token("identifier")] };
        let code = Clause { any_of: vec![token("code")] };
        let subject = Clause {
            any_of: vec![Predicate::Reference { param: "subject".into(), target_type: Some("Patient".into()), target_id: Some("p".into()), url: None }],
        };
        let chain = Clause {
            any_of: vec![Predicate::Chain { param: "subject".into(), target_type: "Patient".into(), inner: Box::new(token("identifier")) }],
        };
        assert!(is_point(&[ident.clone()], false, 50));
        assert!(is_point(&[subject.clone(), code.clone()], false, 50));
        assert!(!is_point(&[code.clone()], false, 50), "a code alone matches thousands");
        assert!(!is_point(&[ident.clone()], true, 50), "includes");
        assert!(!is_point(&[ident.clone()], false, 1000), "a big page");
        assert!(!is_point(&[subject, chain], false, 50), "a chain");
        assert!(!is_point(&[], false, 50), "everything of a type");
    }
}
