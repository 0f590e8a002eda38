//! `core::approval`: calls waiting for the admin. A call the policy asks about becomes an
//! [`ApprovalRequest`] in the queue; the desktop window shows each as a card and answers
//! it ([`Approvals::answer`]); the assistant cannot, because the queue is only reachable
//! from the app. The answer binds to the arguments shown: it carries their digest, and a
//! digest that differs is refused. No answer within the timeout is a denial; a call that
//! ends meanwhile (cancelled, core stopped) takes its card with it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{oneshot, watch};

/// How long "Approve for this assistant" lasts.
pub const GRANT_FOR: Duration = Duration::from_secs(15 * 60);

/// A call waiting for the admin, as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalRequest {
    pub id: u64,
    pub call_id: u64,
    /// The MCP client's name (Claude Code, Cursor, …).
    pub client: Option<String>,
    pub tenant: String,
    pub tool: String,
    pub title: String,
    pub destructive: bool,
    /// One line: "Claude Code wants to delete managed object alpha_user bjensen".
    pub summary: String,
    /// The arguments, secrets masked as in the activity log.
    pub arguments: Value,
    /// SHA-256 of the arguments the call will run with; an answer must name it.
    pub digest: String,
    /// What the call addresses ("alpha_user a1000000-…"), when the tool names it.
    pub subject: Option<String>,
    /// That object as it is now (secrets masked), read with the call's own token: what a
    /// delete removes, what an update changes.
    pub current: Option<Value>,
    /// The state the call would leave (secrets masked), when the tool can tell it.
    pub proposed: Option<Value>,
    /// `current` against `proposed`, field by field (empty when either is unknown).
    pub changes: Vec<crate::diff::FieldChange>,
    pub asked_at: String,
    /// Unix milliseconds after which the call is denied.
    pub expires_at_ms: i64,
}

/// The admin's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Approve,
    Deny,
    /// Approve, and approve this tool for this assistant for [`GRANT_FOR`] without asking.
    ApproveForAssistant,
}

/// Who approved a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovedBy {
    /// The admin, on the card in the window.
    Window,
    /// An earlier "approve for this assistant" that still lasts.
    Grant,
    /// The assistant's own confirmation prompt (MCP elicitation, headless).
    Elicitation,
}

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Approved(ApprovedBy),
    /// The admin said no (`by` says where).
    Denied(ApprovedBy),
    /// No answer within the timeout.
    TimedOut(Duration),
    /// The admin dismissed the question without an answer (elicitation `cancel`).
    Dismissed,
    /// Nobody can be asked (a client without elicitation), or asking failed.
    Unavailable(String),
}

/// An answer that was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("this change is no longer waiting (it was answered, timed out or the call ended)")]
    NotWaiting,
    #[error("the change's arguments differ from the ones shown; nothing was approved")]
    Mismatch,
}

/// What a call asks about (the queue adds the id, the digest and the times).
#[derive(Debug, Clone)]
pub struct Question {
    pub call_id: u64,
    pub client: Option<String>,
    pub tenant: String,
    pub tool: String,
    pub title: String,
    pub destructive: bool,
    pub masked_arguments: Value,
    /// The arguments the call will run with (only their digest is kept).
    pub arguments: Value,
    pub subject: Option<String>,
    pub current: Option<Value>,
    /// The state the call would leave (see [`ApprovalRequest::proposed`]).
    pub proposed: Option<Value>,
}

impl Question {
    /// What the call would change: the object now against the state it would leave.
    pub fn changes(&self) -> Vec<crate::diff::FieldChange> {
        match (&self.current, &self.proposed) {
            (Some(now), Some(then)) => crate::diff::diff(now, then),
            _ => Vec::new(),
        }
    }

    /// "Claude Code wants to delete managed object alpha_user bjensen".
    pub fn summary(&self) -> String {
        let who = self.client.as_deref().unwrap_or("An assistant");
        let what = self.title.to_lowercase();
        let target = addressed(&self.masked_arguments);
        if target.is_empty() {
            format!("{who} wants to {what}")
        } else {
            format!("{who} wants to {what} {target}")
        }
    }
}

