//! Capture: `POST /leads` through API Gateway (HTTP API) → an authenticated, validated,
//! normalized lead, deduplicated, stored and queued for routing.
//!
//! The handler never fails and never panics on input: every request gets a JSON answer.
//! - `202` `{lead_id, status}`: stored (for signed integrations, `"merged": true` when it joined
//!   the person's existing lead; header `Idempotent-Replayed: true` when a retry returned the original answer).
//! - `400` `{error, message, errors: [{field, message}]}`: every problem with the submission.
//! - `401`/`403`: no, unknown or revoked capture key, bad signature, disallowed origin ([`keys`]).
//! - `404`/`405`/`413`/`415`: wrong route, method, size or content type.
//! - `422`: an idempotency key reused with a different body, or a lead the store cannot keep.
//! - `503` with `Retry-After`: the store is unavailable; nothing was written.
//!
//! A `202` to a form's public key also carries `handoff: {url, expires_at}`, the thank-you
//! page's link to the routed owner ([`handoff`]), when `HANDOFF_SECRET` is set.
//!
//! Bodies are JSON or `application/x-www-form-urlencoded` (plain HTML forms). Browsers get CORS
//! answers for the origins their key allows. A filled honeypot stores the lead as spam, never
//! routed, and answers as if it were accepted. If the queue is unavailable after the lead is
//! stored, the lead is still accepted: it waits for routing and the SLA sweep re-queues it.
//!
//! # Layout
//! - this file: [`Capture`] (the handler) and [`Config`] (its environment).
//! - [`keys`]: capture keys (public and HMAC-signed) and their checks.
//! - [`handoff`]: the thank-you page's link to where its lead stands (`/handoff/{token}`).
//! - `snippet/baton.js`: the form snippet, served at `GET /baton.js`.

pub mod handoff;
pub mod keys;

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
use baton_adapters::http::{self, Problem};
use baton_adapters::{AccountDirectory, Captured, Clock, Idempotency, LeadRepository, WorkQueue};
use baton_app::capture::CaptureLeads;
use baton_domain::{ContractError, FieldError, Lead, LeadId, LeadStatus, LeadSubmission};
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::handoff::HandoffLinks;
use crate::keys::{CaptureKeys, Credential};

/// The largest body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Capture's environment.
#[derive(Debug)]
pub struct Config {
    /// `TABLE_NAME`: the leads table.
    pub table_name: String,
    /// `QUEUE_URL`: the routing queue.
    pub queue_url: String,
    /// `CAPTURE_KEYS`: the forms' and integrations' keys, as JSON (see [`keys`]).
    pub keys: CaptureKeys,
}

impl Config {
    /// Reads the configuration, with the keys' JSON read by the caller (a secret: from SSM or
    /// `CAPTURE_KEYS`); fails naming the first missing or invalid setting.
    pub fn from_env(keys_json: &str) -> Result<Self, ConfigError> {
        let keys = CaptureKeys::from_json(keys_json)
            .map_err(|reason| ConfigError::Invalid { name: "CAPTURE_KEYS", reason })?;
        Ok(Self { table_name: required("TABLE_NAME")?, queue_url: required("QUEUE_URL")?, keys })
    }
}

/// The capture handler and what it needs.
#[derive(Clone)]
pub struct Capture {
    store: Arc<dyn LeadRepository>,
    leads: CaptureLeads,
    keys: Arc<CaptureKeys>,
    clock: Arc<dyn Clock>,
    handoff: Option<Arc<HandoffLinks>>,
}

/// The form snippet (`GET /baton.js`).
pub const SNIPPET: &str = include_str!("snippet/baton.js");

/// Why a request to capture was refused: each variant is one [`Problem`] answer.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no route for `{0}`; leads are posted to /leads")]
    NotFound(String),
    #[error("leads are submitted with POST")]
    MethodNotAllowed,
    #[error("send the lead as `application/json` or `application/x-www-form-urlencoded`")]
    UnsupportedMediaType,
    #[error("the body is {0} bytes; the limit is {MAX_BODY_BYTES}")]
    TooLarge(usize),
    /// No, unknown or unproven key (401), or a revoked key or disallowed origin (403).
    #[error(transparent)]
    Unauthorized(keys::AuthError),
    /// The body is not a lead (malformed) or not a valid one (invalid), every problem named.
    #[error(transparent)]
    Contract(ContractError),
    #[error("invalid lead: 1 problem(s)")]
    IdempotencyKeyTooLong,
    #[error(
        "this idempotency key was already used for lead {0} with a different body; use a new key for a new submission"
    )]
    KeyReused(LeadId),
    #[error("the lead could not be stored as submitted ({0}); retrying the same request will not help")]
    NotStorable(baton_adapters::Error),
    #[error("the lead could not be stored; nothing was saved, retry shortly")]
    Unavailable(baton_adapters::Error),
}

