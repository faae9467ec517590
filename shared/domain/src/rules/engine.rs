//! Scoring, qualifying and routing a lead by a ruleset. Pure: the round-robin pointer and the
//! members' daily counts come from the caller, so the same inputs always give the same decision.

use std::borrow::Cow;

use super::experiment::{ExperimentArm, Variant};
use super::pool::{self, Skip};
use super::{Disposition, Member, Pool, Ruleset};
use crate::{Decision, FirstAction, Lead, Owner, Priority, Score, ScoreReason, Timestamp};

/// The name recorded when no rule matched and the fallback owner took the lead.
pub const FALLBACK_RULE: &str = "fallback";

/// Scores a lead: every matching criterion adds its points and its reason.
pub fn score(ruleset: &Ruleset, lead: &Lead) -> Score {
    let reasons: Vec<ScoreReason> = ruleset
        .scoring
        .criteria
        .iter()
        .filter(|c| c.when.matches(lead, None))
        .map(|c| ScoreReason { points: c.points, reason: fill(&c.reason, lead) })
        .collect();
    let points = reasons.iter().map(|r| r.points).sum();
    let priority = if points >= ruleset.scoring.hot_at {
        Priority::Hot
    } else if points >= ruleset.scoring.warm_at {
        Priority::Warm
    } else {
        Priority::Cold
    };
    Score { points, priority, reasons }
}

/// Fills `{email_domain}`, `{job_title}`, `{company}` and `{country}` in a reason.
fn fill(reason: &str, lead: &Lead) -> String {
    if !reason.contains('{') {
        return reason.to_owned();
    }
    reason
        .replace("{email_domain}", &lead.email.as_ref().map_or(String::new(), |e| e.domain_unicode()))
        .replace("{job_title}", lead.job_title.as_deref().unwrap_or(""))
        .replace("{company}", lead.company.as_deref().unwrap_or(""))
        .replace("{country}", lead.country.as_deref().unwrap_or(""))
}

/// Where a lead is going, before a pool member is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Target<'r> {
    /// A named owner (a rule's `owner`, or the matched account's owner).
    Owner { owner: Owner, rule: String },
    /// A pool; the caller supplies the round-robin pointer.
    Pool { name: &'r str, pool: &'r Pool, rule: String },
    /// Not for a rep: nurture, or disqualified, by the named rule.
    Disposition { disposition: Disposition, rule: String },
    /// Held for the current owner by a suppression rule (named).
    Suppressed { owner: Owner, rule: String },
    /// No rule matched.
    Fallback,
}

/// The plan for a lead: its score and its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'r> {
    pub ruleset: &'r Ruleset,
    pub score: Score,
    pub target: Target<'r>,
    /// The routing and weights experiments the lead takes part in, with its variant.
    pub arms: Vec<ExperimentArm>,
    /// The weights the pool spreads the lead by, when it is in a weights experiment's variant B.
    pub weights: Option<&'r std::collections::BTreeMap<String, u32>>,
}

