//! The notify Lambda: configuration and clients, then the handler in `lib.rs`.

use std::sync::Arc;

use aws_lambda_events::sns::SnsEvent;
use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::DynamoLeadStore;
use baton_adapters::slack::SlackWebhook;
use baton_adapters::{SystemClock, provision};
use baton_notify::{Config, Notify};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = provision::sdk_config(None).await;
    let notify = Notify::new(
        Arc::new(DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name)),
        Arc::new(SlackWebhook::new(config.slack_webhook_url)),
        Arc::new(SystemClock),
    );
    run(service_fn(|event: LambdaEvent<SnsEvent>| {
        let notify = notify.clone();
        async move { notify.handle(event.payload).await.map(|_| ()).map_err(Error::from) }
    }))
    .await
}
