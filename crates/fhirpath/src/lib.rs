//! `weave-fhirpath`: a FHIRPath (N1, plus the FHIR R4 additions) compiler and evaluator over FHIR JSON.
//!
//! Compile once, evaluate many times:
//! ```
//! use weave_fhirpath::{Expression, EvalContext};
//! let expr = Expression::compile("Patient.name.where(use = 'official').given").unwrap();
//! let patient = serde_json::json!({"resourceType": "Patient", "name": [{"use": "official", "given": ["Ann"]}]});
//! let out = expr.evaluate(&patient, &EvalContext::default()).unwrap();
//! assert_eq!(out[0].as_str(), Some("Ann"));
//! ```
//!
//! Results borrow from the input JSON ([`Item::Node`]) or are computed System values. Types come from the
//! R4 model in `weave-fhir`: choice elements (`Observation.value`), `is`/`as`/`ofType`, primitive extensions
//! (`_birthDate`). Decimals are exact (`rust_decimal`), dates keep their precision, quantities convert through
//! UCUM. [`CompileOptions`] adds the semantic checks of strict mode against a context type.

mod ast;
mod check;
mod datetime;
mod error;
mod eval;
mod lexer;
mod model;
mod output;
mod parser;
pub mod patch;
mod quantity;
mod ucum;
mod value;

use serde_json::Value;

pub use datetime::{Precision, Temporal, TemporalKind};
pub use error::{EvalError, ParseError, ParseErrorKind, Pos};
pub use output::{item_to_json, result_to_json};
pub use value::{Collection, Item, Node, Quantity, Text, TypeInfo};

/// Supplies resources that `resolve()` cannot find in the resource itself (contained) or its Bundle.
pub trait Resolver {
    /// The resource a reference (`Patient/123`, an absolute URL) points to.
    fn resolve(&self, reference: &str) -> Option<&Value>;
}

/// Receives the name and the items of each `trace()` call.
pub type TraceFn<'f> = dyn Fn(&str, &[Item<'_>]) + 'f;

/// Everything an evaluation may need besides the resource: variables, environment resources, a resolver.
/// It is covariant in `'a`, so one context can serve resources that live shorter than it.
pub struct EvalContext<'a> {
    /// External constants `%name` supplied by the caller (checked after the built-in ones).
    pub variables: Vec<(String, Vec<Item<'a>>)>,
    /// `%resource` when it differs from the evaluated resource (e.g. evaluating inside a contained resource).
    pub resource: Option<&'a Value>,
    /// `%rootResource` (the Bundle or container), also searched by `resolve()`.
    pub root_resource: Option<&'a Value>,
    /// `%context` when it differs from the evaluated resource.
    pub context: Option<Vec<Item<'a>>>,
    /// Looks up references `resolve()` cannot find locally.
    pub resolver: Option<&'a dyn Resolver>,
    /// When nothing else resolves a `Type/id` reference, `resolve()` returns an empty node of that type, so that
    /// `resolve() is Patient` works without loading the target (search indexing). Default on.
    pub reference_stubs: bool,
    /// `x as T` / `x.as(T)` on several items filters them like `ofType(T)` instead of failing. The R4
    /// SearchParameter expressions need this (`Observation.component.value as Quantity`); the specification (and
    /// the conformance suite) make it an error, which is the default.
    pub lenient_as: bool,
    /// Receives `trace()` output.
    pub trace: Option<&'a TraceFn<'a>>,
    /// A fixed "now" for `now()`, `today()`, `timeOfDay()` (default: the system clock, read once per evaluation).
    pub now: Option<Temporal>,
}

impl Default for EvalContext<'_> {
    fn default() -> Self {
        EvalContext {
            variables: Vec::new(),
            resource: None,
            root_resource: None,
            context: None,
            resolver: None,
            reference_stubs: true,
            lenient_as: false,
            trace: None,
            now: None,
        }
    }
}

impl<'a> EvalContext<'a> {
    /// Adds an external constant `%name`.
    #[must_use]
    pub fn with_variable(
        mut self,
        name: impl Into<String>,
        value: impl IntoIterator<Item = Item<'a>>,
    ) -> Self {
        self.variables
            .push((name.into(), value.into_iter().collect()));
        self
    }
}

/// Options for compiling with semantic checks.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions<'s> {
    /// The type the expression is evaluated on (`Patient`); enables path and type checks.
    pub context_type: Option<&'s str>,
    /// Strict mode: a path that cannot exist on its input type is an error (not just empty).
    pub strict: bool,
    /// In strict mode, ordered functions (`skip`, `first` …) on unordered input (`children()`) are errors.
    pub check_ordered_functions: bool,
}

/// A compiled FHIRPath expression, immutable and shareable across threads.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    root: ast::Expr,
}

impl Expression {
    /// Parses an expression. Errors carry the line and column.
    pub fn compile(source: &str) -> Result<Expression, ParseError> {
        Self::compile_with(source, &CompileOptions::default())
    }

    /// Parses an expression and checks it against a context type (see [`CompileOptions`]).
    pub fn compile_with(
        source: &str,
        options: &CompileOptions<'_>,
    ) -> Result<Expression, ParseError> {
        let root = parser::parse(source)?;
        check::check(&root, options)?;
        Ok(Expression {
            source: source.to_string(),
            root,
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates against a resource (the focus, `%resource` and `%context`).
    pub fn evaluate<'a>(
        &'a self,
        resource: &'a Value,
        ctx: &EvalContext<'a>,
    ) -> Result<Collection<'a>, EvalError> {
        let ev = eval::Evaluator::new(ctx, resource);
        let focus = [ev.resource.clone()];
        let focus: &[Item<'a>] = match &ctx.context {
            Some(c) => c,
            None => &focus,
        };
        ev.eval(
            &self.root,
            eval::Scope {
                this: focus,
                index: None,
                total: None,
            },
        )
    }

    /// Evaluates with no input resource (`{}` as focus): for expressions of literals.
    pub fn evaluate_empty<'a>(
        &'a self,
        ctx: &EvalContext<'a>,
    ) -> Result<Collection<'a>, EvalError> {
        let ev = eval::Evaluator::new(ctx, &value::NULL);
        ev.eval(
            &self.root,
            eval::Scope {
                this: &[],
                index: None,
                total: None,
            },
        )
    }
}

/// Whether a resource type is known to the model (for callers choosing a context type).
pub fn is_resource_type(name: &str) -> bool {
    weave_fhir::r4().is_resource_type(name)
}
