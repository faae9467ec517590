//! Actions: Slack's interactivity requests (a rep pressed "Accept", "Log call", "Log email",
//! "Meeting booked" or "Not a fit" on a lead's message) → a touch recorded on the lead, which
//! stops the SLA clock; `lead.touched` published for subscribers; the message replaced to show
//! who did what.
//!
//! Every request must carry Slack's signature ([`signature`]); anything else is a 401 and
//! changes nothing. Slack wants an answer within 3 s, so the handler reads the lead (to check
//! the owner), writes the touch with its outbox entry, publishes, clears the entry, and updates
//! the message, and answers 200 even when the lead is no longer open (the
//! rep is told so in an ephemeral reply).
//!
//! # Layout
//! - this file: [`Actions`] (the handler), [`Config`]; touches are recorded by [`baton_app::touch`].
//! - [`signature`]: Slack's v0 request signature.

pub mod signature;

use std::sync::Arc;

use baton_adapters::config::{ConfigError, required};
use baton_adapters::http::{self, Problem};
use baton_adapters::{ChatNotifier, Clock, EventPublisher, LeadRepository};
use baton_app::message;
use baton_app::touch::record_touch;
use baton_domain::{LeadId, LeadView, Touch, TouchKind, Touched};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use tracing::Instrument;

/// Actions' environment (the signing secret is read separately, from SSM or the environment).
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the leads table.
    pub table_name: String,
    /// `TOPIC_ARN`: where `lead.touched` is published.
    pub topic_arn: String,
}

impl Config {
    /// Reads the configuration; fails naming the first missing variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self { table_name: required("TABLE_NAME")?, topic_arn: required("TOPIC_ARN")? })
    }
}

/// The parts of Slack's `block_actions` payload Baton uses.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: User,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct Form {
    payload: String,
}

/// The actions handler and what it needs.
#[derive(Clone)]
pub struct Actions {
    store: Arc<dyn LeadRepository>,
    publisher: Arc<dyn EventPublisher>,
    slack: Arc<dyn ChatNotifier>,
    signing_secret: Arc<SecretString>,
    clock: Arc<dyn Clock>,
}

/// Why an interactivity request was refused: each variant is one [`Problem`] answer.
#[derive(Debug, thiserror::Error)]
pub enum ActionsError {
    #[error("Slack interactivity is POST /slack/actions")]
    NotFound,
    #[error(transparent)]
    BadSignature(signature::Refused),
    #[error("{0}")]
    BadPayload(String),
    #[error("no Baton button in `actions`")]
    UnknownAction,
    #[error("`{0}` is not a lead id")]
    BadId(String),
}

impl ActionsError {
    /// The answer this refusal is.
    pub fn problem(&self) -> Problem {
        let message = self.to_string();
        match self {
            Self::NotFound => Problem::new(StatusCode::NOT_FOUND, "not_found", message),
            Self::BadSignature(_) => Problem::new(StatusCode::UNAUTHORIZED, "bad_signature", message),
            Self::BadPayload(_) => Problem::new(StatusCode::BAD_REQUEST, "bad_payload", message),
            Self::UnknownAction => Problem::new(StatusCode::BAD_REQUEST, "unknown_action", message),
            Self::BadId(_) => Problem::new(StatusCode::BAD_REQUEST, "bad_id", message),
        }
    }
}

/// A reply only the presser sees, leaving the message as it is.
fn ephemeral(text: String) -> serde_json::Value {
    json!({ "response_type": "ephemeral", "replace_original": false, "text": text })
}

