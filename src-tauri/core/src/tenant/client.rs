//! The tenant client (reqwest + rustls). Every request carries
//! `User-Agent: aic-mcp-server/<version>` and a fresh `X-ForgeRock-TransactionId`; redirects
//! are never followed; a token is attached only to requests for the session's tenant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use percent_encoding::utf8_percent_encode;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde_json::Value;

use super::error::TenantError;
use crate::activity::{now_rfc3339, ActivityBus, ActivityEvent};
use crate::config::TenantUrl;
use crate::secret::AccessToken;
use crate::text::{body_head, cap, ERROR_BODY_LIMIT};
use crate::validate::{encode_segment, URI_COMPONENT};

/// The exact User-Agent of every upstream request (admins filter audit logs on it).
pub const USER_AGENT: &str = concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION"));

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The most read from one response body. The tools' largest answers (a page of 1,000 users
/// with every field, a realm's whole journey list with node maps, a managed-object schema)
/// are a few MiB; 32 MiB leaves ample room for them while a runaway answer (a query without
/// a page size on a large tenant, a misbehaving proxy) cannot grow the process without bound.
pub const RESPONSE_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// One resource request, built by a tool.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    method: Method,
    path: String,
    query: Vec<String>,
    api_version: Option<&'static str>,
    body: Option<Value>,
    json_content_type: bool,
    if_match: Option<String>,
    if_none_match: bool,
}

impl ApiRequest {
    fn new(method: Method, path: &str) -> Self {
        Self {
            method,
            path: path.to_string(),
            query: Vec::new(),
            api_version: None,
            body: None,
            json_content_type: false,
            if_match: None,
            if_none_match: false,
        }
    }
    pub fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn put(path: &str) -> Self {
        Self::new(Method::PUT, path)
    }
    pub fn patch(path: &str) -> Self {
        Self::new(Method::PATCH, path)
    }
    pub fn delete(path: &str) -> Self {
        Self::new(Method::DELETE, path)
    }
    /// Appends one percent-encoded path segment.
    pub fn seg(mut self, segment: &str) -> Self {
        self.path.push('/');
        self.path.push_str(&encode_segment(segment));
        self
    }
    /// Appends a fixed path part (no encoding; for constants only).
    pub fn lit(mut self, part: &str) -> Self {
        self.path.push('/');
        self.path.push_str(part.trim_start_matches('/'));
        self
    }
    /// A query parameter, form-encoded (space → `+`).
    pub fn query(mut self, key: &str, value: &str) -> Self {
        let pair = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(key, value)
            .finish();
        self.query.push(pair);
        self
    }
    /// A query parameter, component-encoded like JavaScript's `encodeURIComponent`
    /// (space → `%20`; only `A-Z a-z 0-9 - _ . ! ~ * ' ( )` stay as they are).
    pub fn query_component(mut self, key: &str, value: &str) -> Self {
        let enc = |s: &str| utf8_percent_encode(s, URI_COMPONENT).to_string();
        self.query.push(format!("{}={}", enc(key), enc(value)));
        self
    }
    /// A query parameter sent literally (`_action=create`): constants only.
    pub fn query_literal(mut self, pair: &str) -> Self {
        self.query.push(pair.to_string());
        self
    }
    /// `Accept-API-Version`.
    pub fn api_version(mut self, v: &'static str) -> Self {
        self.api_version = Some(v);
        self
    }
    /// A JSON body (sets `Content-Type: application/json`).
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self.json_content_type = true;
        self
    }
    /// `Content-Type: application/json` even without a body (AM header sets).
    pub fn json_content_type(mut self) -> Self {
        self.json_content_type = true;
        self
    }
    pub fn if_match(mut self, rev: &str) -> Self {
        self.if_match = Some(rev.to_string());
        self
    }
    pub fn if_none_match_any(mut self) -> Self {
        self.if_none_match = true;
        self
    }
    /// Path and query as sent.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query.join("&"))
        }
    }
    pub fn method(&self) -> &Method {
        &self.method
    }
}

