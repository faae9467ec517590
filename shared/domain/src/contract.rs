//! The `POST /leads` contract (version 1) and the queue message that hands a lead to routing.
//!
//! Parsing is two steps: [`LeadSubmission::from_json`] (or [`LeadSubmission::from_form`] for
//! HTML form posts) turns bytes into the typed submission (reporting the path of a malformed
//! field), then [`LeadSubmission::into_lead`] checks every field at once and builds the [`Lead`].
//!
//! Only hard conditions refuse a submission (400): a way to contact the person (an email or a
//! phone), well-formed email and phone syntax, types, and limits (lengths, control characters,
//! attribute counts and names). Soft fields (country, region, postal code, website, company
//! size, employee count; job title is free text) never do for their value: each is normalized
//! when it can be ([`crate::normalize`]); otherwise the value is kept as submitted in
//! [`Lead::unrecognized`] with a `normalized` note saying `unrecognized: …`, routing treats the
//! field as missing, and [`Lead::needs_data_review`] is true. Where each value is kept:
//! - country, region (of a country with ISO 3166-2 subdivisions), postal code, employee count:
//!   only in the `unrecognized` entry; the lead's field is empty;
//! - region of an unknown country or one without subdivisions: kept in `region` as submitted,
//!   not flagged (there is nothing to check it against);
//! - website: kept in `website`; it gives no company domain (a business email still may);
//! - company size: kept in `company_size`; it gives no size band.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::normalize::{self, Headcount, Normalization, Unrecognized};
use crate::{Attribution, Consent, Email, Enrichment, Lead, LeadId, Phone, Source, Timestamp, Touchpoint};

/// The longest value accepted for a short text field (names, company, title, ids, UTM values).
pub const MAX_SHORT_TEXT: usize = 256;
/// The longest value accepted for `page_url`.
pub const MAX_URL: usize = 2048;
/// The longest free-text `message` accepted.
pub const MAX_MESSAGE: usize = 5000;

/// One problem with one field of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's path in the submitted document, such as `email` or `source.page_url`.
    pub field: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`, described by `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Why a submission was refused. Both variants are the submitter's to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The body is not a JSON document of the contract's shape.
    #[error("malformed lead at `{}`: {}", .0.field, .0.message)]
    Malformed(FieldError),
    /// The document has the right shape but some values are invalid; every problem is listed.
    #[error("invalid lead: {} problem(s)", .0.len())]
    Invalid(Vec<FieldError>),
}

impl ContractError {
    /// Every field problem, for a response body.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Malformed(e) => vec![e.clone()],
            Self::Invalid(errors) => errors.clone(),
        }
    }
}

/// The most custom attributes a submission may carry.
pub const MAX_ATTRIBUTES: usize = 50;
/// The longest attribute name.
pub const MAX_ATTRIBUTE_NAME: usize = 64;
/// The longest attribute string value.
pub const MAX_ATTRIBUTE_VALUE: usize = 1000;
/// The contract version this module implements.
pub const CONTRACT_VERSION: &str = "1";

/// The source-tracking part of a submission.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSubmission {
    pub form_id: Option<String>,
    pub form_type: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    /// RFC 3339; when the form was filled in, by the submitter's clock.
    pub captured_at: Option<String>,
    /// The first page of the visit that led to this submission.
    pub landing_page: Option<String>,
    /// The visitor's first recorded touch (the form snippet keeps it in first-party storage);
    /// the fields above are the last touch, the one that led to this submission.
    pub first_touch: Option<TouchSubmission>,
}

/// An attribution touch: how a visitor arrived, and when.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TouchSubmission {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub referrer: Option<String>,
    pub landing_page: Option<String>,
    /// RFC 3339; when the visitor arrived. A value that is not a time is dropped (and noted),
    /// never refused: attribution is a soft field.
    pub at: Option<String>,
}

/// The consent part of a submission.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentSubmission {
    pub granted: Option<bool>,
    pub purpose: Option<String>,
    pub wording_version: Option<String>,
    /// RFC 3339; defaults to the capture time.
    pub timestamp: Option<String>,
    /// Defaults to the request's source address.
    pub ip: Option<String>,
}

/// A lead as a form or integration submits it (contract version 1). Every field is optional
/// on the wire; [`LeadSubmission::into_lead`] enforces what is required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadSubmission {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub website: Option<String>,
    pub job_title: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub company_size: Option<String>,
    /// A whole number in JSON (another type is malformed). See `employee_count_text` for forms.
    pub employee_count: Option<u32>,
    pub product_interest: Option<String>,
    pub message: Option<String>,
    #[serde(default)]
    pub source: SourceSubmission,
    pub consent: Option<ConsentSubmission>,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// The form's own id for this submission; a retry with the same id is the same submission.
    pub submission_id: Option<String>,
    /// A field hidden from people; anything in it marks the submission as a bot's.
    #[serde(rename = "_honeypot")]
    pub honeypot: Option<String>,
    /// The public form key, for HTML forms that cannot set headers.
    #[serde(rename = "_key")]
    pub form_key: Option<String>,
    /// An `employee_count` an HTML form sent that is not a plain whole number (`1,000`,
    /// `50-200`, `about 50`): read as a soft value by [`LeadSubmission::into_lead`]. Set only by
    /// [`LeadSubmission::from_form`]; never read from JSON.
    #[serde(skip)]
    pub employee_count_text: Option<String>,
}

fn malformed(field: impl Into<String>, message: impl Into<String>) -> ContractError {
    ContractError::Malformed(FieldError::new(field, message))
}

/// Fields of [`SourceSubmission`], which HTML forms may send flat (`utm_source`) or dotted.
pub const SOURCE_FIELDS: &[&str] = &[
    "form_id",
    "form_type",
    "page_url",
    "referrer",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "captured_at",
    "landing_page",
];

fn truthy(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" | "granted" => Some(true),
        "false" | "off" | "no" | "0" | "" | "denied" => Some(false),
        _ => None,
    }
}

