//! The activity bus: every tool call and every upstream request it makes is published as
//! an [`ActivityEvent`], kept in a ring buffer bounded by count and by bytes for late
//! subscribers (the window, which reads it a page at a time), and appended to a
//! daily-rolling JSONL audit file. No token, code, verifier or secret value is ever part of
//! an event: arguments are masked before they are published. No event is unbounded either:
//! [`ActivityBus::publish`] cuts every text and the arguments to the limits below, with
//! `… N bytes more` saying how much was left out.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::text::{body_head, cap_in_place};

/// Longest string inside a tool's arguments kept in an event. 4 KiB shows the start of any
/// description, filter or HTML fragment an admin reads in the detail pane; the tenant keeps
/// the object itself.
pub const ARGUMENT_TEXT_LIMIT: usize = 4 * 1024;
/// Largest arguments of one event, as JSON, after each string was cut. 16 KiB is several
/// screens of pretty-printed JSON in the detail pane; larger arguments (thousands of array
/// items) are kept as the start of their JSON text.
pub const ARGUMENTS_LIMIT: usize = 16 * 1024;
/// Longest message, error or detail text of an event. 8 KiB holds an upstream error body
/// (at most [`crate::text::ERROR_BODY_LIMIT`], 4 KiB) with the tool's prefix and the
/// `Transaction ID:` suffix, so a tenant's error is never cut twice.
pub const MESSAGE_LIMIT: usize = 8 * 1024;
/// Longest upstream path (with its query) kept. 8 KiB is the longest request line common
/// HTTP servers accept by default; the tenant refuses a longer one anyway.
pub const PATH_LIMIT: usize = 8 * 1024;
/// Longest name (tool, client, tenant, object key in arguments). Real ones are a few dozen
/// bytes; a name an MCP client made up may be anything.
pub const NAME_LIMIT: usize = 256;
/// Bytes of events (as JSON) the ring keeps by default. An ordinary event is 0.3–1.5 KiB,
/// so 10,000 of them (the app's count limit) take 3–15 MiB and the count stays the limit
/// that applies; a flood of the largest events (about 17 KiB each, every limit above
/// reached) is held to some 1,000 of them instead of 170 MiB.
pub const RING_BYTE_LIMIT: usize = 16 * 1024 * 1024;
/// Most events in one [`ActivityPage`]: a few screens more than the window shows at once.
pub const PAGE_MAX_EVENTS: usize = 2_000;
/// Most bytes (as JSON) in one [`ActivityPage`], which always holds at least one event:
/// 2 MiB is one IPC message the window parses in a few milliseconds.
pub const PAGE_BYTE_LIMIT: usize = 2 * 1024 * 1024;

/// Outcome of one tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tool ran and succeeded.
    Ok,
    /// The tool ran and failed (upstream error, auth failure, business refusal).
    Error,
    /// The arguments were rejected; nothing was sent upstream.
    Rejected,
    /// The client cancelled the call (`notifications/cancelled`) or the server stopped
    /// before it finished: its requests in flight were dropped and no later one was sent.
    Cancelled,
    /// Refused by the mode or a tool switch; nothing was sent.
    Refused,
    /// The admin declined the change (or did not answer in time, or could not be asked);
    /// nothing was sent.
    Denied,
}

/// One thing that happened, as shown in the live log and written to the audit file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityEvent {
    /// A tool call began.
    ToolStarted {
        call_id: u64,
        at: String,
        tool: String,
        /// The MCP client's name from `initialize` (Claude Desktop, Cursor, …).
        client: Option<String>,
        /// The tenant profile the call's session is bound to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
        /// Arguments with secret values masked.
        arguments: Value,
    },
    /// A tool call ended.
    ToolFinished {
        call_id: u64,
        at: String,
        tool: String,
        outcome: Outcome,
        duration_ms: u64,
        /// The error text for failed or rejected calls.
        message: Option<String>,
    },
    /// One HTTP request to the tenant (resource or OAuth endpoint).
    Upstream {
        call_id: Option<u64>,
        at: String,
        method: String,
        /// Path and query; never a body.
        path: String,
        status: Option<u16>,
        latency_ms: u64,
        user_agent: String,
        transaction_id: String,
        /// Transport error when no status was received.
        error: Option<String>,
    },
    /// A step of a call's guardrail path: waiting for the admin, approved, denied, timed
    /// out, refused by the mode or a switch.
    Guard {
        call_id: u64,
        at: String,
        tool: String,
        step: GuardStep,
        /// Who answered: the window, an earlier grant, or the assistant's confirmation
        /// prompt (elicitation).
        by: Option<crate::approval::ApprovedBy>,
        /// The approval card's id while waiting.
        approval_id: Option<u64>,
        detail: Option<String>,
    },
    /// A change of login state.
    Auth {
        at: String,
        action: AuthAction,
        tenant: String,
        detail: Option<String>,
    },
}

/// The steps of a call's guardrail path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardStep {
    Waiting,
    Approved,
    Denied,
    TimedOut,
    Refused,
}

/// Login state changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthAction {
    LoginStarted,
    LoginSucceeded,
    LoginFailed,
    TokenRestored,
    TokenRefreshed,
    LoggedOut,
}

/// RFC 3339 UTC time with milliseconds.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&fmt).unwrap_or_default()
}

