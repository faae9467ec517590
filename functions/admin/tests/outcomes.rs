//! Outcome events through the admin API: one at a time, in batches, and as a CSV import, with
//! replays, unknown leads, impossible times and out-of-order arrival.

use std::sync::Arc;

use baton_adapters::LeadRepository;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryPublisher, MemoryRulesets};
use baton_admin::{Admin, digest};
use baton_domain::{EventType, LeadId, LeadStatus, LeadSubmission, Ruleset, Timestamp, TouchKind, decide};
use serde_json::{Value, json};

const TOKEN: &str = "admin-token-for-outcome-tests";

mod support;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

struct World {
    admin: Admin,
    leads: Arc<MemoryLeadStore>,
    events: Arc<MemoryPublisher>,
}

/// An admin API whose clock reads 2026-12-04 10:00 UTC.
fn world() -> World {
    let leads = Arc::new(MemoryLeadStore::new());
    let events = Arc::new(MemoryPublisher::default());
    let clock = Arc::new(ManualClock::new(at("2026-12-04T10:00:00Z")));
    let admin = Admin::new(leads.clone(), Arc::new(MemoryRulesets::new()), vec![digest(TOKEN)], clock)
        .with_events(events.clone());
    World { admin, leads, events }
}

impl World {
    /// A lead captured and assigned at `captured`.
    fn lead(&self, captured: &str) -> LeadId {
        let captured = at(captured);
        let lead = LeadSubmission { email: Some("buyer@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::generate(), captured)
            .unwrap();
        self.leads.seed(&lead.assign(decide(&lead, &Ruleset::default_ruleset(), captured)).unwrap().lead);
        lead.id
    }

    async fn post(&self, path: &str, content_type: &str, body: &str) -> (u16, Option<String>, Value) {
        let r = self.admin.handle(support::request("POST", path, Some(TOKEN), content_type, body)).await;
        let replayed = r.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), replayed, serde_json::from_slice(r.body().as_ref()).unwrap())
    }

    async fn touch(&self, id: &LeadId, body: Value) -> (u16, Option<String>, Value) {
        self.post(&format!("/admin/leads/{id}/touches"), "application/json", &body.to_string()).await
    }

    async fn kinds(&self, id: &LeadId) -> Vec<&'static str> {
        let lead = self.leads.get(id).await.unwrap().unwrap();
        lead.touches.iter().map(|t| t.kind.as_str()).collect()
    }
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn an_outcome_with_its_own_time_channel_and_amount_is_recorded_and_a_replay_answers_the_first_result() {
    let w = world();
    let id = w.lead("2026-12-04T08:00:00Z");
    let event = json!({
        "kind": "opportunity_created", "by": "ana", "occurred_at": "2026-12-04T09:15:00Z", "channel": "crm",
        "external_id": "opp-77", "amount": "12500.00", "currency": "eur"
    });
    let (status, replayed, first) = w.touch(&id, event.clone()).await;
    assert_eq!((status, replayed), (201, None), "{first}");
    assert_eq!((first["first"].as_bool(), first["replayed"].as_bool()), (Some(true), Some(false)));
    let touch = &first["touch"];
    assert_eq!((touch["at"].as_str(), touch["via"].as_str()), (Some("2026-12-04T09:15:00Z"), Some("crm")));
    assert_eq!(touch["amount"], json!({ "amount": "12500.00", "currency": "EUR" }));
    assert_eq!(touch["recorded_at"], "2026-12-04T10:00:00Z", "it arrived later than it happened");
    assert_eq!(first["lead"]["status"], "touched");

    // The same external id again (even with other details) changes nothing and answers the same.
    let mut again = event.clone();
    again["occurred_at"] = json!("2026-12-04T09:40:00Z");
    let (status, replayed, second) = w.touch(&id, again).await;
    assert_eq!((status, replayed.as_deref()), (201, Some("true")), "{second}");
    assert_eq!((second["first"].as_bool(), second["replayed"].as_bool()), (Some(true), Some(true)));
    assert_eq!(second["touch"], first["touch"], "the event as first recorded");
    assert_eq!(w.kinds(&id).await, ["opportunity_created"]);
    let touched = w.events.published().iter().filter(|e| e.event_type() == EventType::Touched).count();
    assert_eq!(touched, 1, "a replay announces nothing");
}