impl CaptureError {
    /// The answer this refusal is.
    pub fn problem(&self) -> Problem {
        let message = self.to_string();
        match self {
            Self::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, "not_found", message),
            Self::MethodNotAllowed => Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message)
                .with_header(header::ALLOW, "POST, OPTIONS"),
            Self::UnsupportedMediaType => {
                Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
            }
            Self::TooLarge(_) => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message),
            Self::Unauthorized(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
                let error = if status == StatusCode::FORBIDDEN { "forbidden" } else { "unauthorized" };
                Problem::new(status, error, message)
            }
            Self::Contract(e) => {
                let error = if matches!(e, ContractError::Malformed(_)) { "malformed_lead" } else { "invalid_lead" };
                Problem::new(StatusCode::BAD_REQUEST, error, message).with_errors(e.field_errors())
            }
            Self::IdempotencyKeyTooLong => Problem::new(StatusCode::BAD_REQUEST, "invalid_lead", message)
                .with_errors(vec![FieldError::new("Idempotency-Key", "is longer than 256 characters")]),
            Self::KeyReused(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", message),
            Self::NotStorable(_) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "not_storable", message),
            Self::Unavailable(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
                .with_header(header::RETRY_AFTER, "5"),
        }
    }
}

impl From<baton_adapters::Error> for CaptureError {
    fn from(e: baton_adapters::Error) -> Self {
        if e.is_retryable() { Self::Unavailable(e) } else { Self::NotStorable(e) }
    }
}

/// The body formats capture reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Form,
}

