//! Outcome and touch events as senders submit them: one at a time or in batches through the admin
//! API, or as rows of a CRM's CSV export. Every path parses into the same [`Submission`] and is
//! checked by the same [`Submission::into_touch`], so a field means the same thing everywhere and
//! every problem names its field (`occurred_at`, or `row 3.occurred_at` in an import).
//!
//! [`Submission::into_touch`] checks what is malformed (a 400 at the API): the kind, who acted,
//! the time's format, the channel, the external id, the amount. [`dated`] checks what is well
//! formed but cannot have happened (a 422): a time more than [`future_skew`] ahead, or before the
//! lead's capture. Whether the lead exists, is open, and has seen the event before is
//! [`crate::Lead::touch`]'s to say; [`check_import`] asks it for every row of an import at once.

use serde::Deserialize;

use crate::contract::MAX_SHORT_TEXT;
use crate::touch::{CHANNELS, future_skew};
use crate::{FieldError, LeadId, Money, Timestamp, Touch, TouchKind};

/// The most events one batch request may carry.
pub const MAX_BATCH: usize = 100;

/// The most rows one CSV import may carry.
pub const MAX_IMPORT_ROWS: usize = 1_000;

/// The longest external id kept.
pub const MAX_EXTERNAL_ID: usize = 200;

/// The longest note kept (longer notes are cut; a note never costs an event).
pub const MAX_NOTE: usize = 1_000;

/// The longest reason kept.
pub const MAX_REASON: usize = 500;

/// An amount as sent: a JSON number or a decimal string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum AmountText {
    Text(String),
    Number(f64),
}

impl AmountText {
    fn text(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Number(n) => n.to_string(),
        }
    }
}

/// One event as submitted. `lead_id` is required in batches and imports and must be absent
/// (it is in the path) for `POST /admin/leads/{id}/touches`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    #[serde(default)]
    pub lead_id: Option<String>,
    /// The kind's wire name, such as `meeting_booked`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Who acted: a rep's id or name, or the system that sent it.
    #[serde(default)]
    pub by: Option<String>,
    /// When it happened (RFC 3339); when it arrived if absent.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// `slack`, `api`, `crm` or `import`; the path's own channel if absent.
    #[serde(default)]
    pub channel: Option<String>,
    /// The sender's id for the event: the same id again is a replay.
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub amount: Option<AmountText>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A checked event: the lead it is for (when the submission named one) and the touch to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub lead_id: Option<LeadId>,
    pub touch: Touch,
}

fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Parses an RFC 3339 time (`2026-12-04T09:30:00Z`, or with an offset) into UTC.
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("`{}` is not an RFC 3339 time such as 2026-12-04T09:30:00Z", text.trim()))
}

