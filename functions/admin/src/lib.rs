//! Admin: the authenticated operator API, separate from the public capture path.
//!
//! Every request carries `Authorization: Bearer <token>`; the function knows only the tokens'
//! SHA-256 digests (`ADMIN_TOKEN_SHA256`, comma-separated), compared in constant time.
//!
//! | route | does |
//! |---|---|
//! | `GET /admin/leads/{id}` | the lead with its decision: rule, pool, skipped members and why, score reasons, ruleset version |
//! | `GET /admin/rulesets` | saved versions, the active one marked |
//! | `POST /admin/rulesets` | validate and save a ruleset (TOML, or JSON with `Content-Type: application/json`) as the next version |
//! | `GET /admin/rulesets/{version}` | one version, as JSON |
//! | `POST /admin/rulesets/{version}/activate` | make it the active version (rolling back is activating an older one) |
//! | `GET /admin/leads/{id}/task` | the owner's first-action task: action, due time, open / overdue / done |
//! | `POST /admin/leads/{id}/touches` | record one touch or outcome ([`baton_domain::outcome::Submission`]); the first touch completes the task and stops the SLA clock; a replay (same `external_id`) answers the first result with `Idempotent-Replayed: true` |
//! | `POST /admin/outcomes` | record up to [`MAX_BATCH`] events (`{"events": [...]}`, each naming its `lead_id`) in the order they happened, with a result per event |
//! | `POST /admin/outcomes/import` | a CSV export (`text/csv`): checked whole first (every problem as `row N.column`), then recorded; nothing is written unless every row is good |
//! | `GET /admin/metrics` | the handoff metrics for a date range: the whole team, a series per day/week/month, per value of each `by` dimension, and the leads at risk or breached now |
//! | `GET /admin/metrics/export` | the same slices as CSV |
//! | `GET /admin/leads/export` | lead-level CSV for a date range (or, with `format=jsonl`, a history for `baton simulate`), a page at a time, with its progress (`Baton-Export-Progress`) and the next page (`Link`) |
//! | `GET /admin/dashboard` | the dashboard page (a sign-in form without a session) |
//! | `POST /admin/session` | signs in with the admin token (form or JSON): an `HttpOnly`, `SameSite=Strict` session cookie that authenticates `GET` requests only |
//! | `POST /admin/session/end` | signs out |
//!
//! # Layout
//! - this file: [`Admin`] (the handler and its routes), [`AdminError`] (every refusal, as its
//!   [`Problem`]), [`Config`], and the session cookie;
//! - [`metrics`]: the metrics API and its CSV exports;
//! - `dashboard/`: the dashboard's page, sign-in page, script, style and icon, served as they are.

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
use baton_adapters::http::{self, Problem};
use baton_adapters::{Clock, EventPublisher, LeadRepository, MetricsStore, RulesetStore};
use baton_app::touch::{record_touch, record_touches};
use baton_domain::outcome::{self, MAX_BATCH, Submission};
use baton_domain::{FieldError, Lead, LeadId, Ruleset, Touch, Touched};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::Instrument;

pub mod metrics;

/// Admin's environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table.
    pub table_name: String,
    /// `ADMIN_TOKEN_SHA256`: hex SHA-256 digests of the accepted bearer tokens, comma-separated.
    pub token_digests: Vec<String>,
    /// `TOPIC_ARN`: where `lead.touched` is published for touches recorded through the API.
    pub topic_arn: String,
}

impl Config {
    /// Reads the configuration; fails naming the first missing or invalid variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let digests = parse_digests(&required("ADMIN_TOKEN_SHA256")?)
            .map_err(|reason| ConfigError::Invalid { name: "ADMIN_TOKEN_SHA256", reason })?;
        Ok(Self { table_name: required("TABLE_NAME")?, token_digests: digests, topic_arn: required("TOPIC_ARN")? })
    }
}

/// Parses comma-separated hex SHA-256 digests.
pub fn parse_digests(text: &str) -> Result<Vec<String>, String> {
    let digests: Vec<String> =
        text.split(',').map(|d| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty()).collect();
    if digests.is_empty() {
        return Err("no token digest given".into());
    }
    if let Some(bad) = digests.iter().find(|d| d.len() != 64 || hex::decode(d).is_err()) {
        return Err(format!("`{bad}` is not a hex SHA-256 digest (64 hex digits)"));
    }
    Ok(digests)
}