#[tokio::test]
async fn an_event_arriving_late_but_dated_earlier_becomes_the_first_touch() {
    let w = world();
    let id = w.lead("2026-12-04T08:00:00Z");
    let (_, _, later) =
        w.touch(&id, json!({"kind": "called", "by": "ana", "occurred_at": "2026-12-04T09:30:00Z"})).await;
    assert_eq!(later["first"], true);
    let (_, _, earlier) =
        w.touch(&id, json!({"kind": "emailed", "by": "ana", "occurred_at": "2026-12-04T08:20:00Z"})).await;
    assert_eq!(earlier["first"], true, "{earlier}");
    let lead = w.leads.get(&id).await.unwrap().unwrap();
    assert_eq!(lead.touched_at(), Some(at("2026-12-04T08:20:00Z")), "the first touch moved earlier");
    assert_eq!(w.kinds(&id).await, ["emailed", "called"], "kept in the order they happened");
}

#[tokio::test]
async fn impossible_times_are_422_naming_occurred_at_and_malformed_events_400_naming_every_field() {
    let w = world();
    let id = w.lead("2026-12-04T08:00:00Z");
    for time in ["2026-12-04T07:59:59Z", "2026-12-04T10:06:00Z"] {
        let (status, _, problem) = w.touch(&id, json!({"kind": "called", "by": "ana", "occurred_at": time})).await;
        assert_eq!((status, problem["error"].as_str()), (422, Some("bad_time")), "{time}: {problem}");
        assert_eq!(fields(&problem), ["occurred_at"], "{time}");
    }
    let (status, _, problem) =
        w.touch(&id, json!({"kind": "danced", "by": "", "occurred_at": "soon", "channel": "fax", "amount": 5})).await;
    assert_eq!((status, problem["error"].as_str()), (400, Some("bad_touch")), "{problem}");
    assert_eq!(fields(&problem), ["kind", "by", "occurred_at", "channel", "currency"]);
    let other = LeadId::generate();
    let (status, _, problem) = w.touch(&id, json!({"kind": "called", "by": "ana", "lead_id": other})).await;
    assert_eq!((status, fields(&problem)), (400, vec!["lead_id".to_owned()]));
    assert!(w.kinds(&id).await.is_empty(), "nothing was recorded");
}

#[tokio::test]
async fn a_batch_answers_each_event_in_the_order_sent_and_records_them_in_the_order_they_happened() {
    let w = world();
    let a = w.lead("2026-12-04T08:00:00Z");
    let b = w.lead("2026-12-04T09:00:00Z");
    let unknown = LeadId::generate();
    let events = json!({ "events": [
        { "lead_id": a, "kind": "meeting_booked", "by": "ana", "occurred_at": "2026-12-04T09:50:00Z", "external_id": "m-1" },
        { "lead_id": a, "kind": "called", "by": "ana", "occurred_at": "2026-12-04T08:30:00Z", "external_id": "c-1" },
        { "lead_id": unknown, "kind": "called", "by": "ana" },
        { "lead_id": b, "kind": "called", "by": "ana", "occurred_at": "2026-12-04T08:59:00Z" },
        { "lead_id": b, "kind": "danced", "by": "ana" },
        { "kind": "called", "by": "ana" },
        { "lead_id": a, "kind": "called", "by": "ana", "occurred_at": "2026-12-04T08:30:00Z", "external_id": "c-1" },
    ]});
    let (status, _, answer) = w.post("/admin/outcomes", "application/json", &events.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 201, 404, 422, 400, 400, 201]);
    let indexes: Vec<u64> = results.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4, 5, 6]);
    assert_eq!((results[0]["first"].as_bool(), results[1]["first"].as_bool()), (Some(false), Some(true)));
    assert!(results[2]["problem"]["message"].as_str().unwrap().contains(&unknown.to_string()), "{}", results[2]);
    assert_eq!(fields(&results[3]["problem"]), ["occurred_at"]);
    assert_eq!(fields(&results[4]["problem"]), ["kind"]);
    assert_eq!(fields(&results[5]["problem"]), ["lead_id"]);
    assert_eq!(results[6]["replayed"], true, "the same external id twice in one batch is one event");
    assert_eq!(answer["summary"], json!({ "recorded": 2, "replayed": 1, "refused": 4 }));
    assert_eq!(w.kinds(&a).await, ["called", "meeting_booked"]);
    assert!(w.kinds(&b).await.is_empty());

    // The whole batch again: every good event is a replay; nothing changes.
    let (_, _, again) = w.post("/admin/outcomes", "application/json", &events.to_string()).await;
    assert_eq!(again["summary"], json!({ "recorded": 0, "replayed": 3, "refused": 4 }));
    assert_eq!(w.kinds(&a).await, ["called", "meeting_booked"]);
}

