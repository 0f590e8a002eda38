//! Errors of upstream requests, worded as contract §5.1 describes.

/// An upstream request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TenantError {
    /// The tenant answered with a non-2xx status.
    #[error("{}", status_text(.status, .reason, .body, .sanitized, .retry_after, .transaction_id))]
    Status {
        status: u16,
        reason: String,
        body: String,
        /// `NODE_ENV=production`: the body is not shown.
        sanitized: bool,
        retry_after: Option<String>,
        transaction_id: Option<String>,
    },
    /// No answer (connection refused, TLS failure, timeout, dropped connection).
    #[error("{0}")]
    Transport(String),
    /// A 2xx answer whose body is larger than the client reads (`limit` bytes); reading
    /// stopped there.
    #[error(
        "the tenant's response is larger than {}, the most read from one response; ask for less in one call: fewer fields, a smaller page size or a narrower query filter{}",
        crate::text::size(*.limit),
        tx_suffix(.transaction_id)
    )]
    TooLarge {
        limit: usize,
        transaction_id: Option<String>,
    },
    /// A 2xx answer whose body is not JSON.
    #[error("invalid JSON in the response: {detail}{}", tx_suffix(.transaction_id))]
    InvalidJson {
        detail: String,
        transaction_id: Option<String>,
    },
    /// Refused before sending: the URL is not on the session's tenant.
    #[error("refused to send a request to '{0}': it is not the signed-in tenant")]
    ForeignHost(String),
    /// Getting a token for the request failed (login, refresh or exchange).
    #[error("{0}")]
    Auth(String),
}

impl TenantError {
    /// The HTTP status, when the tenant answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `"\n\nTransaction ID: <id>"` when the response carried one.
pub fn tx_suffix(tx: &Option<String>) -> String {
    match tx {
        Some(id) => format!("\n\nTransaction ID: {id}"),
        None => String::new(),
    }
}

fn status_text(
    status: &u16,
    reason: &str,
    body: &str,
    sanitized: &bool,
    retry_after: &Option<String>,
    tx: &Option<String>,
) -> String {
    let mut s = if *sanitized {
        format!("Request failed with status {status}")
    } else {
        format!("{status} {reason} - {body}")
    };
    if let Some(secs) = retry_after {
        s.push_str(&format!(" (the tenant asks to retry after {secs} s)"));
    }
    s.push_str(&tx_suffix(tx));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_follow_the_contract() {
        let e = TenantError::Status {
            status: 404,
            reason: "Not Found".into(),
            body: r#"{"code":404}"#.into(),
            sanitized: false,
            retry_after: None,
            transaction_id: Some("tx-1".into()),
        };
        assert_eq!(
            e.to_string(),
            "404 Not Found - {\"code\":404}\n\nTransaction ID: tx-1"
        );
        let e = TenantError::Status {
            status: 500,
            reason: "Internal Server Error".into(),
            body: "secret detail".into(),
            sanitized: true,
            retry_after: None,
            transaction_id: None,
        };
        assert_eq!(e.to_string(), "Request failed with status 500");
    }

    #[test]
    fn too_large_names_the_limit_and_how_to_ask_for_less() {
        let e = TenantError::TooLarge {
            limit: 32 * 1024 * 1024,
            transaction_id: Some("tx-2".into()),
        };
        let text = e.to_string();
        assert!(text.contains("larger than 32 MiB"), "{text}");
        for hint in ["fewer fields", "smaller page size", "narrower query filter"] {
            assert!(text.contains(hint), "{hint}: {text}");
        }
        assert!(text.ends_with("\n\nTransaction ID: tx-2"), "{text}");
    }
}
