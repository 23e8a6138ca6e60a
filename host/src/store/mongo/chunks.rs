//! Insight reads from packed chunks (see [`crate::store::packed`]) on
//! MongoDB, which has no triggers and is used here without multi-document
//! transactions, so the write paths keep each span's generation honest:
//!
//! - Before a write touches a span's entries it pushes a token `{token,
//!   at}` onto the span's `writing` list; after it, it pulls the token and
//!   moves the generation on. A reader neither trusts nor repacks a span
//!   with a token under way: it reads that span from the entries.
//! - A reader repacks a span it read from the entries only if, when it
//!   writes, the generation is still the one it read before reading the
//!   entries and no token is under way. The repack moves the generation
//!   on too, so every cached copy of the older state is dropped.
//! - A token older than [`ABANDONED_AFTER`] belongs to a writer that died
//!   between its two steps (every operation has a time limit of seconds).
//!   It no longer holds readers back, but its span is read from the
//!   entries (the dead writer may have changed them without moving the
//!   generation on) and the repack clears it.
//!
//! Collection `insight_chunks`: `{ userId, span, generation, writing:
//! [{token, at}], packedGeneration?, packed? }`, one per client and span
//! that ever held an entry. Documents are never deleted (erasure clears
//! `packed` and moves the generation on), so a generation never repeats.

use super::documents::{bson_date, bson_date_ms, field, get_int};
use super::errors::is_duplicate_key;
use super::queries::IndexSpec;
use super::{MongoStore, corrupt};
use crate::domain::columns::EntryColumns;
use crate::domain::dates::TimeRange;
use crate::domain::{UserId, WorkoutEntry};
use crate::store::StoreError;
use crate::store::packed::{SPAN_MS, SpanRead, pack, span_of, unpack};
use bson::oid::ObjectId;
use bson::{Binary, Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

pub const INSIGHT_CHUNKS: &str = "insight_chunks";

/// The one-time migration that gives the spans of entries stored before
/// insight chunks existed their documents.
pub const INSIGHT_CHUNKS_MIGRATION: &str = "0008_insight_chunks";

/// When a writer's token counts as abandoned (see the module docs).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(600);

/// Spans read from the entries at once when no packed value serves.
const SPANS_READ_AT_ONCE: usize = 4;

pub mod f {
    pub const SPAN: &str = "span";
    pub const GENERATION: &str = "generation";
    pub const WRITING: &str = "writing";
    pub const TOKEN: &str = "token";
    pub const AT: &str = "at";
    pub const PACKED_GENERATION: &str = "packedGeneration";
    pub const PACKED: &str = "packed";
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec {
        collection: INSIGHT_CHUNKS,
        name: "user_span_unique",
        keys: doc! { field::USER_ID: 1, f::SPAN: 1 },
        unique: true,
        partial_filter: None,
    }]
}

pub fn span_filter(user: UserId, span: i64) -> Document {
    doc! { field::USER_ID: user.0, f::SPAN: span }
}

pub fn spans_filter(user: UserId, spans: &BTreeSet<i64>) -> Document {
    let spans: Vec<Bson> = spans.iter().map(|s| Bson::Int64(*s)).collect();
    doc! { field::USER_ID: user.0, f::SPAN: { "$in": spans } }
}

pub fn spans_between_filter(user: UserId, first: i64, last: i64) -> Document {
    doc! { field::USER_ID: user.0, f::SPAN: { "$gte": first, "$lte": last } }
}

/// A write under way in the span; upserted, it creates the document of a
/// span's first entry.
pub fn writing_update(token: ObjectId, at: DateTime<Utc>) -> Document {
    doc! {
        "$push": { f::WRITING: { f::TOKEN: token, f::AT: bson_date(at) } },
        "$setOnInsert": { f::GENERATION: 0_i64 },
    }
}

/// That write done: its token gone, the generation moved on.
pub fn written_update(token: ObjectId) -> Document {
    doc! {
        "$pull": { f::WRITING: { f::TOKEN: token } },
        "$inc": { f::GENERATION: 1_i64 },
    }
}

/// The span still at `generation` with no write under way since
/// `abandoned_before`.
pub fn repack_filter(
    user: UserId,
    span: i64,
    generation: i64,
    abandoned_before: DateTime<Utc>,
) -> Document {
    doc! {
        field::USER_ID: user.0,
        f::SPAN: span,
        f::GENERATION: generation,
        format!("{}.{}", f::WRITING, f::AT): { "$not": { "$gt": bson_date(abandoned_before) } },
    }
}

