//! The notify handler, driven by real SNS events: every channel exactly once, retries within
//! the deadline, permanent failures recorded and announced.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::sns::SnsEvent;
use baton_adapters::memory::{
    ManualClock, MemoryLeadStore, MemoryLedger, MemoryPublisher, RecordingNotifier, RecordingWebhooks,
};
use baton_adapters::retry::Backoff;
use baton_adapters::webhook::parse_subscribers;
use baton_adapters::{Clock, DeliveryKey, DeliveryLedger, Error, LeadRepository};
use baton_domain::{
    Announcement, Decision, EventType, Lead, LeadEvent, LeadId, LeadSubmission, Ruleset, Stage, Timestamp, Touch,
    TouchKind, decide,
};
use baton_notify::{Delivery, Notify, NotifyError, handle};
use chrono::TimeZone;

const SNS: &str = include_str!("fixtures/sns-event.json");
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn sns(message: &str) -> SnsEvent {
    let mut v: serde_json::Value = serde_json::from_str(SNS).unwrap();
    v["Records"][0]["Sns"]["Message"] = message.into();
    serde_json::from_value(v).expect("a valid SNS event")
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn assigned_lead() -> Lead {
    let t0 = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
    let lead = LeadSubmission::from_json(
        br#"{"email":"ada@analytical.example","phone":"+44 20 7946 0958","first_name":"Ada","last_name":"Lovelace",
            "company":"Analytical <Engines>","job_title":"Head of Research","country":"GB",
            "source":{"form_type":"demo_request","utm_campaign":"launch"}}"#,
    )
    .unwrap()
    .into_lead(LeadId::generate(), t0)
    .unwrap();
    let decision = decide(&lead, &Ruleset::default_ruleset(), t0);
    lead.assign(decision).unwrap().lead
}

/// The decision of an assigned lead, to change before the lead is stored.
fn decision_mut(lead: &mut Lead) -> &mut Decision {
    match &mut lead.stage {
        Stage::Assigned { decision } => decision,
        other => panic!("not an assigned lead: {other:?}"),
    }
}

struct World {
    clock: Arc<ManualClock>,
    ledger: Arc<MemoryLedger>,
    store: Arc<MemoryLeadStore>,
    slack: Arc<RecordingNotifier>,
    webhooks: Arc<RecordingWebhooks>,
    alerts: Arc<MemoryPublisher>,
    notify: Notify,
}

fn short_backoff() -> Backoff {
    Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20) }
}

fn start() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 2).unwrap()
}

async fn world(lead: &Lead) -> World {
    let store = Arc::new(MemoryLeadStore::new());
    store.seed(lead);
    let ledger = Arc::new(MemoryLedger::new());
    let slack = Arc::new(RecordingNotifier::new());
    let webhooks = Arc::new(RecordingWebhooks::new());
    let alerts = Arc::new(MemoryPublisher::new());
    let subscribers = parse_subscribers(&format!(
        r#"[{{"id":"crm","url":"https://crm.example/hooks","secret":"{SECRET}"}},
            {{"id":"bi","url":"https://bi.example/hooks","secret":"{SECRET}","events":["lead.touched"]}}]"#
    ))
    .unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let notify = Notify::new(ledger.clone(), store.clone(), slack.clone(), clock.clone())
        .with_webhooks(webhooks.clone(), subscribers)
        .with_alerts(alerts.clone())
        .with_backoff(short_backoff());
    World { clock, ledger, store, slack, webhooks, alerts, notify }
}

fn sent(channels: &[&str]) -> Vec<Delivery> {
    channels.iter().map(|c| Delivery::Sent((*c).to_owned())).collect()
}

#[tokio::test]
async fn an_assignment_reaches_the_owner_the_team_and_subscribers() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let event = LeadEvent::assigned(&lead);
    let tap = baton_adapters::metrics::Tap::open();
    let done = handle(&w.notify, sns(&event.to_json()), deadline()).await.unwrap();
    assert_eq!(done, sent(&["slack:U0JONAS001", "slack:C0SALESTEAM", "webhook:crm"]));
    let latencies: Vec<_> = tap.points().into_iter().filter(|(m, _, _)| m == "StageLatency").collect();
    assert_eq!(latencies.len(), 1, "one notify latency, for the owner's message: {latencies:?}");
    assert_eq!(latencies[0].1, "notify");

    let posted = w.slack.posted();
    assert_eq!(posted[0]["channel"], "U0JONAS001", "the owner gets it directly");
    let text = posted[0].to_string();
    for expected in [
        "Assigned to <@U0JONAS001>",
        "+40 asked for a demo",
        "*First action:* Call Ada Lovelace at +442079460958",
        "Tue 24 Nov 10:15 CET", // the due time in the owner's zone (Europe/Berlin)
        "Analytical &lt;Engines&gt;",
        "baton_touch_accepted",
        "baton_touch_not_a_fit",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    assert_eq!(posted[1]["channel"], "C0SALESTEAM");
    assert!(posted[1].to_string().contains("→ <@U0JONAS001>"), "{}", posted[1]);

    let hooks = w.webhooks.sent();
    let (subscriber, id, body) = &hooks[0];
    assert_eq!((subscriber.as_str(), hooks.len()), ("crm", 1), "bi only wants touches");
    assert!(id.starts_with("msg_"));
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["type"], "lead.assigned");
    assert_eq!(body["data"]["lead"]["id"], lead.id.to_string());
}

