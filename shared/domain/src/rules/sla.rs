//! SLA policies: the first-touch target per priority (optionally per segment or team), the clock
//! it runs on (wall-clock or business time in a team calendar), and the escalation ladder
//! (a warning at a share of the target, the breach at the target, then reassignment after a
//! grace period, at most so many times before the lead goes to the fallback queue).
//!
//! ```toml
//! [sla]
//! hot = "5m"
//! warm = "1h"
//! cold = "1d"               # in business time, one working day
//! clock = "business"        # or "wall" (the default)
//! calendar = "emea"         # a name under [calendars]; the owner's pool's own calendar wins
//! warn_at_percent = 80      # lead.sla_warning to the owner at 80% of the target
//! reassign_after = "15m"    # lead.reassigned to the next available pool member, 15m after the breach
//! max_reassignments = 2     # then the fallback queue
//!
//! [[sla.policies]]          # the first that matches overrides any of the above
//! name = "enterprise"
//! when = { account_segment = ["enterprise"] }
//! pools = ["europe"]        # and/or only for these teams
//! hot = "2m"
//! ```

use serde::{Deserialize, Serialize};

use super::{Ruleset, When, parse_duration};
use crate::business_time::Calendar;
use crate::sla::{SlaClock, SlaTerms};
use crate::{Lead, Priority, Timestamp};

/// The `[sla]` section: the base policy and its overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    /// First-touch target for hot leads, such as `15m`.
    pub hot: String,
    pub warm: String,
    pub cold: String,
    /// `wall` (default): targets run around the clock; `business`: only in working time.
    #[serde(default, skip_serializing_if = "is_wall")]
    pub clock: SlaClock,
    /// The calendar (under `[calendars]`) business time runs in, unless the owner's pool names its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// A warning to the owner at this share of the target, 1–99 (absent: no warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at_percent: Option<u32>,
    /// After a breach, reassign to the next available member of the lead's pool this long after
    /// the target (in the same clock). Absent: never reassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassign_after: Option<String>,
    /// How many reassignments before the lead goes to the fallback queue (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reassignments: Option<u32>,
    /// Overrides by segment or team: the first whose `when` and `pools` match applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<SlaPolicy>,
}

fn is_wall(clock: &SlaClock) -> bool {
    *clock == SlaClock::Wall
}

/// An override of the base SLA for some leads: any field left out keeps the base's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub name: String,
    /// Which leads (by segment, country, source, …); empty: every lead.
    #[serde(default)]
    pub when: When,
    /// Only leads assigned from these pools (teams); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<SlaClock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at_percent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassign_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reassignments: Option<u32>,
}

impl Default for SlaTargets {
    fn default() -> Self {
        Self {
            hot: "15m".into(),
            warm: "2h".into(),
            cold: "24h".into(),
            clock: SlaClock::Wall,
            calendar: None,
            warn_at_percent: None,
            reassign_after: None,
            max_reassignments: None,
            policies: Vec::new(),
        }
    }
}

/// The most reassignments a policy may allow.
pub const MAX_REASSIGNMENTS: u32 = 10;

/// The SLA that applies to one lead, before its times are computed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Resolved<'r> {
    policy: &'r str,
    target: &'r str,
    clock: SlaClock,
    calendar: Option<&'r str>,
    warn_at_percent: Option<u32>,
    reassign_after: Option<&'r str>,
    max_reassignments: u32,
}

impl SlaTargets {
    /// The wall-clock target for `priority` of the base policy. The ruleset was validated, so
    /// the text parses.
    pub fn target(&self, priority: Priority) -> chrono::Duration {
        parse_duration(self.target_text(priority)).unwrap_or_else(|_| chrono::Duration::hours(24))
    }

    fn target_text(&self, priority: Priority) -> &str {
        match priority {
            Priority::Hot => &self.hot,
            Priority::Warm => &self.warm,
            Priority::Cold => &self.cold,
        }
    }

