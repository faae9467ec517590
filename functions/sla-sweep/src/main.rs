//! The SLA sweep Lambda: configuration and clients, then the handler in `lib.rs`.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::DynamoLeadStore;
use baton_adapters::sns::SnsPublisher;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{SystemClock, provision};
use baton_sla_sweep::{Config, Sweep, SweepReport};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = provision::sdk_config(None).await;
    let sweep = Sweep::new(
        Arc::new(DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name)),
        Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_url)),
        Arc::new(SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn)),
        Arc::new(SystemClock),
    );
    run(service_fn(|_: LambdaEvent<EventBridgeEvent>| {
        let sweep = sweep.clone();
        async move { sweep.run().await.map_err(Error::from) as Result<SweepReport, Error> }
    }))
    .await
}
