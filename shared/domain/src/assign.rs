//! Owners. Who gets which lead is decided by the ruleset: see [`crate::rules`].

use serde::{Deserialize, Serialize};

/// Someone (a rep, or a queue with a responsible person) who can own a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Owner {
    /// Stable id, such as a CRM user id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where Slack reaches them: a user id (`U…`, for a direct message and mentions) or a
    /// channel id (`C…`, for a queue's channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
    /// Their IANA time zone, for due times in their messages (absent: UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Their booking page, for a "send a meeting link" first action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_link: Option<String>,
    /// Their email address, for email notifications (when switched on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Owner {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self { id: id.into(), name: name.into(), slack: None, timezone: None, meeting_link: None, email: None }
    }
}
