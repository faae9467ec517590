//! The behaviour every implementation of a port must show. The in-process adapters run these
//! in unit tests; the AWS adapters run them against moto in `tests/`.
//!
//! Each function panics with a description of the first broken promise.

use std::collections::HashSet;
use std::time::Duration;

use baton_domain::{
    Decision, Lead, LeadId, LeadStatus, LeadSubmission, Ruleset, Timestamp, Touch, TouchKind, Touched, WaitKind,
    decide, sla,
};
use chrono::TimeZone;
use futures::future::join_all;

use crate::ports::{
    AccountDirectory, Captured, DeliveryKey, Idempotency, LeadStore, PoolCounters, Recorded, RulesetStore, WorkQueue,
};

fn base() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn new_lead(captured_at: Timestamp, country: &str) -> Lead {
    LeadSubmission {
        email: Some(format!("{}@corp.example", uuid_like())),
        country: Some(country.into()),
        ..Default::default()
    }
    .into_lead(LeadId::generate(), captured_at)
    .expect("a valid test lead")
}

fn uuid_like() -> String {
    LeadId::generate().as_str()[..8].to_owned()
}

fn decision_for(lead: &Lead, at: Timestamp) -> Decision {
    decide(lead, &Ruleset::default_ruleset(), at)
}

fn touch(kind: TouchKind, at: Timestamp) -> Touch {
    Touch { kind, at, by: "U-test".into(), via: "api".into(), note: None }
}

fn ids(leads: &[Lead]) -> Vec<&LeadId> {
    leads.iter().map(|l| &l.id).collect()
}

