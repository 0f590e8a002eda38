//! The parsed request handed to route handlers, and response builders.

use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

pub(crate) type Resp = Response;

/// A failed request, turned into an error response at the edge of a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fail {
    /// The AM/IDM shape `{"code","reason","message"}`.
    Crest { code: u16, message: String },
    /// The OAuth shape `{"error","error_description"}`.
    OAuth {
        code: u16,
        error: &'static str,
        description: String,
    },
}

impl Fail {
    pub(crate) fn crest(code: u16, message: impl Into<String>) -> Self {
        Fail::Crest {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn oauth(code: u16, error: &'static str, description: impl Into<String>) -> Self {
        Fail::OAuth {
            code,
            error,
            description: description.into(),
        }
    }
}

impl From<Fail> for Resp {
    fn from(f: Fail) -> Resp {
        match f {
            Fail::Crest { code, message } => crest_error(code, message),
            Fail::OAuth {
                code,
                error,
                description,
            } => oauth_error(code, error, &description),
        }
    }
}

/// What handlers return: a response, or a failure to render.
pub(crate) type Outcome = Result<Resp, Fail>;

/// Renders an [`Outcome`].
pub(crate) fn finish(outcome: Outcome) -> Resp {
    outcome.unwrap_or_else(Resp::from)
}

/// A fully read request.
pub(crate) struct Req {
    pub(crate) method: Method,
    /// Raw path as received (percent-encoding kept).
    pub(crate) raw_path: String,
    /// Path segments, percent-decoded, empty segments dropped.
    pub(crate) segments: Vec<String>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) tx_id: String,
}

impl Req {
    pub(crate) fn new(
        method: Method,
        raw_path: &str,
        raw_query: Option<&str>,
        headers: HeaderMap,
        body: Bytes,
        tx_id: String,
    ) -> Self {
        let segments = raw_path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let query = raw_query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Req {
            method,
            raw_path: raw_path.to_string(),
            segments,
            query,
            headers,
            body,
            tx_id,
        }
    }

    /// Path segments as `&str`, for slice patterns.
    pub(crate) fn segs(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    /// First value of a query parameter.
    pub(crate) fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as `application/x-www-form-urlencoded` pairs.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    pub(crate) fn is_form(&self) -> bool {
        self.header("content-type")
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false)
    }

    /// The body parsed as JSON, or a 400 CREST error.
    pub(crate) fn json_body(&self) -> Result<Value, Fail> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Fail::crest(400, format!("The request body is not valid JSON: {e}")))
    }
}