impl LeadSubmission {
    /// Parses a JSON body. Fails with the path and reason of the first malformed part
    /// (bad JSON, a wrong type, an unknown field).
    pub fn from_json(body: &[u8]) -> Result<Self, ContractError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed = Self::from_deserializer(&mut de)?;
        de.end().map_err(|e| malformed("body", e.to_string()))?;
        Ok(parsed)
    }

    fn from_deserializer<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Self, ContractError>
    where
        D::Error: std::fmt::Display,
    {
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." || path.is_empty() { "body".to_owned() } else { path };
            malformed(field, e.inner().to_string())
        })
    }

    /// Parses an `application/x-www-form-urlencoded` body, as plain HTML forms post it.
    ///
    /// Field names are the JSON contract's, dotted for nested parts (`source.utm_source`,
    /// `consent.granted`, `attributes.plan`); source fields may also be sent flat (`utm_source`),
    /// consent as `consent=on` plus `consent_purpose` and `consent_wording_version`, and
    /// attributes as `attributes[plan]`. A checkbox value (`on`, `true`, `yes`, `1`) grants consent.
    /// Form values are text, so an `employee_count` that is not a plain whole number is not
    /// malformed: it is kept in `employee_count_text` for [`LeadSubmission::into_lead`] to read.
    pub fn from_form(body: &[u8]) -> Result<Self, ContractError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| malformed("body", format!("not a URL-encoded form: {e}")))?;
        Self::from_fields(pairs)
    }

    /// [`LeadSubmission::from_form`] for fields already decoded (name, value), such as the
    /// columns of a CSV row.
    pub fn from_fields<K: AsRef<str>>(pairs: impl IntoIterator<Item = (K, String)>) -> Result<Self, ContractError> {
        let mut doc = Map::new();
        let mut source = Map::new();
        let mut consent = Map::new();
        let mut attributes = Map::new();
        let mut employee_count_text = None;
        for (name, value) in pairs {
            let name = name.as_ref().trim();
            if name.is_empty() {
                continue; // browsers never send unnamed controls; stray separators are not fields
            }
            if let Some(key) = name
                .strip_prefix("attributes.")
                .or_else(|| name.strip_prefix("attributes[").and_then(|rest| rest.strip_suffix(']')))
            {
                attributes.insert(key.to_owned(), Value::String(value));
            } else if let Some(key) = name.strip_prefix("source.") {
                source.insert(key.to_owned(), Value::String(value));
            } else if SOURCE_FIELDS.contains(&name) {
                source.insert(name.to_owned(), Value::String(value));
            } else if name == "consent" || name == "consent.granted" {
                let granted =
                    truthy(&value).ok_or_else(|| malformed(name, format!("`{value}` is not a yes/no value")))?;
                consent.insert("granted".into(), Value::Bool(granted));
            } else if let Some(key) = name.strip_prefix("consent.").or_else(|| name.strip_prefix("consent_")) {
                consent.insert(key.to_owned(), Value::String(value));
            } else if name == "employee_count" {
                let v = value.trim();
                match v.parse::<u32>() {
                    Ok(n) => {
                        doc.insert(name.to_owned(), Value::from(n));
                    }
                    Err(_) if !v.is_empty() => employee_count_text = Some(v.to_owned()),
                    Err(_) => {}
                }
            } else {
                doc.insert(name.to_owned(), Value::String(value));
            }
        }
        if !source.is_empty() {
            doc.insert("source".into(), Value::Object(source));
        }
        if !consent.is_empty() {
            doc.insert("consent".into(), Value::Object(consent));
        }
        if !attributes.is_empty() {
            doc.insert("attributes".into(), Value::Object(attributes));
        }
        let mut submission = Self::from_deserializer(Value::Object(doc))?;
        if submission.employee_count.is_none() {
            submission.employee_count_text = employee_count_text;
        }
        Ok(submission)
    }

    /// The submission's own id, trimmed; `None` when absent or blank.
    pub fn submission_id(&self) -> Option<&str> {
        self.submission_id.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// Whether a bot filled the honeypot field.
    pub fn is_bot(&self) -> bool {
        self.honeypot.as_deref().is_some_and(|v| !v.trim().is_empty())
    }

    /// Validates and normalizes every field and builds a new lead captured at `now`. Lists every
    /// problem at once. A submission whose honeypot is filled becomes a [`crate::Stage::Spam`] lead.
    pub fn into_lead(self, id: LeadId, now: Timestamp) -> Result<Lead, ContractError> {
        let mut errors = Vec::new();
        let mut normalized = Vec::new();
        let mut unrecognized = Vec::new();
        let first_name = person_name(&mut errors, &mut normalized, "first_name", self.first_name);
        let last_name = person_name(&mut errors, &mut normalized, "last_name", self.last_name);
        let company = person_name(&mut errors, &mut normalized, "company", self.company);
        let website_raw = text(&mut errors, "website", self.website, MAX_URL);
        let job_title = text(&mut errors, "job_title", self.job_title, MAX_SHORT_TEXT);
        let country_raw = text(&mut errors, "country", self.country, MAX_SHORT_TEXT);
        let region_raw = text(&mut errors, "region", self.region, MAX_SHORT_TEXT);
        let postal_raw = text(&mut errors, "postal_code", self.postal_code, 32);
        let company_size_raw = text(&mut errors, "company_size", self.company_size, 32);
        let employee_text = text(&mut errors, "employee_count", self.employee_count_text, 64);
        let product_interest = text(&mut errors, "product_interest", self.product_interest, MAX_SHORT_TEXT);
        let message = text(&mut errors, "message", self.message, MAX_MESSAGE);
        let email_raw = text(&mut errors, "email", self.email, 320);
        let phone_raw = text(&mut errors, "phone", self.phone, 64);
        let s = self.source;
        let mut source = Source {
            form_id: text(&mut errors, "source.form_id", s.form_id, MAX_SHORT_TEXT),
            form_type: text(&mut errors, "source.form_type", s.form_type, MAX_SHORT_TEXT),
            page_url: text(&mut errors, "source.page_url", s.page_url, MAX_URL),
            referrer: text(&mut errors, "source.referrer", s.referrer, MAX_URL),
            utm_source: text(&mut errors, "source.utm_source", s.utm_source, MAX_SHORT_TEXT),
            utm_medium: text(&mut errors, "source.utm_medium", s.utm_medium, MAX_SHORT_TEXT),
            utm_campaign: text(&mut errors, "source.utm_campaign", s.utm_campaign, MAX_SHORT_TEXT),
            utm_term: text(&mut errors, "source.utm_term", s.utm_term, MAX_SHORT_TEXT),
            utm_content: text(&mut errors, "source.utm_content", s.utm_content, MAX_SHORT_TEXT),
            landing_page: text(&mut errors, "source.landing_page", s.landing_page, MAX_URL),
            first_touch: None,
            submitted_at: None,
            key_id: None,
        };
        if let Some(t) = s.first_touch {
            let f = |name: &str| format!("source.first_touch.{name}");
            let at_raw = text(&mut errors, &f("at"), t.at, 64);
            let at = at_raw.as_deref().and_then(|raw| match parse_time(raw) {
                Ok(at) => Some(at),
                Err(e) => {
                    normalized.push(Normalization::new("source.first_touch.at", raw, "", format!("dropped: {e}")));
                    None
                }
            });
            let touch = Attribution {
                utm_source: text(&mut errors, &f("utm_source"), t.utm_source, MAX_SHORT_TEXT),
                utm_medium: text(&mut errors, &f("utm_medium"), t.utm_medium, MAX_SHORT_TEXT),
                utm_campaign: text(&mut errors, &f("utm_campaign"), t.utm_campaign, MAX_SHORT_TEXT),
                utm_term: text(&mut errors, &f("utm_term"), t.utm_term, MAX_SHORT_TEXT),
                utm_content: text(&mut errors, &f("utm_content"), t.utm_content, MAX_SHORT_TEXT),
                referrer: text(&mut errors, &f("referrer"), t.referrer, MAX_URL),
                landing_page: text(&mut errors, &f("landing_page"), t.landing_page, MAX_URL),
                at,
            };
            source.first_touch = (touch != Attribution::default()).then_some(touch);
        }
        let captured_at_raw = text(&mut errors, "source.captured_at", s.captured_at, 64);
        let consent_in = self.consent.map(|c| {
            (
                c.granted,
                text(&mut errors, "consent.purpose", c.purpose, MAX_SHORT_TEXT),
                text(&mut errors, "consent.wording_version", c.wording_version, MAX_SHORT_TEXT),
                text(&mut errors, "consent.timestamp", c.timestamp, 64),
                text(&mut errors, "consent.ip", c.ip, 64),
            )
        });

        if let Some(raw) = captured_at_raw {
            match parse_time(&raw) {
                Ok(at) => source.submitted_at = Some(at),
                Err(e) => errors.push(FieldError::new("source.captured_at", e)),
            }
        }
        let consent = consent_in.and_then(|(granted, purpose, wording_version, timestamp, ip)| {
            let Some(granted) = granted else {
                errors.push(FieldError::new("consent.granted", "is required when consent is given (true or false)"));
                return None;
            };
            let at = match timestamp.map(|t| parse_time(&t)) {
                Some(Ok(at)) => at,
                Some(Err(e)) => {
                    errors.push(FieldError::new("consent.timestamp", e));
                    now
                }
                None => now,
            };
            if let Some(ip) = &ip
                && ip.parse::<std::net::IpAddr>().is_err()
            {
                errors.push(FieldError::new("consent.ip", format!("`{ip}` is not an IP address")));
            }
            Some(Consent { granted, purpose, wording_version, at, ip, signed: false })
        });

        // Soft fields: normalized when they can be, otherwise kept and flagged, never refused.
        let country = country_raw.as_deref().and_then(|raw| match normalize::country(raw) {
            Ok((code, rule)) => {
                if code != raw {
                    normalized.push(Normalization::new("country", raw, &code, rule));
                }
                Some(code)
            }
            Err(e) => {
                unrecognized.push(Unrecognized::new("country", raw, e.to_string()));
                None
            }
        });
        let region = region_raw.and_then(|raw| match country.as_deref().map(|c| normalize::region(c, &raw)) {
            Some(Ok(Some((code, rule)))) => {
                if code != raw {
                    normalized.push(Normalization::new("region", &raw, &code, rule));
                }
                Some(code)
            }
            Some(Err(reason)) => {
                unrecognized.push(Unrecognized::new("region", &raw, reason));
                None
            }
            // No country, or one without subdivisions: nothing to check the region against.
            Some(Ok(None)) | None => Some(raw),
        });
        let postal_code = postal_raw.and_then(|raw| match normalize::postal_code(&raw) {
            Ok(code) => {
                if code != raw {
                    normalized.push(Normalization::new("postal_code", &raw, &code, "upper-cased, spaces collapsed"));
                }
                Some(code)
            }
            Err(reason) => {
                unrecognized.push(Unrecognized::new("postal_code", &raw, reason));
                None
            }
        });
        let mut email_as_typed = None;
        let email = email_raw.and_then(|raw| match Email::parse(&raw) {
            Ok(email) => {
                if email.as_str() != raw {
                    let rule = if email.as_str().to_lowercase() == raw.to_lowercase() {
                        "lower-cased"
                    } else {
                        "Unicode NFC, invisible characters removed, lower-cased, domain in IDNA form"
                    };
                    normalized.push(Normalization::new("email", &raw, email.as_str(), rule));
                    if email.as_str() != raw.to_lowercase() {
                        email_as_typed = Some(raw.clone());
                    }
                }
                Some(email)
            }
            Err(e) => {
                errors.push(FieldError::new("email", e));
                None
            }
        });
        let phone = phone_raw.and_then(|raw| match Phone::parse_in(&raw, country.as_deref()) {
            Ok((phone, rule)) => {
                if phone.as_str() != raw {
                    normalized.push(Normalization::new("phone", &raw, phone.as_str(), rule));
                }
                Some(phone)
            }
            Err(e) => {
                errors.push(FieldError::new("phone", e));
                None
            }
        });
        if email.is_none() && phone.is_none() && !errors.iter().any(|e| e.field == "email" || e.field == "phone") {
            errors.push(FieldError::new("email", "an email or a phone number is required"));
        }
        let website_domain = website_raw.as_deref().and_then(|raw| match normalize::website_domain(raw) {
            Ok(domain) => Some(domain),
            Err(e) => {
                // The website is kept as submitted; it gives no company domain.
                let reason = e.strip_prefix("is ").map_or_else(|| format!("the address {e}"), str::to_owned);
                unrecognized.push(Unrecognized::new("website", raw, reason));
                None
            }
        });
        let mut employee_count = self.employee_count;
        let mut employee_band = None;
        if let Some(raw) = &employee_text {
            match normalize::employee_count(raw) {
                Ok((Headcount::Count(n), rule)) => {
                    normalized.push(Normalization::new("employee_count", raw, &n.to_string(), rule));
                    employee_count = Some(n);
                }
                Ok((Headcount::Band(band), rule)) => {
                    // A range is a size band, not a count: it stands in for a missing company size.
                    normalized.push(Normalization::new("employee_count", raw, band, format!("a range: {rule}")));
                    employee_band = Some(band);
                }
                Err(reason) => unrecognized.push(Unrecognized::new("employee_count", raw, reason)),
            }
        }
        let mut company_band = None;
        let company_size = match company_size_raw {
            Some(raw) => match normalize::company_size(&raw) {
                Ok((band, rule)) => {
                    if band != raw {
                        normalized.push(Normalization::new("company_size", &raw, band, rule));
                    }
                    company_band = Some(band);
                    Some(band.to_owned())
                }
                Err(reason) => {
                    unrecognized.push(Unrecognized::new("company_size", &raw, reason));
                    Some(raw)
                }
            },
            None => employee_band.map(str::to_owned),
        };
        if self.attributes.len() > MAX_ATTRIBUTES {
            errors.push(FieldError::new(
                "attributes",
                format!("has {} entries; the limit is {MAX_ATTRIBUTES}", self.attributes.len()),
            ));
        }
        let mut attributes = BTreeMap::new();
        for (name, value) in self.attributes {
            let field = format!("attributes.{name}");
            if name.is_empty()
                || name.len() > MAX_ATTRIBUTE_NAME
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                errors.push(FieldError::new(
                    field,
                    format!("names are 1 to {MAX_ATTRIBUTE_NAME} letters, digits, `_`, `-` or `.`"),
                ));
                continue;
            }
            match &value {
                Value::String(s) if s.chars().count() > MAX_ATTRIBUTE_VALUE => {
                    errors.push(FieldError::new(field, format!("is longer than {MAX_ATTRIBUTE_VALUE} characters")));
                }
                Value::String(s) if s.chars().any(forbidden_control) => {
                    errors.push(FieldError::new(field, "contains control characters"));
                }
                Value::Number(n) if !storable_number(n) => {
                    errors.push(FieldError::new(
                        field,
                        "is a number outside the storable range (zero, or a magnitude from 1e-130 to 1e125)",
                    ));
                }
                Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                    if attributes.len() < MAX_ATTRIBUTES {
                        attributes.insert(name, value);
                    }
                }
                Value::Null => {}
                _ => errors.push(FieldError::new(field, "must be a string, a number or a boolean")),
            }
        }
        // Checked here; the capture handler uses it (through `idempotency_key`) as the idempotency key.
        text(&mut errors, "submission_id", self.submission_id.clone(), MAX_SHORT_TEXT);
        text(&mut errors, "_key", self.form_key, MAX_SHORT_TEXT);
        if !errors.is_empty() {
            return Err(ContractError::Invalid(errors));
        }

        let mut enrichment = Enrichment::default();
        if let Some(name) = &company {
            let key = normalize::company_key(name);
            normalized.push(Normalization::new(
                "company_key",
                name,
                &key,
                "lower-cased, punctuation and legal form removed",
            ));
            enrichment.company_key = Some(key);
        }
        if let Some(email) = &email {
            enrichment.personal_email = normalize::is_personal_domain(email.domain());
        }
        match (&website_domain, &email) {
            (Some(domain), _) => {
                normalized.push(Normalization::new(
                    "company_domain",
                    website_raw.as_deref().unwrap_or_default(),
                    domain,
                    "host of the website",
                ));
                enrichment.company_domain = Some(domain.clone());
            }
            (None, Some(email)) if !enrichment.personal_email => {
                normalized.push(Normalization::new(
                    "company_domain",
                    email.as_str(),
                    email.domain(),
                    "domain of a business email",
                ));
                enrichment.company_domain = Some(email.domain().to_owned());
            }
            _ => {}
        }
        if let Some(title) = &job_title {
            let reading = normalize::job_title(title);
            if let Some((seniority, term)) = reading.seniority {
                normalized.push(Normalization::new(
                    "seniority",
                    title,
                    &format!("{seniority:?}"),
                    format!("title contains `{term}`"),
                ));
                enrichment.seniority = Some(seniority);
            }
            if let Some((department, term)) = reading.department {
                normalized.push(Normalization::new(
                    "department",
                    title,
                    &format!("{department:?}"),
                    format!("title contains `{term}`"),
                ));
                enrichment.department = Some(department);
            }
        }
        enrichment.size_band = employee_count.map(size_band).or(employee_band).or(company_band).map(str::to_owned);
        for entry in &unrecognized {
            normalized.push(entry.note());
        }

        let spam = self.honeypot.as_deref().is_some_and(|v| !v.trim().is_empty());
        Ok(Lead {
            id,
            stage: if spam { crate::Stage::Spam } else { crate::Stage::Captured },
            email,
            email_as_typed,
            phone,
            first_name,
            last_name,
            company,
            job_title,
            country,
            region,
            postal_code,
            website: website_raw,
            company_size,
            employee_count,
            product_interest,
            message,
            touchpoints: vec![Touchpoint { at: now, source: source.clone(), consent: consent.clone() }],
            source,
            consent,
            attributes,
            enrichment,
            normalized,
            account: None,
            account_matching: None,
            possible_duplicates: Vec::new(),
            submissions: 1,
            captured_at: now,
            previous_decisions: Vec::new(),
            sla_history: Vec::new(),
            external_ids: Vec::new(),
            touches: Vec::new(),
            outbox: Vec::new(),
            deferral: None,
            notification_failures: Vec::new(),
            notified_at: None,
            unrecognized,
        })
    }
}

