//! Helpers for the end-to-end tests: a local HTTP receiver standing in for Slack, and polling.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;

type Messages = Arc<Mutex<Vec<serde_json::Value>>>;

/// A local HTTP server that accepts Slack incoming-webhook posts and keeps them.
pub struct SlackReceiver {
    /// The webhook URL to configure.
    pub url: String,
    messages: Messages,
}

impl SlackReceiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Self {
        let messages: Messages = Arc::default();
        let app = Router::new()
            .route(
                "/services/T0LOCAL/B0LOCAL/test",
                axum::routing::post(
                    |State(m): State<Messages>, axum::Json(body): axum::Json<serde_json::Value>| async move {
                        m.lock().unwrap().push(body);
                        "ok"
                    },
                ),
            )
            .with_state(messages.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the Slack receiver");
        let url = format!("http://{}/services/T0LOCAL/B0LOCAL/test", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("Slack receiver") });
        Self { url, messages }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        self.messages.lock().unwrap().clone()
    }

    /// The messages that mention `needle` anywhere.
    pub fn mentioning(&self, needle: &str) -> Vec<serde_json::Value> {
        self.messages().into_iter().filter(|m| m.to_string().contains(needle)).collect()
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends the system's logs to the test output (shown for failing tests).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt().with_env_filter("info,aws_config=warn").with_test_writer().try_init();
}
