//! `snelsync`: the snelstart-sync service and the operator's command line.
//!
//! ```text
//! snelsync init [--dir DIR]                      write snelsync.toml and mapping.toml
//! snelsync check                                 credentials, chart of accounts, VAT, mapping, API drift
//! snelsync plan --from export.json               what a sync would do (nothing is written)
//! snelsync sync --from export.json               queue a CRM export and run until idle
//! snelsync status                                queue, failures, reviews, budget, last read-back
//! snelsync replay [--kind K] [--id ID]           send failures back to the queue
//! snelsync review list | resolve ID (--link UUID | --create-new)
//! snelsync reconcile --from export.json          compare the CRM with SnelStart
//! snelsync backup export [--out FILE] | import FILE
//! snelsync digest [--out FILE]                   the weekly status digest (Markdown)
//! snelsync match-report CRM.json [SNELSTART.json] which CRM relations SnelStart already has
//! snelsync serve                                 HTTP service + processing (SIGTERM: graceful stop)
//! ```
//!
//! Every command reads `--config` (default `snelsync.toml`), takes `--admin KEY` to pick one
//! administration and `--json` for output scripts read.
//!
//! ## Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done, nothing needs attention |
//! | 1 | could not do it: configuration, store, SnelStart unreachable or refusing the credentials |
//! | 2 | usage error (unknown command or option) |
//! | 3 | done, but something needs a person: `check` found problems (not safe to sync), records failed or wait for review after `sync`/`status`/`digest`, `reconcile` found differences |
//!
//! `match-report` exits 0 whenever it wrote a report: its `review` and `invalid` lines are the
//! report's content, not a failure.

mod commands;
mod config;
mod match_report;
mod onboarding;
mod schedule;
mod serve;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration is missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The work could not be done.
    #[error("{0}")]
    Failed(String),
}

impl From<sync_core::EngineError> for CliError {
    fn from(e: sync_core::EngineError) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// What a successful command found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing needs attention.
    Clean,
    /// Something needs a person (exit code 3).
    Attention,
}