/// The SHA-256 digest of a token, as configured in `ADMIN_TOKEN_SHA256`.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Why an admin request was refused: each variant is one [`Problem`] answer.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("send Authorization: Bearer <admin token>")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("`{0}` is not a lead id")]
    BadId(String),
    #[error("`{0}` is not a version number")]
    BadVersion(String),
    #[error("the event was not recorded")]
    BadTouch(Vec<FieldError>),
    #[error("the event was not recorded: it cannot have happened when it says")]
    Dated(FieldError),
    #[error("a batch has at most {MAX_BATCH} events; this one has {0}")]
    TooMany(usize),
    #[error("the import was not recorded: nothing was written")]
    BadImport(Vec<FieldError>),
    #[error("the import was not recorded: some rows do not fit their leads; nothing was written")]
    ImportRefused(Vec<FieldError>),
    #[error("lead {0} is {1}: touches are recorded only while it is with a rep")]
    NotOpen(LeadId, &'static str),
    #[error("lead {0} has no task: it is {1} (not assigned to a rep)")]
    NoTask(LeadId, &'static str),
    #[error("the query was not understood")]
    BadQuery(Vec<FieldError>),
    #[error("the metrics are not kept by this deployment")]
    NoMetrics,
    #[error("the ruleset must be UTF-8 text")]
    NotText,
    #[error("the ruleset was not saved")]
    InvalidRuleset(Vec<FieldError>),
    /// The store failed: 503 when a retry may succeed, 422 when it will not.
    #[error(transparent)]
    Store(#[from] baton_adapters::Error),
}

impl AdminError {
    /// The answer this refusal is.
    pub fn problem(&self) -> Problem {
        let message = self.to_string();
        match self {
            Self::Unauthorized => Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", message),
            Self::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, "not_found", message),
            Self::BadId(_) => Problem::new(StatusCode::BAD_REQUEST, "bad_id", message),
            Self::BadVersion(_) => Problem::new(StatusCode::BAD_REQUEST, "bad_version", message),
            Self::BadTouch(errors) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad_touch", message).with_errors(errors.clone())
            }
            Self::Dated(e) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_time", message).with_errors(vec![e.clone()])
            }
            Self::TooMany(_) => Problem::new(StatusCode::BAD_REQUEST, "too_many", message)
                .with_errors(vec![FieldError::new("events", format!("at most {MAX_BATCH}"))]),
            Self::BadImport(errors) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad_import", message).with_errors(errors.clone())
            }
            Self::ImportRefused(errors) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "import_refused", message).with_errors(errors.clone())
            }
            Self::NotOpen(..) => Problem::new(StatusCode::CONFLICT, "not_open", message),
            Self::NoTask(..) => Problem::new(StatusCode::NOT_FOUND, "no_task", message),
            Self::NotText => Problem::new(StatusCode::BAD_REQUEST, "not_text", message),
            Self::BadQuery(errors) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad_query", message).with_errors(errors.clone())
            }
            Self::NoMetrics => Problem::new(StatusCode::NOT_FOUND, "no_metrics", message),
            Self::InvalidRuleset(errors) => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_ruleset", message).with_errors(errors.clone())
            }
            Self::Store(e) if e.is_retryable() => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "store_error", message),
            Self::Store(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "store_error", message),
        }
    }
}

pub(crate) fn respond(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    http::json(status, &body)
}

fn lead_id(text: &str) -> Result<LeadId, AdminError> {
    LeadId::parse(text).map_err(|_| AdminError::BadId(text.to_owned()))
}

/// A version number from a path.
fn parse_version(text: &str) -> Result<u32, AdminError> {
    text.parse::<u32>().map_err(|_| AdminError::BadVersion(text.to_owned()))
}

/// The admin handler and what it needs.
#[derive(Clone)]
pub struct Admin {
    leads: Arc<dyn LeadRepository>,
    rulesets: Arc<dyn RulesetStore>,
    token_digests: Arc<Vec<String>>,
    clock: Arc<dyn Clock>,
    events: Option<Arc<dyn EventPublisher>>,
    metrics: Option<Arc<dyn MetricsStore>>,
}

