//! What a dashboard read costs on moto: the same requests and the same items read whether a
//! month holds 12 leads or ten times as many, because a read merges the aggregates of the days
//! and values in the range, never the leads. (Small numbers, because moto copies a table for
//! every item of every transaction, so its writes slow down as the table grows; DynamoDB has no
//! such cost. `infra/docs/benchmarks.md` has the read over a million leads' aggregates.) The leads are counted through the real path
//! (`MetricsStore::record` on DynamoDB); the read is the report behind `GET /admin/metrics`
//! (totals, a series, by source and by owner), counted by a [`RequestTally`]. The figures are
//! printed (run with `--no-capture`) and recorded in `infra/docs/benchmarks.md`.
//! Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use baton_adapters::MetricsStore;
use baton_adapters::contract::{test_endpoint, unique_name};
use baton_adapters::dynamo_metrics::DynamoMetrics;
use baton_adapters::provision::{self, RequestTally};
use baton_app::report::Report;
use baton_domain::metrics::{Contribution, Dimension, Period};
use baton_domain::{LeadId, LeadSubmission, Ruleset, Timestamp, Touch, TouchKind, decide};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Records `leads` leads captured over November 10 and 11 (two sources, one country), half touched.
async fn record(store: &DynamoMetrics, leads: usize) {
    for i in 0..leads {
        let captured = at("2026-11-10T00:00:00Z") + chrono::Duration::minutes((i * 2_880 / leads) as i64);
        let lead = LeadSubmission {
            email: Some(format!("p{i}@c{i}.example")),
            country: Some("DE".into()),
            source: baton_domain::contract::SourceSubmission {
                utm_source: Some(["google", "linkedin"][i % 2].into()),
                ..Default::default()
            },
            ..Default::default()
        }
        .into_lead(LeadId::generate(), captured)
        .unwrap();
        let mut lead = lead.assign(decide(&lead, &Ruleset::default_ruleset(), captured)).unwrap().lead;
        if i % 2 == 0 {
            let touch =
                Touch::new(TouchKind::Contacted, captured + chrono::Duration::minutes((i % 90) as i64), "rep", "crm");
            lead = lead.touch(touch).unwrap().lead;
        }
        let c = Contribution::of(&lead, at("2026-12-01T00:00:00Z")).unwrap();
        assert!(store.record(&lead.id, 2, Some(&c)).await.unwrap());
    }
}

/// The report's requests and the items they read.
async fn read_cost(store: &DynamoMetrics, tally: &RequestTally) -> (u64, u64, u64) {
    let (from, to) = (at("2026-11-01T00:00:00Z").date_naive(), at("2026-11-30T00:00:00Z").date_naive());
    tally.reset();
    let report = Report::new(store);
    let total = report.total(from, to).await.unwrap();
    report.series(Period::Day, from, to).await.unwrap();
    report.by(Dimension::Source, from, to).await.unwrap();
    report.by(Dimension::Owner, from, to).await.unwrap();
    let read = tally.scanned().get("DynamoDB.Query").copied().unwrap_or(0);
    (tally.total(), read, total.outcomes.leads)
}

#[tokio::test]
async fn a_dashboard_read_costs_the_same_for_ten_times_the_leads() {
    let sdk = provision::sdk_config(Some(&test_endpoint())).await;
    let mut costs = Vec::new();
    for leads in [12, 120] {
        let table = unique_name("metrics-cost");
        let setup = aws_sdk_dynamodb::Client::new(&sdk);
        provision::ensure_table(&setup, &table).await.unwrap();
        record(&DynamoMetrics::new(setup, &table), leads).await;
        let tally = RequestTally::new();
        let store = DynamoMetrics::new(provision::aws_clients(&sdk, Some(&tally)).dynamodb, &table);
        let (requests, items, counted) = read_cost(&store, &tally).await;
        assert_eq!(counted, leads as u64, "every lead counted");
        assert_eq!(
            tally.total(),
            tally.counts().get("DynamoDB.Query").copied().unwrap_or(0),
            "queries only: {:?}",
            tally.counts()
        );
        println!("{leads} leads in November: the report made {requests} queries reading {items} items");
        costs.push((requests, items));
    }
    assert_eq!(costs[0], costs[1], "the read's cost does not follow the number of leads");
    // November is one whole month: its totals are one month aggregate per value, and the series
    // one query over its days (1 + 1 + 1 + 1 queries).
    assert_eq!(costs[0].0, 4);
}