/// Keeps a span's columns read at `generation`, one generation on.
pub fn repack_update(
    generation: i64,
    packed: Vec<u8>,
    abandoned_before: DateTime<Utc>,
) -> Document {
    doc! {
        "$set": {
            f::PACKED: Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: packed },
            f::PACKED_GENERATION: generation + 1,
        },
        "$inc": { f::GENERATION: 1_i64 },
        "$pull": { f::WRITING: { f::AT: { "$lte": bson_date(abandoned_before) } } },
    }
}

/// An erased client's spans: nothing packed kept, every copy outdated.
pub fn erase_update() -> Document {
    doc! {
        "$unset": { f::PACKED: "", f::PACKED_GENERATION: "" },
        "$inc": { f::GENERATION: 1_i64 },
    }
}

pub fn state_projection() -> Document {
    doc! { field::ID: 0, f::SPAN: 1, f::GENERATION: 1, f::WRITING: 1, f::PACKED_GENERATION: 1 }
}

pub fn packed_projection() -> Document {
    let mut p = state_projection();
    p.insert(f::PACKED, 1);
    p
}

/// One span's entries, oldest first.
pub fn span_entries_filter(user: UserId, span: i64) -> Document {
    doc! {
        field::USER_ID: user.0,
        field::DATE: {
            "$gte": bson_date_ms(span.saturating_mul(SPAN_MS)),
            "$lt": bson_date_ms(span.saturating_add(1).saturating_mul(SPAN_MS)),
        },
    }
}

pub fn oldest_first() -> Document {
    doc! { field::DATE: 1, field::ID: 1 }
}

/// The spans of the entries stored so far, each at generation 1 with
/// nothing packed; spans that have a document keep it. Idempotent.
pub fn backfill_pipeline() -> Vec<Document> {
    vec![
        doc! { "$group": { "_id": {
            "u": format!("${}", field::USER_ID),
            "s": { "$toLong": { "$floor": {
                "$divide": [{ "$toLong": format!("${}", field::DATE) }, SPAN_MS]
            } } },
        } } },
        doc! { "$project": {
            field::ID: 0,
            field::USER_ID: "$_id.u",
            f::SPAN: "$_id.s",
            f::GENERATION: { "$literal": 1_i64 },
            f::WRITING: { "$literal": [] },
        } },
        doc! { "$merge": {
            "into": INSIGHT_CHUNKS,
            "on": [field::USER_ID, f::SPAN],
            "whenMatched": "keepExisting",
            "whenNotMatched": "insert",
        } },
    ]
}

/// What a reader needs to know of a span before trusting anything of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanState {
    pub span: i64,
    pub generation: i64,
    /// A write is under way: read the entries, keep nothing.
    pub busy: bool,
    /// A writer died half-way: read the entries.
    pub abandoned: bool,
    pub packed_generation: Option<i64>,
}

impl SpanState {
    pub fn from_document(d: &Document, abandoned_before: DateTime<Utc>) -> anyhow::Result<Self> {
        let cutoff = abandoned_before.timestamp_millis();
        let (mut busy, mut abandoned) = (false, false);
        for token in d.get_array(f::WRITING).map(|a| a.as_slice()).unwrap_or(&[]) {
            let at = token
                .as_document()
                .and_then(|t| t.get_datetime(f::AT).ok())
                .ok_or_else(|| anyhow::anyhow!("insight_chunks.writing: malformed {token}"))?;
            if at.timestamp_millis() > cutoff {
                busy = true;
            } else {
                abandoned = true;
            }
        }
        Ok(Self {
            span: get_int(d, f::SPAN)?,
            generation: get_int(d, f::GENERATION)?,
            busy,
            abandoned,
            packed_generation: get_int(d, f::PACKED_GENERATION).ok(),
        })
    }

    /// Nothing stands in the way of what was kept at this generation.
    pub fn settled(&self) -> bool {
        !self.busy && !self.abandoned
    }

    pub fn packed_is_current(&self) -> bool {
        self.settled() && self.packed_generation == Some(self.generation)
    }
}

