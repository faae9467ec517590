//! The sweep handler: overdue leads are re-queued or escalated, each once.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryPublisher, MemoryQueue, Outage};
use baton_adapters::{EventPublisher, LeadRepository, WorkQueue};
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
    w.store.seed(&lead);
    lead.id
}

async fn assigned(w: &World) -> (LeadId, baton_domain::Timestamp) {
    let id = captured(w).await;
    let lead = w.store.get(&id).await.unwrap().unwrap();
    let decision = decide(&lead, &Ruleset::default_ruleset(), t0());
    let due = decision.first_touch_due_at;
    w.store.seed(&lead.assign(decision).unwrap().lead);
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
    assert_eq!((events[0].event_type(), events[0].lead_id()), (EventType::SlaBreached, &id));
    assert_eq!(events[0].lead().status, LeadStatus::Escalated);
    assert_eq!(w.store.get(&id).await.unwrap().unwrap().escalated_at(), Some(w.clock_now()));

    w.clock.advance(chrono::Duration::hours(1));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "an escalated lead is not escalated again");
}

#[tokio::test]
async fn a_touched_lead_is_never_escalated() {
    let w = world();
    let (id, _) = assigned(&w).await;
    let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, t0(), "U1", "api");
    let publisher: &dyn EventPublisher = w.publisher.as_ref();
    let touched = baton_app::touch::record_touch(w.store.as_ref(), Some(publisher), &id, touch).await.unwrap();
    assert!(matches!(touched, baton_domain::Touched::First(_)));
    w.clock.advance(chrono::Duration::days(2));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default());
    let types: Vec<EventType> = w.publisher.published().iter().map(|e| e.kind).collect();
    assert_eq!(types, [EventType::Touched], "no escalation");
}

#[tokio::test]
async fn an_escalation_is_recorded_before_it_is_announced_and_announced_once_the_publisher_is_back() {
    let w = world();
    let (id, due) = assigned(&w).await;
    w.clock.advance(due - t0());
    let broken = Sweep::new(w.store.clone(), w.queue.clone(), Arc::new(Outage("SNS")), w.clock.clone());
    assert_eq!(broken.run().await.unwrap(), SweepReport { escalated: 1, ..Default::default() });
    let stored = w.store.get(&id).await.unwrap().unwrap();
    assert_eq!(stored.status(), LeadStatus::Escalated, "the escalation is recorded even though SNS is down");
    assert_eq!(stored.outbox.len(), 1, "its event waits in the outbox");
    assert!(w.publisher.published().is_empty());

    // The outbox is the sweep's after a grace period; while SNS is still down the lead is
    // deferred and named, and once it is back the event goes out once.
    assert_eq!(broken.run().await.unwrap(), SweepReport::default(), "left to its recorder for the grace period");
    w.clock.advance(baton_domain::stage::announce_grace());
    let report = broken.run().await.unwrap();
    assert_eq!((report.failed, report.failed_leads), (1, vec![id.to_string()]));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "deferred leads wait out their backoff");
    w.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { announced: 1, ..Default::default() });
    let events = w.publisher.published();
    assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventType::SlaBreached]);
    assert!(events[0].id.ends_with(&format!("lead.sla_breached@{}", due.timestamp_millis())), "{}", events[0].id);
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default());
    assert_eq!(w.store.get(&id).await.unwrap().unwrap().deferral, None, "announcing clears the deferral");
}

#[tokio::test]
async fn overlapping_sweeps_escalate_once_keyed_by_the_missed_due_time() {
    let w = world();
    let (id, due) = assigned(&w).await;
    w.clock.advance(due - t0() + chrono::Duration::minutes(7));
    let (a, b) = tokio::join!(w.sweep.run(), w.sweep.run());
    assert_eq!(a.unwrap().escalated + b.unwrap().escalated, 1, "two runs, one escalation");
    w.clock.advance(chrono::Duration::hours(3));
    w.sweep.run().await.unwrap();
    let events = w.publisher.published();
    assert_eq!(events.len(), 1, "one breach alert: {events:?}");
    assert_eq!(
        events[0].id,
        format!("{id}#lead.sla_breached@{}", due.timestamp_millis()),
        "keyed by what it is, not when it ran"
    );
}

