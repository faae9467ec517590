//! Rules as data: one ruleset document (TOML for people, JSON over the API) holds scoring,
//! lifecycle and priority, disqualifiers, ordered routing rules, pools, the fallback owner and
//! SLA targets. [`Ruleset::parse_toml`] and [`Ruleset::parse_json`] check it fully before it can
//! be used: unknown fields, unreachable rules, pools with no members and references to unknown
//! pools are errors with their line or field.
//!
//! # Layout
//! - this file: the document's types and its parsing and validation.
//! - [`when`]: conditions (`when = { country = ["DE"], seniority = ["vp", "c_level"] }`).
//! - [`engine`]: scoring, lifecycle and routing a lead by a ruleset.
//! - [`experiment`]: experiments (variant B of a routing rule, a pool's weights, the SLA warning
//!   or a play for a share of leads, by a stable hash of the lead id).
//! - [`pool`]: choosing a pool member (round robin, weights, availability, capacity).
//! - [`replay`]: replaying history through a ruleset (simulation, and comparing two rulesets).
//! - [`staff`]: the SLA attainment a roster can expect from a history's arrivals (Erlang C per
//!   pool and hour of the week), with members away.
//! - [`lint`]: warnings about a valid ruleset (shadowed and overlapping rules, unreachable
//!   members, hours with nobody on, countries no rule covers).
//! - [`sla`]: SLA policies (targets per priority, segment or team; wall or business clock; the
//!   escalation ladder) and the terms they give a decision.

pub mod engine;
pub mod experiment;
pub mod lint;
pub mod pool;
pub mod replay;
pub mod sla;
pub mod staff;
pub mod when;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FieldError, Owner};
pub use experiment::{Arm, Experiment, ExperimentArm, Variant};
pub use sla::{SlaPolicy, SlaTargets};
pub use when::When;

/// The most points one criterion may add or take away.
pub const MAX_POINTS: i32 = 1000;

/// The JSON Schema of a ruleset document (`ruleset.schema.json` beside the default ruleset).
pub const SCHEMA_JSON: &str = include_str!("ruleset.schema.json");

/// The ruleset a new installation runs with, readable as documentation (`rules/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// A complete ruleset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ruleset {
    /// A label for people, such as `2026-Q4 territories`.
    pub name: String,
    pub scoring: Scoring,
    /// Rules that take a lead out of routing before assignment, first match wins.
    #[serde(default)]
    pub disqualify: Vec<Disqualifier>,
    /// Coordination before routing: a lead matching one goes to its current owner (the matched
    /// account's owner) instead of a new one, and the decision names the suppression.
    #[serde(default)]
    pub suppress: Vec<Suppression>,
    /// Ordered routing rules; the first that matches assigns.
    #[serde(default)]
    pub routing: Vec<RoutingRule>,
    #[serde(default)]
    pub pools: BTreeMap<String, Pool>,
    /// Who owns what no rule (or no available member) takes.
    pub fallback: Owner,
    #[serde(default)]
    pub sla: SlaTargets,
    /// Team calendars for business-time SLAs, by name: time zone, working hours, days, holidays.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calendars: BTreeMap<String, crate::business_time::CalendarSpec>,
    /// The first action for the owner, by priority, segment and what is known about the lead:
    /// the first play that matches (none: call a hot lead or one with only a phone, else email).
    #[serde(default)]
    pub playbook: Vec<Play>,
    /// Where Slack summaries of every assignment and escalation go (a channel id, `C…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_channel: Option<String>,
    /// Experiments: variant B of a routing rule, a pool's weights, the SLA warning or a play,
    /// for a share of the leads it reaches ([`experiment`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<Experiment>,
    /// Routing rules by country, built on first use (routing reads only the rules that can match).
    #[serde(skip)]
    #[schemars(skip)]
    index: LazyIndex,
}

/// A cache of the routing index: not part of the ruleset's value (equal rulesets stay equal
/// whether or not one has been used).
#[derive(Debug, Clone, Default)]
struct LazyIndex(std::sync::OnceLock<RoutingIndex>);

impl PartialEq for LazyIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Routing rule positions by the countries they name, so a lead is checked only against the
/// rules for its country and the rules that name no country, still in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingIndex {
    by_country: std::collections::HashMap<String, Vec<usize>>,
    any_country: Vec<usize>,
}

