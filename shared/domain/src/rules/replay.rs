//! Replaying history through a ruleset: each historical lead decided by the same engine as
//! routing ([`super::engine::plan`]), at its own capture time, with the team's calendar (working
//! hours, days off, out of office) and capacity (round-robin turns, daily caps, open-lead caps)
//! carried from one lead to the next as the live stores would carry them.
//!
//! - [`Replay`]: the running state; [`Replay::decide`] decides one lead.
//! - [`Simulation`]: what a replay of a whole history adds up to (per owner and pool, each
//!   pool's fairness, fallback, nurture and unmatched rates, the load per hour of the week
//!   against the members on, owners at capacity, and each experiment's split).
//! - [`Comparison`]: two rulesets over the same history: which leads change owner, priority or
//!   SLA target, summarized by rule and by owner, with examples.
//!
//! Open-lead slots are released at the lead's first touch in the history (a lead never touched
//! keeps its slot), so a replay of a history with touches sees the caps the team saw.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::engine::{self, FALLBACK_RULE};
use super::pool;
use super::{Disposition, Member, Ruleset, Strategy};
use crate::{Decision, Lead, Timestamp};

/// A lead as a line of history (JSON), the format `baton simulate` reads and
/// `GET /admin/leads/export?format=jsonl` writes: `lead_id`, `captured_at`, `touched_at` and
/// `key_id`, and the fields routing reads, in the lead contract's names (the email and phone as
/// normalized; no names, message or consent).
pub fn history_line(lead: &Lead) -> serde_json::Value {
    let mut line = serde_json::Map::new();
    let mut put = |k: &str, v: Option<serde_json::Value>| {
        if let Some(v) = v {
            line.insert(k.to_owned(), v);
        }
    };
    let text = |v: &Option<String>| v.clone().map(serde_json::Value::String);
    put("lead_id", Some(lead.id.as_str().into()));
    put("captured_at", serde_json::to_value(lead.captured_at).ok());
    put("touched_at", lead.touched_at().and_then(|t| serde_json::to_value(t).ok()));
    put("key_id", text(&lead.source.key_id));
    put("email", lead.email.as_ref().map(|e| e.as_str().into()));
    put("phone", lead.phone.as_ref().map(|p| p.as_str().into()));
    put("company", text(&lead.company));
    put("website", text(&lead.website));
    put("job_title", text(&lead.job_title));
    put("country", text(&lead.country));
    put("region", text(&lead.region));
    put("postal_code", text(&lead.postal_code));
    put("company_size", text(&lead.company_size));
    put("employee_count", lead.employee_count.map(Into::into));
    put("product_interest", text(&lead.product_interest));
    let s = &lead.source;
    let mut source = serde_json::Map::new();
    for (k, v) in [
        ("form_id", &s.form_id),
        ("form_type", &s.form_type),
        ("page_url", &s.page_url),
        ("referrer", &s.referrer),
        ("utm_source", &s.utm_source),
        ("utm_medium", &s.utm_medium),
        ("utm_campaign", &s.utm_campaign),
        ("utm_term", &s.utm_term),
        ("utm_content", &s.utm_content),
        ("landing_page", &s.landing_page),
    ] {
        if let Some(v) = v {
            source.insert(k.to_owned(), v.clone().into());
        }
    }
    if !source.is_empty() {
        line.insert("source".into(), source.into());
    }
    if !lead.attributes.is_empty() {
        line.insert("attributes".into(), serde_json::to_value(&lead.attributes).unwrap_or_default());
    }
    line.into()
}

/// A historical lead to replay: the lead as captured, and when it was first touched (which
/// frees its owner's open-lead slot).
#[derive(Debug, Clone)]
pub struct HistoricalLead {
    pub lead: Lead,
    pub touched_at: Option<Timestamp>,
}

/// The state a replay carries from lead to lead.
pub struct Replay<'r> {
    ruleset: &'r Ruleset,
    turns: HashMap<String, u64>,
    /// Per member, their local day of the latest lead they took and how many that day (the
    /// replay goes in capture order, so an earlier day never comes back).
    daily: HashMap<String, (NaiveDate, u32)>,
    /// Per member, when each open lead they hold is released (never touched: the end of time).
    open: HashMap<String, BinaryHeap<Reverse<Timestamp>>>,
}

