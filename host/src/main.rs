//! The `everfit` command: the server, the worker and operator commands.

use anyhow::Context;
use clap::{Parser, Subcommand};
use everfit::config::Config;
use everfit::domain::UserId;
use everfit::queue::QueueName;
use everfit::seed::{SeedOptions, seed};
use everfit::startup::{
    Application, build_context, open_job_source, run_worker_process, shutdown_signal,
};
use everfit::{prs, telemetry};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "everfit",
    version,
    about = "Workout logging and personal-record insights for fitness coaches"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default). Configuration comes from the environment.
    Serve,
    /// Insert realistic workout logs for one user (batched, with progress).
    Seed {
        /// The user to seed (24 hex characters).
        #[arg(long)]
        user: String,
        /// How many entries.
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// Entries per write transaction.
        #[arg(long, default_value_t = 2000)]
        batch_size: usize,
        /// RNG seed: the same seed gives the same logs.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Spread the logs over this many days before today.
        #[arg(long, default_value_t = 1460)]
        days: u32,
    },
    /// Run the queue workers alone (no HTTP), so API and workers scale apart.
    Worker,
    /// Inspect and replay jobs that failed for good (the dead-letter list).
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Maintain the personal-record read model.
    Prs {
        #[command(subcommand)]
        command: PrsCommand,
    },
    /// Check or try out a WebAssembly insight plugin.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Validate a plugin: world, interface version, describe(). Exit 1 on failure.
    Check {
        /// The component (.wasm).
        file: std::path::PathBuf,
    },
    /// Run a plugin and print its result as JSON.
    Run {
        /// The component (.wasm).
        file: std::path::PathBuf,
        /// Use this user's stored entries (from the configured store).
        #[arg(long, conflicts_with = "sample")]
        user: Option<String>,
        /// Use a year of generated sample logs (the default).
        #[arg(long)]
        sample: bool,
        /// A plugin parameter, name=value (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
}

