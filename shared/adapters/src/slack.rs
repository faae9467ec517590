//! [`ChatNotifier`] on Slack: the Web API's `chat.postMessage` with a bot token (direct messages
//! to reps, posts to team channels), or one incoming webhook (every message to its channel).
//! Also replaces an interactive message through the `response_url` Slack sends with a button press.
//!
//! Errors are classified for the caller's retry policy: HTTP 429 (and the Web API's
//! `ratelimited`) is [`Error::Throttled`] with Slack's `Retry-After`; 5xx, timeouts and Slack's
//! own transient errors are [`Error::Unavailable`]; anything else (`channel_not_found`,
//! `invalid_auth`, 4xx) is [`Error::Rejected`]: retrying the same message will not help.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::Error;
use crate::ports::ChatNotifier;

const SERVICE: &str = "Slack";
/// Slack's public API.
pub const SLACK_API: &str = "https://slack.com/api";

/// A URL that carries a secret (an incoming webhook): it never appears in `Debug` output or logs.
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

/// How messages reach Slack.
#[derive(Debug, Clone)]
pub enum SlackTarget {
    /// `chat.postMessage` at `api` (normally [`SLACK_API`]) with a bot token; each message names
    /// its `channel` (a user id for a direct message, or a channel id).
    Api { api: String, token: SecretString },
    /// One incoming webhook; a message's `channel` is ignored (the webhook has its own).
    Webhook(WebhookUrl),
}

/// Posts messages to Slack.
#[derive(Debug, Clone)]
pub struct Slack {
    http: reqwest::Client,
    target: SlackTarget,
    /// Only `response_url`s starting with this are followed (Slack's own hooks host in AWS).
    response_prefix: String,
}

impl Slack {
    /// A notifier for `target`, with a 5 s request timeout, following only `response_url`s
    /// that start with `response_prefix` (`https://hooks.slack.com/` in production).
    pub fn new(target: SlackTarget, response_prefix: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("the HTTP client's fixed settings are valid");
        Self { http, target, response_prefix: response_prefix.into() }
    }
}

/// A transport failure; the error text may contain a secret URL, so only its kind is reported.
fn transport(e: reqwest::Error) -> Error {
    Error::unavailable(SERVICE, if e.is_timeout() { "request timed out" } else { "request failed to connect or send" })
}

/// The response if it succeeded; otherwise the classified error.
async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    if status.as_u16() == 429 {
        return Err(Error::Throttled { service: SERVICE, retry_after: crate::retry::retry_after(&response) });
    }
    let body = response.text().await.unwrap_or_default();
    let detail = format!("HTTP {status}: {}", body.chars().take(200).collect::<String>());
    if status.is_server_error() {
        Err(Error::Unavailable { service: SERVICE, detail })
    } else {
        Err(Error::Rejected { service: SERVICE, detail })
    }
}

/// Slack Web API errors that may pass on a retry; every other `error` is permanent.
const TRANSIENT: [&str; 4] = ["internal_error", "fatal_error", "service_unavailable", "request_timeout"];

#[async_trait]
impl ChatNotifier for Slack {
    async fn post(&self, message: &serde_json::Value) -> Result<(), Error> {
        match &self.target {
            SlackTarget::Webhook(url) => {
                let response = self.http.post(&url.0).json(message).send().await.map_err(transport)?;
                check_status(response).await.map(drop)
            }
            SlackTarget::Api { api, token } => {
                let response = self
                    .http
                    .post(format!("{}/chat.postMessage", api.trim_end_matches('/')))
                    .bearer_auth(token.expose_secret())
                    .json(message)
                    .send()
                    .await
                    .map_err(transport)?;
                let response = check_status(response).await?;
                // The Web API answers 200 with `{"ok": false, "error": "..."}` for its own errors.
                let body: serde_json::Value = response
                    .json()
                    .await
                    .map_err(|_| Error::unavailable(SERVICE, "chat.postMessage answered something other than JSON"))?;
                if body["ok"] == true {
                    return Ok(());
                }
                let error = body["error"].as_str().unwrap_or("unknown_error").to_owned();
                Err(match error.as_str() {
                    "ratelimited" => Error::Throttled { service: SERVICE, retry_after: Duration::from_secs(1) },
                    e if TRANSIENT.contains(&e) => Error::Unavailable { service: SERVICE, detail: error },
                    _ => Error::Rejected { service: SERVICE, detail: format!("chat.postMessage: {error}") },
                })
            }
        }
    }

    /// Replaces the interactive message a button press came from, through the press's
    /// `response_url` (`message` should carry `"replace_original": true`). Only URLs under the
    /// configured prefix (Slack's hooks host) are followed.
    async fn respond(&self, response_url: &str, message: &serde_json::Value) -> Result<(), Error> {
        if !response_url.starts_with(&self.response_prefix) {
            return Err(Error::Rejected {
                service: SERVICE,
                detail: format!("response_url is not under {}", self.response_prefix),
            });
        }
        // Slack wants the press answered within 3 s, and this is on that path.
        let response = self
            .http
            .post(response_url)
            .timeout(Duration::from_secs(2))
            .json(message)
            .send()
            .await
            .map_err(transport)?;
        check_status(response).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let url = WebhookUrl::parse("https://hooks.slack.com/services/T0/B0/secret").unwrap();
        let printed = format!("{:?}", Slack::new(SlackTarget::Webhook(url), "https://hooks.slack.com/"));
        assert!(!printed.contains("secret"), "{printed}");
        let api = SlackTarget::Api { api: SLACK_API.into(), token: SecretString::from("xoxb-secret-token") };
        let printed = format!("{:?}", Slack::new(api, "https://hooks.slack.com/"));
        assert!(!printed.contains("xoxb-secret-token"), "{printed}");
    }

    #[test]
    fn a_webhook_url_must_be_http() {
        assert!(WebhookUrl::parse("hooks.slack.com/services/x").is_err());
    }

    #[tokio::test]
    async fn a_response_url_elsewhere_is_refused_without_a_request() {
        let slack = Slack::new(
            SlackTarget::Webhook(WebhookUrl::parse("http://127.0.0.1:9/").unwrap()),
            "https://hooks.slack.com/",
        );
        let err = slack.respond("https://attacker.example/steal", &serde_json::json!({})).await.unwrap_err();
        assert!(matches!(err, Error::Rejected { .. }), "{err:?}");
    }
}
