//! AWS SDK configuration and idempotent creation of Baton's resources, for the local runner
//! and tests (in AWS, `template.yaml` creates them). Creating something that exists is success.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::Error;
use crate::dynamo::WAIT_INDEX;

/// Loads the SDK configuration from the environment, pointed at `endpoint` when given
/// (moto, LocalStack); otherwise at real AWS by the usual variables.
pub async fn sdk_config(endpoint: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
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

/// Creates the leads table (key `pk`, sparse index [`WAIT_INDEX`] on `wait_kind` + `wait_due_at`)
/// unless it exists.
pub async fn ensure_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), Error> {
    let index = GlobalSecondaryIndex::builder()
        .index_name(WAIT_INDEX)
        .key_schema(key("wait_kind", KeyType::Hash)?)
        .key_schema(key("wait_due_at", KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| Error::Rejected { service: "DynamoDB", detail: e.to_string() })?;
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk")?)
        .attribute_definitions(definition("wait_kind")?)
        .attribute_definitions(definition("wait_due_at")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .global_secondary_indexes(index)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => Ok(()),
        Err(e) => Err(Error::unavailable("DynamoDB", DisplayErrorContext(e))),
    }
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
