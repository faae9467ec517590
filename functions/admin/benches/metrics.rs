//! Dashboard reads over one million leads' worth of aggregates: `GET /admin/metrics` and the
//! slices' CSV export through the admin handler, on the in-process metrics store (so the figure
//! is the read's own work: merging the aggregates and computing the figures).
//!
//! One million synthetic leads are recorded first through `MetricsStore::record`, spread over
//! 365 days, 12 sources, 8 campaigns, 4 segments, 20 territories, 4 priorities, 50 owners,
//! 6 teams and 3 rulesets, with varied delays and outcomes (so the histograms are as dense as a
//! real year's). Run: `cargo bench -p baton-admin --bench metrics`.

use std::sync::Arc;
use std::time::Instant;

use baton_adapters::MetricsStore;
use baton_adapters::memory::{ManualClock, MemoryLeadStore, MemoryMetrics, MemoryRulesets};
use baton_admin::{Admin, digest};
use baton_domain::LeadId;
use baton_domain::metrics::{Contribution, Dimension, LeadFacts, Period, SlaOutcome, Slice};
use criterion::{Criterion, criterion_group, criterion_main};

const LEADS: u64 = 1_000_000;
const TOKEN: &str = "bench-token";

/// A small, fast, deterministic pseudo-random sequence.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn contribution(i: u64, rng: &mut Lcg) -> Contribution {
    let start: baton_domain::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let captured_at = start + chrono::Duration::seconds((i * 31_536_000 / LEADS) as i64);
    let values = [
        (Dimension::All, "all".to_owned()),
        (Dimension::Source, format!("source-{}", rng.next(12))),
        (Dimension::Campaign, format!("campaign-{}", rng.next(8))),
        (Dimension::Segment, format!("segment-{}", rng.next(4))),
        (Dimension::Territory, format!("T{}", rng.next(20))),
        (Dimension::Priority, ["hot", "warm", "cold", "low"][rng.next(4) as usize].to_owned()),
        (Dimension::Owner, format!("rep-{}", rng.next(50))),
        (Dimension::Team, format!("team-{}", rng.next(6))),
        (Dimension::Ruleset, format!("default v{}", rng.next(3))),
    ];
    let slices = Period::ALL
        .into_iter()
        .flat_map(|period| {
            values.iter().map(move |(dimension, value)| Slice {
                period,
                start: period.start(captured_at),
                dimension: *dimension,
                value: value.clone(),
            })
        })
        .collect();
    let touched = rng.next(10) < 8;
    let system = 1 + rng.next(20);
    let slow = rng.next(3) == 0;
    let human = if touched { Some(rng.next(if slow { 90_000 } else { 3_600 })) } else { None };
    let facts = LeadFacts {
        captured_at,
        system_delay: Some(system),
        human_delay: human,
        time_to_first_touch: human.map(|h| h + system),
        sla: match (human, rng.next(4)) {
            (Some(h), _) if h < 900 => SlaOutcome::Met,
            (None, 0) => SlaOutcome::Pending,
            _ => SlaOutcome::Missed,
        },
        contacted: touched && rng.next(3) > 0,
        meeting: touched && rng.next(5) == 0,
        opportunity: touched && rng.next(12) == 0,
        pipeline: (rng.next(12) == 0).then(|| ("EUR".to_owned(), 10_000 * (1_000 + rng.next(50_000)) as i128)),
        warnings: (!touched) as u32,
        breaches: (rng.next(6) == 0) as u32,
        reassignments: (rng.next(20) == 0) as u32,
    };
    Contribution { slices, facts }
}

fn request(target: &str) -> lambda_http::Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": { "authorization": format!("Bearer {TOKEN}") },
        "requestContext": { "http": { "method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.9" },
                            "accountId": "1", "apiId": "admin", "requestId": "r", "routeKey": "$default", "stage": "$default",
                            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 0 },
        "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let metrics = Arc::new(MemoryMetrics::new());
    let began = Instant::now();
    runtime.block_on(async {
        let mut rng = Lcg(7);
        for i in 0..LEADS {
            let c = contribution(i, &mut rng);
            metrics.record(&LeadId::generate(), 1, Some(&c)).await.unwrap();
        }
    });
    let seconds = began.elapsed().as_secs_f64();
    eprintln!("recorded {LEADS} leads in {seconds:.1} s ({:.0} leads a second)", LEADS as f64 / seconds);
    let clock = Arc::new(ManualClock::new("2026-12-31T12:00:00Z".parse().unwrap()));
    let admin =
        Admin::new(Arc::new(MemoryLeadStore::new()), Arc::new(MemoryRulesets::new()), vec![digest(TOKEN)], clock)
            .with_metrics(metrics);
    let check =
        runtime.block_on(admin.handle(request("/admin/metrics?from=2026-01-01&to=2026-12-31&period=month&by=owner")));
    let body: serde_json::Value = serde_json::from_slice(check.body().as_ref()).unwrap();
    assert_eq!(body["overall"]["outcomes"]["leads"], LEADS, "every lead is in the year");

    let mut group = c.benchmark_group("dashboard reads over 1M leads");
    for (name, target) in [
        ("last 30 days, by source and owner", "/admin/metrics?from=2026-12-02&to=2026-12-31&by=source,owner"),
        (
            "a quarter by week, by source and owner",
            "/admin/metrics?from=2026-10-01&to=2026-12-31&period=week&by=source,owner",
        ),
        ("the whole year by month, by owner", "/admin/metrics?from=2026-01-01&to=2026-12-31&period=month&by=owner"),
        ("slices CSV, 90 days by day, by owner", "/admin/metrics/export?from=2026-10-03&to=2026-12-31&by=owner"),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let r = admin.handle(request(target)).await;
                assert_eq!(r.status(), 200);
                r
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