impl RoutingIndex {
    fn build(rules: &[RoutingRule]) -> Self {
        let mut index = Self::default();
        for (i, rule) in rules.iter().enumerate() {
            if rule.when.country.is_empty() {
                index.any_country.push(i);
            }
            for country in &rule.when.country {
                index.by_country.entry(country.to_ascii_uppercase()).or_default().push(i);
            }
        }
        index
    }

    /// The positions of the rules that may match a lead in `country`, ascending.
    pub fn candidates<'a>(&'a self, country: Option<&str>) -> impl Iterator<Item = usize> + 'a {
        let bucket: &[usize] =
            country.and_then(|c| self.by_country.get(&c.to_ascii_uppercase())).map_or(&[], Vec::as_slice);
        merge_sorted(bucket, &self.any_country)
    }
}

fn merge_sorted<'a>(a: &'a [usize], b: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || match (a.get(i), b.get(j)) {
        (Some(&x), Some(&y)) if x <= y => {
            i += 1;
            if x == y {
                j += 1;
            }
            Some(x)
        }
        (_, Some(&y)) => {
            j += 1;
            Some(y)
        }
        (Some(&x), None) => {
            i += 1;
            Some(x)
        }
        (None, None) => None,
    })
}

/// Scoring criteria and the thresholds that turn a score into a priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    /// Scores at or above this are hot.
    pub hot_at: i32,
    /// Scores at or above this (below `hot_at`) are warm; below, cold.
    pub warm_at: i32,
    /// Scores below this go to nurture instead of a rep (absent: nobody goes to nurture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nurture_below: Option<i32>,
    pub criteria: Vec<Criterion>,
}

/// One scoring criterion: when it matches, it adds `points` with `reason`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Shown to reps ("why hot"), such as `asked for a demo`.
    pub reason: String,
    pub points: i32,
    /// `fit` (who they are) or `intent` (what they did).
    #[serde(default)]
    pub kind: CriterionKind,
    #[serde(default)]
    pub when: When,
}

/// What a criterion measures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    #[default]
    Fit,
    Intent,
}

/// What a disqualifier does with the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Not a lead for sales (competitor, student, spam that got through): recorded, not assigned.
    Disqualified,
    /// Not ready: recorded for nurture, not assigned to a rep.
    Nurture,
}

/// An explicit reason not to route a lead to a rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Disqualifier {
    pub name: String,
    pub when: When,
    pub then: Disposition,
}

/// One play of the playbook: when it matches, the owner's first action is `action`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Play {
    pub name: String,
    #[serde(default)]
    pub when: When,
    pub action: crate::FirstAction,
    /// A line of advice shown with the action, such as `mention the pricing page they read`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
}

/// "Don't multiply, coordinate": for example an open deal, an active sequence, or a recent contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub name: String,
    pub when: When,
}

/// One routing rule: when it matches, the lead goes to its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub name: String,
    #[serde(default)]
    pub when: When,
    /// Exactly one of `pool`, `owner` or `account_owner = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The matched account's owner (the rule is skipped when the lead's account has none).
    #[serde(default)]
    pub account_owner: bool,
}

/// A group of reps who share leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    #[serde(default)]
    pub strategy: Strategy,
    pub members: Vec<Member>,
    /// Who takes the lead when every member is unavailable (absent: the ruleset's fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Owner>,
    /// The team's calendar (under `[calendars]`) for business-time SLAs of its leads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// The team's Slack channel for summaries and breaches of its leads (absent: the ruleset's `team_channel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_channel: Option<String>,
    /// The team's manager (a Slack user id, `U…`), told directly when one of its leads breaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
}

/// How a pool spreads leads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each member in turn.
    #[default]
    RoundRobin,
    /// In turn, a member with weight 2 twice as often as one with weight 1.
    Weighted,
}

