//! Experiments: a share of the leads a change would reach gets variant B of that change, and
//! the rest keep the ruleset as written (variant A), so the two can be compared on real leads.
//!
//! ```toml
//! [[experiments]]
//! name = "na-weights"
//! hypothesis = "Riley's faster follow-up books more meetings"
//! share_percent = 50              # of the leads it reaches, by a stable hash of the lead id
//! when = { country = ["US"] }     # optional: only these leads take part
//! b = { weights = { pool = "north-america", weights = { rep-riley = 3 } } }
//! ```
//!
//! Variant B is one of:
//! - `routing = { rule = "…", pool = "…" }` (or `owner = {…}`): the rule's B leads go there;
//! - `weights = { pool = "…", weights = { member = n } }`: the pool spreads its B leads by these
//!   weights (members left out keep theirs), by the weighted strategy;
//! - `alert = { warn_at_percent = n }`: the SLA warning reaches B leads' owners at this share of
//!   the target;
//! - `playbook = { play = "…", action = "call", guidance = "…" }`: the play gives its B leads
//!   this first action.
//!
//! A lead takes part when the experiment's target reaches it (the rule takes it, the pool is
//! chosen, the play matches, it has an SLA) and its `when` matches. Whether it gets B depends
//! only on the experiment's name and the lead's id ([`bucket`]), so a lead gets the same variant
//! wherever and whenever it is decided (routing, a reassignment, a replay), and raising the
//! share keeps every lead that had B in B. Each decision records its variants
//! ([`ExperimentArm`]), and the metrics count each arm apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Ruleset, When};
use crate::{FirstAction, Lead, Owner, Priority};

/// The most experiments a ruleset may run at once (each arm a lead is in is one more metrics
/// slice per period, and a lead's metrics change in one transaction).
pub const MAX_EXPERIMENTS: usize = 8;

/// One experiment: variant B for `share_percent` of the leads it reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Names the experiment in decisions and metrics, such as `na-weights`.
    pub name: String,
    /// What the team expects, for people reading the results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypothesis: Option<String>,
    /// The share of the leads it reaches that get variant B, 1–99.
    pub share_percent: u32,
    /// Which leads take part (empty: every lead the target reaches).
    #[serde(default, skip_serializing_if = "When::is_empty")]
    pub when: When,
    /// What variant B changes.
    pub b: Variant,
}

/// What variant B changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Variant {
    /// The routing rule `rule` sends its B leads to `pool` or `owner` instead.
    Routing {
        rule: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pool: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<Owner>,
    },
    /// The pool spreads its B leads by these weights (member id → weight; members left out keep
    /// their own), by the weighted strategy.
    Weights { pool: String, weights: BTreeMap<String, u32> },
    /// The SLA warning reaches the owner of a B lead at this share of the target, 1–99.
    Alert { warn_at_percent: u32 },
    /// The play `play` gives its B leads this first action (and this advice, when given).
    Playbook {
        play: String,
        action: FirstAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        guidance: Option<String>,
    },
}

impl Variant {
    /// What the variant changes, for people: `routing rule north-america`, `pool europe's
    /// weights`, `the SLA warning`, `play hot, no phone`.
    pub fn target(&self) -> String {
        match self {
            Self::Routing { rule, .. } => format!("routing rule {rule}"),
            Self::Weights { pool, .. } => format!("pool {pool}'s weights"),
            Self::Alert { .. } => "the SLA warning".into(),
            Self::Playbook { play, .. } => format!("play {play}"),
        }
    }

    /// The kind, as decisions and reports name it: `routing`, `weights`, `alert`, `playbook`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Routing { .. } => "routing",
            Self::Weights { .. } => "weights",
            Self::Alert { .. } => "alert",
            Self::Playbook { .. } => "playbook",
        }
    }
}

/// Which variant a lead got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    /// The ruleset as written.
    A,
    /// The experiment's variant.
    B,
}

impl Arm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
        }
    }
}

/// A decision's part in an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExperimentArm {
    pub experiment: String,
    pub variant: Arm,
}

impl ExperimentArm {
    /// The metrics value of the arm, `na-weights:b`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.experiment, self.variant.as_str())
    }
}

/// The lead's bucket in an experiment, 0–9999: FNV-1a (64-bit) of the experiment's name, a
/// unit separator and the lead id, modulo 10,000. Leads in buckets below `share_percent × 100`
/// get variant B.
pub fn bucket(experiment: &str, lead_id: &str) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in experiment.bytes().chain([0x1f]).chain(lead_id.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    (hash % 10_000) as u32
}