/// First value of a field in decoded form pairs.
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Requires `Accept-API-Version: resource=<resource>` and, unless `protocols` is empty, a
/// `protocol=` among them: the pairs in any order, case and spacing, as AM reads them.
/// Otherwise a 400 CREST error naming what was sent and what the endpoint takes.
pub(crate) fn require_api_version(
    req: &Req,
    resource: &str,
    protocols: &[&str],
) -> Result<(), Fail> {
    let got = req.header("accept-api-version").unwrap_or("");
    let pairs: Vec<(String, &str)> = got
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
        .collect();
    let resource_ok = pairs.iter().any(|(k, v)| k == "resource" && *v == resource);
    let protocol_ok = protocols.is_empty()
        || pairs
            .iter()
            .any(|(k, v)| k == "protocol" && protocols.contains(v));
    if resource_ok && protocol_ok {
        return Ok(());
    }
    let wanted = if protocols.is_empty() {
        format!("resource={resource}")
    } else {
        protocols
            .iter()
            .map(|p| format!("protocol={p},resource={resource}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let shown = if got.is_empty() { "none" } else { got };
    Err(Fail::crest(
        400,
        format!("Unsupported Accept-API-Version '{shown}': this endpoint requires {wanted}"),
    ))
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

pub(crate) fn reason(code: u16) -> &'static str {
    status_of(code).canonical_reason().unwrap_or("Unknown")
}

fn with_body(code: u16, content_type: &'static str, body: impl Into<Body>) -> Resp {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status_of(code);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(crate) fn json(code: u16, value: &Value) -> Resp {
    with_body(code, "application/json;charset=UTF-8", value.to_string())
}

/// The AM/IDM error shape `{"code":404,"reason":"Not Found","message":"..."}`.
pub(crate) fn crest_error(code: u16, message: impl Into<String>) -> Resp {
    json(
        code,
        &json!({"code": code, "reason": reason(code), "message": message.into()}),
    )
}

/// An OAuth error `{"error":"...","error_description":"..."}`.
pub(crate) fn oauth_error(code: u16, error: &str, description: &str) -> Resp {
    let mut resp = json(
        code,
        &json!({"error_description": description, "error": error}),
    );
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub(crate) fn html(code: u16, page: String) -> Resp {
    let mut resp = with_body(code, "text/html; charset=utf-8", page);
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub(crate) fn text(code: u16, content_type: &'static str, body: String) -> Resp {
    with_body(code, content_type, body)
}

pub(crate) fn redirect(location: &str) -> Resp {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::FOUND;
            resp.headers_mut().insert(LOCATION, v);
            resp.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(_) => crest_error(500, "Cannot build the redirect location"),
    }
}

pub(crate) fn not_found(req: &Req) -> Fail {
    Fail::crest(
        404,
        format!("Resource '{}' not found", req.segments.join("/")),
    )
}

pub(crate) fn method_not_allowed(req: &Req) -> Fail {
    Fail::crest(
        405,
        format!("Method {} is not supported on this resource", req.method),
    )
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_version(value: Option<&str>) -> Req {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(
                "accept-api-version",
                HeaderValue::from_str(v).expect("header"),
            );
        }
        Req::new(Method::GET, "/x", None, headers, Bytes::new(), "tx".into())
    }

    fn message(result: Result<(), Fail>) -> String {
        match result.expect_err("the version must be refused") {
            Fail::Crest { code, message } => {
                assert_eq!(code, 400);
                message
            }
            other => panic!("not a CREST error: {other:?}"),
        }
    }

    #[test]
    fn api_version_pairs_in_any_order_case_and_spacing() {
        for sent in [
            "protocol=2.1,resource=1.0",
            "resource=1.0, protocol=2.1",
            " Resource = 1.0 ,PROTOCOL=2.1",
        ] {
            assert_eq!(
                require_api_version(&with_version(Some(sent)), "1.0", &["2.1"]),
                Ok(()),
                "{sent}"
            );
        }
        let any = with_version(Some("resource=2.0"));
        assert_eq!(require_api_version(&any, "2.0", &[]), Ok(()));
        let either = with_version(Some("protocol=1.0,resource=1.0"));
        assert_eq!(require_api_version(&either, "1.0", &["1.0", "2.0"]), Ok(()));
    }

    #[test]
    fn api_version_mismatch_names_what_was_sent_and_wanted() {
        let missing = message(require_api_version(&with_version(None), "2.0", &[]));
        assert_eq!(
            missing,
            "Unsupported Accept-API-Version 'none': this endpoint requires resource=2.0"
        );
        let wrong = with_version(Some("protocol=2.0,resource=1.0"));
        let got = message(require_api_version(&wrong, "1.0", &["2.1"]));
        assert_eq!(
            got,
            "Unsupported Accept-API-Version 'protocol=2.0,resource=1.0': this endpoint requires protocol=2.1,resource=1.0"
        );
        let no_protocol = with_version(Some("resource=1.0"));
        let got = message(require_api_version(&no_protocol, "1.0", &["1.0", "2.0"]));
        assert!(
            got.ends_with("requires protocol=1.0,resource=1.0 or protocol=2.0,resource=1.0"),
            "{got}"
        );
        let wrong_resource = with_version(Some("protocol=2.1,resource=2.0"));
        assert!(require_api_version(&wrong_resource, "1.0", &["2.1"]).is_err());
    }
}
