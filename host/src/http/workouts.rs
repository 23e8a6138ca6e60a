//! POST /workouts and GET /workouts/{id}.

use super::auth::Authorized;
use super::context::AppContext;
use super::dto::{SubmitWorkoutsRequest, SubmitWorkoutsResponse, WorkoutView};
use super::envelope::ErrorEnvelope;
use super::error::{ApiError, Code};
use super::extract::{JsonBody, Path, Query};
use super::params::parse_user_id;
use crate::domain::access::needs;
use crate::domain::validation::{Submission, validate_submission};
use crate::domain::{EntryId, FieldError, WorkoutEntry};
use crate::queue::{Reservation, WriteBatch};
use crate::store::StoreError;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use tower_http::request_id::RequestId;
use utoipa::IntoParams;

/// Log workouts.
///
/// Validates and normalizes the batch, assigns ids and hands it to the write
/// queue. 202 means durably accepted; entries are visible in history shortly
/// after (before the response with `QUEUE=inline`).
#[utoipa::path(post, path = "/workouts", tag = "workouts",
    request_body = SubmitWorkoutsRequest,
    responses(
        (status = 202, description = "Accepted", body = SubmitWorkoutsResponse),
        (status = 400, description = "Validation failed or malformed JSON; nothing was accepted", body = ErrorEnvelope),
        (status = 409, description = "An idempotencyKey was already used for a different workout", body = ErrorEnvelope),
        (status = 413, description = "Body over 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Not JSON", body = ErrorEnvelope),
        (status = 503, description = "Queue or store unavailable; nothing was accepted", body = ErrorEnvelope),
    ))]
pub async fn submit_workouts(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsCreate>,
    request_id: Option<axum::Extension<RequestId>>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SubmitWorkoutsResponse>), ApiError> {
    let now = Utc::now();
    let submission = validate_submission(&body, now).map_err(ApiError::Validation)?;
    auth.check_user(submission.user_id)?;
    let entries = assign_ids(submission, now);
    check_idempotency_conflicts(&ctx, &entries).await?;
    let held = reserve_keys(&ctx, &entries).await?;

    let ids: Vec<String> = entries.iter().map(|e| e.id.to_hex()).collect();
    let user = entries[0].user_id;
    let request_id = request_id.and_then(|r| r.0.header_value().to_str().ok().map(str::to_string));
    let accepted = ctx
        .queue
        .enqueue(WriteBatch {
            entries,
            request_id,
        })
        .await;
    if let Err(e) = accepted {
        release_keys(&ctx, user, &held).await;
        return Err(e.into());
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(SubmitWorkoutsResponse {
            accepted: ids.len(),
            ids,
        }),
    ))
}

/// Gives every entry its final id: derived from (user, key) when keyed, so
/// retries name the same entry; fresh otherwise.
pub(super) fn assign_ids(submission: Submission, now: chrono::DateTime<Utc>) -> Vec<WorkoutEntry> {
    let user = submission.user_id;
    submission
        .entries
        .into_iter()
        .map(|e| WorkoutEntry {
            id: match &e.idempotency_key {
                Some(key) => EntryId::for_idempotency_key(user, key),
                None => EntryId::generate(),
            },
            user_id: user,
            exercise_name: e.exercise_name,
            exercise_name_lower: e.exercise_name_lower,
            date: e.date,
            sets: e.sets,
            idempotency_key: e.idempotency_key,
            created_at: now,
            updated_at: now,
            version: crate::domain::workout::FIRST_VERSION,
        })
        .collect()
}