#[tokio::test]
async fn the_same_event_delivered_three_times_sends_one_message_per_channel() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let json = LeadEvent::assigned(&lead).to_json();
    let mut results = Vec::new();
    for _ in 0..3 {
        results.extend(handle(&w.notify, sns(&json), deadline()).await.unwrap());
    }
    let sent = results.iter().filter(|d| matches!(d, Delivery::Sent(_))).count();
    let duplicates = results.iter().filter(|d| matches!(d, Delivery::Duplicate(_))).count();
    assert_eq!((sent, duplicates), (3, 6));
    assert_eq!(w.slack.posted().len(), 2, "one owner message and one team summary");
    assert_eq!(w.webhooks.sent().len(), 1);
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_slack_asked_for() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    w.slack.fail_next(Error::Throttled { service: "Slack", retry_after: Duration::from_millis(300) });
    w.slack.fail_next(Error::Unavailable { service: "Slack", detail: "HTTP 503".into() });
    let started = Instant::now();
    let done = handle(&w.notify, sns(&LeadEvent::assigned(&lead).to_json()), deadline()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "Retry-After was not honoured");
    assert_eq!(done.len(), 3);
    assert_eq!(w.slack.posted().len(), 2, "each message sent once, after the retries");
}

#[tokio::test]
async fn a_channel_still_failing_at_the_deadline_fails_the_event_and_only_it_is_retried() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let json = LeadEvent::assigned(&lead).to_json();
    // Slack asks for a minute; the invocation has seconds left: give up at once on that channel.
    w.slack.fail_next(Error::Throttled { service: "Slack", retry_after: Duration::from_secs(60) });
    let err = handle(&w.notify, sns(&json), Instant::now() + Duration::from_secs(5)).await.unwrap_err();
    let NotifyError::Undelivered { failed } = &err else { panic!("{err:?}") };
    assert_eq!(failed.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["slack:U0JONAS001"]);
    assert_eq!((w.slack.posted().len(), w.webhooks.sent().len()), (1, 1), "the other channels were served");
    assert!(w.alerts.published().is_empty(), "a transient failure is not announced as permanent");

    let retry = handle(&w.notify, sns(&json), deadline()).await.unwrap();
    assert_eq!(
        retry,
        [
            Delivery::Sent("slack:U0JONAS001".into()),
            Delivery::Duplicate("slack:C0SALESTEAM".into()),
            Delivery::Duplicate("webhook:crm".into())
        ]
    );
    assert_eq!(w.slack.posted().len(), 2);
}

#[tokio::test]
async fn a_permanent_failure_is_recorded_on_the_lead_and_announced() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    w.webhooks.fail_next(Error::Rejected { service: "webhook", detail: "crm answered HTTP 410 Gone".into() });
    let event = LeadEvent::assigned(&lead);
    let err = handle(&w.notify, sns(&event.to_json()), deadline()).await.unwrap_err();
    assert!(matches!(&err, NotifyError::Undelivered { failed } if failed[0].0 == "webhook:crm"), "{err:?}");
    assert_eq!(w.slack.posted().len(), 2, "Slack was still served");

    let stored = w.store.get(&lead.id).await.unwrap().unwrap();
    assert_eq!(stored.notification_failures.len(), 1);
    assert_eq!(stored.notification_failures[0].channel, "webhook:crm");
    assert!(stored.notification_failures[0].error.contains("410"));
    let alerts = w.alerts.published();
    assert!(
        matches!(&alerts[..], [alert] if alert.kind == EventType::NotificationFailed
            && alert.failure.as_ref().is_some_and(|f| f.event == "lead.assigned")),
        "{alerts:?}"
    );

    // The alert itself goes to the team channel and to subscribers who want it.
    let done = handle(&w.notify, sns(&alerts[0].to_json()), deadline()).await.unwrap();
    assert_eq!(done, sent(&["slack:C0SALESTEAM", "webhook:crm"]));
    let alert = w.slack.posted().last().unwrap().to_string();
    assert!(alert.contains("Notification not delivered") && alert.contains("webhook:crm"), "{alert}");
}

