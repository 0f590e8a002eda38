//! `/openidm/*`: managed-object configuration, managed objects and the schema service.

use std::collections::HashMap;

use axum::http::header::ETAG;
use axum::http::{HeaderValue, Method};
use serde_json::{Map, Value};

use crate::crest;
use crate::filter;
use crate::http::{self, Fail, Outcome, Req, Resp};
use crate::patch::{self, PatchError};
use crate::seed;
use crate::state::{lock, Shared};

pub(crate) struct IdmState {
    config: Value,
    /// Objects per managed type, keyed by `_id` in insertion order.
    objects: HashMap<String, Map<String, Value>>,
}

impl IdmState {
    pub(crate) fn seeded() -> Self {
        let objects = seed::objects()
            .into_iter()
            .map(|(ty, items)| {
                let map = items
                    .into_iter()
                    .filter_map(|o| Some((o.get("_id")?.as_str()?.to_string(), o)))
                    .collect();
                (ty.to_string(), map)
            })
            .collect();
        IdmState {
            config: seed::managed_config(),
            objects,
        }
    }

    fn type_index(&self, ty: &str) -> Option<usize> {
        self.config
            .get("objects")?
            .as_array()?
            .iter()
            .position(|o| o.get("name").and_then(Value::as_str) == Some(ty))
    }

    fn definition(&self, ty: &str) -> Option<&Value> {
        let i = self.type_index(ty)?;
        self.config.get("objects")?.get(i)
    }

