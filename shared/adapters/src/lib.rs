//! Baton's ports and the adapters behind them.
//!
//! Handlers depend on the traits in [`ports`] as `Arc<dyn Port>`; each port has an AWS
//! implementation and an in-process one, and both pass the same contract suite in [`contract`].
//!
//! # Layout
//! - [`config`]: required environment variables and tracing set-up for the function binaries.
//! - [`ports`]: the traits (lead store, work queue, event publisher, chat notifier, clock).
//! - [`error`]: the one error type adapters return, split by what the caller can do.
//! - [`dynamo`]: [`ports::LeadStore`] on DynamoDB (item mapping by `serde_dynamo`, conditional writes, a sparse due-time index).
//! - [`sqs`]: [`ports::WorkQueue`] on SQS.
//! - [`sns`]: [`ports::EventPublisher`] on SNS, with the event type as a message attribute.
//! - [`slack`]: [`ports::ChatNotifier`] posting to a Slack incoming webhook over HTTPS.
//! - [`memory`]: in-process twins of every port, for tests and the zero-install local mode.
//! - [`provision`]: AWS SDK configuration and idempotent creation of the table, queues and topic.
//! - [`contract`]: the behaviour every [`ports::LeadStore`] and [`ports::WorkQueue`] must show.

pub mod config;
pub mod contract;
pub mod dynamo;
pub mod error;
pub mod memory;
pub mod ports;
pub mod provision;
pub mod slack;
pub mod sns;
pub mod sqs;

pub use error::Error;
pub use ports::{
    AccountDirectory, Captured, ChatNotifier, Clock, DeliveryKey, EventPublisher, Idempotency, LeadStore, PoolCounters,
    QueueMessage, Recorded, RulesetStore, RulesetVersion, SystemClock, WorkQueue,
};
