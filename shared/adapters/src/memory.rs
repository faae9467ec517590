//! In-process twins of every port: the same contracts, no services. Used by unit tests and by
//! the local runner when no AWS endpoint is configured.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use baton_domain::metrics::{self, Aggregate, Contribution, Counters, Dimension, Period, Slice};
use baton_domain::{Account, Effect, Lead, LeadEvent, LeadId, Ruleset, Stage, Timestamp, WaitKind};
use tokio::sync::{Notify, mpsc};

use crate::Error;
use crate::ports::{
    AccountDirectory, Capacity, Captured, ChatNotifier, Clock, DeliveryKey, DeliveryLedger, EventPublisher,
    Idempotency, LeadRepository, MetricsStore, QueueMessage, RulesetStore, RulesetVersion, Versioned, WorkQueue,
    Written,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated (each update is one
    // statement), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Owner → open-lead slots held, shared by a [`MemoryLeadStore`] (which moves them with a
/// lead's write) and the [`MemoryCounters`] that read them.
pub type OpenSlots = Arc<Mutex<HashMap<String, u32>>>;

/// A [`LeadRepository`] in a map.
#[derive(Debug, Default)]
pub struct MemoryLeadStore {
    /// id → (lead, revision).
    leads: Mutex<HashMap<LeadId, (Lead, u64)>>,
    /// identity → lead, and idempotency key → (lead, fingerprint); taken after `leads`.
    keys: Mutex<Keys>,
    /// Taken after `leads`.
    open: OpenSlots,
}

#[derive(Debug, Default)]
struct Keys {
    identities: HashMap<String, LeadId>,
    idempotency: HashMap<String, (LeadId, String, Timestamp)>,
}

impl MemoryLeadStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored lead (for tests and the local runner's summary).
    pub fn all(&self) -> Vec<Lead> {
        lock(&self.leads).values().map(|(l, _)| l.clone()).collect()
    }

    /// Puts `lead` in the store as it is, in whatever stage, replacing any lead with its id (for
    /// tests that start from a given stage; not part of the repository contract).
    pub fn seed(&self, lead: &Lead) {
        let mut leads = lock(&self.leads);
        let revision = leads.get(&lead.id).map_or(1, |(_, r)| r + 1);
        leads.insert(lead.id.clone(), (lead.clone(), revision));
    }

    /// Counters that read (and share) this store's open-lead slots.
    pub fn counters(&self) -> MemoryCounters {
        MemoryCounters { open: self.open.clone(), ..MemoryCounters::default() }
    }
}

#[async_trait]
impl LeadRepository for MemoryLeadStore {
    async fn capture(&self, lead: &Lead, idempotency: Option<&Idempotency>) -> Result<Captured, Error> {
        let mut leads = lock(&self.leads);
        let mut keys = lock(&self.keys);
        if let Some(idem) = idempotency
            && let Some((id, fingerprint, expires)) = keys.idempotency.get(&idem.key)
            && *expires >= lead.captured_at
        {
            return Ok(if *fingerprint == idem.fingerprint {
                Captured::Replayed(leads[id].0.clone())
            } else {
                Captured::KeyReused { lead_id: id.clone() }
            });
        }
        let identities = if lead.stage == Stage::Spam { Vec::new() } else { lead.identities() };
        // The person's lead: the email's owner; else the phone's, unless an email disagrees.
        let existing = identities
            .iter()
            .find_map(|i| keys.identities.get(i))
            .filter(|id| leads[*id].0.email == lead.email || leads[*id].0.same_person_by_phone(lead))
            .cloned();
        // Leads that may be the same person are recorded with the reason, never merged.
        let target = existing.as_ref().unwrap_or(&lead.id);
        let keys_of = |l: &Lead| if l.stage == Stage::Spam { Vec::new() } else { l.match_keys() };
        let match_keys = keys_of(lead);
        let candidates: Vec<&Lead> = leads
            .values()
            .map(|(l, _)| l)
            .filter(|l| l.id != *target && l.id != lead.id && keys_of(l).iter().any(|k| match_keys.contains(k)))
            .take(crate::dynamo::MAX_CANDIDATES)
            .collect();
        let lead = &lead.clone().with_possible_duplicates(candidates);
        let outcome = match existing {
            Some(id) => {
                let (current, revision) = leads[&id].clone();
                let merged = current.merge(lead).lead;
                for identity in merged.identities() {
                    keys.identities.entry(identity).or_insert_with(|| id.clone());
                }
                leads.insert(id, (merged.clone(), revision + 1));
                Captured::Merged(merged)
            }
            None => {
                if leads.contains_key(&lead.id) {
                    return Err(Error::Rejected {
                        service: "memory store",
                        detail: format!("lead {} already exists", lead.id),
                    });
                }
                leads.insert(lead.id.clone(), (lead.clone(), 1));
                for identity in identities {
                    // A phone someone else's lead holds stays with it: shared, not taken over.
                    keys.identities.entry(identity).or_insert_with(|| lead.id.clone());
                }
                Captured::Created(lead.clone())
            }
        };
        if let Some(idem) = idempotency {
            let (Captured::Created(l) | Captured::Merged(l)) = &outcome else { unreachable!("only writes reach here") };
            let expires = lead.captured_at + chrono::Duration::hours(crate::dynamo::IDEMPOTENCY_TTL_HOURS);
            keys.idempotency.insert(idem.key.clone(), (l.id.clone(), idem.fingerprint.clone(), expires));
        }
        Ok(outcome)
    }

    async fn read(&self, id: &LeadId) -> Result<Option<Versioned>, Error> {
        Ok(lock(&self.leads).get(id).map(|(lead, revision)| Versioned { lead: lead.clone(), revision: *revision }))
    }

    async fn similar(&self, lead: &Lead, limit: usize) -> Result<Vec<Lead>, Error> {
        let keys = lead.match_keys();
        let leads = lock(&self.leads);
        let mut found: Vec<&Lead> = leads
            .values()
            .map(|(l, _)| l)
            .filter(|l| l.id != lead.id && l.stage != Stage::Spam && l.match_keys().iter().any(|k| keys.contains(k)))
            .collect();
        found.sort_by_key(|l| l.captured_at);
        Ok(found.into_iter().take(limit).cloned().collect())
    }

    async fn update(&self, current: &Versioned, next: &Lead, effects: &[Effect]) -> Result<Written, Error> {
        let mut leads = lock(&self.leads);
        let mut open = lock(&self.open);
        match leads.get(&current.lead.id) {
            Some((_, revision)) if *revision == current.revision => {}
            _ => return Ok(Written::Stale),
        }
        for effect in effects {
            if let Effect::TakeOpenSlot { owner, max } = effect
                && open.get(owner).copied().unwrap_or(0) >= *max
            {
                return Ok(Written::AtCapacity);
            }
        }
        for effect in effects {
            match effect {
                Effect::TakeOpenSlot { owner, .. } => *open.entry(owner.clone()).or_insert(0) += 1,
                Effect::ReleaseOpenSlot { owner } => {
                    let n = open.entry(owner.clone()).or_insert(0);
                    *n = n.saturating_sub(1);
                }
                Effect::Publish(_) => {}
            }
        }
        leads.insert(next.id.clone(), (next.clone(), current.revision + 1));
        Ok(Written::Applied)
    }

    async fn overdue(&self, kind: WaitKind, now: Timestamp, limit: usize) -> Result<Vec<Lead>, Error> {
        let leads = lock(&self.leads);
        let mut due: Vec<(Timestamp, Lead)> = leads
            .values()
            .filter_map(|(lead, _)| {
                lead.awaiting().filter(|w| w.kind == kind && w.due_at <= now).map(|w| (w.due_at, lead.clone()))
            })
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(due.into_iter().take(limit).map(|(_, lead)| lead).collect())
    }
}

/// A [`DeliveryLedger`] in a map.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    /// key → `None` once sent, or the lease of a pending claim.
    deliveries: Mutex<HashMap<DeliveryKey, Option<Timestamp>>>,
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DeliveryLedger for MemoryLedger {
    async fn claim(&self, key: &DeliveryKey, now: Timestamp, lease: chrono::Duration) -> Result<bool, Error> {
        let mut deliveries = lock(&self.deliveries);
        match deliveries.get(key) {
            Some(None) => Ok(false),
            Some(Some(until)) if *until >= now => Ok(false),
            _ => {
                deliveries.insert(key.clone(), Some(now + lease));
                Ok(true)
            }
        }
    }

    async fn confirm(&self, key: &DeliveryKey) -> Result<(), Error> {
        lock(&self.deliveries).insert(key.clone(), None);
        Ok(())
    }

    async fn release(&self, key: &DeliveryKey) -> Result<(), Error> {
        let mut deliveries = lock(&self.deliveries);
        if deliveries.get(key).is_some_and(Option::is_some) {
            deliveries.remove(key);
        }
        Ok(())
    }
}

/// A [`RulesetStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryRulesets {
    versions: Mutex<Vec<(Ruleset, Timestamp)>>,
    active: Mutex<Option<u32>>,
}

impl MemoryRulesets {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl RulesetStore for MemoryRulesets {
    async fn save(&self, ruleset: &Ruleset, now: Timestamp) -> Result<u32, Error> {
        let mut versions = lock(&self.versions);
        versions.push((ruleset.clone(), now));
        Ok(versions.len() as u32)
    }

    async fn load(&self, version: u32) -> Result<Option<Ruleset>, Error> {
        let index = (version as usize).checked_sub(1);
        Ok(index.and_then(|i| lock(&self.versions).get(i).map(|(r, _)| r.clone())))
    }

    async fn list(&self) -> Result<Vec<RulesetVersion>, Error> {
        let active = *lock(&self.active);
        Ok(lock(&self.versions)
            .iter()
            .enumerate()
            .map(|(i, (r, at))| {
                let version = i as u32 + 1;
                RulesetVersion { version, name: r.name.clone(), saved_at: *at, active: active == Some(version) }
            })
            .collect())
    }

    async fn activate(&self, version: u32) -> Result<bool, Error> {
        if version == 0 || version as usize > lock(&self.versions).len() {
            return Ok(false);
        }
        *lock(&self.active) = Some(version);
        Ok(true)
    }

    async fn active(&self) -> Result<Option<(u32, Ruleset)>, Error> {
        let Some(version) = *lock(&self.active) else { return Ok(None) };
        Ok(self.load(version).await?.map(|r| (version, r)))
    }
}

/// [`Capacity`] in maps.
#[derive(Debug, Default)]
pub struct MemoryCounters {
    turns: Mutex<HashMap<String, u64>>,
    daily: Mutex<HashMap<(String, chrono::NaiveDate), u32>>,
    open: OpenSlots,
    limits: Mutex<HashMap<(String, Timestamp), u32>>,
}

#[async_trait]
impl crate::ports::RateLimiter for MemoryCounters {
    async fn admit(&self, key: &str, window_start: Timestamp, window: Duration, max: u32) -> Result<bool, Error> {
        let mut limits = lock(&self.limits);
        // Windows that have ended are forgotten, as the table's TTL forgets them.
        let ended = window_start - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::zero());
        limits.retain(|(_, start), _| *start > ended);
        let taken = limits.entry((key.to_owned(), window_start)).or_insert(0);
        if *taken >= max {
            return Ok(false);
        }
        *taken += 1;
        Ok(true)
    }
}

impl MemoryCounters {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Capacity for MemoryCounters {
    async fn next_turn(&self, pool: &str) -> Result<u64, Error> {
        let mut map = lock(&self.turns);
        let n = map.entry(pool.to_owned()).or_insert(0);
        let value = *n;
        *n += 1;
        Ok(value)
    }

    async fn claim_daily(&self, member: &str, day: chrono::NaiveDate, max: u32) -> Result<bool, Error> {
        let mut daily = lock(&self.daily);
        let taken = daily.entry((member.to_owned(), day)).or_insert(0);
        if *taken >= max {
            return Ok(false);
        }
        *taken += 1;
        Ok(true)
    }

    async fn release_daily(&self, member: &str, day: chrono::NaiveDate) -> Result<(), Error> {
        if let Some(taken) = lock(&self.daily).get_mut(&(member.to_owned(), day)) {
            *taken = taken.saturating_sub(1);
        }
        Ok(())
    }

    async fn open_count(&self, owner: &str) -> Result<u32, Error> {
        Ok(lock(&self.open).get(owner).copied().unwrap_or(0))
    }
}

/// An [`AccountDirectory`] in maps: accounts by id, and ids by index key.
#[derive(Debug, Default)]
pub struct MemoryAccounts(Mutex<AccountMaps>);

/// Accounts by id, and the ids indexed under each key.
type AccountMaps = (HashMap<String, Account>, HashMap<String, std::collections::BTreeSet<String>>);

impl MemoryAccounts {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AccountDirectory for MemoryAccounts {
    async fn find(&self, keys: &[String]) -> Result<Vec<Account>, Error> {
        let state = lock(&self.0);
        let (accounts, index) = &*state;
        let mut ids: Vec<&String> = Vec::new();
        for id in keys.iter().filter_map(|k| index.get(k)).flatten() {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids.into_iter().filter_map(|id| accounts.get(id).cloned()).collect())
    }

    async fn put_accounts(&self, accounts: &[Account]) -> Result<(), Error> {
        let mut state = lock(&self.0);
        let (stored, index) = &mut *state;
        for a in accounts {
            for key in a.index_keys() {
                index.entry(key).or_default().insert(a.account_id.clone());
            }
            stored.insert(a.account_id.clone(), a.clone());
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Stored {
    id: String,
    body: String,
    receive_count: u32,
}

#[derive(Debug, Default)]
struct QueueState {
    visible: VecDeque<Stored>,
    in_flight: HashMap<String, (Stored, Instant)>,
    next: u64,
}

/// A [`WorkQueue`] in memory, with SQS's visibility timeout: a received message that is not
/// deleted within the timeout becomes visible again.
#[derive(Debug)]
pub struct MemoryQueue {
    state: Mutex<QueueState>,
    arrived: Notify,
    visibility: Duration,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

impl MemoryQueue {
    /// A queue whose received messages reappear after `visibility` unless deleted.
    pub fn new(visibility: Duration) -> Self {
        Self { state: Mutex::new(QueueState::default()), arrived: Notify::new(), visibility }
    }

    /// How many messages are waiting or in flight.
    pub fn len(&self) -> usize {
        let s = lock(&self.state);
        s.visible.len() + s.in_flight.len()
    }

    /// Whether no message is waiting or in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take(&self, max: usize) -> Vec<QueueMessage> {
        let mut s = lock(&self.state);
        let now = Instant::now();
        let expired: Vec<String> =
            s.in_flight.iter().filter(|(_, (_, until))| *until <= now).map(|(r, _)| r.clone()).collect();
        for receipt in expired {
            if let Some((m, _)) = s.in_flight.remove(&receipt) {
                s.visible.push_back(m);
            }
        }
        let mut out = Vec::new();
        while out.len() < max.min(10) {
            let Some(mut m) = s.visible.pop_front() else {
                break;
            };
            m.receive_count += 1;
            s.next += 1;
            let receipt = format!("{}-{}", m.id, s.next);
            out.push(QueueMessage {
                message_id: m.id.clone(),
                receipt: receipt.clone(),
                body: m.body.clone(),
                receive_count: m.receive_count,
            });
            s.in_flight.insert(receipt, (m, now + self.visibility));
        }
        out
    }
}

#[async_trait]
impl WorkQueue for MemoryQueue {
    async fn send(&self, body: &str) -> Result<(), Error> {
        {
            let mut s = lock(&self.state);
            s.next += 1;
            let id = format!("msg-{}", s.next);
            s.visible.push_back(Stored { id, body: body.to_owned(), receive_count: 0 });
        }
        self.arrived.notify_waiters();
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<QueueMessage>, Error> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let arrived = self.arrived.notified();
            let got = self.take(max);
            if !got.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(got);
            }
            // Wake on a new message, or re-check periodically for expired visibility timeouts.
            let _ = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + Duration::from_millis(200)),
                arrived,
            )
            .await;
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), Error> {
        lock(&self.state).in_flight.remove(receipt);
        Ok(())
    }
}

/// An [`EventPublisher`] that keeps every event and forwards it to an optional subscriber.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    published: Mutex<Vec<LeadEvent>>,
    subscriber: Option<mpsc::UnboundedSender<LeadEvent>>,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }

    /// A publisher that also forwards each event to `subscriber`.
    pub fn with_subscriber(subscriber: mpsc::UnboundedSender<LeadEvent>) -> Self {
        Self { published: Mutex::default(), subscriber: Some(subscriber) }
    }

    /// Every event published so far.
    pub fn published(&self) -> Vec<LeadEvent> {
        lock(&self.published).clone()
    }
}

#[async_trait]
impl EventPublisher for MemoryPublisher {
    async fn publish(&self, event: &LeadEvent) -> Result<(), Error> {
        let size = event.to_json().len();
        if size > crate::sns::MAX_MESSAGE_BYTES {
            // SNS's own limit, so the twin refuses what SNS would.
            return Err(Error::Rejected {
                service: "memory publisher",
                detail: format!("{size} bytes is over 256 KiB"),
            });
        }
        lock(&self.published).push(event.clone());
        if let Some(tx) = &self.subscriber {
            tx.send(event.clone()).map_err(|_| Error::unavailable("memory publisher", "the subscriber has stopped"))?;
        }
        Ok(())
    }
}

/// A [`crate::ports::WebhookSender`] that records what it sends (subscriber id, message id, body), for tests.
#[derive(Debug, Default)]
pub struct RecordingWebhooks {
    sent: Mutex<Vec<(String, String, String)>>,
    failures: Mutex<VecDeque<Error>>,
}

impl RecordingWebhooks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next call to `send` fail with `error` (queued: call again for more failures).
    pub fn fail_next(&self, error: Error) {
        lock(&self.failures).push_back(error);
    }

    /// Every message sent successfully: (subscriber id, message id, body).
    pub fn sent(&self) -> Vec<(String, String, String)> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl crate::ports::WebhookSender for RecordingWebhooks {
    async fn send(&self, subscriber: &crate::webhook::Subscriber, id: &str, body: &str) -> Result<(), Error> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Err(error);
        }
        lock(&self.sent).push((subscriber.id.clone(), id.to_owned(), body.to_owned()));
        Ok(())
    }
}

