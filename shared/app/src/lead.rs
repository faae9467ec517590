//! The one way a lead changes: read it, let the domain compute the transition, write what the
//! domain computed over the revision it was computed from (with the counter effects it names,
//! atomically), and read again when someone else wrote first. Then announce what the transition
//! promised, clearing the outbox entry once it is out.

use std::time::Duration;

use baton_adapters::retry::{Backoff, with_retries};
use baton_adapters::{Error, EventPublisher, LeadRepository, Written};
use baton_domain::{Announcement, Lead, LeadEvent, LeadId, Refusal, Transition};

/// How many times a transition is tried when other writers (or throttling) get in the way.
const ATTEMPTS: u32 = 8;

/// What [`transition`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Written: the transition (its `lead` is the lead as now stored).
    Applied { transition: Box<Transition> },
    /// The domain refused the transition for the lead as it is; nothing was written.
    Refused { lead: Box<Lead>, refusal: Refusal },
    /// The write would take an open slot the owner does not have; nothing was written.
    AtCapacity { lead: Box<Lead> },
    /// No lead has this id.
    Missing,
}

/// A short, jittered pause before trying again: up to 10 ms × 2^attempt.
fn pause(attempt: u32) -> Duration {
    let ceiling = 10u64 << attempt.min(6);
    let jitter =
        u64::from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos()));
    Duration::from_millis(1 + jitter % ceiling)
}

/// Applies `step` to lead `id`: reads it, computes the transition, and writes it only over the
/// revision read. A lost race reads again; a retryable error (throttling, an outage) is tried
/// again after a pause, up to eight times in all.
pub async fn transition(
    repo: &dyn LeadRepository,
    id: &LeadId,
    step: impl Fn(&Lead) -> Result<Transition, Refusal>,
) -> Result<Outcome, Error> {
    let mut last = None;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(pause(attempt)).await;
        }
        let current = match repo.read(id).await {
            Ok(Some(current)) => current,
            Ok(None) => return Ok(Outcome::Missing),
            Err(e) if e.is_retryable() => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let next = match step(&current.lead) {
            Ok(next) => next,
            Err(refusal) => return Ok(Outcome::Refused { lead: Box::new(current.lead), refusal }),
        };
        match repo.update(&current, &next.lead, &next.effects).await {
            Ok(Written::Applied) => {
                return Ok(Outcome::Applied { transition: Box::new(next) });
            }
            Ok(Written::AtCapacity) => return Ok(Outcome::AtCapacity { lead: Box::new(current.lead) }),
            Ok(Written::Stale) => {}
            Err(e) if e.is_retryable() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Unavailable {
        service: "lead repository",
        detail: format!("too much contention on lead {id}; retry"),
    }))
}

/// Publishes `announcement` about `lead` (retrying for up to `patience`), then takes it out of
/// the lead's outbox. `Ok(false)` when it could not be published: it stays in the outbox, and the
/// sweep announces it later. The lead as now stored is returned on success.
pub async fn announce(
    repo: &dyn LeadRepository,
    publisher: &dyn EventPublisher,
    lead: &Lead,
    announcement: &Announcement,
    patience: Duration,
) -> Result<Option<Lead>, Error> {
    let event = LeadEvent::announcing(lead, announcement);
    let deadline = std::time::Instant::now() + patience;
    let backoff = Backoff { base: Duration::from_millis(50), cap: Duration::from_millis(400) };
    if let Err((e, _)) = with_retries(deadline, backoff, || publisher.publish(&event)).await {
        tracing::warn!(error = %e, event = event.kind.as_str(), "could not publish; it waits in the outbox");
        return Ok(None);
    }
    if !lead.outbox.contains(announcement) {
        return Ok(Some(lead.clone()));
    }
    match transition(repo, &lead.id, |l| Ok(l.announced(announcement))).await? {
        Outcome::Applied { transition, .. } => Ok(Some(transition.lead)),
        _ => Ok(Some(lead.clone())),
    }
}
