//! Capture keys: how forms and integrations prove who they are.
//!
//! Each form or integration has its own key, configured as JSON (the `CAPTURE_KEYS` variable):
//!
//! ```json
//! [
//!   { "id": "website-demo", "public_key": "pk_live_4f9c2", "allowed_origins": ["https://www.example.com"] },
//!   { "id": "crm-sync", "secret": "whsec_…", "replay_window_seconds": 300 },
//!   { "id": "old-form", "public_key": "pk_live_0ld", "revoked": true }
//! ]
//! ```
//!
//! - A **public key** can only capture. Browsers send it as `X-Baton-Key` (or `?key=`, or the
//!   form field `_key` for plain HTML forms). With `allowed_origins`, it is refused from other
//!   origins.
//! - A **signed** key never travels: the sender sends `X-Baton-Key-Id`, `X-Baton-Timestamp`
//!   (Unix seconds) and `X-Baton-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
//!   Requests outside the replay window are refused; several `v1=` values (comma-separated)
//!   allow rotating secrets.
//! - Unknown keys and bad signatures get 401; revoked keys and disallowed origins get 403.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

/// The default replay window for signed requests.
pub const DEFAULT_REPLAY_WINDOW_SECONDS: u64 = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    id: String,
    #[serde(default)]
    public_key: Option<String>,
    #[serde(default)]
    secret: Option<SecretString>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    replay_window_seconds: Option<u64>,
}

#[derive(Debug)]
enum Kind {
    Public(String),
    Signed { secret: SecretString, window: u64 },
}

/// One configured key.
#[derive(Debug)]
pub struct CaptureKey {
    /// Recorded on each lead as `source.key_id`.
    pub id: String,
    kind: Kind,
    allowed_origins: Vec<String>,
    revoked: bool,
}

impl CaptureKey {
    /// Whether requests with this key are signed (a server-side integration), not a public form key.
    pub fn is_signed(&self) -> bool {
        matches!(self.kind, Kind::Signed { .. })
    }
}

/// The most signatures one request may list (rotation needs two).
pub const MAX_SIGNATURES: usize = 4;

/// What a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    Public(&'a str),
    Signed { key_id: &'a str, timestamp: &'a str, signature: &'a str },
}

/// Why a request was not authenticated; each says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no capture key: send X-Baton-Key (or the form field _key), or sign the request")]
    Missing,
    #[error("unknown capture key")]
    Unknown,
    #[error("capture key `{0}` has been revoked")]
    Revoked(String),
    #[error("capture key `{key}` is not allowed from origin `{origin}`")]
    OriginNotAllowed { key: String, origin: String },
    #[error("capture key `{0}` is a signing key: sign the request instead of sending it")]
    NotPublic(String),
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("X-Baton-Timestamp `{0}` is not Unix seconds")]
    BadTimestamp(String),
    #[error("the request timestamp is {skew} s from now; the replay window is {window} s")]
    Stale { skew: i64, window: u64 },
}

impl AuthError {
    /// 401 for a missing or unproven identity, 403 for a known key that may not do this.
    pub fn status(&self) -> u16 {
        match self {
            Self::Revoked(_) | Self::OriginNotAllowed { .. } => 403,
            _ => 401,
        }
    }
}

/// Every configured key.
#[derive(Debug, Default)]
pub struct CaptureKeys {
    keys: Vec<CaptureKey>,
}

