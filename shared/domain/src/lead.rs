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

/// An email address in its canonical form, the one identities use: Unicode NFC, invisible
/// characters removed, lower-cased, and the domain in its IDNA ASCII form (`xn--…`), so the same
/// address typed two ways is one address. Internationalized addresses (RFC 6531: `joão@exemplo.br`,
/// `jörg@bücher.de`) are accepted; how the person typed it is kept by the lead for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses an address; the error says what is wrong with it.
    ///
    /// The local part is lower-cased as every mail provider Baton has met treats it (the RFC
    /// leaves it to the domain); the domain is case-folded and converted by UTS #46 (IDNA).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let typed = crate::text::without_invisibles(&crate::text::nfc(raw.trim()));
        if typed.is_empty() {
            return Err("is empty".into());
        }
        if typed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("contains spaces or control characters".into());
        }
        let Some((local, domain)) = typed.rsplit_once('@') else {
            return Err("has no `@`".into());
        };
        if local.is_empty() {
            return Err("has nothing before the `@`".into());
        }
        if local.contains('@') {
            return Err("has more than one `@`".into());
        }
        if local.len() > 64 {
            return Err("has more than 64 bytes before the `@`".into());
        }
        if let Some(bad) =
            local.chars().find(|c| matches!(c, '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | ']' | '\\' | '"'))
        {
            return Err(format!("contains `{bad}` before the `@`, which an address cannot have unquoted"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("has a misplaced `.` before the `@`".into());
        }
        let ascii_domain = idna::domain_to_ascii(domain).map_err(|_| format!("has an invalid domain `{domain}`"))?;
        let labels: Vec<&str> = ascii_domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-'))
            || !ascii_domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(format!("has an invalid domain `{domain}`"));
        }
        let value = format!("{}@{ascii_domain}", local.to_lowercase());
        if value.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        Ok(Self(value))
    }

    /// The canonical address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, in its ASCII (IDNA) form.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }

    /// The domain for people to read, in Unicode (`bücher.de`).
    pub fn domain_unicode(&self) -> String {
        let (unicode, result) = idna::domain_to_unicode(self.domain());
        if result.is_ok() { unicode } else { self.domain().to_owned() }
    }

    /// The address for people to read: the domain in Unicode (`bücher.de`, not `xn--bcher-kva.de`).
    pub fn to_unicode(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let (unicode, result) = idna::domain_to_unicode(domain);
        if result.is_ok() { format!("{local}@{unicode}") } else { self.0.clone() }
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

/// The most touchpoints without consent a lead keeps; older ones are dropped (the count in
/// `submissions` stays). Consent-bearing touchpoints are bounded by size only.
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
    /// The first page of the visit that led to the submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    /// The visitor's first recorded touch; the fields above are the last touch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_touch: Option<Attribution>,
    /// When the form says it was filled in (the submitter's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Timestamp>,
    /// The capture key (form or integration) the submission came through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// How a visitor arrived (a first touch): campaign, referrer and landing page, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Attribution {
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
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
    /// Stated by a signed integration on the person's behalf (its time and address are the
    /// integration's); otherwise the person's own statement, with the request's time and address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signed: bool,
}

impl Consent {
    /// Whether `self` and `other` are statements about the same purpose.
    fn same_purpose(&self, other: &Consent) -> bool {
        self.purpose == other.purpose
    }
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
    /// The email as the person typed it, when that differs from its canonical form: shown to
    /// people (`Jörg@Bücher.de`), never used for identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_as_typed: Option<String>,
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
    /// The consent in force: the first statement, changed later only by a signed integration.
    /// Every statement, including those that did not change it, is kept on its touchpoint.
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
    /// How the account was matched (method and confidence), or the candidates when the match
    /// was ambiguous and no account was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_matching: Option<crate::account::AccountMatching>,
    /// Other leads that may be the same person (same phone, or same name at the same company),
    /// with the reasons: never merged, shown to the rep and kept for the audit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub possible_duplicates: Vec<crate::duplicate::PossibleDuplicate>,
    /// The submissions that reached this lead, oldest first: the first, every one that stated
    /// consent (the append-only consent evidence), and the most recent others, within
    /// [`MAX_TOUCHPOINTS`] and [`MAX_TOUCHPOINT_BYTES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touchpoints: Vec<Touchpoint>,
    /// How many submissions reached this lead in all.
    #[serde(default = "one")]
    pub submissions: u32,
    pub captured_at: Timestamp,
    /// When the first owner's message was delivered: where the system's part of the time to
    /// first touch ends ([`crate::metrics`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<Timestamp>,
    /// Earlier decisions, oldest first: a nurture decision is kept here when a new submission
    /// sends the lead back to routing, and a reassignment keeps the decision it replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_decisions: Vec<Decision>,
    /// What the owner did with the lead, oldest first (at most [`crate::touch::MAX_TOUCHES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touches: Vec<crate::touch::Touch>,
    /// Events recorded with the write that made them true and not yet published (touches,
    /// escalations): the lead waits ([`crate::WaitKind::Announce`]) until each is out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<crate::Announcement>,
    /// The escalation ladder's steps (warnings, breaches, reassignments), oldest first (at most
    /// [`crate::sla::MAX_SLA_HISTORY`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla_history: Vec<crate::sla::SlaStep>,
    /// External ids of touches and outcomes already recorded (the latest
    /// [`crate::touch::MAX_EXTERNAL_IDS`]), so a replayed event is recognised even after its
    /// touch left [`Lead::touches`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<String>,
    /// Set while the sweep is backing off a lead it could not handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferral: Option<crate::stage::Deferral>,
    /// Notifications that could not be delivered (one per event and channel), for someone to fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_failures: Vec<crate::NotificationFailure>,
    /// Submitted values of soft fields that could not be normalized, kept as submitted: routing
    /// treats those fields as missing, and a person should check them ([`Lead::needs_data_review`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecognized: Vec<crate::normalize::Unrecognized>,
}

/// The parts of a place, merged whole.
const PLACE_FIELDS: [&str; 3] = ["country", "region", "postal_code"];
/// The fields that say how large the company is, merged together.
const SIZE_FIELDS: [&str; 2] = ["employee_count", "company_size"];

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
        if self.email.is_none() && later.email.is_some() {
            self.email_as_typed = later.email_as_typed.clone();
        }
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
        let no_place = |l: &Lead| {
            l.country.is_none()
                && l.region.is_none()
                && l.postal_code.is_none()
                && !l.unrecognized.iter().any(|u| PLACE_FIELDS.contains(&u.field.as_str()))
        };
        if (self.country.is_none() && later.country.is_some()) || (no_place(&self) && !no_place(later)) {
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
            self.account_matching = later.account_matching.clone();
            filled.extend(["company", "website", "company_key", "company_domain", "account"]);
        }
        let size_known = |l: &Lead| l.employee_count.is_some() || l.enrichment.size_band.is_some();
        let size_given = |l: &Lead| {
            l.company_size.is_some() || l.unrecognized.iter().any(|u| SIZE_FIELDS.contains(&u.field.as_str()))
        };
        if !size_known(&self) && (size_known(later) || (!size_given(&self) && size_given(later))) {
            // A size this lead could not read gives way to one a later submission could.
            self.employee_count = later.employee_count;
            self.company_size = later.company_size.clone();
            self.enrichment.size_band = later.enrichment.size_band.clone();
            filled.extend(SIZE_FIELDS);
        }
        self.normalized.extend(later.normalized.iter().filter(|n| filled.contains(&n.field.as_str())).cloned());
        // Unrecognized values follow their field: a field taken from `later` brings its entries
        // and drops this lead's; a field still missing here gains `later`'s entry, once.
        self.unrecognized.retain(|u| !filled.contains(&u.field.as_str()));
        for entry in &later.unrecognized {
            let taken = filled.contains(&entry.field.as_str());
            let still_missing = !taken
                && self.field_is_missing(&entry.field)
                && !self.unrecognized.iter().any(|u| u.field == entry.field);
            if still_missing {
                self.normalized.push(entry.note());
            }
            if (taken || still_missing) && !self.unrecognized.contains(entry) {
                self.unrecognized.push(entry.clone());
            }
        }
        for (k, v) in &later.attributes {
            if self.attributes.len() >= crate::contract::MAX_ATTRIBUTES {
                break; // the per-lead bound holds across merges too
            }
            self.attributes.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if let Some(stated) = &later.consent {
            // Consent evidence is append-only: every statement stays on its touchpoint. The
            // consent in force is the first one stated, and only a signed integration may
            // change it afterwards (a public form key never overwrites anything).
            let replaces = match &self.consent {
                None => true,
                Some(current) => stated.signed && stated.at >= current.at,
            };
            if replaces {
                self.consent = Some(stated.clone());
            }
        }
        self.touchpoints.extend(later.touchpoints.iter().cloned());
        bound_touchpoints(&mut self.touchpoints);
        for found in &later.possible_duplicates {
            if found.lead_id != self.id
                && !self.possible_duplicates.iter().any(|d| d.lead_id == found.lead_id)
                && self.possible_duplicates.len() < crate::duplicate::MAX_POSSIBLE_DUPLICATES
            {
                self.possible_duplicates.push(found.clone());
            }
        }
        self.submissions = self.submissions.saturating_add(later.submissions);
        if let crate::Stage::Nurture { decision } = &self.stage {
            // A new submission may re-qualify a nurtured lead: it goes back to routing.
            self.previous_decisions.push(decision.clone());
            self.stage = crate::Stage::Captured;
        }
        self
    }

    /// Whether a person should check the lead's data: some submitted value could not be
    /// normalized ([`Lead::unrecognized`]), so routing treated its field as missing.
    pub fn needs_data_review(&self) -> bool {
        !self.unrecognized.is_empty()
    }

    /// Whether routing has nothing usable in the soft field `field` (its name in the contract).
    fn field_is_missing(&self, field: &str) -> bool {
        match field {
            "country" => self.country.is_none(),
            "region" => self.region.is_none(),
            "postal_code" => self.postal_code.is_none(),
            "website" => self.website.is_none(),
            "employee_count" => self.employee_count.is_none(),
            "company_size" => self.company_size.is_none() && self.enrichment.size_band.is_none(),
            _ => false,
        }
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

/// The longest `page_url` or `referrer` a consent-bearing touchpoint keeps once the record is
/// over its size budget (the consent itself is never shortened).
const COMPACT_URL: usize = 256;

fn touchpoints_bytes(touchpoints: &[Touchpoint]) -> usize {
    serde_json::to_vec(touchpoints).map_or(0, |v| v.len())
}

/// Bounds a lead's touchpoints to [`MAX_TOUCHPOINTS`] and [`MAX_TOUCHPOINT_BYTES`] without losing
/// the evidence that matters: the first touchpoint (first touch attribution) and every
/// consent-bearing one are kept. In order, until the bounds hold:
/// 1. the oldest touchpoints that carry no consent (never the first) are dropped;
/// 2. consent-bearing touchpoints have their page and referrer URLs shortened;
/// 3. only then, and only past the byte budget, a statement that merely repeats its purpose's
///    earlier statement (same grant, same wording) between its first and its latest is dropped.
fn bound_touchpoints(touchpoints: &mut Vec<Touchpoint>) {
    let over = |t: &Vec<Touchpoint>| touchpoints_bytes(t) > MAX_TOUCHPOINT_BYTES;
    let without_consent = |t: &Vec<Touchpoint>| (1..t.len()).find(|&i| t[i].consent.is_none());
    while touchpoints.iter().filter(|t| t.consent.is_none()).count() > MAX_TOUCHPOINTS || over(touchpoints) {
        let Some(i) = without_consent(touchpoints) else { break };
        touchpoints.remove(i);
    }
    if !over(touchpoints) {
        return;
    }
    for t in touchpoints.iter_mut().skip(1) {
        for url in [&mut t.source.page_url, &mut t.source.referrer] {
            if let Some(u) = url.as_mut()
                && u.chars().count() > COMPACT_URL
            {
                *u = u.chars().take(COMPACT_URL).collect();
            }
        }
    }
    while over(touchpoints) {
        let repeat = (1..touchpoints.len()).find(|&i| {
            let Some(c) = &touchpoints[i].consent else { return false };
            let same = |t: &Touchpoint| t.consent.as_ref().is_some_and(|o| o.same_purpose(c));
            let earlier = touchpoints[..i].iter().rev().find(|t| same(t));
            let later_exists = touchpoints[i + 1..].iter().any(same);
            later_exists
                && earlier
                    .and_then(|t| t.consent.as_ref())
                    .is_some_and(|e| (e.granted, &e.wording_version) == (c.granted, &c.wording_version))
        });
        let Some(i) = repeat else { break };
        touchpoints.remove(i);
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
    email.map(Email::to_unicode).or_else(|| phone.map(|p| p.as_str().to_owned())).unwrap_or_else(|| id.to_string())
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
    fn internationalized_addresses_are_accepted_in_one_canonical_form() {
        let typed = Email::parse("Jo\u{0303}ao@Exemplo.BR").unwrap();
        assert_eq!(typed.as_str(), "j\u{00F5}ao@exemplo.br", "NFC and lower-cased");
        assert_eq!(Email::parse("j\u{00F5}ao@exemplo.br").unwrap(), typed, "typed two ways, one address");
        let idn = Email::parse("J\u{00F6}rg@B\u{00FC}cher.de").unwrap();
        assert_eq!(idn.as_str(), "j\u{00F6}rg@xn--bcher-kva.de", "the domain in IDNA form");
        assert_eq!(Email::parse("j\u{00F6}rg@xn--bcher-kva.de").unwrap(), idn);
        assert_eq!(idn.to_unicode(), "j\u{00F6}rg@b\u{00FC}cher.de");
        assert_eq!(Email::parse("\u{200B}ada@example.com\u{FEFF}").unwrap().as_str(), "ada@example.com");
        let cjk = Email::parse("\u{7528}\u{6237}@\u{4F8B}\u{5B50}.\u{5E7F}\u{544A}").unwrap();
        assert!(cjk.domain().is_ascii() && cjk.domain().starts_with("xn--fsqu00a."), "{}", cjk.domain());
        assert_eq!(cjk.to_unicode(), "\u{7528}\u{6237}@\u{4F8B}\u{5B50}.\u{5E7F}\u{544A}");
    }

    #[test]
    fn malformed_emails_say_what_is_wrong() {
        assert_eq!(Email::parse("a..b@example.com").unwrap_err(), "has a misplaced `.` before the `@`");
        assert!(Email::parse("a<b@example.com").unwrap_err().contains("`<`"));
        assert_eq!(Email::parse("ada@exa_mple.com").unwrap_err(), "has an invalid domain `exa_mple.com`");
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

    fn unrecognized(lead: &Lead) -> Vec<(&str, &str)> {
        lead.unrecognized.iter().map(|u| (u.field.as_str(), u.value.as_str())).collect()
    }

    #[test]
    fn a_later_submission_that_fills_an_unrecognized_field_clears_its_entry() {
        let first =
            lead(r#"{"email":"a@corp.example","country":"Atlantis","postal_code":"12345","company_size":"huge"}"#, 0);
        assert!(first.needs_data_review());
        let later = lead(
            r#"{"email":"a@corp.example","country":"Sverige","region":"Stockholms län","company_size":"51 to 200"}"#,
            1,
        );
        let merged = first.merged_with(&later);
        assert_eq!(unrecognized(&merged), [], "both fields now have usable values");
        assert!(!merged.needs_data_review());
        // The place is still taken whole: the first postal code does not stay with the new country.
        assert_eq!(
            (merged.country.as_deref(), merged.region.as_deref(), merged.postal_code.as_deref()),
            (Some("SE"), Some("SE-AB"), None)
        );
        assert_eq!(
            (merged.company_size.as_deref(), merged.enrichment.size_band.as_deref()),
            (Some("51-200"), Some("51-200"))
        );
        assert!(merged.normalized.iter().any(|n| n.field == "company_size" && n.to == "51-200"));
    }

    #[test]
    fn an_unrecognized_value_never_replaces_a_usable_one() {
        let first = lead(r#"{"email":"a@corp.example","country":"DE","company_size":"11-50"}"#, 0);
        let later = lead(r#"{"email":"a@corp.example","country":"Atlantis","company_size":"huge"}"#, 1);
        let merged = first.merged_with(&later);
        assert_eq!((merged.country.as_deref(), merged.company_size.as_deref()), (Some("DE"), Some("11-50")));
        assert_eq!(unrecognized(&merged), [], "the fields are not missing: nothing to check");
    }

    #[test]
    fn later_unrecognized_values_of_fields_still_missing_are_added_once() {
        let first = lead(r#"{"email":"a@corp.example","company":"Corp"}"#, 0);
        let later = lead(
            r#"{"email":"a@corp.example","company":"Other","website":"not a url","country":"Atlantis","postal_code":"n/a"}"#,
            1,
        );
        let merged = first.merged_with(&later).merged_with(&later);
        assert_eq!(unrecognized(&merged), [("country", "Atlantis"), ("postal_code", "n/a"), ("website", "not a url")]);
        assert_eq!(merged.website, None, "the company (and its website) stay the first one's");
        assert_eq!(merged.normalized.iter().filter(|n| n.rule.starts_with("unrecognized: ")).count(), 3);
        let fixed = merged.merged_with(&lead(r#"{"email":"a@corp.example","country":"PL","postal_code":"00-950"}"#, 2));
        assert_eq!(unrecognized(&fixed), [("website", "not a url")]);
        assert_eq!((fixed.country.as_deref(), fixed.postal_code.as_deref()), (Some("PL"), Some("00-950")));
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
    fn the_same_person_typed_two_ways_is_one_identity_and_keeps_what_they_typed() {
        let typed = lead(r#"{"email":" J\u00f6rg@B\u00fccher.DE ","first_name":"\u200bJo\u0308rg\u202e"}"#, 0);
        let plain = lead(r#"{"email":"jo\u0308rg@xn--bcher-kva.de","first_name":"J\u00f6rg"}"#, 1);
        assert_eq!(typed.identities(), plain.identities());
        assert_eq!(typed.identity().as_deref(), Some("email:j\u{f6}rg@xn--bcher-kva.de"));
        assert_eq!(typed.email_as_typed.as_deref(), Some("J\u{f6}rg@B\u{fc}cher.DE"), "kept for display");
        assert_eq!(typed.first_name, plain.first_name, "names are NFC without invisible characters");
        assert_eq!(typed.display_name(), "J\u{f6}rg");
        assert!(typed.normalized.iter().any(|n| n.field == "first_name" && n.to == "J\u{f6}rg"));
        let unnamed = lead(r#"{"email":"J\u00f6rg@B\u00fccher.DE"}"#, 2);
        assert_eq!(unnamed.display_name(), "j\u{f6}rg@b\u{fc}cher.de", "shown with its Unicode domain");
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
    fn bounding_keeps_the_first_touchpoint_and_every_consent_bearing_one() {
        let url = format!("https://example.com/{}", "p".repeat(2000));
        let mut l = lead(r#"{"email":"a@corp.example","source":{"utm_source":"first"}}"#, 0);
        let big =
            lead(&format!(r#"{{"email":"a@corp.example","source":{{"page_url":"{url}","referrer":"{url}"}}}}"#), 1);
        let consenting = |granted: bool, purpose: &str| {
            lead(
                &format!(
                    r#"{{"email":"a@corp.example","source":{{"page_url":"{url}"}},
                        "consent":{{"granted":{granted},"purpose":"{purpose}"}}}}"#
                ),
                2,
            )
        };
        for round in 0..120 {
            l = match round {
                10 => l.merged_with(&consenting(true, "newsletter")),
                50 => l.merged_with(&consenting(false, "newsletter")),
                90 => l.merged_with(&consenting(true, "sales")),
                _ => l.merged_with(&big),
            };
        }
        assert!(serde_json::to_vec(&l.touchpoints).unwrap().len() <= MAX_TOUCHPOINT_BYTES);
        assert_eq!(l.touchpoints[0].source.utm_source.as_deref(), Some("first"), "first touch kept");
        let kept: Vec<(bool, Option<&str>)> = l
            .touchpoints
            .iter()
            .filter_map(|t| t.consent.as_ref())
            .map(|c| (c.granted, c.purpose.as_deref()))
            .collect();
        assert_eq!(kept, [(true, Some("newsletter")), (false, Some("newsletter")), (true, Some("sales"))]);
        assert_eq!(l.consent.as_ref().map(|c| (c.granted, c.purpose.as_deref())), Some((true, Some("newsletter"))));
        assert_eq!(l.submissions, 121);
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
