//! `/monitoring/logs*`: log sources and log queries over seeded entries plus an access entry
//! for every IDM/AM request the simulator serves.

use axum::http::Method;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use crate::crest;
use crate::filter;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::state::{lock, Shared};

pub(crate) const SOURCES: [&str; 10] = [
    "am-access",
    "am-activity",
    "am-authentication",
    "am-config",
    "am-core",
    "idm-access",
    "idm-activity",
    "idm-config",
    "idm-core",
    "idm-sync",
];

const MAX_WINDOW: Duration = Duration::hours(24);
const DEFAULT_PAGE_SIZE: usize = 1000;
/// Oldest entries are dropped beyond this many.
const MAX_ENTRIES: usize = 50_000;

struct LogEntry {
    at: OffsetDateTime,
    source: String,
    value: Value,
}

pub(crate) struct LogStore {
    entries: Vec<LogEntry>,
}

fn format_ts(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl LogStore {
    pub(crate) fn seeded() -> Self {
        let now = OffsetDateTime::now_utc();
        let mut store = LogStore {
            entries: Vec::new(),
        };
        for (minutes_ago, source, payload) in seed_entries() {
            store.push(now - Duration::minutes(minutes_ago), source, payload);
        }
        store
    }

    /// Adds an entry; `payload` gets `timestamp` (and `_id`/`transactionId` if absent).
    pub(crate) fn push(&mut self, at: OffsetDateTime, source: &str, payload: Value) {
        let ts = format_ts(at);
        let mut payload = match payload {
            Value::Object(m) => m,
            other => {
                let mut m = Map::new();
                m.insert("message".into(), other);
                m
            }
        };
        payload
            .entry("_id")
            .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
        payload
            .entry("transactionId")
            .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
        payload.insert("timestamp".into(), json!(ts));
        let value = json!({
            "payload": payload,
            "timestamp": ts,
            "type": "application/json",
            "source": source,
        });
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.remove(0);
        }
        let pos = self.entries.partition_point(|e| e.at <= at);
        self.entries.insert(
            pos,
            LogEntry {
                at,
                source: source.to_string(),
                value,
            },
        );
    }
}

