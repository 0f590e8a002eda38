//! A small JSON-with-comments parser that keeps byte positions, so that edits can be made
//! on the text itself. Accepts `//` and `/* */` comments and trailing commas.

use serde_json::{Map, Number, Value};

#[derive(Debug)]
pub(super) struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug)]
pub(super) enum Kind {
    Object(Object),
    Array(Vec<Node>),
    Str(String),
    Num(String),
    Bool(bool),
    Null,
}

#[derive(Debug)]
pub(super) struct Object {
    /// Byte offset of `{`.
    pub open: usize,
    /// Byte offset of `}`.
    pub close: usize,
    pub members: Vec<Member>,
}

#[derive(Debug)]
pub(super) struct Member {
    pub key: String,
    /// Byte offset of the key's opening quote.
    pub key_start: usize,
    /// Byte offset just after the key's closing quote.
    pub key_end: usize,
    pub value: Node,
    /// Byte offset of the comma after the value, if any.
    pub comma: Option<usize>,
}

#[derive(Debug)]
pub(super) struct ParseError {
    pub offset: usize,
    pub reason: String,
}

impl Object {
    /// The member with this key; the last one if repeated (as JSON parsers do).
    pub(super) fn last_member(&self, key: &str) -> Option<&Member> {
        self.members.iter().rev().find(|m| m.key == key)
    }
}

impl Node {
    pub(super) fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Object(o) => {
                let mut map = Map::new();
                for m in &o.members {
                    map.insert(m.key.clone(), m.value.to_value());
                }
                Value::Object(map)
            }
            Kind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Num(n) => serde_json::from_str::<Number>(n)
                .ok()
                .or_else(|| n.parse::<f64>().ok().and_then(Number::from_f64))
                .map_or(Value::Null, Value::Number),
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Null => Value::Null,
        }
    }
}

const MAX_DEPTH: usize = 256;

