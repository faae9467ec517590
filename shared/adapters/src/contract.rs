//! The behaviour every implementation of a port must show. The in-process adapters run these
//! in unit tests; the AWS adapters run them against moto in `tests/`.
//!
//! Each function panics with a description of the first broken promise.

use std::collections::HashSet;
use std::time::Duration;

use baton_domain::{
    Decision, Lead, LeadEvent, LeadId, LeadStatus, LeadSubmission, Ruleset, Timestamp, Touch, TouchKind, Transition,
    WaitKind, decide, sla,
};
use chrono::TimeZone;
use futures::future::join_all;

use crate::ports::{
    AccountDirectory, Capacity, Captured, ChatNotifier, DeliveryKey, DeliveryLedger, EventPublisher, Idempotency,
    LeadRepository, MetricsStore, RulesetStore, Versioned, WebhookSender, WorkQueue, Written,
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
    Touch::new(kind, at, "U-test", "api")
}

fn ids(leads: &[Lead]) -> Vec<&LeadId> {
    leads.iter().map(|l| &l.id).collect()
}

/// Writes `transition`'s lead over `current` with its effects; panics unless it applied.
async fn apply(store: &dyn LeadRepository, current: &Versioned, transition: &Transition) -> Versioned {
    let written = store.update(current, &transition.lead, &transition.effects).await.expect("update");
    assert_eq!(written, Written::Applied, "an update over the current revision must apply");
    store.read(&current.lead.id).await.unwrap().expect("the lead is still there")
}

async fn stored(store: &dyn LeadRepository, lead: &Lead) -> Versioned {
    assert_eq!(store.capture(lead, None).await.expect("capture"), Captured::Created(lead.clone()));
    store.read(&lead.id).await.unwrap().expect("a created lead reads back")
}

