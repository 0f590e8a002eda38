//! The HTTP service: records each request, applies latency and faults, checks bearer tokens
//! for resource families, routes, and stamps the transaction id on the response.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;
use axum::BoxError;
use serde_json::Value;
use tower_service::Service;

use crate::faults::FaultKind;
use crate::http::{self, crest_error, Req, Resp};
use crate::logs::{self, Served};
use crate::record::RecordedRequest;
use crate::state::{lock, Shared};
use crate::tokens::Refusal;
use crate::{idm, oauth};

const TX_HEADER: &str = "x-forgerock-transactionid";
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Returned instead of a response to make hyper close the connection (the `Drop` fault).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub(crate) struct Dropped;

/// Which scopes an exchanged token needs for a request (method, decoded path segments).
type ScopeRule = fn(&Method, &[String]) -> Vec<&'static str>;

/// A family of endpoints sharing a path prefix, an auth rule and an access log.
struct Family {
    prefix: &'static [&'static str],
    /// Scopes an exchanged token needs; `None`: the family is public (OAuth).
    scopes: Option<ScopeRule>,
    handler: fn(&Shared, &Req) -> Resp,
    log_source: Option<&'static str>,
}

fn idm_scopes(_: &Method, _: &[String]) -> Vec<&'static str> {
    vec!["fr:idm:*"]
}

fn monitoring_scopes(_: &Method, _: &[String]) -> Vec<&'static str> {
    vec!["fr:idc:monitoring:*"]
}

fn am_scopes(_: &Method, _: &[String]) -> Vec<&'static str> {
    vec!["fr:am:*"]
}

fn environment_scopes(m: &Method, segs: &[String]) -> Vec<&'static str> {
    match segs.get(1).map(String::as_str) {
        Some("aiagent") => vec!["fr:am:*", "fr:idm:*"],
        _ if *m == Method::GET => vec!["fr:idc:esv:read"],
        _ => vec!["fr:idc:esv:update"],
    }
}

/// Not simulated yet: answers 404 after the auth check, like an unknown resource.
fn not_simulated(_: &Shared, req: &Req) -> Resp {
    http::not_found(req).into()
}

/// `/environment/…`: ESVs, and the AI-agent enablement of feature management.
fn environment(shared: &Shared, req: &Req) -> Resp {
    match req.segments.get(1).map(String::as_str) {
        Some("aiagent") => crate::features::handle(shared, req),
        _ => crate::esv::handle(shared, req),
    }
}

/// `/am/json/…`: the realm OAuth2 provider probe of feature management (long realm form)
/// the OAuth2 client agents, journeys (trees, nodes, realm authentication config) and scripts.
fn am_json(shared: &Shared, req: &Req) -> Resp {
    let segs = req.segs();
    match segs.get(2..).unwrap_or_default() {
        ["realms", ..] => crate::features::handle(shared, req),
        [_, "realm-config", "agents", "OAuth2Client", ..] => crate::oidc::handle(shared, req),
        [_, "realm-config", "authentication", ..] => crate::am_trees::handle(shared, req),
        [_, "scripts", ..] | [_, "contexts", ..] => crate::am_scripts::handle(shared, req),
        _ => not_simulated(shared, req),
    }
}

/// Routing table; add a family here to simulate more of the tenant.
const FAMILIES: &[Family] = &[
    Family {
        prefix: &["am", "oauth2"],
        scopes: None,
        handler: oauth::handle,
        log_source: Some("am-access"),
    },
    Family {
        prefix: &["openidm"],
        scopes: Some(idm_scopes),
        handler: idm::handle,
        log_source: Some("idm-access"),
    },
    Family {
        prefix: &["monitoring"],
        scopes: Some(monitoring_scopes),
        handler: logs::handle,
        log_source: None,
    },
    Family {
        prefix: &["environment"],
        scopes: Some(environment_scopes),
        handler: environment,
        log_source: None,
    },
    Family {
        prefix: &["am", "json"],
        scopes: Some(am_scopes),
        handler: am_json,
        log_source: Some("am-access"),
    },
];

fn dispatch(shared: &Shared, req: &Req, started: Instant) -> Resp {
    let Some(family) = FAMILIES.iter().find(|f| {
        f.prefix.len() <= req.segments.len()
            && f.prefix.iter().zip(&req.segments).all(|(a, b)| *a == b)
    }) else {
        return http::not_found(req).into();
    };
    let mut user = None;
    let resp = match family.scopes {
        None => (family.handler)(shared, req),
        Some(scopes) => {
            let needed = scopes(&req.method, &req.segments);
            let auth = lock(&shared.auth).authorize_resource(req.header("authorization"), &needed);
            match auth {
                Ok(grant) => {
                    let resp = if is_info_login(req) {
                        info_login(&grant.user)
                    } else {
                        (family.handler)(shared, req)
                    };
                    user = Some(grant.user);
                    resp
                }
                Err(Refusal::Unauthorized) => {
                    let mut r = crest_error(401, "Access Denied");
                    r.headers_mut().insert(
                        axum::http::header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"AIC\""),
                    );
                    r
                }
                Err(Refusal::Forbidden) => crest_error(403, "Access Denied"),
            }
        }
    };
    if let Some(source) = family.log_source {
        logs::record_access(
            shared,
            req,
            &Served {
                source,
                status: resp.status().as_u16(),
                user: user.as_deref(),
                elapsed_ms: started.elapsed().as_millis(),
            },
        );
    }
    resp
}

