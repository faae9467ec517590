//! A lead's lifecycle: its stage, as a type that cannot hold an illegal state, and every
//! transition between stages, each one function returning the new lead and the effects it
//! implies.
//!
//! ```text
//!             assign (rep)          escalate (breach)              touch
//! Captured ───────────────▶ Assigned ───────────────▶ Escalated ─────────▶ Touched ──(disqualified)──▶ Disqualified
//!    │  ▲                   │  ▲ warn (once)            │   └── touch ──▶ Touched / Disqualified / Nurture
//!    │  │                   │  └──── reassign ──────────┘   (a fresh target; the fallback queue ends the ladder)
//!    │  │                   └── touch ──▶ Touched, Disqualified or Nurture
//!    │  └── merge (a new submission) ── Nurture ◀── assign (nurture)
//!    ├── assign (disqualifier) ──▶ Disqualified
//!    └── (honeypot at capture) ──▶ Spam
//! ```
//!
//! Adapters never re-derive a transition: they write the lead a transition computed (guarded by
//! its revision) and perform the [`Effect`]s it names, such as taking or giving back an owner's
//! open-lead slot in the same write, or publishing an event. Events that must not be lost once
//! recorded (a touch, an escalation) also wait in the lead's outbox ([`Lead::outbox`]) until
//! they are announced, so the write that records them is the write that promises them.

use serde::{Deserialize, Serialize};

use crate::sla::{MAX_SLA_HISTORY, Rung, SlaStep};
use crate::{Decision, EventType, Lead, LeadStatus, Timestamp, Touch, TouchKind};

/// Where a lead stands, with what that stage has: an assigned lead has a decision, a captured
/// one has none, a touched one has its first touch's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Stage {
    /// Stored, waiting to be qualified and assigned.
    Captured,
    /// Has an owner; the first-touch clock is running.
    Assigned { decision: Decision },
    /// The first touch was not made in time; the breach was recorded at `escalated_at`.
    Escalated { decision: Decision, escalated_at: Timestamp },
    /// The owner made the first touch at `touched_at` (after an escalation, if `escalated_at`).
    Touched {
        decision: Decision,
        touched_at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        escalated_at: Option<Timestamp>,
    },
    /// Not ready for sales: recorded for nurture, not assigned to a rep.
    Nurture { decision: Decision },
    /// Not a sales lead: by a disqualifier at routing, or by the owner ("Not a fit").
    Disqualified {
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        touched_at: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        escalated_at: Option<Timestamp>,
    },
    /// A bot filled the form's honeypot: kept for inspection, never routed.
    Spam,
}

impl Stage {
    /// The stage's name, such as [`LeadStatus::Assigned`].
    pub fn status(&self) -> LeadStatus {
        match self {
            Self::Captured => LeadStatus::Captured,
            Self::Assigned { .. } => LeadStatus::Assigned,
            Self::Escalated { .. } => LeadStatus::Escalated,
            Self::Touched { .. } => LeadStatus::Touched,
            Self::Nurture { .. } => LeadStatus::Nurture,
            Self::Disqualified { .. } => LeadStatus::Disqualified,
            Self::Spam => LeadStatus::Spam,
        }
    }

    /// The decision, for every stage after routing.
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Self::Assigned { decision }
            | Self::Escalated { decision, .. }
            | Self::Touched { decision, .. }
            | Self::Nurture { decision }
            | Self::Disqualified { decision, .. } => Some(decision),
            Self::Captured | Self::Spam => None,
        }
    }

    /// When the owner first touched the lead.
    pub fn touched_at(&self) -> Option<Timestamp> {
        match self {
            Self::Touched { touched_at, .. } => Some(*touched_at),
            Self::Disqualified { touched_at, .. } => *touched_at,
            _ => None,
        }
    }

    /// When a missed first touch was escalated.
    pub fn escalated_at(&self) -> Option<Timestamp> {
        match self {
            Self::Escalated { escalated_at, .. } => Some(*escalated_at),
            Self::Touched { escalated_at, .. } | Self::Disqualified { escalated_at, .. } => *escalated_at,
            _ => None,
        }
    }
}

/// An event a transition promises. The touch and escalation ones also wait in the lead's
/// outbox until announced; the others are re-published by routing's redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Announcement {
    /// `lead.assigned`: the lead has an owner.
    #[serde(rename = "lead.assigned")]
    Assigned,
    /// `lead.nurture`: the lead went to nurture.
    #[serde(rename = "lead.nurture")]
    Nurture,
    /// `lead.escalated`: the first touch due at `due_at` was missed. Recorded by releases before
    /// the SLA ladder (which announces [`Announcement::Breached`] instead); still announced from
    /// old outboxes.
    #[serde(rename = "lead.escalated")]
    Escalated { due_at: Timestamp },
    /// `lead.sla_warning`: the first touch due at `due_at` is close (one per lead and due time).
    #[serde(rename = "lead.sla_warning")]
    SlaWarning { due_at: Timestamp },
    /// `lead.sla_breached`: the first touch due at `due_at` was missed (one per lead and due time).
    #[serde(rename = "lead.sla_breached")]
    Breached { due_at: Timestamp },
    /// `lead.reassigned`: the owner whose first touch was due at `due_at` lost the lead to a new
    /// owner (one per lead and due time).
    #[serde(rename = "lead.reassigned")]
    Reassigned { due_at: Timestamp },
    /// `lead.touched`: the owner did `touch`.
    #[serde(rename = "lead.touched")]
    Touched { touch: Touch },
}

