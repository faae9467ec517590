//! The AWS adapters against the moto server: the same contracts as the in-process adapters, plus
//! what only the real wire shows (sparse index items, SNS fan-out and filter policies).
//! Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use baton_adapters::contract::{self, test_endpoint, unique_name};
use baton_adapters::dynamo::DynamoLeadStore;
use baton_adapters::sns::SnsPublisher;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{EventPublisher, LeadRepository, WorkQueue, Written, provision};
use baton_domain::{LeadEvent, LeadId, LeadSubmission, Ruleset, decide};

async fn sdk() -> aws_config::SdkConfig {
    provision::sdk_config(Some(&test_endpoint())).await
}

async fn store() -> (DynamoLeadStore, aws_sdk_dynamodb::Client, String) {
    let client = aws_sdk_dynamodb::Client::new(&sdk().await);
    let table = unique_name("leads");
    provision::ensure_table(&client, &table).await.expect("create table");
    provision::ensure_table(&client, &table).await.expect("creating an existing table is success");
    (DynamoLeadStore::new(client.clone(), &table), client, table)
}

#[tokio::test]
async fn the_dynamodb_store_keeps_the_lead_store_contract() {
    let (store, client, table) = store().await;
    contract::lead_store(&store, &baton_adapters::dynamo::DynamoCounters::new(client, table)).await;
}

#[tokio::test]
async fn the_dynamodb_store_keeps_the_open_cap_contract() {
    let (store, client, table) = store().await;
    contract::open_caps(&store, &baton_adapters::dynamo::DynamoCounters::new(client, table)).await;
}

#[tokio::test]
async fn the_dynamodb_ledger_keeps_the_delivery_contract() {
    let (_, client, table) = store().await;
    contract::ledger(&baton_adapters::dynamo::DynamoLedger::new(client, table)).await;
}

#[tokio::test]
async fn the_sns_publisher_keeps_the_publisher_contract() {
    let config = sdk().await;
    let topic = provision::ensure_topic(&aws_sdk_sns::Client::new(&config), &unique_name("events")).await.unwrap();
    contract::publisher(&SnsPublisher::new(aws_sdk_sns::Client::new(&config), topic)).await;
}

#[tokio::test]
async fn the_dynamodb_store_keeps_the_capture_contract() {
    let (store, _, _) = store().await;
    contract::capture(&store).await;
}

#[tokio::test]
async fn the_dynamodb_accounts_keep_the_account_contract() {
    let (_, client, table) = store().await;
    contract::accounts(&baton_adapters::dynamo::DynamoAccounts::new(client, table)).await;
}

#[tokio::test]
async fn the_dynamodb_counters_keep_the_counter_contract() {
    let (_, client, table) = store().await;
    contract::counters(&baton_adapters::dynamo::DynamoCounters::new(client, table)).await;
}

#[tokio::test]
async fn the_dynamodb_rulesets_keep_the_ruleset_contract() {
    let (_, client, table) = store().await;
    contract::rulesets(&baton_adapters::dynamo::DynamoRulesets::new(client, table)).await;
}

#[tokio::test]
async fn only_waiting_leads_carry_the_sparse_index_attributes() {
    let (store, client, table) = store().await;
    let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
        .into_lead(LeadId::generate(), chrono::Utc::now())
        .unwrap();
    store.capture(&lead, None).await.unwrap();
    let raw = |id: LeadId| {
        let client = client.clone();
        let table = table.clone();
        async move {
            client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(format!("lead#{id}")))
                .send()
                .await
                .unwrap()
                .item
                .unwrap()
        }
    };
    assert_eq!(raw(lead.id.clone()).await["wait_kind"].as_s().unwrap(), "routing");
    let decision = decide(&lead, &Ruleset::default_ruleset(), chrono::Utc::now());
    let step = |t: baton_domain::Transition| {
        let store = store.clone();
        let id = lead.id.clone();
        async move {
            let current = store.read(&id).await.unwrap().unwrap();
            assert_eq!(store.update(&current, &t.lead, &t.effects).await.unwrap(), Written::Applied);
            store.read(&id).await.unwrap().unwrap().lead
        }
    };
    let assigned = step(lead.assign(decision).unwrap()).await;
    assert_eq!(raw(lead.id.clone()).await["wait_kind"].as_s().unwrap(), "first_touch");
    let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, chrono::Utc::now(), "U1", "api");
    let touched = step(assigned.touch(touch).unwrap()).await;
    assert_eq!(raw(lead.id.clone()).await["wait_kind"].as_s().unwrap(), "announce", "the touch waits to be announced");
    step(touched.announced(&touched.outbox[0])).await;
    let item = raw(lead.id.clone()).await;
    assert!(
        !item.contains_key("wait_kind") && !item.contains_key("wait_due_at"),
        "a touched lead left the index: {item:?}"
    );
    assert_eq!(item["status"].as_s().unwrap(), "touched");
}