/// Publishes everything except events about the leads in `refuse`.
struct Picky {
    inner: MemoryPublisher,
    refuse: Vec<LeadId>,
}

#[async_trait::async_trait]
impl EventPublisher for Picky {
    async fn publish(&self, event: &baton_domain::LeadEvent) -> Result<(), baton_adapters::Error> {
        if self.refuse.contains(event.lead_id()) {
            return Err(baton_adapters::Error::Rejected { service: "SNS", detail: "refused".into() });
        }
        self.inner.publish(event).await
    }
}

#[tokio::test]
async fn leads_that_cannot_be_announced_never_block_the_ones_after_them() {
    let store = Arc::new(MemoryLeadStore::new());
    let clock = Arc::new(ManualClock::new(t0()));
    let mut ids = Vec::new();
    for i in 0..3 {
        let lead = LeadSubmission { email: Some(format!("p{i}@corp.example")), ..Default::default() }
            .into_lead(LeadId::generate(), t0())
            .unwrap();
        let lead = lead.assign(decide(&lead, &Ruleset::default_ruleset(), t0())).unwrap().lead;
        let at = t0() + chrono::Duration::seconds(i);
        let touched = lead.touch(baton_domain::Touch::new(baton_domain::TouchKind::Called, at, "U1", "api")).unwrap();
        store.seed(&touched.lead);
        ids.push(lead.id);
    }
    let publisher = Arc::new(Picky { inner: MemoryPublisher::new(), refuse: ids[..2].to_vec() });
    let queue = Arc::new(MemoryQueue::default());
    let sweep = Sweep::new(store.clone(), queue, publisher.clone(), clock.clone()).with_batch(2);
    clock.advance(chrono::Duration::minutes(5));
    let first = sweep.run().await.unwrap();
    assert_eq!(first.failed_leads, [ids[0].to_string(), ids[1].to_string()], "the two earliest fail and are named");
    let second = sweep.run().await.unwrap();
    assert_eq!(second.announced, 1, "the next run moves past them: {second:?}");
    assert_eq!(publisher.inner.published()[0].lead_id(), &ids[2]);
}

#[tokio::test]
async fn a_lead_the_queue_cannot_take_is_deferred_and_reported() {
    let w = world();
    let id = captured(&w).await;
    w.clock.advance(sla::routing_grace());
    let broken = Sweep::new(w.store.clone(), Arc::new(Outage("SQS")), w.publisher.clone(), w.clock.clone());
    let report = broken.run().await.unwrap();
    assert_eq!((report.failed, report.failed_leads), (1, vec![id.to_string()]));
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "deferred past now");
    w.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(w.sweep.run().await.unwrap().requeued, 1, "tried again after the backoff");
}

#[tokio::test]
async fn a_requeued_lead_is_backed_off_so_it_is_not_requeued_every_run() {
    let w = world();
    captured(&w).await;
    w.clock.advance(sla::routing_grace());
    assert_eq!(w.sweep.run().await.unwrap().requeued, 1);
    assert_eq!(w.sweep.run().await.unwrap().requeued, 0, "not again while routing has its turn");
    w.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(w.sweep.run().await.unwrap().requeued, 1, "again once the backoff has passed");
    w.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(w.sweep.run().await.unwrap().requeued, 0, "the backoff doubles");
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
    baton_app::touch::record_touch(w.store.as_ref(), None, &id, touch.clone()).await.unwrap();
    assert_eq!(w.store.get(&id).await.unwrap().unwrap().outbox.len(), 1, "written with the touch");

    assert_eq!(w.sweep.run().await.unwrap().announced, 0, "left to the recorder for the grace period");
    w.clock.advance(baton_domain::stage::announce_grace());
    let report = w.sweep.run().await.unwrap();
    assert_eq!(report.announced, 1);
    let published = w.publisher.published();
    assert!(
        matches!(&published[..], [e] if e.kind == EventType::Touched && e.touch.as_ref() == Some(&touch)),
        "{published:?}"
    );
    assert_eq!(w.sweep.run().await.unwrap().announced, 0, "announced once");
    assert_eq!(w.store.get(&id).await.unwrap().unwrap().awaiting(), None, "nothing left waiting");
}
