//! FHIRPath lexer: turns source text into tokens with line/column positions. Comments (`//`, `/* */`) and
//! whitespace are skipped; string and delimited-identifier escapes are decoded here.

use crate::error::{ParseError, Pos};

/// A token kind. Keywords (`and`, `div`, `true` …) come out as [`Tok::Ident`]; the parser decides.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// A `` `backtick` `` identifier: never a keyword.
    Delimited(String),
    Str(String),
    /// A number as written (`12`, `1.50`).
    Number(String),
    /// A date/time literal without the `@`: `2015-02-04`, `2015T`, `2015-02-04T14:30Z`, `T14:30`.
    DateTime(String),
    /// `$this`, `$index`, `$total` (without `$`).
    Special(String),
    Sym(&'static str),
    Eof,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
}

const SYMBOLS: [&str; 23] = [
    "!=", "!~", "<=", ">=", ".", ",", "(", ")", "[", "]", "{", "}", "+", "-", "*", "/", "&", "|",
    "=", "~", "<", ">", "%",
];

struct Lexer {
    chars: Vec<char>,
    idx: usize,
    line: u32,
    column: u32,
}

/// Tokenises the whole source (the last token is [`Tok::Eof`]).
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        idx: 0,
        line: 1,
        column: 1,
    };
    let mut out = Vec::with_capacity(src.len() / 3 + 2);
    loop {
        lx.skip_trivia()?;
        let pos = lx.pos();
        let Some(c) = lx.peek(0) else {
            out.push(Token { tok: Tok::Eof, pos });
            return Ok(out);
        };
        let tok = lx.token(c, pos)?;
        out.push(Token { tok, pos });
    }
}

impl Lexer {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.idx + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.idx += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while let Some(c) = self.peek(0) {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(0), self.peek(1)) {
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            (Some(_), _) => {
                                self.bump();
                            }
                            (None, _) => {
                                return Err(ParseError::syntax(start, "unterminated comment"))
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn token(&mut self, c: char, pos: Pos) -> Result<Tok, ParseError> {
        if c.is_ascii_alphabetic() || c == '_' {
            return Ok(Tok::Ident(
                self.take_while(|c| c.is_ascii_alphanumeric() || c == '_'),
            ));
        }
        if c.is_ascii_digit() {
            return Ok(Tok::Number(self.number()));
        }
        match c {
            '\'' => return self.quoted('\'', pos).map(Tok::Str),
            '`' => return self.quoted('`', pos).map(Tok::Delimited),
            '@' => {
                self.bump();
                return self.date_time(pos).map(Tok::DateTime);
            }
            '$' => {
                self.bump();
                let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
                return match name.as_str() {
                    "this" | "index" | "total" => Ok(Tok::Special(name)),
                    _ => Err(ParseError::syntax(
                        pos,
                        format!("unknown special variable '${name}'"),
                    )),
                };
            }
            _ => {}
        }
        for sym in SYMBOLS {
            let mut it = sym.chars();
            let first = it.next();
            let second = it.next();
            if first == Some(c) && (second.is_none() || second == self.peek(1)) {
                for _ in 0..sym.len() {
                    self.bump();
                }
                return Ok(Tok::Sym(sym));
            }
        }
        Err(ParseError::syntax(
            pos,
            format!("unexpected character '{c}'"),
        ))
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0) {
            if !f(c) {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    fn digits(&mut self) -> String {
        self.take_while(|c| c.is_ascii_digit())
    }

    fn number(&mut self) -> String {
        let mut s = self.digits();
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            s.push('.');
            s.push_str(&self.digits());
        }
        s
    }

    fn quoted(&mut self, quote: char, pos: Pos) -> Result<String, ParseError> {
        self.bump();
        let mut s = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(ParseError::syntax(pos, "unterminated string or identifier"));
            };
            if c == quote {
                return Ok(s);
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let esc_pos = self.pos();
            let Some(e) = self.bump() else {
                return Err(ParseError::syntax(pos, "unterminated string or identifier"));
            };
            match e {
                '\'' | '"' | '`' | '\\' | '/' => s.push(e),
                'f' => s.push('\u{c}'),
                'n' => s.push('\n'),
                'r' => s.push('\r'),
                't' => s.push('\t'),
                'u' => {
                    let mut code = self.hex4(esc_pos)?;
                    if (0xD800..0xDC00).contains(&code)
                        && self.peek(0) == Some('\\')
                        && self.peek(1) == Some('u')
                    {
                        // A UTF-16 surrogate pair written as two escapes.
                        self.bump();
                        self.bump();
                        let low = self.hex4(esc_pos)?;
                        if (0xDC00..0xE000).contains(&low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        }
                    }
                    // A lone surrogate becomes the replacement character rather than an error.
                    s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                }
                other => {
                    return Err(ParseError::syntax(
                        esc_pos,
                        format!("unknown escape '\\{other}'"),
                    ))
                }
            }
        }
    }

    fn hex4(&mut self, pos: Pos) -> Result<u32, ParseError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let Some(d) = self.bump().and_then(|h| h.to_digit(16)) else {
                return Err(ParseError::syntax(pos, "bad \\u escape"));
            };
            code = code * 16 + d;
        }
        Ok(code)
    }

