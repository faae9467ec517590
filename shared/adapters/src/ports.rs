//! The ports the use cases depend on, each named after what its callers need. Every method documents its contract; [`crate::contract`]
//! checks the implementations against it.

use std::time::Duration;

use async_trait::async_trait;
use baton_domain::metrics::{Aggregate, Contribution, Dimension, Period, Slice};
use baton_domain::{Account, Effect, Lead, LeadEvent, LeadId, Ruleset, Timestamp, WaitKind};

use crate::Error;

/// A lead as read, with the revision an update must find unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    pub lead: Lead,
    /// Every write increments it; [`LeadRepository::update`] writes only over this revision.
    pub revision: u64,
}

/// The outcome of [`LeadRepository::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// The lead and every counter effect were written, together.
    Applied,
    /// Someone changed the lead since it was read: nothing was written; read again.
    Stale,
    /// A [`Effect::TakeOpenSlot`] found the owner's slots all taken: nothing was written.
    AtCapacity,
}

/// The outcome of [`LeadRepository::capture`].
#[derive(Debug, Clone, PartialEq)]
pub enum Captured {
    /// A new lead was stored.
    Created(Lead),
    /// The person already had a lead; the submission was merged into it (the merged lead).
    Merged(Lead),
    /// The idempotency key was used before with the same body: the original lead as it is now.
    Replayed(Lead),
    /// The idempotency key was used before with a different body; nothing was written.
    KeyReused { lead_id: LeadId },
}

/// An idempotency key and the fingerprint of the request body it was first used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The key, scoped to its capture key (`<key id>:<key>`).
    pub key: String,
    /// A digest of the request body.
    pub fingerprint: String,
}

/// Identifies one delivery of one event about one lead on one channel, for exactly-once sending.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeliveryKey(String);

