//! SLA sweep: on a schedule, find leads whose wait is overdue and act.
//!
//! - Waiting for routing past the grace period (the queue was down at capture, or the message
//!   was lost): hand the lead to routing again. Routing is idempotent, so a duplicate is harmless.
//! - Waiting for a first touch past its due time: publish `lead.escalated`, then record the
//!   escalation (publish first: a crash in between repeats the event, which notify sends once,
//!   rather than losing it).
//!
//! Both lookups go through the store's due-time index, so a sweep costs what is overdue, not
//! what is stored. Each run handles at most [`Sweep::batch`] leads of each kind; the rest wait
//! for the next run, earliest first.
//!
//! # Layout
//! Everything is in this file: [`Sweep`] (the handler), [`SweepReport`], [`Config`].

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
use baton_adapters::{Clock, EventPublisher, LeadStore, WorkQueue};
use baton_domain::{LeadEvent, RouteRequest, WaitKind};
use serde::Serialize;

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

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Leads handed to routing again.
    pub requeued: usize,
    /// Leads escalated for a missed first touch.
    pub escalated: usize,
    /// Touches announced late (their `lead.touched` could not be published when recorded).
    pub announced: usize,
    /// Leads that could not be handled this time (they stay overdue and are retried next run).
    pub failed: usize,
}

/// The sweep handler and what it needs.
#[derive(Clone)]
pub struct Sweep {
    store: Arc<dyn LeadStore>,
    queue: Arc<dyn WorkQueue>,
    publisher: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    batch: usize,
}

impl Sweep {
    /// A sweep handling up to 200 leads of each kind per run.
    pub fn new(
        store: Arc<dyn LeadStore>,
        queue: Arc<dyn WorkQueue>,
        publisher: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, queue, publisher, clock, batch: 200 }
    }

    /// The most leads of each kind one run handles.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Runs one sweep. Fails only if the store cannot be queried; per-lead failures are counted.
    pub async fn run(&self) -> Result<SweepReport, baton_adapters::Error> {
        let now = self.clock.now();
        let mut report = SweepReport::default();

        for lead in self.store.overdue(WaitKind::Routing, now, self.batch).await? {
            let message =
                serde_json::to_string(&RouteRequest { lead_id: lead.id.clone() }).expect("a route request serializes");
            match self.queue.send(&message).await {
                Ok(()) => report.requeued += 1,
                Err(e) => {
                    tracing::error!(lead_id = %lead.id, error = %e, "could not re-queue a lead for routing");
                    report.failed += 1;
                }
            }
        }

        for lead in self.store.overdue(WaitKind::FirstTouch, now, self.batch).await? {
            let event = LeadEvent::Escalated { lead: lead.clone().escalated(now) };
            if let Err(e) = self.publisher.publish(&event).await {
                tracing::error!(lead_id = %lead.id, error = %e, "could not publish an escalation");
                report.failed += 1;
                continue;
            }
            match self.store.record_escalation(&lead.id, now).await {
                Ok(Some(_)) => report.escalated += 1,
                // Touched between the query and now: the event went out, but the lead is fine.
                Ok(None) => {
                    tracing::info!(lead_id = %lead.id, "lead was touched while being escalated")
                }
                Err(e) => {
                    tracing::error!(lead_id = %lead.id, error = %e, "could not record an escalation");
                    report.failed += 1;
                }
            }
        }
        for lead in self.store.overdue(WaitKind::Announce, now, self.batch).await? {
            for touch in &lead.unannounced {
                let event = LeadEvent::Touched { lead: lead.clone().announced(touch), touch: touch.clone() };
                let published = self.publisher.publish(&event).await;
                match published {
                    Ok(()) => match self.store.announced(&lead.id, touch).await {
                        Ok(()) => report.announced += 1,
                        Err(e) => {
                            // Published again next run; notify sends each occurrence once.
                            tracing::error!(lead_id = %lead.id, error = %e, "could not mark a touch announced");
                            report.failed += 1;
                        }
                    },
                    Err(e) => {
                        tracing::error!(lead_id = %lead.id, error = %e, "could not announce a touch");
                        report.failed += 1;
                    }
                }
            }
        }
        if report != SweepReport::default() {
            tracing::info!(
                requeued = report.requeued,
                escalated = report.escalated,
                announced = report.announced,
                failed = report.failed,
                "sweep done"
            );
        }
        Ok(report)
    }
}
