//! `everfit plugins check FILE` and `everfit plugins run FILE`: what a plugin
//! author runs before dropping a component into PLUGINS_DIR.

use super::bindings::v0_1_0::PR_EXPORT;
use super::engine::PluginEngine;
use super::insight::{InsightPlugin, Params};
use super::pr::WasmPrCalculator;
use super::sandbox::Limits;
use crate::domain::exercise::{name_key, normalize_name};
use crate::domain::{UserId, WorkoutEntry};
use crate::prs::PrCalculator;
use crate::seed::{SeedOptions, generated_entries};
use anyhow::{Context, bail};
use everfit_seeds::{CatalogueData, Generator};
use std::collections::BTreeMap;
use std::path::Path;

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
    result: &super::InsightResult,
) -> serde_json::Value {
    serde_json::json!({
        "plugin": plugin.name(),
        "version": plugin.descriptor().version,
        "interface": plugin.descriptor().interface,
        "params": params.0,
        "result": result,
    })
}
