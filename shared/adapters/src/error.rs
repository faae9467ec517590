//! The error every adapter returns.

/// What went wrong in an adapter, split by what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The service could not be reached or was throttling/failing: retry later.
    #[error("{service} is unavailable: {detail}")]
    Unavailable { service: &'static str, detail: String },
    /// The service asked us to slow down and try again after `retry_after` (HTTP 429 with
    /// `Retry-After`).
    #[error("{service} is throttling: retry after {retry_after:?}")]
    Throttled { service: &'static str, retry_after: std::time::Duration },
    /// The service refused the request as it stands: retrying the same request will not help.
    #[error("{service} refused the request: {detail}")]
    Rejected { service: &'static str, detail: String },
    /// Stored data could not be read as what it should be: needs a person.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl Error {
    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Throttled { .. })
    }

    pub(crate) fn unavailable(service: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Unavailable { service, detail: detail.to_string() }
    }
}
