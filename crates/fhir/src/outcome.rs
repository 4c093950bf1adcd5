//! Issues found while processing FHIR content and their OperationOutcome form.

use serde_json::{json, Map, Value};

/// Issue severity (OperationOutcome.issue.severity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl Severity {
    /// The FHIR code ("error" ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// Issue type (OperationOutcome.issue.code, value set `issue-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueType {
    Invalid,
    Structure,
    Required,
    Value,
    Invariant,
    Security,
    Login,
    Unknown,
    Expired,
    Forbidden,
    Suppressed,
    Processing,
    NotSupported,
    Duplicate,
    MultipleMatches,
    NotFound,
    Deleted,
    TooLong,
    CodeInvalid,
    Extension,
    TooCostly,
    BusinessRule,
    Conflict,
    Transient,
    LockError,
    NoStore,
    Exception,
    Timeout,
    Incomplete,
    Throttled,
    Informational,
}

impl IssueType {
    /// The FHIR code ("invalid", "code-invalid", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::Invariant => "invariant",
            IssueType::Security => "security",
            IssueType::Login => "login",
            IssueType::Unknown => "unknown",
            IssueType::Expired => "expired",
            IssueType::Forbidden => "forbidden",
            IssueType::Suppressed => "suppressed",
            IssueType::Processing => "processing",
            IssueType::NotSupported => "not-supported",
            IssueType::Duplicate => "duplicate",
            IssueType::MultipleMatches => "multiple-matches",
            IssueType::NotFound => "not-found",
            IssueType::Deleted => "deleted",
            IssueType::TooLong => "too-long",
            IssueType::CodeInvalid => "code-invalid",
            IssueType::Extension => "extension",
            IssueType::TooCostly => "too-costly",
            IssueType::BusinessRule => "business-rule",
            IssueType::Conflict => "conflict",
            IssueType::Transient => "transient",
            IssueType::LockError => "lock-error",
            IssueType::NoStore => "no-store",
            IssueType::Exception => "exception",
            IssueType::Timeout => "timeout",
            IssueType::Incomplete => "incomplete",
            IssueType::Throttled => "throttled",
            IssueType::Informational => "informational",
        }
    }
}

/// One problem (or note) about FHIR content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueType,
    pub diagnostics: String,
    /// FHIRPath-style locations ("Patient.name[0].given[1]"); may be empty.
    pub expression: Vec<String>,
}

impl Issue {
    /// An error-severity issue at one location.
    pub fn error(
        code: IssueType,
        diagnostics: impl Into<String>,
        expression: impl Into<String>,
    ) -> Issue {
        Issue {
            severity: Severity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: vec![expression.into()],
        }
    }

    /// True for fatal and error issues.
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Fatal | Severity::Error)
    }

    /// The issue as an OperationOutcome.issue JSON object.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("severity".into(), Value::from(self.severity.as_str()));
        o.insert("code".into(), Value::from(self.code.as_str()));
        if !self.diagnostics.is_empty() {
            o.insert("diagnostics".into(), Value::from(self.diagnostics.as_str()));
        }
        if !self.expression.is_empty() {
            o.insert("expression".into(), Value::from(self.expression.clone()));
        }
        Value::Object(o)
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}]", self.severity.as_str(), self.code.as_str())?;
        if !self.expression.is_empty() {
            write!(f, " at {}", self.expression.join(", "))?;
        }
        write!(f, ": {}", self.diagnostics)
    }
}

/// An OperationOutcome resource listing `issues` (an informational "no issues" entry when empty,
/// since an OperationOutcome needs at least one issue).
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let list: Vec<Value> = if issues.is_empty() {
        vec![
            json!({"severity": "information", "code": "informational", "diagnostics": "no issues detected"}),
        ]
    } else {
        issues.iter().map(Issue::to_json).collect()
    };
    json!({"resourceType": "OperationOutcome", "issue": list})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_json() {
        let i = Issue::error(IssueType::CodeInvalid, "bad code", "Patient.gender");
        let oo = operation_outcome(std::slice::from_ref(&i));
        assert_eq!(
            oo,
            json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "code-invalid",
                "diagnostics": "bad code", "expression": ["Patient.gender"]}]})
        );
        assert_eq!(
            i.to_string(),
            "error [code-invalid] at Patient.gender: bad code"
        );
        assert!(i.is_error());
        let empty = operation_outcome(&[]);
        assert_eq!(empty["issue"][0]["code"], "informational");
        assert_eq!(IssueType::NotSupported.as_str(), "not-supported");
        assert_eq!(IssueType::TooCostly.as_str(), "too-costly");
    }
}
