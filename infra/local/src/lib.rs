//! Baton's local runner: the six Lambda handlers (and through them the use cases in `baton-app`),
//! wired as AWS would wire them, on this machine.
//!
//! - HTTP: each request becomes an API Gateway HTTP API (payload 2.0) event for capture (`/leads`,
//!   the handoff links and the snippet `/baton.js`), admin (`/admin/…`) or actions
//!   (`/slack/actions`), parsed by `lambda_http` exactly as in Lambda; the response is sent back
//!   as is. `/sample` serves a sample form with the snippet ([`SAMPLE_PAGE`]).
//! - Route: a poller takes batches of up to 10 from the routing queue, hands them to route as an
//!   SQS event, and deletes the records route did not report as failed (partial batch response).
//! - Notify: every published event reaches notify as an SNS event. On AWS/moto, through a real
//!   SNS subscription to an SQS queue (a failed delivery reappears after the visibility timeout
//!   and lands in a dead-letter queue after 5 tries); in process, through a channel with retries.
//! - Sweep: a timer stands in for the EventBridge schedule.
//!
//! With no endpoint, every port is in process ([`baton_adapters::memory`]) and nothing needs
//! installing. With an endpoint (moto, LocalStack, or none-but-`AWS_*` for real AWS via
//! [`Backend::Aws`]), the table, queues and topic are created if absent.
//!
//! With no Slack configured, messages go to a built-in stand-in for Slack's Web API at
//! `/_local/slack/api` that prints them, so the whole journey is visible in the runner's output;
//! `/_local/slack/press` plays a rep pressing one of a message's buttons (a signed request to
//! `/slack/actions`, as Slack sends it). Webhook events go to a built-in subscriber at
//! `/_local/webhook` that checks their signature and prints them, unless subscribers are given.
//!
//! # Layout
//! - this file: [`Options`], [`start`], [`Running`] (with [`Running::settled`] for tests), the
//!   account import and notify's dead-letter redrive.
//! - [`events`]: turning HTTP requests and queue messages into the Lambda event JSON AWS sends.

pub mod events;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use baton_actions::Actions;
use baton_adapters::dynamo::{DynamoAccounts, DynamoCounters, DynamoLeadStore, DynamoLedger, DynamoRulesets};
use baton_adapters::dynamo_metrics::DynamoMetrics;
use baton_adapters::memory::{
    MemoryAccounts, MemoryCounters, MemoryLeadStore, MemoryLedger, MemoryMetrics, MemoryPublisher, MemoryQueue,
    MemoryRulesets,
};
use baton_adapters::slack::{Slack, SlackTarget, WebhookUrl};
use baton_adapters::sns::SnsPublisher;
use baton_adapters::sqs::SqsQueue;
use baton_adapters::webhook::HttpWebhooks;
use baton_adapters::{
    AccountDirectory, Capacity, DeliveryLedger, EventPublisher, LeadRepository, MetricsStore, RateLimiter,
    RulesetStore, SystemClock, WorkQueue, provision,
};
use baton_admin::Admin;
use baton_capture::Capture;
use baton_capture::handoff::{HandoffLinks, HandoffSecrets};
use baton_capture::keys::CaptureKeys;
use baton_domain::{LeadEvent, Ruleset};
use baton_notify::{Measure, Notify};
use baton_route::Route;
use baton_sla_sweep::Sweep;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// Where the system keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Everything in this process; nothing to install, nothing kept after exit.
    InProcess,
    /// DynamoDB, SQS and SNS through the AWS SDK; `endpoint` points at moto or LocalStack
    /// (`None`: real AWS, configured by the usual `AWS_*` variables).
    Aws { endpoint: Option<String> },
}