    fn resolve<'r>(&'r self, lead: &Lead, priority: Priority, pool: Option<&str>) -> Resolved<'r> {
        let policy = self.policies.iter().find(|p| {
            p.when.matches(lead, Some(priority))
                && (p.pools.is_empty() || pool.is_some_and(|n| p.pools.iter().any(|x| x == n)))
        });
        let base = Resolved {
            policy: "default",
            target: self.target_text(priority),
            clock: self.clock,
            calendar: self.calendar.as_deref(),
            warn_at_percent: self.warn_at_percent,
            reassign_after: self.reassign_after.as_deref(),
            max_reassignments: self.max_reassignments.unwrap_or(1),
        };
        let Some(p) = policy else { return base };
        let target = match priority {
            Priority::Hot => p.hot.as_deref(),
            Priority::Warm => p.warm.as_deref(),
            Priority::Cold => p.cold.as_deref(),
        };
        Resolved {
            policy: &p.name,
            target: target.unwrap_or(base.target),
            clock: p.clock.unwrap_or(base.clock),
            calendar: p.calendar.as_deref().or(base.calendar),
            warn_at_percent: p.warn_at_percent.or(base.warn_at_percent),
            reassign_after: p.reassign_after.as_deref().or(base.reassign_after),
            max_reassignments: p.max_reassignments.unwrap_or(base.max_reassignments),
        }
    }

    /// Every problem in the section, by field path (`sla.hot`, `sla.policies[0].calendar`, …).
    pub(super) fn problems(&self, ruleset: &Ruleset) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut check = |at: String, hot: Option<&String>, warm: Option<&String>, cold: Option<&String>| {
            for (name, text) in [("hot", hot), ("warm", warm), ("cold", cold)] {
                if let Some(text) = text
                    && let Err(e) = parse_duration(text)
                {
                    out.push((format!("{at}.{name}"), e));
                }
            }
        };
        check("sla".into(), Some(&self.hot), Some(&self.warm), Some(&self.cold));
        for (i, p) in self.policies.iter().enumerate() {
            check(format!("sla.policies[{i}]"), p.hot.as_ref(), p.warm.as_ref(), p.cold.as_ref());
        }
        let common = |out: &mut Vec<(String, String)>,
                      at: &str,
                      calendar: Option<&String>,
                      warn: Option<u32>,
                      reassign: Option<&String>,
                      max: Option<u32>| {
            if let Some(name) = calendar
                && !ruleset.calendars.contains_key(name)
            {
                out.push((format!("{at}.calendar"), format!("`{name}` is not a calendar in [calendars]")));
            }
            if let Some(pct) = warn
                && !(1..=99).contains(&pct)
            {
                out.push((format!("{at}.warn_at_percent"), format!("{pct} is not a share from 1 to 99")));
            }
            if let Some(text) = reassign
                && let Err(e) = parse_duration(text)
            {
                out.push((format!("{at}.reassign_after"), e));
            }
            if let Some(max) = max
                && max > MAX_REASSIGNMENTS
            {
                out.push((format!("{at}.max_reassignments"), format!("{max} is above {MAX_REASSIGNMENTS}")));
            }
        };
        common(
            &mut out,
            "sla",
            self.calendar.as_ref(),
            self.warn_at_percent,
            self.reassign_after.as_ref(),
            self.max_reassignments,
        );
        for (i, p) in self.policies.iter().enumerate() {
            let at = format!("sla.policies[{i}]");
            common(
                &mut out,
                &at,
                p.calendar.as_ref(),
                p.warn_at_percent,
                p.reassign_after.as_ref(),
                p.max_reassignments,
            );
            if let Err(e) = p.when.validate() {
                out.push((format!("{at}.when"), e));
            }
            for (j, pool) in p.pools.iter().enumerate() {
                if !ruleset.pools.contains_key(pool) {
                    out.push((format!("{at}.pools[{j}]"), format!("`{pool}` is not a pool in this ruleset")));
                }
            }
        }
        // A business clock needs a calendar of its own or the base's (a pool's own calendar,
        // when it has one, is used instead for its leads).
        let missing = |clock: SlaClock, calendar: Option<&String>| {
            clock == SlaClock::Business && calendar.or(self.calendar.as_ref()).is_none()
        };
        if missing(self.clock, None) {
            out.push((
                "sla.calendar".into(),
                "`clock = \"business\"` needs a calendar: name one from [calendars]".into(),
            ));
        }
        for (i, p) in self.policies.iter().enumerate() {
            if missing(p.clock.unwrap_or(self.clock), p.calendar.as_ref()) && self.clock != SlaClock::Business {
                out.push((
                    format!("sla.policies[{i}].calendar"),
                    "`clock = \"business\"` needs a calendar: name one from [calendars]".into(),
                ));
            }
        }
        out
    }
}

