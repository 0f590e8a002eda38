//! Logs (2 tools, contract §3.3): the tenant's monitoring log sources and log query.

use schemars::JsonSchema;
use serde::Deserialize;

use super::common::NoArgs;
use super::{failure, format_success, tool, Args, CallCtx, Hints, Meta, ToolDef};
use crate::tenant::ApiRequest;
use crate::validate;

const MONITORING: &[&str] = &["fr:idc:monitoring:*"];

/// The family's tools, in registration order.
pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            Meta {
                name: "getLogSources",
                title: "Get Log Sources",
                description: "List the tenant's log sources (for example am-authentication, am-access, idm-activity, idm-access). Use them as sources in queryLogs.",
                scopes: MONITORING,
                hints: Hints::READ,
                container: true,
            },
            get_sources,
        ),
        tool(
            Meta {
                name: "queryLogs",
                title: "Query Logs",
                description: "Query the tenant's logs by source, time window, transaction id and filter. Get source names from getLogSources (for example am-authentication, idm-activity). Times are ISO-8601 without milliseconds, for example 2025-01-11T10:00:00Z; beginTime defaults to 24 hours before endTime, endTime defaults to now, and the window may be at most 24 hours (the tenant enforces it). Transaction ids come from the 'Transaction ID:' line of other tools' results, the x-forgerock-transactionid header or the browser's developer tools. Every field path in queryFilter must start with '/', for example /payload/level eq \"ERROR\" (without the '/' the tenant answers 500); operators eq, co, sw, lt, le, gt, ge, pr and !, combined with and / or. Use beginTime/endTime for ranges and /payload/timestamp only for exact matches. pageSize defaults to 100.",
                scopes: MONITORING,
                hints: Hints::READ,
                container: true,
            },
            query_logs,
        ),
    ]
}

async fn get_sources(ctx: CallCtx, _: NoArgs) -> Result<String, String> {
    let r = ctx
        .send(ApiRequest::get("/monitoring/logs/sources"))
        .await
        .map_err(|e| failure("Failed to fetch log sources", e))?;
    Ok(format_success(&r.body, &r.transaction_id))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryLogsArgs {
    /// Log sources to read, for example ["am-authentication", "idm-activity"]; an empty
    /// list lets the tenant decide.
    sources: Vec<String>,
    /// Start of the window, ISO-8601 without milliseconds, for example
    /// 2025-01-11T10:00:00Z. Default: 24 hours before endTime.
    begin_time: Option<String>,
    /// End of the window, for example 2025-01-11T12:00:00Z. Default: now.
    end_time: Option<String>,
    /// Only entries of this transaction, for example the id printed after
    /// "Transaction ID:" by another tool.
    transaction_id: Option<String>,
    /// CREST filter whose field paths start with '/', for example
    /// /payload/level eq "ERROR" and /payload/eventName co "AUTH".
    #[schemars(length(max = 2000))]
    query_filter: Option<String>,
    /// The pagedResultsCookie of the previous page, to get the next one.
    paged_results_cookie: Option<String>,
    /// Entries per page, 1 to 1000 (default 100).
    #[schemars(range(min = 1, max = 1000))]
    page_size: Option<i64>,
}

impl Args for QueryLogsArgs {
    fn validate(&self) -> validate::Result {
        for (i, s) in self.sources.iter().enumerate() {
            let field = format!("sources[{i}]");
            validate::min_chars(&field, s, 1)?;
            validate::max_chars(&field, s, 100)?;
            validate::charset(
                &field,
                s,
                "-_",
                "a log source name has letters, digits, '-' and '_' only (see getLogSources)",
            )?;
        }
        for (field, value) in [("beginTime", &self.begin_time), ("endTime", &self.end_time)] {
            if let Some(t) = value {
                validate::max_chars(field, t, 40)?;
                validate::charset(
                    field,
                    t,
                    "-:.+TZ",
                    "use an ISO-8601 time such as 2025-01-11T10:00:00Z",
                )?;
            }
        }
        if let Some(t) = &self.transaction_id {
            validate::max_chars("transactionId", t, 256)?;
            validate::charset(
                "transactionId",
                t,
                "-_.:/",
                "a transaction id has letters, digits and - _ . : / only",
            )?;
        }
        if let Some(f) = &self.query_filter {
            validate::text("queryFilter", f, 2000)?;
        }
        if let Some(c) = &self.paged_results_cookie {
            validate::text("pagedResultsCookie", c, 4096)?;
        }
        if let Some(n) = self.page_size {
            validate::range("pageSize", n, 1, 1000)?;
        }
        Ok(())
    }
}

async fn query_logs(ctx: CallCtx, a: QueryLogsArgs) -> Result<String, String> {
    let mut req = ApiRequest::get("/monitoring/logs");
    if !a.sources.is_empty() {
        req = req.query("source", &a.sources.join(","));
    }
    for (key, value) in [
        ("beginTime", &a.begin_time),
        ("endTime", &a.end_time),
        ("transactionId", &a.transaction_id),
        ("_queryFilter", &a.query_filter),
        ("_pagedResultsCookie", &a.paged_results_cookie),
    ] {
        if let Some(v) = value {
            req = req.query(key, v);
        }
    }
    let page_size = a.page_size.unwrap_or(100).min(1000).to_string();
    req = req.query("_pageSize", &page_size);
    let r = ctx
        .send(req)
        .await
        .map_err(|e| failure("Failed to query logs", e))?;
    Ok(format_success(&r.body, &r.transaction_id))
}
