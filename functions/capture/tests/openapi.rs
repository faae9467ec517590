//! The published OpenAPI document (`infra/api/openapi.json`) and the contract the code enforces
//! name exactly the same fields. (The document itself is validated by `openapi-spec-validator`
//! in `infra/scripts/test.sh`.)

use std::collections::BTreeSet;

use baton_domain::LeadSubmission;
use serde_json::Value;

const OPENAPI: &str = include_str!("../../../infra/api/openapi.json");

/// The fields the contract accepts at `path`, read from its refusal of an unknown field.
fn accepted_fields(document_with_unknown_field: &str) -> BTreeSet<String> {
    let err =
        LeadSubmission::from_json(document_with_unknown_field.as_bytes()).expect_err("an unknown field is refused");
    let message = &err.field_errors()[0].message;
    let list = message.split("expected one of ").nth(1).unwrap_or_else(|| panic!("no field list in {message:?}"));
    list.split(',').map(|f| f.trim().trim_end_matches(|c: char| c != '`').trim_matches('`').to_owned()).collect()
}

fn documented(schema: &str) -> BTreeSet<String> {
    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    doc["components"]["schemas"][schema]["properties"].as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_document_lists_every_submission_field_and_no_other() {
    assert_eq!(accepted_fields(r#"{"not_a_field":1}"#), documented("LeadSubmission"));
}

#[test]
fn the_document_lists_every_source_field_and_no_other() {
    assert_eq!(accepted_fields(r#"{"source":{"not_a_field":1}}"#), documented("Source"));
}

#[test]
fn the_document_lists_every_consent_field_and_no_other() {
    assert_eq!(accepted_fields(r#"{"consent":{"not_a_field":1}}"#), documented("Consent"));
}

#[test]
fn the_documented_limits_are_the_enforced_ones() {
    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    let lead = &doc["components"]["schemas"]["LeadSubmission"]["properties"];
    assert_eq!(lead["message"]["maxLength"], baton_domain::contract::MAX_MESSAGE);
    assert_eq!(lead["first_name"]["maxLength"], baton_domain::contract::MAX_SHORT_TEXT);
    assert_eq!(lead["attributes"]["maxProperties"], baton_domain::contract::MAX_ATTRIBUTES);
    assert_eq!(lead["attributes"]["additionalProperties"]["maxLength"], baton_domain::contract::MAX_ATTRIBUTE_VALUE);
}

#[test]
fn the_document_lists_every_first_touch_field_and_no_other() {
    assert_eq!(accepted_fields(r#"{"source":{"first_touch":{"not_a_field":1}}}"#), documented("FirstTouch"));
}
