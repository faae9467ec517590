//! The handoff link: the thank-you page asks where the lead it just submitted stands.
//!
//! The `202` answer to a form's public key carries `handoff: {url, expires_at}`. The link is:
//! - **unguessable and scoped to one lead**: `/handoff/{token}`, where the token names the lead,
//!   the capture key and the expiry, and carries an HMAC-SHA256 tag (128 bits) made with
//!   `HANDOFF_SECRET`. A changed or made-up token is refused as unknown (`404`), so one link
//!   can never be turned into another lead's.
//! - **short-lived**: it answers for [`DEFAULT_TTL`] after the submission, then `410`.
//! - **small**: `GET` answers only [`baton_domain::handoff::Handoff`]: the state and, with a
//!   rep, their display name and booking link. `?wait=N` (up to [`MAX_WAIT`] seconds) holds
//!   the answer until routing decides, so the page hears of the owner as soon as there is one.
//! - **rate-limited**: [`POLLS_PER_MINUTE`] requests a minute per lead, counted across every
//!   instance ([`RateLimiter`]), then `429` with `Retry-After`.
//! - **for its form's page only**: CORS answers only the origins the token's key allows.
//!
//! A submission that joined a lead already in Baton (the same person again) gets a link that
//! answers `queue` and records no booking: through a public key, nobody learns who owns
//! someone else's lead, or touches it.
//!
//! `POST /handoff/{token}/booking` records that the visitor opened the rep's booking page: a
//! `booking_opened` touch by `visitor` through `thank_you_page`, keyed by the lead, so a second
//! press changes nothing. It is activity the rep and the CRM see (a `lead.touched` event), not
//! the rep's touch: the SLA clock runs on until the rep acts or a booked meeting is recorded.
//!
//! `HANDOFF_SECRET` may list several secrets, comma-separated: the first signs, any verifies
//! (for rotation). Without it no link is issued and these routes answer `404`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_adapters::http::{self, Problem};
use baton_adapters::{EventPublisher, LeadRepository, RateLimiter};
use baton_domain::handoff::Handoff;
use baton_domain::{LeadId, Timestamp, Touch, TouchKind, Touched};
use hmac::{Hmac, KeyInit, Mac};
use lambda_http::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::Sha256;

use crate::keys::constant_time_eq;

/// How long a handoff link answers after the submission.
pub const DEFAULT_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// The longest `?wait=` honoured, in seconds.
pub const MAX_WAIT: u64 = 10;

/// Requests a minute one lead's handoff link answers.
pub const POLLS_PER_MINUTE: u32 = 30;

/// The shortest secret accepted: 32 bytes of key for a 256-bit MAC.
pub const MIN_SECRET_LEN: usize = 32;

/// The HMAC tag's length in the token, in bytes.
const TAG_BYTES: usize = 16;

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub lead_id: LeadId,
    /// The capture key the lead came through: its allowed origins are the link's.
    pub key_id: String,
    pub expires_at: Timestamp,
    /// The submission joined a lead that was already in Baton: the link never names its owner
    /// and records no booking, so a form cannot be used to learn who owns someone else's lead,
    /// or to touch it.
    pub joined: bool,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no such handoff link")]
    Unknown,
    /// A genuine link past its expiry (the key it was issued under, for CORS).
    #[error("this handoff link has expired")]
    Expired { key_id: String },
}

/// The secrets that sign and verify handoff tokens.
pub struct HandoffSecrets(Vec<SecretString>);

impl std::fmt::Debug for HandoffSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HandoffSecrets({} secret(s), redacted)", self.0.len())
    }
}

impl HandoffSecrets {
    /// Reads `HANDOFF_SECRET`: one or more secrets, comma-separated, each at least
    /// [`MIN_SECRET_LEN`] characters. The error names the entry, never its value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let secrets: Vec<SecretString> =
            text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(SecretString::from).collect();
        if secrets.is_empty() {
            return Err("no secret given".into());
        }
        if let Some(i) = secrets.iter().position(|s| s.expose_secret().len() < MIN_SECRET_LEN) {
            return Err(format!("secret {} is shorter than {MIN_SECRET_LEN} characters", i + 1));
        }
        Ok(Self(secrets))
    }

    fn tag(secret: &SecretString, payload: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("any key length");
        mac.update(b"baton-handoff-v1\n");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    /// A token for lead `lead_id` captured through key `key_id`, answering until `expires_at`
    /// (`joined`: see [`Claims::joined`]).
    pub fn issue(&self, lead_id: &LeadId, key_id: &str, expires_at: Timestamp, joined: bool) -> String {
        let scope = if joined { "j" } else { "n" };
        let payload = format!("{}|{}|{scope}|{key_id}", lead_id.as_str(), expires_at.timestamp());
        let tag = Self::tag(&self.0[0], payload.as_bytes());
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The claims of `token` at `now`: [`TokenError::Unknown`] unless a configured secret made
    /// it, [`TokenError::Expired`] after its expiry.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Claims, TokenError> {
        let (payload, tag) = token.split_once('.').ok_or(TokenError::Unknown)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Unknown)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Unknown)?;
        if !self.0.iter().any(|s| constant_time_eq(&Self::tag(s, &payload), &tag)) {
            return Err(TokenError::Unknown);
        }
        let text = std::str::from_utf8(&payload).map_err(|_| TokenError::Unknown)?;
        let mut parts = text.splitn(4, '|');
        let (Some(lead), Some(expires), Some(scope), Some(key_id)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Unknown);
        };
        let joined = match scope {
            "n" => false,
            "j" => true,
            _ => return Err(TokenError::Unknown),
        };
        let lead_id = LeadId::parse(lead).map_err(|_| TokenError::Unknown)?;
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .ok_or(TokenError::Unknown)?;
        if now >= expires_at {
            return Err(TokenError::Expired { key_id: key_id.to_owned() });
        }
        Ok(Claims { lead_id, key_id: key_id.to_owned(), expires_at, joined })
    }
}

