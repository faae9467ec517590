//! Conditions on a lead. Every listed field must match (AND); within a list, any value may
//! (OR). Text compares case-insensitively; an empty condition matches every lead.

use serde::{Deserialize, Serialize};

use crate::normalize::{Department, Seniority};
use crate::{Lead, Priority};

/// A condition, written in a ruleset as `when = { country = ["DE", "AT"], seniority = ["vp"] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub country: Vec<String>,
    /// ISO 3166-2 codes, such as `US-CA`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region: Vec<String>,
    /// Postal code prefixes, such as `80` or `SW1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postal_prefix: Vec<String>,
    /// Size bands: `1-10`, `11-50`, `51-200`, `201-1000`, `1001-5000`, `5001+`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub size_band: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_employees: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_employees: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seniority: Vec<Seniority>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub department: Vec<Department>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_interest: Vec<String>,
    /// Text the page URL contains, such as `/pricing` (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_url_contains: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utm_source: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utm_medium: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utm_campaign: Vec<String>,
    /// The capture key (form or integration) the lead came through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_id: Vec<String>,
    /// The email's domain, such as a competitor's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_domain: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_phone: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_account: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_tier: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_segment: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_deal: Option<bool>,
    /// Custom attributes that must be `true` (or `"true"`), such as `in_sequence` from a CRM sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribute_true: Vec<String>,
    /// The person was contacted within this long before the submission (`14d`, `48h`), by the
    /// `last_contacted_at` attribute (RFC 3339) an integration sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacted_within: Option<String>,
    /// Postal code ranges, such as `10000-14999` (codes of the range's length compared as text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postal_range: Vec<String>,
    /// Only in disqualifiers and routing rules (after scoring).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<Priority>,
}

fn any_text(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l.eq_ignore_ascii_case(v.trim())))
}

/// A postal range's two ends, upper-cased, of one length.
fn postal_range(text: &str) -> Option<(String, String)> {
    let (from, to) = text.split_once('-')?;
    let (from, to) = (from.trim().to_ascii_uppercase(), to.trim().to_ascii_uppercase());
    (!from.is_empty() && from.len() == to.len() && from <= to).then_some((from, to))
}

fn flag(expected: Option<bool>, actual: bool) -> bool {
    expected.is_none_or(|e| e == actual)
}