impl DeliveryKey {
    /// The key for delivering `event` on `channel` (such as `slack:U0AVERY001` or `webhook:crm`).
    pub fn new(event: &LeadEvent, channel: &str) -> Self {
        Self(format!("{}#{channel}", event.id))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where leads live. Writes are revision-guarded puts of what a domain transition computed; the
/// repository holds no business rule of its own.
#[async_trait]
pub trait LeadRepository: Send + Sync {
    /// Captures a submission, atomically and safely under concurrency:
    /// - with an `idempotency` key seen before, answers [`Captured::Replayed`] (same body) or
    ///   [`Captured::KeyReused`] (different body) and writes nothing;
    /// - when the person ([`Lead::identities`]) already has a lead, merges into it
    ///   ([`Lead::merge`]) and answers [`Captured::Merged`];
    /// - otherwise stores `lead` and answers [`Captured::Created`].
    ///
    /// Either way, the leads indexed under the same match keys (other than the one merged
    /// into) are recorded on the lead as its possible duplicates, with the reasons, and the lead
    /// is indexed under its own match keys.
    ///
    /// Spam leads are stored as they are, never merged and never claiming the identity.
    /// Either everything (lead, identity, idempotency record) is written or nothing is.
    async fn capture(&self, lead: &Lead, idempotency: Option<&Idempotency>) -> Result<Captured, Error>;

    /// The lead with this id and its revision, if any (read consistently).
    async fn read(&self, id: &LeadId) -> Result<Option<Versioned>, Error>;

    /// The lead with this id, if any.
    async fn get(&self, id: &LeadId) -> Result<Option<Lead>, Error> {
        Ok(self.read(id).await?.map(|v| v.lead))
    }

    /// Writes `next` over `current` only if the stored revision is still `current.revision`,
    /// together with the counter effects ([`Effect::TakeOpenSlot`], [`Effect::ReleaseOpenSlot`])
    /// in one atomic write; other effects are the caller's. [`Written::Stale`] or
    /// [`Written::AtCapacity`] when it did not apply (nothing written).
    async fn update(&self, current: &Versioned, next: &Lead, effects: &[Effect]) -> Result<Written, Error>;

    /// Up to `limit` other leads indexed under `lead`'s match keys ([`Lead::match_keys`]: its
    /// phone, its name at its company): the candidates for its possible duplicates, found in two
    /// reads whatever the table's size. [`LeadRepository::capture`] records those it finds on the
    /// captured lead ([`Lead::with_possible_duplicates`]); this finds those captured after it.
    async fn similar(&self, lead: &Lead, limit: usize) -> Result<Vec<Lead>, Error>;

    /// Up to `limit` leads whose `kind` wait was due at or before `now`, earliest first,
    /// found through the due-time index (never a scan of all leads).
    async fn overdue(&self, kind: WaitKind, now: Timestamp, limit: usize) -> Result<Vec<Lead>, Error>;
}

/// Exactly-once delivery: a claim per [`DeliveryKey`] before sending, confirmed after.
#[async_trait]
pub trait DeliveryLedger: Send + Sync {
    /// Claims the right to send `key` for `lease` from `now`. `true` for the first claim, and
    /// for a claim whose holder neither confirmed nor released it before its lease ran out (an
    /// invocation that died mid-send); `false` otherwise.
    async fn claim(&self, key: &DeliveryKey, now: Timestamp, lease: chrono::Duration) -> Result<bool, Error>;

    /// Marks a claimed delivery as sent: it is never claimed again.
    async fn confirm(&self, key: &DeliveryKey) -> Result<(), Error>;

    /// Gives up a claim after a failed send, so a redelivered event can try again.
    async fn release(&self, key: &DeliveryKey) -> Result<(), Error>;
}

/// The accounts leads are matched to.
#[async_trait]
pub trait AccountDirectory: Send + Sync {
    /// Every account indexed under one of `keys` ([`Account::index_keys`]: `domain:…`,
    /// `brand:…`, `name:…`), each once and as last imported, in at most two reads whatever the
    /// number of accounts. The caller chooses among them ([`baton_domain::account::match_account`]).
    async fn find(&self, keys: &[String]) -> Result<Vec<Account>, Error>;
    /// Adds or replaces accounts (keyed by `account_id`) and indexes each under its keys.
    async fn put_accounts(&self, accounts: &[Account]) -> Result<(), Error>;
}

/// A stored ruleset version, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesetVersion {
    pub version: u32,
    /// The ruleset's own `name`.
    pub name: String,
    pub saved_at: Timestamp,
    pub active: bool,
}

/// Versioned rulesets: saved (never changed after), activated explicitly, rolled back by
/// activating an older version.
#[async_trait]
pub trait RulesetStore: Send + Sync {
    /// Saves a (validated) ruleset as the next version, inactive; returns its version (1, 2, …).
    async fn save(&self, ruleset: &Ruleset, now: Timestamp) -> Result<u32, Error>;
    /// A saved version.
    async fn load(&self, version: u32) -> Result<Option<Ruleset>, Error>;
    /// Every saved version, oldest first.
    async fn list(&self) -> Result<Vec<RulesetVersion>, Error>;
    /// Makes `version` the one routing uses. `false` (and no change) when it does not exist.
    async fn activate(&self, version: u32) -> Result<bool, Error>;
    /// The active version and its ruleset; `None` before any activation.
    async fn active(&self) -> Result<Option<(u32, Ruleset)>, Error>;
}

/// Owners' capacity: shared round-robin turns per pool, daily new-lead slots, and the open-lead
/// slots that [`Effect::TakeOpenSlot`] and [`Effect::ReleaseOpenSlot`] move with a lead's write.
#[async_trait]
pub trait Capacity: Send + Sync {
    /// The pool's next pointer value (0, 1, 2, … across every caller), atomically.
    async fn next_turn(&self, pool: &str) -> Result<u64, Error>;

    /// Takes one of `member`'s `max` new-lead slots for `day` (their local date). `false` when
    /// all are taken: concurrent callers never take more than `max` between them.
    async fn claim_daily(&self, member: &str, day: chrono::NaiveDate, max: u32) -> Result<bool, Error>;

    /// Gives back a slot [`Capacity::claim_daily`] took, when the lead did not go to the
    /// member after all (the decision could not be recorded). Never goes below zero.
    async fn release_daily(&self, member: &str, day: chrono::NaiveDate) -> Result<(), Error>;

