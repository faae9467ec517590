//! The route handler, driven by a real SQS event.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use baton_adapters::LeadRepository;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryPublisher, Outage};
use baton_domain::{Lead, LeadEvent, LeadId, LeadStatus, LeadSubmission, Ruleset};
use baton_route::{Route, RouteError, Routed};
use chrono::TimeZone;

const BATCH: &str = include_str!("fixtures/sqs-event.json");
const FIRST: &str = "00000000-0000-4000-8000-000000000001";
const SECOND: &str = "00000000-0000-4000-8000-000000000002";

fn batch(mutate: impl FnOnce(&mut serde_json::Value)) -> SqsEvent {
    let mut v: serde_json::Value = serde_json::from_str(BATCH).unwrap();
    mutate(&mut v);
    serde_json::from_value(v).expect("a valid SQS event")
}

fn lead(id: &str, json: &str) -> Lead {
    LeadSubmission::from_json(json.as_bytes())
        .unwrap()
        .into_lead(LeadId::parse(id).unwrap(), chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap())
        .unwrap()
}

struct World {
    store: Arc<MemoryLeadStore>,
    publisher: Arc<MemoryPublisher>,
    route: Route,
}

async fn world() -> World {
    let store = Arc::new(MemoryLeadStore::new());
    store.seed(&lead(
        FIRST,
        r#"{"email":"ada@analytical.example","country":"GB","source":{"form_type":"demo_request"}}"#,
    ));
    store.seed(&lead(SECOND, r#"{"phone":"+81 3 1234 5678","country":"JP"}"#));
    let publisher = Arc::new(MemoryPublisher::new());
    let clock = Arc::new(ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 1).unwrap()));
    let route = Route::new(
        store.clone(),
        publisher.clone(),
        Ruleset::default_ruleset(),
        0,
        Arc::new(baton_adapters::memory::MemoryCounters::new()),
        clock,
    );
    World { store, publisher, route }
}

async fn stored(w: &World, id: &str) -> Lead {
    w.store.get(&LeadId::parse(id).unwrap()).await.unwrap().unwrap()
}

#[tokio::test]
async fn every_lead_in_a_batch_is_assigned_and_announced() {
    let w = world().await;
    let response = baton_route::handle(&w.route, batch(|_| {})).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);

    let first = stored(&w, FIRST).await;
    assert_eq!(first.status(), LeadStatus::Assigned);
    let d = first.decision().unwrap();
    assert_eq!((d.owner.id.as_str(), d.rule.as_str()), ("rep-jonas", "europe"));
    assert!(!d.score.reasons.is_empty(), "the decision carries its reasons");

    let second = stored(&w, SECOND).await;
    let d = second.decision().unwrap();
    assert_eq!(
        (d.owner.id.as_str(), d.rule.as_str()),
        ("queue-inbound", "fallback"),
        "no rule matched: the fallback owns it"
    );

    let announced: Vec<LeadId> = w.publisher.published().iter().map(|e| e.lead_id().clone()).collect();
    assert_eq!(announced, [first.id.clone(), second.id.clone()]);
    assert_eq!(w.publisher.published()[0], LeadEvent::assigned(&first));
}