fn seed_entries() -> Vec<(i64, &'static str, Value)> {
    let alpha_user = "a1000000-0000-4000-8000-000000000001";
    vec![
        (
            58,
            "am-config",
            json!({"eventName": "AM-CONFIG-CHANGE", "level": "INFO", "operation": "UPDATE",
            "objectId": "ou=default,ou=OrganizationConfig,ou=1.0,ou=iPlanetAMAuthService,ou=services,o=alpha,ou=services,ou=am-config",
            "changedFields": ["iplanet-am-auth-org-config"], "realm": "/alpha", "runAs": "id=amadmin,ou=user,ou=am-config",
            "component": "Config", "source": "audit", "topic": "config"}),
        ),
        (
            55,
            "idm-config",
            json!({"eventName": "CONFIG", "level": "INFO", "operation": "UPDATE", "objectId": "ui/themerealm",
            "changedFields": ["/realm/alpha/0/primaryColor"], "userId": "admin", "revision": null,
            "source": "audit", "topic": "config"}),
        ),
        (
            50,
            "am-authentication",
            json!({"eventName": "AM-LOGIN-COMPLETED", "level": "INFO", "result": "SUCCESSFUL",
            "principal": ["bjensen"], "userId": "id=bjensen,ou=user,o=alpha,ou=services,ou=am-config", "realm": "/alpha",
            "entries": [{"info": {"treeName": "Login", "authLevel": "0", "nodeOutcome": "true"}}],
            "component": "Authentication", "trackingIds": [], "source": "audit", "topic": "authentication"}),
        ),
        (
            48,
            "am-activity",
            json!({"eventName": "AM-SESSION-CREATED", "level": "INFO", "operation": "CREATE",
            "objectId": "e9d3d3f1-session", "runAs": "", "realm": "/alpha",
            "userId": "id=bjensen,ou=user,o=alpha,ou=services,ou=am-config", "component": "Session",
            "source": "audit", "topic": "activity"}),
        ),
        (
            45,
            "am-access",
            json!({"eventName": "AM-ACCESS-OUTCOME", "level": "INFO", "component": "OAuth", "realm": "/alpha",
            "userId": "id=bjensen,ou=user,o=alpha,ou=services,ou=am-config", "trackingIds": [],
            "request": {"protocol": "HTTP(S)", "operation": "POST", "detail": {"grant_type": "authorization_code", "client_id": "end-user-ui"}},
            "http": {"request": {"secure": true, "method": "POST", "path": "https://tenant.example.com/am/oauth2/alpha/access_token", "queryParameters": {}}},
            "response": {"status": "SUCCESSFUL", "statusCode": "200", "elapsedTime": 42, "elapsedTimeUnits": "MILLISECONDS"},
            "source": "audit", "topic": "access"}),
        ),
        (
            40,
            "am-authentication",
            json!({"eventName": "AM-LOGIN-COMPLETED", "level": "INFO", "result": "FAILED",
            "principal": ["jdoe"], "userId": "", "realm": "/alpha",
            "entries": [{"info": {"treeName": "Login", "authLevel": "0", "nodeOutcome": "false"}}],
            "component": "Authentication", "trackingIds": [], "source": "audit", "topic": "authentication"}),
        ),
        (
            38,
            "am-core",
            json!({"eventName": "AM-CORE-LOG", "level": "ERROR",
            "logger": "org.forgerock.openam.auth.trees.engine.AuthTreeExecutor", "context": "default", "thread": "http-nio-8080-exec-7",
            "message": "Node outcome 'false' has no connection in tree 'Login'", "mdc": {}}),
        ),
        (
            35,
            "idm-access",
            json!({"eventName": "access", "level": "INFO", "userId": "bjensen", "trackingIds": [],
            "request": {"protocol": "CREST", "operation": "READ"},
            "http": {"request": {"secure": true, "method": "GET", "path": format!("https://tenant.example.com/openidm/managed/alpha_user/{alpha_user}"), "queryParameters": {}}},
            "response": {"status": "SUCCESSFUL", "statusCode": "200", "elapsedTime": 9, "elapsedTimeUnits": "MILLISECONDS"},
            "source": "audit", "topic": "access"}),
        ),
        (
            30,
            "idm-activity",
            json!({"eventName": "activity", "level": "INFO", "operation": "PATCH",
            "objectId": format!("managed/alpha_user/{alpha_user}"), "status": "SUCCESS", "changedFields": ["/telephoneNumber"],
            "passwordChanged": false, "revision": "2", "runAs": "bjensen", "userId": "bjensen", "message": "",
            "source": "audit", "topic": "activity"}),
        ),
        (
            25,
            "idm-sync",
            json!({"eventName": "sync", "level": "INFO", "action": "UPDATE", "situation": "CONFIRMED",
            "mapping": "managedAlpha_user_systemLdapAccounts", "sourceObjectId": format!("managed/alpha_user/{alpha_user}"),
            "targetObjectId": "system/ldap/account/uid=bjensen", "status": "SUCCESS", "message": null,
            "source": "audit", "topic": "sync"}),
        ),
        (
            20,
            "idm-core",
            json!({"eventName": "IDM-CORE-LOG", "level": "WARNING",
            "logger": "org.forgerock.openidm.script.javascript.JavaScript", "thread": "qtp-71",
            "message": "onUpdate script for managed/alpha_user took longer than 1000 ms", "mdc": {}}),
        ),
        (
            15,
            "am-core",
            json!({"eventName": "AM-CORE-LOG", "level": "INFO",
            "logger": "org.forgerock.openam.oauth2.OAuth2Utils", "context": "default", "thread": "http-nio-8080-exec-2",
            "message": "Issued access token for client end-user-ui", "mdc": {}}),
        ),
        (
            10,
            "idm-core",
            json!({"eventName": "IDM-CORE-LOG", "level": "SEVERE",
            "logger": "org.forgerock.openidm.provisioner.openicf.impl.OpenICFProvisionerService", "thread": "qtp-88",
            "message": "Connection to remote connector server rcs-1 was lost", "mdc": {}}),
        ),
        (
            5,
            "am-authentication",
            json!({"eventName": "AM-LOGIN-COMPLETED", "level": "INFO", "result": "SUCCESSFUL",
            "principal": ["mlee"], "userId": "id=mlee,ou=user,o=bravo,ou=services,ou=am-config", "realm": "/bravo",
            "entries": [{"info": {"treeName": "Login", "authLevel": "0", "nodeOutcome": "true"}}],
            "component": "Authentication", "trackingIds": [], "source": "audit", "topic": "authentication"}),
        ),
    ]
}

pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    let segs = req.segs();
    http::finish(match segs.get(1..).unwrap_or_default() {
        ["logs"] if req.method == Method::GET => query(shared, req),
        ["logs", "sources"] if req.method == Method::GET => Ok(sources()),
        ["logs"] | ["logs", "sources"] => Err(http::method_not_allowed(req)),
        _ => Err(http::not_found(req)),
    })
}

fn sources() -> Resp {
    http::json(
        200,
        &json!({
            "result": SOURCES,
            "resultCount": SOURCES.len(),
            "pagedResultsCookie": null,
            "totalPagedResultsPolicy": "NONE",
            "totalPagedResults": -1,
            "remainingPagedResults": -1,
        }),
    )
}

fn parse_time(req: &Req, name: &str) -> Result<Option<OffsetDateTime>, Fail> {
    match req.q(name).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => OffsetDateTime::parse(s, &Rfc3339).map(Some).map_err(|_| {
            Fail::crest(
                400,
                format!("Invalid {name} '{s}': expected ISO-8601, e.g. 2025-01-11T10:00:00Z"),
            )
        }),
    }
}

/// The requested sources (required, each one known).
fn wanted_sources(req: &Req) -> Result<Vec<&str>, Fail> {
    let param = req
        .q("source")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Fail::crest(400, "The source parameter is required"))?;
    let wanted: Vec<&str> = param
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    match wanted.iter().find(|s| !SOURCES.contains(s)) {
        Some(bad) => Err(Fail::crest(400, format!("Unknown log source '{bad}'"))),
        None => Ok(wanted),
    }
}

