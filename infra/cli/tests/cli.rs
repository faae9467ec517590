//! The `baton` binary as a user runs it: its output (golden files under `snapshots/`, reviewed
//! with `cargo insta review`), `--json` that parses, and the exit codes scripts rely on.
//!
//! The remote commands run against `baton-local` started in this process (the admin API) and,
//! for `--table`, against moto (`BATON_TEST_AWS_ENDPOINT`).

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

/// Runs `baton args…` from the fixtures directory (so paths in the output are short); its exit
/// code, stdout and stderr.
fn baton(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("baton")
        .unwrap()
        .current_dir(fixture(""))
        .env_remove("BATON_ADMIN_TOKEN")
        .env_remove("TABLE_NAME")
        .env_remove("BATON_API")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().expect("an exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("--json printed invalid JSON ({e}): {stdout}"))
}

#[test]
fn rules_check_names_each_problems_line_and_field() {
    let (code, out, _) = baton(&["rules", "check", "rules.toml"]);
    assert_eq!((code, out.trim()), (0, "rules.toml is valid (ruleset `default`)"));
    let (code, _, err) = baton(&["rules", "check", "invalid-rules.toml"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("check_invalid", err);
    let (code, out, _) = baton(&["--json", "rules", "check", "invalid-rules.toml"]);
    let body = json(&out);
    assert_eq!((code, &body["valid"]), (1, &Value::Bool(false)));
    assert_eq!(
        body["problems"][1],
        serde_json::json!({"line": 11, "field": "routing[0].pool", "message": "`nope` is not a pool in this ruleset"})
    );
    let (code, _, err) = baton(&["rules", "check", "missing.toml"]);
    assert_eq!(code, 2, "an unreadable file: {err}");
    assert!(err.contains("cannot read missing.toml"), "{err}");
}

#[test]
fn rules_lint_warns_with_lines_and_can_gate() {
    let (code, out, _) = baton(&["rules", "lint", "lint-rules.toml"]);
    assert_eq!(code, 0, "warnings alone do not fail");
    insta::assert_snapshot!("lint", out);
    let (code, _, _) = baton(&["rules", "lint", "lint-rules.toml", "--deny-warnings"]);
    assert_eq!(code, 1);
    let (_, out, _) = baton(&["--json", "rules", "lint", "lint-rules.toml"]);
    let body = json(&out);
    assert!(body["warnings"].as_array().unwrap().iter().all(|w| w["kind"].is_string() && w["field"].is_string()));
}

#[test]
fn simulate_replays_the_history_and_reports_per_owner_pool_and_hour() {
    let (code, out, err) = baton(&["simulate", "--rules", "rules.toml", "--leads", "history.csv"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("simulate", out);
    let (code, out, _) = baton(&["--json", "simulate", "--rules", "rules.toml", "--leads", "history.csv"]);
    let s = json(&out);
    assert_eq!(code, 0);
    assert_eq!(s["leads"], 48);
    let parts: u64 =
        ["assigned", "fallback", "unmatched", "nurture", "disqualified"].iter().map(|k| s[k].as_u64().unwrap()).sum();
    assert_eq!(parts, 48, "every lead is counted once: {s}");
    let owners: u64 = s["by_owner"].as_array().unwrap().iter().map(|o| o[1].as_u64().unwrap()).sum();
    assert_eq!(owners, 48);
}

#[test]
fn simulate_shows_an_experiments_split_before_it_goes_live() {
    let (code, out, err) = baton(&["simulate", "--rules", "rules-experiment.toml", "--leads", "history.csv"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("simulate_experiment", out[out.find("Experiment `").expect("the split is shown")..]);
    let (_, out, _) = baton(&["--json", "simulate", "--rules", "rules-experiment.toml", "--leads", "history.csv"]);
    let s = json(&out);
    let e = &s["experiments"][0];
    let pool = s["pools"].as_array().unwrap().iter().find(|p| p["pool"] == "north-america").unwrap();
    let (a, b) = (e["a"].as_u64().unwrap(), e["b"].as_u64().unwrap());
    assert_eq!(a + b, pool["leads"].as_u64().unwrap(), "every lead the pool's rule sends takes part");
    assert!(a > 0 && b > 0, "{e}");
    let by_owner: u64 =
        e["by_owner"].as_array().unwrap().iter().map(|o| o[1].as_u64().unwrap() + o[2].as_u64().unwrap()).sum();
    assert_eq!(by_owner, a + b);
}

#[test]
fn the_history_may_be_json_lines_or_a_crm_export_through_a_mapping() {
    let (code, out, err) = baton(&["--json", "simulate", "--rules", "rules.toml", "--leads", "history.jsonl"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["leads"], 10, "extra fields of an export are ignored");
    let (code, out, err) =
        baton(&["--json", "simulate", "--rules", "rules.toml", "--leads", "crm.csv", "--mapping", "crm-mapping.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["leads"], 12);
}

#[test]
fn a_bad_history_row_is_named_by_row_and_column() {
    let (code, out, err) = baton(&["simulate", "--rules", "rules.toml", "--leads", "bad-history.csv"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.starts_with("baton: bad-history.csv: row 4, column \"email\": "), "{err}");
    let (code, _, err) = baton(&["simulate", "--rules", "rules.toml", "--leads", "crm.csv", "--mapping", "rules.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("rules.toml: line ") && err.contains("unknown field"), "a mapping that is not one: {err}");
    let (code, _, err) = baton(&["simulate", "--rules", "rules.toml", "--leads", "rules.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("give a .csv, .jsonl or .ndjson file"), "{err}");
}

#[test]
fn diff_shows_what_moves_and_gates_on_a_threshold() {
    let args = ["diff", "--from", "rules.toml", "--to", "rules-new.toml", "--leads", "history.csv", "--examples", "3"];
    let (code, out, err) = baton(&args);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("diff", out);
    let (code, out, _) = baton(&[&["--json"][..], &args[..], &["--max-changed", "1"]].concat());
    let body = json(&out);
    assert_eq!((code, &body["over_limit"]), (1, &Value::Bool(true)), "{body}");
    assert!(body["changed"].as_u64().unwrap() > 0);
    assert_eq!(body["examples"].as_array().unwrap().len(), 3);
    let (code, _, _) = baton(&[&args[..], &["--max-changed", "100"]].concat());
    assert_eq!(code, 0);
    let (code, out, _) =
        baton(&["--json", "diff", "--from", "rules.toml", "--to", "rules.toml", "--leads", "history.csv"]);
    assert_eq!((code, &json(&out)["changed"]), (0, &Value::from(0)), "a ruleset against itself changes nothing");
}

#[test]
fn completions_and_usage_errors() {
    let (code, out, _) = baton(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("_baton()") && out.contains("simulate"), "{}", &out[..200.min(out.len())]);
    let (code, _, err) = baton(&["simulate", "--rules", "rules.toml"]);
    assert_eq!(code, 2, "a missing argument: {err}");
    let (code, _, err) = baton(&["rules", "list", "--table", "t", "--api", "http://127.0.0.1:9", "--token", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, _, err) = baton(&["rules", "list", "--api", "http://127.0.0.1:9"]);
    assert_eq!(code, 2);
    assert!(err.contains("BATON_ADMIN_TOKEN"), "{err}");
}

/// Runs the binary on a blocking thread, so the runner in this process keeps serving.
async fn baton_async(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        baton(&args)
    })
    .await
    .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rulesets_are_uploaded_listed_activated_and_rolled_back_through_the_admin_api() {
    const TOKEN: &str = "cli-test-admin-token";
    let running = baton_local::start(baton_local::Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_token: TOKEN.to_owned(),
        ..baton_local::Options::default()
    })
    .await
    .unwrap();
    let api = |args: &[&str]| strings(&[args, &["--api", running.url.as_str(), "--token", TOKEN]].concat());
    let (code, out, _) = baton_async(api(&["rules", "list"])).await;
    assert_eq!((code, out.trim()), (0, "no versions saved; routing uses the built-in default ruleset (v0)"));
    let (code, out, _) = baton_async(api(&["rules", "upload", "rules.toml"])).await;
    assert_eq!((code, out.trim()), (0, "saved `default` as version 1; activate it with `baton rules activate 1`"));
    baton_async(api(&["rules", "upload", "rules-new.toml"])).await;
    let (code, _, _) = baton_async(api(&["rules", "activate", "2"])).await;
    assert_eq!(code, 0);
    let (code, out, _) = baton_async(api(&["--json", "rules", "list"])).await;
    let listed = json(&out);
    assert_eq!((code, &listed[1]["active"], &listed[1]["name"]), (0, &Value::Bool(true), &Value::from("default-next")));
    let (code, out, _) = baton_async(api(&["rules", "rollback"])).await;
    assert_eq!(
        (code, out.trim()),
        (0, "rolled back from version 2: version 1 is active; routing picks it up within 30 s")
    );
    let (code, _, err) = baton_async(api(&["rules", "rollback"])).await;
    assert_eq!(code, 1, "nothing older than version 1: {err}");
    let (code, _, err) = baton_async(api(&["rules", "activate", "9"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("there is no version 9"), "{err}");

    let (code, _, err) = baton_async(api(&["rules", "upload", "invalid-rules.toml"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("refused by the admin API") && err.contains("line 11: routing[0].pool"), "{err}");

    let wrong = strings(&["rules", "list", "--api", running.url.as_str(), "--token", "wrong-token"]);
    let (code, _, err) = baton_async(wrong).await;
    assert_eq!(code, 3, "the API refused: {err}");
    assert!(err.contains("401") && !err.contains("wrong-token"), "{err}");

    // A lead, shown as the admin API has it.
    let lead: Value = reqwest::Client::new()
        .post(format!("{}/leads", running.url))
        .header("x-baton-key", "pk_local_demo")
        .json(&serde_json::json!({"email": "ada@lovelace-labs.example", "first_name": "Ada", "country": "US", "source": {"form_type": "demo_request"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = lead["lead_id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !running.settled().await {
        assert!(std::time::Instant::now() < deadline, "the lead was not routed within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (code, out, err) = baton_async(api(&["--json", "leads", "show", &id])).await;
    assert_eq!(code, 0, "{err}");
    let shown = json(&out);
    assert_eq!(shown["id"], id.as_str());
    let (code, out, _) = baton_async(api(&["leads", "show", &id])).await;
    assert_eq!(code, 0);
    assert!(out.contains(&id) && out.contains("owner"), "{out}");
    let (code, _, _) = baton_async(api(&["leads", "show", "00000000-0000-4000-8000-000000000000"])).await;
    assert_eq!(code, 1, "an unknown lead");

    // The metrics API's history export, replayed: the same owner as the live decision.
    let today = chrono::Utc::now().date_naive();
    let export = reqwest::Client::new()
        .get(format!("{}/admin/leads/export?format=jsonl&from={today}&to={today}", running.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let lines = export.text().await.unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(!lines.contains("Ada") && lines.contains(&id), "no names, the lead's id: {lines}");
    let file = std::env::temp_dir().join(format!("baton-history-{id}.jsonl"));
    std::fs::write(&file, &lines).unwrap();
    let (code, out, err) =
        baton_async(strings(&["--json", "simulate", "--rules", "rules.toml", "--leads", file.to_str().unwrap()])).await;
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 0, "{err}");
    let replayed = json(&out);
    assert_eq!(replayed["leads"], 1);
    assert_eq!(replayed["by_owner"][0][0], shown["decision"]["owner"]["id"], "{replayed}");
    running.stop().await;
}

/// Needs moto (`BATON_TEST_AWS_ENDPOINT`): `--table` reads every version (more than one batch
/// read takes, with a gap) and activates one, straight on the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_list_and_activate_on_a_table() {
    let endpoint = baton_adapters::contract::test_endpoint();
    let table = baton_adapters::contract::unique_name("cli-rules");
    let sdk = baton_adapters::provision::sdk_config(Some(&endpoint)).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    baton_adapters::provision::ensure_table(&client, &table).await.unwrap();
    let store = baton_adapters::dynamo::DynamoRulesets::new(client.clone(), &table);
    let mut ruleset = baton_domain::Ruleset::default_ruleset();
    for n in 1..=205u32 {
        ruleset.name = format!("rules-{n}");
        assert_eq!(baton_adapters::RulesetStore::save(&store, &ruleset, chrono::Utc::now()).await.unwrap(), n);
    }
    client
        .delete_item()
        .table_name(&table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("ruleset#v101".into()))
        .send()
        .await
        .unwrap();
    let target =
        |args: &[&str]| strings(&[args, &["--table", table.as_str(), "--endpoint-url", endpoint.as_str()]].concat());
    let (code, _, err) = baton_async(target(&["rules", "activate", "150"])).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = baton_async(target(&["--json", "rules", "list"])).await;
    assert_eq!(code, 0);
    let listed: Vec<(bool, String)> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["active"].as_bool().unwrap(), v["name"].as_str().unwrap().to_owned()))
        .collect();
    let expected: Vec<(bool, String)> =
        (1..=205).filter(|n| *n != 101).map(|n| (n == 150, format!("rules-{n}"))).collect();
    assert_eq!(listed, expected);
    let (code, out, _) = baton_async(target(&["rules", "rollback"])).await;
    assert_eq!(
        (code, out.trim()),
        (0, "rolled back from version 150: version 149 is active; routing picks it up within 30 s")
    );
}

#[test]
fn staff_predicts_attainment_per_pool_and_hour_and_with_a_member_away() {
    let args = ["staff", "--rules", "rules.toml", "--leads", "history.csv", "--away", "rep-riley", "--hours", "5"];
    let (code, out, err) = baton(&args);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("staff", out);
    let (_, out, _) = baton(&[&["--json"][..], &args[..]].concat());
    let body = json(&out);
    let roster = body["roster"]["overall"].as_f64().unwrap();
    let away = body["away"]["overall"].as_f64().unwrap();
    assert!(away <= roster, "a member away cannot help: {roster} vs {away}");
    assert!(body["roster"]["assumptions"]["handling_minutes"].as_f64().unwrap() > 0.0);
    let (code, _, err) = baton(&["staff", "--rules", "rules.toml", "--leads", "history.csv", "--away", "rep-nobody"]);
    assert_eq!(code, 2);
    assert!(err.contains("--away rep-nobody"), "{err}");
}

#[test]
fn bad_gates_mappings_and_rows_are_named() {
    for bad in ["NaN", "-5", "101", "lots"] {
        let (code, _, err) = baton(&[
            "diff",
            "--from",
            "rules.toml",
            "--to",
            "rules.toml",
            "--leads",
            "history.csv",
            &format!("--max-changed={bad}"),
        ]);
        assert_eq!(code, 2, "--max-changed {bad}: {err}");
        assert!(err.contains("percentage from 0 to 100"), "{err}");
    }
    let dir = std::env::temp_dir().join(format!("baton-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A blank line and a quoted field over two lines: the error names the file's line.
    let csv = dir.join("lines.csv");
    std::fs::write(
        &csv,
        "captured_at,email,company\n2026-11-02T10:00:00Z,a@x.example,\"Two\nLines\"\n\n2026-11-02T11:00:00Z,bad@,Acme\n",
    )
    .unwrap();
    let (code, _, err) = baton(&["simulate", "--rules", "rules.toml", "--leads", csv.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("row 5, column \"email\""), "{err}");
    let mapping = dir.join("mapping.toml");
    std::fs::write(&mapping, "[columns]\nemial = \"Email Address\"\ncaptured_at = \"Created Date\"\n").unwrap();
    let (code, _, err) =
        baton(&["simulate", "--rules", "rules.toml", "--leads", "crm.csv", "--mapping", mapping.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("`emial`, which is not a lead contract field"), "{err}");
    std::fs::write(
        &mapping,
        "[columns]\nemail = \"Email Address\"\ncountry = \"Email Address\"\ncaptured_at = \"Created Date\"\n",
    )
    .unwrap();
    let (code, _, err) =
        baton(&["simulate", "--rules", "rules.toml", "--leads", "crm.csv", "--mapping", mapping.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("to both"), "{err}");
    let bom = dir.join("bom.jsonl");
    std::fs::write(&bom, "\u{feff}{\"captured_at\":\"2026-11-02T10:00:00Z\",\"email\":\"a@x.example\"}\n").unwrap();
    let (code, out, err) = baton(&["--json", "simulate", "--rules", "rules.toml", "--leads", bom.to_str().unwrap()]);
    assert_eq!((code, &json(&out)["leads"]), (0, &Value::from(1)), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Needs moto (`BATON_TEST_AWS_ENDPOINT`): accounts are imported into the table, and a file with
/// a bad row imports nothing and names the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_imported_into_the_table_and_a_bad_file_imports_nothing() {
    let endpoint = baton_adapters::contract::test_endpoint();
    let table = baton_adapters::contract::unique_name("cli-accounts");
    let sdk = baton_adapters::provision::sdk_config(Some(&endpoint)).await;
    baton_adapters::provision::ensure_table(&aws_sdk_dynamodb::Client::new(&sdk), &table).await.unwrap();
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sample/accounts.csv").display().to_string();
    let target = ["--table", table.as_str(), "--endpoint-url", endpoint.as_str()];
    let (code, out, err) =
        baton_async(strings(&[&["--json", "accounts", "import", sample.as_str()][..], &target[..]].concat())).await;
    assert_eq!(code, 0, "{err}");
    let imported = json(&out)["imported"].as_u64().unwrap();
    let rows = std::fs::read_to_string(&sample).unwrap().lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    assert_eq!(imported as usize, rows);
    let bad = std::env::temp_dir().join(format!("baton-accounts-{}.csv", std::process::id()));
    std::fs::write(&bad, "account_id,name,domain\nacc-1,Acme,not a domain\n").unwrap();
    let (code, _, err) =
        baton_async(strings(&[&["accounts", "import", bad.to_str().unwrap()][..], &target[..]].concat())).await;
    let _ = std::fs::remove_file(&bad);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("imports nothing") && err.contains("row 2"), "{err}");
}