impl Actions {
    /// What a press by `user` of `kind` on lead `id` does, as the reply to show them.
    async fn press(&self, id: &LeadId, kind: TouchKind, user: &str) -> serde_json::Value {
        // A lead owned by a Slack user is theirs to act on, and a touch by an owner it was just
        // reassigned away from still counts (credited to them, never lost); a queue's lead
        // (owned through a channel) is anyone's in that channel. When the owner cannot be
        // checked, nothing is recorded: the check fails closed.
        let owners: Option<(String, Vec<String>)> = match self.store.get(id).await {
            Ok(lead) => lead.as_ref().and_then(|l| {
                let owner = l.decision()?.owner.slack.clone()?;
                let earlier = l.previous_decisions.iter().filter_map(|d| d.owner.slack.clone()).collect();
                Some((owner, earlier))
            }),
            Err(e) => {
                tracing::error!(error = %e, "could not read the lead to check its owner");
                return ephemeral(
                    "Baton could not check this lead just now; nothing was recorded. Please press the button again."
                        .into(),
                );
            }
        };
        if let Some((owner, earlier)) = owners
            && (owner.starts_with('U') || owner.starts_with('W'))
            && owner != user
            && !earlier.iter().any(|e| e == user)
        {
            return ephemeral(format!(
                "This lead is <@{}>'s; only they can record what was done. Nothing was recorded.",
                message::escape(&owner)
            ));
        }
        let touch = Touch::new(kind, self.clock.now(), user.to_owned(), "slack");
        match record_touch(self.store.as_ref(), Some(self.publisher.as_ref()), id, touch).await {
            Ok(Touched::First(lead) | Touched::Again(lead) | Touched::Replayed(lead)) => {
                message::after_touch(&LeadView::of(&lead))
            }
            Ok(Touched::NotOpen(lead)) => ephemeral(format!(
                "{} is no longer open for touches (it is {}); nothing was recorded.",
                message::escape(&lead.display_name()),
                lead.status().as_str()
            )),
            Ok(Touched::Missing) => ephemeral(format!("Lead {id} does not exist; nothing was recorded.")),
            // Only a clock running behind the capture's can date a press before it.
            Ok(Touched::BeforeCapture(_)) => {
                ephemeral("Baton's clock disagreed with the lead's capture time; please press the button again.".into())
            }
            Err(e) => {
                tracing::error!(error = %e, "could not record the touch");
                ephemeral("Baton could not record that just now; please press the button again.".into())
            }
        }
    }

    pub fn new(
        store: Arc<dyn LeadRepository>,
        publisher: Arc<dyn EventPublisher>,
        slack: Arc<dyn ChatNotifier>,
        signing_secret: SecretString,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { store, publisher, slack, signing_secret: Arc::new(signing_secret), clock }
    }

    /// Answers one request. Never fails: every outcome is an HTTP response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        match self.answer(&request).await {
            Ok(()) => http::json(StatusCode::OK, &json!({})),
            Err(e) => {
                if let ActionsError::BadSignature(refused) = &e {
                    tracing::warn!(reason = %refused, "refused an unsigned or stale interactivity request");
                }
                e.problem().into_response()
            }
        }
    }

    async fn answer(&self, request: &Request) -> Result<(), ActionsError> {
        if request.method() != Method::POST || request.uri().path().trim_end_matches('/') != "/slack/actions" {
            return Err(ActionsError::NotFound);
        }
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let body = request.body().as_ref();
        signature::verify(
            &self.signing_secret,
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            body,
            self.clock.now().timestamp(),
        )
        .map_err(ActionsError::BadSignature)?;
        let payload = serde_urlencoded::from_bytes::<Form>(body)
            .map_err(|e| format!("the body is not a form with a `payload` field: {e}"))
            .and_then(|f| {
                serde_json::from_str::<Payload>(&f.payload)
                    .map_err(|e| format!("`payload` is not a Slack payload: {e}"))
            })
            .map_err(ActionsError::BadPayload)?;
        if payload.kind != "block_actions" {
            // Other interaction types (shortcuts, view submissions) are not Baton's.
            return Ok(());
        }
        let (kind, lead_id) = payload
            .actions
            .iter()
            .find_map(|a| {
                let kind = TouchKind::parse(a.action_id.strip_prefix(message::ACTION_PREFIX)?)?;
                Some((kind, a.value.as_deref()?))
            })
            .ok_or(ActionsError::UnknownAction)?;
        let id = LeadId::parse(lead_id).map_err(|_| ActionsError::BadId(lead_id.to_owned()))?;
        let span = tracing::info_span!("slack_action", lead_id = %id, action = kind.as_str(), user = %payload.user.id);
        let reply = self.press(&id, kind, &payload.user.id).instrument(span).await;
        if let Some(url) = &payload.response_url
            && let Err(e) = self.slack.respond(url, &reply).await
        {
            tracing::warn!(lead_id = %id, error = %e, "could not update the Slack message");
        }
        Ok(())
    }
}
