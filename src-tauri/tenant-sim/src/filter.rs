//! CREST query filters: parser and evaluator.
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "!" unary | primary
//! primary := "(" expr ")" | "true" | "false" | path "pr" | path op value
//! op      := eq | co | sw | gt | ge | lt | le
//! value   := "string" (\" and \\ escapes) | number | true | false
//! ```
//! Paths are JSON-pointer-like (`/name/givenName` or `name/givenName`, `~1` = `/`, `~0` = `~`);
//! through arrays they reach every element. String comparisons ignore ASCII case.

use std::cmp::Ordering;

use serde_json::Value;

/// A parse failure, with a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(String);

/// A field path as written in a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    pub raw: String,
    pub segments: Vec<String>,
}

impl FieldPath {
    pub fn parse(raw: &str) -> Self {
        FieldPath {
            raw: raw.to_string(),
            segments: pointer_segments(raw),
        }
    }

    /// Whether the path was written with a leading `/`.
    pub fn is_absolute(&self) -> bool {
        self.raw.starts_with('/')
    }
}

/// Splits a JSON-pointer-like path (leading `/` optional) into unescaped segments.
pub fn pointer_segments(path: &str) -> Vec<String> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Co,
    Sw,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    True,
    False,
    Not(Box<Filter>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Present(FieldPath),
    Compare {
        path: FieldPath,
        op: Op,
        value: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    Not,
    Str(String),
    Word(String),
}

fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::LParen);
            }
            ')' => {
                chars.next();
                tokens.push(Token::RParen);
            }
            '!' => {
                chars.next();
                tokens.push(Token::Not);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(FilterError("Unterminated string literal".into())),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            Some('/') => s.push('/'),
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(other) => {
                                return Err(FilterError(format!(
                                    "Invalid escape sequence '\\{other}' in string literal"
                                )))
                            }
                            None => return Err(FilterError("Unterminated string literal".into())),
                        },
                        Some(other) => s.push(other),
                    }
                }
                tokens.push(Token::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(w));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

fn is_keyword(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expr(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.and()?];
        while is_keyword(self.peek(), "or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.unary()?];
        while is_keyword(self.peek(), "and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Filter, FilterError> {
        match self.next() {
            None => Err(FilterError("Unexpected end of filter".into())),
            Some(Token::LParen) => {
                let inner = self.expr()?;
                match self.next() {
                    Some(Token::RParen) => Ok(inner),
                    _ => Err(FilterError("Expected ')'".into())),
                }
            }
            Some(Token::Word(w)) => {
                let ends_here = matches!(self.peek(), None | Some(Token::RParen))
                    || is_keyword(self.peek(), "and")
                    || is_keyword(self.peek(), "or");
                if ends_here && w.eq_ignore_ascii_case("true") {
                    return Ok(Filter::True);
                }
                if ends_here && w.eq_ignore_ascii_case("false") {
                    return Ok(Filter::False);
                }
                self.comparison(w)
            }
            Some(other) => Err(FilterError(format!(
                "Unexpected token {other:?}, expected a field path"
            ))),
        }
    }

    fn comparison(&mut self, path: String) -> Result<Filter, FilterError> {
        let path = FieldPath::parse(&path);
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path))
            }
            Some(Token::Word(w)) => {
                Op::parse(&w).ok_or_else(|| FilterError(format!("Unknown operator '{w}'")))?
            }
            _ => {
                return Err(FilterError(format!(
                    "Expected an operator after '{}'",
                    path.raw
                )))
            }
        };
        let value = match self.next() {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Word(w)) => literal(&w)?,
            _ => {
                return Err(FilterError(format!(
                    "Expected a value after '{}'",
                    path.raw
                )))
            }
        };
        Ok(Filter::Compare { path, op, value })
    }
}

fn literal(w: &str) -> Result<Value, FilterError> {
    if w.eq_ignore_ascii_case("true") {
        return Ok(Value::Bool(true));
    }
    if w.eq_ignore_ascii_case("false") {
        return Ok(Value::Bool(false));
    }
    if let Ok(i) = w.parse::<i64>() {
        return Ok(Value::from(i));
    }
    match w.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Value::from(f)),
        _ => Err(FilterError(format!(
            "Invalid value '{w}': strings must be quoted"
        ))),
    }
}

/// Parses a CREST `_queryFilter` expression.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(FilterError("The filter is empty".into()));
    }
    let mut p = Parser { tokens, pos: 0 };
    let f = p.expr()?;
    match p.peek() {
        None => Ok(f),
        Some(t) => Err(FilterError(format!("Unexpected trailing token {t:?}"))),
    }
}

/// Every value a path reaches (fanning out through arrays).
pub fn resolve<'a>(doc: &'a Value, segments: &[String]) -> Vec<&'a Value> {
    let mut current = vec![doc];
    for seg in segments {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Object(m) => next.extend(m.get(seg)),
                Value::Array(items) => match seg.parse::<usize>() {
                    Ok(i) => next.extend(items.get(i)),
                    Err(_) => next.extend(items.iter().filter_map(|item| item.get(seg))),
                },
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// Orders JSON values for sorting: null/missing < booleans < numbers < strings < the rest;
/// strings compare case-insensitively first.
pub fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None | Some(Value::Null) => 0,
            Some(Value::Bool(_)) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(_) => 4,
        }
    }
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x
            .to_lowercase()
            .cmp(&y.to_lowercase())
            .then_with(|| x.cmp(y)),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn compare_one(actual: &Value, op: Op, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let (a, e) = (a.to_lowercase(), e.to_lowercase());
            match op {
                Op::Eq => a == e,
                Op::Co => a.contains(&e),
                Op::Sw => a.starts_with(&e),
                Op::Gt => a > e,
                Op::Ge => a >= e,
                Op::Lt => a < e,
                Op::Le => a <= e,
            }
        }
        (Value::Number(a), Value::Number(e)) => {
            let (Some(a), Some(e)) = (a.as_f64(), e.as_f64()) else {
                return false;
            };
            match op {
                Op::Eq => a == e,
                Op::Gt => a > e,
                Op::Ge => a >= e,
                Op::Lt => a < e,
                Op::Le => a <= e,
                Op::Co | Op::Sw => false,
            }
        }
        (Value::Bool(a), Value::Bool(e)) => op == Op::Eq && a == e,
        _ => false,
    }
}

