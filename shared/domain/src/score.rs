//! Scores and priorities. The criteria that produce them are data: see [`crate::rules`].

use serde::{Deserialize, Serialize};

/// How urgently a lead should be worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Cold,
    Warm,
    Hot,
}

impl Priority {
    /// The lower-case name used in messages and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Warm => "warm",
            Self::Hot => "hot",
        }
    }
}

/// One criterion's contribution to a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreReason {
    pub points: i32,
    pub reason: String,
}

/// A lead's score: the total, the priority it implies and the itemized reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Score {
    pub points: i32,
    pub priority: Priority,
    pub reasons: Vec<ScoreReason>,
}