/// Checks a [`MetricsStore`]: replays and late revisions change nothing, a lead's new
/// contribution replaces its old one in every slice (also one that left a slice), concurrent
/// leads all count, and the lead-level pages. `store` must be empty.
pub async fn metrics(store: &dyn MetricsStore) {
    use baton_domain::metrics::{Contribution, Dimension, Period};
    let day = base().date_naive();
    let assigned = |country: &str| {
        let lead = new_lead(base(), country);
        lead.assign(decision_for(&lead, base())).expect("assign").lead
    };
    let totals = |period: Period| async move {
        let all = store.aggregates(period, Dimension::All, Period::Month.start(base()), day).await.expect("aggregates");
        assert!(all.len() <= 1, "one `all` slice per period start: {all:?}");
        all.into_iter().next().map(|(_, a)| a).unwrap_or_default()
    };

    let a = assigned("DE");
    let open = Contribution::of(&a, base() + chrono::Duration::minutes(1)).expect("an assigned lead counts");
    assert!(store.record(&a.id, 2, Some(&open)).await.unwrap(), "the first record applies");
    assert!(!store.record(&a.id, 2, Some(&open)).await.unwrap(), "a replay of the same revision changes nothing");
    let t = totals(Period::Day).await;
    assert_eq!((t.outcomes.leads, t.sla_pending), (1, 1), "{t:?}");

    let touched =
        a.touch(Touch::new(TouchKind::Contacted, base() + chrono::Duration::minutes(3), "U-test", "api")).unwrap().lead;
    let contacted = Contribution::of(&touched, base() + chrono::Duration::minutes(4)).unwrap();
    assert!(store.record(&a.id, 3, Some(&contacted)).await.unwrap());
    assert!(!store.record(&a.id, 2, Some(&open)).await.unwrap(), "an older revision arriving late changes nothing");
    let t = totals(Period::Day).await;
    assert_eq!((t.outcomes.leads, t.outcomes.contacted, t.sla_pending, t.sla_met), (1, 1, 0, 1), "{t:?}");
    assert_eq!(t.time_to_first_touch.quantile(0.5), Some(180));

    // Concurrent leads in the same slices all count.
    let others: Vec<Lead> = (0..6).map(|i| assigned(if i % 2 == 0 { "DE" } else { "US" })).collect();
    let recorded = join_all(others.iter().map(|l| {
        let c = Contribution::of(l, base() + chrono::Duration::minutes(1)).unwrap();
        async move { store.record(&l.id, 2, Some(&c)).await }
    }))
    .await;
    assert!(recorded.iter().all(|r| matches!(r, Ok(true))), "{recorded:?}");
    let t = totals(Period::Day).await;
    assert_eq!((t.outcomes.leads, t.sla_pending), (7, 6), "{t:?}");
    assert_eq!(totals(Period::Month).await, t, "the month holds the same leads as its one day");
    assert_eq!(totals(Period::Week).await.outcomes.leads, 7);

    // By owner, in value order; a lead that moves to another owner leaves the first.
    let by_owner = store.aggregates(Period::Day, Dimension::Owner, day, day).await.unwrap();
    let owners: Vec<&str> = by_owner.iter().map(|(s, _)| s.value.as_str()).collect();
    let mut sorted = owners.clone();
    sorted.sort_unstable();
    assert_eq!(owners, sorted, "in value order");
    assert!(owners.len() >= 2, "leads in two countries go to two owners: {owners:?}");
    let moved_lead = &others[1];
    let mut moved = Contribution::of(moved_lead, base() + chrono::Duration::minutes(2)).unwrap();
    let from = moved.value(Dimension::Owner).to_owned();
    for s in moved.slices.iter_mut().filter(|s| s.dimension == Dimension::Owner) {
        s.value = "rep-contract-new".into();
    }
    assert!(store.record(&moved_lead.id, 3, Some(&moved)).await.unwrap());
    let by_owner = store.aggregates(Period::Day, Dimension::Owner, day, day).await.unwrap();
    let count = |owner: &str| by_owner.iter().find(|(s, _)| s.value == owner).map_or(0, |(_, a)| a.outcomes.leads);
    let before: u64 = others.iter().filter(|l| l.decision().unwrap().owner.id == from).count() as u64;
    assert_eq!(count("rep-contract-new"), 1);
    assert_eq!(count(&from), before - 1 + u64::from(a.decision().unwrap().owner.id == from));
    assert_eq!(totals(Period::Day).await.outcomes.leads, 7, "moving owner leaves the team's count alone");

    // No longer counted anywhere: out of every slice and of the lead pages.
    assert!(store.record(&others[0].id, 3, None).await.unwrap());
    assert_eq!(totals(Period::Day).await.outcomes.leads, 6);

    let mut seen = Vec::new();
    let mut after: Option<LeadId> = None;
    loop {
        let page = store.contributions(day, after.as_ref(), 4).await.unwrap();
        assert!(page.len() <= 4);
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        seen.extend(page.into_iter().map(|(id, c)| (id.to_string(), c)));
    }
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    let mut expected: Vec<String> = std::iter::once(&a).chain(&others[1..]).map(|l| l.id.to_string()).collect();
    expected.sort();
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>(), "every counted lead once, in id order");
    assert_eq!(seen.iter().find(|(id, _)| *id == a.id.to_string()).unwrap().1, contacted);
    let elsewhere = day + chrono::Duration::days(1);
    assert!(store.contributions(elsewhere, None, 10).await.unwrap().is_empty());
    assert!(store.aggregates(Period::Day, Dimension::All, elsewhere, elsewhere).await.unwrap().is_empty());
}

