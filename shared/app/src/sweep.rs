//! The SLA sweep: on a schedule, find leads whose wait is overdue and act.
//!
//! - Waiting for routing past the grace period (the queue was down at capture, or the message
//!   was lost): hand the lead to routing again. Routing is idempotent, so a duplicate is harmless.
//! - Waiting for a first touch, with the next rung of its SLA ladder due: record the rung (the
//!   domain's [`baton_domain::Lead::climb`] for the warning or the breach, or the assign use
//!   case's [`crate::assign::Assign::reassign`] for a reassignment), keyed by the lead, the rung
//!   and the due time it belongs to, with its event in the outbox, and then announce it. A rerun,
//!   an overlapping run or a schedule delivered twice finds the rung taken and sends nothing
//!   new; a missed run is caught up by the next (one rung per lead per run).
//! - With events in its outbox that whoever recorded them did not manage to publish within the
//!   grace period ([`baton_domain::stage::announce_grace`]): publish them, from the lead read
//!   afresh, so an entry the recorder already cleared is never published twice.
//!
//! All three lookups go through the repository's due-time index, so a sweep costs what is
//! overdue, not what is stored. Each run handles at most [`Sweep::batch`] leads of each kind,
//! earliest first. A lead that cannot be handled is deferred (its wait moves past now, backing
//! off) and reported, so it never holds up the leads due after it; a re-queued lead is backed off
//! the same way until routing takes it.

use std::sync::Arc;
use std::time::Duration;

use baton_adapters::{Clock, EventPublisher, LeadRepository, WorkQueue, metrics};
use baton_domain::{Announcement, LeadId, RouteRequest, Rung, Timestamp, WaitKind};
use serde::Serialize;
use tracing::Instrument;

use crate::lead::{Outcome, announce, transition};

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Leads handed to routing again.
    pub requeued: usize,
    /// Owners warned that a first touch is nearly due.
    pub warned: usize,
    /// Leads escalated for a missed first touch (breaches).
    pub escalated: usize,
    /// Leads reassigned (to the next pool member or the fallback queue) after a breach.
    pub reassigned: usize,
    /// Events announced from leads' outboxes (touches and escalations published late).
    pub announced: usize,
    /// Leads that could not be handled this time: deferred (tried again after a backoff) and named.
    pub failed: usize,
    /// The ids of the leads that failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_leads: Vec<String>,
}

/// The sweep and what it needs.
#[derive(Clone)]
pub struct Sweep {
    repo: Arc<dyn LeadRepository>,
    queue: Arc<dyn WorkQueue>,
    publisher: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    batch: usize,
    assign: Option<crate::assign::Assign>,
}

/// How long a sweep waits for one event to publish.
const PUBLISH_PATIENCE: Duration = Duration::from_millis(500);

impl Sweep {
    /// A sweep handling up to 200 leads of each kind per run.
    pub fn new(
        repo: Arc<dyn LeadRepository>,
        queue: Arc<dyn WorkQueue>,
        publisher: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { repo, queue, publisher, clock, batch: 200, assign: None }
    }

    /// Reassigns leads past their SLA's grace period through `assign` (its ruleset, capacity and
    /// clock). Without it, reassignments wait (and the sweep reports them as failed).
    pub fn with_reassignment(mut self, assign: crate::assign::Assign) -> Self {
        self.assign = Some(assign);
        self
    }

    /// The most leads of each kind one run handles.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Handles at most `batch` leads of each kind per run.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// Puts `lead` aside after `error`: its wait moves past `now` (backing off), so the next run
    /// starts with the leads after it.
    async fn defer(&self, report: &mut SweepReport, id: &LeadId, now: Timestamp, error: &str) {
        tracing::error!(lead_id = %id, error, "could not handle an overdue lead; deferred");
        report.failed += 1;
        report.failed_leads.push(id.to_string());
        if let Err(e) = transition(self.repo.as_ref(), id, |lead| Ok(lead.deferred(now, error))).await {
            tracing::error!(lead_id = %id, error = %e, "could not defer the lead either");
        }
    }