/// A successful resource response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    /// `null` for 204 or an empty body with `Content-Length: 0`.
    pub body: Value,
    pub transaction_id: Option<String>,
}

/// Sends requests to one tenant, and only to it.
#[derive(Debug, Clone)]
pub struct TenantClient {
    http: reqwest::Client,
    tenant: TenantUrl,
    bus: Arc<ActivityBus>,
    sanitize: bool,
}

impl TenantClient {
    /// `extra_ca_pem`: certificates trusted in addition to the system roots (`AIC_CA_FILE`).
    pub fn new(
        tenant: TenantUrl,
        extra_ca_pem: Option<&[u8]>,
        bus: Arc<ActivityBus>,
        sanitize: bool,
    ) -> Result<Self, TenantError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT);
        if tenant.is_loopback() {
            // A loopback tenant (the simulator) is never reached through a proxy.
            builder = builder.no_proxy();
        }
        if let Some(pem) = extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| TenantError::Transport(format!("AIC_CA_FILE: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| TenantError::Transport(error_chain(&e)))?;
        Ok(Self {
            http,
            tenant,
            bus,
            sanitize,
        })
    }

    pub fn tenant(&self) -> &TenantUrl {
        &self.tenant
    }

    pub fn bus(&self) -> &Arc<ActivityBus> {
        &self.bus
    }

    /// Builds the absolute URL for a path on the tenant, refusing anything that would
    /// leave it (a path must start with a single `/`).
    fn url_for(&self, path_and_query: &str) -> Result<reqwest::Url, TenantError> {
        let foreign = |raw: &str| TenantError::ForeignHost(cap(raw, ERROR_BODY_LIMIT).into_owned());
        if !path_and_query.starts_with('/') || path_and_query.starts_with("//") {
            return Err(foreign(path_and_query));
        }
        let raw = format!("{}{}", self.tenant.origin(), path_and_query);
        let url = reqwest::Url::parse(&raw).map_err(|_| foreign(&raw))?;
        if !self.is_tenant_url(&url) {
            return Err(foreign(&raw));
        }
        Ok(url)
    }

    /// True when `url` points at the session's tenant (scheme, host and port).
    pub fn is_tenant_url(&self, url: &reqwest::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let scheme_ok = match self.tenant.scheme() {
            crate::config::Scheme::Https => url.scheme() == "https",
            crate::config::Scheme::Http => url.scheme() == "http",
        };
        let default_port = if url.scheme() == "https" { 443 } else { 80 };
        scheme_ok
            && host.eq_ignore_ascii_case(self.tenant.host())
            && url.port_or_known_default() == Some(self.tenant.port().unwrap_or(default_port))
    }

    /// Sends a resource request with a scoped token; non-2xx is an error (§5.1).
    pub async fn send(
        &self,
        req: &ApiRequest,
        token: &AccessToken,
        call_id: Option<u64>,
    ) -> Result<ApiResponse, TenantError> {
        let path_and_query = req.path_and_query();
        let url = self.url_for(&path_and_query)?;
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, bearer_header(token)?);
        if let Some(v) = req.api_version {
            headers.insert("Accept-API-Version", HeaderValue::from_static(v));
        }
        if req.json_content_type {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if let Some(rev) = &req.if_match {
            let v = HeaderValue::from_str(rev).map_err(|_| {
                TenantError::Transport(format!("the revision '{rev}' is not a valid header value"))
            })?;
            headers.insert(reqwest::header::IF_MATCH, v);
        }
        if req.if_none_match {
            headers.insert(
                reqwest::header::IF_NONE_MATCH,
                HeaderValue::from_static("*"),
            );
        }
        let mut builder = self.http.request(req.method.clone(), url).headers(headers);
        if let Some(body) = &req.body {
            let bytes = serde_json::to_vec(body)
                .map_err(|e| TenantError::Transport(format!("could not encode the body: {e}")))?;
            builder = builder.body(bytes);
        }
        let (status, reason, text, tx, retry_after, empty) = self
            .execute(builder, req.method.as_str(), &path_and_query, call_id)
            .await?;
        if !(200..300).contains(&status) {
            return Err(TenantError::Status {
                status,
                reason,
                body: text,
                sanitized: self.sanitize,
                retry_after,
                transaction_id: tx,
            });
        }
        let body = if status == 204 || empty {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| TenantError::InvalidJson {
                detail: e.to_string(),
                transaction_id: tx.clone(),
            })?
        };
        Ok(ApiResponse {
            status,
            body,
            transaction_id: tx,
        })
    }

    /// Sends a request that the OAuth layer built (the `oauth2` crate's token and device
    /// requests, and our RFC 8693 exchange) like every other request: User-Agent, a fresh
    /// transaction id, an `Upstream` event, no redirects, and only to this tenant. The
    /// answer comes back whatever its status, with the body as text and the tenant's
    /// transaction id header.
    pub async fn oauth_request(
        &self,
        request: oauth2::HttpRequest,
        call_id: Option<u64>,
    ) -> Result<oauth2::HttpResponse, TenantError> {
        let (parts, body) = request.into_parts();
        let target = parts.uri.to_string();
        let url = reqwest::Url::parse(&target)
            .ok()
            .filter(|u| self.is_tenant_url(u))
            .ok_or_else(|| TenantError::ForeignHost(target.clone()))?;
        let path_and_query = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let builder = self
            .http
            .request(parts.method.clone(), url)
            .headers(parts.headers)
            .body(body);
        let (status, _, text, tx, _, _) = self
            .execute(builder, parts.method.as_str(), &path_and_query, call_id)
            .await?;
        let mut response = oauth2::http::Response::builder().status(status);
        if let Some(tx) = tx {
            response = response.header("x-forgerock-transactionid", tx);
        }
        response
            .body(text.into_bytes())
            .map_err(|e| TenantError::Transport(format!("unreadable response: {e}")))
    }

    /// Sends, times and publishes one request. Returns status, reason, body text,
    /// transaction id, Retry-After and whether the body was declared empty. A 2xx body is
    /// read whole up to [`RESPONSE_BODY_LIMIT`] (over it: [`TenantError::TooLarge`]); any
    /// other body is cut to [`ERROR_BODY_LIMIT`] as it is read.
    async fn execute(
        &self,
        builder: reqwest::RequestBuilder,
        method: &str,
        path_and_query: &str,
        call_id: Option<u64>,
    ) -> Result<(u16, String, String, Option<String>, Option<String>, bool), TenantError> {
        let transaction_id = uuid::Uuid::new_v4().to_string();
        let builder = builder.header("X-ForgeRock-TransactionId", &transaction_id);
        let started = Instant::now();
        let result = async {
            let mut resp = builder.send().await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let empty = resp.content_length() == Some(0);
            let body = read_body(&mut resp, status.is_success()).await?;
            Ok::<_, reqwest::Error>((status, headers, empty, body))
        }
        .await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let event = |status: Option<u16>, error: Option<String>| ActivityEvent::Upstream {
            call_id,
            at: now_rfc3339(),
            method: method.to_string(),
            path: path_and_query.to_string(),
            status,
            latency_ms,
            user_agent: USER_AGENT.to_string(),
            transaction_id: transaction_id.clone(),
            error,
        };
        match result {
            Ok((status, headers, empty, body)) => {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let tx = header("x-forgerock-transactionid");
                let text = match body {
                    Ok(text) => text,
                    Err(TooLarge) => {
                        let e = TenantError::TooLarge {
                            limit: RESPONSE_BODY_LIMIT,
                            transaction_id: tx,
                        };
                        let note = format!(
                            "the response is larger than {}; it was not read further",
                            crate::text::size(RESPONSE_BODY_LIMIT)
                        );
                        self.bus.publish(event(Some(status.as_u16()), Some(note)));
                        return Err(e);
                    }
                };
                self.bus.publish(event(Some(status.as_u16()), None));
                Ok((
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("").to_string(),
                    text,
                    tx,
                    header("retry-after"),
                    empty,
                ))
            }
            Err(e) => {
                let msg = cap(&error_chain(&e), ERROR_BODY_LIMIT).into_owned();
                self.bus.publish(event(None, Some(msg.clone())));
                Err(TenantError::Transport(msg))
            }
        }
    }
}