/// The spans each client's entries fall in.
pub fn spans_of<'a>(
    entries: impl IntoIterator<Item = &'a WorkoutEntry>,
) -> BTreeMap<UserId, BTreeSet<i64>> {
    let mut out: BTreeMap<UserId, BTreeSet<i64>> = BTreeMap::new();
    for e in entries {
        out.entry(e.user_id)
            .or_default()
            .insert(span_of(e.date.timestamp_millis()));
    }
    out
}

/// The spans one write has marked, to be released when it is done,
/// whatever its outcome.
#[derive(Debug)]
pub struct SpanMarks {
    token: ObjectId,
    marked: BTreeMap<UserId, BTreeSet<i64>>,
}

impl SpanMarks {
    pub fn new() -> Self {
        Self {
            token: ObjectId::new(),
            marked: BTreeMap::new(),
        }
    }

    /// Marks the spans not marked yet, before the write changes them.
    pub(super) async fn mark(
        &mut self,
        store: &MongoStore,
        spans: BTreeMap<UserId, BTreeSet<i64>>,
    ) -> Result<(), StoreError> {
        for (user, spans) in spans {
            let already = self.marked.entry(user).or_default();
            let new: BTreeSet<i64> = spans.difference(already).copied().collect();
            if new.is_empty() {
                continue;
            }
            store.mark_writing(user, &new, self.token).await?;
            already.extend(new);
        }
        Ok(())
    }

    /// Releases every marked span. A failure is logged, not returned: the
    /// write itself is done, and the token is abandoned in time.
    pub(super) async fn release(self, store: &MongoStore) {
        for (user, spans) in self.marked {
            if let Err(e) = store.mark_written(user, &spans, self.token).await {
                tracing::warn!(user = %user.to_hex(), error = %e,
                    "could not release insight chunks after a write; they are read from the entries until the mark is abandoned");
            }
        }
    }
}

impl Default for SpanMarks {
    fn default() -> Self {
        Self::new()
    }
}

impl MongoStore {
    fn chunks(&self) -> mongodb::Collection<Document> {
        self.db.collection(INSIGHT_CHUNKS)
    }

    async fn mark_writing(
        &self,
        user: UserId,
        spans: &BTreeSet<i64>,
        token: ObjectId,
    ) -> Result<(), StoreError> {
        let update = writing_update(token, Utc::now());
        self.update_each_span("marking insight chunks", user, spans, update)
            .await
    }

    async fn mark_written(
        &self,
        user: UserId,
        spans: &BTreeSet<i64>,
        token: ObjectId,
    ) -> Result<(), StoreError> {
        let update = written_update(token);
        self.update_each_span("releasing insight chunks", user, spans, update)
            .await
    }

    /// One span at a time, in span order: a statement that changed
    /// several documents could deadlock with another writer's (DocumentDB
    /// takes row locks), and writes to one client seldom touch many spans.
    /// Upserted, so a mark creates the document of a span's first entry.
    async fn update_each_span(
        &self,
        what: &str,
        user: UserId,
        spans: &BTreeSet<i64>,
        update: Document,
    ) -> Result<(), StoreError> {
        let chunks = self.chunks();
        for span in spans {
            let filter = span_filter(user, *span);
            self.run(what, || async {
                let upsert = || {
                    chunks
                        .update_one(filter.clone(), update.clone())
                        .upsert(true)
                };
                match upsert().await {
                    // Another writer created the document at the same time.
                    Err(e) if is_duplicate_key(&e) => upsert().await,
                    done => done,
                }
            })
            .await?;
        }
        Ok(())
    }

    pub(super) async fn erase_chunks(&self, user: UserId) -> Result<(), StoreError> {
        let filter = doc! { field::USER_ID: user.0 };
        let chunks = self.chunks();
        self.run("erasing insight chunks", || {
            chunks.update_many(filter.clone(), erase_update())
        })
        .await?;
        self.decoded.forget(user);
        Ok(())
    }

