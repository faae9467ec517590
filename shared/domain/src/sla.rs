//! The SLA clock: first-touch targets, and the one thing a lead is waiting for at any moment.
//!
//! A lead waits for at most one thing: to be routed (right after capture) or to be touched
//! by its owner (after assignment). Stores index leads by that wait's due time, so a sweep
//! finds overdue leads without scanning everything.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::{Lead, Priority, Stage, Timestamp};

/// How long a captured lead may wait for routing before the sweep hands it to routing again.
pub fn routing_grace() -> Duration {
    Duration::minutes(2)
}

/// How soon the owner must first touch a lead of this priority.
/// The default targets; a ruleset's `[sla]` section sets its own.
pub fn first_touch_target(priority: Priority) -> Duration {
    crate::rules::SlaTargets::default().target(priority)
}

/// What a lead is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// Captured, not yet assigned.
    Routing,
    /// Assigned, not yet touched by its owner.
    FirstTouch,
    /// Touched, with a `lead.touched` event still to publish.
    Announce,
}

impl WaitKind {
    /// The stored name of the wait.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Routing => "routing",
            Self::FirstTouch => "first_touch",
            Self::Announce => "announce",
        }
    }
}

/// A wait and when it is overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaiting {
    pub kind: WaitKind,
    pub due_at: Timestamp,
}

impl Lead {
    /// What the lead is waiting for, or `None` once it is touched, escalated or closed (and its
    /// outbox is empty). A lead the sweep deferred is due no earlier than the deferral's end.
    pub fn awaiting(&self) -> Option<Awaiting> {
        let wait = if let Some(first) = self.outbox.iter().map(|a| a.due_at(self)).min() {
            Some(Awaiting { kind: WaitKind::Announce, due_at: first })
        } else {
            match &self.stage {
                Stage::Captured => {
                    Some(Awaiting { kind: WaitKind::Routing, due_at: self.captured_at + routing_grace() })
                }
                Stage::Assigned { decision } => {
                    Some(Awaiting { kind: WaitKind::FirstTouch, due_at: decision.first_touch_due_at })
                }
                _ => None,
            }
        };
        wait.map(|w| match &self.deferral {
            Some(d) if d.until > w.due_at => Awaiting { due_at: d.until, ..w },
            _ => w,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, Ruleset, decide};
    use chrono::TimeZone;

    #[test]
    fn a_captured_lead_waits_for_routing_then_for_its_first_touch() {
        let t0 = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t0)
            .unwrap();
        assert_eq!(lead.awaiting(), Some(Awaiting { kind: WaitKind::Routing, due_at: t0 + routing_grace() }));

        let t1 = t0 + Duration::seconds(1);
        let decision = decide(&lead, &Ruleset::default_ruleset(), t1);
        let due = t1 + Ruleset::default_ruleset().sla.target(decision.score.priority);
        let assigned = lead.assign(decision).unwrap().lead;
        assert_eq!(assigned.awaiting(), Some(Awaiting { kind: WaitKind::FirstTouch, due_at: due }));

        let escalated = assigned.escalate(due + Duration::minutes(1)).unwrap().lead;
        assert_eq!(escalated.awaiting().map(|w| w.kind), Some(WaitKind::Announce), "until the breach is announced");
        let escalated = escalated.announced(&escalated.outbox[0].clone()).lead;
        assert_eq!(escalated.awaiting(), None);
    }

    #[test]
    fn hotter_leads_get_tighter_targets() {
        assert!(first_touch_target(Priority::Hot) < first_touch_target(Priority::Warm));
        assert!(first_touch_target(Priority::Warm) < first_touch_target(Priority::Cold));
    }
}
