//! CREST query plumbing shared by the collections: paging cookies, sorting, field selection
//! and the result envelope.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::filter::{compare_values, pointer_segments, resolve};
use crate::http::{Fail, Req};
use crate::patch;

/// Which page of a result set to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub(crate) page_size: Option<usize>,
    pub(crate) offset: usize,
}

fn encode_cookie(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cookie(cookie: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cookie).ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}

/// Reads `_pageSize` (absent or ≤ 0 = everything), `_pagedResultsCookie` and
/// `_pagedResultsOffset`.
pub(crate) fn paging(req: &Req, default_page_size: Option<usize>) -> Result<Paging, Fail> {
    let page_size = match req.q("_pageSize").filter(|s| !s.is_empty()) {
        None => default_page_size,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            Ok(_) => None,
            Err(_) => return Err(Fail::crest(400, format!("Invalid _pageSize '{s}'"))),
        },
    };
    let offset = match req.q("_pagedResultsCookie").filter(|s| !s.is_empty()) {
        Some(c) => decode_cookie(c)
            .ok_or_else(|| Fail::crest(400, "The _pagedResultsCookie is not valid"))?,
        None => match req.q("_pagedResultsOffset").filter(|s| !s.is_empty()) {
            Some(s) => s
                .parse()
                .map_err(|_| Fail::crest(400, format!("Invalid _pagedResultsOffset '{s}'")))?,
            None => 0,
        },
    };
    Ok(Paging { page_size, offset })
}

/// Sorts by `_sortKeys` (comma list, `-` descending, `+` or nothing ascending).
pub(crate) fn sort(items: &mut [Value], sort_keys: Option<&str>) {
    let Some(keys) = sort_keys else { return };
    let keys: Vec<(bool, Vec<String>)> = keys
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| match k.strip_prefix('-') {
            Some(rest) => (true, pointer_segments(rest)),
            None => (false, pointer_segments(k.strip_prefix('+').unwrap_or(k))),
        })
        .collect();
    items.sort_by(|a, b| {
        keys.iter()
            .map(|(desc, path)| {
                let ord = compare_values(
                    resolve(a, path).first().copied(),
                    resolve(b, path).first().copied(),
                );
                if *desc {
                    ord.reverse()
                } else {
                    ord
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// Keeps only the `_fields` asked for (`*` = all), always keeping `_id` and `_rev`.
pub(crate) fn select_fields(item: &Value, fields: Option<&str>) -> Value {
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return item.clone();
    };
    let list: Vec<&str> = fields.split(',').map(str::trim).collect();
    if list.contains(&"*") {
        return item.clone();
    }
    let mut out = Value::Object(Map::new());
    for key in ["_id", "_rev"] {
        if let Some(v) = item.get(key) {
            copy_into(&mut out, &[key.to_string()], v.clone());
        }
    }
    for f in list {
        let path = pointer_segments(f);
        if let Some(v) = patch::get(item, &path) {
            copy_into(&mut out, &path, v.clone());
        }
    }
    out
}

fn copy_into(out: &mut Value, path: &[String], v: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = out;
    for p in parents {
        let Value::Object(m) = cur else { return };
        cur = m
            .entry(p.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(m) = cur {
        m.insert(last.clone(), v);
    }
}

/// The CREST query envelope for one page of `all` (already filtered and sorted).
pub(crate) fn page(all: Vec<Value>, paging: Paging, policy: Option<&str>) -> Value {
    let total = all.len();
    let start = paging.offset.min(total);
    let end = match paging.page_size {
        Some(n) => start.saturating_add(n).min(total),
        None => total,
    };
    let result: Vec<Value> = all.into_iter().skip(start).take(end - start).collect();
    let cookie = match paging.page_size {
        Some(_) if end < total => Value::String(encode_cookie(end)),
        _ => Value::Null,
    };
    let (policy, total_results, remaining) = match policy {
        Some(p @ ("EXACT" | "ESTIMATE")) => (
            p,
            i64::try_from(total).unwrap_or(-1),
            i64::try_from(total - end).unwrap_or(-1),
        ),
        _ => ("NONE", -1, -1),
    };
    json!({
        "result": result,
        "resultCount": end - start,
        "pagedResultsCookie": cookie,
        "totalPagedResultsPolicy": policy,
        "totalPagedResults": total_results,
        "remainingPagedResults": remaining,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| json!({"_id": i.to_string(), "n": i}))
            .collect()
    }

    #[test]
    fn pages_walk_with_cookies() {
        let p = page(
            items(5),
            Paging {
                page_size: Some(2),
                offset: 0,
            },
            Some("EXACT"),
        );
        assert_eq!(p["resultCount"], 2);
        assert_eq!(p["totalPagedResults"], 5);
        assert_eq!(p["remainingPagedResults"], 3);
        let cookie = p["pagedResultsCookie"].as_str().unwrap();
        let next = decode_cookie(cookie).unwrap();
        let p = page(
            items(5),
            Paging {
                page_size: Some(2),
                offset: next,
            },
            None,
        );
        assert_eq!(p["result"][0]["n"], 2);
        assert_eq!(p["totalPagedResults"], -1);
        let p = page(
            items(5),
            Paging {
                page_size: Some(2),
                offset: 4,
            },
            None,
        );
        assert_eq!(p["resultCount"], 1);
        assert!(p["pagedResultsCookie"].is_null());
    }

    #[test]
    fn sort_and_fields() {
        let mut v = vec![
            json!({"_id": "1", "a": "b", "n": 1, "x": {"y": 1}}),
            json!({"_id": "2", "a": "a", "n": 2}),
            json!({"_id": "3", "a": "b", "n": 3}),
        ];
        sort(&mut v, Some("a,-n"));
        let ids: Vec<&str> = v.iter().filter_map(|i| i["_id"].as_str()).collect();
        assert_eq!(ids, ["2", "3", "1"]);
        let one = select_fields(&v[2], Some("/x/y,n"));
        assert_eq!(one, json!({"_id": "1", "x": {"y": 1}, "n": 1}));
    }
}
