//! The log filter of both binaries. `AIC_LOG` holds `EnvFilter` directives (`debug`,
//! `aic_mcp_core=trace,info`); whatever it says, the MCP SDK's own targets (`rmcp::…`) log
//! at `warn` at most. Below that, rmcp writes whole protocol messages: at `info` every
//! notification it receives, at `debug` every request and every result (a tool's arguments
//! and the tenant's data it returned), at `trace` every event of its service loop and every
//! message of the Streamable HTTP transport. Its `warn` and `error` lines carry error texts,
//! not messages.

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// The environment variable holding the log directives.
pub const LOG_ENV: &str = "AIC_LOG";

/// The SDK's target prefix.
const RMCP: &str = "rmcp";

/// The most the SDK may log.
pub const RMCP_MAX_LEVEL: LevelFilter = LevelFilter::WARN;

/// The filter for the directives in `AIC_LOG`, or `default` when it is unset, empty or not
/// valid, with rmcp capped at [`RMCP_MAX_LEVEL`].
pub fn env_filter(default: &str) -> EnvFilter {
    filter_for(std::env::var(LOG_ENV).ok().as_deref(), default)
}

/// The filter for `directives`, or `default` when they are `None`, empty or not valid, with
/// rmcp capped at [`RMCP_MAX_LEVEL`]: every directive that could reach rmcp's events asks
/// for no more than that (a quieter one is kept), and `rmcp=warn` is added unless a
/// directive already names `rmcp`. This covers `trace`, `rmcp=trace`,
/// `rmcp::service=debug`, and span directives without a target (`[serve_inner]=trace`),
/// which `EnvFilter` would otherwise let past any target directive; such a span directive
/// is therefore capped for every target, so name a target in it (`aic_mcp_core[call]=debug`)
/// to see more.
pub fn filter_for(directives: Option<&str>, default: &str) -> EnvFilter {
    let spec = directives
        .map(str::trim)
        .filter(|d| !d.is_empty() && EnvFilter::builder().parse(d).is_ok())
        .unwrap_or(default);
    EnvFilter::builder().parse_lossy(cap_rmcp(spec))
}

/// `spec` with every directive that could enable rmcp's events capped.
fn cap_rmcp(spec: &str) -> String {
    let mut out = Vec::new();
    let mut names_rmcp = false;
    // `EnvFilter` splits its directives at every comma the same way.
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (selector, level) = split_level(directive);
        let target = selector.split('[').next().unwrap_or("");
        let scoped = selector.contains('[');
        // A static directive for a shorter target (`trace`, `rm=trace`) loses to the more
        // specific `rmcp=warn`; one with a span or fields does not, whatever its target.
        let reaches_rmcp = target.starts_with(RMCP) || (scoped && RMCP.starts_with(target));
        if reaches_rmcp && level > RMCP_MAX_LEVEL {
            out.push(format!("{selector}={RMCP_MAX_LEVEL}"));
        } else {
            out.push(directive.to_string());
        }
        names_rmcp |= target == RMCP && !scoped;
    }
    if !names_rmcp {
        out.push(format!("{RMCP}={RMCP_MAX_LEVEL}"));
    }
    out.join(",")
}

