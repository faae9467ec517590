//! Helpers for the end-to-end tests: local HTTP receivers standing in for Slack and for a webhook
//! subscriber (which verifies signatures with the Standard Webhooks reference library, not with
//! Baton's own code), and polling.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;

type Messages = Arc<Mutex<Vec<serde_json::Value>>>;

#[derive(Clone, Default)]
struct Inbox {
    messages: Messages,
    updates: Messages,
}

/// A local HTTP server standing in for Slack: an incoming webhook (`url`), the Web API's
/// `chat.postMessage` (`api_url`) and the `response_url`s of button presses (`base`/response/…).
pub struct SlackReceiver {
    /// The incoming-webhook URL.
    pub url: String,
    /// The Web API base URL.
    pub api_url: String,
    /// The server's base URL (response URLs live under it).
    pub base: String,
    inbox: Inbox,
}

impl SlackReceiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Self {
        let inbox = Inbox::default();
        let keep = |State(i): State<Inbox>, axum::Json(body): axum::Json<serde_json::Value>| async move {
            i.messages.lock().unwrap().push(body);
            "ok"
        };
        let app = Router::new()
            .route("/services/T0LOCAL/B0LOCAL/test", axum::routing::post(keep))
            .route(
                "/api/chat.postMessage",
                axum::routing::post(
                    |State(i): State<Inbox>,
                     headers: axum::http::HeaderMap,
                     axum::Json(body): axum::Json<serde_json::Value>| async move {
                        if headers.get("authorization").is_none() {
                            return axum::Json(serde_json::json!({ "ok": false, "error": "not_authed" }));
                        }
                        i.messages.lock().unwrap().push(body);
                        axum::Json(serde_json::json!({ "ok": true, "ts": "1795511700.000100" }))
                    },
                ),
            )
            .route(
                "/response/{id}",
                axum::routing::post(
                    |State(i): State<Inbox>, axum::Json(body): axum::Json<serde_json::Value>| async move {
                        i.updates.lock().unwrap().push(body);
                        "ok"
                    },
                ),
            )
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the Slack receiver");
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("Slack receiver") });
        Self { url: format!("{base}/services/T0LOCAL/B0LOCAL/test"), api_url: format!("{base}/api"), base, inbox }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        self.inbox.messages.lock().unwrap().clone()
    }

    /// Every message update received through response URLs so far.
    pub fn updates(&self) -> Vec<serde_json::Value> {
        self.inbox.updates.lock().unwrap().clone()
    }

    /// The messages that mention `needle` anywhere.
    pub fn mentioning(&self, needle: &str) -> Vec<serde_json::Value> {
        self.messages().into_iter().filter(|m| m.to_string().contains(needle)).collect()
    }
}

/// A webhook subscriber that verifies each delivery's signature with the `standardwebhooks`
/// crate (the Standard Webhooks project's own library) and keeps the verified events; deliveries
/// that fail verification are answered 401 and counted.
pub struct WebhookSubscriber {
    pub url: String,
    events: Messages,
    refused: Arc<Mutex<u32>>,
}

impl WebhookSubscriber {
    /// Starts a subscriber on a free loopback port, verifying with `secret` (`whsec_…`).
    pub async fn start(secret: &str) -> Self {
        let verifier = Arc::new(standardwebhooks::Webhook::new(secret).expect("a valid whsec_ secret"));
        let events: Messages = Arc::default();
        let refused: Arc<Mutex<u32>> = Arc::default();
        let (e, r) = (events.clone(), refused.clone());
        let app = Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (verifier, events, refused) = (verifier.clone(), e.clone(), r.clone());
                async move {
                    // The library checks the signature (its own HMAC) and the timestamp's age.
                    if verifier.verify(&body, &headers).is_err() {
                        *refused.lock().unwrap() += 1;
                        return axum::http::StatusCode::UNAUTHORIZED;
                    }
                    let mut event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    event["webhook-id"] = headers["webhook-id"].to_str().unwrap_or_default().into();
                    events.lock().unwrap().push(event);
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the webhook subscriber");
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("webhook subscriber") });
        Self { url, events, refused }
    }

    /// Every verified event so far, with its `webhook-id` header added.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.events.lock().unwrap().clone()
    }

    /// Verified events of `event_type` about `lead_id`.
    pub fn about(&self, event_type: &str, lead_id: &str) -> Vec<serde_json::Value> {
        self.events().into_iter().filter(|e| e["type"] == event_type && e["data"]["lead"]["id"] == lead_id).collect()
    }

    /// Checks every event received against the published event contract
    /// (`infra/api/events.schema.json`): the webhook's `data` with its `type` is the event as
    /// published on SNS. Panics naming the first event that does not validate; returns how many
    /// were checked.
    pub fn assert_events_match_the_schema(&self) -> usize {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/api/events.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("the published event schema")).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("the event schema compiles");
        let events = self.events();
        for event in &events {
            let mut published = event["data"].clone();
            published["type"] = event["type"].clone();
            let errors: Vec<String> =
                validator.iter_errors(&published).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(
                errors.is_empty(),
                "an emitted {} event does not match the schema: {errors:?}\n{published}",
                event["type"]
            );
            let size = serde_json::to_vec(&published).unwrap().len();
            assert!(size <= baton_domain::MAX_EVENT_BYTES, "an event of {size} bytes is over the bound");
        }
        events.len()
    }

    /// How many deliveries failed verification.
    pub fn refused(&self) -> u32 {
        *self.refused.lock().unwrap()
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

/// The browser scripts' folder (`tests/browser`).
pub fn browser_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Chromium's path, after checking it and `playwright-core` are installed (failing loudly, with
/// how to install them, when they are not).
pub fn chromium() -> String {
    let chromium = std::env::var("BATON_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "Chromium is not at {chromium}: install Debian's `chromium` (infra/scripts/test.sh does)"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci` in tests/browser (infra/scripts/test.sh does)"
    );
    chromium
}

/// Runs `node tests/browser/SCRIPT args…` with Chromium at `chromium` on a blocking thread, and
/// parses the one JSON document it prints.
pub async fn run_browser(script: &str, args: Vec<String>, chromium: &str) -> serde_json::Value {
    let mut node = std::process::Command::new("node");
    node.arg(browser_dir().join(script)).args(args).env("BATON_CHROMIUM", chromium);
    let out = tokio::task::spawn_blocking(move || node.output()).await.unwrap().expect("node runs (install Node.js)");
    assert!(out.status.success(), "the browser run failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}
