//! The routing decision: score, owner, the first action and when it is due.

use serde::{Deserialize, Serialize};

use crate::{Lead, LeadStatus, Owner, Priority, RoutingTable, Score, Timestamp, score, sla};

/// What the owner should do first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstAction {
    Call,
    Email,
}

impl FirstAction {
    /// An imperative label for messages ("Call", "Email").
    pub fn label(self) -> &'static str {
        match self {
            Self::Call => "Call",
            Self::Email => "Email",
        }
    }
}

/// Why a lead went to whom, and what is due by when. Recorded once per lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub owner: Owner,
    /// The routing rule that matched, or `fallback`.
    pub rule: String,
    pub score: Score,
    pub first_action: FirstAction,
    pub first_touch_due_at: Timestamp,
    pub decided_at: Timestamp,
}

/// Qualifies and assigns a lead at `now`. Pure: the same inputs give the same decision.
pub fn decide(lead: &Lead, table: &RoutingTable, now: Timestamp) -> Decision {
    let score = score(lead);
    let assignment = table.assign(lead, &score);
    let first_action = match (&lead.phone, &lead.email, score.priority) {
        (Some(_), _, Priority::Hot) | (Some(_), None, _) => FirstAction::Call,
        _ => FirstAction::Email,
    };
    Decision {
        owner: assignment.owner,
        rule: assignment.rule,
        first_touch_due_at: now + sla::first_touch_target(score.priority),
        score,
        first_action,
        decided_at: now,
    }
}

impl Lead {
    /// The lead with `decision` recorded and its status assigned.
    pub fn assigned(mut self, decision: Decision) -> Lead {
        self.status = LeadStatus::Assigned;
        self.decision = Some(decision);
        self
    }

    /// The lead marked as escalated at `now` (its first touch was overdue).
    pub fn escalated(mut self, now: Timestamp) -> Lead {
        self.status = LeadStatus::Escalated;
        self.escalated_at = Some(now);
        self
    }

    /// The lead marked as touched by its owner at `now`; the SLA clock stops.
    pub fn touched(mut self, now: Timestamp) -> Lead {
        self.status = LeadStatus::Touched;
        self.touched_at = Some(now);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission};

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
        let d = decide(&l, &RoutingTable::starter(), now);
        assert_eq!(d.score.priority, Priority::Hot);
        assert_eq!(d.first_action, FirstAction::Call);
        assert_eq!(d.owner.id, "rep-avery");
        assert_eq!(d.first_touch_due_at, now + sla::first_touch_target(Priority::Hot));
    }

    #[test]
    fn a_lead_with_only_an_email_is_emailed_first() {
        let d = decide(&lead(r#"{"email":"a@corp.example"}"#), &RoutingTable::starter(), chrono::Utc::now());
        assert_eq!(d.first_action, FirstAction::Email);
    }

    #[test]
    fn a_lead_with_only_a_phone_is_called_first() {
        let d = decide(&lead(r#"{"phone":"+49 30 1234567"}"#), &RoutingTable::starter(), chrono::Utc::now());
        assert_eq!(d.first_action, FirstAction::Call);
    }
}