/// The session cookie's name; its value is the admin token, hex-encoded.
pub const SESSION_COOKIE: &str = "baton_admin";
/// How long a session lasts.
pub const SESSION_SECONDS: u32 = 8 * 3600;

const DASHBOARD_HTML: &str = include_str!("dashboard/index.html");
const LOGIN_HTML: &str = include_str!("dashboard/login.html");
const DASHBOARD_JS: &str = include_str!("dashboard/app.js");
const DASHBOARD_CSS: &str = include_str!("dashboard/app.css");
const DASHBOARD_ICON: &str = include_str!("dashboard/icon.svg");
/// The pages load only their own script and style, and talk only to this origin.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn asset(status: StatusCode, content_type: &'static str, body: &str) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_owned()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", header::HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(PAGE_POLICY));
    response
}

/// The sign-in page, with `message` under the form (HTML-escaped).
fn login_page(status: StatusCode, message: &str) -> Response<Body> {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    asset(status, "text/html; charset=utf-8", &LOGIN_HTML.replace("{{message}}", &escaped))
}

/// An empty answer with `status` that sets (or clears) the session cookie.
fn with_cookie(status: StatusCode, cookie: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// A `303 See Other` to the dashboard, setting (or clearing) the session cookie.
fn to_dashboard(cookie: String) -> Response<Body> {
    let mut response = with_cookie(StatusCode::SEE_OTHER, &cookie);
    response.headers_mut().insert(header::LOCATION, header::HeaderValue::from_static("/admin/dashboard"));
    response
}

/// Whether the request came to this machine by name (`localhost`, a loopback address): the only
/// place a session cookie may go without `Secure` (plain HTTP on `baton-local`).
fn loopback(request: &Request) -> bool {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let name =
        host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(n, _)| n);
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

fn session_cookie(request: &Request, value: &str, max_age: u32) -> String {
    let secure = if loopback(request) { "" } else { "; Secure" };
    format!("{SESSION_COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// The admin token a request's session cookie holds, if any.
fn cookie_token(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| hex::decode(value).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

/// The body of `POST /admin/session`.
#[derive(serde::Deserialize)]
struct SignIn {
    token: String,
}

/// The body of `POST /admin/outcomes`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<serde_json::Value>,
}

/// Parses a JSON body into `T`; a problem names the field (`body` for the whole document).
fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8], prefix: &str) -> Result<T, FieldError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix, path.as_str()) {
            ("", ".") => "body".to_owned(),
            (p, ".") => p.to_owned(),
            ("", path) => path.to_owned(),
            (p, path) => format!("{p}.{path}"),
        };
        FieldError::new(field, e.inner().to_string())
    })
}

/// The answer for one recorded (or refused) event, as the single route and each batch item
/// report it: the HTTP status, and the body.
fn touch_result(id: &LeadId, touch: &Touch, outcome: Touched) -> (StatusCode, serde_json::Value) {
    // The first touch is the earliest that stops the clock (of equal times, the one recorded first).
    let first_of = |lead: &Lead, t: &Touch| {
        lead.touches
            .iter()
            .find(|s| s.kind.stops_the_clock() && Some(s.at) == lead.touched_at())
            .is_some_and(|s| s.same_event(t))
    };
    match outcome {
        Touched::First(lead) | Touched::Again(lead) => {
            let first = first_of(&lead, touch);
            (StatusCode::CREATED, json!({ "first": first, "replayed": false, "touch": touch, "lead": lead }))
        }
        Touched::Replayed(lead) => {
            // The first result again: the event as it was recorded then.
            let stored = lead.touches.iter().find(|t| t.same_event(touch)).cloned().unwrap_or_else(|| touch.clone());
            let first = first_of(&lead, &stored);
            (StatusCode::CREATED, json!({ "first": first, "replayed": true, "touch": stored, "lead": lead }))
        }
        Touched::NotOpen(lead) => AdminError::NotOpen(id.clone(), lead.status().as_str()).problem().parts(),
        Touched::BeforeCapture(lead) => {
            let e = FieldError::new("occurred_at", outcome::before_capture(touch.at, lead.captured_at));
            AdminError::Dated(e).problem().parts()
        }
        Touched::Missing => AdminError::NotFound(format!("no lead {id}")).problem().parts(),
    }
}