impl ActivityEvent {
    /// Cuts every text of the event to its limit (see the constants of this module).
    fn bound(&mut self) {
        match self {
            Self::ToolStarted {
                tool,
                client,
                arguments,
                ..
            } => {
                cap_in_place(tool, NAME_LIMIT);
                if let Some(c) = client {
                    cap_in_place(c, NAME_LIMIT);
                }
                bound_arguments(arguments);
            }
            Self::ToolFinished { tool, message, .. } => {
                cap_in_place(tool, NAME_LIMIT);
                if let Some(m) = message {
                    cap_in_place(m, MESSAGE_LIMIT);
                }
            }
            Self::Upstream {
                method,
                path,
                error,
                ..
            } => {
                cap_in_place(method, NAME_LIMIT);
                cap_in_place(path, PATH_LIMIT);
                if let Some(e) = error {
                    cap_in_place(e, MESSAGE_LIMIT);
                }
            }
            Self::Guard { tool, detail, .. } => {
                cap_in_place(tool, NAME_LIMIT);
                if let Some(d) = detail {
                    cap_in_place(d, MESSAGE_LIMIT);
                }
            }
            Self::Auth { tenant, detail, .. } => {
                cap_in_place(tenant, NAME_LIMIT);
                if let Some(d) = detail {
                    cap_in_place(d, MESSAGE_LIMIT);
                }
            }
        }
    }
}

/// Cuts each string (and object key) of the arguments, then, when their JSON is still over
/// [`ARGUMENTS_LIMIT`], replaces them with the start of that JSON as one string.
fn bound_arguments(arguments: &mut Value) {
    fn cut_strings(v: &mut Value) {
        match v {
            Value::String(s) => cap_in_place(s, ARGUMENT_TEXT_LIMIT),
            Value::Array(items) => items.iter_mut().for_each(cut_strings),
            Value::Object(map) => {
                if map.keys().any(|k| k.len() > NAME_LIMIT) {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(mut k, v)| {
                            cap_in_place(&mut k, NAME_LIMIT);
                            (k, v)
                        })
                        .collect();
                }
                map.values_mut().for_each(cut_strings);
            }
            _ => {}
        }
    }
    cut_strings(arguments);
    let json = JsonHead::of(arguments, ARGUMENTS_LIMIT);
    if json.total > ARGUMENTS_LIMIT {
        *arguments = Value::String(body_head(&json.head, json.total, true, ARGUMENTS_LIMIT));
    }
}

/// The size of a value's JSON and its first `keep` bytes, without building the whole text.
struct JsonHead {
    head: Vec<u8>,
    keep: usize,
    total: usize,
}

impl JsonHead {
    fn of<T: Serialize + ?Sized>(value: &T, keep: usize) -> Self {
        let mut out = Self {
            head: Vec::new(),
            keep,
            total: 0,
        };
        // Writing to memory cannot fail; a value that cannot be serialised counts as empty.
        let _ = serde_json::to_writer(&mut out, value);
        out
    }
}

impl Write for JsonHead {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.keep.saturating_sub(self.head.len());
        self.head.extend_from_slice(&buf[..buf.len().min(room)]);
        self.total += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One page of the ring, for a window that loads history as it is scrolled to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityPage {
    /// Oldest first.
    pub events: Vec<ActivityEvent>,
    /// The sequence number of the page's oldest event: pass it as `before` to get the page
    /// before this one. `None` when the page is empty.
    pub oldest_seq: Option<u64>,
    /// Whether the ring holds events older than this page.
    pub more: bool,
}

/// An event in the ring with its sequence number and JSON size.
#[derive(Debug)]
struct Kept {
    seq: u64,
    size: usize,
    event: ActivityEvent,
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Kept>,
    bytes: usize,
    next_seq: u64,
}

/// Publishes events to live subscribers and keeps the most recent ones (bounded by count
/// and by bytes), each with a sequence number for paging.
#[derive(Debug)]
pub struct ActivityBus {
    tx: broadcast::Sender<ActivityEvent>,
    ring: Mutex<Ring>,
    capacity: usize,
    byte_limit: usize,
}

/// Call ids are unique in the process, across buses: a host that restarts its core (the
/// desktop switching tenant) keeps one live log in which ids never repeat.
static NEXT_CALL_ID: AtomicU64 = AtomicU64::new(1);

impl ActivityBus {
    /// A bus that remembers the last `capacity` events, within [`RING_BYTE_LIMIT`].
    pub fn new(capacity: usize) -> Arc<Self> {
        Self::with_limits(capacity, RING_BYTE_LIMIT)
    }