impl Announcement {
    /// The event type announced.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::Assigned => EventType::Assigned,
            Self::Nurture => EventType::Nurture,
            Self::Escalated { .. } => EventType::Escalated,
            Self::SlaWarning { .. } => EventType::SlaWarning,
            Self::Breached { .. } => EventType::SlaBreached,
            Self::Reassigned { .. } => EventType::Reassigned,
            Self::Touched { .. } => EventType::Touched,
        }
    }

    /// The ladder rung announced and the due time it belongs to, for the SLA events.
    pub fn rung(&self) -> Option<(Rung, Timestamp)> {
        match self {
            Self::SlaWarning { due_at } => Some((Rung::Warning, *due_at)),
            Self::Breached { due_at } | Self::Escalated { due_at } => Some((Rung::Breach, *due_at)),
            Self::Reassigned { due_at } => Some((Rung::Reassignment, *due_at)),
            _ => None,
        }
    }

    /// When the sweep should announce it, if whoever recorded it has not: a grace period
    /// ([`announce_grace`]) after it was recorded, so the sweep only picks up what the recorder
    /// gave up on and never races it.
    pub fn due_at(&self, lead: &Lead) -> Timestamp {
        let recorded = match self {
            Self::Escalated { due_at } => lead.escalated_at().unwrap_or(*due_at),
            Self::SlaWarning { due_at } | Self::Breached { due_at } | Self::Reassigned { due_at } => {
                let rung = self.rung().map(|(r, _)| r);
                lead.sla_history
                    .iter()
                    .rev()
                    .find(|s| Some(s.rung) == rung && s.due_at == *due_at)
                    .map_or(*due_at, |s| s.at)
            }
            Self::Touched { touch } => touch.at,
            Self::Assigned | Self::Nurture => lead.decision().map_or(lead.captured_at, |d| d.decided_at),
        };
        recorded + announce_grace()
    }
}

/// What a write must do besides storing the lead a transition computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Take one of `owner`'s open-lead slots in the same write, only while fewer than `max` are
    /// taken; when none is free, nothing at all is written.
    TakeOpenSlot { owner: String, max: u32 },
    /// Give back one of `owner`'s open-lead slots in the same write. It never blocks the write;
    /// a count that would go below zero reads as zero.
    ReleaseOpenSlot { owner: String },
    /// Publish this event once the write has applied.
    Publish(Announcement),
}

/// A transition's result: the lead to store and what else the write implies.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub lead: Lead,
    pub effects: Vec<Effect>,
}

impl Transition {
    fn new(lead: Lead) -> Self {
        Self { lead, effects: Vec::new() }
    }

    fn with(mut self, effect: Effect) -> Self {
        self.effects.push(effect);
        self
    }

    /// The events to publish once the write has applied.
    pub fn announcements(&self) -> impl Iterator<Item = &Announcement> {
        self.effects.iter().filter_map(|e| match e {
            Effect::Publish(a) => Some(a),
            _ => None,
        })
    }
}

/// Why a transition does not apply to the lead as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Only a captured lead can be assigned (a replay, or another router won).
    #[error("the lead is {}, not captured", .0.as_str())]
    NotCaptured(LeadStatus),
    /// Touches are for leads with a rep (assigned, escalated or touched).
    #[error("the lead is {}: it is not with a rep", .0.as_str())]
    NotOpen(LeadStatus),
    /// Only an assigned lead can be escalated.
    #[error("the lead is {}: nothing to escalate", .0.as_str())]
    NotAssigned(LeadStatus),
    /// The rung is not due yet (the next one is due at this time).
    #[error("the next step is not due until {0}")]
    NotDue(Timestamp),
    /// Only an escalated lead whose SLA names a reassignment can be reassigned.
    #[error("the lead is {}: nothing to reassign", .0.as_str())]
    NotReassignable(LeadStatus),
    /// The same event was recorded before: nothing changes.
    #[error("this event was recorded before")]
    AlreadyRecorded,
    /// The event is dated before the lead was captured (at this time).
    #[error("the event is dated before the lead was captured ({})", .0.to_rfc3339())]
    BeforeCapture(Timestamp),
}

/// How long an event recorded in a lead's outbox is left to whoever recorded it before the sweep
/// announces it instead.
pub fn announce_grace() -> chrono::Duration {
    chrono::Duration::minutes(1)
}

/// How long the sweep leaves a lead it could not handle before trying it again: doubling from a
/// minute, at most an hour.
pub fn deferral_after(attempts: u32) -> chrono::Duration {
    chrono::Duration::minutes(1i64 << attempts.saturating_sub(1).min(6)).min(chrono::Duration::hours(1))
}

