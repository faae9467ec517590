//! Shared by the admin test files: an API Gateway HTTP API (payload 2.0) request as Lambda
//! receives it.

/// A request with `content_type`, `body` and, when given, `Authorization: Bearer <token>`.
pub fn request(method: &str, path: &str, token: Option<&str>, content_type: &str, body: &str) -> lambda_http::Request {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), content_type.into());
    if let Some(t) = token {
        headers.insert("authorization".into(), format!("Bearer {t}").into());
    }
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": headers,
        "requestContext": { "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.9" },
                            "accountId": "1", "apiId": "admin", "requestId": "r", "routeKey": "$default", "stage": "$default",
                            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 0 },
        "body": body, "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}
