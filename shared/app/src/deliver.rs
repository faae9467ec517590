//! Delivering an event: the owner's Slack message, the team channel's summary, the manager's
//! alert for a breach ([`message`] has which event goes where), signed webhooks
//! to subscribers and (when switched on) email — each exactly once.
//!
//! # Exactly once
//! SNS delivers at least once. Each delivery is keyed by (lead, event occurrence, channel) and
//! claimed with a conditional write before sending: a redelivered event finds the claim and
//! sends nothing on that channel. A failed send releases its claim, so a retry can send it.
//!
//! # Failures
//! Each send is retried within the invocation's remaining time: after a 429 as long as the
//! receiver asked (`Retry-After`), after a 5xx or network error with exponential backoff and
//! jitter. When a channel still fails, the other channels are still served, and then the
//! invocation fails, so Lambda retries the event and finally puts it in the dead-letter queue
//! for redrive. A permanent failure (a refused channel, a subscriber that answers 410) is also
//! recorded on the lead, announced as `lead.notification_failed` (which this function posts to
//! the team channel) and counted in the `NotificationFailures` metric: never dropped silently.
//!
//! A send whose confirmation cannot be recorded is retried on the ledger within the deadline; if
//! the ledger stays down, the key is remembered by this process (a warm function handles the
//! retry of its own event) and never sent again by it, and the claim's lease still covers the
//! invocation's own retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::HashSet;
use std::sync::Mutex;

use baton_adapters::metrics;
use baton_adapters::retry::{Backoff, with_retries};
use baton_adapters::webhook::Subscriber;
use baton_adapters::{ChatNotifier, Clock, DeliveryKey, DeliveryLedger, EventPublisher, LeadRepository, WebhookSender};
use baton_domain::{EventType, LeadEvent, NotificationFailure};

use crate::lead::{Outcome, transition};
use crate::measure::Measure;
use crate::message;
use sha2::{Digest, Sha256};

/// Why an event was not (fully) delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The SNS message is not a lead event; it will never succeed.
    #[error("message {message_id} is not a lead event: {reason}")]
    Malformed { message_id: String, reason: String },
    /// The claim store failed; retrying the event may succeed.
    #[error("delivery of {key} failed: {source}")]
    Adapter { key: String, source: baton_adapters::Error },
    /// Some channels could not be served; the others were. Retrying the event retries only these.
    #[error("not delivered on {}: {}", .failed.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", "), .failed.iter().map(|(_, e)| e.to_string()).collect::<Vec<_>>().join("; "))]
    Undelivered { failed: Vec<(String, baton_adapters::Error)> },
}

/// What happened on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent on `channel` (such as `slack:U0AVERY001`, `slack:C0SALESTEAM`, `webhook:crm`).
    Sent(String),
    /// Sent before on `channel`: nothing was sent.
    Duplicate(String),
}

/// A message to send on one channel.
enum Outgoing<'a> {
    /// The owner's own message (to them, or to the channel standing in for them).
    Owner(serde_json::Value),
    Chat(serde_json::Value),
    Email(serde_json::Value),
    Webhook {
        subscriber: &'a Subscriber,
        id: String,
        body: String,
    },
}

/// Where webhooks go: the sender and the subscribers.
type Webhooks = (Arc<dyn WebhookSender>, Arc<Vec<Subscriber>>);

/// The deliver use case and what it needs.
#[derive(Clone)]
pub struct Notify {
    ledger: Arc<dyn DeliveryLedger>,
    repo: Arc<dyn LeadRepository>,
    /// Sent, but the ledger could not record it: never sent again by this process.
    unconfirmed: Arc<Mutex<HashSet<DeliveryKey>>>,
    slack: Arc<dyn ChatNotifier>,
    clock: Arc<dyn Clock>,
    webhooks: Option<Webhooks>,
    email: Option<Arc<dyn ChatNotifier>>,
    alerts: Option<Arc<dyn EventPublisher>>,
    measure: Option<Measure>,
    default_channel: Option<String>,
    backoff: Backoff,
}

/// How long before the Lambda's deadline retrying stops, leaving time to record and answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// How long a delivery claim holds while its send is under way: longer than the function's
/// timeout (30 s), shorter than Lambda's first retry of a failed event (about a minute). An
/// invocation that dies mid-send leaves a claim the retry can take.
pub const CLAIM_LEASE: chrono::Duration = chrono::Duration::seconds(40);