/// A lead the sweep could not handle: it is tried again after `until` (not before), so it never
/// holds up the leads due after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferral {
    /// How many sweeps in a row failed on it.
    pub attempts: u32,
    /// Not tried again before this.
    pub until: Timestamp,
    /// The last failure.
    pub error: String,
}

/// The longest error text kept on a lead.
const MAX_ERROR: usize = 500;

impl Lead {
    /// Where the lead stands.
    pub fn status(&self) -> LeadStatus {
        self.stage.status()
    }

    /// The routing decision, once routed.
    pub fn decision(&self) -> Option<&Decision> {
        self.stage.decision()
    }

    /// When the owner first touched the lead.
    pub fn touched_at(&self) -> Option<Timestamp> {
        self.stage.touched_at()
    }

    /// When a missed first touch was escalated.
    pub fn escalated_at(&self) -> Option<Timestamp> {
        self.stage.escalated_at()
    }

    /// Whether the lead waits for its owner's first touch (assigned or escalated): it counts
    /// against the owner's open-lead cap.
    pub fn is_open(&self) -> bool {
        matches!(self.stage, Stage::Assigned { .. } | Stage::Escalated { .. })
    }

    /// Records `decision` on a captured lead: assigned to a rep (taking an open slot when the
    /// owner has a cap, and announcing `lead.assigned`), sent to nurture (announcing
    /// `lead.nurture`), or disqualified. Refused unless the lead is still captured.
    pub fn assign(&self, decision: Decision) -> Result<Transition, Refusal> {
        if self.stage != Stage::Captured {
            return Err(Refusal::NotCaptured(self.status()));
        }
        let mut lead = self.clone();
        lead.deferral = None;
        let (stage, effects) = match decision.disposition {
            None => {
                let mut effects = Vec::new();
                if let Some(max) = decision.max_open {
                    effects.push(Effect::TakeOpenSlot { owner: decision.owner.id.clone(), max });
                }
                effects.push(Effect::Publish(Announcement::Assigned));
                (Stage::Assigned { decision }, effects)
            }
            Some(crate::rules::Disposition::Nurture) => {
                (Stage::Nurture { decision }, vec![Effect::Publish(Announcement::Nurture)])
            }
            Some(crate::rules::Disposition::Disqualified) => {
                (Stage::Disqualified { decision, touched_at: None, escalated_at: None }, Vec::new())
            }
        };
        lead.stage = stage;
        Ok(Transition { lead, effects })
    }

    /// Records `touch` (a touch or an outcome, [`crate::touch`]) in time order. The first one
    /// that stops the clock (on an assigned or escalated lead) ends the SLA ladder and gives back
    /// the owner's open slot when the decision took one; a later-arriving one dated earlier moves
    /// the first touch earlier; the rest are activity. `disqualified`/`not_a_fit` disqualify and
    /// `nurture` hands the lead to nurture. Each waits in the outbox until `lead.touched` is out.
    /// Refused when the lead is not with a rep, or ([`Refusal::AlreadyRecorded`]) when the same
    /// event (its external id, or its kind, time and actor) was recorded before, or
    /// ([`Refusal::BeforeCapture`]) when it is dated before the lead was captured.
    pub fn touch(&self, touch: Touch) -> Result<Transition, Refusal> {
        if self.touches.iter().any(|t| t.same_event(&touch))
            || touch.external_id.as_ref().is_some_and(|id| self.external_ids.contains(id))
        {
            return Err(Refusal::AlreadyRecorded);
        }
        if touch.at < self.captured_at {
            return Err(Refusal::BeforeCapture(self.captured_at));
        }
        let mut lead = self.clone();
        lead.deferral = None;
        let mut release = None;
        let kind = touch.kind;
        let closed = |decision: Decision, touched_at: Option<Timestamp>, escalated_at: Option<Timestamp>| {
            if kind.disqualifies() {
                Stage::Disqualified { decision, touched_at, escalated_at }
            } else {
                Stage::Nurture { decision }
            }
        };
        lead.stage = match self.stage.clone() {
            // Activity only: the lead stays as it is (its clock runs on, its slot stays taken).
            stage @ (Stage::Assigned { .. } | Stage::Escalated { .. } | Stage::Touched { .. })
                if kind.is_activity_only() =>
            {
                stage
            }
            Stage::Assigned { decision } | Stage::Escalated { decision, .. } => {
                if decision.max_open.is_some() {
                    release = Some(decision.owner.id.clone());
                }
                let escalated_at = self.escalated_at();
                let touched_at = kind.stops_the_clock().then_some(touch.at);
                match touched_at {
                    Some(touched_at) if !kind.disqualifies() => Stage::Touched { decision, touched_at, escalated_at },
                    _ => closed(decision, touched_at, escalated_at),
                }
            }
            Stage::Touched { decision, touched_at, escalated_at } => {
                let touched_at = if kind.stops_the_clock() { touched_at.min(touch.at) } else { touched_at };
                if kind.disqualifies() || kind == TouchKind::Nurture {
                    closed(decision, Some(touched_at), escalated_at)
                } else {
                    Stage::Touched { decision, touched_at, escalated_at }
                }
            }
            _ => return Err(Refusal::NotOpen(self.status())),
        };
        let at = lead.touches.partition_point(|t| t.at <= touch.at);
        lead.touches.insert(at, touch.clone());
        if lead.touches.len() > crate::touch::MAX_TOUCHES {
            lead.touches.remove(0);
        }
        if let Some(id) = &touch.external_id {
            lead.external_ids.push(id.clone());
            if lead.external_ids.len() > crate::touch::MAX_EXTERNAL_IDS {
                lead.external_ids.remove(0);
            }
        }
        let announcement = Announcement::Touched { touch };
        lead.outbox.push(announcement.clone());
        let mut transition = Transition::new(lead);
        if let Some(owner) = release {
            transition = transition.with(Effect::ReleaseOpenSlot { owner });
        }
        Ok(transition.with(Effect::Publish(announcement)))
    }

