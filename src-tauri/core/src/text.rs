//! Bounds for text that came from outside (a tenant's response body, a tool's arguments)
//! before it enters an error, an activity event, the audit file or a notification.

use std::borrow::Cow;

/// How much of an upstream error body is kept (the start of an HTML error page or a JSON
/// error is enough to tell what happened).
pub const ERROR_BODY_LIMIT: usize = 4 * 1024;

/// `text` cut to at most `max` bytes (on a character boundary), with `… N bytes more`
/// saying how much was left out. Unchanged (borrowed) when it fits.
pub fn cap(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… {} bytes more", &text[..end], text.len() - end))
}

/// An upstream error body as errors and events carry it: at most [`ERROR_BODY_LIMIT`].
pub fn error_body(text: &str) -> String {
    cap(text, ERROR_BODY_LIMIT).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_unchanged() {
        assert!(matches!(cap("abc", 3), Cow::Borrowed("abc")));
        assert_eq!(error_body(""), "");
    }

    #[test]
    fn long_text_is_cut_and_says_how_much_is_left_out() {
        assert_eq!(cap("abcdef", 4), "abcd… 2 bytes more");
        let body = "x".repeat(10_000);
        let cut = error_body(&body);
        assert!(cut.starts_with(&"x".repeat(ERROR_BODY_LIMIT)));
        assert!(cut.ends_with(&format!("… {} bytes more", 10_000 - ERROR_BODY_LIMIT)));
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        // "é" is two bytes: a cut at 3 would split the second one.
        assert_eq!(cap("éé", 3), "é… 2 bytes more");
        assert_eq!(cap("€", 1), "… 3 bytes more");
    }
}