#[tokio::test]
async fn the_sqs_queue_keeps_the_work_queue_contract() {
    let client = aws_sdk_sqs::Client::new(&sdk().await);
    let name = unique_name("route");
    let queue =
        provision::ensure_queue(&client, &name, &[(QueueAttributeName::VisibilityTimeout, "1".into())]).await.unwrap();
    contract::work_queue(&SqsQueue::new(client, queue.url), Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_work_queue_is_created_with_its_dead_letter_queue() {
    let client = aws_sdk_sqs::Client::new(&sdk().await);
    let (queue, dlq) = provision::ensure_queue_with_dlq(&client, &unique_name("route"), 30, 5).await.unwrap();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&queue.url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(policy["deadLetterTargetArn"], dlq.arn);
    assert_eq!(policy["maxReceiveCount"].to_string().trim_matches('"'), "5");
}

#[tokio::test]
async fn a_published_event_reaches_subscribed_queues_with_its_type_for_filters() {
    let config = sdk().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic = provision::ensure_topic(&sns, &unique_name("events")).await.unwrap();
    let everything = provision::ensure_queue(&sqs, &unique_name("all"), &[]).await.unwrap();
    provision::subscribe_queue(&sns, &topic, &everything.arn).await.unwrap();
    let escalations = provision::ensure_queue(&sqs, &unique_name("esc"), &[]).await.unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&escalations.arn)
        .attributes("FilterPolicy", r#"{"event_type":["lead.escalated"]}"#)
        .send()
        .await
        .unwrap();

    let lead = LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
        .into_lead(LeadId::generate(), chrono::Utc::now())
        .unwrap();
    let decision = decide(&lead, &Ruleset::default_ruleset(), chrono::Utc::now());
    let event = LeadEvent::assigned(&lead.assign(decision).unwrap().lead);
    SnsPublisher::new(sns, &topic).publish(&event).await.unwrap();

    let all = SqsQueue::new(sqs.clone(), &everything.url);
    let mut got = Vec::new();
    for _ in 0..5 {
        got = all.receive(10, Duration::from_secs(1)).await.unwrap();
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1, "the subscribed queue gets the event once");
    let envelope: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(LeadEvent::from_json(envelope["Message"].as_str().unwrap()).unwrap(), event);
    assert_eq!(envelope["MessageAttributes"]["event_type"]["Value"], "lead.assigned");

    let filtered = SqsQueue::new(sqs, &escalations.url).receive(10, Duration::from_secs(1)).await.unwrap();
    assert!(filtered.is_empty(), "a filter policy on event_type kept lead.assigned out: {filtered:?}");
}

#[tokio::test]
async fn an_unreadable_item_in_the_index_is_passed_over_not_fatal() {
    let (store, client, table) = store().await;
    let lead = LeadSubmission { email: Some("ok@corp.example".into()), ..Default::default() }
        .into_lead(LeadId::generate(), chrono::Utc::now() - chrono::Duration::hours(1))
        .unwrap();
    store.capture(&lead, None).await.unwrap();
    // An item in the routing wait that is not a lead (hand-edited, or a shape this release cannot read).
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("lead#broken".into()))
        .item("wait_kind", AttributeValue::S("routing".into()))
        .item("wait_due_at", AttributeValue::S("2000-01-01T00:00:00.000Z".into()))
        .send()
        .await
        .unwrap();
    let overdue = store.overdue(baton_domain::WaitKind::Routing, chrono::Utc::now(), 10).await.unwrap();
    assert_eq!(overdue.iter().map(|l| &l.id).collect::<Vec<_>>(), [&lead.id], "the readable lead is still found");
}
