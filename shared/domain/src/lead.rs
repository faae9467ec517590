//! The lead record and the validated value types it is made of.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

use crate::{Decision, Timestamp};

/// A lead's identifier: a UUID (v4) in its hyphenated text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeadId(String);

impl LeadId {
    /// A fresh random identifier.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Parses a lead id; fails unless `raw` is a UUID.
    pub fn parse(raw: &str) -> Result<Self, String> {
        uuid::Uuid::parse_str(raw.trim())
            .map(|u| Self(u.hyphenated().to_string()))
            .map_err(|_| format!("`{raw}` is not a lead id (expected a UUID)"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LeadId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LeadId> for String {
    fn from(value: LeadId) -> Self {
        value.0
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed and lower-cased, with its basic syntax checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses an address; the error says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err("is empty".into());
        }
        if value.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains spaces or control characters".into());
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err("has no `@`".into());
        };
        if local.is_empty() {
            return Err("has nothing before the `@`".into());
        }
        if domain.contains('@') {
            return Err("has more than one `@`".into());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err(format!("has an invalid domain `{domain}`"));
        }
        Ok(Self(value))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A phone number in E.164 form (`+14155550100`), or its digits when no country was known to
/// resolve a national number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a number written in any common style, without a country (so national numbers
    /// stay digits). See [`Phone::parse_in`].
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::parse_in(raw, None).map(|(p, _)| p)
    }

    /// Parses a number using `country` (ISO alpha-2) for national numbers; returns the phone and
    /// the rule that normalized it.
    pub fn parse_in(raw: &str, country: Option<&str>) -> Result<(Self, String), String> {
        let parsed = crate::normalize::phone(raw, country)?;
        Ok((Self(parsed.value), parsed.rule))
    }

    /// The normalized number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let stored = value.strip_prefix('+').unwrap_or(&value);
        if stored.is_empty() || !stored.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{value}` is not a normalized phone number"));
        }
        Ok(Self(value))
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

/// The most touchpoints a lead keeps; older ones are dropped (the count in `submissions` stays).
pub const MAX_TOUCHPOINTS: usize = 50;

/// The most bytes (as JSON) a lead's touchpoints may take; older ones are dropped beyond it.
pub const MAX_TOUCHPOINT_BYTES: usize = 96 * 1024;

fn one() -> u32 {
    1
}

/// Where a lead stands in its journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Stored, waiting to be qualified and assigned.
    Captured,
    /// Has an owner; the first-touch clock is running.
    Assigned,
    /// The first touch was not made in time and the breach was escalated.
    Escalated,
    /// The owner made the first touch.
    Touched,
    /// A bot filled the form's honeypot: kept for inspection, never routed.
    Spam,
    /// Not ready for sales: recorded for nurture, not assigned to a rep.
    Nurture,
    /// Not a sales lead (by an explicit disqualifier).
    Disqualified,
}

impl LeadStatus {
    /// The stored name, such as `assigned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Captured => "captured",
            Self::Assigned => "assigned",
            Self::Escalated => "escalated",
            Self::Touched => "touched",
            Self::Spam => "spam",
            Self::Nurture => "nurture",
            Self::Disqualified => "disqualified",
        }
    }
}

/// Where a lead came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Source {
    /// The form or integration that submitted the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_id: Option<String>,
    /// What the form asks for: `demo_request`, `contact_sales`, `content_download`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_type: Option<String>,
    /// The page the form was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
    /// The page that linked to the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// When the form says it was filled in (the submitter's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Timestamp>,
    /// The capture key (form or integration) the submission came through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// What the person agreed to, and how it was asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Consent {
    pub granted: bool,
    /// What the consent is for, such as `marketing_email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The version of the wording shown next to the checkbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording_version: Option<String>,
    pub at: Timestamp,
    /// The submitter's IP address (the request's, unless the integration says otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// What Baton derived from the submitted values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Enrichment {
    /// The company name without legal form or punctuation, for matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_key: Option<String>,
    /// The company's domain, from the website or else a business email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_domain: Option<String>,
    /// The email is at a free-mail provider.
    #[serde(default)]
    pub personal_email: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seniority: Option<crate::normalize::Seniority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<crate::normalize::Department>,
    /// The company size band (`1-10`, `11-50`, `51-200`, `201-1000`, `1001-5000`, `5001+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_band: Option<String>,
}

