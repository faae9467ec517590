//! The SLA clock: first-touch targets, the escalation ladder, and the one thing a lead is
//! waiting for at any moment.
//!
//! A lead waits for at most one thing: to be routed (right after capture), for the next rung of
//! its SLA ladder (after assignment, until the first touch), or for its outbox to be announced.
//! Stores index leads by that wait's due time, so a sweep finds what is due without scanning
//! everything.
//!
//! # The ladder
//! A decision carries its [`SlaTerms`]: the policy that set them, the target on its clock (wall
//! or business time), and when each rung is due. Every rung is taken once per lead, rung and
//! first-touch due time, recorded on the lead's [`Lead::sla_history`] with its event in the
//! outbox:
//! 1. **Warning** at `warn_at` (a share of the target): `lead.sla_warning` to the owner;
//! 2. **Breach** at `due_at`: `lead.sla_breached` to the owner and the team's manager or channel;
//! 3. **Reassignment** at `reassign_at` (a grace period after the breach): `lead.reassigned` to
//!    the next available member of the pool with a fresh target and the same ladder, or, after
//!    `max_reassignments`, to the fallback queue.
//!
//! A touch at any point stops the ladder (see [`crate::touch`] for which kinds count).

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

/// The clock a target runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    /// Around the clock.
    #[default]
    Wall,
    /// Only in the team calendar's working time (hours, days, holidays, in its time zone).
    Business,
}

/// The SLA a decision set: which policy, the target on which clock, and when each rung is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlaTerms {
    /// The policy that applies: `default`, or the name of an `[[sla.policies]]` entry.
    pub policy: String,
    /// The target as written, such as `5m` or `1d`.
    pub target: String,
    pub clock: SlaClock,
    /// The calendar business time ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// When the owner is warned (absent: no warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at: Option<Timestamp>,
    /// The first-touch target: the breach.
    pub due_at: Timestamp,
    /// When the lead is reassigned if still untouched (absent: it is not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassign_at: Option<Timestamp>,
    /// How many times the lead had been reassigned when these terms were set.
    #[serde(default)]
    pub reassignments: u32,
    /// How many reassignments before the fallback queue.
    #[serde(default)]
    pub max_reassignments: u32,
}

/// A rung of the escalation ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rung {
    Warning,
    Breach,
    Reassignment,
}

impl Rung {
    /// The wire name, such as `breach`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Breach => "breach",
            Self::Reassignment => "reassignment",
        }
    }
}

/// One rung taken, as the lead's history records it (and `lead.sla_*` events carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlaStep {
    pub rung: Rung,
    /// The first-touch due time of the assignment the rung belongs to: with the rung, what makes
    /// the step once-only.
    pub due_at: Timestamp,
    /// When it was recorded.
    pub at: Timestamp,
    /// The owner at the time (the one warned, breached, or reassigned away from).
    pub owner: String,
    /// For a reassignment: the new owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// For a reassignment: why this owner (`next available in europe`, `fallback after 2 reassignments`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a reassignment: the members passed over, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<crate::rules::pool::Skip>,
}

/// The most ladder steps kept on a lead (the oldest go first).
pub const MAX_SLA_HISTORY: usize = 50;

/// What a lead is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// Captured, not yet assigned.
    Routing,
    /// Assigned, not yet touched by its owner: the next rung of the ladder.
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
    /// The SLA terms of the current assignment, if it has any (decisions made before SLA
    /// policies have only their due time, and a breach as their one rung).
    pub fn sla_terms(&self) -> Option<&crate::sla::SlaTerms> {
        self.decision().and_then(|d| d.sla.as_ref())
    }

    /// How many times the lead was reassigned for a missed first touch.
    pub fn reassignments(&self) -> u32 {
        self.sla_history.iter().filter(|s| s.rung == Rung::Reassignment).count() as u32
    }

    /// Whether `rung` was taken for the assignment due at `due_at`.
    pub fn took(&self, rung: Rung, due_at: Timestamp) -> bool {
        self.sla_history.iter().any(|s| s.rung == rung && s.due_at == due_at)
    }

    /// The next rung of the ladder and when it is due, while the lead waits for its first touch.
    pub fn next_rung(&self) -> Option<(Rung, Timestamp)> {
        match &self.stage {
            Stage::Assigned { decision } => {
                let due = decision.first_touch_due_at;
                match decision.sla.as_ref().and_then(|t| t.warn_at) {
                    Some(warn) if warn < due && !self.took(Rung::Warning, due) => Some((Rung::Warning, warn)),
                    _ => Some((Rung::Breach, due)),
                }
            }
            Stage::Escalated { decision, .. } => {
                decision.sla.as_ref().and_then(|t| t.reassign_at).map(|at| (Rung::Reassignment, at))
            }
            _ => None,
        }
    }

    /// What the lead is waiting for, or `None` once it is touched or closed, its ladder is done,
    /// and its outbox is empty. A lead the sweep deferred is due no earlier than the deferral's end.
    pub fn awaiting(&self) -> Option<Awaiting> {
        let wait = if let Some(first) = self.outbox.iter().map(|a| a.due_at(self)).min() {
            Some(Awaiting { kind: WaitKind::Announce, due_at: first })
        } else if self.stage == Stage::Captured {
            Some(Awaiting { kind: WaitKind::Routing, due_at: self.captured_at + routing_grace() })
        } else {
            self.next_rung().map(|(_, due_at)| Awaiting { kind: WaitKind::FirstTouch, due_at })
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