    /// How many open-lead slots `owner` holds (assigned leads not yet touched, when capped).
    async fn open_count(&self, owner: &str) -> Result<u32, Error>;
}

/// Request limits shared by every caller (every Lambda instance): a count per key and fixed
/// window, such as the polls of one handoff link in one minute.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request for `key` in the window that starts at `window_start` (a multiple of
    /// the window's length, so every caller names the same one) and lasts `window`; `false`,
    /// counting nothing, when `max` were already admitted in it. Concurrent callers never get
    /// more than `max` admissions between them.
    async fn admit(&self, key: &str, window_start: Timestamp, window: Duration, max: u32) -> Result<bool, Error>;
}

/// The handoff metrics, kept current as events happen: each lead's latest contribution
/// ([`Contribution`]), and per slice the counters of every lead in it. Reading a range costs
/// the slices read, never the leads in them.
#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// Records `contribution` (`None`: the lead counts nowhere) as lead `id`'s as of its
    /// `revision`, replacing the one recorded before: every slice changes by
    /// [`baton_domain::metrics::changes`], and the slices and the lead's record change together
    /// or not at all. `false`, and nothing written, when the revision recorded is as new or
    /// newer (a redelivered event, or a later one counted first): safe to call again and again.
    async fn record(&self, id: &LeadId, revision: u64, contribution: Option<&Contribution>) -> Result<bool, Error>;

    /// The aggregates of `dimension` per `period` whose period starts within `from..=to`, each
    /// with its slice, in start order (and by value within a start). Slices no lead is in are
    /// absent.
    async fn aggregates(
        &self,
        period: Period,
        dimension: Dimension,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(Slice, Aggregate)>, Error>;

    /// Up to `limit` contributions of the leads captured on `day` (UTC) that count somewhere, in
    /// lead id order, after `after`: the lead-level export, a page at a time.
    async fn contributions(
        &self,
        day: chrono::NaiveDate,
        after: Option<&LeadId>,
        limit: usize,
    ) -> Result<Vec<(LeadId, Contribution)>, Error>;
}

/// A message taken from a [`WorkQueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub message_id: String,
    /// Pass to [`WorkQueue::delete`] once the message is handled.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

/// A queue with at-least-once delivery: a received message reappears unless deleted in time.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Enqueues a message.
    async fn send(&self, body: &str) -> Result<(), Error>;
    /// Waits up to `wait` for messages and takes up to `max` (at most 10) of them.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<QueueMessage>, Error>;
    /// Removes a received message for good.
    async fn delete(&self, receipt: &str) -> Result<(), Error>;
}

/// Publishes lead events to subscribers (notify, and whoever else subscribes).
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes `event`; its type travels as the `event_type` attribute.
    async fn publish(&self, event: &LeadEvent) -> Result<(), Error>;
}

/// Posts chat messages (Slack, or email behind the same port).
#[async_trait]
pub trait ChatNotifier: Send + Sync {
    /// Sends the message, a Slack `chat.postMessage` body (`channel`, `text`, `blocks`).
    /// [`Error::Throttled`] on a 429 (wait as asked), [`Error::Unavailable`] when a retry may
    /// succeed (5xx, network), [`Error::Rejected`] when it will not (4xx, unknown channel).
    async fn post(&self, message: &serde_json::Value) -> Result<(), Error>;

    /// Replaces an interactive message through the `response_url` of a button press. Channels
    /// without interactive messages refuse it.
    async fn respond(&self, response_url: &str, message: &serde_json::Value) -> Result<(), Error> {
        let _ = (response_url, message);
        Err(Error::Rejected { service: "chat", detail: "this channel has no interactive messages".into() })
    }
}

/// Delivers events to outbound webhook subscribers.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `body` to `subscriber`, signed, as message `id` (the same id on every retry of the
    /// same event). Errors are classified like [`ChatNotifier::post`]'s, with
    /// [`Error::Throttled`] for a 429.
    async fn send(&self, subscriber: &crate::webhook::Subscriber, id: &str, body: &str) -> Result<(), Error>;
}

/// The current time, injectable so tests control the SLA clock.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}