    /// See [`crate::store::WorkoutStore::entry_columns`].
    pub(super) async fn insight_columns(
        &self,
        user: UserId,
        exercise_key: Option<&str>,
        range: TimeRange,
    ) -> Result<EntryColumns, StoreError> {
        let wanted = SpanRead::new(exercise_key, range);
        let mut out = EntryColumns::default();
        let Some((first, last)) = wanted.spans() else {
            return Ok(out);
        };
        let abandoned_before = Utc::now() - ABANDONED_AFTER;
        let states: Vec<SpanState> = self
            .span_states(
                spans_between_filter(user, first, last),
                state_projection(),
                abandoned_before,
            )
            .await?
            .into_iter()
            .map(|(state, _)| state)
            .collect();
        let mut chunks: BTreeMap<i64, Arc<EntryColumns>> = BTreeMap::new();
        let mut unpacked: BTreeSet<i64> = BTreeSet::new();
        let mut from_entries: Vec<SpanState> = Vec::new();
        for state in &states {
            let cached = state
                .settled()
                .then(|| self.decoded.get(user, state.span, state.generation))
                .flatten();
            match cached {
                Some(columns) => {
                    chunks.insert(state.span, columns);
                }
                None if state.packed_is_current() => {
                    unpacked.insert(state.span);
                }
                None => from_entries.push(state.clone()),
            }
        }
        if !unpacked.is_empty() {
            for (state, packed) in self.packed_spans(user, &unpacked, abandoned_before).await? {
                let columns = Arc::new(packed);
                self.decoded
                    .put(user, state.span, state.generation, columns.clone());
                chunks.insert(state.span, columns);
            }
            // A span whose packed value was outdated or unreadable by the
            // time it was fetched is read from its entries.
            from_entries.extend(
                states
                    .iter()
                    .filter(|s| unpacked.contains(&s.span) && !chunks.contains_key(&s.span))
                    .cloned(),
            );
        }
        let read: Vec<(i64, Arc<EntryColumns>)> = futures::stream::iter(from_entries)
            .map(|state| self.span_from_entries(user, state, abandoned_before))
            .buffer_unordered(SPANS_READ_AT_ONCE)
            .try_collect()
            .await?;
        chunks.extend(read);
        for (span, chunk) in &chunks {
            wanted.take(&mut out, *span, chunk);
        }
        Ok(out)
    }

    async fn span_states(
        &self,
        filter: Document,
        projection: Document,
        abandoned_before: DateTime<Utc>,
    ) -> Result<Vec<(SpanState, Document)>, StoreError> {
        let docs = self
            .find_all(
                "reading insight chunks",
                &self.chunks(),
                filter,
                Some(doc! { f::SPAN: 1 }),
                Some(projection),
            )
            .await?;
        docs.into_iter()
            .map(|d| {
                SpanState::from_document(&d, abandoned_before)
                    .map(|s| (s, d))
                    .map_err(corrupt)
            })
            .collect()
    }

    /// The packed values of `spans` still current when fetched, decoded.
    async fn packed_spans(
        &self,
        user: UserId,
        spans: &BTreeSet<i64>,
        abandoned_before: DateTime<Utc>,
    ) -> Result<Vec<(SpanState, EntryColumns)>, StoreError> {
        let mut out = Vec::new();
        let docs = self
            .span_states(
                spans_filter(user, spans),
                packed_projection(),
                abandoned_before,
            )
            .await?;
        for (state, d) in docs {
            if !state.packed_is_current() {
                continue;
            }
            let Ok(bytes) = d.get_binary_generic(f::PACKED) else {
                continue;
            };
            match unpack(bytes) {
                Ok(columns) => out.push((state, columns)),
                Err(e) => tracing::warn!(user = %user.to_hex(), span = state.span, error = %e,
                    "unreadable insight chunk, repacking it"),
            }
        }
        Ok(out)
    }