fn format_of(headers: &HeaderMap) -> Option<Format> {
    let essence = headers.get(header::CONTENT_TYPE)?.to_str().ok()?.split(';').next()?.trim().to_ascii_lowercase();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        Some(Format::Json)
    } else if essence == "application/x-www-form-urlencoded" {
        Some(Format::Form)
    } else {
        None
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The headers browsers need to read the answer, when `origin` may post leads.
fn cors(keys: &CaptureKeys, origin: Option<&str>, headers: &mut HeaderMap) {
    if let Some(origin) = origin
        && keys.allows_origin(origin)
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("idempotent-replayed"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
}

fn fingerprint(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The 202 answer. A public key is told the same for every submission (`captured`), so it
/// cannot be used to probe whether a person is known or where their lead stands; a signed
/// integration is told the lead's stage and whether the submission merged. `handoff` is the
/// thank-you page's link, for public keys.
fn accepted(lead: &Lead, merged: bool, signed: bool, handoff: Option<serde_json::Value>) -> Response<Body> {
    // A bot is told what a person would be told.
    let status = if !signed || lead.status() == LeadStatus::Spam { LeadStatus::Captured } else { lead.status() };
    let mut body = json!({ "lead_id": lead.id, "status": status });
    if merged && signed {
        body["merged"] = json!(true);
    }
    if let Some(handoff) = handoff {
        body["handoff"] = handoff;
    }
    http::json(StatusCode::ACCEPTED, &body)
}

impl Capture {
    pub fn new(
        store: Arc<dyn LeadRepository>,
        queue: Arc<dyn WorkQueue>,
        keys: Arc<CaptureKeys>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store: store.clone(), leads: CaptureLeads::new(store, queue), keys, clock, handoff: None }
    }

    /// Gives each `202` to a public key a handoff link ([`handoff`]), and answers those links.
    pub fn with_handoff(mut self, links: HandoffLinks) -> Self {
        self.handoff = Some(Arc::new(links));
        self
    }

    /// Matches each lead's company domain to these accounts, so it arrives with its account and owner.
    pub fn with_accounts(mut self, accounts: Arc<dyn AccountDirectory>) -> Self {
        self.leads = self.leads.with_accounts(accounts);
        self
    }

    /// Answers one API Gateway request. Never fails: every outcome is an HTTP response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let origin = header(request.headers(), "origin").map(str::to_owned);
        let path = request.uri().path().trim_end_matches('/').to_owned();
        if let Some(rest) = path.strip_prefix("/handoff/") {
            return self.handoff(&request, rest, origin.as_deref()).await;
        }
        if path == "/baton.js" {
            return snippet(&request);
        }
        let mut response = match self.route(&request, origin.as_deref()).await {
            Ok(response) => response,
            Err(e) => {
                match &e {
                    CaptureError::Unavailable(cause) => {
                        tracing::error!(error = %cause, "lead store unavailable; answering 503")
                    }
                    CaptureError::NotStorable(cause) => {
                        tracing::error!(error = %cause, "the store refused the lead; answering 422")
                    }
                    _ => {}
                }
                e.problem().into_response()
            }
        };
        cors(&self.keys, origin.as_deref(), response.headers_mut());
        response
    }

    async fn route(&self, request: &Request, origin: Option<&str>) -> Result<Response<Body>, CaptureError> {
        let path = request.uri().path().trim_end_matches('/');
        if path != "/leads" {
            return Err(CaptureError::NotFound(path.to_owned()));
        }
        if request.method() == Method::OPTIONS {
            let mut response =
                Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).expect("valid parts");
            if origin.is_some_and(|o| self.keys.allows_origin(o)) {
                let h = response.headers_mut();
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("content-type, x-baton-key, idempotency-key"),
                );
                h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            }
            return Ok(response);
        }
        if request.method() != Method::POST {
            return Err(CaptureError::MethodNotAllowed);
        }
        let format = format_of(request.headers()).ok_or(CaptureError::UnsupportedMediaType)?;
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return Err(CaptureError::TooLarge(body.len()));
        }
        self.capture(request, format, body, origin).await
    }

    async fn capture(
        &self,
        request: &Request,
        format: Format,
        body: &[u8],
        origin: Option<&str>,
    ) -> Result<Response<Body>, CaptureError> {
        let headers = request.headers();
        let query_key = request.query_string_parameters_ref().and_then(|q| q.first("key")).map(str::to_owned);
        let header_credential = match (header(headers, "x-baton-key-id"), header(headers, "x-baton-key")) {
            (Some(key_id), _) => Some(Credential::Signed {
                key_id,
                timestamp: header(headers, "x-baton-timestamp").unwrap_or_default(),
                signature: header(headers, "x-baton-signature").unwrap_or_default(),
            }),
            (None, Some(key)) => Some(Credential::Public(key)),
            (None, None) => query_key.as_deref().map(Credential::Public),
        };
        let now = self.clock.now();
        // Keys sent as headers are checked before the body is read; a form's `_key` after.
        let header_key = match header_credential {
            Some(credential) => Some(
                self.keys
                    .authenticate(Some(credential), body, origin, now.timestamp())
                    .map_err(CaptureError::Unauthorized)?,
            ),
            None => None,
        };
        let parsed = match format {
            Format::Json => LeadSubmission::from_json(body),
            Format::Form => LeadSubmission::from_form(body),
        };
        let submission = parsed.map_err(CaptureError::Contract)?;
        let key = match header_key {
            Some(key) => key,
            None => {
                let credential = submission.form_key.as_deref().map(Credential::Public);
                self.keys.authenticate(credential, body, origin, now.timestamp()).map_err(CaptureError::Unauthorized)?
            }
        };
        let idempotency_key =
            header(headers, "idempotency-key").or_else(|| submission.submission_id()).map(str::to_owned);
        let mut lead = submission.into_lead(LeadId::generate(), now).map_err(CaptureError::Contract)?;
        lead.source.key_id = Some(key.id.clone());
        if let Some(consent) = lead.consent.as_mut()
            && (consent.ip.is_none() || !key.is_signed())
        {
            // Only a signed integration may say where and when consent was given on its side;
            // through a public key, consent is what this request shows: its address, now.
            consent.ip = source_ip(request);
            if !key.is_signed() {
                consent.at = now;
            }
        }
        if let Some(consent) = lead.consent.as_mut() {
            consent.signed = key.is_signed();
        }
        lead.touchpoints.iter_mut().for_each(|t| {
            t.source.key_id = lead.source.key_id.clone();
            t.consent = lead.consent.clone();
        });
        if idempotency_key.as_ref().is_some_and(|k| k.chars().count() > 256) {
            return Err(CaptureError::IdempotencyKeyTooLong);
        }
        let idempotency =
            idempotency_key.map(|k| Idempotency { key: format!("{}:{k}", key.id), fingerprint: fingerprint(body) });

        let span = tracing::info_span!("capture", lead_id = %lead.id, key = %key.id);
        let outcome = self.leads.capture(lead, idempotency.as_ref()).instrument(span).await?;
        // Every public submission gets a link, a bot's too: it is told what a person is told.
        let handoff = |lead: &Lead, joined: bool| match &self.handoff {
            Some(links) if !key.is_signed() => Some(links.link(&lead.id, &key.id, now, joined)),
            _ => None,
        };
        let response = match outcome {
            Captured::Created(lead) => accepted(&lead, false, key.is_signed(), handoff(&lead, false)),
            // Whether a person is already known is told only to signed integrations, not to
            // anyone holding a form's public key; its link never names the owner.
            Captured::Merged(lead) => accepted(&lead, true, key.is_signed(), handoff(&lead, true)),
            Captured::Replayed(lead) => {
                // A retry of the lead's first submission keeps its link; of a later one, not.
                let joined = lead.submissions > 1;
                let mut response = accepted(&lead, false, key.is_signed(), handoff(&lead, joined));
                response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
                response
            }
            Captured::KeyReused { lead_id } => return Err(CaptureError::KeyReused(lead_id)),
        };
        Ok(response)
    }

    /// `GET /handoff/{token}`, `POST /handoff/{token}/booking` and their preflights ([`handoff`]).
    /// CORS answers only the origins of the key the lead came through.
    async fn handoff(&self, request: &Request, rest: &str, origin: Option<&str>) -> Response<Body> {
        let (token, action) = match rest.split_once('/') {
            Some((token, action)) => (token, Some(action)),
            None => (rest, None),
        };
        let now = self.clock.now();
        let verified = match &self.handoff {
            None => Err(handoff::TokenError::Unknown),
            // A link issued under a key since revoked answers nothing.
            Some(links) => links.secrets.verify(token, now).and_then(|c| {
                if self.keys.is_live_public(&c.key_id) { Ok(c) } else { Err(handoff::TokenError::Unknown) }
            }),
        };
        let key_id = match &verified {
            Ok(c) => Some(c.key_id.as_str()),
            Err(handoff::TokenError::Expired { key_id }) => Some(key_id.as_str()),
            Err(handoff::TokenError::Unknown) => None,
        };
        let allowed = match (key_id, origin) {
            (Some(key_id), Some(origin)) => self.keys.key_allows_origin(key_id, origin),
            _ => false,
        };
        let claims = verified.map_err(|e| handoff::refused(&e));
        let method = request.method();
        let mut response = match (claims, action) {
            (Err(problem), _) => problem.into_response(),
            (Ok(_), None | Some("booking")) if method == Method::OPTIONS => {
                let mut response =
                    Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).expect("valid parts");
                if allowed {
                    let h = response.headers_mut();
                    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
                    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
                    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
                }
                response
            }
            (Ok(claims), None) if method == Method::GET => {
                let links = self.handoff.as_ref().expect("verified by configured links");
                let wait = request.query_string_parameters_ref().and_then(|q| q.first("wait")).map(str::trim);
                let wait = match wait.map(|w| w.parse::<f64>().ok().filter(|w| w.is_finite() && *w >= 0.0)) {
                    None => Some(std::time::Duration::ZERO),
                    Some(Some(w)) => Some(std::time::Duration::from_secs_f64(w.min(handoff::MAX_WAIT as f64))),
                    Some(None) => None,
                };
                match wait {
                    None => Problem::new(StatusCode::BAD_REQUEST, "invalid_request", "invalid query")
                        .with_errors(vec![FieldError::new(
                            "wait",
                            format!("is seconds to wait, from 0 to {}", handoff::MAX_WAIT),
                        )])
                        .into_response(),
                    Some(wait) => match links.admit(&claims, now).await {
                        Err(problem) => problem.into_response(),
                        Ok(()) => links
                            .status(self.store.as_ref(), &claims, wait)
                            .await
                            .unwrap_or_else(Problem::into_response),
                    },
                }
            }
            (Ok(claims), Some("booking")) if method == Method::POST => {
                let links = self.handoff.as_ref().expect("verified by configured links");
                match links.admit(&claims, now).await {
                    Err(problem) => problem.into_response(),
                    Ok(()) => {
                        links.booking(self.store.as_ref(), &claims, now).await.unwrap_or_else(Problem::into_response)
                    }
                }
            }
            (Ok(_), None) => {
                Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "the handoff link answers GET")
                    .with_header(header::ALLOW, "GET, OPTIONS")
                    .into_response()
            }
            (Ok(_), Some("booking")) => Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "a booking press is recorded with POST",
            )
            .with_header(header::ALLOW, "POST, OPTIONS")
            .into_response(),
            (Ok(_), Some(other)) => CaptureError::NotFound(format!("/handoff/…/{other}")).problem().into_response(),
        };
        let h = response.headers_mut();
        if allowed && let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("retry-after"));
        }
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        response
    }
}

/// `GET /baton.js`: the form snippet, cacheable for a few minutes.
fn snippet(request: &Request) -> Response<Body> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "the snippet is fetched with GET")
            .with_header(header::ALLOW, "GET, HEAD")
            .into_response();
    }
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/javascript; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=300")
        .header("x-content-type-options", "nosniff")
        .body(Body::Text(SNIPPET.to_owned()))
        .expect("valid parts")
}

fn source_ip(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        _ => None,
    }
}
