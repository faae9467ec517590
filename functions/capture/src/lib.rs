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
//! Bodies are JSON or `application/x-www-form-urlencoded` (plain HTML forms). Browsers get CORS
//! answers for the origins their key allows. A filled honeypot stores the lead as spam, never
//! routed, and answers as if it were accepted. If the queue is unavailable after the lead is
//! stored, the lead is still accepted: it waits for routing and the SLA sweep re-queues it.
//!
//! # Layout
//! - this file: [`Capture`] (the handler) and [`Config`] (its environment).
//! - [`keys`]: capture keys (public and HMAC-signed) and their checks.

pub mod keys;

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
use baton_adapters::{AccountDirectory, Captured, Clock, Idempotency, LeadRepository, WorkQueue};
use baton_app::capture::CaptureLeads;
use baton_domain::{ContractError, FieldError, Lead, LeadId, LeadStatus, LeadSubmission};
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::Instrument;

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
    leads: CaptureLeads,
    keys: Arc<CaptureKeys>,
    clock: Arc<dyn Clock>,
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .expect("a response built from valid parts")
}

fn problem(status: StatusCode, error: &str, message: &str, errors: &[FieldError]) -> Response<Body> {
    json_response(status, json!({ "error": error, "message": message, "errors": errors }))
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

fn accepted(lead: &Lead, merged: bool) -> Response<Body> {
    // A bot is told what a person would be told.
    let status = if lead.status() == LeadStatus::Spam { LeadStatus::Captured } else { lead.status() };
    let mut body = json!({ "lead_id": lead.id, "status": status });
    if merged {
        body["merged"] = json!(true);
    }
    json_response(StatusCode::ACCEPTED, body)
}

impl Capture {
    pub fn new(
        store: Arc<dyn LeadRepository>,
        queue: Arc<dyn WorkQueue>,
        keys: Arc<CaptureKeys>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { leads: CaptureLeads::new(store, queue), keys, clock }
    }

    /// Matches each lead's company domain to these accounts, so it arrives with its account and owner.
    pub fn with_accounts(mut self, accounts: Arc<dyn AccountDirectory>) -> Self {
        self.leads = self.leads.with_accounts(accounts);
        self
    }

    /// Answers one API Gateway request. Never fails: every outcome is an HTTP response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let origin = header(request.headers(), "origin").map(str::to_owned);
        let mut response = self.route(&request, origin.as_deref()).await;
        cors(&self.keys, origin.as_deref(), response.headers_mut());
        response
    }

    async fn route(&self, request: &Request, origin: Option<&str>) -> Response<Body> {
        let path = request.uri().path().trim_end_matches('/');
        if path != "/leads" {
            return problem(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("no route for `{path}`; leads are posted to /leads"),
                &[],
            );
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
            return response;
        }
        if request.method() != Method::POST {
            let mut response =
                problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "leads are submitted with POST", &[]);
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
            return response;
        }
        let Some(format) = format_of(request.headers()) else {
            return problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the lead as `application/json` or `application/x-www-form-urlencoded`",
                &[],
            );
        };
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("the body is {} bytes; the limit is {MAX_BODY_BYTES}", body.len()),
                &[],
            );
        }
        self.capture(request, format, body, origin).await
    }

    async fn capture(&self, request: &Request, format: Format, body: &[u8], origin: Option<&str>) -> Response<Body> {
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
            Some(credential) => match self.keys.authenticate(Some(credential), body, origin, now.timestamp()) {
                Ok(key) => Some(key),
                Err(e) => return self.unauthorized(&e),
            },
            None => None,
        };
        let parsed = match format {
            Format::Json => LeadSubmission::from_json(body),
            Format::Form => LeadSubmission::from_form(body),
        };
        let submission = match parsed {
            Ok(s) => s,
            Err(e) => return problem(StatusCode::BAD_REQUEST, "malformed_lead", &e.to_string(), &e.field_errors()),
        };
        let key = match header_key {
            Some(key) => key,
            None => {
                let credential = submission.form_key.as_deref().map(Credential::Public);
                match self.keys.authenticate(credential, body, origin, now.timestamp()) {
                    Ok(key) => key,
                    Err(e) => return self.unauthorized(&e),
                }
            }
        };
        let idempotency_key =
            header(headers, "idempotency-key").or_else(|| submission.submission_id()).map(str::to_owned);
        let mut lead = match submission.into_lead(LeadId::generate(), now) {
            Ok(lead) => lead,
            Err(e @ ContractError::Malformed(_)) => {
                return problem(StatusCode::BAD_REQUEST, "malformed_lead", &e.to_string(), &e.field_errors());
            }
            Err(e @ ContractError::Invalid(_)) => {
                return problem(StatusCode::BAD_REQUEST, "invalid_lead", &e.to_string(), &e.field_errors());
            }
        };
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
        lead.touchpoints.iter_mut().for_each(|t| {
            t.source.key_id = lead.source.key_id.clone();
            t.consent = lead.consent.clone();
        });
        if idempotency_key.as_ref().is_some_and(|k| k.chars().count() > 256) {
            let e = FieldError { field: "Idempotency-Key".into(), message: "is longer than 256 characters".into() };
            return problem(StatusCode::BAD_REQUEST, "invalid_lead", "invalid lead: 1 problem(s)", &[e]);
        }
        let idempotency =
            idempotency_key.map(|k| Idempotency { key: format!("{}:{k}", key.id), fingerprint: fingerprint(body) });

        let span = tracing::info_span!("capture", lead_id = %lead.id, key = %key.id);
        let outcome = match self.leads.capture(lead, idempotency.as_ref()).instrument(span).await {
            Ok(outcome) => outcome,
            Err(e @ (baton_adapters::Error::Rejected { .. } | baton_adapters::Error::Corrupt(_))) => {
                tracing::error!(error = %e, "the store refused the lead; answering 422");
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_storable",
                    &format!(
                        "the lead could not be stored as submitted ({e}); retrying the same request will not help"
                    ),
                    &[],
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "lead store unavailable; answering 503");
                let mut response = problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the lead could not be stored; nothing was saved, retry shortly",
                    &[],
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                return response;
            }
        };
        match outcome {
            Captured::Created(lead) => accepted(&lead, false),
            // Whether a person is already known is told only to signed integrations, not to
            // anyone holding a form's public key.
            Captured::Merged(lead) => accepted(&lead, key.is_signed()),
            Captured::Replayed(lead) => {
                let mut response = accepted(&lead, false);
                response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
                response
            }
            Captured::KeyReused { lead_id } => json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": "idempotency_key_reused",
                    "message": format!("this idempotency key was already used for lead {lead_id} with a different body; use a new key for a new submission"),
                    "errors": [],
                }),
            ),
        }
    }

    fn unauthorized(&self, e: &keys::AuthError) -> Response<Body> {
        let status = StatusCode::from_u16(e.status()).expect("401 or 403");
        let error = if status == StatusCode::FORBIDDEN { "forbidden" } else { "unauthorized" };
        problem(status, error, &e.to_string(), &[])
    }
}

fn source_ip(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        _ => None,
    }
}
