//! `everfit plugins check FILE` and `everfit plugins run FILE`: what a plugin
//! author runs before dropping a component into PLUGINS_DIR.

use super::{parse_user, say};
use crate::domain::columns::EntryColumns;
use crate::domain::exercise::{name_key, normalize_name};
use crate::domain::generated::{SeedOptions, generated_entries};
use crate::domain::records::PrCalculator;
use crate::domain::{UserId, WorkoutEntry};
use crate::plugins::imports::imports;
use crate::plugins::insight::{CallInput, InsightPlugin, InsightResult, Params};
use crate::plugins::versions::since_v0_1_0::PR_EXPORT;
use crate::plugins::{Limits, PluginEngine, WasmPrCalculator};
use crate::startup::config::Config;
use anyhow::{Context, bail};
use clap::Subcommand;
use everfit_seeds::{CatalogueData, Generator};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand)]
pub enum PluginsCommand {
    /// Validate a plugin: world, interface version, describe(). Exit 1 on failure.
    Check {
        /// The component (.wasm).
        file: PathBuf,
    },
    /// Run a plugin and print its result as JSON.
    Run {
        /// The component (.wasm).
        file: PathBuf,
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

pub async fn run(config: &Config, command: PluginsCommand) -> anyhow::Result<()> {
    let engine = PluginEngine::new(Some(config.plugin_cache_dir.clone()))?;
    match command {
        // Off the runtime: a plugin's WASI calls (its output, say) block on
        // wasmtime-wasi's own use of tokio, which a runtime thread refuses.
        PluginsCommand::Check { file } => {
            tokio::task::spawn_blocking(move || check_command(&engine, &file)).await?
        }
        PluginsCommand::Run {
            file, user, params, ..
        } => run_command(config, &engine, file, user, params).await,
    }
}

/// The user the sample data belongs to.
pub const SAMPLE_USER: &str = "665f1c2b8a1e4d0012345678";

/// What `check` found.
pub enum Checked {
    Insight(Box<InsightPlugin>),
    Pr(String),
}

/// Loads `file` as an insight plugin, or else as a PR component; the error
/// says why it is neither.
pub fn check(engine: &PluginEngine, file: &Path) -> anyhow::Result<Checked> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match InsightPlugin::load(engine, &bytes, &source, Limits::INSIGHT) {
        Ok(plugin) => Ok(Checked::Insight(Box::new(plugin))),
        Err(insight_error) => {
            let exports_pr = engine.load(&bytes).ok().is_some_and(|l| {
                l.component
                    .component_type()
                    .get_export(engine.engine(), PR_EXPORT)
                    .is_some()
            });
            if exports_pr {
                let calc = WasmPrCalculator::new(engine, &bytes)?;
                // A smoke call: the component must answer.
                calc.compute(&[]).map_err(|e| anyhow::anyhow!("{e}"))?;
                return Ok(Checked::Pr(calc.describe()));
            }
            bail!(
                "{} is not a usable plugin: {insight_error:#}",
                file.display()
            )
        }
    }
}

/// Parses `--param k=v` arguments.
pub fn parse_params(raw: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    raw.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .with_context(|| format!("--param {kv:?} must look like name=value"))
        })
        .collect()
}

/// Validates `raw` against the plugin's declaration (every problem listed).
pub fn validate(plugin: &InsightPlugin, raw: &BTreeMap<String, String>) -> anyhow::Result<Params> {
    plugin.validate_params(raw).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("  --param {}: {}", e.field, e.message))
            .collect();
        anyhow::anyhow!("invalid parameters:\n{}", lines.join("\n"))
    })
}

/// Deterministic sample data from the seeds generator: a year of logs.
pub fn sample_entries(exercise_key: Option<&str>) -> Vec<WorkoutEntry> {
    let user: UserId = SAMPLE_USER.parse().expect("valid sample user");
    let until = chrono::DateTime::from_timestamp(1_780_963_200, 0).expect("valid date"); // 2026-06-09
    let opts = SeedOptions {
        user,
        count: 1500,
        batch_size: 1500,
        rng_seed: 42,
        span_days: 365,
        until,
    };
    let mut generator = Generator::new(opts.rng_seed, &CatalogueData::builtin(), opts.span_days);
    let mut entries = generated_entries(&mut generator, &opts, opts.count as usize, until);
    if let Some(key) = exercise_key {
        entries.retain(|e| e.exercise_name_lower == key);
    }
    entries.sort_by_key(|e| (e.date, e.id));
    entries
}