/// How to run. Its `Debug` leaves out every secret (tokens, keys, webhook URLs).
#[derive(Clone)]
pub struct Options {
    pub backend: Backend,
    /// Listen address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Slack incoming webhook (every message to its channel).
    pub slack_webhook_url: Option<String>,
    /// Slack Web API base URL (`chat.postMessage` with a bot token); with neither this nor a
    /// webhook, the built-in printing stand-in at `/_local/slack/api`.
    pub slack_api_url: Option<String>,
    /// The bot token for `slack_api_url` (the stand-ins take any).
    pub slack_bot_token: Option<String>,
    /// Slack's signing secret for interactivity requests ([`DEMO_SLACK_SIGNING_SECRET`] by default).
    pub slack_signing_secret: String,
    /// Message updates are sent only to `response_url`s under this prefix (default: the built-in stand-in).
    pub slack_response_prefix: Option<String>,
    /// Webhook subscribers (the `WEBHOOK_SUBSCRIBERS` JSON); `None`: the built-in printing subscriber.
    pub webhook_subscribers: Option<String>,
    /// Prefix of the table, queue and topic names (lets several runs share one moto).
    pub prefix: String,
    /// How often the SLA sweep runs.
    pub sweep_every: Duration,
    /// How long a received queue message stays hidden before it is delivered again.
    pub visibility_timeout: Duration,
    /// The capture keys (the `CAPTURE_KEYS` JSON); [`DEMO_KEYS`] by default.
    pub capture_keys: String,
    /// The handoff links' signing secret(s) (`HANDOFF_SECRET`); a fresh random one each start by default.
    pub handoff_secret: Option<String>,
    /// Accounts to load at start (CSV); [`SAMPLE_ACCOUNTS`] by default.
    pub accounts_csv: String,
    /// The ruleset routing decides by until a version is activated; the default ruleset unless given.
    pub ruleset: Ruleset,
    /// The bearer token the admin API accepts ([`DEMO_ADMIN_TOKEN`] by default).
    pub admin_token: String,
    /// On AWS/moto, counts every AWS request the handlers (and the pollers standing in for
    /// Lambda's event source mappings) make; creating the resources and [`Running::settled`]'s
    /// checks are not counted. `None` by default.
    pub request_tally: Option<provision::RequestTally>,
}

/// Slack's signing secret unless told otherwise (the built-in stand-in signs with it).
pub const DEMO_SLACK_SIGNING_SECRET: &str = "local-slack-signing-secret";

/// The built-in webhook subscriber's signing secret.
pub const DEMO_WEBHOOK_SECRET: &str = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtMTIzNDU2Nzg5MA==";

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("backend", &self.backend)
            .field("listen", &self.listen)
            .field("slack_api_url", &self.slack_api_url)
            .field("prefix", &self.prefix)
            .field("sweep_every", &self.sweep_every)
            .field("visibility_timeout", &self.visibility_timeout)
            .field("ruleset", &self.ruleset.name)
            .field("request_tally", &self.request_tally)
            .finish_non_exhaustive()
    }
}

/// The admin API's token unless told otherwise.
pub const DEMO_ADMIN_TOKEN: &str = "local-admin-token";

/// The sample accounts (`infra/sample/accounts.csv`), loaded unless others are given.
pub const SAMPLE_ACCOUNTS: &str = include_str!("../../sample/accounts.csv");

/// The keys the local runner accepts unless told otherwise: a public key usable from any origin,
/// and a signing secret for trying signed integration requests.
pub const DEMO_KEYS: &str = r#"[
  {"id":"local-demo","public_key":"pk_local_demo","allowed_origins":["*"]},
  {"id":"local-integration","secret":"local-signing-secret"}
]"#;

impl Default for Options {
    fn default() -> Self {
        Self {
            backend: Backend::InProcess,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            slack_webhook_url: None,
            slack_api_url: None,
            slack_bot_token: None,
            slack_signing_secret: DEMO_SLACK_SIGNING_SECRET.to_owned(),
            slack_response_prefix: None,
            webhook_subscribers: None,
            prefix: "baton".into(),
            sweep_every: Duration::from_secs(30),
            visibility_timeout: Duration::from_secs(30),
            capture_keys: DEMO_KEYS.to_owned(),
            handoff_secret: None,
            accounts_csv: SAMPLE_ACCOUNTS.to_owned(),
            ruleset: Ruleset::default_ruleset(),
            admin_token: DEMO_ADMIN_TOKEN.to_owned(),
            request_tally: None,
        }
    }
}

/// The AWS resources in use (for [`Backend::Aws`]).
#[derive(Debug, Clone)]
pub struct AwsResources {
    pub table: String,
    pub queue_url: String,
    pub topic_arn: String,
    pub notify_queue_url: String,
}

