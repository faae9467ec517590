//! The metrics routes: `GET /admin/metrics` (JSON), `GET /admin/metrics/export` (the slices as
//! CSV) and `GET /admin/leads/export` (lead-level CSV, a page at a time, with its progress).
//! Every figure comes from [`Figures`], so the API, the exports and the dashboard agree.

use std::collections::HashMap;

use baton_adapters::{LeadRepository, MetricsStore};
use baton_app::report::Report;
use baton_domain::metrics::{Aggregate, Dimension, ExperimentResult, Figures, NONE, Period};
use baton_domain::{FieldError, LeadId, Timestamp, WaitKind};
use chrono::NaiveDate;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::json;

use crate::AdminError;

/// The longest range a request may ask for, in days.
pub const MAX_RANGE_DAYS: i64 = 400;
/// The range when none is given: the last 30 days, today included.
pub const DEFAULT_RANGE_DAYS: i64 = 30;
/// How far ahead a lead counts as at risk: its first touch is due within this.
pub const AT_RISK_HORIZON_MINUTES: i64 = 60;
/// The most open leads listed (at risk and breached together).
pub const MAX_OPEN_LISTED: usize = 200;
/// Lead-level rows per export page (at most).
pub const MAX_EXPORT_PAGE: usize = 5_000;

/// Which metrics route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Report,
    Slices,
    Leads,
}

/// A metrics request's parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub period: Period,
    pub by: Vec<Dimension>,
    pub cursor: Option<(NaiveDate, Option<LeadId>)>,
    pub limit: usize,
    /// For the lead export: `csv` (the facts, the default) or `jsonl` (a history to replay).
    pub jsonl: bool,
}

impl Query {
    /// Parses `from`, `to` (dates, `YYYY-MM-DD`), `period` (`day`, `week`, `month`), `by`
    /// (comma-separated dimensions), `cursor` and `limit`; every problem names its parameter.
    pub fn parse(params: &HashMap<String, String>, today: NaiveDate) -> Result<Self, AdminError> {
        let mut errors = Vec::new();
        let date = |name: &str, errors: &mut Vec<FieldError>| {
            params.get(name).and_then(|v| match v.parse::<NaiveDate>() {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(FieldError::new(name, format!("`{v}` is not a date (YYYY-MM-DD)")));
                    None
                }
            })
        };
        let to = date("to", &mut errors).unwrap_or(today);
        let from = date("from", &mut errors).unwrap_or(to - chrono::Duration::days(DEFAULT_RANGE_DAYS - 1));
        if errors.is_empty() && from > to {
            errors.push(FieldError::new("from", format!("{from} is after `to` ({to})")));
        }
        if errors.is_empty() && (to - from).num_days() >= MAX_RANGE_DAYS {
            errors.push(FieldError::new("to", format!("a range is at most {MAX_RANGE_DAYS} days")));
        }
        let period = match params.get("period") {
            None => Period::Day,
            Some(p) => Period::parse(p).unwrap_or_else(|| {
                errors.push(FieldError::new("period", format!("`{p}` is not one of day, week, month")));
                Period::Day
            }),
        };
        let mut by = Vec::new();
        let names = params.get("by").map_or("source,owner", String::as_str);
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Dimension::parse(name).filter(|d| *d != Dimension::All) {
                Some(d) if !by.contains(&d) => by.push(d),
                Some(_) => {}
                None => errors.push(FieldError::new(
                    "by",
                    format!(
                        "`{name}` is not one of {}",
                        Dimension::ALL[1..].iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )),
            }
        }
        let cursor = params.get("cursor").and_then(|c| match parse_cursor(c) {
            Some(cursor) if cursor.0 >= from && cursor.0 <= to => Some(cursor),
            _ => {
                errors
                    .push(FieldError::new("cursor", "is not a cursor of this range: use the `next` of the last page"));
                None
            }
        });
        let limit = match params.get("limit") {
            None => 1_000,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_EXPORT_PAGE).contains(&n) => n,
                _ => {
                    errors
                        .push(FieldError::new("limit", format!("must be a whole number from 1 to {MAX_EXPORT_PAGE}")));
                    1
                }
            },
        };
        let jsonl = match params.get("format").map(String::as_str) {
            None | Some("csv") => false,
            Some("jsonl") => true,
            Some(other) => {
                errors.push(FieldError::new("format", format!("`{other}` is not one of csv, jsonl")));
                false
            }
        };
        if errors.is_empty() {
            Ok(Self { from, to, period, by, cursor, limit, jsonl })
        } else {
            Err(AdminError::BadQuery(errors))
        }
    }
}

