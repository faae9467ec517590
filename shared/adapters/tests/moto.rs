//! The AWS adapters against the moto server: the same contracts as the in-process adapters, plus
//! what only the real wire shows (sparse index items, SNS fan-out and filter policies).
//! Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use baton_adapters::contract::{self, test_endpoint, unique_name};
use baton_adapters::dynamo::{self, DynamoLeadStore};
use baton_adapters::sns::SnsPublisher;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{EventPublisher, LeadRepository, WorkQueue, Written, provision};
use baton_domain::{Lead, LeadEvent, LeadId, LeadSubmission, Ruleset, WaitKind, decide};

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
async fn the_dynamodb_store_moves_the_open_slot_in_a_reassignments_one_write() {
    let (store, client, table) = store().await;
    contract::open_slot_moves(&store, &baton_adapters::dynamo::DynamoCounters::new(client, table)).await;
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
async fn the_dynamodb_counters_keep_the_rate_limit_contract() {
    let (_, client, table) = store().await;
    contract::rate_limits(&baton_adapters::dynamo::DynamoCounters::new(client, table)).await;
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
    let shard = format!("{:02}", dynamo::due_shard(&lead.id));
    let index_key = |item: &std::collections::HashMap<String, AttributeValue>| {
        assert!(!item.contains_key("wait_kind"), "the legacy index key is written no more: {item:?}");
        item["due_shard"].as_s().unwrap().clone()
    };
    assert_eq!(index_key(&raw(lead.id.clone()).await), format!("routing#{shard}"));
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
    assert_eq!(index_key(&raw(lead.id.clone()).await), format!("first_touch#{shard}"));
    let touch = baton_domain::Touch::new(baton_domain::TouchKind::Called, chrono::Utc::now(), "U1", "api");
    let touched = step(assigned.touch(touch).unwrap()).await;
    assert_eq!(index_key(&raw(lead.id.clone()).await), format!("announce#{shard}"), "the touch waits to be announced");
    step(touched.announced(&touched.outbox[0])).await;
    let item = raw(lead.id.clone()).await;
    assert!(
        !item.contains_key("due_shard") && !item.contains_key("wait_kind") && !item.contains_key("wait_due_at"),
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
    // Items in the routing wait that are not leads (hand-edited, or a shape this release cannot
    // read), in each index: the sharded one, and the legacy one of items written before it.
    for (pk, key, value) in [("lead#broken", "due_shard", "routing#03"), ("lead#broken-legacy", "wait_kind", "routing")]
    {
        client
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S(pk.into()))
            .item(key, AttributeValue::S(value.into()))
            .item("wait_due_at", AttributeValue::S("2000-01-01T00:00:00.000Z".into()))
            .send()
            .await
            .unwrap();
    }
    let overdue = store.overdue(baton_domain::WaitKind::Routing, chrono::Utc::now(), 10).await.unwrap();
    assert_eq!(overdue.iter().map(|l| &l.id).collect::<Vec<_>>(), [&lead.id], "the readable lead is still found");
}

fn waiting_lead(captured_at: chrono::DateTime<chrono::Utc>) -> Lead {
    LeadSubmission { email: Some(format!("{}@corp.example", &LeadId::generate().as_str()[..8])), ..Default::default() }
        .into_lead(LeadId::generate(), captured_at)
        .unwrap()
}

/// Writes `lead` as the previous release stored it: `wait_kind` (the legacy index's key), no
/// `due_shard`.
async fn put_legacy(client: &aws_sdk_dynamodb::Client, table: &str, lead: &Lead) {
    let mut item = dynamo::lead_item(lead, 0).unwrap();
    item.remove("due_shard").expect("a waiting lead has a shard");
    let kind = lead.awaiting().expect("a waiting lead").kind.as_str();
    item.insert("wait_kind".into(), AttributeValue::S(kind.into()));
    client.put_item().table_name(table).set_item(Some(item)).send().await.unwrap();
}

#[tokio::test]
async fn a_lead_written_before_sharding_is_found_through_the_legacy_index_and_once_after_its_next_write() {
    let (store, client, table) = store().await;
    let now = chrono::Utc::now();
    let legacy = waiting_lead(now - chrono::Duration::hours(2));
    let sharded = waiting_lead(now - chrono::Duration::hours(1));
    put_legacy(&client, &table, &legacy).await;
    store.capture(&sharded, None).await.unwrap();

    let due = store.overdue(WaitKind::Routing, now, 10).await.unwrap();
    assert_eq!(due.iter().map(|l| &l.id).collect::<Vec<_>>(), [&legacy.id, &sharded.id], "both, earliest first");

    // Its next write (here the same lead, one revision on) moves it to the sharded index.
    let current = store.read(&legacy.id).await.unwrap().unwrap();
    assert_eq!(store.update(&current, &current.lead, &[]).await.unwrap(), Written::Applied);
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("lead#{}", legacy.id)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!item.contains_key("wait_kind") && item.contains_key("due_shard"), "rewritten in the new shape: {item:?}");
    let due = store.overdue(WaitKind::Routing, now, 10).await.unwrap();
    assert_eq!(due.iter().map(|l| &l.id).collect::<Vec<_>>(), [&legacy.id, &sharded.id], "each found once");
}

