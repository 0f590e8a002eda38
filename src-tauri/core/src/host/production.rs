//! The production guard: a tenant marked production is read only, unless the admin lifts
//! it for a while by typing the tenant's host name. The check is pure; the supervisor
//! holds the lift and puts read only back when its time is over.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::policy::Mode;

/// How long a lift lasts unless the admin chooses otherwise.
pub const LIFT_DEFAULT: Duration = Duration::from_secs(60 * 60);
/// The shortest and longest lift.
pub const LIFT_RANGE: RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(8 * 60 * 60);

/// What the admin asked for.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiftRequest {
    /// The mode while lifted (anything but read only).
    pub mode: Mode,
    /// The tenant's host name, as the admin typed it.
    pub typed_host: String,
    /// How long, in minutes.
    pub minutes: u64,
}

/// A lift in force.
#[derive(Debug, Clone)]
pub(super) struct Lift {
    pub mode: Mode,
    pub until_ms: i64,
    /// Stops the timer that ends it.
    pub stop: CancellationToken,
}

/// Why read only was not lifted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiftError {
    #[error("this tenant is not marked production; choose the mode in Settings")]
    NotProduction,
    #[error("the host name typed ({typed:?}) is not this tenant's ({expected}); nothing changed")]
    HostMismatch { typed: String, expected: String },
    #[error("choose a mode other than read only")]
    ReadOnly,
    #[error("{minutes} minutes is not from 1 minute to 8 hours")]
    Duration { minutes: u64 },
}

impl LiftError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotProduction => "NotProduction",
            Self::HostMismatch { .. } => "HostMismatch",
            Self::ReadOnly | Self::Duration { .. } => "InvalidLift",
        }
    }
}

/// Now, in Unix milliseconds (the system clock).
pub(super) fn now_ms() -> i64 {
    SystemClock.now_ms()
}

/// Checks a request against the tenant; the lift it grants (`minute` is one minute but
/// in tests).
pub(super) fn check(
    req: &LiftRequest,
    production: bool,
    host: &str,
    minute: Duration,
) -> Result<Lift, LiftError> {
    if !production {
        return Err(LiftError::NotProduction);
    }
    if req.mode == Mode::ReadOnly {
        return Err(LiftError::ReadOnly);
    }
    let typed = req.typed_host.trim();
    if !typed.eq_ignore_ascii_case(host) {
        return Err(LiftError::HostMismatch {
            typed: typed.to_string(),
            expected: host.to_string(),
        });
    }
    let length = Duration::from_secs(req.minutes.saturating_mul(60));
    if !LIFT_RANGE.contains(&length) {
        return Err(LiftError::Duration {
            minutes: req.minutes,
        });
    }
    let length = minute.saturating_mul(u32::try_from(req.minutes).unwrap_or(u32::MAX));
    let length_ms = i64::try_from(length.as_millis()).unwrap_or(i64::MAX);
    Ok(Lift {
        mode: req.mode,
        until_ms: now_ms().saturating_add(length_ms),
        stop: CancellationToken::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn req(mode: Mode, host: &str, minutes: u64) -> LiftRequest {
        LiftRequest {
            mode,
            typed_host: host.into(),
            minutes,
        }
    }

    #[test]
    fn a_lift_needs_a_production_tenant_its_exact_host_a_write_mode_and_a_sane_length() {
        let host = "openam-acme.forgeblocks.com";
        let ok = check(
            &req(Mode::Ask, " OpenAM-acme.forgeblocks.com ", 60),
            true,
            host,
            MINUTE,
        )
        .expect("lifted");
        assert_eq!(ok.mode, Mode::Ask);
        let left = ok.until_ms - now_ms();
        assert!(left > 59 * 60_000 && left <= 60 * 60_000, "{left}");
        assert_eq!(
            check(&req(Mode::Ask, host, 60), false, host, MINUTE).map(|_| ()),
            Err(LiftError::NotProduction)
        );
        assert_eq!(
            check(&req(Mode::Full, "openam-acme", 60), true, host, MINUTE).map(|_| ()),
            Err(LiftError::HostMismatch {
                typed: "openam-acme".into(),
                expected: host.into()
            })
        );
        assert_eq!(
            check(&req(Mode::ReadOnly, host, 60), true, host, MINUTE).map(|_| ()),
            Err(LiftError::ReadOnly)
        );
        for minutes in [0, 481, u64::MAX] {
            assert_eq!(
                check(&req(Mode::Ask, host, minutes), true, host, MINUTE).map(|_| ()),
                Err(LiftError::Duration { minutes })
            );
        }
    }
}
