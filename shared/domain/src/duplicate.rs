//! Possible duplicates: leads that may be the same person as another but are never merged with
//! it, because only an email (or a phone with no email disagreeing) says two submissions are one
//! person ([`crate::Lead::same_person_by_phone`]). The rep and the audit see each candidate with
//! the reason, and decide.
//!
//! Two leads are possible duplicates when they share an international phone number (colleagues
//! at a switchboard, or one person with two addresses), or when they have the same normalized
//! name ([`crate::text::name_key`]) at the same company (its matching key or its domain).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Lead, LeadId};

/// The most possible duplicates a lead records.
pub const MAX_POSSIBLE_DUPLICATES: usize = 10;

/// Why two leads may be the same person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DuplicateReason {
    /// Both have this phone number (E.164), and their emails differ or one has none.
    SamePhone { phone: String },
    /// Both have this name (normalized) at this company (its key or domain).
    SameNameAtCompany { name: String, company: String },
}

impl fmt::Display for DuplicateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SamePhone { phone } => write!(f, "same phone {phone}"),
            Self::SameNameAtCompany { name, company } => {
                write!(f, "same name “{name}” at the same company ({company})")
            }
        }
    }
}

/// Another lead that may be the same person, with every reason found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PossibleDuplicate {
    #[schemars(with = "String")]
    pub lead_id: LeadId,
    /// The other lead's label ("First Last", else its email or phone) when it was found.
    pub name: String,
    pub reasons: Vec<DuplicateReason>,
}

impl PossibleDuplicate {
    /// The reasons as one line for a person: "same phone +14155552671; same name …".
    pub fn explain(&self) -> String {
        self.reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    }
}

/// The company two leads are compared at: the company key, else the company domain.
fn company_of(lead: &Lead) -> Option<&str> {
    lead.enrichment.company_key.as_deref().filter(|k| !k.is_empty()).or(lead.enrichment.company_domain.as_deref())
}

impl Lead {
    /// The keys under which leads that may be this person are found: `phone:<E.164>` and
    /// `person:<name key>@<company>`. A store indexes each lead under them.
    pub fn match_keys(&self) -> Vec<String> {
        let phone =
            self.phone.as_ref().filter(|p| p.as_str().starts_with('+')).map(|p| format!("phone:{}", p.as_str()));
        let person = crate::text::name_key(self.first_name.as_deref(), self.last_name.as_deref())
            .zip(company_of(self))
            .map(|(name, company)| format!("person:{name}@{company}"));
        phone.into_iter().chain(person).collect()
    }

    /// Why `other` may be the same person as this lead, or nothing. The same lead, and a lead
    /// with the same email (the same person, merged rather than flagged), are not duplicates.
    pub fn duplicate_reasons(&self, other: &Lead) -> Vec<DuplicateReason> {
        if other.id == self.id || (self.email.is_some() && self.email == other.email) {
            return Vec::new();
        }
        let mut reasons = Vec::new();
        if let (Some(a), Some(b)) = (&self.phone, &other.phone)
            && a == b
            && a.as_str().starts_with('+')
        {
            reasons.push(DuplicateReason::SamePhone { phone: a.as_str().to_owned() });
        }
        let name = crate::text::name_key(self.first_name.as_deref(), self.last_name.as_deref());
        let other_name = crate::text::name_key(other.first_name.as_deref(), other.last_name.as_deref());
        if let (Some(name), Some(company)) = (name, company_of(self))
            && other_name.as_ref() == Some(&name)
            && company_of(other) == Some(company)
        {
            reasons.push(DuplicateReason::SameNameAtCompany { name, company: company.to_owned() });
        }
        reasons
    }

    /// This lead with the possible duplicates found among `candidates` recorded (added to those
    /// it has, each lead once, at most [`MAX_POSSIBLE_DUPLICATES`]). Nothing is merged.
    pub fn with_possible_duplicates<'a>(mut self, candidates: impl IntoIterator<Item = &'a Lead>) -> Lead {
        for other in candidates {
            let reasons = self.duplicate_reasons(other);
            if reasons.is_empty() {
                continue;
            }
            let full = self.possible_duplicates.len() >= MAX_POSSIBLE_DUPLICATES;
            match self.possible_duplicates.iter_mut().find(|d| d.lead_id == other.id) {
                Some(known) => {
                    for r in reasons {
                        if !known.reasons.contains(&r) {
                            known.reasons.push(r);
                        }
                    }
                }
                None if !full => self.possible_duplicates.push(PossibleDuplicate {
                    lead_id: other.id.clone(),
                    name: other.display_name(),
                    reasons,
                }),
                None => {}
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn lead(json: &str) -> Lead {
        crate::LeadSubmission::from_json(json.as_bytes())
            .unwrap()
            .into_lead(LeadId::generate(), chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap())
            .unwrap()
    }

    #[test]
    fn colleagues_at_one_switchboard_are_flagged_not_merged() {
        let ada = lead(r#"{"email":"ada@corp.example","phone":"+14155552671","first_name":"Ada"}"#);
        let bob = lead(r#"{"email":"bob@corp.example","phone":"+1 415 555 2671","first_name":"Bob"}"#);
        assert!(!ada.same_person_by_phone(&bob));
        let flagged = bob.clone().with_possible_duplicates([&ada]);
        assert_eq!(flagged.possible_duplicates.len(), 1);
        let d = &flagged.possible_duplicates[0];
        assert_eq!((&d.lead_id, d.name.as_str()), (&ada.id, "Ada"));
        assert_eq!(d.explain(), "same phone +14155552671");
        assert_eq!(flagged.email, bob.email, "nothing merged");
    }

    #[test]
    fn the_same_name_at_the_same_company_is_flagged_however_it_was_typed() {
        let a = lead(
            r#"{"email":"renee@acme.example","first_name":"Rene\u0301e","last_name":"O'Brien","company":"ACME, Inc."}"#,
        );
        let b = lead(
            r#"{"email":"r.obrien@gmail.com","first_name":"RENÉE","last_name":"O Brien","company":"Acme Incorporated"}"#,
        );
        let reasons = b.duplicate_reasons(&a);
        assert_eq!(
            reasons,
            [DuplicateReason::SameNameAtCompany { name: "renée o brien".into(), company: "acme".into() }]
        );
        let other_company =
            lead(r#"{"email":"x@globex.example","first_name":"Renée","last_name":"O'Brien","company":"Globex"}"#);
        assert!(b.duplicate_reasons(&other_company).is_empty());
        assert_eq!(a.match_keys(), ["person:renée o brien@acme"]);
    }

    #[test]
    fn the_same_lead_or_the_same_email_is_no_duplicate_and_each_lead_is_listed_once() {
        let a = lead(r#"{"email":"a@corp.example","phone":"+14155552671","first_name":"A","company":"Corp"}"#);
        assert!(a.duplicate_reasons(&a).is_empty());
        let same_email = lead(r#"{"email":"a@corp.example","phone":"+14155552671"}"#);
        assert!(a.duplicate_reasons(&same_email).is_empty());
        let twin = lead(r#"{"email":"b@corp.example","phone":"+14155552671","first_name":"A","company":"Corp"}"#);
        let flagged = twin.with_possible_duplicates([&a, &a]);
        assert_eq!(flagged.possible_duplicates.len(), 1);
        assert_eq!(flagged.possible_duplicates[0].reasons.len(), 2);
    }
}