#[tokio::test]
async fn the_same_message_twice_assigns_once() {
    let w = world().await;
    let body = format!(r#"{{"lead_id":"{FIRST}"}}"#);
    let first = w.route.route_message(&body).await.unwrap();
    let Routed::Assigned(assigned) = first else { panic!("the first delivery assigns") };
    let again = w.route.route_message(&body).await.unwrap();
    assert_eq!(again, Routed::Replayed(assigned.clone()), "a replay keeps the first decision");
    assert_eq!(stored(&w, FIRST).await, assigned);
    let events = w.publisher.published();
    assert_eq!(events.len(), 2, "a replay re-announces (notify sends once per event)");
    assert_eq!(events[0], events[1], "the re-announcement is the same event");
}

#[tokio::test]
async fn bad_records_are_reported_one_by_one_and_the_rest_are_routed() {
    let w = world().await;
    let response = baton_route::handle(
        &w.route,
        batch(|v| {
            let records = v["Records"].as_array_mut().unwrap();
            let mut malformed = records[0].clone();
            malformed["messageId"] = "malformed".into();
            malformed["body"] = "not json".into();
            let mut unknown = records[0].clone();
            unknown["messageId"] = "unknown-lead".into();
            unknown["body"] = format!(r#"{{"lead_id":"{}"}}"#, LeadId::generate()).into();
            records.insert(1, malformed);
            records.push(unknown);
        }),
    )
    .await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["malformed", "unknown-lead"]);
    assert_eq!(stored(&w, FIRST).await.status(), LeadStatus::Assigned);
    assert_eq!(stored(&w, SECOND).await.status(), LeadStatus::Assigned);
}

#[tokio::test]
async fn a_publisher_outage_fails_the_record_and_a_retry_announces_the_same_decision() {
    let w = world().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let broken = Route::new(
        w.store.clone(),
        Arc::new(Outage("SNS")),
        Ruleset::default_ruleset(),
        0,
        Arc::new(baton_adapters::memory::MemoryCounters::new()),
        clock,
    );
    let body = format!(r#"{{"lead_id":"{FIRST}"}}"#);
    let err = broken.route_message(&body).await.unwrap_err();
    assert!(matches!(&err, RouteError::Adapter(e) if e.is_retryable()), "{err:?}");
    let recorded = stored(&w, FIRST).await;
    assert_eq!(recorded.status(), LeadStatus::Assigned, "the decision was recorded before publishing");

    assert_eq!(w.route.route_message(&body).await.unwrap(), Routed::Replayed(recorded.clone()));
    assert_eq!(w.publisher.published(), [LeadEvent::assigned(&recorded)]);
}

#[tokio::test]
async fn a_store_outage_fails_the_record_as_retryable() {
    let w = world().await;
    let broken = Route::new(
        Arc::new(Outage("DynamoDB")),
        w.publisher.clone(),
        Ruleset::default_ruleset(),
        0,
        Arc::new(baton_adapters::memory::MemoryCounters::new()),
        Arc::new(baton_adapters::SystemClock),
    );
    let response = baton_route::handle(&broken, batch(|_| {})).await;
    assert_eq!(response.batch_item_failures.len(), 2);
    assert!(w.publisher.published().is_empty());
}

#[tokio::test]
async fn a_touched_lead_is_not_announced_again() {
    let w = world().await;
    let body = format!(r#"{{"lead_id":"{FIRST}"}}"#);
    w.route.route_message(&body).await.unwrap();
    let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, chrono::Utc::now(), "U1", "api");
    let touched = baton_app::touch::record_touch(w.store.as_ref(), None, &LeadId::parse(FIRST).unwrap(), touch.clone())
        .await
        .unwrap();
    assert!(matches!(touched, baton_domain::Touched::First(_)));
    let Routed::Replayed(lead) = w.route.route_message(&body).await.unwrap() else { panic!("a replay") };
    assert_eq!(lead.status(), LeadStatus::Touched);
    assert_eq!(w.publisher.published().len(), 1, "only the first assignment was announced");
}

#[tokio::test]
async fn a_spam_lead_is_never_assigned_or_announced() {
    let w = world().await;
    let spam = LeadSubmission::from_json(br#"{"email":"bot@spam.example","_honeypot":"x"}"#)
        .unwrap()
        .into_lead(LeadId::generate(), chrono::Utc::now())
        .unwrap();
    w.store.seed(&spam);
    let routed = w.route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, spam.id)).await.unwrap();
    assert!(matches!(routed, Routed::Ignored(_)));
    assert_eq!(w.store.get(&spam.id).await.unwrap().unwrap().status(), LeadStatus::Spam);
    assert!(w.publisher.published().is_empty());
}

#[tokio::test]
async fn a_pool_takes_turns_across_leads() {
    let w = world().await;
    let mut owners = Vec::new();
    for i in 0..3 {
        let l =
            lead(&LeadId::generate().to_string(), &format!(r#"{{"email":"buyer{i}@corp.example","country":"US"}}"#));
        w.store.seed(&l);
        let Routed::Assigned(assigned) = w.route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, l.id)).await.unwrap()
        else {
            panic!("assigned")
        };
        let d = assigned.decision().unwrap();
        assert_eq!((d.pool.as_deref(), d.ruleset.as_deref()), (Some("north-america"), Some("default v0")));
        owners.push(d.owner.id.clone());
    }
    assert_eq!(owners, ["rep-avery", "rep-riley", "rep-avery"], "weighted 2:1, interleaved");
}

#[tokio::test]
async fn nurture_and_disqualified_leads_are_recorded_and_not_announced_to_reps() {
    let w = world().await;
    for (json, status) in [
        (r#"{"email":"spy@competitor.example","country":"US"}"#, LeadStatus::Disqualified),
        (r#"{"email":"kid@gmail.com","job_title":"Student","country":"US"}"#, LeadStatus::Nurture),
    ] {
        let l = lead(&LeadId::generate().to_string(), json);
        w.store.seed(&l);
        let Routed::Assigned(decided) = w.route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, l.id)).await.unwrap()
        else {
            panic!("decided")
        };
        assert_eq!(decided.status(), status);
        assert_eq!(decided.awaiting(), None, "no SLA clock for a lead that is not a rep's");
    }
    let types: Vec<&str> = w.publisher.published().iter().map(|e| e.event_type().as_str()).collect();
    assert_eq!(types, ["lead.nurture"], "only the nurture program hears of the nurtured lead; no rep is alerted");
}

#[tokio::test]
async fn a_daily_cap_is_never_exceeded_and_the_full_member_is_skipped_with_the_reason() {
    let ruleset = Ruleset::parse_toml(
        r#"
        name = "capped"
        fallback = { id = "manager", name = "Team manager" }
        [scoring]
        hot_at = 60
        warm_at = 30
        criteria = []
        [[routing]]
        name = "everyone"
        pool = "team"
        [pools.team]
        members = [
          { id = "a", name = "A", max_new_per_day = 1 },
          { id = "b", name = "B", max_new_per_day = 1 },
        ]
        "#,
    )
    .unwrap();
    let store = Arc::new(MemoryLeadStore::new());
    let publisher = Arc::new(MemoryPublisher::new());
    let clock = Arc::new(ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()));
    let route = Route::new(
        store.clone(),
        publisher,
        ruleset,
        7,
        Arc::new(baton_adapters::memory::MemoryCounters::new()),
        clock,
    );
    let mut decisions = Vec::new();
    for i in 0..3 {
        let l = lead(&LeadId::generate().to_string(), &format!(r#"{{"email":"p{i}@corp.example"}}"#));
        store.seed(&l);
        let Routed::Assigned(routed) = route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, l.id)).await.unwrap()
        else {
            panic!("routed")
        };
        decisions.push(routed.decision().unwrap().clone());
    }
    let owners: Vec<&str> = decisions.iter().map(|d| d.owner.id.as_str()).collect();
    assert_eq!(owners, ["a", "b", "manager"], "one lead each, then the fallback");
    let reasons: Vec<&str> = decisions[2].skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons, ["at daily capacity (1)", "at daily capacity (1)"]);
    assert_eq!(decisions[2].ruleset.as_deref(), Some("capped v7"));
}