impl<'r> Replay<'r> {
    pub fn new(ruleset: &'r Ruleset) -> Self {
        Self { ruleset, turns: HashMap::new(), daily: HashMap::new(), open: HashMap::new() }
    }

    /// Decides `lead` at its capture time, as routing would have with this ruleset and the
    /// capacity taken by the leads replayed before it, and takes the capacity it uses.
    pub fn decide(&mut self, lead: &Lead, touched_at: Option<Timestamp>) -> Decision {
        self.decide_in_pool(lead, touched_at).0
    }

    /// [`Replay::decide`], with the pool the matched rule sent the lead to (whether or not
    /// anyone in it could take it).
    pub fn decide_in_pool(&mut self, lead: &Lead, touched_at: Option<Timestamp>) -> (Decision, Option<String>) {
        let now = lead.captured_at;
        let plan = engine::plan(self.ruleset, lead);
        let pool_name = plan.pool().map(str::to_owned);
        let pointer = match &pool_name {
            Some(name) => {
                let turn = self.turns.entry(name.clone()).or_default();
                *turn += 1;
                *turn - 1
            }
            None => 0,
        };
        for held in self.open.values_mut() {
            while held.peek().is_some_and(|Reverse(at)| *at <= now) {
                held.pop();
            }
        }
        let daily = &self.daily;
        let open = &self.open;
        let full = |m: &Member| {
            let today = match daily.get(m.id.as_str()) {
                Some((day, n)) if *day == pool::local_day(m, now) => *n,
                _ => 0,
            };
            pool::daily_full(m, today).or_else(|| {
                let held = open.get(&m.id).map_or(0, BinaryHeap::len);
                m.max_open.filter(|max| held >= *max as usize).map(|max| format!("at open-lead capacity ({max})"))
            })
        };
        let decision = plan.clone().decide(lead, 0, pointer, &full, now);
        if let Some(member) = plan.chosen_member(&decision) {
            let day = pool::local_day(member, now);
            match self.daily.get_mut(member.id.as_str()) {
                Some((d, n)) if *d == day => *n += 1,
                Some(entry) => *entry = (day, 1),
                None => {
                    self.daily.insert(member.id.clone(), (day, 1));
                }
            }
            if member.max_open.is_some() {
                let released = touched_at.unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                self.open.entry(member.id.clone()).or_default().push(Reverse(released));
            }
        }
        (decision, pool_name)
    }
}

/// What kind of target a decision went to.
fn outcome(decision: &Decision) -> &'static str {
    match decision.disposition {
        Some(Disposition::Nurture) => "nurture",
        Some(Disposition::Disqualified) => "disqualified",
        None if decision.rule == FALLBACK_RULE => "unmatched",
        None if decision.rule.ends_with("(nobody available)") => "fallback",
        None => "assigned",
    }
}

/// One member's share of their pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberShare {
    pub member: String,
    pub leads: u64,
    /// Their share of the pool's leads, 0–1.
    pub share: f64,
    /// Their weighted share (the pool's strategy and weights), 0–1.
    pub target: f64,
}

/// How evenly a pool spread its leads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolFairness {
    pub pool: String,
    /// Leads the pool's rules sent it (including those it could not take).
    pub leads: u64,
    /// Leads that went to the fallback because nobody in the pool was available.
    pub fell_back: u64,
    pub members: Vec<MemberShare>,
    /// The largest distance of a member's share from their weighted share, in percentage points.
    pub spread_points: f64,
}

/// Leads arriving in one hour of the week, against the members on then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourLoad {
    /// `Mon 09:00` (UTC).
    pub hour: String,
    pub leads: u64,
    /// Pool members (of every pool) available in that hour: at its first arrival on each date of
    /// the history, the most over the dates.
    pub members_on: u32,
}

/// An owner who was at a cap, and how often it turned a lead away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverCapacity {
    pub member: String,
    /// `at daily capacity (40)` or `at open-lead capacity (10)`.
    pub reason: String,
    /// Leads that passed them over for it.
    pub passed_over: u64,
}