impl CaptureKeys {
    /// Parses the JSON configuration; the error names the entry and what is wrong with it.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let configs: Vec<KeyConfig> =
            serde_json::from_str(text).map_err(|e| format!("not a JSON list of keys: {e}"))?;
        let mut keys = Vec::with_capacity(configs.len());
        for (i, c) in configs.into_iter().enumerate() {
            let kind = match (c.public_key, c.secret) {
                (Some(k), None) if !k.trim().is_empty() => Kind::Public(k),
                (None, Some(s)) if !s.expose_secret().is_empty() => {
                    Kind::Signed { secret: s, window: c.replay_window_seconds.unwrap_or(DEFAULT_REPLAY_WINDOW_SECONDS) }
                }
                _ => {
                    return Err(format!(
                        "key {i} (`{}`) needs exactly one of a non-empty `public_key` or `secret`",
                        c.id
                    ));
                }
            };
            if keys.iter().any(|k: &CaptureKey| k.id == c.id) {
                return Err(format!("key {i}: the id `{}` is used twice", c.id));
            }
            let allowed_origins = c.allowed_origins.iter().map(|o| normalize_origin(o)).collect();
            keys.push(CaptureKey { id: c.id, kind, allowed_origins, revoked: c.revoked });
        }
        Ok(Self { keys })
    }

    /// Whether a browser on `origin` may post leads with some key (for CORS).
    pub fn allows_origin(&self, origin: &str) -> bool {
        let origin = normalize_origin(origin);
        self.keys
            .iter()
            .filter(|k| !k.revoked && matches!(k.kind, Kind::Public(_)))
            .any(|k| k.allowed_origins.iter().any(|o| o == "*" || *o == origin))
    }

    /// Whether `key_id` names a public key that is not revoked.
    pub fn is_live_public(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k.id == key_id && !k.revoked && matches!(k.kind, Kind::Public(_)))
    }

    /// Whether a browser on `origin` may read answers about leads captured through key `key_id`
    /// (for the handoff link's CORS): the key is a live public key listing that origin (or `*`).
    pub fn key_allows_origin(&self, key_id: &str, origin: &str) -> bool {
        let origin = normalize_origin(origin);
        self.keys
            .iter()
            .filter(|k| k.id == key_id && !k.revoked && matches!(k.kind, Kind::Public(_)))
            .any(|k| k.allowed_origins.iter().any(|o| o == "*" || *o == origin))
    }

    /// Checks a credential against `body` at `now_unix`, from `origin` (the Origin header).
    pub fn authenticate(
        &self,
        credential: Option<Credential<'_>>,
        body: &[u8],
        origin: Option<&str>,
        now_unix: i64,
    ) -> Result<&CaptureKey, AuthError> {
        match credential.ok_or(AuthError::Missing)? {
            Credential::Public(presented) => {
                let key = self
                    .keys
                    .iter()
                    .find(
                        |k| matches!(&k.kind, Kind::Public(p) if constant_time_eq(p.as_bytes(), presented.as_bytes())),
                    )
                    .ok_or(AuthError::Unknown)?;
                if key.revoked {
                    return Err(AuthError::Revoked(key.id.clone()));
                }
                if let Some(origin) = origin.map(normalize_origin)
                    && !key.allowed_origins.is_empty()
                    && !key.allowed_origins.iter().any(|o| o == "*" || *o == origin)
                {
                    return Err(AuthError::OriginNotAllowed { key: key.id.clone(), origin });
                }
                Ok(key)
            }
            Credential::Signed { key_id, timestamp, signature } => {
                let key = self.keys.iter().find(|k| k.id == key_id).ok_or(AuthError::Unknown)?;
                let Kind::Signed { secret, window } = &key.kind else {
                    return Err(AuthError::NotPublic(key.id.clone()));
                };
                if key.revoked {
                    return Err(AuthError::Revoked(key.id.clone()));
                }
                let sent: i64 = timestamp.trim().parse().map_err(|_| AuthError::BadTimestamp(timestamp.to_owned()))?;
                if now_unix.abs_diff(sent) > *window {
                    return Err(AuthError::Stale { skew: now_unix.saturating_sub(sent), window: *window });
                }
                // One MAC over the body, compared in constant time with each listed signature.
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
                    .expect("HMAC takes any key length");
                mac.update(timestamp.trim().as_bytes());
                mac.update(b".");
                mac.update(body);
                let expected = mac.finalize().into_bytes();
                let valid = signature
                    .split(',')
                    .take(MAX_SIGNATURES)
                    .filter_map(|part| part.trim().strip_prefix("v1="))
                    .filter_map(|hex_sig| hex::decode(hex_sig).ok())
                    .any(|candidate| constant_time_eq(&candidate, &expected));
                if valid { Ok(key) } else { Err(AuthError::BadSignature) }
            }
        }
    }
}

