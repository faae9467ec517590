//! The Slack and webhook adapters over real HTTP, against local receivers standing in for Slack
//! and for a webhook subscriber.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use baton_adapters::slack::{SLACK_API, Slack, SlackTarget, WebhookUrl};
use baton_adapters::webhook::{HttpWebhooks, parse_subscribers};
use baton_adapters::{ChatNotifier, Error, WebhookSender};
use serde_json::json;

/// What a receiver got: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver answering every request at any path with `status`, `headers` and `body`.
async fn receiver(
    status: StatusCode,
    headers: &[(&'static str, &'static str)],
    body: &'static str,
) -> (String, Received) {
    let received: Received = Arc::default();
    let headers: Vec<(&'static str, &'static str)> = headers.to_vec();
    let app = Router::new()
        .fallback(move |State(r): State<Received>, h: HeaderMap, b: String| {
            let headers = headers.clone();
            async move {
                r.lock().unwrap().push((h, b));
                let mut response = (status, body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(name, value.parse().unwrap());
                }
                response
            }
        })
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// A webhook subscriber at `{url}/hooks`.
fn subscriber(url: &str) -> baton_adapters::webhook::Subscriber {
    parse_subscribers(&format!(
        r#"[{{"id":"crm","url":"{url}/hooks","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}]"#
    ))
    .unwrap()
    .remove(0)
}

fn webhook(url: &str) -> Slack {
    Slack::new(SlackTarget::Webhook(WebhookUrl::parse(&format!("{url}/services/T000/B000/XXXX")).unwrap()), url)
}

fn api(url: &str) -> Slack {
    Slack::new(SlackTarget::Api { api: url.to_owned(), token: "xoxb-test-token".into() }, url)
}

#[tokio::test]
async fn a_message_is_posted_as_json_to_the_webhook() {
    let (url, received) = receiver(StatusCode::OK, &[], "ok").await;
    webhook(&url).post(&json!({ "text": "hello" })).await.unwrap();
    let got = received.lock().unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&got[0].1).unwrap(), json!({ "text": "hello" }));
}

#[tokio::test]
async fn the_web_api_gets_the_bot_token_and_the_channel() {
    let (url, received) = receiver(StatusCode::OK, &[], r#"{"ok":true,"ts":"1.2"}"#).await;
    api(&url).post(&json!({ "channel": "U0AVERY001", "text": "hello" })).await.unwrap();
    let got = received.lock().unwrap();
    assert_eq!(got[0].0["authorization"], "Bearer xoxb-test-token");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&got[0].1).unwrap()["channel"], "U0AVERY001");
    assert_eq!(SLACK_API, "https://slack.com/api");
}

#[tokio::test]
async fn the_web_apis_own_errors_are_classified() {
    let (url, _) = receiver(StatusCode::OK, &[], r#"{"ok":false,"error":"channel_not_found"}"#).await;
    let err = api(&url).post(&json!({ "channel": "C0GONE", "text": "x" })).await.unwrap_err();
    assert!(matches!(err, Error::Rejected { ref detail, .. } if detail.contains("channel_not_found")), "{err:?}");
    let (url, _) = receiver(StatusCode::OK, &[], r#"{"ok":false,"error":"service_unavailable"}"#).await;
    assert!(api(&url).post(&json!({ "text": "x" })).await.unwrap_err().is_retryable());
}

#[tokio::test]
async fn a_429_carries_slacks_retry_after() {
    let (url, _) = receiver(StatusCode::TOO_MANY_REQUESTS, &[("retry-after", "7")], "rate_limited").await;
    let err = webhook(&url).post(&json!({ "text": "x" })).await.unwrap_err();
    assert_eq!(err, Error::Throttled { service: "Slack", retry_after: Duration::from_secs(7) });
}

#[tokio::test]
async fn server_errors_are_retryable() {
    for status in [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::SERVICE_UNAVAILABLE] {
        let (url, _) = receiver(status, &[], "down").await;
        let err = webhook(&url).post(&json!({ "text": "x" })).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{status}: {err:?}");
        assert!(err.to_string().contains(status.as_str()), "{err}");
    }
}

#[tokio::test]
async fn a_client_error_is_permanent_and_the_url_is_not_in_it() {
    let (url, _) = receiver(StatusCode::NOT_FOUND, &[], "no_service").await;
    let err = webhook(&url).post(&json!({ "text": "x" })).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("XXXX"), "{err}");
}

#[tokio::test]
async fn an_unreachable_webhook_is_retryable_and_the_url_is_not_in_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = webhook(&url).post(&json!({ "text": "x" })).await.unwrap_err();
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("XXXX"), "{err}");
}