/// `[begin, end]`: end defaults to now, begin to end − 24 h; at most 24 h apart.
fn window(req: &Req) -> Result<(OffsetDateTime, OffsetDateTime), Fail> {
    let begin = parse_time(req, "beginTime")?;
    let end = parse_time(req, "endTime")?.unwrap_or_else(OffsetDateTime::now_utc);
    let begin = begin.unwrap_or(end - MAX_WINDOW);
    if end < begin {
        return Err(Fail::crest(400, "endTime must not be before beginTime"));
    }
    if end - begin > MAX_WINDOW {
        return Err(Fail::crest(
            400,
            "The time window between beginTime and endTime must not exceed 24 hours",
        ));
    }
    Ok((begin, end))
}

fn query(shared: &Shared, req: &Req) -> Outcome {
    let wanted = wanted_sources(req)?;
    let (begin, end) = window(req)?;
    let filter = match req.q("_queryFilter").filter(|s| !s.is_empty()) {
        None => filter::Filter::True,
        Some(text) => filter::parse(text)
            .map_err(|e| Fail::crest(400, format!("Invalid _queryFilter '{text}': {e}")))?,
    };
    if filter.paths().iter().any(|p| !p.is_absolute()) {
        return Err(Fail::crest(500, "Internal Server Error"));
    }
    let paging = crest::paging(req, Some(DEFAULT_PAGE_SIZE))?;
    let tx = req.q("transactionId").filter(|s| !s.is_empty());
    let logs = lock(&shared.logs);
    let hits: Vec<Value> = logs
        .entries
        .iter()
        .filter(|e| wanted.contains(&e.source.as_str()))
        .filter(|e| e.at >= begin && e.at <= end)
        .filter(|e| {
            tx.is_none_or(|t| {
                e.value
                    .pointer("/payload/transactionId")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id == t || id.starts_with(&format!("{t}/")))
            })
        })
        .filter(|e| filter.matches(&e.value))
        .map(|e| e.value.clone())
        .collect();
    Ok(http::json(200, &crest::page(hits, paging, None)))
}

/// Details of a served request, for its access-log entry.
pub(crate) struct Served<'a> {
    pub(crate) source: &'a str,
    pub(crate) status: u16,
    pub(crate) user: Option<&'a str>,
    pub(crate) elapsed_ms: u128,
}

const LOGGED_OAUTH_FIELDS: [&str; 6] = [
    "grant_type",
    "client_id",
    "scope",
    "response_type",
    "subject_token_type",
    "requested_token_type",
];

fn crest_operation(req: &Req) -> &'static str {
    match req.method {
        Method::GET if req.q("_queryFilter").is_some() => "QUERY",
        Method::GET => "READ",
        Method::POST if req.q("_action") == Some("create") => "CREATE",
        Method::POST => "ACTION",
        Method::PUT => "UPDATE",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "UNKNOWN",
    }
}

/// Appends the access-log entry of a served request.
pub(crate) fn record_access(shared: &Shared, req: &Req, served: &Served<'_>) {
    let mut params: Map<String, Value> = Map::new();
    for (k, v) in &req.query {
        if let Value::Array(vals) = params.entry(k.clone()).or_insert_with(|| json!([])) {
            vals.push(json!(v));
        }
    }
    let status = served.status;
    let level = match status {
        500.. => "ERROR",
        400.. => "WARNING",
        _ => "INFO",
    };
    let mut request = json!({"protocol": "CREST", "operation": crest_operation(req)});
    let mut payload = json!({
        "eventName": "access",
        "level": level,
        "transactionId": req.tx_id,
        "userId": served.user.unwrap_or("anonymous"),
        "trackingIds": [],
        "client": {"ip": "127.0.0.1"},
        "http": {"request": {
            "secure": shared.cfg.tls,
            "method": req.method.as_str(),
            "path": format!("{}{}", shared.base_url, req.raw_path),
            "queryParameters": params,
        }},
        "response": {
            "status": if status < 400 { "SUCCESSFUL" } else { "FAILED" },
            "statusCode": status.to_string(),
            "elapsedTime": served.elapsed_ms,
            "elapsedTimeUnits": "MILLISECONDS",
        },
        "source": "audit",
        "topic": "access",
    });
    if served.source == "am-access" {
        let oauth = req.segments.get(1).is_some_and(|s| s == "oauth2");
        let pairs = if req.is_form() {
            req.form()
        } else {
            req.query.clone()
        };
        let detail: Map<String, Value> = pairs
            .into_iter()
            .filter(|(k, _)| LOGGED_OAUTH_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k, json!(v)))
            .collect();
        request = json!({
            "protocol": if oauth { "HTTP(S)" } else { "CREST" },
            "operation": req.method.as_str(),
            "detail": detail,
        });
        payload["eventName"] = json!("AM-ACCESS-OUTCOME");
        payload["component"] = json!(if oauth { "OAuth" } else { "CREST" });
    }
    payload["request"] = request;
    lock(&shared.logs).push(OffsetDateTime::now_utc(), served.source, payload);
}