    fn required(&self, ty: &str) -> Vec<String> {
        self.definition(ty)
            .and_then(|d| d.pointer("/schema/required"))
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Replaces the config and drops objects of types it no longer defines.
    fn set_config(&mut self, config: Value) {
        self.config = config;
        let known: Vec<String> = self
            .config
            .get("objects")
            .and_then(Value::as_array)
            .map(|objs| {
                objs.iter()
                    .filter_map(|o| o.get("name")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.objects.retain(|ty, _| known.contains(ty));
    }
}

pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    let segs = req.segs();
    match segs.get(1..).unwrap_or_default() {
        ["ui", "theme", ..] | ["config", "ui", "themerealm", ..] => {
            return crate::themes::handle(shared, req)
        }
        ["feature", ..] => return crate::features::handle(shared, req),
        _ => {}
    }
    http::finish(route(shared, req))
}

fn route(shared: &Shared, req: &Req) -> Outcome {
    let segs = req.segs();
    let m = &req.method;
    match segs.get(1..).unwrap_or_default() {
        ["config", "managed"] => match *m {
            Method::GET => Ok(http::json(200, &lock(&shared.idm).config)),
            Method::PATCH => patch_config(shared, req),
            Method::PUT => put_config(shared, req),
            _ => Err(http::method_not_allowed(req)),
        },
        ["managed", ty] => match *m {
            Method::GET => query(shared, req, ty),
            Method::POST => action(shared, req, ty),
            _ => Err(http::method_not_allowed(req)),
        },
        ["managed", ty, id] => match *m {
            Method::GET => read(shared, req, ty, id),
            Method::PATCH => patch_object(shared, req, ty, id),
            Method::PUT => put_object(shared, req, ty, id),
            Method::DELETE => delete(shared, req, ty, id),
            _ => Err(http::method_not_allowed(req)),
        },
        ["schema", "managed", ty, "properties", prop] => schema_property(shared, req, ty, prop),
        _ => Err(http::not_found(req)),
    }
}

fn unknown_type(ty: &str) -> Fail {
    Fail::crest(404, format!("Managed object type '{ty}' not found"))
}

fn object_not_found(ty: &str, id: &str) -> Fail {
    Fail::crest(404, format!("Object {id} not found in managed/{ty}"))
}

fn precondition_failed(msg: impl Into<String>) -> Fail {
    Fail::crest(412, msg)
}

/// The `If-Match` value without quotes or weak prefix.
fn if_match(req: &Req) -> Option<String> {
    req.header("if-match").map(|v| {
        let v = v.trim();
        let v = v.strip_prefix("W/").unwrap_or(v);
        v.trim_matches('"').to_string()
    })
}

/// A JSON response for an object, with its revision as `ETag`.
fn object_response(code: u16, obj: &Value, shown: &Value) -> Resp {
    let mut resp = http::json(code, shown);
    if let Some(rev) = obj.get("_rev").and_then(Value::as_str) {
        if let Ok(v) = HeaderValue::from_str(&format!("\"{rev}\"")) {
            resp.headers_mut().insert(ETAG, v);
        }
    }
    resp
}

impl From<PatchError> for Fail {
    fn from(e: PatchError) -> Fail {
        match e {
            PatchError::BadRequest(m) => Fail::crest(400, m),
            PatchError::TestFailed(m) => Fail::crest(412, m),
        }
    }
}

/// Checks the managed config shape: `objects` is an array of objects with unique string names.
fn validate_config(config: &Value) -> Result<(), Fail> {
    let invalid = |m: &str| Fail::crest(400, m);
    let objs = config
        .get("objects")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("The managed config must have an 'objects' array"))?;
    let mut names = Vec::new();
    for o in objs {
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid("Every managed object definition needs a non-empty 'name'"))?;
        if names.contains(&name) {
            return Err(invalid(&format!("Duplicate managed object name '{name}'")));
        }
        names.push(name);
    }
    Ok(())
}

fn patch_config(shared: &Shared, req: &Req) -> Outcome {
    if req.header("if-match").is_none() {
        return Err(precondition_failed(
            "An If-Match header is required to patch the managed config",
        ));
    }
    let ops = req.json_body()?;
    let mut idm = lock(&shared.idm);
    let updated = patch::apply(&idm.config, &ops)?;
    validate_config(&updated)?;
    idm.set_config(updated);
    Ok(http::json(200, &idm.config))
}

fn put_config(shared: &Shared, req: &Req) -> Outcome {
    let mut config = req.json_body()?;
    validate_config(&config)?;
    if let Value::Object(m) = &mut config {
        m.insert("_id".into(), Value::String("managed".into()));
    }
    let mut idm = lock(&shared.idm);
    idm.set_config(config);
    Ok(http::json(200, &idm.config))
}

fn query(shared: &Shared, req: &Req, ty: &str) -> Outcome {
    let idm = lock(&shared.idm);
    idm.type_index(ty).ok_or_else(|| unknown_type(ty))?;
    let filter_text = req.q("_queryFilter").ok_or_else(|| {
        Fail::crest(
            400,
            "Query request must specify _queryFilter, _queryId or _queryExpression",
        )
    })?;
    let filter = filter::parse(filter_text)
        .map_err(|e| Fail::crest(400, format!("Invalid _queryFilter '{filter_text}': {e}")))?;
    let paging = crest::paging(req, None)?;
    let mut hits: Vec<Value> = idm
        .objects
        .get(ty)
        .map(|objs| {
            objs.values()
                .filter(|o| filter.matches(o))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    crest::sort(&mut hits, req.q("_sortKeys"));
    let fields = req.q("_fields");
    let hits = hits
        .iter()
        .map(|o| crest::select_fields(o, fields))
        .collect();
    Ok(http::json(
        200,
        &crest::page(hits, paging, req.q("_totalPagedResultsPolicy")),
    ))
}

/// Fails when a required schema property is missing or null.
fn check_required(idm: &IdmState, ty: &str, obj: &Value) -> Result<(), Fail> {
    let missing: Vec<String> = idm
        .required(ty)
        .into_iter()
        .filter(|f| obj.get(f.as_str()).is_none_or(Value::is_null))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Fail::crest(
            400,
            format!("Failed policy validation: missing required properties {missing:?}"),
        ))
    }
}

fn action(shared: &Shared, req: &Req, ty: &str) -> Outcome {
    match req.q("_action") {
        Some("create") => create(shared, req, ty, None),
        Some(other) => Err(Fail::crest(
            400,
            format!("Action '{other}' is not supported on managed/{ty}"),
        )),
        None => Err(Fail::crest(400, "An _action parameter is required")),
    }
}

fn create(shared: &Shared, req: &Req, ty: &str, id: Option<&str>) -> Outcome {
    let Value::Object(body) = req.json_body()? else {
        return Err(Fail::crest(400, "The object must be a JSON object"));
    };
    let mut idm = lock(&shared.idm);
    idm.type_index(ty).ok_or_else(|| unknown_type(ty))?;
    let id = id
        .map(str::to_string)
        .or_else(|| body.get("_id").and_then(Value::as_str).map(str::to_string))
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut obj = Map::new();
    obj.insert("_id".into(), Value::String(id.clone()));
    obj.insert("_rev".into(), Value::String("1".into()));
    obj.extend(body.into_iter().filter(|(k, _)| k != "_id" && k != "_rev"));
    let obj = Value::Object(obj);
    check_required(&idm, ty, &obj)?;
    let objects = idm.objects.entry(ty.to_string()).or_default();
    if objects.contains_key(&id) {
        return Err(precondition_failed(format!(
            "Object {id} already exists in managed/{ty}"
        )));
    }
    objects.insert(id, obj.clone());
    Ok(object_response(201, &obj, &obj))
}

fn current_object(idm: &IdmState, ty: &str, id: &str) -> Result<Value, Fail> {
    idm.type_index(ty).ok_or_else(|| unknown_type(ty))?;
    idm.objects
        .get(ty)
        .and_then(|o| o.get(id))
        .cloned()
        .ok_or_else(|| object_not_found(ty, id))
}

fn read(shared: &Shared, req: &Req, ty: &str, id: &str) -> Outcome {
    let obj = current_object(&lock(&shared.idm), ty, id)?;
    let shown = crest::select_fields(&obj, req.q("_fields"));
    Ok(object_response(200, &obj, &shown))
}

fn next_rev(obj: &Value) -> String {
    let n = obj
        .get("_rev")
        .and_then(Value::as_str)
        .and_then(|r| r.parse::<u64>().ok())
        .unwrap_or(0);
    (n + 1).to_string()
}

/// Checks `If-Match` against the current revision (`*` matches anything).
fn check_revision(req: &Req, current: &Value) -> Result<(), Fail> {
    let rev = current.get("_rev").and_then(Value::as_str).unwrap_or("");
    match if_match(req) {
        Some(m) if m == "*" || m == rev => Ok(()),
        Some(m) => Err(precondition_failed(format!(
            "The resource's revision {rev} does not match the expected revision {m}"
        ))),
        None => Err(precondition_failed(
            "An If-Match header with the current _rev is required",
        )),
    }
}

/// Stores `updated` as the next revision of `ty/id` (unchanged objects keep their revision).
fn store_revision(
    idm: &mut IdmState,
    ty: &str,
    id: &str,
    current: &Value,
    updated: Value,
) -> Outcome {
    let Value::Object(mut m) = updated else {
        return Err(Fail::crest(400, "The object must be a JSON object"));
    };
    m.insert("_id".into(), Value::String(id.to_string()));
    m.insert(
        "_rev".into(),
        current.get("_rev").cloned().unwrap_or(Value::Null),
    );
    let mut updated = Value::Object(m);
    if updated == *current {
        return Ok(object_response(200, current, current));
    }
    check_required(idm, ty, &updated)?;
    if let Value::Object(m) = &mut updated {
        m.insert("_rev".into(), Value::String(next_rev(current)));
    }
    if let Some(objs) = idm.objects.get_mut(ty) {
        objs.insert(id.to_string(), updated.clone());
    }
    Ok(object_response(200, &updated, &updated))
}

fn patch_object(shared: &Shared, req: &Req, ty: &str, id: &str) -> Outcome {
    let ops = req.json_body()?;
    let mut idm = lock(&shared.idm);
    let current = current_object(&idm, ty, id)?;
    check_revision(req, &current)?;
    let updated = patch::apply(&current, &ops)?;
    store_revision(&mut idm, ty, id, &current, updated)
}

fn put_object(shared: &Shared, req: &Req, ty: &str, id: &str) -> Outcome {
    let exists = lock(&shared.idm)
        .objects
        .get(ty)
        .is_some_and(|o| o.contains_key(id));
    if !exists {
        return create(shared, req, ty, Some(id));
    }
    let body = req.json_body()?;
    let mut idm = lock(&shared.idm);
    let current = current_object(&idm, ty, id)?;
    if req.header("if-match").is_some() {
        check_revision(req, &current)?;
    }
    store_revision(&mut idm, ty, id, &current, body)
}

fn delete(shared: &Shared, req: &Req, ty: &str, id: &str) -> Outcome {
    let mut idm = lock(&shared.idm);
    let current = current_object(&idm, ty, id)?;
    if req.header("if-match").is_some() {
        check_revision(req, &current)?;
    }
    if let Some(objs) = idm.objects.get_mut(ty) {
        objs.shift_remove(id);
    }
    Ok(object_response(200, &current, &current))
}

/// The schema service needs `Accept-API-Version: resource=2.0` and `If-Match` on writes.
fn check_schema_headers(req: &Req) -> Result<(), Fail> {
    let v2 = req.header("accept-api-version").is_some_and(|v| {
        v.split(',')
            .any(|part| part.trim().eq_ignore_ascii_case("resource=2.0"))
    });
    if !v2 {
        return Err(Fail::crest(
            400,
            "The schema service requires Accept-API-Version: resource=2.0",
        ));
    }
    if req.header("if-match").is_none() {
        return Err(Fail::crest(
            400,
            "The schema service requires an If-Match header",
        ));
    }
    Ok(())
}

fn schema_property(shared: &Shared, req: &Req, ty: &str, prop: &str) -> Outcome {
    let body = match req.method {
        Method::GET => None,
        Method::PUT => {
            check_schema_headers(req)?;
            match req.json_body()? {
                v @ Value::Object(_) => Some(v),
                _ => {
                    return Err(Fail::crest(
                        400,
                        "The property definition must be a JSON object",
                    ))
                }
            }
        }
        Method::DELETE => {
            check_schema_headers(req)?;
            None
        }
        _ => return Err(http::method_not_allowed(req)),
    };
    let mut idm = lock(&shared.idm);
    let i = idm.type_index(ty).ok_or_else(|| unknown_type(ty))?;
    let mut config = idm.config.clone();
    let schema = config
        .get_mut("objects")
        .and_then(|o| o.get_mut(i))
        .and_then(Value::as_object_mut)
        .map(|d| {
            d.entry("schema")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Fail::crest(500, format!("The definition of managed/{ty} is malformed")))?;
    let missing = || Fail::crest(404, format!("Property '{prop}' not found on managed/{ty}"));
    let answer = match (&req.method, body) {
        (&Method::PUT, Some(def)) => {
            let props = schema
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(p) = props {
                p.insert(prop.to_string(), def.clone());
            }
            if let Some(Value::Array(order)) = schema.get_mut("order") {
                if !order.iter().any(|o| o.as_str() == Some(prop)) {
                    order.push(Value::String(prop.to_string()));
                }
            }
            def
        }
        (&Method::DELETE, _) => {
            let removed = schema
                .get_mut("properties")
                .and_then(Value::as_object_mut)
                .and_then(|p| p.shift_remove(prop))
                .ok_or_else(missing)?;
            for list in ["order", "required"] {
                if let Some(Value::Array(items)) = schema.get_mut(list) {
                    items.retain(|o| o.as_str() != Some(prop));
                }
            }
            removed
        }
        _ => {
            let def = schema
                .get("properties")
                .and_then(|p| p.get(prop))
                .ok_or_else(missing)?;
            return Ok(http::json(200, def));
        }
    };
    idm.set_config(config);
    Ok(http::json(200, &answer))
}
