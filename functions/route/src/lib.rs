//! Route: an SQS batch of route requests → each handed to the assign use case
//! ([`baton_app::assign`]); failures are reported per record ([`SqsBatchResponse`]), so one bad
//! message does not make the whole batch retry, and a message that keeps failing lands in the
//! dead-letter queue.
//!
//! # Layout
//! Everything is in this file: [`Route`] (the assign use case, re-exported), [`handle`] (the SQS
//! translation), [`Config`].

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use baton_adapters::config::{ConfigError, required};
pub use baton_app::assign::{Assign as Route, AssignError as RouteError, RULESET_CACHE, Routed};
use tracing::Instrument;

/// Route's environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table.
    pub table_name: String,
    /// `TOPIC_ARN`: where lead events are published.
    pub topic_arn: String,
}

impl Config {
    /// Reads the configuration; fails naming the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self { table_name: required("TABLE_NAME")?, topic_arn: required("TOPIC_ARN")? })
    }
}

/// Routes every record of a batch, each in its own span; the response names the records that failed.
pub async fn handle(route: &Route, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let lead_id = serde_json::from_str::<baton_domain::RouteRequest>(body).map(|r| r.lead_id.to_string());
        let span = tracing::info_span!("route", message_id = %id, lead_id = lead_id.as_deref().unwrap_or("-"));
        if let Err(e) = route.route_message(body).instrument(span.clone()).await {
            span.in_scope(|| tracing::error!(error = %e, retryable = e.is_retryable(), "routing failed"));
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