/// `GET /openidm/info/login`: who the bearer token belongs to (IDM's own shape).
fn is_info_login(req: &Req) -> bool {
    req.method == axum::http::Method::GET && req.segments == ["openidm", "info", "login"]
}

fn info_login(user: &str) -> Resp {
    http::json(
        200,
        &serde_json::json!({
            "_id": "login",
            "authenticationId": user,
            "authorization": {
                "id": user,
                "component": "internal/user",
                "roles": ["internal/role/openidm-admin", "internal/role/openidm-authorized"],
                "ipAddress": "127.0.0.1",
            },
        }),
    )
}

/// The response a fault gives, or `None` when the request is served normally after it
/// (a delay).
async fn fault_response(kind: FaultKind) -> Option<Result<Resp, Dropped>> {
    Some(match kind {
        FaultKind::Drop => Err(Dropped),
        FaultKind::Stall => {
            // Hyper drops this future when the client closes the connection.
            std::future::pending::<()>().await;
            Err(Dropped)
        }
        FaultKind::Delay { ms } => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            return None;
        }
        FaultKind::Status { status, body } => {
            let is_json = serde_json::from_str::<Value>(&body).is_ok();
            let ct = if is_json {
                "application/json;charset=UTF-8"
            } else {
                "text/plain; charset=utf-8"
            };
            let mut r = http::text(status, ct, body);
            if r.status().as_u16() != status {
                r = crest_error(500, format!("Invalid fault status {status}"));
            }
            Ok(r)
        }
        FaultKind::TooManyRequests { retry_after_secs } => {
            let mut r = crest_error(429, "Too Many Requests");
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(r)
        }
    })
}

async fn serve(shared: Arc<Shared>, request: Request<Body>) -> Result<Response, Dropped> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await;
    let tx_id = parts
        .headers
        .get(TX_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let req = Req::new(
        parts.method.clone(),
        parts.uri.path(),
        parts.uri.query(),
        parts.headers.clone(),
        body.as_ref().map(Bytes::clone).unwrap_or_default(),
        tx_id.clone(),
    );
    let seq = shared.recorder.begin(RecordedRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&req.body).into_owned(),
        status: 0,
        transaction_id: None,
    });

    let latency = *lock(&shared.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let faulted = match shared.faults.take(req.method.as_str(), &req.raw_path) {
        Some(kind) => fault_response(kind).await,
        None => None,
    };
    let outcome = match faulted {
        Some(outcome) => outcome,
        None if body.is_err() => Ok(crest_error(400, "The request body could not be read")),
        None => Ok(dispatch(&shared, &req, started)),
    };
    let mut resp = match outcome {
        Ok(r) => r,
        Err(dropped) => {
            tracing::debug!(path = %req.raw_path, "dropping the connection (fault)");
            shared.recorder.finish(seq, 0, None);
            return Err(dropped);
        }
    };
    match HeaderValue::from_str(&tx_id) {
        Ok(v) => {
            resp.headers_mut().insert(TX_HEADER, v);
        }
        Err(_) => tracing::warn!("transaction id is not a valid header value"),
    }
    let status = resp.status().as_u16();
    tracing::debug!(method = %req.method, path = %req.raw_path, status, "served");
    shared.recorder.finish(seq, status, Some(tx_id));
    Ok(resp)
}

/// Per-connection service.
#[derive(Clone)]
pub(crate) struct SimService {
    shared: Arc<Shared>,
}

impl<B> Service<Request<B>> for SimService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Dropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Dropped>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(serve(shared, req.map(Body::new)))
    }
}

/// Makes one [`SimService`] per accepted connection.
#[derive(Clone)]
pub(crate) struct MakeSim {
    shared: Arc<Shared>,
}

impl MakeSim {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        MakeSim { shared }
    }
}

impl<T> Service<T> for MakeSim {
    type Response = SimService;
    type Error = Infallible;
    type Future = std::future::Ready<Result<SimService, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _target: T) -> Self::Future {
        std::future::ready(Ok(SimService {
            shared: self.shared.clone(),
        }))
    }
}
