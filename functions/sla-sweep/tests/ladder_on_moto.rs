//! The SLA ladder on DynamoDB (moto): warning, breach and reassignment taken once each by two
//! concurrent sweeps, with the open slot moving between owners in the reassignment's one
//! transaction. Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly
//! without it.

use std::sync::Arc;

use baton_adapters::contract::{test_endpoint, unique_name};
use baton_adapters::dynamo::{DynamoCounters, DynamoLeadStore};
use baton_adapters::memory::{ManualClock, MemoryPublisher, MemoryQueue};
use baton_adapters::{Capacity, Clock, LeadRepository, provision};
use baton_app::assign::Assign;
use baton_domain::{EventType, LeadId, LeadStatus, LeadSubmission, RouteRequest, Ruleset, Rung};
use baton_sla_sweep::Sweep;
use chrono::TimeZone;

#[tokio::test]
async fn two_sweeps_on_dynamodb_take_each_rung_once_and_move_the_open_slot() {
    let client = aws_sdk_dynamodb::Client::new(&provision::sdk_config(Some(&test_endpoint())).await);
    let table = unique_name("ladder");
    provision::ensure_table(&client, &table).await.expect("create table");
    let store = Arc::new(DynamoLeadStore::new(client.clone(), &table));
    let counters = Arc::new(DynamoCounters::new(client, &table));
    let publisher = Arc::new(MemoryPublisher::new());
    let clock = Arc::new(ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()));
    let mut ruleset = Ruleset::default_ruleset();
    ruleset.sla.warn_at_percent = Some(80);
    ruleset.sla.reassign_after = Some("10m".into());
    for m in &mut ruleset.pools.get_mut("north-america").unwrap().members {
        m.max_open = Some(5);
    }
    let assign = Assign::new(store.clone(), publisher.clone(), ruleset, 1, counters.clone(), clock.clone());
    let sweep = Sweep::new(store.clone(), Arc::new(MemoryQueue::default()), publisher.clone(), clock.clone())
        .with_reassignment(assign.clone());

    let lead =
        LeadSubmission { email: Some("a@corp.example".into()), country: Some("US".into()), ..Default::default() }
            .into_lead(LeadId::generate(), clock.now())
            .unwrap();
    store.capture(&lead, None).await.unwrap();
    let body = serde_json::to_string(&RouteRequest { lead_id: lead.id.clone() }).unwrap();
    assign.route_message(&body).await.unwrap();
    let first = store.get(&lead.id).await.unwrap().unwrap().decision().unwrap().owner.id.clone();

    for rung in [Rung::Warning, Rung::Breach, Rung::Reassignment] {
        let (next, at) = store.get(&lead.id).await.unwrap().unwrap().next_rung().unwrap();
        assert_eq!(next, rung);
        clock.set(at);
        let other = sweep.clone();
        let (a, b) = tokio::join!(sweep.run(), other.run());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.warned + a.escalated + a.reassigned + b.warned + b.escalated + b.reassigned, 1, "{rung:?}");
    }
    let now = store.get(&lead.id).await.unwrap().unwrap();
    let second = now.decision().unwrap().owner.id.clone();
    assert_ne!(second, first);
    assert_eq!(now.status(), LeadStatus::Assigned);
    assert_eq!((counters.open_count(&first).await.unwrap(), counters.open_count(&second).await.unwrap()), (0, 1));
    let kinds: Vec<EventType> = publisher.published().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::Assigned, EventType::SlaWarning, EventType::SlaBreached, EventType::Reassigned]);
    assert!(now.outbox.is_empty(), "every rung was announced and cleared from the outbox");
}