impl Admin {
    pub fn new(
        leads: Arc<dyn LeadRepository>,
        rulesets: Arc<dyn RulesetStore>,
        token_digests: Vec<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { leads, rulesets, token_digests: Arc::new(token_digests), clock, events: None, metrics: None }
    }

    /// Serves the metrics routes and the dashboard from `metrics` (without it, they answer 404).
    pub fn with_metrics(mut self, metrics: Arc<dyn MetricsStore>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Publishes `lead.touched` for touches recorded through the API (without it, touches are
    /// recorded but not announced).
    pub fn with_events(mut self, events: Arc<dyn EventPublisher>) -> Self {
        self.events = Some(events);
        self
    }

    /// Whether the request carries an admin token: as `Authorization: Bearer`, or, for a `GET`
    /// only, in the session cookie (a cookie never authorizes a change).
    fn authorized(&self, request: &Request) -> bool {
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned());
        let cookie = || (request.method() == Method::GET).then(|| cookie_token(request)).flatten();
        match bearer.or_else(cookie) {
            Some(token) => self.accepts(&token),
            None => false,
        }
    }

    /// Whether `token` is one of the admin tokens.
    fn accepts(&self, token: &str) -> bool {
        if token.is_empty() {
            return false;
        }
        let presented = digest(token);
        // Every digest is compared in full, whichever matches.
        self.token_digests.iter().fold(false, |found, d| {
            found
                | (d.len() == presented.len()
                    && d.bytes().zip(presented.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
        })
    }

    /// Answers one request. Never fails: every outcome is an HTTP response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let path = request.uri().path().trim_end_matches('/').to_owned();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method().clone();
        // The pages and the sign-in hold no data: they answer without a token.
        match (&method, parts.as_slice()) {
            (&Method::GET, ["admin", "dashboard"]) => {
                return if self.authorized(&request) {
                    asset(StatusCode::OK, "text/html; charset=utf-8", DASHBOARD_HTML)
                } else {
                    login_page(StatusCode::OK, "Sign in with an admin token to see the dashboard.")
                };
            }
            (&Method::GET, ["admin", "dashboard", "app.js"]) => {
                return asset(StatusCode::OK, "text/javascript; charset=utf-8", DASHBOARD_JS);
            }
            (&Method::GET, ["admin", "dashboard", "app.css"]) => {
                return asset(StatusCode::OK, "text/css; charset=utf-8", DASHBOARD_CSS);
            }
            (&Method::GET, ["admin", "dashboard", "icon.svg"]) => {
                return asset(StatusCode::OK, "image/svg+xml", DASHBOARD_ICON);
            }
            (&Method::POST, ["admin", "session"]) => return self.sign_in(&request),
            (&Method::POST, ["admin", "session", "end"]) => {
                return to_dashboard(session_cookie(&request, "", 0));
            }
            _ => {}
        }
        if !self.authorized(&request) {
            return AdminError::Unauthorized.problem().into_response();
        }
        let result = match (method, parts.as_slice()) {
            (Method::GET, ["admin", "metrics"]) => self.metrics(&request, metrics::Route::Report).await,
            (Method::GET, ["admin", "metrics", "export"]) => self.metrics(&request, metrics::Route::Slices).await,
            (Method::GET, ["admin", "leads", "export"]) => self.metrics(&request, metrics::Route::Leads).await,
            (Method::GET, ["admin", "leads", id]) => self.lead(id).await,
            (Method::GET, ["admin", "leads", id, "task"]) => self.task(id).await,
            (Method::GET, ["admin", "leads", id, "duplicates"]) => self.duplicates(id).await,
            (Method::POST, ["admin", "leads", id, "touches"]) => self.touch(id, &request).await,
            (Method::POST, ["admin", "outcomes"]) => self.outcomes(&request).await,
            (Method::POST, ["admin", "outcomes", "import"]) => self.import(&request).await,
            (Method::GET, ["admin", "rulesets"]) => self.list().await,
            (Method::POST, ["admin", "rulesets"]) => self.upload(&request).await,
            (Method::GET, ["admin", "rulesets", version]) => self.version(version).await,
            (Method::POST, ["admin", "rulesets", version, "activate"]) => self.activate(version).await,
            _ => Err(AdminError::NotFound(format!("no admin route for `{path}`"))),
        };
        result.unwrap_or_else(|e| {
            if let AdminError::Store(cause) = &e {
                tracing::error!(error = %cause, "admin request failed");
            }
            e.problem().into_response()
        })
    }

    /// `POST /admin/session`: a form (from the sign-in page: a redirect to the dashboard, or
    /// the page again with the reason) or JSON (`204`, or a problem).
    fn sign_in(&self, request: &Request) -> Response<Body> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        let body = request.body().as_ref();
        let token = if json {
            parse_body::<SignIn>(body, "").map(|s| s.token).ok()
        } else {
            serde_urlencoded::from_bytes::<SignIn>(body).map(|s| s.token).ok()
        };
        let token = token.map(|t| t.trim().to_owned()).unwrap_or_default();
        if !self.accepts(&token) {
            tracing::warn!("a sign-in with a token that is not an admin token");
            return if json {
                AdminError::Unauthorized.problem().into_response()
            } else {
                login_page(StatusCode::UNAUTHORIZED, "That is not an admin token.")
            };
        }
        let cookie = session_cookie(request, &hex::encode(token.as_bytes()), SESSION_SECONDS);
        if json { with_cookie(StatusCode::NO_CONTENT, &cookie) } else { to_dashboard(cookie) }
    }

    async fn metrics(&self, request: &Request, route: metrics::Route) -> Result<Response<Body>, AdminError> {
        use lambda_http::RequestExt;
        let store = self.metrics.as_deref().ok_or(AdminError::NoMetrics)?;
        let params: std::collections::HashMap<String, String> = request
            .query_string_parameters_ref()
            .map(|q| q.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
            .unwrap_or_default();
        let now = self.clock.now();
        let query = metrics::Query::parse(&params, now.date_naive())?;
        match route {
            metrics::Route::Report => metrics::report(store, self.leads.as_ref(), now, &query).await,
            metrics::Route::Slices => metrics::export_slices(store, &query).await,
            metrics::Route::Leads => metrics::export_leads(store, self.leads.as_ref(), &query).await,
        }
    }

    async fn lead(&self, id: &str) -> Result<Response<Body>, AdminError> {
        let id = lead_id(id)?;
        match self.leads.get(&id).await? {
            Some(lead) => Ok(respond(StatusCode::OK, serde_json::to_value(&lead).unwrap_or_default())),
            None => Err(AdminError::NotFound(format!("no lead {id}"))),
        }
    }

    /// The lead's possible duplicates: those recorded when it was captured, and those captured
    /// after it (found through its match keys), each with the reasons. Nothing is merged.
    async fn duplicates(&self, id: &str) -> Result<Response<Body>, AdminError> {
        let id = lead_id(id)?;
        let lead = self.leads.get(&id).await?.ok_or_else(|| AdminError::NotFound(format!("no lead {id}")))?;
        let similar = self.leads.similar(&lead, baton_domain::duplicate::MAX_POSSIBLE_DUPLICATES).await?;
        let found = lead.with_possible_duplicates(&similar).possible_duplicates;
        let body: Vec<serde_json::Value> = found
            .iter()
            .map(|d| json!({ "lead_id": d.lead_id, "name": d.name, "reasons": d.reasons, "explanation": d.explain() }))
            .collect();
        Ok(respond(StatusCode::OK, json!({ "lead_id": id, "possible_duplicates": body })))
    }

    async fn task(&self, id: &str) -> Result<Response<Body>, AdminError> {
        let id = lead_id(id)?;
        let lead = self.leads.get(&id).await?.ok_or_else(|| AdminError::NotFound(format!("no lead {id}")))?;
        match lead.task(self.clock.now()) {
            Some(task) => Ok(respond(StatusCode::OK, serde_json::to_value(&task).unwrap_or_default())),
            None => Err(AdminError::NoTask(id, lead.status().as_str())),
        }
    }

    async fn touch(&self, id: &str, request: &Request) -> Result<Response<Body>, AdminError> {
        let id = lead_id(id)?;
        let submission: Submission =
            parse_body(request.body().as_ref(), "").map_err(|e| AdminError::BadTouch(vec![e]))?;
        if submission.lead_id.as_deref().is_some_and(|named| LeadId::parse(named).ok().as_ref() != Some(&id)) {
            let e = FieldError::new("lead_id", "must be absent or the lead in the path");
            return Err(AdminError::BadTouch(vec![e]));
        }
        let now = self.clock.now();
        let touch = submission.into_touch("api", now).map_err(AdminError::BadTouch)?.touch;
        if let Some(e) = outcome::dated(&touch, None, now) {
            return Err(AdminError::Dated(e));
        }
        let span = tracing::info_span!("admin_touch", lead_id = %id);
        let recorded =
            record_touch(self.leads.as_ref(), self.events.as_deref(), &id, touch.clone()).instrument(span).await?;
        let replayed = matches!(recorded, Touched::Replayed(_));
        let (status, body) = touch_result(&id, &touch, recorded);
        let mut response = respond(status, body);
        if replayed {
            response.headers_mut().insert("idempotent-replayed", header::HeaderValue::from_static("true"));
        }
        Ok(response)
    }

    /// `POST /admin/outcomes`: each event is parsed and checked on its own (a bad one is refused
    /// with its own result and does not hold up the rest), then the good ones are recorded in
    /// the order they happened. The answer lists one result per event, in the order sent.
    async fn outcomes(&self, request: &Request) -> Result<Response<Body>, AdminError> {
        let batch: Batch = parse_body(request.body().as_ref(), "").map_err(|e| AdminError::BadTouch(vec![e]))?;
        if batch.events.len() > MAX_BATCH {
            return Err(AdminError::TooMany(batch.events.len()));
        }
        let now = self.clock.now();
        let mut results: Vec<Option<serde_json::Value>> = vec![None; batch.events.len()];
        let mut checked = Vec::new();
        for (index, value) in batch.events.iter().enumerate() {
            let lead = value.get("lead_id").and_then(|v| v.as_str()).map(str::to_owned);
            let refuse = |e: AdminError| {
                let p = e.problem();
                let (status, body) = p.parts();
                json!({ "index": index, "lead_id": lead, "status": status.as_u16(), "problem": body })
            };
            let parsed = parse_body::<Submission>(value.to_string().as_bytes(), "")
                .map_err(|e| vec![e])
                .and_then(|s| s.into_touch("api", now));
            match parsed {
                Err(errors) => results[index] = Some(refuse(AdminError::BadTouch(errors))),
                Ok(outcome::Checked { lead_id: None, .. }) => {
                    let e = FieldError::new("lead_id", "is required in a batch: the lead the event is for");
                    results[index] = Some(refuse(AdminError::BadTouch(vec![e])));
                }
                Ok(outcome::Checked { lead_id: Some(id), touch }) => match outcome::dated(&touch, None, now) {
                    Some(e) => results[index] = Some(refuse(AdminError::Dated(e))),
                    None => checked.push((index, id, touch)),
                },
            }
        }
        let events: Vec<(LeadId, Touch)> = checked.iter().map(|(_, id, t)| (id.clone(), t.clone())).collect();
        let span = tracing::info_span!("admin_outcomes", events = batch.events.len());
        let recorded = record_touches(self.leads.as_ref(), self.events.as_deref(), events).instrument(span).await;
        for ((index, id, touch), outcome) in checked.into_iter().zip(recorded) {
            let (status, body) = match outcome {
                Ok(touched) => touch_result(&id, &touch, touched),
                Err(e) => {
                    tracing::error!(error = %e, lead_id = %id, "an event of a batch failed");
                    AdminError::Store(e).problem().parts()
                }
            };
            let mut result = json!({ "index": index, "lead_id": id, "status": status.as_u16() });
            if status.is_success() {
                result["first"] = body["first"].clone();
                result["replayed"] = body["replayed"].clone();
                result["touch"] = body["touch"].clone();
            } else {
                result["problem"] = body;
            }
            results[index] = Some(result);
        }
        let results: Vec<serde_json::Value> = results.into_iter().flatten().collect();
        let count = |f: &dyn Fn(&serde_json::Value) -> bool| results.iter().filter(|r| f(r)).count();
        let summary = json!({
            "recorded": count(&|r| r["status"] == 201 && r["replayed"] == false),
            "replayed": count(&|r| r["replayed"] == true),
            "refused": count(&|r| r["status"] != 201),
        });
        Ok(respond(StatusCode::OK, json!({ "summary": summary, "results": results })))
    }

    /// `POST /admin/outcomes/import`: the CSV is parsed and checked whole (its format, then every
    /// row against its lead, in the order things happened) before anything is written; then each
    /// row is recorded in time order. Rows already recorded (a file imported again) are replays.
    async fn import(&self, request: &Request) -> Result<Response<Body>, AdminError> {
        let text = std::str::from_utf8(request.body().as_ref())
            .map_err(|_| AdminError::BadImport(vec![FieldError::new("body", "the import must be UTF-8 CSV text")]))?;
        let now = self.clock.now();
        let rows = outcome::parse_import(text, now).map_err(AdminError::BadImport)?;
        let mut leads = std::collections::HashMap::new();
        for row in &rows {
            if !leads.contains_key(&row.lead_id)
                && let Some(lead) = self.leads.get(&row.lead_id).await?
            {
                leads.insert(row.lead_id.clone(), lead);
            }
        }
        let problems = outcome::check_import(&rows, &leads);
        if !problems.is_empty() {
            return Err(AdminError::ImportRefused(problems));
        }
        let events: Vec<(LeadId, Touch)> = rows.iter().map(|r| (r.lead_id.clone(), r.touch.clone())).collect();
        let span = tracing::info_span!("admin_import", rows = rows.len());
        let recorded = record_touches(self.leads.as_ref(), self.events.as_deref(), events).instrument(span).await;
        let mut results = Vec::new();
        for (row, outcome) in rows.iter().zip(recorded) {
            let (status, body) = match outcome {
                Ok(touched) => touch_result(&row.lead_id, &row.touch, touched),
                Err(e) => AdminError::Store(e).problem().parts(),
            };
            let mut result = json!({ "row": row.row, "lead_id": row.lead_id, "status": status.as_u16() });
            if status.is_success() {
                result["first"] = body["first"].clone();
                result["replayed"] = body["replayed"].clone();
            } else {
                result["problem"] = body;
            }
            results.push(result);
        }
        let count = |f: &dyn Fn(&serde_json::Value) -> bool| results.iter().filter(|r| f(r)).count();
        let summary = json!({
            "rows": results.len(),
            "recorded": count(&|r| r["status"] == 201 && r["replayed"] == false),
            "replayed": count(&|r| r["replayed"] == true),
            "failed": count(&|r| r["status"] != 201),
        });
        tracing::info!(rows = results.len(), "outcome import recorded");
        Ok(respond(StatusCode::OK, json!({ "summary": summary, "results": results })))
    }

    async fn list(&self) -> Result<Response<Body>, AdminError> {
        let versions: Vec<serde_json::Value> = self
            .rulesets
            .list()
            .await?
            .into_iter()
            .map(|v| json!({ "version": v.version, "name": v.name, "saved_at": v.saved_at, "active": v.active }))
            .collect();
        Ok(respond(StatusCode::OK, json!({ "versions": versions })))
    }

    async fn upload(&self, request: &Request) -> Result<Response<Body>, AdminError> {
        let text = std::str::from_utf8(request.body().as_ref()).map_err(|_| AdminError::NotText)?;
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        let parsed = if json { Ruleset::parse_json(text) } else { Ruleset::parse_toml(text) };
        let ruleset = parsed.map_err(AdminError::InvalidRuleset)?;
        let version = self.rulesets.save(&ruleset, self.clock.now()).await?;
        tracing::info!(version, name = %ruleset.name, "ruleset saved");
        Ok(respond(StatusCode::CREATED, json!({ "version": version, "name": ruleset.name, "active": false })))
    }

    async fn version(&self, version: &str) -> Result<Response<Body>, AdminError> {
        let n = parse_version(version)?;
        match self.rulesets.load(n).await? {
            Some(r) => Ok(respond(StatusCode::OK, serde_json::to_value(&r).unwrap_or_default())),
            None => Err(AdminError::NotFound(format!("no ruleset version {n}"))),
        }
    }

    async fn activate(&self, version: &str) -> Result<Response<Body>, AdminError> {
        let n = parse_version(version)?;
        if !self.rulesets.activate(n).await? {
            return Err(AdminError::NotFound(format!("no ruleset version {n}")));
        }
        tracing::info!(version = n, "ruleset activated");
        Ok(respond(StatusCode::OK, json!({ "version": n, "active": true })))
    }
}
