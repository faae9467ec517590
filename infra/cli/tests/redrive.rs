//! Redriving notify's dead-letter queue on moto: every lead event goes back to the topic, in
//! whichever shape it was dead-lettered, and what is not a lead event stays. Needs
//! `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use std::time::Duration;

use baton_adapters::contract::{test_endpoint, unique_name};
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{WorkQueue, provision};
use baton_domain::{LeadEvent, LeadId, LeadSubmission};

fn event(email: &str) -> LeadEvent {
    let lead = LeadSubmission { email: Some(email.into()), ..Default::default() }
        .into_lead(LeadId::generate(), chrono::Utc::now())
        .unwrap();
    LeadEvent::announcing(&lead, &baton_domain::Announcement::Nurture)
}

#[test]
fn every_dead_letter_shape_gives_its_events_and_others_are_explained() {
    let e = event("a@corp.example");
    let lambda = serde_json::json!({ "Records": [ { "Sns": { "Message": e.to_json() } } ] }).to_string();
    let envelope = serde_json::json!({ "Type": "Notification", "Message": e.to_json() }).to_string();
    for body in [lambda.as_str(), envelope.as_str(), &e.to_json()] {
        assert_eq!(baton_cli::ops::dead_letter_events(body).unwrap(), std::slice::from_ref(&e), "{body}");
    }
    assert!(baton_cli::ops::dead_letter_events("{\"Records\":[]}").unwrap_err().contains("no SNS message"));
    assert!(baton_cli::ops::dead_letter_events("not json").unwrap_err().starts_with("not JSON"));
    assert!(baton_cli::ops::dead_letter_events("{\"type\":\"x\"}").unwrap_err().starts_with("not a lead event"));
}

#[tokio::test]
async fn the_dead_letter_queue_is_sent_back_to_the_topic() {
    let endpoint = test_endpoint();
    let sdk = provision::sdk_config(Some(&endpoint)).await;
    let (sqs, sns) = (aws_sdk_sqs::Client::new(&sdk), aws_sdk_sns::Client::new(&sdk));
    let visibility = [(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout, "2".to_owned())];
    let dlq = provision::ensure_queue(&sqs, &unique_name("dlq"), &visibility).await.unwrap();
    let topic = provision::ensure_topic(&sns, &unique_name("events")).await.unwrap();
    let listener = provision::ensure_queue(&sqs, &unique_name("listener"), &visibility).await.unwrap();
    provision::subscribe_queue(&sns, &topic, &listener.arn).await.unwrap();

    let (a, b) = (event("a@corp.example"), event("b@corp.example"));
    let dead = SqsQueue::new(sqs.clone(), dlq.url.clone());
    dead.send(&serde_json::json!({ "Records": [ { "Sns": { "Message": a.to_json() } } ] }).to_string()).await.unwrap();
    dead.send(&serde_json::json!({ "Type": "Notification", "Message": b.to_json() }).to_string()).await.unwrap();
    dead.send("something else").await.unwrap();

    let (republished, left) = baton_cli::ops::redrive_notify(Some(&endpoint), &dlq.url, &topic).await.unwrap();
    assert_eq!((republished, left), (2, 1));

    let heard = SqsQueue::new(sqs, listener.url);
    let mut got = Vec::new();
    for _ in 0..10 {
        for m in heard.receive(10, Duration::from_secs(1)).await.unwrap() {
            got.extend(baton_cli::ops::dead_letter_events(&m.body).unwrap());
            heard.delete(&m.receipt).await.unwrap();
        }
        if got.len() >= 2 {
            break;
        }
    }
    got.sort_by_key(|e| e.lead().email.as_ref().map(|m| m.as_str().to_owned()));
    assert_eq!(got, [a, b], "both events are back on the topic");
    tokio::time::sleep(Duration::from_secs(3)).await; // past the visibility timeout
    let remaining = dead.receive(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(remaining.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["something else"]);
}