#[tokio::test]
async fn an_escalation_reaches_the_owner_and_the_team_again() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    handle(&w.notify, sns(&LeadEvent::assigned(&lead).to_json()), deadline()).await.unwrap();
    let due = lead.decision().unwrap().first_touch_due_at;
    let escalated = lead.escalate(due + chrono::Duration::minutes(7)).unwrap().lead;
    let event = LeadEvent::announcing(&escalated, &Announcement::Escalated { due_at: due });
    assert_eq!(event.occurrence(), format!("lead.escalated@{}", due.timestamp_millis()), "keyed by the due time");
    let done = handle(&w.notify, sns(&event.to_json()), deadline()).await.unwrap();
    assert_eq!(done, sent(&["slack:U0JONAS001", "slack:C0SALESTEAM", "webhook:crm"]));
    let posted = w.slack.posted();
    assert_eq!(posted[2]["text"], "⏰ SLA breach: Ada Lovelace has not been touched by Jonas Weber");
    assert!(posted[3].to_string().contains("SLA breach"), "{}", posted[3]);
}

#[tokio::test]
async fn touches_and_nurture_go_to_subscribers_only() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let touch = Touch::new(TouchKind::Called, chrono::Utc::now(), "U0JONAS001", "slack");
    let touched_lead = lead.touch(touch.clone()).unwrap().lead;
    let touched = LeadEvent::announcing(&touched_lead, &Announcement::Touched { touch });
    assert_eq!(
        handle(&w.notify, sns(&touched.to_json()), deadline()).await.unwrap(),
        sent(&["webhook:crm", "webhook:bi"])
    );
    let nurture = LeadEvent::announcing(&lead, &Announcement::Nurture);
    assert_eq!(handle(&w.notify, sns(&nurture.to_json()), deadline()).await.unwrap(), sent(&["webhook:crm"]));
    assert!(w.slack.posted().is_empty(), "no rep is told about touches or nurture");
}

#[tokio::test]
async fn email_goes_to_owners_with_an_address_when_switched_on() {
    let mut lead = assigned_lead();
    decision_mut(&mut lead).owner.email = Some("jonas@baton.example".into());
    let w = world(&lead).await;
    let email = Arc::new(RecordingNotifier::new());
    let notify = w.notify.clone().with_email(email.clone());
    let done = handle(&notify, sns(&LeadEvent::assigned(&lead).to_json()), deadline()).await.unwrap();
    assert!(done.contains(&Delivery::Sent("email:jonas@baton.example".into())), "{done:?}");
    assert_eq!(email.posted()[0]["channel"], "jonas@baton.example");
}

#[tokio::test]
async fn a_message_that_is_not_a_lead_event_is_refused_by_id() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let err = handle(&w.notify, sns(r#"{"type":"lead.unknown"}"#), deadline()).await.unwrap_err();
    assert!(
        matches!(&err, NotifyError::Malformed { message_id, .. } if message_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"),
        "{err:?}"
    );
    assert!(w.slack.posted().is_empty());
}

#[tokio::test]
async fn a_claim_left_by_an_invocation_that_died_mid_send_is_taken_after_its_lease() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let event = LeadEvent::assigned(&lead);
    // An earlier invocation claimed the owner's message and was killed before sending.
    let key = DeliveryKey::new(&event, "slack:U0JONAS001");
    assert!(w.ledger.claim(&key, w.clock.now(), baton_notify::CLAIM_LEASE).await.unwrap());
    let early = handle(&w.notify, sns(&event.to_json()), deadline()).await.unwrap();
    assert!(early.contains(&Delivery::Duplicate("slack:U0JONAS001".into())), "a live claim is respected");
    w.clock.advance(chrono::Duration::seconds(41));
    let retry = handle(&w.notify, sns(&event.to_json()), deadline()).await.unwrap();
    assert_eq!(retry[0], Delivery::Sent("slack:U0JONAS001".into()), "the retry sends what the dead invocation did not");
    w.clock.advance(chrono::Duration::days(1));
    let later = handle(&w.notify, sns(&event.to_json()), deadline()).await.unwrap();
    assert!(later.iter().all(|d| matches!(d, Delivery::Duplicate(_))), "a sent message is never sent again: {later:?}");
    assert_eq!(w.slack.posted().iter().filter(|m| m["channel"] == "U0JONAS001").count(), 1);
}

#[tokio::test]
async fn a_permanent_failure_is_announced_once_across_lambdas_retries() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let json = LeadEvent::assigned(&lead).to_json();
    for _ in 0..3 {
        w.webhooks.fail_next(Error::Rejected { service: "webhook", detail: "crm answered HTTP 410 Gone".into() });
        assert!(handle(&w.notify, sns(&json), deadline()).await.is_err(), "the event goes on to the dead-letter queue");
    }
    assert_eq!(w.alerts.published().len(), 1, "one alert for three failed attempts");
    assert_eq!(w.slack.posted().len(), 2, "Slack was served once");
}

