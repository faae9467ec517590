//! Secrets for the function binaries: from AWS Systems Manager Parameter Store in AWS, from plain
//! environment variables locally.
//!
//! A secret has an environment-variable name such as `SLACK_BOT_TOKEN`. If `SLACK_BOT_TOKEN_PARAM`
//! is set, it names an SSM parameter (normally a `SecureString`), which is read with decryption;
//! otherwise `SLACK_BOT_TOKEN` holds the value itself. So a deployment puts only parameter names in
//! the function's environment, and a developer's shell puts the values.
//!
//! A value is returned as a [`SecretString`], whose `Debug` output is redacted; no error here ever
//! contains a value, only variable and parameter names.

use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use secrecy::SecretString;

use crate::config::ConfigError;

/// Reads the environment variable `name`: `None` when it is unset or not valid Unicode.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Sync;

/// Where a secret comes from.
#[derive(Debug, Clone)]
pub struct SecretSource {
    ssm: Option<aws_sdk_ssm::Client>,
}

/// Where the environment says a secret is.
enum Location {
    /// The SSM parameter named by `{name}_PARAM`.
    Parameter(String),
    /// The value of `{name}` itself.
    Value(String),
    Nowhere,
}

/// The variable naming the SSM parameter that holds the secret `name`.
fn param_variable(name: &str) -> String {
    format!("{name}_PARAM")
}

fn locate(name: &str, env: &EnvLookup) -> Location {
    let set = |var: &str| env(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if let Some(parameter) = set(&param_variable(name)) {
        Location::Parameter(parameter)
    } else if let Some(value) = set(name) {
        Location::Value(value)
    } else {
        Location::Nowhere
    }
}

impl SecretSource {
    /// A source reading SSM parameters through `ssm`; with `None`, only plain environment
    /// variables work (a `{name}_PARAM` variable is then an error, not silently ignored).
    pub fn new(ssm: Option<aws_sdk_ssm::Client>) -> Self {
        Self { ssm }
    }

    /// The secret `name` (an env var name such as `"SLACK_BOT_TOKEN"`): if the env var
    /// `{name}_PARAM` is set, the SSM parameter it names (with decryption); else the env var
    /// `{name}` itself; `Ok(None)` when neither is set (or blank). Surrounding whitespace is
    /// trimmed. A named parameter that cannot be read, or is blank, is
    /// [`ConfigError::Invalid`] naming `name` and the parameter.
    pub async fn optional(&self, name: &'static str) -> Result<Option<SecretString>, ConfigError> {
        self.optional_from(name, &|var: &str| std::env::var(var).ok()).await
    }

    /// Same, but missing is an error naming both variables.
    pub async fn required(&self, name: &'static str) -> Result<SecretString, ConfigError> {
        self.required_from(name, &|var: &str| std::env::var(var).ok()).await
    }

    /// [`Self::optional`] with the environment read through `env` instead of the process
    /// environment (for tests, which must not mutate the shared process environment).
    pub async fn optional_from(
        &self,
        name: &'static str,
        env: &EnvLookup,
    ) -> Result<Option<SecretString>, ConfigError> {
        match locate(name, env) {
            Location::Parameter(parameter) => self.read_parameter(name, &parameter).await.map(Some),
            Location::Value(value) => Ok(Some(SecretString::from(value))),
            Location::Nowhere => Ok(None),
        }
    }

    /// [`Self::required`] with the environment read through `env`.
    pub async fn required_from(&self, name: &'static str, env: &EnvLookup) -> Result<SecretString, ConfigError> {
        self.optional_from(name, env).await?.ok_or_else(|| missing(name))
    }

    async fn read_parameter(&self, name: &'static str, parameter: &str) -> Result<SecretString, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name,
            reason: format!("SSM parameter {parameter} (named by {}) {reason}", param_variable(name)),
        };
        let Some(ssm) = &self.ssm else {
            return Err(invalid("cannot be read: this process has no SSM client".to_owned()));
        };
        let output = ssm
            .get_parameter()
            .name(parameter)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| invalid(format!("could not be read: {}", read_failure(&e))))?;
        let value = output.parameter.and_then(|p| p.value).unwrap_or_default();
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid("is empty".to_owned()));
        }
        Ok(SecretString::from(value))
    }
}

