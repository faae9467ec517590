//! The published admin OpenAPI document (`infra/api/admin.openapi.json`) and the handler serve
//! exactly the same routes: every documented (method, path) is answered by a route, and every
//! other method on those paths, and paths not documented, get the handler's "no admin route" 404.
//! (The document itself is validated by `openapi-spec-validator` in `infra/scripts/test.sh`.)

use std::collections::BTreeSet;
use std::sync::Arc;

use baton_adapters::LeadRepository;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryMetrics, MemoryRulesets};
use baton_admin::{Admin, digest};
use baton_domain::{LeadId, LeadSubmission, Ruleset, decide};
use lambda_http::{Body, Response};
use serde_json::{Value, json};

const OPENAPI: &str = include_str!("../../../infra/api/admin.openapi.json");
const TOKEN: &str = "admin-token-for-openapi-tests";
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn document() -> Value {
    serde_json::from_str(OPENAPI).expect("the admin OpenAPI document is JSON")
}

/// Every (METHOD, path template) the document lists.
fn documented() -> BTreeSet<(String, String)> {
    let doc = document();
    let paths = doc["paths"].as_object().expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("a path item is an object");
            item.keys()
                .filter(|key| {
                    METHODS.iter().any(|m| m.eq_ignore_ascii_case(key)) || *key == "head" || *key == "options"
                })
                .map(|method| (method.to_ascii_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The status codes the document lists for an operation.
fn documented_statuses(method: &str, path: &str) -> BTreeSet<u16> {
    let doc = document();
    let responses = doc["paths"][path][method.to_ascii_lowercase()]["responses"].as_object().unwrap();
    responses.keys().map(|code| code.parse().unwrap_or_else(|_| panic!("status `{code}` of {method} {path}"))).collect()
}

/// A concrete path for a template: a fresh lead id for `{id}`, version 1 for `{version}`.
fn concrete(template: &str) -> String {
    let path = template.replace("{id}", &LeadId::generate().to_string()).replace("{version}", "1");
    assert!(!path.contains('{'), "an unknown path parameter in {template}");
    path
}

fn request(method: &str, path: &str, token: Option<&str>) -> lambda_http::Request {
    request_with(method, path, token, "application/json", "{}")
}

mod support;
use support::request as request_with;

fn admin() -> Admin {
    admin_with(Arc::new(MemoryLeadStore::new()))
}

fn admin_with(leads: Arc<MemoryLeadStore>) -> Admin {
    Admin::new(
        leads,
        Arc::new(MemoryRulesets::new()),
        vec![digest(TOKEN)],
        Arc::new(ManualClock::new(chrono::Utc::now())),
    )
    .with_metrics(Arc::new(MemoryMetrics::new()))
}

/// Whether the handler answered "no admin route" (rather than some route's own answer).
fn no_route(response: &Response<Body>) -> bool {
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
    response.status() == 404
        && body["error"] == "not_found"
        && body["message"].as_str().is_some_and(|m| m.starts_with("no admin route"))
}

#[test]
fn the_document_lists_the_expected_routes() {
    // A guard against an accidentally empty or unparsed document making the other tests vacuous.
    let routes = documented();
    assert_eq!(routes.len(), 19, "{routes:?}");
}

#[tokio::test]
async fn every_documented_route_is_served_and_answers_a_documented_status() {
    let admin = admin();
    for (method, template) in documented() {
        let path = concrete(&template);
        let response = admin.handle(request(&method, &path, Some(TOKEN))).await;
        assert!(!no_route(&response), "{method} {template} is documented but the handler has no such route");
        let status = response.status().as_u16();
        assert!(
            documented_statuses(&method, &template).contains(&status),
            "{method} {path} answered {status}, which the document does not list for {method} {template}"
        );
    }
}

#[tokio::test]
async fn no_other_method_on_a_documented_path_is_served() {
    let admin = admin();
    let routes = documented();
    let paths: BTreeSet<&String> = routes.iter().map(|(_, p)| p).collect();
    for template in paths {
        for method in METHODS.into_iter().filter(|m| !routes.contains(&((*m).to_owned(), template.clone()))) {
            let response = admin.handle(request(method, &concrete(template), Some(TOKEN))).await;
            assert!(no_route(&response), "{method} {template} is served but not documented: {}", response.status());
        }
    }
}

#[tokio::test]
async fn undocumented_paths_are_not_served() {
    let admin = admin();
    let id = LeadId::generate();
    for path in [
        "/admin".to_owned(),
        "/admin/leads".to_owned(),
        "/admin/unknown".to_owned(),
        format!("/admin/leads/{id}/unknown"),
        format!("/admin/leads/{id}/task/extra"),
        "/admin/rulesets/1/deactivate".to_owned(),
        "/admin/rulesets/1/activate/now".to_owned(),
        "/leads".to_owned(),
    ] {
        for method in METHODS {
            let response = admin.handle(request(method, &path, Some(TOKEN))).await;
            assert!(no_route(&response), "{method} {path} is served but not documented: {}", response.status());
        }
    }
}

#[tokio::test]
async fn every_documented_route_needs_the_token_the_document_names() {
    let doc = document();
    assert_eq!(doc["security"], json!([{ "adminToken": [] }]));
    let scheme = &doc["components"]["securitySchemes"]["adminToken"];
    assert_eq!((&scheme["type"], &scheme["scheme"]), (&json!("http"), &json!("bearer")));
    let admin = admin();
    let public: BTreeSet<(String, String)> = documented()
        .into_iter()
        .filter(|(method, path)| doc["paths"][path][method.to_ascii_lowercase()]["security"] == json!([]))
        .collect();
    let pages = [
        ("GET", "/admin/dashboard"),
        ("GET", "/admin/dashboard/app.js"),
        ("GET", "/admin/dashboard/app.css"),
        ("GET", "/admin/dashboard/icon.svg"),
        ("POST", "/admin/session"),
        ("POST", "/admin/session/end"),
    ];
    let expected: BTreeSet<(String, String)> = pages.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(public, expected, "only the pages and the sign-in answer without a token");
    for (method, template) in documented().difference(&public) {
        let response = admin.handle(request(method, &concrete(template), None)).await;
        assert_eq!(response.status(), 401, "{method} {template} without a token");
        assert!(documented_statuses(method, template).contains(&401), "{method} {template} does not list 401");
    }
}

#[tokio::test]
async fn the_problem_shape_is_the_one_the_handler_sends() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let keys = |schema: &str| -> BTreeSet<String> {
        schemas[schema]["properties"].as_object().unwrap().keys().cloned().collect()
    };
    let refused = admin().handle(request("GET", "/admin/rulesets", None)).await;
    let body: Value = serde_json::from_slice(refused.body().as_ref()).unwrap();
    let sent: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys("Problem"), sent);
    let field_error =
        serde_json::to_value(baton_domain::FieldError { field: "f".into(), message: "m".into() }).unwrap();
    let serialized: BTreeSet<String> = field_error.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys("FieldError"), serialized);
}

