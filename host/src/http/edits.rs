//! Correcting the log: PUT and DELETE /workouts/{id}, and erasing a client
//! (DELETE /users/{userId}/workouts).
//!
//! An edit takes the same write path as a POST: validated here, numbered
//! and durably accepted (202), applied by a worker. Its number is the
//! entry's next version (the `ETag`): edits of one entry apply in the order
//! they were accepted, and `If-Match` makes one conditional.

use super::auth::Authorized;
use super::context::AppContext;
use super::dto::{EditResponse, ErasureResponse, ReplaceWorkoutRequest};
use super::envelope::ErrorEnvelope;
use super::error::{ApiError, Code, RETRY_AFTER_UNAVAILABLE};
use super::extract::{JsonBody, Path, Query};
use super::params::parse_user_id;
use super::workouts::{EntryParams, parse_entry_id};
use crate::domain::access::needs;
use crate::domain::validation::validate_replacement;
use crate::domain::{EntryId, UserId, WorkoutEntry};
use crate::queue::{EditAccepted, EditJob, EditNumber};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tower_http::request_id::RequestId;

/// Numbering attempts before giving up: only the inline queue retries, when
/// another edit of the same entry was applied between numbering and applying.
const MAX_ATTEMPTS: usize = 8;

/// Replace an entry.
///
/// Same body as one entry of `POST /workouts` (without `idempotencyKey`,
/// which stays with the entry). Keeps the id, the idempotency key and
/// `createdAt`; `updatedAt` and `version` change. 202 once durably accepted,
/// with the entry's next version (also the `ETag`); the history and the
/// personal records show the change shortly after. `If-Match: "<version>"`
/// makes the edit conditional: 412 when the entry is at another version.
#[utoipa::path(put, path = "/workouts/{id}", tag = "workouts",
    params(("id" = String, Path, description = "Entry id (24 hex characters)"), EntryParams,
        ("If-Match" = Option<String>, Header, description = "The entry's version, as its ETag (\"3\")")),
    request_body = ReplaceWorkoutRequest,
    responses(
        (status = 202, description = "Accepted", body = EditResponse,
            headers(("ETag" = String, description = "The version the entry will have"))),
        (status = 400, description = "Validation failed; nothing changes", body = ErrorEnvelope),
        (status = 404, description = "No such entry for this user (or it was deleted)", body = ErrorEnvelope),
        (status = 412, description = "If-Match names another version (code precondition_failed); ETag has the current one", body = ErrorEnvelope),
        (status = 503, description = "Queue or store unavailable; nothing changes", body = ErrorEnvelope),
    ))]
pub async fn replace_workout(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsUpdate>,
    request_id: Option<axum::Extension<RequestId>>,
    Path(id): Path<String>,
    Query(params): Query<EntryParams>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let user = parse_user_id(params.user_id.as_deref())?;
    auth.check_user(user)?;
    let id = parse_entry_id(&id)?;
    let if_match = parse_if_match(&headers)?;
    let replacement = validate_replacement(&body, now).map_err(ApiError::Validation)?;
    let request_id = request_id_of(request_id);
    for _ in 0..MAX_ATTEMPTS {
        let stored = stored_entry(&ctx, user, id).await?;
        let version = number(&ctx, user, id, stored.version, if_match, false).await?;
        let entry = WorkoutEntry {
            exercise_name: replacement.exercise_name.clone(),
            exercise_name_lower: replacement.exercise_name_lower.clone(),
            date: replacement.date,
            sets: replacement.sets.clone(),
            updated_at: now,
            version,
            ..stored
        };
        let edit = EditJob::Replace {
            entry: Box::new(entry),
            request_id: request_id.clone(),
        };
        if let Some(response) = accepted(&ctx, edit, id, version, false).await? {
            return Ok(response);
        }
    }
    Err(contended(if_match))
}

/// Delete an entry.
///
/// Same write path as an edit: 202 once durably accepted, gone from the
/// history and the personal records shortly after. The entry's id, and so
/// its idempotency key, stay reserved: a late retry of the POST that logged
/// it is answered 202 with the same id and stores nothing. `If-Match` makes
/// the delete conditional.
#[utoipa::path(delete, path = "/workouts/{id}", tag = "workouts",
    params(("id" = String, Path, description = "Entry id (24 hex characters)"), EntryParams,
        ("If-Match" = Option<String>, Header, description = "The entry's version, as its ETag (\"3\")")),
    responses(
        (status = 202, description = "Accepted", body = EditResponse),
        (status = 400, description = "Malformed id, userId or If-Match", body = ErrorEnvelope),
        (status = 404, description = "No such entry for this user (or it was deleted)", body = ErrorEnvelope),
        (status = 412, description = "If-Match names another version (code precondition_failed)", body = ErrorEnvelope),
        (status = 503, description = "Queue or store unavailable; nothing changes", body = ErrorEnvelope),
    ))]
pub async fn delete_workout(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsDelete>,
    request_id: Option<axum::Extension<RequestId>>,
    Path(id): Path<String>,
    Query(params): Query<EntryParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = parse_user_id(params.user_id.as_deref())?;
    auth.check_user(user)?;
    let id = parse_entry_id(&id)?;
    let if_match = parse_if_match(&headers)?;
    let request_id = request_id_of(request_id);
    for _ in 0..MAX_ATTEMPTS {
        let stored = stored_entry(&ctx, user, id).await?;
        let version = number(&ctx, user, id, stored.version, if_match, true).await?;
        let edit = EditJob::Delete {
            user_id: user,
            id,
            version,
            accepted_at: Utc::now(),
            request_id: request_id.clone(),
        };
        if let Some(response) = accepted(&ctx, edit, id, version, true).await? {
            return Ok(response);
        }
    }
    Err(contended(if_match))
}

