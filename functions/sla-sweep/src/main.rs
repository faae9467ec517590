//! The SLA sweep Lambda: configuration and clients, then the handler in `lib.rs`.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::{DynamoCounters, DynamoLeadStore, DynamoRulesets};
use baton_adapters::sns::SnsPublisher;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::{SystemClock, provision};
use baton_app::assign::{Assign, RULESET_CACHE};
use baton_domain::Ruleset;
use baton_sla_sweep::{Config, Sweep, SweepReport};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = provision::sdk_config(None).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let leads = Arc::new(DynamoLeadStore::new(dynamo.clone(), config.table_name.clone()));
    let publisher = Arc::new(SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn));
    let clock = Arc::new(SystemClock);
    // Reassignments decide by the active ruleset, with the same turns and caps as routing.
    let assign = Assign::new(
        leads.clone(),
        publisher.clone(),
        Ruleset::default_ruleset(),
        0,
        Arc::new(DynamoCounters::new(dynamo.clone(), config.table_name.clone())),
        clock.clone(),
    )
    .with_ruleset_store(Arc::new(DynamoRulesets::new(dynamo, config.table_name)), RULESET_CACHE);
    let sweep =
        Sweep::new(leads, Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_url)), publisher, clock)
            .with_reassignment(assign);
    run(service_fn(|_: LambdaEvent<EventBridgeEvent>| {
        let sweep = sweep.clone();
        async move { sweep.run().await.map_err(Error::from) as Result<SweepReport, Error> }
    }))
    .await
}