/// Checks a [`LeadStore`]. `store` must be empty.
pub async fn lead_store(store: &dyn LeadStore) {
    let t0 = base();
    let a = new_lead(t0, "DE");

    // Insert and read back; a second insert of the same id is refused and changes nothing.
    store.insert(&a).await.expect("insert");
    assert_eq!(store.get(&a.id).await.expect("get").as_ref(), Some(&a), "a stored lead reads back unchanged");
    let mut imposter = a.clone();
    imposter.company = Some("Overwritten".into());
    let err = store.insert(&imposter).await.expect_err("inserting an existing id must fail");
    assert!(!err.is_retryable(), "a duplicate insert is permanent, got {err:?}");
    assert_eq!(store.get(&a.id).await.unwrap().unwrap().company, None, "a refused insert overwrote the lead");
    assert_eq!(store.get(&LeadId::generate()).await.unwrap(), None, "an unknown id reads as None");

    // A captured lead waits for routing until the grace period has passed.
    let routing_due = t0 + sla::routing_grace();
    let early = store.overdue(WaitKind::Routing, routing_due - chrono::Duration::seconds(1), 10).await.unwrap();
    assert!(early.is_empty(), "a lead was overdue for routing before its grace period ended");
    let due = store.overdue(WaitKind::Routing, routing_due, 10).await.unwrap();
    assert_eq!(ids(&due), [&a.id], "a lead past its routing grace is overdue for routing");

    // Recording a decision happens once; replays and races see the first decision.
    let t1 = t0 + chrono::Duration::seconds(1);
    let first = decision_for(&a, t1);
    let Recorded::Applied(assigned) = store.record_decision(&a.id, &first).await.unwrap() else {
        panic!("the first decision must apply");
    };
    assert_eq!(assigned.status, LeadStatus::Assigned);
    assert_eq!(assigned.decision.as_ref(), Some(&first));
    let mut second = decision_for(&a, t1 + chrono::Duration::seconds(5));
    second.rule = "another-rule".into();
    match store.record_decision(&a.id, &second).await.unwrap() {
        Recorded::AlreadyDecided(stored) => {
            assert_eq!(stored.decision, Some(first.clone()), "a replay changed the decision")
        }
        other => panic!("a second decision must answer AlreadyDecided, got {other:?}"),
    }
    assert_eq!(store.get(&a.id).await.unwrap().unwrap(), assigned, "the stored lead is the assigned one");
    assert_eq!(store.record_decision(&LeadId::generate(), &first).await.unwrap(), Recorded::Missing);

    // Once assigned, the lead waits for its first touch instead of for routing.
    let far = t0 + chrono::Duration::days(30);
    assert!(
        store.overdue(WaitKind::Routing, far, 10).await.unwrap().is_empty(),
        "an assigned lead still waits for routing"
    );
    let touch_due = first.first_touch_due_at;
    let not_yet = store.overdue(WaitKind::FirstTouch, touch_due - chrono::Duration::seconds(1), 10).await.unwrap();
    assert!(not_yet.is_empty(), "a lead was overdue for its first touch before the due time");
    assert_eq!(ids(&store.overdue(WaitKind::FirstTouch, touch_due, 10).await.unwrap()), [&a.id]);

    // Escalation applies only once the first touch is overdue, and only once.
    assert_eq!(store.record_escalation(&a.id, touch_due - chrono::Duration::seconds(1)).await.unwrap(), None);
    let escalated = store.record_escalation(&a.id, touch_due).await.unwrap().expect("an overdue lead escalates");
    assert_eq!((escalated.status, escalated.escalated_at), (LeadStatus::Escalated, Some(touch_due)));
    assert_eq!(store.record_escalation(&a.id, far).await.unwrap(), None, "a lead escalated twice");
    assert!(
        store.overdue(WaitKind::FirstTouch, far, 10).await.unwrap().is_empty(),
        "an escalated lead is still waiting"
    );

    // A touch stops the clock: the lead leaves the index and cannot be escalated.
    let b = new_lead(t0, "US");
    store.insert(&b).await.unwrap();
    let b_decision = decision_for(&b, t1);
    assert!(matches!(store.record_decision(&b.id, &b_decision).await.unwrap(), Recorded::Applied(_)));
    let Touched::First(touched) = store.record_touch(&b.id, &touch(TouchKind::Accepted, t1)).await.unwrap() else {
        panic!("an assigned lead's first touch must count as the first")
    };
    assert_eq!((touched.status, touched.touched_at), (LeadStatus::Touched, Some(t1)));
    let Touched::Again(again) = store.record_touch(&b.id, &touch(TouchKind::Called, far)).await.unwrap() else {
        panic!("a second touch must be kept as activity")
    };
    assert_eq!((again.touched_at, again.touches.len()), (Some(t1), 2), "a later touch moved the first touch");
    assert_eq!(store.get(&b.id).await.unwrap().as_ref(), Some(&again), "the touches read back");

    // A touch whose event could not be published waits in the index until it is announced.
    let call = &again.touches[1];
    store.defer_announcement(&b.id, call).await.unwrap();
    store.defer_announcement(&b.id, call).await.unwrap();
    let waiting = store.overdue(WaitKind::Announce, far, 10).await.unwrap();
    assert_eq!(ids(&waiting), [&b.id], "an unannounced touch must be found through the index");
    assert_eq!(waiting[0].unannounced, std::slice::from_ref(call), "a touch deferred twice is kept once");
    store.announced(&b.id, call).await.unwrap();
    assert!(store.overdue(WaitKind::Announce, far, 10).await.unwrap().is_empty(), "an announced touch still waits");
    assert_eq!(store.record_escalation(&b.id, far).await.unwrap(), None, "a touched lead escalated");
    assert!(store.overdue(WaitKind::FirstTouch, far, 10).await.unwrap().is_empty());
    let captured = new_lead(t0, "US");
    store.insert(&captured).await.unwrap();
    let refused = store.record_touch(&captured.id, &touch(TouchKind::Called, t1)).await.unwrap();
    assert_eq!(refused, Touched::NotOpen(captured.clone()), "an unassigned lead was touched");
    assert_eq!(store.record_touch(&LeadId::generate(), &touch(TouchKind::Called, t1)).await.unwrap(), Touched::Missing);

    // Overdue leads come earliest first, and `limit` bounds the answer.
    let mut later: Vec<Lead> = (1..=4).map(|i| new_lead(t0 + chrono::Duration::minutes(i), "FR")).collect();
    later.reverse();
    for lead in &later {
        store.insert(lead).await.unwrap();
    }
    let page = store.overdue(WaitKind::Routing, far, 3).await.unwrap();
    let expected = [&captured.id, &later[3].id, &later[2].id];
    assert_eq!(ids(&page), expected, "overdue leads are not earliest first or not limited");

    // Concurrent routers: exactly one decision applies.
    let c = new_lead(t0, "CA");
    store.insert(&c).await.unwrap();
    let d = decision_for(&c, t1);
    let results = tokio::join!(
        store.record_decision(&c.id, &d),
        store.record_decision(&c.id, &d),
        store.record_decision(&c.id, &d),
        store.record_decision(&c.id, &d),
    );
    let applied = [results.0, results.1, results.2, results.3]
        .into_iter()
        .filter(|r| matches!(r, Ok(Recorded::Applied(_))))
        .count();
    assert_eq!(applied, 1, "concurrent decisions: exactly one must apply");

    // Concurrent touches: exactly one is the first.
    let call = touch(TouchKind::Called, t1);
    let firsts = join_all((0..4).map(|_| store.record_touch(&c.id, &call)))
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(Touched::First(_))))
        .count();
    assert_eq!(firsts, 1, "concurrent touches: exactly one must be the first");

    // Delivery claims: first wins, a release lets a retry claim again.
    let assigned = baton_domain::LeadEvent::Assigned { lead: a.clone() };
    let key = DeliveryKey::new(&assigned, "slack");
    let lease = chrono::Duration::seconds(40);
    assert!(store.claim_delivery(&key, t1, lease).await.unwrap(), "the first claim wins");
    assert!(!store.claim_delivery(&key, t1, lease).await.unwrap(), "a second claim must lose");
    store.release_delivery(&key).await.unwrap();
    assert!(store.claim_delivery(&key, t1, lease).await.unwrap(), "a released claim can be taken again");
    // A holder that died mid-send: its claim can be taken once the lease has run out, not before.
    let before_end = t1 + lease - chrono::Duration::seconds(1);
    assert!(!store.claim_delivery(&key, before_end, lease).await.unwrap(), "a live lease was taken over");
    let after_end = t1 + lease + chrono::Duration::seconds(1);
    assert!(store.claim_delivery(&key, after_end, lease).await.unwrap(), "an expired lease must be claimable");
    // A confirmed delivery is never claimed again, however late.
    store.confirm_delivery(&key).await.unwrap();
    let much_later = after_end + chrono::Duration::days(1);
    assert!(!store.claim_delivery(&key, much_later, lease).await.unwrap(), "a sent delivery was claimed again");

    // Notification failures: one per event and channel, the latest kept.
    let failure = |error: &str| baton_domain::NotificationFailure {
        event: "lead.assigned".into(),
        channel: "webhook:crm".into(),
        error: error.into(),
        at: t1,
    };
    store.record_notification_failure(&a.id, &failure("410 Gone")).await.unwrap().expect("the lead exists");
    let lead = store.record_notification_failure(&a.id, &failure("404 Not Found")).await.unwrap().unwrap();
    assert_eq!(
        lead.notification_failures,
        [failure("404 Not Found")],
        "a repeated failure must replace the earlier one"
    );
    assert_eq!(store.get(&a.id).await.unwrap().unwrap().notification_failures.len(), 1);
    assert_eq!(store.record_notification_failure(&LeadId::generate(), &failure("x")).await.unwrap(), None);
}