/// The document's properties and required properties of a component schema.
fn schema_keys(schema: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let doc = document();
    let s = &doc["components"]["schemas"][schema];
    let properties = s["properties"].as_object().unwrap_or_else(|| panic!("no schema {schema}")).keys().cloned();
    let required = s["required"].as_array().into_iter().flatten().map(|r| r.as_str().unwrap().to_owned());
    (properties.collect(), required.collect())
}

/// Checks a JSON object the handler sent against a documented schema: every required property
/// is there and, unless the schema is `open` (only its main fields named), nothing undocumented.
fn assert_shape(schema: &str, value: &Value, open: bool) {
    let (properties, required) = schema_keys(schema);
    let sent: BTreeSet<String> =
        value.as_object().unwrap_or_else(|| panic!("{schema}: {value}")).keys().cloned().collect();
    assert!(required.is_subset(&sent), "{schema}: {value} lacks some of {required:?}");
    if !open {
        let undocumented: Vec<&String> = sent.difference(&properties).collect();
        assert!(undocumented.is_empty(), "{schema}: {undocumented:?} are sent but not documented");
    }
}

async fn call(admin: &Admin, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let response = admin.handle(request_with(method, path, Some(TOKEN), content_type, body)).await;
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap())
}

#[tokio::test]
async fn the_answers_have_the_documented_shapes() {
    let leads = Arc::new(MemoryLeadStore::new());
    let admin = admin_with(leads.clone());
    let (status, saved) =
        call(&admin, "POST", "/admin/rulesets", "application/toml", baton_domain::rules::DEFAULT_TOML).await;
    assert_eq!(status, 201);
    assert_shape("Saved", &saved, false);
    let (_, activated) = call(&admin, "POST", "/admin/rulesets/1/activate", "application/json", "").await;
    assert_shape("Activated", &activated, false);
    let (_, listed) = call(&admin, "GET", "/admin/rulesets", "application/json", "").await;
    assert_shape("RulesetVersions", &listed, false);
    assert_shape("RulesetVersion", &listed["versions"][0], false);
    let (_, ruleset) = call(&admin, "GET", "/admin/rulesets/1", "application/json", "").await;
    assert_shape("Ruleset", &ruleset, true);
    let (status, refused) = call(&admin, "POST", "/admin/rulesets", "application/toml", "nmae = 1").await;
    assert_eq!(status, 400);
    assert_shape("Problem", &refused, false);
    assert_shape("FieldError", &refused["errors"][0], false);

    let t0 = chrono::Utc::now() - chrono::Duration::days(2);
    let lead = LeadSubmission { email: Some("shape@corp.example".into()), ..Default::default() }
        .into_lead(LeadId::generate(), t0)
        .unwrap();
    leads.seed(&lead.assign(decide(&lead, &Ruleset::default_ruleset(), t0)).unwrap().lead);
    let (status, read) = call(&admin, "GET", &format!("/admin/leads/{}", lead.id), "application/json", "").await;
    assert_eq!(status, 200);
    assert_shape("Lead", &read, true);
    assert_shape("Decision", &read["decision"], true);
    let sharer = LeadSubmission {
        email: Some("colleague@corp.example".into()),
        phone: Some("+14155552671".into()),
        ..Default::default()
    };
    let (first, second) = (
        sharer.clone().into_lead(LeadId::generate(), t0).unwrap(),
        LeadSubmission { email: Some("other@corp.example".into()), ..sharer }
            .into_lead(LeadId::generate(), t0)
            .unwrap(),
    );
    for l in [&first, &second] {
        leads.capture(l, None).await.unwrap();
    }
    let (status, dups) =
        call(&admin, "GET", &format!("/admin/leads/{}/duplicates", first.id), "application/json", "").await;
    assert_eq!(status, 200);
    assert_shape("PossibleDuplicates", &dups, false);
    assert_shape("PossibleDuplicateFound", &dups["possible_duplicates"][0], false);
    assert_shape("DuplicateReason", &dups["possible_duplicates"][0]["reasons"][0], false);
    assert_eq!(dups["possible_duplicates"][0]["lead_id"], second.id.to_string(), "found after it was captured");
    let (_, recorded) = call(&admin, "GET", &format!("/admin/leads/{}", second.id), "application/json", "").await;
    assert_shape("PossibleDuplicate", &recorded["possible_duplicates"][0], false);
    let task_path = format!("/admin/leads/{}/task", lead.id);
    let (status, task) = call(&admin, "GET", &task_path, "application/json", "").await;
    assert_eq!(status, 200);
    assert_shape("Task", &task, false);
    let touch = r#"{"kind":"called","by":"rep-ada","note":"left a voicemail"}"#;
    let (status, touched) =
        call(&admin, "POST", &format!("/admin/leads/{}/touches", lead.id), "application/json", touch).await;
    assert_eq!(status, 201, "{touched}");
    assert_shape("Touched", &touched, false);
    assert_shape("Touch", &touched["lead"]["touches"][0], false);
    let (_, done) = call(&admin, "GET", &task_path, "application/json", "").await;
    assert_eq!(done["status"], "done", "{done}");
    assert_shape("Task", &done, false);
    assert_shape("Touch", &done["done"], false);
}

