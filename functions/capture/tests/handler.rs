//! The capture handler, driven by a real API Gateway HTTP API (payload 2.0) event.

use std::sync::Arc;
use std::time::Duration;

use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryQueue, Outage};
use baton_adapters::{LeadRepository, WorkQueue};
use baton_capture::Capture;
use baton_capture::keys::{CaptureKeys, sign};
use baton_domain::{LeadId, LeadStatus, RouteRequest, WaitKind};
use chrono::TimeZone;
use lambda_http::http::StatusCode;
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

const KEYS: &str = r#"[
    {"id":"website","public_key":"pk_site_test","allowed_origins":["https://www.example.com"]},
    {"id":"crm","secret":"whsec_test"},
    {"id":"retired","public_key":"pk_retired","revoked":true}
]"#;

fn keys() -> Arc<CaptureKeys> {
    Arc::new(CaptureKeys::from_json(KEYS).unwrap())
}

fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn world() -> World {
    let store = Arc::new(MemoryLeadStore::new());
    let queue = Arc::new(MemoryQueue::default());
    let clock = Arc::new(ManualClock::new(t0()));
    World { capture: Capture::new(store.clone(), queue.clone(), keys(), clock), store, queue }
}

fn lead_id(response: &Response<Body>) -> LeadId {
    LeadId::parse(json(response)["lead_id"].as_str().expect("a lead id")).unwrap()
}

#[tokio::test]
async fn a_valid_lead_is_stored_queued_and_accepted() {
    let w = world();
    let tap = baton_adapters::metrics::Tap::open();
    let response = w.capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 202);
    assert_eq!(tap.sum("LeadsCaptured", "created"), 1.0, "{:?}", tap.points());
    assert_eq!(tap.points().iter().filter(|(m, v, _)| m == "StageLatency" && v == "capture").count(), 1);
    let body = json(&response);
    assert_eq!(body["status"], "captured");
    let id = LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap();

    let lead = w.store.get(&id).await.unwrap().expect("stored");
    assert_eq!(lead.status(), LeadStatus::Captured);
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
    assert_eq!(body["errors"][0]["message"], "an email or a phone number is required");
    assert!(w.store.all().is_empty(), "nothing is stored for a refused lead");
    assert!(w.queue.is_empty());
}