impl Filter {
    /// Whether a JSON document matches.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Filter::True => true,
            Filter::False => false,
            Filter::Not(f) => !f.matches(doc),
            Filter::And(fs) => fs.iter().all(|f| f.matches(doc)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(doc)),
            Filter::Present(path) => resolve(doc, &path.segments).into_iter().any(|v| match v {
                Value::Null => false,
                Value::Array(items) => !items.is_empty(),
                _ => true,
            }),
            Filter::Compare { path, op, value } => resolve(doc, &path.segments)
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(items) => items.iter().collect::<Vec<_>>(),
                    other => vec![other],
                })
                .any(|v| compare_one(v, *op, value)),
        }
    }

    /// Every field path the filter mentions.
    pub fn paths(&self) -> Vec<&FieldPath> {
        match self {
            Filter::True | Filter::False => Vec::new(),
            Filter::Not(f) => f.paths(),
            Filter::And(fs) | Filter::Or(fs) => fs.iter().flat_map(Filter::paths).collect(),
            Filter::Present(p) | Filter::Compare { path: p, .. } => vec![p],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "userName": "bjensen",
            "givenName": "Barbara",
            "age": 42,
            "active": true,
            "mail": null,
            "name": {"family": "Jensen"},
            "tags": ["a", "Beta"],
            "roles": [{"_ref": "managed/alpha_role/1"}, {"_ref": "managed/alpha_role/2"}],
            "a/b": "slash"
        })
    }

    fn m(f: &str) -> bool {
        parse(f)
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .matches(&user())
    }

    #[test]
    fn literals_and_operators() {
        assert!(m("true"));
        assert!(!m("false"));
        assert!(m("userName eq \"bjensen\""));
        assert!(m("/userName eq \"BJENSEN\""));
        assert!(m("givenName co \"arba\""));
        assert!(m("givenName sw \"Bar\""));
        assert!(!m("givenName sw \"arb\""));
        assert!(m("age gt 41") && m("age ge 42") && m("age lt 42.5") && m("age le 42"));
        assert!(!m("age gt 42"));
        assert!(m("active eq true"));
        assert!(m("userName pr") && !m("mail pr") && !m("missing pr"));
        assert!(m("name/family eq \"jensen\""));
        assert!(m("tags eq \"beta\""));
        assert!(m("roles/_ref co \"alpha_role/2\""));
        assert!(m("a~1b eq \"slash\""));
    }

    #[test]
    fn boolean_structure_and_precedence() {
        assert!(m("!(userName eq \"x\")"));
        assert!(m("! userName eq \"x\""));
        assert!(m(
            "userName eq \"x\" or userName eq \"bjensen\" and age eq 42"
        ));
        assert!(!m(
            "(userName eq \"x\" or userName eq \"bjensen\") and age eq 1"
        ));
        assert!(m("true AND (age eq 42 OR false)"));
        assert_eq!(
            parse("a eq 1 or b eq 2 and c pr"),
            Ok(Filter::Or(vec![
                Filter::Compare {
                    path: FieldPath::parse("a"),
                    op: Op::Eq,
                    value: json!(1)
                },
                Filter::And(vec![
                    Filter::Compare {
                        path: FieldPath::parse("b"),
                        op: Op::Eq,
                        value: json!(2)
                    },
                    Filter::Present(FieldPath::parse("c")),
                ])
            ]))
        );
    }

    #[test]
    fn string_escapes() {
        let doc = json!({"s": "say \"hi\" \\o/"});
        let f = parse(r#"s eq "say \"hi\" \\o/""#).unwrap();
        assert!(f.matches(&doc));
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "",
            "   ",
            "userName",
            "userName eq",
            "userName eq bjensen",
            "userName xx \"a\"",
            "(userName pr",
            "userName pr)",
            "userName eq \"open",
            "userName eq \"bad \\q escape\"",
            "userName pr and",
            "true false",
        ] {
            assert!(parse(bad).is_err(), "should not parse: {bad:?}");
        }
    }

    #[test]
    fn paths_report_leading_slash() {
        let f = parse("/payload/level eq \"ERROR\" and source pr").unwrap();
        let abs: Vec<bool> = f.paths().iter().map(|p| p.is_absolute()).collect();
        assert_eq!(abs, vec![true, false]);
    }

    #[test]
    fn sorting_order() {
        let (a, b, n) = (json!("alpha"), json!("Beta"), json!(3));
        assert_eq!(compare_values(Some(&a), Some(&b)), Ordering::Less);
        assert_eq!(compare_values(None, Some(&n)), Ordering::Less);
        assert_eq!(compare_values(Some(&n), Some(&a)), Ordering::Less);
    }
}