#[derive(Subcommand)]
enum PrsCommand {
    /// Recompute the read model and the day bests from the stored entries
    /// (run once after upgrading to build day bests for older entries).
    Rebuild {
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// List failed jobs (JSON, one per line).
    Failed {
        /// `persist` or `prs`; both when omitted.
        #[arg(long)]
        queue: Option<String>,
    },
    /// Put failed jobs back on their queue.
    Retry {
        /// `persist` or `prs`; both when omitted.
        #[arg(long)]
        queue: Option<String>,
        /// Only this job (as listed by `jobs failed`); all when omitted.
        #[arg(long)]
        id: Option<String>,
    },
    /// Jobs waiting or running per queue.
    Depth,
}

fn parse_queues(raw: Option<&str>) -> anyhow::Result<Vec<QueueName>> {
    match raw {
        None => Ok(QueueName::ALL.to_vec()),
        Some(name) => QueueName::parse(name)
            .map(|q| vec![q])
            .ok_or_else(|| anyhow::anyhow!("--queue {name:?} must be persist or prs")),
    }
}

async fn jobs_command(config: &Config, command: JobsCommand) -> anyhow::Result<()> {
    let Some(source) = open_job_source(config).await? else {
        anyhow::bail!("QUEUE=inline has no queue: set QUEUE=sqlite or QUEUE=redis (or REDIS_URL)");
    };
    let jobs = source.job_backend();
    match command {
        JobsCommand::Failed { queue } => {
            let mut total = 0;
            for q in parse_queues(queue.as_deref())? {
                for job in jobs.failed(q).await? {
                    println!("{}", serde_json::to_string(&job)?);
                    total += 1;
                }
            }
            eprintln!("{total} failed job(s) on the {} queue", jobs.kind());
        }
        JobsCommand::Retry { queue, id } => {
            let mut total = 0;
            for q in parse_queues(queue.as_deref())? {
                total += jobs.retry_failed(q, id.as_deref()).await?;
            }
            println!("{total} job(s) put back on the {} queue", jobs.kind());
            if id.is_some() && total == 0 {
                anyhow::bail!("no failed job with that id");
            }
        }
        JobsCommand::Depth => {
            for q in QueueName::ALL {
                println!("{}: {}", q.as_str(), jobs.depth(q).await?);
            }
        }
    }
    Ok(())
}

fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:40}}] {{pos}}/{{len}} ({{per_sec}}, eta {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

fn parse_user(raw: &str) -> anyhow::Result<UserId> {
    raw.parse()
        .map_err(|_| anyhow::anyhow!("--user {raw:?} must be a 24-character hex ObjectId"))
}

#[tokio::main]
async fn main() {
    // Operators read these: one line with its causes, no backtrace.
    if let Err(e) = run().await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A missing .env is normal; a broken one is worth saying.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("warning: ignoring .env: {e}");
    }
    let config = match Config::from_lookup(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Plugin commands print JSON on stdout: keep the logs to warnings.
    let log_filter = if matches!(cli.command, Some(Command::Plugins { .. })) {
        "warn"
    } else {
        "info,sqlx=warn"
    };
    telemetry::init(config.log_format, log_filter);

    match cli.command.unwrap_or(Command::Serve) {
        Command::Plugins { command } => plugins_command(&config, command).await,
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Worker => run_worker_process(config, shutdown_signal()).await,
        Command::Jobs { command } => jobs_command(&config, command).await,
        Command::Seed {
            user,
            count,
            batch_size,
            seed: rng_seed,
            days,
        } => {
            let user = parse_user(&user)?;
            anyhow::ensure!(batch_size > 0, "--batch-size must be at least 1");
            let ctx = build_context(&config).await?;
            let opts = SeedOptions {
                user,
                count,
                batch_size,
                rng_seed,
                span_days: days.max(1),
                until: chrono::Utc::now(),
            };
            let bar = progress_bar(count, "seeding");
            let started = Instant::now();
            let n = seed(&ctx, &opts, |done| bar.set_position(done))
                .await
                .context("seeding")?;
            bar.finish();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "seeded {n} entries for {user} in {secs:.2} s ({:.0} entries/s)",
                n as f64 / secs.max(1e-9)
            );
            Ok(())
        }
        Command::Prs {
            command: PrsCommand::Rebuild { user },
        } => {
            let user = user.as_deref().map(parse_user).transpose()?;
            let ctx = build_context(&config).await?;
            let bar = progress_bar(0, "rebuilding");
            let started = Instant::now();
            let rows = prs::read_model::rebuild(
                ctx.store.as_ref(),
                ctx.calculator.as_ref(),
                user,
                |done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                },
            )
            .await?;
            bar.finish();
            println!(
                "rebuilt the read model and day bests of {rows} (user, exercise) keys in {:.2} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// `everfit plugins check|run` (issue 4).
async fn plugins_command(config: &Config, command: PluginsCommand) -> anyhow::Result<()> {
    use everfit::plugins::cli;
    let engine = everfit::plugins::PluginEngine::new(Some(config.plugin_cache_dir.clone()))?;
    match command {
        PluginsCommand::Check { file } => match cli::check(&engine, &file)? {
            cli::Checked::Insight(plugin) => {
                let d = plugin.descriptor();
                println!(
                    "ok: insight plugin {} {} ({}), {}",
                    d.name, d.version, d.interface, d.title
                );
                for p in &d.params {
                    println!(
                        "  param {}{}: {:?}{} - {}",
                        p.name,
                        if p.required { " (required)" } else { "" },
                        p.kind,
                        p.default
                            .as_deref()
                            .map(|v| format!(", default {v}"))
                            .unwrap_or_default(),
                        p.description
                    );
                }
                Ok(())
            }
            cli::Checked::Pr(describe) => {
                println!("ok: PR component, {describe}");
                Ok(())
            }
        },
        PluginsCommand::Run {
            file,
            user,
            sample: _,
            params,
        } => {
            let cli::Checked::Insight(plugin) = cli::check(&engine, &file)? else {
                anyhow::bail!(
                    "{} is a PR component, not an insight plugin",
                    file.display()
                );
            };
            let params = cli::validate(&plugin, &cli::parse_params(&params)?)?;
            let exercise = cli::exercise_key(&plugin, &params);
            let entries = match user {
                Some(raw) => {
                    let user = parse_user(&raw)?;
                    let ctx = build_context(config).await?;
                    everfit::plugins::entries::user_entries(ctx.store.as_ref(), user, exercise)
                        .await?
                }
                None => cli::sample_entries(exercise.as_deref()),
            };
            let result = tokio::task::spawn_blocking({
                let params = params.clone();
                move || plugin.compute(&entries, &params).map(|r| (plugin, r))
            })
            .await?;
            let (plugin, result) = result.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&cli::output(&plugin, &params, &result))?
            );
            Ok(())
        }
    }
}
