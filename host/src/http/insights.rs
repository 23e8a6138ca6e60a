//! Insight plugins over HTTP: `GET /insights` lists them, `GET
//! /insights/{plugin}` runs one for a user, `GET /insights/{plugin}/chart.svg`
//! draws its time series.

use super::auth::Authorized;
use super::context::AppContext;
use super::envelope::ErrorEnvelope;
use super::error::{ApiError, Code};
use super::extract::Query;
use super::params::parse_date_range;
use super::params::parse_user_id;
use crate::domain::access::needs;
use crate::domain::dates::TimeRange;
use crate::domain::exercise::{name_key, normalize_name};
use crate::domain::{FieldError, UserId};
use crate::plugins::InsightPlugin;
use crate::plugins::entries::entries_for;
use crate::plugins::insight::CallInput;
use crate::plugins::insight::{Descriptor, InsightResult, Params};
use crate::plugins::registry::LoadProblem;
use crate::prs::overview::{self, Named};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tower_http::request_id::RequestId;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct InsightListResponse {
    /// The plugins in service, by name.
    pub plugins: Vec<Descriptor>,
    /// Files in PLUGINS_DIR that were refused, with the reason.
    pub refused: Vec<LoadProblem>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InsightResponse {
    pub plugin: String,
    pub version: String,
    #[schema(example = "665f1c2b8a1e4d0012345678")]
    pub user_id: String,
    /// The parameters the plugin ran with (defaults filled in).
    pub params: BTreeMap<String, String>,
    pub result: InsightResult,
    /// Only when the plugin takes an exercise the client has no entries
    /// of: up to 3 of its exercise names closest to it, best first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["Bench Press"]))]
    pub suggestions: Option<Vec<String>>,
}

/// List the insight plugins with their descriptions and parameters.
#[utoipa::path(get, path = "/insights", tag = "insights",
    responses((status = 200, description = "Plugins in service", body = InsightListResponse)))]
pub async fn list_insights(
    State(ctx): State<AppContext>,
    _: Authorized<needs::InsightsRead>,
) -> Json<InsightListResponse> {
    let registry = ctx.plugins.registry();
    Json(InsightListResponse {
        plugins: registry.plugins().map(|p| p.descriptor().clone()).collect(),
        refused: registry.problems().to_vec(),
    })
}

/// Run an insight plugin for a user.
///
/// Every query parameter other than `userId` is passed to the plugin and
/// validated against the parameters it declares (`GET /insights`): an
/// unknown, missing or ill-typed one is a 400 naming it. The parameters
/// below are those of the built-in `progress` plugin.
#[utoipa::path(get, path = "/insights/{plugin}", tag = "insights",
    params(
        ("plugin" = String, Path, description = "Plugin name", example = "progress"),
        ("userId" = String, Query, description = "The user", example = "665f1c2b8a1e4d0012345678"),
        ("exercise" = Option<String>, Query, description = "progress: the exercise", example = "Bench Press"),
        ("period" = Option<String>, Query, description = "progress: week (default) or month", example = "week"),
        ("unit" = Option<String>, Query, description = "progress: kg (default) or lb", example = "kg"),
    ),
    responses(
        (status = 200, description = "The plugin's typed result", body = InsightResponse),
        (status = 400, description = "Invalid parameter (details name it)", body = ErrorEnvelope),
        (status = 404, description = "No such plugin", body = ErrorEnvelope),
        (status = 422, description = "The plugin reported a failure (code plugin_failed)", body = ErrorEnvelope),
        (status = 500, description = "The plugin trapped or hit its memory limit (code plugin_trapped, plugin_memory_limit)", body = ErrorEnvelope),
        (status = 504, description = "The plugin ran past its deadline (code plugin_timeout)", body = ErrorEnvelope),
    ))]
pub async fn run_insight(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::InsightsRead>,
    Path(name): Path<String>,
    request_id: Option<Extension<RequestId>>,
    Query(raw): Query<BTreeMap<String, String>>,
) -> Result<Json<InsightResponse>, ApiError> {
    let request_id = request_id_of(request_id);
    let (plugin, user, params, result) = run(&ctx, &auth, &name, raw, request_id).await?;
    let suggestions = match plugin.exercise_param().and_then(|p| params.get(p)) {
        Some(exercise) => {
            let key = name_key(&normalize_name(exercise));
            match overview::name_of(ctx.store.as_ref(), user, &key).await? {
                Named::Logged(_) => None,
                Named::Unknown(close) => Some(close),
            }
        }
        None => None,
    };
    Ok(Json(InsightResponse {
        plugin: plugin.name().to_string(),
        version: plugin.descriptor().version.clone(),
        user_id: user.to_hex(),
        params: params.0,
        result,
        suggestions,
    }))
}