/// A key reused with different content is a 409 when the first use is
/// already stored. (Two different concurrent first uses cannot be seen here;
/// the store keeps the first and the other collapses onto it.) A key whose
/// entry was deleted stays reserved: the retry gets its id back and the
/// worker stores nothing.
pub(super) async fn check_idempotency_conflicts(
    ctx: &AppContext,
    entries: &[WorkoutEntry],
) -> Result<(), ApiError> {
    let keyed: Vec<EntryId> = entries
        .iter()
        .filter(|e| e.idempotency_key.is_some())
        .map(|e| e.id)
        .collect();
    let Some(first) = entries.first() else {
        return Ok(());
    };
    if keyed.is_empty() {
        return Ok(());
    }
    let stored = match ctx.store.get_entries(first.user_id, &keyed).await {
        Ok(stored) => stored,
        // The queue may still accept while the store is down: the worker's
        // insert collapses replays; only the 409 cannot be given now.
        Err(StoreError::Unavailable(msg)) => {
            tracing::warn!(%msg, "idempotency check skipped: store unavailable");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let details: Vec<FieldError> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let existing = stored.iter().find(|s| s.id == e.id)?;
            (!existing.same_content(e)).then(|| {
                FieldError::new(
                    format!("entries[{i}].idempotencyKey"),
                    format!(
                        "was already used for a different workout (entry {})",
                        existing.id
                    ),
                )
            })
        })
        .collect();
    if details.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Conflict {
            message: "Idempotency key reused with different content".into(),
            details,
        })
    }
}

/// Reserves the batch's idempotency keys at the queue, so a concurrent
/// submit of the same key with other content is refused now rather than
/// dropped by the worker. Returns the (key, hash) pairs this request holds
/// newly; on a conflict, releases them and answers 409.
pub(super) async fn reserve_keys(
    ctx: &AppContext,
    entries: &[WorkoutEntry],
) -> Result<Vec<(String, String)>, ApiError> {
    let mut held = Vec::new();
    let mut details = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(key) = &e.idempotency_key else {
            continue;
        };
        let hash = e.content_hash();
        match ctx.queue.reserve_key(e.user_id, key, &hash).await {
            Ok(Reservation::Reserved) => held.push((key.clone(), hash)),
            Ok(Reservation::Same) => {}
            Ok(Reservation::Other) => details.push(FieldError::new(
                format!("entries[{i}].idempotencyKey"),
                "was just used for a different workout",
            )),
            Err(err) => {
                release_keys(ctx, e.user_id, &held).await;
                return Err(err.into());
            }
        }
    }
    if details.is_empty() {
        return Ok(held);
    }
    if let Some(first) = entries.first() {
        release_keys(ctx, first.user_id, &held).await;
    }
    Err(ApiError::Conflict {
        message: "Idempotency key reused with different content".into(),
        details,
    })
}

/// Frees keys this request reserved but accepted nothing for. A failure
/// here only delays a different retry of those keys; it is logged.
pub(super) async fn release_keys(
    ctx: &AppContext,
    user: crate::domain::UserId,
    held: &[(String, String)],
) {
    for (key, hash) in held {
        if let Err(e) = ctx.queue.release_key(user, key, hash).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EntryParams {
    /// The owner of the entry (24 hex characters).
    #[param(required = true, example = "665f1c2b8a1e4d0012345678")]
    pub user_id: Option<String>,
}

/// Read one entry.
///
/// An entry of another user is a 404, as is an id that does not exist.
#[utoipa::path(get, path = "/workouts/{id}", tag = "workouts",
    params(("id" = String, Path, description = "Entry id (24 hex characters)"), EntryParams),
    responses(
        (status = 200, description = "The stored entry", body = WorkoutView,
            headers(("ETag" = String, description = "The entry's version, for If-Match"))),
        (status = 400, description = "Malformed id or userId", body = ErrorEnvelope),
        (status = 404, description = "No such entry for this user", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    ))]
pub async fn get_workout(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsRead>,
    Path(id): Path<String>,
    Query(params): Query<EntryParams>,
) -> Result<Response, ApiError> {
    let user = parse_user_id(params.user_id.as_deref())?;
    auth.check_user(user)?;
    let id = parse_entry_id(&id)?;
    match ctx.store.get_entry(user, id).await? {
        Some(entry) => {
            let mut response = Json(WorkoutView::new(&entry, &ctx.catalogue, None)).into_response();
            response
                .headers_mut()
                .insert(header::ETAG, super::edits::etag(entry.version));
            Ok(response)
        }
        None => Err(ApiError::not_found(
            Code::WorkoutNotFound,
            format!("Workout {id} not found for this user"),
        )),
    }
}

/// An entry id from the path.
pub fn parse_entry_id(raw: &str) -> Result<EntryId, ApiError> {
    raw.parse()
        .map_err(|e: crate::domain::ids::InvalidObjectId| ApiError::field("id", e.to_string()))
}
