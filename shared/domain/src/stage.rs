//! A lead's lifecycle: its stage, as a type that cannot hold an illegal state, and every
//! transition between stages, each one function returning the new lead and the effects it
//! implies.
//!
//! ```text
//!             assign (rep)            escalate            touch
//! Captured ───────────────▶ Assigned ─────────▶ Escalated ─────▶ Touched ──(not a fit)──▶ Disqualified
//!    │  ▲                      └──────────── touch ─────────────▶ Touched
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
    /// `lead.escalated`: the first touch due at `due_at` was missed (one per lead and due time).
    #[serde(rename = "lead.escalated")]
    Escalated { due_at: Timestamp },
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
            Self::Touched { .. } => EventType::Touched,
        }
    }

    /// When the sweep should announce it, if whoever recorded it has not: a grace period
    /// ([`announce_grace`]) after it was recorded, so the sweep only picks up what the recorder
    /// gave up on and never races it.
    pub fn due_at(&self, lead: &Lead) -> Timestamp {
        let recorded = match self {
            Self::Escalated { due_at } => lead.escalated_at().unwrap_or(*due_at),
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
    /// The first touch is not overdue yet.
    #[error("the first touch is not due until {0}")]
    NotDue(Timestamp),
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

    /// Records `touch`. The first one (on an assigned or escalated lead) stops the SLA clock and
    /// gives back the owner's open slot when the decision took one; later ones are activity.
    /// "Not a fit" disqualifies. Each touch waits in the outbox until `lead.touched` is out.
    /// Refused when the lead is not with a rep.
    pub fn touch(&self, touch: Touch) -> Result<Transition, Refusal> {
        let announcement = Announcement::Touched { touch: touch.clone() };
        if self.touches.contains(&touch) {
            // Recorded already (a retry after a write whose answer was lost): nothing changes.
            return Ok(Transition::new(self.clone()).with(Effect::Publish(announcement)));
        }
        let mut lead = self.clone();
        lead.deferral = None;
        let mut release = None;
        lead.stage = match self.stage.clone() {
            Stage::Assigned { decision } | Stage::Escalated { decision, .. } => {
                if decision.max_open.is_some() {
                    release = Some(decision.owner.id.clone());
                }
                let escalated_at = self.escalated_at();
                if touch.kind == TouchKind::NotAFit {
                    Stage::Disqualified { decision, touched_at: Some(touch.at), escalated_at }
                } else {
                    Stage::Touched { decision, touched_at: touch.at, escalated_at }
                }
            }
            Stage::Touched { decision, touched_at, escalated_at } if touch.kind == TouchKind::NotAFit => {
                Stage::Disqualified { decision, touched_at: Some(touched_at), escalated_at }
            }
            touched @ Stage::Touched { .. } => touched,
            _ => return Err(Refusal::NotOpen(self.status())),
        };
        lead.touches.push(touch.clone());
        if lead.touches.len() > crate::touch::MAX_TOUCHES {
            lead.touches.remove(0);
        }
        if !lead.outbox.contains(&announcement) {
            lead.outbox.push(announcement.clone());
        }
        let mut transition = Transition::new(lead);
        if let Some(owner) = release {
            transition = transition.with(Effect::ReleaseOpenSlot { owner });
        }
        Ok(transition.with(Effect::Publish(announcement)))
    }

    /// Escalates an assigned lead whose first touch is overdue at `now`. The escalation is keyed
    /// by what it is (this lead, its first-touch due time), recorded in the outbox with the
    /// stage, and announced from there: a rerun finds the lead escalated and does nothing.
    pub fn escalate(&self, now: Timestamp) -> Result<Transition, Refusal> {
        let Stage::Assigned { decision } = &self.stage else {
            return Err(Refusal::NotAssigned(self.status()));
        };
        let due_at = decision.first_touch_due_at;
        if now < due_at {
            return Err(Refusal::NotDue(due_at));
        }
        let mut lead = self.clone();
        lead.deferral = None;
        lead.stage = Stage::Escalated { decision: decision.clone(), escalated_at: now };
        let announcement = Announcement::Escalated { due_at };
        lead.outbox.push(announcement.clone());
        Ok(Transition::new(lead).with(Effect::Publish(announcement)))
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
        let again = first.touch(touch(TouchKind::NotAFit, 5)).unwrap();
        assert_eq!(again.lead, first, "a retried touch changes nothing");
        assert_eq!(again.effects, [Effect::Publish(Announcement::Touched { touch: touch(TouchKind::NotAFit, 5) })]);
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
            [Announcement::Escalated { due_at: due }],
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
}
