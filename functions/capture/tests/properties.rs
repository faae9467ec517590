//! Whatever arrives, capture answers with a 2xx or a 4xx and a JSON body: never a 5xx, never a panic.

use std::sync::Arc;

use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryQueue};
use baton_capture::Capture;
use baton_capture::keys::CaptureKeys;
use proptest::prelude::*;
use serde_json::json;

fn capture() -> Capture {
    let keys = CaptureKeys::from_json(r#"[{"id":"site","public_key":"pk","allowed_origins":["*"]}]"#).unwrap();
    Capture::new(
        Arc::new(MemoryLeadStore::new()),
        Arc::new(MemoryQueue::default()),
        Arc::new(keys),
        Arc::new(ManualClock::new(chrono::Utc::now())),
    )
}

fn request(method: &str, content_type: &str, key: Option<&str>, body: &str) -> lambda_http::Request {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), content_type.into());
    if let Some(key) = key {
        headers.insert("x-baton-key".into(), key.into());
    }
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/leads", "rawQueryString": "", "headers": headers,
        "requestContext": { "http": { "method": method, "path": "/leads", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1" },
                            "accountId": "1", "apiId": "a", "requestId": "r", "routeKey": "$default", "stage": "$default",
                            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 0 },
        "body": body, "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_a_json_answer_below_500(
        method in proptest::sample::select(&["POST", "GET", "PUT", "OPTIONS", "DELETE"][..]),
        content_type in proptest::sample::select(&["application/json", "application/x-www-form-urlencoded", "text/plain", "application/problem+json", ""][..]),
        key in proptest::option::of(proptest::sample::select(&["pk", "nope", ""][..])),
        body in prop_oneof![any::<String>(), "\\{\"email\":\"[a-z@.]{0,12}\",\"phone\":\"[0-9+ ]{0,16}\",\"country\":\"[A-Za-z]{0,12}\"\\}", "(email|phone|_key|country)=[a-z0-9%@.+]{0,20}(&[a-z_.]{1,12}=[a-z0-9%]{0,12}){0,4}"],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let response = runtime.block_on(capture().handle(request(method, content_type, key, &body)));
        prop_assert!(response.status().as_u16() < 500, "status {}", response.status());
        if response.status().as_u16() != 204 {
            let parsed: Result<serde_json::Value, _> = serde_json::from_slice(response.body().as_ref());
            prop_assert!(parsed.is_ok(), "a JSON body");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Different email addresses are different people, whatever their phones and names and in
    /// whatever order they arrive; a submission without an email may join a lead by its phone.
    #[test]
    fn submissions_with_distinct_emails_never_share_a_lead(
        people in proptest::collection::vec(
            (0usize..4, proptest::option::of(0usize..3), proptest::sample::select(&["Ann", "Ben", "Ann Lee"][..])),
            1..8,
        ),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let capture = capture();
        let mut lead_of_email: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for (email, phone, name) in people {
            let email = format!("person{email}@corp.example");
            let mut body = json!({ "email": email, "first_name": name });
            if let Some(phone) = phone {
                body["phone"] = format!("+1415555010{phone}").into();
            }
            let response = runtime.block_on(capture.handle(request("POST", "application/json", Some("pk"), &body.to_string())));
            prop_assert_eq!(response.status().as_u16(), 202);
            let answer: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
            let id = answer["lead_id"].as_str().unwrap().to_owned();
            let known = lead_of_email.entry(email.clone()).or_insert_with(|| id.clone());
            prop_assert_eq!(&*known, &id, "the same email always lands on its own lead");
        }
        let ids: std::collections::HashSet<&String> = lead_of_email.values().collect();
        prop_assert_eq!(ids.len(), lead_of_email.len(), "two emails shared a lead: {:?}", lead_of_email);
    }
}