pub(super) fn parse(text: &str) -> Result<Node, ParseError> {
    let mut p = Parser {
        text,
        s: text.as_bytes(),
        pos: 0,
    };
    p.skip_trivia()?;
    let node = p.value(0)?;
    p.skip_trivia()?;
    if p.pos < p.s.len() {
        return Err(p.err("unexpected text after the end of the document"));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, reason: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        match self.text.get(self.pos..).and_then(|r| r.chars().next()) {
            None => self.err(format!("unexpected end of file, expected {expected}")),
            Some(c) => self.err(format!("unexpected {c:?}, expected {expected}")),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') => match self.s.get(self.pos + 1) {
                    Some(b'/') => {
                        while !matches!(self.peek(), None | Some(b'\n')) {
                            self.pos += 1;
                        }
                    }
                    Some(b'*') => match self.text[self.pos + 2..].find("*/") {
                        Some(i) => self.pos += 2 + i + 2,
                        None => return Err(self.err("unterminated /* comment")),
                    },
                    _ => return Err(self.unexpected("a value or a comment")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => Kind::Object(self.object(depth)?),
            Some(b'[') => Kind::Array(self.array(depth)?),
            Some(b'"') => Kind::Str(self.string()?),
            Some(b't') => {
                self.literal("true")?;
                Kind::Bool(true)
            }
            Some(b'f') => {
                self.literal("false")?;
                Kind::Bool(false)
            }
            Some(b'n') => {
                self.literal("null")?;
                Kind::Null
            }
            Some(b'-' | b'0'..=b'9') => Kind::Num(self.number()?),
            _ => return Err(self.unexpected("a value")),
        };
        Ok(Node {
            start,
            end: self.pos,
            kind,
        })
    }

    fn literal(&mut self, word: &str) -> Result<(), ParseError> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.unexpected("a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - from
    }

    fn number(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected("a digit"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected("a digit"));
            }
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("incomplete \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let d = char::from(d)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid \\u escape"))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run of plain characters at once (it is valid UTF-8: the
            // delimiters are ASCII).
            let run_start = self.pos;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => {
                    self.pos = start;
                    return Err(self.err("unterminated string"));
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let escape = self.s.get(self.pos + 1).copied();
                    let simple = match escape {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        out.push(c);
                        self.pos += 2;
                    } else if escape == Some(b'u') {
                        self.pos += 2;
                        let high = self.hex4()?;
                        let c = if (0xD800..0xDC00).contains(&high)
                            && self.s[self.pos..].starts_with(b"\\u")
                        {
                            self.pos += 2;
                            let low = self.hex4()?;
                            if (0xDC00..0xE000).contains(&low) {
                                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                            } else {
                                None
                            }
                        } else {
                            char::from_u32(high)
                        };
                        out.push(c.unwrap_or('\u{FFFD}'));
                    } else {
                        return Err(self.err("invalid escape in string"));
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Object, ParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut members: Vec<Member> = Vec::new();
        loop {
            self.skip_trivia()?;
            let needs_comma = members.last().is_some_and(|m| m.comma.is_none());
            match self.peek() {
                Some(b'}') => {
                    let close = self.pos;
                    self.pos += 1;
                    return Ok(Object {
                        open,
                        close,
                        members,
                    });
                }
                Some(b'"') if !needs_comma => {
                    let key_start = self.pos;
                    let key = self.string()?;
                    let key_end = self.pos;
                    self.skip_trivia()?;
                    if self.peek() != Some(b':') {
                        return Err(self.unexpected("':'"));
                    }
                    self.pos += 1;
                    self.skip_trivia()?;
                    let value = self.value(depth + 1)?;
                    self.skip_trivia()?;
                    let comma = if self.peek() == Some(b',') {
                        self.pos += 1;
                        Some(self.pos - 1)
                    } else {
                        None
                    };
                    members.push(Member {
                        key,
                        key_start,
                        key_end,
                        value,
                        comma,
                    });
                }
                _ if needs_comma => return Err(self.unexpected("',' or '}'")),
                _ => return Err(self.unexpected("a quoted key or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Vec<Node>, ParseError> {
        self.pos += 1;
        let mut items = Vec::new();
        let mut needs_comma = false;
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ if needs_comma => return Err(self.unexpected("',' or ']'")),
                _ => {
                    items.push(self.value(depth + 1)?);
                    self.skip_trivia()?;
                    if self.peek() == Some(b',') {
                        self.pos += 1;
                    } else {
                        needs_comma = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::assistants::jsonc;
    use crate::assistants::line_col;
    use serde_json::json;

    #[test]
    fn assistants_jsonc_parser_values_and_errors() {
        let text = "{\"a\\u00e9\": \"x\\n\\ud83d\\ude00\", \"n\": [-1.5e3, 0, true, null,], /* c */ \"o\": {}, }";
        let node = jsonc::parse(text).expect("must succeed");
        assert_eq!(
            node.to_value(),
            json!({"aé": "x\n\u{1F600}", "n": [-1500.0, 0, true, null], "o": {}})
        );
        for (bad, offset, reason) in [
            ("{\"a\": 1 /* open", 8, "unterminated /* comment"),
            ("{\"a: 1}", 1, "unterminated string"),
            ("{} x", 3, "unexpected text after the end of the document"),
            (
                "{'a': 1}",
                1,
                "unexpected '\\'', expected a quoted key or '}'",
            ),
            ("[1 2]", 3, "unexpected '2', expected ',' or ']'"),
            ("{\"a\": 01}", 7, "unexpected '1', expected ',' or '}'"),
            ("{\"a\": tru}", 6, "unexpected 't', expected a value"),
            ("{\"a\": \"\\q\"}", 7, "invalid escape in string"),
            ("{\"a\":", 5, "unexpected end of file, expected a value"),
        ] {
            let err = jsonc::parse(bad).expect_err("must fail");
            assert_eq!((err.offset, err.reason.as_str()), (offset, reason), "{bad}");
        }
        assert_eq!(line_col("ab\ncdéf".as_bytes(), 7), (2, 4));
    }
}