/// One submission that reached this lead: the first capture and every later duplicate merged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touchpoint {
    pub at: Timestamp,
    #[serde(default)]
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

/// A matched account, carried on the lead as routing context: the account record as imported.
pub type AccountMatch = crate::Account;

/// A lead as Baton stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    /// Where the lead stands, with what that stage has (stored flat: `status`, `decision`,
    /// `touched_at`, `escalated_at`).
    #[serde(flatten)]
    pub stage: crate::Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 3166-2 where resolvable, otherwise as submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// The company size as submitted (a band such as `51-200`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_count: Option<u32>,
    /// The product line the person is interested in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_interest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default)]
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// Custom fields (strings, numbers, booleans), bounded by the contract.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub enrichment: Enrichment,
    /// Every change made to the submitted values, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub normalized: Vec<crate::normalize::Normalization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountMatch>,
    /// The most recent submissions (at most [`MAX_TOUCHPOINTS`]), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touchpoints: Vec<Touchpoint>,
    /// How many submissions reached this lead in all.
    #[serde(default = "one")]
    pub submissions: u32,
    pub captured_at: Timestamp,
    /// Earlier decisions, oldest first: a nurture decision is kept here when a new submission
    /// sends the lead back to routing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_decisions: Vec<Decision>,
    /// What the owner did with the lead, oldest first (at most [`crate::touch::MAX_TOUCHES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touches: Vec<crate::touch::Touch>,
    /// Events recorded with the write that made them true and not yet published (touches,
    /// escalations): the lead waits ([`crate::WaitKind::Announce`]) until each is out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<crate::Announcement>,
    /// Set while the sweep is backing off a lead it could not handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferral: Option<crate::stage::Deferral>,
    /// Notifications that could not be delivered (one per event and channel), for someone to fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_failures: Vec<crate::NotificationFailure>,
}

impl Lead {
    /// The key that identifies the person behind the lead for deduplication: the normalized
    /// email, or the phone when there is no email.
    pub fn identity(&self) -> Option<String> {
        self.identities().into_iter().next()
    }

    /// Every key that identifies the person, strongest first: the email, then the phone when it
    /// is in E.164 form (a bare national number could belong to anyone in any country).
    pub fn identities(&self) -> Vec<String> {
        let email = self.email.as_ref().map(|e| format!("email:{}", e.as_str()));
        let phone =
            self.phone.as_ref().filter(|p| p.as_str().starts_with('+')).map(|p| format!("phone:{}", p.as_str()));
        email.into_iter().chain(phone).collect()
    }

    /// Whether `later`, found through a shared phone, is the same person as this lead. Different
    /// email addresses are different people, always: a phone identifies a person only when no
    /// email disagrees (a switchboard or a shared sales line is shared by colleagues).
    pub fn same_person_by_phone(&self, later: &Lead) -> bool {
        match (&self.email, &later.email) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }

    /// This lead with a later submission of the same person merged in: the submission becomes a
    /// touchpoint, fields still empty here are filled from it (and their normalizations kept),
    /// attributes are added where new, and the newest consent applies. Nothing already on the
    /// lead is overwritten, and its status, owner and history are unchanged.
    pub fn merged_with(mut self, later: &Lead) -> Lead {
        fn fill<T: Clone>(slot: &mut Option<T>, from: &Option<T>) -> bool {
            if slot.is_none() && from.is_some() {
                *slot = from.clone();
                return true;
            }
            false
        }
        let mut filled: Vec<&'static str> = Vec::new();
        let mut track = |name: &'static str, changed: bool| {
            if changed {
                filled.push(name);
            }
        };
        track("email", fill(&mut self.email, &later.email));
        track("phone", fill(&mut self.phone, &later.phone));
        track("first_name", fill(&mut self.first_name, &later.first_name));
        track("last_name", fill(&mut self.last_name, &later.last_name));
        track("message", fill(&mut self.message, &later.message));
        track("product_interest", fill(&mut self.product_interest, &later.product_interest));
        if self.job_title.is_none() && later.job_title.is_some() {
            // A title and what it says about the person travel together.
            self.job_title = later.job_title.clone();
            self.enrichment.seniority = later.enrichment.seniority;
            self.enrichment.department = later.enrichment.department;
            filled.extend(["job_title", "seniority", "department"]);
        }
        if self.country.is_none() && later.country.is_some() {
            // A place is taken whole, never a region of one country on another.
            self.country = later.country.clone();
            self.region = later.region.clone();
            self.postal_code = later.postal_code.clone();
            filled.extend(["country", "region", "postal_code"]);
        }
        if self.company.is_none()
            && self.enrichment.company_domain.is_none()
            && self.account.is_none()
            && (later.company.is_some() || later.enrichment.company_domain.is_some())
        {
            // The company, its domain and its account come from one submission, as routing reads them together.
            self.company = later.company.clone();
            self.website = later.website.clone();
            self.enrichment.company_key = later.enrichment.company_key.clone();
            self.enrichment.company_domain = later.enrichment.company_domain.clone();
            self.account = later.account.clone();
            filled.extend(["company", "website", "company_key", "company_domain", "account"]);
        }
        if self.employee_count.is_none() && self.company_size.is_none() {
            self.employee_count = later.employee_count;
            self.company_size = later.company_size.clone();
            self.enrichment.size_band = later.enrichment.size_band.clone();
        }
        self.normalized.extend(later.normalized.iter().filter(|n| filled.contains(&n.field.as_str())).cloned());
        for (k, v) in &later.attributes {
            if self.attributes.len() >= crate::contract::MAX_ATTRIBUTES {
                break; // the per-lead bound holds across merges too
            }
            self.attributes.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if later.consent.is_some() {
            self.consent = later.consent.clone();
        }
        self.touchpoints.extend(later.touchpoints.iter().cloned());
        if self.touchpoints.len() > MAX_TOUCHPOINTS {
            let excess = self.touchpoints.len() - MAX_TOUCHPOINTS;
            self.touchpoints.drain(..excess);
        }
        // Keep the record well inside a stored item's size: drop the oldest touchpoints first.
        while self.touchpoints.len() > 1
            && serde_json::to_vec(&self.touchpoints).map_or(0, |v| v.len()) > MAX_TOUCHPOINT_BYTES
        {
            self.touchpoints.remove(0);
        }
        self.submissions = self.submissions.saturating_add(later.submissions);
        if let crate::Stage::Nurture { decision } = &self.stage {
            // A new submission may re-qualify a nurtured lead: it goes back to routing.
            self.previous_decisions.push(decision.clone());
            self.stage = crate::Stage::Captured;
        }
        self
    }

    /// "First Last", the email, the phone, or the id: the best human label available.
    pub fn display_name(&self) -> String {
        display_name(
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.email.as_ref(),
            self.phone.as_ref(),
            &self.id,
        )
    }
}

