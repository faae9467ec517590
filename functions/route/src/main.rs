//! The route Lambda: configuration and clients, then the handler in `lib.rs`.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::{DynamoCounters, DynamoLeadStore, DynamoRulesets};
use baton_adapters::sns::SnsPublisher;
use baton_adapters::{SystemClock, provision};
use baton_domain::Ruleset;
use baton_route::{Config, Route};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = provision::sdk_config(None).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    // The active ruleset version decides; the built-in default (version 0) until one is activated.
    let route = Route::new(
        Arc::new(DynamoLeadStore::new(dynamo.clone(), config.table_name.clone())),
        Arc::new(SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn)),
        Ruleset::default_ruleset(),
        0,
        Arc::new(DynamoCounters::new(dynamo.clone(), config.table_name.clone())),
        Arc::new(SystemClock),
    )
    .with_ruleset_store(Arc::new(DynamoRulesets::new(dynamo, config.table_name)), baton_route::RULESET_CACHE);
    run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let route = route.clone();
        async move { Ok::<SqsBatchResponse, Error>(baton_route::handle(&route, event.payload).await) }
    }))
    .await
}
