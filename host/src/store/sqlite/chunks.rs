//! Insight reads from packed chunks (see [`crate::store::packed`]) on
//! SQLite. Triggers keep each span's generation honest (see
//! migrations/0008_insight_chunks.sql), and a reader takes a span's
//! generation and the entries it repacks from one snapshot.

use super::db_error;
use super::rows::{ENTRY_COLUMNS, entry_from_row};
use crate::domain::UserId;
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::store::StoreError;
use crate::store::packed::{DecodedSpans, SPAN_MS, SpanRead, pack, unpack};
use sqlx::{SqliteConnection, SqlitePool};
use std::sync::Arc;

/// See [`crate::store::WorkoutStore::entry_columns`].
pub async fn entry_columns(
    reader: &SqlitePool,
    writer: &SqlitePool,
    decoded: &DecodedSpans,
    user: UserId,
    exercise_key: Option<&str>,
    range: TimeRange,
) -> Result<EntryColumns, StoreError> {
    let user_hex = user.to_hex();
    let wanted = SpanRead::new(exercise_key, range);
    let mut out = EntryColumns::default();
    let Some((first, last)) = wanted.spans() else {
        return Ok(out);
    };
    let mut repacked: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    // One read transaction: a span's generation and the entries it is
    // read from come from the same snapshot.
    let mut tx = reader.begin().await.map_err(db_error)?;
    let spans: Vec<(i64, i64, bool)> = sqlx::query_as(
        "SELECT span, generation, packed_generation IS generation FROM insight_chunks
         WHERE user_id = ? AND span BETWEEN ? AND ? ORDER BY span",
    )
    .bind(&user_hex)
    .bind(first)
    .bind(last)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    for (span, generation, packed_is_current) in spans {
        let chunk = match decoded.get(user, span, generation) {
            Some(columns) => columns,
            None => {
                let packed = if packed_is_current {
                    packed_span(&mut tx, &user_hex, span).await?
                } else {
                    None
                };
                let columns = match packed {
                    Some(columns) => columns,
                    None => {
                        let columns = span_from_rows(&mut tx, &user_hex, span).await?;
                        repacked.push((span, generation, pack(&columns)));
                        columns
                    }
                };
                let columns = Arc::new(columns);
                decoded.put(user, span, generation, columns.clone());
                columns
            }
        };
        wanted.take(&mut out, span, &chunk);
    }
    tx.commit().await.map_err(db_error)?;
    for (span, generation, bytes) in repacked {
        // Kept only if no write touched the span since the snapshot; a
        // failure costs the next reader a repack, never a wrong answer.
        let kept = sqlx::query(
            "UPDATE insight_chunks SET packed = ?, packed_generation = ?
             WHERE user_id = ? AND span = ? AND generation = ?",
        )
        .bind(bytes)
        .bind(generation)
        .bind(&user_hex)
        .bind(span)
        .bind(generation)
        .execute(writer)
        .await;
        if let Err(e) = kept {
            tracing::warn!(user = %user_hex, span, error = %e, "could not keep a repacked insight chunk");
        }
    }
    Ok(out)
}

/// The span's packed value, when it reads back (a damaged one is logged
/// and repacked).
async fn packed_span(
    tx: &mut SqliteConnection,
    user_hex: &str,
    span: i64,
) -> Result<Option<EntryColumns>, StoreError> {
    let packed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT packed FROM insight_chunks WHERE user_id = ? AND span = ?")
            .bind(user_hex)
            .bind(span)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?
            .flatten();
    Ok(packed.and_then(|bytes| match unpack(&bytes) {
        Ok(columns) => Some(columns),
        Err(e) => {
            tracing::warn!(user = %user_hex, span, error = %e, "unreadable insight chunk, repacking it");
            None
        }
    }))
}

/// The span's entries read from their rows, oldest first.
async fn span_from_rows(
    tx: &mut SqliteConnection,
    user_hex: &str,
    span: i64,
) -> Result<EntryColumns, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM workouts
         WHERE user_id = ? AND date_ms >= ? AND date_ms < ?
         ORDER BY date_ms, id"
    )))
    .bind(user_hex)
    .bind(span * SPAN_MS)
    .bind((span + 1) * SPAN_MS)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    let entries = rows
        .iter()
        .map(entry_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EntryColumns::from_entries(&entries))
}