/// The exercise key a plugin's `exercise` parameter selects, if it has one.
pub fn exercise_key(plugin: &InsightPlugin, params: &Params) -> Option<String> {
    plugin
        .exercise_param()
        .and_then(|p| params.get(p))
        .map(|e| name_key(&normalize_name(e)))
}

/// The JSON `run` prints.
pub fn output(
    plugin: &InsightPlugin,
    params: &Params,
    result: &InsightResult,
) -> serde_json::Value {
    serde_json::json!({
        "plugin": plugin.name(),
        "version": plugin.descriptor().version,
        "interface": plugin.descriptor().interface,
        "params": params.0,
        "result": result,
    })
}

/// `everfit plugins check FILE`: the verdict, the parameters and what the
/// sandbox makes of each import.
pub fn check_command(engine: &PluginEngine, file: &Path) -> anyhow::Result<()> {
    let checked = check(engine, file)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let component = engine.load(&bytes)?.component;
    match checked {
        Checked::Insight(plugin) => {
            let d = plugin.descriptor();
            say(format!(
                "ok: insight plugin {} {} ({}), {}",
                d.name, d.version, d.interface, d.title
            ))?;
            for p in &d.params {
                say(format!(
                    "  param {}{}: {}{} - {}",
                    p.name,
                    if p.required { " (required)" } else { "" },
                    p.kind,
                    p.default
                        .as_deref()
                        .map(|v| format!(", default {v}"))
                        .unwrap_or_default(),
                    p.description
                ))?;
            }
        }
        Checked::Pr(describe) => say(format!("ok: PR component, {describe}"))?,
    }
    let imports = imports(engine.engine(), &component);
    if imports.is_empty() {
        say("  imports: none")?;
    } else {
        say("  imports:")?;
        for import in imports {
            say(format!("    {}: {}", import.name, import.provision))?;
        }
    }
    Ok(())
}

/// `everfit plugins run FILE [--user ID] [--param k=v]...`: on a stored
/// user's entries (which needs the configured store) or on sample data.
pub async fn run_command(
    config: &Config,
    engine: &PluginEngine,
    file: PathBuf,
    user: Option<String>,
    raw_params: Vec<String>,
) -> anyhow::Result<()> {
    let checked = tokio::task::spawn_blocking({
        let (engine, file) = (engine.clone(), file.clone());
        move || check(&engine, &file)
    })
    .await??;
    let Checked::Insight(plugin) = checked else {
        bail!(
            "{} is a PR component, not an insight plugin",
            file.display()
        );
    };
    let params = validate(&plugin, &parse_params(&raw_params)?)?;
    let exercise = exercise_key(&plugin, &params);
    let entries = match user {
        Some(raw) => {
            let user = parse_user(&raw)?;
            let store = crate::startup::open_store_read_only(config).await?;
            crate::plugins::entries::entries_for(
                &plugin,
                store.as_ref(),
                user,
                exercise.as_deref(),
                crate::domain::dates::TimeRange::ALL_TIME,
            )
            .await?
        }
        None => EntryColumns::from_entries(&sample_entries(exercise.as_deref())),
    };
    let input = CallInput {
        entries: Arc::new(entries),
        range: crate::domain::dates::TimeRange::ALL_TIME,
        catalogue: Arc::new(crate::domain::Catalogue::builtin()),
    };
    let result = tokio::task::spawn_blocking({
        let params = params.clone();
        move || {
            plugin
                .compute_for(&input, &params, None)
                .map(|r| (plugin, r))
        }
    })
    .await?;
    let (plugin, result) = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    say(serde_json::to_string_pretty(&output(
        &plugin, &params, &result,
    ))?)
}