/// A directive's selector (`target[span{field}]`, possibly empty) and level, read as
/// `EnvFilter` reads them: the level follows the first `=` outside brackets (empty: all
/// levels); a lone word is a level if it names one, otherwise a target at every level.
fn split_level(directive: &str) -> (&str, LevelFilter) {
    let mut depth = 0usize;
    for (i, c) in directive.char_indices() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            '=' if depth == 0 => {
                let level = match &directive[i + 1..] {
                    "" => LevelFilter::TRACE,
                    l => l.parse().unwrap_or(LevelFilter::TRACE),
                };
                return (&directive[..i], level);
            }
            _ => {}
        }
    }
    if directive.starts_with('[') {
        return (directive, LevelFilter::TRACE);
    }
    match directive.parse::<LevelFilter>() {
        Ok(level) => ("", level),
        Err(_) => (directive, LevelFilter::TRACE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;
    use tracing_subscriber::layer::SubscriberExt;

    /// Runs `check` with a real subscriber filtered as `AIC_LOG=<directives>` would be.
    fn with_filter<T>(directives: Option<&str>, default: &str, check: impl FnOnce() -> T) -> T {
        let subscriber = tracing_subscriber::registry().with(filter_for(directives, default));
        tracing::subscriber::with_default(subscriber, check)
    }

    /// The levels rmcp's service module may log at: (debug, info, warn).
    fn rmcp_levels() -> (bool, bool, bool) {
        (
            tracing::enabled!(target: "rmcp::service", Level::DEBUG),
            tracing::enabled!(target: "rmcp::service", Level::INFO),
            tracing::enabled!(target: "rmcp::service", Level::WARN),
        )
    }

    #[test]
    fn debug_and_trace_never_reach_rmcp() {
        for spec in [
            "debug",
            "trace",
            "rmcp=trace",
            "rmcp::service=trace,info",
            "rmcp::transport=debug,rmcp::service=debug",
            "rm=trace",
            "RMCP=TRACE,rmcp=",
            "info,rmcp",
        ] {
            let (debug, info, warn) = with_filter(Some(spec), "info", rmcp_levels);
            assert!(!debug && !info, "AIC_LOG={spec}: rmcp logs below warn");
            assert!(warn, "AIC_LOG={spec}: rmcp warnings still show");
        }
        let ours = with_filter(
            Some("debug"),
            "info",
            || tracing::enabled!(target: "aic_mcp_core::tools", Level::DEBUG),
        );
        assert!(ours, "our own debug logs are on");
        let ours = with_filter(
            Some("rmcp=trace,aic_mcp_core=trace"),
            "info",
            || tracing::enabled!(target: "aic_mcp_core::auth", Level::TRACE),
        );
        assert!(ours);
    }

    #[test]
    fn span_directives_cannot_open_rmcp_either() {
        for spec in [
            "[serve_inner]=trace",
            "rmcp[serve_inner]=debug",
            "r[{id}]=trace",
        ] {
            let debug = with_filter(Some(spec), "info", || {
                let span = tracing::warn_span!(target: "rmcp::service", "serve_inner", id = 1);
                let _inside = span.enter();
                tracing::enabled!(target: "rmcp::service", Level::DEBUG)
            });
            assert!(!debug, "AIC_LOG={spec}: rmcp logs below warn");
        }
    }

    #[test]
    fn a_quieter_rmcp_setting_is_kept() {
        let (_, _, warn) = with_filter(Some("debug,rmcp=error"), "info", rmcp_levels);
        assert!(!warn);
        let error = with_filter(
            Some("rmcp=error"),
            "info",
            || tracing::enabled!(target: "rmcp::service", Level::ERROR),
        );
        assert!(error);
    }

    #[test]
    fn unset_empty_or_invalid_directives_use_the_default() {
        for spec in [None, Some(""), Some("  "), Some("foo=bogus"), Some("[[")] {
            let (info, warn) = with_filter(spec, "warn", || {
                (
                    tracing::enabled!(target: "aic_mcp_core", Level::INFO),
                    tracing::enabled!(target: "aic_mcp_core", Level::WARN),
                )
            });
            assert!(!info && warn, "{spec:?}");
        }
        // A default that asks for more is capped for rmcp all the same.
        let (debug, _, _) = with_filter(None, "trace", rmcp_levels);
        assert!(!debug);
    }

    #[test]
    fn directives_are_read_like_env_filter_reads_them() {
        assert_eq!(split_level("debug"), ("", LevelFilter::DEBUG));
        assert_eq!(split_level("rmcp"), ("rmcp", LevelFilter::TRACE));
        assert_eq!(split_level("rmcp="), ("rmcp", LevelFilter::TRACE));
        assert_eq!(
            split_level("a[s{f=1}]=warn"),
            ("a[s{f=1}]", LevelFilter::WARN)
        );
        assert_eq!(split_level("[s]"), ("[s]", LevelFilter::TRACE));
        assert_eq!(split_level("x=4"), ("x", LevelFilter::DEBUG));
        assert_eq!(
            cap_rmcp("info,rmcp::service=trace,[serve_inner]=debug,aic_mcp_core[c]=trace"),
            "info,rmcp::service=warn,[serve_inner]=warn,aic_mcp_core[c]=trace,rmcp=warn"
        );
        assert_eq!(cap_rmcp("rmcp=error"), "rmcp=error");
    }
}
