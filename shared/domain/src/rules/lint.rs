//! Warnings about a valid ruleset that probably does not do what its author meant: rules that
//! another rule before them always beats (shadowed) or that can match the same leads (overlap),
//! members no lead can reach, pools with nobody on at some hour of the week, and countries that
//! no routing rule covers (their leads reach only the fallback).
//!
//! Routing takes the first rule that matches, so a rule is shadowed when an earlier rule
//! matches every lead it matches. Conditions are compared field by field: an earlier rule
//! covers a later one when, for every field it constrains, the later rule constrains it at least
//! as narrowly.

use serde::Serialize;
use serde_json::Value;

use super::pool;
use super::{RoutingRule, Ruleset, Strategy};

/// One warning: what is wrong, and where (the ruleset's field path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `shadowed`, `overlap`, `unreachable_member`, `uncovered_hours`, `uncovered_countries`.
    pub kind: &'static str,
    /// The field path, such as `routing[3]` or `pools.europe.members[1]`.
    pub field: String,
    pub message: String,
}

fn conditions(rule: &RoutingRule) -> serde_json::Map<String, Value> {
    match serde_json::to_value(&rule.when) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn lower(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_lowercase)
}

/// Whether every lead matching `b` on field `name` also matches `a` on it.
fn covers_field(name: &str, a: &Value, b: Option<&Value>) -> bool {
    let Some(b) = b else { return false };
    match (name, a, b) {
        ("min_employees", Value::Number(a), Value::Number(b)) => a.as_u64() <= b.as_u64(),
        ("max_employees", Value::Number(a), Value::Number(b)) => a.as_u64() >= b.as_u64(),
        // Every listed attribute must be true: fewer required cover more leads.
        ("attribute_true", Value::Array(a), Value::Array(b)) => a.iter().all(|av| b.contains(av)),
        // Ranges are compared as written: only the same ranges are known to cover.
        ("postal_range", Value::Array(a), Value::Array(b)) => b.iter().all(|bv| a.contains(bv)),
        (_, Value::Array(a), Value::Array(b)) => b.iter().all(|bv| {
            let bv = lower(bv);
            a.iter().map(lower).any(|av| match name {
                "postal_prefix" => bv.starts_with(&av),
                "page_url_contains" => bv.contains(&av),
                _ => av == bv,
            })
        }),
        _ => a == b,
    }
}

/// Whether some lead can match both `a` and `b` on field `name` (both constrain it).
fn meets_field(name: &str, a: &Value, b: &Value) -> bool {
    match (name, a, b) {
        ("min_employees" | "max_employees", _, _) => true,
        ("postal_prefix" | "page_url_contains" | "postal_range" | "attribute_true", _, _) => true,
        (_, Value::Array(a), Value::Array(b)) => {
            let b: Vec<String> = b.iter().map(lower).collect();
            a.iter().map(lower).any(|av| b.contains(&av))
        }
        _ => a == b,
    }
}

fn range_meets(a: &serde_json::Map<String, Value>, b: &serde_json::Map<String, Value>) -> bool {
    let n = |m: &serde_json::Map<String, Value>, k: &str| m.get(k).and_then(Value::as_u64);
    let low = n(a, "min_employees").max(n(b, "min_employees")).unwrap_or(0);
    let high = match (n(a, "max_employees"), n(b, "max_employees")) {
        (Some(x), Some(y)) => x.min(y),
        (x, y) => x.or(y).unwrap_or(u64::MAX),
    };
    low <= high
}

