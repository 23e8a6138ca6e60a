//! POST /imports and GET /imports/{id}: CSV files (Strong, Hevy, this
//! service's export) logged through the same write path as POST /workouts.
//!
//! The file is parsed and validated in the request; its entries are then
//! enqueued as ordinary write batches, keyed so a re-import adds nothing.
//! Files over the 1 MiB body limit are split by the client (the `everfit
//! import` command does it) rather than streamed: each part is its own import.

use super::auth::Authorized;
use super::context::AppContext;
use super::envelope::ErrorEnvelope;
use super::error::{ApiError, Code};
use super::extract::{Path, Query};
use super::params::parse_user_id;
use super::workouts::{assign_ids, check_idempotency_conflicts, release_keys, reserve_keys};
use crate::domain::access::needs;
use crate::domain::dates::format_instant;
use crate::domain::import::{ImportFormat, ImportedEntry, RejectedRow, parse_import};
use crate::domain::validation::{MAX_ENTRIES, Submission, validate_submission};
use crate::domain::{EntryId, FieldError, Unit, UserId, WorkoutEntry};
use crate::queue::WriteBatch;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The client the entries are logged for (24 hex characters).
    #[param(required = true, example = "665f1c2b8a1e4d0012345678")]
    pub user_id: Option<String>,
    /// The file's layout: `strong`, `hevy` or `everfit` (GET /workouts/export?format=csv).
    #[param(
        required = true,
        pattern = "^(strong|hevy|everfit)$",
        example = "strong"
    )]
    pub format: Option<String>,
    /// The weight unit of a Strong file (Strong writes weights in the app's
    /// unit without naming it); ignored by the other formats. Default kg.
    #[param(pattern = "^(kg|lb)$", example = "lb")]
    pub unit: Option<String>,
}

/// What an import did; `GET /imports/{id}` answers the same with progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportView {
    #[schema(example = "01JDZ8Q3V6K9W2XGZ0M4T7B5NC")]
    pub id: String,
    #[schema(example = "strong")]
    pub format: String,
    /// `queued` until every accepted entry is stored, then `done`.
    #[schema(example = "queued")]
    pub status: String,
    /// Entries handed to the write queue.
    pub accepted: usize,
    /// Entries already stored by an earlier import (not queued again).
    pub already_imported: usize,
    /// Accepted entries stored so far (`GET` only counts them; 0 in the 202).
    pub stored: usize,
    /// Rows not imported, by line, with why.
    pub rejected: Vec<RejectedRow>,
}

/// The stored form: the view plus the ids it watches.
#[derive(Serialize, Deserialize)]
struct ImportRecord {
    view: ImportView,
    ids: Vec<String>,
}

/// Import a CSV file.
///
/// Validates the whole file, then queues its entries as write batches (as
/// `POST /workouts` does). Rows that cannot be imported (no reps or weight,
/// warm-ups, unreadable values) are listed by line; the rest are accepted.
/// Re-importing a file adds nothing. Bodies are at most 1 MiB: split larger
/// files (`everfit import` does).
#[utoipa::path(post, path = "/imports", tag = "imports",
    params(ImportParams),
    request_body(content = String, content_type = "text/csv",
        description = "The exported file, with its header row"),
    responses(
        (status = 202, description = "Accepted", body = ImportView),
        (status = 400, description = "Bad parameter, not CSV, or a header without the format's columns; nothing was accepted", body = ErrorEnvelope),
        (status = 409, description = "An idempotencyKey of an everfit file was already used for a different workout", body = ErrorEnvelope),
        (status = 413, description = "Body over 1 MiB", body = ErrorEnvelope),
        (status = 415, description = "Not text/csv", body = ErrorEnvelope),
        (status = 503, description = "Queue or store unavailable", body = ErrorEnvelope),
    ))]