/// A running local system. Dropping it does not stop it: call [`Running::stop`].
pub struct Running {
    /// The base URL, such as `http://127.0.0.1:3000`.
    pub url: String,
    /// The lead store everything uses.
    pub store: Arc<dyn LeadRepository>,
    /// The metrics store notify records into and the admin API reads.
    pub metrics: Arc<dyn MetricsStore>,
    /// The routing queue.
    pub queue: Arc<dyn WorkQueue>,
    /// The AWS resources, when running on AWS or moto.
    pub aws: Option<AwsResources>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    activity: Arc<Activity>,
    backlog: Backlog,
}

/// What the background tasks are doing, for tests that wait for the system to settle.
#[derive(Debug, Default)]
struct Activity {
    /// Batches or events being handled right now (received, not yet deleted).
    busy: AtomicUsize,
    /// Sweeps completed.
    sweeps: AtomicU64,
}

/// Where messages wait: the queues a settled system has emptied.
enum Backlog {
    Sqs(aws_sdk_sqs::Client, Vec<String>),
    Memory(Arc<MemoryQueue>),
}

/// Holds a unit of [`Activity::busy`] until dropped.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Self {
        activity.busy.fetch_add(1, Ordering::SeqCst);
        Self(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Running {
    /// Whether nothing is left to do: no handler is busy and the routing and notify queues are
    /// empty, in flight included (on AWS/moto, by the queues' approximate counts). Tests poll
    /// this to wait for every delivery, duplicates included, instead of sleeping.
    pub async fn settled(&self) -> bool {
        if self.activity.busy.load(Ordering::SeqCst) > 0 {
            return false;
        }
        match &self.backlog {
            Backlog::Memory(queue) => queue.is_empty(),
            Backlog::Sqs(client, urls) => {
                for url in urls {
                    let attributes = client
                        .get_queue_attributes()
                        .queue_url(url)
                        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                        .send()
                        .await;
                    let Ok(out) = attributes else { return false };
                    let waiting: u64 =
                        out.attributes.unwrap_or_default().values().filter_map(|v| v.parse::<u64>().ok()).sum();
                    if waiting > 0 {
                        return false;
                    }
                }
                self.activity.busy.load(Ordering::SeqCst) == 0
            }
        }
    }

    /// How many SLA sweeps have completed.
    pub fn sweeps(&self) -> u64 {
        self.activity.sweeps.load(Ordering::SeqCst)
    }

    /// Stops every task and waits for them.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Why the system could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot set up AWS resources: {0}")]
    Provision(#[from] baton_adapters::Error),
    #[error("SLACK_WEBHOOK_URL is invalid: {0}")]
    Slack(String),
    #[error("WEBHOOK_SUBSCRIBERS is invalid: {0}")]
    Webhooks(String),
    #[error("HANDOFF_SECRET is invalid: {0}")]
    Handoff(String),
    #[error("CAPTURE_KEYS is invalid: {0}")]
    Keys(String),
    #[error("the accounts file is invalid: {0}")]
    Accounts(String),
}

/// A source of notify's input: SNS-shaped JSON events and a way to acknowledge them.
enum NotifyFeed {
    InProcess(mpsc::UnboundedReceiver<LeadEvent>),
    Queue(SqsQueue, String),
}

/// The ports every handler uses, on the chosen backend.
struct Ports {
    store: Arc<dyn LeadRepository>,
    accounts: Arc<dyn AccountDirectory>,
    counters: Arc<dyn Capacity>,
    limits: Arc<dyn RateLimiter>,
    ledger: Arc<dyn DeliveryLedger>,
    rulesets: Arc<dyn RulesetStore>,
    metrics: Arc<dyn MetricsStore>,
    queue: Arc<dyn WorkQueue>,
    publisher: Arc<dyn EventPublisher>,
    feed: NotifyFeed,
    aws: Option<AwsResources>,
    backlog: Backlog,
}

/// Builds the ports; on AWS/moto, creates the table, queues (each with a dead-letter queue),
/// the topic and notify's subscription, unless they exist.
async fn ports(options: &Options) -> Result<Ports, StartError> {
    Ok(match &options.backend {
        Backend::InProcess => {
            let (tx, rx) = mpsc::unbounded_channel();
            let store = MemoryLeadStore::new();
            let queue = Arc::new(MemoryQueue::new(options.visibility_timeout));
            Ports {
                backlog: Backlog::Memory(queue.clone()),
                counters: Arc::new(store.counters()),
                limits: Arc::new(MemoryCounters::new()),
                store: Arc::new(store),
                accounts: Arc::new(MemoryAccounts::new()),
                ledger: Arc::new(MemoryLedger::new()),
                rulesets: Arc::new(MemoryRulesets::new()),
                metrics: Arc::new(MemoryMetrics::new()),
                queue,
                publisher: Arc::new(MemoryPublisher::with_subscriber(tx)),
                feed: NotifyFeed::InProcess(rx),
                aws: None,
            }
        }
        Backend::Aws { endpoint } => {
            let sdk = provision::sdk_config(endpoint.as_deref()).await;
            // Creating the resources and checking the backlog are the runner's own requests,
            // not the system's: made with clients that `options.request_tally` does not count.
            let setup = provision::aws_clients(&sdk, None);
            let provision::AwsClients { dynamodb: dynamo, sqs, sns } =
                provision::aws_clients(&sdk, options.request_tally.as_ref());
            let visibility = options.visibility_timeout.as_secs().max(1) as u32;
            let name = |suffix: &str| format!("{}-{suffix}", options.prefix);
            let table = name("leads");
            provision::ensure_table(&setup.dynamodb, &table).await?;
            let (route_queue, _) = provision::ensure_queue_with_dlq(&setup.sqs, &name("route"), visibility, 5).await?;
            let topic_arn = provision::ensure_topic(&setup.sns, &name("lead-events")).await?;
            let (notify_queue, _) =
                provision::ensure_queue_with_dlq(&setup.sqs, &name("notify"), visibility, 5).await?;
            provision::subscribe_queue(&setup.sns, &topic_arn, &notify_queue.arn).await?;
            let aws = AwsResources {
                table: table.clone(),
                queue_url: route_queue.url.clone(),
                topic_arn: topic_arn.clone(),
                notify_queue_url: notify_queue.url.clone(),
            };
            Ports {
                backlog: Backlog::Sqs(setup.sqs, vec![route_queue.url.clone(), notify_queue.url.clone()]),
                store: Arc::new(DynamoLeadStore::new(dynamo.clone(), table.clone())),
                accounts: Arc::new(DynamoAccounts::new(dynamo.clone(), table.clone())),
                counters: Arc::new(DynamoCounters::new(dynamo.clone(), table.clone())),
                limits: Arc::new(DynamoCounters::new(dynamo.clone(), table.clone())),
                ledger: Arc::new(DynamoLedger::new(dynamo.clone(), table.clone())),
                metrics: Arc::new(DynamoMetrics::new(dynamo.clone(), table.clone())),
                rulesets: Arc::new(DynamoRulesets::new(dynamo, table)),
                queue: Arc::new(SqsQueue::new(sqs.clone(), route_queue.url)),
                publisher: Arc::new(SnsPublisher::new(sns, topic_arn.clone())),
                feed: NotifyFeed::Queue(SqsQueue::new(sqs, notify_queue.url), topic_arn),
                aws: Some(aws),
            }
        }
    })
}

/// The ruleset versions in the leads `table` on AWS (or moto/LocalStack at `endpoint`).
pub async fn ruleset_store(endpoint: Option<&str>, table: &str) -> DynamoRulesets {
    let sdk = provision::sdk_config(endpoint).await;
    DynamoRulesets::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}

/// Starts the system and returns once it is listening.
pub async fn start(options: Options) -> Result<Running, StartError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| StartError::Listen { addr: options.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: options.listen, source })?;
    let url = format!("http://{addr}");

    let clock = Arc::new(SystemClock);
    let Ports { store, accounts, counters, limits, ledger, rulesets, metrics, queue, publisher, feed, aws, backlog } =
        ports(&options).await?;
    let imported = baton_domain::account::parse_csv(&options.accounts_csv).map_err(|errors| {
        StartError::Accounts(
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
        )
    })?;
    accounts.put_accounts(&imported).await?;

    let target = match (&options.slack_webhook_url, &options.slack_api_url) {
        (Some(webhook), _) => SlackTarget::Webhook(WebhookUrl::parse(webhook).map_err(StartError::Slack)?),
        (None, api) => SlackTarget::Api {
            api: api.clone().unwrap_or_else(|| format!("{url}/_local/slack/api")),
            token: options.slack_bot_token.clone().unwrap_or_else(|| "xoxb-local".into()).into(),
        },
    };
    let prefix = options.slack_response_prefix.clone().unwrap_or_else(|| match &options.slack_api_url {
        // A real Slack workspace: only Slack's own response URLs.
        Some(_) => "https://hooks.slack.com/".into(),
        None => format!("{url}/_local/slack/"),
    });
    let slack = Arc::new(Slack::new(target, prefix));
    let subscribers =
        baton_adapters::webhook::parse_subscribers(&options.webhook_subscribers.clone().unwrap_or_else(|| {
            format!(r#"[{{"id":"local","url":"{url}/_local/webhook","secret":"{DEMO_WEBHOOK_SECRET}"}}]"#)
        }))
        .map_err(StartError::Webhooks)?;
    let signing_secret = secrecy::SecretString::from(options.slack_signing_secret.clone());
    let keys = CaptureKeys::from_json(&options.capture_keys).map_err(StartError::Keys)?;
    let secret = options.handoff_secret.clone().unwrap_or_else(|| {
        // A fresh secret each start: links from an earlier run stop answering, as they would expire.
        format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
    });
    let handoff = HandoffLinks::new(HandoffSecrets::parse(&secret).map_err(StartError::Handoff)?, limits)
        .with_events(publisher.clone());
    let capture = Capture::new(store.clone(), queue.clone(), Arc::new(keys), clock.clone())
        .with_accounts(accounts)
        .with_handoff(handoff);
    // Versions saved and activated through the admin API (or `baton rules --table` on AWS/moto)
    // apply here too; until one is active, `options.ruleset` decides.
    let route = Route::new(store.clone(), publisher.clone(), options.ruleset.clone(), 0, counters, clock.clone())
        .with_ruleset_store(rulesets.clone(), Duration::from_secs(2));
    let admin = Admin::new(store.clone(), rulesets, vec![baton_admin::digest(&options.admin_token)], clock.clone())
        .with_events(publisher.clone())
        .with_metrics(metrics.clone());
    let notify = Notify::new(ledger, store.clone(), slack.clone(), clock.clone())
        .with_measure(Measure::new(store.clone(), metrics.clone(), clock.clone()))
        .with_webhooks(Arc::new(HttpWebhooks::new()), subscribers)
        .with_alerts(publisher.clone());
    let actions = Actions::new(store.clone(), publisher.clone(), slack, signing_secret.clone(), clock.clone());
    let sweep = Sweep::new(store.clone(), queue.clone(), publisher, clock).with_reassignment(route.clone());

    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let local = LocalSlack { url: url.clone(), signing_secret, http: reqwest::Client::new(), store: store.clone() };
    tasks.spawn(serve(listener, Handlers { capture, admin, actions, local }, stopped.clone()));
    let activity = Arc::new(Activity::default());
    tasks.spawn(poll_route(queue.clone(), route, activity.clone(), stopped.clone()));
    tasks.spawn(feed_notify(feed, notify, activity.clone(), stopped.clone()));
    tasks.spawn(tick_sweep(sweep, options.sweep_every, activity.clone(), stopped));
    Ok(Running { url, store, metrics, queue, aws, stop, tasks, activity, backlog })
}

/// The HTTP handlers: capture for `/leads`, admin for `/admin/…`, actions for
/// `/slack/actions` (three APIs in AWS), and the local stand-ins for Slack and a subscriber.
#[derive(Clone)]
struct Handlers {
    capture: Capture,
    admin: Admin,
    actions: Actions,
    local: LocalSlack,
}

/// What the stand-in for Slack needs to play a rep pressing a button.
#[derive(Clone)]
struct LocalSlack {
    url: String,
    signing_secret: secrecy::SecretString,
    http: reqwest::Client,
    store: Arc<dyn LeadRepository>,
}

async fn serve(listener: tokio::net::TcpListener, handlers: Handlers, mut stopped: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/_local/slack", axum::routing::post(print_slack_message))
        .route("/_local/slack/api/chat.postMessage", axum::routing::post(local_post_message))
        .route("/_local/slack/response/{id}", axum::routing::post(print_slack_message))
        .route("/_local/slack/press", axum::routing::post(local_press).get(local_press))
        .route("/_local/webhook", axum::routing::post(local_webhook))
        .route("/slack/actions", axum::routing::post(to_actions))
        .route("/admin/{*rest}", axum::routing::any(to_admin))
        .route("/sample", axum::routing::get(sample_page))
        .fallback(to_capture)
        .with_state(handlers);
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "HTTP server stopped");
    }
}

