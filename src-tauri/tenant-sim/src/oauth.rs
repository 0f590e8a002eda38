//! `/am/oauth2/*`: authorisation (PKCE), token (code, refresh, device, exchange) and device
//! endpoints for the two public clients.

use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::{json, Map, Value};

use crate::http::{self, field, oauth_error, Fail, Req, Resp};
use crate::pages::{self, SignInForm};
use crate::state::{lock, Shared};
use crate::tokens::{pkce_matches, AuthCode, AuthState, DeviceStatus, Grant};

pub(crate) const CLIENT_ID: &str = "AICMCPClient";
pub(crate) const EXCHANGE_CLIENT_ID: &str = "AICMCPExchangeClient";
/// Scopes the login client may request; an empty request grants the first five.
const CLIENT_SCOPES: &[&str] = &[
    "fr:idm:*",
    "fr:idc:monitoring:*",
    "fr:idc:esv:update",
    "fr:idc:esv:read",
    "fr:am:*",
    "openid",
    "profile",
];
const DEFAULT_SCOPES: usize = 5;
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const AUTHORIZE_PATH: &str = "/am/oauth2/authorize";
const DEVICE_USER_PATH: &str = "/am/oauth2/device/user";
const INVALID_CREDENTIALS: &str = "Invalid username or password";

pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    let segs = req.segs();
    match (&req.method, segs.get(2..).unwrap_or_default()) {
        (&Method::GET, ["authorize"]) => authorize_get(shared, req),
        (&Method::POST, ["authorize"]) => authorize_post(shared, req),
        (&Method::POST, ["access_token"]) => token(shared, req),
        (&Method::POST, ["device", "code"]) => device_code(shared, req),
        (&Method::GET, ["device", "user"]) => device_user_get(shared, req),
        (&Method::POST, ["device", "user"]) => device_user_post(shared, req),
        (_, ["authorize" | "access_token"] | ["device", "code" | "user"]) => {
            http::method_not_allowed(req).into()
        }
        _ => http::not_found(req).into(),
    }
}

fn first_admin(shared: &Shared) -> String {
    shared
        .cfg
        .admins
        .first()
        .map(|(u, _)| u.clone())
        .unwrap_or_else(|| "admin".to_string())
}

