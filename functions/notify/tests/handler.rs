//! The notify handler, driven by a real SNS event.

use std::sync::Arc;

use aws_lambda_events::sns::SnsEvent;
use baton_adapters::Error;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, RecordingNotifier};
use baton_domain::{Lead, LeadEvent, LeadId, LeadSubmission, Ruleset, decide};
use baton_notify::{Delivery, Notify, NotifyError};
use chrono::TimeZone;

const SNS: &str = include_str!("fixtures/sns-event.json");

fn sns(message: &str) -> SnsEvent {
    let mut v: serde_json::Value = serde_json::from_str(SNS).unwrap();
    v["Records"][0]["Sns"]["Message"] = message.into();
    serde_json::from_value(v).expect("a valid SNS event")
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
    lead.assigned(decision)
}

struct World {
    slack: Arc<RecordingNotifier>,
    notify: Notify,
}

fn world() -> World {
    let slack = Arc::new(RecordingNotifier::new());
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    World { notify: Notify::new(Arc::new(MemoryLeadStore::new()), slack.clone(), clock), slack }
}

#[tokio::test]
async fn an_assignment_reaches_slack_with_context_reasons_and_first_action() {
    let w = world();
    let event = LeadEvent::Assigned { lead: assigned_lead() };
    assert_eq!(w.notify.handle(sns(&event.to_json())).await.unwrap(), [Delivery::Sent]);

    let posted = w.slack.posted();
    assert_eq!(posted.len(), 1);
    let text = posted[0].to_string();
    assert!(
        posted[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("🔥 Hot lead for Jonas Weber: Ada Lovelace — Call by 2026-11-24 09:15 UTC"),
        "{}",
        posted[0]["text"]
    );
    for expected in [
        "Assigned to *Jonas Weber*",
        "+40 asked for a demo",
        "*First action:* Call Ada Lovelace",
        "Analytical &lt;Engines&gt;",
        "launch",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
}

#[tokio::test]
async fn the_same_event_delivered_three_times_sends_one_message() {
    let w = world();
    let json = LeadEvent::Assigned { lead: assigned_lead() }.to_json();
    let mut results = Vec::new();
    for _ in 0..3 {
        results.extend(w.notify.handle(sns(&json)).await.unwrap());
    }
    assert_eq!(results, [Delivery::Sent, Delivery::Duplicate, Delivery::Duplicate]);
    assert_eq!(w.slack.posted().len(), 1);
}

#[tokio::test]
async fn a_failed_send_is_an_error_and_the_retry_sends() {
    let w = world();
    let json = LeadEvent::Assigned { lead: assigned_lead() }.to_json();
    w.slack.fail_next(Error::Unavailable { service: "Slack", detail: "HTTP 503".into() });
    let err = w.notify.handle(sns(&json)).await.unwrap_err();
    assert!(matches!(&err, NotifyError::Adapter { source, .. } if source.is_retryable()), "{err:?}");
    assert!(w.slack.posted().is_empty());
    assert_eq!(w.notify.handle(sns(&json)).await.unwrap(), [Delivery::Sent], "the claim was released for the retry");
    assert_eq!(w.slack.posted().len(), 1);
}

#[tokio::test]
async fn an_escalation_is_a_separate_message_about_the_breach() {
    let w = world();
    let lead = assigned_lead();
    w.notify.handle(sns(&LeadEvent::Assigned { lead: lead.clone() }.to_json())).await.unwrap();
    let escalated = lead.escalated(chrono::Utc::now());
    assert_eq!(
        w.notify.handle(sns(&LeadEvent::Escalated { lead: escalated }.to_json())).await.unwrap(),
        [Delivery::Sent]
    );
    let posted = w.slack.posted();
    assert_eq!(posted.len(), 2);
    assert_eq!(posted[1]["text"], "⏰ SLA breach: Ada Lovelace has not been touched by Jonas Weber");
}

#[tokio::test]
async fn a_message_that_is_not_a_lead_event_is_refused_by_id() {
    let w = world();
    let err = w.notify.handle(sns(r#"{"type":"lead.unknown"}"#)).await.unwrap_err();
    assert!(
        matches!(&err, NotifyError::Malformed { message_id, .. } if message_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"),
        "{err:?}"
    );
    assert!(w.slack.posted().is_empty());
}

#[tokio::test]
async fn a_nurture_event_tells_no_rep() {
    let w = world();
    let event = LeadEvent::Nurture { lead: assigned_lead() };
    assert_eq!(w.notify.handle(sns(&event.to_json())).await.unwrap(), [Delivery::NotForChat]);
    assert!(w.slack.posted().is_empty());
}