#[tokio::test]
async fn an_activated_ruleset_version_applies_without_a_redeploy_and_rolls_back() {
    use baton_adapters::RulesetStore;
    let w = world().await;
    let rulesets = Arc::new(baton_adapters::memory::MemoryRulesets::new());
    let route = Route::new(
        w.store.clone(),
        w.publisher.clone(),
        Ruleset::default_ruleset(),
        0,
        Arc::new(baton_adapters::memory::MemoryCounters::new()),
        Arc::new(ManualClock::new(chrono::Utc::now())),
    )
    .with_ruleset_store(rulesets.clone(), std::time::Duration::ZERO);
    let everyone_to = |owner: &str| {
        Ruleset::parse_toml(&format!(
            "name = \"to-{owner}\"\nfallback = {{ id = \"fb\", name = \"FB\" }}\n[scoring]\nhot_at = 60\nwarm_at = 30\ncriteria = []\n\
             [[routing]]\nname = \"all\"\nowner = {{ id = \"{owner}\", name = \"{owner}\" }}\n"
        ))
        .unwrap()
    };
    let route_one = |route: &Route| {
        let route = route.clone();
        let store = w.store.clone();
        async move {
            let l = lead(&LeadId::generate().to_string(), r#"{"email":"x@corp.example","country":"DE"}"#);
            store.seed(&l);
            let Routed::Assigned(a) = route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, l.id)).await.unwrap()
            else {
                panic!("assigned")
            };
            let d = a.decision().unwrap();
            (d.owner.id.clone(), d.ruleset.clone().unwrap())
        }
    };
    assert_eq!(
        route_one(&route).await,
        ("rep-jonas".to_owned(), "default v0".to_owned()),
        "no version active: the built-in one"
    );
    let now = chrono::Utc::now();
    assert_eq!(rulesets.save(&everyone_to("alice"), now).await.unwrap(), 1);
    assert_eq!(rulesets.save(&everyone_to("bob"), now).await.unwrap(), 2);
    assert_eq!(route_one(&route).await.1, "default v0", "saving is not activating");
    rulesets.activate(2).await.unwrap();
    assert_eq!(route_one(&route).await, ("bob".to_owned(), "to-bob v2".to_owned()));
    rulesets.activate(1).await.unwrap();
    assert_eq!(route_one(&route).await, ("alice".to_owned(), "to-alice v1".to_owned()), "rolled back");
}