/// "First Last", the email, the phone, or the id: the best human label of these.
pub(crate) fn display_name(
    first: Option<&str>,
    last: Option<&str>,
    email: Option<&Email>,
    phone: Option<&Phone>,
    id: &LeadId,
) -> String {
    let name = [first, last].into_iter().flatten().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    if !name.is_empty() {
        return name;
    }
    email
        .map(|e| e.as_str().to_owned())
        .or_else(|| phone.map(|p| p.as_str().to_owned()))
        .unwrap_or_else(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn malformed_emails_say_what_is_wrong() {
        assert_eq!(Email::parse("ada.example.com").unwrap_err(), "has no `@`");
        assert_eq!(Email::parse("@example.com").unwrap_err(), "has nothing before the `@`");
        assert_eq!(Email::parse("ada@localhost").unwrap_err(), "has an invalid domain `localhost`");
        assert_eq!(Email::parse("a b@example.com").unwrap_err(), "contains spaces or control characters");
        assert_eq!(Email::parse("a@b@example.com").unwrap_err(), "has more than one `@`");
        assert_eq!(Email::parse("   ").unwrap_err(), "is empty");
    }

    #[test]
    fn a_phone_becomes_e164_when_it_can() {
        assert_eq!(Phone::parse("+1 (415) 555-2671").unwrap().as_str(), "+14155552671");
        assert_eq!(Phone::parse("030 1234567").unwrap().as_str(), "0301234567");
        assert_eq!(Phone::parse_in("030 1234567", Some("DE")).unwrap().0.as_str(), "+49301234567");
    }

    #[test]
    fn a_stored_phone_reads_back_but_text_does_not() {
        assert_eq!(Phone::try_from("+14155552671".to_owned()).unwrap().as_str(), "+14155552671");
        assert!(Phone::try_from("call me".to_owned()).is_err());
    }

    fn lead(json: &str, at_minute: u32) -> Lead {
        use chrono::TimeZone;
        crate::LeadSubmission::from_json(json.as_bytes())
            .unwrap()
            .into_lead(LeadId::generate(), chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, at_minute, 0).unwrap())
            .unwrap()
    }

    #[test]
    fn the_identity_is_the_email_else_the_phone() {
        assert_eq!(lead(r#"{"email":"A@B.co","phone":"+14155552671"}"#, 0).identity().unwrap(), "email:a@b.co");
        assert_eq!(lead(r#"{"phone":"+14155552671"}"#, 0).identity().unwrap(), "phone:+14155552671");
    }

    #[test]
    fn a_later_submission_fills_gaps_adds_a_touchpoint_and_overwrites_nothing() {
        let first = lead(
            r#"{"email":"ada@corp.example","company":"Corp","attributes":{"plan":"free"},"source":{"utm_source":"ads"}}"#,
            0,
        );
        let later = lead(
            r#"{"email":"ada@corp.example","company":"Other Corp","phone":"+14155552671","job_title":"CTO",
                "attributes":{"plan":"pro","seats":3},"consent":{"granted":true},"source":{"utm_source":"webinar"}}"#,
            5,
        );
        let merged = first.clone().merged_with(&later);
        assert_eq!(merged.id, first.id);
        assert_eq!(merged.company.as_deref(), Some("Corp"), "existing values stay");
        assert_eq!(merged.phone.as_ref().unwrap().as_str(), "+14155552671", "gaps are filled");
        assert_eq!(merged.enrichment.seniority, Some(crate::normalize::Seniority::CLevel));
        assert_eq!(merged.attributes["plan"], "free");
        assert_eq!(merged.attributes["seats"], 3);
        assert!(merged.consent.unwrap().granted, "the newest consent applies");
        let sources: Vec<_> = merged.touchpoints.iter().map(|t| t.source.utm_source.as_deref()).collect();
        assert_eq!(sources, [Some("ads"), Some("webinar")]);
        assert_eq!(merged.submissions, 2);
        assert_eq!(merged.captured_at, first.captured_at);
        assert!(merged.normalized.iter().any(|n| n.field == "seniority"), "the filled field's provenance is kept");
        assert!(!merged.normalized.iter().any(|n| n.from == "Other Corp"), "the ignored value left no provenance");
    }

    #[test]
    fn a_place_and_a_company_are_merged_whole_or_not_at_all() {
        let first = lead(r#"{"email":"a@corp.example","country":"DE"}"#, 0);
        let later = lead(
            r#"{"email":"a@corp.example","country":"US","region":"Virginia","website":"https://other.example"}"#,
            1,
        );
        let merged = first.merged_with(&later);
        assert_eq!(
            (merged.country.as_deref(), merged.region.as_deref()),
            (Some("DE"), None),
            "no US region on a DE lead"
        );
        assert_eq!(
            merged.enrichment.company_domain.as_deref(),
            Some("corp.example"),
            "the company stays the first one's"
        );
        assert_eq!(merged.website, None);
    }

    #[test]
    fn identities_are_the_email_and_an_international_phone() {
        assert_eq!(
            lead(r#"{"email":"a@b.co","phone":"+14155552671"}"#, 0).identities(),
            ["email:a@b.co", "phone:+14155552671"]
        );
        assert!(
            lead(r#"{"phone":"4155552671"}"#, 0).identities().is_empty(),
            "a bare national number identifies nobody"
        );
    }

    #[test]
    fn attributes_stay_bounded_across_merges() {
        let attrs = |from: usize| (from..from + 50).map(|i| format!(r#""k{i}":{i}"#)).collect::<Vec<_>>().join(",");
        let mut l = lead(&format!(r#"{{"email":"a@corp.example","attributes":{{{}}}}}"#, attrs(0)), 0);
        for round in 1..5 {
            l = l.merged_with(&lead(
                &format!(r#"{{"email":"a@corp.example","attributes":{{{}}}}}"#, attrs(round * 50)),
                1,
            ));
        }
        assert_eq!(l.attributes.len(), crate::contract::MAX_ATTRIBUTES);
    }

    #[test]
    fn large_touchpoints_are_dropped_oldest_first_to_bound_the_record() {
        let url = format!("https://example.com/{}", "p".repeat(2000));
        let mut l = lead(r#"{"email":"a@corp.example"}"#, 0);
        let big =
            lead(&format!(r#"{{"email":"a@corp.example","source":{{"page_url":"{url}","referrer":"{url}"}}}}"#), 1);
        for _ in 0..MAX_TOUCHPOINTS {
            l = l.merged_with(&big);
        }
        let bytes = serde_json::to_vec(&l.touchpoints).unwrap().len();
        assert!(bytes <= MAX_TOUCHPOINT_BYTES, "{bytes}");
        assert!(l.touchpoints.len() < MAX_TOUCHPOINTS);
        assert_eq!(l.submissions as usize, MAX_TOUCHPOINTS + 1);
    }

    #[test]
    fn a_new_submission_sends_a_nurtured_lead_back_to_routing_and_keeps_the_old_decision() {
        let first = lead(r#"{"email":"kid@gmail.com","job_title":"Student"}"#, 0);
        let decision = crate::decide(&first, &crate::Ruleset::default_ruleset(), first.captured_at);
        let nurtured = first.assign(decision.clone()).unwrap().lead;
        assert_eq!(nurtured.status(), LeadStatus::Nurture);
        let back = nurtured.merged_with(&lead(r#"{"email":"kid@gmail.com","job_title":"CTO"}"#, 9));
        assert_eq!((back.status(), back.decision()), (LeadStatus::Captured, None));
        assert_eq!(back.previous_decisions, [decision]);
        assert!(back.awaiting().is_some_and(|w| w.kind == crate::WaitKind::Routing));
    }

    #[test]
    fn touchpoints_are_bounded_but_the_count_is_not() {
        let mut l = lead(r#"{"email":"a@corp.example"}"#, 0);
        let again = lead(r#"{"email":"a@corp.example"}"#, 1);
        for _ in 0..MAX_TOUCHPOINTS + 5 {
            l = l.merged_with(&again);
        }
        assert_eq!(l.touchpoints.len(), MAX_TOUCHPOINTS);
        assert_eq!(l.submissions as usize, MAX_TOUCHPOINTS + 6);
    }

    #[test]
    fn different_emails_are_different_people_whatever_the_phone() {
        let ada = lead(r#"{"email":"ada@corp.example","phone":"+14155552671"}"#, 0);
        let bob = lead(r#"{"email":"bob@corp.example","phone":"+14155552671"}"#, 1);
        let anon = lead(r#"{"phone":"+14155552671"}"#, 2);
        assert!(!ada.same_person_by_phone(&bob), "colleagues sharing a switchboard");
        assert!(ada.same_person_by_phone(&anon) && anon.same_person_by_phone(&bob), "no email disagrees");
    }

    #[test]
    fn a_lead_id_must_be_a_uuid() {
        let id = LeadId::generate();
        assert_eq!(LeadId::parse(id.as_str()).unwrap(), id);
        assert!(LeadId::parse("lead-1").is_err());
    }
}
