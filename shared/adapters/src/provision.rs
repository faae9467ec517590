//! AWS SDK configuration and idempotent creation of Baton's resources, for the local runner
//! and tests (in AWS, `template.yaml` creates them). Creating something that exists is success.
//! [`RequestTally`] counts the AWS requests clients make, by service and operation, and the
//! items DynamoDB queries and scans read.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::ConfigBag;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use crate::Error;
use crate::dynamo::{DUE_INDEX, WAIT_INDEX};
use crate::dynamo_metrics::GROUP_INDEX;

/// Loads the SDK configuration from the environment, pointed at `endpoint` when given
/// (moto, LocalStack); otherwise at real AWS by the usual variables.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Counts the AWS requests made through the clients it is registered on, by
/// `"{service}.{operation}"` (`"DynamoDB.GetItem"`): every HTTP request sent counts, retries
/// included. An SQS `ReceiveMessage` that returned no messages (an idle poll) counts as
/// [`RequestTally::IDLE_RECEIVE`] instead, so per-item work and polling can be told apart.
/// Apart from the requests it sums the `ScannedCount` of every DynamoDB `Query` and `Scan`
/// answered: the items DynamoDB read for them, which is what they cost ([`RequestTally::scanned`]).
/// Clones share their counts. Register it with [`aws_clients`] (an [`SdkConfig`] carries no
/// interceptors; each client's configuration does).
#[derive(Debug, Clone, Default)]
pub struct RequestTally {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    scanned: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestTally {
    /// The key idle polls are counted under: `SQS.ReceiveMessage` calls that returned no message.
    pub const IDLE_RECEIVE: &'static str = "SQS.ReceiveMessage (empty)";

    pub fn new() -> Self {
        Self::default()
    }

    /// Requests so far, by `"{service}.{operation}"`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// All requests so far.
    pub fn total(&self) -> u64 {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).values().sum()
    }

    /// Items read so far by `"DynamoDB.Query"` and `"DynamoDB.Scan"`: the sum of the answers'
    /// `ScannedCount` (items evaluated before any filter, as DynamoDB bills them).
    pub fn scanned(&self) -> BTreeMap<String, u64> {
        self.scanned.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Forgets every count, requests and items read (for example once start-up is done), and
    /// returns the requests it held.
    pub fn reset(&self) -> BTreeMap<String, u64> {
        self.scanned.lock().unwrap_or_else(|p| p.into_inner()).clear();
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Intercept for RequestTally {
    fn name(&self) -> &'static str {
        "RequestTally"
    }

    /// Called once per operation, when it is over (success or failure): by then the attempts
    /// made are known, and so is whether a receive got anything.
    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Stored by the orchestrator before each attempt; absent when none was sent.
        let attempts = cfg.load::<RequestAttempts>().map_or(0, |a| u64::from(a.attempts()));
        if attempts == 0 {
            return Ok(());
        }
        let (service, operation) = cfg.load::<Metadata>().map_or(("?", "?"), |m| (m.service(), m.name()));
        let idle = (service, operation) == ("SQS", "ReceiveMessage")
            && context.output_or_error().is_some_and(|result| {
                result.is_ok_and(|output| {
                    output
                        .downcast_ref::<aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput>()
                        .is_some_and(|o| o.messages().is_empty())
                })
            });
        let scanned = context.output_or_error().and_then(|result| result.ok()).and_then(|output| {
            use aws_sdk_dynamodb::operation::{query::QueryOutput, scan::ScanOutput};
            match (service, operation) {
                ("DynamoDB", "Query") => output.downcast_ref::<QueryOutput>().map(QueryOutput::scanned_count),
                ("DynamoDB", "Scan") => output.downcast_ref::<ScanOutput>().map(ScanOutput::scanned_count),
                _ => None,
            }
        });
        if let Some(n) = scanned {
            let mut items = self.scanned.lock().unwrap_or_else(|p| p.into_inner());
            *items.entry(format!("{service}.{operation}")).or_default() += u64::try_from(n).unwrap_or(0);
        }
        let key = if idle { Self::IDLE_RECEIVE.to_owned() } else { format!("{service}.{operation}") };
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default() += attempts;
        Ok(())
    }
}

/// The clients Baton's AWS adapters use.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
}

/// Builds the DynamoDB, SQS and SNS clients from `sdk`, each counting its requests in `tally`
/// when given.
pub fn aws_clients(sdk: &SdkConfig, tally: Option<&RequestTally>) -> AwsClients {
    let Some(tally) = tally else {
        return AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
        };
    };
    AwsClients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(tally.clone()).build(),
        ),
        sqs: aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(sdk).interceptor(tally.clone()).build()),
        sns: aws_sdk_sns::Client::from_conf(aws_sdk_sns::config::Builder::from(sdk).interceptor(tally.clone()).build()),
    }
}

fn definition(name: &str) -> Result<AttributeDefinition, Error> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| Error::Rejected { service: "DynamoDB", detail: e.to_string() })
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, Error> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| Error::Rejected { service: "DynamoDB", detail: e.to_string() })
}

/// A sparse global secondary index on `hash` + `range` (strings), projecting every attribute.
fn due_index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, Error> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| Error::Rejected { service: "DynamoDB", detail: e.to_string() })
}

