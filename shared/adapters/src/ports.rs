//! The ports handlers depend on. Every method documents its contract; [`crate::contract`]
//! checks the implementations against it.

use std::time::Duration;

use async_trait::async_trait;
use baton_domain::{
    Account, Decision, Lead, LeadEvent, LeadId, NotificationFailure, Ruleset, Timestamp, Touch, Touched, WaitKind,
};

use crate::Error;

/// The outcome of [`LeadStore::record_decision`].
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// This call assigned the lead; the lead as now stored.
    Applied(Lead),
    /// The lead already had a decision (a replay, or a concurrent router won); the lead as stored.
    AlreadyDecided(Lead),
    /// The decision's owner already has their `max_open` open leads (another router took the
    /// last slot); nothing was written. Decide again with that owner full.
    AtCapacity,
    /// No lead has this id.
    Missing,
}

/// The outcome of [`LeadStore::capture`].
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
        Self(format!("{}#{}#{channel}", event.lead_id(), event.occurrence()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where leads live.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Captures a submission, atomically and safely under concurrency:
    /// - with an `idempotency` key seen before, answers [`Captured::Replayed`] (same body) or
    ///   [`Captured::KeyReused`] (different body) and writes nothing;
    /// - when the person ([`Lead::identity`]) already has a lead, merges into it
    ///   ([`Lead::merged_with`]) and answers [`Captured::Merged`];
    /// - otherwise stores `lead` and answers [`Captured::Created`].
    ///
    /// Spam leads are stored as they are, never merged and never claiming the identity.
    /// Either everything (lead, identity, idempotency record) is written or nothing is.
    async fn capture(&self, lead: &Lead, idempotency: Option<&Idempotency>) -> Result<Captured, Error>;

    /// Stores a new lead as it is, without identity or idempotency records (for imports and
    /// tests). Fails with [`Error::Rejected`] if a lead with this id exists (nothing is overwritten).
    async fn insert(&self, lead: &Lead) -> Result<(), Error>;

    /// The lead with this id, if any.
    async fn get(&self, id: &LeadId) -> Result<Option<Lead>, Error>;

    /// Records `decision` and marks the lead assigned, only if it is still captured.
    /// A replay is not an error: it answers [`Recorded::AlreadyDecided`] and changes nothing.
    /// With [`Decision::max_open`], the owner's open-lead count goes up by one in the same
    /// atomic write, unless it is at the cap ([`Recorded::AtCapacity`], nothing written):
    /// concurrent routers never give an owner more than `max_open` open leads.
    async fn record_decision(&self, id: &LeadId, decision: &Decision) -> Result<Recorded, Error>;

    /// Up to `limit` leads whose `kind` wait was due at or before `now`, earliest first,
    /// found through the due-time index (never a scan of all leads).
    async fn overdue(&self, kind: WaitKind, now: Timestamp, limit: usize) -> Result<Vec<Lead>, Error>;

    /// Marks an assigned lead whose first touch is overdue at `now` as escalated.
    /// Returns the updated lead, or `None` if it was no longer waiting (touched, escalated or not yet due).
    async fn record_escalation(&self, id: &LeadId, now: Timestamp) -> Result<Option<Lead>, Error>;

    /// Records `touch` ([`Lead::touch`]): the first stops the SLA clock and, with the same
    /// atomic write, frees the owner's open-lead slot when the decision took one; later ones
    /// are kept as activity. Concurrent touches never both count as the first.
    async fn record_touch(&self, id: &LeadId, touch: &Touch) -> Result<Touched, Error>;

    /// Keeps `touch` on the lead as not yet announced (its `lead.touched` could not be
    /// published); the lead then waits ([`WaitKind::Announce`]) until [`LeadStore::announced`].
    async fn defer_announcement(&self, id: &LeadId, touch: &Touch) -> Result<(), Error>;

    /// Marks `touch` announced: it no longer waits.
    async fn announced(&self, id: &LeadId, touch: &Touch) -> Result<(), Error>;

    /// How many open leads (assigned, not yet touched) `owner` holds against their `max_open` cap.
    async fn open_count(&self, owner: &str) -> Result<u32, Error>;

    /// Claims the right to send the delivery `key` for `lease` from `now`. `true` for the first
    /// claim, and for a claim whose holder neither confirmed nor released it before its lease ran
    /// out (an invocation that died mid-send); `false` otherwise.
    async fn claim_delivery(&self, key: &DeliveryKey, now: Timestamp, lease: chrono::Duration) -> Result<bool, Error>;

    /// Marks a claimed delivery as sent: it is never claimed again.
    async fn confirm_delivery(&self, key: &DeliveryKey) -> Result<(), Error>;

    /// Gives up a claim after a failed send, so a redelivered event can try again.
    async fn release_delivery(&self, key: &DeliveryKey) -> Result<(), Error>;

    /// Records on the lead that a notification could not be delivered, replacing an earlier
    /// failure of the same event on the same channel. The lead as now stored, or `None` if missing.
    async fn record_notification_failure(
        &self,
        id: &LeadId,
        failure: &NotificationFailure,
    ) -> Result<Option<Lead>, Error>;
}

/// The accounts leads are matched to.
#[async_trait]
pub trait AccountDirectory: Send + Sync {
    /// The account whose primary domain is `domain` (normalized, lower-case), if any.
    async fn find_by_domain(&self, domain: &str) -> Result<Option<Account>, Error>;
    /// Adds or replaces accounts (keyed by domain).
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

/// Shared round-robin pointers, one per pool: each call hands out the next number, atomically,
/// so concurrent routers never take the same slot.
#[async_trait]
pub trait PoolCounters: Send + Sync {
    /// The pool's next pointer value (0, 1, 2, … across every caller).
    async fn next(&self, pool: &str) -> Result<u64, Error>;

    /// Takes one of `member`'s `max` new-lead slots for `day` (their local date). `false` when
    /// all are taken: concurrent callers never take more than `max` between them.
    async fn claim_daily(&self, member: &str, day: chrono::NaiveDate, max: u32) -> Result<bool, Error>;

    /// Gives back a slot [`PoolCounters::claim_daily`] took, when the lead did not go to the
    /// member after all (the decision could not be recorded). Never goes below zero.
    async fn release_daily(&self, member: &str, day: chrono::NaiveDate) -> Result<(), Error>;
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