/// Checks the open-lead cap of [`LeadStore::record_decision`] and [`LeadStore::record_touch`]:
/// concurrent routers never give an owner more than `max_open` open leads, and the first touch
/// frees a slot. `store` must be empty.
pub async fn open_caps(store: &dyn LeadStore) {
    let t0 = base();
    let owner = format!("rep-{}", uuid_like());
    let leads: Vec<Lead> = (0..6).map(|_| new_lead(t0, "US")).collect();
    let mut decisions = Vec::new();
    for lead in &leads {
        store.insert(lead).await.unwrap();
        let mut d = decision_for(lead, t0);
        d.owner = baton_domain::Owner::new(owner.clone(), "Capped Rep");
        d.max_open = Some(2);
        decisions.push(d);
    }
    let results = join_all(leads.iter().zip(&decisions).map(|(l, d)| store.record_decision(&l.id, d))).await;
    let applied: Vec<&LeadId> = results
        .iter()
        .zip(&leads)
        .filter_map(|(r, l)| matches!(r, Ok(Recorded::Applied(_))).then_some(&l.id))
        .collect();
    assert_eq!(applied.len(), 2, "concurrent routers gave an owner more than max_open leads: {results:?}");
    assert!(
        results.iter().all(|r| matches!(r, Ok(Recorded::Applied(_) | Recorded::AtCapacity))),
        "a capped decision must be applied or at capacity: {results:?}"
    );
    assert_eq!(store.open_count(&owner).await.unwrap(), 2);
    let refused = leads.iter().find(|l| !applied.contains(&&l.id)).unwrap();
    assert_eq!(store.get(&refused.id).await.unwrap().unwrap().status, LeadStatus::Captured, "a refused decision wrote");

    // The first touch frees a slot; a later touch does not free another.
    store.record_touch(applied[0], &touch(TouchKind::Accepted, t0)).await.unwrap();
    store.record_touch(applied[0], &touch(TouchKind::Called, t0)).await.unwrap();
    assert_eq!(store.open_count(&owner).await.unwrap(), 1, "the first touch must free exactly one slot");
    let i = leads.iter().position(|l| l.id == refused.id).unwrap();
    assert!(matches!(store.record_decision(&refused.id, &decisions[i]).await.unwrap(), Recorded::Applied(_)));
    assert_eq!(store.open_count(&owner).await.unwrap(), 2);
}

