//! The decision engine alone (no I/O): score, qualify and route one lead with a ruleset of 1,000
//! routing rules and 50 pools, as a large revenue team's might be.
//!
//! Run: `cargo bench -p baton-domain --bench engine`. Figures: `infra/docs/benchmarks.md`.

use std::hint::black_box;

use baton_domain::rules::engine;
use baton_domain::{Lead, LeadId, LeadSubmission, Ruleset};
use chrono::TimeZone;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const COUNTRIES: [&str; 20] = [
    "US", "CA", "MX", "BR", "AR", "GB", "IE", "FR", "DE", "AT", "CH", "NL", "BE", "ES", "IT", "SE", "PL", "JP", "AU",
    "IN",
];
const BANDS: [&str; 6] = ["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5001+"];
const FORMS: [&str; 4] = ["demo_request", "contact_sales", "pricing", "content_download"];

/// 1,000 routing rules over country × size band × form type (plus product lines), 50 pools of
/// five members with time zones, hours and caps, 10 scoring criteria, 2 disqualifiers.
fn large_ruleset() -> Ruleset {
    let mut toml = String::from(
        "name = \"bench\"\nfallback = { id = \"fb\", name = \"Fallback\" }\n[scoring]\nhot_at = 60\nwarm_at = 30\nnurture_below = -20\n",
    );
    for (i, form) in FORMS.iter().enumerate() {
        toml += &format!(
            "[[scoring.criteria]]\nreason = \"form {form}\"\npoints = {}\nwhen = {{ form_type = [\"{form}\"] }}\n",
            40 - i * 10
        );
    }
    for (reason, when, points) in [
        ("business email ({email_domain})", "has_email = true, personal_email = false", 15),
        ("personal email", "personal_email = true", -10),
        ("phone", "has_phone = true", 10),
        ("senior", "seniority = [\"director\", \"vp\", \"c_level\", \"owner\"]", 15),
        ("large", "size_band = [\"1001-5000\", \"5001+\"]", 10),
        ("tier 1", "account_tier = [\"1\"]", 20),
    ] {
        toml += &format!("[[scoring.criteria]]\nreason = \"{reason}\"\npoints = {points}\nwhen = {{ {when} }}\n");
    }
    toml += "[[disqualify]]\nname = \"students\"\nwhen = { seniority = [\"student\"] }\nthen = \"nurture\"\n";
    toml += "[[disqualify]]\nname = \"competitors\"\nwhen = { email_domain = [\"rival.example\"] }\nthen = \"disqualified\"\n";
    toml += "[[routing]]\nname = \"account owner\"\nwhen = { has_account = true }\naccount_owner = true\n";
    // The default ruleset's playbook: four plays choosing the first action.
    toml +=
        "[[playbook]]\nname = \"hot phone\"\nwhen = { priority = [\"hot\"], has_phone = true }\naction = \"call\"\n";
    toml += "[[playbook]]\nname = \"hot\"\nwhen = { priority = [\"hot\"] }\naction = \"send_meeting_link\"\n";
    toml += "[[playbook]]\nname = \"big phone\"\nwhen = { min_employees = 201, has_phone = true }\naction = \"call\"\n";
    toml += "[[playbook]]\nname = \"rest\"\naction = \"email\"\n";
    let mut n = 0;
    'rules: for product in
        ["analytics", "platform", "security", "services", "training", "support", "cloud", "edge", "ai"]
    {
        for country in COUNTRIES {
            for band in BANDS {
                if n == 999 {
                    break 'rules;
                }
                let form = FORMS[n % FORMS.len()];
                toml += &format!(
                    "[[routing]]\nname = \"r{n}\"\nwhen = {{ product_interest = [\"{product}\"], country = [\"{country}\"], size_band = [\"{band}\"], form_type = [\"{form}\", \"pricing\"] }}\npool = \"p{}\"\n",
                    n % 50
                );
                n += 1;
            }
        }
    }
    for p in 0..50 {
        toml += &format!("[pools.p{p}]\nstrategy = \"weighted\"\nmembers = [\n");
        for m in 0..5 {
            toml += &format!(
                "  {{ id = \"rep-{p}-{m}\", name = \"Rep {p}-{m}\", weight = {}, timezone = \"Europe/Berlin\", hours = \"08:00-20:00\", days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], max_new_per_day = 30 }},\n",
                1 + m % 2
            );
        }
        toml += "]\n";
    }
    Ruleset::parse_toml(&toml).unwrap_or_else(|e| panic!("bench ruleset invalid: {e:?}"))
}

fn leads() -> Vec<Lead> {
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    (0..256)
        .map(|i| {
            let json = format!(
                r#"{{"email":"buyer{i}@corp{i}.example","phone":"+1415555{:04}","job_title":"{}","country":"{}","employee_count":{},
                    "product_interest":"{}","source":{{"form_type":"{}"}}}}"#,
                i,
                ["VP Sales", "Engineer", "CTO", "Director IT"][i % 4],
                COUNTRIES[i % COUNTRIES.len()],
                [5, 30, 120, 600, 3000, 9000][i % 6],
                ["analytics", "platform", "security", "ai", "unknown"][i % 5],
                FORMS[i % FORMS.len()],
            );
            LeadSubmission::from_json(json.as_bytes()).unwrap().into_lead(LeadId::generate(), now).unwrap()
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let ruleset = large_ruleset();
    assert_eq!(ruleset.routing.len(), 1000);
    assert_eq!(ruleset.pools.len(), 50);
    let leads = leads();
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    let mut group = c.benchmark_group("decision engine, 1,000 rules and 50 pools");
    group.throughput(Throughput::Elements(leads.len() as u64));
    group.bench_function("plan + decide", |b| {
        let mut pointer = 0u64;
        b.iter(|| {
            for lead in &leads {
                pointer += 1;
                let decision = engine::plan(&ruleset, lead).decide(lead, 1, pointer, &|_| None, now);
                black_box(decision);
            }
        })
    });
    group.finish();
}

criterion_group!(engine_benches, benches);
criterion_main!(engine_benches);