async fn to_admin(State(h): State<Handlers>, request: axum::extract::Request) -> axum::response::Response {
    match to_lambda(request).await {
        Ok(request) => from_lambda(h.admin.handle(request).await),
        Err(refusal) => refusal,
    }
}

async fn to_actions(State(h): State<Handlers>, request: axum::extract::Request) -> axum::response::Response {
    match to_lambda(request).await {
        Ok(request) => from_lambda(h.actions.handle(request).await),
        Err(refusal) => refusal,
    }
}

/// The stand-in for `chat.postMessage`: prints the message and answers as Slack does.
async fn local_post_message(body: Bytes) -> axum::Json<serde_json::Value> {
    let message: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let channel = message["channel"].as_str().unwrap_or("(default channel)");
    tracing::info!(target: "slack", "to {channel}: {}", message["text"].as_str().unwrap_or_default());
    axum::Json(
        serde_json::json!({ "ok": true, "channel": channel, "ts": format!("{}.000100", chrono::Utc::now().timestamp()) }),
    )
}

/// Which button to press, as whom: `?lead=<id>&action=called[&user=U0AVERY001]` (default: the
/// lead's owner).
#[derive(serde::Deserialize)]
struct Press {
    lead: String,
    action: String,
    #[serde(default)]
    user: Option<String>,
}