/// A [`ChatNotifier`] that records messages; it can be told to fail the next sends.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    posted: Mutex<Vec<serde_json::Value>>,
    responses: Mutex<Vec<(String, serde_json::Value)>>,
    failures: Mutex<VecDeque<Error>>,
}

impl RecordingNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next call to `post` fail with `error` (queued: call again for more failures).
    pub fn fail_next(&self, error: Error) {
        lock(&self.failures).push_back(error);
    }

    /// Every message posted successfully.
    pub fn posted(&self) -> Vec<serde_json::Value> {
        lock(&self.posted).clone()
    }

    /// Every message replaced through a response URL: (URL, message).
    pub fn responses(&self) -> Vec<(String, serde_json::Value)> {
        lock(&self.responses).clone()
    }
}

#[async_trait]
impl ChatNotifier for RecordingNotifier {
    async fn post(&self, message: &serde_json::Value) -> Result<(), Error> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Err(error);
        }
        lock(&self.posted).push(message.clone());
        Ok(())
    }

    async fn respond(&self, response_url: &str, message: &serde_json::Value) -> Result<(), Error> {
        if let Some(error) = lock(&self.failures).pop_front() {
            return Err(error);
        }
        lock(&self.responses).push((response_url.to_owned(), message.clone()));
        Ok(())
    }
}

