//! The metrics API and its CSV exports against figures recomputed from the raw leads and events
//! (sorted values and plain counts, not the aggregates), over a range that crosses a month, with
//! leads still open, a late event, and the session cookie the dashboard uses.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryMetrics, MemoryRulesets};
use baton_adapters::{Clock, LeadRepository};
use baton_admin::{Admin, SESSION_COOKIE, digest};
use baton_app::measure::Measure;
use baton_domain::contract::SourceSubmission;
use baton_domain::metrics::{Histogram, SpeedBucket};
use baton_domain::{Lead, LeadId, LeadSubmission, Money, Ruleset, Timestamp, Touch, TouchKind, decide};
use serde_json::Value;

mod support;
use support::{event, request};

const TOKEN: &str = "admin-token-for-metrics-tests";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

struct World {
    admin: Admin,
    leads: Arc<MemoryLeadStore>,
    measure: Measure,
    clock: Arc<ManualClock>,
}

fn world() -> World {
    let leads = Arc::new(MemoryLeadStore::new());
    let metrics = Arc::new(MemoryMetrics::new());
    let clock = Arc::new(ManualClock::new(at("2026-12-02T18:00:00Z")));
    let admin = Admin::new(leads.clone(), Arc::new(MemoryRulesets::new()), vec![digest(TOKEN)], clock.clone())
        .with_metrics(metrics.clone());
    let measure = Measure::new(leads.clone(), metrics, clock.clone());
    World { admin, leads, measure, clock }
}

const COUNTRIES: [&str; 3] = ["DE", "US", "FR"];
const SOURCES: [Option<&str>; 3] = [Some("google"), Some("linkedin"), None];

/// Lead `i`: captured every 100 minutes from Nov 29 08:00, in one of three countries and
/// sources, then touched by one of five patterns (minutes after capture).
fn seed(i: usize) -> Lead {
    let captured = at("2026-11-29T08:00:00Z") + chrono::Duration::minutes(100 * i as i64);
    let source = SourceSubmission { utm_source: SOURCES[i % 3].map(str::to_owned), ..Default::default() };
    let lead = LeadSubmission {
        email: Some(format!("buyer{i}@corp{i}.example")),
        job_title: Some(if i.is_multiple_of(2) { "VP Sales" } else { "Analyst" }.into()),
        country: Some(COUNTRIES[i % 3].into()),
        source,
        ..Default::default()
    }
    .into_lead(LeadId::generate(), captured)
    .unwrap();
    let mut lead = lead.assign(decide(&lead, &Ruleset::default_ruleset(), captured)).unwrap().lead;
    if i.is_multiple_of(2) {
        lead = lead.notified(captured + chrono::Duration::seconds(2 + i as i64)).unwrap().lead;
    }
    let touch = |lead: Lead, kind: TouchKind, minutes: i64, amount: Option<&str>| {
        let mut t = Touch::new(kind, captured + chrono::Duration::minutes(minutes), "rep", "crm");
        t.amount = amount.map(|a| Money::parse(a, "EUR").unwrap());
        lead.touch(t).unwrap().lead
    };
    match i % 5 {
        0 => touch(lead, TouchKind::Contacted, 2, None),
        1 => touch(touch(lead, TouchKind::Called, 20, None), TouchKind::MeetingBooked, 40, None),
        2 => lead,
        3 => touch(touch(lead, TouchKind::Contacted, 180, None), TouchKind::OpportunityCreated, 600, Some("1250.50")),
        _ => touch(lead, TouchKind::MeetingBooked, 10, None),
    }
}

/// The figures, recomputed from the leads' raw events by the definitions in the docs.
#[derive(Debug, Default)]
struct Raw {
    leads: u64,
    contacted: u64,
    meetings: u64,
    opportunities: u64,
    met: u64,
    missed: u64,
    pending: u64,
    ttft: Vec<u64>,
    system: Vec<u64>,
    pipeline_ten_thousandths: i128,
    curve: BTreeMap<SpeedBucket, (u64, u64, u64)>,
}

