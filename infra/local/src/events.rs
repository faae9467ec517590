//! The Lambda event JSON AWS would send, built from local inputs. Handlers receive these through
//! the same `serde` types (and, for HTTP, the same `lambda_http` parsing) as in Lambda.

use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::SqsEvent;
use axum::http::request::Parts;
use base64::Engine as _;
use baton_adapters::QueueMessage;
use baton_domain::LeadEvent;
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "000000000000";

/// An API Gateway HTTP API (payload format 2.0) request event for one HTTP request.
pub fn api_gateway_v2(parts: &Parts, body: &[u8]) -> Value {
    let mut headers = serde_json::Map::new();
    // API Gateway moves cookies out of the headers, into `cookies`.
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == axum::http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| Value::String(c.trim().to_owned())).filter(|c| c != ""));
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| *v = Value::String(format!("{},{value}", v.as_str().unwrap_or_default())))
            .or_insert(Value::String(value));
    }
    let path = parts.uri.path();
    let method = parts.method.as_str();
    let now = chrono::Utc::now();
    let (body, base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.uri.query().unwrap_or_default(),
        "headers": headers,
        "cookies": cookies,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": headers.get("host").and_then(Value::as_str).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent").and_then(Value::as_str).unwrap_or_default() },
            "requestId": uuid_like(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": base64,
    })
}

fn uuid_like() -> String {
    baton_domain::LeadId::generate().to_string()
}

/// An SQS event for a batch of received messages.
pub fn sqs(messages: &[QueueMessage]) -> SqsEvent {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt,
                "body": m.body,
                "attributes": { "ApproximateReceiveCount": m.receive_count.to_string() },
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:baton-route"),
                "awsRegion": REGION,
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("the SQS event shape is fixed")
}

fn sns_event(envelope: Value, subscription: &str) -> Result<SnsEvent, serde_json::Error> {
    serde_json::from_value(json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription,
            "Sns": envelope,
        }]
    }))
}

/// An SNS event for a notification delivered through an SQS subscription (the SNS envelope).
pub fn sns_from_envelope(body: &str, subscription: &str) -> Result<SnsEvent, serde_json::Error> {
    let mut envelope: Value = serde_json::from_str(body)?;
    // Lambda always has these; SNS-to-SQS envelopes may omit them.
    for key in ["Subject", "MessageAttributes"] {
        if envelope.get(key).is_none() {
            envelope[key] = Value::Null;
        }
    }
    sns_event(envelope, subscription)
}

/// An SNS event for an event published in process.
pub fn sns_in_process(event: &LeadEvent) -> SnsEvent {
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:baton-lead-events");
    let envelope = json!({
        "Type": "Notification",
        "MessageId": uuid_like(),
        "TopicArn": topic,
        "Subject": null,
        "Message": event.to_json(),
        "Timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "SignatureVersion": "1",
        "Signature": "",
        "SigningCertUrl": "",
        "UnsubscribeUrl": "",
        "MessageAttributes": { "event_type": { "Type": "String", "Value": event.event_type().as_str() } },
    });
    sns_event(envelope, &format!("{topic}:local")).expect("the SNS event shape is fixed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_request_becomes_a_request_lambda_http_accepts() {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri("/leads?utm=x")
            .header("content-type", "application/json")
            .header("host", "127.0.0.1:3000")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let event = api_gateway_v2(&parts, br#"{"email":"a@b.co"}"#);
        let parsed = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(parsed.method(), "POST");
        assert_eq!(parsed.uri().path(), "/leads");
        assert_eq!(parsed.headers()["content-type"], "application/json");
        assert_eq!(parsed.body().as_ref(), br#"{"email":"a@b.co"}"#);
    }
}
