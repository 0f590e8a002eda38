//! The tenant client (reqwest + rustls). Every request carries
//! `User-Agent: aic-mcp-server/<version>` and a fresh `X-ForgeRock-TransactionId`; redirects
//! are never followed; a token is attached only to requests for the session's tenant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde_json::Value;

use super::error::TenantError;
use crate::activity::{now_rfc3339, ActivityBus, ActivityEvent};
use crate::config::TenantUrl;
use crate::secret::AccessToken;
use crate::validate::encode_segment;

/// The exact User-Agent of every upstream request (admins filter audit logs on it).
pub const USER_AGENT: &str = concat!("aic-mcp-server/", env!("CARGO_PKG_VERSION"));

/// What `encodeURIComponent` leaves unencoded: ASCII alphanumerics and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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

/// A raw OAuth endpoint response (the auth layer interprets it).
#[derive(Debug, Clone)]
pub struct FormResponse {
    pub status: u16,
    pub reason: String,
    pub text: String,
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
        if !path_and_query.starts_with('/') || path_and_query.starts_with("//") {
            return Err(TenantError::ForeignHost(path_and_query.to_string()));
        }
        let raw = format!("{}{}", self.tenant.origin(), path_and_query);
        let url = reqwest::Url::parse(&raw).map_err(|_| TenantError::ForeignHost(raw.clone()))?;
        if !self.is_tenant_url(&url) {
            return Err(TenantError::ForeignHost(raw));
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
        let bearer =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                TenantError::Auth("the access token is not a valid header value".into())
            })?;
        headers.insert(reqwest::header::AUTHORIZATION, bearer);
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

    /// POSTs a form to an OAuth endpoint (no Authorization header).
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        call_id: Option<u64>,
    ) -> Result<FormResponse, TenantError> {
        let url = self.url_for(path)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let builder = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let (status, reason, text, tx, _, _) = self.execute(builder, "POST", path, call_id).await?;
        Ok(FormResponse {
            status,
            reason,
            text,
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
    /// transaction id, Retry-After and whether the body was declared empty.
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
            let resp = builder.send().await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let empty = resp.content_length() == Some(0);
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, headers, empty, text))
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
            Ok((status, headers, empty, text)) => {
                self.bus.publish(event(Some(status.as_u16()), None));
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                Ok((
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("").to_string(),
                    text,
                    header("x-forgerock-transactionid"),
                    header("retry-after"),
                    empty,
                ))
            }
            Err(e) => {
                let msg = error_chain(&e);
                self.bus.publish(event(None, Some(msg.clone())));
                Err(TenantError::Transport(msg))
            }
        }
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
