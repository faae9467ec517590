//! The thank-you handoff: what the visitor who just submitted a form may see of their lead.
//!
//! The page that submitted the form asks, through a short-lived link scoped to the one lead,
//! where the lead stands. The answer is deliberately small: the state, and for a rep the display
//! name and booking link. No lead data (not even what the visitor typed), no score, no rule.
//!
//! | lead | state | owner shown |
//! |---|---|---|
//! | captured, not yet routed (or a bot's) | `routing` | |
//! | with a rep (assigned, escalated, touched) | `assigned` | name, booking link if they have one |
//! | with the fallback queue | `queue` | |
//! | nurture | `nurture` | |
//! | disqualified | `queue` (the visitor is told no more than a queued lead's) | |

use serde::Serialize;

use crate::rules::engine::FALLBACK_RULE;
use crate::{Lead, Stage};

/// Where the lead stands, as the visitor's page is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffState {
    /// Not decided yet: ask again.
    Routing,
    /// With a named rep.
    Assigned,
    /// With the team's queue: no one person yet.
    Queue,
    /// Not for sales now.
    Nurture,
}

/// The rep the visitor is with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffOwner {
    /// The display name, such as "Avery Chen".
    pub name: String,
    /// Their booking page, when they have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_url: Option<String>,
}

/// Everything the handoff link answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handoff {
    pub state: HandoffState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<HandoffOwner>,
}

impl Handoff {
    /// What the visitor's page is told of `lead` (see the module's table).
    pub fn of(lead: &Lead) -> Self {
        let state = |state| Self { state, owner: None };
        match &lead.stage {
            Stage::Captured | Stage::Spam => state(HandoffState::Routing),
            Stage::Nurture { .. } => state(HandoffState::Nurture),
            Stage::Disqualified { .. } => state(HandoffState::Queue),
            Stage::Assigned { decision } | Stage::Escalated { decision, .. } | Stage::Touched { decision, .. } => {
                if decision.rule == FALLBACK_RULE {
                    return state(HandoffState::Queue);
                }
                Self {
                    state: HandoffState::Assigned,
                    owner: Some(HandoffOwner {
                        name: decision.owner.name.clone(),
                        booking_url: decision.owner.meeting_link.clone(),
                    }),
                }
            }
        }
    }

    /// Whether routing has decided (asking again will not change the answer soon).
    pub fn is_settled(&self) -> bool {
        self.state != HandoffState::Routing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadSubmission, Ruleset, Timestamp};

    fn lead(body: &str) -> Lead {
        let now: Timestamp = "2026-12-01T15:00:00Z".parse().unwrap();
        LeadSubmission::from_json(body.as_bytes()).unwrap().into_lead(crate::LeadId::generate(), now).unwrap()
    }

    #[test]
    fn a_captured_lead_is_routing_and_shows_nobody() {
        let l = lead(r#"{"email":"ana@acme.example","first_name":"Ana"}"#);
        let h = Handoff::of(&l);
        assert_eq!(h, Handoff { state: HandoffState::Routing, owner: None });
        assert!(!h.is_settled());
    }

    #[test]
    fn a_routed_lead_shows_only_the_reps_name_and_booking_link() {
        let mut l = lead(
            r#"{"email":"ana@acme.example","first_name":"Ana","company":"Acme","country":"US","employee_count":800,
               "product_interest":"platform","source":{"form_type":"demo_request"}}"#,
        );
        let mut decision = crate::decide(&l, &Ruleset::default_ruleset(), l.captured_at);
        decision.rule = "enterprise-demo".into();
        decision.owner = crate::Owner::new("rep-avery", "Avery Chen");
        decision.owner.meeting_link = Some("https://cal.example.com/avery-chen".into());
        decision.owner.email = Some("avery@baton.example".into());
        l.stage = Stage::Assigned { decision: decision.clone() };
        let h = Handoff::of(&l);
        let owner =
            HandoffOwner { name: "Avery Chen".into(), booking_url: Some("https://cal.example.com/avery-chen".into()) };
        assert_eq!(h, Handoff { state: HandoffState::Assigned, owner: Some(owner) });
        assert!(h.is_settled());
        let json = serde_json::to_string(&h).unwrap();
        for private in ["ana@acme.example", "Acme", "enterprise-demo", "rep-avery", "avery@baton.example"] {
            assert!(!json.contains(private), "{private} must not be shown: {json}");
        }
    }

    #[test]
    fn the_fallback_queue_nurture_and_disqualified_show_no_person() {
        let l = lead(r#"{"email":"ana@acme.example"}"#);
        let mut decision = crate::decide(&l, &Ruleset::default_ruleset(), l.captured_at);
        decision.rule = FALLBACK_RULE.into();
        for (stage, state) in [
            (Stage::Assigned { decision: decision.clone() }, HandoffState::Queue),
            (Stage::Nurture { decision: decision.clone() }, HandoffState::Nurture),
            (Stage::Disqualified { decision, touched_at: None, escalated_at: None }, HandoffState::Queue),
            (Stage::Spam, HandoffState::Routing),
        ] {
            let mut l = l.clone();
            l.stage = stage;
            assert_eq!(Handoff::of(&l), Handoff { state, owner: None });
        }
    }
}
