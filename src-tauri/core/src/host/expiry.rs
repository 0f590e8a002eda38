//! The expiry timer's plan: when to wake next for the signed-in token, and what to do
//! then. Pure, so the arithmetic is tested without a clock.

use crate::auth::{SessionState, SessionStatus};

/// The warning comes this long before the token stops being usable.
pub const WARN_BEFORE_MS: i64 = 5 * 60_000;

/// What the timer does when it wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Tell the admin the token expires soon (once per token).
    Warn { at_ms: i64, expires_at_ms: i64 },
    /// The token is no longer usable: refresh it, else sign out.
    Expire { at_ms: i64 },
}

impl Wake {
    pub fn at_ms(&self) -> i64 {
        match self {
            Self::Warn { at_ms, .. } | Self::Expire { at_ms } => *at_ms,
        }
    }
}

/// The next wake-up for `status` at `now_ms`, or `None` when nothing is signed in.
/// `skew_ms` is how long before `expires_at` the session stops using a token;
/// `warned_for` is the expiry already warned about.
pub fn plan(
    status: &SessionStatus,
    now_ms: i64,
    skew_ms: i64,
    warned_for: Option<i64>,
) -> Option<Wake> {
    if status.state != SessionState::SignedIn {
        return None;
    }
    let expires_at = status.expires_at_ms?;
    let unusable_at = expires_at - skew_ms;
    let warn_at = unusable_at - WARN_BEFORE_MS;
    // A warning only makes sense while there is still time left to act on it.
    if warned_for != Some(expires_at) && now_ms < unusable_at {
        return Some(Wake::Warn {
            at_ms: warn_at.max(now_ms),
            expires_at_ms: expires_at,
        });
    }
    Some(Wake::Expire {
        at_ms: unusable_at.max(now_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_in(expires: i64) -> SessionStatus {
        SessionStatus {
            state: SessionState::SignedIn,
            expires_at_ms: Some(expires),
            ..SessionStatus::signed_out("t.example.com")
        }
    }

    const SKEW: i64 = 60_000;

    #[test]
    fn nothing_to_wait_for_when_signed_out_or_without_an_expiry() {
        assert_eq!(plan(&SessionStatus::signed_out("t"), 0, SKEW, None), None);
        let mut s = signed_in(10);
        s.expires_at_ms = None;
        assert_eq!(plan(&s, 0, SKEW, None), None);
    }

    #[test]
    fn warns_five_minutes_before_the_token_becomes_unusable_then_expires() {
        let expires = 3_600_000;
        let s = signed_in(expires);
        let warn = plan(&s, 0, SKEW, None);
        assert_eq!(
            warn,
            Some(Wake::Warn {
                at_ms: expires - SKEW - WARN_BEFORE_MS,
                expires_at_ms: expires
            })
        );
        // Once warned for this token, the next wake is its end.
        assert_eq!(
            plan(&s, 0, SKEW, Some(expires)),
            Some(Wake::Expire {
                at_ms: expires - SKEW
            })
        );
        // A new token (refreshed) is warned about again.
        assert!(matches!(
            plan(&signed_in(expires * 2), 0, SKEW, Some(expires)),
            Some(Wake::Warn { .. })
        ));
    }

    #[test]
    fn a_late_start_warns_at_once_and_an_unusable_token_expires_at_once() {
        let expires = 1_000_000;
        let s = signed_in(expires);
        let now = expires - SKEW - 60_000; // one minute of use left
        assert_eq!(
            plan(&s, now, SKEW, None),
            Some(Wake::Warn {
                at_ms: now,
                expires_at_ms: expires
            })
        );
        let now = expires - 1_000; // inside the skew
        assert_eq!(plan(&s, now, SKEW, None), Some(Wake::Expire { at_ms: now }));
    }
}