    /// The lead with `step` on its SLA history (bounded) and its announcement in the outbox.
    fn with_step(mut self, step: SlaStep, announcement: &Announcement) -> Self {
        self.deferral = None;
        self.sla_history.push(step);
        if self.sla_history.len() > MAX_SLA_HISTORY {
            self.sla_history.remove(0);
        }
        self.outbox.push(announcement.clone());
        self
    }

    /// Takes the ladder's next rung that is due at `now` on an assigned lead: the warning
    /// ([`Lead::warn`]), or the breach ([`Lead::escalate`]) once the target has passed (a warning
    /// not yet given by then is passed over). Refused when nothing is due.
    pub fn climb(&self, now: Timestamp) -> Result<Transition, Refusal> {
        let Stage::Assigned { decision } = &self.stage else {
            return Err(Refusal::NotAssigned(self.status()));
        };
        if now >= decision.first_touch_due_at { self.escalate(now) } else { self.warn(now) }
    }

    /// Warns the owner of an assigned lead whose warning is due at `now` (and its target is
    /// not): recorded once per lead and due time, with `lead.sla_warning` in the outbox.
    pub fn warn(&self, now: Timestamp) -> Result<Transition, Refusal> {
        let Stage::Assigned { decision } = &self.stage else {
            return Err(Refusal::NotAssigned(self.status()));
        };
        let due_at = decision.first_touch_due_at;
        match self.next_rung() {
            Some((Rung::Warning, at)) if at <= now && now < due_at => {}
            Some((_, at)) => return Err(Refusal::NotDue(at)),
            None => return Err(Refusal::NotAssigned(self.status())),
        }
        let step = SlaStep {
            rung: Rung::Warning,
            due_at,
            at: now,
            owner: decision.owner.id.clone(),
            to: None,
            reason: None,
            skipped: Vec::new(),
        };
        let announcement = Announcement::SlaWarning { due_at };
        let lead = self.clone().with_step(step, &announcement);
        Ok(Transition::new(lead).with(Effect::Publish(announcement)))
    }

    /// Records the breach of an assigned lead whose first touch is overdue at `now`. It is keyed
    /// by what it is (this lead, its first-touch due time), recorded on the history and in the
    /// outbox with the stage, and announced from there: a rerun finds the lead escalated and
    /// does nothing.
    pub fn escalate(&self, now: Timestamp) -> Result<Transition, Refusal> {
        let Stage::Assigned { decision } = &self.stage else {
            return Err(Refusal::NotAssigned(self.status()));
        };
        let due_at = decision.first_touch_due_at;
        if now < due_at {
            return Err(Refusal::NotDue(due_at));
        }
        let step = SlaStep {
            rung: Rung::Breach,
            due_at,
            at: now,
            owner: decision.owner.id.clone(),
            to: None,
            reason: None,
            skipped: Vec::new(),
        };
        let announcement = Announcement::Breached { due_at };
        let mut lead = self.clone().with_step(step, &announcement);
        lead.stage = Stage::Escalated { decision: decision.clone(), escalated_at: now };
        Ok(Transition::new(lead).with(Effect::Publish(announcement)))
    }

    /// Gives an escalated lead whose reassignment is due at `now` to the owner of `decision`
    /// (from [`crate::rules::engine::reassignment`], with `reason`): the old owner's open slot is
    /// given back and the new owner's taken in the same write, the replaced decision is kept in
    /// [`Lead::previous_decisions`], the step is on the history, and `lead.reassigned` waits in
    /// the outbox. The new owner has a fresh target and the same ladder.
    pub fn reassign(&self, decision: Decision, reason: &str, now: Timestamp) -> Result<Transition, Refusal> {
        let Stage::Escalated { decision: old, .. } = &self.stage else {
            return Err(Refusal::NotReassignable(self.status()));
        };
        match self.next_rung() {
            Some((Rung::Reassignment, at)) if at <= now => {}
            Some((_, at)) => return Err(Refusal::NotDue(at)),
            None => return Err(Refusal::NotReassignable(self.status())),
        }
        let due_at = old.first_touch_due_at;
        let step = SlaStep {
            rung: Rung::Reassignment,
            due_at,
            at: now,
            owner: old.owner.id.clone(),
            to: Some(decision.owner.id.clone()),
            reason: Some(reason.to_owned()),
            skipped: decision.skipped.clone(),
        };
        let announcement = Announcement::Reassigned { due_at };
        let mut lead = self.clone().with_step(step, &announcement);
        lead.previous_decisions.push(old.clone());
        if lead.previous_decisions.len() > MAX_SLA_HISTORY {
            lead.previous_decisions.remove(0);
        }
        let mut effects = Vec::new();
        if old.max_open.is_some() {
            effects.push(Effect::ReleaseOpenSlot { owner: old.owner.id.clone() });
        }
        if let Some(max) = decision.max_open {
            effects.push(Effect::TakeOpenSlot { owner: decision.owner.id.clone(), max });
        }
        effects.push(Effect::Publish(announcement));
        lead.stage = Stage::Assigned { decision };
        Ok(Transition { lead, effects })
    }

