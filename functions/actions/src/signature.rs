//! Slack's request signature: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret,
//! "v0:{X-Slack-Request-Timestamp}:{raw body}")>`, compared in constant time; requests whose
//! timestamp is more than five minutes from now are refused (replays).

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a request's timestamp may be from now.
pub const MAX_AGE_SECONDS: i64 = 5 * 60;

/// Why a request is not from Slack (said in the 401, without any secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("X-Slack-Request-Timestamp is missing or not a Unix time")]
    BadTimestamp,
    #[error("the request is {0} s from now; more than {MAX_AGE_SECONDS} s is refused as a replay")]
    Stale(i64),
    #[error("X-Slack-Signature is missing or not v0=<hex>")]
    BadSignature,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks a request's signature headers against its raw `body` at `now` (Unix seconds).
pub fn verify(
    secret: &SecretString,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let ts: i64 = timestamp.and_then(|t| t.trim().parse().ok()).ok_or(Refused::BadTimestamp)?;
    let skew = now.saturating_sub(ts);
    if skew.abs() > MAX_AGE_SECONDS {
        return Err(Refused::Stale(skew));
    }
    let presented = signature
        .and_then(|s| s.trim().strip_prefix("v0="))
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(Refused::BadSignature)?;
    // `verify_slice` compares in constant time.
    mac(secret, ts, body).verify_slice(&presented).map_err(|_| Refused::Mismatch)
}

fn mac(secret: &SecretString, ts: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` for `body` at `ts` (for the local runner's stand-in Slack and tests).
pub fn sign(secret: &SecretString, ts: i64, body: &[u8]) -> String {
    format!("v0={}", hex::encode(mac(secret, ts, body).finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's published example ("Verifying requests from Slack").
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const NOW: i64 = 1531420618 + 30;

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    #[test]
    fn slacks_published_example_verifies() {
        assert_eq!(verify(&secret(), Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), NOW), Ok(()));
        assert_eq!(sign(&secret(), 1531420618, BODY.as_bytes()), SIGNATURE);
    }

    #[test]
    fn a_tampered_body_or_signature_or_secret_is_refused() {
        let tampered = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            verify(&secret(), Some(TIMESTAMP), Some(SIGNATURE), tampered.as_bytes(), NOW),
            Err(Refused::Mismatch)
        );
        let flipped = SIGNATURE.replace("a2114d", "a2114e");
        assert_eq!(verify(&secret(), Some(TIMESTAMP), Some(&flipped), BODY.as_bytes(), NOW), Err(Refused::Mismatch));
        let other = SecretString::from("another-secret");
        assert_eq!(verify(&other, Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), NOW), Err(Refused::Mismatch));
        // The timestamp is signed too: moving it breaks the signature.
        assert_eq!(
            verify(&secret(), Some("1531420619"), Some(SIGNATURE), BODY.as_bytes(), NOW),
            Err(Refused::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_requests_are_refused_as_replays() {
        let late = 1531420618 + MAX_AGE_SECONDS + 1;
        assert_eq!(
            verify(&secret(), Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), late),
            Err(Refused::Stale(MAX_AGE_SECONDS + 1))
        );
        let early = 1531420618 - MAX_AGE_SECONDS - 1;
        assert!(matches!(
            verify(&secret(), Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), early),
            Err(Refused::Stale(_))
        ));
        assert_eq!(
            verify(&secret(), Some(TIMESTAMP), Some(SIGNATURE), BODY.as_bytes(), 1531420618 + MAX_AGE_SECONDS),
            Ok(())
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_refused() {
        assert_eq!(verify(&secret(), None, Some(SIGNATURE), BODY.as_bytes(), NOW), Err(Refused::BadTimestamp));
        assert_eq!(
            verify(&secret(), Some("yesterday"), Some(SIGNATURE), BODY.as_bytes(), NOW),
            Err(Refused::BadTimestamp)
        );
        assert_eq!(verify(&secret(), Some(TIMESTAMP), None, BODY.as_bytes(), NOW), Err(Refused::BadSignature));
        assert_eq!(
            verify(&secret(), Some(TIMESTAMP), Some("v1=abc"), BODY.as_bytes(), NOW),
            Err(Refused::BadSignature)
        );
        assert_eq!(verify(&secret(), Some(TIMESTAMP), Some("v0=zz"), BODY.as_bytes(), NOW), Err(Refused::BadSignature));
    }
}
