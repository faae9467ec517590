//! The capture Lambda: configuration and clients, then the handler in `lib.rs`.
//!
//! The capture keys (which hold signing secrets) come from SSM Parameter Store when
//! `CAPTURE_KEYS_PARAM` names a parameter, else from `CAPTURE_KEYS`.

use std::convert::Infallible;
use std::sync::Arc;

use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::{DynamoAccounts, DynamoLeadStore};
use baton_adapters::secrets::SecretSource;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{SystemClock, provision};
use baton_capture::{Capture, Config};
use lambda_http::{Error, Request, run, service_fn};
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    // The country name tables, built before the first request rather than during it.
    baton_domain::normalize::warm_up();
    let sdk = provision::sdk_config(None).await;
    let keys = SecretSource::new(Some(aws_sdk_ssm::Client::new(&sdk))).required("CAPTURE_KEYS").await?;
    let config = Config::from_env(keys.expose_secret())?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = config.table_name;
    let capture = Capture::new(
        Arc::new(DynamoLeadStore::new(dynamo.clone(), table.clone())),
        Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_url)),
        Arc::new(config.keys),
        Arc::new(SystemClock),
    )
    .with_accounts(Arc::new(DynamoAccounts::new(dynamo, table)));
    run(service_fn(|request: Request| {
        let capture = capture.clone();
        async move { Ok::<_, Infallible>(capture.handle(request).await) }
    }))
    .await
}