    /// Reads the text of a date/time literal after `@`. Shape checks happen in the parser (`datetime.rs`).
    fn date_time(&mut self, pos: Pos) -> Result<String, ParseError> {
        let mut s = String::new();
        if self.peek(0) == Some('T') {
            self.bump();
            s.push('T');
            self.time_part(&mut s);
            self.zone(&mut s);
            return Ok(s);
        }
        let year = self.digits();
        if year.len() != 4 {
            return Err(ParseError::syntax(
                pos,
                "a date literal needs a 4-digit year",
            ));
        }
        s.push_str(&year);
        for _ in 0..2 {
            if self.peek(0) == Some('-') && self.two_digits_at(1) {
                self.bump();
                s.push('-');
                s.push_str(&self.take_n_digits(2));
            } else {
                break;
            }
        }
        if self.peek(0) == Some('T') {
            self.bump();
            s.push('T');
            self.time_part(&mut s);
            self.zone(&mut s);
        }
        Ok(s)
    }

    fn two_digits_at(&self, ahead: usize) -> bool {
        self.peek(ahead).is_some_and(|c| c.is_ascii_digit())
            && self.peek(ahead + 1).is_some_and(|c| c.is_ascii_digit())
    }

    fn take_n_digits(&mut self, n: usize) -> String {
        let mut s = String::new();
        for _ in 0..n {
            if let Some(c) = self.bump() {
                s.push(c);
            }
        }
        s
    }

    fn time_part(&mut self, s: &mut String) {
        if !self.two_digits_at(0) {
            return;
        }
        s.push_str(&self.take_n_digits(2));
        for _ in 0..2 {
            if self.peek(0) == Some(':') && self.two_digits_at(1) {
                self.bump();
                s.push(':');
                s.push_str(&self.take_n_digits(2));
            } else {
                return;
            }
        }
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            s.push('.');
            s.push_str(&self.digits());
        }
    }

    fn zone(&mut self, s: &mut String) {
        match self.peek(0) {
            Some('Z') => {
                self.bump();
                s.push('Z');
            }
            Some(sign @ ('+' | '-'))
                if self.two_digits_at(1) && self.peek(3) == Some(':') && self.two_digits_at(4) =>
            {
                self.bump();
                s.push(sign);
                s.push_str(&self.take_n_digits(2));
                self.bump();
                s.push(':');
                s.push_str(&self.take_n_digits(2));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        tokenize(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_and_invocations() {
        assert_eq!(
            kinds("1.5.round()"),
            vec![
                Tok::Number("1.5".into()),
                Tok::Sym("."),
                Tok::Ident("round".into()),
                Tok::Sym("("),
                Tok::Sym(")"),
                Tok::Eof
            ]
        );
        assert_eq!(kinds("1.x")[0], Tok::Number("1".into()));
    }

    #[test]
    fn dates_and_zones() {
        assert_eq!(
            kinds("@2015-02-04T14:34:28.123+10:00")[0],
            Tok::DateTime("2015-02-04T14:34:28.123+10:00".into())
        );
        assert_eq!(
            kinds("@2015T.is(DateTime)")[0],
            Tok::DateTime("2015T".into())
        );
        assert_eq!(
            kinds("@1973-12-25 + 7")[0],
            Tok::DateTime("1973-12-25".into())
        );
        assert_eq!(kinds("@T14:34:28Z")[0], Tok::DateTime("T14:34:28Z".into()));
    }

    #[test]
    fn strings_escapes_and_positions() {
        let toks = tokenize("'a\\u0065\\'b'\n  x").unwrap();
        assert_eq!(toks[0].tok, Tok::Str("ae'b".into()));
        assert_eq!(toks[1].pos, Pos { line: 2, column: 3 });
    }

    #[test]
    fn comments_and_errors() {
        assert_eq!(kinds("2 // c\n/ 2").len(), 4);
        assert!(tokenize("2 /* open").is_err());
        assert!(tokenize("'open").is_err());
        assert!(tokenize("#").is_err());
    }
}