/// A pool member and when they can take leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub id: String,
    pub name: String,
    #[serde(default = "one")]
    pub weight: u32,
    /// At most this many new leads per day (in the member's time zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new_per_day: Option<u32>,
    /// At most this many open leads (assigned and not yet touched) at once; the first touch
    /// frees a slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
    /// IANA time zone for working hours, days off and the daily cap, such as `Europe/Berlin`.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Working hours, such as `09:00-17:30` (absent: any time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// Working days (absent: every day), such as `["mon", "tue", "wed", "thu", "fri"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// Dates off, `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_office: Vec<String>,
    #[serde(default)]
    pub paused: bool,
    /// Their Slack user id (`U…`): messages mention them and go to them directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
    /// Their booking page, for a "send a meeting link" first action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_link: Option<String>,
    /// Their email address, for email notifications (when switched on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Member {
    /// The member as a lead's owner.
    pub fn owner(&self) -> Owner {
        Owner {
            id: self.id.clone(),
            name: self.name.clone(),
            slack: self.slack.clone(),
            timezone: Some(self.timezone.clone()),
            meeting_link: self.meeting_link.clone(),
            email: self.email.clone(),
        }
    }
}

fn one() -> u32 {
    1
}

fn utc() -> String {
    "UTC".into()
}

/// The longest duration a ruleset may name (SLA targets, recent-contact windows).
pub const MAX_DURATION_DAYS: i64 = 366;

/// Parses `90s`, `15m`, `2h`, `1d` (a whole number and a unit), from one second to a year.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 15m, 2h or 1d"))?;
    let d = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => return Err(format!("`{text}` has no unit: use s, m, h or d")),
    };
    match d {
        Some(d) if n > 0 && d <= chrono::Duration::days(MAX_DURATION_DAYS) => Ok(d),
        _ if n == 0 => Err(format!("`{text}` must be longer than zero")),
        _ => Err(format!("`{text}` is longer than {MAX_DURATION_DAYS} days")),
    }
}

impl Ruleset {
    /// The routing index, built on first use.
    pub fn routing_index(&self) -> &RoutingIndex {
        self.index.0.get_or_init(|| RoutingIndex::build(&self.routing))
    }

