//! In-process twins of every port: the same contracts, no services. Used by unit tests and by
//! the local runner when no AWS endpoint is configured.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use baton_domain::{
    Account, Decision, Lead, LeadEvent, LeadId, LeadStatus, NotificationFailure, Ruleset, Timestamp, Touch, Touched,
    WaitKind,
};
use tokio::sync::{Notify, mpsc};

use crate::Error;
use crate::ports::{
    AccountDirectory, Captured, ChatNotifier, Clock, DeliveryKey, EventPublisher, Idempotency, LeadStore, PoolCounters,
    QueueMessage, Recorded, RulesetStore, RulesetVersion, WorkQueue,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated (each update is one
    // statement), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A [`LeadStore`] in a map.
#[derive(Debug, Default)]
pub struct MemoryLeadStore {
    leads: Mutex<HashMap<LeadId, Lead>>,
    /// identity → lead, and idempotency key → (lead, fingerprint); guarded by `leads`' lock order.
    keys: Mutex<Keys>,
    /// key → `None` once sent, or the lease of a pending claim.
    deliveries: Mutex<HashMap<DeliveryKey, Option<Timestamp>>>,
    /// owner → open leads held against their cap; taken after `leads`.
    open: Mutex<HashMap<String, u32>>,
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
        lock(&self.leads).values().cloned().collect()
    }
}

#[async_trait]
impl LeadStore for MemoryLeadStore {
    async fn capture(&self, lead: &Lead, idempotency: Option<&Idempotency>) -> Result<Captured, Error> {
        let mut leads = lock(&self.leads);
        let mut keys = lock(&self.keys);
        if let Some(idem) = idempotency
            && let Some((id, fingerprint, expires)) = keys.idempotency.get(&idem.key)
            && *expires >= lead.captured_at
        {
            return Ok(if *fingerprint == idem.fingerprint {
                Captured::Replayed(leads[id].clone())
            } else {
                Captured::KeyReused { lead_id: id.clone() }
            });
        }
        let identities = if lead.status == LeadStatus::Spam { Vec::new() } else { lead.identities() };
        let existing = identities.iter().find_map(|i| keys.identities.get(i)).cloned();
        let outcome = match existing {
            Some(id) => {
                let merged = leads[&id].clone().merged_with(lead);
                for identity in merged.identities() {
                    keys.identities.entry(identity).or_insert_with(|| id.clone());
                }
                leads.insert(id, merged.clone());
                Captured::Merged(merged)
            }
            None => {
                if leads.contains_key(&lead.id) {
                    return Err(Error::Rejected {
                        service: "memory store",
                        detail: format!("lead {} already exists", lead.id),
                    });
                }
                leads.insert(lead.id.clone(), lead.clone());
                for identity in identities {
                    keys.identities.insert(identity, lead.id.clone());
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

    async fn insert(&self, lead: &Lead) -> Result<(), Error> {
        let mut leads = lock(&self.leads);
        if leads.contains_key(&lead.id) {
            return Err(Error::Rejected {
                service: "memory store",
                detail: format!("lead {} already exists", lead.id),
            });
        }
        leads.insert(lead.id.clone(), lead.clone());
        Ok(())
    }

    async fn get(&self, id: &LeadId) -> Result<Option<Lead>, Error> {
        Ok(lock(&self.leads).get(id).cloned())
    }

    async fn record_decision(&self, id: &LeadId, decision: &Decision) -> Result<Recorded, Error> {
        let mut leads = lock(&self.leads);
        let Some(lead) = leads.get_mut(id) else {
            return Ok(Recorded::Missing);
        };
        if lead.status != LeadStatus::Captured {
            return Ok(Recorded::AlreadyDecided(lead.clone()));
        }
        if let Some(max) = decision.max_open.filter(|_| decision.status() == LeadStatus::Assigned) {
            let mut open = lock(&self.open);
            let held = open.entry(decision.owner.id.clone()).or_insert(0);
            if *held >= max {
                return Ok(Recorded::AtCapacity);
            }
            *held += 1;
        }
        *lead = lead.clone().assigned(decision.clone());
        Ok(Recorded::Applied(lead.clone()))
    }

    async fn overdue(&self, kind: WaitKind, now: Timestamp, limit: usize) -> Result<Vec<Lead>, Error> {
        let leads = lock(&self.leads);
        let mut due: Vec<(Timestamp, &Lead)> = leads
            .values()
            .filter_map(|l| l.awaiting().filter(|w| w.kind == kind && w.due_at <= now).map(|w| (w.due_at, l)))
            .collect();
        due.sort_by_key(|(at, _)| *at);
        Ok(due.into_iter().take(limit).map(|(_, l)| l.clone()).collect())
    }

    async fn record_escalation(&self, id: &LeadId, now: Timestamp) -> Result<Option<Lead>, Error> {
        let mut leads = lock(&self.leads);
        let Some(lead) = leads.get_mut(id) else {
            return Ok(None);
        };
        match lead.awaiting() {
            Some(w) if w.kind == WaitKind::FirstTouch && w.due_at <= now => {
                *lead = lead.clone().escalated(now);
                Ok(Some(lead.clone()))
            }
            _ => Ok(None),
        }
    }

    async fn record_touch(&self, id: &LeadId, touch: &Touch) -> Result<Touched, Error> {
        let mut leads = lock(&self.leads);
        let Some(lead) = leads.get_mut(id) else {
            return Ok(Touched::Missing);
        };
        let outcome = lead.clone().touch(touch.clone());
        if let Touched::First(l) | Touched::Again(l) = &outcome {
            if let (Touched::First(_), Some(d)) = (&outcome, lead.decision.as_ref().filter(|d| d.max_open.is_some())) {
                let mut open = lock(&self.open);
                let held = open.entry(d.owner.id.clone()).or_insert(0);
                *held = held.saturating_sub(1);
            }
            *lead = l.clone();
        }
        Ok(outcome)
    }

    async fn open_count(&self, owner: &str) -> Result<u32, Error> {
        Ok(lock(&self.open).get(owner).copied().unwrap_or(0))
    }

    async fn defer_announcement(&self, id: &LeadId, touch: &Touch) -> Result<(), Error> {
        if let Some(lead) = lock(&self.leads).get_mut(id) {
            *lead = lead.clone().with_unannounced(touch.clone());
        }
        Ok(())
    }

    async fn announced(&self, id: &LeadId, touch: &Touch) -> Result<(), Error> {
        if let Some(lead) = lock(&self.leads).get_mut(id) {
            *lead = lead.clone().announced(touch);
        }
        Ok(())
    }

    async fn claim_delivery(&self, key: &DeliveryKey, now: Timestamp, lease: chrono::Duration) -> Result<bool, Error> {
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

    async fn confirm_delivery(&self, key: &DeliveryKey) -> Result<(), Error> {
        lock(&self.deliveries).insert(key.clone(), None);
        Ok(())
    }

    async fn release_delivery(&self, key: &DeliveryKey) -> Result<(), Error> {
        lock(&self.deliveries).remove(key);
        Ok(())
    }

    async fn record_notification_failure(
        &self,
        id: &LeadId,
        failure: &NotificationFailure,
    ) -> Result<Option<Lead>, Error> {
        let mut leads = lock(&self.leads);
        Ok(leads.get_mut(id).map(|lead| {
            *lead = lead.clone().with_notification_failure(failure.clone());
            lead.clone()
        }))
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

/// [`PoolCounters`] in a map.
#[derive(Debug, Default)]
pub struct MemoryCounters {
    turns: Mutex<HashMap<String, u64>>,
    daily: Mutex<HashMap<(String, chrono::NaiveDate), u32>>,
}

impl MemoryCounters {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PoolCounters for MemoryCounters {
    async fn next(&self, pool: &str) -> Result<u64, Error> {
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
}

/// An [`AccountDirectory`] in a map.
#[derive(Debug, Default)]
pub struct MemoryAccounts(Mutex<HashMap<String, Account>>);

impl MemoryAccounts {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AccountDirectory for MemoryAccounts {
    async fn find_by_domain(&self, domain: &str) -> Result<Option<Account>, Error> {
        Ok(lock(&self.0).get(domain).cloned())
    }

    async fn put_accounts(&self, accounts: &[Account]) -> Result<(), Error> {
        let mut map = lock(&self.0);
        for a in accounts {
            map.insert(a.domain.clone(), a.clone());
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
        lock(&self.published).push(event.clone());
        if let Some(tx) = &self.subscriber {
            tx.send(event.clone()).map_err(|_| Error::unavailable("memory publisher", "the subscriber has stopped"))?;
        }
        Ok(())
    }
}

/// A [`WebhookSender`] that records what it sends (subscriber id, message id, body), for tests.
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
impl LeadStore for Outage {
    async fn capture(&self, _: &Lead, _: Option<&Idempotency>) -> Result<Captured, Error> {
        Err(self.error())
    }
    async fn insert(&self, _: &Lead) -> Result<(), Error> {
        Err(self.error())
    }
    async fn get(&self, _: &LeadId) -> Result<Option<Lead>, Error> {
        Err(self.error())
    }
    async fn record_decision(&self, _: &LeadId, _: &Decision) -> Result<Recorded, Error> {
        Err(self.error())
    }
    async fn overdue(&self, _: WaitKind, _: Timestamp, _: usize) -> Result<Vec<Lead>, Error> {
        Err(self.error())
    }
    async fn record_escalation(&self, _: &LeadId, _: Timestamp) -> Result<Option<Lead>, Error> {
        Err(self.error())
    }
    async fn record_touch(&self, _: &LeadId, _: &Touch) -> Result<Touched, Error> {
        Err(self.error())
    }
    async fn open_count(&self, _: &str) -> Result<u32, Error> {
        Err(self.error())
    }
    async fn defer_announcement(&self, _: &LeadId, _: &Touch) -> Result<(), Error> {
        Err(self.error())
    }
    async fn announced(&self, _: &LeadId, _: &Touch) -> Result<(), Error> {
        Err(self.error())
    }
    async fn claim_delivery(&self, _: &DeliveryKey, _: Timestamp, _: chrono::Duration) -> Result<bool, Error> {
        Err(self.error())
    }
    async fn confirm_delivery(&self, _: &DeliveryKey) -> Result<(), Error> {
        Err(self.error())
    }
    async fn release_delivery(&self, _: &DeliveryKey) -> Result<(), Error> {
        Err(self.error())
    }
    async fn record_notification_failure(&self, _: &LeadId, _: &NotificationFailure) -> Result<Option<Lead>, Error> {
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
    async fn find_by_domain(&self, _: &str) -> Result<Option<Account>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract;

    #[tokio::test]
    async fn the_memory_store_keeps_the_lead_store_contract() {
        contract::lead_store(&MemoryLeadStore::new()).await;
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_open_cap_contract() {
        contract::open_caps(&MemoryLeadStore::new()).await;
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
    async fn the_memory_rulesets_keep_the_ruleset_contract() {
        contract::rulesets(&MemoryRulesets::new()).await;
    }

    #[tokio::test]
    async fn the_memory_queue_keeps_the_work_queue_contract() {
        contract::work_queue(&MemoryQueue::new(Duration::from_millis(300)), Duration::from_millis(300)).await;
    }
}
