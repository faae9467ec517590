//! The capture Lambda: configuration and clients, then the handler in `lib.rs`.
//!
//! The capture keys (which hold signing secrets) come from SSM Parameter Store when
//! `CAPTURE_KEYS_PARAM` names a parameter, else from `CAPTURE_KEYS`; the handoff links' secret
//! likewise from `HANDOFF_SECRET_PARAM` or `HANDOFF_SECRET` (neither: no handoff links). With
//! `TOPIC_ARN`, a booking press's `lead.touched` event is published at once (else the sweep
//! publishes it from the outbox).

use std::convert::Infallible;
use std::sync::Arc;

use baton_adapters::config::ConfigError;
use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::{DynamoAccounts, DynamoCounters, DynamoLeadStore};
use baton_adapters::secrets::SecretSource;
use baton_adapters::sns::SnsPublisher;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{SystemClock, provision};
use baton_capture::handoff::{HandoffLinks, HandoffSecrets};
use baton_capture::{Capture, Config};
use lambda_http::{Error, Request, run, service_fn};
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    // The country name tables, built before the first request rather than during it.
    baton_domain::normalize::warm_up();
    let sdk = provision::sdk_config(None).await;
    let secrets = SecretSource::new(Some(aws_sdk_ssm::Client::new(&sdk)));
    let keys = secrets.required("CAPTURE_KEYS").await?;
    let config = Config::from_env(keys.expose_secret())?;
    let handoff_secret = secrets.optional("HANDOFF_SECRET").await?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = config.table_name;
    let mut capture = Capture::new(
        Arc::new(DynamoLeadStore::new(dynamo.clone(), table.clone())),
        Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_url)),
        Arc::new(config.keys),
        Arc::new(SystemClock),
    )
    .with_accounts(Arc::new(DynamoAccounts::new(dynamo.clone(), table.clone())));
    if let Some(secret) = handoff_secret {
        let secrets = HandoffSecrets::parse(secret.expose_secret())
            .map_err(|reason| ConfigError::Invalid { name: "HANDOFF_SECRET", reason })?;
        let mut links = HandoffLinks::new(secrets, Arc::new(DynamoCounters::new(dynamo, table)));
        if let Some(topic) = std::env::var("TOPIC_ARN").ok().filter(|t| !t.trim().is_empty()) {
            links = links.with_events(Arc::new(SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), topic)));
        }
        capture = capture.with_handoff(links);
    }
    run(service_fn(|request: Request| {
        let capture = capture.clone();
        async move { Ok::<_, Infallible>(capture.handle(request).await) }
    }))
    .await
}