#[tokio::test]
async fn a_table_without_the_legacy_index_has_no_legacy_leads_and_is_not_asked_again() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
        ScalarAttributeType,
    };
    let config = sdk().await;
    let tally = provision::RequestTally::new();
    let client = provision::aws_clients(&config, Some(&tally)).dynamodb;
    let table = unique_name("sharded");
    let string = |name: &str| {
        AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().unwrap()
    };
    let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build().unwrap();
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string("pk"))
        .attribute_definitions(string("due_shard"))
        .attribute_definitions(string("wait_due_at"))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(dynamo::DUE_INDEX)
                .key_schema(key("due_shard", KeyType::Hash))
                .key_schema(key("wait_due_at", KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let store = DynamoLeadStore::new(client, &table);
    let now = chrono::Utc::now();
    let lead = waiting_lead(now - chrono::Duration::hours(1));
    store.capture(&lead, None).await.unwrap();

    tally.reset();
    let due = store.overdue(WaitKind::Routing, now, 10).await.unwrap();
    assert_eq!(due.iter().map(|l| &l.id).collect::<Vec<_>>(), [&lead.id]);
    let shards = u64::from(dynamo::DUE_SHARDS);
    assert_eq!(tally.counts()["DynamoDB.Query"], shards + 1, "every shard, and the legacy index once");
    tally.reset();
    assert_eq!(store.overdue(WaitKind::Routing, now, 10).await.unwrap().len(), 1);
    assert_eq!(tally.counts()["DynamoDB.Query"], shards, "the missing legacy index is remembered");
}

#[tokio::test]
async fn overdue_leads_across_shards_and_indexes_come_earliest_first_up_to_the_limit() {
    let (store, client, table) = store().await;
    let now = chrono::Utc::now();
    // 60 due leads a minute apart (every fifth in the legacy shape), over all 16 shards.
    let leads: Vec<Lead> = (0..60).map(|i| waiting_lead(now - chrono::Duration::minutes(200 - i))).collect();
    for (i, lead) in leads.iter().enumerate() {
        if i % 5 == 0 {
            put_legacy(&client, &table, lead).await;
        } else {
            let item = dynamo::lead_item(lead, 0).unwrap();
            client.put_item().table_name(&table).set_item(Some(item)).send().await.unwrap();
        }
    }
    for limit in [1, 7, 25, 59, 60, 100] {
        let due = store.overdue(WaitKind::Routing, now, limit).await.unwrap();
        let expected: Vec<&LeadId> = leads.iter().take(limit).map(|l| &l.id).collect();
        assert_eq!(due.iter().map(|l| &l.id).collect::<Vec<_>>(), expected, "limit {limit}");
    }
}

#[tokio::test]
async fn the_dynamodb_metrics_keep_the_metrics_contract() {
    let (_, client, table) = store().await;
    contract::metrics(&baton_adapters::dynamo_metrics::DynamoMetrics::new(client, table)).await;
}

#[tokio::test]
async fn a_table_made_before_the_metrics_index_gets_it() {
    let client = aws_sdk_dynamodb::Client::new(&sdk().await);
    let table = unique_name("old-leads");
    client
        .create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("an old table");
    provision::ensure_table(&client, &table).await.expect("the index is added");
    let described = client.describe_table().table_name(&table).send().await.unwrap();
    let indexes: Vec<&str> =
        described.table().unwrap().global_secondary_indexes().iter().filter_map(|i| i.index_name()).collect();
    assert!(indexes.contains(&baton_adapters::dynamo_metrics::GROUP_INDEX), "{indexes:?}");
    provision::ensure_table(&client, &table).await.expect("and not added twice");
}
