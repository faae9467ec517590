//! The capture handler's own work per request, with in-process adapters (no I/O): parsing the
//! API Gateway request, authenticating the key, parsing, validating, normalizing and enriching
//! the lead, the dedupe/idempotency bookkeeping and building the answer.
//!
//! Run: `cargo bench -p baton-capture --bench capture`. Figures: `infra/docs/benchmarks.md`.

use std::hint::black_box;
use std::sync::Arc;

use baton_adapters::memory::{ManualClock, MemoryAccounts, MemoryLeadStore, MemoryQueue};
use baton_capture::Capture;
use baton_capture::keys::CaptureKeys;
use baton_domain::{LeadId, LeadSubmission};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

const LEAD: &str = r#"{"email":"Grace.Hopper@Remington.example","phone":"(202) 555-0143","first_name":"Grace","last_name":"Hopper",
  "company":"Remington Rand, Inc.","website":"https://www.remington.example","job_title":"VP Engineering","country":"USA",
  "region":"Virginia","employee_count":340,"message":"We would like a demo for our compiler team.",
  "source":{"form_id":"demo","form_type":"demo_request","utm_source":"ads","utm_campaign":"launch"},
  "consent":{"granted":true,"purpose":"sales_contact","wording_version":"2026-03"},"attributes":{"plan":"enterprise","seats":40}}"#;

fn event(body: &str, n: u64) -> String {
    json!({
        "version": "2.0", "routeKey": "POST /leads", "rawPath": "/leads", "rawQueryString": "",
        "headers": { "content-type": "application/json", "x-baton-key": "pk_bench", "origin": "https://www.example.com" },
        "requestContext": { "http": { "method": "POST", "path": "/leads", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1" },
                            "accountId": "1", "apiId": "a", "requestId": format!("r{n}"), "routeKey": "POST /leads", "stage": "$default",
                            "time": "24/Nov/2026:09:00:00 +0000", "timeEpoch": 0 },
        "body": body, "isBase64Encoded": false,
    })
    .to_string()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let keys = CaptureKeys::from_json(
        r#"[{"id":"bench","public_key":"pk_bench","allowed_origins":["https://www.example.com"]}]"#,
    )
    .unwrap();
    let capture = Capture::new(
        Arc::new(MemoryLeadStore::new()),
        Arc::new(MemoryQueue::default()),
        Arc::new(keys),
        Arc::new(ManualClock::new(chrono::Utc::now())),
    )
    .with_accounts(Arc::new(MemoryAccounts::new()));

    // Warm libphonenumber's metadata, as the first request in a Lambda container does.
    let _ = LeadSubmission::from_json(LEAD.as_bytes()).unwrap().into_lead(LeadId::generate(), chrono::Utc::now());

    c.bench_function("contract: parse + validate + normalize one lead", |b| {
        b.iter(|| {
            let s = LeadSubmission::from_json(black_box(LEAD.as_bytes())).unwrap();
            black_box(s.into_lead(LeadId::generate(), chrono::Utc::now()).unwrap())
        })
    });

    // Every iteration is a different person (new email and phone: a new lead, not a merge).
    let mut n = 0u64;
    c.bench_function("capture handler: API Gateway event to 202, in-process adapters", |b| {
        b.iter_batched(
            || {
                n += 1;
                let body = LEAD
                    .replace("Grace.Hopper@", &format!("grace{n}@"))
                    .replace("(202) 555-0143", &format!("({}) 555-{:04}", 201 + (n / 10_000) % 700, n % 10_000));
                lambda_http::request::from_str(&event(&body, n)).unwrap()
            },
            |request| {
                let response = runtime.block_on(capture.handle(request));
                assert_eq!(response.status(), 202);
                response
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(capture_benches, benches);
criterion_main!(capture_benches);