/// Plays Slack delivering a button press: a signed `block_actions` request to `/slack/actions`,
/// whose message update comes back to this stand-in.
async fn local_press(State(h): State<Handlers>, uri: axum::http::Uri) -> axum::response::Response {
    let press: Press = match serde_urlencoded::from_str(uri.query().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("use ?lead=<id>&action=called[&user=U…]: {e}")).into_response();
        }
    };
    let local = &h.local;
    if secrecy::ExposeSecret::expose_secret(&local.signing_secret) != DEMO_SLACK_SIGNING_SECRET {
        // With a real signing secret this would sign anyone's press: off.
        return (StatusCode::NOT_FOUND, "the press helper is only on with the demo signing secret").into_response();
    }
    let owner = match baton_domain::LeadId::parse(&press.lead) {
        Ok(id) => {
            local.store.get(&id).await.ok().flatten().and_then(|l| l.decision().and_then(|d| d.owner.slack.clone()))
        }
        Err(_) => None,
    };
    let user = press.user.or(owner).unwrap_or_else(|| "U0LOCAL001".into());
    let payload = serde_json::json!({
        "type": "block_actions",
        "user": { "id": user },
        "response_url": format!("{}/_local/slack/response/{}", local.url, press.lead),
        "actions": [ { "type": "button", "action_id": format!("{}{}", baton_notify::message::ACTION_PREFIX, press.action), "value": press.lead } ],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default();
    let ts = chrono::Utc::now().timestamp();
    let signature = baton_actions::signature::sign(&local.signing_secret, ts, body.as_bytes());
    let sent = local
        .http
        .post(format!("{}/slack/actions", local.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) => (r.status(), r.text().await.unwrap_or_default()).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// The built-in webhook subscriber: checks the signature, then prints the event.
async fn local_webhook(headers: axum::http::HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let key = baton_adapters::webhook::SigningKey::parse(DEMO_WEBHOOK_SECRET).expect("the demo secret is valid");
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or_default();
    let expected = baton_adapters::webhook::sign(&key, &header("webhook-id"), timestamp, &body);
    if !header("webhook-signature").split(' ').any(|s| s == expected) {
        tracing::warn!(target: "webhook", "refused a webhook with a bad signature");
        return StatusCode::UNAUTHORIZED;
    }
    let event: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    tracing::info!(target: "webhook", "{} for lead {} (signature verified)", event["type"].as_str().unwrap_or("?"), event["data"]["lead"]["id"].as_str().unwrap_or("?"));
    StatusCode::NO_CONTENT
}

/// The sample page: a demo-request form with the snippet (`/baton.js`, served by capture).
async fn sample_page() -> axum::response::Response {
    axum::response::Response::builder()
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(axum::body::Body::from(SAMPLE_PAGE))
        .expect("valid parts")
}

/// The sample page (`infra/sample/form.html`), served at `/sample`.
pub const SAMPLE_PAGE: &str = include_str!("../../sample/form.html");

async fn to_capture(State(h): State<Handlers>, request: axum::extract::Request) -> axum::response::Response {
    match to_lambda(request).await {
        Ok(request) => from_lambda(h.capture.handle(request).await),
        Err(refusal) => refusal,
    }
}

/// An HTTP request as Lambda receives it through API Gateway (payload 2.0), parsed by `lambda_http`.
async fn to_lambda(request: axum::extract::Request) -> Result<lambda_http::Request, axum::response::Response> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, baton_capture::MAX_BODY_BYTES * 2)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response())?;
    lambda_http::request::from_str(&events::api_gateway_v2(&parts, &body).to_string()).map_err(|e| {
        (StatusCode::BAD_REQUEST, format!("cannot turn the request into an API Gateway event: {e}")).into_response()
    })
}

