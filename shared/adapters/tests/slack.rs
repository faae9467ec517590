//! The Slack webhook adapter over real HTTP, against a local receiver standing in for Slack.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use baton_adapters::ChatNotifier;
use baton_adapters::slack::{SlackWebhook, WebhookUrl};
use serde_json::json;

type Received = Arc<Mutex<Vec<serde_json::Value>>>;

async fn receiver(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/services/T000/B000/XXXX",
            axum::routing::post(
                move |State(r): State<Received>, axum::Json(body): axum::Json<serde_json::Value>| async move {
                    r.lock().unwrap().push(body);
                    (status, if status.is_success() { "ok" } else { "rate_limited" })
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/services/T000/B000/XXXX", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn a_message_is_posted_as_json_to_the_webhook() {
    let (url, received) = receiver(StatusCode::OK).await;
    let slack = SlackWebhook::new(WebhookUrl::parse(&url).unwrap());
    slack.post(&json!({ "text": "hello" })).await.unwrap();
    assert_eq!(*received.lock().unwrap(), [json!({ "text": "hello" })]);
}

#[tokio::test]
async fn rate_limiting_and_server_errors_are_retryable() {
    for status in [StatusCode::TOO_MANY_REQUESTS, StatusCode::INTERNAL_SERVER_ERROR, StatusCode::SERVICE_UNAVAILABLE] {
        let (url, _) = receiver(status).await;
        let err = SlackWebhook::new(WebhookUrl::parse(&url).unwrap()).post(&json!({ "text": "x" })).await.unwrap_err();
        assert!(err.is_retryable(), "{status}: {err:?}");
        assert!(err.to_string().contains(status.as_str()), "{err}");
    }
}

#[tokio::test]
async fn a_client_error_is_permanent_and_the_url_is_not_in_it() {
    let (url, _) = receiver(StatusCode::NOT_FOUND).await;
    let err = SlackWebhook::new(WebhookUrl::parse(&url).unwrap()).post(&json!({ "text": "x" })).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("XXXX"), "{err}");
}

#[tokio::test]
async fn an_unreachable_webhook_is_retryable_and_the_url_is_not_in_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/services/T000/B000/XXXX", listener.local_addr().unwrap());
    drop(listener);
    let err = SlackWebhook::new(WebhookUrl::parse(&url).unwrap()).post(&json!({ "text": "x" })).await.unwrap_err();
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("XXXX"), "{err}");
}
