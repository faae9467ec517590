//! The dashboard in a real browser: the local stack on moto, leads seeded over the last two days
//! with their outcome events sent through the admin API (and two leads captured through
//! `POST /leads` and touched like a rep would), then headless Chromium (Debian's package,
//! driven by `playwright-core` from `tests/browser`) signs in, and the tiles, the curve, the
//! tables and a lead's routing audit must show the figures recomputed here from the raw
//! events. The screenshot is kept at `target/test-artifacts/dashboard.png`.
//!
//! Needs moto (`BATON_TEST_AWS_ENDPOINT`), Node.js, `tests/browser/node_modules` (`npm ci`) and
//! Chromium (`/usr/bin/chromium`, or `BATON_CHROMIUM`); `infra/scripts/test.sh` installs them.
//! Fails loudly when one is missing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use baton_adapters::SystemClock;
use baton_adapters::contract::{test_endpoint, unique_name};
use baton_app::measure::Measure;
use baton_domain::contract::SourceSubmission;
use baton_domain::metrics::{Histogram, SpeedBucket};
use baton_domain::{Lead, LeadId, LeadSubmission, Ruleset, Timestamp, decide};
use baton_e2e::{chromium, eventually, run_browser};
use baton_local::{Backend, DEMO_ADMIN_TOKEN, Options, start};
use serde_json::{Value, json};

/// One seeded lead: hours before now it was captured, its country and source, whether it is
/// hot, and its events (kind, minutes after capture, amount).
struct Seed {
    hours_ago: f64,
    country: &'static str,
    source: Option<&'static str>,
    hot: bool,
    events: &'static [(&'static str, i64, Option<&'static str>)],
}

const SEEDS: &[Seed] = &[
    Seed { hours_ago: 47.0, country: "DE", source: Some("google"), hot: false, events: &[("contacted", 2, None)] },
    Seed {
        hours_ago: 44.0,
        country: "US",
        source: Some("google"),
        hot: false,
        events: &[("meeting_booked", 10, None)],
    },
    Seed { hours_ago: 40.0, country: "FR", source: Some("linkedin"), hot: false, events: &[("contacted", 45, None)] },
    Seed {
        hours_ago: 30.0,
        country: "DE",
        source: Some("linkedin"),
        hot: false,
        events: &[("contacted", 180, None), ("meeting_booked", 200, None)],
    },
    Seed { hours_ago: 28.0, country: "US", source: None, hot: false, events: &[] },
    Seed { hours_ago: 20.0, country: "DE", source: Some("google"), hot: false, events: &[("called", 20, None)] },
    Seed {
        hours_ago: 12.0,
        country: "FR",
        source: Some("google"),
        hot: false,
        events: &[("meeting_booked", 6, None), ("opportunity_created", 300, Some("1250.50"))],
    },
    Seed { hours_ago: 8.0, country: "US", source: Some("linkedin"), hot: false, events: &[("contacted", 90, None)] },
    Seed { hours_ago: 6.0, country: "DE", source: None, hot: false, events: &[("contacted", 1, None)] },
    // Hot, untouched: breached 15 minutes ago, and due in 10 minutes.
    Seed { hours_ago: 0.5, country: "DE", source: Some("google"), hot: true, events: &[] },
    Seed { hours_ago: 5.0 / 60.0, country: "DE", source: Some("linkedin"), hot: true, events: &[] },
];

