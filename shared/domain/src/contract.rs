//! The `POST /leads` contract (version 1) and the queue message that hands a lead to routing.
//!
//! Parsing is two steps: [`LeadSubmission::from_json`] turns bytes into the typed
//! submission (reporting the path of a malformed field), then
//! [`LeadSubmission::into_lead`] checks every field at once and builds the [`Lead`].

use serde::{Deserialize, Serialize};

use crate::{Email, Lead, LeadId, LeadStatus, Phone, Source, Timestamp};

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
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
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

/// The source-tracking part of a submission.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSubmission {
    pub form_id: Option<String>,
    pub form_type: Option<String>,
    pub page_url: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
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
    pub job_title: Option<String>,
    pub country: Option<String>,
    pub message: Option<String>,
    #[serde(default)]
    pub source: SourceSubmission,
}

impl LeadSubmission {
    /// Parses a JSON body. Fails with the path and reason of the first malformed part
    /// (bad JSON, a wrong type, an unknown field).
    pub fn from_json(body: &[u8]) -> Result<Self, ContractError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body".to_owned() } else { path };
            ContractError::Malformed(FieldError::new(field, e.inner().to_string()))
        })?;
        de.end()
            .map_err(|e| ContractError::Malformed(FieldError::new("body", e.to_string())))?;
        Ok(parsed)
    }

    /// Validates every field and builds a new, captured lead. Lists every problem at once.
    pub fn into_lead(self, id: LeadId, now: Timestamp) -> Result<Lead, ContractError> {
        let mut errors = Vec::new();
        let email = parse_optional(&mut errors, "email", self.email, Email::parse);
        let phone = parse_optional(&mut errors, "phone", self.phone, Phone::parse);
        if email.is_none() && phone.is_none() && errors.is_empty() {
            errors.push(FieldError::new(
                "email",
                "an email or a phone number is required",
            ));
        }
        let mut text = |field: &str, value: Option<String>, max: usize| -> Option<String> {
            let value = value
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())?;
            if value.chars().count() > max {
                errors.push(FieldError::new(
                    field,
                    format!("is longer than {max} characters"),
                ));
                return None;
            }
            Some(value)
        };
        let first_name = text("first_name", self.first_name, MAX_SHORT_TEXT);
        let last_name = text("last_name", self.last_name, MAX_SHORT_TEXT);
        let company = text("company", self.company, MAX_SHORT_TEXT);
        let job_title = text("job_title", self.job_title, MAX_SHORT_TEXT);
        let country = text("country", self.country, MAX_SHORT_TEXT);
        let message = text("message", self.message, MAX_MESSAGE);
        let source = Source {
            form_id: text("source.form_id", self.source.form_id, MAX_SHORT_TEXT),
            form_type: text("source.form_type", self.source.form_type, MAX_SHORT_TEXT),
            page_url: text("source.page_url", self.source.page_url, MAX_URL),
            utm_source: text("source.utm_source", self.source.utm_source, MAX_SHORT_TEXT),
            utm_medium: text("source.utm_medium", self.source.utm_medium, MAX_SHORT_TEXT),
            utm_campaign: text(
                "source.utm_campaign",
                self.source.utm_campaign,
                MAX_SHORT_TEXT,
            ),
        };
        if !errors.is_empty() {
            return Err(ContractError::Invalid(errors));
        }
        Ok(Lead {
            id,
            status: LeadStatus::Captured,
            email,
            phone,
            first_name,
            last_name,
            company,
            job_title,
            country,
            message,
            source,
            captured_at: now,
            decision: None,
            touched_at: None,
            escalated_at: None,
        })
    }
}

fn parse_optional<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: Option<String>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    let raw = raw.filter(|v| !v.trim().is_empty())?;
    match parse(&raw) {
        Ok(value) => Some(value),
        Err(message) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
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
    fn a_lead_with_an_email_is_captured_normalized() {
        let lead = accept(
            r#"{"email":" Ada@Example.com ","first_name":"Ada","company":"Analytical Engines",
                "source":{"form_type":"demo_request","utm_campaign":"launch"}}"#,
        )
        .unwrap();
        assert_eq!(lead.status, LeadStatus::Captured);
        assert_eq!(lead.email.unwrap().as_str(), "ada@example.com");
        assert_eq!(lead.source.form_type.as_deref(), Some("demo_request"));
        assert_eq!(lead.captured_at, now());
    }

    #[test]
    fn a_lead_without_email_or_phone_is_rejected() {
        let err = accept(r#"{"first_name":"Ada"}"#).unwrap_err();
        assert_eq!(
            err.field_errors(),
            vec![FieldError::new(
                "email",
                "an email or a phone number is required"
            )]
        );
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let long = "x".repeat(MAX_SHORT_TEXT + 1);
        let body = format!(r#"{{"email":"nope","phone":"abc","company":"{long}"}}"#);
        let fields: Vec<String> = accept(&body)
            .unwrap_err()
            .field_errors()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["email", "phone", "company"]);
    }

    #[test]
    fn a_wrong_type_names_the_field_path() {
        let err = accept(r#"{"email":"a@b.co","source":{"utm_source":7}}"#).unwrap_err();
        let ContractError::Malformed(e) = err else {
            panic!("expected malformed, got {err:?}")
        };
        assert_eq!(e.field, "source.utm_source");
        assert!(e.message.contains("invalid type"), "{}", e.message);
    }

    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let err = accept(r#"{"email":"a@b.co","emial":"x"}"#).unwrap_err();
        assert!(
            err.field_errors()[0]
                .message
                .contains("unknown field `emial`")
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed() {
        let err = accept("email=a@b.co").unwrap_err();
        assert_eq!(err.field_errors()[0].field, "body");
        let err = accept(r#"{"email":"a@b.co"} trailing"#).unwrap_err();
        assert_eq!(err.field_errors()[0].field, "body");
    }

    #[test]
    fn blank_values_count_as_absent() {
        let lead = accept(r#"{"email":"a@b.co","phone":"  ","company":" "}"#).unwrap();
        assert!(lead.phone.is_none());
        assert!(lead.company.is_none());
    }
}
