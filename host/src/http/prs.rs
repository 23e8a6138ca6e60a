//! GET /workouts/prs: personal records, O(1) from the read model for
//! all-time, O(days in range) from the day bests for ranges (with the
//! previous window and deltas); without `exercise`, the PR board of every
//! exercise (O(exercises) from the read model).

use super::auth::Authorized;
use super::context::AppContext;
use super::dto::{PrAnswer, PrBoardResponse, PrBoardRowView, PrResponse, PrWindowView};
use super::envelope::ErrorEnvelope;
use super::error::ApiError;
use super::extract::Query;
use super::params::{ParamErrors, parse_date_range, parse_unit, parse_user_id};
use crate::domain::UserId;
use crate::domain::access::needs;
use crate::domain::dates::DateInput;
use crate::domain::dates::TimeRange;
use crate::domain::exercise::{name_key, normalize_name};
use crate::domain::{FieldError, Unit};
use crate::prs::overview::{self, BoardOrder, Named};
use crate::prs::reads;
use crate::prs::report::{RangeEcho, deltas};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

pub const PR_SOURCE_HEADER: &str = "x-pr-source";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PrParams {
    #[param(required = true, example = "665f1c2b8a1e4d0012345678")]
    pub user_id: Option<String>,
    /// Exact exercise name: case-insensitive, whitespace-normalized.
    /// Without it: the PR board, one row per exercise.
    #[param(example = "Bench Press")]
    pub exercise: Option<String>,
    /// Inclusive start of the window.
    #[param(example = "2026-06-01")]
    pub from: Option<String>,
    /// Inclusive end of the window (a date covers the whole UTC day).
    #[param(example = "2026-06-30")]
    pub to: Option<String>,
    /// Unit of the presented weights (default kg).
    #[param(value_type = Option<super::dto::UnitCode>)]
    pub unit: Option<String>,
    /// Board order, only without `exercise`: `name` (default, A to Z) or
    /// `lastPr` (the most recent record first).
    #[param(value_type = Option<super::dto::BoardSort>)]
    pub sort: Option<String>,
}

/// Read personal records.
///
/// Without a range: all-time, served O(1) from the read model (`x-pr-source:
/// read-model`), or computed live while the read model has no row yet
/// (`x-pr-source: live`). With `from` and/or `to`: the window, from the day
/// bests (`x-pr-source: day-bests`; `live` for entries stored before day
/// bests existed, until `everfit prs rebuild`); with both, also the previous
/// window of equal length ending just before `from`, and the deltas.
///
/// The answer always includes every entry history shows: days with writes
/// the read model has not absorbed yet are computed live
/// (`x-pr-source: read-model+live` or `day-bests+live`).
///
/// Without `exercise`: the PR board, one row per exercise with records
/// (all-time from the read model, O(exercises); with `from`/`to`, the
/// records set within the window, from the day bests), ordered by `sort`.
#[utoipa::path(get, path = "/workouts/prs", tag = "personal records",
    params(PrParams),
    responses(
        (status = 200, description = "Records of one exercise (null records and a message when no sets match), or the board without `exercise`", body = PrAnswer,
            headers(("x-pr-source" = String, description = "read-model, day-bests, live, read-model+live or day-bests+live"))),
        (status = 400, description = "Invalid parameter", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    ))]
