//! The generated queries in structured form: the generator builds them, the brute force answers
//! them, and [`Query::pairs`] renders them as the `name=value` pairs a client would send.

use crate::values::escape;

/// How a string value matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrMode {
    Starts,
    Exact,
    Contains,
}

/// The system part of a token value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sys {
    /// `code`: any system.
    Any,
    /// `|code`: no system.
    None,
    /// `system|code` or `system|`.
    Is(String),
}

/// The forms of a reference search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefForm {
    /// `Type/id`
    Typed(String, String),
    /// `id`
    Bare(String),
    /// `:Type` modifier with `id`
    Modifier(String, String),
    /// `{base}/Type/id`
    Absolute(String, String),
    /// An absolute URL that is not local.
    Url(String),
    /// `:identifier` with a token value.
    Identifier(Sys, String),
}

/// How a uri value matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriMode {
    Exact,
    Above,
    Below,
}

/// A comparison prefix; `None` is written without one (meaning `eq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pfx {
    None,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
}

impl Pfx {
    pub fn text(self) -> &'static str {
        match self {
            Pfx::None => "",
            Pfx::Eq => "eq",
            Pfx::Ne => "ne",
            Pfx::Gt => "gt",
            Pfx::Lt => "lt",
            Pfx::Ge => "ge",
            Pfx::Le => "le",
            Pfx::Sa => "sa",
            Pfx::Eb => "eb",
        }
    }
}

/// The test a parameter value makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    Str(StrMode, String),
    Token { sys: Sys, code: Option<String>, not: bool },
    /// `:text` on a token.
    Text(String),
    Ref(RefForm),
    Date(Pfx, String),
    Num(Pfx, String),
    /// Number text, system, code.
    Qty(Pfx, String, Option<String>, Option<String>),
    Uri(UriMode, String),
    Missing(bool),
}

/// One condition on a resource (one value of one parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Param(String, Test),
    Id(String),
    /// `code[:ty].inner`
    Chain { code: String, ty: Option<String>, inner: Box<Cond> },
    /// `_has:src:code:inner`
    Has { src: String, code: String, inner: Box<Cond> },
}

/// `_include` / `_revinclude`: `src:code[:target]`, `code` `None` for `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub src: String,
    pub code: Option<String>,
    pub target: Option<String>,
}

impl Include {
    pub fn render(&self) -> String {
        let mut s = format!("{}:{}", self.src, self.code.as_deref().unwrap_or("*"));
        if let Some(t) = &self.target {
            s.push(':');
            s.push_str(t);
        }
        s
    }
}

/// A search: clauses AND-ed, the conditions of a clause OR-ed (they share one name).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub ty: String,
    pub clauses: Vec<Vec<Cond>>,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
}

fn token_value(sys: &Sys, code: Option<&str>) -> String {
    let code = code.map(escape).unwrap_or_default();
    match sys {
        Sys::Any => code,
        Sys::None => format!("|{code}"),
        Sys::Is(s) => format!("{}|{code}", escape(s)),
    }
}

impl Test {
    fn modifier(&self) -> Option<String> {
        Some(match self {
            Test::Str(StrMode::Exact, _) => "exact".into(),
            Test::Str(StrMode::Contains, _) => "contains".into(),
            Test::Token { not: true, .. } => "not".into(),
            Test::Text(_) => "text".into(),
            Test::Ref(RefForm::Modifier(t, _)) => t.clone(),
            Test::Ref(RefForm::Identifier(..)) => "identifier".into(),
            Test::Uri(UriMode::Above, _) => "above".into(),
            Test::Uri(UriMode::Below, _) => "below".into(),
            Test::Missing(_) => "missing".into(),
            _ => return None,
        })
    }

    fn value(&self, base: &str) -> String {
        match self {
            Test::Str(_, v) | Test::Text(v) | Test::Uri(_, v) => escape(v),
            Test::Token { sys, code, .. } => token_value(sys, code.as_deref()),
            Test::Ref(f) => match f {
                RefForm::Typed(t, id) => format!("{t}/{}", escape(id)),
                RefForm::Bare(id) | RefForm::Modifier(_, id) => escape(id),
                RefForm::Absolute(t, id) => format!("{base}/{t}/{}", escape(id)),
                RefForm::Url(u) => escape(u),
                RefForm::Identifier(sys, v) => token_value(sys, Some(v)),
            },
            Test::Date(p, v) | Test::Num(p, v) => format!("{}{v}", p.text()),
            Test::Qty(p, v, sys, code) => match (sys, code) {
                (None, None) => format!("{}{v}", p.text()),
                (s, c) => format!(
                    "{}{v}|{}|{}",
                    p.text(),
                    s.as_deref().map(escape).unwrap_or_default(),
                    c.as_deref().map(escape).unwrap_or_default()
                ),
            },
            Test::Missing(b) => b.to_string(),
        }
    }
}

impl Cond {
    /// The parameter name as sent (`code[:modifier]`, chains and `_has` included).
    pub fn name(&self) -> String {
        match self {
            Cond::Param(code, t) => match t.modifier() {
                Some(m) => format!("{code}:{m}"),
                None => code.clone(),
            },
            Cond::Id(_) => "_id".into(),
            Cond::Chain { code, ty, inner } => match ty {
                Some(t) => format!("{code}:{t}.{}", inner.name()),
                None => format!("{code}.{}", inner.name()),
            },
            Cond::Has { src, code, inner } => format!("_has:{src}:{code}:{}", inner.name()),
        }
    }

    /// The value as sent.
    pub fn value(&self, base: &str) -> String {
        match self {
            Cond::Param(_, t) => t.value(base),
            Cond::Id(id) => escape(id),
            Cond::Chain { inner, .. } | Cond::Has { inner, .. } => inner.value(base),
        }
    }

    /// The code of the parameter this condition starts with (`_id` for ids).
    pub fn code(&self) -> &str {
        match self {
            Cond::Param(c, _) | Cond::Chain { code: c, .. } => c,
            Cond::Id(_) => "_id",
            Cond::Has { .. } => "_has",
        }
    }
}

impl Query {
    /// The search parameters as a client sends them (without paging controls).
    pub fn pairs(&self, base: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for clause in &self.clauses {
            let Some(first) = clause.first() else { continue };
            let values: Vec<String> = clause.iter().map(|c| c.value(base)).collect();
            out.push((first.name(), values.join(",")));
        }
        for inc in &self.includes {
            out.push(("_include".into(), inc.render()));
        }
        for inc in &self.revincludes {
            out.push(("_revinclude".into(), inc.render()));
        }
        out
    }

    /// `Type?a=b&c=d` for messages.
    pub fn display(&self, base: &str) -> String {
        let q: Vec<String> = self.pairs(base).iter().map(|(n, v)| format!("{n}={v}")).collect();
        format!("{}?{}", self.ty, q.join("&"))
    }
}
