//! Properties of the lead contract's parsers: arbitrary input never panics, and every outcome is
//! either a usable lead or a list of named problems.

use baton_domain::{ContractError, LeadId, LeadSubmission};
use chrono::TimeZone;
use proptest::prelude::*;

fn now() -> baton_domain::Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn check(parsed: Result<LeadSubmission, ContractError>) {
    match parsed.and_then(|s| s.into_lead(LeadId::generate(), now())) {
        Ok(lead) => {
            assert!(lead.email.is_some() || lead.phone.is_some(), "a lead always has a way to reach the person")
        }
        Err(e) => {
            let errors = e.field_errors();
            assert!(!errors.is_empty(), "a refusal names at least one problem");
            assert!(errors.iter().all(|f| !f.field.is_empty() && !f.message.is_empty()));
        }
    }
}

const FIELDS: &[&str] = &[
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "website",
    "job_title",
    "country",
    "region",
    "postal_code",
    "company_size",
    "employee_count",
    "product_interest",
    "message",
    "submission_id",
    "_honeypot",
    "utm_source",
    "source.page_url",
    "source.captured_at",
    "consent",
    "consent.timestamp",
    "consent.ip",
    "attributes[plan]",
    "attributes.seats",
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<String>().prop_map(serde_json::Value::from),
        "[a-z0-9@.+() -]{0,40}".prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!({"granted": true, "ip": "x"})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_json_parser(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(LeadSubmission::from_json(&body));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_form_parser(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(LeadSubmission::from_form(&body));
    }

    #[test]
    fn arbitrary_form_fields_never_panic(pairs in proptest::collection::vec((proptest::sample::select(FIELDS), any::<String>()), 0..12)) {
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        check(LeadSubmission::from_form(body.as_bytes()));
    }

    #[test]
    fn arbitrary_values_in_known_fields_never_panic(
        fields in proptest::collection::btree_map(
            proptest::sample::select(&["email", "phone", "country", "region", "website", "job_title", "company", "employee_count", "consent", "source", "attributes"][..]),
            json_value(),
            0..8,
        )
    ) {
        let doc = serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        check(LeadSubmission::from_json(doc.to_string().as_bytes()));
    }
}