pub async fn create_import(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsCreate>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    let user = parse_user_id(params.user_id.as_deref())?;
    let format = match params.format.as_deref() {
        None => return Err(ApiError::field("format", "is required")),
        Some(raw) => ImportFormat::parse(raw).ok_or_else(|| {
            ApiError::field(
                "format",
                format!("must be one of {}", ImportFormat::CODES.join(", ")),
            )
        })?,
    };
    let unit = match params.unit.as_deref() {
        None => Unit::KG,
        Some(code) => Unit::parse(code).ok_or_else(|| {
            ApiError::field(
                "unit",
                format!("must be one of {}", Unit::allowed_codes().join(", ")),
            )
        })?,
    };
    auth.check_user(user)?;
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(ApiError::UnsupportedMediaType(
            "The body must be CSV (Content-Type: text/csv)".into(),
        ));
    }
    let parsed = parse_import(format, &body, user, unit).map_err(|e| ApiError::BadRequest {
        code: Code::InvalidCsv,
        message: e.to_string(),
        details: Vec::new(),
    })?;

    let now = Utc::now();
    let mut rejected = parsed.rejected;
    let mut valid: Vec<(u64, WorkoutEntry)> = Vec::new();
    for entry in &parsed.entries {
        match validate_one(user, entry, now) {
            Ok(e) => valid.push((entry.line, e)),
            Err(reason) => rejected.push(RejectedRow {
                line: entry.line,
                reason,
            }),
        }
    }

    let mut view = ImportView {
        id: ulid::Ulid::generate().to_string(),
        format: format.code().into(),
        status: "queued".into(),
        accepted: 0,
        already_imported: 0,
        stored: 0,
        rejected: Vec::new(),
    };
    let mut ids = Vec::new();
    for chunk in valid.chunks(MAX_ENTRIES) {
        let fresh = skip_stored(&ctx, user, chunk, &mut view).await?;
        let (queued, refused) = enqueue(&ctx, fresh).await?;
        ids.extend(queued.iter().map(|id| id.to_hex()));
        rejected.extend(refused);
    }
    view.accepted = ids.len();
    rejected.sort_by_key(|r| r.line);
    view.rejected = rejected;
    if view.accepted == 0 {
        view.status = "done".into();
    }
    let record = ImportRecord {
        view: view.clone(),
        ids,
    };
    ctx.imports
        .put_import(
            &view.id,
            user,
            &serde_json::to_string(&record).expect("records serialize"),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// One entry through the validation of POST /workouts, so an import
/// stores exactly what the API would (normalized names, bounds).
fn validate_one(
    user: UserId,
    e: &ImportedEntry,
    now: chrono::DateTime<Utc>,
) -> Result<WorkoutEntry, String> {
    let body = json!({
        "userId": user.to_hex(),
        "entries": [{
            "exerciseName": e.exercise_name,
            "date": format_instant(e.date),
            "sets": e.sets.iter().map(|s| json!({
                "reps": s.reps, "weight": s.weight, "unit": s.unit.code(),
            })).collect::<Vec<_>>(),
            "idempotencyKey": e.idempotency_key,
        }],
    });
    let submission: Submission = validate_submission(&body, now).map_err(|errors| {
        errors
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f.field.trim_start_matches("entries[0]."),
                    f.message
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(assign_ids(submission, now).remove(0))
}

/// Drops the entries an earlier import already stored (same key, same
/// content), so a re-import queues nothing.
async fn skip_stored(
    ctx: &AppContext,
    user: UserId,
    chunk: &[(u64, WorkoutEntry)],
    view: &mut ImportView,
) -> Result<Vec<(u64, WorkoutEntry)>, ApiError> {
    let ids: Vec<EntryId> = chunk.iter().map(|(_, e)| e.id).collect();
    let stored = ctx.store.get_entries(user, &ids).await?;
    let mut fresh = Vec::new();
    for (line, e) in chunk {
        if stored.iter().any(|s| s.id == e.id && s.same_content(e)) {
            view.already_imported += 1;
        } else {
            fresh.push((*line, e.clone()));
        }
    }
    Ok(fresh)
}

/// Queues one batch as POST /workouts does. Entries whose key is taken by
/// another workout are rejected by line; the rest are queued.
async fn enqueue(
    ctx: &AppContext,
    mut batch: Vec<(u64, WorkoutEntry)>,
) -> Result<(Vec<EntryId>, Vec<RejectedRow>), ApiError> {
    let mut refused = Vec::new();
    // At most twice: a retry without the conflicting entries.
    for _ in 0..2 {
        if batch.is_empty() {
            break;
        }
        let entries: Vec<WorkoutEntry> = batch.iter().map(|(_, e)| e.clone()).collect();
        let outcome = match check_idempotency_conflicts(ctx, &entries).await {
            Ok(()) => reserve_keys(ctx, &entries).await,
            Err(e) => Err(e),
        };
        let held = match outcome {
            Ok(held) => held,
            Err(ApiError::Conflict { details, .. }) => {
                let bad = conflicting(&details);
                let mut kept = Vec::new();
                for (i, (line, e)) in batch.into_iter().enumerate() {
                    if bad.contains(&i) {
                        refused.push(RejectedRow {
                            line,
                            reason: "idempotencyKey was already used for a different workout"
                                .into(),
                        });
                    } else {
                        kept.push((line, e));
                    }
                }
                batch = kept;
                continue;
            }
            Err(e) => return Err(e),
        };
        let ids: Vec<EntryId> = entries.iter().map(|e| e.id).collect();
        let user = entries[0].user_id;
        if let Err(e) = ctx
            .queue
            .enqueue(WriteBatch {
                entries,
                request_id: None,
            })
            .await
        {
            release_keys(ctx, user, &held).await;
            return Err(e.into());
        }
        return Ok((ids, refused));
    }
    Ok((Vec::new(), refused))
}

/// The batch indexes named by conflict details (`entries[i].idempotencyKey`).
fn conflicting(details: &[FieldError]) -> Vec<usize> {
    details
        .iter()
        .filter_map(|d| {
            d.field
                .strip_prefix("entries[")?
                .split(']')
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ImportStatusParams {
    /// The client the import was for (24 hex characters).
    #[param(required = true, example = "665f1c2b8a1e4d0012345678")]
    pub user_id: Option<String>,
}

/// An import's counts and progress.
///
/// `stored` counts the accepted entries the workers have written; `status`
/// is `done` once all are. An import of another user is a 404.
#[utoipa::path(get, path = "/imports/{id}", tag = "imports",
    params(("id" = String, Path, description = "Import id (from POST /imports)"), ImportStatusParams),
    responses(
        (status = 200, description = "The import", body = ImportView),
        (status = 400, description = "Malformed userId", body = ErrorEnvelope),
        (status = 404, description = "No such import for this user", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    ))]
pub async fn get_import(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsRead>,
    Path(id): Path<String>,
    Query(params): Query<ImportStatusParams>,
) -> Result<Json<ImportView>, ApiError> {
    let user = parse_user_id(params.user_id.as_deref())?;
    auth.check_user(user)?;
    let not_found = || {
        ApiError::not_found(
            Code::ImportNotFound,
            format!("Import {id} not found for this user"),
        )
    };
    let raw = ctx
        .imports
        .get_import(&id, user)
        .await?
        .ok_or_else(not_found)?;
    let record: ImportRecord = serde_json::from_str(&raw)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("corrupt import record {id}: {e}")))?;
    let mut view = record.view;
    let mut stored = 0;
    for chunk in record.ids.chunks(MAX_ENTRIES) {
        let ids: Vec<EntryId> = chunk.iter().filter_map(|s| s.parse().ok()).collect();
        stored += ctx.store.get_entries(user, &ids).await?.len();
    }
    view.stored = stored;
    view.status = if stored >= view.accepted {
        "done"
    } else {
        "queued"
    }
    .into();
    Ok(Json(view))
}
