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