/// The short identifying values of a call's arguments (ids, names, types), in order.
fn addressed(args: &Value) -> String {
    let Some(map) = args.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k.ends_with("id")
                || k.ends_with("name")
                || k.ends_with("type")
                || k.ends_with("identifier")
                || k == "realm"
        })
        .filter_map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty() && v.len() <= 80 && !v.contains('\n') && *v != "********")
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// SHA-256 (hex) of a JSON value's canonical text (serde_json keeps keys sorted).
pub fn digest(v: &Value) -> String {
    Sha256::digest(v.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Waiting {
    request: ApprovalRequest,
    answer: oneshot::Sender<Answer>,
}

struct Grant {
    client: Option<String>,
    tool: String,
    /// The tenant it was given on: one queue serves every profile's core, and a grant on
    /// one tenant must not approve the same tool on another.
    tenant: String,
    until: Instant,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    waiting: Vec<Waiting>,
    grants: Vec<Grant>,
}

/// The queue the window answers. Shared by every run of the core.
pub struct Approvals {
    inner: Mutex<Inner>,
    list: watch::Sender<Vec<ApprovalRequest>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approvals")
            .field("waiting", &self.list.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Approvals {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            list: watch::Sender::new(Vec::new()),
            clock: Arc::new(SystemClock),
        })
    }

    /// The calls waiting now, oldest first.
    pub fn waiting(&self) -> Vec<ApprovalRequest> {
        self.list.borrow().clone()
    }

    /// Fires whenever a call starts or stops waiting.
    pub fn subscribe(&self) -> watch::Receiver<Vec<ApprovalRequest>> {
        self.list.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, inner: &Inner) {
        self.list
            .send_replace(inner.waiting.iter().map(|w| w.request.clone()).collect());
    }

    /// Forgets every "approve for this assistant" (the admin tightened the rules).
    pub fn revoke_grants(&self) {
        self.lock().grants.clear();
    }

    /// Puts the question in the queue and waits for the answer, at most `timeout`. An
    /// earlier grant for this assistant and tool approves at once.
    pub async fn ask(&self, q: Question, timeout: Duration) -> Verdict {
        match self.enqueue(q, timeout) {
            Queued::Granted => Verdict::Approved(ApprovedBy::Grant),
            Queued::Waiting(card) => card.wait().await,
        }
    }

    /// Puts the question in the queue (or approves it at once from a grant); the card
    /// then waits with [`Card::wait`]. Dropping the card takes it off the queue.
    pub fn enqueue(&self, q: Question, timeout: Duration) -> Queued<'_> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let now = Instant::now();
        inner.grants.retain(|g| g.until > now);
        if inner
            .grants
            .iter()
            .any(|g| g.client == q.client && g.tool == q.tool && g.tenant == q.tenant)
        {
            return Queued::Granted;
        }
        inner.next_id += 1;
        let id = inner.next_id;
        let wait_ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let changes = q.changes();
        let request = ApprovalRequest {
            id,
            changes,
            call_id: q.call_id,
            summary: q.summary(),
            client: q.client,
            tenant: q.tenant,
            tool: q.tool,
            title: q.title,
            destructive: q.destructive,
            digest: digest(&q.arguments),
            arguments: q.masked_arguments,
            subject: q.subject,
            current: q.current,
            proposed: q.proposed,
            asked_at: crate::activity::now_rfc3339(),
            expires_at_ms: self.clock.now_ms().saturating_add(wait_ms),
        };
        inner.waiting.push(Waiting {
            request,
            answer: tx,
        });
        self.publish(&inner);
        Queued::Waiting(Card {
            queue: self,
            id,
            timeout,
            answer: rx,
        })
    }

    /// The admin's answer to the card `id`, bound to the arguments' `digest` it showed.
    pub fn answer(&self, id: u64, digest: &str, answer: Answer) -> Result<(), AnswerError> {
        let mut inner = self.lock();
        let pos = inner
            .waiting
            .iter()
            .position(|w| w.request.id == id)
            .ok_or(AnswerError::NotWaiting)?;
        if inner.waiting[pos].request.digest != digest {
            return Err(AnswerError::Mismatch);
        }
        let w = inner.waiting.remove(pos);
        if answer == Answer::ApproveForAssistant {
            inner.grants.push(Grant {
                client: w.request.client.clone(),
                tool: w.request.tool.clone(),
                tenant: w.request.tenant.clone(),
                until: Instant::now() + GRANT_FOR,
            });
        }
        self.publish(&inner);
        w.answer.send(answer).map_err(|_| AnswerError::NotWaiting)
    }

    fn remove(&self, id: u64) {
        let mut inner = self.lock();
        let before = inner.waiting.len();
        inner.waiting.retain(|w| w.request.id != id);
        if inner.waiting.len() != before {
            self.publish(&inner);
        }
    }
}

/// What [`Approvals::enqueue`] did.
pub enum Queued<'a> {
    /// An "approve for this assistant" still lasts: no card.
    Granted,
    Waiting(Card<'a>),
}

/// A card in the queue; dropping it (the call ended) takes it off.
pub struct Card<'a> {
    queue: &'a Approvals,
    id: u64,
    timeout: Duration,
    answer: oneshot::Receiver<Answer>,
}