impl When {
    /// Whether the condition has no criteria (and so matches every lead).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Problems a person must fix: unknown country codes, an inverted employee range.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(bad) = self.country.iter().find(|c| rust_iso3166::from_alpha2(&c.to_uppercase()).is_none()) {
            return Err(format!("country `{bad}` is not an ISO 3166-1 alpha-2 code"));
        }
        const BANDS: [&str; 6] = ["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5001+"];
        if let Some(bad) = self.size_band.iter().find(|b| !BANDS.contains(&b.as_str())) {
            return Err(format!("size_band `{bad}` is not one of {}", BANDS.join(", ")));
        }
        if let Some(window) = &self.contacted_within {
            super::parse_duration(window).map_err(|e| format!("contacted_within: {e}"))?;
        }
        if let Some(bad) = self.postal_range.iter().find(|r| postal_range(r).is_none()) {
            return Err(format!("postal_range `{bad}` is not like 10000-14999 (two codes of one length)"));
        }
        if let (Some(min), Some(max)) = (self.min_employees, self.max_employees)
            && min > max
        {
            return Err(format!("min_employees {min} is above max_employees {max}"));
        }
        Ok(())
    }

    /// Whether `lead` (with `priority`, once scored) meets every criterion.
    pub fn matches(&self, lead: &Lead, priority: Option<Priority>) -> bool {
        let account = lead.account.as_ref();
        any_text(&self.country, lead.country.as_deref())
            && any_text(&self.region, lead.region.as_deref())
            && (self.postal_prefix.is_empty()
                || lead.postal_code.as_deref().is_some_and(|p| {
                    let p = p.replace(' ', "").to_ascii_uppercase();
                    self.postal_prefix.iter().any(|prefix| p.starts_with(&prefix.replace(' ', "").to_ascii_uppercase()))
                }))
            && any_text(&self.size_band, lead.enrichment.size_band.as_deref())
            && self.min_employees.is_none_or(|min| lead.employee_count.is_some_and(|n| n >= min))
            && self.max_employees.is_none_or(|max| lead.employee_count.is_some_and(|n| n <= max))
            && (self.seniority.is_empty() || lead.enrichment.seniority.is_some_and(|s| self.seniority.contains(&s)))
            && (self.department.is_empty() || lead.enrichment.department.is_some_and(|d| self.department.contains(&d)))
            && any_text(&self.form_type, lead.source.form_type.as_deref())
            && any_text(&self.product_interest, lead.product_interest.as_deref())
            && (self.page_url_contains.is_empty()
                || lead.source.page_url.as_deref().is_some_and(|url| {
                    let url = url.to_ascii_lowercase();
                    self.page_url_contains.iter().any(|part| url.contains(&part.to_ascii_lowercase()))
                }))
            && any_text(&self.utm_source, lead.source.utm_source.as_deref())
            && any_text(&self.utm_medium, lead.source.utm_medium.as_deref())
            && any_text(&self.utm_campaign, lead.source.utm_campaign.as_deref())
            && any_text(&self.key_id, lead.source.key_id.as_deref())
            // A rule may name an internationalized domain either way (`bücher.de`, `xn--bcher-kva.de`).
            && (any_text(&self.email_domain, lead.email.as_ref().map(|e| e.domain()))
                || any_text(&self.email_domain, lead.email.as_ref().map(|e| e.domain_unicode()).as_deref()))
            && flag(self.has_email, lead.email.is_some())
            && flag(self.personal_email, lead.enrichment.personal_email)
            && flag(self.has_phone, lead.phone.is_some())
            && flag(self.has_account, account.is_some())
            && any_text(&self.account_tier, account.and_then(|a| a.tier.as_deref()))
            && any_text(&self.account_segment, account.and_then(|a| a.segment.as_deref()))
            && flag(self.open_deal, account.is_some_and(|a| a.open_deal))
            && (self.priority.is_empty() || priority.is_some_and(|p| self.priority.contains(&p)))
            && self.attribute_true.iter().all(|name| {
                matches!(lead.attributes.get(name), Some(serde_json::Value::Bool(true)))
                    || lead
                        .attributes
                        .get(name)
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            })
            && self.contacted_within.as_deref().is_none_or(|window| {
                let contacted = lead
                    .attributes
                    .get("last_contacted_at")
                    .and_then(|v| v.as_str())
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                match (contacted, super::parse_duration(window)) {
                    (Some(at), Ok(window)) => lead.captured_at - at.to_utc() <= window,
                    _ => false,
                }
            })
            && (self.postal_range.is_empty()
                || lead.postal_code.as_deref().is_some_and(|code| {
                    let code = code.replace(' ', "").to_ascii_uppercase();
                    self.postal_range.iter().filter_map(|r| postal_range(r)).any(|(from, to)| {
                        code.len() == from.len() && from.as_str() <= code.as_str() && code.as_str() <= to.as_str()
                    })
                }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission};

    fn lead(json: &str) -> Lead {
        LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), chrono::Utc::now()).unwrap()
    }

    fn when(toml_text: &str) -> When {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn every_criterion_must_match_and_any_value_in_a_list_may() {
        let l = lead(
            r#"{"email":"cto@acme.example","job_title":"CTO","country":"Germany","postal_code":"80331","employee_count":300}"#,
        );
        assert!(when(r#"country = ["de", "AT"]"#).matches(&l, None));
        assert!(
            when(
                r#"country = ["DE"]
                         seniority = ["c_level", "vp"]
                         size_band = ["201-1000"]
                         postal_prefix = ["80"]"#
            )
            .matches(&l, None)
        );
        assert!(
            !when(
                r#"country = ["DE"]
                          department = ["sales"]"#
            )
            .matches(&l, None)
        );
        assert!(!when(r#"min_employees = 500"#).matches(&l, None));
        assert!(when(r#"priority = ["hot"]"#).matches(&l, Some(Priority::Hot)));
        assert!(!when(r#"priority = ["hot"]"#).matches(&l, None));
        assert!(When::default().matches(&l, None));
    }

    #[test]
    fn a_criterion_on_a_missing_value_does_not_match() {
        let l = lead(r#"{"email":"a@corp.example"}"#);
        assert!(!when(r#"country = ["DE"]"#).matches(&l, None));
        assert!(!when(r#"has_account = true"#).matches(&l, None));
        assert!(when(r#"has_account = false"#).matches(&l, None));
    }

    #[test]
    fn postal_ranges_sequences_and_recent_contact_match() {
        let l = lead(
            r#"{"email":"a@corp.example","postal_code":"12345","attributes":{"in_sequence":true,
                "last_contacted_at":"2000-01-01T00:00:00Z"}}"#,
        );
        assert!(when(r#"postal_range = ["10000-14999"]"#).matches(&l, None));
        assert!(!when(r#"postal_range = ["20000-29999", "1000-1499"]"#).matches(&l, None));
        assert!(when(r#"attribute_true = ["in_sequence"]"#).matches(&l, None));
        let on_pricing =
            lead(r#"{"email":"a@corp.example","source":{"page_url":"https://x.example/Pricing?plan=pro"}}"#);
        assert!(when(r#"page_url_contains = ["/pricing"]"#).matches(&on_pricing, None));
        assert!(!when(r#"page_url_contains = ["/docs"]"#).matches(&on_pricing, None));
        assert!(!when(r#"attribute_true = ["vip"]"#).matches(&l, None));
        assert!(!when(r#"contacted_within = "30d""#).matches(&l, None), "contacted long ago");
        let recent = format!(
            r#"{{"email":"a@corp.example","attributes":{{"last_contacted_at":"{}"}}}}"#,
            (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339()
        );
        assert!(when(r#"contacted_within = "30d""#).matches(&lead(&recent), None));
    }

    #[test]
    fn bad_conditions_are_explained() {
        assert!(when(r#"postal_range = ["9-100"]"#).validate().is_err());
        assert!(when(r#"contacted_within = "soon""#).validate().is_err());
        assert!(when(r#"country = ["XX"]"#).validate().unwrap_err().contains("`XX`"));
        assert!(when("min_employees = 10\nmax_employees = 5").validate().is_err());
        assert!(toml::from_str::<When>(r#"contry = ["DE"]"#).is_err());
    }
}
