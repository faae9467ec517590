//! A client for the admin API (`functions/admin`, documented in `infra/api/admin.openapi.json`):
//! what `baton rules upload|list|activate|rollback --api <URL>` uses instead of writing to the
//! table directly, and `baton leads show`.
//!
//! The token is sent as `Authorization: Bearer …` (marked sensitive) and never appears in this
//! module's output: [`AdminToken`]'s `Debug` hides it, and errors name only the URL and the
//! API's answer.

use std::fmt;
use std::time::Duration;

use baton_adapters::RulesetVersion;
use baton_domain::FieldError;
use serde::Deserialize;

/// An admin API bearer token. Its `Debug` (and so any `Debug` of what holds it) hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<hidden>)")
    }
}

impl std::str::FromStr for AdminToken {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let token = s.trim();
        if token.is_empty() {
            return Err("the admin token is empty".into());
        }
        Ok(Self(token.to_owned()))
    }
}

/// A refusal from the admin API: its problem document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Problem {
    /// A stable code, such as `invalid_ruleset` or `unauthorized`.
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
    /// Field problems (for an invalid ruleset: every one of them).
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

/// Why a call to the admin API did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The base URL is not an http(s) URL.
    BadUrl(String),
    /// No answer: the connection failed or timed out.
    Transport(String),
    /// The API answered with a problem document.
    Refused { status: u16, problem: Problem },
    /// The answer was not one the API documents (another server at that URL?).
    Unexpected { status: u16, detail: String },
}

impl ClientError {
    /// The field problems, when the API refused a document.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Refused { problem, .. } => &problem.errors,
            _ => &[],
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadUrl(detail) => write!(f, "{detail}"),
            Self::Transport(detail) => write!(f, "the admin API did not answer: {detail}"),
            Self::Refused { status, problem } => {
                write!(f, "the admin API refused the request ({status} {}): {}", problem.error, problem.message)?;
                for e in &problem.errors {
                    write!(f, "\n  {}: {}", e.field, e.message)?;
                }
                Ok(())
            }
            Self::Unexpected { status, detail } => {
                write!(f, "the admin API answered {status}, not as documented: {detail}")
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// A saved ruleset version, as `POST /admin/rulesets` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Saved {
    pub version: u32,
    /// The ruleset's own `name`.
    pub name: String,
}

#[derive(Deserialize)]
struct Versions {
    versions: Vec<ListedVersion>,
}

#[derive(Deserialize)]
struct ListedVersion {
    version: u32,
    name: String,
    saved_at: baton_domain::Timestamp,
    active: bool,
}

/// The admin API at one base URL, with one token.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base: String,
    token: AdminToken,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client for the API at `base`, with a 30 s timeout per request. `base` is the server
    /// (`http://127.0.0.1:3000`) or the stack's `AdminEndpoint` output, which ends in `/admin`;
    /// a trailing `/` is ignored.
    pub fn new(base: &str, token: AdminToken) -> Result<Self, ClientError> {
        let trimmed = base.trim().trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/admin").unwrap_or(trimmed);
        let url = reqwest::Url::parse(trimmed)
            .map_err(|e| ClientError::BadUrl(format!("the admin API URL `{base}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ClientError::BadUrl(format!("the admin API URL `{base}` is not an http(s) URL")));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError::Transport(chain(&e)))?;
        Ok(Self { base: trimmed.to_owned(), token, http })
    }

    /// Validates and saves a ruleset (TOML text) as the next version; not active until activated.
    /// An invalid ruleset is [`ClientError::Refused`] with every problem in its `errors`.
    pub async fn upload(&self, toml: String) -> Result<Saved, ClientError> {
        let request = self
            .http
            .post(self.url("/admin/rulesets"))
            .header(reqwest::header::CONTENT_TYPE, "application/toml")
            .body(toml);
        let (status, body) = self.send(request).await?;
        match status {
            201 => parse(status, &body),
            _ => Err(refusal(status, &body)),
        }
    }

    /// The saved versions, oldest first, the active one marked.
    pub async fn list(&self) -> Result<Vec<RulesetVersion>, ClientError> {
        let (status, body) = self.send(self.http.get(self.url("/admin/rulesets"))).await?;
        if status != 200 {
            return Err(refusal(status, &body));
        }
        let listed: Versions = parse(status, &body)?;
        Ok(listed
            .versions
            .into_iter()
            .map(|v| RulesetVersion { version: v.version, name: v.name, saved_at: v.saved_at, active: v.active })
            .collect())
    }

    /// Makes `version` the active one; `false` when there is no such version.
    pub async fn activate(&self, version: u32) -> Result<bool, ClientError> {
        let (status, body) =
            self.send(self.http.post(self.url(&format!("/admin/rulesets/{version}/activate")))).await?;
        match (status, refusal(status, &body)) {
            (200, _) => Ok(true),
            // The version is unknown; a 404 for the path itself (no admin route) is an error.
            (404, ClientError::Refused { problem, .. })
                if problem.error == "not_found" && !problem.message.starts_with("no admin route") =>
            {
                Ok(false)
            }
            (_, refused) => Err(refused),
        }
    }

    /// A lead with its decision and audit (`GET /admin/leads/{id}`); `None` when there is none.
    pub async fn lead(&self, id: &str) -> Result<Option<serde_json::Value>, ClientError> {
        let path = format!("/admin/leads/{}", url_escape(id));
        let (status, body) = self.send(self.http.get(self.url(&path))).await?;
        match (status, refusal(status, &body)) {
            (200, _) => parse(status, &body).map(Some),
            (404, ClientError::Refused { problem, .. })
                if problem.error == "not_found" && !problem.message.starts_with("no admin route") =>
            {
                Ok(None)
            }
            (_, refused) => Err(refused),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), ClientError> {
        let response =
            request.bearer_auth(&self.token.0).send().await.map_err(|e| ClientError::Transport(chain(&e)))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| ClientError::Transport(chain(&e)))?;
        Ok((status, body.to_vec()))
    }
}

/// An error with its causes ("error sending request …: connection refused").
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn parse<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body)
        .map_err(|e| ClientError::Unexpected { status, detail: format!("{e}: {}", excerpt(body)) })
}

/// The problem document in a refusal, or what was there instead.
fn refusal(status: u16, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => ClientError::Refused { status, problem },
        Err(_) => ClientError::Unexpected { status, detail: excerpt(body) },
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".into(),
        None => text.to_owned(),
    }
}

