//! Notify: SNS lead events → the deliver use case ([`baton_app::deliver`]): the owner's Slack
//! message, the team channel's summary, signed webhooks and email, each exactly once; then the
//! lead is counted in the handoff metrics as it now stands ([`baton_app::measure`]).
//!
//! # Layout
//! Everything is in this file: [`Notify`] (the use case, re-exported), [`handle`] (the SNS
//! translation), [`Config`].

use std::time::Instant;

use aws_lambda_events::sns::SnsEvent;
use baton_adapters::config::ConfigError;
pub use baton_app::deliver::{CLAIM_LEASE, DEADLINE_MARGIN, Delivery, Notify, NotifyError};
pub use baton_app::measure::Measure;
pub use baton_app::message;
use baton_domain::LeadEvent;
use tracing::Instrument;

/// Notify's environment (secrets are read separately, from SSM or the environment).
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table (delivery claims live there).
    pub table_name: String,
    /// `TOPIC_ARN`: where `lead.notification_failed` alerts are published.
    pub topic_arn: String,
    /// `SLACK_DEFAULT_CHANNEL`: where owner messages go when the owner has no Slack id (optional).
    pub default_channel: Option<String>,
}

impl Config {
    /// Reads the configuration; fails naming the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: baton_adapters::config::required("TABLE_NAME")?,
            topic_arn: baton_adapters::config::required("TOPIC_ARN")?,
            default_channel: baton_adapters::config::required("SLACK_DEFAULT_CHANNEL").ok(),
        })
    }
}

/// Delivers every record of an SNS event (Lambda sends one per invocation), each in its own
/// span, retrying within `deadline`. Fails if any channel of any record could not be served.
pub async fn handle(notify: &Notify, event: SnsEvent, deadline: Instant) -> Result<Vec<Delivery>, NotifyError> {
    let mut out = Vec::new();
    for record in event.records {
        let message_id = record.sns.message_id.clone();
        let lead_event = LeadEvent::from_json(&record.sns.message)
            .map_err(|e| NotifyError::Malformed { message_id: message_id.clone(), reason: e.to_string() })?;
        let span = tracing::info_span!("notify", lead_id = %lead_event.lead_id(), event = lead_event.kind.as_str());
        out.extend(notify.deliver(&lead_event, deadline).instrument(span).await?);
    }
    Ok(out)
}