/// Creates the leads table unless it exists, as `template.yaml` declares it: key `pk`, the sparse
/// sharded due-time index [`DUE_INDEX`] (`due_shard` + `wait_due_at`), and for this release the
/// legacy index [`WAIT_INDEX`] (`wait_kind` + `wait_due_at`), which only items written before
/// sharding are in, and the metrics' group index [`GROUP_INDEX`] (`group_key` + `group_member`),
/// added to a table that predates it. Fails when DynamoDB refuses or cannot be reached.
pub async fn ensure_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), Error> {
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk")?)
        .attribute_definitions(definition("due_shard")?)
        .attribute_definitions(definition("wait_kind")?)
        .attribute_definitions(definition("wait_due_at")?)
        .attribute_definitions(definition("group_key")?)
        .attribute_definitions(definition("group_member")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .global_secondary_indexes(due_index(DUE_INDEX, "due_shard", "wait_due_at")?)
        .global_secondary_indexes(due_index(WAIT_INDEX, "wait_kind", "wait_due_at")?)
        .global_secondary_indexes(due_index(GROUP_INDEX, "group_key", "group_member")?)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {
            add_group_index(client, table).await
        }
        Err(e) => Err(Error::unavailable("DynamoDB", DisplayErrorContext(e))),
    }
}

/// Adds [`GROUP_INDEX`] to a table made before it existed (as a stack update adds it on AWS).
async fn add_group_index(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), Error> {
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| Error::unavailable("DynamoDB", DisplayErrorContext(e)))?;
    let has = described
        .table()
        .map(|t| t.global_secondary_indexes())
        .is_some_and(|indexes| indexes.iter().any(|i| i.index_name() == Some(GROUP_INDEX)));
    if has {
        return Ok(());
    }
    let index = due_index(GROUP_INDEX, "group_key", "group_member")?;
    let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
        .index_name(GROUP_INDEX)
        .set_key_schema(Some(index.key_schema().to_vec()))
        .set_projection(index.projection().cloned())
        .build()
        .map_err(|e| Error::Rejected { service: "DynamoDB", detail: e.to_string() })?;
    client
        .update_table()
        .table_name(table)
        .attribute_definitions(definition("group_key")?)
        .attribute_definitions(definition("group_member")?)
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await
        .map_err(|e| Error::unavailable("DynamoDB", DisplayErrorContext(e)))?;
    Ok(())
}

/// A queue's URL and ARN.
#[derive(Debug, Clone)]
pub struct QueueRef {
    pub url: String,
    pub arn: String,
}

/// Creates (or finds) a queue with the given attributes and returns its URL and ARN.
pub async fn ensure_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<QueueRef, Error> {
    let mut request = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), v);
    }
    let out =
        request.send().await.map_err(|e| Error::unavailable("SQS", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    let url = out.queue_url.unwrap_or_default();
    let attrs = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| Error::unavailable("SQS", aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    let arn = attrs.attributes.and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned()).unwrap_or_default();
    Ok(QueueRef { url, arn })
}

/// Creates a work queue with a dead-letter queue that takes messages after `max_receives`
/// failed receives, as `template.yaml` declares.
pub async fn ensure_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    visibility_seconds: u32,
    max_receives: u32,
) -> Result<(QueueRef, QueueRef), Error> {
    let dlq = ensure_queue(client, &format!("{name}-dlq"), &[]).await?;
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq.arn, "maxReceiveCount": max_receives }).to_string();
    let queue = ensure_queue(
        client,
        name,
        &[
            (QueueAttributeName::VisibilityTimeout, visibility_seconds.to_string()),
            (QueueAttributeName::RedrivePolicy, redrive),
        ],
    )
    .await?;
    Ok((queue, dlq))
}

/// Creates (or finds) a topic and returns its ARN.
pub async fn ensure_topic(client: &aws_sdk_sns::Client, name: &str) -> Result<String, Error> {
    let out = client
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| Error::unavailable("SNS", aws_sdk_sns::error::DisplayErrorContext(e)))?;
    Ok(out.topic_arn.unwrap_or_default())
}

/// Subscribes a queue to a topic (SNS envelope delivery, as an SNS-triggered Lambda receives it).
pub async fn subscribe_queue(client: &aws_sdk_sns::Client, topic_arn: &str, queue_arn: &str) -> Result<(), Error> {
    client
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .map_err(|e| Error::unavailable("SNS", aws_sdk_sns::error::DisplayErrorContext(e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::WorkQueue;
    use crate::contract::{test_endpoint, unique_name};
    use crate::sqs::SqsQueue;

    #[tokio::test]
    async fn the_tally_counts_requests_by_operation_and_idle_receives_apart() {
        let sdk = sdk_config(Some(&test_endpoint())).await;
        let tally = RequestTally::new();
        let counted = aws_clients(&sdk, Some(&tally));
        let uncounted = aws_clients(&sdk, None);
        let queue = ensure_queue(&uncounted.sqs, &unique_name("tally"), &[]).await.unwrap();
        assert_eq!(tally.total(), 0, "clients built without the tally are not counted");

        let queue = SqsQueue::new(counted.sqs, queue.url);
        assert!(queue.receive(10, Duration::ZERO).await.unwrap().is_empty());
        queue.send("one").await.unwrap();
        let received = queue.receive(10, Duration::from_secs(1)).await.unwrap();
        assert_eq!(received.len(), 1);
        queue.delete(&received[0].receipt).await.unwrap();

        let expected = BTreeMap::from([
            (RequestTally::IDLE_RECEIVE.to_owned(), 1),
            ("SQS.DeleteMessage".to_owned(), 1),
            ("SQS.ReceiveMessage".to_owned(), 1),
            ("SQS.SendMessage".to_owned(), 1),
        ]);
        assert_eq!(tally.counts(), expected);
        assert_eq!(tally.total(), 4);
        assert_eq!(tally.reset(), expected);
        assert_eq!(tally.total(), 0);
    }
}