/// Why a `GetParameter` call failed, without anything from a response body but the service's
/// error code and message (which name the parameter, never its value).
fn read_failure<E, R>(err: &SdkError<E, R>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                (None, Some(message)) => message.to_owned(),
                (None, None) => "the service refused the request".to_owned(),
            }
        }
        other => DisplayErrorContext(other).to_string(),
    }
}

/// The error for a secret set in neither variable. [`ConfigError::Missing`] holds a `&'static str`
/// and this message names two variables, so the message is leaked: it is built once, when the
/// function fails to start.
fn missing(name: &'static str) -> ConfigError {
    ConfigError::Missing(Box::leak(format!("{name} (or {}, naming an SSM parameter)", param_variable(name)).into()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Sync + use<> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name: &str| vars.get(name).cloned()
    }

    fn ssm_client() -> aws_sdk_ssm::Client {
        // Only printed, never called.
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    }

    #[tokio::test]
    async fn a_plain_variable_is_the_secret() {
        let source = SecretSource::new(None);
        let secret = source.optional_from("BOT_TOKEN", &env(&[("BOT_TOKEN", " xoxb-123 \n")])).await.unwrap();
        assert_eq!(secret.unwrap().expose_secret(), "xoxb-123");
    }

    #[tokio::test]
    async fn unset_or_blank_is_none() {
        let source = SecretSource::new(None);
        assert!(source.optional_from("BOT_TOKEN", &env(&[])).await.unwrap().is_none());
        let blank = env(&[("BOT_TOKEN", "  "), ("BOT_TOKEN_PARAM", "")]);
        assert!(source.optional_from("BOT_TOKEN", &blank).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn missing_names_both_variables() {
        let err = SecretSource::new(None).required_from("BOT_TOKEN", &env(&[])).await.unwrap_err();
        assert!(matches!(err, ConfigError::Missing(_)), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("BOT_TOKEN ") && message.contains("BOT_TOKEN_PARAM"), "{message}");
    }

    #[tokio::test]
    async fn a_parameter_without_an_ssm_client_is_invalid_not_ignored() {
        let vars = env(&[("BOT_TOKEN_PARAM", "/baton/bot-token"), ("BOT_TOKEN", "xoxb-local")]);
        let err = SecretSource::new(None).optional_from("BOT_TOKEN", &vars).await.unwrap_err();
        let ConfigError::Invalid { name, reason } = &err else { panic!("{err:?}") };
        assert_eq!(*name, "BOT_TOKEN");
        assert!(reason.contains("/baton/bot-token") && reason.contains("BOT_TOKEN_PARAM"), "{reason}");
        assert!(!err.to_string().contains("xoxb-local"), "{err}");
    }

    #[test]
    fn reading_a_secret_can_run_on_any_thread() {
        fn send<T: Send>(_: T) {}
        let source = SecretSource::new(None);
        send(source.optional("BOT_TOKEN"));
        send(source.required("BOT_TOKEN"));
    }

    #[test]
    fn the_parameter_variable_wins_over_the_value() {
        let vars = env(&[("BOT_TOKEN_PARAM", " /baton/bot-token "), ("BOT_TOKEN", "xoxb-local")]);
        assert!(matches!(locate("BOT_TOKEN", &vars), Location::Parameter(p) if p == "/baton/bot-token"));
    }

    #[test]
    fn a_source_and_a_secret_never_print_the_value() {
        let source = SecretSource::new(Some(ssm_client()));
        assert!(format!("{source:?}").contains("SecretSource"));
        let secret = SecretString::from("xoxb-very-secret");
        assert!(!format!("{secret:?}").contains("xoxb-very-secret"));
    }
}