impl Submission {
    /// Checks the submission and builds the touch it records, arriving at `now` through
    /// `channel` unless it names its own. Every problem is returned, each naming its field.
    pub fn into_touch(self, channel: &str, now: Timestamp) -> Result<Checked, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| errors.push(FieldError::new(field, message));
        let lead_id = present(self.lead_id).and_then(|id| LeadId::parse(&id).map_err(|e| fail("lead_id", e)).ok());
        let kind = match present(self.kind) {
            None => {
                fail("kind", "is required".into());
                None
            }
            Some(k) => TouchKind::parse(&k).or_else(|| {
                let known: Vec<&str> = TouchKind::ALL.iter().map(|k| k.as_str()).collect();
                fail("kind", format!("`{k}` is not a kind; one of {}", known.join(", ")));
                None
            }),
        };
        let by = match present(self.by) {
            None => {
                fail("by", "is required: who acted".into());
                None
            }
            Some(by) if by.chars().count() > MAX_SHORT_TEXT => {
                fail("by", format!("is longer than {MAX_SHORT_TEXT} characters"));
                None
            }
            Some(by) => Some(by),
        };
        let at = match present(self.occurred_at) {
            None => Some(now),
            Some(text) => parse_time(&text).map_err(|e| fail("occurred_at", e)).ok(),
        };
        let via = present(self.channel).unwrap_or_else(|| channel.to_owned()).to_ascii_lowercase();
        if !CHANNELS.contains(&via.as_str()) {
            fail("channel", format!("`{via}` is not a channel; one of {}", CHANNELS.join(", ")));
        }
        let external_id = present(self.external_id);
        if external_id.as_ref().is_some_and(|id| id.chars().count() > MAX_EXTERNAL_ID) {
            fail("external_id", format!("is longer than {MAX_EXTERNAL_ID} characters"));
        }
        let amount = match (self.amount.map(|a| a.text()).filter(|a| !a.trim().is_empty()), present(self.currency)) {
            (None, None) => None,
            (None, Some(_)) => {
                fail("amount", "is required when a currency is given".into());
                None
            }
            (Some(_), None) => {
                fail("currency", "is required with an amount (ISO 4217, such as EUR)".into());
                None
            }
            (Some(a), Some(c)) => match Money::parse(&a, &c) {
                Ok(m) => Some(m),
                Err((field, message)) => {
                    fail(field, message);
                    None
                }
            },
        };
        if amount.is_some() && kind.is_some_and(|k| !carries_amount(k)) {
            fail("amount", "is recorded only for opportunity_created, won and lost".into());
        }
        let reason = present(self.reason);
        if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
            fail("reason", format!("is longer than {MAX_REASON} characters"));
        }
        let (Some(kind), Some(by), Some(at), true) = (kind, by, at, errors.is_empty()) else {
            return Err(errors);
        };
        let mut touch = Touch::new(kind, at, by, via);
        touch.note = present(self.note).map(|n| n.chars().take(MAX_NOTE).collect());
        touch.external_id = external_id;
        touch.amount = amount;
        touch.reason = reason;
        touch.recorded_at = (now > at).then_some(now);
        Ok(Checked { lead_id, touch })
    }
}

/// Why an event cannot be recorded as dated, naming `occurred_at`: it is dated before the lead
/// was captured (when `captured_at` is known), or more than [`future_skew`] after `now` (the
/// sender's clock may run a little ahead; further is a mistake).
pub fn dated(touch: &Touch, captured_at: Option<Timestamp>, now: Timestamp) -> Option<FieldError> {
    if let Some(captured) = captured_at.filter(|c| touch.at < *c) {
        return Some(FieldError::new("occurred_at", before_capture(touch.at, captured)));
    }
    (touch.at > now + future_skew()).then(|| {
        FieldError::new(
            "occurred_at",
            format!(
                "{} is in the future (more than {} minutes ahead)",
                touch.at.to_rfc3339(),
                future_skew().num_minutes()
            ),
        )
    })
}

/// The problem with an event at `at` on a lead captured at `captured`, later.
pub fn before_capture(at: Timestamp, captured: Timestamp) -> String {
    format!("{} is before the lead was captured ({})", at.to_rfc3339(), captured.to_rfc3339())
}

/// Whether an event of `kind` may carry an amount.
pub fn carries_amount(kind: TouchKind) -> bool {
    matches!(kind, TouchKind::OpportunityCreated | TouchKind::Won | TouchKind::Lost)
}

/// The columns an import may have; `lead_id`, `kind`, `by` and `occurred_at` are required.
pub const IMPORT_COLUMNS: [&str; 10] =
    ["lead_id", "kind", "by", "occurred_at", "channel", "external_id", "note", "amount", "currency", "reason"];

/// One checked import row: its number (the line it starts on; the header is row 1), lead and touch.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    pub row: usize,
    pub lead_id: LeadId,
    pub touch: Touch,
}