impl Card<'_> {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The admin's answer, or a denial once the timeout is over.
    pub async fn wait(mut self) -> Verdict {
        match tokio::time::timeout(self.timeout, &mut self.answer).await {
            Ok(Ok(Answer::Deny)) => Verdict::Denied(ApprovedBy::Window),
            Ok(Ok(Answer::Approve | Answer::ApproveForAssistant)) => {
                Verdict::Approved(ApprovedBy::Window)
            }
            Ok(Err(_)) => Verdict::Unavailable("the approval queue closed".into()),
            Err(_) => Verdict::TimedOut(self.timeout),
        }
    }
}

impl Drop for Card<'_> {
    fn drop(&mut self) {
        self.queue.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn question(tool: &str, client: &str) -> Question {
        Question {
            call_id: 7,
            client: Some(client.into()),
            tenant: "https://tenant.example.com".into(),
            tool: tool.into(),
            title: "Delete Managed Object".into(),
            destructive: true,
            masked_arguments: json!({"objectType": "alpha_user", "objectId": "bjensen"}),
            arguments: json!({"objectType": "alpha_user", "objectId": "bjensen"}),
            subject: None,
            current: None,
            proposed: None,
        }
    }

    async fn first_card(q: &Approvals) -> ApprovalRequest {
        let mut rx = q.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().first() {
                return r.clone();
            }
            rx.changed().await.expect("open");
        }
    }

    #[tokio::test]
    async fn an_answer_must_name_the_arguments_shown_and_is_taken_once() {
        let q = Approvals::new();
        let wait = q.ask(question("deleteManagedObject", "Claude Code"), GRANT_FOR);
        let answer = async {
            let card = first_card(&q).await;
            assert_eq!(
                card.summary,
                "Claude Code wants to delete managed object alpha_user bjensen"
            );
            assert_eq!(
                q.answer(card.id, "0000", Answer::Approve),
                Err(AnswerError::Mismatch)
            );
            assert_eq!(q.waiting().len(), 1, "a mismatch leaves the card");
            q.answer(card.id, &card.digest, Answer::Deny)
                .expect("taken");
            assert_eq!(
                q.answer(card.id, &card.digest, Answer::Approve),
                Err(AnswerError::NotWaiting)
            );
        };
        let (verdict, ()) = tokio::join!(wait, answer);
        assert_eq!(verdict, Verdict::Denied(ApprovedBy::Window));
        assert!(q.waiting().is_empty());
    }

    #[tokio::test]
    async fn no_answer_in_time_is_a_denial_and_removes_the_card() {
        let q = Approvals::new();
        let verdict = q
            .ask(
                question("deleteManagedObject", "Cursor"),
                Duration::from_millis(100),
            )
            .await;
        assert_eq!(verdict, Verdict::TimedOut(Duration::from_millis(100)));
        assert!(q.waiting().is_empty());
    }

    #[tokio::test]
    async fn a_dropped_call_takes_its_card_with_it() {
        let q = Approvals::new();
        {
            let wait = q.ask(question("deleteManagedObject", "Cursor"), GRANT_FOR);
            tokio::pin!(wait);
            tokio::select! {
                _ = &mut wait => panic!("nobody answered"),
                _ = first_card(&q) => {}
            }
        }
        assert!(q.waiting().is_empty());
    }

    #[tokio::test]
    async fn approve_for_this_assistant_covers_that_tool_assistant_and_tenant_only() {
        let q = Approvals::new();
        let wait = q.ask(question("deleteManagedObject", "Cursor"), GRANT_FOR);
        let answer = async {
            let card = first_card(&q).await;
            q.answer(card.id, &card.digest, Answer::ApproveForAssistant)
                .expect("taken");
        };
        let (verdict, ()) = tokio::join!(wait, answer);
        assert_eq!(verdict, Verdict::Approved(ApprovedBy::Window));
        assert_eq!(
            q.ask(question("deleteManagedObject", "Cursor"), GRANT_FOR)
                .await,
            Verdict::Approved(ApprovedBy::Grant)
        );
        // Another assistant, or another tool, is asked again.
        for (tool, client) in [
            ("deleteManagedObject", "Claude Code"),
            ("deleteTheme", "Cursor"),
        ] {
            let r = tokio::time::timeout(
                Duration::from_millis(50),
                q.ask(question(tool, client), GRANT_FOR),
            )
            .await;
            assert!(r.is_err(), "{tool} for {client} waits");
        }
        // The same tool and assistant on another tenant (another profile) is asked again.
        let other = Question {
            tenant: "https://other-tenant.example.com".into(),
            ..question("deleteManagedObject", "Cursor")
        };
        let r = tokio::time::timeout(Duration::from_millis(50), q.ask(other, GRANT_FOR)).await;
        assert!(r.is_err(), "a grant on one tenant does not cover another");
        q.revoke_grants();
        let r = tokio::time::timeout(
            Duration::from_millis(50),
            q.ask(question("deleteManagedObject", "Cursor"), GRANT_FOR),
        )
        .await;
        assert!(r.is_err(), "revoked");
    }
}
