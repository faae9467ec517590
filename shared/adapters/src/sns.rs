//! [`EventPublisher`] on SNS. The event type travels as the `event_type` string attribute so
//! subscribers can filter with SNS filter policies.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use baton_domain::LeadEvent;

use crate::Error;
use crate::ports::EventPublisher;

/// The largest message SNS accepts (256 KiB); events are bounded well inside it
/// ([`baton_domain::MAX_EVENT_BYTES`]).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The message attribute that carries the event type.
pub const EVENT_TYPE_ATTRIBUTE: &str = "event_type";

/// An [`EventPublisher`] on one SNS topic.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: Client,
    topic_arn: String,
}

impl SnsPublisher {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self { client, topic_arn: topic_arn.into() }
    }
}

#[async_trait]
impl EventPublisher for SnsPublisher {
    async fn publish(&self, event: &LeadEvent) -> Result<(), Error> {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(event.event_type().as_str())
            .build()
            .map_err(|e| Error::Rejected { service: "SNS", detail: e.to_string() })?;
        let message = event.to_json();
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(Error::Rejected { service: "SNS", detail: format!("{} bytes is over 256 KiB", message.len()) });
        }
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message)
            .message_attributes(EVENT_TYPE_ATTRIBUTE, attribute)
            .send()
            .await
            .map_err(|e| Error::unavailable("SNS", DisplayErrorContext(e)))?;
        Ok(())
    }
}
