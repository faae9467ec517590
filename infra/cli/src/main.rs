//! `baton`: check, lint, simulate and compare rulesets on real history, and manage the deployed
//! versions. `baton --help` lists the commands; exit codes are in [`Exit`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use baton_adapters::{RulesetStore, RulesetVersion};
use baton_cli::api::{AdminClient, AdminToken};
use baton_cli::history::{self, Mapping};
use baton_cli::{RulesetError, place, read_ruleset};
use baton_domain::Ruleset;
use baton_domain::rules::lint::lint;
use baton_domain::rules::replay::{HistoricalLead, Simulation, compare, simulate};
use baton_domain::rules::staff::{Forecast, forecast};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

/// Exit codes scripts can rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// 0: done; nothing to report.
    Ok = 0,
    /// 1: the command ran and found something: an invalid ruleset, lint warnings with
    /// `--deny-warnings`, a diff over its threshold, an unknown version or lead.
    Findings = 1,
    /// 2: it could not run: bad arguments, an unreadable or malformed file (with its row and column).
    Usage = 2,
    /// 3: the admin API or the table refused or could not be reached.
    Remote = 3,
}

const EXIT_CODES: &str = "Exit codes: 0 done; 1 findings (an invalid ruleset, lint warnings with --deny-warnings, a diff over --max-changed, an unknown version or lead); 2 bad arguments or an unreadable file; 3 the admin API or the table refused or could not be reached.";

