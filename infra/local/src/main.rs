//! `baton-local`: runs Baton on this machine. See the crate docs (`lib.rs`) for how it is wired.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use baton_adapters::RulesetVersion;
use baton_local::admin_client::{AdminClient, AdminToken};
use baton_local::{Backend, Options, start};
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};

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
    /// Send the events in notify's dead-letter queue back to the topic (after fixing the cause;
    /// channels already served are skipped) and empty the queue of them.
    RedriveNotify {
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
enum RulesCommand {
    /// Validate a ruleset file (TOML) and print every problem; touches nothing.
    Check { file: std::path::PathBuf },
    /// Validate and save a ruleset file as the next version (not active until activated).
    Upload {
        file: std::path::PathBuf,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// List the saved versions and which one is active.
    List {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// Make a saved version the one routing uses (rolling back is activating an older one).
    Activate {
        version: u32,
        #[command(flatten)]
        target: TargetArgs,
    },
}

/// Where the rulesets are: the leads table directly (`--table`), or the admin API (`--api`).
///
/// Exactly one of the two is given. The group makes one required; that they exclude each other
/// (and that `--api` has a token) is checked by [`target_problem`], because a value clap takes
/// from the environment (an exported `TABLE_NAME` or `BATON_ADMIN_TOKEN`) must give way to the
/// other flag when that is typed.
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

/// The rules subcommands that take [`TargetArgs`].
const TARGETED: [&str; 3] = ["upload", "list", "activate"];

/// Why the [`TargetArgs`] do not go together, if they do not. Only what was typed conflicts;
/// values from the environment are used only where they fit.
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
    /// Parses `args` (the program name first), or the error clap prints and exits with.
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

/// The rulesets, reached one way or the other.
enum Rulesets {
    Table(baton_adapters::dynamo::DynamoRulesets),
    Api(AdminClient),
}

impl TargetArgs {
    async fn open(&self) -> Result<Rulesets, String> {
        // With --api, a TABLE_NAME or BATON_ENDPOINT_URL from the environment is not used; with
        // --table, neither is BATON_ADMIN_TOKEN.
        match (&self.api, &self.token, &self.table) {
            (Some(api), Some(token), _) => {
                AdminClient::new(api, token.clone()).map(Rulesets::Api).map_err(|e| e.to_string())
            }
            (Some(_), None, _) => Err("--api needs the admin token: pass --token or set BATON_ADMIN_TOKEN".into()),
            (None, _, Some(table)) => {
                Ok(Rulesets::Table(baton_local::ruleset_store(self.endpoint_url.as_deref(), table).await))
            }
            (None, _, None) => Err("give --table <LeadsTableName> or --api <URL>".into()),
        }
    }
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
    match command {
        RulesCommand::Check { file } => {
            read_ruleset(&file).map(|r| format!("{} is valid (ruleset `{}`)", file.display(), r.name))
        }
        RulesCommand::Upload { file, target } => {
            let (name, version) = match target.open().await? {
                Rulesets::Table(store) => {
                    let ruleset = read_ruleset(&file)?;
                    let version = store.save(&ruleset, chrono::Utc::now()).await.map_err(|e| e.to_string())?;
                    (ruleset.name, version)
                }
                // The API validates (it may be a newer or older release than this CLI) and
                // answers every problem; they are printed as `rules check` prints them.
                Rulesets::Api(client) => {
                    let text =
                        std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                    let saved = client.upload(text).await.map_err(|e| match e.field_errors() {
                        [] => e.to_string(),
                        errors => {
                            let lines: Vec<String> =
                                errors.iter().map(|e| format!("  {}: {}", e.field, e.message)).collect();
                            format!(
                                "{} is not a valid ruleset (refused by the admin API):\n{}",
                                file.display(),
                                lines.join("\n")
                            )
                        }
                    })?;
                    (saved.name, saved.version)
                }
            };
            Ok(format!("saved `{name}` as version {version}; activate it with `rules activate {version}`"))
        }
        RulesCommand::List { target } => {
            let versions = match target.open().await? {
                Rulesets::Table(store) => store.list().await.map_err(|e| e.to_string())?,
                Rulesets::Api(client) => client.list().await.map_err(|e| e.to_string())?,
            };
            Ok(list_versions(&versions))
        }
        RulesCommand::Activate { version, target } => {
            let activated = match target.open().await? {
                Rulesets::Table(store) => store.activate(version).await.map_err(|e| e.to_string())?,
                Rulesets::Api(client) => client.activate(version).await.map_err(|e| e.to_string())?,
            };
            if activated {
                Ok(format!("version {version} is active; routing picks it up within 30 s"))
            } else {
                Err(format!("there is no version {version}; `rules list` shows the saved ones"))
            }
        }
    }
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

    let cli = Cli::parse_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
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
    if let Some(Command::RedriveNotify { queue_url, topic_arn, endpoint_url }) = &cli.command {
        return match baton_local::redrive_notify(endpoint_url.as_deref(), queue_url, topic_arn).await {
            Ok((republished, left)) => {
                println!("republished {republished} events; {left} messages that are not lead events were left");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("baton-local: redrive stopped: {e} (running it again is safe)");
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

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "cli-test-admin-token";
    const INVALID: &str = "name = \"x\"\nfallback = { id = \"a\", name = \"A\" }\n[scoring]\nhot_at = 10\nwarm_at = 20\ncriteria = []\n[[routing]]\nname = \"r\"\npool = \"nope\"\n";

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::parse_args(std::iter::once("baton-local").chain(args.iter().copied()))
    }

    fn rules_command(args: &[&str]) -> RulesCommand {
        match parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}")).command {
            Some(Command::Rules(command)) => command,
            other => panic!("not a rules command: {other:?}"),
        }
    }

    /// A file in the temporary directory holding `text`, removed when dropped.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(text: &str) -> Self {
            let path = std::env::temp_dir().join(format!("baton-rules-{}.toml", baton_domain::LeadId::generate()));
            std::fs::write(&path, text).unwrap();
            Self(path)
        }

        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn the_table_and_the_api_exclude_each_other_when_both_are_typed() {
        let both = parse(&["rules", "list", "--table", "t", "--api", "http://127.0.0.1:3000", "--token", "x"]);
        assert_eq!(both.unwrap_err().kind(), ErrorKind::ArgumentConflict);
        let endpoint = parse(&["rules", "list", "--api", "http://h", "--token", "x", "--endpoint-url", "http://e"]);
        assert_eq!(endpoint.unwrap_err().kind(), ErrorKind::ArgumentConflict);
        let token = parse(&["rules", "activate", "2", "--table", "t", "--token", "x"]);
        assert_eq!(token.unwrap_err().kind(), ErrorKind::ArgumentConflict);
        if std::env::var_os("TABLE_NAME").is_none() {
            assert_eq!(parse(&["rules", "list"]).unwrap_err().kind(), ErrorKind::MissingRequiredArgument);
        }
        if std::env::var_os("BATON_ADMIN_TOKEN").is_none() {
            let no_token = parse(&["rules", "list", "--api", "http://h"]).unwrap_err();
            assert_eq!(no_token.kind(), ErrorKind::MissingRequiredArgument);
            assert!(no_token.to_string().contains("BATON_ADMIN_TOKEN"), "{no_token}");
        }
    }

    #[test]
    fn the_api_form_parses_and_never_shows_the_token() {
        let cli = parse(&["rules", "upload", "r.toml", "--api", "http://127.0.0.1:3000", "--token", "sekrit-123"]);
        let cli = cli.unwrap();
        assert!(!format!("{cli:?}").contains("sekrit-123"), "{cli:?}");
        let Some(Command::Rules(RulesCommand::Upload { target, .. })) = cli.command else { panic!("{cli:?}") };
        assert_eq!(target.api.as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(target.token, Some(AdminToken::new("sekrit-123")));
        let table = rules_command(&["rules", "list", "--table", "leads", "--endpoint-url", "http://127.0.0.1:5055"]);
        let RulesCommand::List { target } = table else { panic!() };
        assert_eq!((target.table.as_deref(), target.api), (Some("leads"), None));
    }

    #[tokio::test]
    async fn rulesets_are_uploaded_listed_and_activated_through_the_admin_api() {
        let running = start(Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: TOKEN.to_owned(),
            ..Options::default()
        })
        .await
        .unwrap();
        let api = ["--api", running.url.as_str(), "--token", TOKEN];
        let run = |args: Vec<&str>| {
            let command = rules_command(&[&args[..], &api[..]].concat());
            async move { rules(command).await }
        };
        assert_eq!(
            run(vec!["rules", "list"]).await.unwrap(),
            "no versions saved; routing uses the built-in default ruleset (v0)"
        );
        let file = TempFile::new(baton_domain::rules::DEFAULT_TOML);
        assert_eq!(
            run(vec!["rules", "upload", file.path()]).await.unwrap(),
            "saved `default` as version 1; activate it with `rules activate 1`"
        );
        assert_eq!(
            run(vec!["rules", "activate", "1"]).await.unwrap(),
            "version 1 is active; routing picks it up within 30 s"
        );
        let listed = run(vec!["rules", "list"]).await.unwrap();
        assert!(listed.starts_with("* v1  ") && listed.ends_with("  default"), "{listed}");
        assert_eq!(
            run(vec!["rules", "activate", "9"]).await.unwrap_err(),
            "there is no version 9; `rules list` shows the saved ones"
        );

        let invalid = TempFile::new(INVALID);
        let refused = run(vec!["rules", "upload", invalid.path()]).await.unwrap_err();
        let lines: Vec<&str> = refused.lines().collect();
        assert_eq!(lines[0], format!("{} is not a valid ruleset (refused by the admin API):", invalid.path()));
        assert!(lines[1].starts_with("  scoring.warm_at: "), "{refused}");
        assert!(lines[2].starts_with("  routing[0].pool: "), "{refused}");
        assert_eq!(lines.len(), 3, "{refused}");
        assert_eq!(run(vec!["rules", "list"]).await.unwrap().lines().count(), 1, "the invalid ruleset was not saved");

        let wrong = rules_command(&["rules", "list", "--api", running.url.as_str(), "--token", "wrong-token"]);
        let refused = rules(wrong).await.unwrap_err();
        assert!(refused.contains("401 unauthorized") && !refused.contains("wrong-token"), "{refused}");
        running.stop().await;
    }

    /// Needs moto (`BATON_TEST_AWS_ENDPOINT`): more versions than one batch read takes, with a gap.
    #[tokio::test]
    async fn rules_list_on_a_table_reads_every_version_in_order() {
        let endpoint = baton_adapters::contract::test_endpoint();
        let table = baton_adapters::contract::unique_name("rules-list");
        let sdk = baton_adapters::provision::sdk_config(Some(&endpoint)).await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        baton_adapters::provision::ensure_table(&client, &table).await.unwrap();
        let store = baton_local::ruleset_store(Some(&endpoint), &table).await;
        let mut ruleset = baton_domain::Ruleset::default_ruleset();
        let saved_at = chrono::Utc::now();
        for n in 1..=205u32 {
            ruleset.name = format!("rules-{n}");
            assert_eq!(baton_adapters::RulesetStore::save(&store, &ruleset, saved_at).await.unwrap(), n);
        }
        client
            .delete_item()
            .table_name(&table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("ruleset#v101".into()))
            .send()
            .await
            .unwrap();
        let target = ["--table", table.as_str(), "--endpoint-url", endpoint.as_str()];
        let activate = rules_command(&[&["rules", "activate", "150"][..], &target[..]].concat());
        rules(activate).await.unwrap();
        let listed = rules(rules_command(&[&["rules", "list"][..], &target[..]].concat())).await.unwrap();
        let lines: Vec<(bool, String)> =
            listed.lines().map(|l| (l.starts_with("* "), l.rsplit("  ").next().unwrap().to_owned())).collect();
        let expected: Vec<(bool, String)> =
            (1..=205).filter(|n| *n != 101).map(|n| (n == 150, format!("rules-{n}"))).collect();
        assert_eq!(lines, expected);
    }
}
