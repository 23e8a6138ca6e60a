//! GET /workouts/exercises: the exercises a client logged, with their entry
//! counts and first and last dates, from the read model (O(exercises)).

use super::auth::Authorized;
use super::context::AppContext;
use super::dto::{ExerciseView, ExercisesResponse};
use super::envelope::ErrorEnvelope;
use super::error::ApiError;
use super::extract::Query;
use super::params::parse_user_id;
use crate::domain::access::needs;
use crate::domain::dates::format_instant;
use crate::prs::overview;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ExercisesParams {
    /// Whose exercises (24 hex characters).
    #[param(required = true, example = "665f1c2b8a1e4d0012345678")]
    pub user_id: Option<String>,
}

/// List a client's exercises.
///
/// Each exercise the client has entries of, under the name as last logged,
/// with its muscle group, number of entries and first and last entry date,
/// by name. Read from the PR read model, which keeps these counts exact
/// under edits and deletes; never a scan of the history.
#[utoipa::path(get, path = "/workouts/exercises", tag = "workouts",
    params(ExercisesParams),
    responses(
        (status = 200, description = "The exercises (empty for a client without entries)", body = ExercisesResponse),
        (status = 400, description = "Invalid parameter", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    ))]
pub async fn list_exercises(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsRead>,
    Query(params): Query<ExercisesParams>,
) -> Result<Json<ExercisesResponse>, ApiError> {
    let user = parse_user_id(params.user_id.as_deref())?;
    auth.check_user(user)?;
    let all = overview::all_time(ctx.store.as_ref(), ctx.calculator.as_ref(), user).await?;
    let instant = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(format_instant)
            .unwrap_or_default()
    };
    let exercises: Vec<ExerciseView> = all
        .iter()
        .map(|e| ExerciseView {
            exercise_name: e.name.clone(),
            muscle_group: ctx.catalogue.group_of(&e.key).map(str::to_string),
            entries: e.stats.entries,
            first_date: instant(e.stats.first_ms),
            last_date: instant(e.stats.last_ms),
        })
        .collect();
    Ok(Json(ExercisesResponse {
        user_id: user.to_hex(),
        count: exercises.len(),
        exercises,
    }))
}