#[tokio::test]
async fn a_capped_member_who_is_also_the_pools_fallback_never_loops_and_takes_no_slot() {
    let ruleset = Ruleset::parse_toml(
        r#"
        name = "lead catches overflow"
        fallback = { id = "queue", name = "Queue" }
        [scoring]
        hot_at = 60
        warm_at = 30
        criteria = []
        [[routing]]
        name = "everyone"
        pool = "team"
        [pools.team]
        fallback = { id = "lead", name = "Team lead" }
        members = [ { id = "lead", name = "Team lead", max_new_per_day = 0 }, { id = "rep", name = "Rep", paused = true } ]
        "#,
    )
    .unwrap();
    let store = Arc::new(MemoryLeadStore::new());
    let route = Route::new(
        store.clone(),
        Arc::new(MemoryPublisher::new()),
        ruleset,
        1,
        Arc::new(baton_adapters::memory::MemoryCounters::new()),
        Arc::new(ManualClock::new(chrono::Utc::now())),
    );
    let l = lead(&LeadId::generate().to_string(), r#"{"email":"x@corp.example"}"#);
    store.seed(&l);
    let routed = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, l.id)),
    )
    .await
    .expect("no endless claim loop")
    .unwrap();
    let Routed::Assigned(a) = routed else { panic!("assigned") };
    let d = a.decision().unwrap();
    assert_eq!(d.owner.id, "lead", "the pool's fallback catches the overflow");
    assert!(d.rule.contains("nobody available"), "{}", d.rule);
}

fn two_capped_reps(cap: &str) -> Ruleset {
    Ruleset::parse_toml(&format!(
        r#"
        name = "capped"
        fallback = {{ id = "manager", name = "Team manager" }}
        [scoring]
        hot_at = 60
        warm_at = 30
        criteria = []
        [[routing]]
        name = "everyone"
        pool = "team"
        [pools.team]
        members = [ {{ id = "a", name = "A", {cap} }}, {{ id = "b", name = "B", {cap} }} ]
        "#
    ))
    .unwrap()
}