    /// A bus that remembers the last `capacity` events whose JSON takes at most
    /// `byte_limit` bytes in all (the newest event is always kept).
    pub fn with_limits(capacity: usize, byte_limit: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(4096);
        Arc::new(Self {
            tx,
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(1024)),
                bytes: 0,
                next_seq: 1,
            }),
            capacity: capacity.max(1),
            byte_limit,
        })
    }

    /// A fresh id for a tool call.
    pub fn next_call_id(&self) -> u64 {
        NEXT_CALL_ID.fetch_add(1, Ordering::Relaxed)
    }

    /// Bounds the event's texts, keeps it in the ring and sends it to every subscriber.
    pub fn publish(&self, mut event: ActivityEvent) {
        event.bound();
        let size = JsonHead::of(&event, 0).total;
        if let Ok(mut ring) = self.ring.lock() {
            let seq = ring.next_seq;
            ring.next_seq += 1;
            ring.bytes += size;
            ring.events.push_back(Kept {
                seq,
                size,
                event: event.clone(),
            });
            while ring.events.len() > self.capacity
                || (ring.bytes > self.byte_limit && ring.events.len() > 1)
            {
                if let Some(old) = ring.events.pop_front() {
                    ring.bytes -= old.size;
                }
            }
        }
        // No subscriber is not an error.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ActivityEvent> {
        self.tx.subscribe()
    }

    /// How many live subscribers the bus has (the audit writer of the running core, the
    /// window's forwarder, …): a host that restarts its core must not pile them up.
    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// The most recent events, oldest first.
    pub fn recent(&self) -> Vec<ActivityEvent> {
        self.ring
            .lock()
            .map(|r| r.events.iter().map(|k| k.event.clone()).collect())
            .unwrap_or_default()
    }

    /// The newest events older than `before` (a sequence number from an earlier page), or
    /// the newest events of all when `before` is `None`: at most `limit` of them (1 to
    /// [`PAGE_MAX_EVENTS`]) and at most [`PAGE_BYTE_LIMIT`] bytes, but never none while
    /// any is left. Oldest first within the page.
    pub fn page(&self, before: Option<u64>, limit: usize) -> ActivityPage {
        let limit = limit.clamp(1, PAGE_MAX_EVENTS);
        let Ok(ring) = self.ring.lock() else {
            return ActivityPage {
                events: Vec::new(),
                oldest_seq: None,
                more: false,
            };
        };
        // Sequence numbers grow along the ring, so the end is found by bisection.
        let end = match before {
            Some(b) => ring.events.partition_point(|k| k.seq < b),
            None => ring.events.len(),
        };
        let mut start = end;
        let mut bytes = 0;
        while start > 0 && end - start < limit {
            let size = ring.events[start - 1].size;
            if start < end && bytes + size > PAGE_BYTE_LIMIT {
                break;
            }
            bytes += size;
            start -= 1;
        }
        ActivityPage {
            events: ring
                .events
                .range(start..end)
                .map(|k| k.event.clone())
                .collect(),
            oldest_seq: (start < end).then(|| ring.events[start].seq),
            more: start > 0,
        }
    }
}

pub const MASK: &str = "********";

/// Key fragments that name a secret wherever they appear in a key, in any case
/// (`userPassword`, `clientSecret`, `api_key`, `accessKeyId`, `sharedKey`).
const SECRET_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "credential",
    "apikey",
    "api_key",
    "privatekey",
    "private_key",
    "valuebase64",
    "otp",
    "passcode",
    "accesskey",
    "sharedkey",
];

/// Words that, right after a word naming a token, make the key a setting about tokens
/// rather than a token (`accessTokenLifetime`, `idTokenSignedResponseAlg`,
/// `tokenEndpointAuthMethod`); a token's own value (`accessToken`, `tokenId`, `id_token`)
/// stays masked.
const TOKEN_SETTING_WORDS: &[&str] = &[
    "lifetime",
    "lifetimes",
    "encryption",
    "signed",
    "signing",
    "endpoint",
    "introspection",
    "modification",
    "enabled",
    "exchange",
    "type",
    "types",
    "format",
    "ttl",
    "expiry",
    "expiration",
    "length",
    "url",
    "uri",
];

/// Whether a word of a key names a token: `token`, `tokens`, or a word ending in them when
/// the key is written in one run of lower case (`accesstoken`).
fn is_token_word(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    w.ends_with("token") || w.ends_with("tokens")
}

/// Words that name a secret as a whole word of a key (`pin`, `userPin`, `pin_code`), but
/// not inside another word (`mapping`, `spinner`).
const SECRET_WORDS: &[&str] = &["pin"];

/// Words that name a secret as the last word of a key: the header itself (`Authorization`,
/// `Cookie`, `Set-Cookie`, `proxyAuthorization`) but not a setting about it (`cookieName`,
/// `authorizationCodeLifetime`).
const SECRET_LAST_WORDS: &[&str] = &["authorization", "cookie"];

/// The words of a key: split at anything not a letter or digit and where a lower-case
/// letter or digit meets an upper-case one (`userPIN_code` → `user`, `PIN`, `code`).
fn words(key: &str) -> impl Iterator<Item = &str> {
    key.split(|c: char| !c.is_alphanumeric()).flat_map(|part| {
        let mut cuts = vec![0];
        let chars: Vec<(usize, char)> = part.char_indices().collect();
        for pair in chars.windows(2) {
            let ((_, a), (i, b)) = (pair[0], pair[1]);
            if (a.is_lowercase() || a.is_ascii_digit()) && b.is_uppercase() {
                cuts.push(i);
            }
        }
        cuts.push(part.len());
        cuts.windows(2)
            .map(|w| &part[w[0]..w[1]])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
    })
}

/// Keys (or patch `field` paths) whose values are always masked, wherever they appear.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if SECRET_FRAGMENTS.iter().any(|s| k.contains(s)) {
        return true;
    }
    let mut last = None;
    for word in words(key) {
        if SECRET_WORDS.iter().any(|s| word.eq_ignore_ascii_case(s)) {
            return true;
        }
        if last.is_some_and(is_token_word)
            && !TOKEN_SETTING_WORDS
                .iter()
                .any(|s| word.eq_ignore_ascii_case(s))
        {
            return true;
        }
        last = Some(word);
    }
    // A token word last, or one somewhere inside a word (`mytokenvalue`).
    if last.is_some_and(is_token_word) || (k.contains("token") && !words(key).any(is_token_word)) {
        return true;
    }
    last.is_some_and(|w| SECRET_LAST_WORDS.iter().any(|s| w.eq_ignore_ascii_case(s)))
}

/// The user attribute holding security questions and their answers
/// (`kbaInfo: [{questionId, answer}]`).
fn is_kba_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("kbaInfo")
}

