//! `baton-local`: runs Baton on this machine. See the crate docs (`lib.rs`) for how it is wired.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use baton_local::{Backend, Options, start};
use clap::Parser;

/// Run Baton locally: capture, route, notify and the SLA sweep, wired as in AWS.
#[derive(Debug, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: Args,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Manage rulesets: check, upload, list, activate (roll back by activating an older version).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Import accounts (CSV, or JSON by the .json extension) into a leads table on AWS or moto.
    ImportAccounts {
        /// The file: CSV with a header row (account_id,name,domain,owner_id,owner_name,segment,tier,open_deal) or a JSON list.
        file: std::path::PathBuf,
        /// The leads table (the stack's LeadsTableName output).
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        /// An AWS-compatible endpoint (moto, LocalStack); without it, your AWS account.
        #[arg(long, env = "BATON_ENDPOINT_URL")]
        endpoint_url: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
enum RulesCommand {
    /// Validate a ruleset file (TOML) and print every problem; touches nothing.
    Check { file: std::path::PathBuf },
    /// Validate and save a ruleset file as the next version (not active until activated).
    Upload {
        file: std::path::PathBuf,
        #[command(flatten)]
        target: TableArgs,
    },
    /// List the saved versions and which one is active.
    List {
        #[command(flatten)]
        target: TableArgs,
    },
    /// Make a saved version the one routing uses (rolling back is activating an older one).
    Activate {
        version: u32,
        #[command(flatten)]
        target: TableArgs,
    },
}

#[derive(Debug, clap::Args)]
struct TableArgs {
    /// The leads table (the stack's LeadsTableName output).
    #[arg(long, env = "TABLE_NAME")]
    table: String,
    /// An AWS-compatible endpoint (moto, LocalStack); without it, your AWS account.
    #[arg(long, env = "BATON_ENDPOINT_URL")]
    endpoint_url: Option<String>,
}

fn read_ruleset(path: &std::path::Path) -> Result<baton_domain::Ruleset, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    baton_domain::Ruleset::parse_toml(&text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {}: {}", e.field, e.message)).collect();
        format!("{} is not a valid ruleset:\n{}", path.display(), lines.join("\n"))
    })
}