    /// Parses and validates a TOML document; errors carry the line and column or the field path.
    pub fn parse_toml(text: &str) -> Result<Self, Vec<FieldError>> {
        let ruleset: Self = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}")
                })
                .unwrap_or_else(|| "document".into());
            vec![FieldError { field: at, message: e.message().to_owned() }]
        })?;
        ruleset.validate()?;
        Ok(ruleset)
    }

    /// Parses and validates a JSON document (the API's form); errors carry the field path.
    pub fn parse_json(text: &str) -> Result<Self, Vec<FieldError>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let ruleset: Self = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| vec![FieldError { field: e.path().to_string(), message: e.inner().to_string() }])?;
        ruleset.validate()?;
        Ok(ruleset)
    }

    /// The default ruleset.
    pub fn default_ruleset() -> Self {
        Self::parse_toml(DEFAULT_TOML).expect("the default ruleset is valid (tested)")
    }

    /// `owner` with the contact details (Slack id, time zone, booking page, email) the ruleset
    /// knows for a pool member of the same id, where the owner lacks them: an account owner
    /// imported from a CRM is reached the same way as in their pool.
    pub fn with_contacts(&self, mut owner: Owner) -> Owner {
        if let Some(m) = self.pools.values().flat_map(|p| &p.members).find(|m| m.id == owner.id) {
            let known = m.owner();
            owner.slack = owner.slack.or(known.slack);
            owner.timezone = owner.timezone.or(known.timezone);
            owner.meeting_link = owner.meeting_link.or(known.meeting_link);
            owner.email = owner.email.or(known.email);
        }
        owner
    }

    /// Every problem that makes the ruleset unusable, by field path.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field: String, message: String| errors.push(FieldError { field, message });
        if self.scoring.warm_at > self.scoring.hot_at {
            err("scoring.warm_at".into(), format!("{} is above hot_at {}", self.scoring.warm_at, self.scoring.hot_at));
        }
        for (i, c) in self.scoring.criteria.iter().enumerate() {
            if let Err(e) = c.when.validate() {
                err(format!("scoring.criteria[{i}].when"), e);
            }
            if !c.when.priority.is_empty() {
                err(
                    format!("scoring.criteria[{i}].when.priority"),
                    "scoring happens before there is a priority".into(),
                );
            }
            if c.points.abs() > MAX_POINTS {
                err(format!("scoring.criteria[{i}].points"), format!("{} is beyond ±{MAX_POINTS}", c.points));
            }
        }
        let mut owners: Vec<(String, &Owner)> = vec![("fallback".into(), &self.fallback)];
        owners.extend(
            self.routing
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.owner.as_ref().map(|o| (format!("routing[{i}].owner"), o))),
        );
        owners.extend(
            self.pools.iter().filter_map(|(n, p)| p.fallback.as_ref().map(|o| (format!("pools.{n}.fallback"), o))),
        );
        for (at, owner) in owners {
            if owner.id.trim().is_empty() || owner.name.trim().is_empty() {
                err(at, "an owner needs a non-empty id and name".into());
            }
        }
        for (i, d) in self.disqualify.iter().enumerate() {
            if let Err(e) = d.when.validate() {
                err(format!("disqualify[{i}].when"), e);
            }
            if d.when.is_empty() {
                err(
                    format!("disqualify[{i}].when"),
                    format!("`{}` has no condition, so it would take every lead", d.name),
                );
            }
        }
        for (i, d) in self.suppress.iter().enumerate() {
            if let Err(e) = d.when.validate() {
                err(format!("suppress[{i}].when"), e);
            }
            if d.when.is_empty() {
                err(
                    format!("suppress[{i}].when"),
                    format!("`{}` has no condition, so it would hold every lead", d.name),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, r) in self.routing.iter().enumerate() {
            let at = format!("routing[{i}]");
            if !names.insert(r.name.as_str()) {
                err(format!("{at}.name"), format!("`{}` is used by an earlier rule", r.name));
            }
            if let Err(e) = r.when.validate() {
                err(format!("{at}.when"), e);
            }
            let targets = usize::from(r.pool.is_some()) + usize::from(r.owner.is_some()) + usize::from(r.account_owner);
            if targets != 1 {
                err(at.clone(), format!("`{}` needs exactly one of pool, owner or account_owner = true", r.name));
            }
            if let Some(pool) = &r.pool
                && !self.pools.contains_key(pool)
            {
                err(format!("{at}.pool"), format!("`{pool}` is not a pool in this ruleset"));
            }
            // A rule after an unconditional rule that always assigns can never match.
            if let Some((j, earlier)) =
                self.routing[..i].iter().enumerate().find(|(_, e)| e.when.is_empty() && !e.account_owner)
            {
                err(
                    at.clone(),
                    format!("`{}` is unreachable: `{}` (routing[{j}]) matches every lead first", r.name, earlier.name),
                );
            }
        }
        for (name, pool) in &self.pools {
            let at = format!("pools.{name}");
            if pool.members.is_empty() {
                err(format!("{at}.members"), "a pool needs at least one member".into());
            }
            for (i, m) in pool.members.iter().enumerate() {
                for problem in pool::check_member(m) {
                    err(format!("{at}.members[{i}]"), format!("{}: {problem}", m.id));
                }
                if pool.members[..i].iter().any(|earlier| earlier.id == m.id) {
                    err(format!("{at}.members[{i}].id"), format!("`{}` is listed twice", m.id));
                }
            }
            let in_experiment = self
                .experiments
                .iter()
                .any(|e| matches!(&e.b, experiment::Variant::Routing { pool: Some(p), .. } if p == name));
            if !in_experiment && !self.routing.iter().any(|r| r.pool.as_deref() == Some(name)) {
                err(at, "no routing rule sends leads to this pool".into());
            }
        }
        for (i, play) in self.playbook.iter().enumerate() {
            if let Err(e) = play.when.validate() {
                err(format!("playbook[{i}].when"), e);
            }
            if let Some((j, earlier)) = self.playbook[..i].iter().enumerate().find(|(_, e)| e.when.is_empty()) {
                err(
                    format!("playbook[{i}]"),
                    format!(
                        "`{}` is unreachable: `{}` (playbook[{j}]) matches every lead first",
                        play.name, earlier.name
                    ),
                );
            }
        }
        for (field, message) in self.experiment_problems() {
            err(field, message);
        }
        for (field, message) in self.sla.problems(self) {
            err(field, message);
        }
        for (name, spec) in &self.calendars {
            for (field, message) in spec.problems() {
                err(format!("calendars.{name}.{field}"), message);
            }
        }
        for (name, pool) in &self.pools {
            if let Some(calendar) = &pool.calendar
                && !self.calendars.contains_key(calendar)
            {
                err(format!("pools.{name}.calendar"), format!("`{calendar}` is not a calendar in [calendars]"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ruleset_is_valid() {
        let r = Ruleset::default_ruleset();
        assert!(!r.routing.is_empty() && !r.pools.is_empty());
    }

    #[test]
    fn a_typo_is_reported_with_its_line() {
        let text = DEFAULT_TOML.replacen("hot_at", "hot_att", 1);
        let errors = Ruleset::parse_toml(&text).unwrap_err();
        assert!(errors[0].field.starts_with("line "), "{errors:?}");
        assert!(errors[0].message.contains("hot_att"), "{errors:?}");
    }

    #[test]
    fn unknown_pools_empty_pools_and_unreachable_rules_are_errors() {
        let text = r#"
            name = "broken"
            fallback = { id = "fb", name = "Fallback" }
            [scoring]
            hot_at = 60
            warm_at = 30
            criteria = []
            [[routing]]
            name = "everyone"
            owner = { id = "a", name = "A" }
            [[routing]]
            name = "germany"
            when = { country = ["DE"] }
            pool = "dach"
            [[routing]]
            name = "nowhere"
            pool = "missing"
            [pools.dach]
            members = []
        "#;
        let errors = Ruleset::parse_toml(text).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"routing[1]"), "unreachable: {errors:?}");
        assert!(fields.contains(&"routing[2].pool"), "unknown pool: {errors:?}");
        assert!(fields.contains(&"pools.dach.members"), "empty pool: {errors:?}");
    }

    #[test]
    fn the_index_yields_a_countrys_rules_and_the_countryless_ones_in_order() {
        let rules: Vec<RoutingRule> = [vec!["DE"], vec![], vec!["US", "DE"], vec!["US"], vec![]]
            .into_iter()
            .enumerate()
            .map(|(i, countries)| RoutingRule {
                name: format!("r{i}"),
                when: When { country: countries.into_iter().map(str::to_owned).collect(), ..When::default() },
                pool: None,
                owner: Some(Owner::new("o", "O")),
                account_owner: false,
            })
            .collect();
        let index = RoutingIndex::build(&rules);
        assert_eq!(index.candidates(Some("de")).collect::<Vec<_>>(), [0, 1, 2, 4]);
        assert_eq!(index.candidates(Some("US")).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(index.candidates(None).collect::<Vec<_>>(), [1, 4]);
    }

    /// The committed schema is the one the types generate. To refresh it after changing the
    /// types: `BATON_BLESS=1 cargo test -p baton-domain the_published_schema`.
    #[test]
    fn the_published_schema_matches_the_types() {
        let generated = serde_json::to_string_pretty(&schemars::schema_for!(Ruleset)).unwrap() + "\n";
        if std::env::var_os("BATON_BLESS").is_some() {
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules/ruleset.schema.json"), &generated).unwrap();
        }
        assert_eq!(SCHEMA_JSON, generated, "ruleset.schema.json is stale: re-run with BATON_BLESS=1");
    }

    #[test]
    fn owners_members_bands_and_points_are_checked() {
        let text = r#"
            name = "loose"
            fallback = { id = "", name = "Nobody" }
            [scoring]
            hot_at = 60
            warm_at = 30
            criteria = [
              { reason = "huge", points = 5000 },
              { reason = "early", points = 1, when = { priority = ["hot"] } },
            ]
            [[routing]]
            name = "sizes"
            when = { size_band = ["50-200"] }
            pool = "team"
            [pools.team]
            members = [ { id = "a", name = "A" }, { id = "a", name = "A again", weight = 500 } ]
        "#;
        let fields: Vec<String> = Ruleset::parse_toml(text).unwrap_err().into_iter().map(|e| e.field).collect();
        for expected in [
            "fallback",
            "scoring.criteria[0].points",
            "scoring.criteria[1].when.priority",
            "routing[0].when",
            "pools.team.members[1].id",
            "pools.team.members[1]",
        ] {
            assert!(fields.contains(&expected.to_owned()), "missing {expected} in {fields:?}");
        }
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("15m").unwrap(), chrono::Duration::minutes(15));
        assert_eq!(parse_duration("1d").unwrap(), chrono::Duration::days(1));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("100000000d").unwrap_err().contains("longer than"));
        assert!(parse_duration("9999999999999999s").is_err(), "no overflow panic");
        assert!(parse_duration("366d").is_ok());
    }

    #[test]
    fn json_and_toml_describe_the_same_ruleset() {
        let r = Ruleset::default_ruleset();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(Ruleset::parse_json(&json).unwrap(), r);
    }
}