/// Scores, qualifies and picks the routing target of a lead.
pub fn plan<'r>(ruleset: &'r Ruleset, lead: &Lead) -> Plan<'r> {
    let score = score(ruleset, lead);
    let mut arms = Vec::new();
    let priority = Some(score.priority);
    let disposition = ruleset
        .disqualify
        .iter()
        .find(|d| d.when.matches(lead, priority))
        .map(|d| Target::Disposition { disposition: d.then, rule: d.name.clone() })
        .or_else(|| {
            ruleset.scoring.nurture_below.filter(|below| score.points < *below).map(|below| Target::Disposition {
                disposition: Disposition::Nurture,
                rule: format!("score {} below nurture threshold {below}", score.points),
            })
        });
    // Coordinate, don't multiply: a suppressed lead stays with whoever already owns the account.
    let suppressed = || {
        let owner = lead.account.as_ref()?.owner.clone()?;
        let rule = ruleset.suppress.iter().find(|s| s.when.matches(lead, priority))?;
        Some(Target::Suppressed { owner, rule: rule.name.clone() })
    };
    let target = disposition.or_else(suppressed).unwrap_or_else(|| {
        ruleset
            .routing_index()
            .candidates(lead.country.as_deref())
            .map(|i| &ruleset.routing[i])
            .filter(|r| r.when.matches(lead, priority))
            .find_map(|r| {
                let target = |pool: Option<&str>, owner: Option<&Owner>| {
                    if let Some(owner) = owner {
                        Some(Target::Owner { owner: owner.clone(), rule: r.name.clone() })
                    } else {
                        let (name, pool) = ruleset.pools.get_key_value(pool?)?;
                        Some(Target::Pool { name: name.as_str(), pool, rule: r.name.clone() })
                    }
                };
                let a = if r.account_owner {
                    let owner = lead.account.as_ref()?.owner.clone()?;
                    Some(Target::Owner { owner, rule: r.name.clone() })
                } else {
                    target(r.pool.as_deref(), r.owner.as_ref())
                }?;
                // A routing experiment on this rule: its B leads go to variant B's target.
                let experiment = ruleset.experiment_on(
                    lead,
                    priority,
                    |b| matches!(b, Variant::Routing { rule, .. } if *rule == r.name),
                );
                match experiment {
                    Some((e, arm)) => {
                        let b = match (&e.b, arm.variant) {
                            (Variant::Routing { pool, owner, .. }, super::Arm::B) => {
                                target(pool.as_deref(), owner.as_ref())
                            }
                            _ => None,
                        };
                        arms.push(arm);
                        Some(b.unwrap_or(a))
                    }
                    None => Some(a),
                }
            })
            .unwrap_or(Target::Fallback)
    });
    let mut weights = None;
    if let Target::Pool { name, .. } = &target
        && let Some((e, arm)) =
            ruleset.experiment_on(lead, priority, |b| matches!(b, Variant::Weights { pool, .. } if pool == name))
    {
        if let (Variant::Weights { weights: w, .. }, super::Arm::B) = (&e.b, arm.variant) {
            weights = Some(w);
        }
        arms.push(arm);
    }
    Plan { ruleset, score, target, arms, weights }
}

impl Ruleset {
    /// `pool` as a lead sees it: in a weights experiment's variant B, with its weights.
    fn pool_for<'p>(pool: &'p Pool, weights: Option<&std::collections::BTreeMap<String, u32>>) -> Cow<'p, Pool> {
        match weights {
            Some(w) => Cow::Owned(Ruleset::pool_in_variant(pool, w)),
            None => Cow::Borrowed(pool),
        }
    }
}

/// The owner recorded for leads that go to nurture.
pub fn nurture_owner() -> Owner {
    Owner::new("nurture", "Nurture program")
}

/// The owner recorded for disqualified leads.
pub fn disqualified_owner() -> Owner {
    Owner::new("disqualified", "Not a sales lead")
}