/// Splits a scope parameter; empty means the client's default scopes. Unknown scopes → `Err`.
fn parse_scopes(scope: Option<&str>) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.unwrap_or("").split_whitespace() {
        if !CLIENT_SCOPES.contains(&s) {
            return Err(format!("Unknown/invalid scope(s): [{s}]"));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if scopes.is_empty() {
        scopes = CLIENT_SCOPES[..DEFAULT_SCOPES]
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    Ok(scopes)
}

/// `http://localhost:<port>` or `http://127.0.0.1:<port>`, optionally with a trailing `/`.
fn valid_redirect_uri(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let Some((host, port)) = authority.rsplit_once(':') else {
        return false;
    };
    (host == "localhost" || host == "127.0.0.1")
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

struct AuthorizeParams {
    scopes: Vec<String>,
    redirect_uri: String,
    code_challenge: String,
    state: Option<String>,
    /// The raw parameters, echoed into the sign-in form.
    raw: Vec<(String, String)>,
}

const AUTHORIZE_FIELDS: &[&str] = &[
    "response_type",
    "client_id",
    "scope",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "state",
];

fn parse_authorize(pairs: &[(String, String)]) -> Result<AuthorizeParams, String> {
    if field(pairs, "client_id") != Some(CLIENT_ID) {
        return Err("Invalid client: the client_id is missing or unknown.".into());
    }
    let redirect_uri = field(pairs, "redirect_uri").unwrap_or("");
    if !valid_redirect_uri(redirect_uri) {
        return Err("The redirect_uri is missing or not registered for this client.".into());
    }
    if field(pairs, "response_type") != Some("code") {
        return Err("Unsupported response_type: only 'code' is allowed.".into());
    }
    let code_challenge = field(pairs, "code_challenge").unwrap_or("");
    if code_challenge.is_empty() {
        return Err("A code_challenge is required for this client (PKCE).".into());
    }
    if field(pairs, "code_challenge_method") != Some("S256") {
        return Err("The code_challenge_method must be S256.".into());
    }
    let scopes = parse_scopes(field(pairs, "scope"))?;
    let raw = AUTHORIZE_FIELDS
        .iter()
        .filter_map(|k| field(pairs, k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    Ok(AuthorizeParams {
        scopes,
        redirect_uri: redirect_uri.to_string(),
        code_challenge: code_challenge.to_string(),
        state: field(pairs, "state").map(str::to_string),
        raw,
    })
}

fn redirect_back(p: &AuthorizeParams, params: &[(&str, &str)]) -> Resp {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    if let Some(state) = &p.state {
        ser.append_pair("state", state);
    }
    let sep = if p.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    http::redirect(&format!("{}{sep}{}", p.redirect_uri, ser.finish()))
}

fn grant_code(shared: &Shared, p: &AuthorizeParams, user: String) -> Resp {
    let code = lock(&shared.auth).issue_code(AuthCode {
        client_id: CLIENT_ID.to_string(),
        redirect_uri: p.redirect_uri.clone(),
        challenge: p.code_challenge.clone(),
        grant: Grant {
            user,
            scopes: p.scopes.clone(),
        },
        issued: Instant::now(),
    });
    redirect_back(p, &[("code", &code)])
}

fn authorize_form(p: &AuthorizeParams, error: Option<&str>) -> Resp {
    let form = SignInForm {
        action: AUTHORIZE_PATH,
        hidden: p
            .raw
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        error,
        subtitle: Some(format!(
            "{CLIENT_ID} is requesting access: {}",
            p.scopes.join(" ")
        )),
        ask_user_code: false,
    };
    http::html(200, pages::sign_in(&form))
}

fn authorize_get(shared: &Shared, req: &Req) -> Resp {
    let p = match parse_authorize(&req.query) {
        Ok(p) => p,
        Err(msg) => return http::html(400, pages::error(&msg)),
    };
    if shared.cfg.auto_approve {
        return grant_code(shared, &p, first_admin(shared));
    }
    authorize_form(&p, None)
}

fn authorize_post(shared: &Shared, req: &Req) -> Resp {
    let pairs = req.form();
    let p = match parse_authorize(&pairs) {
        Ok(p) => p,
        Err(msg) => return http::html(400, pages::error(&msg)),
    };
    if field(&pairs, "decision") == Some("deny") {
        return redirect_back(
            &p,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "Resource Owner did not authorize the request",
                ),
            ],
        );
    }
    let user = field(&pairs, "username").unwrap_or("");
    let password = field(&pairs, "password").unwrap_or("");
    if !shared.check_credentials(user, password) {
        return authorize_form(&p, Some(INVALID_CREDENTIALS));
    }
    grant_code(shared, &p, user.to_string())
}

fn token(shared: &Shared, req: &Req) -> Resp {
    if !req.is_form() {
        return oauth_error(
            400,
            "invalid_request",
            "The request must be application/x-www-form-urlencoded",
        );
    }
    let f = req.form();
    match field(&f, "grant_type") {
        None | Some("") => oauth_error(400, "invalid_request", "Grant type is not set"),
        Some("authorization_code") => code_grant(shared, &f),
        Some("refresh_token") => refresh_grant(shared, &f),
        Some(DEVICE_GRANT) => device_grant(shared, &f),
        Some(EXCHANGE_GRANT) => exchange_grant(shared, &f),
        Some(other) => oauth_error(
            400,
            "unsupported_grant_type",
            &format!("Grant type is not supported: {other}"),
        ),
    }
}

/// Issues a primary token (plus a refresh token if enabled) for a grant.
fn token_response(shared: &Shared, auth: &mut AuthState, grant: Grant) -> Resp {
    let lifetime = shared.cfg.token_lifetime_secs;
    let mut body = Map::new();
    body.insert(
        "access_token".into(),
        json!(auth.issue_primary(grant.clone(), Duration::from_secs(lifetime))),
    );
    if shared.cfg.issue_refresh_tokens {
        body.insert(
            "refresh_token".into(),
            json!(auth.issue_refresh(grant.clone())),
        );
    }
    body.insert("scope".into(), json!(grant.scopes.join(" ")));
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("expires_in".into(), json!(lifetime));
    no_store(http::json(200, &Value::Object(body)))
}

fn no_store(mut resp: Resp) -> Resp {
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

fn require_client(f: &[(String, String)], expected: &str) -> Result<(), Fail> {
    match field(f, "client_id") {
        Some(c) if c == expected => Ok(()),
        _ => Err(Fail::oauth(
            400,
            "invalid_client",
            "Client authentication failed",
        )),
    }
}

fn code_grant(shared: &Shared, f: &[(String, String)]) -> Resp {
    let (Some(code), Some(redirect_uri), Some(verifier)) = (
        field(f, "code"),
        field(f, "redirect_uri"),
        field(f, "code_verifier"),
    ) else {
        return oauth_error(
            400,
            "invalid_request",
            "code, redirect_uri and code_verifier are required",
        );
    };
    if let Err(fail) = require_client(f, CLIENT_ID) {
        return fail.into();
    }
    let mut auth = lock(&shared.auth);
    let Some(c) = auth.take_code(code) else {
        return oauth_error(
            400,
            "invalid_grant",
            "The provided access grant is invalid, expired, or revoked.",
        );
    };
    if c.client_id != CLIENT_ID || c.redirect_uri != redirect_uri {
        return oauth_error(
            400,
            "invalid_grant",
            "The redirect_uri does not match the one used in the authorization request",
        );
    }
    if !pkce_matches(verifier, &c.challenge) {
        return oauth_error(400, "invalid_grant", "PKCE verification failed");
    }
    token_response(shared, &mut auth, c.grant)
}

fn refresh_grant(shared: &Shared, f: &[(String, String)]) -> Resp {
    let Some(refresh) = field(f, "refresh_token") else {
        return oauth_error(400, "invalid_request", "refresh_token is required");
    };
    if let Err(fail) = require_client(f, CLIENT_ID) {
        return fail.into();
    }
    let mut auth = lock(&shared.auth);
    let Some(mut grant) = auth.take_refresh(refresh) else {
        return oauth_error(400, "invalid_grant", "grant is invalid");
    };
    if let Some(scope) = field(f, "scope").filter(|s| !s.trim().is_empty()) {
        let wanted: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
        if !wanted.iter().all(|s| grant.scopes.contains(s)) {
            return oauth_error(
                400,
                "invalid_scope",
                "Scope not granted to this refresh token",
            );
        }
        grant.scopes = wanted;
    }
    token_response(shared, &mut auth, grant)
}

fn device_grant(shared: &Shared, f: &[(String, String)]) -> Resp {
    let Some(device_code) = field(f, "device_code") else {
        return oauth_error(400, "invalid_request", "device_code is required");
    };
    if let Err(fail) = require_client(f, CLIENT_ID) {
        return fail.into();
    }
    let auto_approve = shared.cfg.auto_approve;
    let interval = Duration::from_secs(shared.cfg.device_interval_secs);
    let admin = first_admin(shared);
    let mut auth = lock(&shared.auth);
    let now = Instant::now();
    let Some(d) = auth.devices.get_mut(device_code) else {
        return oauth_error(400, "invalid_grant", "The device code is invalid");
    };
    if d.client_id != CLIENT_ID {
        return oauth_error(
            400,
            "invalid_grant",
            "The device code was issued to another client",
        );
    }
    if now >= d.expires_at {
        return oauth_error(400, "expired_token", "The device code has expired");
    }
    let too_fast = d
        .last_poll
        .is_some_and(|prev| now.duration_since(prev) < interval);
    d.last_poll = Some(now);
    if too_fast {
        return oauth_error(400, "slow_down", "The polling interval has not elapsed");
    }
    if let Some(challenge) = &d.challenge {
        if !field(f, "code_verifier").is_some_and(|v| pkce_matches(v, challenge)) {
            return oauth_error(400, "invalid_grant", "PKCE verification failed");
        }
    }
    match d.status.clone() {
        DeviceStatus::Pending => {
            if auto_approve {
                d.status = DeviceStatus::Approved(admin);
            }
            oauth_error(
                400,
                "authorization_pending",
                "The user has not yet completed authorization",
            )
        }
        DeviceStatus::Denied => oauth_error(400, "access_denied", "The user denied the request"),
        DeviceStatus::Approved(user) => {
            let grant = Grant {
                user,
                scopes: d.scopes.clone(),
            };
            auth.devices.remove(device_code);
            token_response(shared, &mut auth, grant)
        }
    }
}

fn exchange_grant(shared: &Shared, f: &[(String, String)]) -> Resp {
    let Some(subject) = field(f, "subject_token").filter(|s| !s.is_empty()) else {
        return oauth_error(400, "invalid_request", "subject_token is required");
    };
    let mut auth = lock(&shared.auth);
    let Some(primary) = auth.live_primary(subject) else {
        return oauth_error(
            401,
            "invalid_token",
            "The subject token is invalid or has expired",
        );
    };
    if field(f, "subject_token_type") != Some(ACCESS_TOKEN_TYPE) {
        return oauth_error(400, "invalid_request", "Unsupported subject_token_type");
    }
    if field(f, "requested_token_type").is_some_and(|t| t != ACCESS_TOKEN_TYPE) {
        return oauth_error(400, "invalid_request", "Unsupported requested_token_type");
    }
    if let Err(fail) = require_client(f, EXCHANGE_CLIENT_ID) {
        return fail.into();
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in field(f, "scope").unwrap_or("").split_whitespace() {
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if scopes.is_empty() {
        return oauth_error(
            400,
            "invalid_scope",
            "A scope is required for token exchange",
        );
    }
    if let Some(missing) = scopes.iter().find(|s| !primary.scopes.contains(s)) {
        return oauth_error(
            400,
            "invalid_scope",
            &format!("Scope '{missing}' was not granted to the subject token"),
        );
    }
    let lifetime = shared.cfg.token_lifetime_secs;
    let scope = scopes.join(" ");
    let token = auth.issue_exchanged(
        Grant {
            user: primary.user,
            scopes,
        },
        Duration::from_secs(lifetime),
    );
    no_store(http::json(
        200,
        &json!({
            "access_token": token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": scope,
        }),
    ))
}

fn device_code(shared: &Shared, req: &Req) -> Resp {
    if !req.is_form() {
        return oauth_error(
            400,
            "invalid_request",
            "The request must be application/x-www-form-urlencoded",
        );
    }
    let f = req.form();
    if let Err(fail) = require_client(&f, CLIENT_ID) {
        return fail.into();
    }
    let scopes = match parse_scopes(field(&f, "scope")) {
        Ok(s) => s,
        Err(msg) => return oauth_error(400, "invalid_scope", &msg),
    };
    let challenge = field(&f, "code_challenge").filter(|c| !c.is_empty());
    if challenge.is_some() && field(&f, "code_challenge_method") != Some("S256") {
        return oauth_error(
            400,
            "invalid_request",
            "The code_challenge_method must be S256",
        );
    }
    let cfg = &shared.cfg;
    let (device, user_code) = lock(&shared.auth).start_device(
        CLIENT_ID,
        scopes,
        challenge.map(str::to_string),
        Duration::from_secs(cfg.device_expires_secs),
    );
    let verification_uri = format!("{}{DEVICE_USER_PATH}", shared.base_url);
    let complete = format!(
        "{verification_uri}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user_code", &user_code)
            .finish()
    );
    no_store(http::json(
        200,
        &json!({
            "device_code": device,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": complete,
            "expires_in": cfg.device_expires_secs,
            "interval": cfg.device_interval_secs,
        }),
    ))
}

fn device_form(user_code: Option<&str>, error: Option<&str>) -> Resp {
    let form = SignInForm {
        action: DEVICE_USER_PATH,
        hidden: user_code
            .map(|c| vec![("user_code", c)])
            .unwrap_or_default(),
        error,
        subtitle: user_code.map(|c| format!("Confirm that your device shows the code {c}")),
        ask_user_code: user_code.is_none(),
    };
    http::html(200, pages::sign_in(&form))
}

fn device_user_get(shared: &Shared, req: &Req) -> Resp {
    match req.q("user_code").filter(|c| !c.is_empty()) {
        None => device_form(None, None),
        Some(code) => {
            if lock(&shared.auth).find_device(code).is_some() {
                device_form(Some(code), None)
            } else {
                device_form(None, Some("The code is invalid or has expired"))
            }
        }
    }
}

fn device_user_post(shared: &Shared, req: &Req) -> Resp {
    let f = req.form();
    let code = field(&f, "user_code").unwrap_or("");
    let pending = {
        let auth = lock(&shared.auth);
        auth.find_device(code).and_then(|k| {
            auth.devices
                .get(&k)
                .map(|d| d.status == DeviceStatus::Pending)
        })
    };
    match pending {
        None => return device_form(None, Some("The code is invalid or has expired")),
        Some(false) => return http::html(400, pages::error("This code has already been used.")),
        Some(true) => {}
    }
    if field(&f, "decision") == Some("deny") {
        lock(&shared.auth).decide_device(code, None);
        return http::html(
            200,
            pages::result(
                "Access Denied",
                "You denied access. You can close this window.",
            ),
        );
    }
    let user = field(&f, "username").unwrap_or("");
    if !shared.check_credentials(user, field(&f, "password").unwrap_or("")) {
        return device_form(Some(code), Some(INVALID_CREDENTIALS));
    }
    lock(&shared.auth).decide_device(code, Some(user.to_string()));
    http::html(
        200,
        pages::result(
            "Success",
            "Your device is now signed in. You can close this window.",
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris() {
        assert!(valid_redirect_uri("http://localhost:3000"));
        assert!(valid_redirect_uri("http://127.0.0.1:53682/"));
        assert!(!valid_redirect_uri("http://localhost"));
        assert!(!valid_redirect_uri("http://localhost:3000/cb"));
        assert!(!valid_redirect_uri("https://localhost:3000"));
        assert!(!valid_redirect_uri("http://evil.example:3000"));
        assert!(!valid_redirect_uri("http://localhost:0"));
        assert!(!valid_redirect_uri("http://localhost:3000?x=1"));
        assert!(!valid_redirect_uri("http://user@localhost:3000"));
    }

    #[test]
    fn scopes_default_and_reject_unknown() {
        assert_eq!(parse_scopes(None).map(|s| s.len()), Ok(5));
        assert_eq!(
            parse_scopes(Some("fr:am:* fr:am:*")),
            Ok(vec!["fr:am:*".to_string()])
        );
        assert!(parse_scopes(Some("fr:idm:* admin")).is_err());
    }
}
