//! Touches: what the owner did with a lead (accepted it, called, emailed, booked a meeting, or
//! found it not a fit). The first touch stops the SLA clock and completes the first-action task;
//! later touches are kept as the lead's activity.

use serde::{Deserialize, Serialize};

use crate::{Lead, LeadStatus, Timestamp};

/// What the owner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TouchKind {
    /// Took the lead on ("Accept").
    Accepted,
    /// Logged a call.
    Called,
    /// Logged an email.
    Emailed,
    /// Booked a meeting.
    MeetingBooked,
    /// Not a sales lead after all: the lead is disqualified.
    NotAFit,
}

impl TouchKind {
    /// Every kind, in the order buttons show them.
    pub const ALL: [TouchKind; 5] = [Self::Accepted, Self::Called, Self::Emailed, Self::MeetingBooked, Self::NotAFit];

    /// The wire name, such as `meeting_booked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Called => "called",
            Self::Emailed => "emailed",
            Self::MeetingBooked => "meeting_booked",
            Self::NotAFit => "not_a_fit",
        }
    }

    /// The kind with this wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// A button label, such as "Log call".
    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "Accept",
            Self::Called => "Log call",
            Self::Emailed => "Log email",
            Self::MeetingBooked => "Meeting booked",
            Self::NotAFit => "Not a fit",
        }
    }

    /// A past-tense phrase for activity lines, such as "logged a call".
    pub fn past(self) -> &'static str {
        match self {
            Self::Accepted => "accepted the lead",
            Self::Called => "logged a call",
            Self::Emailed => "logged an email",
            Self::MeetingBooked => "booked a meeting",
            Self::NotAFit => "marked it not a fit",
        }
    }
}

/// One thing the owner (or someone for them) did with a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub kind: TouchKind,
    pub at: Timestamp,
    /// Who acted: a Slack user id, or the API caller's name.
    pub by: String,
    /// Where it was recorded: `slack` or `api`.
    pub via: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Touch {
    /// A touch of `kind` at `at` by `by`, recorded through `via` (`slack` or `api`).
    pub fn new(kind: TouchKind, at: Timestamp, by: impl Into<String>, via: impl Into<String>) -> Self {
        Self { kind, at, by: by.into(), via: via.into(), note: None }
    }
}

/// The outcome of recording a touch.
#[derive(Debug, Clone, PartialEq)]
pub enum Touched {
    /// The first touch: the SLA clock stopped and the task is done. The lead as now stored.
    First(Lead),
    /// A later touch, added to the lead's activity. The lead as now stored.
    Again(Lead),
    /// The lead is not with a rep (still captured, nurture, spam or disqualified): nothing was recorded.
    NotOpen(Lead),
    /// No lead has this id.
    Missing,
}

impl Lead {
    /// The lead with `touch` waiting to be announced (unless it already is).
    pub fn with_unannounced(mut self, touch: Touch) -> Lead {
        if !self.unannounced.contains(&touch) {
            self.unannounced.push(touch);
        }
        self
    }

    /// The lead with `touch` announced.
    pub fn announced(mut self, touch: &Touch) -> Lead {
        self.unannounced.retain(|t| t != touch);
        self
    }

    /// The lead with `failure` recorded, replacing an earlier failure of the same event and channel.
    pub fn with_notification_failure(mut self, failure: crate::NotificationFailure) -> Lead {
        self.notification_failures.retain(|f| (&f.event, &f.channel) != (&failure.event, &failure.channel));
        self.notification_failures.push(failure);
        self
    }
}

/// Where the owner's first-action task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not done, not yet due.
    Open,
    /// Not done, past its due time.
    Overdue,
    /// Done: the lead had its first touch.
    Done,
}

/// The first-action task every assignment creates: what to do, by when, and whether it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub lead_id: crate::LeadId,
    pub owner: crate::Owner,
    pub action: crate::FirstAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    pub due_at: Timestamp,
    pub status: TaskStatus,
    /// The first touch, which completed the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Touch>,
}

