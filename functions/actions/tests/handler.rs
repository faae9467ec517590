//! The actions handler over API Gateway events: signed Slack button presses become touches.

use std::sync::Arc;

use baton_actions::Actions;
use baton_actions::signature::sign;
use baton_adapters::LeadRepository;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryPublisher, RecordingNotifier};
use baton_app::lead::transition;
use baton_domain::{EventType, Lead, LeadId, LeadStatus, LeadSubmission, Ruleset, TouchKind, decide};
use chrono::TimeZone;
use lambda_http::Body;
use lambda_http::Response;
use secrecy::SecretString;
use serde_json::json;

const SECRET: &str = "test-signing-secret";
const RESPONSE_URL: &str = "https://hooks.slack.com/actions/T0/1/abc";

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 5, 0).unwrap()
}

/// A form body as Slack sends it: `payload=<url-encoded JSON>`.
fn press(kind: &str, lead: &LeadId) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": "U0JONAS001", "username": "jonas" },
        "response_url": RESPONSE_URL,
        "actions": [ { "action_id": format!("baton_touch_{kind}"), "value": lead.to_string(), "type": "button" } ],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

fn request(body: &str, timestamp: i64, signature: Option<String>) -> lambda_http::Request {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), "application/x-www-form-urlencoded".into());
    headers.insert("x-slack-request-timestamp".into(), timestamp.to_string().into());
    if let Some(s) = signature {
        headers.insert("x-slack-signature".into(), s.into());
    }
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/slack/actions", "rawQueryString": "", "headers": headers,
        "requestContext": { "http": { "method": "POST", "path": "/slack/actions", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.9" },
                            "accountId": "1", "apiId": "actions", "requestId": "r", "routeKey": "$default", "stage": "$default",
                            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 0 },
        "body": body, "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn signed(body: &str) -> lambda_http::Request {
    let ts = now().timestamp();
    request(body, ts, Some(sign(&SecretString::from(SECRET), ts, body.as_bytes())))
}

struct World {
    store: Arc<MemoryLeadStore>,
    events: Arc<MemoryPublisher>,
    slack: Arc<RecordingNotifier>,
    actions: Actions,
    lead: Lead,
}

async fn world() -> World {
    world_of(r#"{"email":"ada@analytical.example","first_name":"Ada","country":"GB"}"#).await
}

async fn world_of(json: &str) -> World {
    let t0 = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let lead = LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), t0).unwrap();
    let store = Arc::new(MemoryLeadStore::new());
    store.capture(&lead, None).await.unwrap();
    let decision = decide(&lead, &Ruleset::default_ruleset(), t0);
    transition(store.as_ref(), &lead.id, |l| l.assign(decision.clone())).await.unwrap();
    let events = Arc::new(MemoryPublisher::new());
    let slack = Arc::new(RecordingNotifier::new());
    let actions = Actions::new(
        store.clone(),
        events.clone(),
        slack.clone(),
        SecretString::from(SECRET),
        Arc::new(ManualClock::new(now())),
    );
    World { store, events, slack, actions, lead }
}

fn status(r: &Response<Body>) -> u16 {
    r.status().as_u16()
}

#[tokio::test]
async fn a_signed_button_press_records_the_first_touch_and_updates_the_message() {
    let w = world().await;
    let r = w.actions.handle(signed(&press("called", &w.lead.id))).await;
    assert_eq!(status(&r), 200);

    let stored = w.store.get(&w.lead.id).await.unwrap().unwrap();
    assert_eq!((stored.status(), stored.touched_at()), (LeadStatus::Touched, Some(now())));
    assert_eq!(stored.awaiting(), None, "the SLA clock stopped");
    assert_eq!((stored.touches[0].kind, stored.touches[0].by.as_str()), (TouchKind::Called, "U0JONAS001"));

    let published = w.events.published();
    assert!(
        matches!(&published[..], [e] if e.kind == EventType::Touched && e.touch.as_ref().unwrap().kind == TouchKind::Called)
    );
    assert!(stored.outbox.is_empty(), "a published touch leaves the outbox");

    let responses = w.slack.responses();
    assert_eq!(responses[0].0, RESPONSE_URL);
    assert_eq!(responses[0].1["replace_original"], true);
    let text = responses[0].1.to_string();
    assert!(text.contains("<@U0JONAS001> logged a call"), "{text}");
}

#[tokio::test]
async fn later_presses_are_activity_and_not_a_fit_closes_the_lead() {
    let w = world().await;
    w.actions.handle(signed(&press("accepted", &w.lead.id))).await;
    w.actions.handle(signed(&press("meeting_booked", &w.lead.id))).await;
    let text = w.slack.responses()[1].1.to_string();
    assert!(text.contains("accepted the lead") && text.contains("booked a meeting"), "{text}");
    w.actions.handle(signed(&press("not_a_fit", &w.lead.id))).await;
    assert_eq!(w.store.get(&w.lead.id).await.unwrap().unwrap().status(), LeadStatus::Disqualified);
    w.actions.handle(signed(&press("called", &w.lead.id))).await;
    let last = &w.slack.responses()[3].1;
    assert_eq!((last["response_type"].as_str(), last["replace_original"].as_bool()), (Some("ephemeral"), Some(false)));
    assert!(last["text"].as_str().unwrap().contains("no longer open"), "{last}");
    assert_eq!(w.events.published().len(), 3, "the refused press published nothing");
}