#[tokio::test]
async fn a_batch_of_more_than_a_hundred_is_refused_whole() {
    let w = world();
    let a = w.lead("2026-12-04T08:00:00Z");
    let events: Vec<Value> =
        (0..101).map(|i| json!({"lead_id": a, "kind": "called", "by": format!("rep-{i}")})).collect();
    let (status, _, problem) =
        w.post("/admin/outcomes", "application/json", &json!({ "events": events }).to_string()).await;
    assert_eq!((status, problem["error"].as_str()), (400, Some("too_many")));
    assert!(w.kinds(&a).await.is_empty());
    let (status, _, problem) = w.post("/admin/outcomes", "application/json", r#"{"items": []}"#).await;
    assert_eq!((status, problem["error"].as_str()), (400, Some("bad_touch")), "{problem}");
}

#[tokio::test]
async fn a_csv_import_is_all_or_nothing_and_importing_it_again_changes_nothing() {
    let w = world();
    let a = w.lead("2026-12-04T08:00:00Z");
    let b = w.lead("2026-12-04T08:00:00Z");
    let unknown = LeadId::generate();
    let bad = format!(
        "lead_id,kind,by,occurred_at,external_id\n\
         {a},called,ana,2026-12-04T08:10:00Z,x-1\n\
         {unknown},called,ana,2026-12-04T08:10:00Z,x-2\n\
         {b},emailed,ana,2026-12-04T07:00:00Z,x-3\n\
         {b},disqualified,ana,2026-12-04T08:30:00Z,x-4\n\
         {b},called,ana,2026-12-04T09:00:00Z,x-5\n"
    );
    let (status, _, problem) = w.post("/admin/outcomes/import", "text/csv", &bad).await;
    assert_eq!((status, problem["error"].as_str()), (422, Some("import_refused")), "{problem}");
    assert_eq!(fields(&problem), ["row 3.lead_id", "row 4.occurred_at", "row 6.kind"]);
    assert!(w.kinds(&a).await.is_empty(), "nothing was written");

    let (status, _, problem) = w.post("/admin/outcomes/import", "text/csv", "lead_id,kind,by,when\n").await;
    assert_eq!((status, fields(&problem)), (400, vec!["row 1.when".to_owned(), "row 1.occurred_at".to_owned()]));

    let good = format!(
        "kind,lead_id,by,occurred_at,external_id,amount,currency,reason\n\
         won,{a},ana,2026-12-04T09:40:00Z,w-1,9000,USD,\n\
         called,{a},ana,2026-12-04T08:10:00Z,c-1,,,\n\
         disqualified,{b},ana,2026-12-04T08:30:00Z,d-1,,,student\n"
    );
    let (status, _, answer) = w.post("/admin/outcomes/import", "text/csv", &good).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["summary"], json!({ "rows": 3, "recorded": 3, "replayed": 0, "failed": 0 }));
    let rows: Vec<u64> = answer["results"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, [2, 3, 4]);
    assert_eq!(w.kinds(&a).await, ["called", "won"]);
    let lead_a = w.leads.get(&a).await.unwrap().unwrap();
    assert_eq!(lead_a.touches[0].via, "import");
    assert_eq!(lead_a.touched_at(), Some(at("2026-12-04T08:10:00Z")));
    let lead_b = w.leads.get(&b).await.unwrap().unwrap();
    assert_eq!(lead_b.status(), LeadStatus::Disqualified);
    assert_eq!(lead_b.touches[0].reason.as_deref(), Some("student"));
    assert!(lead_a.touches.iter().all(|t| t.kind != TouchKind::Nurture));

    let (status, _, again) = w.post("/admin/outcomes/import", "text/csv", &good).await;
    assert_eq!(status, 200, "a file imported twice is not refused, even though lead b is closed now: {again}");
    assert_eq!(again["summary"], json!({ "rows": 3, "recorded": 0, "replayed": 3, "failed": 0 }));
    assert_eq!(w.kinds(&a).await, ["called", "won"]);
}