fn raw(leads: &[&Lead], now: Timestamp) -> Raw {
    let mut r = Raw::default();
    for lead in leads {
        let d = lead.decision().unwrap();
        r.leads += 1;
        let first = lead.touches.iter().filter(|t| t.kind.stops_the_clock()).map(|t| t.at).min();
        let contacted = lead.touches.iter().any(|t| t.kind.counts_as_contacted());
        let meeting = lead.touches.iter().any(|t| t.kind.counts_as_meeting());
        let opportunity = lead.touches.iter().any(|t| t.kind.counts_as_opportunity());
        r.contacted += u64::from(contacted);
        r.meetings += u64::from(meeting);
        r.opportunities += u64::from(opportunity);
        match first {
            Some(t) if t <= d.first_touch_due_at => r.met += 1,
            Some(_) => r.missed += 1,
            None if now > d.first_touch_due_at => r.missed += 1,
            None => r.pending += 1,
        }
        let notified = lead.notified_at.unwrap_or(d.decided_at);
        r.system.push((notified - lead.captured_at).num_seconds() as u64);
        if let Some(t) = first {
            let seconds = (t - lead.captured_at).num_seconds() as u64;
            r.ttft.push(seconds);
            let e = r.curve.entry(SpeedBucket::of(seconds)).or_default();
            e.0 += 1;
            e.1 += u64::from(contacted);
            e.2 += u64::from(meeting);
        }
        if let Some(m) =
            lead.touches.iter().rev().find(|t| t.kind == TouchKind::OpportunityCreated).and_then(|t| t.amount.as_ref())
        {
            r.pipeline_ten_thousandths += m.ten_thousandths();
        }
    }
    r
}

/// The nearest-rank quantile of raw values, as the histogram reports it (its bucket's lower bound).
fn quantile(values: &[u64], q: f64) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted.get(rank - 1).map(|v| Histogram::lower_bound(Histogram::index(*v)))
}

impl World {
    async fn store(&self, lead: &Lead) {
        self.leads.seed(lead);
        assert!(self.measure.lead(&lead.id).await.unwrap());
    }

    async fn get(&self, target: &str) -> (u16, lambda_http::Response<lambda_http::Body>) {
        let r = self.admin.handle(request("GET", target, Some(TOKEN), "application/json", "")).await;
        (r.status().as_u16(), r)
    }

    async fn json(&self, target: &str) -> Value {
        let (status, r) = self.get(target).await;
        let body: Value = serde_json::from_slice(r.body().as_ref()).unwrap();
        assert_eq!(status, 200, "{target}: {body}");
        body
    }
}

fn csv_rows(body: &[u8]) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(body);
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| headers.iter().map(str::to_owned).zip(r.unwrap().iter().map(str::to_owned)).collect())
        .collect()
}

