//! Measuring a lead: after each event about it, what it contributes to the handoff metrics as
//! it now stands ([`Contribution`], defined in [`baton_domain::metrics`]) replaces what it
//! contributed before, in every slice it is in, with one atomic write ([`MetricsStore::record`]).
//!
//! The record is keyed by the lead's revision, not by the event: a redelivered event, or an
//! older one arriving after a newer, finds a revision as new or newer recorded and changes
//! nothing; a late touch dated earlier is counted as of its own time, because the lead's facts
//! are read from the lead, not from the event.

use std::sync::Arc;

use baton_adapters::{Clock, Error, LeadRepository, MetricsStore};
use baton_domain::LeadId;
use baton_domain::metrics::Contribution;

/// The measure use case and what it needs.
#[derive(Clone)]
pub struct Measure {
    repo: Arc<dyn LeadRepository>,
    metrics: Arc<dyn MetricsStore>,
    clock: Arc<dyn Clock>,
}

impl Measure {
    pub fn new(repo: Arc<dyn LeadRepository>, metrics: Arc<dyn MetricsStore>, clock: Arc<dyn Clock>) -> Self {
        Self { repo, metrics, clock }
    }

    /// Counts lead `id` as it is now. `false` when nothing changed (its current revision was
    /// counted before, or there is no such lead).
    pub async fn lead(&self, id: &LeadId) -> Result<bool, Error> {
        let Some(current) = self.repo.read(id).await? else { return Ok(false) };
        let contribution = Contribution::of(&current.lead, self.clock.now());
        self.metrics.record(id, current.revision, contribution.as_ref()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryMetrics};
    use baton_domain::metrics::{Dimension, Period};
    use baton_domain::{LeadSubmission, Ruleset, Touch, TouchKind, decide};

    #[tokio::test]
    async fn a_lead_counts_once_per_revision_and_its_late_touch_replaces_its_open_state() {
        let at: baton_domain::Timestamp = "2026-11-24T09:00:00Z".parse().unwrap();
        let repo = Arc::new(MemoryLeadStore::new());
        let metrics = Arc::new(MemoryMetrics::new());
        let clock = Arc::new(ManualClock::new(at + chrono::Duration::days(3)));
        let measure = Measure::new(repo.clone(), metrics.clone(), clock);
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), at)
            .unwrap();
        repo.capture(&lead, None).await.unwrap();
        assert!(measure.lead(&lead.id).await.unwrap(), "a captured lead is recorded as counting nowhere");
        let day = at.date_naive();
        assert!(metrics.aggregates(Period::Day, Dimension::All, day, day).await.unwrap().is_empty());

        let current = repo.read(&lead.id).await.unwrap().unwrap();
        let assigned = lead.assign(decide(&lead, &Ruleset::default_ruleset(), at)).unwrap();
        repo.update(&current, &assigned.lead, &assigned.effects).await.unwrap();
        assert!(measure.lead(&lead.id).await.unwrap());
        assert!(!measure.lead(&lead.id).await.unwrap(), "the same revision again changes nothing");
        let all = metrics.aggregates(Period::Day, Dimension::All, day, day).await.unwrap();
        assert_eq!((all[0].1.outcomes.leads, all[0].1.sla_missed), (1, 1), "untouched past its due time");

        let current = repo.read(&lead.id).await.unwrap().unwrap();
        let touched = current
            .lead
            .touch(Touch::new(TouchKind::Contacted, at + chrono::Duration::minutes(2), "ana", "crm"))
            .unwrap();
        repo.update(&current, &touched.lead, &touched.effects).await.unwrap();
        assert!(measure.lead(&lead.id).await.unwrap());
        let all = metrics.aggregates(Period::Day, Dimension::All, day, day).await.unwrap();
        let a = &all[0].1;
        assert_eq!((a.outcomes.leads, a.outcomes.contacted, a.sla_met, a.sla_missed), (1, 1, 1, 0), "{a:?}");
        assert!(!measure.lead(&LeadId::generate()).await.unwrap(), "no such lead");
    }
}
