//! The SLA ladder through the sweep, with an injected clock and no sleeping: a lead passes
//! through warning, breach and reassignment, then the fallback queue; a touch at each point stops
//! it; concurrent sweeps take each rung once; open slots move with the lead.

use std::sync::Arc;

use baton_adapters::memory::{ManualClock, MemoryCounters, MemoryLeadStore, MemoryPublisher, MemoryQueue};
use baton_adapters::{Capacity, Clock, EventPublisher, LeadRepository};
use baton_app::assign::Assign;
use baton_domain::{EventType, LeadId, LeadStatus, LeadSubmission, RouteRequest, Ruleset, Rung, Touch, TouchKind};
use baton_sla_sweep::{Sweep, SweepReport};
use chrono::TimeZone;

fn t0() -> baton_domain::Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

/// The default ruleset with the whole ladder: warned at 80%, reassigned 10 minutes after the
/// breach, once, then the fallback queue; pool members capped at 3 open leads.
fn ladder() -> Ruleset {
    let mut r = Ruleset::default_ruleset();
    r.sla.warn_at_percent = Some(80);
    r.sla.reassign_after = Some("10m".into());
    r.sla.max_reassignments = Some(1);
    for m in &mut r.pools.get_mut("north-america").unwrap().members {
        m.max_open = Some(3);
    }
    r.validate().unwrap();
    r
}

struct World {
    store: Arc<MemoryLeadStore>,
    publisher: Arc<MemoryPublisher>,
    counters: Arc<MemoryCounters>,
    clock: Arc<ManualClock>,
    assign: Assign,
    sweep: Sweep,
}

fn world() -> World {
    let store = Arc::new(MemoryLeadStore::new());
    let publisher = Arc::new(MemoryPublisher::new());
    let counters = Arc::new(store.counters()); // open slots move with the store's writes
    let clock = Arc::new(ManualClock::new(t0()));
    let assign = Assign::new(store.clone(), publisher.clone(), ladder(), 1, counters.clone(), clock.clone());
    let sweep = Sweep::new(store.clone(), Arc::new(MemoryQueue::default()), publisher.clone(), clock.clone())
        .with_reassignment(assign.clone());
    World { store, publisher, counters, clock, assign, sweep }
}

impl World {
    /// A lead from the US, captured and routed now (to the north-america pool).
    async fn routed(&self) -> LeadId {
        let lead =
            LeadSubmission { email: Some("a@corp.example".into()), country: Some("US".into()), ..Default::default() }
                .into_lead(LeadId::generate(), self.clock.now())
                .unwrap();
        self.store.seed(&lead);
        let body = serde_json::to_string(&RouteRequest { lead_id: lead.id.clone() }).unwrap();
        self.assign.route_message(&body).await.unwrap();
        lead.id
    }

    async fn lead(&self, id: &LeadId) -> baton_domain::Lead {
        self.store.get(id).await.unwrap().unwrap()
    }

    /// Moves the clock to the lead's next rung.
    async fn to_next_rung(&self, id: &LeadId) -> Rung {
        let (rung, at) = self.lead(id).await.next_rung().expect("a rung is due");
        self.clock.set(at);
        rung
    }

    fn types(&self) -> Vec<EventType> {
        self.publisher.published().iter().map(|e| e.kind).collect()
    }

    async fn touch(&self, id: &LeadId, by: &str) -> baton_domain::Touched {
        let publisher: &dyn EventPublisher = self.publisher.as_ref();
        let touch = Touch::new(TouchKind::Called, self.clock.now(), by, "api");
        baton_app::touch::record_touch(self.store.as_ref(), Some(publisher), id, touch).await.unwrap()
    }
}

