//! GET /workouts/history: keyset-paginated, newest first.

use super::auth::Authorized;
use super::context::AppContext;
use super::dto::{HistoryResponse, WorkoutView};
use super::envelope::ErrorEnvelope;
use super::error::{ApiError, Code};
use super::extract::Query;
use super::params::{ParamErrors, parse_date_range, parse_unit, parse_user_id};
use crate::domain::FieldError;
use crate::domain::access::needs;
use crate::domain::cursor::{self, CursorPosition};
use crate::domain::dates::TimeRange;
use crate::domain::exercise::{name_key, normalize_name};
use crate::store::HistoryQuery;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Whose history (24 hex characters).
    #[param(required = true, example = "665f1c2b8a1e4d0012345678")]
    pub user_id: Option<String>,
    /// Case-insensitive prefix of the exercise name, matched literally.
    #[param(example = "bench")]
    pub exercise: Option<String>,
    /// One of the catalogue's muscle groups (chest, back, legs, shoulders, arms, core).
    #[param(example = "chest")]
    pub muscle_group: Option<String>,
    /// Inclusive start: `YYYY-MM-DD` or an RFC 3339 datetime with an offset.
    #[param(example = "2026-01-01")]
    pub from: Option<String>,
    /// Inclusive end; a date-only `to` covers that whole UTC day.
    #[param(example = "2026-06-30")]
    pub to: Option<String>,
    /// Display unit for `weight` (`weightKg` stays kg).
    #[param(value_type = Option<super::dto::UnitCode>)]
    pub unit: Option<String>,
    /// Page size, 1-100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page, with the same userId and filters.
    pub cursor: Option<String>,
}

/// Read a client's workout history.
///
/// Newest first by date, then id. Pagination is keyset: `nextCursor` never
/// skips or repeats an entry, even when entries are added between pages.
#[utoipa::path(get, path = "/workouts/history", tag = "workouts",
    params(HistoryParams),
    responses(
        (status = 200, description = "A page of entries (empty with a message when nothing matches)", body = HistoryResponse),
        (status = 400, description = "Invalid parameter, or a malformed, tampered or foreign cursor", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    ))]
pub async fn history(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsRead>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<HistoryResponse>, ApiError> {
    let mut errors = ParamErrors::default();
    let user = errors.take(parse_user_id(params.user_id.as_deref()));
    let range = errors.take(parse_date_range(
        params.from.as_deref(),
        params.to.as_deref(),
    ));
    let unit = errors.take(parse_unit(params.unit.as_deref())).flatten();
    let limit = errors
        .take(parse_limit(params.limit.as_deref()))
        .unwrap_or(DEFAULT_LIMIT);
    let exercise_prefix = params
        .exercise
        .as_deref()
        .map(|e| name_key(&normalize_name(e)))
        .filter(|p| !p.is_empty());
    // Read as sent: an empty or padded group is a bad value, not no filter.
    let muscle_group = params.muscle_group.as_deref();
    if let Some(group) = muscle_group
        && !ctx.catalogue.is_group(group)
    {
        errors.0.push(FieldError::new(
            "muscleGroup",
            format!("must be one of: {}", ctx.catalogue.groups().join(", ")),
        ));
    }
    errors.finish()?;
    let (user, (from, to)) = (user.expect("checked"), range.expect("checked"));
    auth.check_user(user)?;
    let range = TimeRange::from_inputs(from, to);

    // The cursor is bound to everything that selects rows (not to limit or unit).
    let scope = format!(
        "v1|{user}|{}|{}|{:?}|{:?}",
        exercise_prefix.as_deref().unwrap_or(""),
        muscle_group.unwrap_or(""),
        range.start.map(|t| t.timestamp_millis()),
        range.end.map(|t| t.timestamp_millis()),
    );
    let after = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => Some(cursor::decode(&ctx.cursor_key, &scope, token).map_err(|e| {
            ApiError::BadRequest {
                code: Code::InvalidCursor,
                message: "Invalid cursor".into(),
                details: vec![FieldError::new("cursor", e.to_string())],
            }
        })?),
    };

    let query = HistoryQuery {
        user_id: user,
        exercise_prefix,
        exercise_in: muscle_group.map(|g| ctx.catalogue.exercises_in(g)),
        range,
        after,
        // One extra row tells whether another page exists.
        limit: limit + 1,
    };
    let mut entries = ctx.store.history(&query).await?;
    let has_more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next_cursor = match entries.last() {
        Some(last) if has_more => Some(cursor::encode(
            &ctx.cursor_key,
            &scope,
            CursorPosition {
                date: last.date,
                id: last.id,
            },
        )),
        _ => None,
    };
    let items: Vec<WorkoutView> = entries
        .iter()
        .map(|e| WorkoutView::new(e, &ctx.catalogue, unit))
        .collect();
    let message = items
        .is_empty()
        .then(|| "No workouts found for this user and these filters".to_string());
    Ok(Json(HistoryResponse {
        count: items.len(),
        items,
        next_cursor,
        message,
    }))
}

fn parse_limit(raw: Option<&str>) -> Result<u32, ApiError> {
    // Read as sent, like every query value: `limit=` or ` 5` is a bad
    // value, not the default.
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::field(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::parse_limit;

    #[test]
    fn limit_bounds() {
        assert_eq!(parse_limit(None).unwrap(), 20);
        assert_eq!(parse_limit(Some("1")).unwrap(), 1);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", "2.5", "", " 5"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }
}