/// A patch `field` path into the security questions (`/kbaInfo`, `/kbaInfo/0/answer`).
fn is_kba_path(field: &str) -> bool {
    field.split('/').any(is_kba_key)
}

/// A step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// The named property of an object.
    Key(String),
    /// Every item of an array.
    Item,
    /// Every value of an object whose keys are free (`additionalProperties`).
    AnyKey,
    /// The value itself and every value nested in it, at any depth (where a recursive
    /// schema repeats itself).
    AnyDepth,
}

/// Where a field sits in a tool's arguments, as its input schema declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(pub Vec<PathStep>);

/// The fields an input schema declares `format: password`, found once when a tool is
/// built. Follows `properties`, `items`, `prefixItems`, object-valued
/// `additionalProperties`, `anyOf`/`oneOf`/`allOf` and local `$ref`s (`#/$defs/…`). A
/// recursive schema is walked once; the fields found in it are then also masked at any
/// depth below where it starts ([`PathStep::AnyDepth`]), which covers every repetition.
pub fn password_fields(schema: &Map<String, Value>) -> Vec<FieldPath> {
    /// A `$ref` being walked: its name and whether it was met again inside itself.
    struct Open {
        name: String,
        recursive: bool,
    }
    fn walk(
        node: &Value,
        root: &Map<String, Value>,
        path: &mut Vec<PathStep>,
        refs: &mut Vec<Open>,
        out: &mut Vec<FieldPath>,
    ) {
        let Value::Object(map) = node else { return };
        if map.get("format").and_then(Value::as_str) == Some("password")
            && !out.iter().any(|p| p.0 == *path)
        {
            out.push(FieldPath(path.clone()));
        }
        if let Some(Value::String(r)) = map.get("$ref") {
            if let Some(open) = refs.iter_mut().find(|o| o.name == *r) {
                open.recursive = true;
            } else {
                let target = r
                    .strip_prefix("#/")
                    .map(|p| p.split('/').collect::<Vec<_>>())
                    .and_then(|parts| {
                        let (first, rest) = parts.split_first()?;
                        rest.iter()
                            .try_fold(root.get(*first)?, |v, part| v.get(*part))
                    });
                if let Some(target) = target {
                    let found = out.len();
                    refs.push(Open {
                        name: r.clone(),
                        recursive: false,
                    });
                    walk(target, root, path, refs, out);
                    let recursive = refs.pop().is_some_and(|o| o.recursive);
                    if recursive {
                        let depth = path.len();
                        let deep: Vec<FieldPath> = out[found..]
                            .iter()
                            .map(|p| {
                                let mut steps = path.clone();
                                steps.push(PathStep::AnyDepth);
                                steps.extend_from_slice(&p.0[depth..]);
                                FieldPath(steps)
                            })
                            .collect();
                        out.extend(deep);
                    }
                }
            }
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            for (name, child) in props {
                path.push(PathStep::Key(name.clone()));
                walk(child, root, path, refs, out);
                path.pop();
            }
        }
        let items = map.get("items").into_iter().chain(
            map.get("prefixItems")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
        for child in items {
            path.push(PathStep::Item);
            walk(child, root, path, refs, out);
            path.pop();
        }
        if let Some(child @ Value::Object(_)) = map.get("additionalProperties") {
            path.push(PathStep::AnyKey);
            walk(child, root, path, refs, out);
            path.pop();
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for child in map.get(key).and_then(Value::as_array).into_iter().flatten() {
                walk(child, root, path, refs, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Value::Object(schema.clone()),
        schema,
        &mut Vec::new(),
        &mut Vec::new(),
        &mut out,
    );
    out
}

/// What one tool declares about its arguments, on top of the rules for every tool.
#[derive(Debug, Clone, Copy, Default)]
pub struct Masking<'a> {
    /// Top-level arguments whose values are always masked (an ESV's `value`).
    pub sensitive: &'a [&'a str],
    /// Top-level arguments holding a script source: shown as their length and SHA-256.
    pub scripts: &'a [&'a str],
    /// Fields the tool's input schema declares `format: password`.
    pub password_fields: &'a [FieldPath],
}

impl<'a> Masking<'a> {
    /// Only top-level `sensitive` arguments.
    pub fn sensitive(names: &'a [&'a str]) -> Self {
        Self {
            sensitive: names,
            ..Self::default()
        }
    }
}

/// A script source as the activity log shows it: its length and hash, so a change can be
/// recognised and compared with the tenant's copy, but nothing it holds is revealed.
fn script_summary(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("[script: {} bytes, sha256 {hex}]", source.len())
}

/// An IDM script object (`{"type": "text/javascript", "source": "…"}`, as managed-object
/// definitions hold for their event hooks): its `source` is a script source.
fn is_script_object(map: &Map<String, Value>) -> bool {
    map.get("source").is_some_and(Value::is_string)
        && map
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("text/javascript") || t.ends_with("groovy"))
}

/// Masks secret values in tool arguments: any key that names a secret (see
/// [`SECRET_FRAGMENTS`], [`SECRET_WORDS`], [`SECRET_LAST_WORDS`]), the answers of security
/// questions (`kbaInfo[].answer`), the `value` of a patch operation whose `field` names a
/// secret, the `source` of IDM script objects (length and hash instead), and what the tool
/// declares in `masking`: top-level sensitive arguments, script sources (length and hash
/// instead) and `format: password` fields.
/// Whether `v` holds nothing but `true`, `false` and `null` (a setting about a secret,
/// such as a theme's `"password": {"enabled": true}`): there is no secret in it to mask.
fn only_flags(v: &Value) -> bool {
    match v {
        Value::Bool(_) | Value::Null => true,
        Value::Array(items) => items.iter().all(only_flags),
        Value::Object(map) => map.values().all(only_flags),
        _ => false,
    }
}