impl Plan<'_> {
    /// Whether choosing an owner needs the pool's round-robin pointer.
    pub fn pool(&self) -> Option<&str> {
        match &self.target {
            Target::Pool { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The pool member `decision` gave the lead to, if the pool chose one (not when its
    /// fallback took the lead because nobody was available).
    pub fn chosen_member(&self, decision: &Decision) -> Option<&Member> {
        match &self.target {
            Target::Pool { pool, rule, .. } if decision.rule == *rule => {
                pool.members.iter().find(|m| m.id == decision.owner.id)
            }
            _ => None,
        }
    }

    /// The decision, given the pool's round-robin `pointer` (ignored without a pool) and which
    /// members are at capacity (`full` gives the reason, such as `at daily capacity (5)`). Never ownerless: an empty or unavailable pool falls
    /// back to the pool's fallback, then the ruleset's.
    pub fn decide(
        self,
        lead: &Lead,
        version: u32,
        pointer: u64,
        full: &dyn Fn(&Member) -> Option<String>,
        now: Timestamp,
    ) -> Decision {
        let ruleset = self.ruleset;
        let mut suppression: Option<String> = None;
        let mut max_open = None;
        let mut fallback = false;
        let (owner, rule, pool_name, skipped, disposition): (Owner, String, Option<String>, Vec<Skip>, _) =
            match self.target {
                Target::Owner { owner, rule } => (ruleset.with_contacts(owner), rule, None, vec![], None),
                Target::Suppressed { owner, rule } => {
                    suppression = Some(rule.clone());
                    (ruleset.with_contacts(owner), format!("suppressed: {rule}"), None, vec![], None)
                }
                Target::Fallback => {
                    fallback = true;
                    (ruleset.fallback.clone(), FALLBACK_RULE.to_owned(), None, vec![], None)
                }
                Target::Disposition { disposition, rule } => {
                    let owner = match disposition {
                        Disposition::Nurture => nurture_owner(),
                        Disposition::Disqualified => disqualified_owner(),
                    };
                    (owner, rule, None, vec![], Some(disposition))
                }
                Target::Pool { name, pool, rule } => {
                    match pool::choose(&Ruleset::pool_for(pool, self.weights), pointer, now, full) {
                        (Some(member), skipped) => {
                            max_open = member.max_open;
                            (member.owner(), rule, Some(name.to_owned()), skipped, None)
                        }
                        (None, skipped) => {
                            fallback = true;
                            let owner = pool.fallback.clone().unwrap_or_else(|| ruleset.fallback.clone());
                            (
                                owner,
                                format!("{rule} → {FALLBACK_RULE} (nobody available)"),
                                Some(name.to_owned()),
                                skipped,
                                None,
                            )
                        }
                    }
                }
            };
        let arms = self.arms;
        let chosen =
            Chosen { owner, rule, pool: pool_name, skipped, disposition, suppression, max_open, fallback, arms };
        finish(ruleset, lead, version, self.score, chosen, 0, now)
    }
}

/// Who a decision gives the lead to, and why.
struct Chosen {
    owner: Owner,
    rule: String,
    pool: Option<String>,
    skipped: Vec<Skip>,
    disposition: Option<Disposition>,
    suppression: Option<String>,
    max_open: Option<u32>,
    /// The owner is a fallback queue: the end of the SLA ladder (never reassigned from).
    fallback: bool,
    /// The lead's experiment variants so far (routing and weights); [`finish`] adds the
    /// playbook's and the SLA warning's.
    arms: Vec<ExperimentArm>,
}

/// The decision for `chosen`: the first action by the playbook, the SLA terms by the policy that
/// applies (a fresh target; no reassignment from a fallback queue), the team's channel and manager.
fn finish(
    ruleset: &Ruleset,
    lead: &Lead,
    version: u32,
    score: Score,
    chosen: Chosen,
    reassignments: u32,
    now: Timestamp,
) -> Decision {
    let priority = Some(score.priority);
    let mut arms = Vec::new();
    let play = ruleset.playbook.iter().find(|p| p.when.matches(lead, priority));
    let mut first_action = match (play, &lead.phone, &lead.email, score.priority) {
        (Some(play), ..) => play.action,
        (None, Some(_), _, Priority::Hot) | (None, Some(_), None, _) => FirstAction::Call,
        _ => FirstAction::Email,
    };
    let mut guidance = play.and_then(|p| p.guidance.clone());
    if let Some(play) = play
        && let Some((e, arm)) =
            ruleset.experiment_on(lead, priority, |b| matches!(b, Variant::Playbook { play: p, .. } if *p == play.name))
    {
        if let (Variant::Playbook { action, guidance: g, .. }, super::Arm::B) = (&e.b, arm.variant) {
            first_action = *action;
            guidance = g.clone().or(guidance);
        }
        arms.push(arm);
    }
    let pool = chosen.pool.as_deref().and_then(|p| ruleset.pools.get(p));
    let mut warn_at_percent = None;
    if chosen.disposition.is_none()
        && let Some((e, arm)) = ruleset.experiment_on(lead, priority, |b| matches!(b, Variant::Alert { .. }))
    {
        if let (Variant::Alert { warn_at_percent: pct }, super::Arm::B) = (&e.b, arm.variant) {
            warn_at_percent = Some(*pct);
        }
        arms.push(arm);
    }
    let mut sla =
        ruleset.sla_terms_with(lead, score.priority, chosen.pool.as_deref(), reassignments, warn_at_percent, now);
    if chosen.fallback || chosen.disposition.is_some() {
        sla.reassign_at = None;
    }
    let mut experiments = chosen.arms;
    experiments.retain(|a| !arms.iter().any(|n| n.experiment == a.experiment));
    experiments.extend(arms);
    Decision {
        owner: chosen.owner,
        rule: chosen.rule,
        first_touch_due_at: sla.due_at,
        score,
        first_action,
        decided_at: now,
        pool: chosen.pool.clone(),
        skipped: chosen.skipped,
        disposition: chosen.disposition,
        suppression: chosen.suppression,
        ruleset: Some(format!("{} v{version}", ruleset.name)),
        max_open: chosen.max_open,
        play: play.map(|p| p.name.clone()),
        guidance,
        team_channel: pool.and_then(|p| p.team_channel.clone()).or_else(|| ruleset.team_channel.clone()),
        manager: pool.and_then(|p| p.manager.clone()),
        sla: if chosen.disposition.is_some() { None } else { Some(sla) },
        experiments,
    }
}

/// The decision that replaces a lead's current one when its owner missed the first touch past
/// the grace period: the next available member of the lead's pool (by the pool's shared turn
/// `pointer`, passing over everyone who had the lead already and whoever `full` names), with a
/// fresh target and the same ladder; the fallback queue once the lead was reassigned
/// `max_reassignments` times, when it came from no pool, or when nobody else is available.
/// Returns the decision and the reason, for the lead's history. `None` when the lead has no
/// current decision.
pub fn reassignment(
    ruleset: &Ruleset,
    lead: &Lead,
    version: u32,
    pointer: u64,
    full: &dyn Fn(&Member) -> Option<String>,
    now: Timestamp,
) -> Option<(Decision, String)> {
    let current = lead.decision()?;
    let done = lead.reassignments();
    let max = current.sla.as_ref().map_or(1, |t| t.max_reassignments);
    let had: Vec<&str> = std::iter::once(current.owner.id.as_str())
        .chain(lead.previous_decisions.iter().map(|d| d.owner.id.as_str()))
        .collect();
    let pool = current.pool.as_deref().and_then(|name| ruleset.pools.get_key_value(name));
    let mut skipped = Vec::new();
    if done < max
        && let Some((name, pool)) = pool
    {
        let passed = |m: &Member| {
            if had.contains(&m.id.as_str()) { Some("had this lead already".to_owned()) } else { full(m) }
        };
        // A lead in a weights experiment's variant B keeps its variant's weights.
        let weights = current.experiments.iter().find_map(|a| {
            let e = ruleset.experiments.iter().find(|e| e.name == a.experiment && a.variant == super::Arm::B)?;
            match &e.b {
                Variant::Weights { pool: p, weights } if p == name => Some(weights),
                _ => None,
            }
        });
        let seen = Ruleset::pool_for(pool, weights);
        let (member, skips) = pool::choose(&seen, pointer, now, &passed);
        skipped = skips;
        if let Some(m) = member {
            let chosen = Chosen {
                owner: m.owner(),
                rule: current.rule.clone(),
                pool: Some(name.clone()),
                skipped: skipped.clone(),
                disposition: None,
                suppression: None,
                max_open: m.max_open,
                fallback: false,
                arms: current.experiments.clone(),
            };
            let reason = format!("next available in {name}");
            return Some((finish(ruleset, lead, version, current.score.clone(), chosen, done + 1, now), reason));
        }
    }
    let reason = if done >= max {
        format!("fallback queue after {done} reassignment{}", if done == 1 { "" } else { "s" })
    } else if pool.is_some() {
        "fallback queue: nobody else in the pool is available".to_owned()
    } else {
        "fallback queue: the lead came from no pool".to_owned()
    };
    let owner = pool.and_then(|(_, p)| p.fallback.clone()).unwrap_or_else(|| ruleset.fallback.clone());
    let chosen = Chosen {
        owner,
        rule: FALLBACK_RULE.to_owned(),
        pool: current.pool.clone(),
        skipped,
        disposition: None,
        suppression: None,
        max_open: None,
        fallback: true,
        arms: current.experiments.clone(),
    };
    Some((finish(ruleset, lead, version, current.score.clone(), chosen, done + 1, now), reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission};
    use chrono::TimeZone;

    fn lead(json: &str) -> Lead {
        LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), chrono::Utc::now()).unwrap()
    }

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
    }

    fn decide(json: &str, pointer: u64) -> Decision {
        let r = Ruleset::default_ruleset();
        let l = lead(json);
        plan(&r, &l).decide(&l, 1, pointer, &|_| None, now())
    }

    #[test]
    fn the_score_lists_every_matching_criterion_with_its_reason() {
        let r = Ruleset::default_ruleset();
        let s = score(
            &r,
            &lead(
                r#"{"email":"cto@acme.example","phone":"+14155552671","job_title":"VP Engineering","source":{"form_type":"demo_request"}}"#,
            ),
        );
        let reasons: Vec<(i32, &str)> = s.reasons.iter().map(|r| (r.points, r.reason.as_str())).collect();
        assert_eq!(
            reasons,
            [
                (40, "asked for a demo"),
                (15, "business email domain (acme.example)"),
                (10, "gave a phone number"),
                (15, "senior title (VP Engineering)")
            ]
        );
        assert_eq!((s.points, s.priority), (80, Priority::Hot));
    }

    #[test]
    fn pools_take_turns_by_weight_and_the_decision_says_so() {
        let owners: Vec<String> =
            (0..3).map(|p| decide(r#"{"email":"a@corp.example","country":"US"}"#, p).owner.id).collect();
        assert_eq!(owners, ["rep-avery", "rep-riley", "rep-avery"]);
        let d = decide(r#"{"email":"a@corp.example","country":"US"}"#, 0);
        assert_eq!(
            (d.rule.as_str(), d.pool.as_deref(), d.ruleset.as_deref()),
            ("north-america", Some("north-america"), Some("default v1"))
        );
    }

    #[test]
    fn the_account_owner_wins() {
        let r = Ruleset::default_ruleset();
        let mut l = lead(r#"{"email":"a@analytical.example","country":"US"}"#);
        l.account = Some(
            crate::Account {
                account_id: "acc".into(),
                name: "Analytical".into(),
                domain: "analytical.example".into(),
                owner: Some(Owner::new("rep-jonas", "Jonas Weber")),
                segment: None,
                tier: None,
                open_deal: false,
                domains: Vec::new(),
            }
            .as_match(),
        );
        let d = plan(&r, &l).decide(&l, 1, 0, &|_| None, now());
        assert_eq!((d.owner.id.as_str(), d.rule.as_str()), ("rep-jonas", "account owner"));
    }

    #[test]
    fn no_match_goes_to_the_fallback_and_disqualifiers_are_explicit() {
        let d = decide(r#"{"email":"a@corp.example","country":"JP"}"#, 0);
        assert_eq!((d.owner.id.as_str(), d.rule.as_str()), ("queue-inbound", FALLBACK_RULE));
        let d = decide(r#"{"email":"spy@competitor.example","country":"US"}"#, 0);
        assert_eq!(
            (d.disposition, d.owner.id.as_str(), d.rule.as_str()),
            (Some(Disposition::Disqualified), "disqualified", "competitors")
        );
        let d = decide(r#"{"email":"x@gmail.com","job_title":"Student","country":"US"}"#, 0);
        assert_eq!(d.disposition, Some(Disposition::Nurture));
    }

    #[test]
    fn an_open_deal_keeps_the_lead_with_the_account_owner_and_says_why() {
        let r = Ruleset::default_ruleset();
        let mut l = lead(r#"{"email":"a@analytical.example","country":"US"}"#);
        let mut account = crate::Account {
            account_id: "acc".into(),
            name: "Analytical".into(),
            domain: "analytical.example".into(),
            owner: Some(Owner::new("rep-jonas", "Jonas Weber")),
            segment: None,
            tier: None,
            open_deal: true,
            domains: Vec::new(),
        };
        l.account = Some(account.as_match());
        let d = plan(&r, &l).decide(&l, 1, 0, &|_| None, now());
        assert_eq!((d.owner.id.as_str(), d.suppression.as_deref()), ("rep-jonas", Some("open deal")));
        account.open_deal = false;
        l.account = Some(account.as_match());
        let d = plan(&r, &l).decide(&l, 1, 0, &|_| None, now());
        assert_eq!((d.rule.as_str(), d.suppression), ("account owner", None));
    }

    #[test]
    fn an_unavailable_pool_falls_back_and_records_who_was_skipped() {
        let mut r = Ruleset::default_ruleset();
        for m in &mut r.pools.get_mut("europe").unwrap().members {
            m.paused = true;
        }
        let l = lead(r#"{"email":"a@corp.example","country":"DE"}"#);
        let d = plan(&r, &l).decide(&l, 3, 0, &|_| None, now());
        assert_eq!(d.owner.id, "queue-inbound");
        assert_eq!(d.skipped, [Skip { member: "rep-jonas".into(), reason: "paused".into() }]);
        assert!(d.rule.contains("nobody available"));
    }
}
