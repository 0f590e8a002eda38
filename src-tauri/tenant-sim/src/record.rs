//! The request log every test can inspect.

use std::sync::Mutex;

use crate::state::lock;

/// One request as the simulator received it, with the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// Raw path, percent-encoding kept.
    pub path: String,
    /// Raw query string (without `?`), if any.
    pub query: Option<String>,
    /// Request headers, names lower-cased, in received order.
    pub headers: Vec<(String, String)>,
    /// Request body (lossy UTF-8).
    pub body: String,
    /// Status answered; 0 while in flight or when the connection was dropped by a fault.
    pub status: u16,
    /// The `x-forgerock-transactionid` sent in the response (`None` if no response was sent).
    pub transaction_id: Option<String>,
}

impl RecordedRequest {
    /// First value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters in order (`+` and `%20` both decode to a space).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) struct Recorder {
    /// Off: nothing is kept; `begin` only hands out tickets.
    enabled: bool,
    inner: Mutex<RecorderInner>,
}

#[derive(Default)]
struct RecorderInner {
    next_seq: u64,
    entries: Vec<(u64, RecordedRequest)>,
}

impl Recorder {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            inner: Mutex::default(),
        }
    }

    /// Records a request on arrival; returns a ticket for [`Recorder::finish`].
    pub(crate) fn begin(&self, req: RecordedRequest) -> u64 {
        let mut inner = lock(&self.inner);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        if self.enabled {
            inner.entries.push((seq, req));
        }
        seq
    }

    /// Fills in the outcome of a recorded request (no-op if it was cleared meanwhile).
    pub(crate) fn finish(&self, seq: u64, status: u16, transaction_id: Option<String>) {
        let mut inner = lock(&self.inner);
        if let Some((_, r)) = inner.entries.iter_mut().rev().find(|(s, _)| *s == seq) {
            r.status = status;
            r.transaction_id = transaction_id;
        }
    }

    pub(crate) fn all(&self) -> Vec<RecordedRequest> {
        lock(&self.inner)
            .entries
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub(crate) fn clear(&self) {
        lock(&self.inner).entries.clear();
    }
}
