//! End to end through the local runner on moto: HTTP → capture → DynamoDB + SQS → route → SNS →
//! notify → a real HTTP post to a local Slack receiver; and the SLA sweep on the sparse index.
//! Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use std::time::Duration;

use baton_adapters::contract::{test_endpoint, unique_name};
use baton_domain::{LeadId, LeadStatus, LeadSubmission, RouteRequest, RoutingTable, decide};
use baton_e2e::{SlackReceiver, eventually};
use baton_local::{Backend, Options, Running, start};

const WAIT: Duration = Duration::from_secs(30);

async fn system(slack: &SlackReceiver, sweep_every: Duration) -> Running {
    baton_e2e::init_logs();
    start(Options {
        backend: Backend::Aws {
            endpoint: Some(test_endpoint()),
        },
        listen: "127.0.0.1:0".parse().unwrap(),
        slack_webhook_url: Some(slack.url.clone()),
        prefix: unique_name("e2e"),
        sweep_every,
        visibility_timeout: Duration::from_secs(2),
    })
    .await
    .expect("the local runner starts on moto")
}

async fn submit(http: &reqwest::Client, url: &str, body: serde_json::Value) -> reqwest::Response {
    http.post(format!("{url}/leads"))
        .json(&body)
        .send()
        .await
        .expect("capture answers")
}

#[tokio::test]
async fn submitted_leads_are_stored_owned_and_announced_once_each() {
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(60)).await;
    let http = reqwest::Client::new();

    let countries = ["US", "DE", "JP", "GB", "CA", "BR"];
    let mut ids = Vec::new();
    for (i, country) in countries.iter().enumerate() {
        let response = submit(
            &http,
            &running.url,
            serde_json::json!({
                "email": format!("buyer{i}@customer{i}.example"),
                "first_name": format!("Buyer{i}"),
                "country": country,
                "source": { "form_type": if i % 2 == 0 { "demo_request" } else { "content_download" } },
            }),
        )
        .await;
        assert_eq!(response.status(), 202);
        let body: serde_json::Value = response.json().await.unwrap();
        ids.push(LeadId::parse(body["lead_id"].as_str().unwrap()).unwrap());
    }

    let invalid = submit(
        &http,
        &running.url,
        serde_json::json!({ "first_name": "No contact" }),
    )
    .await;
    assert_eq!(invalid.status(), 400);

    eventually("one Slack message per lead", WAIT, || async {
        (slack.messages().len() >= ids.len()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await; // room for any duplicate to arrive
    assert_eq!(
        slack.messages().len(),
        ids.len(),
        "exactly one message per lead"
    );
    for id in &ids {
        let lead = running
            .store
            .get(id)
            .await
            .unwrap()
            .expect("stored in DynamoDB");
        assert_eq!(lead.status, LeadStatus::Assigned);
        let decision = lead.decision.expect("owned");
        assert!(!decision.owner.id.is_empty());
        assert_eq!(
            slack.mentioning(id.as_str()).len(),
            1,
            "lead {id} was announced once"
        );
        let text = slack.mentioning(id.as_str())[0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            text.contains(&decision.owner.name),
            "the message names the owner: {text}"
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn the_same_route_message_twice_assigns_once_and_notifies_once() {
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(60)).await;

    let lead = LeadSubmission {
        email: Some("twice@corp.example".into()),
        country: Some("DE".into()),
        ..Default::default()
    }
    .into_lead(LeadId::generate(), chrono::Utc::now())
    .unwrap();
    running.store.insert(&lead).await.unwrap();
    let message = serde_json::to_string(&RouteRequest {
        lead_id: lead.id.clone(),
    })
    .unwrap();
    running.queue.send(&message).await.unwrap();
    running.queue.send(&message).await.unwrap();

    let first = eventually("the lead to be assigned", WAIT, || async {
        running
            .store
            .get(&lead.id)
            .await
            .unwrap()
            .filter(|l| l.status == LeadStatus::Assigned)
    })
    .await;
    eventually("the Slack message", WAIT, || async {
        (!slack.mentioning(lead.id.as_str()).is_empty()).then_some(())
    })
    .await;
    // Both messages are handled well within this (visibility timeout 2 s, route in milliseconds).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        slack.mentioning(lead.id.as_str()).len(),
        1,
        "one Slack message for two deliveries"
    );
    assert_eq!(
        running.store.get(&lead.id).await.unwrap().unwrap(),
        first,
        "the second delivery did not reassign"
    );
    running.stop().await;
}

#[tokio::test]
async fn the_sweep_routes_a_lead_that_missed_its_queue_and_escalates_a_missed_first_touch() {
    let slack = SlackReceiver::start().await;
    let running = system(&slack, Duration::from_secs(1)).await;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(2);

    // Stored but never queued (as when SQS was down at capture).
    let stranded = LeadSubmission {
        email: Some("stranded@corp.example".into()),
        country: Some("US".into()),
        ..Default::default()
    }
    .into_lead(LeadId::generate(), long_ago)
    .unwrap();
    running.store.insert(&stranded).await.unwrap();

    // Assigned two days ago and never touched.
    let ignored = LeadSubmission {
        email: Some("ignored@corp.example".into()),
        country: Some("GB".into()),
        ..Default::default()
    }
    .into_lead(LeadId::generate(), long_ago)
    .unwrap();
    running.store.insert(&ignored).await.unwrap();
    running
        .store
        .record_decision(
            &ignored.id,
            &decide(&ignored, &RoutingTable::starter(), long_ago),
        )
        .await
        .unwrap();

    eventually("the stranded lead to be routed", WAIT, || async {
        running
            .store
            .get(&stranded.id)
            .await
            .unwrap()
            .filter(|l| l.status == LeadStatus::Assigned)
    })
    .await;
    eventually("its Slack message", WAIT, || async {
        (!slack.mentioning(stranded.id.as_str()).is_empty()).then_some(())
    })
    .await;

    let escalated = eventually("the ignored lead to be escalated", WAIT, || async {
        running
            .store
            .get(&ignored.id)
            .await
            .unwrap()
            .filter(|l| l.status == LeadStatus::Escalated)
    })
    .await;
    assert!(escalated.escalated_at.is_some());
    let breach = eventually("the SLA breach message", WAIT, || async {
        slack.mentioning(ignored.id.as_str()).into_iter().find(|m| {
            m["text"]
                .as_str()
                .unwrap_or_default()
                .contains("SLA breach")
        })
    })
    .await;
    assert!(
        breach["text"].as_str().unwrap().contains("Jonas Weber"),
        "{breach}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await; // two more sweeps
    assert_eq!(
        slack.mentioning(ignored.id.as_str()).len(),
        1,
        "escalated once, across sweeps"
    );
    running.stop().await;
}