/// A [`Clock`] that stands still until moved.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        *lock(&self.0) += by;
    }

    /// Sets the clock to `at` (never backwards: an earlier `at` leaves it where it is).
    pub fn set(&self, at: Timestamp) {
        let mut now = lock(&self.0);
        *now = (*now).max(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *lock(&self.0)
    }
}

/// Every port, failing as if its service were down: each call answers [`Error::Unavailable`]
/// naming the service given. For tests of what handlers do during an outage.
#[derive(Debug, Clone, Copy)]
pub struct Outage(pub &'static str);

impl Outage {
    fn error(&self) -> Error {
        Error::unavailable(self.0, "connection refused")
    }
}

#[async_trait]
impl LeadRepository for Outage {
    async fn capture(&self, _: &Lead, _: Option<&Idempotency>) -> Result<Captured, Error> {
        Err(self.error())
    }
    async fn read(&self, _: &LeadId) -> Result<Option<Versioned>, Error> {
        Err(self.error())
    }
    async fn similar(&self, _: &Lead, _: usize) -> Result<Vec<Lead>, Error> {
        Err(self.error())
    }
    async fn update(&self, _: &Versioned, _: &Lead, _: &[Effect]) -> Result<Written, Error> {
        Err(self.error())
    }
    async fn overdue(&self, _: WaitKind, _: Timestamp, _: usize) -> Result<Vec<Lead>, Error> {
        Err(self.error())
    }
}

#[async_trait]
impl DeliveryLedger for Outage {
    async fn claim(&self, _: &DeliveryKey, _: Timestamp, _: chrono::Duration) -> Result<bool, Error> {
        Err(self.error())
    }
    async fn confirm(&self, _: &DeliveryKey) -> Result<(), Error> {
        Err(self.error())
    }
    async fn release(&self, _: &DeliveryKey) -> Result<(), Error> {
        Err(self.error())
    }
}

#[async_trait]
impl Capacity for Outage {
    async fn next_turn(&self, _: &str) -> Result<u64, Error> {
        Err(self.error())
    }
    async fn claim_daily(&self, _: &str, _: chrono::NaiveDate, _: u32) -> Result<bool, Error> {
        Err(self.error())
    }
    async fn release_daily(&self, _: &str, _: chrono::NaiveDate) -> Result<(), Error> {
        Err(self.error())
    }
    async fn open_count(&self, _: &str) -> Result<u32, Error> {
        Err(self.error())
    }
}

#[async_trait]
impl WorkQueue for Outage {
    async fn send(&self, _: &str) -> Result<(), Error> {
        Err(self.error())
    }
    async fn receive(&self, _: usize, _: Duration) -> Result<Vec<QueueMessage>, Error> {
        Err(self.error())
    }
    async fn delete(&self, _: &str) -> Result<(), Error> {
        Err(self.error())
    }
}

#[async_trait]
impl AccountDirectory for Outage {
    async fn find(&self, _: &[String]) -> Result<Vec<Account>, Error> {
        Err(self.error())
    }
    async fn put_accounts(&self, _: &[Account]) -> Result<(), Error> {
        Err(self.error())
    }
}

#[async_trait]
impl EventPublisher for Outage {
    async fn publish(&self, _: &LeadEvent) -> Result<(), Error> {
        Err(self.error())
    }
}

/// A [`MetricsStore`] in maps: each lead's revision and contribution, and each slice's counters.
#[derive(Debug, Default)]
pub struct MemoryMetrics {
    inner: Mutex<MetricsMaps>,
}

#[derive(Debug, Default)]
struct MetricsMaps {
    leads: HashMap<LeadId, (u64, Option<Contribution>)>,
    slices: std::collections::BTreeMap<Slice, Counters>,
}

impl MemoryMetrics {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl MetricsStore for MemoryMetrics {
    async fn record(&self, id: &LeadId, revision: u64, contribution: Option<&Contribution>) -> Result<bool, Error> {
        let mut maps = lock(&self.inner);
        let old = match maps.leads.get(id) {
            Some((recorded, _)) if *recorded >= revision => return Ok(false),
            Some((_, old)) => old.clone(),
            None => None,
        };
        for (slice, delta) in metrics::changes(old.as_ref(), contribution) {
            let counters = maps.slices.entry(slice).or_default();
            for (name, n) in delta {
                *counters.entry(name).or_default() += n;
            }
        }
        maps.leads.insert(id.clone(), (revision, contribution.cloned()));
        Ok(true)
    }

    async fn aggregates(
        &self,
        period: Period,
        dimension: Dimension,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(Slice, Aggregate)>, Error> {
        let maps = lock(&self.inner);
        let mut out: Vec<(Slice, Aggregate)> = maps
            .slices
            .iter()
            .filter(|(s, c)| {
                s.period == period
                    && s.dimension == dimension
                    && (from..=to).contains(&s.start)
                    && c.values().any(|n| *n != 0)
            })
            .map(|(s, c)| (s.clone(), Aggregate::from_counters(c)))
            .collect();
        out.sort_by(|(a, _), (b, _)| (a.start, &a.value).cmp(&(b.start, &b.value)));
        Ok(out)
    }

    async fn contributions(
        &self,
        day: chrono::NaiveDate,
        after: Option<&LeadId>,
        limit: usize,
    ) -> Result<Vec<(LeadId, Contribution)>, Error> {
        let maps = lock(&self.inner);
        let mut out: Vec<(LeadId, Contribution)> = maps
            .leads
            .iter()
            .filter_map(|(id, (_, c))| c.as_ref().map(|c| (id, c)))
            .filter(|(id, c)| c.facts.captured_at.date_naive() == day && after.is_none_or(|a| id.as_str() > a.as_str()))
            .map(|(id, c)| (id.clone(), c.clone()))
            .collect();
        out.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        out.truncate(limit);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;

    #[tokio::test]
    async fn the_memory_store_keeps_the_lead_store_contract() {
        let store = MemoryLeadStore::new();
        contract::lead_store(&store, &store.counters()).await;
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_open_cap_contract() {
        let store = MemoryLeadStore::new();
        contract::open_caps(&store, &store.counters()).await;
        contract::open_slot_moves(&store, &store.counters()).await;
    }

    #[tokio::test]
    async fn the_memory_ledger_keeps_the_delivery_contract() {
        contract::ledger(&MemoryLedger::new()).await;
    }

    #[tokio::test]
    async fn the_memory_publisher_keeps_the_publisher_contract() {
        let publisher = MemoryPublisher::new();
        contract::publisher(&publisher).await;
        assert_eq!(publisher.published().len(), 2);
    }

    #[tokio::test]
    async fn the_recording_twins_keep_the_chat_and_webhook_contracts() {
        let chat = RecordingNotifier::new();
        contract::chat(&chat).await;
        assert_eq!(chat.posted().len(), 1);
        let webhooks = RecordingWebhooks::new();
        let subscriber = crate::webhook::parse_subscribers(
            r#"[{"id":"crm","url":"https://crm.example/hooks","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]"#,
        )
        .unwrap()
        .remove(0);
        contract::webhooks(&webhooks, &subscriber).await;
        assert_eq!(webhooks.sent().len(), 1);
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_capture_contract() {
        contract::capture(&MemoryLeadStore::new()).await;
    }

    #[tokio::test]
    async fn the_memory_accounts_keep_the_account_contract() {
        contract::accounts(&MemoryAccounts::new()).await;
    }

    #[tokio::test]
    async fn the_memory_counters_keep_the_counter_contract() {
        contract::counters(&MemoryCounters::new()).await;
    }

    #[tokio::test]
    async fn the_memory_counters_keep_the_rate_limit_contract() {
        contract::rate_limits(&MemoryCounters::new()).await;
    }

    #[tokio::test]
    async fn the_memory_rulesets_keep_the_ruleset_contract() {
        contract::rulesets(&MemoryRulesets::new()).await;
    }

    #[tokio::test]
    async fn the_memory_metrics_keep_the_metrics_contract() {
        contract::metrics(&MemoryMetrics::new()).await;
    }

    #[tokio::test]
    async fn the_memory_queue_keeps_the_work_queue_contract() {
        contract::work_queue(&MemoryQueue::new(Duration::from_millis(300)), Duration::from_millis(300)).await;
    }
}
