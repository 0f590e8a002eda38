//! Argument rules shared by every tool (contract §4), and the percent-encoding of what
//! tool arguments become in a URL (path segments, `encodeURIComponent`-style values). A
//! value that breaks a rule is rejected with a clear message before any request leaves
//! the process.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// One rejected argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    /// The error for `field` (a JSON path such as `nodes[2].nodeType`) with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T = ()> = std::result::Result<T, ValidationError>;

/// Everything except RFC 3986 unreserved characters is percent-encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What JavaScript's `encodeURIComponent` leaves unencoded: ASCII alphanumerics and
/// `-_.!~*'()`.
pub const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Percent-encodes one path segment (`/`, `?`, `#`, `%`, spaces… all encoded).
pub fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// Percent-encodes a value like JavaScript's `encodeURIComponent` (space → `%20`).
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, URI_COMPONENT).to_string()
}

/// Contract §4.1 "safe-segment": non-empty, not blank, no `..`, `/`, `\` or their encoded
/// forms `%2e`, `%2f`, `%5c` (any case), and not a lone `.` (a URL parser drops a `/./`
/// segment, so `a/./b` would address `a/b`).
pub fn safe_segment(field: &str, value: &str) -> Result {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.trim().is_empty() {
        return Err(ValidationError::new(
            field,
            "must not be blank or whitespace only",
        ));
    }
    if value == "." {
        return Err(ValidationError::new(
            field,
            "'.' is not a usable path segment: a lone dot means the enclosing path",
        ));
    }
    let lower = value.to_ascii_lowercase();
    if value.contains("..")
        || value.contains('/')
        || value.contains('\\')
        || lower.contains("%2e")
        || lower.contains("%2f")
        || lower.contains("%5c")
    {
        return Err(ValidationError::new(
            field,
            format!(
                "'{}' contains path traversal characters ('/', '\\', '..') or their URL-encoded forms",
                shorten(value)
            ),
        ));
    }
    Ok(())
}

/// A name made only of ASCII letters, digits and `_` (managed object definitions).
pub fn identifier(field: &str, value: &str) -> Result {
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ValidationError::new(
            field,
            format!(
                "'{}' must match ^[a-zA-Z0-9_]+$ (letters, digits and underscores only)",
                shorten(value)
            ),
        ));
    }
    Ok(())
}

/// A managed object type name (`alpha_user`, `bravo_role`…): IDM's identifier grammar,
/// ASCII letters, digits, `_` and `-`, at least one. Anything else (`?`, `&`, `/`, `.`,
/// spaces…) could only be a mistake or an attempt to reach another endpoint.
pub fn managed_type(field: &str, value: &str) -> Result {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(ValidationError::new(
            field,
            format!(
                "'{}' is not a managed object type name: it contains '{}'; a type name has only letters, digits, '_' and '-' (for example alpha_user; listManagedObjects lists every type)",
                shorten(value),
                bad.escape_default()
            ),
        ));
    }
    Ok(())
}

/// A string of at most `max` characters (Unicode scalar values, as the reference counts).
pub fn max_chars(field: &str, value: &str, max: usize) -> Result {
    let n = value.chars().count();
    if n > max {
        return Err(ValidationError::new(
            field,
            format!("is {n} characters long; the limit is {max}"),
        ));
    }
    Ok(())
}

/// At least `min` characters.
pub fn min_chars(field: &str, value: &str, min: usize) -> Result {
    if value.chars().count() < min {
        return Err(ValidationError::new(
            field,
            format!("must be at least {min} character(s) long"),
        ));
    }
    Ok(())
}

/// Free text sent as one query parameter: no control characters (CR, LF, NUL…), which
/// have no place in a filter or cookie and are the usual way to smuggle a second header
/// or line into logs.
pub fn no_control(field: &str, value: &str) -> Result {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters (newline, tab, NUL…)",
        ));
    }
    Ok(())
}

/// One line of free text: at most `max` characters and no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result {
    max_chars(field, value, max)?;
    no_control(field, value)
}

/// A caller's value used as one path segment: safe-segment (§4.1), at most `max`
/// characters, no control characters.
pub fn segment(field: &str, value: &str, max: usize) -> Result {
    safe_segment(field, value)?;
    text(field, value, max)
}

/// An integer in `[min, max]`.
pub fn range(field: &str, value: i64, min: i64, max: i64) -> Result {
    if value < min || value > max {
        return Err(ValidationError::new(
            field,
            format!("{value} is out of range; it must be from {min} to {max}"),
        ));
    }
    Ok(())
}

/// Every character is in `allowed` (besides ASCII letters and digits).
pub fn charset(field: &str, value: &str, allowed: &str, what: &str) -> Result {
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || allowed.contains(*c)))
    {
        return Err(ValidationError::new(
            field,
            format!(
                "'{}' contains '{}'; {what}",
                shorten(value),
                bad.escape_default()
            ),
        ));
    }
    Ok(())
}