/// A whole history replayed through one ruleset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    pub ruleset: String,
    pub leads: u64,
    /// Leads per owner (id), most first.
    pub by_owner: Vec<(String, u64)>,
    /// Leads per rule, most first.
    pub by_rule: Vec<(String, u64)>,
    pub pools: Vec<PoolFairness>,
    pub assigned: u64,
    /// Nobody in the matched pool was available: the pool's or the ruleset's fallback.
    pub fallback: u64,
    /// No rule matched: the ruleset's fallback.
    pub unmatched: u64,
    pub nurture: u64,
    pub disqualified: u64,
    /// The hours of the week with arrivals, in order.
    pub load: Vec<HourLoad>,
    pub over_capacity: Vec<OverCapacity>,
    /// Each experiment's split of the history, in the ruleset's order.
    pub experiments: Vec<ExperimentSplit>,
}

/// How an experiment would split a history: the leads it reaches, in each arm, and where each
/// arm's leads go.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentSplit {
    pub experiment: String,
    /// What variant B changes, such as `pool north-america's weights`.
    pub changes: String,
    pub share_percent: u32,
    pub a: u64,
    pub b: u64,
    /// Owner → leads in A and in B, the most first.
    pub by_owner: Vec<(String, u64, u64)>,
}

impl Simulation {
    /// A share of all leads, 0–1.
    pub fn rate(&self, count: u64) -> f64 {
        if self.leads == 0 { 0.0 } else { count as f64 / self.leads as f64 }
    }
}

/// The indexes of `history`, in the order its leads were captured (the order they are replayed in).
pub fn capture_order(history: &[HistoricalLead]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..history.len()).collect();
    order.sort_by_key(|&i| history[i].lead.captured_at);
    order
}

