//! The handoff link, through real API Gateway events: issued with a public key's 202, answering
//! only its own lead's state and rep, expiring, refusing forgeries, rate-limited, and answering
//! CORS only to its key's origins.

use std::sync::Arc;
use std::time::Duration;

use baton_adapters::LeadRepository;
use baton_adapters::memory::{ManualClock, MemoryCounters, MemoryLeadStore, MemoryQueue};
use baton_capture::Capture;
use baton_capture::handoff::{HandoffLinks, HandoffSecrets, POLLS_PER_MINUTE};
use baton_capture::keys::{CaptureKeys, sign};
use baton_domain::{LeadId, Owner, Ruleset, TouchKind};
use chrono::TimeZone;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

const POST_LEADS: &str = include_str!("fixtures/apigw-v2-post-leads.json");

const KEYS: &str = r#"[
    {"id":"website","public_key":"pk_site_test","allowed_origins":["https://www.example.com"]},
    {"id":"partner","public_key":"pk_partner","allowed_origins":["https://partner.example"]},
    {"id":"crm","secret":"whsec_test"}
]"#;

const SECRET: &str = "handoff-test-secret-0123456789abcdef";

struct World {
    store: Arc<MemoryLeadStore>,
    clock: Arc<ManualClock>,
    capture: Capture,
}

fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn world() -> World {
    let store = Arc::new(MemoryLeadStore::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let keys = Arc::new(CaptureKeys::from_json(KEYS).unwrap());
    let links = HandoffLinks::new(HandoffSecrets::parse(SECRET).unwrap(), Arc::new(MemoryCounters::new()));
    let capture =
        Capture::new(store.clone(), Arc::new(MemoryQueue::default()), keys, clock.clone()).with_handoff(links);
    World { store, clock, capture }
}

fn request(method: &str, path_and_query: &str, origin: Option<&str>, body: &str) -> Request {
    let mut v: Value = serde_json::from_str(POST_LEADS).unwrap();
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    v["rawPath"] = path.into();
    v["rawQueryString"] = query.into();
    v["requestContext"]["http"]["path"] = path.into();
    v["requestContext"]["http"]["method"] = method.into();
    v["routeKey"] = format!("{method} {path}").into();
    if let Some((k, val)) = query.split_once('=') {
        v["queryStringParameters"] = serde_json::json!({ k: val });
    }
    match origin {
        Some(o) => v["headers"]["origin"] = o.into(),
        None => {
            v["headers"].as_object_mut().unwrap().remove("origin");
        }
    }
    v["body"] = body.into();
    lambda_http::request::from_str(&v.to_string()).expect("a valid API Gateway event")
}

fn submit(body: &str) -> Request {
    request("POST", "/leads", Some("https://www.example.com"), body)
}

fn json(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).expect("a JSON body")
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Submits a lead through the website's public key; its id and handoff path.
async fn captured(w: &World, email: &str) -> (LeadId, String) {
    let response = w.capture.handle(submit(&format!(r#"{{"email":"{email}","first_name":"Ada"}}"#))).await;
    assert_eq!(response.status(), 202);
    let body = json(&response);
    let id = LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap();
    let url = body["handoff"]["url"].as_str().expect("a handoff link").to_owned();
    assert_eq!(body["handoff"]["expires_at"], "2026-11-24T09:10:00Z");
    (id, url)
}

/// Routes the lead to `owner` as routing would: the decision recorded through the store.
async fn assign(w: &World, id: &LeadId, owner: Owner, rule: &str) {
    let current = w.store.read(id).await.unwrap().unwrap();
    let mut decision = baton_domain::decide(&current.lead, &Ruleset::default_ruleset(), t0());
    decision.owner = owner;
    decision.rule = rule.into();
    decision.max_open = None;
    let t = current.lead.assign(decision).unwrap();
    let written = w.store.update(&current, &t.lead, &t.effects).await.unwrap();
    assert_eq!(written, baton_adapters::Written::Applied);
}

fn avery() -> Owner {
    let mut o = Owner::new("rep-avery", "Avery Chen");
    o.meeting_link = Some("https://cal.example.com/avery-chen".into());
    o.email = Some("avery@baton.example".into());
    o
}

#[tokio::test]
async fn the_link_answers_routing_then_the_reps_name_and_booking_link_only() {
    let w = world();
    let (id, url) = captured(&w, "ada@analytical.example").await;
    let response = w.capture.handle(request("GET", &url, Some("https://www.example.com"), "")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(&response), serde_json::json!({"state": "routing", "expires_at": "2026-11-24T09:10:00Z"}));
    assert_eq!(header(&response, "access-control-allow-origin"), Some("https://www.example.com"));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));

    assign(&w, &id, avery(), "enterprise-demo").await;
    let response = w.capture.handle(request("GET", &url, Some("https://www.example.com"), "")).await;
    let body = json(&response);
    assert_eq!(
        body,
        serde_json::json!({"state": "assigned", "expires_at": "2026-11-24T09:10:00Z",
            "owner": {"name": "Avery Chen", "booking_url": "https://cal.example.com/avery-chen"}})
    );
    let text = body.to_string();
    for private in ["ada@analytical.example", "Ada", "rep-avery", "avery@baton.example", "enterprise-demo"] {
        assert!(!text.contains(private), "the link revealed {private}: {text}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_answers_as_soon_as_routing_decides() {
    let w = Arc::new(world());
    let (id, url) = captured(&w, "ada@analytical.example").await;
    let started = tokio::time::Instant::now();
    let poll = {
        let w = w.clone();
        let url = format!("{url}?wait=5");
        tokio::spawn(async move { w.capture.handle(request("GET", &url, Some("https://www.example.com"), "")).await })
    };
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!poll.is_finished(), "an undecided lead holds the answer");
    assign(&w, &id, avery(), "enterprise-demo").await;
    let response = poll.await.unwrap();
    assert_eq!(json(&response)["owner"]["name"], "Avery Chen");
    let waited = started.elapsed();
    assert!(waited > Duration::ZERO, "it waited for the decision");
    assert!(waited < Duration::from_millis(500), "it answered when routing decided, not at the wait's end: {waited:?}");
}

#[tokio::test]
async fn a_queue_or_nurture_shows_no_person_and_a_rep_without_a_booking_link_shows_the_name() {
    let w = world();
    let (id, url) = captured(&w, "queue@analytical.example").await;
    assign(&w, &id, Owner::new("queue-inbound", "Inbound queue"), "fallback").await;
    let body = json(&w.capture.handle(request("GET", &url, None, "")).await);
    assert_eq!((body["state"].as_str(), body.get("owner")), (Some("queue"), None));

    let (id, url) = captured(&w, "riley@analytical.example").await;
    assign(&w, &id, Owner::new("rep-riley", "Riley Park"), "smb").await;
    let body = json(&w.capture.handle(request("GET", &url, None, "")).await);
    assert_eq!(body["owner"], serde_json::json!({"name": "Riley Park"}));
}

#[tokio::test]
async fn an_expired_link_answers_410_and_a_forged_or_altered_one_404() {
    let w = world();
    let (_, url) = captured(&w, "ada@analytical.example").await;
    let (other, other_url) = captured(&w, "grace@analytical.example").await;
    assign(&w, &other, avery(), "enterprise-demo").await;

    // An altered token (another lead's payload under this token's tag) is nobody's link.
    let token = url.trim_start_matches("/handoff/");
    let other_token = other_url.trim_start_matches("/handoff/");
    let spliced = format!("{}.{}", other_token.split('.').next().unwrap(), token.split('.').nth(1).unwrap());
    for forged in [format!("/handoff/{spliced}"), "/handoff/not-a-token".into(), "/handoff/x.y".into()] {
        let response = w.capture.handle(request("GET", &forged, Some("https://www.example.com"), "")).await;
        assert_eq!(response.status(), 404, "{forged}");
        assert_eq!(json(&response)["error"], "not_found");
        assert_eq!(header(&response, "access-control-allow-origin"), None, "no CORS for an unknown link");
    }
    // Each link answers its own lead only.
    let mine = json(&w.capture.handle(request("GET", &url, None, "")).await);
    assert_eq!((mine["state"].as_str(), mine.get("owner")), (Some("routing"), None));

    w.clock.advance(chrono::Duration::minutes(10));
    let response = w.capture.handle(request("GET", &url, Some("https://www.example.com"), "")).await;
    assert_eq!(response.status(), 410);
    assert_eq!(json(&response)["error"], "expired");
}

#[tokio::test]
async fn a_burst_of_polls_is_limited_per_lead() {
    let w = world();
    let (_, url) = captured(&w, "ada@analytical.example").await;
    let (_, other_url) = captured(&w, "grace@analytical.example").await;
    let mut statuses = Vec::new();
    for _ in 0..POLLS_PER_MINUTE + 5 {
        statuses.push(w.capture.handle(request("GET", &url, None, "")).await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), POLLS_PER_MINUTE as usize);
    let limited = w.capture.handle(request("GET", &url, None, "")).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "retry-after"), Some("10"));
    assert_eq!(
        w.capture.handle(request("GET", &other_url, None, "")).await.status(),
        200,
        "another lead's link is not limited by this one's"
    );
    w.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(w.capture.handle(request("GET", &url, None, "")).await.status(), 200, "the next minute answers");
}

#[tokio::test]
async fn cors_answers_only_the_origins_of_the_key_the_lead_came_through() {
    let w = world();
    let (_, url) = captured(&w, "ada@analytical.example").await;
    let from_partner = w.capture.handle(request("GET", &url, Some("https://partner.example"), "")).await;
    assert_eq!(header(&from_partner, "access-control-allow-origin"), None, "another key's origin");
    let preflight = w.capture.handle(request("OPTIONS", &url, Some("https://www.example.com"), "")).await;
    assert_eq!(preflight.status(), 204);
    assert_eq!(header(&preflight, "access-control-allow-origin"), Some("https://www.example.com"));
    let preflight = w.capture.handle(request("OPTIONS", &url, Some("https://evil.example"), "")).await;
    assert_eq!(header(&preflight, "access-control-allow-origin"), None);
    assert_eq!(header(&preflight, "access-control-allow-methods"), None);
}

#[tokio::test]
async fn signed_integrations_get_no_link() {
    let w = world();
    let body = r#"{"email":"ada@analytical.example"}"#;
    let now = t0().timestamp();
    let response = w
        .capture
        .handle({
            let mut r = request("POST", "/leads", None, body);
            let h = r.headers_mut();
            h.remove("x-baton-key");
            h.insert("x-baton-key-id", "crm".parse().unwrap());
            h.insert("x-baton-timestamp", now.to_string().parse().unwrap());
            h.insert("x-baton-signature", sign("whsec_test", now, body.as_bytes()).parse().unwrap());
            r
        })
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(json(&response).get("handoff"), None);
}

#[tokio::test]
async fn a_booking_press_is_recorded_once_as_activity_and_the_clock_runs_on() {
    let w = world();
    let (id, url) = captured(&w, "ada@analytical.example").await;
    let booking = format!("{url}/booking");
    let early = w.capture.handle(request("POST", &booking, Some("https://www.example.com"), "")).await;
    assert_eq!(early.status(), 409, "nothing to book before there is a rep");

    assign(&w, &id, avery(), "enterprise-demo").await;
    w.clock.advance(chrono::Duration::seconds(20));
    for _ in 0..2 {
        let response = w.capture.handle(request("POST", &booking, Some("https://www.example.com"), "")).await;
        assert_eq!(response.status(), 204);
        assert_eq!(header(&response, "access-control-allow-origin"), Some("https://www.example.com"));
    }
    let lead = w.store.get(&id).await.unwrap().unwrap();
    let touches: Vec<_> = lead.touches.iter().filter(|t| t.kind == TouchKind::BookingOpened).collect();
    assert_eq!(touches.len(), 1, "a second press changes nothing: {:?}", lead.touches);
    assert_eq!((touches[0].by.as_str(), touches[0].via.as_str()), ("visitor", "thank_you_page"));
    assert_eq!(touches[0].at, t0() + chrono::Duration::seconds(20));
    assert_eq!(lead.touched_at(), None, "the visitor's click is not the rep's first touch");
    assert_eq!(lead.status(), baton_domain::LeadStatus::Assigned, "the SLA clock runs on");

    let wrong = w.capture.handle(request("GET", &booking, None, "")).await;
    assert_eq!(wrong.status(), 405);
    let unknown = w.capture.handle(request("GET", &format!("{url}/nope"), None, "")).await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn without_a_secret_no_link_is_issued_or_answered() {
    let store = Arc::new(MemoryLeadStore::new());
    let keys = Arc::new(CaptureKeys::from_json(KEYS).unwrap());
    let capture = Capture::new(store, Arc::new(MemoryQueue::default()), keys, Arc::new(ManualClock::new(t0())));
    let response = capture.handle(submit(r#"{"email":"ada@analytical.example"}"#)).await;
    assert_eq!(json(&response).get("handoff"), None);
    assert_eq!(capture.handle(request("GET", "/handoff/x.y", None, "")).await.status(), 404);
}

#[tokio::test]
async fn the_snippet_is_served_as_javascript() {
    let w = world();
    let response = w.capture.handle(request("GET", "/baton.js", None, "")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(response.body().as_ref(), baton_capture::SNIPPET.as_bytes());
    assert_eq!(w.capture.handle(request("POST", "/baton.js", None, "")).await.status(), 405);
}

#[tokio::test]
async fn every_documented_route_is_served_and_answers_a_documented_status() {
    let doc: Value = serde_json::from_str(include_str!("../../../infra/api/openapi.json")).unwrap();
    let w = world();
    let (id, url) = captured(&w, "ada@analytical.example").await;
    assign(&w, &id, avery(), "enterprise-demo").await;
    let token = url.trim_start_matches("/handoff/");
    let mut served = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let concrete = path.replace("{token}", token);
            let body = if path == "/leads" { r#"{"email":"grace@analytical.example"}"# } else { "" };
            let response = w
                .capture
                .handle(request(&method.to_uppercase(), &concrete, Some("https://www.example.com"), body))
                .await;
            let status = response.status().as_str().to_owned();
            assert!(
                operation["responses"].get(&status).is_some(),
                "{method} {path} answered {status}, which its documentation does not list"
            );
            assert!(status.starts_with('2'), "{method} {path} is served: {status}");
            served += 1;
        }
    }
    assert_eq!(served, 7, "the documented operations");
    // What the link answers is exactly the documented schema's fields.
    let answer = json(&w.capture.handle(request("GET", &url, None, "")).await);
    let documented: std::collections::BTreeSet<_> =
        doc["components"]["schemas"]["Handoff"]["properties"].as_object().unwrap().keys().cloned().collect();
    let answered: std::collections::BTreeSet<_> = answer.as_object().unwrap().keys().cloned().collect();
    assert_eq!(answered, documented);
}

#[tokio::test]
async fn a_submission_that_joins_a_known_lead_gets_a_link_that_names_nobody_and_books_nothing() {
    let w = world();
    let (id, _) = captured(&w, "ada@analytical.example").await;
    assign(&w, &id, avery(), "enterprise-demo").await;
    // Someone else submits Ada's email through the form.
    let response = w.capture.handle(submit(r#"{"email":"ada@analytical.example","first_name":"Mallory"}"#)).await;
    assert_eq!(response.status(), 202);
    let url = json(&response)["handoff"]["url"].as_str().unwrap().to_owned();
    let answer = json(&w.capture.handle(request("GET", &url, None, "")).await);
    assert_eq!(answer["state"], "queue");
    assert_eq!(answer.get("owner"), None, "the owner of a known person's lead is not told: {answer}");
    let booking = w.capture.handle(request("POST", &format!("{url}/booking"), None, "")).await;
    assert_eq!(booking.status(), 409);
    let lead = w.store.get(&id).await.unwrap().unwrap();
    assert!(lead.touches.is_empty() && lead.touched_at().is_none(), "nothing was touched: {:?}", lead.touches);
}

#[tokio::test]
async fn a_bad_wait_is_a_400_naming_it_and_an_expired_link_still_answers_its_page() {
    let w = world();
    let (_, url) = captured(&w, "ada@analytical.example").await;
    for bad in ["abc", "-1", "NaN"] {
        let response = w.capture.handle(request("GET", &format!("{url}?wait={bad}"), None, "")).await;
        assert_eq!(response.status(), 400, "wait={bad}");
        assert_eq!(json(&response)["errors"][0]["field"], "wait");
    }
    let response = w.capture.handle(request("GET", &url, Some("https://www.example.com"), "")).await;
    assert_eq!(header(&response, "access-control-expose-headers"), Some("retry-after"));
    w.clock.advance(chrono::Duration::minutes(11));
    let expired = w.capture.handle(request("GET", &url, Some("https://www.example.com"), "")).await;
    assert_eq!(expired.status(), 410);
    assert_eq!(
        header(&expired, "access-control-allow-origin"),
        Some("https://www.example.com"),
        "the page can read that its link expired"
    );
}

#[tokio::test]
async fn a_link_issued_under_a_key_since_revoked_answers_nothing() {
    let store = Arc::new(MemoryLeadStore::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let links = || HandoffLinks::new(HandoffSecrets::parse(SECRET).unwrap(), Arc::new(MemoryCounters::new()));
    let before = Capture::new(
        store.clone(),
        Arc::new(MemoryQueue::default()),
        Arc::new(CaptureKeys::from_json(KEYS).unwrap()),
        clock.clone(),
    )
    .with_handoff(links());
    let response = before.handle(submit(r#"{"email":"ada@analytical.example"}"#)).await;
    let url = json(&response)["handoff"]["url"].as_str().unwrap().to_owned();
    let revoked = KEYS.replace(
        r#""allowed_origins":["https://www.example.com"]}"#,
        r#""allowed_origins":["https://www.example.com"],"revoked":true}"#,
    );
    let after = Capture::new(
        store,
        Arc::new(MemoryQueue::default()),
        Arc::new(CaptureKeys::from_json(&revoked).unwrap()),
        clock,
    )
    .with_handoff(links());
    assert_eq!(before.handle(request("GET", &url, None, "")).await.status(), 200);
    assert_eq!(after.handle(request("GET", &url, None, "")).await.status(), 404);
}
