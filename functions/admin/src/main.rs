//! The admin Lambda: configuration and clients, then the handler in `lib.rs`.

use std::convert::Infallible;
use std::sync::Arc;

use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::{DynamoLeadStore, DynamoRulesets};
use baton_adapters::dynamo_metrics::DynamoMetrics;
use baton_adapters::sns::SnsPublisher;
use baton_adapters::{SystemClock, provision};
use baton_admin::{Admin, Config};
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = provision::sdk_config(None).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let admin = Admin::new(
        Arc::new(DynamoLeadStore::new(dynamo.clone(), config.table_name.clone())),
        Arc::new(DynamoRulesets::new(dynamo.clone(), config.table_name.clone())),
        config.token_digests,
        Arc::new(SystemClock),
    )
    .with_events(Arc::new(SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn)))
    .with_metrics(Arc::new(DynamoMetrics::new(dynamo, config.table_name)));
    run(service_fn(|request: Request| {
        let admin = admin.clone();
        async move { Ok::<_, Infallible>(admin.handle(request).await) }
    }))
    .await
}
