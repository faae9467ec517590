//! [`ChatNotifier`] posting to a Slack incoming webhook.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::Error;
use crate::ports::ChatNotifier;

const SERVICE: &str = "Slack";

/// A webhook URL, which is a secret: it never appears in `Debug` output or logs.
#[derive(Clone)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Wraps a URL; fails unless it is `http://` or `https://`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("https://") || raw.starts_with("http://") {
            Ok(Self(raw.to_owned()))
        } else {
            Err("must start with https:// (or http:// for a local receiver)".to_owned())
        }
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookUrl(<redacted>)")
    }
}

/// Posts messages to one Slack incoming webhook.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    http: reqwest::Client,
    url: WebhookUrl,
}

impl SlackWebhook {
    /// A notifier for `url` with a 5 s request timeout.
    pub fn new(url: WebhookUrl) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("the HTTP client's fixed settings are valid");
        Self { http, url }
    }
}

#[async_trait]
impl ChatNotifier for SlackWebhook {
    async fn post(&self, message: &serde_json::Value) -> Result<(), Error> {
        let response = self
            .http
            .post(&self.url.0)
            .json(message)
            .send()
            .await
            // The error text may contain the URL: report only its kind.
            .map_err(|e| {
                Error::unavailable(
                    SERVICE,
                    if e.is_timeout() { "request timed out" } else { "request failed to connect or send" },
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        let detail = format!("HTTP {status}: {}", body.chars().take(200).collect::<String>());
        if status.as_u16() == 429 || status.is_server_error() {
            Err(Error::Unavailable { service: SERVICE, detail })
        } else {
            Err(Error::Rejected { service: SERVICE, detail })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_never_prints() {
        let url = WebhookUrl::parse("https://hooks.slack.com/services/T0/B0/secret").unwrap();
        let printed = format!("{:?}", SlackWebhook::new(url));
        assert!(!printed.contains("secret"), "{printed}");
    }

    #[test]
    fn a_webhook_url_must_be_http() {
        assert!(WebhookUrl::parse("hooks.slack.com/services/x").is_err());
    }
}
