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
//! Everything is in this file: [`Admin`] (the handler) and [`Config`].

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
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

fn respond(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .expect("a response built from valid parts")
}

fn problem(status: StatusCode, error: &str, message: &str, errors: &[FieldError]) -> Response<Body> {
    respond(status, json!({ "error": error, "message": message, "errors": errors }))
}

/// A version number from a path, or the 400 that says it is not one.
fn parse_version(text: &str) -> Result<u32, Box<Response<Body>>> {
    text.parse::<u32>().map_err(|_| {
        Box::new(problem(StatusCode::BAD_REQUEST, "bad_version", &format!("`{text}` is not a version number"), &[]))
    })
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
            return problem(StatusCode::UNAUTHORIZED, "unauthorized", "send Authorization: Bearer <admin token>", &[]);
        }
        let path = request.uri().path().trim_end_matches('/').to_owned();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method().clone();
        let result = match (method, parts.as_slice()) {
            (Method::GET, ["admin", "leads", id]) => self.lead(id).await,
            (Method::GET, ["admin", "leads", id, "task"]) => self.task(id).await,
            (Method::POST, ["admin", "leads", id, "touches"]) => self.touch(id, &request).await,
            (Method::GET, ["admin", "rulesets"]) => self.list().await,
            (Method::POST, ["admin", "rulesets"]) => self.upload(&request).await,
            (Method::GET, ["admin", "rulesets", version]) => self.version(version).await,
            (Method::POST, ["admin", "rulesets", version, "activate"]) => self.activate(version).await,
            _ => Ok(problem(StatusCode::NOT_FOUND, "not_found", &format!("no admin route for `{path}`"), &[])),
        };
        result.unwrap_or_else(|e| {
            tracing::error!(error = %e, "admin request failed");
            let status =
                if e.is_retryable() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::UNPROCESSABLE_ENTITY };
            problem(status, "store_error", &e.to_string(), &[])
        })
    }

    async fn lead(&self, id: &str) -> Result<Response<Body>, baton_adapters::Error> {
        let Ok(id) = LeadId::parse(id) else {
            return Ok(problem(StatusCode::BAD_REQUEST, "bad_id", &format!("`{id}` is not a lead id"), &[]));
        };
        Ok(match self.leads.get(&id).await? {
            Some(lead) => respond(StatusCode::OK, serde_json::to_value(&lead).unwrap_or_default()),
            None => problem(StatusCode::NOT_FOUND, "not_found", &format!("no lead {id}"), &[]),
        })
    }

    async fn task(&self, id: &str) -> Result<Response<Body>, baton_adapters::Error> {
        let Ok(id) = LeadId::parse(id) else {
            return Ok(problem(StatusCode::BAD_REQUEST, "bad_id", &format!("`{id}` is not a lead id"), &[]));
        };
        Ok(match self.leads.get(&id).await? {
            None => problem(StatusCode::NOT_FOUND, "not_found", &format!("no lead {id}"), &[]),
            Some(lead) => match lead.task(self.clock.now()) {
                Some(task) => respond(StatusCode::OK, serde_json::to_value(&task).unwrap_or_default()),
                None => problem(
                    StatusCode::NOT_FOUND,
                    "no_task",
                    &format!("lead {id} has no task: it is {} (not assigned to a rep)", lead.status().as_str()),
                    &[],
                ),
            },
        })
    }

    async fn touch(&self, id: &str, request: &Request) -> Result<Response<Body>, baton_adapters::Error> {
        let Ok(id) = LeadId::parse(id) else {
            return Ok(problem(StatusCode::BAD_REQUEST, "bad_id", &format!("`{id}` is not a lead id"), &[]));
        };
        let deserializer = &mut serde_json::Deserializer::from_slice(request.body().as_ref());
        let body: TouchRequest = match serde_path_to_error::deserialize(deserializer) {
            Ok(b) => b,
            Err(e) => {
                let field = e.path().to_string();
                let error = FieldError {
                    field: if field == "." { "body".into() } else { field },
                    message: e.inner().to_string(),
                };
                return Ok(problem(StatusCode::BAD_REQUEST, "bad_touch", "the touch was not recorded", &[error]));
            }
        };
        if body.by.trim().is_empty() {
            let error = FieldError { field: "by".into(), message: "who acted must not be blank".into() };
            return Ok(problem(StatusCode::BAD_REQUEST, "bad_touch", "the touch was not recorded", &[error]));
        }
        let mut touch = Touch::new(body.kind, self.clock.now(), body.by.trim(), "api");
        touch.note = body.note.filter(|n| !n.trim().is_empty()).map(|n| n.chars().take(1000).collect());
        let span = tracing::info_span!("admin_touch", lead_id = %id);
        let outcome = record_touch(self.leads.as_ref(), self.events.as_deref(), &id, touch).instrument(span).await?;
        Ok(match outcome {
            Touched::First(lead) => respond(StatusCode::CREATED, json!({ "first": true, "lead": lead })),
            Touched::Again(lead) => respond(StatusCode::CREATED, json!({ "first": false, "lead": lead })),
            Touched::NotOpen(lead) => problem(
                StatusCode::CONFLICT,
                "not_open",
                &format!("lead {id} is {}: touches are recorded only while it is with a rep", lead.status().as_str()),
                &[],
            ),
            Touched::Missing => problem(StatusCode::NOT_FOUND, "not_found", &format!("no lead {id}"), &[]),
        })
    }

    async fn list(&self) -> Result<Response<Body>, baton_adapters::Error> {
        let versions: Vec<serde_json::Value> = self
            .rulesets
            .list()
            .await?
            .into_iter()
            .map(|v| json!({ "version": v.version, "name": v.name, "saved_at": v.saved_at, "active": v.active }))
            .collect();
        Ok(respond(StatusCode::OK, json!({ "versions": versions })))
    }

    async fn upload(&self, request: &Request) -> Result<Response<Body>, baton_adapters::Error> {
        let Ok(text) = std::str::from_utf8(request.body().as_ref()) else {
            return Ok(problem(StatusCode::BAD_REQUEST, "not_text", "the ruleset must be UTF-8 text", &[]));
        };
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        let parsed = if json { Ruleset::parse_json(text) } else { Ruleset::parse_toml(text) };
        let ruleset = match parsed {
            Ok(r) => r,
            Err(errors) => {
                return Ok(problem(StatusCode::BAD_REQUEST, "invalid_ruleset", "the ruleset was not saved", &errors));
            }
        };
        let version = self.rulesets.save(&ruleset, self.clock.now()).await?;
        tracing::info!(version, name = %ruleset.name, "ruleset saved");
        Ok(respond(StatusCode::CREATED, json!({ "version": version, "name": ruleset.name, "active": false })))
    }

    async fn version(&self, version: &str) -> Result<Response<Body>, baton_adapters::Error> {
        let n = match parse_version(version) {
            Ok(n) => n,
            Err(refusal) => return Ok(*refusal),
        };
        Ok(match self.rulesets.load(n).await? {
            Some(r) => respond(StatusCode::OK, serde_json::to_value(&r).unwrap_or_default()),
            None => problem(StatusCode::NOT_FOUND, "not_found", &format!("no ruleset version {n}"), &[]),
        })
    }

    async fn activate(&self, version: &str) -> Result<Response<Body>, baton_adapters::Error> {
        let n = match parse_version(version) {
            Ok(n) => n,
            Err(refusal) => return Ok(*refusal),
        };
        Ok(if self.rulesets.activate(n).await? {
            tracing::info!(version = n, "ruleset activated");
            respond(StatusCode::OK, json!({ "version": n, "active": true }))
        } else {
            problem(StatusCode::NOT_FOUND, "not_found", &format!("no ruleset version {n}"), &[])
        })
    }
}
