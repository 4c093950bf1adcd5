//! Error types: compile-time ([`ParseError`], syntax or semantic) and run-time ([`EvalError`]).
//! Every error carries the 1-based line and column of the expression part it is about.

use std::fmt;

/// A position in the expression source: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Whether a compile error comes from the grammar or from the meaning of a well-formed expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The text is not a FHIRPath expression (bad token, unbalanced bracket, unexpected end).
    Syntax,
    /// The expression is well-formed but cannot be valid (unknown function, wrong argument count, a path that
    /// cannot exist on the context type in strict mode, an operator applied to types it does not accept).
    Semantic,
}

/// An error found while compiling an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} error at {pos}: {message}", match .kind { ParseErrorKind::Syntax => "syntax", ParseErrorKind::Semantic => "semantic" })]
pub struct ParseError {
    /// Syntax or semantic.
    pub kind: ParseErrorKind,
    /// What is wrong, lower-case, no trailing period.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

impl ParseError {
    pub(crate) fn syntax(pos: Pos, message: impl Into<String>) -> Self {
        ParseError {
            kind: ParseErrorKind::Syntax,
            message: message.into(),
            pos,
        }
    }
    pub(crate) fn semantic(pos: Pos, message: impl Into<String>) -> Self {
        ParseError {
            kind: ParseErrorKind::Semantic,
            message: message.into(),
            pos,
        }
    }
    /// 1-based line of the error.
    pub fn line(&self) -> u32 {
        self.pos.line
    }
    /// 1-based column of the error.
    pub fn column(&self) -> u32 {
        self.pos.column
    }
}

/// An error raised while evaluating a compiled expression (for example `single()` on two items, a non-boolean
/// criterion, or an unknown type name in `as()`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evaluation error at {pos}: {message}")]
pub struct EvalError {
    /// What went wrong.
    pub message: String,
    /// The position of the expression node that failed.
    pub pos: Pos,
}

impl EvalError {
    pub(crate) fn new(pos: Pos, message: impl Into<String>) -> Self {
        EvalError {
            message: message.into(),
            pos,
        }
    }
    /// 1-based line of the failing node.
    pub fn line(&self) -> u32 {
        self.pos.line
    }
    /// 1-based column of the failing node.
    pub fn column(&self) -> u32 {
        self.pos.column
    }
}