#[tokio::test]
async fn a_send_that_hangs_is_cut_at_the_deadline_and_left_for_the_retry() {
    let lead = assigned_lead();
    let w = world(&lead).await;
    let event = LeadEvent::assigned(&lead);
    // No time at all: nothing is claimed, so the retry can send everything.
    let err = handle(&w.notify, sns(&event.to_json()), Instant::now()).await.unwrap_err();
    assert!(matches!(&err, NotifyError::Undelivered { failed } if failed.len() == 3), "{err:?}");
    assert_eq!(handle(&w.notify, sns(&event.to_json()), deadline()).await.unwrap().len(), 3);
    assert_eq!(w.slack.posted().len(), 2);
}

/// A ledger that claims and releases like the memory one, but whose confirmations never get
/// through (the service is unavailable every time): a send is made, its record is lost.
struct LostConfirmations {
    inner: MemoryLedger,
    confirms: AtomicUsize,
}

#[async_trait::async_trait]
impl DeliveryLedger for LostConfirmations {
    async fn claim(&self, key: &DeliveryKey, now: Timestamp, lease: chrono::Duration) -> Result<bool, Error> {
        self.inner.claim(key, now, lease).await
    }

    async fn confirm(&self, _key: &DeliveryKey) -> Result<(), Error> {
        self.confirms.fetch_add(1, Ordering::SeqCst);
        Err(Error::Unavailable { service: "ledger", detail: "the confirmation was lost".into() })
    }

    async fn release(&self, key: &DeliveryKey) -> Result<(), Error> {
        self.inner.release(key).await
    }
}

#[tokio::test]
async fn a_sent_delivery_whose_confirmation_is_lost_is_not_sent_again() {
    let mut lead = assigned_lead();
    // Only the owner's message to deliver (no team channel, no subscribers), so each delivery
    // spends its short deadline on that one confirmation.
    decision_mut(&mut lead).team_channel = None;
    let store = Arc::new(MemoryLeadStore::new());
    store.seed(&lead);
    let ledger = Arc::new(LostConfirmations { inner: MemoryLedger::new(), confirms: AtomicUsize::new(0) });
    let slack = Arc::new(RecordingNotifier::new());
    let clock = Arc::new(ManualClock::new(start()));
    let notify = Notify::new(ledger.clone(), store, slack.clone(), clock.clone()).with_backoff(short_backoff());
    let event = LeadEvent::assigned(&lead);
    // The confirmation is retried until the deadline: keep it short.
    let soon = || Instant::now() + baton_notify::DEADLINE_MARGIN + Duration::from_millis(200);

    let first = notify.deliver(&event, soon()).await.unwrap();
    assert_eq!(first, sent(&["slack:U0JONAS001"]));
    assert_eq!(slack.posted().len(), 1, "the owner's message was sent");
    assert!(ledger.confirms.load(Ordering::SeqCst) >= 1, "the confirmation was tried");

    // Lambda retries the event after the claim's lease has run out.
    clock.advance(baton_notify::CLAIM_LEASE + chrono::Duration::seconds(1));
    let again = notify.deliver(&event, soon()).await.unwrap();
    assert_eq!(again, [Delivery::Duplicate("slack:U0JONAS001".into())]);
    let owner_messages = slack.posted().iter().filter(|m| m["channel"] == "U0JONAS001").count();
    assert_eq!(owner_messages, 1, "no duplicate message to the owner");

    // The ledger alone would have let it be sent again: the lease had run out.
    let key = DeliveryKey::new(&event, "slack:U0JONAS001");
    assert!(ledger.claim(&key, clock.now(), baton_notify::CLAIM_LEASE).await.unwrap(), "the lease had run out");
}