#[tokio::test]
async fn a_lead_climbs_warning_breach_reassignment_and_then_the_fallback_queue() {
    let tap = baton_adapters::metrics::Tap::open();
    let w = world();
    let id = w.routed().await;
    let first = w.lead(&id).await.decision().unwrap().owner.id.clone();
    assert_eq!(w.counters.open_count(&first).await.unwrap(), 1);

    assert_eq!(w.to_next_rung(&id).await, Rung::Warning);
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { warned: 1, ..Default::default() });
    assert_eq!(w.to_next_rung(&id).await, Rung::Breach);
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { escalated: 1, ..Default::default() });
    assert_eq!(w.lead(&id).await.status(), LeadStatus::Escalated);
    assert_eq!(w.to_next_rung(&id).await, Rung::Reassignment);
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { reassigned: 1, ..Default::default() });

    let lead = w.lead(&id).await;
    let second = lead.decision().unwrap().owner.id.clone();
    assert_ne!(second, first, "the next available member, never the one who missed it");
    assert_eq!(lead.status(), LeadStatus::Assigned);
    assert_eq!(
        (w.counters.open_count(&first).await.unwrap(), w.counters.open_count(&second).await.unwrap()),
        (0, 1),
        "the old owner's slot was freed and the new owner's taken"
    );
    let step = lead.sla_history.last().unwrap();
    assert_eq!((step.owner.as_str(), step.to.as_deref()), (first.as_str(), Some(second.as_str())));

    // The new owner gets the same ladder, and then the fallback queue takes the lead.
    for rung in [Rung::Warning, Rung::Breach, Rung::Reassignment] {
        assert_eq!(w.to_next_rung(&id).await, rung);
        w.sweep.run().await.unwrap();
    }
    let lead = w.lead(&id).await;
    assert_eq!(lead.decision().unwrap().owner.id, ladder().fallback.id);
    assert_eq!(w.counters.open_count(&second).await.unwrap(), 0);
    for rung in [Rung::Warning, Rung::Breach] {
        assert_eq!(w.to_next_rung(&id).await, rung);
        w.sweep.run().await.unwrap();
    }
    assert_eq!(w.lead(&id).await.next_rung(), None, "the fallback queue is the end of the ladder");
    use EventType::*;
    assert_eq!(
        w.types(),
        [Assigned, SlaWarning, SlaBreached, Reassigned, SlaWarning, SlaBreached, Reassigned, SlaWarning, SlaBreached]
    );
    let ids: std::collections::BTreeSet<String> = w.publisher.published().iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 9, "each rung's event has its own id");
    let emitted = |metric: &str, value: &str| tap.sum(metric, value);
    assert_eq!(emitted("LeadsRouted", "assigned"), 1.0);
    assert_eq!((emitted("SlaWarnings", "first_touch"), emitted("SlaBreaches", "first_touch")), (3.0, 3.0));
    assert_eq!(emitted("Reassignments", "first_touch"), 2.0);
    let priority = w.lead(&id).await.decision().unwrap().score.priority.as_str();
    assert_eq!(emitted("FallbackUsed", priority), 1.0, "the fallback queue took it once: {:?}", tap.points());
    assert_eq!(tap.points().iter().filter(|(m, v, _)| m == "StageLatency" && v == "route").count(), 1);
}

#[tokio::test]
async fn a_touch_at_any_rung_stops_the_ladder() {
    for stop_after in 0..4 {
        let w = world();
        let id = w.routed().await;
        for _ in 0..stop_after {
            w.to_next_rung(&id).await;
            w.sweep.run().await.unwrap();
        }
        let owner = w.lead(&id).await.decision().unwrap().owner.id.clone();
        assert!(matches!(w.touch(&id, &owner).await, baton_domain::Touched::First(_)), "after {stop_after} rungs");
        let before = w.types().len();
        w.clock.advance(chrono::Duration::days(30));
        w.sweep.run().await.unwrap();
        w.clock.advance(chrono::Duration::days(30));
        assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "after {stop_after} rungs");
        assert_eq!(w.types().len(), before, "nothing more after the touch ({stop_after} rungs)");
        assert_eq!(w.counters.open_count(&owner).await.unwrap(), 0, "the touch freed the slot");
    }
}

#[tokio::test]
async fn concurrent_sweeps_take_each_rung_once() {
    let w = world();
    let id = w.routed().await;
    for rung in [Rung::Warning, Rung::Breach, Rung::Reassignment] {
        assert_eq!(w.to_next_rung(&id).await, rung);
        let other = w.sweep.clone();
        let (a, b) = tokio::join!(w.sweep.run(), other.run());
        let (a, b) = (a.unwrap(), b.unwrap());
        let taken = a.warned + a.escalated + a.reassigned + b.warned + b.escalated + b.reassigned;
        assert_eq!(taken, 1, "{rung:?}: {a:?} {b:?}");
        assert_eq!(w.sweep.run().await.unwrap(), SweepReport::default(), "a rerun for the same minute does nothing");
    }
    let lead = w.lead(&id).await;
    assert_eq!(lead.sla_history.len(), 3);
    assert_eq!(w.types().len(), 4, "assigned + one event per rung");
}

#[tokio::test]
async fn a_missed_run_is_caught_up_by_the_next_ones() {
    let w = world();
    let id = w.routed().await;
    w.clock.advance(chrono::Duration::days(3)); // every rung of the first owner is overdue
    let breach = w.sweep.run().await.unwrap();
    assert_eq!(breach, SweepReport { escalated: 1, ..Default::default() }, "a stale warning is passed over");
    assert_eq!(w.sweep.run().await.unwrap(), SweepReport { reassigned: 1, ..Default::default() });
    assert!(!w.lead(&id).await.took(Rung::Warning, w.lead(&id).await.previous_decisions[0].first_touch_due_at));
}

#[tokio::test]
async fn a_touch_that_races_a_reassignment_is_credited_to_whoever_did_it() {
    let w = world();
    let id = w.routed().await;
    let first = w.lead(&id).await.decision().unwrap().owner.id.clone();
    for _ in 0..3 {
        w.to_next_rung(&id).await;
        w.sweep.run().await.unwrap();
    }
    // The old owner's call arrives just after the reassignment was written.
    assert!(matches!(w.touch(&id, &first).await, baton_domain::Touched::First(_)));
    let lead = w.lead(&id).await;
    assert_eq!((lead.status(), lead.touches[0].by.as_str()), (LeadStatus::Touched, first.as_str()));
    assert_eq!(lead.next_rung(), None);
}
