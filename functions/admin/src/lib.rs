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
//! | `POST /admin/leads/{id}/touches` | record what the owner did (`{"kind": "called", "by": "…"}`); the first touch completes the task and stops the SLA clock |
//!
//! # Layout
//! Everything is in this file: [`Admin`] (the handler), [`AdminError`] (every refusal, as its
//! [`Problem`]) and [`Config`].

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
use baton_adapters::http::{self, Problem};
use baton_adapters::{Clock, EventPublisher, LeadRepository, RulesetStore};
use baton_app::touch::record_touch;
use baton_domain::{FieldError, LeadId, Ruleset, Touch, TouchKind, Touched};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::Instrument;

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
    #[error("the touch was not recorded")]
    BadTouch(FieldError),
    #[error("lead {0} is {1}: touches are recorded only while it is with a rep")]
    NotOpen(LeadId, &'static str),
    #[error("lead {0} has no task: it is {1} (not assigned to a rep)")]
    NoTask(LeadId, &'static str),
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
            Self::BadTouch(e) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad_touch", message).with_errors(vec![e.clone()])
            }
            Self::NotOpen(..) => Problem::new(StatusCode::CONFLICT, "not_open", message),
            Self::NoTask(..) => Problem::new(StatusCode::NOT_FOUND, "no_task", message),
            Self::NotText => Problem::new(StatusCode::BAD_REQUEST, "not_text", message),
            Self::InvalidRuleset(errors) => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_ruleset", message).with_errors(errors.clone())
            }
            Self::Store(e) if e.is_retryable() => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "store_error", message),
            Self::Store(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "store_error", message),
        }
    }
}

fn respond(status: StatusCode, body: serde_json::Value) -> Response<Body> {
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
}

/// The body of `POST /admin/leads/{id}/touches`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TouchRequest {
    kind: TouchKind,
    by: String,
    #[serde(default)]
    note: Option<String>,
}

impl Admin {
    pub fn new(
        leads: Arc<dyn LeadRepository>,
        rulesets: Arc<dyn RulesetStore>,
        token_digests: Vec<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { leads, rulesets, token_digests: Arc::new(token_digests), clock, events: None }
    }

    /// Publishes `lead.touched` for touches recorded through the API (without it, touches are
    /// recorded but not announced).
    pub fn with_events(mut self, events: Arc<dyn EventPublisher>) -> Self {
        self.events = Some(events);
        self
    }

    fn authorized(&self, request: &Request) -> bool {
        let Some(token) = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
        else {
            return false;
        };
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
        if !self.authorized(&request) {
            return AdminError::Unauthorized.problem().into_response();
        }
        let path = request.uri().path().trim_end_matches('/').to_owned();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method().clone();
        let result = match (method, parts.as_slice()) {
            (Method::GET, ["admin", "leads", id]) => self.lead(id).await,
            (Method::GET, ["admin", "leads", id, "task"]) => self.task(id).await,
            (Method::GET, ["admin", "leads", id, "duplicates"]) => self.duplicates(id).await,
            (Method::POST, ["admin", "leads", id, "touches"]) => self.touch(id, &request).await,
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
        let deserializer = &mut serde_json::Deserializer::from_slice(request.body().as_ref());
        let body: TouchRequest = match serde_path_to_error::deserialize(deserializer) {
            Ok(b) => b,
            Err(e) => {
                let field = e.path().to_string();
                let field = if field == "." { "body".into() } else { field };
                return Err(AdminError::BadTouch(FieldError::new(field, e.inner().to_string())));
            }
        };
        if body.by.trim().is_empty() {
            return Err(AdminError::BadTouch(FieldError::new("by", "who acted must not be blank")));
        }
        if body.by.trim().chars().count() > baton_domain::contract::MAX_SHORT_TEXT {
            let limit = baton_domain::contract::MAX_SHORT_TEXT;
            return Err(AdminError::BadTouch(FieldError::new("by", format!("is longer than {limit} characters"))));
        }
        let mut touch = Touch::new(body.kind, self.clock.now(), body.by.trim(), "api");
        touch.note = body.note.filter(|n| !n.trim().is_empty()).map(|n| n.chars().take(1000).collect());
        let span = tracing::info_span!("admin_touch", lead_id = %id);
        let outcome = record_touch(self.leads.as_ref(), self.events.as_deref(), &id, touch).instrument(span).await?;
        Ok(match outcome {
            Touched::First(lead) => respond(StatusCode::CREATED, json!({ "first": true, "lead": lead })),
            Touched::Again(lead) => respond(StatusCode::CREATED, json!({ "first": false, "lead": lead })),
            Touched::NotOpen(lead) => return Err(AdminError::NotOpen(id, lead.status().as_str())),
            Touched::Missing => return Err(AdminError::NotFound(format!("no lead {id}"))),
        })
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