impl Experiment {
    /// The variant `lead` gets, when it takes part (its `when` matches).
    pub fn arm(&self, lead: &Lead, priority: Option<Priority>) -> Option<ExperimentArm> {
        if !self.when.matches(lead, priority) {
            return None;
        }
        let variant = if bucket(&self.name, lead.id.as_str()) < self.share_percent * 100 { Arm::B } else { Arm::A };
        Some(ExperimentArm { experiment: self.name.clone(), variant })
    }
}

impl Ruleset {
    /// The experiment on `target` (the first whose variant `is` accepts), with `lead`'s arm in
    /// it when it takes part.
    pub(super) fn experiment_on<'r>(
        &'r self,
        lead: &Lead,
        priority: Option<Priority>,
        is: impl Fn(&Variant) -> bool,
    ) -> Option<(&'r Experiment, ExperimentArm)> {
        let e = self.experiments.iter().find(|e| is(&e.b))?;
        Some((e, e.arm(lead, priority)?))
    }

    /// Every problem in `[[experiments]]`, by field path.
    pub(super) fn experiment_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.experiments.len() > MAX_EXPERIMENTS {
            out.push((
                "experiments".into(),
                format!("{} experiments: at most {MAX_EXPERIMENTS} run at once", self.experiments.len()),
            ));
        }
        for (i, e) in self.experiments.iter().enumerate() {
            let at = format!("experiments[{i}]");
            let mut err = |field: &str, message: String| out.push((format!("{at}{field}"), message));
            if e.name.trim().is_empty() || e.name.contains(':') {
                err(".name", "an experiment needs a name without `:`".into());
            }
            if let Some(j) = self.experiments[..i].iter().position(|x| x.name == e.name) {
                err(".name", format!("`{}` is used by experiments[{j}]", e.name));
            }
            if !(1..=99).contains(&e.share_percent) {
                err(".share_percent", format!("{} is not a share from 1 to 99", e.share_percent));
            }
            if let Err(problem) = e.when.validate() {
                err(".when", problem);
            }
            if let Some(j) = self.experiments[..i].iter().position(|x| same_target(&x.b, &e.b)) {
                err(
                    ".b",
                    format!(
                        "experiments[{j}] already changes {}: one experiment per target, so each result has one cause",
                        e.b.target()
                    ),
                );
            }
            match &e.b {
                Variant::Routing { rule, pool, owner } => {
                    match self.routing.iter().find(|r| r.name == *rule) {
                        None => err(".b.routing.rule", format!("`{rule}` is not a routing rule")),
                        Some(r) if r.pool.is_some() && r.pool == *pool => {
                            err(".b.routing.pool", format!("`{rule}` already sends its leads to this pool"))
                        }
                        Some(_) => {}
                    }
                    if usize::from(pool.is_some()) + usize::from(owner.is_some()) != 1 {
                        err(".b.routing", "variant B needs exactly one of pool or owner".into());
                    }
                    if let Some(p) = pool
                        && !self.pools.contains_key(p)
                    {
                        err(".b.routing.pool", format!("`{p}` is not a pool in this ruleset"));
                    }
                    if let Some(o) = owner
                        && (o.id.trim().is_empty() || o.name.trim().is_empty())
                    {
                        err(".b.routing.owner", "an owner needs a non-empty id and name".into());
                    }
                }
                Variant::Weights { pool, weights } => match self.pools.get(pool) {
                    None => err(".b.weights.pool", format!("`{pool}` is not a pool in this ruleset")),
                    Some(p) => {
                        if weights.is_empty() {
                            err(".b.weights.weights", "name at least one member's weight".into());
                        }
                        for (id, w) in weights {
                            if !p.members.iter().any(|m| m.id == *id) {
                                err(&format!(".b.weights.weights.{id}"), format!("`{id}` is not a member of `{pool}`"));
                            } else if *w == 0 || *w > super::pool::MAX_WEIGHT {
                                err(
                                    &format!(".b.weights.weights.{id}"),
                                    format!("{w} is not a weight from 1 to {}", super::pool::MAX_WEIGHT),
                                );
                            }
                        }
                    }
                },
                Variant::Alert { warn_at_percent } => {
                    if !(1..=99).contains(warn_at_percent) {
                        err(".b.alert.warn_at_percent", format!("{warn_at_percent} is not a share from 1 to 99"));
                    }
                }
                Variant::Playbook { play, .. } => {
                    if !self.playbook.iter().any(|p| p.name == *play) {
                        err(".b.playbook.play", format!("`{play}` is not a play in [[playbook]]"));
                    }
                }
            }
        }
        out
    }

    /// `pool` as its B leads see it in a weights experiment: the experiment's weights, by the
    /// weighted strategy.
    pub(super) fn pool_in_variant(pool: &super::Pool, weights: &BTreeMap<String, u32>) -> super::Pool {
        let mut variant = pool.clone();
        variant.strategy = super::Strategy::Weighted;
        for m in &mut variant.members {
            if let Some(w) = weights.get(&m.id) {
                m.weight = *w;
            }
        }
        variant
    }
}

