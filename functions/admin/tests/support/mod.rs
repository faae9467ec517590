//! Shared by the admin test files: an API Gateway HTTP API (payload 2.0) request as Lambda
//! receives it.

/// A request with `content_type`, `body` and, when given, `Authorization: Bearer <token>`.
/// `target` may carry a query string.
pub fn request(
    method: &str,
    target: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> lambda_http::Request {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", content_type)];
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    event(method, target, &headers, &[], body)
}

/// A request with these headers and cookies (`name=value`), as API Gateway passes them.
#[allow(dead_code)]
pub fn event(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    cookies: &[&str],
    body: &str,
) -> lambda_http::Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: serde_json::Map<String, serde_json::Value> =
        headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).into())).collect();
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query, "headers": headers,
        "cookies": cookies,
        "requestContext": { "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.9" },
                            "accountId": "1", "apiId": "admin", "requestId": "r", "routeKey": "$default", "stage": "$default",
                            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 0 },
        "body": body, "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}