fn from_lambda(response: lambda_http::Response<lambda_http::Body>) -> axum::response::Response {
    let (parts, body) = response.into_parts();
    (parts, Bytes::copy_from_slice(body.as_ref())).into_response()
}

async fn print_slack_message(body: Bytes) -> StatusCode {
    let text = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["text"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    tracing::info!(target: "slack", "{text}");
    StatusCode::OK
}

async fn poll_route(
    queue: Arc<dyn WorkQueue>,
    route: Route,
    activity: Arc<Activity>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let received = tokio::select! {
            r = queue.receive(10, Duration::from_secs(1)) => r,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let messages = match received {
            Ok(m) if m.is_empty() => continue,
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot receive from the routing queue; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let _busy = Busy::new(&activity);
        let response = baton_route::handle(&route, events::sqs(&messages)).await;
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        for message in messages.iter().filter(|m| !failed.contains(&m.message_id.as_str())) {
            if let Err(e) = queue.delete(&message.receipt).await {
                tracing::warn!(error = %e, "cannot delete a routed message; it will be routed again (harmlessly)");
            }
        }
    }
}

async fn feed_notify(feed: NotifyFeed, notify: Notify, activity: Arc<Activity>, mut stopped: watch::Receiver<bool>) {
    match feed {
        NotifyFeed::InProcess(mut rx) => loop {
            let event = tokio::select! {
                e = rx.recv() => match e { Some(e) => e, None => return },
                _ = stopped.wait_for(|s| *s) => return,
            };
            let _busy = Busy::new(&activity);
            // Lambda retries a failed asynchronous invocation twice; do the same.
            for attempt in 1..=3 {
                match baton_notify::handle(
                    &notify,
                    events::sns_in_process(&event),
                    std::time::Instant::now() + NOTIFY_TIMEOUT,
                )
                .await
                {
                    Ok(_) => break,
                    Err(e) if attempt < 3 => {
                        tracing::warn!(error = %e, attempt, "notify failed; retrying");
                        tokio::time::sleep(Duration::from_secs(attempt)).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "notify failed three times; the event is dropped (Lambda would send it to the dead-letter queue)")
                    }
                }
            }
        },
        NotifyFeed::Queue(queue, subscription) => loop {
            let received = tokio::select! {
                r = queue.receive(10, Duration::from_secs(1)) => r,
                _ = stopped.wait_for(|s| *s) => return,
            };
            let messages = match received {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot receive from the notify queue; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let _busy = Busy::new(&activity);
            for message in messages {
                let event = match events::sns_from_envelope(&message.body, &subscription) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::error!(error = %e, "not an SNS notification; leaving it for the dead-letter queue");
                        continue;
                    }
                };
                match baton_notify::handle(&notify, event, std::time::Instant::now() + NOTIFY_TIMEOUT).await {
                    Ok(_) => {
                        if let Err(e) = queue.delete(&message.receipt).await {
                            tracing::warn!(error = %e, "cannot delete a delivered event; its redelivery will be skipped as a duplicate");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, receive_count = message.receive_count, "notify failed; the event will be redelivered")
                    }
                }
            }
        },
    }
}

/// The time each notify invocation has, as the function's timeout in the template.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

async fn tick_sweep(sweep: Sweep, every: Duration, activity: Arc<Activity>, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        if let Err(e) = sweep.run().await {
            tracing::warn!(error = %e, "SLA sweep failed; it runs again at the next tick");
        }
        activity.sweeps.fetch_add(1, Ordering::SeqCst);
    }
}
