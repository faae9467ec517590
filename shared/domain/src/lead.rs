//! The lead record and the validated value types it is made of.

use serde::{Deserialize, Serialize};
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

/// A phone number reduced to its digits, with a leading `+` when one was given.
///
/// Seven to fifteen digits (the E.164 maximum). Country-aware normalization to
/// E.164 belongs to the capture contract's enrichment step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number written with the usual separators (spaces, dots, dashes, parentheses).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        let plus = trimmed.starts_with('+');
        let mut digits = String::with_capacity(trimmed.len());
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                other => {
                    return Err(format!(
                        "contains `{other}`, which is not part of a phone number"
                    ));
                }
            }
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(format!("has {} digits; expected 7 to 15", digits.len()));
        }
        Ok(Self(if plus { format!("+{digits}") } else { digits }))
    }

    /// The normalized number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

/// Where a lead stands in its journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// Where a lead came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// A lead as Baton stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub status: LeadStatus,
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
    /// The country as submitted (ISO codes are matched case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default)]
    pub source: Source,
    pub captured_at: Timestamp,
    /// Set once, when the lead is assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touched_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<Timestamp>,
}

impl Lead {
    /// "First Last", the email, the phone, or the id: the best human label available.
    pub fn display_name(&self) -> String {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !name.is_empty() {
            return name;
        }
        self.email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .or_else(|| self.phone.as_ref().map(|p| p.as_str().to_owned()))
            .unwrap_or_else(|| self.id.to_string())
    }
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
        assert_eq!(
            Email::parse("@example.com").unwrap_err(),
            "has nothing before the `@`"
        );
        assert_eq!(
            Email::parse("ada@localhost").unwrap_err(),
            "has an invalid domain `localhost`"
        );
        assert_eq!(
            Email::parse("a b@example.com").unwrap_err(),
            "contains spaces or control characters"
        );
        assert_eq!(
            Email::parse("a@b@example.com").unwrap_err(),
            "has more than one `@`"
        );
        assert_eq!(Email::parse("   ").unwrap_err(), "is empty");
    }

    #[test]
    fn a_phone_keeps_digits_and_a_leading_plus() {
        assert_eq!(
            Phone::parse("+1 (415) 555-0100").unwrap().as_str(),
            "+14155550100"
        );
        assert_eq!(Phone::parse("030 1234567").unwrap().as_str(), "0301234567");
    }

    #[test]
    fn a_phone_with_letters_or_too_few_digits_is_rejected() {
        assert!(Phone::parse("call me").unwrap_err().contains("`c`"));
        assert_eq!(
            Phone::parse("12345").unwrap_err(),
            "has 5 digits; expected 7 to 15"
        );
    }

    #[test]
    fn a_lead_id_must_be_a_uuid() {
        let id = LeadId::generate();
        assert_eq!(LeadId::parse(id.as_str()).unwrap(), id);
        assert!(LeadId::parse("lead-1").is_err());
    }
}
