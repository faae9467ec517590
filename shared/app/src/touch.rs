//! Recording a touch (a Slack button press, or a CRM's API call): the touch and its
//! `lead.touched` outbox entry are one write, so the event can never be lost once the touch
//! stands; the event is then published and taken out of the outbox (or, if publishing fails,
//! left there for the sweep).

use std::time::Duration;

use baton_adapters::{Error, EventPublisher, LeadRepository};
use baton_domain::{Announcement, LeadId, Touch, Touched};

use crate::lead::{Outcome, announce, transition};

/// How long a touch waits for its event to publish before leaving it to the sweep.
const PUBLISH_PATIENCE: Duration = Duration::from_secs(1);

/// Records `touch` (a touch or an outcome) on lead `id` ([`baton_domain::Lead::touch`]) and
/// announces it. The first touch of an open lead is [`Touched::First`] (concurrent touches never
/// both are); the same event again (its external id, or its kind, time and actor) is
/// [`Touched::Replayed`] and changes nothing; a lead not with a rep answers [`Touched::NotOpen`],
/// an event dated before the lead's capture [`Touched::BeforeCapture`], and nothing is written. Without a `publisher`, the event waits in the outbox for the sweep.
pub async fn record_touch(
    repo: &dyn LeadRepository,
    publisher: Option<&dyn EventPublisher>,
    id: &LeadId,
    touch: Touch,
) -> Result<Touched, Error> {
    let outcome = transition(repo, id, |lead| lead.touch(touch.clone())).await?;
    let lead = match outcome {
        Outcome::Missing => return Ok(Touched::Missing),
        Outcome::Refused { lead, refusal: baton_domain::Refusal::AlreadyRecorded } => {
            return Ok(Touched::Replayed(*lead));
        }
        Outcome::Refused { lead, refusal: baton_domain::Refusal::BeforeCapture(_) } => {
            return Ok(Touched::BeforeCapture(*lead));
        }
        Outcome::Refused { lead, .. } | Outcome::AtCapacity { lead } => return Ok(Touched::NotOpen(*lead)),
        Outcome::Applied { transition, .. } => transition.lead,
    };
    // The first touch is the one that stopped the clock (also when this call retried it): the
    // earliest recorded at the lead's touch time.
    let first = lead.touches.iter().find(|t| Some(t.at) == lead.touched_at()) == Some(&touch);
    tracing::info!(kind = touch.kind.as_str(), by = %touch.by, via = %touch.via, first, "touch recorded");
    let announcement = Announcement::Touched { touch };
    let Some(publisher) = publisher else { return Ok(if first { Touched::First(lead) } else { Touched::Again(lead) }) };
    let lead = match announce(repo, publisher, &lead, &announcement, PUBLISH_PATIENCE).await {
        Ok(Some(announced)) => announced,
        Ok(None) => lead,
        Err(e) => {
            // The touch stands and its event waits in the outbox: the sweep announces it.
            tracing::warn!(error = %e, "the touch is recorded; its event waits in the outbox");
            lead
        }
    };
    Ok(if first { Touched::First(lead) } else { Touched::Again(lead) })
}

/// Records a batch of events (`(lead, touch)` pairs, such as a CRM's batch or a CSV import) in
/// the order they happened, whatever order they came in, and answers one result per event in the
/// order given. Each event is its own write: one that fails does not undo the others, and the
/// results say which stood.
pub async fn record_touches(
    repo: &dyn LeadRepository,
    publisher: Option<&dyn EventPublisher>,
    events: Vec<(LeadId, Touch)>,
) -> Vec<Result<Touched, Error>> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| events[i].1.at);
    let mut results = Vec::with_capacity(events.len());
    for i in order {
        let (id, touch) = &events[i];
        results.push((i, record_touch(repo, publisher, id, touch.clone()).await));
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
