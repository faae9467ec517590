//! Operating a deployed (or moto) stack: importing accounts into the leads table, and sending
//! notify's dead-lettered events back to the topic once their cause is fixed.

use std::time::Duration;

use baton_adapters::dynamo::DynamoAccounts;
use baton_adapters::sns::SnsPublisher;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{AccountDirectory, EventPublisher, WorkQueue, provision};
use baton_domain::LeadEvent;

/// Parses an account import (JSON when `json`, CSV otherwise), naming every bad row. Nothing is
/// written when any row is bad.
pub fn parse_accounts(text: &str, json: bool) -> Result<Vec<baton_domain::Account>, String> {
    let parsed = if json { baton_domain::account::parse_json(text) } else { baton_domain::account::parse_csv(text) };
    parsed.map_err(|errors| errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("\n"))
}

/// Imports accounts (parsed as [`parse_accounts`] does) into the leads `table` on AWS (or
/// moto/LocalStack at `endpoint`); returns how many.
pub async fn import_accounts(text: &str, json: bool, endpoint: Option<&str>, table: &str) -> Result<usize, String> {
    put_accounts(&parse_accounts(text, json)?, endpoint, table).await
}

/// Writes `accounts` into the leads `table` on AWS (or moto/LocalStack at `endpoint`).
pub async fn put_accounts(
    accounts: &[baton_domain::Account],
    endpoint: Option<&str>,
    table: &str,
) -> Result<usize, String> {
    let sdk = provision::sdk_config(endpoint).await;
    let directory = DynamoAccounts::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    directory.put_accounts(accounts).await.map_err(|e| {
        format!("writing stopped, possibly after some accounts were written (importing again is safe: accounts are replaced by account id): {e}")
    })?;
    Ok(accounts.len())
}

/// The lead events in a dead-letter message: Lambda's failed asynchronous invocation (the SNS
/// event, `{"Records": [{"Sns": {"Message": …}}]}`), an SNS delivery envelope (`{"Message": …}`),
/// or the bare event. Errors say what the body is not.
pub fn dead_letter_events(body: &str) -> Result<Vec<LeadEvent>, String> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let messages: Vec<&str> = if let Some(records) = value["Records"].as_array() {
        records.iter().filter_map(|r| r["Sns"]["Message"].as_str()).collect()
    } else if let Some(message) = value["Message"].as_str() {
        vec![message]
    } else {
        vec![body]
    };
    if messages.is_empty() {
        return Err("no SNS message in the records".into());
    }
    messages.into_iter().map(|m| LeadEvent::from_json(m).map_err(|e| format!("not a lead event: {e}"))).collect()
}

/// Moves every message of the notify dead-letter queue back to the topic, once its cause is
/// fixed: each event is published again (notify skips the channels already served) and the
/// message deleted. Messages that are not lead events are left in the queue and reported.
/// Returns (events republished, messages left).
pub async fn redrive_notify(
    endpoint: Option<&str>,
    queue_url: &str,
    topic_arn: &str,
) -> Result<(usize, usize), String> {
    let sdk = provision::sdk_config(endpoint).await;
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url);
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), topic_arn);
    let (mut republished, mut left) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    loop {
        let messages = queue.receive(10, Duration::from_secs(1)).await.map_err(|e| e.to_string())?;
        if messages.is_empty() {
            break;
        }
        for message in messages {
            if !seen.insert(message.message_id.clone()) {
                // A message left in the queue came round again: everything has been seen.
                return Ok((republished, left));
            }
            match dead_letter_events(&message.body) {
                Ok(events) => {
                    for event in &events {
                        publisher.publish(event).await.map_err(|e| e.to_string())?;
                    }
                    republished += events.len();
                    queue.delete(&message.receipt).await.map_err(|e| e.to_string())?;
                }
                Err(reason) => {
                    eprintln!("left message {} in the queue: {reason}", message.message_id);
                    left += 1;
                }
            }
        }
    }
    Ok((republished, left))
}
