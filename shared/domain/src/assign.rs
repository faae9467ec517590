//! The routing table: ordered rules, first match wins, and a fallback owner so no lead is unowned.

use serde::{Deserialize, Serialize};

use crate::{Lead, Priority, Score};

/// Someone (a rep, or a queue with a responsible person) who can own a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Stable id, such as a CRM user id.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl Owner {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self { id: id.into(), name: name.into() }
    }
}

/// One routing rule. Empty criteria match everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    /// Recorded on the decision so people can see which rule matched.
    pub name: String,
    /// ISO 3166-1 alpha-2 codes; the lead's country is compared case-insensitively.
    #[serde(default)]
    pub countries: Vec<String>,
    /// The lowest priority this rule takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_priority: Option<Priority>,
    pub owner: Owner,
}

impl RoutingRule {
    fn matches(&self, lead: &Lead, score: &Score) -> bool {
        let country_ok = self.countries.is_empty()
            || lead.country.as_deref().is_some_and(|c| self.countries.iter().any(|r| r.eq_ignore_ascii_case(c.trim())));
        let priority_ok = self.min_priority.is_none_or(|min| score.priority >= min);
        country_ok && priority_ok
    }
}

/// The owner chosen for a lead and the rule that chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub owner: Owner,
    pub rule: String,
}

/// The name recorded when no rule matched and the fallback owner took the lead.
pub const FALLBACK_RULE: &str = "fallback";

/// Ordered rules and the owner of everything no rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingTable {
    pub rules: Vec<RoutingRule>,
    pub fallback: Owner,
}

impl RoutingTable {
    /// The first matching rule's owner, or the fallback owner. Never fails: every lead gets an owner.
    pub fn assign(&self, lead: &Lead, score: &Score) -> Assignment {
        self.rules
            .iter()
            .find(|rule| rule.matches(lead, score))
            .map(|rule| Assignment { owner: rule.owner.clone(), rule: rule.name.clone() })
            .unwrap_or_else(|| Assignment { owner: self.fallback.clone(), rule: FALLBACK_RULE.to_owned() })
    }

    /// The starter table a new installation runs with: two territories and a fallback queue.
    pub fn starter() -> Self {
        let eu = ["DE", "AT", "CH", "FR", "GB", "IE", "NL", "BE", "ES", "IT", "SE", "DK", "NO", "FI", "PL"];
        Self {
            rules: vec![
                RoutingRule {
                    name: "north-america".into(),
                    countries: vec!["US".into(), "CA".into()],
                    min_priority: None,
                    owner: Owner::new("rep-avery", "Avery Chen"),
                },
                RoutingRule {
                    name: "europe".into(),
                    countries: eu.iter().map(|c| (*c).to_owned()).collect(),
                    min_priority: None,
                    owner: Owner::new("rep-jonas", "Jonas Weber"),
                },
            ],
            fallback: Owner::new("queue-inbound", "Inbound queue (Sam Rivera)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission, score};

    fn lead(country: Option<&str>) -> Lead {
        let mut lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
        lead.country = country.map(str::to_owned);
        lead
    }

    #[test]
    fn a_lead_in_a_territory_goes_to_its_owner() {
        let l = lead(Some("de"));
        let a = RoutingTable::starter().assign(&l, &score(&l));
        assert_eq!((a.owner.id.as_str(), a.rule.as_str()), ("rep-jonas", "europe"));
    }

    #[test]
    fn a_lead_no_rule_matches_goes_to_the_fallback_owner() {
        for country in [None, Some("JP"), Some("")] {
            let l = lead(country);
            let a = RoutingTable::starter().assign(&l, &score(&l));
            assert_eq!((a.owner.id.as_str(), a.rule.as_str()), ("queue-inbound", FALLBACK_RULE));
        }
    }

    #[test]
    fn a_rule_with_a_minimum_priority_skips_colder_leads() {
        let table = RoutingTable {
            rules: vec![RoutingRule {
                name: "hot-only".into(),
                countries: vec![],
                min_priority: Some(Priority::Hot),
                owner: Owner::new("closer", "Closer"),
            }],
            fallback: Owner::new("fb", "Fallback"),
        };
        let l = lead(Some("US"));
        assert_eq!(table.assign(&l, &score(&l)).rule, FALLBACK_RULE);
    }

    #[test]
    fn an_empty_table_still_owns_every_lead() {
        let table = RoutingTable { rules: vec![], fallback: Owner::new("fb", "Fallback") };
        let l = lead(Some("US"));
        assert_eq!(table.assign(&l, &score(&l)).owner.id, "fb");
    }
}