#[derive(Debug, Parser)]
#[command(name = "baton", version, about = "Check, lint, simulate and compare Baton rulesets on real history; manage the deployed versions.", after_help = EXIT_CODES)]
struct Cli {
    /// Print JSON (one document) instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Rulesets: check and lint files; upload, list, activate and roll back deployed versions.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Leads on a deployed or local system.
    #[command(subcommand)]
    Leads(LeadsCommand),
    /// Replay a lead history through a ruleset: owners, pools and their fairness, fallback and
    /// nurture rates, unmatched leads, load per hour of the week, owners at capacity.
    Simulate {
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
        #[command(flatten)]
        history: HistoryArgs,
    },
    /// Which leads of a history two rulesets decide differently (owner, priority, SLA target).
    Diff {
        #[arg(long, value_name = "OLD")]
        from: PathBuf,
        #[arg(long, value_name = "NEW")]
        to: PathBuf,
        #[command(flatten)]
        history: HistoryArgs,
        /// Exit 1 when more than this percentage of the leads change (a pull-request gate), 0 to 100.
        #[arg(long, value_name = "PERCENT", value_parser = percent)]
        max_changed: Option<f64>,
        /// How many changed leads to show as examples.
        #[arg(long, default_value_t = 10)]
        examples: usize,
    },
    /// Predict SLA attainment for the ruleset's roster from a history's arrival pattern, per
    /// pool and hour of the week, and with members away (--away). Prints its assumptions.
    Staff {
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
        #[command(flatten)]
        history: HistoryArgs,
        /// A member (id) away; repeat for several.
        #[arg(long, value_name = "MEMBER")]
        away: Vec<String>,
        /// Minutes a member spends on a lead before the next (default: from the history's touches).
        #[arg(long, value_name = "MINUTES")]
        handling_minutes: Option<f64>,
        /// How many of the worst hours to show.
        #[arg(long, default_value_t = 10)]
        hours: usize,
    },
    /// Accounts on a deployed stack (or moto).
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Notify's dead-letter queue on a deployed stack (or moto).
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Print a shell completion script: `baton completions bash > /etc/bash_completion.d/baton`.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, clap::Args)]
struct HistoryArgs {
    /// The history: .csv or .jsonl (one lead a row, in the lead contract's field names, with
    /// captured_at), or a CRM's CSV export with --mapping.
    #[arg(long, value_name = "HISTORY")]
    leads: PathBuf,
    /// A TOML file naming the CRM's column for each contract field ([columns] email = "Email Address").
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum RulesCommand {
    /// Validate a ruleset file (TOML) as the admin API does, with each problem's line and field.
    Check { file: PathBuf },
    /// Warn about rules that shadow or overlap, members nobody can reach, hours with nobody on,
    /// and countries no rule covers.
    Lint {
        file: PathBuf,
        /// Exit 1 when there is any warning.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Validate and save a ruleset file as the next version (not active until activated).
    Upload {
        file: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// List the saved versions and which one is active.
    List {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Make a saved version the one routing uses.
    Activate {
        version: u32,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Activate the newest version older than the active one.
    Rollback {
        #[command(flatten)]
        target: TargetArgs,
    },
}

#[derive(Debug, clap::Subcommand)]
enum AccountsCommand {
    /// Import accounts (CSV, or JSON by the .json extension) into the leads table; a file with
    /// any bad row imports nothing and lists every problem by row and column.
    Import {
        /// CSV with a header row (account_id,name,domain,owner_id,owner_name,segment,tier,open_deal,domains) or a JSON list.
        file: PathBuf,
        /// The leads table (the stack's LeadsTableName output).
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        /// An AWS-compatible endpoint (moto, LocalStack); without it, your AWS account.
        #[arg(long, env = "BATON_ENDPOINT_URL")]
        endpoint_url: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum NotifyCommand {
    /// Send the events in notify's dead-letter queue back to the topic (after fixing the cause;
    /// channels already served are skipped) and empty the queue of them.
    Redrive {
        /// The queue (the stack's NotifyDeadLetterQueueUrl output).
        #[arg(long)]
        queue_url: String,
        /// The topic (the stack's LeadEventsTopicArn output).
        #[arg(long)]
        topic_arn: String,
        /// An AWS-compatible endpoint (moto, LocalStack); without it, your AWS account.
        #[arg(long, env = "BATON_ENDPOINT_URL")]
        endpoint_url: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum LeadsCommand {
    /// A lead with its decision: owner, rule, pool, score and why, what is due and when.
    Show {
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Debug, clap::Args)]
struct ApiArgs {
    /// The admin API (the stack's AdminEndpoint output, or http://127.0.0.1:3000 for baton-local).
    #[arg(long, value_name = "URL", env = "BATON_API")]
    api: String,
    /// The admin bearer token (never printed).
    #[arg(long, env = "BATON_ADMIN_TOKEN", hide_env_values = true)]
    token: AdminToken,
}

/// Where the rulesets are: the leads table directly (`--table`), or the admin API (`--api`).
/// Exactly one; that they exclude each other is checked by [`target_problem`], because a value
/// clap takes from the environment must give way to the other flag when that is typed.
#[derive(Debug, clap::Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("target").args(["table", "api"]).required(true).multiple(true)))]
struct TargetArgs {
    /// The leads table (the stack's LeadsTableName output), written directly with your AWS credentials.
    #[arg(long, env = "TABLE_NAME")]
    table: Option<String>,
    /// With --table: an AWS-compatible endpoint (moto, LocalStack); without it, your AWS account.
    #[arg(long, env = "BATON_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Or: the admin API (the stack's AdminEndpoint output, or http://127.0.0.1:3000 for baton-local).
    #[arg(long, value_name = "URL")]
    api: Option<String>,
    /// With --api: the admin bearer token (never printed).
    #[arg(long, env = "BATON_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<AdminToken>,
}

const TARGETED: [&str; 4] = ["upload", "list", "activate", "rollback"];

fn target_problem(args: &clap::ArgMatches) -> Option<(ErrorKind, &'static str)> {
    let typed = |id: &str| args.value_source(id) == Some(ValueSource::CommandLine);
    if typed("table") && typed("api") {
        return Some((ErrorKind::ArgumentConflict, "the argument '--table <TABLE>' cannot be used with '--api <URL>'"));
    }
    if typed("api") && typed("endpoint_url") {
        return Some((ErrorKind::ArgumentConflict, "the argument '--endpoint-url' goes with '--table', not '--api'"));
    }
    if !typed("api") && typed("token") {
        return Some((ErrorKind::ArgumentConflict, "the argument '--token' goes with '--api', not '--table'"));
    }
    if typed("api") && !args.contains_id("token") {
        return Some((
            ErrorKind::MissingRequiredArgument,
            "'--api' needs the admin token: pass '--token <TOKEN>' or set BATON_ADMIN_TOKEN",
        ));
    }
    None
}

impl Cli {
    fn parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Self::command();
        let matches = command.try_get_matches_from_mut(args)?;
        if let Some(("rules", rules)) = matches.subcommand()
            && let Some((name, args)) = rules.subcommand()
            && TARGETED.contains(&name)
            && let Some((kind, problem)) = target_problem(args)
        {
            let sub = command.find_subcommand_mut("rules").and_then(|r| r.find_subcommand_mut(name));
            return Err(sub.expect("a parsed subcommand exists").error(kind, problem));
        }
        Self::from_arg_matches(&matches)
    }
}

/// A percentage from 0 to 100.
fn percent(text: &str) -> Result<f64, String> {
    match text.trim().trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("`{text}` is not a percentage from 0 to 100")),
    }
}

/// Prints `text` and a newline on stdout; a reader that went away (`| head`) ends the output, not the program.
fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// What a command prints, and how it exits.
struct Outcome {
    text: String,
    json: serde_json::Value,
    exit: Exit,
}

impl Outcome {
    fn ok(text: impl Into<String>, json: serde_json::Value) -> Self {
        Self { text: text.into(), json, exit: Exit::Ok }
    }
}

/// A failure: what to print on stderr, and the exit code.
struct Failure(Exit, String, serde_json::Value);

fn failure(exit: Exit, message: impl Into<String>) -> Failure {
    let message = message.into();
    Failure(exit, message.clone(), json!({ "error": message }))
}

fn ruleset(path: &Path) -> Result<Ruleset, Failure> {
    read_ruleset(path).map(|(_, r)| r).map_err(ruleset_failure)
}

fn ruleset_failure(e: RulesetError) -> Failure {
    match e {
        RulesetError::Unreadable(..) => failure(Exit::Usage, e.to_string()),
        RulesetError::Invalid(file, problems) => {
            let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            Failure(
                Exit::Findings,
                format!("{file} is not a valid ruleset:\n{}", lines.join("\n")),
                json!({ "valid": false, "file": file, "problems": problems }),
            )
        }
    }
}

/// A progress bar on stderr when it is a terminal and the output is for people.
fn progress(len: u64, what: &str, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {percent:>3}% {pos}/{len} ({eta})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn read_history(args: &HistoryArgs, json: bool) -> Result<Vec<HistoricalLead>, Failure> {
    let mapping = match &args.mapping {
        Some(path) => Some(Mapping::read(path).map_err(|e| failure(Exit::Usage, e.to_string()))?),
        None => None,
    };
    let size = std::fs::metadata(&args.leads).map(|m| m.len()).unwrap_or(0);
    let bar = progress(size, "reading", json);
    let leads = history::read(&args.leads, mapping.as_ref(), &mut |bytes| bar.set_position(bytes))
        .map_err(|e| failure(Exit::Usage, e.to_string()));
    bar.finish_and_clear();
    leads
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(header.to_vec());
    t
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn run_simulation(
    ruleset: &Ruleset,
    leads: &[HistoricalLead],
    json: bool,
) -> (Vec<baton_domain::Decision>, Simulation) {
    let bar = progress(leads.len() as u64, "replaying", json);
    let out = simulate(ruleset, leads, &mut |n| {
        if n % 1024 == 0 {
            bar.set_position(n as u64)
        }
    });
    bar.finish_and_clear();
    out
}

fn simulation_text(s: &Simulation) -> String {
    let mut out = format!(
        "{} leads through `{}`: assigned {} ({}), fallback {} ({}), no rule matched {} ({}), nurture {} ({}), disqualified {} ({})\n",
        s.leads,
        s.ruleset,
        s.assigned,
        pct(s.rate(s.assigned)),
        s.fallback,
        pct(s.rate(s.fallback)),
        s.unmatched,
        pct(s.rate(s.unmatched)),
        s.nurture,
        pct(s.rate(s.nurture)),
        s.disqualified,
        pct(s.rate(s.disqualified)),
    );
    let mut owners = table(&["owner", "leads", "share"]);
    for (owner, n) in &s.by_owner {
        owners.add_row(vec![owner.clone(), n.to_string(), pct(s.rate(*n))]);
    }
    out += &format!("\nLeads per owner\n{owners}\n");
    let mut pools = table(&["pool", "member", "leads", "share", "weighted share", "off by"]);
    for p in &s.pools {
        for m in &p.members {
            pools.add_row(vec![
                p.pool.clone(),
                m.member.clone(),
                m.leads.to_string(),
                pct(m.share),
                pct(m.target),
                format!("{:+.1} pts", (m.share - m.target) * 100.0),
            ]);
        }
    }
    out += &format!("\nPools (fairness: each member's share against their weighted share)\n{pools}\n");
    for p in &s.pools {
        out += &format!(
            "  {}: {} leads, {} to the fallback (nobody available), spread {:.1} pts\n",
            p.pool, p.leads, p.fell_back, p.spread_points
        );
    }
    let mut load = table(&["hour (UTC)", "leads", "members on"]);
    for h in &s.load {
        load.add_row(vec![h.hour.clone(), h.leads.to_string(), h.members_on.to_string()]);
    }
    out += &format!("\nLoad per hour of the week, against the pool members on\n{load}\n");
    if s.over_capacity.is_empty() {
        out += "\nNo owner was at capacity.\n";
    } else {
        let mut caps = table(&["owner", "cap", "leads passed over"]);
        for c in &s.over_capacity {
            caps.add_row(vec![c.member.clone(), c.reason.clone(), c.passed_over.to_string()]);
        }
        out += &format!("\nOwners at capacity\n{caps}\n");
    }
    for e in &s.experiments {
        let reached = e.a + e.b;
        let share_b = if reached == 0 { 0.0 } else { e.b as f64 / reached as f64 };
        out += &format!(
            "\nExperiment `{}` ({}, B for {}%): {} leads take part, {} in A, {} in B ({})\n",
            e.experiment,
            e.changes,
            e.share_percent,
            reached,
            e.a,
            e.b,
            pct(share_b)
        );
        if !e.by_owner.is_empty() {
            let mut owners = table(&["owner", "A", "B"]);
            for (owner, a, b) in &e.by_owner {
                owners.add_row(vec![owner.clone(), a.to_string(), b.to_string()]);
            }
            out += &format!("{owners}\n");
        }
    }
    out
}

async fn run(cli: Cli) -> Result<Outcome, Failure> {
    let json = cli.json;
    match cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "baton", &mut script);
            let text = String::from_utf8(script).expect("completion scripts are UTF-8");
            Ok(Outcome::ok(text.trim_end().to_owned(), json!({ "shell": shell.to_string() })))
        }
        Command::Rules(RulesCommand::Check { file }) => {
            let r = ruleset(&file)?;
            Ok(Outcome::ok(
                format!("{} is valid (ruleset `{}`)", file.display(), r.name),
                json!({ "valid": true, "file": file, "ruleset": r.name }),
            ))
        }
        Command::Rules(RulesCommand::Lint { file, deny_warnings }) => {
            let (text, r) = read_ruleset(&file).map_err(ruleset_failure)?;
            let warnings = lint(&r);
            let located: Vec<serde_json::Value> = warnings
                .iter()
                .map(|w| {
                    let line = baton_cli::line_of(&text, &w.field);
                    json!({ "kind": w.kind, "line": line, "field": w.field, "message": w.message })
                })
                .collect();
            let lines: Vec<String> = located
                .iter()
                .map(|w| {
                    let at = w["line"].as_u64().map(|l| format!("line {l}: ")).unwrap_or_default();
                    format!(
                        "warning[{}]: {at}{}: {}",
                        w["kind"].as_str().unwrap_or(""),
                        w["field"].as_str().unwrap_or(""),
                        w["message"].as_str().unwrap_or("")
                    )
                })
                .collect();
            let text = if lines.is_empty() {
                format!("{}: no warnings", file.display())
            } else {
                format!("{}\n{}: {} warning(s)", lines.join("\n"), file.display(), lines.len())
            };
            let exit = if deny_warnings && !warnings.is_empty() { Exit::Findings } else { Exit::Ok };
            Ok(Outcome { text, json: json!({ "file": file, "warnings": located }), exit })
        }
        Command::Simulate { rules, history } => {
            let r = ruleset(&rules)?;
            let leads = read_history(&history, json)?;
            let (_, s) = run_simulation(&r, &leads, json);
            Ok(Outcome::ok(simulation_text(&s), serde_json::to_value(&s).expect("a simulation serializes")))
        }
        Command::Diff { from, to, history, max_changed, examples } => {
            let old = ruleset(&from)?;
            let new = ruleset(&to)?;
            let leads = read_history(&history, json)?;
            let (a, _) = run_simulation(&old, &leads, json);
            let (b, _) = run_simulation(&new, &leads, json);
            let c = compare(&leads, &a, &b, examples);
            let share = c.changed_share() * 100.0;
            let over = max_changed.is_some_and(|max| share > max);
            let mut text = format!(
                "{} of {} leads change ({share:.1}%): owner {}, priority {}, SLA target {}\n",
                c.changed, c.leads, c.owner_changed, c.priority_changed, c.sla_changed
            );
            if c.changed > 0 {
                let mut rules = table(&["rule (old → new)", "leads"]);
                for (k, n) in &c.by_rule {
                    rules.add_row(vec![k.clone(), n.to_string()]);
                }
                text += &format!("\nBy rule\n{rules}\n");
                if !c.by_owner.is_empty() {
                    let mut owners = table(&["owner (old → new)", "leads"]);
                    for (k, n) in &c.by_owner {
                        owners.add_row(vec![k.clone(), n.to_string()]);
                    }
                    text += &format!("\nBy owner\n{owners}\n");
                }
                let mut ex = table(&["lead", "owner", "priority", "SLA target (min)"]);
                for e in &c.examples {
                    ex.add_row(vec![
                        e.lead_id.clone(),
                        format!("{} → {}", e.owner.0, e.owner.1),
                        format!("{} → {}", e.priority.0, e.priority.1),
                        format!("{} → {}", e.sla_minutes.0, e.sla_minutes.1),
                    ]);
                }
                text += &format!("\nExamples\n{ex}\n");
            }
            if let Some(max) = max_changed {
                text += &format!(
                    "\n{share:.1}% changed; the limit is {max}%: {}\n",
                    if over { "over the limit" } else { "within the limit" }
                );
            }
            let mut body = serde_json::to_value(&c).expect("a comparison serializes");
            body["changed_percent"] = json!(share);
            body["over_limit"] = json!(over);
            Ok(Outcome { text, json: body, exit: if over { Exit::Findings } else { Exit::Ok } })
        }
        Command::Staff { rules, history, away, handling_minutes, hours } => {
            let r = ruleset(&rules)?;
            let members: Vec<&str> = r.pools.values().flat_map(|p| &p.members).map(|m| m.id.as_str()).collect();
            if let Some(unknown) = away.iter().find(|a| !members.contains(&a.as_str())) {
                return Err(failure(Exit::Usage, format!("--away {unknown}: no pool of `{}` has that member", r.name)));
            }
            if handling_minutes.is_some_and(|m| !(m.is_finite() && m > 0.0)) {
                return Err(failure(Exit::Usage, "--handling-minutes must be a positive number of minutes"));
            }
            let leads = read_history(&history, json)?;
            let roster = forecast(&r, &leads, &[], handling_minutes);
            let with_away = (!away.is_empty()).then(|| forecast(&r, &leads, &away, handling_minutes));
            let text = staff_text(&roster, with_away.as_ref(), hours);
            Ok(Outcome::ok(text, json!({ "roster": roster, "away": with_away })))
        }
        Command::Accounts(AccountsCommand::Import { file, table, endpoint_url }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| failure(Exit::Usage, format!("cannot read {}: {e}", file.display())))?;
            let is_json = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let accounts = baton_cli::ops::parse_accounts(&text, is_json)
                .map_err(|e| failure(Exit::Usage, format!("{} imports nothing:\n{e}", file.display())))?;
            let n = baton_cli::ops::put_accounts(&accounts, endpoint_url.as_deref(), &table)
                .await
                .map_err(|e| failure(Exit::Remote, e))?;
            Ok(Outcome::ok(format!("imported {n} accounts into {table}"), json!({ "imported": n, "table": table })))
        }
        Command::Notify(NotifyCommand::Redrive { queue_url, topic_arn, endpoint_url }) => {
            let (republished, left) = baton_cli::ops::redrive_notify(endpoint_url.as_deref(), &queue_url, &topic_arn)
                .await
                .map_err(|e| failure(Exit::Remote, format!("redrive stopped: {e} (running it again is safe)")))?;
            Ok(Outcome::ok(
                format!("republished {republished} events; {left} messages that are not lead events were left"),
                json!({ "republished": republished, "left": left }),
            ))
        }
        Command::Rules(command) => rules_remote(command).await,
        Command::Leads(LeadsCommand::Show { id, api }) => {
            let client = AdminClient::new(&api.api, api.token).map_err(|e| failure(Exit::Usage, e.to_string()))?;
            match client.lead(&id).await.map_err(|e| failure(Exit::Remote, e.to_string()))? {
                None => Err(failure(Exit::Findings, format!("there is no lead {id}"))),
                Some(lead) => Ok(Outcome::ok(lead_text(&lead), lead)),
            }
        }
    }
}

fn staff_text(roster: &Forecast, away: Option<&Forecast>, worst: usize) -> String {
    let a = &roster.assumptions;
    let mut out = format!(
        "Assumptions: arrivals per hour of the week (UTC) averaged over {:.1} week(s) of history; \
         {:.1} minutes a lead per member ({}{}); members on by their working hours and days in the week of \
         10 March 2031, with its daylight-saving offsets (out-of-office dates left out); each pool an \
         M/M/c queue per hour (Erlang C) against each lead's first-touch target.\n",
        a.weeks,
        a.handling_minutes,
        a.handling_from,
        if a.handling_samples > 0 {
            format!(", {} gaps between first touches", a.handling_samples)
        } else {
            String::new()
        },
    );
    let away_label = away.map(|f| format!("with {} away", f.assumptions.away.join(", ")));
    let mut header = vec!["pool", "predicted attainment"];
    if let Some(label) = &away_label {
        header.push(label);
    }
    let mut pools = table(&header);
    for (pool, share) in &roster.pools {
        let mut row = vec![pool.clone(), pct(*share)];
        if let Some(f) = away {
            row.push(f.pools.iter().find(|(p, _)| p == pool).map_or_else(|| "-".into(), |(_, s)| pct(*s)));
        }
        pools.add_row(row);
    }
    let mut total = vec!["all pools".to_owned(), pct(roster.overall)];
    if let Some(f) = away {
        total.push(pct(f.overall));
    }
    pools.add_row(total);
    out += &format!("\n{pools}\n");
    let shown = away.unwrap_or(roster);
    let mut hours = table(&["pool", "hour (UTC)", "leads a week", "members on", "predicted attainment"]);
    for h in shown.hours.iter().take(worst) {
        hours.add_row(vec![
            h.pool.clone(),
            h.hour.clone(),
            format!("{:.1}", h.arrivals),
            h.members_on.to_string(),
            pct(h.attainment),
        ]);
    }
    let which = away_label.unwrap_or_else(|| "the roster".to_owned());
    out += &format!("\nThe {worst} worst hours ({which})\n{hours}\n");
    out
}

fn lead_text(lead: &serde_json::Value) -> String {
    let get = |path: &str| {
        path.split('.').try_fold(lead, |v, k| v.get(k)).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
    };
    let mut t = table(&["", ""]);
    for (label, path) in [
        ("lead", "id"),
        ("status", "status"),
        ("captured", "captured_at"),
        ("owner", "decision.owner.name"),
        ("rule", "decision.rule"),
        ("pool", "decision.pool"),
        ("priority", "decision.score.priority"),
        ("score", "decision.score.points"),
        ("first action", "decision.first_action"),
        ("due", "decision.first_touch_due_at"),
        ("ruleset", "decision.ruleset"),
    ] {
        if let Some(v) = get(path) {
            t.add_row(vec![label.to_owned(), v]);
        }
    }
    t.to_string()
}

enum Rulesets {
    Table(baton_adapters::dynamo::DynamoRulesets),
    Api(AdminClient),
}

impl TargetArgs {
    async fn open(&self) -> Result<Rulesets, Failure> {
        match (&self.api, &self.token, &self.table) {
            (Some(api), Some(token), _) => {
                AdminClient::new(api, token.clone()).map(Rulesets::Api).map_err(|e| failure(Exit::Usage, e.to_string()))
            }
            (Some(_), None, _) => {
                Err(failure(Exit::Usage, "--api needs the admin token: pass --token or set BATON_ADMIN_TOKEN"))
            }
            (None, _, Some(table)) => {
                let sdk = baton_adapters::provision::sdk_config(self.endpoint_url.as_deref()).await;
                Ok(Rulesets::Table(baton_adapters::dynamo::DynamoRulesets::new(
                    aws_sdk_dynamodb::Client::new(&sdk),
                    table,
                )))
            }
            (None, _, None) => Err(failure(Exit::Usage, "give --table <LeadsTableName> or --api <URL>")),
        }
    }
}

impl Rulesets {
    async fn list(&self) -> Result<Vec<RulesetVersion>, Failure> {
        match self {
            Self::Table(store) => store.list().await.map_err(|e| failure(Exit::Remote, e.to_string())),
            Self::Api(client) => client.list().await.map_err(|e| failure(Exit::Remote, e.to_string())),
        }
    }

    async fn activate(&self, version: u32) -> Result<bool, Failure> {
        match self {
            Self::Table(store) => store.activate(version).await.map_err(|e| failure(Exit::Remote, e.to_string())),
            Self::Api(client) => client.activate(version).await.map_err(|e| failure(Exit::Remote, e.to_string())),
        }
    }
}

fn versions_json(versions: &[RulesetVersion]) -> serde_json::Value {
    json!(
        versions
            .iter()
            .map(|v| json!({ "version": v.version, "name": v.name, "saved_at": v.saved_at, "active": v.active }))
            .collect::<Vec<_>>()
    )
}

/// The versions, one a line, the active one starred.
fn list_versions(versions: &[RulesetVersion]) -> String {
    if versions.is_empty() {
        return "no versions saved; routing uses the built-in default ruleset (v0)".into();
    }
    versions
        .iter()
        .map(|v| {
            format!(
                "{}v{}  {}  {}",
                if v.active { "* " } else { "  " },
                v.version,
                v.saved_at.format("%Y-%m-%d %H:%M UTC"),
                v.name
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn activated(version: u32) -> Outcome {
    Outcome::ok(format!("version {version} is active; routing picks it up within 30 s"), json!({ "active": version }))
}

async fn rules_remote(command: RulesCommand) -> Result<Outcome, Failure> {
    match command {
        RulesCommand::Upload { file, target } => {
            let (name, version) = match target.open().await? {
                Rulesets::Table(store) => {
                    let r = ruleset(&file)?;
                    let version =
                        store.save(&r, chrono::Utc::now()).await.map_err(|e| failure(Exit::Remote, e.to_string()))?;
                    (r.name, version)
                }
                // The API validates (it may be a newer or older release than this CLI) and
                // answers every problem; they are printed as `rules check` prints them.
                Rulesets::Api(client) => {
                    let text = std::fs::read_to_string(&file)
                        .map_err(|e| failure(Exit::Usage, format!("cannot read {}: {e}", file.display())))?;
                    let saved = client.upload(text.clone()).await.map_err(|e| match e.field_errors() {
                        [] => failure(Exit::Remote, e.to_string()),
                        errors => {
                            let problems = place(&text, errors);
                            let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
                            Failure(
                                Exit::Findings,
                                format!(
                                    "{} is not a valid ruleset (refused by the admin API):\n{}",
                                    file.display(),
                                    lines.join("\n")
                                ),
                                json!({ "valid": false, "file": file, "problems": problems }),
                            )
                        }
                    })?;
                    (saved.name, saved.version)
                }
            };
            Ok(Outcome::ok(
                format!("saved `{name}` as version {version}; activate it with `baton rules activate {version}`"),
                json!({ "saved": version, "name": name }),
            ))
        }
        RulesCommand::List { target } => {
            let versions = target.open().await?.list().await?;
            Ok(Outcome::ok(list_versions(&versions), versions_json(&versions)))
        }
        RulesCommand::Activate { version, target } => {
            if target.open().await?.activate(version).await? {
                Ok(activated(version))
            } else {
                Err(failure(
                    Exit::Findings,
                    format!("there is no version {version}; `baton rules list` shows the saved ones"),
                ))
            }
        }
        RulesCommand::Rollback { target } => {
            let store = target.open().await?;
            let versions = store.list().await?;
            let Some(active) = versions.iter().find(|v| v.active).map(|v| v.version) else {
                return Err(failure(Exit::Findings, "no version is active, so there is nothing to roll back"));
            };
            let Some(previous) = versions.iter().map(|v| v.version).filter(|v| *v < active).max() else {
                return Err(failure(
                    Exit::Findings,
                    format!("version {active} is the oldest saved; there is nothing older"),
                ));
            };
            if store.activate(previous).await? {
                let mut outcome = activated(previous);
                outcome.text = format!("rolled back from version {active}: {}", outcome.text);
                outcome.json["rolled_back_from"] = json!(active);
                Ok(outcome)
            } else {
                Err(failure(Exit::Remote, format!("version {previous} disappeared while rolling back")))
            }
        }
        RulesCommand::Check { .. } | RulesCommand::Lint { .. } => unreachable!("handled without a target"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            return ExitCode::from(code as u8);
        }
    };
    let json = cli.json;
    match run(cli).await {
        Ok(outcome) => {
            if json {
                print(&serde_json::to_string_pretty(&outcome.json).expect("JSON serializes"));
            } else {
                print(outcome.text.trim_end());
            }
            ExitCode::from(outcome.exit as u8)
        }
        Err(Failure(exit, message, body)) => {
            if json {
                print(&serde_json::to_string_pretty(&body).expect("JSON serializes"));
            }
            eprintln!("baton: {message}");
            ExitCode::from(exit as u8)
        }
    }
}
