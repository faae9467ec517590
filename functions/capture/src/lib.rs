//! Capture: `POST /leads` through API Gateway (HTTP API) → a validated lead, stored and queued.
//!
//! The handler never fails and never panics on input: every request gets a JSON answer.
//! - `202` `{lead_id, status}`: stored; routing follows within a second.
//! - `400` `{error, message, errors: [{field, message}]}`: every problem with the submission.
//! - `404`/`405`/`413`/`415`: wrong route, method, size or content type.
//! - `503` with `Retry-After`: the store is unavailable; nothing was written.
//!
//! If the queue is unavailable after the lead is stored, the lead is still accepted: it stays
//! waiting for routing, and the SLA sweep hands it to routing once its grace period passes.
//!
//! # Layout
//! Everything is in this file: [`Capture`] (the handler) and [`Config`] (its environment).

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
use baton_adapters::{Clock, LeadStore, WorkQueue};
use baton_domain::{ContractError, FieldError, LeadId, LeadSubmission, RouteRequest};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// The largest body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Capture's environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table.
    pub table_name: String,
    /// `QUEUE_URL`: the routing queue.
    pub queue_url: String,
}

impl Config {
    /// Reads the configuration; fails naming the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            queue_url: required("QUEUE_URL")?,
        })
    }
}

/// The capture handler and what it needs.
#[derive(Clone)]
pub struct Capture {
    store: Arc<dyn LeadStore>,
    queue: Arc<dyn WorkQueue>,
    clock: Arc<dyn Clock>,
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .expect("a response built from valid parts")
}

fn problem(
    status: StatusCode,
    error: &str,
    message: &str,
    errors: &[FieldError],
) -> Response<Body> {
    json_response(
        status,
        json!({ "error": error, "message": message, "errors": errors }),
    )
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
}

impl Capture {
    pub fn new(
        store: Arc<dyn LeadStore>,
        queue: Arc<dyn WorkQueue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            queue,
            clock,
        }
    }

    /// Answers one API Gateway request. Never fails: every outcome is an HTTP response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let path = request.uri().path().trim_end_matches('/');
        if path != "/leads" {
            return problem(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("no route for `{path}`; leads are posted to /leads"),
                &[],
            );
        }
        if request.method() != Method::POST {
            let mut response = problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "leads are submitted with POST",
                &[],
            );
            response
                .headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
            return response;
        }
        if !is_json(&request) {
            return problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the lead as JSON with `Content-Type: application/json`",
                &[],
            );
        }
        let body: &[u8] = request.body().as_ref();
        if body.len() > MAX_BODY_BYTES {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!(
                    "the body is {} bytes; the limit is {MAX_BODY_BYTES}",
                    body.len()
                ),
                &[],
            );
        }
        self.capture(body).await
    }

    async fn capture(&self, body: &[u8]) -> Response<Body> {
        let lead = match LeadSubmission::from_json(body)
            .and_then(|s| s.into_lead(LeadId::generate(), self.clock.now()))
        {
            Ok(lead) => lead,
            Err(e @ ContractError::Malformed(_)) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "malformed_lead",
                    &e.to_string(),
                    &e.field_errors(),
                );
            }
            Err(e @ ContractError::Invalid(_)) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid_lead",
                    &e.to_string(),
                    &e.field_errors(),
                );
            }
        };
        if let Err(e) = self.store.insert(&lead).await {
            tracing::error!(error = %e, "lead store unavailable; answering 503");
            let mut response = problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the lead could not be stored; nothing was saved, retry shortly",
                &[],
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            return response;
        }
        let message = serde_json::to_string(&RouteRequest {
            lead_id: lead.id.clone(),
        })
        .expect("a route request serializes");
        if let Err(e) = self.queue.send(&message).await {
            // Stored, so not lost: the lead waits for routing and the sweep re-queues it.
            tracing::warn!(lead_id = %lead.id, error = %e, "routing queue unavailable; the SLA sweep will re-queue the lead");
        } else {
            tracing::info!(lead_id = %lead.id, "lead captured");
        }
        json_response(
            StatusCode::ACCEPTED,
            json!({ "lead_id": lead.id, "status": "captured" }),
        )
    }
}