/// Counts by name, most first (ties by name).
fn most_first(map: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Owner → leads in A and in B.
type OwnerArms = HashMap<String, (u64, u64)>;

/// The decision for every lead of `history` (in capture order), and what they add up to.
/// `progress` is called after each lead, for a progress bar.
pub fn simulate(
    ruleset: &Ruleset,
    history: &[HistoricalLead],
    progress: &mut dyn FnMut(usize),
) -> (Vec<Decision>, Simulation) {
    let order = capture_order(history);
    let mut replay = Replay::new(ruleset);
    let mut decisions: Vec<Option<Decision>> = vec![None; history.len()];
    let mut by_owner: HashMap<String, u64> = HashMap::new();
    let mut by_rule: HashMap<String, u64> = HashMap::new();
    let mut counts: HashMap<&'static str, u64> = HashMap::new();
    let mut pool_leads: BTreeMap<String, (u64, u64, HashMap<String, u64>)> = BTreeMap::new();
    let mut load = vec![(0u64, 0u32); 168];
    let mut passed: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut members_on: HashMap<i64, u32> = HashMap::new();
    // Per experiment: leads in A, in B, and per owner.
    let mut arms: HashMap<&str, (u64, u64, OwnerArms)> = HashMap::new();
    for (n, &i) in order.iter().enumerate() {
        let h = &history[i];
        let (decision, planned_pool) = replay.decide_in_pool(&h.lead, h.touched_at);
        *by_owner.entry(decision.owner.id.clone()).or_default() += 1;
        *by_rule.entry(decision.rule.clone()).or_default() += 1;
        let kind = outcome(&decision);
        *counts.entry(kind).or_default() += 1;
        let slot = &mut load[pool::hour_of_week(h.lead.captured_at)];
        slot.0 += 1;
        if let Some(name) = planned_pool {
            let entry = pool_leads.entry(name.clone()).or_default();
            entry.0 += 1;
            if kind == "fallback" {
                entry.1 += 1;
            } else if decision.pool.as_deref() == Some(name.as_str()) {
                *entry.2.entry(decision.owner.id.clone()).or_default() += 1;
            }
        }
        // Who is on is the same all hour: counted once per hour of the history.
        let hour = h.lead.captured_at.timestamp().div_euclid(3600);
        let on = *members_on.entry(hour).or_insert_with(|| {
            let mut on: Vec<&str> = ruleset
                .pools
                .values()
                .flat_map(|p| &p.members)
                .filter(|m| pool::unavailable(m, h.lead.captured_at).is_none())
                .map(|m| m.id.as_str())
                .collect();
            on.sort_unstable();
            on.dedup();
            on.len() as u32
        });
        slot.1 = slot.1.max(on);
        for skip in &decision.skipped {
            if skip.reason.starts_with("at ") {
                *passed.entry((skip.member.clone(), skip.reason.clone())).or_default() += 1;
            }
        }
        for arm in &decision.experiments {
            let Some(e) = ruleset.experiments.iter().find(|e| e.name == arm.experiment) else { continue };
            let entry = arms.entry(e.name.as_str()).or_default();
            let owner = entry.2.entry(decision.owner.id.clone()).or_default();
            if arm.variant == super::Arm::B {
                entry.1 += 1;
                owner.1 += 1;
            } else {
                entry.0 += 1;
                owner.0 += 1;
            }
        }
        decisions[i] = Some(decision);
        progress(n + 1);
    }
    let pools = pool_leads
        .into_iter()
        .map(|(name, (leads, fell_back, members))| {
            let pool = &ruleset.pools[&name];
            let weights: Vec<f64> = pool
                .members
                .iter()
                .map(|m| if pool.strategy == Strategy::Weighted { f64::from(m.weight.max(1)) } else { 1.0 })
                .collect();
            let total_weight: f64 = weights.iter().sum();
            let taken = leads - fell_back;
            let members: Vec<MemberShare> = pool
                .members
                .iter()
                .zip(&weights)
                .map(|(m, w)| {
                    let got = members.get(&m.id).copied().unwrap_or(0);
                    let share = if taken == 0 { 0.0 } else { got as f64 / taken as f64 };
                    MemberShare { member: m.id.clone(), leads: got, share, target: w / total_weight }
                })
                .collect();
            let spread_points = members.iter().map(|m| (m.share - m.target).abs() * 100.0).fold(0.0, f64::max);
            PoolFairness { pool: name, leads, fell_back, members, spread_points }
        })
        .collect();
    let count = |k| counts.get(k).copied().unwrap_or(0);
    let simulation = Simulation {
        ruleset: ruleset.name.clone(),
        leads: history.len() as u64,
        by_owner: most_first(by_owner),
        by_rule: most_first(by_rule),
        pools,
        assigned: count("assigned"),
        fallback: count("fallback"),
        unmatched: count("unmatched"),
        nurture: count("nurture"),
        disqualified: count("disqualified"),
        load: load
            .iter()
            .enumerate()
            .filter(|(_, (leads, _))| *leads > 0)
            .map(|(h, (leads, on))| HourLoad { hour: pool::hour_label(h), leads: *leads, members_on: *on })
            .collect(),
        over_capacity: passed
            .into_iter()
            .map(|((member, reason), passed_over)| OverCapacity { member, reason, passed_over })
            .collect(),
        experiments: ruleset
            .experiments
            .iter()
            .map(|e| {
                let (a, b, owners) = arms.remove(e.name.as_str()).unwrap_or_default();
                let mut by_owner: Vec<(String, u64, u64)> =
                    owners.into_iter().map(|(owner, (a, b))| (owner, a, b)).collect();
                by_owner.sort_by(|x, y| (y.1 + y.2).cmp(&(x.1 + x.2)).then_with(|| x.0.cmp(&y.0)));
                ExperimentSplit {
                    experiment: e.name.clone(),
                    changes: e.b.target(),
                    share_percent: e.share_percent,
                    a,
                    b,
                    by_owner,
                }
            })
            .collect(),
    };
    (decisions.into_iter().map(|d| d.expect("every lead decided")).collect(), simulation)
}

/// One lead whose decision differs between two rulesets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub lead_id: String,
    pub owner: (String, String),
    pub rule: (String, String),
    pub priority: (String, String),
    /// Capture → first-touch due, in minutes.
    pub sla_minutes: (i64, i64),
}

/// Two rulesets over the same history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub leads: u64,
    pub changed: u64,
    pub owner_changed: u64,
    pub priority_changed: u64,
    pub sla_changed: u64,
    /// `old rule → new rule`, with the leads that moved that way, most first.
    pub by_rule: Vec<(String, u64)>,
    /// `old owner → new owner`, most first.
    pub by_owner: Vec<(String, u64)>,
    /// The first changed leads, in capture order.
    pub examples: Vec<Change>,
}