/// `Authorization: Bearer <token>`, marked sensitive (never indexed by HTTP/2 header
/// compression, shown as `Sensitive` by `Debug`).
fn bearer_header(token: &AccessToken) -> Result<HeaderValue, TenantError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| TenantError::Auth("the access token is not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// A body passed [`RESPONSE_BODY_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TooLarge;

/// Reads a response body chunk by chunk. `success`: the whole body as text, or
/// [`TooLarge`] as soon as the declared length or the bytes read pass
/// [`RESPONSE_BODY_LIMIT`] (reading stops there). Otherwise (an error answer): its first
/// [`ERROR_BODY_LIMIT`] bytes with `… N bytes more`; the rest is read and counted but not
/// kept (so the connection can be reused), and reading stops at the limit all the same.
async fn read_body(
    resp: &mut reqwest::Response,
    success: bool,
) -> Result<Result<String, TooLarge>, reqwest::Error> {
    if success {
        let mut sink = BodySink::new(RESPONSE_BODY_LIMIT, RESPONSE_BODY_LIMIT);
        if sink.declare(resp.content_length()).is_err() {
            return Ok(Err(TooLarge));
        }
        while let Some(chunk) = resp.chunk().await? {
            if sink.push(&chunk).is_err() {
                return Ok(Err(TooLarge));
            }
        }
        return Ok(Ok(sink.into_text()));
    }
    // Read before the body: the length reported later is what remains of it.
    let declared = resp.content_length().and_then(|n| usize::try_from(n).ok());
    // A few bytes beyond the error limit, so the cut can fall on a whole character.
    let mut sink = BodySink::new(ERROR_BODY_LIMIT + 3, RESPONSE_BODY_LIMIT);
    let mut complete = true;
    while let Some(chunk) = resp.chunk().await? {
        if sink.push(&chunk).is_err() {
            complete = false;
            break;
        }
    }
    // Where reading stopped early, a declared length still gives the exact size.
    let (total, exact) = match declared {
        Some(n) if !complete => (n, true),
        _ => (sink.seen, complete),
    };
    Ok(Ok(body_head(&sink.kept, total, exact, ERROR_BODY_LIMIT)))
}

/// Collects a body fed in chunks: keeps at most `keep` bytes and refuses to go past
/// `limit` bytes in all, so at most `keep` bytes plus the chunk in hand are ever held.
#[derive(Debug)]
struct BodySink {
    kept: Vec<u8>,
    /// Bytes received so far (kept or not).
    seen: usize,
    keep: usize,
    limit: usize,
}

impl BodySink {
    fn new(keep: usize, limit: usize) -> Self {
        Self {
            kept: Vec::new(),
            seen: 0,
            keep: keep.min(limit),
            limit,
        }
    }

    /// The declared `Content-Length`: refused at once when over the limit; otherwise the
    /// buffer is sized for what will be kept.
    fn declare(&mut self, length: Option<u64>) -> Result<(), TooLarge> {
        let Some(length) = length else { return Ok(()) };
        match usize::try_from(length) {
            Ok(n) if n <= self.limit => {
                self.kept.reserve(n.min(self.keep));
                Ok(())
            }
            _ => Err(TooLarge),
        }
    }

    /// One chunk: `Err` (and nothing more is kept) when it takes the body past the limit.
    fn push(&mut self, chunk: &[u8]) -> Result<(), TooLarge> {
        if chunk.len() > self.limit - self.seen {
            return Err(TooLarge);
        }
        self.seen += chunk.len();
        let room = self.keep - self.kept.len();
        self.kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        Ok(())
    }

    /// What was kept, as text (invalid UTF-8 replaced, as `Response::text` does).
    fn into_text(self) -> String {
        String::from_utf8(self.kept)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// The error and its sources on one line, so "connection refused" or a TLS failure is
/// visible rather than only "error sending request".
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> TenantClient {
        let tenant = TenantUrl::parse("https://tenant.example.com").expect("url");
        TenantClient::new(tenant, None, ActivityBus::new(8), false).expect("client")
    }

    #[test]
    fn component_queries_encode_like_encode_uri_component() {
        let r = ApiRequest::get("/openidm/ui/theme/")
            .query_component("realm", "alpha")
            .query_component("_queryFilter", r#"_id eq "a b" or name eq "x\"y&z=1""#)
            .query_component("_fields", "name,isDefault")
            .query_component("k", "!~*'()-_.+/?#%");
        assert_eq!(
            r.path_and_query(),
            "/openidm/ui/theme/?realm=alpha\
             &_queryFilter=_id%20eq%20%22a%20b%22%20or%20name%20eq%20%22x%5C%22y%26z%3D1%22\
             &_fields=name%2CisDefault\
             &k=!~*'()-_.%2B%2F%3F%23%25"
        );
    }

    #[test]
    fn user_agent_is_the_reference_form() {
        assert!(USER_AGENT.starts_with("aic-mcp-server/"));
        assert_eq!(
            USER_AGENT,
            format!("aic-mcp-server/{}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn requests_never_leave_the_tenant() {
        let c = client();
        for bad in ["//evil.example.com/x", "evil", "@evil.example.com/"] {
            assert!(
                matches!(c.url_for(bad), Err(TenantError::ForeignHost(_))),
                "{bad}"
            );
        }
        let url = c.url_for("/openidm/managed/alpha_user").expect("ok");
        assert_eq!(
            url.as_str(),
            "https://tenant.example.com/openidm/managed/alpha_user"
        );
        assert!(!c.is_tenant_url(&reqwest::Url::parse("https://other.example.com/").expect("u")));
        assert!(!c.is_tenant_url(&reqwest::Url::parse("http://tenant.example.com/").expect("u")));
        assert!(
            !c.is_tenant_url(&reqwest::Url::parse("https://tenant.example.com:8443/").expect("u"))
        );
    }

    #[test]
    fn the_bearer_header_is_sensitive() {
        let h = bearer_header(&AccessToken::new("tok")).expect("header");
        assert!(h.is_sensitive());
        assert_eq!(format!("{h:?}"), "Sensitive");
    }

    #[test]
    fn body_sink_never_holds_more_than_the_limit() {
        let mut sink = BodySink::new(10_000, 10_000);
        let chunk = [b'x'; 1_000];
        for _ in 0..10 {
            sink.push(&chunk).expect("within the limit");
        }
        assert_eq!(sink.push(&chunk), Err(TooLarge));
        assert_eq!(sink.push(b"y"), Err(TooLarge));
        assert_eq!(sink.kept.len(), 10_000);
        assert_eq!(sink.seen, 10_000);
        // A declared length over the limit is refused before anything is read.
        assert_eq!(BodySink::new(10, 10).declare(Some(11)), Err(TooLarge));
        assert_eq!(BodySink::new(10, 10).declare(Some(10)), Ok(()));
    }

    #[test]
    fn body_sink_keeps_only_the_head_of_an_error_body() {
        let mut sink = BodySink::new(100, 10_000);
        for _ in 0..50 {
            sink.push(&[b'e'; 64]).expect("within the limit");
        }
        assert_eq!(sink.kept.len(), 100);
        assert_eq!(sink.seen, 3_200);
    }

    /// Serves `app` on 127.0.0.1:0 for the rest of the test; returns a client for it.
    async fn local_tenant(app: axum::Router) -> TenantClient {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let tenant = TenantUrl::parse(&format!("http://{addr}")).expect("url");
        TenantClient::new(tenant, None, ActivityBus::new(64), false).expect("client")
    }

    fn upstream_errors(bus: &ActivityBus) -> Vec<(Option<u16>, Option<String>)> {
        bus.recent()
            .into_iter()
            .filter_map(|e| match e {
                ActivityEvent::Upstream { status, error, .. } => Some((status, error)),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_limit_with_a_clear_error() {
        use axum::body::{Body, Bytes};
        static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
        let app = axum::Router::new().route(
            "/endless",
            axum::routing::get(|| async {
                // Chunked, no length: only counting what was read can stop it.
                let chunks = futures::stream::repeat_with(|| {
                    Ok::<_, std::convert::Infallible>(Bytes::from_static(&CHUNK))
                });
                Body::from_stream(chunks)
            }),
        );
        let c = local_tenant(app).await;
        let err = c
            .send(
                &ApiRequest::get("/endless"),
                &AccessToken::new("t"),
                Some(1),
            )
            .await
            .expect_err("over the limit");
        assert!(
            matches!(err, TenantError::TooLarge { limit, .. } if limit == RESPONSE_BODY_LIMIT),
            "{err:?}"
        );
        assert!(err.to_string().contains("larger than 32 MiB"), "{err}");
        let events = upstream_errors(c.bus());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, Some(200));
        assert!(
            events[0].1.as_deref().unwrap_or("").contains("32 MiB"),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn an_html_error_page_is_cut_to_the_error_limit() {
        let page = format!("<html>{}</html>", "x".repeat(1024 * 1024));
        let len = page.len();
        let app = axum::Router::new().route(
            "/broken",
            axum::routing::get(move || {
                let page = page.clone();
                async move { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, page) }
            }),
        );
        let c = local_tenant(app).await;
        let err = c
            .send(&ApiRequest::get("/broken"), &AccessToken::new("t"), None)
            .await
            .expect_err("500");
        let TenantError::Status { status, body, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*status, 500);
        assert!(body.starts_with("<html>xxx"), "{body}");
        let more = format!("… {} bytes more", len - ERROR_BODY_LIMIT);
        assert!(body.ends_with(&more), "{}", &body[body.len() - 40..]);
        assert_eq!(body.len(), ERROR_BODY_LIMIT + more.len());
        assert!(err.to_string().len() < ERROR_BODY_LIMIT + 100);
    }

    #[tokio::test]
    async fn transport_errors_are_bounded() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let tenant = TenantUrl::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        let c = TenantClient::new(tenant, None, ActivityBus::new(8), false).expect("client");
        let long = "a".repeat(100_000);
        let err = c
            .send(
                &ApiRequest::get("/x").seg(&long),
                &AccessToken::new("t"),
                None,
            )
            .await
            .expect_err("nothing listens");
        let TenantError::Transport(msg) = &err else {
            panic!("{err:?}");
        };
        assert!(msg.len() < ERROR_BODY_LIMIT + 40, "{} bytes", msg.len());
        assert!(msg.contains("bytes more"), "{msg}");
        let events = upstream_errors(c.bus());
        assert_eq!(events.len(), 1);
        assert!(events[0].1.as_deref().unwrap_or("").len() < ERROR_BODY_LIMIT + 40);
    }

    #[test]
    fn request_builder_encodes_segments_and_queries() {
        let r = ApiRequest::get("/openidm/managed")
            .seg("alpha user")
            .seg("a?b#c")
            .query("_queryFilter", "userName eq \"x&y\"")
            .query_literal("_action=create");
        assert_eq!(
            r.path_and_query(),
            "/openidm/managed/alpha%20user/a%3Fb%23c?_queryFilter=userName+eq+%22x%26y%22&_action=create"
        );
    }
}