/// A name (a person's or a company's): checked like other short text, then stored NFC with
/// invisible and bidi control characters removed ([`crate::text::clean_name`]); the change is noted.
fn person_name(
    errors: &mut Vec<FieldError>,
    normalized: &mut Vec<Normalization>,
    field: &str,
    value: Option<String>,
) -> Option<String> {
    let raw = text(errors, field, value, MAX_SHORT_TEXT)?;
    let clean = crate::text::clean_name(&raw);
    if clean.is_empty() {
        return None;
    }
    if clean != raw {
        normalized.push(Normalization::new(field, &raw, &clean, "Unicode NFC, invisible and bidi characters removed"));
    }
    Some(clean)
}

/// Control characters other than line breaks and tabs: refused in every text value (JSON
/// writes each as six bytes, and no person types them).
fn forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// A trimmed text field; blank is absent. Too long or control characters: an error for `field`.
fn text(errors: &mut Vec<FieldError>, field: &str, value: Option<String>, max: usize) -> Option<String> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("is longer than {max} characters")));
        return None;
    }
    if value.chars().any(forbidden_control) {
        errors.push(FieldError::new(field, "contains control characters"));
        return None;
    }
    Some(value)
}

/// Whether a number can be stored exactly as given (DynamoDB numbers: zero, or a magnitude from
/// 1e-130 to below 1e126, with at most 38 significant digits, which every JSON integer and f64 has).
fn storable_number(n: &serde_json::Number) -> bool {
    if n.is_i64() || n.is_u64() {
        return true;
    }
    n.as_f64().is_some_and(|f| f == 0.0 || (f.is_finite() && (1e-130..1e126).contains(&f.abs())))
}