pub async fn personal_records(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::PrsRead>,
    Query(params): Query<PrParams>,
) -> Result<Response, ApiError> {
    let mut errors = ParamErrors::default();
    let user = errors.take(parse_user_id(params.user_id.as_deref()));
    let exercise = params.exercise.as_deref().map(normalize_name);
    if exercise.as_ref().is_some_and(String::is_empty) {
        errors
            .0
            .push(FieldError::new("exercise", "must not be blank"));
    }
    let dates = errors.take(parse_date_range(
        params.from.as_deref(),
        params.to.as_deref(),
    ));
    let unit = errors
        .take(parse_unit(params.unit.as_deref()))
        .flatten()
        .unwrap_or(Unit::KG);
    let order = match (params.sort.as_deref(), &exercise) {
        (None, _) => BoardOrder::default(),
        (Some(_), Some(_)) => {
            errors.0.push(FieldError::new(
                "sort",
                "orders the board: only without `exercise`",
            ));
            BoardOrder::default()
        }
        (Some(raw), None) => BoardOrder::parse(raw).unwrap_or_else(|| {
            errors.0.push(FieldError::new(
                "sort",
                format!("must be one of: {}", BoardOrder::CODES.join(", ")),
            ));
            BoardOrder::default()
        }),
    };
    errors.finish()?;
    let (user, (from, to)) = (user.expect("checked"), dates.expect("checked"));
    auth.check_user(user)?;
    let Some(exercise) = exercise else {
        return board(&ctx, user, (from, to), unit, order).await;
    };
    let key = name_key(&exercise);
    let range = TimeRange::from_inputs(from, to);

    // All-time PRs come from the read model, ranges from the day bests;
    // writes not absorbed yet are computed live, so the answer is exact.
    let (current, source) = if range.is_all_time() {
        reads::all_time(ctx.store.as_ref(), ctx.calculator.as_ref(), user, &key).await?
    } else {
        reads::range(
            ctx.store.as_ref(),
            ctx.calculator.as_ref(),
            user,
            &key,
            range,
        )
        .await?
    };
    // Rep records always come from the host's own everfit-pr (the PR
    // plugin interface has the three kinds above), exact the same way.
    let current_reps = reads::rep_records(ctx.store.as_ref(), user, &key, range).await?;

    let (previous, deltas_view) = match range.previous() {
        Some(prev_range) => {
            let (prev, _) = reads::range(
                ctx.store.as_ref(),
                ctx.calculator.as_ref(),
                user,
                &key,
                prev_range,
            )
            .await?;
            let prev_reps = reads::rep_records(ctx.store.as_ref(), user, &key, prev_range).await?;
            let d = deltas(&current, &prev, unit);
            (
                Some(PrWindowView::new(
                    Some(RangeEcho::of_window(&prev_range)),
                    &prev,
                    &prev_reps,
                    unit,
                )),
                Some(d.into()),
            )
        }
        None => (None, None),
    };
    // The name as logged; for an exercise the client never logged, the
    // closest ones it did (a misspelling answers 200 with nothing in it).
    let (exercise, suggestions) = match overview::name_of(ctx.store.as_ref(), user, &key).await? {
        Named::Logged(logged) => (logged, None),
        Named::Unknown(close) => (exercise, Some(close)),
    };
    let message = (current.is_empty() && current_reps.is_empty()).then(|| {
        format!(
            "No sets of {exercise} found for this user{}",
            if range.is_all_time() {
                ""
            } else {
                " in this range"
            }
        )
    });
    let body = PrAnswer::Exercise(Box::new(PrResponse {
        user_id: user.to_hex(),
        exercise,
        unit,
        bodyweight: ctx.catalogue.is_bodyweight(&key),
        current: PrWindowView::new(
            RangeEcho::of_inputs(from, to),
            &current,
            &current_reps,
            unit,
        ),
        previous,
        deltas: deltas_view,
        message,
        suggestions,
    }));
    metrics::counter!("pr_reads_total", "source" => source.as_str()).increment(1);
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(PR_SOURCE_HEADER, HeaderValue::from_static(source.as_str()));
    Ok(response)
}

/// The PR board (see `personal_records`).
async fn board(
    ctx: &AppContext,
    user: UserId,
    (from, to): (Option<DateInput>, Option<DateInput>),
    unit: Unit,
    order: BoardOrder,
) -> Result<Response, ApiError> {
    let range = TimeRange::from_inputs(from, to);
    let rows = overview::pr_board(
        ctx.store.as_ref(),
        ctx.calculator.as_ref(),
        user,
        range,
        order,
    )
    .await?;
    let exercises: Vec<PrBoardRowView> = rows
        .iter()
        .map(|r| PrBoardRowView::new(r, &ctx.catalogue, unit))
        .collect();
    let body = PrAnswer::Board(PrBoardResponse {
        user_id: user.to_hex(),
        unit,
        sort: match order {
            BoardOrder::Name => "name",
            BoardOrder::LastPr => "lastPr",
        }
        .to_string(),
        range: RangeEcho::of_inputs(from, to).map(Into::into),
        count: exercises.len(),
        exercises,
    });
    Ok(Json(body).into_response())
}
