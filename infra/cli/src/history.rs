//! Reading a lead history to replay: CSV or JSON Lines, by the file's extension (`.csv`;
//! `.jsonl`, `.ndjson`), or a CRM's CSV export through a column-mapping file.
//!
//! Every row is one lead as it was submitted, in the lead contract's field names (CSV columns
//! may be flat, `utm_source`, or dotted, `source.utm_source`; `attributes.plan`), plus:
//! - `captured_at` (required): RFC 3339, when the lead arrived; it is decided at that time;
//! - `lead_id` (optional): a UUID, for the examples and `--json` output (else one per row);
//! - `touched_at` (optional): RFC 3339, its first touch, which frees an open-lead slot;
//! - `key_id` (optional): the capture key it came through, for rules on `key_id`.
//!
//! `GET /admin/leads/export?format=jsonl` writes exactly this (one line a lead).
//!
//! Other columns (an export's `owner`, `sla`, …) are ignored. Each row is checked by the same
//! contract as `POST /leads`; a bad row stops the read with its row (or line) and column.
//!
//! A mapping file names, for contract fields, the CRM's columns:
//!
//! ```toml
//! [columns]
//! email = "Email Address"
//! country = "Billing Country"
//! captured_at = "Created Date"
//! utm_source = "Lead Source"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use baton_domain::contract::SOURCE_FIELDS;
use baton_domain::rules::replay::HistoricalLead;
use baton_domain::{LeadId, LeadSubmission, Timestamp};
use serde::Deserialize;

/// Why a history could not be read: always with the file, and the row and column when a row is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {at}{message}")]
pub struct HistoryError {
    pub file: String,
    /// `row 3, column "email": ` or `line 7, field "country": `, or empty.
    pub at: String,
    pub message: String,
}

/// A CRM export's column names for contract fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Contract field (or `captured_at`, `lead_id`, `touched_at`) → the file's column.
    pub columns: BTreeMap<String, String>,
}

impl Mapping {
    /// Reads a mapping file (TOML); the error names the line.
    pub fn read(path: &Path) -> Result<Self, HistoryError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| HistoryError {
            file: file.clone(),
            at: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            HistoryError {
                file,
                at: line.map(|l| format!("line {l}: ")).unwrap_or_default(),
                message: e.message().to_owned(),
            }
        })
    }
}

/// The contract's top-level fields a history row may carry.
const FIELDS: &[&str] = &[
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "website",
    "job_title",
    "country",
    "region",
    "postal_code",
    "company_size",
    "employee_count",
    "product_interest",
    "message",
    "source",
    "consent",
    "attributes",
];

fn parse_time(raw: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("`{raw}` is not an RFC 3339 time ({e})"))
}

/// A stable id for row `n` of a history without lead ids.
fn row_id(n: u64) -> LeadId {
    LeadId::parse(&format!("00000000-0000-4000-8000-{n:012x}")).expect("a valid UUID")
}

/// Reads the history at `path` (with `mapping` for a CRM export), calling `progress` with the
/// bytes read so far.
pub fn read(
    path: &Path,
    mapping: Option<&Mapping>,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<HistoricalLead>, HistoryError> {
    let file = path.display().to_string();
    let fail = |at: String, message: String| HistoryError { file: file.clone(), at, message };
    let bytes = std::fs::read(path).map_err(|e| fail(String::new(), format!("cannot read: {e}")))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "ndjson" => read_json_lines(&bytes, progress).map_err(|(at, m)| fail(at, m)),
        "csv" => read_csv(&bytes, mapping, progress).map_err(|(at, m)| fail(at, m)),
        _ => Err(fail(String::new(), "give a .csv, .jsonl or .ndjson file".into())),
    }
}

type RowError = (String, String);