/// The handoff links and what answering them needs.
pub struct HandoffLinks {
    pub(crate) secrets: HandoffSecrets,
    pub(crate) limits: Arc<dyn RateLimiter>,
    pub(crate) ttl: chrono::Duration,
    pub(crate) events: Option<Arc<dyn EventPublisher>>,
}

impl HandoffLinks {
    /// Links signed with `secrets`, their polls counted by `limits`, answering for [`DEFAULT_TTL`].
    pub fn new(secrets: HandoffSecrets, limits: Arc<dyn RateLimiter>) -> Self {
        Self { secrets, limits, ttl: DEFAULT_TTL, events: None }
    }

    /// Links answering for `ttl` instead.
    pub fn with_ttl(mut self, ttl: chrono::Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Publishes the booking press's `lead.touched` event at once (else the sweep publishes it
    /// from the outbox).
    pub fn with_events(mut self, events: Arc<dyn EventPublisher>) -> Self {
        self.events = Some(events);
        self
    }

    /// The `handoff` member of a `202`: the link for a lead captured through `key_id` at `now`
    /// (`joined`: the submission joined a lead already in Baton).
    pub fn link(&self, lead_id: &LeadId, key_id: &str, now: Timestamp, joined: bool) -> serde_json::Value {
        // Whole seconds, as the token holds it: the 202 and the link's answers say the same time.
        let expires_at = now + self.ttl;
        let expires_at = chrono::DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at);
        let token = self.secrets.issue(lead_id, key_id, expires_at, joined);
        json!({ "url": format!("/handoff/{token}"), "expires_at": expires_at })
    }

    /// Whether another request for the lead may be answered now.
    pub(crate) async fn admit(&self, claims: &Claims, now: Timestamp) -> Result<(), Problem> {
        let start =
            chrono::DateTime::from_timestamp(now.timestamp() - now.timestamp().rem_euclid(60), 0).unwrap_or(now);
        let key = format!("handoff#{}", claims.lead_id.as_str());
        match self.limits.admit(&key, start, Duration::from_secs(60), POLLS_PER_MINUTE).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("this link answers {POLLS_PER_MINUTE} requests a minute; use ?wait= to wait for routing"),
            )
            .with_header(lambda_http::http::header::RETRY_AFTER, "10")),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The answer to `GET /handoff/{token}?wait=N`: where the lead stands, once routing decided
    /// or `wait` ran out, whichever is first.
    pub(crate) async fn status(
        &self,
        store: &dyn LeadRepository,
        claims: &Claims,
        wait: Duration,
    ) -> Result<lambda_http::Response<lambda_http::Body>, Problem> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut pause = Duration::from_millis(25);
        loop {
            let handoff = if claims.joined {
                // What the page shows for a queue: the page's fallback, no name.
                Handoff { state: baton_domain::handoff::HandoffState::Queue, owner: None }
            } else {
                let lead = store.get(&claims.lead_id).await.map_err(unavailable)?.ok_or_else(unknown)?;
                Handoff::of(&lead)
            };
            let now = tokio::time::Instant::now();
            if handoff.is_settled() || now >= deadline {
                let mut body = serde_json::to_value(&handoff).expect("a handoff serializes");
                body["expires_at"] = json!(claims.expires_at);
                let mut response = http::json(StatusCode::OK, &body);
                response.headers_mut().insert(
                    lambda_http::http::header::CACHE_CONTROL,
                    lambda_http::http::HeaderValue::from_static("no-store"),
                );
                return Ok(response);
            }
            // Routing takes milliseconds to a few hundred: look often at first, then less.
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// The answer to `POST /handoff/{token}/booking`.
    pub(crate) async fn booking(
        &self,
        store: &dyn LeadRepository,
        claims: &Claims,
        now: Timestamp,
    ) -> Result<lambda_http::Response<lambda_http::Body>, Problem> {
        if claims.joined {
            return Err(not_with_a_rep());
        }
        let mut touch = Touch::new(TouchKind::BookingOpened, now, "visitor", "thank_you_page");
        touch.external_id = Some(format!("handoff-booking:{}", claims.lead_id.as_str()));
        touch.note = Some("opened the owner's booking page from the thank-you panel".into());
        let recorded = baton_app::touch::record_touch(store, self.events.as_deref(), &claims.lead_id, touch)
            .await
            .map_err(unavailable)?;
        match recorded {
            Touched::First(_) | Touched::Again(_) | Touched::Replayed(_) => Ok(lambda_http::Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(lambda_http::Body::Empty)
                .expect("valid parts")),
            Touched::NotOpen(_) | Touched::BeforeCapture(_) => Err(not_with_a_rep()),
            Touched::Missing => Err(unknown()),
        }
    }
}