/// A comma-separated list of field names or sort keys (`userName,-givenName`, `roles/*`).
pub fn field_list(field: &str, value: &str, max: usize) -> Result {
    max_chars(field, value, max)?;
    charset(
        field,
        value,
        "_,-+/*.@",
        "use field names separated by commas (for example userName,-givenName)",
    )
}

/// Escapes a value placed inside a double-quoted CREST filter string: `\` → `\\` first,
/// then `"` → `\"`, so the value can never end the string and add a clause.
pub fn crest_string(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A cut-down copy of a rejected value for messages (never the whole of a huge input).
fn shorten(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        value.escape_debug().to_string()
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{}…", head.escape_debug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_segment_rejects_traversal_in_all_forms() {
        for bad in [
            "..", "a/b", "a\\b", "../etc", "%2e%2e", "%2E", "x%2Fy", "x%2fy", "%5C", "%5c", "a..b",
        ] {
            let e = safe_segment("objectId", bad).expect_err(bad);
            assert!(e.message.contains("path traversal"), "{bad}: {e}");
        }
        assert!(safe_segment("objectId", "")
            .expect_err("empty")
            .message
            .contains("empty"));
        assert!(safe_segment("objectId", "  \t")
            .expect_err("blank")
            .message
            .contains("blank"));
    }

    #[test]
    fn safe_segment_rejects_a_lone_dot_only() {
        let e = safe_segment("objectId", ".").expect_err("lone dot");
        assert_eq!(e.field, "objectId");
        assert!(e.message.contains("lone dot"), "{e}");
        for ok in [".x", "x.", ".hidden", " .", "a.b.c"] {
            assert!(safe_segment("objectId", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn managed_type_names_follow_the_identifier_grammar() {
        for ok in [
            "alpha_user",
            "bravo_role",
            "alpha-device",
            "A1",
            "_",
            "x-y_z9",
        ] {
            assert!(managed_type("objectType", ok).is_ok(), "{ok}");
        }
        let e = managed_type("objectType", "alpha_user?_action=patch&x=").expect_err("query");
        assert_eq!(e.field, "objectType");
        assert!(e.message.contains("contains '?'"), "{e}");
        assert!(e.message.contains("letters, digits, '_' and '-'"), "{e}");
        assert_eq!(
            managed_type("objectType", "").expect_err("empty").message,
            "must not be empty"
        );
        for bad in [
            "../config/managed",
            ".",
            "..",
            "alpha_user/x",
            "alpha user",
            "alpha_user#x",
            "alpha%5fuser",
            "alpha.user",
            " ",
            "alpha_user\n",
            "über",
            "alpha_user\u{0}",
        ] {
            let e = managed_type("objectType", bad).expect_err(bad);
            assert!(
                e.message.contains("not a managed object type name"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn safe_segment_accepts_ordinary_ids() {
        for ok in [
            "abc",
            "a b",
            "x?y",
            "a#b",
            "100%",
            "über",
            "e3f9-11aa",
            "a.b",
        ] {
            assert!(safe_segment("id", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("a b?c#d%e/f"), "a%20b%3Fc%23d%25e%2Ff");
        assert_eq!(encode_segment("alpha_user-1.x~"), "alpha_user-1.x~");
        assert_eq!(encode_segment("ü"), "%C3%BC");
    }

    #[test]
    fn components_are_encoded_like_encode_uri_component() {
        assert_eq!(
            encode_component("a b&c=d/e?f#g%h+i"),
            "a%20b%26c%3Dd%2Fe%3Ff%23g%25h%2Bi"
        );
        assert_eq!(encode_component("A-z_0.9!~*'()"), "A-z_0.9!~*'()");
        assert_eq!(encode_component("é"), "%C3%A9");
    }

    #[test]
    fn crest_strings_cannot_be_closed() {
        assert_eq!(crest_string(r#"a"b"#), r#"a\"b"#);
        assert_eq!(crest_string(r#"a\"b"#), r#"a\\\"b"#);
        assert_eq!(crest_string(r#"x" or true or "y"#), r#"x\" or true or \"y"#);
    }

    #[test]
    fn identifiers_and_limits() {
        assert!(identifier("objectName", "alpha_device2").is_ok());
        assert!(identifier("objectName", "alpha-device").is_err());
        assert!(identifier("objectName", "").is_err());
        assert!(max_chars("f", &"x".repeat(10), 10).is_ok());
        assert!(max_chars("f", &"x".repeat(11), 10).is_err());
        assert!(range("pageSize", 0, 1, 250).is_err());
        assert!(range("pageSize", 250, 1, 250).is_ok());
        assert!(no_control("q", "a\nb").is_err());
        assert!(text("q", "a b", 3).is_ok());
        assert!(text("q", "a\tb", 3).is_err());
        assert!(text("q", "abcd", 3).is_err());
        assert!(segment("id", "a b", 3).is_ok());
        assert!(segment("id", "a/b", 3).is_err());
        assert!(segment("id", "a\rb", 3).is_err());
        assert!(segment("id", "abcd", 3).is_err());
        assert!(field_list("fields", "userName,-givenName,roles/*", 500).is_ok());
        assert!(field_list("fields", "userName&_x=1", 500).is_err());
    }
}
