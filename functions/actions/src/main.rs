//! The actions Lambda: configuration, the signing secret and clients, then the handler in `lib.rs`.
//!
//! `SLACK_SIGNING_SECRET` comes from SSM Parameter Store when `SLACK_SIGNING_SECRET_PARAM` names
//! a parameter, else from the environment. Message updates go to Slack's `response_url`s only.

use std::convert::Infallible;
use std::sync::Arc;

use baton_actions::{Actions, Config};
use baton_adapters::config::init_tracing;
use baton_adapters::dynamo::DynamoLeadStore;
use baton_adapters::secrets::SecretSource;
use baton_adapters::slack::{SLACK_API, Slack, SlackTarget};
use baton_adapters::sns::SnsPublisher;
use baton_adapters::{SystemClock, provision};
use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = provision::sdk_config(None).await;
    let secrets = SecretSource::new(Some(aws_sdk_ssm::Client::new(&sdk)));
    let signing_secret = secrets.required("SLACK_SIGNING_SECRET").await?;
    // Only `respond` is used here, which needs no token: the response URL is its own credential.
    let slack = Slack::new(SlackTarget::Api { api: SLACK_API.into(), token: "".into() }, "https://hooks.slack.com/");
    let actions = Actions::new(
        Arc::new(DynamoLeadStore::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name)),
        Arc::new(SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn)),
        Arc::new(slack),
        signing_secret,
        Arc::new(SystemClock),
    );
    run(service_fn(|request: Request| {
        let actions = actions.clone();
        async move { Ok::<_, Infallible>(actions.handle(request).await) }
    }))
    .await
}