#[tokio::test]
async fn every_problem_is_listed_in_one_answer() {
    let w = world();
    let response = w.capture.handle(with_body(r#"{"email":"ada@","phone":"12"}"#)).await;
    assert_eq!(response.status(), 400);
    let fields: Vec<String> =
        json(&response)["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
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
    let response = w.capture.handle(event(|v| v["headers"]["content-type"] = "text/plain".into())).await;
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn an_oversized_body_gets_a_413() {
    let w = world();
    let big = format!(r#"{{"email":"a@b.co","message":"{}"}}"#, "x".repeat(70 * 1024));
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
    let response = w.capture.handle(event(|v| v["requestContext"]["http"]["method"] = "GET".into())).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST, OPTIONS");
}

#[tokio::test]
async fn an_unavailable_store_gets_a_503_with_retry_after_and_nothing_is_queued() {
    let queue = Arc::new(MemoryQueue::default());
    let capture =
        Capture::new(Arc::new(Outage("DynamoDB")), queue.clone(), keys(), Arc::new(baton_adapters::SystemClock));
    let response = capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(queue.is_empty());
}

/// A store that is throttling every capture (as DynamoDB does with a cancelled transaction).
struct Throttling;

#[async_trait::async_trait]
impl LeadRepository for Throttling {
    async fn capture(
        &self,
        _: &baton_domain::Lead,
        _: Option<&baton_adapters::Idempotency>,
    ) -> Result<baton_adapters::Captured, baton_adapters::Error> {
        Err(baton_adapters::Error::Throttled { service: "DynamoDB", retry_after: Duration::from_millis(50) })
    }
    async fn read(&self, _: &LeadId) -> Result<Option<baton_adapters::Versioned>, baton_adapters::Error> {
        Ok(None)
    }
    async fn similar(
        &self,
        _: &baton_domain::Lead,
        _: usize,
    ) -> Result<Vec<baton_domain::Lead>, baton_adapters::Error> {
        Ok(Vec::new())
    }
    async fn update(
        &self,
        _: &baton_adapters::Versioned,
        _: &baton_domain::Lead,
        _: &[baton_domain::Effect],
    ) -> Result<baton_adapters::Written, baton_adapters::Error> {
        Ok(baton_adapters::Written::Stale)
    }
    async fn overdue(
        &self,
        _: WaitKind,
        _: baton_domain::Timestamp,
        _: usize,
    ) -> Result<Vec<baton_domain::Lead>, baton_adapters::Error> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn a_throttled_store_is_a_503_with_retry_after_not_a_422() {
    let queue = Arc::new(MemoryQueue::default());
    let capture = Capture::new(Arc::new(Throttling), queue.clone(), keys(), Arc::new(baton_adapters::SystemClock));
    let response = capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 503, "retrying will help: not a 422");
    assert_eq!(response.headers()["retry-after"], "5");
    assert!(queue.is_empty());
}

#[tokio::test]
async fn an_unavailable_queue_still_accepts_the_lead_and_leaves_it_waiting_for_routing() {
    let store = Arc::new(MemoryLeadStore::new());
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let capture = Capture::new(store.clone(), Arc::new(Outage("SQS")), keys(), Arc::new(ManualClock::new(now)));
    let response = capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 202);
    let later = now + baton_domain::sla::routing_grace();
    let waiting = store.overdue(WaitKind::Routing, later, 10).await.unwrap();
    assert_eq!(waiting.len(), 1, "the stored lead is found by the sweep's routing query");
}

#[tokio::test]
async fn the_lead_records_its_key_and_the_consent_ip_defaults_to_the_caller() {
    let w = world();
    let response =
        w.capture.handle(with_body(r#"{"email":"a@corp.example","consent":{"granted":true,"purpose":"sales"}}"#)).await;
    assert_eq!(response.status(), 202);
    let lead = w.store.get(&lead_id(&response)).await.unwrap().unwrap();
    assert_eq!(lead.source.key_id.as_deref(), Some("website"));
    assert_eq!(lead.touchpoints[0].source.key_id.as_deref(), Some("website"));
    assert_eq!(lead.consent.unwrap().ip.as_deref(), Some("203.0.113.7"));
}

#[tokio::test]
async fn a_plain_html_form_post_with_its_key_in_the_body_is_captured() {
    let w = world();
    let request = event(|v| {
        v["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
        v["headers"].as_object_mut().unwrap().remove("x-baton-key");
        v["body"] = "_key=pk_site_test&email=Ada%40Analytical.example&country=UK&phone=020+7946+0958&utm_source=footer&consent=on".into();
    });
    let response = w.capture.handle(request).await;
    assert_eq!(response.status(), 202, "{}", json(&response));
    let lead = w.store.get(&lead_id(&response)).await.unwrap().unwrap();
    assert_eq!(lead.country.as_deref(), Some("GB"));
    assert_eq!(lead.phone.unwrap().as_str(), "+442079460958");
    assert_eq!(lead.source.utm_source.as_deref(), Some("footer"));
    assert!(lead.consent.unwrap().granted);
}

#[tokio::test]
async fn missing_unknown_and_revoked_keys_are_refused_before_anything_is_stored() {
    let w = world();
    let cases: [(Option<&str>, u16, &str); 3] =
        [(None, 401, "unauthorized"), (Some("pk_guess"), 401, "unauthorized"), (Some("pk_retired"), 403, "forbidden")];
    for (key, status, error) in cases {
        let response = w
            .capture
            .handle(event(|v| match key {
                Some(k) => v["headers"]["x-baton-key"] = k.into(),
                None => {
                    v["headers"].as_object_mut().unwrap().remove("x-baton-key");
                }
            }))
            .await;
        assert_eq!(
            (response.status().as_u16(), json(&response)["error"].as_str().unwrap()),
            (status, error),
            "{key:?}"
        );
    }
    assert!(w.store.all().is_empty());
}

#[tokio::test]
async fn a_public_key_is_refused_from_an_origin_it_does_not_allow() {
    let w = world();
    let response = w.capture.handle(event(|v| v["headers"]["origin"] = "https://evil.example".into())).await;
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_signed_integration_request_is_verified() {
    let w = world();
    let body = r#"{"email":"sync@crm.example"}"#;
    let now = t0().timestamp();
    let signed = |timestamp: i64, signature: String, body: &'static str| {
        event(move |v| {
            let h = v["headers"].as_object_mut().unwrap();
            h.remove("x-baton-key");
            h.remove("origin");
            h.insert("x-baton-key-id".into(), "crm".into());
            h.insert("x-baton-timestamp".into(), timestamp.to_string().into());
            h.insert("x-baton-signature".into(), signature.into());
            v["body"] = body.into();
        })
    };
    let ok = w.capture.handle(signed(now, sign("whsec_test", now, body.as_bytes()), body)).await;
    assert_eq!(ok.status(), 202, "{}", json(&ok));
    assert_eq!(w.store.get(&lead_id(&ok)).await.unwrap().unwrap().source.key_id.as_deref(), Some("crm"));

    let tampered = w
        .capture
        .handle(signed(now, sign("whsec_test", now, body.as_bytes()), r#"{"email":"evil@crm.example"}"#))
        .await;
    assert_eq!(tampered.status(), 401);
    let stale = now - 600;
    let replayed = w.capture.handle(signed(stale, sign("whsec_test", stale, body.as_bytes()), body)).await;
    assert_eq!(replayed.status(), 401);
    assert!(json(&replayed)["message"].as_str().unwrap().contains("replay window"));
}

#[tokio::test]
async fn browsers_get_cors_answers_for_allowed_origins_only() {
    let w = world();
    let preflight = |origin: &'static str| {
        event(move |v| {
            v["requestContext"]["http"]["method"] = "OPTIONS".into();
            v["headers"]["origin"] = origin.into();
            v["body"] = "".into();
        })
    };
    let allowed = w.capture.handle(preflight("https://www.example.com")).await;
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://www.example.com");
    assert!(allowed.headers()["access-control-allow-headers"].to_str().unwrap().contains("x-baton-key"));
    let refused = w.capture.handle(preflight("https://evil.example")).await;
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    let post = w.capture.handle(event(|_| {})).await;
    assert_eq!(post.headers()["access-control-allow-origin"], "https://www.example.com");
}

#[tokio::test]
async fn a_bot_that_fills_the_honeypot_is_told_captured_but_stored_as_spam_and_not_routed() {
    let w = world();
    let response =
        w.capture.handle(with_body(r#"{"email":"bot@spam.example","_honeypot":"https://buy.example"}"#)).await;
    assert_eq!(response.status(), 202);
    assert_eq!(json(&response)["status"], "captured");
    let stored = w.store.get(&lead_id(&response)).await.unwrap().unwrap();
    assert_eq!(stored.status(), LeadStatus::Spam);
    assert!(w.queue.is_empty(), "spam is never queued for routing");
}

#[tokio::test]
async fn a_retried_submission_returns_the_original_lead_and_a_changed_body_is_refused() {
    let w = world();
    let with_key = |body: &'static str, key: &'static str| {
        event(move |v| {
            v["headers"]["idempotency-key"] = key.into();
            v["body"] = body.into();
        })
    };
    let first = w.capture.handle(with_key(r#"{"email":"once@corp.example"}"#, "k-1")).await;
    let retry = w.capture.handle(with_key(r#"{"email":"once@corp.example"}"#, "k-1")).await;
    assert_eq!((first.status(), retry.status()), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(lead_id(&retry), lead_id(&first));
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(w.store.all().len(), 1);
    assert_eq!(w.queue.receive(10, Duration::ZERO).await.unwrap().len(), 1, "queued once");

    let changed = w.capture.handle(with_key(r#"{"email":"other@corp.example"}"#, "k-1")).await;
    assert_eq!(changed.status(), 422);
    assert_eq!(json(&changed)["error"], "idempotency_key_reused");
    assert_eq!(w.store.all().len(), 1);

    let by_submission_id = w.capture.handle(with_body(r#"{"email":"form@corp.example","submission_id":"s-9"}"#)).await;
    let again = w.capture.handle(with_body(r#"{"email":"form@corp.example","submission_id":"s-9"}"#)).await;
    assert_eq!(lead_id(&again), lead_id(&by_submission_id));
    assert_eq!(again.headers()["idempotent-replayed"], "true");
}

#[tokio::test]
async fn the_same_person_submitting_twice_is_merged_into_one_lead_and_routed_once() {
    let w = world();
    let first = w.capture.handle(with_body(r#"{"email":"ada@corp.example","source":{"utm_source":"ads"}}"#)).await;
    let second = w
        .capture
        .handle(with_body(r#"{"email":"ADA@corp.example","phone":"+14155552671","source":{"utm_source":"webinar"}}"#))
        .await;
    assert_eq!(lead_id(&second), lead_id(&first));
    assert_eq!(json(&second).get("merged"), None, "a public key is not told the person was known");
    let lead = w.store.get(&lead_id(&first)).await.unwrap().unwrap();
    assert_eq!((lead.submissions, lead.touchpoints.len()), (2, 2));
    assert_eq!(lead.phone.unwrap().as_str(), "+14155552671");
    assert_eq!(w.store.all().len(), 1);
    assert_eq!(w.queue.receive(10, Duration::ZERO).await.unwrap().len(), 1, "routed once");
}

#[tokio::test]
async fn a_lead_from_a_known_company_arrives_with_its_account_and_owner() {
    use baton_adapters::AccountDirectory;
    let w = world();
    let accounts = Arc::new(baton_adapters::memory::MemoryAccounts::new());
    let imported = baton_domain::account::parse_csv(
        "account_id,name,domain,owner_id,owner_name,open_deal\nacc-1,Analytical Engines,analytical.example,rep-jonas,Jonas Weber,true\n",
    )
    .unwrap();
    accounts.put_accounts(&imported).await.unwrap();
    let capture = w.capture.clone().with_accounts(accounts);
    let response = capture.handle(event(|_| {})).await;
    let lead = w.store.get(&lead_id(&response)).await.unwrap().unwrap();
    let account = lead.account.expect("matched by the email's domain");
    assert_eq!(
        (account.account_id.as_str(), account.owner.unwrap().id.as_str(), account.open_deal),
        ("acc-1", "rep-jonas", true)
    );
    assert!(lead.normalized.iter().any(|n| n.field == "account" && n.to == "acc-1"), "the match is explained");
    let matching = lead.account_matching.expect("how it matched is recorded");
    assert_eq!(
        (matching.method, matching.confidence),
        (baton_domain::account::MatchMethod::Domain, baton_domain::account::Confidence::High)
    );
}

#[tokio::test]
async fn a_country_domain_finds_its_account_and_an_ambiguous_one_is_not_guessed() {
    use baton_adapters::AccountDirectory;
    use baton_domain::account::{Confidence, MatchMethod};
    let w = world();
    let accounts = Arc::new(baton_adapters::memory::MemoryAccounts::new());
    let imported = baton_domain::account::parse_csv(
        "account_id,name,domain,owner_id,owner_name\n\
         acme,Acme Corporation,acme.com,rep-ada,Ada\n\
         initech-us,Initech Inc,initech.com,,\n\
         initech-de,Initech GmbH,initech.de,,\n",
    )
    .unwrap();
    accounts.put_accounts(&imported).await.unwrap();
    let capture = w.capture.clone().with_accounts(accounts);
    let uk = capture.handle(with_body(r#"{"email":"jo@acme.co.uk"}"#)).await;
    let lead = w.store.get(&lead_id(&uk)).await.unwrap().unwrap();
    assert_eq!(lead.account.map(|a| a.account_id).as_deref(), Some("acme"), "acme.co.uk belongs to acme.com");
    let m = lead.account_matching.unwrap();
    assert_eq!(
        (m.method, m.confidence, m.matched_on.as_str()),
        (MatchMethod::CountryDomain, Confidence::Medium, "acme.co.uk")
    );

    let free_mail = capture.handle(with_body(r#"{"email":"pat@gmail.com","company":"Initech"}"#)).await;
    let lead = w.store.get(&lead_id(&free_mail)).await.unwrap().unwrap();
    assert_eq!(lead.account, None, "two accounts fit the name: none is guessed");
    let m = lead.account_matching.unwrap();
    let mut candidates: Vec<&str> = m.candidates.iter().map(|c| c.account_id.as_str()).collect();
    candidates.sort();
    assert_eq!((m.method, m.ambiguous, candidates), (MatchMethod::CompanyName, true, vec!["initech-de", "initech-us"]));
    assert!(
        lead.normalized.iter().any(|n| n.field == "account" && n.rule.contains("ambiguous")),
        "the candidates are noted"
    );
}

#[tokio::test]
async fn an_account_directory_outage_costs_only_the_match() {
    let w = world();
    let capture = w.capture.clone().with_accounts(Arc::new(Outage("DynamoDB")));
    let response = capture.handle(event(|_| {})).await;
    assert_eq!(response.status(), 202);
    assert_eq!(w.store.get(&lead_id(&response)).await.unwrap().unwrap().account, None);
}

#[tokio::test]
async fn a_public_key_gets_the_same_answer_for_a_known_person_as_for_a_new_one() {
    let w = world();
    let first = w.capture.handle(with_body(r#"{"email":"probe@corp.example"}"#)).await;
    let id = lead_id(&first);
    // The person is known and already with a rep.
    let stored = w.store.get(&id).await.unwrap().unwrap();
    let decision = baton_domain::decide(&stored, &baton_domain::Ruleset::default_ruleset(), t0());
    w.store.seed(&stored.assign(decision).unwrap().lead);
    let known = w.capture.handle(with_body(r#"{"email":"probe@corp.example"}"#)).await;
    let new = w.capture.handle(with_body(r#"{"email":"someone-else@corp.example"}"#)).await;
    assert_eq!(json(&known), serde_json::json!({ "lead_id": id.to_string(), "status": "captured" }));
    assert_eq!(json(&new).as_object().unwrap().keys().collect::<Vec<_>>(), ["lead_id", "status"]);
    assert_eq!(json(&new)["status"], "captured", "nothing tells a known person from a new one");
}

#[tokio::test]
async fn a_signed_integration_is_told_when_a_submission_merged() {
    let w = world();
    w.capture.handle(with_body(r#"{"email":"known@corp.example"}"#)).await;
    let body = r#"{"email":"known@corp.example","phone":"+14155552671"}"#;
    let now = t0().timestamp();
    let response = w
        .capture
        .handle(event(|v| {
            let h = v["headers"].as_object_mut().unwrap();
            h.remove("x-baton-key");
            h.insert("x-baton-key-id".into(), "crm".into());
            h.insert("x-baton-timestamp".into(), now.to_string().into());
            h.insert("x-baton-signature".into(), sign("whsec_test", now, body.as_bytes()).into());
            v["body"] = body.into();
        }))
        .await;
    assert_eq!(json(&response)["merged"], true);
}

#[tokio::test]
async fn blank_submission_ids_do_not_tie_different_people_together() {
    let w = world();
    for email in ["one%40corp.example", "two%40corp.example"] {
        let response = w
            .capture
            .handle(event(|v| {
                v["headers"]["content-type"] = "application/x-www-form-urlencoded".into();
                v["body"] = format!("email={email}&submission_id=").into();
            }))
            .await;
        assert_eq!(response.status(), 202, "{}", json(&response));
    }
    assert_eq!(w.store.all().len(), 2);
}

#[tokio::test]
async fn a_public_form_cannot_forge_where_or_when_consent_was_given() {
    let w = world();
    let response = w
        .capture
        .handle(with_body(r#"{"email":"a@corp.example","consent":{"granted":true,"ip":"10.9.9.9","timestamp":"2020-01-01T00:00:00Z"}}"#))
        .await;
    let consent = w.store.get(&lead_id(&response)).await.unwrap().unwrap().consent.unwrap();
    assert_eq!((consent.ip.as_deref(), consent.at), (Some("203.0.113.7"), t0()));
}

#[tokio::test]
async fn a_number_the_store_cannot_keep_is_a_400_naming_it() {
    let w = world();
    let response = w.capture.handle(with_body(r#"{"email":"a@corp.example","attributes":{"score":1e300}}"#)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(json(&response)["errors"][0]["field"], "attributes.score");
}

#[tokio::test]
async fn a_nurtured_lead_that_submits_again_is_routed_again() {
    let w = world();
    let first = w.capture.handle(with_body(r#"{"email":"kid@gmail.com","job_title":"Student"}"#)).await;
    let id = lead_id(&first);
    w.queue.receive(10, Duration::ZERO).await.unwrap(); // the first routing request
    let stored = w.store.get(&id).await.unwrap().unwrap();
    let decision = baton_domain::decide(&stored, &baton_domain::Ruleset::default_ruleset(), t0());
    assert_eq!(decision.disposition, Some(baton_domain::rules::Disposition::Nurture));
    w.store.seed(&stored.assign(decision).unwrap().lead);

    let again = w.capture.handle(with_body(r#"{"email":"kid@gmail.com","job_title":"CTO","company":"Startup"}"#)).await;
    assert_eq!(lead_id(&again), id);
    let lead = w.store.get(&id).await.unwrap().unwrap();
    assert_eq!((lead.status(), lead.previous_decisions.len()), (LeadStatus::Captured, 1));
    let queued = w.queue.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(queued.len(), 1, "queued for routing again");
}

fn signed_by_crm(body: &str) -> Request {
    let now = t0().timestamp();
    let signature = sign("whsec_test", now, body.as_bytes());
    let body = body.to_owned();
    event(move |v| {
        let h = v["headers"].as_object_mut().unwrap();
        h.remove("x-baton-key");
        h.remove("origin");
        h.insert("x-baton-key-id".into(), "crm".into());
        h.insert("x-baton-timestamp".into(), now.to_string().into());
        h.insert("x-baton-signature".into(), signature.into());
        v["body"] = body.into();
    })
}

#[tokio::test]
async fn consent_evidence_is_append_only_and_a_public_key_never_replaces_it() {
    let w = world();
    let granted = w
        .capture
        .handle(with_body(
            r#"{"email":"ada@corp.example","consent":{"granted":true,"purpose":"sales","wording_version":"v1"}}"#,
        ))
        .await;
    let id = lead_id(&granted);
    // Six later submissions through the public key with long page URLs, one of them stating a
    // withdrawal: none changes the consent in force, and none pushes the original out.
    let url = format!("https://www.example.com/{}", "p".repeat(2000));
    for i in 0..6 {
        let consent = if i == 3 { r#","consent":{"granted":false,"purpose":"sales"}"# } else { "" };
        let body =
            format!(r#"{{"email":"ada@corp.example","source":{{"page_url":"{url}","referrer":"{url}"}}{consent}}}"#);
        assert_eq!(w.capture.handle(with_body(&body)).await.status(), 202);
    }
    let lead = w.store.get(&id).await.unwrap().unwrap();
    let in_force = lead.consent.clone().unwrap();
    assert!(in_force.granted && !in_force.signed, "the public key did not replace the consent in force");
    assert_eq!(in_force.wording_version.as_deref(), Some("v1"));
    let evidence: Vec<(bool, Option<&str>, Option<&str>)> = lead
        .touchpoints
        .iter()
        .filter_map(|t| t.consent.as_ref())
        .map(|c| (c.granted, c.purpose.as_deref(), c.ip.as_deref()))
        .collect();
    assert_eq!(
        evidence,
        [(true, Some("sales"), Some("203.0.113.7")), (false, Some("sales"), Some("203.0.113.7"))],
        "every statement is kept, with its purpose and address"
    );
    assert_eq!(lead.touchpoints[0].consent.as_ref().unwrap().wording_version.as_deref(), Some("v1"));
    assert_eq!(lead.submissions, 7);

    // A signed integration may state a withdrawal on the person's behalf, with its own time and address.
    let withdrawal = r#"{"email":"ada@corp.example","consent":{"granted":false,"purpose":"sales","wording_version":"v1","timestamp":"2026-11-24T08:59:00Z","ip":"198.51.100.9"}}"#;
    // Older than the grant in force (09:00): kept as evidence, not in force.
    assert_eq!(w.capture.handle(signed_by_crm(withdrawal)).await.status(), 202);
    let lead = w.store.get(&id).await.unwrap().unwrap();
    assert!(lead.consent.as_ref().unwrap().granted, "an older statement does not override a newer one");
    let newer = withdrawal.replace("08:59:00Z", "09:00:00Z");
    assert_eq!(w.capture.handle(signed_by_crm(&newer)).await.status(), 202);
    let lead = w.store.get(&id).await.unwrap().unwrap();
    let in_force = lead.consent.clone().unwrap();
    assert_eq!((in_force.granted, in_force.signed, in_force.ip.as_deref()), (false, true, Some("198.51.100.9")));
    assert_eq!(lead.touchpoints.iter().filter(|t| t.consent.is_some()).count(), 4);
}