fn read_json_lines(bytes: &[u8], progress: &mut dyn FnMut(u64)) -> Result<Vec<HistoricalLead>, RowError> {
    let text = std::str::from_utf8(bytes).map_err(|e| (String::new(), format!("not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut leads = Vec::new();
    let mut read = 0u64;
    for (i, line) in text.lines().enumerate() {
        read += line.len() as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let n = i + 1;
        let at = |field: &str| format!("line {n}, field \"{field}\": ");
        let serde_json::Value::Object(mut object) =
            serde_json::from_str(line).map_err(|e| (format!("line {n}: "), format!("not JSON: {e}")))?
        else {
            return Err((format!("line {n}: "), "not a JSON object".into()));
        };
        let text_of = |object: &mut serde_json::Map<String, serde_json::Value>, key: &str| {
            object.remove(key).and_then(|v| v.as_str().map(str::to_owned))
        };
        let captured_at =
            text_of(&mut object, "captured_at").ok_or_else(|| (at("captured_at"), "is required".into()))?;
        let captured_at = parse_time(&captured_at).map_err(|e| (at("captured_at"), e))?;
        let touched_at = match text_of(&mut object, "touched_at") {
            Some(t) => Some(parse_time(&t).map_err(|e| (at("touched_at"), e))?),
            None => None,
        };
        let id = match text_of(&mut object, "lead_id") {
            Some(id) => LeadId::parse(&id).map_err(|e| (at("lead_id"), e))?,
            None => row_id(n as u64),
        };
        let key_id = text_of(&mut object, "key_id");
        object.retain(|k, _| FIELDS.contains(&k.as_str()));
        let body = serde_json::to_vec(&object).expect("a map serializes");
        let mut lead = LeadSubmission::from_json(&body)
            .and_then(|s| s.into_lead(id, captured_at))
            .map_err(|e| first_problem(&e, |field| at(field)))?;
        lead.source.key_id = key_id;
        leads.push(HistoricalLead { lead, touched_at });
        progress(read);
    }
    Ok(leads)
}

fn first_problem(e: &baton_domain::ContractError, at: impl Fn(&str) -> String) -> RowError {
    let errors = e.field_errors();
    let first = errors.first();
    let field = first.map_or("body", |f| f.field.as_str());
    let more = if errors.len() > 1 { format!(" (and {} more)", errors.len() - 1) } else { String::new() };
    (at(field), format!("{}{more}", first.map_or_else(|| e.to_string(), |f| f.message.clone())))
}

/// The names a mapping may map: the contract's fields, source fields, `attributes.*`, and the
/// history's own columns. Two fields from one column is refused too.
fn check_mapping(m: &Mapping) -> Result<(), RowError> {
    let meta = ["captured_at", "lead_id", "touched_at", "key_id"];
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (ours, theirs) in &m.columns {
        let top = ours.split('.').next().unwrap_or_default();
        let known = meta.contains(&ours.as_str())
            || (FIELDS.contains(&top) && !["source", "consent", "attributes"].contains(&top))
            || SOURCE_FIELDS.contains(&ours.strip_prefix("source.").unwrap_or(ours))
            || (ours.starts_with("attributes.") && ours.len() > "attributes.".len())
            || ours.starts_with("consent");
        if !known {
            return Err((String::new(), format!("the mapping names `{ours}`, which is not a lead contract field")));
        }
        if let Some(other) = seen.insert(theirs.as_str(), ours.as_str()) {
            return Err((
                String::new(),
                format!("the mapping gives the column \"{theirs}\" to both `{other}` and `{ours}`"),
            ));
        }
    }
    Ok(())
}

fn read_csv(
    bytes: &[u8],
    mapping: Option<&Mapping>,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<HistoricalLead>, RowError> {
    if let Some(m) = mapping {
        check_mapping(m)?;
    }
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = reader.headers().map_err(|e| ("row 1: ".into(), format!("not a CSV header: {e}")))?.clone();
    // Each column's contract name (through the mapping), and the file's own name for errors.
    let renamed: BTreeMap<&str, &str> = mapping
        .map(|m| m.columns.iter().map(|(ours, theirs)| (theirs.as_str(), ours.as_str())).collect())
        .unwrap_or_default();
    if let Some(m) = mapping
        && let Some((ours, theirs)) = m.columns.iter().find(|(_, theirs)| !headers.iter().any(|h| h == theirs.as_str()))
    {
        return Err(("row 1: ".into(), format!("the mapping's column \"{theirs}\" (for `{ours}`) is not in the file")));
    }
    let names: Vec<String> = headers
        .iter()
        .map(|h| match mapping {
            Some(_) => renamed.get(h).map(|s| (*s).to_owned()).unwrap_or_default(),
            None => h.trim().to_owned(),
        })
        .collect();
    let column_of = |name: &str| names.iter().position(|n| n == name);
    let Some(captured_col) = column_of("captured_at") else {
        return Err(("row 1: ".into(), "no `captured_at` column: each lead is replayed at its capture time".into()));
    };
    let the_column = |field: &str| -> String {
        let flat = field.strip_prefix("source.").unwrap_or(field);
        let i = column_of(field).or_else(|| column_of(flat)).or_else(|| column_of(&format!("source.{flat}")));
        i.map_or_else(|| field.to_owned(), |i| headers.get(i).unwrap_or(field).to_owned())
    };
    let mut leads = Vec::new();
    // Lines counted so far: up to which byte, and how many newlines before it (rows come in
    // order, so each byte is counted once).
    let counted = std::cell::Cell::new((0usize, 0u64));
    for record in reader.records() {
        // The file's line where the row starts (blank lines skipped, a quoted field may span several).
        let line_at = |p: &csv::Position| {
            let mut start = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(bytes.len());
            // A record's position is where reading it began, before the blank lines it skipped.
            while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
                start += 1;
            }
            let (upto, lines) = counted.get();
            let lines = if start >= upto {
                lines + bytes[upto..start].iter().filter(|b| **b == b'\n').count() as u64
            } else {
                bytes[..start].iter().filter(|b| **b == b'\n').count() as u64
            };
            counted.set((start, lines));
            lines + 1
        };
        let record = record.map_err(|e| {
            let line = e.position().map_or_else(String::new, |p| format!("row {}: ", line_at(p)));
            (line, e.to_string())
        })?;
        let n = record.position().map_or(0, line_at);
        let at = |column: &str| format!("row {n}, column \"{column}\": ");
        let cell = |c: usize| record.get(c).unwrap_or_default().trim();
        let captured_at = parse_time(cell(captured_col)).map_err(|e| (at(&headers[captured_col]), e))?;
        let touched_at = match column_of("touched_at").map(cell).filter(|s| !s.is_empty()) {
            Some(t) => Some(parse_time(t).map_err(|e| (at(&the_column("touched_at")), e))?),
            None => None,
        };
        let id = match column_of("lead_id").map(cell).filter(|s| !s.is_empty()) {
            Some(id) => LeadId::parse(id).map_err(|e| (at(&the_column("lead_id")), e))?,
            None => row_id(n),
        };
        let pairs: Vec<(&str, String)> = names
            .iter()
            .enumerate()
            .filter(|(_, name)| {
                let top = name.split('.').next().unwrap_or_default();
                // `captured_at` is the history's own column (when the lead arrived), not the form's clock.
                let source = SOURCE_FIELDS.contains(&name.as_str()) && *name != "captured_at";
                FIELDS.contains(&top) || source || name.starts_with("attributes.")
            })
            .map(|(c, name)| (name.as_str(), cell(c)))
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, v)| (name, v.to_owned()))
            .collect();
        let mut lead = LeadSubmission::from_fields(pairs)
            .and_then(|s| s.into_lead(id, captured_at))
            .map_err(|e| first_problem(&e, |field| at(&the_column(field))))?;
        lead.source.key_id = column_of("key_id").map(cell).filter(|s| !s.is_empty()).map(str::to_owned);
        leads.push(HistoricalLead { lead, touched_at });
        progress(record.position().map_or(0, |p| p.byte()));
    }
    Ok(leads)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows are named by the file's line where they start, past blank lines and quoted cells
    /// that span lines, counted once through the file however long it is.
    #[test]
    fn a_bad_row_is_named_by_its_line_after_blank_lines_and_multi_line_cells() {
        let mut csv = String::from("captured_at,email,company\n");
        for i in 0..2_000 {
            csv += &format!("2026-11-02T12:{:02}:00Z,p{i}@c{i}.example,\"Company\n{i}\"\n", i % 60);
            if i % 100 == 0 {
                csv += "\n";
            }
        }
        csv += "2026-11-02T13:00:00Z,not-an-email,Last\n";
        // 1 header + 2,000 rows of 2 lines + 20 blank lines: the bad row starts on line 4,022.
        let (at, message) = read_csv(csv.as_bytes(), None, &mut |_| {}).unwrap_err();
        assert_eq!(at, "row 4022, column \"email\": ", "{message}");
        let ok = read_csv(csv.rsplit_once("2026-11-02T13").unwrap().0.as_bytes(), None, &mut |_| {}).unwrap();
        assert_eq!(ok.len(), 2_000);
    }
}
