//! Touches: what the owner did with a lead (accepted it, called, emailed, booked a meeting, or
//! found it not a fit). The first touch stops the SLA clock and completes the first-action task;
//! later touches are kept as the lead's activity.

use serde::{Deserialize, Serialize};

use crate::{Lead, Timestamp};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
        let d = self.decision().filter(|d| d.disposition.is_none())?;
        let done = self.touched_at().and_then(|at| self.touches.iter().find(|t| t.at == at).cloned());
        let status = match (&done, self.touched_at()) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, Ruleset, decide};

    fn assigned() -> Lead {
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let decision = decide(&lead, &Ruleset::default_ruleset(), chrono::Utc::now());
        lead.assign(decision).unwrap().lead
    }

    fn touch(kind: TouchKind) -> Touch {
        Touch { kind, at: chrono::Utc::now(), by: "U1".into(), via: "slack".into(), note: None }
    }

    #[test]
    fn the_task_is_open_then_overdue_then_done_by_the_first_touch() {
        let lead = assigned();
        let due = lead.decision().unwrap().first_touch_due_at;
        assert_eq!(lead.task(due).unwrap().status, TaskStatus::Open);
        assert_eq!(lead.task(due + chrono::Duration::seconds(1)).unwrap().status, TaskStatus::Overdue);
        let done = lead.touch(touch(TouchKind::MeetingBooked)).unwrap().lead;
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
