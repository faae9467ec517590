//! Transparent scoring: each criterion adds points with a reason a person can read.

use serde::{Deserialize, Serialize};

use crate::Lead;
use crate::normalize::Seniority;

/// How urgently a lead should be worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Cold,
    Warm,
    Hot,
}

impl Priority {
    /// The lower-case name used in messages and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Warm => "warm",
            Self::Hot => "hot",
        }
    }
}

/// One criterion's contribution to a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreReason {
    pub points: i32,
    pub reason: String,
}

/// A lead's score: the total, the priority it implies and the itemized reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub points: i32,
    pub priority: Priority,
    pub reasons: Vec<ScoreReason>,
}

/// Scores at or above this are hot.
pub const HOT_AT: i32 = 60;
/// Scores at or above this (and below [`HOT_AT`]) are warm.
pub const WARM_AT: i32 = 30;

/// Scores a lead by its intent (what it asked for) and fit (what it told us).
pub fn score(lead: &Lead) -> Score {
    let mut reasons = Vec::new();
    let mut add = |points: i32, reason: String| reasons.push(ScoreReason { points, reason });

    match lead.source.form_type.as_deref() {
        Some("demo_request") => add(40, "asked for a demo".into()),
        Some("contact_sales") => add(30, "asked to talk to sales".into()),
        Some("pricing") => add(25, "asked about pricing".into()),
        Some("content_download") => add(5, "downloaded content".into()),
        _ => {}
    }
    if let Some(email) = &lead.email {
        if lead.enrichment.personal_email {
            add(-10, format!("personal email domain ({})", email.domain()));
        } else {
            add(15, format!("business email domain ({})", email.domain()));
        }
    }
    if lead.phone.is_some() {
        add(10, "gave a phone number".into());
    }
    if lead.company.is_some() {
        add(10, "named a company".into());
    }
    if let (Some(seniority), Some(title)) = (lead.enrichment.seniority, &lead.job_title)
        && seniority >= Seniority::Director
    {
        add(15, format!("senior title ({title})"));
    }
    if lead.message.as_deref().is_some_and(|m| m.len() >= 40) {
        add(5, "wrote a detailed message".into());
    }

    let points = reasons.iter().map(|r| r.points).sum();
    let priority = if points >= HOT_AT {
        Priority::Hot
    } else if points >= WARM_AT {
        Priority::Warm
    } else {
        Priority::Cold
    };
    Score { points, priority, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadId, LeadSubmission};

    fn lead(json: &str) -> Lead {
        LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), chrono::Utc::now()).unwrap()
    }

    #[test]
    fn a_senior_demo_request_from_a_business_domain_is_hot_and_says_why() {
        let s = score(&lead(
            r#"{"email":"cto@acme.io","phone":"+1 415 555 0100","company":"Acme","job_title":"VP Engineering",
                "source":{"form_type":"demo_request"}}"#,
        ));
        assert_eq!(s.priority, Priority::Hot);
        assert_eq!(s.points, 40 + 15 + 10 + 10 + 15);
        let reasons: Vec<&str> = s.reasons.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "asked for a demo",
                "business email domain (acme.io)",
                "gave a phone number",
                "named a company",
                "senior title (VP Engineering)"
            ]
        );
    }

    #[test]
    fn a_content_download_from_a_free_mail_address_is_cold() {
        let s = score(&lead(r#"{"email":"someone@gmail.com","source":{"form_type":"content_download"}}"#));
        assert_eq!(s.priority, Priority::Cold);
        assert_eq!(s.points, -5);
    }

    #[test]
    fn the_total_is_the_sum_of_the_reasons() {
        let s = score(&lead(r#"{"email":"a@corp.example","company":"Corp","source":{"form_type":"contact_sales"}}"#));
        assert_eq!(s.points, s.reasons.iter().map(|r| r.points).sum::<i32>());
        assert_eq!(s.priority, Priority::Warm);
    }

    #[test]
    fn title_words_match_whole_words_only() {
        let s = score(&lead(r#"{"email":"a@corp.example","job_title":"Overhead analyst"}"#));
        assert!(s.reasons.iter().all(|r| !r.reason.starts_with("senior")));
    }
}
