//! `baton`, the command line for rules: check and lint a ruleset, replay history through it
//! (`simulate`), compare two rulesets on the same history (`diff`), and manage the deployed
//! versions (`rules upload|list|activate|rollback`, `leads show`) through the admin API or the
//! table.
//!
//! # Layout
//! - `main.rs`: the commands (clap), their output (tables, or `--json`) and exit codes.
//! - [`history`]: reading a lead history (CSV, JSON Lines, a CRM export through a mapping).
//! - [`api`]: the admin API client.
//! - [`ops`]: importing accounts and redriving notify's dead-letter queue on a deployed stack.
//! - this file: reading a ruleset file with each problem's line and field ([`read_ruleset`]).
//!
//! The decisions themselves are the domain's: [`baton_domain::rules::replay`] and
//! [`baton_domain::rules::lint`].

pub mod api;
pub mod history;
pub mod ops;

use std::path::Path;

use baton_domain::{FieldError, Ruleset};
use toml::de::{DeTable, DeValue};

/// One problem with a ruleset file: its line (when it can be found) and field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) if !self.field.starts_with("line ") => {
                write!(f, "line {line}: {}: {}", self.field, self.message)
            }
            _ => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Why a ruleset file was not read.
#[derive(Debug, thiserror::Error)]
pub enum RulesetError {
    #[error("cannot read {0}: {1}")]
    Unreadable(String, std::io::Error),
    #[error("{0} is not a valid ruleset")]
    Invalid(String, Vec<Problem>),
}

/// Reads and validates a ruleset (TOML) exactly as the admin API does, placing each problem
/// on its line.
pub fn read_ruleset(path: &Path) -> Result<(String, Ruleset), RulesetError> {
    let text = std::fs::read_to_string(path).map_err(|e| RulesetError::Unreadable(path.display().to_string(), e))?;
    match Ruleset::parse_toml(&text) {
        Ok(ruleset) => Ok((text, ruleset)),
        Err(errors) => Err(RulesetError::Invalid(path.display().to_string(), place(&text, &errors))),
    }
}

/// `errors` with the line each one's field is on.
pub fn place(text: &str, errors: &[FieldError]) -> Vec<Problem> {
    errors
        .iter()
        .map(|e| {
            let line = e.field.strip_prefix("line ").and_then(|n| n.parse().ok()).or_else(|| line_of(text, &e.field));
            Problem { line, field: e.field.clone(), message: e.message.clone() }
        })
        .collect()
}

/// The line where the field at `path` (`routing[2].pool`, `pools.europe.members[0]`) is
/// written in the TOML `text`: the deepest part of the path that exists.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut span: Option<std::ops::Range<usize>> = None;
    let mut here: Option<&DeValue<'_>> = None;
    let root = doc.get_ref();
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let table = match here {
            None => root,
            Some(v) => match v.as_table() {
                Some(t) => t,
                None => break,
            },
        };
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key) else { break };
        span = Some(k.span());
        here = Some(v.get_ref());
        for index in indexes.split(']').filter_map(|s| s.strip_prefix('[')).filter_map(|s| s.parse::<usize>().ok()) {
            let Some(item) = here.and_then(|v| v.as_array()).and_then(|a| a.get(index)) else { break };
            span = Some(item.span());
            here = Some(item.get_ref());
        }
    }
    span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n\n[scoring]\nhot_at = 10\nwarm_at = 20\n\n[[routing]]\nname = \"a\"\npool = \"p\"\n\n[[routing]]\nname = \"b\"\npool = \"nope\"\n\n[pools.p]\nmembers = [\n  { id = \"r1\", name = \"R1\" },\n  { id = \"r2\", name = \"R2\", meeting_link = \"http://x\" },\n]\n";

    #[test]
    fn a_field_path_is_found_on_its_line() {
        assert_eq!(line_of(TEXT, "scoring.warm_at"), Some(5));
        assert_eq!(line_of(TEXT, "routing[1].pool"), Some(13));
        assert_eq!(line_of(TEXT, "routing[0]"), Some(7));
        assert_eq!(line_of(TEXT, "pools.p.members[1].meeting_link"), Some(18));
        assert_eq!(line_of(TEXT, "pools.p.members[1].nothing"), Some(18), "the deepest part that exists");
        assert_eq!(line_of(TEXT, "nowhere"), None);
    }
}
