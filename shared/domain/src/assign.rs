//! Owners. Who gets which lead is decided by the ruleset: see [`crate::rules`].

use serde::{Deserialize, Serialize};

/// Someone (a rep, or a queue with a responsible person) who can own a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Owner {
    /// Stable id, such as a CRM user id.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl Owner {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self { id: id.into(), name: name.into() }
    }
}