fn same_target(a: &Variant, b: &Variant) -> bool {
    match (a, b) {
        (Variant::Routing { rule: x, .. }, Variant::Routing { rule: y, .. }) => x == y,
        (Variant::Weights { pool: x, .. }, Variant::Weights { pool: y, .. }) => x == y,
        (Variant::Alert { .. }, Variant::Alert { .. }) => true,
        (Variant::Playbook { play: x, .. }, Variant::Playbook { play: y, .. }) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::engine;
    use crate::{Decision, LeadId, LeadSubmission, Timestamp};
    use chrono::TimeZone;

    fn with(experiments: &str) -> Result<Ruleset, Vec<crate::FieldError>> {
        Ruleset::parse_toml(&format!("{}\n{experiments}", crate::rules::DEFAULT_TOML))
    }

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
    }

    fn leads(json: &str, n: usize) -> Vec<crate::Lead> {
        (0..n)
            .map(|i| {
                let id = LeadId::parse(&format!("00000000-0000-4000-8000-{i:012}")).unwrap();
                LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(id, now()).unwrap()
            })
            .collect()
    }

    fn arm(d: &Decision, name: &str) -> Option<Arm> {
        d.experiments.iter().find(|a| a.experiment == name).map(|a| a.variant)
    }

    #[test]
    fn the_bucket_is_stable_and_spreads_evenly() {
        // Pinned (computed apart, by Python): a change to the hash would move live leads from
        // one arm to the other.
        assert_eq!(bucket("na-weights", "00000000-0000-4000-8000-000000000001"), 154);
        assert_eq!(bucket("alert", "lead-7"), 1_104);
        let ids: Vec<String> = (0..20_000).map(|i| format!("lead-{i}")).collect();
        let in_b = ids.iter().filter(|id| bucket("x", id) < 3000).count();
        assert!((5_400..6_600).contains(&in_b), "30% of 20,000 is 6,000 give or take: {in_b}");
        let both = ids.iter().filter(|id| bucket("x", id) < 3000 && bucket("y", id) < 3000).count();
        assert!((1_500..2_100).contains(&both), "experiments are independent (9% is 1,800): {both}");
    }

    #[test]
    fn a_routing_variant_sends_its_share_of_the_rules_leads_elsewhere_and_records_the_arm() {
        let r = with(
            r#"[[experiments]]
name = "trial-rep"
share_percent = 30
b = { routing = { rule = "north-america", owner = { id = "rep-trial", name = "Trial Rep" } } }"#,
        )
        .unwrap();
        let mut b = 0;
        for lead in leads(r#"{"email":"a@corp.example","country":"US"}"#, 1000) {
            let d = engine::plan(&r, &lead).decide(&lead, 1, 0, &|_| None, now());
            let expected = if bucket("trial-rep", lead.id.as_str()) < 3000 { Arm::B } else { Arm::A };
            assert_eq!(arm(&d, "trial-rep"), Some(expected));
            assert_eq!(d.owner.id == "rep-trial", expected == Arm::B, "{d:?}");
            b += usize::from(expected == Arm::B);
        }
        assert!((240..360).contains(&b), "about 30% of 1,000: {b}");
        let de = &leads(r#"{"email":"a@corp.example","country":"DE"}"#, 1)[0];
        let d = engine::plan(&r, de).decide(de, 1, 0, &|_| None, now());
        assert!(d.experiments.is_empty(), "a lead the rule does not take is not in the experiment");
    }

    #[test]
    fn a_weights_variant_spreads_its_leads_by_its_weights() {
        let r = with(
            r#"[[experiments]]
name = "riley-more"
share_percent = 50
b = { weights = { pool = "north-america", weights = { rep-riley = 8, rep-avery = 2 } } }"#,
        )
        .unwrap();
        let mut riley = [(0u32, 0u32); 2];
        // One turn pointer for both arms, as the live pool has.
        for (turn, lead) in leads(r#"{"email":"a@corp.example","country":"US"}"#, 2000).iter().enumerate() {
            let d = engine::plan(&r, lead).decide(lead, 1, turn as u64, &|_| None, now());
            let i = usize::from(arm(&d, "riley-more").expect("every pool lead takes part") == Arm::B);
            riley[i].0 += u32::from(d.owner.id == "rep-riley");
            riley[i].1 += 1;
        }
        let share = |(n, of): (u32, u32)| f64::from(n) / f64::from(of);
        assert!((0.28..0.39).contains(&share(riley[0])), "A keeps 2:1 for Avery: {riley:?}");
        assert!((0.72..0.88).contains(&share(riley[1])), "B gives Riley 8 of 10: {riley:?}");
    }

    #[test]
    fn alert_and_playbook_variants_change_the_warning_and_the_first_action() {
        let r = with(
            r#"[[experiments]]
name = "early-warning"
share_percent = 50
b = { alert = { warn_at_percent = 50 } }

[[experiments]]
name = "call-hot"
share_percent = 50
when = { country = ["US"] }
b = { playbook = { play = "hot, no phone", action = "call", guidance = "Look up their number and call." } }"#,
        )
        .unwrap();
        let hot = r#"{"email":"vp@acme.io","company":"Acme","job_title":"VP Sales","country":"US","source":{"form_type":"demo_request"}}"#;
        let mut seen = std::collections::HashSet::new();
        for lead in leads(hot, 200) {
            let d = engine::plan(&r, &lead).decide(&lead, 1, 0, &|_| None, now());
            let warn = d.sla.as_ref().unwrap().warn_at;
            match arm(&d, "early-warning").unwrap() {
                Arm::B => assert_eq!(warn, Some(now() + chrono::Duration::seconds(450)), "half of 15m"),
                Arm::A => assert_eq!(warn, None, "the default ruleset warns nobody"),
            }
            let call = arm(&d, "call-hot").unwrap();
            match call {
                Arm::B => assert_eq!(
                    (d.first_action, d.guidance.as_deref()),
                    (FirstAction::Call, Some("Look up their number and call."))
                ),
                Arm::A => assert_eq!(d.first_action, FirstAction::SendMeetingLink),
            }
            seen.insert(call);
        }
        assert_eq!(seen.len(), 2, "both arms occur in 200 leads");
        let de = &leads(&hot.replace("\"US\"", "\"DE\""), 1)[0];
        let d = engine::plan(&r, de).decide(de, 1, 0, &|_| None, now());
        assert_eq!(arm(&d, "call-hot"), None, "`when` limits who takes part");
        assert!(arm(&d, "early-warning").is_some());
    }

    #[test]
    fn a_reassigned_lead_keeps_its_variants() {
        let mut r = with(
            r#"[[experiments]]
name = "riley-more"
share_percent = 99
b = { weights = { pool = "north-america", weights = { rep-riley = 8 } } }"#,
        )
        .unwrap();
        r.sla.reassign_after = Some("15m".into());
        let mut lead = leads(r#"{"email":"a@corp.example","country":"US"}"#, 1).remove(0);
        let d = engine::plan(&r, &lead).decide(&lead, 1, 0, &|_| None, now());
        lead.stage = crate::Stage::Assigned { decision: d.clone() };
        let (again, _) = engine::reassignment(&r, &lead, 1, 1, &|_| None, now()).unwrap();
        assert_eq!(again.experiments, d.experiments);
    }

    #[test]
    fn experiments_are_checked() {
        let fields = |text: &str| -> Vec<String> { with(text).unwrap_err().into_iter().map(|e| e.field).collect() };
        let got = fields(
            r#"[[experiments]]
name = "a"
share_percent = 0
b = { routing = { rule = "nowhere", pool = "missing" } }

[[experiments]]
name = "a"
share_percent = 50
b = { weights = { pool = "europe", weights = { rep-nobody = 2, rep-jonas = 0 } } }

[[experiments]]
name = "c"
share_percent = 50
b = { weights = { pool = "europe", weights = { rep-jonas = 2 } } }

[[experiments]]
name = "d:1"
share_percent = 100
b = { playbook = { play = "no such play", action = "call" } }

[[experiments]]
name = "e"
share_percent = 10
b = { alert = { warn_at_percent = 100 } }"#,
        );
        for expected in [
            "experiments[0].share_percent",
            "experiments[0].b.routing.rule",
            "experiments[0].b.routing.pool",
            "experiments[1].name",
            "experiments[1].b.weights.weights.rep-nobody",
            "experiments[1].b.weights.weights.rep-jonas",
            "experiments[2].b",
            "experiments[3].name",
            "experiments[3].share_percent",
            "experiments[3].b.playbook.play",
            "experiments[4].b.alert.warn_at_percent",
        ] {
            assert!(got.contains(&expected.to_owned()), "missing {expected} in {got:?}");
        }
        let unknown = with("[[experiments]]\nname = \"x\"\nshare_percent = 5\nb = { colour = { x = 1 } }").unwrap_err();
        assert!(unknown[0].field.starts_with("line "), "{unknown:?}");
    }

    #[test]
    fn a_pool_only_an_experiment_sends_leads_to_is_valid() {
        let r = with(
            r#"[[experiments]]
name = "new-team"
share_percent = 20
b = { routing = { rule = "europe", pool = "europe-pilot" } }

[pools.europe-pilot]
members = [ { id = "rep-pilot", name = "Pilot Rep" } ]"#,
        );
        assert!(r.is_ok(), "{r:?}");
    }
}