/// Checks a [`LeadRepository`]: reads, revision-guarded updates, counter effects and the
/// due-time index. `store` must be empty; `capacity` must read the same open-lead slots.
pub async fn lead_store(store: &dyn LeadRepository, capacity: &dyn Capacity) {
    let t0 = base();
    let a = new_lead(t0, "DE");

    // Create and read back; an unknown id reads as None.
    let v = stored(store, &a).await;
    assert_eq!(v.lead, a, "a stored lead reads back unchanged");
    assert_eq!(store.get(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(store.read(&LeadId::generate()).await.unwrap(), None, "an unknown id reads as None");

    // A captured lead waits for routing until the grace period has passed.
    let routing_due = t0 + sla::routing_grace();
    let early = store.overdue(WaitKind::Routing, routing_due - chrono::Duration::seconds(1), 10).await.unwrap();
    assert!(early.is_empty(), "a lead was overdue for routing before its grace period ended");
    let due = store.overdue(WaitKind::Routing, routing_due, 10).await.unwrap();
    assert_eq!(ids(&due), [&a.id], "a lead past its routing grace is overdue for routing");

    // An update applies over the revision it was computed from, and only once.
    let t1 = t0 + chrono::Duration::seconds(1);
    let first = decision_for(&a, t1);
    let assign = v.lead.assign(first.clone()).unwrap();
    let assigned = apply(store, &v, &assign).await;
    assert_eq!(assigned.lead, assign.lead, "the lead the transition computed is what is stored");
    assert!(assigned.revision > v.revision, "a write must move the revision");
    let mut second = decision_for(&a, t1 + chrono::Duration::seconds(5));
    second.rule = "another-rule".into();
    let stale = v.lead.assign(second).unwrap();
    assert_eq!(store.update(&v, &stale.lead, &stale.effects).await.unwrap(), Written::Stale, "a stale write applied");
    assert_eq!(store.get(&a.id).await.unwrap().unwrap().decision(), Some(&first), "a stale write changed the lead");

    // Concurrent writers from one revision: exactly one applies.
    let results = join_all((0..4).map(|_| store.update(&assigned, &assigned.lead, &[]))).await;
    let applied = results.iter().filter(|r| matches!(r, Ok(Written::Applied))).count();
    assert_eq!(applied, 1, "concurrent writes over one revision: exactly one must apply, got {results:?}");
    let assigned = store.read(&a.id).await.unwrap().unwrap();

    // Once assigned, the lead waits for its first touch instead of for routing.
    let far = t0 + chrono::Duration::days(30);
    assert!(store.overdue(WaitKind::Routing, far, 10).await.unwrap().is_empty(), "an assigned lead waits for routing");
    let touch_due = first.first_touch_due_at;
    let not_yet = store.overdue(WaitKind::FirstTouch, touch_due - chrono::Duration::seconds(1), 10).await.unwrap();
    assert!(not_yet.is_empty(), "a lead was overdue for its first touch before the due time");
    assert_eq!(ids(&store.overdue(WaitKind::FirstTouch, touch_due, 10).await.unwrap()), [&a.id]);

    // An escalation waits in the outbox (the announce index) until announced, then nothing waits.
    let escalated = apply(store, &assigned, &assigned.lead.escalate(touch_due).unwrap()).await;
    assert!(store.overdue(WaitKind::FirstTouch, far, 10).await.unwrap().is_empty(), "an escalated lead still waits");
    assert_eq!(ids(&store.overdue(WaitKind::Announce, far, 10).await.unwrap()), [&a.id]);
    let announcement = escalated.lead.outbox[0].clone();
    let done = apply(store, &escalated, &escalated.lead.announced(&announcement)).await;
    assert!(store.overdue(WaitKind::Announce, far, 10).await.unwrap().is_empty(), "an announced event still waits");
    assert_eq!(done.lead.escalated_at(), Some(touch_due));

    // A deferred lead leaves the index until its deferral ends.
    let b = stored(store, &new_lead(t0, "US")).await;
    let deferred = apply(store, &b, &b.lead.deferred(far, "queue down")).await;
    assert!(!ids(&store.overdue(WaitKind::Routing, far, 10).await.unwrap()).contains(&&b.lead.id), "deferred lead due");
    let later = far + chrono::Duration::hours(1);
    assert!(ids(&store.overdue(WaitKind::Routing, later, 10).await.unwrap()).contains(&&b.lead.id));
    assert_eq!(deferred.lead.deferral.as_ref().map(|d| d.attempts), Some(1));

    // Overdue leads come earliest first, and `limit` bounds the answer.
    let mut later_leads: Vec<Lead> = (1..=4).map(|i| new_lead(t0 + chrono::Duration::minutes(i), "FR")).collect();
    later_leads.reverse();
    for lead in &later_leads {
        stored(store, lead).await;
    }
    let page = store.overdue(WaitKind::Routing, far, 3).await.unwrap();
    let expected = [&later_leads[3].id, &later_leads[2].id, &later_leads[1].id];
    assert_eq!(ids(&page), expected, "overdue leads are not earliest first or not limited");

    // Counter effects move with the write: a take below the cap, a release at the first touch.
    let owner = format!("rep-{}", uuid_like());
    let c = stored(store, &new_lead(t0, "CA")).await;
    let mut capped = decision_for(&c.lead, t1);
    capped.owner = baton_domain::Owner::new(owner.clone(), "Capped Rep");
    capped.max_open = Some(1);
    let taken = apply(store, &c, &c.lead.assign(capped.clone()).unwrap()).await;
    assert_eq!(capacity.open_count(&owner).await.unwrap(), 1, "the decision took a slot");
    let d = stored(store, &new_lead(t0, "CA")).await;
    let full = d.lead.assign(capped).unwrap();
    assert_eq!(store.update(&d, &full.lead, &full.effects).await.unwrap(), Written::AtCapacity);
    assert_eq!(store.get(&d.lead.id).await.unwrap().unwrap().status(), LeadStatus::Captured, "a refused take wrote");
    let touched = taken.lead.touch(touch(TouchKind::Accepted, t1)).unwrap();
    apply(store, &taken, &touched).await;
    assert_eq!(capacity.open_count(&owner).await.unwrap(), 0, "the first touch gave the slot back");
    assert_eq!(
        ids(&store.overdue(WaitKind::Announce, far, 10).await.unwrap()),
        [&c.lead.id],
        "the touch waits to be announced"
    );
}

/// Checks the open-lead cap under concurrency: writers taking an owner's slots never take more
/// than `max_open` between them. `store` must be empty; `capacity` reads its slots.
pub async fn open_caps(store: &dyn LeadRepository, capacity: &dyn Capacity) {
    let t0 = base();
    let owner = format!("rep-{}", uuid_like());
    let mut current = Vec::new();
    for _ in 0..6 {
        current.push(stored(store, &new_lead(t0, "US")).await);
    }
    let transitions: Vec<Transition> = current
        .iter()
        .map(|v| {
            let mut d = decision_for(&v.lead, t0);
            d.owner = baton_domain::Owner::new(owner.clone(), "Capped Rep");
            d.max_open = Some(2);
            v.lead.assign(d).unwrap()
        })
        .collect();
    let results = join_all(current.iter().zip(&transitions).map(|(v, t)| store.update(v, &t.lead, &t.effects))).await;
    let applied = results.iter().filter(|r| matches!(r, Ok(Written::Applied))).count();
    assert_eq!(applied, 2, "concurrent writers gave an owner more than max_open leads: {results:?}");
    assert!(
        results.iter().all(|r| matches!(r, Ok(Written::Applied | Written::AtCapacity))),
        "a capped write must be applied or at capacity: {results:?}"
    );
    assert_eq!(capacity.open_count(&owner).await.unwrap(), 2);
}

/// Checks that a reassignment ([`Lead::reassign`]) moves the open slot in its one write: the old
/// owner's slot is given back and the new owner's taken together, and a new owner at capacity
/// leaves everything as it was. `store` must be empty of these owners.
pub async fn open_slot_moves(store: &dyn LeadRepository, capacity: &dyn Capacity) {
    let t0 = base();
    let (old, new) = (format!("rep-{}", uuid_like()), format!("rep-{}", uuid_like()));
    let mut ruleset = Ruleset::default_ruleset();
    ruleset.sla.reassign_after = Some("10m".into());
    let current = stored(store, &new_lead(t0, "US")).await;
    let mut d = baton_domain::rules::engine::plan(&ruleset, &current.lead).decide(&current.lead, 1, 0, &|_| None, t0);
    d.owner = baton_domain::Owner::new(old.clone(), "Old Rep");
    d.max_open = Some(1);
    let assigned = apply(store, &current, &current.lead.assign(d).unwrap()).await;
    let due = assigned.lead.decision().unwrap().sla.as_ref().and_then(|t| t.reassign_at).expect("a reassignment time");
    let escalated = apply(store, &assigned, &assigned.lead.escalate(due).unwrap()).await;
    let mut next = escalated.lead.decision().unwrap().clone();
    next.owner = baton_domain::Owner::new(new.clone(), "New Rep");
    next.max_open = Some(1);
    // The new owner is full: nothing at all is written.
    let blocker = stored(store, &new_lead(t0, "US")).await;
    let mut b = decision_for(&blocker.lead, t0);
    b.owner = next.owner.clone();
    b.max_open = Some(1);
    apply(store, &blocker, &blocker.lead.assign(b).unwrap()).await;
    let moved = escalated.lead.reassign(next.clone(), "next available", due).unwrap();
    assert_eq!(store.update(&escalated, &moved.lead, &moved.effects).await.unwrap(), Written::AtCapacity);
    assert_eq!((capacity.open_count(&old).await.unwrap(), capacity.open_count(&new).await.unwrap()), (1, 1));
    // With a slot free, both counts move with the lead.
    let blocker = store.read(&blocker.lead.id).await.unwrap().unwrap();
    apply(store, &blocker, &blocker.lead.touch(touch(TouchKind::Called, t0)).unwrap()).await;
    let after = apply(store, &escalated, &moved).await;
    assert_eq!(after.lead.decision().unwrap().owner.id, new);
    assert_eq!((capacity.open_count(&old).await.unwrap(), capacity.open_count(&new).await.unwrap()), (0, 1));
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

/// Checks [`LeadRepository::capture`]: deduplication, idempotency and their behaviour under
/// concurrency. `store` must be empty.
pub async fn capture(store: &dyn LeadRepository) {
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
    let current = store.read(&first.id).await.unwrap().unwrap();
    let assign = current.lead.assign(decision.clone()).unwrap();
    assert_eq!(store.update(&current, &assign.lead, &assign.effects).await.unwrap(), Written::Applied);
    let third = person(&email, t0 + chrono::Duration::minutes(2), "");
    let Captured::Merged(after) = store.capture(&third, None).await.unwrap() else { panic!("merge") };
    assert_eq!((after.status(), after.decision()), (LeadStatus::Assigned, Some(&decision)));
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

    // Colleagues sharing a phone (a switchboard) are different people: different emails never
    // share a lead, in any order, and concurrently; the first keeps the phone.
    let switchboard = format!("+1415556{:04}", u16::from_str_radix(&uuid_like()[..4], 16).unwrap() % 10_000);
    let colleague = |name: &str| {
        person(&format!("{name}-{}@switch.example", uuid_like()), t0, &format!(r#","phone":"{switchboard}""#))
    };
    let (ann, ben) = (colleague("ann"), colleague("ben"));
    assert!(matches!(store.capture(&ann, None).await.unwrap(), Captured::Created(_)));
    let Captured::Created(ben_stored) = store.capture(&ben, None).await.unwrap() else {
        panic!("a shared phone merged two people")
    };
    assert_eq!((&ben_stored.id, &ben_stored.email), (&ben.id, &ben.email));
    // ... and each is shown the other as a possible duplicate, with the reason.
    let flagged: Vec<(&LeadId, String)> =
        ben_stored.possible_duplicates.iter().map(|d| (&d.lead_id, d.explain())).collect();
    assert_eq!(flagged, [(&ann.id, format!("same phone {switchboard}"))]);
    assert_eq!(store.get(&ben.id).await.unwrap().unwrap(), ben_stored, "recorded on the stored lead");
    assert_eq!(ids(&store.similar(&ann, 10).await.unwrap()), [&ben.id], "the earlier lead finds the later one");
    let by_phone_only = LeadSubmission { phone: Some(switchboard.clone()), ..Default::default() }
        .into_lead(LeadId::generate(), t0)
        .unwrap();
    let Captured::Merged(m) = store.capture(&by_phone_only, None).await.unwrap() else { panic!("no email disagrees") };
    assert_eq!(m.id, ann.id, "a phone alone goes to the lead that holds it");
    let shared = format!("+1415557{:04}", u16::from_str_radix(&uuid_like()[..4], 16).unwrap() % 10_000);
    let crowd: Vec<Lead> = (0..4)
        .map(|i| person(&format!("c{i}-{}@crowd.example", uuid_like()), t0, &format!(r#","phone":"{shared}""#)))
        .collect();
    let outcomes = join_all(crowd.iter().map(|l| store.capture(l, None))).await;
    let ids: HashSet<LeadId> = outcomes
        .into_iter()
        .map(|o| match o.expect("capture under contention") {
            Captured::Created(l) => l.id,
            other => panic!("distinct emails must never merge: {other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), crowd.len(), "four people, four leads");
    for l in &crowd {
        let others: HashSet<LeadId> = store.similar(l, 10).await.unwrap().into_iter().map(|o| o.id).collect();
        let expected: HashSet<LeadId> = ids.iter().filter(|id| **id != l.id).cloned().collect();
        assert_eq!(others, expected, "every lead sharing the phone is found, even when captured concurrently");
    }

    // An email that points to one lead and a phone that points to another: merged into the
    // email's lead, never across to the phone's, and the link to the phone's lead is recorded.
    let carol = person(&format!("carol-{}@switch.example", uuid_like()), t0, "");
    assert!(matches!(store.capture(&carol, None).await.unwrap(), Captured::Created(_)));
    let carol_with_switchboard =
        person(carol.email.as_ref().unwrap().as_str(), t0, &format!(r#","phone":"{switchboard}""#));
    let Captured::Merged(m) = store.capture(&carol_with_switchboard, None).await.unwrap() else { panic!("merge") };
    assert_eq!(m.id, carol.id, "the email decides whose lead it is");
    let linked: HashSet<&LeadId> = m.possible_duplicates.iter().map(|d| &d.lead_id).collect();
    assert!(linked.contains(&ann.id) && !linked.contains(&carol.id), "linked, not merged: {linked:?}");
    assert_eq!(store.get(&ann.id).await.unwrap().unwrap().email, ann.email, "the phone's lead is untouched");

    // The same name at the same company, however typed, is flagged; a different company is not.
    let name = uuid_like();
    let renee = |email: &str, first: &str, company: &str| {
        person(
            &format!("{email}-{}@x.example", uuid_like()),
            t0,
            &format!(r#","first_name":"{first}","last_name":"{name}","company":"{company}""#),
        )
    };
    let a = renee("a", "Rene\u{301}e", "Acme, Inc.");
    let b = renee("b", "RENÉE", "ACME Incorporated");
    let c = renee("c", "Renée", "Globex");
    for l in [&a, &b, &c] {
        assert!(matches!(store.capture(l, None).await.unwrap(), Captured::Created(_)));
    }
    let b_stored = store.get(&b.id).await.unwrap().unwrap();
    let flagged: Vec<(&LeadId, String)> =
        b_stored.possible_duplicates.iter().map(|d| (&d.lead_id, d.explain())).collect();
    assert_eq!(flagged, [(&a.id, format!("same name “renée {name}” at the same company (acme)"))]);
    assert!(store.get(&c.id).await.unwrap().unwrap().possible_duplicates.is_empty());

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

/// Checks [`Capacity`]'s turns and daily slots: every value handed out once, in order, even to concurrent callers.
pub async fn counters(counters: &dyn Capacity) {
    let pool = format!("pool-{}", uuid_like());
    assert_eq!(counters.next_turn(&pool).await.unwrap(), 0, "a new pool starts at 0");
    let (a, b, c, d) = tokio::join!(
        counters.next_turn(&pool),
        counters.next_turn(&pool),
        counters.next_turn(&pool),
        counters.next_turn(&pool)
    );
    let mut got = vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 4], "no two callers get the same slot");
    assert_eq!(counters.next_turn(&format!("other-{pool}")).await.unwrap(), 0, "pools count separately");

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

/// Checks a [`crate::ports::RateLimiter`]: exactly `max` admissions per key and window, even
/// to concurrent callers; other keys and the next window count separately.
pub async fn rate_limits(limits: &dyn crate::ports::RateLimiter) {
    let key = format!("handoff-{}", uuid_like());
    let minute = Duration::from_secs(60);
    let start = base();
    let admitted = join_all((0..7).map(|_| limits.admit(&key, start, minute, 5))).await;
    let granted = admitted.into_iter().filter(|a| *a.as_ref().expect("admit")).count();
    assert_eq!(granted, 5, "exactly the limit is admitted");
    assert!(!limits.admit(&key, start, minute, 5).await.unwrap(), "a full window stays full");
    assert!(limits.admit(&format!("other-{key}"), start, minute, 5).await.unwrap(), "keys count separately");
    let next = start + chrono::Duration::seconds(60);
    assert!(limits.admit(&key, next, minute, 5).await.unwrap(), "the next window starts empty");
    assert!(!limits.admit(&key, next, minute, 0).await.unwrap(), "a limit of 0 admits nothing");
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
    let key = |k: &str| vec![k.to_owned()];
    assert_eq!(
        directory.find(&key("domain:company29.example")).await.unwrap(),
        [imported[29].clone()],
        "the last batch was written"
    );
    assert!(directory.find(&key("domain:unknown.example")).await.unwrap().is_empty());
    assert!(directory.find(&[]).await.unwrap().is_empty());
    let mut renamed = imported[0].clone();
    renamed.name = "Renamed".into();
    directory.put_accounts(std::slice::from_ref(&renamed)).await.unwrap();
    assert_eq!(directory.find(&key("domain:company0.example")).await.unwrap()[0].name, "Renamed");

    // Accounts are found under every key they are indexed by, each once, however many keys match.
    let group = baton_domain::account::parse_csv(
        "account_id,name,domain,domains\n\
         acme-us,Acme Inc,acme.com,\"acme-labs.io\"\n\
         acme-de,Acme GmbH,acme.de,\n\
         globex,Globex,globex.com,\n",
    )
    .unwrap();
    directory.put_accounts(&group).await.unwrap();
    let ids = |found: Vec<baton_domain::Account>| {
        let mut ids: Vec<String> = found.into_iter().map(|a| a.account_id).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(directory.find(&key("brand:acme")).await.unwrap()), ["acme-de", "acme-us"]);
    assert_eq!(ids(directory.find(&key("domain:acme-labs.io")).await.unwrap()), ["acme-us"]);
    assert_eq!(ids(directory.find(&key("name:acme")).await.unwrap()), ["acme-de", "acme-us"]);
    let many = [key("domain:acme.com"), key("brand:acme"), key("name:globex"), key("domain:nobody.example")].concat();
    assert_eq!(ids(directory.find(&many).await.unwrap()), ["acme-de", "acme-us", "globex"]);
    // A re-import that moves an account to another domain is found under the new one, as it is now.
    let mut moved = group[2].clone();
    moved.domain = "globex.net".into();
    moved.name = "Globex Networks".into();
    directory.put_accounts(std::slice::from_ref(&moved)).await.unwrap();
    assert_eq!(directory.find(&key("domain:globex.net")).await.unwrap(), [moved.clone()]);
    for stale in directory.find(&key("domain:globex.com")).await.unwrap() {
        assert_eq!(stale, moved, "an old index entry never returns an old copy");
    }
}

/// Checks a [`DeliveryLedger`]: the first claim wins, a released claim can be taken again, a
/// lease that ran out can be taken over, and a confirmed delivery is never claimed again (not
/// even after a late release).
pub async fn ledger(ledger: &dyn DeliveryLedger) {
    let t1 = base();
    let lead = new_lead(t1, "US");
    let lead = lead.assign(decision_for(&lead, t1)).unwrap().lead;
    let key = DeliveryKey::new(&LeadEvent::assigned(&lead), "slack");
    let lease = chrono::Duration::seconds(40);
    assert!(ledger.claim(&key, t1, lease).await.unwrap(), "the first claim wins");
    assert!(!ledger.claim(&key, t1, lease).await.unwrap(), "a second claim must lose");
    ledger.release(&key).await.unwrap();
    assert!(ledger.claim(&key, t1, lease).await.unwrap(), "a released claim can be taken again");
    // A holder that died mid-send: its claim can be taken once the lease has run out, not before.
    let before_end = t1 + lease - chrono::Duration::seconds(1);
    assert!(!ledger.claim(&key, before_end, lease).await.unwrap(), "a live lease was taken over");
    let after_end = t1 + lease + chrono::Duration::seconds(1);
    assert!(ledger.claim(&key, after_end, lease).await.unwrap(), "an expired lease must be claimable");
    // A confirmed delivery is never claimed again, however late, and a release cannot undo it.
    ledger.confirm(&key).await.unwrap();
    ledger.release(&key).await.unwrap();
    let much_later = after_end + chrono::Duration::days(1);
    assert!(!ledger.claim(&key, much_later, lease).await.unwrap(), "a sent delivery was claimed again");
    // Concurrent claims: exactly one wins.
    let other = DeliveryKey::new(&LeadEvent::assigned(&lead), "webhook:crm");
    let wins = join_all((0..4).map(|_| ledger.claim(&other, t1, lease))).await;
    assert_eq!(wins.iter().filter(|w| matches!(w, Ok(true))).count(), 1, "concurrent claims: {wins:?}");
}

/// Checks an [`EventPublisher`]: every event of the contract publishes (the largest a lead can
/// make included).
pub async fn publisher(publisher: &dyn EventPublisher) {
    let t1 = base();
    let mut lead = new_lead(t1, "US");
    for i in 0..baton_domain::contract::MAX_ATTRIBUTES {
        lead.attributes.insert(format!("a{i}"), serde_json::Value::String("\"".repeat(1000)));
    }
    lead.message = Some("é".repeat(baton_domain::contract::MAX_MESSAGE));
    let assigned = lead.assign(decision_for(&lead, t1)).unwrap().lead;
    let touched = assigned.touch(touch(TouchKind::Called, t1)).unwrap().lead;
    for event in [LeadEvent::assigned(&assigned), LeadEvent::announcing(&touched, &touched.outbox[0])] {
        assert!(event.to_json().len() <= baton_domain::MAX_EVENT_BYTES);
        publisher.publish(&event).await.unwrap_or_else(|e| panic!("{} did not publish: {e}", event.kind.as_str()));
    }
}

/// Checks a [`ChatNotifier`]: a message posts.
pub async fn chat(chat: &dyn ChatNotifier) {
    let message = serde_json::json!({ "channel": "C0CONTRACT", "text": "contract check", "blocks": [] });
    chat.post(&message).await.expect("a message posts");
}

/// Checks a [`WebhookSender`]: a signed event is delivered.
pub async fn webhooks(sender: &dyn WebhookSender, subscriber: &crate::webhook::Subscriber) {
    let lead = new_lead(base(), "US");
    let body = LeadEvent::assigned(&lead.assign(decision_for(&lead, base())).unwrap().lead).webhook_body(base());
    sender.send(subscriber, "msg_contract", &body).await.expect("a webhook is delivered");
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
