//! `baton simulate`'s work on a large history, timed end to end on one thread: reading a CSV of
//! leads (parsing and the lead contract's validation and normalization, as capture does) and
//! replaying them through a ruleset of 1,000 routing rules and 50 pools.
//!
//! Run: `cargo bench -p baton-cli --bench replay` (one million leads; `BATON_BENCH_LEADS=100000`
//! for fewer). It prints the time of each part. Figures: `infra/docs/benchmarks.md`.

use std::fmt::Write as _;
use std::time::Instant;

use baton_cli::history;
use baton_domain::Ruleset;
use baton_domain::rules::replay::simulate;

const COUNTRIES: [&str; 10] = ["US", "CA", "BR", "GB", "FR", "DE", "NL", "ES", "JP", "IN"];
const PRODUCTS: [&str; 10] =
    ["analytics", "platform", "security", "services", "training", "support", "cloud", "edge", "ai", "data"];
const EMPLOYEES: [u32; 6] = [5, 30, 120, 600, 2500, 9000];
const FORMS: [&str; 4] = ["demo_request", "contact_sales", "pricing", "content_download"];

/// 1,000 routing rules (product line × country × size), 50 weighted pools of five members with
/// working hours and daily caps, and a scoring section.
fn ruleset() -> Ruleset {
    let mut t = String::from(
        "name = \"bench\"\nfallback = { id = \"fb\", name = \"Fallback\" }\n[scoring]\nhot_at = 60\nwarm_at = 30\n",
    );
    for (i, form) in FORMS.iter().enumerate() {
        let _ = write!(
            t,
            "[[scoring.criteria]]\nreason = \"{form}\"\npoints = {}\nwhen = {{ form_type = [\"{form}\"] }}\n",
            40 - i * 10
        );
    }
    let mut n = 0;
    for product in PRODUCTS {
        for country in COUNTRIES {
            for (lo, hi) in [(1, 50), (51, 200), (201, 1000), (1001, 5000), (5001, 100_000), (1, 100_000)]
                .iter()
                .take(if n < 900 { 6 } else { 0 })
            {
                if n == 1000 {
                    break;
                }
                let _ = write!(
                    t,
                    "[[routing]]\nname = \"r{n}\"\nwhen = {{ product_interest = [\"{product}\"], country = [\"{country}\"], min_employees = {lo}, max_employees = {hi} }}\npool = \"p{}\"\n",
                    n % 50
                );
                n += 1;
            }
        }
    }
    while n < 1000 {
        let _ =
            write!(t, "[[routing]]\nname = \"r{n}\"\nwhen = {{ utm_campaign = [\"c{n}\"] }}\npool = \"p{}\"\n", n % 50);
        n += 1;
    }
    for p in 0..50 {
        let _ = writeln!(t, "[pools.p{p}]\nstrategy = \"weighted\"\nmembers = [");
        for m in 0..5 {
            let _ = writeln!(
                t,
                "  {{ id = \"rep-{p}-{m}\", name = \"Rep {p}-{m}\", weight = {}, timezone = \"Europe/Berlin\", hours = \"08:00-20:00\", days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], max_new_per_day = 30 }},",
                1 + m % 2
            );
        }
        t += "]\n";
    }
    Ruleset::parse_toml(&t).unwrap_or_else(|e| panic!("the bench ruleset is invalid: {e:?}"))
}

fn main() {
    let leads: usize = std::env::var("BATON_BENCH_LEADS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let ruleset = ruleset();
    assert_eq!(ruleset.routing.len(), 1000);
    let dir = std::env::temp_dir().join(format!("baton-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.csv");
    let mut csv = String::from(
        "captured_at,touched_at,email,phone,first_name,company,job_title,country,employee_count,product_interest,form_type\n",
    );
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z").unwrap().to_utc();
    for i in 0..leads {
        let at = start + chrono::Duration::seconds(i as i64 * 15);
        let touched = at + chrono::Duration::minutes(5 + (i % 90) as i64);
        let _ = writeln!(
            csv,
            "{},{},person{i}@company{}.example,{},Person {i},Company {},{},{},{},{},{}",
            at.to_rfc3339(),
            touched.to_rfc3339(),
            i % 50_000,
            if i % 3 == 0 { "+1 415 555 0134" } else { "" },
            i % 50_000,
            ["VP Sales", "Engineer", "Head of Research", "CTO"][i % 4],
            COUNTRIES[i % COUNTRIES.len()],
            EMPLOYEES[i % EMPLOYEES.len()],
            PRODUCTS[(i / 7) % PRODUCTS.len()],
            FORMS[i % FORMS.len()],
        );
    }
    std::fs::write(&path, csv).unwrap();

    let t0 = Instant::now();
    let history = history::read(&path, None, &mut |_| {}).expect("the bench history reads");
    let read = t0.elapsed();
    let t1 = Instant::now();
    let (decisions, summary) = simulate(&ruleset, &history, &mut |_| {});
    let replay = t1.elapsed();
    assert_eq!(decisions.len(), leads);
    let total = read + replay;
    println!(
        "{leads} leads × {} rules: read {:.2} s ({:.0} leads/s), replay {:.2} s ({:.0} decisions/s), total {:.2} s; assigned {}, fallback {}, unmatched {}",
        ruleset.routing.len(),
        read.as_secs_f64(),
        leads as f64 / read.as_secs_f64(),
        replay.as_secs_f64(),
        leads as f64 / replay.as_secs_f64(),
        total.as_secs_f64(),
        summary.assigned,
        summary.fallback,
        summary.unmatched,
    );
    let _ = std::fs::remove_dir_all(dir);
}
