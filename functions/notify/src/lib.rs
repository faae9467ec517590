//! Notify: SNS lead events → one Slack message per event, exactly once.
//!
//! SNS delivers at least once. Before sending, the handler claims the delivery
//! `(lead, event type, channel)` with a conditional write: a redelivered event finds the claim
//! and sends nothing. If the send fails, the claim is released and the invocation fails, so
//! SNS/Lambda retries it (and, when retries run out, the event goes to the dead-letter queue).
//!
//! # Layout
//! - this file: [`Notify`] (the handler), [`Delivery`], [`NotifyError`], [`Config`].
//! - [`message`]: the Slack Block Kit rendering of each event.

pub mod message;

use std::sync::Arc;

use aws_lambda_events::sns::SnsEvent;
use baton_adapters::config::{ConfigError, required};
use baton_adapters::slack::WebhookUrl;
use baton_adapters::{ChatNotifier, Clock, DeliveryKey, LeadStore};
use baton_domain::LeadEvent;

/// The channel name recorded in delivery keys for Slack.
pub const SLACK: &str = "slack";

/// Notify's environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table (delivery claims live there).
    pub table_name: String,
    /// `SLACK_WEBHOOK_URL`: the incoming webhook (a secret: never logged).
    pub slack_webhook_url: WebhookUrl,
}

impl Config {
    /// Reads the configuration; fails naming the first missing or invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let url = required("SLACK_WEBHOOK_URL")?;
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            slack_webhook_url: WebhookUrl::parse(&url)
                .map_err(|reason| ConfigError::Invalid { name: "SLACK_WEBHOOK_URL", reason })?,
        })
    }
}

/// Why an event was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The SNS message is not a lead event; it will never succeed.
    #[error("message {message_id} is not a lead event: {reason}")]
    Malformed { message_id: String, reason: String },
    /// The store or Slack failed; retrying the event may succeed if the error is retryable.
    #[error("delivery of {key} failed: {source}")]
    Adapter { key: String, source: baton_adapters::Error },
}

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The message was sent.
    Sent,
    /// This event had been delivered already; nothing was sent.
    Duplicate,
    /// No rep is told about this kind of event (nurture); nothing was sent.
    NotForChat,
}

/// The notify handler and what it needs.
#[derive(Clone)]
pub struct Notify {
    store: Arc<dyn LeadStore>,
    slack: Arc<dyn ChatNotifier>,
    clock: Arc<dyn Clock>,
}

impl Notify {
    pub fn new(store: Arc<dyn LeadStore>, slack: Arc<dyn ChatNotifier>, clock: Arc<dyn Clock>) -> Self {
        Self { store, slack, clock }
    }

    /// Delivers every record of an SNS event (Lambda sends one per invocation). Fails on the
    /// first record that cannot be delivered, so the invocation is retried.
    pub async fn handle(&self, event: SnsEvent) -> Result<Vec<Delivery>, NotifyError> {
        let mut out = Vec::with_capacity(event.records.len());
        for record in event.records {
            let message_id = record.sns.message_id.clone();
            let lead_event = LeadEvent::from_json(&record.sns.message)
                .map_err(|e| NotifyError::Malformed { message_id, reason: e.to_string() })?;
            out.push(self.deliver(&lead_event).await?);
        }
        Ok(out)
    }

    /// Sends the Slack message for `event` unless it was sent before.
    pub async fn deliver(&self, event: &LeadEvent) -> Result<Delivery, NotifyError> {
        let Some(message) = message::render(event) else { return Ok(Delivery::NotForChat) };
        let key = DeliveryKey::new(event.lead_id(), event.event_type(), SLACK);
        let adapter = |source| NotifyError::Adapter { key: key.as_str().to_owned(), source };
        if !self.store.claim_delivery(&key, self.clock.now()).await.map_err(adapter)? {
            tracing::info!(key = key.as_str(), "already delivered; skipping");
            return Ok(Delivery::Duplicate);
        }
        if let Err(e) = self.slack.post(&message).await {
            tracing::error!(key = key.as_str(), error = %e, "Slack delivery failed; releasing the claim for a retry");
            if let Err(release) = self.store.release_delivery(&key).await {
                tracing::error!(key = key.as_str(), error = %release, "could not release the claim");
            }
            return Err(adapter(e));
        }
        tracing::info!(key = key.as_str(), "delivered to Slack");
        Ok(Delivery::Sent)
    }
}