impl Lead {
    /// The lead's first-action task at `now`, if it was assigned to a rep.
    pub fn task(&self, now: Timestamp) -> Option<Task> {
        let d = self.decision.as_ref().filter(|d| d.disposition.is_none())?;
        let done = self.touched_at.and_then(|at| self.touches.iter().find(|t| t.at == at).cloned());
        let status = match (&done, self.touched_at) {
            (_, Some(_)) => TaskStatus::Done,
            (None, None) if now > d.first_touch_due_at => TaskStatus::Overdue,
            _ => TaskStatus::Open,
        };
        Some(Task {
            lead_id: self.id.clone(),
            owner: d.owner.clone(),
            action: d.first_action,
            guidance: d.guidance.clone(),
            due_at: d.first_touch_due_at,
            status,
            done,
        })
    }
}

/// The most touches kept on a lead (the oldest are dropped first); the first is always kept
/// in `touched_at`.
pub const MAX_TOUCHES: usize = 50;

impl Lead {
    /// Whether the lead waits for its owner's first touch (assigned or escalated): it counts
    /// against the owner's open-lead cap.
    pub fn is_open(&self) -> bool {
        matches!(self.status, LeadStatus::Assigned | LeadStatus::Escalated)
    }

    /// The lead with `touch` recorded: [`Touched::First`] when it was open, [`Touched::Again`]
    /// when touched before, [`Touched::NotOpen`] (unchanged) when it is not with a rep.
    /// "Not a fit" disqualifies the lead.
    pub fn touch(self, touch: Touch) -> Touched {
        let first = self.is_open();
        if !first && self.status != LeadStatus::Touched {
            return Touched::NotOpen(self);
        }
        let mut lead = self;
        if first {
            lead.touched_at = Some(touch.at);
            lead.status = LeadStatus::Touched;
        }
        if touch.kind == TouchKind::NotAFit {
            lead.status = LeadStatus::Disqualified;
        }
        lead.touches.push(touch);
        if lead.touches.len() > MAX_TOUCHES {
            lead.touches.remove(0);
        }
        if first { Touched::First(lead) } else { Touched::Again(lead) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, Ruleset, decide};

    fn assigned() -> Lead {
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let decision = decide(&lead, &Ruleset::default_ruleset(), chrono::Utc::now());
        lead.assigned(decision)
    }

    fn touch(kind: TouchKind) -> Touch {
        Touch { kind, at: chrono::Utc::now(), by: "U1".into(), via: "slack".into(), note: None }
    }

    #[test]
    fn the_first_touch_stops_the_clock_and_later_ones_are_activity() {
        let Touched::First(lead) = assigned().touch(touch(TouchKind::Accepted)) else { panic!("not a first touch") };
        assert_eq!((lead.status, lead.awaiting()), (LeadStatus::Touched, None));
        let first_at = lead.touched_at;
        let Touched::Again(lead) = lead.touch(touch(TouchKind::Called)) else { panic!("not a later touch") };
        assert_eq!((lead.touched_at, lead.touches.len()), (first_at, 2));
    }

    #[test]
    fn not_a_fit_disqualifies_and_closes_the_lead() {
        let Touched::First(lead) = assigned().touch(touch(TouchKind::NotAFit)) else { panic!("not a first touch") };
        assert_eq!(lead.status, LeadStatus::Disqualified);
        assert!(matches!(lead.touch(touch(TouchKind::Called)), Touched::NotOpen(_)));
    }

    #[test]
    fn the_task_is_open_then_overdue_then_done_by_the_first_touch() {
        let lead = assigned();
        let due = lead.decision.as_ref().unwrap().first_touch_due_at;
        assert_eq!(lead.task(due).unwrap().status, TaskStatus::Open);
        assert_eq!(lead.task(due + chrono::Duration::seconds(1)).unwrap().status, TaskStatus::Overdue);
        let Touched::First(done) = lead.touch(touch(TouchKind::MeetingBooked)) else { panic!("first") };
        let task = done.task(due + chrono::Duration::hours(1)).unwrap();
        assert_eq!((task.status, task.done.map(|t| t.kind)), (TaskStatus::Done, Some(TouchKind::MeetingBooked)));
    }

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for kind in TouchKind::ALL {
            assert_eq!(TouchKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TouchKind::parse("ignored"), None);
    }
}