/// Every warning for `ruleset`, in the order of the ruleset.
pub fn lint(ruleset: &Ruleset) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let rules: Vec<_> = ruleset.routing.iter().map(|r| (r, conditions(r))).collect();
    let mut shadowed = vec![false; rules.len()];
    for (j, (later, b)) in rules.iter().enumerate() {
        for (i, (earlier, a)) in rules.iter().enumerate().take(j) {
            // An account-owner rule steps aside for leads without an account owner.
            let always_takes = !earlier.account_owner;
            if always_takes && a.iter().all(|(k, v)| covers_field(k, v, b.get(k))) {
                warnings.push(Warning {
                    kind: "shadowed",
                    field: format!("routing[{j}]"),
                    message: format!(
                        "rule `{}` never decides: `{}` (routing[{i}]) comes first and matches every lead it matches",
                        later.name, earlier.name
                    ),
                });
                shadowed[j] = true;
                break;
            }
            let meets = a.iter().all(|(k, v)| b.get(k).is_none_or(|w| meets_field(k, v, w))) && range_meets(a, b);
            let routes_elsewhere = earlier.pool != later.pool || earlier.owner != later.owner;
            // An account-owner rule before a territory rule is the usual design: no warning.
            if meets && routes_elsewhere && always_takes && !a.is_empty() && !b.is_empty() {
                warnings.push(Warning {
                    kind: "overlap",
                    field: format!("routing[{j}]"),
                    message: format!(
                        "rules `{}` (routing[{i}]) and `{}` can match the same leads; `{}` wins them",
                        earlier.name, later.name, earlier.name
                    ),
                });
            }
        }
    }

    for (name, p) in &ruleset.pools {
        // (A pool no rule names is refused by validation; one whose rules are all shadowed is not.)
        let reached =
            ruleset.routing.iter().zip(&shadowed).any(|(r, s)| !s && r.pool.as_deref() == Some(name.as_str()));
        if !reached {
            for (k, m) in p.members.iter().enumerate() {
                warnings.push(Warning {
                    kind: "unreachable_member",
                    field: format!("pools.{name}.members[{k}]"),
                    message: format!(
                        "{} ({}) is never reached: every rule sending leads to pool `{name}` is shadowed",
                        m.name, m.id
                    ),
                });
            }
            continue;
        }
        for (k, m) in p.members.iter().enumerate() {
            let why = if m.paused {
                Some("is paused".to_owned())
            } else if p.strategy == Strategy::Weighted && m.weight == 0 {
                None // a weight of 0 counts as 1
            } else if m.max_new_per_day == Some(0) || m.max_open == Some(0) {
                Some("has a cap of 0".to_owned())
            } else {
                None
            };
            if let Some(why) = why {
                warnings.push(Warning {
                    kind: "unreachable_member",
                    field: format!("pools.{name}.members[{k}]"),
                    message: format!("{} ({}) {why}: no lead can reach them", m.name, m.id),
                });
            }
        }
        let off: Vec<usize> = (0..168).filter(|h| !p.members.iter().any(|m| pool::works_in_hour(m, *h))).collect();
        if !off.is_empty() {
            warnings.push(Warning {
                kind: "uncovered_hours",
                field: format!("pools.{name}"),
                message: format!(
                    "pool `{name}` has nobody on for {} hour(s) of the week (UTC): {}; its leads then go to the fallback",
                    off.len(),
                    hour_ranges(&off)
                ),
            });
        }
    }

    let catch_all = ruleset.routing.iter().any(|r| conditions(r).is_empty() && !r.account_owner);
    if !catch_all && !ruleset.routing.is_empty() {
        let covered: Vec<String> = ruleset
            .routing
            .iter()
            .filter(|r| !r.account_owner)
            .flat_map(|r| r.when.country.iter().map(|c| c.to_uppercase()))
            .collect();
        let without_country = ruleset.routing.iter().any(|r| !r.account_owner && r.when.country.is_empty());
        if !without_country {
            let uncovered: Vec<&str> =
                rust_iso3166::ALL.iter().map(|c| c.alpha2).filter(|c| !covered.iter().any(|k| k == c)).collect();
            if !uncovered.is_empty() {
                let shown: Vec<&str> = uncovered.iter().take(12).copied().collect();
                warnings.push(Warning {
                    kind: "uncovered_countries",
                    field: "routing".into(),
                    message: format!(
                        "{} countries are covered by no routing rule and reach only the fallback: {}{}",
                        uncovered.len(),
                        shown.join(", "),
                        if uncovered.len() > shown.len() { ", …" } else { "" }
                    ),
                });
            }
        }
    }
    warnings
}

