//! The `everfit` command: the server, the worker and operator commands.
//!
//! Each command reads only the configuration it needs, so a bad value meant
//! for the server (in `.env`, say) does not stop `plugins check` or `jobs
//! depth`; a problem names the variable and says when it came from `.env`.

pub mod import;
pub mod jobs;
pub mod keys;
pub mod plugins;
pub mod prs;
pub mod seed;

use crate::domain::UserId;
use crate::startup::config::{Config, ConfigError, Problem, VARIABLES};
use crate::startup::{Application, run_worker_process, shutdown_signal, telemetry};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::Write;

#[derive(Parser)]
#[command(
    name = "everfit",
    version,
    about = "Workout logging and personal-record insights for fitness coaches",
    after_help = "Configuration comes from the environment and ./.env; `everfit serve --help` lists it."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default).
    #[command(after_long_help = environment_help(), after_help = environment_help())]
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
    #[command(after_help = environment_help())]
    Worker,
    /// Inspect and replay jobs that failed for good (the dead-letter list).
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// Maintain the personal-record read model.
    Prs {
        #[command(subcommand)]
        command: prs::PrsCommand,
    },
    /// Check or try out a WebAssembly insight plugin.
    Plugins {
        #[command(subcommand)]
        command: plugins::PluginsCommand,
    },
    /// Send a CSV export (Strong, Hevy, everfit) to a running server's
    /// POST /imports, in parts under its 1 MiB body limit.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The client to import for (24 hex characters).
        #[arg(long)]
        user: String,
        /// strong, hevy or everfit.
        #[arg(long)]
        format: String,
        /// The weight unit of a Strong file (kg or lb).
        #[arg(long)]
        unit: Option<String>,
        /// The server's address.
        #[arg(long, env = "EVERFIT_URL", default_value = "http://127.0.0.1:3000")]
        url: String,
        /// An API key with workouts.create for the client (or the master key).
        #[arg(long, env = "EVERFIT_API_KEY", hide_env_values = true)]
        key: Option<String>,
    },
    /// Manage API keys without HTTP (needs MASTER_KEY, as `/keys` does).
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
}

/// The variables `serve` and `worker` read, for `--help`.
fn environment_help() -> String {
    let mut out = String::from("Environment (also read from ./.env):\n");
    for v in VARIABLES {
        out.push_str(&format!(
            "  {:<24} {} [default: {}]\n",
            v.name, v.meaning, v.default
        ));
    }
    out
}

/// Which variables a command reads: a problem with any other is ignored.
fn relevant_to(command: &Command) -> fn(&str) -> bool {
    fn all(_: &str) -> bool {
        true
    }
    fn queue(v: &str) -> bool {
        matches!(
            v,
            "QUEUE" | "REDIS_URL" | "REDIS_KEY_PREFIX" | "SQLITE_PATH" | "LOG_FORMAT"
        ) || v.starts_with("QUEUE_")
    }
    fn store(v: &str) -> bool {
        matches!(
            v,
            "SQLITE_PATH" | "MONGODB_URI" | "PLUGIN_CACHE_DIR" | "LOG_FORMAT"
        )
    }
    fn plugins(v: &str) -> bool {
        matches!(v, "SQLITE_PATH" | "PLUGIN_CACHE_DIR" | "MONGODB_URI")
    }
    // The worker serves no HTTP: it needs (and should hold) no master key.
    fn worker(v: &str) -> bool {
        !matches!(
            v,
            "MASTER_KEY"
                | "CORS_ORIGINS"
                | "RATE_LIMIT_PER_SECOND"
                | "RATE_LIMIT_BURST"
                | "HEADER_READ_TIMEOUT_SECS"
                | "MAX_CONNECTIONS"
        )
    }
    fn keys(v: &str) -> bool {
        matches!(
            v,
            "SQLITE_PATH" | "MONGODB_URI" | "LOG_FORMAT" | "MASTER_KEY" | "EVERFIT_ENV"
        )
    }
    // Import talks to a server over HTTP: no server variable concerns it.
    fn none(_: &str) -> bool {
        false
    }
    match command {
        Command::Import { .. } => none,
        Command::Serve => all,
        Command::Worker => worker,
        Command::Keys { .. } => keys,
        Command::Jobs { .. } => queue,
        Command::Seed { .. } | Command::Prs { .. } => store,
        Command::Plugins { .. } => plugins,
    }
}

