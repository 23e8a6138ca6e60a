//! GET /workouts/export: every entry of a client as CSV or NDJSON,
//! streamed page by page over the history's keyset, in constant memory
//! whatever the history's size.

use super::auth::Authorized;
use super::context::AppContext;
use super::envelope::ErrorEnvelope;
use super::error::ApiError;
use super::extract::Query;
use super::params::{ParamErrors, parse_user_id};
use crate::domain::access::needs;
use crate::domain::cursor::CursorPosition;
use crate::domain::dates::TimeRange;
use crate::domain::export::ExportFormat;
use crate::domain::{FieldError, UserId, WorkoutEntry};
use crate::store::{HistoryQuery, WorkoutStore};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Entries per store read: what the stream holds in memory at a time.
pub const EXPORT_PAGE: u32 = 500;

/// An export format.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormatCode {
    Csv,
    Ndjson,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Whose entries (24 hex characters).
    #[param(required = true, example = "665f1c2b8a1e4d0012345678")]
    pub user_id: Option<String>,
    /// `csv` (one row per set, with a header row) or `ndjson` (one entry per line).
    #[param(required = true, value_type = Option<ExportFormatCode>)]
    pub format: Option<String>,
}

/// Export a client's entries.
///
/// Every entry, newest first, streamed: `csv` has one row per set (columns
/// `entryId,date,exerciseName,setIndex,reps,weight,unit,weightKg,idempotencyKey,version`),
/// `ndjson` one entry per line. Weights as logged and in kg, 2 decimals.
/// The first page is read before answering (a store that is down answers
/// 503); a store failure later cuts the stream short, which the client sees
/// as an incomplete body.
#[utoipa::path(get, path = "/workouts/export", tag = "workouts",
    params(ExportParams),
    responses(
        (status = 200, description = "The entries, streamed",
            content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 400, description = "Invalid parameter", body = ErrorEnvelope),
        (status = 503, description = "Store unavailable", body = ErrorEnvelope),
    ))]
pub async fn export_workouts(
    State(ctx): State<AppContext>,
    auth: Authorized<needs::WorkoutsRead>,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let mut errors = ParamErrors::default();
    let user = errors.take(parse_user_id(params.user_id.as_deref()));
    let format = match params.format.as_deref() {
        None => {
            errors.0.push(FieldError::new("format", "is required"));
            None
        }
        Some(raw) => ExportFormat::parse(raw).or_else(|| {
            errors.0.push(FieldError::new(
                "format",
                format!("must be one of: {}", ExportFormat::CODES.join(", ")),
            ));
            None
        }),
    };
    errors.finish()?;
    let (user, format) = (user.expect("checked"), format.expect("checked"));
    auth.check_user(user)?;
    let first = ctx.store.history(&page_query(user, None)).await?;
    let body = Body::from_stream(
        futures::stream::once(async move { Ok(Bytes::from(format.preamble())) }).chain(pages(
            ctx.store.clone(),
            user,
            format,
            first,
        )),
    );
    let disposition = format!(
        "attachment; filename=\"everfit-{}.{}\"",
        user.to_hex(),
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

fn page_query(user: UserId, after: Option<CursorPosition>) -> HistoryQuery {
    HistoryQuery {
        user_id: user,
        exercise_prefix: None,
        exercise_in: None,
        range: TimeRange::ALL_TIME,
        after,
        limit: EXPORT_PAGE,
    }
}

enum Step {
    Page(Vec<WorkoutEntry>),
    Failed(String),
    Done,
}

/// The formatted pages from `first` on, each read after the previous one.
fn pages(
    store: Arc<dyn WorkoutStore>,
    user: UserId,
    format: ExportFormat,
    first: Vec<WorkoutEntry>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::unfold(Step::Page(first), move |step| {
        let store = store.clone();
        async move {
            match step {
                Step::Done => None,
                Step::Failed(e) => Some((Err(std::io::Error::other(e)), Step::Done)),
                Step::Page(page) => {
                    let bytes = Bytes::from(format.page(&page));
                    let next = match page.last() {
                        Some(last) if page.len() == EXPORT_PAGE as usize => {
                            let after = CursorPosition {
                                date: last.date,
                                id: last.id,
                            };
                            match store.history(&page_query(user, Some(after))).await {
                                Ok(next) => Step::Page(next),
                                Err(e) => {
                                    tracing::error!(error = %e, "export cut short");
                                    Step::Failed(e.to_string())
                                }
                            }
                        }
                        _ => Step::Done,
                    };
                    Some((Ok(bytes), next))
                }
            }
        }
    })
}