#[tokio::test]
async fn the_metrics_have_the_documented_shapes() {
    let leads = Arc::new(MemoryLeadStore::new());
    let metrics = Arc::new(MemoryMetrics::new());
    let now = chrono::Utc::now();
    let admin = Admin::new(
        leads.clone(),
        Arc::new(MemoryRulesets::new()),
        vec![digest(TOKEN)],
        Arc::new(ManualClock::new(now)),
    )
    .with_metrics(metrics.clone());
    let t0 = now - chrono::Duration::hours(3);
    let lead = LeadSubmission { email: Some("metrics@corp.example".into()), ..Default::default() }
        .into_lead(LeadId::generate(), t0)
        .unwrap();
    let lead = lead.assign(decide(&lead, &Ruleset::default_ruleset(), t0)).unwrap().lead;
    leads.seed(&lead);
    let measure = baton_app::measure::Measure::new(leads.clone(), metrics, Arc::new(ManualClock::new(now)));
    assert!(measure.lead(&lead.id).await.unwrap());
    let (status, report) = call(&admin, "GET", "/admin/metrics?by=source,owner", "application/json", "").await;
    assert_eq!(status, 200, "{report}");
    assert_shape("MetricsReport", &report, false);
    let figures = &report["by"]["owner"][0]["figures"];
    assert_shape("ValueFigures", &report["by"]["owner"][0], false);
    for f in [&report["overall"], figures, &report["series"].as_array().unwrap().last().unwrap()["figures"]] {
        assert_shape("Figures", f, false);
        assert_shape("Durations", &f["time_to_first_touch"], false);
        assert_shape("Rates", &f["outcomes"], false);
        assert_shape("BucketCount", &f["system_delay"]["distribution"][0], false);
        let sent: Vec<&Value> = f["speed_to_lead"].as_array().unwrap().iter().map(|p| &p["bucket"]).collect();
        let doc = document();
        let named: Vec<&Value> = doc["components"]["schemas"]["SpeedPoint"]["properties"]["bucket"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(sent, named, "every bucket, in the documented names and order");
        assert_shape("SpeedPoint", &f["speed_to_lead"][0], false);
    }
    assert_shape("SeriesPoint", &report["series"][0], false);
    assert_shape("OpenLeads", &report["open"], false);
    assert_eq!(report["overall"]["outcomes"]["leads"], 1);
}