/// A lead export cursor: `<day>` or `<day>~<lead id>` (the last lead of the page before).
fn parse_cursor(text: &str) -> Option<(NaiveDate, Option<LeadId>)> {
    match text.split_once('~') {
        Some((day, id)) => Some((day.parse().ok()?, Some(LeadId::parse(id).ok()?))),
        None => Some((text.parse().ok()?, None)),
    }
}

/// `GET /admin/metrics`: the figures of the whole team, a series per period, the figures per
/// value of each `by` dimension, and the open leads now at risk or past due.
pub async fn report(
    store: &dyn MetricsStore,
    leads: &dyn LeadRepository,
    now: Timestamp,
    q: &Query,
) -> Result<Response<Body>, AdminError> {
    let report = Report::new(store);
    let overall = report.total(q.from, q.to).await?;
    let series: Vec<serde_json::Value> = report
        .series(q.period, q.from, q.to)
        .await?
        .iter()
        .map(|(start, a)| json!({ "start": start, "figures": Figures::of(a) }))
        .collect();
    let mut by = serde_json::Map::new();
    for dimension in &q.by {
        let mut values: Vec<(String, Aggregate)> = report.by(*dimension, q.from, q.to).await?.into_iter().collect();
        // The largest first; `(none)` last.
        values.sort_by(|(a, x), (b, y)| {
            ((a == NONE), std::cmp::Reverse(x.outcomes.leads), a).cmp(&(
                (b == NONE),
                std::cmp::Reverse(y.outcomes.leads),
                b,
            ))
        });
        let rows: Vec<serde_json::Value> =
            values.iter().map(|(value, a)| json!({ "value": value, "figures": Figures::of(a) })).collect();
        by.insert(dimension.as_str().to_owned(), rows.into());
    }
    let open = open_leads(leads, now).await?;
    let arms = report.by(Dimension::Experiment, q.from, q.to).await?;
    let experiments = ExperimentResult::all(&arms);
    Ok(crate::respond(
        StatusCode::OK,
        json!({
            "from": q.from,
            "to": q.to,
            "period": q.period,
            "as_of": now,
            "overall": Figures::of(&overall),
            "series": series,
            "by": by,
            "open": open,
            "experiments": experiments,
        }),
    ))
}

/// The leads waiting for their first touch whose due time has passed (`breached`) or comes
/// within the horizon (`at_risk`), earliest due first, from the due-time index.
async fn open_leads(leads: &dyn LeadRepository, now: Timestamp) -> Result<serde_json::Value, AdminError> {
    let horizon = now + chrono::Duration::minutes(AT_RISK_HORIZON_MINUTES);
    let found = leads.overdue(WaitKind::FirstTouch, horizon, MAX_OPEN_LISTED + 1).await?;
    let truncated = found.len() > MAX_OPEN_LISTED;
    let (mut breached, mut at_risk) = (Vec::new(), Vec::new());
    for lead in found.iter().take(MAX_OPEN_LISTED) {
        let Some(d) = lead.decision() else { continue };
        let row = json!({
            "lead_id": lead.id,
            "name": lead.display_name(),
            "company": lead.company,
            "owner": { "id": d.owner.id, "name": d.owner.name },
            "priority": d.score.priority.as_str(),
            "status": lead.status().as_str(),
            "due_at": d.first_touch_due_at,
        });
        if d.first_touch_due_at <= now {
            breached.push(row)
        } else if d.first_touch_due_at <= horizon {
            at_risk.push(row)
        }
    }
    Ok(
        json!({ "horizon_minutes": AT_RISK_HORIZON_MINUTES, "breached": breached, "at_risk": at_risk, "truncated": truncated }),
    )
}