/// Parses a CSV import (a CRM export) with a header row naming [`IMPORT_COLUMNS`], arriving at
/// `now`; the channel is `import` unless a row names one. All or nothing: every problem in
/// every row is returned as `row N.column` (`row 1` is the header), and no row is returned
/// unless all are good.
pub fn parse_import(text: &str, now: Timestamp) -> Result<Vec<ImportRow>, Vec<FieldError>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim_start_matches('\u{feff}').to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![FieldError::new("row 1", format!("not a CSV header row: {e}"))]),
    };
    let mut errors = Vec::new();
    for (i, column) in headers.iter().enumerate() {
        if !IMPORT_COLUMNS.contains(&column.as_str()) {
            errors.push(FieldError::new(
                format!("row 1.{column}"),
                format!("`{column}` is not a column; the columns are {}", IMPORT_COLUMNS.join(", ")),
            ));
        } else if headers[..i].contains(column) {
            errors.push(FieldError::new(format!("row 1.{column}"), "appears twice".to_owned()));
        }
    }
    for required in &IMPORT_COLUMNS[..4] {
        if !headers.iter().any(|h| h == required) {
            errors.push(FieldError::new(format!("row 1.{required}"), "the column is missing".to_owned()));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // The line the row starts on (blank lines are skipped but counted).
        let row = record.as_ref().ok().and_then(|r| r.position()).map_or(i + 2, |p| {
            // The reader's position is where it began reading: skip the blank lines before the row.
            let from = usize::try_from(p.byte()).unwrap_or(usize::MAX).min(text.len());
            let start = from + text.as_bytes()[from..].iter().take_while(|b| matches!(b, b'\n' | b'\r')).count();
            text.as_bytes()[..start].iter().filter(|b| **b == b'\n').count() + 1
        });
        if i >= MAX_IMPORT_ROWS {
            errors.push(FieldError::new(
                format!("row {row}"),
                format!("an import has at most {MAX_IMPORT_ROWS} rows; split the file"),
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError::new(format!("row {row}"), format!("not a CSV row: {e}")));
                continue;
            }
        };
        if record.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let value = |name: &str| headers.iter().position(|h| h == name).and_then(|i| record.get(i)).map(str::to_owned);
        let submission = Submission {
            lead_id: value("lead_id"),
            kind: value("kind"),
            by: value("by"),
            occurred_at: value("occurred_at"),
            channel: value("channel"),
            external_id: value("external_id"),
            note: value("note"),
            amount: value("amount").map(AmountText::Text),
            currency: value("currency"),
            reason: value("reason"),
        };
        let no_time = submission.occurred_at.as_deref().is_none_or(|t| t.trim().is_empty());
        let no_lead = submission.lead_id.as_deref().is_none_or(|t| t.trim().is_empty());
        let at = |field: &str| format!("row {row}.{field}");
        if no_lead {
            errors.push(FieldError::new(at("lead_id"), "is required"));
        }
        if no_time {
            errors.push(FieldError::new(at("occurred_at"), "is required in an import: when it happened"));
        }
        match submission.into_touch("import", now) {
            Ok(Checked { lead_id: Some(lead_id), touch }) if !no_time => match dated(&touch, None, now) {
                Some(e) => errors.push(FieldError::new(at(&e.field), e.message)),
                None => rows.push(ImportRow { row, lead_id, touch }),
            },
            Ok(_) => {}
            Err(problems) => {
                errors.extend(problems.into_iter().map(|e| FieldError::new(at(&e.field), e.message)));
            }
        }
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// Checks an import against its leads before anything is written (all or nothing): every row
/// must name a lead in `leads`, and, applied in the order they happened, every row must be one
/// its lead accepts or has already recorded (importing the same file twice changes nothing). The
/// problems name `row N.lead_id` (no such lead), `row N.occurred_at` (before the capture) or
/// `row N.kind` (the lead is closed by then).
pub fn check_import(rows: &[ImportRow], leads: &std::collections::HashMap<LeadId, crate::Lead>) -> Vec<FieldError> {
    let mut leads = leads.clone();
    let mut order: Vec<&ImportRow> = rows.iter().collect();
    order.sort_by_key(|r| (r.touch.at, r.row));
    let mut errors = Vec::new();
    for row in order {
        let at = |field: &str| format!("row {}.{field}", row.row);
        let Some(lead) = leads.get_mut(&row.lead_id) else {
            errors.push(FieldError::new(at("lead_id"), format!("no lead {}", row.lead_id)));
            continue;
        };
        match lead.touch(row.touch.clone()) {
            Ok(t) => *lead = t.lead,
            Err(crate::Refusal::AlreadyRecorded) => {}
            Err(crate::Refusal::BeforeCapture(captured)) => {
                errors.push(FieldError::new(at("occurred_at"), before_capture(row.touch.at, captured)));
            }
            Err(refusal) => errors.push(FieldError::new(
                at("kind"),
                format!("lead {} cannot take `{}` by then: {refusal}", row.lead_id, row.touch.kind.as_str()),
            )),
        }
    }
    errors.sort_by_key(|e| e.field.split(['.', ' ']).nth(1).and_then(|n| n.parse::<usize>().ok()));
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-12-04T10:00:00Z".parse().unwrap()
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    fn json(text: &str) -> Submission {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_full_event_keeps_every_field_and_when_it_arrived() {
        let checked = json(
            r#"{"lead_id":"0b9e8a52-3f1c-4d2e-9a6b-7c5d4e3f2a10","kind":"opportunity_created","by":"ana","occurred_at":"2026-12-04T09:30:00+01:00",
                "channel":"CRM","external_id":"opp-1","note":"  big one ","amount":12500.5,"currency":"eur"}"#,
        )
        .into_touch("api", now())
        .unwrap();
        let t = checked.touch;
        assert_eq!(checked.lead_id.unwrap().to_string(), "0b9e8a52-3f1c-4d2e-9a6b-7c5d4e3f2a10");
        assert_eq!((t.kind, t.by.as_str(), t.via.as_str()), (TouchKind::OpportunityCreated, "ana", "crm"));
        assert_eq!(t.at, "2026-12-04T08:30:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(t.recorded_at, Some(now()));
        assert_eq!(t.amount, Some(Money { amount: "12500.5".into(), currency: "EUR".into() }));
        assert_eq!((t.external_id.as_deref(), t.note.as_deref()), (Some("opp-1"), Some("big one")));
    }

    #[test]
    fn without_a_time_the_event_happened_when_it_arrived() {
        let t = json(r#"{"kind":"called","by":"ana"}"#).into_touch("api", now()).unwrap().touch;
        assert_eq!((t.at, t.recorded_at, t.via.as_str()), (now(), None, "api"));
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let errors = json(
            r#"{"lead_id":"nope","kind":"danced","by":" ","occurred_at":"yesterday","channel":"fax","amount":"12,5","currency":"EUR"}"#,
        )
        .into_touch("api", now())
        .unwrap_err();
        assert_eq!(fields(&errors), ["lead_id", "kind", "by", "occurred_at", "channel", "amount"]);
        assert!(errors[1].message.contains("meeting_booked"), "{errors:?}");
    }

    #[test]
    fn a_time_beyond_the_skew_is_in_the_future_and_one_before_the_capture_is_too_early() {
        let touch = |at: &str| {
            json(&format!(r#"{{"kind":"called","by":"a","occurred_at":"{at}"}}"#))
                .into_touch("api", now())
                .unwrap()
                .touch
        };
        assert_eq!(dated(&touch("2026-12-04T10:04:00Z"), None, now()), None);
        let future = dated(&touch("2026-12-04T10:06:00Z"), None, now()).unwrap();
        assert_eq!(future.field, "occurred_at");
        assert!(future.message.contains("future"), "{future:?}");
        let captured = "2026-12-04T09:00:00Z".parse().ok();
        let early = dated(&touch("2026-12-04T08:59:59Z"), captured, now()).unwrap();
        assert!(early.message.contains("before the lead was captured"), "{early:?}");
        assert_eq!(dated(&touch("2026-12-04T09:00:00Z"), captured, now()), None);
    }

    #[test]
    fn amounts_need_a_currency_and_belong_to_deals() {
        for (body, field) in [
            (r#"{"kind":"won","by":"a","amount":"10"}"#, "currency"),
            (r#"{"kind":"won","by":"a","currency":"EUR"}"#, "amount"),
            (r#"{"kind":"called","by":"a","amount":"10","currency":"EUR"}"#, "amount"),
            (r#"{"kind":"won","by":"a","amount":"-1","currency":"EUR"}"#, "amount"),
            (r#"{"kind":"won","by":"a","amount":"1","currency":"EURO"}"#, "currency"),
        ] {
            assert_eq!(fields(&json(body).into_touch("api", now()).unwrap_err()), [field], "{body}");
        }
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let e = serde_json::from_str::<Submission>(r#"{"kind":"called","by":"a","colour":"red"}"#).unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    const LEAD: &str = "0b9e8a52-3f1c-4d2e-9a6b-7c5d4e3f2a10";

    #[test]
    fn an_import_reads_rows_in_any_column_order() {
        let text = format!(
            "\u{feff}occurred_at,lead_id,kind,by,external_id,reason\n\
             2026-12-03T09:00:00Z,{LEAD},called,ana,act-1,\n\
             \n\
             2026-12-03T11:00:00Z,{LEAD},disqualified,ana,act-2,student\n"
        );
        let rows = parse_import(&text, now()).unwrap();
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(rows[0].touch.via, "import");
        assert_eq!(rows[1].touch.reason.as_deref(), Some("student"));
        assert_eq!(rows[1].touch.external_id.as_deref(), Some("act-2"));
    }

    #[test]
    fn an_import_names_every_bad_row_and_column_and_returns_nothing() {
        let text = format!(
            "lead_id,kind,by,occurred_at,amount,currency\n\
             {LEAD},called,ana,2026-12-03T09:00:00Z,,\n\
             {LEAD},danced,ana,2026-12-03T09:00:00Z,,\n\
             ,won,,,10,EUR\n"
        );
        let errors = parse_import(&text, now()).unwrap_err();
        assert_eq!(fields(&errors), ["row 3.kind", "row 4.lead_id", "row 4.occurred_at", "row 4.by"]);
    }

    fn assigned(at: &str) -> crate::Lead {
        let at: Timestamp = at.parse().unwrap();
        let lead = crate::LeadSubmission { email: Some("a@corp.example".into()), ..Default::default() }
            .into_lead(LeadId::parse(LEAD).unwrap(), at)
            .unwrap();
        lead.assign(crate::decide(&lead, &crate::Ruleset::default_ruleset(), at)).unwrap().lead
    }

    #[test]
    fn an_import_is_checked_against_its_leads_in_the_order_things_happened() {
        let other = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c";
        let text = format!(
            "lead_id,kind,by,occurred_at,external_id\n\
             {LEAD},called,ana,2026-12-03T12:00:00Z,a-2\n\
             {LEAD},not_a_fit,ana,2026-12-03T11:00:00Z,a-1\n\
             {LEAD},emailed,ana,2026-12-03T08:00:00Z,a-0\n\
             {other},called,ana,2026-12-03T12:00:00Z,b-1\n"
        );
        let rows = parse_import(&text, now()).unwrap();
        let lead = assigned("2026-12-03T09:00:00Z");
        let leads = std::collections::HashMap::from([(lead.id.clone(), lead.clone())]);
        let errors = check_import(&rows, &leads);
        assert_eq!(fields(&errors), ["row 2.kind", "row 4.occurred_at", "row 5.lead_id"], "{errors:?}");
        assert!(errors[0].message.contains("disqualified"), "{errors:?}");

        // Rows the lead already has are fine: importing a file twice changes nothing.
        let good = parse_import(
            &format!("lead_id,kind,by,occurred_at,external_id\n{LEAD},called,ana,2026-12-03T12:00:00Z,a-2\n"),
            now(),
        )
        .unwrap();
        let once = lead.touch(good[0].touch.clone()).unwrap().lead;
        assert!(check_import(&good, &std::collections::HashMap::from([(once.id.clone(), once)])).is_empty());
    }

    #[test]
    fn an_import_header_must_name_known_columns_once_and_the_required_ones() {
        let errors = parse_import("lead_id,kind,by,colour,kind\n", now()).unwrap_err();
        assert_eq!(fields(&errors), ["row 1.colour", "row 1.kind", "row 1.occurred_at"]);
        let ragged = format!("lead_id,kind,by,occurred_at\n{LEAD},called\n");
        assert_eq!(fields(&parse_import(&ragged, now()).unwrap_err()), ["row 2"]);
    }
}