#[tokio::test]
async fn a_message_is_replaced_through_its_response_url() {
    let (url, received) = receiver(StatusCode::OK, &[], "ok").await;
    let update = json!({ "replace_original": true, "text": "done" });
    webhook(&url).respond(&format!("{url}/actions/T0/1/abc"), &update).await.unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&received.lock().unwrap()[0].1).unwrap(), update);
}

#[tokio::test]
async fn a_webhook_is_signed_with_the_standard_headers() {
    let (url, received) = receiver(StatusCode::NO_CONTENT, &[], "").await;
    let subscribers = [subscriber(&url)];
    let body = r#"{"type":"lead.assigned"}"#;
    HttpWebhooks::new().send(&subscribers[0], "msg_1", body).await.unwrap();
    let got = received.lock().unwrap();
    let (headers, sent) = &got[0];
    assert_eq!(sent, body);
    assert_eq!(headers["webhook-id"], "msg_1");
    let timestamp: i64 = headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    let expected = baton_adapters::webhook::sign(&subscribers[0].key, "msg_1", timestamp, body);
    assert_eq!(headers["webhook-signature"].to_str().unwrap(), expected);
}

#[tokio::test]
async fn a_subscriber_answering_410_is_permanent_and_429_waits_as_asked() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (gone, _) = receiver(StatusCode::GONE, &[], "").await;
    let subs = parse_subscribers(&format!(r#"[{{"id":"crm","url":"{gone}","secret":"{secret}"}}]"#)).unwrap();
    assert!(matches!(HttpWebhooks::new().send(&subs[0], "m", "{}").await.unwrap_err(), Error::Rejected { .. }));
    let (busy, _) = receiver(StatusCode::TOO_MANY_REQUESTS, &[("retry-after", "3")], "").await;
    let subs = parse_subscribers(&format!(r#"[{{"id":"crm","url":"{busy}","secret":"{secret}"}}]"#)).unwrap();
    assert_eq!(
        HttpWebhooks::new().send(&subs[0], "m", "{}").await.unwrap_err(),
        Error::Throttled { service: "webhook", retry_after: Duration::from_secs(3) }
    );
}

#[tokio::test]
async fn the_slack_adapters_keep_the_chat_contract() {
    let (url, received) = receiver(StatusCode::OK, &[], r#"{"ok":true,"ts":"1.2"}"#).await;
    baton_adapters::contract::chat(&api(&url)).await;
    baton_adapters::contract::chat(&webhook(&url)).await;
    assert_eq!(received.lock().unwrap().len(), 2, "each adapter posted the contract's message once");
}

#[tokio::test]
async fn the_http_webhook_sender_keeps_the_webhook_contract() {
    let (url, received) = receiver(StatusCode::NO_CONTENT, &[], "").await;
    let subscribers = [subscriber(&url)];
    baton_adapters::contract::webhooks(&HttpWebhooks::new(), &subscribers[0]).await;
    let got = received.lock().unwrap();
    let event: serde_json::Value = serde_json::from_str(&got[0].1).unwrap();
    assert_eq!((event["type"].as_str(), event["data"]["version"].as_u64()), (Some("lead.assigned"), Some(1)));
}