fn not_with_a_rep() -> Problem {
    Problem::new(StatusCode::CONFLICT, "not_with_a_rep", "the lead is not with a rep, so there is no booking to record")
}

pub(crate) fn unknown() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", TokenError::Unknown.to_string())
}

pub(crate) fn refused(e: &TokenError) -> Problem {
    match e {
        TokenError::Unknown => unknown(),
        TokenError::Expired { .. } => Problem::new(StatusCode::GONE, "expired", e.to_string()),
    }
}

fn unavailable(e: baton_adapters::Error) -> Problem {
    tracing::error!(error = %e, "handoff: the store is unavailable");
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again shortly")
        .with_header(lambda_http::http::header::RETRY_AFTER, "2")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> HandoffSecrets {
        HandoffSecrets::parse("handoff-test-secret-0123456789abcdef").unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_token_names_its_lead_key_and_expiry() {
        let lead = LeadId::generate();
        let token = secrets().issue(&lead, "website", at("2026-12-01T10:10:00Z"), false);
        let claims = secrets().verify(&token, at("2026-12-01T10:00:00Z")).unwrap();
        let expires_at = at("2026-12-01T10:10:00Z");
        assert_eq!(claims, Claims { lead_id: lead.clone(), key_id: "website".into(), expires_at, joined: false });
        assert_eq!(
            secrets().verify(&token, at("2026-12-01T10:10:00Z")),
            Err(TokenError::Expired { key_id: "website".into() })
        );
        let joined = secrets().issue(&lead, "website", expires_at, true);
        assert!(secrets().verify(&joined, at("2026-12-01T10:00:00Z")).unwrap().joined);
    }

    #[test]
    fn a_changed_or_made_up_token_is_unknown() {
        let lead = LeadId::generate();
        let other = LeadId::generate();
        let expires = at("2026-12-01T10:10:00Z");
        let now = at("2026-12-01T10:00:00Z");
        let token = secrets().issue(&lead, "website", expires, true);
        let (_, tag) = token.split_once('.').unwrap();
        // The same tag over another lead's payload: someone else's link cannot be made from one's own.
        let payload = URL_SAFE_NO_PAD.encode(format!("{}|{}|j|website", other.as_str(), expires.timestamp()));
        assert_eq!(secrets().verify(&format!("{payload}.{tag}"), now), Err(TokenError::Unknown));
        // A later expiry, or a wider scope, under the old tag.
        let payload = URL_SAFE_NO_PAD.encode(format!("{}|{}|j|website", lead.as_str(), expires.timestamp() + 3600));
        assert_eq!(secrets().verify(&format!("{payload}.{tag}"), now), Err(TokenError::Unknown));
        let payload = URL_SAFE_NO_PAD.encode(format!("{}|{}|n|website", lead.as_str(), expires.timestamp()));
        assert_eq!(secrets().verify(&format!("{payload}.{tag}"), now), Err(TokenError::Unknown));
        for forged in ["", ".", "abc", "abc.def", &token.replace('.', ""), &format!("{token}x")] {
            assert_eq!(secrets().verify(forged, now), Err(TokenError::Unknown), "{forged}");
        }
        let elsewhere = HandoffSecrets::parse("another-deployment-secret-0123456789").unwrap();
        assert_eq!(elsewhere.verify(&token, now), Err(TokenError::Unknown), "another secret's token");
    }

    #[test]
    fn secrets_rotate_and_short_ones_are_refused() {
        let old = "old-handoff-secret-0123456789abcdef";
        let new = "new-handoff-secret-0123456789abcdef";
        let lead = LeadId::generate();
        let expires = at("2026-12-01T10:10:00Z");
        let issued_before = HandoffSecrets::parse(old).unwrap().issue(&lead, "k", expires, false);
        let rotated = HandoffSecrets::parse(&format!("{new}, {old}")).unwrap();
        assert!(rotated.verify(&issued_before, at("2026-12-01T10:00:00Z")).is_ok(), "old links still answer");
        let issued_after = rotated.issue(&lead, "k", expires, false);
        assert!(HandoffSecrets::parse(new).unwrap().verify(&issued_after, at("2026-12-01T10:00:00Z")).is_ok());
        let err = HandoffSecrets::parse("tiny").unwrap_err();
        assert!(err.contains("secret 1") && !err.contains("tiny"), "{err}");
        assert!(HandoffSecrets::parse(" , ").is_err());
        assert!(!format!("{rotated:?}").contains("secret-0123"));
    }
}