/// Erase a client.
///
/// Right to erasure: deletes every entry of the client, their personal
/// records and day bests, their exercise list, and their jobs waiting on
/// the queue; writes for them accepted before this are dropped when a
/// worker reaches them. Synchronous: the answer says how much went.
#[utoipa::path(delete, path = "/users/{userId}/workouts", tag = "workouts",
    params(("userId" = String, Path, description = "The client (24 hex characters)")),
    responses(
        (status = 200, description = "Erased", body = ErasureResponse),
        (status = 400, description = "Malformed userId", body = ErrorEnvelope),
        (status = 503, description = "Store or queue unavailable; erasure incomplete, retry", body = ErrorEnvelope),
    ))]
pub async fn erase_user(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsDelete>,
    Path(user): Path<String>,
) -> Result<Json<ErasureResponse>, ApiError> {
    let user = parse_user_id(Some(&user))?;
    auth.check_user(user)?;
    // The store first: its erasure record drops whatever the queue still
    // hands a worker; then the waiting jobs themselves go.
    let entries = ctx.store.erase_user(user, Utc::now()).await?;
    let jobs = ctx.queue.purge_user(user).await?;
    // Import records name the client's entries and rows: they go too.
    let imports = ctx.imports.erase_imports(user).await?;
    tracing::info!(user_id = %user, entries, jobs, imports, "client erased");
    Ok(Json(ErasureResponse {
        user_id: user.to_hex(),
        deleted_entries: entries,
        deleted_jobs: jobs,
    }))
}

async fn stored_entry(
    ctx: &AppContext,
    user: UserId,
    id: EntryId,
) -> Result<WorkoutEntry, ApiError> {
    ctx.store.get_entry(user, id).await?.ok_or_else(|| {
        ApiError::not_found(
            Code::WorkoutNotFound,
            format!("Workout {id} not found for this user"),
        )
    })
}

async fn number(
    ctx: &AppContext,
    user: UserId,
    id: EntryId,
    stored: i64,
    if_match: Option<i64>,
    delete: bool,
) -> Result<i64, ApiError> {
    match ctx
        .queue
        .number_edit(user, id, stored, if_match, delete)
        .await?
    {
        EditNumber::Next(version) => Ok(version),
        EditNumber::Conflict { current } => Err(ApiError::PreconditionFailed { current }),
        EditNumber::Deleted => Err(ApiError::not_found(
            Code::WorkoutNotFound,
            format!("Workout {id} was deleted"),
        )),
    }
}

/// The 202 of an accepted edit, or `None` when it must be numbered again.
async fn accepted(
    ctx: &AppContext,
    edit: EditJob,
    id: EntryId,
    version: i64,
    deleted: bool,
) -> Result<Option<Response>, ApiError> {
    match ctx.queue.enqueue_edit(edit).await? {
        EditAccepted::Queued | EditAccepted::Applied => {
            let mut response = (
                StatusCode::ACCEPTED,
                Json(EditResponse {
                    id: id.to_hex(),
                    version,
                    deleted,
                }),
            )
                .into_response();
            if !deleted {
                response.headers_mut().insert(header::ETAG, etag(version));
            }
            Ok(Some(response))
        }
        EditAccepted::Superseded => Ok(None),
    }
}

fn contended(if_match: Option<i64>) -> ApiError {
    match if_match {
        // The entry kept changing under a conditional edit: it is not at
        // the version named any more.
        Some(v) => ApiError::PreconditionFailed { current: v + 1 },
        None => ApiError::Unavailable {
            code: Code::StoreUnavailable,
            message: "The entry is being edited concurrently; try again".into(),
            retry_after: RETRY_AFTER_UNAVAILABLE,
        },
    }
}

fn request_id_of(request_id: Option<axum::Extension<RequestId>>) -> Option<String> {
    request_id.and_then(|r| r.0.header_value().to_str().ok().map(str::to_string))
}

/// An entry's version as an ETag: `"3"`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes")
}

/// `If-Match: "3"` (or `3`); `*` and no header mean no condition. Weak tags
/// never match (RFC 9110), so `W/"3"` is refused.
pub fn parse_if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            "If-Match",
            "must be the entry's ETag, e.g. \"3\" (one version, not weak)",
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let digits = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    match digits.parse::<i64>() {
        Ok(v) if v >= 1 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(v)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn if_match_takes_one_strong_etag() {
        assert_eq!(parse_if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(parse_if_match(&with("*")).unwrap(), None);
        assert_eq!(parse_if_match(&with("\"3\"")).unwrap(), Some(3));
        assert_eq!(parse_if_match(&with("12")).unwrap(), Some(12));
        for bad in [
            "W/\"3\"",
            "\"3\", \"4\"",
            "\"-1\"",
            "\"0\"",
            "three",
            "\"+3\"",
        ] {
            assert!(parse_if_match(&with(bad)).is_err(), "{bad}");
        }
        assert_eq!(etag(7), "\"7\"");
    }
}
