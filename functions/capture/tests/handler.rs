//! The capture handler, driven by a real API Gateway HTTP API (payload 2.0) event.

use std::sync::Arc;
use std::time::Duration;

use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryQueue, Outage};
use baton_adapters::{LeadStore, WorkQueue};
use baton_capture::Capture;
use baton_domain::{LeadId, LeadStatus, RouteRequest, WaitKind};
use chrono::TimeZone;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

const POST_LEADS: &str = include_str!("fixtures/apigw-v2-post-leads.json");

fn event(mutate: impl FnOnce(&mut Value)) -> Request {
    let mut v: Value = serde_json::from_str(POST_LEADS).unwrap();
    mutate(&mut v);
    lambda_http::request::from_str(&v.to_string()).expect("a valid API Gateway event")
}

fn with_body(body: &str) -> Request {
    event(|v| v["body"] = Value::String(body.to_owned()))
}

fn json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

struct World {
    store: Arc<MemoryLeadStore>,
    queue: Arc<MemoryQueue>,
    capture: Capture,
}

fn world() -> World {
    let store = Arc::new(MemoryLeadStore::new());
    let queue = Arc::new(MemoryQueue::default());
    let clock = Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
    ));
    World {
        capture: Capture::new(store.clone(), queue.clone(), clock),
        store,
        queue,
    }
}

#[tokio::test]
async fn a_valid_lead_is_stored_queued_and_accepted() {
    let w = world();
    let response = w.capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 202);
    let body = json(&response);
    assert_eq!(body["status"], "captured");
    let id = LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap();

    let lead = w.store.get(&id).await.unwrap().expect("stored");
    assert_eq!(lead.status, LeadStatus::Captured);
    assert_eq!(lead.email.unwrap().as_str(), "ada@analytical.example");

    let messages = w.queue.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(messages.len(), 1);
    let request: RouteRequest = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(request.lead_id, id);
}

#[tokio::test]
async fn a_lead_without_email_or_phone_gets_a_400_naming_the_field() {
    let w = world();
    let response = w.capture.handle(with_body(r#"{"first_name":"Ada"}"#)).await;
    assert_eq!(response.status(), 400);
    let body = json(&response);
    assert_eq!(body["error"], "invalid_lead");
    assert_eq!(body["errors"][0]["field"], "email");
    assert_eq!(
        body["errors"][0]["message"],
        "an email or a phone number is required"
    );
    assert!(
        w.store.all().is_empty(),
        "nothing is stored for a refused lead"
    );
    assert!(w.queue.is_empty());
}

#[tokio::test]
async fn every_problem_is_listed_in_one_answer() {
    let w = world();
    let response = w
        .capture
        .handle(with_body(r#"{"email":"ada@","phone":"12"}"#))
        .await;
    assert_eq!(response.status(), 400);
    let fields: Vec<String> = json(&response)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["email", "phone"]);
}

#[tokio::test]
async fn malformed_json_gets_a_400_not_a_500() {
    let w = world();
    for body in ["{", "[]", "null", r#"{"email": 5}"#, "\u{0}\u{1}garbage"] {
        let response = w.capture.handle(with_body(body)).await;
        assert_eq!(response.status(), 400, "body {body:?}");
        assert_eq!(json(&response)["error"], "malformed_lead", "body {body:?}");
    }
}

#[tokio::test]
async fn a_non_json_content_type_gets_a_415() {
    let w = world();
    let response = w
        .capture
        .handle(event(|v| {
            v["headers"]["content-type"] = "text/plain".into()
        }))
        .await;
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn an_oversized_body_gets_a_413() {
    let w = world();
    let big = format!(
        r#"{{"email":"a@b.co","message":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let response = w.capture.handle(with_body(&big)).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn other_routes_and_methods_are_refused_clearly() {
    let w = world();
    let response = w
        .capture
        .handle(event(|v| {
            v["rawPath"] = "/nope".into();
            v["requestContext"]["http"]["path"] = "/nope".into();
        }))
        .await;
    assert_eq!(response.status(), 404);
    let response = w
        .capture
        .handle(event(|v| {
            v["requestContext"]["http"]["method"] = "GET".into()
        }))
        .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn an_unavailable_store_gets_a_503_with_retry_after_and_nothing_is_queued() {
    let queue = Arc::new(MemoryQueue::default());
    let capture = Capture::new(
        Arc::new(Outage("DynamoDB")),
        queue.clone(),
        Arc::new(baton_adapters::SystemClock),
    );
    let response = capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(queue.is_empty());
}

#[tokio::test]
async fn an_unavailable_queue_still_accepts_the_lead_and_leaves_it_waiting_for_routing() {
    let store = Arc::new(MemoryLeadStore::new());
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let capture = Capture::new(
        store.clone(),
        Arc::new(Outage("SQS")),
        Arc::new(ManualClock::new(now)),
    );
    let response = capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 202);
    let later = now + baton_domain::sla::routing_grace();
    let waiting = store.overdue(WaitKind::Routing, later, 10).await.unwrap();
    assert_eq!(
        waiting.len(),
        1,
        "the stored lead is found by the sweep's routing query"
    );
}