/// Runs the command line; returns the process exit code (2 for a
/// configuration problem, 1 for any other failure).
pub fn main() -> i32 {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let config = match load_config(relevant_to(&command)) {
        Ok(c) => c,
        Err(message) => {
            eprint!("{message}");
            return 2;
        }
    };
    if matches!(command, Command::Keys { .. }) && config.master_key.is_none() {
        eprintln!(
            "invalid configuration:\n  - everfit keys needs MASTER_KEY (keys derive from it; the server must use the same one)"
        );
        return 2;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(config, command)) {
        Ok(()) => 0,
        // `everfit plugins check F | head -1`: the reader left; not an error.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            // Operators read this: one line with its causes, no backtrace.
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Reads the environment and `./.env` (the environment wins), keeping only
/// the problems `relevant` cares about; the message marks values from `.env`.
fn load_config(relevant: fn(&str) -> bool) -> Result<Config, String> {
    let mut from_file: HashMap<String, String> = HashMap::new();
    let mut warning = None;
    match dotenvy::from_filename_iter(".env") {
        Ok(iter) => {
            for item in iter {
                match item {
                    Ok((k, v)) => {
                        from_file.insert(k, v);
                    }
                    Err(e) => {
                        warning = Some(format!("warning: ignoring the rest of .env: {e}\n"));
                        break;
                    }
                }
            }
        }
        Err(e) if e.not_found() => {}
        Err(e) => warning = Some(format!("warning: ignoring .env: {e}\n")),
    }
    if let Some(w) = &warning {
        eprint!("{w}");
    }
    let lookup = |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| from_file.get(name).cloned())
    };
    let (config, problems) = Config::from_lookup_lenient(lookup);
    let problems: Vec<Problem> = problems
        .into_iter()
        .filter(|p| relevant(p.variable))
        .map(|mut p| {
            if std::env::var_os(p.variable).is_none() && from_file.contains_key(p.variable) {
                p.message.push_str(" (set in .env)");
            }
            p
        })
        .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError(problems).to_string())
    }
}

async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    // Commands that print JSON on stdout keep the logs to warnings.
    let log_filter = match command {
        Command::Plugins { .. } | Command::Keys { .. } | Command::Import { .. } => "warn",
        _ => "info,sqlx=warn",
    };
    // Held to the end: dropping it sends the spans still buffered.
    let _telemetry = telemetry::init(config.log_format, log_filter, config.trace_export.as_ref())?;
    match command {
        Command::Serve => {
            if config.master_key.is_none() {
                tracing::warn!(
                    "MASTER_KEY is not set: every request is allowed (development mode); set MASTER_KEY to require API keys"
                );
            }
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Worker => run_worker_process(config, shutdown_signal()).await,
        Command::Jobs { command } => jobs::run(&config, command).await,
        Command::Import {
            file,
            user,
            format,
            unit,
            url,
            key,
        } => {
            import::run(import::ImportArgs {
                file: &file,
                user: &user,
                format: &format,
                unit: unit.as_deref(),
                url: &url,
                key: key.as_deref(),
            })
            .await
        }
        Command::Prs { command } => prs::run(&config, command).await,
        Command::Plugins { command } => plugins::run(&config, command).await,
        Command::Keys { command } => {
            let master = config.master_key.clone().expect("checked in main");
            keys::run(&config, &master, command).await
        }
        Command::Seed {
            user,
            count,
            batch_size,
            seed: rng_seed,
            days,
        } => seed::run(&config, &user, count, batch_size, rng_seed, days).await,
    }
}

/// Writes one line to stdout; a closed pipe is an error the caller passes
/// up (and `main` treats as a normal end), never a panic.
pub fn say(line: impl std::fmt::Display) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
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

pub fn parse_user(raw: &str) -> anyhow::Result<UserId> {
    raw.parse()
        .map_err(|_| anyhow::anyhow!("--user {raw:?} must be a 24-character hex ObjectId"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_ignore_problems_with_variables_they_do_not_read() {
        let jobs = relevant_to(&Command::Jobs {
            command: jobs::JobsCommand::Depth,
        });
        assert!(jobs("QUEUE") && jobs("REDIS_URL") && jobs("QUEUE_MAX_DELIVERIES"));
        assert!(!jobs("PORT") && !jobs("HOST") && !jobs("CURSOR_SECRET"));
        let check = relevant_to(&Command::Plugins {
            command: plugins::PluginsCommand::Check {
                file: "x.wasm".into(),
            },
        });
        assert!(!check("PORT") && !check("QUEUE") && check("PLUGIN_CACHE_DIR"));
        assert!(relevant_to(&Command::Serve)("PORT"));
        assert!(relevant_to(&Command::Serve)("MASTER_KEY"));
        let worker = relevant_to(&Command::Worker);
        assert!(worker("QUEUE") && worker("EVERFIT_ENV") && !worker("MASTER_KEY"));
        let keys = relevant_to(&Command::Keys {
            command: keys::KeysCommand::List,
        });
        assert!(keys("MASTER_KEY") && keys("MONGODB_URI") && !keys("PORT") && !keys("QUEUE"));
    }

    #[test]
    fn serve_help_lists_every_variable() {
        let help = environment_help();
        for v in VARIABLES {
            assert!(help.contains(v.name), "{}", v.name);
        }
    }

    #[test]
    fn broken_pipes_are_recognised_through_context() {
        let e = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("printing");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
