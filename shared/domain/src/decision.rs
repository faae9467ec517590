//! The routing decision: score, owner, the first action and when it is due.

use serde::{Deserialize, Serialize};

use crate::{Lead, LeadStatus, Owner, Ruleset, Score, Timestamp};

/// What the owner should do first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FirstAction {
    Call,
    Email,
    /// Send the owner's booking link so the lead picks a time.
    SendMeetingLink,
}

impl FirstAction {
    /// An imperative label for messages ("Call", "Email", "Send a meeting link to").
    pub fn label(self) -> &'static str {
        match self {
            Self::Call => "Call",
            Self::Email => "Email",
            Self::SendMeetingLink => "Send a meeting link to",
        }
    }

    /// The wire name, such as `send_meeting_link`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Email => "email",
            Self::SendMeetingLink => "send_meeting_link",
        }
    }
}

/// Why a lead went to whom, and what is due by when. Recorded once per lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decision {
    pub owner: Owner,
    /// The routing rule that matched, or `fallback`.
    pub rule: String,
    pub score: Score,
    pub first_action: FirstAction,
    pub first_touch_due_at: Timestamp,
    pub decided_at: Timestamp,
    /// The pool the owner was chosen from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Pool members passed over, and why (paused, out of office, outside hours, at capacity).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<crate::rules::pool::Skip>,
    /// Set when the lead went to nurture or was disqualified instead of to a rep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<crate::rules::Disposition>,
    /// The suppression that kept the lead with its current owner instead of a new assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<String>,
    /// The ruleset and version that decided, such as `default v3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruleset: Option<String>,
    /// The owner's cap on open leads when this lead counts against it (a pool member with
    /// `max_open`): the store takes one of the owner's open slots with the decision and gives it
    /// back at the first touch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
    /// The playbook play that chose the first action (absent: the built-in choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub play: Option<String>,
    /// The play's advice for the first action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    /// The team channel (the pool's, else the ruleset's), where a summary of the assignment (and
    /// of each rung of its SLA ladder) goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_channel: Option<String>,
    /// The team manager's Slack id, told directly when the lead breaches its SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// The SLA policy that set the due time, on its clock, with when each rung of the ladder is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<crate::sla::SlaTerms>,
    /// The experiments the lead takes part in, and the variant it got in each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<crate::rules::ExperimentArm>,
}

/// Qualifies and assigns a lead at `now` by `ruleset`, taking the first slot of any pool (for
/// callers without a shared round-robin pointer, such as tests and simulations).
pub fn decide(lead: &Lead, ruleset: &Ruleset, now: Timestamp) -> Decision {
    crate::rules::engine::plan(ruleset, lead).decide(lead, 0, 0, &|_| None, now)
}

impl Decision {
    /// The status a captured lead takes with this decision.
    pub fn status(&self) -> LeadStatus {
        match self.disposition {
            None => LeadStatus::Assigned,
            Some(crate::rules::Disposition::Nurture) => LeadStatus::Nurture,
            Some(crate::rules::Disposition::Disqualified) => LeadStatus::Disqualified,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, Priority};

    fn lead(json: &str) -> Lead {
        LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), chrono::Utc::now()).unwrap()
    }

    #[test]
    fn a_hot_lead_with_a_phone_is_called_first() {
        let l = lead(
            r#"{"email":"vp@acme.io","phone":"+14155550100","company":"Acme","job_title":"VP Sales","country":"US",
                "source":{"form_type":"demo_request"}}"#,
        );
        let now = chrono::Utc::now();
        let d = decide(&l, &Ruleset::default_ruleset(), now);
        assert_eq!(d.score.priority, Priority::Hot);
        assert_eq!(d.first_action, FirstAction::Call);
        assert_eq!(d.owner.id, "rep-avery");
        assert_eq!(d.first_touch_due_at, now + crate::sla::first_touch_target(Priority::Hot));
    }

    #[test]
    fn a_lead_with_only_an_email_is_emailed_first() {
        let d = decide(&lead(r#"{"email":"a@corp.example"}"#), &Ruleset::default_ruleset(), chrono::Utc::now());
        assert_eq!(d.first_action, FirstAction::Email);
    }

    #[test]
    fn a_hot_lead_without_a_phone_gets_the_owners_meeting_link() {
        let l = lead(
            r#"{"email":"vp@acme.io","company":"Acme","job_title":"VP Sales","country":"US",
                "source":{"form_type":"demo_request"}}"#,
        );
        let d = decide(&l, &Ruleset::default_ruleset(), chrono::Utc::now());
        assert_eq!((d.score.priority, d.first_action), (Priority::Hot, FirstAction::SendMeetingLink));
        assert_eq!(d.play.as_deref(), Some("hot, no phone"));
        assert!(d.guidance.is_some(), "the play's advice travels with the decision");
        assert!(d.owner.meeting_link.is_some(), "the owner's booking page travels with the decision");
    }

    #[test]
    fn a_lead_with_only_a_phone_is_called_first() {
        let d = decide(&lead(r#"{"phone":"+49 30 1234567"}"#), &Ruleset::default_ruleset(), chrono::Utc::now());
        assert_eq!(d.first_action, FirstAction::Call);
    }
}
