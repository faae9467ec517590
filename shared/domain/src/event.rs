//! Events Baton publishes about a lead. The JSON carries a `type` field (`lead.assigned`,
//! `lead.escalated`); publishers also set it as a message attribute for subscription filters.

use serde::{Deserialize, Serialize};

use crate::{Lead, LeadId};

/// The kind of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Assigned,
    Escalated,
    Nurture,
    Touched,
    NotificationFailed,
}

impl EventType {
    /// The wire name, such as `lead.assigned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "lead.assigned",
            Self::Escalated => "lead.escalated",
            Self::Nurture => "lead.nurture",
            Self::Touched => "lead.touched",
            Self::NotificationFailed => "lead.notification_failed",
        }
    }

    /// Every event type.
    pub const ALL: [EventType; 5] =
        [Self::Assigned, Self::Escalated, Self::Nurture, Self::Touched, Self::NotificationFailed];

    /// The type with this wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// Something that happened to a lead, with the lead's full record as context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LeadEvent {
    /// The lead has an owner; `lead.decision` says who, why and what is due.
    #[serde(rename = "lead.assigned")]
    Assigned { lead: Lead },
    /// The owner missed the first-touch target; `lead.escalated_at` says when this was noticed.
    #[serde(rename = "lead.escalated")]
    Escalated { lead: Lead },
    /// The lead went to nurture (not to a rep); for a nurture program subscribed to the topic
    /// (an SNS filter policy on `event_type = lead.nurture`).
    #[serde(rename = "lead.nurture")]
    Nurture { lead: Lead },
    /// The owner (or someone for them) did something with the lead; `touch` says what.
    #[serde(rename = "lead.touched")]
    Touched { lead: Lead, touch: crate::Touch },
    /// A notification about the lead could not be delivered and will not be retried as is
    /// (a refused channel, a removed webhook): someone must look at it.
    #[serde(rename = "lead.notification_failed")]
    NotificationFailed { lead: Lead, failure: NotificationFailure },
}

/// A notification that could not be delivered: recorded on the lead and announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationFailure {
    /// The event that was not delivered, such as `lead.assigned`.
    pub event: String,
    /// The channel, such as `slack:U0AVERY001` or `webhook:crm`.
    pub channel: String,
    pub error: String,
    pub at: crate::Timestamp,
}

impl LeadEvent {
    /// The event's kind.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::Assigned { .. } => EventType::Assigned,
            Self::Escalated { .. } => EventType::Escalated,
            Self::Nurture { .. } => EventType::Nurture,
            Self::Touched { .. } => EventType::Touched,
            Self::NotificationFailed { .. } => EventType::NotificationFailed,
        }
    }

    /// Identifies this occurrence of the event, the same on every redelivery and different for
    /// the next occurrence of the same type: `lead.assigned@<decided at, ms>` (a lead nurtured
    /// twice, or re-routed, is announced each time), `lead.escalated@<escalated at>`,
    /// `lead.touched@<at>:<kind>:<by>`, and for failures the event and channel that failed.
    pub fn occurrence(&self) -> String {
        let kind = self.event_type().as_str();
        let lead = self.lead();
        let decided = lead.decision.as_ref().map_or(0, |d| d.decided_at.timestamp_millis());
        match self {
            Self::Assigned { .. } | Self::Nurture { .. } => format!("{kind}@{decided}"),
            Self::Escalated { .. } => {
                format!("{kind}@{}", lead.escalated_at.map_or(decided, |at| at.timestamp_millis()))
            }
            Self::Touched { touch, .. } => {
                format!("{kind}@{}:{}:{}", touch.at.timestamp_millis(), touch.kind.as_str(), touch.by)
            }
            Self::NotificationFailed { failure, .. } => format!("{kind}@{}#{}", failure.event, failure.channel),
        }
    }

    /// The lead the event is about.
    pub fn lead(&self) -> &Lead {
        match self {
            Self::Assigned { lead }
            | Self::Escalated { lead }
            | Self::Nurture { lead }
            | Self::Touched { lead, .. }
            | Self::NotificationFailed { lead, .. } => lead,
        }
    }

    /// The lead's id.
    pub fn lead_id(&self) -> &LeadId {
        &self.lead().id
    }

    /// Parses an event from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The event as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a lead event always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadSubmission, Ruleset, decide};

    #[test]
    fn an_event_round_trips_through_json_with_its_type() {
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        let decision = decide(&lead, &Ruleset::default_ruleset(), chrono::Utc::now());
        let event = LeadEvent::Assigned { lead: lead.assigned(decision) };
        let json = event.to_json();
        assert!(json.starts_with(r#"{"type":"lead.assigned""#), "{json}");
        assert_eq!(LeadEvent::from_json(&json).unwrap(), event);
        assert_eq!(event.event_type().as_str(), "lead.assigned");
    }

    #[test]
    fn each_occurrence_of_an_event_has_its_own_key_and_redeliveries_share_it() {
        let t0 = chrono::Utc::now();
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t0)
            .unwrap();
        let first = LeadEvent::Nurture { lead: lead.clone().assigned(decide(&lead, &Ruleset::default_ruleset(), t0)) };
        let later = t0 + chrono::Duration::days(3);
        let again =
            LeadEvent::Nurture { lead: lead.clone().assigned(decide(&lead, &Ruleset::default_ruleset(), later)) };
        assert_ne!(first.occurrence(), again.occurrence(), "a second nurture is a new occurrence");
        assert_eq!(first.occurrence(), LeadEvent::from_json(&first.to_json()).unwrap().occurrence());
    }
}