#[tokio::test]
async fn every_figure_agrees_with_the_raw_events_in_the_api_and_both_exports() {
    let w = world();
    let mut leads: Vec<Lead> = (0..40).map(seed).collect();
    for lead in &leads {
        w.store(lead).await;
    }
    // A late event: lead 2 (untouched) turns out to have been contacted 3 minutes in.
    let late = &mut leads[2];
    *late = late
        .touch(Touch::new(TouchKind::Contacted, late.captured_at + chrono::Duration::minutes(3), "rep", "crm"))
        .unwrap()
        .lead;
    w.store(late).await;
    let now = w.clock.now();
    let in_range: Vec<&Lead> = leads.iter().filter(|l| l.captured_at.date_naive() < now.date_naive()).collect();
    let expected = raw(&in_range, now);
    assert!(
        expected.pending > 0 && expected.missed > 0 && expected.met > 0,
        "the fixture has every SLA state: {expected:?}"
    );
    assert!(leads.iter().any(|l| l.captured_at.date_naive() == now.date_naive()), "and leads after the range");

    let body = w.json("/admin/metrics?from=2026-11-29&to=2026-12-01&period=day&by=source,owner").await;
    let o = &body["overall"];
    assert_eq!(o["outcomes"]["leads"], expected.leads);
    assert_eq!(o["outcomes"]["contacted"], expected.contacted);
    assert_eq!(o["outcomes"]["meetings"], expected.meetings);
    assert_eq!(o["outcomes"]["opportunities"], expected.opportunities);
    assert_eq!(
        (o["sla_met"].as_u64(), o["sla_missed"].as_u64(), o["sla_pending"].as_u64()),
        (Some(expected.met), Some(expected.missed), Some(expected.pending))
    );
    assert_eq!(o["sla_attainment"].as_f64().unwrap(), expected.met as f64 / (expected.met + expected.missed) as f64);
    assert_eq!(o["time_to_first_touch"]["count"], expected.ttft.len());
    assert_eq!(o["time_to_first_touch"]["median_seconds"].as_u64(), quantile(&expected.ttft, 0.5));
    assert_eq!(o["time_to_first_touch"]["p90_seconds"].as_u64(), quantile(&expected.ttft, 0.9));
    assert_eq!(o["system_delay"]["median_seconds"].as_u64(), quantile(&expected.system, 0.5));
    assert_eq!(o["pipeline"]["EUR"].as_f64().unwrap(), expected.pipeline_ten_thousandths as f64 / 10_000.0);
    for point in o["speed_to_lead"].as_array().unwrap() {
        let bucket: SpeedBucket = serde_json::from_value(point["bucket"].clone()).unwrap();
        let (n, contacted, meetings) = expected.curve.get(&bucket).copied().unwrap_or_default();
        assert_eq!(
            (point["leads"].as_u64(), point["contacted"].as_u64(), point["meetings"].as_u64()),
            (Some(n), Some(contacted), Some(meetings)),
            "{bucket:?}"
        );
    }

    // The series: one point per day, adding up to the whole.
    let series = body["series"].as_array().unwrap();
    assert_eq!(series.len(), 3);
    let per_day: u64 = series.iter().map(|p| p["figures"]["outcomes"]["leads"].as_u64().unwrap()).sum();
    assert_eq!(per_day, expected.leads);

    // By source and by owner, each value against its raw leads.
    for (dimension, of) in [
        (
            "source",
            Box::new(|l: &Lead| l.source.utm_source.clone().unwrap_or_else(|| "(none)".into()))
                as Box<dyn Fn(&Lead) -> String>,
        ),
        ("owner", Box::new(|l: &Lead| l.decision().unwrap().owner.id.clone())),
    ] {
        let rows = body["by"][dimension].as_array().unwrap();
        let mut total = 0;
        for row in rows {
            let value = row["value"].as_str().unwrap();
            let mine: Vec<&Lead> = in_range.iter().copied().filter(|l| of(l) == value).collect();
            let r = raw(&mine, now);
            assert_eq!(row["figures"]["outcomes"]["leads"], r.leads, "{dimension}={value}");
            assert_eq!(row["figures"]["outcomes"]["contacted"], r.contacted, "{dimension}={value}");
            assert_eq!(row["figures"]["time_to_first_touch"]["median_seconds"].as_u64(), quantile(&r.ttft, 0.5));
            total += r.leads;
        }
        assert_eq!(total, expected.leads, "every lead in one {dimension}");
    }

    // The slices as CSV: the same figures.
    let (status, r) = w.get("/admin/metrics/export?from=2026-11-29&to=2026-12-01&period=day&by=source").await;
    assert_eq!(status, 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let rows = csv_rows(r.body().as_ref());
    let all: Vec<_> = rows.iter().filter(|r| r["dimension"] == "all").collect();
    assert_eq!(all.len(), 3);
    for (row, point) in all.iter().zip(series) {
        assert_eq!(row["start"], point["start"].as_str().unwrap());
        assert_eq!(row["leads"], point["figures"]["outcomes"]["leads"].to_string());
        assert_eq!(row["sla_met"], point["figures"]["sla_met"].to_string());
        let median = point["figures"]["time_to_first_touch"]["median_seconds"]
            .as_u64()
            .map(|m| m.to_string())
            .unwrap_or_default();
        assert_eq!(row["time_to_first_touch_median_seconds"], median);
    }
    let by_source: u64 =
        rows.iter().filter(|r| r["dimension"] == "source").map(|r| r["leads"].parse::<u64>().unwrap()).sum();
    assert_eq!(by_source, expected.leads);

    // The leads as CSV, in pages of 7: every lead once, with its own raw time to first touch.
    let mut seen = HashMap::new();
    let mut target = "/admin/leads/export?from=2026-11-29&to=2026-12-01&limit=7".to_owned();
    let mut pages = 0;
    loop {
        let (status, r) = w.get(&target).await;
        assert_eq!(status, 200, "{target}");
        pages += 1;
        let progress = r.headers()["baton-export-progress"].to_str().unwrap().to_owned();
        for row in csv_rows(r.body().as_ref()) {
            assert!(seen.insert(row["lead_id"].clone(), row).is_none(), "a lead twice");
        }
        match r.headers().get("baton-export-next") {
            Some(next) => {
                assert!(progress.ends_with("/3 days") && !progress.starts_with("3/"), "{progress}");
                target = format!(
                    "/admin/leads/export?from=2026-11-29&to=2026-12-01&limit=7&cursor={}",
                    next.to_str().unwrap()
                );
            }
            None => {
                assert_eq!(progress, "3/3 days");
                break;
            }
        }
    }
    assert!(pages >= 6, "{} leads in pages of 7", expected.leads);
    assert_eq!(seen.len() as u64, expected.leads);
    for lead in &in_range {
        let row = &seen[&lead.id.to_string()];
        let first = lead.touches.iter().filter(|t| t.kind.stops_the_clock()).map(|t| t.at).min();
        let ttft = first.map(|t| (t - lead.captured_at).num_seconds().to_string()).unwrap_or_default();
        assert_eq!(row["time_to_first_touch_seconds"], ttft);
        assert_eq!(row["owner"], lead.decision().unwrap().owner.id);
    }
}

#[tokio::test]
async fn leads_past_due_and_at_risk_are_listed_with_owners_and_due_times() {
    let w = world();
    let now = w.clock.now();
    let hot = |minutes_ago: i64| {
        let captured = now - chrono::Duration::minutes(minutes_ago);
        let lead = LeadSubmission {
            email: Some(format!("vp{minutes_ago}@corp.example")),
            phone: Some("+49 30 1234567".into()),
            job_title: Some("VP Engineering".into()),
            country: Some("DE".into()),
            source: SourceSubmission { form_type: Some("demo_request".into()), ..Default::default() },
            ..Default::default()
        }
        .into_lead(LeadId::generate(), captured)
        .unwrap();
        lead.assign(decide(&lead, &Ruleset::default_ruleset(), captured)).unwrap().lead
    };
    let (late, soon) = (hot(20), hot(5));
    for l in [&late, &soon] {
        w.leads.capture(l, None).await.unwrap();
    }
    let body = w.json("/admin/metrics").await;
    let open = &body["open"];
    assert_eq!(open["breached"][0]["lead_id"], late.id.to_string());
    assert_eq!(open["breached"][0]["owner"]["id"], late.decision().unwrap().owner.id);
    assert_eq!(open["at_risk"][0]["lead_id"], soon.id.to_string());
    assert!(open["at_risk"][0]["due_at"].is_string());
}

#[tokio::test]
async fn bad_parameters_are_named() {
    let w = world();
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("from=2026-12-02&to=2026-12-01", "from"),
        ("from=2025-01-01&to=2026-12-01", "to"),
        ("period=year", "period"),
        ("by=colour", "by"),
        ("limit=0", "limit"),
        ("cursor=yesterday", "cursor"),
        ("format=xml", "format"),
    ] {
        let (status, r) = w.get(&format!("/admin/leads/export?{query}")).await;
        let body: Value = serde_json::from_slice(r.body().as_ref()).unwrap();
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
}

#[tokio::test]
async fn the_dashboard_signs_in_with_a_cookie_that_only_reads() {
    let w = world();
    let page = w.admin.handle(event("GET", "/admin/dashboard", &[], &[], "")).await;
    let html = String::from_utf8_lossy(page.body().as_ref()).into_owned();
    assert_eq!(page.status(), 200);
    assert!(html.contains("name=\"token\"") && !html.contains("app.js"), "without a session: the sign-in form only");

    let form = [("content-type", "application/x-www-form-urlencoded"), ("host", "baton.example.com")];
    let wrong = w.admin.handle(event("POST", "/admin/session", &form, &[], "token=guess")).await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let signed = w.admin.handle(event("POST", "/admin/session", &form, &[], &format!("token={TOKEN}"))).await;
    assert_eq!((signed.status().as_u16(), signed.headers()["location"].to_str().unwrap()), (303, "/admin/dashboard"));
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Secure", "Max-Age=28800"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with(&format!("{SESSION_COOKIE}=")) && !pair.contains(TOKEN), "the token is not in the clear");

    let page = w.admin.handle(event("GET", "/admin/dashboard", &[], &[&pair], "")).await;
    assert!(String::from_utf8_lossy(page.body().as_ref()).contains("/admin/dashboard/app.js"));
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let metrics = w.admin.handle(event("GET", "/admin/metrics", &[], &[&pair], "")).await;
    assert_eq!(metrics.status(), 200);
    let change =
        w.admin.handle(event("POST", "/admin/rulesets", &[("content-type", "application/toml")], &[&pair], "x")).await;
    assert_eq!(change.status(), 401, "a cookie never authorizes a change");
    let local = w
        .admin
        .handle(event(
            "POST",
            "/admin/session",
            &[("content-type", "application/json"), ("host", "127.0.0.1:3000")],
            &[],
            &format!(r#"{{"token":"{TOKEN}"}}"#),
        ))
        .await;
    assert_eq!(local.status(), 204);
    assert!(!local.headers()["set-cookie"].to_str().unwrap().contains("Secure"), "plain HTTP on the local machine");
    let out = w.admin.handle(event("POST", "/admin/session/end", &[], &[&pair], "")).await;
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let script = w.admin.handle(event("GET", "/admin/dashboard/app.js", &[], &[], "")).await;
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
}

/// Leads decided by a ruleset with a playbook experiment, B's leads booking meetings more often
/// and sooner: the report gives each arm's sample and a clear difference, computed here from the
/// raw leads by the same formulas' inputs.
#[tokio::test]
async fn experiments_are_reported_per_arm_with_their_differences() {
    let w = world();
    let ruleset = Ruleset::parse_toml(&format!(
        "{}\n[[experiments]]\nname = \"call-first\"\nshare_percent = 50\nb = {{ playbook = {{ play = \"everyone else\", action = \"call\" }} }}\n",
        baton_domain::rules::DEFAULT_TOML
    ))
    .unwrap();
    let mut raw_arms: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for i in 0..200 {
        let captured = at("2026-11-30T08:00:00Z") + chrono::Duration::minutes(3 * i as i64);
        let lead = LeadSubmission {
            email: Some(format!("buyer{i}@corp{i}.example")),
            country: Some("DE".into()),
            ..Default::default()
        }
        .into_lead(LeadId::generate(), captured)
        .unwrap();
        let lead = lead.assign(decide(&lead, &ruleset, captured)).unwrap().lead;
        let arm = lead.decision().unwrap().experiments[0].variant;
        let b = arm == baton_domain::rules::Arm::B;
        // B: a meeting for 3 leads in 4, 5 minutes in; A: 1 in 4, an hour in.
        let meeting = if b { i % 4 != 0 } else { i % 4 == 0 };
        let minutes = if b { 5 } else { 60 };
        let kind = if meeting { TouchKind::MeetingBooked } else { TouchKind::Contacted };
        let lead =
            lead.touch(Touch::new(kind, captured + chrono::Duration::minutes(minutes), "rep", "crm")).unwrap().lead;
        w.store(&lead).await;
        let e = raw_arms.entry(if b { "b" } else { "a" }).or_default();
        e.0 += 1;
        e.1 += u64::from(meeting);
    }
    let body = w.json("/admin/metrics?from=2026-11-29&to=2026-12-01&by=experiment").await;
    let results = body["experiments"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{body}");
    let r = &results[0];
    assert_eq!(r["experiment"], "call-first");
    for arm in ["a", "b"] {
        let (leads, meetings) = raw_arms[arm];
        assert_eq!((r[arm]["leads"].as_u64(), r[arm]["meetings"].as_u64()), (Some(leads), Some(meetings)), "{arm}");
        assert_eq!(r[arm]["touched"].as_u64(), Some(leads));
    }
    assert!(raw_arms["a"].0 > 60 && raw_arms["b"].0 > 60, "both arms have a sample: {raw_arms:?}");
    let rate = |arm: &str| raw_arms[arm].1 as f64 / raw_arms[arm].0 as f64;
    let d = &r["meeting_rate_difference"];
    assert!((d["estimate"].as_f64().unwrap() - (rate("b") - rate("a"))).abs() < 1e-12);
    assert!(d["low"].as_f64().unwrap() > 0.0 && d["clear"] == true, "{d}");
    let t = &r["time_to_first_touch_difference"];
    assert!((t["estimate"].as_f64().unwrap() + 55.0 * 60.0).abs() < 60.0, "about 55 minutes faster: {t}");
    assert_eq!(t["clear"], true);
    let values: Vec<&str> =
        body["by"]["experiment"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap()).collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&"call-first:a") && values.contains(&"call-first:b"), "{values:?}");
}
