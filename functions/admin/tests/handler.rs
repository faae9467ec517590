//! The admin handler over API Gateway events, with in-process adapters.

use std::sync::Arc;

use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryRulesets};
use baton_admin::{Admin, digest, parse_digests};
use baton_domain::{LeadId, LeadSubmission, Ruleset, decide};
use lambda_http::{Body, Response};
use serde_json::{Value, json};

const TOKEN: &str = "admin-token-for-tests";

mod support;
use support::request;

fn body(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap()
}

fn admin() -> (Admin, Arc<MemoryLeadStore>) {
    let leads = Arc::new(MemoryLeadStore::new());
    let admin = Admin::new(
        leads.clone(),
        Arc::new(MemoryRulesets::new()),
        vec![digest(TOKEN)],
        Arc::new(ManualClock::new(chrono::Utc::now())),
    );
    (admin, leads)
}

#[tokio::test]
async fn every_route_needs_a_known_token() {
    let (admin, _) = admin();
    for token in [None, Some("guess"), Some("")] {
        let r = admin.handle(request("GET", "/admin/rulesets", token, "application/json", "")).await;
        assert_eq!(r.status(), 401, "{token:?}");
    }
}

#[tokio::test]
async fn a_ruleset_is_uploaded_listed_read_activated_and_rolled_back() {
    let (admin, _) = admin();
    let up = |text: &str| request("POST", "/admin/rulesets", Some(TOKEN), "application/toml", text);
    let first = admin.handle(up(baton_domain::rules::DEFAULT_TOML)).await;
    assert_eq!((first.status().as_u16(), body(&first)["version"].as_u64()), (201, Some(1)));
    let json_doc = serde_json::to_string(&Ruleset::default_ruleset()).unwrap().replace("\"default\"", "\"second\"");
    let second = admin.handle(request("POST", "/admin/rulesets", Some(TOKEN), "application/json", &json_doc)).await;
    assert_eq!(body(&second)["version"], 2);

    let activate =
        |v: &str| request("POST", &format!("/admin/rulesets/{v}/activate"), Some(TOKEN), "application/json", "");
    assert_eq!(admin.handle(activate("2")).await.status(), 200);
    assert_eq!(admin.handle(activate("9")).await.status(), 404);
    assert_eq!(admin.handle(activate("1")).await.status(), 200);
    let list = body(&admin.handle(request("GET", "/admin/rulesets", Some(TOKEN), "application/json", "")).await);
    let summary: Vec<(u64, &str, bool)> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_u64().unwrap(), v["name"].as_str().unwrap(), v["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(summary, [(1, "default", true), (2, "second", false)]);
    let two = admin.handle(request("GET", "/admin/rulesets/2", Some(TOKEN), "application/json", "")).await;
    assert_eq!(body(&two)["name"], "second");
}

#[tokio::test]
async fn an_invalid_ruleset_is_refused_with_every_problem_and_not_saved() {
    let (admin, _) = admin();
    let bad = "name = \"x\"\nfallback = { id = \"a\", name = \"A\" }\n[scoring]\nhot_at = 10\nwarm_at = 20\ncriteria = []\n[[routing]]\nname = \"r\"\npool = \"nope\"\n";
    let r = admin.handle(request("POST", "/admin/rulesets", Some(TOKEN), "application/toml", bad)).await;
    assert_eq!(r.status(), 400);
    let fields: Vec<String> =
        body(&r)["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["scoring.warm_at", "routing[0].pool"]);
    let typo = admin.handle(request("POST", "/admin/rulesets", Some(TOKEN), "application/toml", "nmae = \"x\"")).await;
    assert_eq!(typo.status(), 400);
    assert!(body(&typo)["errors"][0]["field"].as_str().unwrap().starts_with("line "));
    let list = body(&admin.handle(request("GET", "/admin/rulesets", Some(TOKEN), "application/json", "")).await);
    assert_eq!(list["versions"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_leads_decision_and_its_audit_trail_are_readable() {
    let (admin, leads) = admin();
    let mut ruleset = Ruleset::default_ruleset();
    ruleset.pools.get_mut("europe").unwrap().members[0].paused = true;
    let lead =
        LeadSubmission { email: Some("a@corp.example".into()), country: Some("DE".into()), ..Default::default() }
            .into_lead(LeadId::generate(), chrono::Utc::now())
            .unwrap();
    let decision = decide(&lead, &ruleset, chrono::Utc::now());
    leads.seed(&lead.clone().assign(decision).unwrap().lead);
    let r =
        admin.handle(request("GET", &format!("/admin/leads/{}", lead.id), Some(TOKEN), "application/json", "")).await;
    assert_eq!(r.status(), 200);
    let d = &body(&r)["decision"];
    assert_eq!(d["pool"], "europe");
    assert_eq!(d["skipped"][0], json!({ "member": "rep-jonas", "reason": "paused" }));
    assert_eq!(d["ruleset"], "default v0");
    assert!(d["score"]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    let missing = admin
        .handle(request("GET", &format!("/admin/leads/{}", LeadId::generate()), Some(TOKEN), "application/json", ""))
        .await;
    assert_eq!(missing.status(), 404);
    let bad = admin.handle(request("GET", "/admin/leads/not-an-id", Some(TOKEN), "application/json", "")).await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_an_empty_token_is_refused() {
    let (admin, _) = admin();
    let mut r = request("GET", "/admin/rulesets", None, "application/json", "");
    r.headers_mut().insert("authorization", format!("bearer {TOKEN}").parse().unwrap());
    assert_eq!(admin.handle(r).await.status(), 200);
    let mut r = request("GET", "/admin/rulesets", None, "application/json", "");
    r.headers_mut().insert("authorization", "Bearer ".parse().unwrap());
    assert_eq!(admin.handle(r).await.status(), 401);
}

#[test]
fn token_digests_are_checked_when_configured() {
    assert_eq!(parse_digests(&format!(" {} ,", digest("x"))).unwrap(), [digest("x")]);
    assert!(parse_digests("plain-token").unwrap_err().contains("not a hex SHA-256"));
    assert!(parse_digests(" , ").is_err());
}

async fn assigned_lead(leads: &MemoryLeadStore) -> LeadId {
    let t0 = chrono::Utc::now() - chrono::Duration::days(2);
    let lead = LeadSubmission { email: Some("task@corp.example".into()), ..Default::default() }
        .into_lead(LeadId::generate(), t0)
        .unwrap();
    leads.seed(&lead.assign(decide(&lead, &Ruleset::default_ruleset(), t0)).unwrap().lead);
    lead.id
}

#[tokio::test]
async fn a_task_is_read_and_completed_through_the_api() {
    let (admin, leads) = admin();
    let id = assigned_lead(&leads).await;
    let path = format!("/admin/leads/{id}/task");
    let task = admin.handle(request("GET", &path, Some(TOKEN), "application/json", "")).await;
    assert_eq!(task.status(), 200);
    let task = body(&task);
    assert_eq!((task["status"].as_str(), task["action"].as_str()), (Some("overdue"), Some("email")), "{task}");

    let touches = format!("/admin/leads/{id}/touches");
    let done = admin
        .handle(request("POST", &touches, Some(TOKEN), "application/json", r#"{"kind":"emailed","by":"crm-sync"}"#))
        .await;
    assert_eq!(done.status(), 201);
    assert_eq!(body(&done)["first"], true);
    let task = body(&admin.handle(request("GET", &path, Some(TOKEN), "application/json", "")).await);
    assert_eq!((task["status"].as_str(), task["done"]["by"].as_str()), (Some("done"), Some("crm-sync")), "{task}");
    let again = admin
        .handle(request(
            "POST",
            &touches,
            Some(TOKEN),
            "application/json",
            r#"{"kind":"meeting_booked","by":"crm-sync"}"#,
        ))
        .await;
    assert_eq!((again.status().as_u16(), body(&again)["first"].as_bool()), (201, Some(false)));
}

#[tokio::test]
async fn bad_touches_are_explained_and_closed_leads_refuse_them() {
    let (admin, leads) = admin();
    let id = assigned_lead(&leads).await;
    let touches = format!("/admin/leads/{id}/touches");
    for (payload, field) in [
        (r#"{"kind":"danced","by":"x"}"#, "kind"),
        (r#"{"kind":"called"}"#, "by"),
        (r#"{"kind":"called","by":"  "}"#, "by"),
        (r#"{"kind":"called","by":"x","colour":"red"}"#, "colour"),
    ] {
        let r = admin.handle(request("POST", &touches, Some(TOKEN), "application/json", payload)).await;
        assert_eq!(r.status(), 400, "{payload}");
        assert_eq!(body(&r)["errors"][0]["field"], field, "{payload}: {}", body(&r));
    }
    let closed = r#"{"kind":"not_a_fit","by":"x"}"#;
    assert_eq!(admin.handle(request("POST", &touches, Some(TOKEN), "application/json", closed)).await.status(), 201);
    let late =
        admin.handle(request("POST", &touches, Some(TOKEN), "application/json", r#"{"kind":"called","by":"x"}"#)).await;
    assert_eq!((late.status().as_u16(), body(&late)["error"].as_str()), (409, Some("not_open")));
    let missing = format!("/admin/leads/{}/task", LeadId::generate());
    assert_eq!(admin.handle(request("GET", &missing, Some(TOKEN), "application/json", "")).await.status(), 404);
}
