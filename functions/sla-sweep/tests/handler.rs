//! The sweep handler: overdue leads are re-queued or escalated, each once.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryPublisher, MemoryQueue, Outage};
use baton_adapters::{LeadStore, WorkQueue};
use baton_domain::{EventType, LeadId, LeadStatus, LeadSubmission, RouteRequest, Ruleset, decide, sla};
use baton_sla_sweep::{Sweep, SweepReport};
use chrono::TimeZone;

const SCHEDULE: &str = include_str!("fixtures/eventbridge-schedule.json");

fn t0() -> baton_domain::Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

struct World {
    store: Arc<MemoryLeadStore>,
    queue: Arc<MemoryQueue>,
    publisher: Arc<MemoryPublisher>,
    clock: Arc<ManualClock>,
    sweep: Sweep,
}

fn world() -> World {
    let store = Arc::new(MemoryLeadStore::new());
    let queue = Arc::new(MemoryQueue::default());
    let publisher = Arc::new(MemoryPublisher::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let sweep = Sweep::new(store.clone(), queue.clone(), publisher.clone(), clock.clone());
    World { store, queue, publisher, clock, sweep }
}

async fn captured(w: &World) -> LeadId {
    let lead =
        LeadSubmission { email: Some("a@corp.example".into()), country: Some("US".into()), ..Default::default() }
            .into_lead(LeadId::generate(), t0())
            .unwrap();
    w.store.insert(&lead).await.unwrap();
    lead.id
}

async fn assigned(w: &World) -> (LeadId, baton_domain::Timestamp) {
    let id = captured(w).await;
    let lead = w.store.get(&id).await.unwrap().unwrap();
    let decision = decide(&lead, &Ruleset::default_ruleset(), t0());
    let due = decision.first_touch_due_at;
    w.store.record_decision(&id, &decision).await.unwrap();
    (id, due)
}

#[test]
fn the_schedule_event_parses() {
    let event: EventBridgeEvent = serde_json::from_str(SCHEDULE).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
}

#[tokio::test]
async fn a_lead_that_missed_routing_is_queued_again_after_the_grace_period() {
    let w = world();
    let id = captured(&w).await;
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "nothing is overdue yet");

    w.clock.advance(sla::routing_grace());
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { requeued: 1, ..Default::default() });
    let messages = w.queue.receive(10, Duration::ZERO).await.unwrap();
    let request: RouteRequest = serde_json::from_str(&messages[0].body).unwrap();
    assert_eq!(request.lead_id, id);
}

#[tokio::test]
async fn an_untouched_lead_past_its_due_time_is_escalated_once() {
    let w = world();
    let (id, due) = assigned(&w).await;
    w.clock.advance(due - t0() - chrono::Duration::seconds(1));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "not due yet");

    w.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { escalated: 1, ..Default::default() });
    let events = w.publisher.published();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].event_type(), events[0].lead_id()), (EventType::Escalated, &id));
    assert_eq!(events[0].lead().status, LeadStatus::Escalated);
    assert_eq!(w.store.get(&id).await.unwrap().unwrap().escalated_at, Some(w.clock_now()));

    w.clock.advance(chrono::Duration::hours(1));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "an escalated lead is not escalated again");
}

#[tokio::test]
async fn a_touched_lead_is_never_escalated() {
    let w = world();
    let (id, _) = assigned(&w).await;
    let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, t0(), "U1", "api");
    assert!(matches!(w.store.record_touch(&id, &touch).await.unwrap(), baton_domain::Touched::First(_)));
    w.clock.advance(chrono::Duration::days(2));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default());
    assert!(w.publisher.published().is_empty());
}

#[tokio::test]
async fn a_failed_publish_leaves_the_lead_overdue_for_the_next_run() {
    let w = world();
    let (id, due) = assigned(&w).await;
    w.clock.advance(due - t0());
    let broken = Sweep::new(w.store.clone(), w.queue.clone(), Arc::new(Outage("SNS")), w.clock.clone());
    assert_eq!(broken.run().await.unwrap(), SweepReport { failed: 1, ..Default::default() });
    assert_eq!(w.store.get(&id).await.unwrap().unwrap().status, LeadStatus::Assigned);
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { escalated: 1, ..Default::default() });
}

#[tokio::test]
async fn a_store_outage_fails_the_run() {
    let w = world();
    let broken = Sweep::new(Arc::new(Outage("DynamoDB")), w.queue.clone(), w.publisher.clone(), w.clock.clone());
    assert!(broken.run().await.unwrap_err().is_retryable());
}

impl World {
    fn clock_now(&self) -> baton_domain::Timestamp {
        use baton_adapters::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_touch_whose_event_was_not_published_is_announced_by_the_sweep_once() {
    let w = world();
    let (id, _) = assigned(&w).await;
    let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, t0(), "U1", "slack");
    w.store.record_touch(&id, &touch).await.unwrap();
    w.store.defer_announcement(&id, &touch).await.unwrap();

    let report = w.sweep.run().await.unwrap();
    assert_eq!(report.announced, 1);
    let published = w.publisher.published();
    assert!(
        matches!(&published[..], [baton_domain::LeadEvent::Touched { touch: t, lead }] if *t == touch && lead.unannounced.is_empty()),
        "{published:?}"
    );
    assert_eq!(w.sweep.run().await.unwrap().announced, 0, "announced once");
    assert_eq!(w.store.get(&id).await.unwrap().unwrap().awaiting(), None, "nothing left waiting");
}