impl Comparison {
    /// The share of leads that changed, 0–1.
    pub fn changed_share(&self) -> f64 {
        if self.leads == 0 { 0.0 } else { self.changed as f64 / self.leads as f64 }
    }
}

/// Compares the decisions of two replays of `history` (as [`simulate`] returns them, in the
/// history's order), keeping up to `examples` changed leads.
pub fn compare(history: &[HistoricalLead], old: &[Decision], new: &[Decision], examples: usize) -> Comparison {
    let order = capture_order(history);
    let mut c = Comparison {
        leads: history.len() as u64,
        changed: 0,
        owner_changed: 0,
        priority_changed: 0,
        sla_changed: 0,
        by_rule: vec![],
        by_owner: vec![],
        examples: vec![],
    };
    let mut by_rule: HashMap<String, u64> = HashMap::new();
    let mut by_owner: HashMap<String, u64> = HashMap::new();
    for i in order {
        let (a, b) = (&old[i], &new[i]);
        let captured = history[i].lead.captured_at;
        let sla = |d: &Decision| (d.first_touch_due_at - captured).num_minutes();
        let owner = a.owner.id != b.owner.id;
        let priority = a.score.priority != b.score.priority;
        let due = sla(a) != sla(b);
        if !(owner || priority || due) {
            continue;
        }
        c.changed += 1;
        c.owner_changed += u64::from(owner);
        c.priority_changed += u64::from(priority);
        c.sla_changed += u64::from(due);
        *by_rule.entry(format!("{} → {}", a.rule, b.rule)).or_default() += 1;
        if owner {
            *by_owner.entry(format!("{} → {}", a.owner.id, b.owner.id)).or_default() += 1;
        }
        if c.examples.len() < examples {
            c.examples.push(Change {
                lead_id: history[i].lead.id.to_string(),
                owner: (a.owner.id.clone(), b.owner.id.clone()),
                rule: (a.rule.clone(), b.rule.clone()),
                priority: (a.score.priority.as_str().to_owned(), b.score.priority.as_str().to_owned()),
                sla_minutes: (sla(a), sla(b)),
            });
        }
    }
    c.by_rule = most_first(by_rule);
    c.by_owner = most_first(by_owner);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(at: &str) -> Lead {
        let body = br#"{"email":"a@acme.example","country":"US"}"#;
        crate::LeadSubmission::from_json(body)
            .unwrap()
            .into_lead(crate::LeadId::generate(), at.parse().unwrap())
            .unwrap()
    }

    #[test]
    fn a_lead_never_touched_keeps_its_slot_and_the_touched_ones_free_theirs() {
        let ruleset = Ruleset::parse_toml(
            r#"name = "caps"
fallback = { id = "queue", name = "Queue" }
[scoring]
hot_at = 60
warm_at = 30
criteria = [{ reason = "demo", kind = "intent", points = 40, when = { form_type = ["demo_request"] } }]
[[routing]]
name = "all"
pool = "p"
[pools.p]
members = [{ id = "rep", name = "Rep", max_open = 2, max_new_per_day = 10 }]
"#,
        )
        .unwrap();
        let mut replay = Replay::new(&ruleset);
        let at = |s: &str| Some(s.parse().unwrap());
        assert_eq!(replay.decide(&lead("2026-11-02T12:00:00Z"), None).owner.id, "rep");
        assert_eq!(replay.decide(&lead("2026-11-02T12:01:00Z"), at("2026-11-02T12:02:00Z")).owner.id, "rep");
        let third = replay.decide(&lead("2026-11-02T13:00:00Z"), None);
        assert_eq!(third.owner.id, "rep", "the touched lead's slot was freed: {:?}", third.skipped);
        let fourth = replay.decide(&lead("2026-11-02T14:00:00Z"), None);
        assert_eq!(fourth.owner.id, "queue", "two untouched leads hold both slots");
        assert!(fourth.skipped.iter().any(|s| s.reason == "at open-lead capacity (2)"), "{:?}", fourth.skipped);
    }
}