fn lead_of(seed: &Seed, i: usize, now: Timestamp) -> Lead {
    let captured = now - chrono::Duration::seconds((seed.hours_ago * 3600.0) as i64);
    let submission = LeadSubmission {
        email: Some(format!("buyer{i}@corp{i}.example")),
        first_name: Some(format!("Buyer{i}")),
        last_name: Some("Example".into()),
        company: Some(format!("Corp {i}")),
        job_title: Some(if seed.hot { "VP Engineering" } else { "Analyst" }.into()),
        phone: seed.hot.then(|| "+49 30 1234567".into()),
        country: Some(seed.country.into()),
        source: SourceSubmission {
            utm_source: seed.source.map(str::to_owned),
            form_type: seed.hot.then(|| "demo_request".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let lead = submission.into_lead(LeadId::generate(), captured).unwrap();
    let lead = lead.assign(decide(&lead, &Ruleset::default_ruleset(), captured)).unwrap().lead;
    lead.notified(captured + chrono::Duration::seconds(1 + i as i64)).unwrap().lead
}

/// Seconds as the dashboard writes them (`app.js`'s `duration`).
fn duration(seconds: u64) -> String {
    if seconds < 60 {
        return format!("{seconds} s");
    }
    let (m, s) = (seconds / 60, seconds % 60);
    if m < 60 {
        return if s > 0 { format!("{m} min {s} s") } else { format!("{m} min") };
    }
    let (h, mm) = (m / 60, m % 60);
    if h < 24 {
        return if mm > 0 { format!("{h} h {mm} min") } else { format!("{h} h") };
    }
    let (d, hh) = (h / 24, h % 24);
    if hh > 0 { format!("{d} d {hh} h") } else { format!("{d} d") }
}

/// A share as the dashboard writes it (`app.js`'s `pct`).
fn pct(share: f64) -> String {
    let tenths = (share * 1000.0).round() / 10.0;
    if tenths.fract() == 0.0 { format!("{}%", tenths as i64) } else { format!("{tenths}%") }
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((0.5 * sorted.len() as f64).ceil() as usize).max(1);
    Histogram::lower_bound(Histogram::index(sorted[rank - 1]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_seeded_figures_in_a_real_browser() {
    let chromium = chromium();
    let running = start(Options {
        backend: Backend::Aws { endpoint: Some(test_endpoint()) },
        listen: "127.0.0.1:0".parse().unwrap(),
        prefix: unique_name("dash"),
        sweep_every: Duration::from_secs(3600),
        visibility_timeout: Duration::from_secs(2),
        ..Options::default()
    })
    .await
    .expect("the local runner starts on moto");
    // The sweep runs once at start, then not again in this test: nothing escalates mid-test.
    eventually("the first sweep", Duration::from_secs(20), || async { (running.sweeps() >= 1).then_some(()) }).await;
    let http = reqwest::Client::new();
    let admin = |req: reqwest::RequestBuilder| req.bearer_auth(DEMO_ADMIN_TOKEN);
    let now = chrono::Utc::now();
    let measure = Measure::new(running.store.clone(), running.metrics.clone(), Arc::new(SystemClock));

    // History: stored as routing left it, counted, then its events sent like a CRM would.
    let mut ids = Vec::new();
    let mut events = Vec::new();
    for (i, seed) in SEEDS.iter().enumerate() {
        let lead = lead_of(seed, i, now);
        running.store.capture(&lead, None).await.unwrap();
        measure.lead(&lead.id).await.unwrap();
        for (kind, minutes, amount) in seed.events {
            let at = lead.captured_at + chrono::Duration::minutes(*minutes);
            let mut e = json!({ "lead_id": lead.id, "kind": kind, "by": "rep", "channel": "crm", "occurred_at": at.to_rfc3339() });
            if let Some(a) = amount {
                e["amount"] = json!(a);
                e["currency"] = json!("EUR");
            }
            events.push(e);
        }
        ids.push(lead.id);
    }
    let recorded: Value = admin(http.post(format!("{}/admin/outcomes", running.url)))
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded["summary"]["recorded"], events.len(), "{recorded}");

    // Two leads captured now, through the public API, and touched by their rep.
    for i in 0..2 {
        let body = json!({ "email": format!("live{i}@buyer{i}.example"), "first_name": "Live", "last_name": format!("Lead{i}"),
                           "country": "DE", "source": { "utm_source": "google" } });
        let r = http
            .post(format!("{}/leads", running.url))
            .header("x-baton-key", "pk_local_demo")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let id = LeadId::parse(r.json::<Value>().await.unwrap()["lead_id"].as_str().unwrap()).unwrap();
        let store = running.store.clone();
        eventually("the live lead to be assigned and notified", Duration::from_secs(20), || {
            let (store, id) = (store.clone(), id.clone());
            async move { store.get(&id).await.unwrap().filter(|l| l.notified_at.is_some()).map(|_| ()) }
        })
        .await;
        let touched = admin(http.post(format!("{}/admin/leads/{id}/touches", running.url)))
            .json(&json!({ "kind": "contacted", "by": "rep" }))
            .send()
            .await
            .unwrap();
        assert_eq!(touched.status(), 201);
        ids.push(id);
    }

    // The figures, recomputed from the leads' raw events once everything has been counted.
    let expected_touched =
        SEEDS.iter().filter(|s| s.events.iter().any(|(k, _, _)| *k != "opportunity_created")).count() + 2;
    let url = running.url.clone();
    let count = ids.len();
    let report: Value = eventually("every event to be counted", Duration::from_secs(30), || {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r: Value = http
                .get(format!("{url}/admin/metrics"))
                .bearer_auth(DEMO_ADMIN_TOKEN)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (r["overall"]["time_to_first_touch"]["count"] == expected_touched
                && r["overall"]["outcomes"]["leads"] == count)
                .then_some(r)
        }
    })
    .await;
    let mut leads = Vec::new();
    for id in &ids {
        leads.push(running.store.get(id).await.unwrap().unwrap());
    }
    let first_touch = |l: &Lead| l.touches.iter().filter(|t| t.kind.stops_the_clock()).map(|t| t.at).min();
    let ttft: Vec<u64> =
        leads.iter().filter_map(|l| first_touch(l).map(|t| (t - l.captured_at).num_seconds() as u64)).collect();
    let system: Vec<u64> =
        leads.iter().map(|l| (l.notified_at.unwrap() - l.captured_at).num_seconds() as u64).collect();
    let (mut met, mut missed, mut pending) = (0, 0, 0);
    for l in &leads {
        let due = l.decision().unwrap().first_touch_due_at;
        match first_touch(l) {
            Some(t) if t <= due => met += 1,
            Some(_) => missed += 1,
            None if report_time(&report) > due => missed += 1,
            None => pending += 1,
        }
    }
    let mut curve = std::collections::BTreeMap::<SpeedBucket, u64>::new();
    for s in &ttft {
        *curve.entry(SpeedBucket::of(*s)).or_default() += 1;
    }

    let screenshot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/dashboard.png");
    std::fs::create_dir_all(screenshot.parent().unwrap()).unwrap();
    let args = vec![running.url.clone(), DEMO_ADMIN_TOKEN.to_owned(), screenshot.display().to_string()];
    let shown = run_browser("dashboard.mjs", args, &chromium).await;
    eprintln!("the page showed {shown:#}\nscreenshot: {}", screenshot.display());

    assert_eq!(shown["signInForm"], true, "the dashboard asked to sign in first");
    assert_eq!(shown["errors"], json!([]), "no script errors");
    assert_eq!(shown["ttft"], duration(median(&ttft)));
    assert!(
        shown["ttftParts"].as_str().unwrap().starts_with(&format!("system {} · human ", duration(median(&system)))),
        "{}",
        shown["ttftParts"]
    );
    assert!(shown["ttftParts"].as_str().unwrap().ends_with(&format!("n={}", ttft.len())));
    assert_eq!(shown["sla"], pct(met as f64 / (met + missed) as f64));
    assert_eq!(
        shown["slaParts"],
        format!("{met} met · {missed} missed · {pending} pending · 0 breaches · 0 warnings · 0 reassigned"),
        "the sweep did not run after the seeding"
    );
    assert_eq!(shown["leads"], ids.len().to_string());
    let as_of = report_time(&report);
    let mut past_due: Vec<&Lead> = leads
        .iter()
        .filter(|l| first_touch(l).is_none() && l.decision().unwrap().first_touch_due_at <= as_of)
        .collect();
    past_due.sort_by_key(|l| l.decision().unwrap().first_touch_due_at);
    assert_eq!(past_due.len(), 2, "the hot lead captured 30 minutes ago, and the untouched one from yesterday");
    assert_eq!(shown["pastDue"], past_due.len().to_string());
    assert!(
        shown["atRisk"].as_str().unwrap().starts_with("1 more due within 60 min"),
        "the hot lead captured 5 minutes ago: {}",
        shown["atRisk"]
    );
    let rows = shown["curve"].as_array().unwrap();
    assert_eq!(rows.len(), SpeedBucket::ALL.len());
    for (row, bucket) in rows.iter().zip(SpeedBucket::ALL) {
        assert_eq!(row[0], bucket.label());
        assert_eq!(row[1], curve.get(&bucket).copied().unwrap_or(0).to_string(), "{bucket:?}: {row}");
    }
    assert_eq!(shown["curveBars"], 15, "three rates per bucket");
    assert!(shown["chartPoints"].as_u64().unwrap() >= 2, "a point per day with touched leads");
    let sources: Vec<&str> = shown["bySource"].as_array().unwrap().iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(sources, ["google", "linkedin", "(none)"], "the largest first, the leads without a source last");
    let google = leads.iter().filter(|l| l.source.utm_source.as_deref() == Some("google")).count();
    assert_eq!(shown["bySource"][0][1], google.to_string());
    assert!(!shown["byOwner"].as_array().unwrap().is_empty());
    assert_eq!(shown["openedLead"], past_due[0].id.to_string(), "the lead due earliest is first");
    let decision = past_due[0].decision().unwrap();
    assert_eq!(shown["auditOwner"], format!("{} ({})", decision.owner.name, decision.owner.id));
    assert_eq!(shown["auditRule"], decision.rule);
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 10_000, "a real screenshot");
    running.stop().await;
}

fn report_time(report: &Value) -> Timestamp {
    report["as_of"].as_str().unwrap().parse().unwrap()
}