async fn rules(command: RulesCommand) -> Result<String, String> {
    use baton_adapters::RulesetStore;
    let store = |t: &TableArgs| {
        let (endpoint, table) = (t.endpoint_url.clone(), t.table.clone());
        async move { baton_local::ruleset_store(endpoint.as_deref(), &table).await }
    };
    match command {
        RulesCommand::Check { file } => {
            read_ruleset(&file).map(|r| format!("{} is valid (ruleset `{}`)", file.display(), r.name))
        }
        RulesCommand::Upload { file, target } => {
            let ruleset = read_ruleset(&file)?;
            let version = store(&target).await.save(&ruleset, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
            Ok(format!("saved `{}` as version {version}; activate it with `rules activate {version}`", ruleset.name))
        }
        RulesCommand::List { target } => {
            let versions = store(&target).await.list().await.map_err(|e| e.to_string())?;
            if versions.is_empty() {
                return Ok("no versions saved; routing uses the built-in default ruleset (v0)".into());
            }
            Ok(versions
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
                .join("\n"))
        }
        RulesCommand::Activate { version, target } => match store(&target).await.activate(version).await {
            Ok(true) => Ok(format!("version {version} is active; routing picks it up within 30 s")),
            Ok(false) => Err(format!("there is no version {version}; `rules list` shows the saved ones")),
            Err(e) => Err(e.to_string()),
        },
    }
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Port for the HTTP API (0 picks a free one).
    #[arg(long, env = "BATON_PORT", default_value_t = 3000)]
    port: u16,
    /// Address to listen on.
    #[arg(long, env = "BATON_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Keep state in DynamoDB/SQS/SNS at this endpoint (moto, LocalStack) instead of in process.
    #[arg(long, env = "BATON_ENDPOINT_URL", conflicts_with = "aws")]
    endpoint_url: Option<String>,
    /// Keep state in real AWS, configured by the usual AWS_* variables.
    #[arg(long)]
    aws: bool,
    /// Slack incoming webhook for notifications (default: print them here).
    #[arg(long, env = "SLACK_WEBHOOK_URL", hide_env_values = true)]
    slack_webhook_url: Option<String>,
    /// Prefix for the table, queue and topic names.
    #[arg(long, env = "BATON_PREFIX", default_value = "baton")]
    prefix: String,
    /// Capture keys as JSON (default: the demo keys `pk_local_demo` and `local-integration`).
    #[arg(long, env = "CAPTURE_KEYS", hide_env_values = true)]
    capture_keys: Option<String>,
    /// Accounts to load at start, as CSV (account_id,name,domain,owner_id,owner_name,segment,tier,open_deal).
    /// Default: the sample accounts in infra/sample/accounts.csv.
    #[arg(long, env = "BATON_ACCOUNTS")]
    accounts: Option<std::path::PathBuf>,
    /// A ruleset (TOML) to route by instead of the default (shared/domain/src/rules/default.toml).
    #[arg(long, env = "BATON_RULES")]
    rules: Option<std::path::PathBuf>,
    /// The admin API's bearer token (default: local-admin-token).
    #[arg(long, env = "BATON_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Seconds between SLA sweeps.
    #[arg(long, env = "BATON_SWEEP_SECONDS", default_value_t = 30)]
    sweep_seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    tracing_subscriber::fmt().with_env_filter(filter).compact().init();

    let cli = Cli::parse();
    if let Some(Command::Rules(command)) = cli.command {
        return match rules(command).await {
            Ok(out) => {
                println!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("baton-local: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(Command::ImportAccounts { file, table, endpoint_url }) = cli.command {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("baton-local: cannot read {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        };
        let json = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        return match baton_local::import_accounts(&text, json, endpoint_url.as_deref(), &table).await {
            Ok(n) => {
                println!("imported {n} accounts into {table}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("baton-local: the import failed:\n{e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = cli.run;
    let backend = match (&args.endpoint_url, args.aws) {
        (Some(url), _) => Backend::Aws { endpoint: Some(url.clone()) },
        (None, true) => Backend::Aws { endpoint: None },
        (None, false) => Backend::InProcess,
    };
    let where_ = match &backend {
        Backend::InProcess => "in-process state (nothing is kept after exit)".to_owned(),
        Backend::Aws { endpoint: Some(url) } => format!("DynamoDB/SQS/SNS at {url}"),
        Backend::Aws { endpoint: None } => "your AWS account".to_owned(),
    };
    let accounts_csv = match &args.accounts {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("baton-local: cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => baton_local::SAMPLE_ACCOUNTS.to_owned(),
    };
    let ruleset = match &args.rules {
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("baton-local: cannot read {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            };
            match baton_domain::Ruleset::parse_toml(&text) {
                Ok(r) => r,
                Err(errors) => {
                    eprintln!("baton-local: {} is not a valid ruleset:", path.display());
                    for e in errors {
                        eprintln!("  {}: {}", e.field, e.message);
                    }
                    return ExitCode::FAILURE;
                }
            }
        }
        None => baton_domain::Ruleset::default_ruleset(),
    };
    let options = Options {
        admin_token: args.admin_token.unwrap_or_else(|| baton_local::DEMO_ADMIN_TOKEN.to_owned()),
        ruleset,
        accounts_csv,
        backend,
        listen: SocketAddr::new(args.host, args.port),
        slack_webhook_url: args.slack_webhook_url,
        prefix: args.prefix,
        sweep_every: Duration::from_secs(args.sweep_seconds.max(1)),
        capture_keys: args.capture_keys.unwrap_or_else(|| baton_local::DEMO_KEYS.to_owned()),
        ..Options::default()
    };
    let running = match start(options).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("baton-local: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "\nBaton is running at {url} on {where_}.\n\nSubmit a lead:\n\n  curl -si {url}/leads -H 'content-type: application/json' -H 'x-baton-key: pk_local_demo' \\\n    -d '{{\"email\":\"ada@analytical.example\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"company\":\"Analytical Engines\",\"job_title\":\"Head of Research\",\"phone\":\"+44 20 7946 0958\",\"country\":\"GB\",\"source\":{{\"form_type\":\"demo_request\",\"utm_campaign\":\"launch\"}}}}'\n\nWatch it here: captured → assigned → the Slack message. Ctrl-C stops.\n",
        url = running.url
    );
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    ExitCode::SUCCESS
}
