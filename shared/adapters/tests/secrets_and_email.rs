//! Secrets from SSM Parameter Store and email through SES v2, against the moto server.
//! Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use aws_sdk_ssm::types::ParameterType;
use baton_adapters::config::ConfigError;
use baton_adapters::contract::{test_endpoint, unique_name};
use baton_adapters::secrets::SecretSource;
use baton_adapters::ses::SesNotifier;
use baton_adapters::{ChatNotifier, Error, provision};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

async fn sdk() -> aws_config::SdkConfig {
    provision::sdk_config(Some(&test_endpoint())).await
}

/// An environment where `BOT_TOKEN_PARAM` names `parameter` and `BOT_TOKEN` holds `local`.
fn env(parameter: String, local: &'static str) -> impl Fn(&str) -> Option<String> + Sync {
    move |name: &str| match name {
        "BOT_TOKEN_PARAM" => Some(parameter.clone()),
        "BOT_TOKEN" => Some(local.to_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn a_secret_is_read_from_a_secure_string_parameter() {
    let ssm = aws_sdk_ssm::Client::new(&sdk().await);
    let parameter = format!("/baton-test/{}/bot-token", unique_name("secrets"));
    let value = format!("xoxb-{}", unique_name("moto-secret"));
    ssm.put_parameter()
        .name(&parameter)
        .value(&value)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("put the parameter");

    let source = SecretSource::new(Some(ssm));
    let secret = source
        .optional_from("BOT_TOKEN", &env(parameter.clone(), "xoxb-local-value"))
        .await
        .expect("read the parameter")
        .expect("the parameter is set");
    assert_eq!(secret.expose_secret(), value, "the parameter wins over the plain variable, decrypted");
    assert!(!format!("{secret:?}").contains(&value), "Debug output shows the secret: {secret:?}");

    let required = source.required_from("BOT_TOKEN", &env(parameter, "xoxb-local-value")).await.expect("required");
    assert_eq!(required.expose_secret(), value);
}

#[tokio::test]
async fn a_missing_parameter_is_an_invalid_setting_naming_it() {
    let ssm = aws_sdk_ssm::Client::new(&sdk().await);
    let parameter = format!("/baton-test/{}/absent", unique_name("secrets"));
    let err = SecretSource::new(Some(ssm))
        .optional_from("BOT_TOKEN", &env(parameter.clone(), "xoxb-local-value"))
        .await
        .expect_err("a parameter that does not exist cannot be read");
    let ConfigError::Invalid { name, reason } = &err else { panic!("expected Invalid, got {err:?}") };
    assert_eq!(*name, "BOT_TOKEN");
    assert!(reason.contains(&parameter) && reason.contains("BOT_TOKEN_PARAM"), "{reason}");
    assert!(reason.contains("ParameterNotFound"), "{reason}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("xoxb-local-value"), "the error shows a secret: {shown}");
}

/// Everything moto's SES backend recorded as sent to `recipient`, from moto's model dump.
async fn sent_to(recipient: &str) -> Vec<Value> {
    let url = format!("{}/moto-api/data.json", test_endpoint().trim_end_matches('/'));
    let data: Value = reqwest::get(&url).await.expect("read moto's data").json().await.expect("moto's data is JSON");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|to| to.iter().any(|a| a == recipient)))
        .cloned()
        .collect()
}

fn lead_message(recipient: &str) -> Value {
    json!({
        "channel": recipient,
        "text": "🔥 Hot lead for Grace Owner: Ada Lovelace — Call by 2026-11-24 09:15 UTC",
        "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": "🔥 Hot lead: Ada Lovelace" } },
            { "type": "section", "text": { "type": "mrkdwn", "text": "Assigned to *Grace Owner*" },
              "fields": [ { "type": "mrkdwn", "text": "*Company*\nAnalytical Engines" } ] },
            { "type": "section", "text": { "type": "mrkdwn",
              "text": "*First action:* Call Ada Lovelace — due <!date^1795511700^{date_short_pretty} at {time}|2026-11-24 09:15 UTC>" } },
            { "type": "actions", "elements": [ { "type": "button", "text": { "type": "plain_text", "text": "Mark touched" } } ] },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": "Lead `L1` · rule `default` · Baton" } ] },
        ],
    })
}

#[tokio::test]
async fn a_message_is_sent_as_one_email() {
    let ses = aws_sdk_sesv2::Client::new(&sdk().await);
    let from = format!("{}@example.com", unique_name("baton"));
    let to = format!("{}@example.com", unique_name("rep"));
    ses.create_email_identity().email_identity(&from).send().await.expect("verify the sender");

    SesNotifier::new(ses, from.clone()).post(&lead_message(&to)).await.expect("send the email");

    let sent = sent_to(&to).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let email = &sent[0];
    assert_eq!(email["source"], from.as_str());
    assert_eq!(email["subject"], "🔥 Hot lead for Grace Owner: Ada Lovelace — Call by 2026-11-24 09:15 UTC");
    // moto keeps one body part: the HTML one when both are sent.
    let body = email["body"].as_str().expect("a body");
    for expected in
        ["Hot lead: Ada Lovelace", "Assigned to Grace Owner", "Call Ada Lovelace — due 2026-11-24 09:15 UTC"]
    {
        assert!(body.contains(expected), "{expected:?} missing from {body}");
    }
    for unexpected in ["*", "<!date", "Mark touched", "`"] {
        assert!(!body.contains(unexpected), "{unexpected:?} in {body}");
    }
}

#[tokio::test]
async fn an_unverified_sender_is_rejected() {
    let ses = aws_sdk_sesv2::Client::new(&sdk().await);
    let from = format!("{}@unverified.example.com", unique_name("nobody"));
    let to = format!("{}@example.com", unique_name("rep"));
    let err = SesNotifier::new(ses, from).post(&lead_message(&to)).await.expect_err("the sender is not verified");
    let Error::Rejected { service: "SES", detail } = &err else { panic!("expected Rejected, got {err:?}") };
    assert!(detail.starts_with("MessageRejected (HTTP 400): "), "{detail}");
    assert!(sent_to(&to).await.is_empty());
}

#[tokio::test]
async fn a_slack_channel_is_rejected_before_sending() {
    let ses = aws_sdk_sesv2::Client::new(&sdk().await);
    let err = SesNotifier::new(ses, "baton@example.com".to_owned())
        .post(&lead_message("#sales"))
        .await
        .expect_err("not an email address");
    assert!(matches!(&err, Error::Rejected { detail, .. } if detail.contains("not an email address")), "{err:?}");
}