/// `Mon 00:00–09:00, Sat 00:00–Mon 00:00` for hours of the week.
fn hour_ranges(hours: &[usize]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &h in hours {
        match ranges.last_mut() {
            Some((_, end)) if *end == h => *end = h + 1,
            _ => ranges.push((h, h + 1)),
        }
    }
    // The week wraps: a range ending Monday 00:00 joins one starting then.
    if ranges.len() > 1 && ranges[0].0 == 0 && ranges[ranges.len() - 1].1 == 168 {
        let (_, first_end) = ranges.remove(0);
        ranges.last_mut().expect("more than one").1 = 168 + first_end;
    }
    let ranges: Vec<String> =
        ranges.iter().map(|(a, b)| format!("{}–{}", pool::hour_label(*a), pool::hour_label(*b))).collect();
    ranges.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(&'static str, String)> {
        lint(&Ruleset::parse_toml(text).unwrap()).into_iter().map(|w| (w.kind, w.field)).collect()
    }

    const BASE: &str = r#"
name = "t"
fallback = { id = "queue", name = "Queue" }
[scoring]
hot_at = 60
warm_at = 30
criteria = [{ reason = "asked for a demo", kind = "intent", points = 40, when = { form_type = ["demo_request"] } }]
"#;

    #[test]
    fn a_rule_behind_a_broader_one_is_shadowed_and_crossing_rules_overlap() {
        let text = format!(
            r#"{BASE}
[[routing]]
name = "na"
when = {{ country = ["US", "CA"] }}
pool = "a"
[[routing]]
name = "us-enterprise"
when = {{ country = ["us"], min_employees = 1000 }}
pool = "b"
[[routing]]
name = "demo"
when = {{ form_type = ["demo_request"] }}
pool = "b"
[[routing]]
name = "rest"
pool = "b"
[pools.a]
members = [{{ id = "r1", name = "R1" }}]
[pools.b]
members = [{{ id = "r2", name = "R2" }}]
"#
        );
        let found = kinds(&text);
        assert!(found.contains(&("shadowed", "routing[1]".into())), "{found:?}");
        assert!(found.contains(&("overlap", "routing[2]".into())), "na and demo can both match: {found:?}");
        assert!(!found.contains(&("shadowed", "routing[2]".into())));
        assert!(!found.iter().any(|(k, _)| *k == "uncovered_countries"), "`rest` catches everything");
    }

    #[test]
    fn unreachable_members_uncovered_hours_and_countries_are_named() {
        let text = format!(
            r#"{BASE}
[[routing]]
name = "de"
when = {{ country = ["DE"] }}
pool = "day"
[pools.day]
members = [
  {{ id = "r1", name = "R1", timezone = "UTC", hours = "09:00-17:00", days = ["mon", "tue", "wed", "thu", "fri"] }},
  {{ id = "r2", name = "R2", paused = true }},
]
[[routing]]
name = "de-again"
when = {{ country = ["DE"] }}
pool = "unused"
[pools.unused]
members = [{{ id = "r3", name = "R3" }}]
"#
        );
        let warnings = lint(&Ruleset::parse_toml(&text).unwrap());
        let found: Vec<_> = warnings.iter().map(|w| (w.kind, w.field.as_str())).collect();
        assert!(found.contains(&("unreachable_member", "pools.day.members[1]")), "{found:?}");
        assert!(found.contains(&("unreachable_member", "pools.unused.members[0]")), "{found:?}");
        let hours = warnings.iter().find(|w| w.kind == "uncovered_hours").expect("nights and weekends");
        assert!(hours.message.contains("128 hour(s)"), "{}", hours.message);
        assert!(hours.message.contains("Fri 17:00–Mon 09:00"), "{}", hours.message);
        let countries = warnings.iter().find(|w| w.kind == "uncovered_countries").expect("only DE is covered");
        assert!(countries.message.starts_with(&format!("{} countries", rust_iso3166::ALL.len() - 1)));
    }

    #[test]
    fn attributes_that_must_all_be_true_shadow_only_a_rule_that_asks_for_more() {
        let text = format!(
            r#"{BASE}
[[routing]]
name = "both"
when = {{ attribute_true = ["in_sequence", "vip"] }}
pool = "a"
[[routing]]
name = "seq"
when = {{ attribute_true = ["in_sequence"] }}
pool = "b"
[[routing]]
name = "seq-vip-us"
when = {{ attribute_true = ["vip", "in_sequence", "trial"] }}
pool = "b"
[pools.a]
members = [{{ id = "r1", name = "R1" }}]
[pools.b]
members = [{{ id = "r2", name = "R2" }}]
"#
        );
        let found = kinds(&text);
        assert!(!found.contains(&("shadowed", "routing[1]".into())), "`seq` takes leads `both` does not: {found:?}");
        assert!(found.contains(&("shadowed", "routing[2]".into())), "{found:?}");
        assert!(found.contains(&("overlap", "routing[1]".into())), "{found:?}");
    }

    #[test]
    fn the_default_ruleset_lints_without_shadowed_rules() {
        let warnings = lint(&Ruleset::default_ruleset());
        assert!(!warnings.iter().any(|w| w.kind == "shadowed"), "{warnings:#?}");
    }
}