#[tokio::test]
async fn unsigned_tampered_and_stale_requests_are_refused_and_change_nothing() {
    let w = world().await;
    let body = press("called", &w.lead.id);
    let ts = now().timestamp();
    let good = sign(&SecretString::from(SECRET), ts, body.as_bytes());
    let stale_ts = ts - 301;
    let refused = [
        request(&body, ts, None),
        request(&body.replace("called", "emailed"), ts, Some(good.clone())),
        request(&body, ts, Some(sign(&SecretString::from("wrong"), ts, body.as_bytes()))),
        request(&body, stale_ts, Some(sign(&SecretString::from(SECRET), stale_ts, body.as_bytes()))),
    ];
    for r in refused {
        let response = w.actions.handle(r).await;
        assert_eq!(status(&response), 401);
    }
    assert_eq!(w.store.get(&w.lead.id).await.unwrap().unwrap().status(), LeadStatus::Assigned);
    assert!(w.events.published().is_empty() && w.slack.responses().is_empty());
}

#[tokio::test]
async fn a_signed_but_malformed_request_is_a_clear_400() {
    let w = world().await;
    for (body, error) in [
        ("payload=not-json", "bad_payload"),
        ("nothing=here", "bad_payload"),
        (&press("danced", &w.lead.id) as &str, "unknown_action"),
    ] {
        let r = w.actions.handle(signed(body)).await;
        assert_eq!(status(&r), 400, "{body}");
        let answer: serde_json::Value = serde_json::from_slice(r.body().as_ref()).unwrap();
        assert_eq!(answer["error"], error, "{answer}");
    }
    let unknown = w.actions.handle(signed(&press("called", &LeadId::generate()))).await;
    assert_eq!(status(&unknown), 200);
    assert!(w.slack.responses()[0].1["text"].as_str().unwrap().contains("does not exist"));
}

#[tokio::test]
async fn only_the_owner_can_act_on_their_lead() {
    let w = world().await;
    let owner = w.store.get(&w.lead.id).await.unwrap().unwrap().decision().unwrap().owner.clone();
    assert_eq!(owner.slack.as_deref(), Some("U0JONAS001"), "the test lead belongs to a Slack user");
    let payload = json!({
        "type": "block_actions",
        "user": { "id": "U0SOMEONE1" },
        "response_url": RESPONSE_URL,
        "actions": [ { "action_id": "baton_touch_not_a_fit", "value": w.lead.id.to_string() } ],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    assert_eq!(status(&w.actions.handle(signed(&body)).await), 200);
    assert_eq!(w.store.get(&w.lead.id).await.unwrap().unwrap().status(), LeadStatus::Assigned, "nothing recorded");
    let reply = &w.slack.responses()[0].1;
    assert!(reply["text"].as_str().unwrap().contains("<@U0JONAS001>'s"), "{reply}");
    assert!(w.events.published().is_empty());
}

#[tokio::test]
async fn a_touch_stands_when_its_event_cannot_be_published() {
    let w = world().await;
    let actions = Actions::new(
        w.store.clone(),
        Arc::new(baton_adapters::memory::Outage("SNS")),
        w.slack.clone(),
        SecretString::from(SECRET),
        Arc::new(ManualClock::new(now())),
    );
    assert_eq!(status(&actions.handle(signed(&press("called", &w.lead.id))).await), 200);
    assert_eq!(w.store.get(&w.lead.id).await.unwrap().unwrap().status(), LeadStatus::Touched);
    let update = w.slack.responses()[0].1.to_string();
    assert!(update.contains("logged a call"), "the rep sees the touch recorded, not an error: {update}");
    let stored = w.store.get(&w.lead.id).await.unwrap().unwrap();
    assert_eq!(stored.outbox.len(), 1, "the event waits in the outbox for the sweep");
    assert_eq!(stored.awaiting().map(|a| a.kind), Some(baton_domain::WaitKind::Announce));
}

#[tokio::test]
async fn the_owner_check_fails_closed_when_the_lead_cannot_be_read() {
    let w = world().await;
    let outage = Arc::new(baton_adapters::memory::Outage("DynamoDB"));
    let actions = Actions::new(
        outage,
        w.events.clone(),
        w.slack.clone(),
        SecretString::from(SECRET),
        Arc::new(ManualClock::new(now())),
    );
    let mut body = press("not_a_fit", &w.lead.id);
    body = body.replace("U0JONAS001", "U0SOMEONE1");
    assert_eq!(status(&actions.handle(signed(&body)).await), 200);
    let reply = &w.slack.responses()[0].1;
    assert!(reply["text"].as_str().unwrap().contains("could not check"), "{reply}");
    assert!(w.events.published().is_empty(), "nothing was recorded or announced");
    assert_eq!(w.store.get(&w.lead.id).await.unwrap().unwrap().status(), LeadStatus::Assigned);
}

#[tokio::test]
async fn the_no_longer_open_reply_escapes_the_submitted_name() {
    let w = world_of(r#"{"email":"x@analytical.example","first_name":"<!channel>","last_name":"*bold* <https://evil.example|click>","country":"GB"}"#).await;
    w.actions.handle(signed(&press("not_a_fit", &w.lead.id))).await;
    w.actions.handle(signed(&press("called", &w.lead.id))).await;
    let text = w.slack.responses()[1].1["text"].as_str().unwrap().to_owned();
    assert!(text.contains("no longer open"), "{text}");
    assert!(
        !text.contains("<!channel>") && !text.contains("<https://"),
        "submitted text reached Slack unescaped: {text}"
    );
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
}