    /// The lead with a later submission of the same person merged in ([`Lead::merged_with`]).
    pub fn merge(&self, later: &Lead) -> Transition {
        Transition::new(self.clone().merged_with(later))
    }

    /// The lead with `announcement` out of its outbox (it was published).
    pub fn announced(&self, announcement: &Announcement) -> Transition {
        let mut lead = self.clone();
        lead.outbox.retain(|a| a != announcement);
        lead.deferral = None;
        Transition::new(lead)
    }

    /// The lead put aside by the sweep after `error` at `now`: it is due again only after
    /// [`deferral_after`] the attempts so far, so later leads are not held up behind it.
    pub fn deferred(&self, now: Timestamp, error: &str) -> Transition {
        let mut lead = self.clone();
        let attempts = self.deferral.as_ref().map_or(0, |d| d.attempts).saturating_add(1);
        let error: String = error.chars().take(MAX_ERROR).collect();
        lead.deferral = Some(Deferral { attempts, until: now + deferral_after(attempts), error });
        Transition::new(lead)
    }

    /// The lead with its owner's notification recorded at `at`: only the first counts (a
    /// reassignment's new owner is notified too, but the system's delay ended with the first).
    /// Refused when the lead was never assigned to a rep, or its notification is recorded.
    pub fn notified(&self, at: Timestamp) -> Result<Transition, Refusal> {
        if self.decision().is_none_or(|d| d.disposition.is_some()) {
            return Err(Refusal::NotOpen(self.status()));
        }
        if self.notified_at.is_some() {
            return Err(Refusal::AlreadyRecorded);
        }
        let mut lead = self.clone();
        lead.notified_at = Some(at.max(self.captured_at));
        Ok(Transition::new(lead))
    }

    /// The lead with `failure` recorded, replacing an earlier failure of the same event and channel.
    pub fn with_notification_failure(&self, mut failure: crate::NotificationFailure) -> Transition {
        let mut lead = self.clone();
        failure.error = failure.error.chars().take(MAX_ERROR).collect();
        lead.notification_failures.retain(|f| (&f.event, &f.channel) != (&failure.event, &failure.channel));
        lead.notification_failures.push(failure);
        Transition::new(lead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, Ruleset, decide};
    use chrono::TimeZone;

    fn t0() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
    }

