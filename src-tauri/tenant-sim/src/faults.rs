//! Injected failures.

use std::sync::Mutex;

use crate::state::lock;

/// A failure to inject into matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Only requests with this method (case-insensitive); `None` matches any method.
    pub method: Option<String>,
    /// Only requests whose raw path starts with this prefix (`""` matches everything).
    pub path_prefix: String,
    /// What happens instead of the normal response.
    pub kind: FaultKind,
    /// How many matching requests it applies to; it is removed once this reaches zero.
    pub times: usize,
}

impl Fault {
    /// A fault for any method on `path_prefix`, applied once.
    pub fn new(path_prefix: impl Into<String>, kind: FaultKind) -> Self {
        Fault {
            method: None,
            path_prefix: path_prefix.into(),
            kind,
            times: 1,
        }
    }

    /// Restricts the fault to one HTTP method.
    pub fn with_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Sets how many matching requests the fault applies to.
    pub fn with_times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
}

/// The kinds of injected failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status and body (JSON content type if the body parses as JSON).
    Status { status: u16, body: String },
    /// Answer 429 with `Retry-After: <secs>` and an AM-style JSON body.
    TooManyRequests { retry_after_secs: u64 },
    /// Close the connection without a response.
    Drop,
    /// Never answer: the request hangs until the client gives up or goes away.
    Stall,
    /// Answer normally, after this many milliseconds.
    Delay { ms: u64 },
}

#[derive(Default)]
pub(crate) struct FaultList {
    faults: Mutex<Vec<Fault>>,
}

impl FaultList {
    pub(crate) fn push(&self, f: Fault) {
        if f.times > 0 {
            lock(&self.faults).push(f);
        }
    }

    pub(crate) fn clear(&self) {
        lock(&self.faults).clear();
    }

    /// The first fault matching this request, counting it down.
    pub(crate) fn take(&self, method: &str, raw_path: &str) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let idx = faults.iter().position(|f| {
            f.times > 0
                && raw_path.starts_with(&f.path_prefix)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        let kind = faults[idx].kind.clone();
        faults[idx].times -= 1;
        if faults[idx].times == 0 {
            faults.remove(idx);
        }
        Some(kind)
    }
}
