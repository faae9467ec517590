//! `baton-local`: runs Baton on this machine. See the crate docs (`lib.rs`) for how it is wired.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use baton_local::{Backend, Options, start};
use clap::Parser;

/// Run Baton locally: capture, route, notify and the SLA sweep, wired as in AWS.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Rules, simulations, account imports and dead-letter redrives are `baton` commands (infra/cli)."
)]
struct Cli {
    #[command(flatten)]
    run: Args,
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
    #[arg(long, env = "SLACK_WEBHOOK_URL", hide_env_values = true, conflicts_with = "slack_api_url")]
    slack_webhook_url: Option<String>,
    /// Slack Web API base URL for chat.postMessage (such as https://slack.com/api), with --slack-bot-token.
    #[arg(long, env = "SLACK_API_URL", requires = "slack_bot_token")]
    slack_api_url: Option<String>,
    /// The Slack app's bot token (xoxb-…), for --slack-api-url.
    #[arg(long, env = "SLACK_BOT_TOKEN", hide_env_values = true)]
    slack_bot_token: Option<String>,
    /// The Slack app's signing secret, which button presses at /slack/actions must be signed with
    /// (default: the local stand-in's).
    #[arg(long, env = "SLACK_SIGNING_SECRET", hide_env_values = true)]
    slack_signing_secret: Option<String>,
    /// Webhook subscribers as JSON: [{"id":"crm","url":"https://…","secret":"whsec_…","events":["lead.assigned"]}]
    /// (default: a built-in subscriber at /_local/webhook that checks signatures and prints events).
    #[arg(long, env = "WEBHOOK_SUBSCRIBERS", hide_env_values = true)]
    webhooks: Option<String>,
    /// Prefix for the table, queue and topic names.
    #[arg(long, env = "BATON_PREFIX", default_value = "baton")]
    prefix: String,
    /// Capture keys as JSON (default: the demo keys `pk_local_demo` and `local-integration`).
    #[arg(long, env = "CAPTURE_KEYS", hide_env_values = true)]
    capture_keys: Option<String>,
    /// The handoff links' signing secret, 32+ characters; several, comma-separated, rotate
    /// (default: a fresh random one each start).
    #[arg(long, env = "HANDOFF_SECRET", hide_env_values = true)]
    handoff_secret: Option<String>,
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
        slack_api_url: args.slack_api_url,
        slack_bot_token: args.slack_bot_token,
        slack_signing_secret: args
            .slack_signing_secret
            .unwrap_or_else(|| baton_local::DEMO_SLACK_SIGNING_SECRET.to_owned()),
        webhook_subscribers: args.webhooks,
        prefix: args.prefix,
        sweep_every: Duration::from_secs(args.sweep_seconds.max(1)),
        capture_keys: args.capture_keys.unwrap_or_else(|| baton_local::DEMO_KEYS.to_owned()),
        handoff_secret: args.handoff_secret,
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
        "\nBaton is running at {url} on {where_}.\n\nSubmit a lead:\n\n  curl -si {url}/leads -H 'content-type: application/json' -H 'x-baton-key: pk_local_demo' \\\n    -d '{{\"email\":\"ada@analytical.example\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\",\"company\":\"Analytical Engines\",\"job_title\":\"Head of Research\",\"phone\":\"+44 20 7946 0958\",\"country\":\"GB\",\"source\":{{\"form_type\":\"demo_request\",\"utm_campaign\":\"launch\"}}}}'\n\nWatch it here: captured → assigned → the Slack message and a signed webhook.\nPress a button as the rep would (marks the first touch, stops the SLA clock):\n\n  curl -s -X POST '{url}/_local/slack/press?lead=<lead_id>&action=called'\n\nThe task: curl -s {url}/admin/leads/<lead_id>/task -H 'authorization: Bearer local-admin-token'\nThe dashboard: {url}/admin/dashboard (sign in with the admin token)\nA form with the snippet, and the routed rep on the thank-you panel: {url}/sample\nCtrl-C stops.\n",
        url = running.url
    );
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    ExitCode::SUCCESS
}