impl Ruleset {
    /// The calendar named `name`, if the ruleset declares it (and it is valid, as validation checked).
    pub fn calendar(&self, name: &str) -> Option<Calendar> {
        self.calendars.get(name).and_then(|spec| spec.calendar().ok())
    }

    /// The SLA terms of a lead of `priority` assigned at `now` from `pool` (if any): the policy
    /// that applies, its target on its clock, and when each rung of the ladder is due.
    /// `reassignments` is how many times the lead was reassigned already (a fresh target after a
    /// reassignment keeps counting).
    pub fn sla_terms(
        &self,
        lead: &Lead,
        priority: Priority,
        pool: Option<&str>,
        reassignments: u32,
        now: Timestamp,
    ) -> SlaTerms {
        self.sla_terms_with(lead, priority, pool, reassignments, None, now)
    }

    /// [`Ruleset::sla_terms`], with the warning at `warn_at_percent` of the target instead of
    /// the policy's, when given (an SLA warning experiment's variant B).
    pub fn sla_terms_with(
        &self,
        lead: &Lead,
        priority: Priority,
        pool: Option<&str>,
        reassignments: u32,
        warn_at_percent: Option<u32>,
        now: Timestamp,
    ) -> SlaTerms {
        let mut r = self.sla.resolve(lead, priority, pool);
        if warn_at_percent.is_some() {
            r.warn_at_percent = warn_at_percent;
        }
        let pool_calendar = pool.and_then(|p| self.pools.get(p)).and_then(|p| p.calendar.as_deref());
        let calendar_name = pool_calendar.or(r.calendar);
        let calendar = match r.clock {
            SlaClock::Business => calendar_name.and_then(|n| self.calendar(n)),
            SlaClock::Wall => None,
        };
        let work = |text: &str| -> chrono::Duration {
            let wall = parse_duration(text).unwrap_or_else(|_| chrono::Duration::hours(24));
            match (&calendar, text.trim().strip_suffix('d').and_then(|n| n.parse::<i32>().ok())) {
                (Some(c), Some(days)) => c.day_length() * days,
                _ => wall,
            }
        };
        let after = |start: Timestamp, d: chrono::Duration| -> Timestamp {
            match &calendar {
                Some(c) => c.add(start, d),
                None => start.checked_add_signed(d).unwrap_or(start),
            }
        };
        let target = work(r.target);
        let due_at = after(now, target);
        let warn_at = r.warn_at_percent.map(|pct| after(now, target * pct as i32 / 100));
        let reassign_at = r.reassign_after.map(|grace| after(due_at, work(grace)));
        SlaTerms {
            policy: r.policy.to_owned(),
            target: r.target.to_owned(),
            clock: if calendar.is_some() { SlaClock::Business } else { SlaClock::Wall },
            calendar: calendar.as_ref().and(calendar_name).map(str::to_owned),
            warn_at,
            due_at,
            reassign_at,
            reassignments,
            max_reassignments: r.max_reassignments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission};
    use chrono::TimeZone;

    fn business() -> Ruleset {
        let text = crate::rules::DEFAULT_TOML.replace(
            "[sla]\nhot = \"15m\"\nwarm = \"2h\"\ncold = \"24h\"\n",
            r#"[sla]
hot = "15m"
warm = "2h"
cold = "1d"
clock = "business"
calendar = "emea"
warn_at_percent = 80
reassign_after = "30m"

[[sla.policies]]
name = "enterprise"
when = { account_segment = ["enterprise"] }
hot = "5m"
clock = "wall"

[calendars.emea]
timezone = "Europe/Berlin"
hours = "09:00-17:30"
holidays = ["2026-12-28"]
"#,
        );
        Ruleset::parse_toml(&text).unwrap()
    }

    fn lead(json: &str) -> Lead {
        LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), chrono::Utc::now()).unwrap()
    }

    fn berlin(d: u32, h: u32, m: u32) -> Timestamp {
        chrono_tz::Europe::Berlin.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap().with_timezone(&chrono::Utc)
    }

    #[test]
    fn a_lead_captured_late_on_friday_is_due_at_the_right_minute_on_monday() {
        let r = business();
        let l = lead(r#"{"email":"a@corp.example"}"#);
        let friday_night = berlin(4, 23, 0);
        let terms = r.sla_terms(&l, Priority::Cold, None, 0, friday_night);
        assert_eq!(terms.due_at, berlin(7, 17, 30), "one working day: Monday 09:00–17:30");
        assert_eq!(
            (terms.clock, terms.calendar.as_deref(), terms.policy.as_str()),
            (SlaClock::Business, Some("emea"), "default")
        );
        assert_eq!(terms.warn_at, Some(berlin(7, 15, 48)), "80% of 8.5 working hours");
        assert_eq!(terms.reassign_at, Some(berlin(8, 9, 30)), "30 working minutes after the breach: Tuesday morning");
        let hot = r.sla_terms(&l, Priority::Hot, None, 0, friday_night);
        assert_eq!(hot.due_at, berlin(7, 9, 15));
        let before_holiday = r.sla_terms(&l, Priority::Warm, None, 0, berlin(24, 17, 0));
        assert_eq!(before_holiday.due_at, berlin(25, 10, 30), "the 25th is a working day in this calendar");
        let over_holiday = r.sla_terms(&l, Priority::Warm, None, 0, berlin(25, 17, 0));
        assert_eq!(over_holiday.due_at, berlin(29, 10, 30), "the weekend and the 28th are not working days");
    }

    #[test]
    fn the_first_matching_policy_overrides_the_base_and_the_decision_names_it() {
        let r = business();
        let mut l = lead(r#"{"email":"a@corp.example","country":"US"}"#);
        l.account = Some(crate::Account {
            account_id: "acc".into(),
            name: "Big".into(),
            domain: "corp.example".into(),
            owner: None,
            segment: Some("enterprise".into()),
            tier: None,
            open_deal: false,
            domains: Vec::new(),
        });
        let now = berlin(4, 23, 0);
        let terms = r.sla_terms(&l, Priority::Hot, None, 0, now);
        assert_eq!(
            (terms.policy.as_str(), terms.clock, terms.due_at),
            ("enterprise", SlaClock::Wall, now + chrono::Duration::minutes(5))
        );
        let d = crate::rules::engine::plan(&r, &l).decide(&l, 1, 0, &|_| None, now);
        assert_eq!(d.sla.as_ref().map(|t| t.due_at), Some(d.first_touch_due_at));
    }

    #[test]
    fn sla_problems_name_their_field() {
        let mut r = business();
        r.sla.calendar = Some("apac".into());
        r.sla.warn_at_percent = Some(120);
        r.sla.reassign_after = Some("soon".into());
        r.sla.policies[0].pools = vec!["nowhere".into()];
        r.calendars.get_mut("emea").unwrap().hours = "9-17".into();
        let fields: Vec<String> = r.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        for expected in [
            "sla.calendar",
            "sla.warn_at_percent",
            "sla.reassign_after",
            "sla.policies[0].pools[0]",
            "calendars.emea.hours",
        ] {
            assert!(fields.iter().any(|f| f == expected), "missing {expected} in {fields:?}");
        }
        let mut r = business();
        r.sla.calendar = None;
        let fields: Vec<String> = r.validate().unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["sla.calendar"], "a business clock needs a calendar");
    }
}