/// The size band an employee count falls in (one of [`normalize::SIZE_BANDS`]).
pub fn size_band(employees: u32) -> &'static str {
    normalize::size_band(employees)
}

fn parse_time(raw: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.to_utc())
        .map_err(|e| format!("`{raw}` is not an RFC 3339 time such as 2026-11-24T09:00:00Z ({e})"))
}

/// The queue message that asks routing to qualify and assign one lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRequest {
    pub lead_id: LeadId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
    }

    fn accept(json: &str) -> Result<Lead, ContractError> {
        LeadSubmission::from_json(json.as_bytes())?.into_lead(LeadId::generate(), now())
    }

    #[test]
    fn first_and_last_touch_are_kept_and_a_bad_first_touch_time_costs_nothing() {
        let lead = accept(
            r#"{"email":"a@b.co","source":{"utm_source":"newsletter","landing_page":"https://x.example/pricing",
                "first_touch":{"utm_source":"google","utm_medium":"cpc","referrer":"https://search.example/",
                "landing_page":"https://x.example/?utm_source=google","at":"2026-11-20T09:00:00Z"}}}"#,
        )
        .unwrap();
        assert_eq!(lead.source.utm_source.as_deref(), Some("newsletter"), "the last touch");
        assert_eq!(lead.source.landing_page.as_deref(), Some("https://x.example/pricing"));
        let first = lead.source.first_touch.clone().unwrap();
        assert_eq!((first.utm_source.as_deref(), first.utm_medium.as_deref()), (Some("google"), Some("cpc")));
        assert_eq!(first.at, Some(chrono::Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()));

        let lead =
            accept(r#"{"email":"a@b.co","source":{"first_touch":{"utm_source":"google","at":"last week"}}}"#).unwrap();
        let first = lead.source.first_touch.clone().unwrap();
        assert_eq!((first.utm_source.as_deref(), first.at), (Some("google"), None));
        assert!(lead.normalized.iter().any(|n| n.field == "source.first_touch.at"), "{:?}", lead.normalized);

        let err = accept(r#"{"email":"a@b.co","source":{"first_touch":{"utm_source":7}}}"#).unwrap_err();
        assert_eq!(err.field_errors()[0].field, "source.first_touch.utm_source");
    }

    #[test]
    fn a_lead_with_an_email_is_captured_normalized() {
        let lead = accept(
            r#"{"email":" Ada@Example.com ","first_name":"Ada","company":"Analytical Engines",
                "source":{"form_type":"demo_request","utm_campaign":"launch"}}"#,
        )
        .unwrap();
        assert_eq!(lead.status(), crate::LeadStatus::Captured);
        assert_eq!(lead.email.unwrap().as_str(), "ada@example.com");
        assert_eq!(lead.source.form_type.as_deref(), Some("demo_request"));
        assert_eq!(lead.captured_at, now());
    }

    #[test]
    fn a_lead_without_email_or_phone_is_rejected() {
        let err = accept(r#"{"first_name":"Ada"}"#).unwrap_err();
        assert_eq!(err.field_errors(), vec![FieldError::new("email", "an email or a phone number is required")]);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let long = "x".repeat(MAX_SHORT_TEXT + 1);
        let body = format!(r#"{{"email":"nope","phone":"abc","company":"{long}"}}"#);
        let fields: Vec<String> = accept(&body).unwrap_err().field_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["company", "email", "phone"]);
    }

    #[test]
    fn a_wrong_type_names_the_field_path() {
        let err = accept(r#"{"email":"a@b.co","source":{"utm_source":7}}"#).unwrap_err();
        let ContractError::Malformed(e) = err else { panic!("expected malformed, got {err:?}") };
        assert_eq!(e.field, "source.utm_source");
        assert!(e.message.contains("invalid type"), "{}", e.message);
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let err = accept(r#"{"email":"a@b.co","emial":"x"}"#).unwrap_err();
        assert!(err.field_errors()[0].message.contains("unknown field `emial`"));
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed() {
        let err = accept("email=a@b.co").unwrap_err();
        assert_eq!(err.field_errors()[0].field, "body");
        let err = accept(r#"{"email":"a@b.co"} trailing"#).unwrap_err();
        assert_eq!(err.field_errors()[0].field, "body");
    }

    #[test]
    fn a_full_submission_is_normalized_enriched_and_says_what_changed() {
        let lead = accept(
            r#"{"email":" Grace.Hopper@Navy.EXAMPLE ","phone":"(202) 555-0143","first_name":"Grace","last_name":"Hopper",
                "company":"Remington Rand, Inc.","website":"https://www.remington.example/about","job_title":"VP Engineering",
                "country":"USA","region":"Virginia","postal_code":"22202","employee_count":340,"product_interest":"compilers",
                "message":"Need a demo","source":{"form_id":"demo","form_type":"demo_request","referrer":"https://search.example",
                "utm_source":"ads","utm_term":"cobol","utm_content":"banner","captured_at":"2026-11-24T08:59:30+01:00"},
                "consent":{"granted":true,"purpose":"sales_contact","wording_version":"2026-03","ip":"198.51.100.4"},
                "attributes":{"plan":"enterprise","seats":40,"trial":false}}"#,
        )
        .unwrap();
        assert_eq!(lead.email.as_ref().unwrap().as_str(), "grace.hopper@navy.example");
        assert_eq!(lead.phone.as_ref().unwrap().as_str(), "+12025550143");
        assert_eq!(lead.country.as_deref(), Some("US"));
        assert_eq!(lead.region.as_deref(), Some("US-VA"));
        assert_eq!(lead.enrichment.company_key.as_deref(), Some("remington rand"));
        assert_eq!(lead.enrichment.company_domain.as_deref(), Some("remington.example"));
        assert!(!lead.enrichment.personal_email);
        assert_eq!(lead.enrichment.seniority, Some(crate::normalize::Seniority::Vp));
        assert_eq!(lead.enrichment.department, Some(crate::normalize::Department::Engineering));
        assert_eq!(lead.enrichment.size_band.as_deref(), Some("201-1000"));
        assert_eq!(lead.source.submitted_at, Some(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 7, 59, 30).unwrap()));
        let consent = lead.consent.as_ref().unwrap();
        assert!(consent.granted);
        assert_eq!((consent.at, consent.ip.as_deref()), (now(), Some("198.51.100.4")));
        assert_eq!(lead.attributes["seats"], 40);
        assert_eq!(lead.touchpoints.len(), 1);
        let changed: Vec<(&str, &str, &str)> =
            lead.normalized.iter().map(|n| (n.field.as_str(), n.from.as_str(), n.to.as_str())).collect();
        for expected in [
            ("country", "USA", "US"),
            ("region", "Virginia", "US-VA"),
            ("email", "Grace.Hopper@Navy.EXAMPLE", "grace.hopper@navy.example"),
            ("phone", "(202) 555-0143", "+12025550143"),
            ("company_key", "Remington Rand, Inc.", "remington rand"),
        ] {
            assert!(changed.contains(&expected), "missing {expected:?} in {changed:?}");
        }
    }

    #[test]
    fn a_free_mail_address_is_personal_and_gives_no_company_domain() {
        let lead = accept(r#"{"email":"someone@gmail.com"}"#).unwrap();
        assert!(lead.enrichment.personal_email);
        assert_eq!(lead.enrichment.company_domain, None);
    }

    #[test]
    fn an_html_form_post_is_read_like_json() {
        let body = b"email=ada%40analytical.example&first_name=Ada&country=Deutschland&phone=030+12345678\
                     &utm_source=newsletter&source.form_id=footer&consent=on&consent_purpose=newsletter\
                     &attributes%5Bplan%5D=pro&attributes.seats=12&employee_count=45&_key=pk_site&submission_id=s-1";
        let body: Vec<u8> = body.iter().copied().filter(|b| !b" \n\\".contains(b)).collect();
        let sub = LeadSubmission::from_form(&body).unwrap();
        assert_eq!(sub.form_key.as_deref(), Some("pk_site"));
        assert_eq!(sub.submission_id.as_deref(), Some("s-1"));
        let lead = sub.into_lead(LeadId::generate(), now()).unwrap();
        assert_eq!(lead.country.as_deref(), Some("DE"));
        assert_eq!(lead.phone.unwrap().as_str(), "+493012345678");
        assert_eq!(lead.source.utm_source.as_deref(), Some("newsletter"));
        assert_eq!(lead.source.form_id.as_deref(), Some("footer"));
        assert_eq!(lead.consent.as_ref().map(|c| (c.granted, c.purpose.as_deref())), Some((true, Some("newsletter"))));
        assert_eq!(lead.attributes["plan"], "pro");
        assert_eq!(lead.attributes["seats"], "12");
        assert_eq!(lead.employee_count, Some(45));
    }

    #[test]
    fn form_values_of_the_wrong_kind_name_their_field() {
        let err = LeadSubmission::from_form(b"email=a%40b.co&consent=perhaps").unwrap_err();
        assert_eq!(err.field_errors()[0].field, "consent");
        let err = LeadSubmission::from_form(b"email=a%40b.co&colour=red").unwrap_err();
        assert!(err.field_errors()[0].message.contains("unknown field `colour`"));
    }

    #[test]
    fn a_filled_honeypot_makes_the_lead_spam() {
        let lead = accept(r#"{"email":"bot@spam.example","_honeypot":"http://buy.example"}"#).unwrap();
        assert_eq!(lead.status(), crate::LeadStatus::Spam);
        assert_eq!(lead.awaiting(), None, "spam is never routed");
        let lead = accept(r#"{"email":"human@corp.example","_honeypot":""}"#).unwrap();
        assert_eq!(lead.status(), crate::LeadStatus::Captured);
    }

    #[test]
    fn consent_source_and_attribute_problems_are_listed_by_path() {
        let many: String = (0..=MAX_ATTRIBUTES).map(|i| format!(r#""a{i}":1"#)).collect::<Vec<_>>().join(",");
        let body = format!(
            r#"{{"email":"a@b.co","country":"Atlantis","website":"ftp://x.example",
                "source":{{"captured_at":"yesterday"}},
                "consent":{{"purpose":"x","ip":"not-an-ip"}},
                "attributes":{{{many},"bad name":1,"nested":{{"x":1}}}}}}"#
        );
        let fields: Vec<String> = accept(&body).unwrap_err().field_errors().into_iter().map(|e| e.field).collect();
        for soft in ["country", "website"] {
            assert!(!fields.contains(&soft.to_owned()), "{soft} is a soft field, never refused: {fields:?}");
        }
        for expected in
            ["source.captured_at", "consent.granted", "attributes", "attributes.bad name", "attributes.nested"]
        {
            assert!(fields.contains(&expected.to_owned()), "missing {expected} in {fields:?}");
        }
    }

    fn unrecognized_fields(lead: &Lead) -> Vec<(&str, &str)> {
        lead.unrecognized.iter().map(|u| (u.field.as_str(), u.value.as_str())).collect()
    }

    #[test]
    fn soft_values_that_cannot_be_read_are_kept_flagged_and_never_refuse_the_lead() {
        let body = b"email=ada%40gmail.com&country=Atlantis&website=not+a+url&employee_count=many&company_size=huge";
        let lead = LeadSubmission::from_form(body).unwrap().into_lead(LeadId::generate(), now()).unwrap();
        assert_eq!(
            unrecognized_fields(&lead),
            [("country", "Atlantis"), ("website", "not a url"), ("employee_count", "many"), ("company_size", "huge")]
        );
        let reasons: Vec<&str> = lead.unrecognized.iter().map(|u| u.reason.as_str()).collect();
        assert_eq!(reasons[0], "not a country in ISO 3166 or its names");
        assert!(reasons[1].starts_with("not a website address"), "{}", reasons[1]);
        assert_eq!(reasons[2], "not a number of employees or a size band");
        assert_eq!(reasons[3], "not a number of employees or a size band");
        // Each is noted like any other normalization: nothing stored, the rule says why.
        for u in &lead.unrecognized {
            let note = lead.normalized.iter().find(|n| n.field == u.field).unwrap();
            assert_eq!((note.from.as_str(), note.to.as_str()), (u.value.as_str(), ""));
            assert_eq!(note.rule, format!("unrecognized: {}", u.reason));
        }
        // Routing sees the fields as missing; the raw values that have a home stay in it.
        assert_eq!(lead.country, None);
        assert_eq!((lead.employee_count, lead.enrichment.size_band.as_deref()), (None, None));
        assert_eq!(lead.website.as_deref(), Some("not a url"));
        assert_eq!(lead.company_size.as_deref(), Some("huge"));
        assert_eq!(lead.enrichment.company_domain, None, "an unreadable website gives no company domain");
        assert!(lead.needs_data_review());
        assert!(!accept(r#"{"email":"ada@corp.example","country":"SE"}"#).unwrap().needs_data_review());
    }

    #[test]
    fn an_unreadable_website_leaves_the_company_domain_to_a_business_email() {
        let lead = accept(r#"{"email":"ada@corp.example","website":"ftp://corp.example"}"#).unwrap();
        assert_eq!(lead.unrecognized[0].reason, "a `ftp` address, not a website");
        assert_eq!(lead.enrichment.company_domain.as_deref(), Some("corp.example"));
        assert!(lead.normalized.iter().any(|n| n.field == "company_domain" && n.rule == "domain of a business email"));
    }

    #[test]
    fn hard_conditions_still_refuse_whatever_the_soft_fields_say() {
        let err =
            accept(r#"{"email":"nope","country":"Atlantis","website":"not a url","company_size":"huge"}"#).unwrap_err();
        let fields: Vec<String> = err.field_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["email"]);
        let err = accept(r#"{"country":"Atlantis"}"#).unwrap_err();
        assert_eq!(err.field_errors(), vec![FieldError::new("email", "an email or a phone number is required")]);
        let long = "x".repeat(MAX_SHORT_TEXT + 1);
        let err = accept(&format!(r#"{{"email":"a@b.co","country":"{long}"}}"#)).unwrap_err();
        assert_eq!(err.field_errors(), vec![FieldError::new("country", "is longer than 256 characters")]);
        let err = accept("{\"email\":\"a@b.co\",\"postal_code\":\"1\\u0007\"}").unwrap_err();
        assert_eq!(err.field_errors(), vec![FieldError::new("postal_code", "contains control characters")]);
        // Types are hard too: JSON says what it sends, so a string count is malformed.
        let err = accept(r#"{"email":"a@b.co","employee_count":"1,000"}"#).unwrap_err();
        let ContractError::Malformed(e) = err else { panic!("expected malformed, got {err:?}") };
        assert_eq!(e.field, "employee_count");
    }

    #[test]
    fn official_and_native_country_names_are_recognized() {
        for (raw, code) in [
            ("Kingdom of Sweden", "SE"),
            ("Federal Republic of Germany", "DE"),
            ("United Mexican States", "MX"),
            ("Deutschland", "DE"),
            ("日本", "JP"),
        ] {
            let lead = accept(&format!(r#"{{"email":"a@corp.example","country":"{raw}"}}"#)).unwrap();
            assert_eq!(lead.country.as_deref(), Some(code), "{raw}");
            assert!(!lead.needs_data_review(), "{raw}");
        }
    }

    #[test]
    fn an_ambiguous_country_name_is_not_guessed() {
        let lead = accept(r#"{"email":"a@corp.example","country":"Nigeri"}"#).unwrap();
        assert_eq!(lead.country, None);
        assert_eq!(
            lead.unrecognized[0].reason,
            "ambiguous: the name of more than one country: Niger (NE), Nigeria (NG)"
        );
    }

    #[test]
    fn form_employee_counts_are_read_with_separators_and_ranges_become_a_size_band() {
        let form = |count: &str| {
            let body = format!("email=a%40corp.example&employee_count={}", count.replace(' ', "+").replace(',', "%2C"));
            LeadSubmission::from_form(body.as_bytes()).unwrap().into_lead(LeadId::generate(), now()).unwrap()
        };
        for raw in ["1,000", "1 000", "1.000"] {
            let lead = form(raw);
            assert_eq!(lead.employee_count, Some(1000), "{raw}");
            assert_eq!(lead.enrichment.size_band.as_deref(), Some("201-1000"));
            assert!(lead.normalized.iter().any(|n| n.field == "employee_count" && n.from == raw && n.to == "1000"));
            assert!(!lead.needs_data_review());
        }
        let lead = form("50-200");
        assert_eq!(lead.employee_count, None, "a range is no count");
        assert_eq!(lead.company_size.as_deref(), Some("51-200"));
        assert_eq!(lead.enrichment.size_band.as_deref(), Some("51-200"));
        assert!(!lead.needs_data_review());
        let lead = form("about 50");
        assert_eq!(unrecognized_fields(&lead), [("employee_count", "about 50")]);
        assert_eq!(lead.employee_count, None);
    }

    #[test]
    fn company_sizes_are_normalized_to_bands_or_kept_and_flagged() {
        let lead = accept(r#"{"email":"a@corp.example","company_size":"51 to 200"}"#).unwrap();
        assert_eq!(
            (lead.company_size.as_deref(), lead.enrichment.size_band.as_deref()),
            (Some("51-200"), Some("51-200"))
        );
        assert!(lead.normalized.iter().any(|n| n.field == "company_size" && n.from == "51 to 200" && n.to == "51-200"));
        let lead = accept(r#"{"email":"a@corp.example","company_size":"10,000+ employees"}"#).unwrap();
        assert_eq!(lead.enrichment.size_band.as_deref(), Some("5001+"));
        let lead = accept(r#"{"email":"a@corp.example","company_size":"200+"}"#).unwrap();
        assert_eq!((lead.company_size.as_deref(), lead.enrichment.size_band.as_deref()), (Some("200+"), None));
        assert_eq!(unrecognized_fields(&lead), [("company_size", "200+")]);
        let lead = accept(r#"{"email":"a@corp.example","company_size":"huge","employee_count":40}"#).unwrap();
        assert_eq!(lead.enrichment.size_band.as_deref(), Some("11-50"), "a count outranks a size");
        assert!(lead.needs_data_review(), "the size is still flagged");
    }

    #[test]
    fn a_region_is_flagged_only_when_its_country_has_subdivisions_to_check() {
        let lead = accept(r#"{"email":"a@corp.example","country":"US","region":"Narnia"}"#).unwrap();
        assert_eq!((lead.country.as_deref(), lead.region.as_deref()), (Some("US"), None));
        assert_eq!(unrecognized_fields(&lead), [("region", "Narnia")]);
        assert_eq!(lead.unrecognized[0].reason, "not a subdivision of US in ISO 3166-2");
        let lead = accept(r#"{"email":"a@corp.example","country":"Atlantis","region":"Narnia"}"#).unwrap();
        assert_eq!(lead.region.as_deref(), Some("Narnia"), "nothing to check it against: kept as submitted");
        assert_eq!(unrecognized_fields(&lead), [("country", "Atlantis")]);
    }

    #[test]
    fn postal_codes_are_tidied_or_kept_and_flagged() {
        let lead = accept(r#"{"email":"a@corp.example","country":"GB","postal_code":" sw1a  1aa "}"#).unwrap();
        assert_eq!(lead.postal_code.as_deref(), Some("SW1A 1AA"));
        assert!(lead.normalized.iter().any(|n| n.field == "postal_code" && n.to == "SW1A 1AA"));
        let lead = accept(r#"{"email":"a@corp.example","postal_code":"n/a"}"#).unwrap();
        assert_eq!(lead.postal_code, None);
        assert_eq!(unrecognized_fields(&lead), [("postal_code", "n/a")]);
    }

    #[test]
    fn a_lead_whose_country_is_unrecognized_goes_to_the_fallback_not_to_a_country_rule() {
        let ruleset = crate::Ruleset::default_ruleset();
        let lead = |country: &str| {
            accept(&format!(
                r#"{{"email":"ada@corp.example","country":"{country}","source":{{"form_type":"demo_request"}}}}"#
            ))
            .unwrap()
        };
        let known = crate::decide(&lead("Kingdom of Sweden"), &ruleset, now());
        assert_eq!(known.rule, "europe", "the country rule owns a recognized country");
        let unknown = lead("Atlantis");
        let decision = crate::decide(&unknown, &ruleset, now());
        assert_eq!(decision.rule, "fallback");
        assert_eq!(decision.owner.id, ruleset.fallback.id);
        assert!(unknown.needs_data_review());
    }

    #[test]
    fn numbers_a_store_cannot_keep_are_refused_by_path() {
        let err = accept(r#"{"email":"a@b.co","attributes":{"big":1e200,"tiny":1e-200,"ok":1.5,"n":-7}}"#).unwrap_err();
        let fields: Vec<String> = err.field_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["attributes.big", "attributes.tiny"]);
    }

    #[test]
    fn attribute_values_with_control_characters_are_refused_by_path_like_other_text() {
        let err = accept("{\"email\":\"a@b.co\",\"attributes\":{\"bell\":\"ding\\u0007\",\"note\":\"line\\nbreak\"}}")
            .unwrap_err();
        let problems: Vec<(String, String)> = err.field_errors().into_iter().map(|e| (e.field, e.message)).collect();
        assert_eq!(problems, [("attributes.bell".to_owned(), "contains control characters".to_owned())]);
    }

    #[test]
    fn a_blank_submission_id_is_no_submission_id() {
        let s = LeadSubmission::from_json(br#"{"email":"a@b.co","submission_id":"  "}"#).unwrap();
        assert_eq!(s.submission_id(), None);
        let s = LeadSubmission::from_json(br#"{"email":"a@b.co","submission_id":" s-1 "}"#).unwrap();
        assert_eq!(s.submission_id(), Some("s-1"));
    }

    #[test]
    fn blank_values_count_as_absent() {
        let lead = accept(r#"{"email":"a@b.co","phone":"  ","company":" "}"#).unwrap();
        assert!(lead.phone.is_none());
        assert!(lead.company.is_none());
    }
}