async fn route_new(route: &Route, store: &dyn LeadRepository, n: usize) -> Result<Routed, RouteError> {
    let l = lead(&LeadId::generate().to_string(), &format!(r#"{{"email":"p{n}@corp.example"}}"#));
    store.capture(&l, None).await.unwrap();
    route.route_message(&format!(r#"{{"lead_id":"{}"}}"#, l.id)).await
}

fn owner_of(routed: &Routed) -> (String, Vec<String>) {
    let Routed::Assigned(lead) = routed else { panic!("not assigned: {routed:?}") };
    let d = lead.decision().unwrap();
    (d.owner.id.clone(), d.skipped.iter().map(|s| s.reason.clone()).collect())
}

#[tokio::test]
async fn an_open_lead_cap_holds_until_the_first_touch_frees_a_slot() {
    let store = Arc::new(MemoryLeadStore::new());
    let route = Route::new(
        store.clone(),
        Arc::new(MemoryPublisher::new()),
        two_capped_reps("max_open = 1"),
        1,
        Arc::new(store.counters()),
        Arc::new(ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap())),
    );
    let first = route_new(&route, store.as_ref(), 0).await.unwrap();
    assert_eq!(owner_of(&first).0, "a");
    assert_eq!(owner_of(&route_new(&route, store.as_ref(), 1).await.unwrap()).0, "b");
    let overflow = owner_of(&route_new(&route, store.as_ref(), 2).await.unwrap());
    assert_eq!(overflow.0, "manager", "both reps hold their one open lead: the fallback takes it");
    assert_eq!(overflow.1, ["at open-lead capacity (1)", "at open-lead capacity (1)"]);

    // A touches their lead: their slot is free again, and the next lead goes to them.
    let Routed::Assigned(a_lead) = first else { unreachable!() };
    let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, chrono::Utc::now(), "a", "api");
    assert!(matches!(
        baton_app::touch::record_touch(store.as_ref(), None, &a_lead.id, touch.clone()).await.unwrap(),
        baton_domain::Touched::First(_)
    ));
    let next = owner_of(&route_new(&route, store.as_ref(), 3).await.unwrap());
    assert_eq!(next, ("a".to_owned(), vec!["at open-lead capacity (1)".to_owned()]), "b is still full, a is free");
}

/// A store whose writes fail while `failing` is set; everything else is the memory store.
struct FailingDecisions {
    inner: MemoryLeadStore,
    failing: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl LeadRepository for FailingDecisions {
    async fn capture(
        &self,
        lead: &Lead,
        idem: Option<&baton_adapters::Idempotency>,
    ) -> Result<baton_adapters::Captured, baton_adapters::Error> {
        self.inner.capture(lead, idem).await
    }
    async fn read(&self, id: &LeadId) -> Result<Option<baton_adapters::Versioned>, baton_adapters::Error> {
        self.inner.read(id).await
    }
    async fn similar(&self, lead: &Lead, limit: usize) -> Result<Vec<Lead>, baton_adapters::Error> {
        self.inner.similar(lead, limit).await
    }
    async fn update(
        &self,
        current: &baton_adapters::Versioned,
        next: &Lead,
        effects: &[baton_domain::Effect],
    ) -> Result<baton_adapters::Written, baton_adapters::Error> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(baton_adapters::Error::Unavailable { service: "test", detail: "the store went away".into() });
        }
        self.inner.update(current, next, effects).await
    }
    async fn overdue(
        &self,
        kind: baton_domain::WaitKind,
        now: baton_domain::Timestamp,
        limit: usize,
    ) -> Result<Vec<Lead>, baton_adapters::Error> {
        self.inner.overdue(kind, now, limit).await
    }
}

#[tokio::test]
async fn a_daily_slot_is_given_back_when_the_decision_cannot_be_recorded() {
    let store = Arc::new(FailingDecisions { inner: MemoryLeadStore::new(), failing: true.into() });
    let counters = Arc::new(baton_adapters::memory::MemoryCounters::new());
    let route = Route::new(
        store.clone(),
        Arc::new(MemoryPublisher::new()),
        two_capped_reps("max_new_per_day = 1"),
        1,
        counters.clone(),
        Arc::new(ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap())),
    );
    let err = route_new(&route, store.as_ref(), 0).await.expect_err("the store is failing");
    assert!(matches!(err, RouteError::Adapter(ref e) if e.is_retryable()), "{err:?}");
    store.failing.store(false, std::sync::atomic::Ordering::SeqCst);
    // Both reps still have their one slot today: two leads go to them, not to the manager. (The
    // failed attempt's round-robin turn is spent; turns only set the order, so it costs nobody a lead.)
    let mut owners = [
        owner_of(&route_new(&route, store.as_ref(), 1).await.unwrap()).0,
        owner_of(&route_new(&route, store.as_ref(), 2).await.unwrap()).0,
    ];
    owners.sort();
    assert_eq!(owners, ["a", "b"], "a failed recording kept a slot taken");
}
