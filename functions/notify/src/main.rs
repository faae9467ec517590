//! The notify Lambda: configuration, secrets and clients, then the handler in `lib.rs`.
//!
//! Secrets come from SSM Parameter Store when `<NAME>_PARAM` names a parameter, else from the
//! environment variable `<NAME>` (local runs): `SLACK_BOT_TOKEN` (with `SLACK_API_URL`, default
//! Slack's) or `SLACK_WEBHOOK_URL`; `WEBHOOK_SUBSCRIBERS` (optional). Email through SES is on
//! when `EMAIL_FROM` is set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sns::SnsEvent;
use baton_adapters::config::{ConfigError, init_tracing};
use baton_adapters::dynamo::{DynamoLeadStore, DynamoLedger};
use baton_adapters::dynamo_metrics::DynamoMetrics;
use baton_adapters::secrets::SecretSource;
use baton_adapters::slack::{SLACK_API, Slack, SlackTarget, WebhookUrl};
use baton_adapters::sns::SnsPublisher;
use baton_adapters::webhook::{HttpWebhooks, parse_subscribers};
use baton_adapters::{SystemClock, provision};
use baton_notify::{Config, Measure, Notify};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use secrecy::ExposeSecret;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let sdk = provision::sdk_config(None).await;
    let secrets = SecretSource::new(Some(aws_sdk_ssm::Client::new(&sdk)));
    let target = match secrets.optional("SLACK_BOT_TOKEN").await? {
        Some(token) => {
            SlackTarget::Api { api: std::env::var("SLACK_API_URL").unwrap_or_else(|_| SLACK_API.into()), token }
        }
        None => {
            let url = secrets.required("SLACK_WEBHOOK_URL").await?;
            SlackTarget::Webhook(
                WebhookUrl::parse(url.expose_secret())
                    .map_err(|reason| ConfigError::Invalid { name: "SLACK_WEBHOOK_URL", reason })?,
            )
        }
    };
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let ledger = Arc::new(DynamoLedger::new(dynamo.clone(), config.table_name.clone()));
    let repo = Arc::new(DynamoLeadStore::new(dynamo.clone(), config.table_name.clone()));
    let metrics = Arc::new(DynamoMetrics::new(dynamo, config.table_name));
    let slack = Arc::new(Slack::new(target, "https://hooks.slack.com/"));
    let measure = Measure::new(repo.clone(), metrics, Arc::new(SystemClock));
    let mut notify = Notify::new(ledger, repo, slack, Arc::new(SystemClock))
        .with_measure(measure)
        .with_alerts(Arc::new(SnsPublisher::new(aws_sdk_sns::Client::new(&sdk), config.topic_arn)))
        .with_default_channel(config.default_channel);
    if let Some(list) = secrets.optional("WEBHOOK_SUBSCRIBERS").await? {
        let subscribers = parse_subscribers(list.expose_secret())
            .map_err(|reason| ConfigError::Invalid { name: "WEBHOOK_SUBSCRIBERS", reason })?;
        notify = notify.with_webhooks(Arc::new(HttpWebhooks::new()), subscribers);
    }
    if let Ok(from) = std::env::var("EMAIL_FROM")
        && !from.trim().is_empty()
    {
        let ses = baton_adapters::ses::SesNotifier::new(aws_sdk_sesv2::Client::new(&sdk), from);
        notify = notify.with_email(Arc::new(ses));
    }
    run(service_fn(|event: LambdaEvent<SnsEvent>| {
        let notify = notify.clone();
        // The invocation's deadline (epoch milliseconds) as an instant.
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let deadline = Instant::now() + Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
        async move { baton_notify::handle(&notify, event.payload, deadline).await.map(|_| ()).map_err(Error::from) }
    }))
    .await
}