/// Draw an insight's time series as SVG.
///
/// Same parameters as `GET /insights/{plugin}`, plus `series`: a
/// comma-separated list of series names to draw (default: the series that
/// share the first one's unit).
#[utoipa::path(get, path = "/insights/{plugin}/chart.svg", tag = "insights",
    params(
        ("plugin" = String, Path, description = "Plugin name", example = "progress"),
        ("userId" = String, Query, description = "The user", example = "665f1c2b8a1e4d0012345678"),
        ("series" = Option<String>, Query, description = "Series to draw, comma-separated", example = "best-e1rm,top-set-weight"),
        ("exercise" = Option<String>, Query, description = "progress: the exercise", example = "Bench Press"),
        ("period" = Option<String>, Query, description = "progress: week (default) or month"),
    ),
    responses(
        (status = 200, description = "An SVG line chart", content_type = "image/svg+xml", body = String),
        (status = 400, description = "Invalid parameter", body = ErrorEnvelope),
        (status = 404, description = "No such plugin", body = ErrorEnvelope),
        (status = 504, description = "The plugin ran past its deadline", body = ErrorEnvelope),
    ))]
pub async fn insight_chart(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::InsightsRead>,
    Path(name): Path<String>,
    request_id: Option<Extension<RequestId>>,
    Query(mut raw): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let request_id = request_id_of(request_id);
    let wanted: Option<Vec<String>> = raw.remove("series").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    });
    let (plugin, _user, params, result) = run(&ctx, &auth, &name, raw, request_id).await?;
    let series = match wanted {
        Some(names) if !names.is_empty() => {
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| !result.series.iter().any(|s| &s.name == *n))
                .collect();
            if !missing.is_empty() {
                let known: Vec<&str> = result.series.iter().map(|s| s.name.as_str()).collect();
                return Err(ApiError::field(
                    "series",
                    format!(
                        "unknown series {missing:?}; this result has: {}",
                        known.join(", ")
                    ),
                ));
            }
            result
                .series
                .into_iter()
                .filter(|s| names.contains(&s.name))
                .collect()
        }
        _ => {
            let unit = result.series.first().map(|s| s.unit.clone());
            result
                .series
                .into_iter()
                .filter(|s| Some(&s.unit) == unit.as_ref())
                .collect::<Vec<_>>()
        }
    };
    let title = match plugin.exercise_param().and_then(|p| params.get(p)) {
        Some(exercise) => format!(
            "{}: {}",
            plugin.descriptor().title,
            normalize_name(exercise)
        ),
        None => plugin.descriptor().title.clone(),
    };
    let svg = crate::plugins::chart::render(&title, &series);
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Validates the request, reads the user's entries and runs the plugin off the runtime.
async fn run(
    ctx: &AppContext,
    auth: &Authorized<needs::InsightsRead>,
    name: &str,
    mut raw: BTreeMap<String, String>,
    request_id: Option<String>,
) -> Result<(Arc<InsightPlugin>, UserId, Params, InsightResult), ApiError> {
    let plugin = ctx.plugins.registry().get(name).ok_or_else(|| {
        ApiError::not_found(
            Code::PluginNotFound,
            format!("Insight plugin {name:?} not found (GET /insights lists them)"),
        )
    })?;
    let user_raw = raw.remove("userId");
    let mut errors: Vec<FieldError> = Vec::new();
    // From interface 0.2.0 on, `from`/`to` are the host's: the date range.
    let mut range = TimeRange::ALL_TIME;
    if plugin.pages_entries() {
        let (from, to) = (raw.remove("from"), raw.remove("to"));
        match parse_date_range(from.as_deref(), to.as_deref()) {
            Ok((from, to)) => {
                range = TimeRange::from_inputs(from, to).within_workout_dates(chrono::Utc::now())
            }
            Err(ApiError::Validation(d)) => errors.extend(d),
            Err(other) => return Err(other),
        }
    }
    let user = match parse_user_id(user_raw.as_deref()) {
        Ok(u) => Some(u),
        Err(ApiError::Validation(d)) => {
            errors.extend(d);
            None
        }
        Err(other) => return Err(other),
    };
    let params = match plugin.validate_params(&raw) {
        Ok(p) => Some(p),
        Err(d) => {
            errors.extend(d);
            None
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (user, params) = (user.expect("checked"), params.expect("checked"));
    auth.check_user(user)?;
    let exercise_key = plugin
        .exercise_param()
        .and_then(|p| params.get(p))
        .map(|e| name_key(&normalize_name(e)));
    let exercise_key = exercise_key.as_deref();
    let entries = entries_for(&plugin, ctx.store.as_ref(), user, exercise_key, range).await?;
    let input = CallInput {
        entries: Arc::new(entries),
        range,
        catalogue: ctx.catalogue.clone(),
    };
    let runner = plugin.clone();
    let call_params = params.clone();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        runner.compute_for(&input, &call_params, request_id.as_deref())
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("insight task failed: {e}")))?;
    super::metrics::record_plugin_call(plugin.name(), started.elapsed(), result.as_ref().err());
    let result = result.map_err(|error| ApiError::Plugin {
        plugin: plugin.name().to_string(),
        error,
    })?;
    Ok((plugin, user, params, result))
}

/// The request's id (as the response's `x-request-id`), to tag the plugin's log lines.
fn request_id_of(request_id: Option<Extension<RequestId>>) -> Option<String> {
    request_id.and_then(|r| r.0.header_value().to_str().ok().map(str::to_string))
}