#[derive(Debug, Parser)]
#[command(
    name = "snelsync",
    version,
    about = "Sync a CRM to SnelStart: service and operator commands"
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "snelsync.toml",
        env = "SNELSYNC_CONFIG"
    )]
    config: PathBuf,
    /// The store instead of the configuration's: a SQLite file or a PostgreSQL URL
    /// (`postgres://user@host/db?schema=NAME`).
    #[arg(long, global = true, env = "SNELSYNC_STORE", value_parser = store::StoreTarget::parse)]
    store: Option<store::StoreTarget>,
    /// Only this administration.
    #[arg(long, global = true)]
    admin: Option<String>,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented snelsync.toml and a mapping.toml; with SNELSTART_SUBSCRIPTION_KEY and
    /// SNELSTART_KOPPELSLEUTEL set, the ledgers are proposed from the administration's chart
    /// of accounts and VAT rates.
    Init {
        /// Where to write them.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The administration key to put in the template.
        #[arg(long = "admin-key", default_value = "mijn-administratie")]
        admin_key: String,
        /// SnelStart's API base (default: SnelStart's own).
        #[arg(long)]
        base_url: Option<String>,
        /// SnelStart's token endpoint (default: SnelStart's own).
        #[arg(long)]
        auth_url: Option<String>,
        /// The rate budget: test_key, production or unlimited.
        #[arg(long, default_value = "test_key")]
        budget: String,
        /// The ledger numbers of the snelstart-mock simulator's chart of accounts instead of
        /// SnelStart's standard chart (nothing is read, even with credentials).
        #[arg(long)]
        mock_chart: bool,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Check credentials, chart of accounts, VAT kinds and mapping (exit 3: not safe to sync).
    Check,
    /// Show what a sync of an export would do, without writing anything.
    Plan {
        /// The CRM export (JSON).
        #[arg(long)]
        from: PathBuf,
    },
    /// Queue a CRM export and process it until nothing is due.
    Sync {
        /// The CRM export (JSON).
        #[arg(long)]
        from: PathBuf,
        /// Give up waiting for retries after this many seconds.
        #[arg(long, default_value_t = 600)]
        max_wait: u64,
    },
    /// The status of each administration.
    Status,
    /// Send failed records back to the queue.
    Replay {
        /// Only this kind (relation, cost_centre, sales_invoice, purchase_invoice).
        #[arg(long)]
        kind: Option<String>,
        /// Only this CRM record.
        #[arg(long)]
        id: Option<String>,
    },
    /// The review queue.
    Review {
        #[command(subcommand)]
        action: ReviewCommand,
    },
    /// Compare the CRM export with SnelStart.
    Reconcile {
        /// The CRM export (JSON).
        #[arg(long)]
        from: PathBuf,
    },
    /// Export or import the engine's state (links, cursors, mapping versions).
    Backup {
        #[command(subcommand)]
        action: BackupCommand,
    },
    /// The weekly status digest as Markdown (to --out or standard output).
    Digest {
        /// The file to write.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Before a first sync: which CRM relations does SnelStart already have? One JSON line per
    /// record (match, review, new, invalid); a summary to standard error (exit 0 whenever a
    /// report was written).
    MatchReport {
        /// The CRM relations: a JSON array in the CRM format, or a whole CRM export.
        crm: PathBuf,
        /// SnelStart's relations as `GET /relaties` returns them (a JSON array); without it
        /// they are read through the configured administration's client.
        snelstart: Option<PathBuf>,
        /// Write the lines to this file (the summary then goes to standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the HTTP service and the processing loop until SIGTERM or Ctrl-C.
    Serve,
}

#[derive(Debug, Subcommand)]
enum ReviewCommand {
    /// List the relations waiting for a decision, with their candidates.
    List,
    /// Decide one.
    Resolve {
        /// The CRM record id.
        crm_id: String,
        /// Link it to this SnelStart relation.
        #[arg(
            long,
            conflicts_with = "create_new",
            required_unless_present = "create_new"
        )]
        link: Option<uuid::Uuid>,
        /// Create a new SnelStart relation for it.
        #[arg(long)]
        create_new: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BackupCommand {
    /// Write the state as JSON (to --out or standard output).
    Export {
        /// The file to write.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Read a state written by `backup export`.
    Import {
        /// The file to read.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,snelsync=info,snelsync_http=info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("snelsync: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Attention) => ExitCode::from(3),
        Err(e) => {
            eprintln!("snelsync: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<Outcome, CliError> {
    let ctx = commands::Context {
        config: cli.config,
        store: cli.store,
        admin: cli.admin,
        json: cli.json,
    };
    match cli.command {
        Command::Init {
            dir,
            admin_key,
            base_url,
            auth_url,
            budget,
            mock_chart,
            force,
        } => {
            commands::init(
                &ctx,
                &commands::InitOptions {
                    dir,
                    admin_key,
                    base_url,
                    auth_url,
                    budget,
                    mock_chart,
                    force,
                },
            )
            .await
        }
        Command::Check => commands::check(&ctx).await,
        Command::Plan { from } => commands::plan(&ctx, &from).await,
        Command::Sync { from, max_wait } => commands::sync(&ctx, &from, max_wait).await,
        Command::Status => commands::status(&ctx).await,
        Command::Replay { kind, id } => {
            commands::replay(&ctx, kind.as_deref(), id.as_deref()).await
        }
        Command::Review { action } => match action {
            ReviewCommand::List => commands::review_list(&ctx).await,
            ReviewCommand::Resolve {
                crm_id,
                link,
                create_new,
            } => commands::review_resolve(&ctx, &crm_id, link, create_new).await,
        },
        Command::Reconcile { from } => commands::reconcile(&ctx, &from).await,
        Command::Backup { action } => match action {
            BackupCommand::Export { out } => commands::backup_export(&ctx, out.as_deref()).await,
            BackupCommand::Import { file } => commands::backup_import(&ctx, &file).await,
        },
        Command::Digest { out } => commands::digest(&ctx, out.as_deref()).await,
        Command::MatchReport {
            crm,
            snelstart,
            out,
        } => match_report::run(&ctx, &crm, snelstart.as_deref(), out.as_deref()).await,
        Command::Serve => serve::serve(&ctx).await,
    }
}
