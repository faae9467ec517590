//! What a sweep's lookups cost on moto: the requests and the items DynamoDB reads grow with the
//! leads that are due, not with the table. 10,000 leads are stored, 50 of them overdue for their
//! first touch; the sweep's lookups (`overdue` for every wait kind) are counted by a
//! [`RequestTally`] on the repository's client. The figures are printed (run with `--no-capture`)
//! and recorded in `infra/docs/benchmarks.md`.
//! Needs `BATON_TEST_AWS_ENDPOINT` (set by `infra/scripts/test.sh`); fails loudly without it.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use baton_adapters::contract::{test_endpoint, unique_name};
use baton_adapters::dynamo::{self, DUE_SHARDS, DynamoLeadStore};
use baton_adapters::provision::{self, RequestTally};
use baton_adapters::{LeadRepository, dynamo::index_time};
use baton_domain::{Lead, LeadId, LeadSubmission, Ruleset, Timestamp, TouchKind, WaitKind, decide};

const LEADS: usize = 10_000;
const DUE: usize = 50;
/// The sweep's batch per wait kind (`Sweep::batch`).
const LIMIT: usize = 200;

fn submission(i: usize, captured_at: Timestamp) -> Lead {
    LeadSubmission {
        email: Some(format!("person{i}@company{}.example", i % 977)),
        first_name: Some("Ada".into()),
        company: Some(format!("Company {}", i % 977)),
        country: Some(["DE", "US", "FR", "GB"][i % 4].into()),
        ..Default::default()
    }
    .into_lead(LeadId::generate(), captured_at)
    .expect("a valid lead")
}

fn assigned(lead: &Lead, at: Timestamp) -> Lead {
    lead.assign(decide(lead, &Ruleset::default_ruleset(), at)).expect("a captured lead can be assigned").lead
}

/// Lead `i` of the table and what it waits for at `now`: the first `DUE` are overdue for their
/// first touch; the rest wait for routing or a first touch due later, or for nothing.
fn lead(i: usize, now: Timestamp) -> Lead {
    let lead = if i < DUE {
        // Assigned a month ago and never touched: its first rung is long past.
        let then = now - chrono::Duration::days(30) + chrono::Duration::seconds(i as i64);
        assigned(&submission(i, then), then)
    } else {
        match i % 3 {
            // Just captured: routing is due after the grace period.
            0 => submission(i, now),
            // Just assigned: the first touch is due later.
            1 => assigned(&submission(i, now), now),
            // Assigned a month ago, touched and announced: waits for nothing.
            _ => {
                let then = now - chrono::Duration::days(30);
                let touch = baton_domain::Touch::new(TouchKind::Called, then, "U1", "slack");
                let touched = assigned(&submission(i, then), then).touch(touch).expect("touch").lead;
                let mut done = touched;
                while let Some(first) = done.outbox.first().cloned() {
                    done = done.announced(&first).lead;
                }
                done
            }
        }
    };
    let wait = lead.awaiting();
    match wait {
        Some(w) if i < DUE => assert!(w.kind == WaitKind::FirstTouch && w.due_at <= now, "lead {i}: {w:?}"),
        Some(w) => assert!(w.due_at > now, "lead {i} should not be due yet: {w:?}"),
        None => {}
    }
    lead
}

/// Writes `items` with BatchWriteItem, 25 a request, a few requests at a time, retrying what
/// DynamoDB leaves unprocessed.
async fn seed(client: &aws_sdk_dynamodb::Client, table: &str, items: Vec<HashMap<String, AttributeValue>>) {
    let requests: Vec<Vec<WriteRequest>> = items
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item.clone())).build().unwrap();
                    WriteRequest::builder().put_request(put).build()
                })
                .collect()
        })
        .collect();
    for wave in requests.chunks(8) {
        let writes = wave.iter().map(|batch| async move {
            let mut pending = HashMap::from([(table.to_owned(), batch.clone())]);
            for _ in 0..10 {
                let out = client.batch_write_item().set_request_items(Some(pending)).send().await.expect("seed");
                pending = out.unprocessed_items.unwrap_or_default();
                pending.retain(|_, v| !v.is_empty());
                if pending.is_empty() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("items left unprocessed while seeding");
        });
        futures::future::join_all(writes).await;
    }
}

#[tokio::test]
async fn a_sweep_costs_what_is_due_not_what_is_stored() {
    let sdk = provision::sdk_config(Some(&test_endpoint())).await;
    let plain = provision::aws_clients(&sdk, None).dynamodb;
    let table = unique_name("sweep-cost");
    provision::ensure_table(&plain, &table).await.expect("create table");

    let now = chrono::Utc::now();
    let leads: Vec<Lead> = (0..LEADS).map(|i| lead(i, now)).collect();
    let waiting = leads.iter().filter(|l| l.awaiting().is_some()).count();
    let items = leads.iter().map(|l| dynamo::lead_item(l, 1).expect("a lead maps to an item")).collect();
    let started = std::time::Instant::now();
    seed(&plain, &table, items).await;
    println!("seeded {LEADS} leads ({waiting} waiting, {DUE} overdue) in {:.1?}", started.elapsed());

    let tally = RequestTally::new();
    let store = DynamoLeadStore::new(provision::aws_clients(&sdk, Some(&tally)).dynamodb, &table);
    let per_kind_queries = u64::from(DUE_SHARDS) + 1;
    for kind in [WaitKind::Routing, WaitKind::FirstTouch, WaitKind::Announce] {
        tally.reset();
        let found = store.overdue(kind, now, LIMIT).await.expect("overdue");
        let queries = tally.counts().get("DynamoDB.Query").copied().unwrap_or(0);
        let read = tally.scanned().get("DynamoDB.Query").copied().unwrap_or(0);
        println!(
            "overdue({}, limit {LIMIT}): {} leads, {queries} queries ({} requests in all), {read} items read",
            kind.as_str(),
            found.len(),
            tally.total()
        );
        assert_eq!(tally.total(), queries, "the lookup made requests other than queries: {:?}", tally.counts());
        // One query per shard and the legacy index; a shard whose page fills may need one more.
        assert!(queries <= per_kind_queries + 2, "{queries} queries for {}", kind.as_str());

        let due: Vec<&Lead> = leads.iter().filter(|l| l.awaiting().is_some_and(|w| w.kind == kind)).collect();
        let expected: BTreeSet<&str> =
            due.iter().filter(|l| l.awaiting().is_some_and(|w| w.due_at <= now)).map(|l| l.id.as_str()).collect();
        let got: BTreeSet<&str> = found.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(got.len(), found.len(), "a lead came back twice");
        assert_eq!(got, expected, "overdue({}) found the wrong leads", kind.as_str());
        let times: Vec<String> = found.iter().map(|l| index_time(l.awaiting().unwrap().due_at)).collect();
        assert!(times.is_sorted(), "not earliest first");
        if kind == WaitKind::FirstTouch {
            assert_eq!(found.len(), DUE);
            assert!(read <= 60, "{read} items read to find {DUE} overdue leads among {LEADS}");
        } else {
            assert!(found.is_empty());
            assert!(read <= 10, "{read} items read to find nothing overdue");
        }
    }
}