fn person(email: &str, at: Timestamp, json_extra: &str) -> Lead {
    let body = format!(r#"{{"email":"{email}"{json_extra}}}"#);
    LeadSubmission::from_json(body.as_bytes())
        .expect("valid test JSON")
        .into_lead(LeadId::generate(), at)
        .expect("a valid test lead")
}

fn idem(key: &str, fingerprint: &str) -> Idempotency {
    Idempotency { key: format!("test:{key}"), fingerprint: fingerprint.to_owned() }
}

/// Checks [`LeadStore::capture`]: deduplication, idempotency and their behaviour under
/// concurrency. `store` must be empty.
pub async fn capture(store: &dyn LeadStore) {
    let t0 = base();
    let email = format!("{}@dedupe.example", uuid_like());

    // A new person is created; the same person again is merged into the first lead.
    let first = person(&email, t0, r#","company":"Corp","source":{"utm_source":"ads"}"#);
    assert_eq!(store.capture(&first, None).await.unwrap(), Captured::Created(first.clone()));
    let again = person(
        &email.to_uppercase(),
        t0 + chrono::Duration::minutes(1),
        r#","phone":"+14155552671","source":{"utm_source":"webinar"}"#,
    );
    let Captured::Merged(merged) = store.capture(&again, None).await.unwrap() else {
        panic!("the same person must merge")
    };
    assert_eq!(merged.id, first.id, "merged into the existing lead");
    assert_eq!(merged.submissions, 2);
    assert_eq!(merged.phone.as_ref().map(|p| p.as_str()), Some("+14155552671"), "the gap was filled");
    assert_eq!(store.get(&first.id).await.unwrap().unwrap(), merged, "the merge is stored");
    assert_eq!(store.get(&again.id).await.unwrap(), None, "no second lead exists");

    // A merge never undoes routing that happened in between.
    let decision = decision_for(&first, t0);
    assert!(matches!(store.record_decision(&first.id, &decision).await.unwrap(), Recorded::Applied(_)));
    let third = person(&email, t0 + chrono::Duration::minutes(2), "");
    let Captured::Merged(after) = store.capture(&third, None).await.unwrap() else { panic!("merge") };
    assert_eq!((after.status, after.decision.as_ref()), (LeadStatus::Assigned, Some(&decision)));
    assert_eq!(after.submissions, 3);

    // Idempotency: the same key and body replays; the same key with another body is refused.
    let other = person(&format!("other-{email}"), t0, "");
    let key = idem(&uuid_like(), "body-1");
    assert!(matches!(store.capture(&other, Some(&key)).await.unwrap(), Captured::Created(_)));
    let retry = person(&format!("other-{email}"), t0 + chrono::Duration::seconds(3), "");
    assert_eq!(
        store.capture(&retry, Some(&key)).await.unwrap(),
        Captured::Replayed(other.clone()),
        "a retry answers the original"
    );
    assert_eq!(store.get(&other.id).await.unwrap().unwrap().submissions, 1, "a retry is not a new submission");
    let changed = Idempotency { fingerprint: "body-2".into(), ..key.clone() };
    assert_eq!(store.capture(&retry, Some(&changed)).await.unwrap(), Captured::KeyReused { lead_id: other.id.clone() });

    // Spam is stored on its own: it neither merges nor blocks the real person.
    let bot_email = format!("{}@spam.example", uuid_like());
    let bot = person(&bot_email, t0, r#","_honeypot":"x""#);
    assert_eq!(store.capture(&bot, None).await.unwrap(), Captured::Created(bot.clone()));
    let human = person(&bot_email, t0, "");
    assert_eq!(store.capture(&human, None).await.unwrap(), Captured::Created(human.clone()));

    // A phone-only lead and a later email + same phone are one person; so is a later phone-only one.
    let phone = format!("+1415555{:04}", u16::from_str_radix(&uuid_like()[..4], 16).unwrap() % 10_000);
    let by_phone =
        LeadSubmission { phone: Some(phone.clone()), ..Default::default() }.into_lead(LeadId::generate(), t0).unwrap();
    assert!(matches!(store.capture(&by_phone, None).await.unwrap(), Captured::Created(_)));
    let with_email = person(&format!("{}@phone.example", uuid_like()), t0, &format!(r#","phone":"{phone}""#));
    let Captured::Merged(m) = store.capture(&with_email, None).await.unwrap() else {
        panic!("the phone identifies the person")
    };
    assert_eq!(m.id, by_phone.id);
    let by_email_only = person(with_email.email.as_ref().unwrap().as_str(), t0, "");
    let Captured::Merged(m) = store.capture(&by_email_only, None).await.unwrap() else {
        panic!("the email added by the merge identifies the person")
    };
    assert_eq!((m.id, m.submissions), (by_phone.id.clone(), 3));

    // An idempotency key is remembered for a day, then free for a new submission.
    let key = idem(&uuid_like(), "day-1");
    let monday = person(&format!("{}@idem.example", uuid_like()), t0, "");
    assert!(matches!(store.capture(&monday, Some(&key)).await.unwrap(), Captured::Created(_)));
    let tuesday = person(&format!("{}@idem.example", uuid_like()), t0 + chrono::Duration::hours(25), "");
    let reused = Idempotency { fingerprint: "day-2".into(), ..key.clone() };
    assert_eq!(
        store.capture(&tuesday, Some(&reused)).await.unwrap(),
        Captured::Created(tuesday.clone()),
        "an expired key is free"
    );

    // Concurrent submissions of one person make one lead holding every submission.
    let racer = format!("{}@race.example", uuid_like());
    let leads: Vec<Lead> = (0..4).map(|i| person(&racer, t0 + chrono::Duration::seconds(i), "")).collect();
    let results = tokio::join!(
        store.capture(&leads[0], None),
        store.capture(&leads[1], None),
        store.capture(&leads[2], None),
        store.capture(&leads[3], None),
    );
    let outcomes = [results.0, results.1, results.2, results.3].map(|r| r.expect("capture under contention"));
    let created: Vec<&Lead> =
        outcomes.iter().filter_map(|o| if let Captured::Created(l) = o { Some(l) } else { None }).collect();
    assert_eq!(created.len(), 1, "exactly one lead is created: {outcomes:?}");
    let id = created[0].id.clone();
    for outcome in &outcomes {
        let (Captured::Created(l) | Captured::Merged(l)) = outcome else { panic!("{outcome:?}") };
        assert_eq!(l.id, id, "every submission landed on the same lead");
    }
    assert_eq!(store.get(&id).await.unwrap().unwrap().submissions, 4, "no submission was lost");

    // Concurrent retries with one idempotency key make one lead.
    let key = idem(&uuid_like(), "same");
    let leads: Vec<Lead> = (0..3).map(|_| person(&format!("{}@retry.example", uuid_like()), t0, "")).collect();
    let results = tokio::join!(
        store.capture(&leads[0], Some(&key)),
        store.capture(&leads[1], Some(&key)),
        store.capture(&leads[2], Some(&key)),
    );
    let outcomes = [results.0, results.1, results.2].map(|r| r.expect("capture under contention"));
    let created = outcomes.iter().filter(|o| matches!(o, Captured::Created(_))).count();
    let replayed = outcomes.iter().filter(|o| matches!(o, Captured::Replayed(_))).count();
    assert_eq!((created, replayed), (1, 2), "one key, one lead: {outcomes:?}");
}

/// Checks [`PoolCounters`]: every value handed out once, in order, even to concurrent callers.
pub async fn counters(counters: &dyn PoolCounters) {
    let pool = format!("pool-{}", uuid_like());
    assert_eq!(counters.next(&pool).await.unwrap(), 0, "a new pool starts at 0");
    let (a, b, c, d) =
        tokio::join!(counters.next(&pool), counters.next(&pool), counters.next(&pool), counters.next(&pool));
    let mut got = vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 4], "no two callers get the same slot");
    assert_eq!(counters.next(&format!("other-{pool}")).await.unwrap(), 0, "pools count separately");

    // Daily caps: never more than `max` claims a day, even when claimed concurrently.
    let member = format!("rep-{}", uuid_like());
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let claims = tokio::join!(
        counters.claim_daily(&member, day, 3),
        counters.claim_daily(&member, day, 3),
        counters.claim_daily(&member, day, 3),
        counters.claim_daily(&member, day, 3),
        counters.claim_daily(&member, day, 3),
    );
    let granted =
        [claims.0, claims.1, claims.2, claims.3, claims.4].into_iter().filter(|c| *c.as_ref().unwrap()).count();
    assert_eq!(granted, 3, "exactly the cap is granted");
    assert!(!counters.claim_daily(&member, day, 3).await.unwrap(), "a full day stays full");
    assert!(counters.claim_daily(&member, day.succ_opt().unwrap(), 3).await.unwrap(), "the next day starts empty");
    assert!(counters.claim_daily(&member, day, 4).await.unwrap(), "a raised cap frees a slot");

    // A released slot can be claimed again; releases never go below zero.
    counters.release_daily(&member, day).await.unwrap();
    assert!(counters.claim_daily(&member, day, 4).await.unwrap(), "a released slot must be claimable");
    let fresh = format!("rep-{}", uuid_like());
    counters.release_daily(&fresh, day).await.unwrap();
    counters.release_daily(&fresh, day).await.unwrap();
    assert!(counters.claim_daily(&fresh, day, 1).await.unwrap());
    assert!(!counters.claim_daily(&fresh, day, 1).await.unwrap(), "releasing an empty day went below zero");
}

/// Checks a [`RulesetStore`]. `store` must be empty.
pub async fn rulesets(store: &dyn RulesetStore) {
    let t0 = base();
    assert_eq!(store.active().await.unwrap(), None, "nothing is active before an activation");
    assert!(store.list().await.unwrap().is_empty());
    let first = Ruleset::default_ruleset();
    let mut second = first.clone();
    second.name = "second".into();
    second.scoring.hot_at = 70;
    assert_eq!(store.save(&first, t0).await.unwrap(), 1);
    assert_eq!(store.save(&second, t0 + chrono::Duration::minutes(1)).await.unwrap(), 2);
    assert_eq!(store.active().await.unwrap(), None, "saving does not activate");
    assert_eq!(store.load(2).await.unwrap(), Some(second.clone()), "a saved version reads back unchanged");
    assert_eq!(store.load(3).await.unwrap(), None);

    assert!(store.activate(2).await.unwrap());
    assert_eq!(store.active().await.unwrap(), Some((2, second.clone())));
    assert!(!store.activate(9).await.unwrap(), "an unknown version cannot be activated");
    assert_eq!(store.active().await.unwrap().map(|(v, _)| v), Some(2), "a refused activation changes nothing");
    assert!(store.activate(1).await.unwrap(), "rolling back is activating an older version");
    let listed = store.list().await.unwrap();
    let summary: Vec<(u32, &str, bool)> = listed.iter().map(|v| (v.version, v.name.as_str(), v.active)).collect();
    assert_eq!(summary, [(1, "default", true), (2, "second", false)]);
    assert_eq!(listed[1].saved_at, t0 + chrono::Duration::minutes(1));
}

/// Checks an [`AccountDirectory`]. `directory` must be empty.
pub async fn accounts(directory: &dyn AccountDirectory) {
    let csv: String = std::iter::once("account_id,name,domain,owner_id,owner_name,open_deal".to_owned())
        .chain((0..30).map(|i| format!("acc-{i},Company {i},company{i}.example,rep-{i},Rep {i},{}", i % 2 == 0)))
        .collect::<Vec<_>>()
        .join("\n");
    let imported = baton_domain::account::parse_csv(&csv).expect("valid CSV");
    directory.put_accounts(&imported).await.expect("30 accounts, more than one batch");
    let found = directory.find_by_domain("company29.example").await.unwrap().expect("the last batch was written");
    assert_eq!(found, imported[29]);
    assert_eq!(directory.find_by_domain("unknown.example").await.unwrap(), None);
    let mut renamed = imported[0].clone();
    renamed.name = "Renamed".into();
    directory.put_accounts(std::slice::from_ref(&renamed)).await.unwrap();
    assert_eq!(directory.find_by_domain("company0.example").await.unwrap().unwrap().name, "Renamed");
}

/// Checks a [`WorkQueue`] whose visibility timeout is `visibility`. `queue` must be empty.
pub async fn work_queue(queue: &dyn WorkQueue, visibility: Duration) {
    let long_wait = Duration::from_secs(1);
    queue.send("one").await.expect("send");
    queue.send("two").await.expect("send");

    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while got.len() < 2 && std::time::Instant::now() < deadline {
        got.extend(queue.receive(10, long_wait).await.expect("receive"));
    }
    let bodies: HashSet<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, HashSet::from(["one", "two"]), "both messages arrive");
    assert!(got.iter().all(|m| m.receive_count == 1), "first receive counts 1: {got:?}");
    assert!(
        queue.receive(10, Duration::ZERO).await.unwrap().is_empty(),
        "a received message is hidden during its visibility timeout"
    );

    let one = got.iter().find(|m| m.body == "one").unwrap();
    queue.delete(&one.receipt).await.expect("delete");

    tokio::time::sleep(visibility + Duration::from_millis(200)).await;
    let mut again = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while again.is_empty() && std::time::Instant::now() < deadline {
        again = queue.receive(10, long_wait).await.unwrap();
    }
    assert_eq!(again.len(), 1, "only the undeleted message comes back: {again:?}");
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("two", 2));
    queue.delete(&again[0].receipt).await.unwrap();
    tokio::time::sleep(visibility + Duration::from_millis(200)).await;
    assert!(queue.receive(10, Duration::ZERO).await.unwrap().is_empty(), "a deleted message came back");
}

/// The variable that points the AWS-backed tests at moto (set by `infra/scripts/test.sh`).
pub const TEST_ENDPOINT_VAR: &str = "BATON_TEST_AWS_ENDPOINT";

/// The moto endpoint for tests that need one. Panics, loudly and with the fix, when it is not
/// configured: tests that need moto never skip silently.
pub fn test_endpoint() -> String {
    match std::env::var(TEST_ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{TEST_ENDPOINT_VAR} is not set: this test needs the moto server. Run `infra/scripts/test.sh`, \
             which installs and starts moto, or start `moto_server` yourself and set {TEST_ENDPOINT_VAR}=http://127.0.0.1:PORT"
        ),
    }
}

/// A name no other test run uses, for parallel tests sharing one moto.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", &LeadId::generate().as_str()[..8])
}