const SLICE_COLUMNS: [&str; 25] = [
    "period",
    "start",
    "dimension",
    "value",
    "leads",
    "contacted",
    "meetings",
    "opportunities",
    "contact_rate",
    "meeting_rate",
    "opportunity_rate",
    "sla_met",
    "sla_missed",
    "sla_pending",
    "sla_attainment",
    "warnings",
    "breaches",
    "reassignments",
    "time_to_first_touch_median_seconds",
    "time_to_first_touch_p90_seconds",
    "system_delay_median_seconds",
    "system_delay_p90_seconds",
    "human_delay_median_seconds",
    "human_delay_p90_seconds",
    "pipeline",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A CSV writer's failure (it writes to memory: only a bug makes one).
fn csv_error(e: impl std::fmt::Display) -> AdminError {
    AdminError::Store(baton_adapters::Error::Corrupt(format!("the CSV could not be written: {e}")))
}

fn csv_response(body: Vec<u8>, name: &str) -> Response<Body> {
    let mut response = Response::new(Body::Binary(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// `GET /admin/metrics/export`: every stored slice of `period` for the whole team and each `by`
/// dimension whose period starts in the range, one row each, with the figures of the JSON API.
pub async fn export_slices(store: &dyn MetricsStore, q: &Query) -> Result<Response<Body>, AdminError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(SLICE_COLUMNS).map_err(csv_error)?;
    let start = q.period.first_day(q.from);
    for dimension in std::iter::once(Dimension::All).chain(q.by.iter().copied()) {
        for (slice, a) in store.aggregates(q.period, dimension, start, q.to).await? {
            let f = Figures::of(&a);
            let pipeline: Vec<String> = f.pipeline.iter().map(|(c, n)| format!("{c} {n:.2}")).collect();
            out.write_record([
                slice.period.as_str().to_owned(),
                slice.start.to_string(),
                slice.dimension.as_str().to_owned(),
                slice.value.clone(),
                f.outcomes.leads.to_string(),
                f.outcomes.contacted.to_string(),
                f.outcomes.meetings.to_string(),
                f.outcomes.opportunities.to_string(),
                opt(f.outcomes.contact_rate),
                opt(f.outcomes.meeting_rate),
                opt(f.outcomes.opportunity_rate),
                f.sla_met.to_string(),
                f.sla_missed.to_string(),
                f.sla_pending.to_string(),
                opt(f.sla_attainment),
                f.warnings.to_string(),
                f.breaches.to_string(),
                f.reassignments.to_string(),
                opt(f.time_to_first_touch.median_seconds),
                opt(f.time_to_first_touch.p90_seconds),
                opt(f.system_delay.median_seconds),
                opt(f.system_delay.p90_seconds),
                opt(f.human_delay.median_seconds),
                opt(f.human_delay.p90_seconds),
                pipeline.join("; "),
            ])
            .map_err(csv_error)?;
        }
    }
    let body = out.into_inner().map_err(csv_error)?;
    Ok(csv_response(body, &format!("baton-metrics-{}-{}-{}.csv", q.period.as_str(), q.from, q.to)))
}

const LEAD_COLUMNS: [&str; 23] = [
    "lead_id",
    "captured_at",
    "source",
    "campaign",
    "segment",
    "territory",
    "priority",
    "owner",
    "team",
    "ruleset",
    "system_delay_seconds",
    "human_delay_seconds",
    "time_to_first_touch_seconds",
    "response_bucket",
    "sla",
    "contacted",
    "meeting",
    "opportunity",
    "pipeline_currency",
    "pipeline_amount",
    "warnings",
    "breaches",
    "reassignments",
];

/// `GET /admin/leads/export`: the leads captured in the range that count in the metrics, one
/// row each with their facts and dimension values, day by day in lead id order, at most `limit`
/// rows a page. `Baton-Export-Progress` says how many of the range's days are done; while some
/// are left, `Baton-Export-Next` (and a `Link` with `rel="next"`) holds the next page's cursor.
///
/// With `format=jsonl`, each row is instead the lead as a line of history for `baton simulate`
/// ([`baton_domain::rules::replay::history_line`], read from the lead store: one read a lead).
pub async fn export_leads(
    store: &dyn MetricsStore,
    leads: &dyn LeadRepository,
    q: &Query,
) -> Result<Response<Body>, AdminError> {
    let total_days = (q.to - q.from).num_days() + 1;
    let (mut day, mut after) = q.cursor.clone().unwrap_or((q.from, None));
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut lines: Vec<u8> = Vec::new();
    if !q.jsonl {
        out.write_record(LEAD_COLUMNS).map_err(csv_error)?;
    }
    let mut rows = 0;
    let mut next = None;
    while day <= q.to {
        let page = store.contributions(day, after.as_ref(), q.limit - rows).await?;
        let full = page.len() == q.limit - rows;
        for (id, c) in &page {
            if q.jsonl {
                // A lead counted in the metrics but gone from the store is left out.
                if let Some(lead) = leads.get(id).await? {
                    lines.extend(baton_domain::rules::replay::history_line(&lead).to_string().as_bytes());
                    lines.push(b'\n');
                }
                continue;
            }
            let f = &c.facts;
            let sla = serde_json::to_value(f.sla).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            let bucket = f.bucket().map(|b| b.label()).unwrap_or_default();
            let (currency, amount) = f
                .pipeline
                .as_ref()
                .map_or((String::new(), String::new()), |(c, n)| (c.clone(), format!("{:.4}", *n as f64 / 10_000.0)));
            out.write_record([
                id.to_string(),
                f.captured_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                c.value(Dimension::Source).to_owned(),
                c.value(Dimension::Campaign).to_owned(),
                c.value(Dimension::Segment).to_owned(),
                c.value(Dimension::Territory).to_owned(),
                c.value(Dimension::Priority).to_owned(),
                c.value(Dimension::Owner).to_owned(),
                c.value(Dimension::Team).to_owned(),
                c.value(Dimension::Ruleset).to_owned(),
                opt(f.system_delay),
                opt(f.human_delay),
                opt(f.time_to_first_touch),
                bucket.to_owned(),
                sla,
                f.contacted.to_string(),
                f.meeting.to_string(),
                f.opportunity.to_string(),
                currency,
                amount,
                f.warnings.to_string(),
                f.breaches.to_string(),
                f.reassignments.to_string(),
            ])
            .map_err(csv_error)?;
        }
        rows += page.len();
        if full {
            // The page is full: the next one starts after its last lead (perhaps on this day).
            next = page.last().map(|(id, _)| format!("{day}~{id}"));
            break;
        }
        day += chrono::Duration::days(1);
        after = None;
    }
    let done_days = if next.is_some() { (day - q.from).num_days() } else { total_days };
    let mut response = if q.jsonl {
        let mut r = csv_response(lines, &format!("baton-leads-{}-{}.jsonl", q.from, q.to));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
        r
    } else {
        csv_response(out.into_inner().map_err(csv_error)?, &format!("baton-leads-{}-{}.csv", q.from, q.to))
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{done_days}/{total_days} days")) {
        headers.insert("baton-export-progress", v);
    }
    if let Some(cursor) = next {
        let link = format!(
            "</admin/leads/export?from={}&to={}&limit={}&cursor={cursor}{}>; rel=\"next\"",
            q.from,
            q.to,
            q.limit,
            if q.jsonl { "&format=jsonl" } else { "" }
        );
        if let (Ok(c), Ok(l)) = (HeaderValue::from_str(&cursor), HeaderValue::from_str(&link)) {
            headers.insert("baton-export-next", c);
            headers.insert(header::LINK, l);
        }
    }
    Ok(response)
}