impl Notify {
    /// Delivers through `slack`, claiming each delivery on `ledger` and recording permanent
    /// failures on the lead in `repo`.
    pub fn new(
        ledger: Arc<dyn DeliveryLedger>,
        repo: Arc<dyn LeadRepository>,
        slack: Arc<dyn ChatNotifier>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            ledger,
            repo,
            unconfirmed: Arc::default(),
            slack,
            clock,
            webhooks: None,
            email: None,
            alerts: None,
            measure: None,
            default_channel: None,
            backoff: Backoff::default(),
        }
    }

    /// Also delivers events to webhook `subscribers` through `sender`.
    pub fn with_webhooks(mut self, sender: Arc<dyn WebhookSender>, subscribers: Vec<Subscriber>) -> Self {
        self.webhooks = Some((sender, Arc::new(subscribers)));
        self
    }

    /// Also emails owners who have an email address (off unless called).
    pub fn with_email(mut self, email: Arc<dyn ChatNotifier>) -> Self {
        self.email = Some(email);
        self
    }

    /// Announces permanent delivery failures as `lead.notification_failed` on `publisher`.
    pub fn with_alerts(mut self, publisher: Arc<dyn EventPublisher>) -> Self {
        self.alerts = Some(publisher);
        self
    }

    /// After each event, counts the lead in the handoff metrics ([`crate::measure`]).
    pub fn with_measure(mut self, measure: Measure) -> Self {
        self.measure = Some(measure);
        self
    }

    /// Sends owner messages for owners without a Slack id to `channel`.
    pub fn with_default_channel(mut self, channel: Option<String>) -> Self {
        self.default_channel = channel;
        self
    }

    /// Retries transient failures with `backoff` (tests use a short one).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Everything to send for `event`: (channel, message).
    fn plan<'a>(&'a self, event: &LeadEvent) -> Vec<(String, Outgoing<'a>)> {
        let mut out = Vec::new();
        let decision = event.lead().decision.as_ref();
        if let Some(mut message) = message::render(event) {
            // The owner directly; else the default channel; else the team channel, which then
            // gets the full message instead of the summary.
            let target = decision
                .and_then(|d| d.owner.slack.clone())
                .or_else(|| self.default_channel.clone())
                .or_else(|| decision.and_then(|d| d.team_channel.clone()));
            if let Some(channel) = &target {
                message["channel"] = channel.as_str().into();
            }
            out.push((format!("slack:{}", target.as_deref().unwrap_or("default")), Outgoing::Owner(message.clone())));
            if self.email.is_some()
                && let Some(address) = decision.and_then(|d| d.owner.email.as_deref())
            {
                let mut message = message.clone();
                message["channel"] = address.into();
                out.push((format!("email:{address}"), Outgoing::Email(message)));
            }
        }
        let team = decision.and_then(|d| d.team_channel.clone()).or_else(|| self.default_channel.clone());
        let team_message = match event.kind {
            EventType::NotificationFailed => message::alert(event),
            _ => message::summary(event),
        };
        if let (Some(team), Some(mut message)) = (team, team_message) {
            let key = format!("slack:{team}");
            // An owner whose Slack target is the team channel itself gets the full message only.
            if !out.iter().any(|(k, _)| *k == key) {
                message["channel"] = team.as_str().into();
                out.push((key, Outgoing::Chat(message)));
            }
        }
        // A breach also goes to the team's manager, directly.
        if let (Some(manager), Some(mut message)) =
            (decision.and_then(|d| d.manager.clone()), message::manager_alert(event))
        {
            let key = format!("slack:{manager}");
            if !out.iter().any(|(k, _)| *k == key) {
                message["channel"] = manager.as_str().into();
                out.push((key, Outgoing::Chat(message)));
            }
        }
        if let Some((_, subscribers)) = &self.webhooks {
            let event_type = event.event_type().as_str();
            for s in subscribers.iter().filter(|s| s.wants(event_type)) {
                let channel = format!("webhook:{}", s.id);
                let key = DeliveryKey::new(event, &channel);
                let id = format!("msg_{}", &hex::encode(Sha256::digest(key.as_str().as_bytes()))[..32]);
                out.push((
                    channel,
                    Outgoing::Webhook { subscriber: s, id, body: event.webhook_body(self.clock.now()) },
                ));
            }
        }
        out
    }

    /// Delivers `event` on every channel it goes to, each at most once.
    pub async fn deliver(&self, event: &LeadEvent, deadline: Instant) -> Result<Vec<Delivery>, NotifyError> {
        let deadline = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
        let mut done = Vec::new();
        let mut failed = Vec::new();
        for (channel, outgoing) in self.plan(event) {
            if Instant::now() >= deadline {
                // No time to send: leave the channel unclaimed for the retry.
                failed.push((
                    channel,
                    baton_adapters::Error::Unavailable {
                        service: "notify",
                        detail: "no time left in this invocation".into(),
                    },
                ));
                continue;
            }
            let key = DeliveryKey::new(event, &channel);
            if self.was_sent(&key).await {
                tracing::info!(key = key.as_str(), "sent before (confirmation pending); skipping");
                done.push(Delivery::Duplicate(channel));
                continue;
            }
            let claimed = self
                .ledger
                .claim(&key, self.clock.now(), CLAIM_LEASE)
                .await
                .map_err(|source| NotifyError::Adapter { key: key.as_str().to_owned(), source })?;
            if !claimed {
                tracing::info!(key = key.as_str(), "already delivered (or being delivered); skipping");
                done.push(Delivery::Duplicate(channel));
                continue;
            }
            let sent = with_retries(deadline, self.backoff, || async {
                let attempt = async {
                    match &outgoing {
                        Outgoing::Owner(m) | Outgoing::Chat(m) => self.slack.post(m).await,
                        Outgoing::Email(m) => match &self.email {
                            Some(email) => email.post(m).await,
                            None => Ok(()),
                        },
                        Outgoing::Webhook { subscriber, id, body } => match &self.webhooks {
                            Some((sender, _)) => sender.send(subscriber, id, body).await,
                            None => Ok(()),
                        },
                    }
                };
                // No attempt runs past the deadline: the claim is released in time for the retry.
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::timeout(left, attempt).await.unwrap_or_else(|_| {
                    Err(baton_adapters::Error::Unavailable {
                        service: "notify",
                        detail: "the send ran out of time".into(),
                    })
                })
            })
            .await;
            match sent {
                Ok(attempts) => {
                    tracing::info!(key = key.as_str(), attempts = attempts.made, "delivered");
                    let sent_at = self.clock.now();
                    let owner_notified = matches!(outgoing, Outgoing::Owner(_)) && event.kind == EventType::Assigned;
                    if owner_notified {
                        metrics::latency("notify", sent_at - event.lead.captured_at);
                    }
                    // The delivery is recorded first: the notification time waits on it, not the reverse.
                    self.confirm(&key, deadline).await;
                    if owner_notified {
                        self.notified(event, sent_at).await;
                    }
                    done.push(Delivery::Sent(channel));
                }
                Err((error, attempts)) => {
                    tracing::error!(key = key.as_str(), attempts = attempts.made, error = %error, "delivery failed; releasing the claim for a retry");
                    if let Err(release) = self.ledger.release(&key).await {
                        // The lease runs out before Lambda's retry, which then claims it again.
                        tracing::error!(key = key.as_str(), error = %release, "could not release the claim");
                    }
                    if !error.is_retryable() {
                        self.surface(event, &channel, &error).await;
                    }
                    failed.push((channel, error));
                }
            }
        }
        if let Some(measure) = &self.measure {
            // A retry of the event measures again; deliveries already made are not repeated.
            measure.lead(event.lead_id()).await.map_err(|source| NotifyError::Adapter {
                key: format!("metrics of lead {}", event.lead_id()),
                source,
            })?;
        }
        if failed.is_empty() { Ok(done) } else { Err(NotifyError::Undelivered { failed }) }
    }

    /// Records on the lead that its owner was notified `at` (the first time only): where the
    /// system's part of its time to first touch ends. A failure is logged: the decision time
    /// then stands in for it.
    async fn notified(&self, event: &LeadEvent, at: baton_domain::Timestamp) {
        match transition(self.repo.as_ref(), event.lead_id(), |lead| lead.notified(at)).await {
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not record when the owner was notified"),
        }
    }

    /// Records a sent delivery on the ledger, retrying within `deadline`. If the ledger stays
    /// unavailable, the key is remembered here so this process never sends it again, and the
    /// confirmation is tried again whenever the key comes up.
    async fn confirm(&self, key: &DeliveryKey, deadline: Instant) {
        let confirmed = with_retries(deadline, self.backoff, || self.ledger.confirm(key)).await;
        if let Err((e, _)) = confirmed {
            tracing::error!(key = key.as_str(), error = %e, "sent, but the ledger could not record it; remembered here");
            self.unconfirmed.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone());
        }
    }

    /// Whether `key` was sent by this process without the ledger recording it (trying to record
    /// it again now).
    async fn was_sent(&self, key: &DeliveryKey) -> bool {
        let known = self.unconfirmed.lock().unwrap_or_else(|p| p.into_inner()).contains(key);
        if known && self.ledger.confirm(key).await.is_ok() {
            self.unconfirmed.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        }
        known
    }

    /// Records a permanent failure on the lead, and the first time, announces it and counts it
    /// (failures to deliver an announcement are recorded only: they would announce themselves).
    async fn surface(&self, event: &LeadEvent, channel: &str, error: &baton_adapters::Error) {
        let failure = NotificationFailure {
            event: event.event_type().as_str().to_owned(),
            channel: channel.to_owned(),
            error: error.to_string(),
            at: self.clock.now(),
        };
        let recorded =
            transition(self.repo.as_ref(), event.lead_id(), |lead| Ok(lead.with_notification_failure(failure.clone())))
                .await;
        let lead = match recorded {
            Ok(Outcome::Applied { transition, .. }) => baton_domain::LeadView::of(&transition.lead),
            Ok(_) => event.lead().clone(),
            Err(e) => {
                tracing::error!(error = %e, "could not record the failure on the lead");
                event.lead().clone()
            }
        };
        if event.kind == EventType::NotificationFailed {
            return;
        }
        // Lambda retries the event twice more: announce and count the failure once.
        let once = DeliveryKey::new(event, &format!("alert:{channel}"));
        match self.ledger.claim(&once, self.clock.now(), chrono::Duration::days(3650)).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "could not check whether the failure was announced"),
        }
        let kind = channel.split(':').next().unwrap_or("unknown");
        metrics::count("NotificationFailures", ("Channel", kind), 1.0);
        if let Some(alerts) = &self.alerts
            && let Err(e) = alerts.publish(&LeadEvent::notification_failed(&lead, failure)).await
        {
            tracing::error!(error = %e, "could not publish the failure alert");
        }
    }
}
