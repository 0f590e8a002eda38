//! Bounds for text that came from outside (a tenant's response body, a tool's arguments)
//! before it enters an error, an activity event, the audit file or a notification.

use std::borrow::Cow;

/// How much of an upstream error body is kept (the start of an HTML error page or a JSON
/// error is enough to tell what happened).
pub const ERROR_BODY_LIMIT: usize = 4 * 1024;

/// `text` cut to at most `max` bytes (on a character boundary), with `… N bytes more`
/// saying how much was left out. Unchanged (borrowed) when it fits, or when it was already
/// cut to `max` (a body cut where it was read and cut again where it enters an error keeps
/// one note that counts what the tenant sent).
pub fn cap(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max || already_capped(text, max) {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… {} bytes more", &text[..end], text.len() - end))
}

/// `head… [over ]N bytes more` with a head of at most `max` bytes: what [`cap`] and
/// [`body_head`] make.
fn already_capped(text: &str, max: usize) -> bool {
    let Some((head, note)) = text.rsplit_once("… ") else {
        return false;
    };
    let count = note.strip_prefix("over ").unwrap_or(note);
    head.len() <= max
        && count
            .strip_suffix(" bytes more")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// An upstream error body as errors and events carry it: at most [`ERROR_BODY_LIMIT`].
pub fn error_body(text: &str) -> String {
    cap(text, ERROR_BODY_LIMIT).into_owned()
}

/// Cuts `text` in place like [`cap`]; leaves it untouched (no allocation) when it fits.
pub fn cap_in_place(text: &mut String, max: usize) {
    if text.len() > max {
        *text = cap(text, max).into_owned();
    }
}

/// The start of a body of which only `head` was kept: `head` as text (invalid UTF-8
/// replaced), cut to at most `max` bytes, with `… N bytes more` counting what was left out
/// of the `total` bytes received. `complete: false` means reading stopped before the end
/// (the body was longer still): the note then reads `… over N bytes more`.
pub fn body_head(head: &[u8], total: usize, complete: bool, max: usize) -> String {
    let text = String::from_utf8_lossy(head);
    let mut end = text.len().min(max);
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    // Bytes of the body not shown (a replaced invalid sequence counts as what it replaced
    // only approximately; the note is for people, not for arithmetic).
    let shown_raw = end.min(head.len());
    let left = total.saturating_sub(shown_raw);
    match (left, complete) {
        (0, true) => text[..end].to_string(),
        (n, true) => format!("{}… {n} bytes more", &text[..end]),
        (n, false) => format!("{}… over {n} bytes more", &text[..end]),
    }
}

/// A byte count for people: `32 MiB`, `4 KiB`, `517 bytes` (exact units only, otherwise
/// bytes).
pub fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
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
    fn cap_in_place_cuts_only_what_is_too_long() {
        let mut s = String::from("abcdef");
        cap_in_place(&mut s, 6);
        assert_eq!(s, "abcdef");
        cap_in_place(&mut s, 2);
        assert_eq!(s, "ab… 4 bytes more");
    }

    #[test]
    fn body_head_counts_what_was_not_kept() {
        assert_eq!(body_head(b"abc", 3, true, 10), "abc");
        // 6 bytes kept of 100 received, 4 shown.
        assert_eq!(body_head(b"abcdef", 100, true, 4), "abcd… 96 bytes more");
        // Reading stopped early: the count is a lower bound.
        assert_eq!(body_head(b"ab", 50, false, 4), "ab… over 48 bytes more");
        // A kept head that ends inside a character is cut before it.
        assert_eq!(body_head("aé".as_bytes(), 3, true, 2), "a… 2 bytes more");
    }

    #[test]
    fn sizes_read_in_exact_units() {
        assert_eq!(size(32 * 1024 * 1024), "32 MiB");
        assert_eq!(size(4096), "4 KiB");
        assert_eq!(size(1500), "1500 bytes");
        assert_eq!(size(0), "0 bytes");
    }

    #[test]
    fn a_cut_text_is_not_cut_again() {
        let body = "x".repeat(10_000);
        let once = error_body(&body);
        assert_eq!(error_body(&once), once);
        let head = body_head(body.as_bytes(), 20_000, false, ERROR_BODY_LIMIT);
        assert_eq!(error_body(&head), head);
        // Text that only looks like a note, or whose head is too long, is cut.
        let fake = format!("{}… 12 bytes more", "y".repeat(ERROR_BODY_LIMIT + 1));
        assert!(
            error_body(&fake).ends_with(&format!("… {} bytes more", fake.len() - ERROR_BODY_LIMIT))
        );
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        // "é" is two bytes: a cut at 3 would split the second one.
        assert_eq!(cap("éé", 3), "é… 2 bytes more");
        assert_eq!(cap("€", 1), "… 3 bytes more");
    }
}