pub fn mask_arguments(args: &Value, masking: Masking<'_>) -> Value {
    fn walk(v: &Value, in_kba: bool) -> Value {
        match v {
            Value::Object(map) => {
                let script = is_script_object(map);
                let field = map.get("field").and_then(Value::as_str);
                let field_kba = field.is_some_and(is_kba_path);
                let field_is_secret = field.is_some_and(|f| {
                    is_secret_key(f)
                        || (field_kba
                            && f.rsplit('/')
                                .next()
                                .is_some_and(|last| last.eq_ignore_ascii_case("answer")))
                });
                Value::Object(
                    map.iter()
                        .map(|(k, v)| {
                            let masked = is_secret_key(k)
                                || (in_kba && k.eq_ignore_ascii_case("answer"))
                                || (field_is_secret && k == "value");
                            let v = if masked && !only_flags(v) {
                                Value::String(MASK.into())
                            } else if let (true, "source", Value::String(source)) =
                                (script, k.as_str(), v)
                            {
                                Value::String(script_summary(source))
                            } else {
                                let kba = in_kba || is_kba_key(k) || (field_kba && k == "value");
                                walk(v, kba)
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, in_kba)).collect()),
            other => other.clone(),
        }
    }
    fn mask_at(v: &mut Value, steps: &[PathStep]) {
        let Some((step, rest)) = steps.split_first() else {
            if !v.is_null() {
                *v = Value::String(MASK.into());
            }
            return;
        };
        match (step, v) {
            (PathStep::Key(k), Value::Object(map)) => {
                if let Some(child) = map.get_mut(k) {
                    mask_at(child, rest);
                }
            }
            (PathStep::Item, Value::Array(items)) => {
                items.iter_mut().for_each(|i| mask_at(i, rest));
            }
            (PathStep::AnyKey, Value::Object(map)) => {
                map.values_mut().for_each(|c| mask_at(c, rest));
            }
            (PathStep::AnyDepth, v) => {
                mask_at(v, rest);
                match v {
                    Value::Object(map) => map.values_mut().for_each(|c| mask_at(c, steps)),
                    Value::Array(items) => items.iter_mut().for_each(|c| mask_at(c, steps)),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let mut out = walk(args, false);
    for path in masking.password_fields {
        mask_at(&mut out, &path.0);
    }
    if let Value::Object(map) = &mut out {
        for key in masking.sensitive {
            if let Some(v) = map.get_mut(*key) {
                if !v.is_null() {
                    *v = Value::String(MASK.into());
                }
            }
        }
        for key in masking.scripts {
            if let Some(Value::String(source)) = map.get_mut(*key) {
                *source = script_summary(source);
            }
        }
    }
    out
}

/// Keeps the guard of the audit file's background writer; dropping it flushes.
pub struct AuditWriter {
    _guard: tracing_appender::non_blocking::WorkerGuard,
    task: tokio::task::JoinHandle<()>,
}

impl AuditWriter {
    /// Waits for the writer to drain after the cancel token fired.
    pub async fn finish(self) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.task).await;
    }
}

/// Appends every event published on `bus` as one JSON line to
/// `dir/activity.YYYY-MM-DD.jsonl` (daily rolling, 14 files kept), until `cancel` fires.
pub fn spawn_audit_writer(
    bus: &ActivityBus,
    dir: &Path,
    cancel: CancellationToken,
) -> std::io::Result<AuditWriter> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("activity")
        .filename_suffix("jsonl")
        .max_log_files(14)
        .build(dir)
        .map_err(std::io::Error::other)?;
    let (mut writer, guard) = tracing_appender::non_blocking(appender);
    let mut rx = bus.subscribe();
    let task = tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                biased;
                ev = rx.recv() => ev,
                _ = cancel.cancelled() => {
                    // Drain what is already queued, then stop.
                    while let Ok(ev) = rx.try_recv() {
                        write_line(&mut writer, &ev);
                    }
                    break;
                }
            };
            match event {
                Ok(ev) => write_line(&mut writer, &ev),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let line = serde_json::json!({"kind": "audit_gap", "at": now_rfc3339(), "lost_events": n});
                    let _ = writeln!(writer, "{line}");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
        let _ = writer.flush();
    });
    Ok(AuditWriter {
        _guard: guard,
        task,
    })
}

fn write_line(w: &mut impl Write, ev: &ActivityEvent) {
    match serde_json::to_string(ev) {
        Ok(line) => {
            if let Err(e) = writeln!(w, "{line}") {
                tracing::warn!(error = %e, "could not write the audit log");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not serialise an activity event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_secret_keys_and_declared_arguments() {
        let args = json!({
            "objectType": "alpha_user",
            "objectData": {"userName": "bjensen", "password": "S3cret!", "nested": {"apiToken": "t"}},
            "operations": [
                {"operation": "replace", "field": "/password", "value": "N3w!"},
                {"operation": "replace", "field": "/mail", "value": "b@example.com"}
            ],
            "value": "esv-plain"
        });
        let m = mask_arguments(&args, Masking::sensitive(&["value"]));
        let s = m.to_string();
        for secret in ["S3cret!", "N3w!", "esv-plain", "\"t\""] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(s.contains("bjensen") && s.contains("b@example.com"));
    }

    fn masked(args: Value) -> String {
        mask_arguments(&args, Masking::default()).to_string()
    }

    #[test]
    fn a_token_is_masked_and_a_setting_about_tokens_is_not() {
        for secret in [
            "accessToken",
            "refresh_token",
            "id_token",
            "tokenId",
            "token",
            "tokens",
            "x-access-token",
            "accessTokenValue",
            "ssoToken",
            "accesstoken",
            "mytokenvalue",
            "/accessToken",
            "updateAccessToken",
        ] {
            assert!(is_secret_key(secret), "{secret}");
        }
        for setting in [
            "accessTokenLifetime",
            "refreshTokenLifetime",
            "jwtTokenLifetime",
            "idTokenSignedResponseAlg",
            "idTokenEncryptionEnabled",
            "idTokenEncryptionMethod",
            "tokenEndpointAuthMethod",
            "tokenIntrospectionResponseFormat",
            "accessTokenModificationPluginType",
            "statelessTokensEnabled",
            "tokenType",
            "/accessTokenLifetime",
        ] {
            assert!(!is_secret_key(setting), "{setting}");
        }
    }

    #[test]
    fn settings_about_a_secret_that_hold_only_flags_are_not_masked() {
        let v = mask_arguments(
            &json!({"accountPageSections": {"password": {"enabled": true}, "social": {"enabled": false}},
                    "clientSecretRequired": false, "passwordReset": null, "userpassword": "x",
                    "token": {"enabled": true, "value": "t"}, "apiKeys": [true, "k"]}),
            Masking::default(),
        );
        assert_eq!(
            v,
            json!({"accountPageSections": {"password": {"enabled": true}, "social": {"enabled": false}},
                   "clientSecretRequired": false, "passwordReset": null, "userpassword": MASK,
                   "token": MASK, "apiKeys": MASK})
        );
    }

    #[test]
    fn masks_security_question_answers() {
        let s = masked(json!({
            "objectData": {"userName": "b", "kbaInfo": [
                {"questionId": "1", "answer": "Rex"},
                {"customQuestion": "Favourite colour?", "answer": {"$crypto": "Blue"}}
            ]},
            "operations": [
                {"operation": "add", "field": "/kbaInfo/-", "value": {"questionId": "2", "answer": "Paris"}},
                {"operation": "replace", "field": "/kbaInfo/0/answer", "value": "Rome"},
                {"operation": "replace", "field": "/description", "value": "answer me"}
            ],
            "answer": "42"
        }));
        for secret in ["Rex", "Blue", "Paris", "Rome"] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        // Questions stay readable, and an `answer` outside kbaInfo is not a secret.
        for kept in [
            "Favourite colour?",
            "\"questionId\":\"2\"",
            "answer me",
            "\"42\"",
        ] {
            assert!(s.contains(kept), "{kept} missing in {s}");
        }
    }

    #[test]
    fn masks_pins_passcodes_and_access_and_shared_keys() {
        let s = masked(json!({
            "pin": "1111", "userPin": "2222", "pin_code": "3333", "PIN": "4444",
            "passcode": "5555", "accessKey": "AKIA6666", "sharedKey": "s7777",
            "operations": [{"operation": "replace", "field": "/userPin", "value": "8888"}],
            "mapping": "m-visible", "spinner": "s-visible", "pinned": "p-visible"
        }));
        for secret in [
            "1111", "2222", "3333", "4444", "5555", "6666", "7777", "8888",
        ] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        for kept in ["m-visible", "s-visible", "p-visible"] {
            assert!(s.contains(kept), "{kept} missing in {s}");
        }
    }

    #[test]
    fn masks_authorization_and_cookie_headers() {
        let s = masked(json!({"headers": {
            "Authorization": "Basic YWRtaW4=", "Cookie": "session=c0", "Set-Cookie": "id=c1",
            "proxyAuthorization": "Bearer p2",
            "cookieName": "iPlanetDirectoryPro", "authorizationCodeLifetime": 120
        }}));
        for secret in ["YWRtaW4=", "c0", "c1", "p2"] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(
            s.contains("iPlanetDirectoryPro") && s.contains("120"),
            "{s}"
        );
    }

    #[test]
    fn script_arguments_show_length_and_hash() {
        let source = "var key = \"sk-live-123\"; action.goTo(\"true\");";
        let args = json!({"name": "n", "script": source});
        let m = mask_arguments(
            &args,
            Masking {
                scripts: &["script"],
                ..Masking::default()
            },
        );
        let shown = m["script"].as_str().expect("a string");
        assert!(!shown.contains("sk-live-123"), "{shown}");
        let hex: String = Sha256::digest(source.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            shown,
            format!("[script: {} bytes, sha256 {hex}]", source.len())
        );
        assert_eq!(m["name"], "n");
    }

    #[test]
    fn idm_script_objects_show_length_and_hash() {
        let s = masked(json!({"objectDefinition": {"onCreate": {
            "type": "text/javascript", "source": "httpClient.send('k-999')"
        }, "source": "not a script"}}));
        assert!(!s.contains("k-999"), "{s}");
        assert!(s.contains("[script: 24 bytes, sha256 "), "{s}");
        assert!(s.contains("not a script"), "{s}");
    }

    #[test]
    fn password_format_fields_are_found_in_the_schema_and_masked() {
        let schema = json!({
            "type": "object",
            "properties": {
                "login": {"type": "string", "format": "password"},
                "users": {"type": "array", "items": {"$ref": "#/$defs/User"}},
                "extra": {"type": "object", "additionalProperties": {"type": "string", "format": "password"}},
                "plain": {"type": "string"}
            },
            "$defs": {"User": {"type": "object", "properties": {
                "name": {"type": "string"},
                "unlock": {"anyOf": [{"type": "string", "format": "password"}, {"type": "null"}]},
                "manager": {"$ref": "#/$defs/User"}
            }}}
        });
        let Value::Object(schema) = schema else {
            unreachable!()
        };
        let paths = password_fields(&schema);
        use PathStep::*;
        let key = |k: &str| Key(k.to_string());
        assert_eq!(
            paths,
            vec![
                FieldPath(vec![key("login")]),
                FieldPath(vec![key("users"), Item, key("unlock")]),
                // User is recursive (manager): its field at any depth below.
                FieldPath(vec![key("users"), Item, AnyDepth, key("unlock")]),
                FieldPath(vec![key("extra"), AnyKey]),
            ]
        );
        let args = json!({
            "login": "L0gin", "plain": "visible",
            "users": [
                {"name": "u1", "unlock": "Unl0ck1", "manager": {"name": "m1", "unlock": "Unl0ck3",
                    "manager": {"unlock": "Unl0ck4"}}},
                {"name": "u2", "unlock": "Unl0ck2"}
            ],
            "extra": {"a": "Extr4"}
        });
        let s = mask_arguments(
            &args,
            Masking {
                password_fields: &paths,
                ..Masking::default()
            },
        )
        .to_string();
        for secret in ["L0gin", "Unl0ck1", "Unl0ck2", "Unl0ck3", "Unl0ck4", "Extr4"] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
        assert!(
            s.contains("visible") && s.contains("u2") && s.contains("m1"),
            "{s}"
        );
    }

    #[test]
    fn key_words_split_at_case_and_punctuation() {
        assert_eq!(
            words("userPIN_code-x2Y").collect::<Vec<_>>(),
            ["user", "PIN", "code", "x2", "Y"]
        );
    }

    fn started(arguments: Value) -> ActivityEvent {
        ActivityEvent::ToolStarted {
            call_id: 1,
            at: "t".into(),
            tool: "createTheme".into(),
            client: Some("test".into()),
            profile: None,
            arguments,
        }
    }

    fn finished(message: String) -> ActivityEvent {
        ActivityEvent::ToolFinished {
            call_id: 1,
            at: "t".into(),
            tool: "getLogSources".into(),
            outcome: Outcome::Error,
            duration_ms: 1,
            message: Some(message),
        }
    }

    #[test]
    fn a_huge_argument_is_cut_in_tool_started() {
        let bus = ActivityBus::new(8);
        let big = "x".repeat(1024 * 1024);
        bus.publish(started(json!({"name": "n", "html": big})));
        let ActivityEvent::ToolStarted { arguments, .. } = &bus.recent()[0] else {
            panic!("not a ToolStarted");
        };
        assert_eq!(arguments["name"], "n");
        let html = arguments["html"].as_str().expect("still a string");
        let more = format!("… {} bytes more", 1024 * 1024 - ARGUMENT_TEXT_LIMIT);
        assert_eq!(html.len(), ARGUMENT_TEXT_LIMIT + more.len());
        assert!(html.ends_with(&more), "{}", &html[html.len() - 40..]);
    }

    #[test]
    fn many_arguments_become_the_start_of_their_json() {
        let bus = ActivityBus::new(8);
        let items: Vec<Value> = (0..10_000).map(|i| json!({"id": i})).collect();
        let total = json!({"items": items}).to_string().len();
        bus.publish(started(json!({"items": items})));
        let ActivityEvent::ToolStarted { arguments, .. } = &bus.recent()[0] else {
            panic!("not a ToolStarted");
        };
        let text = arguments.as_str().expect("the JSON's start");
        assert!(
            text.starts_with("{\"items\":[{\"id\":0},"),
            "{}",
            &text[..40]
        );
        assert!(
            text.ends_with(&format!("… {} bytes more", total - ARGUMENTS_LIMIT)),
            "{}",
            &text[text.len() - 40..]
        );
    }

    #[test]
    fn messages_paths_and_errors_are_cut() {
        let bus = ActivityBus::new(8);
        let long = "e".repeat(100_000);
        bus.publish(finished(long.clone()));
        bus.publish(ActivityEvent::Upstream {
            call_id: None,
            at: "t".into(),
            method: "GET".into(),
            path: format!("/x?q={long}"),
            status: None,
            latency_ms: 1,
            user_agent: "ua".into(),
            transaction_id: "tx".into(),
            error: Some(long.clone()),
        });
        bus.publish(ActivityEvent::Auth {
            at: "t".into(),
            action: AuthAction::LoginFailed,
            tenant: long.clone(),
            detail: Some(long),
        });
        let recent = bus.recent();
        assert_eq!(recent.len(), 3);
        for ev in recent {
            let json = serde_json::to_string(&ev).expect("json");
            // Upstream holds two cut texts (path and error); the others one.
            assert!(
                json.len() < PATH_LIMIT + MESSAGE_LIMIT + 200,
                "{} bytes",
                json.len()
            );
            assert!(json.contains("bytes more"));
        }
    }

    #[test]
    fn the_ring_is_bounded_by_bytes_as_well_as_count() {
        let bus = ActivityBus::with_limits(1_000, 50_000);
        for i in 0..20 {
            bus.publish(finished(format!("{i}:{}", "m".repeat(8_000))));
        }
        let kept = bus.recent();
        let bytes: usize = kept
            .iter()
            .map(|e| serde_json::to_string(e).expect("json").len())
            .sum();
        assert!(bytes <= 50_000, "{bytes} bytes kept");
        assert!(kept.len() >= 5 && kept.len() < 20, "{} kept", kept.len());
        // The newest are the ones kept.
        let ActivityEvent::ToolFinished { message, .. } = &kept[kept.len() - 1] else {
            panic!("not a ToolFinished");
        };
        assert!(message.as_deref().unwrap_or("").starts_with("19:"));
        // One event larger than the whole bound is still kept (alone).
        let tiny = ActivityBus::with_limits(10, 100);
        tiny.publish(finished("m".repeat(1_000)));
        tiny.publish(finished("n".repeat(1_000)));
        assert_eq!(tiny.recent().len(), 1);
    }

    fn numbered(n: u64) -> ActivityEvent {
        ActivityEvent::Auth {
            at: n.to_string(),
            action: AuthAction::TokenRefreshed,
            tenant: "t".into(),
            detail: None,
        }
    }

    fn ats(page: &ActivityPage) -> Vec<u64> {
        page.events
            .iter()
            .map(|e| match e {
                ActivityEvent::Auth { at, .. } => at.parse().unwrap_or(0),
                _ => 0,
            })
            .collect()
    }

    #[test]
    fn pages_go_from_newest_to_oldest_and_say_when_more_remain() {
        let bus = ActivityBus::new(100);
        assert_eq!(
            bus.page(None, 10),
            ActivityPage {
                events: vec![],
                oldest_seq: None,
                more: false
            }
        );
        for n in 1..=25 {
            bus.publish(numbered(n));
        }
        let first = bus.page(None, 10);
        assert_eq!(ats(&first), (16..=25).collect::<Vec<_>>());
        assert!(first.more);
        let second = bus.page(first.oldest_seq, 10);
        assert_eq!(ats(&second), (6..=15).collect::<Vec<_>>());
        assert!(second.more);
        let third = bus.page(second.oldest_seq, 10);
        assert_eq!(ats(&third), (1..=5).collect::<Vec<_>>());
        assert!(!third.more);
        let past = bus.page(third.oldest_seq, 10);
        assert!(past.events.is_empty() && !past.more && past.oldest_seq.is_none());
        // A limit of 0 still gives one event; a huge one is clamped.
        assert_eq!(ats(&bus.page(None, 0)), vec![25]);
        assert_eq!(bus.page(None, usize::MAX).events.len(), 25);
        // New events do not move older pages.
        bus.publish(numbered(26));
        assert_eq!(ats(&bus.page(first.oldest_seq, 10)), ats(&second));
    }

    #[test]
    fn pages_skip_what_the_ring_has_dropped() {
        let bus = ActivityBus::new(5);
        for n in 1..=10 {
            bus.publish(numbered(n));
        }
        let page = bus.page(None, 3);
        assert_eq!(ats(&page), vec![8, 9, 10]);
        let older = bus.page(page.oldest_seq, 10);
        assert_eq!(ats(&older), vec![6, 7]);
        assert!(!older.more);
        assert!(bus.page(Some(3), 10).events.is_empty());
    }

    #[test]
    fn pages_are_bounded_by_bytes() {
        let bus = ActivityBus::new(1_000);
        for i in 0..400 {
            bus.publish(finished(format!("{i:03}:{}", "m".repeat(MESSAGE_LIMIT))));
        }
        let mut before = None;
        let mut seen = Vec::new();
        loop {
            let page = bus.page(before, PAGE_MAX_EVENTS);
            let bytes: usize = page
                .events
                .iter()
                .map(|e| serde_json::to_string(e).expect("json").len())
                .sum();
            assert!(bytes <= PAGE_BYTE_LIMIT, "{bytes}");
            assert!(!page.events.is_empty());
            for e in page.events.iter().rev() {
                if let ActivityEvent::ToolFinished { message, .. } = e {
                    seen.push(message.clone().unwrap_or_default()[..3].to_string());
                }
            }
            if !page.more {
                break;
            }
            assert!(page.events.len() < 400);
            before = page.oldest_seq;
        }
        let expected: Vec<String> = (0..400).rev().map(|i| format!("{i:03}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn pages_serialise_for_the_window() {
        let bus = ActivityBus::new(10);
        bus.publish(numbered(1));
        let v = serde_json::to_value(bus.page(None, 5)).expect("json");
        assert_eq!(v["more"], false);
        assert_eq!(v["oldest_seq"], 1);
        assert_eq!(v["events"][0]["kind"], "auth");
    }

    #[test]
    fn ring_buffer_keeps_the_latest() {
        let bus = ActivityBus::new(2);
        for i in 0..3 {
            bus.publish(ActivityEvent::Auth {
                at: i.to_string(),
                action: AuthAction::LoggedOut,
                tenant: "t".into(),
                detail: None,
            });
        }
        let recent = bus.recent();
        assert_eq!(recent.len(), 2);
        assert!(matches!(&recent[0], ActivityEvent::Auth { at, .. } if at == "1"));
    }

    #[tokio::test]
    async fn audit_file_gets_one_json_line_per_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bus = ActivityBus::new(10);
        let cancel = CancellationToken::new();
        let writer = spawn_audit_writer(&bus, dir.path(), cancel.clone()).expect("writer");
        bus.publish(ActivityEvent::ToolFinished {
            call_id: 7,
            at: now_rfc3339(),
            tool: "getLogSources".into(),
            outcome: Outcome::Ok,
            duration_ms: 3,
            message: None,
        });
        cancel.cancel();
        writer.finish().await;
        let mut text = String::new();
        for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        let line: Value = serde_json::from_str(text.trim()).expect("one json line");
        assert_eq!(line["kind"], "tool_finished");
        assert_eq!(line["call_id"], 7);
    }
}