    /// Publishes every event still in lead `id`'s outbox, read afresh (the due-time index may
    /// lag behind a write that already announced them); `false` if any stays there.
    async fn announce_outbox(&self, id: &LeadId, report: &mut SweepReport) -> Result<bool, baton_adapters::Error> {
        let Some(mut lead) = self.repo.get(id).await? else { return Ok(true) };
        for announcement in lead.outbox.clone() {
            match announce(self.repo.as_ref(), self.publisher.as_ref(), &lead, &announcement, PUBLISH_PATIENCE).await? {
                Some(now_stored) => {
                    report.announced += 1;
                    lead = now_stored;
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Publishes lead `id`'s outbox, deferring the lead when any of it stays there.
    async fn clear_outbox(&self, id: &LeadId, now: Timestamp, report: &mut SweepReport) {
        match self.announce_outbox(id, report).await {
            Ok(true) => {}
            Ok(false) => self.defer(report, id, now, "could not publish its events").await,
            Err(e) => self.defer(report, id, now, &format!("could not clear its outbox: {e}")).await,
        }
    }

    /// Takes the next rung of lead `id`'s SLA ladder if it is (still) due at `now`, then announces it.
    async fn climb(&self, lead: &baton_domain::Lead, now: Timestamp, report: &mut SweepReport) {
        let id = &lead.id;
        let climbed = if matches!(lead.next_rung(), Some((Rung::Reassignment, _))) {
            let Some(assign) = &self.assign else {
                return self.defer(report, id, now, "no reassignment is wired to this sweep").await;
            };
            match assign.reassign(id).await {
                Ok(Some(lead)) => {
                    report.reassigned += 1;
                    metrics::count("Reassignments", ("Wait", WaitKind::FirstTouch.as_str()), 1.0);
                    lead
                }
                Ok(None) => return, // touched, or reassigned by another run, since the query
                Err(e) => return self.defer(report, id, now, &format!("could not reassign: {e}")).await,
            }
        } else {
            match transition(self.repo.as_ref(), id, |l| l.climb(now)).await {
                Ok(Outcome::Applied { transition, .. }) => {
                    match transition.announcements().next() {
                        Some(Announcement::SlaWarning { .. }) => {
                            report.warned += 1;
                            metrics::count("SlaWarnings", ("Wait", WaitKind::FirstTouch.as_str()), 1.0);
                        }
                        _ => {
                            report.escalated += 1;
                            metrics::count("SlaBreaches", ("Wait", WaitKind::FirstTouch.as_str()), 1.0);
                        }
                    }
                    transition.lead
                }
                Ok(_) => return, // touched (or taken by another run) since the query: nothing to do
                Err(e) => return self.defer(report, id, now, &format!("could not record the SLA step: {e}")).await,
            }
        };
        // The rung just recorded is the newest outbox entry: announce it (older entries are the
        // Announce lookup's, after their grace period).
        let Some(announcement) = climbed.outbox.last().cloned() else { return };
        match announce(self.repo.as_ref(), self.publisher.as_ref(), &climbed, &announcement, PUBLISH_PATIENCE).await {
            Ok(_) => {} // published, or recorded and waiting in the outbox for a later sweep
            Err(e) => tracing::warn!(error = %e, "SLA step recorded; its event waits in the outbox"),
        }
    }

    /// Hands lead `id` to routing again, then puts it aside for a backoff, so a lead routing keeps
    /// failing on is not re-queued every run ahead of the others (routing clears the deferral).
    async fn requeue(&self, id: &LeadId, now: Timestamp, report: &mut SweepReport) {
        let message = serde_json::to_string(&RouteRequest { lead_id: id.clone() }).expect("a route request serializes");
        match self.queue.send(&message).await {
            Ok(()) => {
                report.requeued += 1;
                if let Err(e) =
                    transition(self.repo.as_ref(), id, |l| Ok(l.deferred(now, "re-queued for routing"))).await
                {
                    tracing::warn!(error = %e, "re-queued; could not back the lead off");
                }
            }
            Err(e) => self.defer(report, id, now, &format!("could not re-queue for routing: {e}")).await,
        }
    }

    /// Runs one sweep: the three lookups each run even when another fails. Fails (after doing what
    /// it could) when a lookup could not be made; per-lead failures are deferred and reported.
    pub async fn run(&self) -> Result<SweepReport, baton_adapters::Error> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        let mut failure = None;

        for kind in [WaitKind::Routing, WaitKind::FirstTouch, WaitKind::Announce] {
            let leads = match self.repo.overdue(kind, now, self.batch).await {
                Ok(leads) => leads,
                Err(e) => {
                    failure = Some(e);
                    continue;
                }
            };
            for lead in leads {
                let span = tracing::info_span!("sweep", wait = kind.as_str(), lead_id = %lead.id);
                match kind {
                    WaitKind::Routing => self.requeue(&lead.id, now, &mut report).instrument(span).await,
                    WaitKind::FirstTouch => self.climb(&lead, now, &mut report).instrument(span).await,
                    WaitKind::Announce => self.clear_outbox(&lead.id, now, &mut report).instrument(span).await,
                }
            }
        }
        if report != SweepReport::default() {
            tracing::info!(
                requeued = report.requeued,
                warned = report.warned,
                escalated = report.escalated,
                reassigned = report.reassigned,
                announced = report.announced,
                failed = report.failed,
                "sweep done"
            );
        }
        match failure {
            Some(e) => {
                tracing::error!(error = %e, "a sweep lookup failed; the rest of the sweep ran");
                Err(e)
            }
            None => Ok(report),
        }
    }
}