    fn captured(json: &str) -> Lead {
        LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), t0()).unwrap()
    }

    fn assigned() -> Lead {
        let lead = captured(r#"{"email":"a@corp.example"}"#);
        lead.assign(decide(&lead, &Ruleset::default_ruleset(), t0())).unwrap().lead
    }

    fn touch(kind: TouchKind, minutes: i64) -> Touch {
        Touch::new(kind, t0() + chrono::Duration::minutes(minutes), "U1", "slack")
    }

    #[test]
    fn assigning_a_captured_lead_records_the_decision_and_announces_it() {
        let lead = captured(r#"{"email":"a@corp.example"}"#);
        let decision = decide(&lead, &Ruleset::default_ruleset(), t0());
        let t = lead.assign(decision.clone()).unwrap();
        assert_eq!(t.lead.stage, Stage::Assigned { decision: decision.clone() });
        assert_eq!(t.effects, [Effect::Publish(Announcement::Assigned)]);
        assert_eq!(t.lead.assign(decision).unwrap_err(), Refusal::NotCaptured(LeadStatus::Assigned));
    }

    #[test]
    fn a_capped_owner_gives_an_open_slot_with_the_decision_and_gets_it_back_at_the_first_touch() {
        let lead = captured(r#"{"email":"a@corp.example"}"#);
        let mut decision = decide(&lead, &Ruleset::default_ruleset(), t0());
        decision.max_open = Some(3);
        let owner = decision.owner.id.clone();
        let t = lead.assign(decision).unwrap();
        assert_eq!(t.effects[0], Effect::TakeOpenSlot { owner: owner.clone(), max: 3 });
        let first = t.lead.touch(touch(TouchKind::Called, 1)).unwrap();
        assert!(first.effects.contains(&Effect::ReleaseOpenSlot { owner }));
        let again = first.lead.touch(touch(TouchKind::Emailed, 2)).unwrap();
        assert!(!again.effects.iter().any(|e| matches!(e, Effect::ReleaseOpenSlot { .. })), "released twice");
    }

    #[test]
    fn nurture_and_disqualifying_decisions_take_no_slot_and_only_nurture_is_announced() {
        let student = captured(r#"{"email":"kid@gmail.com","job_title":"Student"}"#);
        let t = student.assign(decide(&student, &Ruleset::default_ruleset(), t0())).unwrap();
        assert_eq!(
            (t.lead.status(), t.effects.clone()),
            (LeadStatus::Nurture, vec![Effect::Publish(Announcement::Nurture)])
        );
    }

    #[test]
    fn the_first_touch_stops_the_clock_and_waits_in_the_outbox_until_announced() {
        let t = assigned().touch(touch(TouchKind::Accepted, 5)).unwrap();
        let announcement = Announcement::Touched { touch: touch(TouchKind::Accepted, 5) };
        assert_eq!(t.lead.touched_at(), Some(t0() + chrono::Duration::minutes(5)));
        assert_eq!(t.lead.outbox, std::slice::from_ref(&announcement));
        assert_eq!(t.lead.awaiting().map(|w| w.kind), Some(crate::WaitKind::Announce));
        let done = t.lead.announced(&announcement).lead;
        assert_eq!((done.status(), done.awaiting()), (LeadStatus::Touched, None));
        let again = done.touch(touch(TouchKind::Called, 9)).unwrap().lead;
        assert_eq!((again.touched_at(), again.touches.len()), (done.touched_at(), 2), "a later touch is activity");
    }

    #[test]
    fn the_same_touch_twice_is_recorded_once() {
        let first = assigned().touch(touch(TouchKind::NotAFit, 5)).unwrap().lead;
        assert_eq!(first.touch(touch(TouchKind::NotAFit, 5)).unwrap_err(), Refusal::AlreadyRecorded);
        let mut crm = touch(TouchKind::Called, 6);
        crm.external_id = Some("crm-activity-1".into());
        let once = assigned().touch(crm.clone()).unwrap().lead;
        let mut replay = crm.clone();
        replay.at = crm.at + chrono::Duration::minutes(1); // a replay is known by its external id alone
        assert_eq!(once.touch(replay).unwrap_err(), Refusal::AlreadyRecorded);
        assert_eq!(once.touches.len(), 1);
    }

    #[test]
    fn events_arriving_out_of_order_are_ordered_by_their_own_time() {
        let contacted = assigned().touch(touch(TouchKind::Contacted, 30)).unwrap().lead;
        let both = contacted.touch(touch(TouchKind::Called, 5)).unwrap().lead;
        assert_eq!(both.touched_at(), Some(t0() + chrono::Duration::minutes(5)), "the earlier call is the first touch");
        let kinds: Vec<TouchKind> = both.touches.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, [TouchKind::Called, TouchKind::Contacted]);
    }

    #[test]
    fn nurture_by_the_owner_closes_the_lead_without_counting_as_a_touch() {
        let lead = assigned();
        let t = lead.touch(touch(TouchKind::Nurture, 5)).unwrap();
        assert_eq!((t.lead.status(), t.lead.touched_at(), t.lead.next_rung()), (LeadStatus::Nurture, None, None));
        assert_eq!(t.lead.touch(touch(TouchKind::Won, 50)).unwrap_err(), Refusal::NotOpen(LeadStatus::Nurture));
    }

    #[test]
    fn the_visitor_opening_the_booking_page_is_activity_and_the_clock_runs_on() {
        let lead = assigned();
        let rung = lead.next_rung();
        let t = lead.touch(touch(TouchKind::BookingOpened, 1)).unwrap();
        assert_eq!((t.lead.status(), t.lead.touched_at(), t.lead.next_rung()), (LeadStatus::Assigned, None, rung));
        assert_eq!(t.lead.touches.len(), 1, "recorded");
        assert!(!t.effects.iter().any(|e| matches!(e, Effect::ReleaseOpenSlot { .. })), "the owner's slot stays taken");
        let called = t.lead.touch(touch(TouchKind::Called, 5)).unwrap().lead;
        assert_eq!(
            called.touched_at(),
            Some(t0() + chrono::Duration::minutes(5)),
            "the owner's call is the first touch"
        );
        let again = called.touch(touch(TouchKind::BookingOpened, 9)).unwrap().lead;
        assert_eq!((again.status(), again.touched_at()), (LeadStatus::Touched, called.touched_at()));
    }

    #[test]
    fn an_outbox_entry_is_left_to_its_recorder_for_a_grace_period() {
        let touched = assigned().touch(touch(TouchKind::Called, 5)).unwrap().lead;
        assert_eq!(touched.awaiting().unwrap().due_at, t0() + chrono::Duration::minutes(5) + announce_grace());
    }

    #[test]
    fn not_a_fit_disqualifies_keeping_when_the_lead_was_touched_and_closes_it() {
        let touched = assigned().touch(touch(TouchKind::Accepted, 1)).unwrap().lead;
        let out = touched.touch(touch(TouchKind::NotAFit, 2)).unwrap().lead;
        assert_eq!((out.status(), out.touched_at()), (LeadStatus::Disqualified, touched.touched_at()));
        assert_eq!(out.touch(touch(TouchKind::Called, 3)).unwrap_err(), Refusal::NotOpen(LeadStatus::Disqualified));
        let routed_out = captured(r#"{"email":"spy@competitor.example","country":"US"}"#);
        let routed_out = routed_out.assign(decide(&routed_out, &Ruleset::default_ruleset(), t0())).unwrap().lead;
        assert_eq!(
            routed_out.touch(touch(TouchKind::Called, 3)).unwrap_err(),
            Refusal::NotOpen(LeadStatus::Disqualified),
            "a lead routing disqualified was never with a rep"
        );
        assert_eq!(
            captured(r#"{"email":"b@corp.example"}"#).touch(touch(TouchKind::Called, 3)).unwrap_err(),
            Refusal::NotOpen(LeadStatus::Captured)
        );
    }

    #[test]
    fn an_escalation_is_keyed_by_the_due_time_it_missed_and_happens_once() {
        let lead = assigned();
        let due = lead.decision().unwrap().first_touch_due_at;
        assert_eq!(lead.escalate(due - chrono::Duration::seconds(1)).unwrap_err(), Refusal::NotDue(due));
        let late = due + chrono::Duration::minutes(7);
        let t = lead.escalate(late).unwrap();
        assert_eq!(t.lead.escalated_at(), Some(late));
        assert_eq!(
            t.lead.outbox,
            [Announcement::Breached { due_at: due }],
            "keyed by the due time, not the sweep's clock"
        );
        assert_eq!(t.lead.escalate(late).unwrap_err(), Refusal::NotAssigned(LeadStatus::Escalated));
        let touched = t.lead.touch(touch(TouchKind::Called, 10_000)).unwrap().lead;
        assert_eq!((touched.status(), touched.escalated_at()), (LeadStatus::Touched, Some(late)));
    }

    #[test]
    fn a_deferred_lead_is_due_again_only_after_its_backoff() {
        let lead = captured(r#"{"email":"a@corp.example"}"#);
        let natural = lead.awaiting().unwrap().due_at;
        let now = natural + chrono::Duration::minutes(10);
        let once = lead.deferred(now, "queue down").lead;
        assert_eq!(once.awaiting().unwrap().due_at, now + chrono::Duration::minutes(1));
        let twice = once.deferred(now, "queue down").lead;
        assert_eq!(twice.awaiting().unwrap().due_at, now + chrono::Duration::minutes(2));
        assert_eq!(deferral_after(40), chrono::Duration::hours(1));
        let assigned = twice.assign(decide(&twice, &Ruleset::default_ruleset(), now)).unwrap().lead;
        assert_eq!(assigned.deferral, None, "a transition out of the wait clears the deferral");
    }

    #[test]
    fn stages_store_under_the_same_names_as_before() {
        let touched = assigned().touch(touch(TouchKind::Accepted, 1)).unwrap().lead;
        let json = serde_json::to_value(&touched).unwrap();
        assert_eq!(json["status"], "touched");
        assert!(json["decision"].is_object() && json["touched_at"].is_string(), "{json}");
        let back: Lead = serde_json::from_value(json).unwrap();
        assert_eq!(back, touched);
    }

    /// The default ruleset with the whole ladder: a warning at 80%, reassignment 10 minutes
    /// after the breach, at most once before the fallback queue.
    fn ladder_ruleset() -> Ruleset {
        let mut r = Ruleset::default_ruleset();
        r.sla.warn_at_percent = Some(80);
        r.sla.reassign_after = Some("10m".into());
        r.sla.max_reassignments = Some(1);
        r.validate().unwrap();
        r
    }

    fn pool_lead(r: &Ruleset) -> Lead {
        let lead = captured(r#"{"email":"a@corp.example","country":"US"}"#);
        let decision = crate::rules::engine::plan(r, &lead).decide(&lead, 1, 0, &|_| None, t0());
        lead.assign(decision).unwrap().lead
    }

    fn reassigned(r: &Ruleset, lead: &Lead, now: Timestamp) -> Transition {
        let (decision, reason) = crate::rules::engine::reassignment(r, lead, 1, 0, &|_| None, now).unwrap();
        lead.reassign(decision, &reason, now).unwrap()
    }

    #[test]
    fn a_lead_climbs_warning_breach_reassignment_then_the_fallback_queue() {
        let r = ladder_ruleset();
        let lead = pool_lead(&r);
        let d = lead.decision().unwrap().clone();
        let terms = d.sla.clone().unwrap();
        let (warn, due) = (terms.warn_at.unwrap(), d.first_touch_due_at);
        let target = r.sla.target(d.score.priority);
        assert_eq!((warn - t0(), due - t0()), (target * 4 / 5, target), "warned at 80% of the target");
        assert_eq!(lead.next_rung(), Some((crate::Rung::Warning, warn)));
        assert_eq!(lead.climb(warn - chrono::Duration::seconds(1)).unwrap_err(), Refusal::NotDue(warn));

        let warned = lead.climb(warn).unwrap();
        assert_eq!(warned.lead.outbox, [Announcement::SlaWarning { due_at: due }]);
        assert_eq!(warned.lead.next_rung(), Some((crate::Rung::Breach, due)));
        assert_eq!(warned.lead.climb(warn).unwrap_err(), Refusal::NotDue(due), "the warning is taken once");

        let breached = warned.lead.climb(due).unwrap().lead;
        assert_eq!(breached.status(), LeadStatus::Escalated);
        let reassign_at = terms.reassign_at.unwrap();
        assert_eq!(reassign_at, due + chrono::Duration::minutes(10));
        assert_eq!(breached.next_rung(), Some((crate::Rung::Reassignment, reassign_at)));

        let moved = reassigned(&r, &breached, reassign_at);
        let new = moved.lead.decision().unwrap().clone();
        assert_ne!(new.owner.id, d.owner.id, "the next available member, never the one who missed it");
        assert_eq!(new.first_touch_due_at, reassign_at + target, "a fresh target");
        assert_eq!(moved.lead.status(), LeadStatus::Assigned);
        assert_eq!(moved.lead.previous_decisions, std::slice::from_ref(&d));
        assert!(moved.effects.contains(&Effect::Publish(Announcement::Reassigned { due_at: due })));
        let step = moved.lead.sla_history.last().unwrap();
        assert_eq!((step.owner.as_str(), step.to.as_deref()), (d.owner.id.as_str(), Some(new.owner.id.as_str())));

        // The same ladder again, then the fallback queue (at most one reassignment).
        let again = moved.lead.climb(new.first_touch_due_at).unwrap().lead;
        let last = reassigned(&r, &again, again.next_rung().unwrap().1);
        let queue = last.lead.decision().unwrap();
        assert_eq!(queue.owner.id, r.fallback.id);
        assert!(last.lead.sla_history.last().unwrap().reason.as_deref().unwrap().contains("after 1 reassignment"));
        let end = last.lead.climb(queue.first_touch_due_at).unwrap().lead;
        assert_eq!(end.next_rung(), None, "the fallback queue is the end of the ladder");
        assert_eq!(end.reassignments(), 2);
    }

    #[test]
    fn an_event_dated_before_the_capture_is_refused_and_changes_nothing() {
        let lead = captured(r#"{"email":"a@corp.example"}"#);
        let lead = lead.assign(decide(&lead, &Ruleset::default_ruleset(), t0())).unwrap().lead;
        let early = touch(TouchKind::Called, -1);
        assert_eq!(lead.touch(early).unwrap_err(), Refusal::BeforeCapture(lead.captured_at));
        assert!(lead.touch(touch(TouchKind::Called, 0)).is_ok(), "at the capture itself is not before it");
    }

    #[test]
    fn a_touch_at_any_rung_stops_the_ladder() {
        let r = ladder_ruleset();
        let lead = pool_lead(&r);
        let terms = lead.decision().unwrap().sla.clone().unwrap();
        let warned = lead.climb(terms.warn_at.unwrap()).unwrap().lead;
        let breached = warned.climb(terms.due_at).unwrap().lead;
        let moved = reassigned(&r, &breached, terms.reassign_at.unwrap()).lead;
        for stage in [&lead, &warned, &breached, &moved] {
            let touched = stage.touch(touch(TouchKind::Called, 200)).unwrap().lead;
            assert_eq!(touched.next_rung(), None, "{:?}", stage.status());
            assert_eq!(touched.awaiting().map(|w| w.kind), Some(crate::WaitKind::Announce), "only its event is left");
        }
    }

    #[test]
    fn a_reassignment_frees_the_old_owners_slot_and_takes_the_new_owners_in_the_same_write() {
        let mut r = ladder_ruleset();
        for m in &mut r.pools.get_mut("north-america").unwrap().members {
            m.max_open = Some(5);
        }
        let lead = pool_lead(&r);
        let old = lead.decision().unwrap().owner.id.clone();
        let terms = lead.decision().unwrap().sla.clone().unwrap();
        let breached = lead.climb(terms.due_at).unwrap().lead;
        let moved = reassigned(&r, &breached, terms.reassign_at.unwrap());
        let new = moved.lead.decision().unwrap().owner.id.clone();
        assert_eq!(
            moved.effects[..2],
            [Effect::ReleaseOpenSlot { owner: old }, Effect::TakeOpenSlot { owner: new, max: 5 }]
        );
    }

    #[test]
    fn a_touch_racing_a_reassignment_is_credited_to_whoever_did_it() {
        let r = ladder_ruleset();
        let lead = pool_lead(&r);
        let old = lead.decision().unwrap().owner.id.clone();
        let terms = lead.decision().unwrap().sla.clone().unwrap();
        let moved = reassigned(&r, &lead.climb(terms.due_at).unwrap().lead, terms.reassign_at.unwrap()).lead;
        // The old owner's call lands after the reassignment was written.
        let call = Touch::new(TouchKind::Called, terms.reassign_at.unwrap(), old.clone(), "api");
        let touched = moved.touch(call).unwrap().lead;
        assert_eq!((touched.status(), touched.touches[0].by.as_str()), (LeadStatus::Touched, old.as_str()));
    }
}