    /// One span read from its entries, and repacked when nothing wrote to
    /// it since `state` was read.
    async fn span_from_entries(
        &self,
        user: UserId,
        state: SpanState,
        abandoned_before: DateTime<Utc>,
    ) -> Result<(i64, Arc<EntryColumns>), StoreError> {
        let docs = self
            .find_all(
                "reading entries for insights",
                &self.workouts,
                span_entries_filter(user, state.span),
                Some(oldest_first()),
                None,
            )
            .await?;
        let entries = docs
            .iter()
            .map(|d| super::documents::entry_from_document(d).map_err(corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        let columns = Arc::new(EntryColumns::from_entries(&entries));
        if !state.busy {
            // Kept only if no write started since `state` was read; a
            // failure costs the next reader a repack, never a wrong answer.
            let kept = self
                .cas_update(
                    "keeping an insight chunk",
                    &self.chunks(),
                    repack_filter(user, state.span, state.generation, abandoned_before),
                    repack_update(state.generation, pack(&columns), abandoned_before),
                    false,
                )
                .await;
            match kept {
                Ok(true) => {
                    self.decoded
                        .put(user, state.span, state.generation + 1, columns.clone())
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(user = %user.to_hex(), span = state.span, error = %e,
                    "could not keep a repacked insight chunk"),
            }
        }
        Ok((state.span, columns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn user() -> UserId {
        "665f1c2b8a1e4d0012345678".parse().unwrap()
    }

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(s, 0).unwrap()
    }

    fn state(writing: Vec<Bson>, packed_generation: Option<i64>) -> Document {
        let mut d = doc! { "span": 5_i64, "generation": 7_i64, "writing": writing };
        if let Some(g) = packed_generation {
            d.insert("packedGeneration", g);
        }
        d
    }

    fn token(at_s: i64) -> Bson {
        Bson::Document(doc! { "token": ObjectId::new(), "at": bson_date(at(at_s)) })
    }

    #[test]
    fn a_span_is_trusted_only_when_no_write_is_under_way() {
        let cutoff = at(1_000);
        let read = |d: Document| SpanState::from_document(&d, cutoff).unwrap();
        let quiet = read(state(vec![], Some(7)));
        assert!(quiet.settled() && quiet.packed_is_current());
        assert!(!read(state(vec![], Some(6))).packed_is_current());
        assert!(!read(state(vec![], None)).packed_is_current());
        let busy = read(state(vec![token(1_001)], Some(7)));
        assert!(busy.busy && !busy.packed_is_current());
        let abandoned = read(state(vec![token(999)], Some(7)));
        assert!(!abandoned.busy && abandoned.abandoned && !abandoned.packed_is_current());
        let missing_list = read(doc! { "span": 5_i64, "generation": 7_i32 });
        assert_eq!(missing_list.generation, 7);
        assert!(missing_list.settled());
        assert!(
            SpanState::from_document(&state(vec![Bson::Int32(1)], None), cutoff).is_err(),
            "a malformed token is corrupt data"
        );
    }

    #[test]
    fn a_repack_lands_only_on_the_generation_read_and_moves_it_on() {
        let cutoff = at(1_000);
        assert_eq!(
            repack_filter(user(), 5, 7, cutoff),
            doc! { "userId": user().0, "span": 5_i64, "generation": 7_i64,
            "writing.at": { "$not": { "$gt": bson_date(cutoff) } } }
        );
        let update = repack_update(7, vec![1, 2], cutoff);
        assert_eq!(
            update
                .get_document("$set")
                .unwrap()
                .get_i64("packedGeneration")
                .unwrap(),
            8
        );
        assert_eq!(
            update
                .get_document("$inc")
                .unwrap()
                .get_i64("generation")
                .unwrap(),
            1
        );
        assert_eq!(
            update.get_document("$pull").unwrap(),
            &doc! { "writing": { "at": { "$lte": bson_date(cutoff) } } }
        );
        let done = written_update(ObjectId::new());
        assert_eq!(
            done.get_document("$inc")
                .unwrap()
                .get_i64("generation")
                .unwrap(),
            1
        );
    }

    #[test]
    fn a_span_reads_exactly_its_thirty_days() {
        let d = span_entries_filter(user(), -1);
        let date = d.get_document("date").unwrap();
        assert_eq!(
            date.get_datetime("$gte").unwrap().timestamp_millis(),
            -SPAN_MS
        );
        assert_eq!(date.get_datetime("$lt").unwrap().timestamp_millis(), 0);
    }

    #[test]
    fn spans_are_grouped_by_client() {
        let e = |user: UserId, ms: i64| WorkoutEntry {
            date: Utc.timestamp_millis_opt(ms).unwrap(),
            user_id: user,
            ..crate::domain::workout::test_entry(ms, "Squat", vec![])
        };
        let other: UserId = "665f1c2b8a1e4d0012345679".parse().unwrap();
        let entries = [
            e(user(), 0),
            e(user(), SPAN_MS - 1),
            e(user(), -1),
            e(other, SPAN_MS),
        ];
        let spans = spans_of(&entries);
        assert_eq!(spans[&user()], BTreeSet::from([-1, 0]));
        assert_eq!(spans[&other], BTreeSet::from([1]));
    }
}
