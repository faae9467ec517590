//! The one shape every HTTP surface answers in: JSON bodies, and refusals as a [`Problem`]
//! (`{"error": "<code>", "message": "…", "errors": [{"field", "message"}]}`). Each surface
//! (capture, admin, Slack actions) has its own error type that says which problem it is; this
//! module turns it into the response.

use baton_domain::FieldError;
use lambda_http::http::{HeaderName, HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};

/// A JSON response with `status`.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .expect("a response built from valid parts")
}

/// A refusal: its status, a stable code, a sentence for people, and the fields at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    /// A stable, machine-readable code, such as `invalid_lead`.
    pub error: &'static str,
    pub message: String,
    pub errors: Vec<FieldError>,
    /// Extra headers, such as `Retry-After` or `Allow`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with no field errors.
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self { status, error, message: message.into(), errors: Vec::new(), headers: Vec::new() }
    }

    /// The same problem naming the fields at fault.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// The same problem with a header (`Retry-After`, `Allow`).
    pub fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    /// The status and the JSON body (for a problem reported inside a larger answer, such as
    /// one item's result in a batch).
    pub fn parts(&self) -> (StatusCode, serde_json::Value) {
        (self.status, serde_json::json!({ "error": self.error, "message": self.message, "errors": self.errors }))
    }

    /// The response: the status, the headers and the JSON body.
    pub fn into_response(self) -> Response<Body> {
        let (status, body) = self.parts();
        let mut response = json(status, &body);
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_becomes_its_status_headers_and_json_body() {
        let response = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "retry shortly")
            .with_errors(vec![FieldError::new("email", "is empty")])
            .with_header(header::RETRY_AFTER, "5")
            .into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "error": "unavailable", "message": "retry shortly", "errors": [{ "field": "email", "message": "is empty" }] })
        );
    }
}