/// An origin as browsers send it: scheme and host lower-case, no trailing slash.
fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The signature a sender puts in `X-Baton-Signature` for `body` at `timestamp` (for clients and tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"[
        {"id":"site","public_key":"pk_site","allowed_origins":["https://www.example.com"]},
        {"id":"anywhere","public_key":"pk_any"},
        {"id":"crm","secret":"whsec_test","replay_window_seconds":300},
        {"id":"old","public_key":"pk_old","revoked":true}
    ]"#;

    fn keys() -> CaptureKeys {
        CaptureKeys::from_json(CONFIG).unwrap()
    }

    #[test]
    fn a_public_key_authenticates_and_is_bound_to_its_origins() {
        let k = keys();
        assert_eq!(
            k.authenticate(Some(Credential::Public("pk_site")), b"", Some("https://www.example.com"), 0).unwrap().id,
            "site"
        );
        assert_eq!(
            k.authenticate(Some(Credential::Public("pk_site")), b"", None, 0).unwrap().id,
            "site",
            "servers send no Origin"
        );
        let err =
            k.authenticate(Some(Credential::Public("pk_site")), b"", Some("https://evil.example"), 0).unwrap_err();
        assert_eq!((err.status(), err.to_string().contains("evil.example")), (403, true));
        assert_eq!(
            k.authenticate(Some(Credential::Public("pk_any")), b"", Some("https://x.example"), 0).unwrap().id,
            "anywhere"
        );
    }

    #[test]
    fn unknown_missing_and_revoked_keys_are_refused() {
        let k = keys();
        assert_eq!(k.authenticate(Some(Credential::Public("pk_nope")), b"", None, 0).unwrap_err(), AuthError::Unknown);
        assert_eq!(k.authenticate(None, b"", None, 0).unwrap_err().status(), 401);
        assert_eq!(
            k.authenticate(Some(Credential::Public("pk_old")), b"", None, 0).unwrap_err(),
            AuthError::Revoked("old".into())
        );
    }

    #[test]
    fn a_signed_request_is_checked_against_body_and_time() {
        let k = keys();
        let body = br#"{"email":"a@b.co"}"#;
        let now = 1_795_510_800;
        let sig = sign("whsec_test", now, body);
        let cred = |ts: &'static str, sig: &'static str| {
            Some(Credential::Signed { key_id: "crm", timestamp: ts, signature: sig })
        };
        let sig: &'static str = Box::leak(sig.into_boxed_str());
        assert_eq!(k.authenticate(cred("1795510800", sig), body, None, now + 10).unwrap().id, "crm");
        assert_eq!(
            k.authenticate(cred("1795510800", sig), b"{\"email\":\"x@b.co\"}", None, now).unwrap_err(),
            AuthError::BadSignature
        );
        assert!(matches!(
            k.authenticate(cred("1795510800", sig), body, None, now + 301).unwrap_err(),
            AuthError::Stale { .. }
        ));
        assert_eq!(
            k.authenticate(cred("1795510801", sig), body, None, now).unwrap_err(),
            AuthError::BadSignature,
            "the timestamp is signed"
        );
        assert_eq!(
            k.authenticate(cred("soon", sig), body, None, now).unwrap_err(),
            AuthError::BadTimestamp("soon".into())
        );
        let rotated: &'static str = Box::leak(format!("v1=00ff, {sig}").into_boxed_str());
        assert_eq!(
            k.authenticate(cred("1795510800", rotated), body, None, now).unwrap().id,
            "crm",
            "any listed signature may match"
        );
    }

    #[test]
    fn a_signing_secret_cannot_be_sent_as_a_public_key() {
        let k = keys();
        assert_eq!(
            k.authenticate(Some(Credential::Public("whsec_test")), b"", None, 0).unwrap_err(),
            AuthError::Unknown
        );
        let err = k
            .authenticate(Some(Credential::Signed { key_id: "site", timestamp: "0", signature: "v1=00" }), b"", None, 0)
            .unwrap_err();
        assert_eq!(err, AuthError::NotPublic("site".into()));
    }

    #[test]
    fn bad_configuration_names_the_entry() {
        assert!(CaptureKeys::from_json(r#"[{"id":"x"}]"#).unwrap_err().contains("`x`"));
        assert!(CaptureKeys::from_json(r#"[{"id":"x","public_key":"a","secret":"b"}]"#).is_err());
        assert!(
            CaptureKeys::from_json(r#"[{"id":"x","public_key":"a"},{"id":"x","public_key":"b"}]"#)
                .unwrap_err()
                .contains("twice")
        );
        assert!(CaptureKeys::from_json(r#"[{"id":"x","public_kee":"a"}]"#).is_err());
    }

    #[test]
    fn cors_follows_the_public_keys_origins() {
        let k = keys();
        assert!(k.allows_origin("https://www.example.com"));
        assert!(!k.allows_origin("https://evil.example"));
        let open = CaptureKeys::from_json(r#"[{"id":"a","public_key":"k","allowed_origins":["*"]}]"#).unwrap();
        assert!(open.allows_origin("https://anything.example"));
        assert!(k.key_allows_origin("site", "https://www.example.com"));
        assert!(!k.key_allows_origin("anywhere", "https://www.example.com"), "only the key's own origins");
        assert!(!k.key_allows_origin("old", "https://www.example.com"));
        assert!(open.key_allows_origin("a", "https://anything.example"));
    }

    #[test]
    fn configured_origins_are_compared_as_browsers_send_them() {
        let k =
            CaptureKeys::from_json(r#"[{"id":"a","public_key":"k","allowed_origins":["https://WWW.Example.com/"]}]"#)
                .unwrap();
        assert!(k.allows_origin("https://www.example.com"));
        assert!(k.authenticate(Some(Credential::Public("k")), b"", Some("https://www.example.com"), 0).is_ok());
    }

    #[test]
    fn extreme_timestamps_and_signature_lists_are_refused_cheaply() {
        let k = keys();
        let cred = Some(Credential::Signed { key_id: "crm", timestamp: "-9223372036854775808", signature: "v1=00" });
        assert!(matches!(k.authenticate(cred, b"", None, i64::MAX).unwrap_err(), AuthError::Stale { .. }));
        let now = 1_795_510_800;
        let good = sign("whsec_test", now, b"x");
        let padded: &'static str = Box::leak(format!("{}{good}", "v1=00,".repeat(MAX_SIGNATURES)).into_boxed_str());
        let cred = Some(Credential::Signed { key_id: "crm", timestamp: "1795510800", signature: padded });
        assert_eq!(
            k.authenticate(cred, b"x", None, now).unwrap_err(),
            AuthError::BadSignature,
            "only the first few are tried"
        );
    }

    #[test]
    fn a_secret_never_prints() {
        assert!(!format!("{:?}", keys()).contains("whsec_test"));
    }
}
