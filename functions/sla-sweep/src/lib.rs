//! SLA sweep: on a schedule (EventBridge), the sweep use case ([`baton_app::sweep`]): leads
//! overdue for routing are re-queued, each due rung of the SLA ladder (warning, breach,
//! reassignment) is taken once (recorded, then announced from the lead's outbox), and
//! unannounced events are published. A lead that cannot
//! be handled is deferred and reported, never blocking the leads after it.
//!
//! # Layout
//! Everything is in this file: [`Sweep`] and [`SweepReport`] (re-exported), [`Config`].

use baton_adapters::config::{ConfigError, required};
pub use baton_app::sweep::{Sweep, SweepReport};

/// Sweep's environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table.
    pub table_name: String,
    /// `QUEUE_URL`: the routing queue, for leads that missed routing.
    pub queue_url: String,
    /// `TOPIC_ARN`: where escalations are published.
    pub topic_arn: String,
}

impl Config {
    /// Reads the configuration; fails naming the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            queue_url: required("QUEUE_URL")?,
            topic_arn: required("TOPIC_ARN")?,
        })
    }
}
