//! Outbound webhooks for CRMs and other systems, signed the way Standard Webhooks (the
//! convention Stripe and Svix popularized) describes, so receivers verify them with any
//! compliant library:
//!
//! - `webhook-id`: the message id, the same on every retry of the same event (receivers dedupe on it);
//! - `webhook-timestamp`: Unix seconds when it was signed (receivers refuse old ones);
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where the
//!   key is the subscriber's secret `whsec_<base64 key>` decoded.
//!
//! Subscribers are configured as a JSON list (a secret: it holds their signing keys):
//! `[{"id": "crm", "url": "https://…", "secret": "whsec_…", "events": ["lead.assigned"]}]`
//! (`events` absent or empty: every event).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::Error;
use crate::ports::WebhookSender;

const SERVICE: &str = "webhook";

/// A subscriber's signing key (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Parses `whsec_<base64>` (the prefix is optional); the key must be 24 to 64 bytes.
    pub fn parse(secret: &str) -> Result<Self, String> {
        let encoded = secret.trim().strip_prefix("whsec_").unwrap_or(secret.trim());
        let key = BASE64.decode(encoded).map_err(|_| "the secret is not whsec_ followed by base64".to_owned())?;
        if !(24..=64).contains(&key.len()) {
            return Err(format!("the secret's key is {} bytes; it must be 24 to 64", key.len()));
        }
        Ok(Self(key))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// One webhook subscriber. Its `Debug` shows the URL's host only (a URL may carry a token).
#[derive(Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// A short name, used in delivery keys and failure records (`webhook:<id>`).
    pub id: String,
    pub url: String,
    pub key: SigningKey,
    /// Event types it wants (`lead.assigned`, …); empty: all.
    pub events: Vec<String>,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = url::Url::parse(&self.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        f.debug_struct("Subscriber").field("id", &self.id).field("host", &host).field("events", &self.events).finish()
    }
}

impl Subscriber {
    /// Whether the subscriber wants events of this type.
    pub fn wants(&self, event_type: &str) -> bool {
        // `lead.sla_breached` replaced `lead.escalated`: a subscription to the old name gets it.
        self.events.is_empty()
            || self
                .events
                .iter()
                .any(|e| e == event_type || (e == "lead.escalated" && event_type == "lead.sla_breached"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriberDoc {
    id: String,
    url: String,
    secret: String,
    #[serde(default)]
    events: Vec<String>,
}

/// Parses the subscriber list; errors name the entry and field, never a secret.
pub fn parse_subscribers(json: &str) -> Result<Vec<Subscriber>, String> {
    let docs: Vec<SubscriberDoc> =
        serde_json::from_str(json).map_err(|e| format!("not a JSON list of subscribers: {e}"))?;
    let mut out: Vec<Subscriber> = Vec::with_capacity(docs.len());
    for (i, d) in docs.into_iter().enumerate() {
        let at = format!("[{i}]");
        if d.id.trim().is_empty() || !d.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(format!("{at}.id `{}` must be letters, digits, `-`, `_` or `.`", d.id));
        }
        if out.iter().any(|s| s.id == d.id) {
            return Err(format!("{at}.id `{}` is used twice", d.id));
        }
        check_url(&d.url).map_err(|e| format!("{at}.url {e}"))?;
        if let Some(bad) = d.events.iter().find(|e| baton_domain::EventType::parse(e).is_none()) {
            return Err(format!("{at}.events: `{bad}` is not an event type such as lead.assigned"));
        }
        let key = SigningKey::parse(&d.secret).map_err(|e| format!("{at}.secret: {e}"))?;
        out.push(Subscriber { id: d.id, url: d.url, key, events: d.events });
    }
    Ok(out)
}

/// Lead records are personal data: they go out over HTTPS, or plain HTTP only to this machine.
fn check_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err("must be https:// (plain http:// only to localhost)".into()),
        other => Err(format!("has scheme `{other}`; it must be https://")),
    }
}

/// The `webhook-signature` value for a message: `v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}`.
pub fn sign(key: &SigningKey, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// Sends signed webhooks over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpWebhooks {
    http: reqwest::Client,
}

impl Default for HttpWebhooks {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpWebhooks {
    /// A sender with a 5 s request timeout that never follows redirects (a signed message goes
    /// only where it was configured to go).
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client's fixed settings are valid");
        Self { http }
    }
}

#[async_trait]
impl WebhookSender for HttpWebhooks {
    async fn send(&self, subscriber: &Subscriber, id: &str, body: &str) -> Result<(), Error> {
        let timestamp = chrono::Utc::now().timestamp();
        let response = self
            .http
            .post(&subscriber.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sign(&subscriber.key, id, timestamp, body))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| {
                Error::unavailable(
                    SERVICE,
                    if e.is_timeout() { "request timed out" } else { "could not connect or send" },
                )
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status.as_u16() == 429 {
            return Err(Error::Throttled { service: SERVICE, retry_after: crate::retry::retry_after(&response) });
        }
        let detail = format!("{} answered HTTP {status}", subscriber.id);
        // 408 (timeout) and 5xx may pass later; other 4xx (gone, unauthorized) will not.
        if status.is_server_error() || status.as_u16() == 408 {
            Err(Error::Unavailable { service: SERVICE, detail })
        } else {
            Err(Error::Rejected { service: SERVICE, detail })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from the Standard Webhooks specification's reference test vectors.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &str = r#"{"test": 2432232314}"#;

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_vector() {
        let key = SigningKey::parse(SECRET).unwrap();
        assert_eq!(sign(&key, ID, TIMESTAMP, BODY), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn subscribers_are_parsed_and_explained_without_their_secrets() {
        let ok = parse_subscribers(&format!(
            r#"[{{"id":"crm","url":"https://crm.example/hooks","secret":"{SECRET}","events":["lead.assigned"]}}]"#
        ))
        .unwrap();
        assert!(ok[0].wants("lead.assigned") && !ok[0].wants("lead.touched"));
        assert!(!format!("{ok:?}").contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        let bad_event = parse_subscribers(&format!(
            r#"[{{"id":"crm","url":"https://crm.example","secret":"{SECRET}","events":["lead.sold"]}}]"#
        ))
        .unwrap_err();
        assert!(bad_event.contains("[0].events") && bad_event.contains("lead.sold"), "{bad_event}");
        let bad_secret =
            parse_subscribers(r#"[{"id":"crm","url":"https://crm.example","secret":"whsec_c2hvcnQ="}]"#).unwrap_err();
        assert!(bad_secret.starts_with("[0].secret") && !bad_secret.contains("c2hvcnQ"), "{bad_secret}");
        assert!(parse_subscribers(r#"[{"id":"a b","url":"https://x","secret":"x"}]"#).unwrap_err().contains("[0].id"));
        let plain = format!(r#"[{{"id":"crm","url":"http://crm.example/hooks","secret":"{SECRET}"}}]"#);
        assert!(parse_subscribers(&plain).unwrap_err().contains("must be https://"));
        let local = format!(r#"[{{"id":"crm","url":"http://127.0.0.1:9000/hooks","secret":"{SECRET}"}}]"#);
        assert!(parse_subscribers(&local).is_ok(), "plain http to this machine is fine");
    }
}