/// `id` with everything but letters, digits and `-` percent-encoded, for a path segment.
fn url_escape(id: &str) -> String {
    id.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_local::{Options, start};

    const TOKEN: &str = "admin-client-test-token";

    async fn server() -> baton_local::Running {
        let options = Options {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: TOKEN.to_owned(),
            ..Options::default()
        };
        start(options).await.expect("the local server starts")
    }

    #[tokio::test]
    async fn a_ruleset_is_uploaded_listed_and_activated_through_the_api() {
        let running = server().await;
        let client = AdminClient::new(&format!("{}/", running.url), AdminToken::new(TOKEN)).unwrap();
        assert!(client.list().await.unwrap().is_empty());
        let saved = client.upload(baton_domain::rules::DEFAULT_TOML.to_owned()).await.unwrap();
        assert_eq!(saved, Saved { version: 1, name: "default".into() });
        let second = baton_domain::rules::DEFAULT_TOML.replacen("name = \"default\"", "name = \"second\"", 1);
        assert_eq!(client.upload(second).await.unwrap().version, 2);
        assert!(client.activate(2).await.unwrap());
        assert!(!client.activate(9).await.unwrap(), "an unknown version is not activated");
        let listed: Vec<(u32, String, bool)> =
            client.list().await.unwrap().into_iter().map(|v| (v.version, v.name, v.active)).collect();
        assert_eq!(listed, [(1, "default".into(), false), (2, "second".into(), true)]);
        running.stop().await;
    }

    #[tokio::test]
    async fn an_invalid_ruleset_is_refused_with_its_field_errors() {
        let running = server().await;
        let client = AdminClient::new(&running.url, AdminToken::new(TOKEN)).unwrap();
        let bad = "name = \"x\"\nfallback = { id = \"a\", name = \"A\" }\n[scoring]\nhot_at = 10\nwarm_at = 20\ncriteria = []\n[[routing]]\nname = \"r\"\npool = \"nope\"\n";
        let refused = client.upload(bad.to_owned()).await.unwrap_err();
        let fields: Vec<&str> = refused.field_errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["scoring.warm_at", "routing[0].pool"]);
        let text = refused.to_string();
        assert!(text.contains("400 invalid_ruleset"), "{text}");
        assert!(text.contains("\n  routing[0].pool: "), "{text}");
        assert!(client.list().await.unwrap().is_empty(), "nothing was saved");
        running.stop().await;
    }

    #[tokio::test]
    async fn a_wrong_token_or_url_is_an_error_that_does_not_show_the_token() {
        let running = server().await;
        let wrong = AdminClient::new(&running.url, AdminToken::new("not-the-token")).unwrap();
        let refused = wrong.list().await.unwrap_err();
        assert!(matches!(&refused, ClientError::Refused { status: 401, .. }), "{refused:?}");
        assert!(!refused.to_string().contains("not-the-token"));
        assert!(!format!("{wrong:?}").contains("not-the-token"), "Debug hides the token");
        // The stack's AdminEndpoint output ends in /admin; it is the same API.
        let endpoint = AdminClient::new(&format!("{}/admin/", running.url), AdminToken::new(TOKEN)).unwrap();
        assert_eq!(endpoint.list().await.unwrap(), []);
        // A path that reaches no admin route is an error, not "no such version".
        let elsewhere = AdminClient::new(&format!("{}/admin/v2", running.url), AdminToken::new(TOKEN)).unwrap();
        assert!(matches!(elsewhere.activate(1).await, Err(ClientError::Refused { status: 404, .. })));
        assert!(matches!(AdminClient::new("ftp://example.com", AdminToken::new(TOKEN)), Err(ClientError::BadUrl(_))));
        assert!(matches!(AdminClient::new("not a url", AdminToken::new(TOKEN)), Err(ClientError::BadUrl(_))));
        running.stop().await;
        assert!(matches!(wrong.list().await, Err(ClientError::Transport(_))), "a stopped server does not answer");
    }
}
