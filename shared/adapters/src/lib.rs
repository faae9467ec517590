//! Baton's ports and the adapters behind them.
//!
//! The use cases (`baton-app`) depend on the traits in [`ports`] as `Arc<dyn Port>`; each port
//! has an AWS (or HTTP) implementation and an in-process one, and both pass the same contract
//! suite in [`contract`]. Adapters hold no business rules: a lead is written as the domain
//! computed it, guarded by its revision, with the counter effects the domain named.
//!
//! # Layout
//! - [`config`]: required environment variables and tracing set-up for the function binaries.
//! - [`ports`]: the narrow traits: lead repository, metrics store, delivery ledger, capacity, rate limits, accounts, rulesets, work queue, event publisher, chat notifier, webhook sender, clock.
//! - [`error`]: the one error type adapters return, split by what the caller can do.
//! - [`http`]: the JSON answer and the [`http::Problem`] refusal every HTTP surface turns its errors into.
//! - [`dynamo`]: the lead repository, delivery ledger, capacity, accounts and rulesets on one DynamoDB table (item mapping by `serde_dynamo`, revision-guarded puts, a sparse due-time index).
//! - [`dynamo_metrics`]: the metrics store on the same table: each lead's contribution, and per slice counters that change by atomic `ADD`s in one transaction with it.
//! - [`sqs`]: [`ports::WorkQueue`] on SQS.
//! - [`sns`]: [`ports::EventPublisher`] on SNS, with the event type as a message attribute.
//! - [`ses`]: [`ports::ChatNotifier`] as email through SES v2 (Slack mrkdwn rendered as plain text and HTML).
//! - [`secrets`]: secrets from SSM Parameter Store (`{NAME}_PARAM`) or, locally, plain environment variables.
//! - [`slack`]: [`ports::ChatNotifier`] on Slack (`chat.postMessage` with a bot token, or an incoming webhook), and message updates through `response_url`.
//! - [`webhook`]: [`ports::WebhookSender`] posting Standard Webhooks-signed events to subscribers.
//! - [`metrics`]: CloudWatch metrics as embedded-metric-format log lines.
//! - [`retry`]: retries within a deadline (`Retry-After`, exponential backoff with jitter).
//! - [`memory`]: in-process twins of every port, for tests and the zero-install local mode.
//! - [`provision`]: AWS SDK configuration and idempotent creation of the table, queues and topic.
//! - [`contract`]: the behaviour every implementation of each port must show.

pub mod config;
pub mod contract;
pub mod dynamo;
pub mod dynamo_metrics;
pub mod error;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod ports;
pub mod provision;
pub mod retry;
pub mod secrets;
pub mod ses;
pub mod slack;
pub mod sns;
pub mod sqs;
pub mod webhook;

pub use error::Error;
pub use ports::{
    AccountDirectory, Capacity, Captured, ChatNotifier, Clock, DeliveryKey, DeliveryLedger, EventPublisher,
    Idempotency, LeadRepository, MetricsStore, QueueMessage, RateLimiter, RulesetStore, RulesetVersion, SystemClock,
    Versioned, WebhookSender, WorkQueue, Written,
};
