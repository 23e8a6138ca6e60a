//! Every filter, update, pipeline and index the MongoDB store sends, built by
//! pure functions so that tests can assert on the exact documents.

use super::documents::{
    bson_date, bson_date_ms, field, records_to_document, rep_records_to_document, stats_to_document,
};
use crate::domain::dates::TimeRange;
use crate::domain::days::{DAY_MS, DaySpan};
use crate::domain::records::{PersonalRecords, RepRecords};
use crate::domain::stats::EntryStats;
use crate::domain::{EntryId, UserId};
use crate::store::HistoryQuery;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};

pub const WORKOUTS: &str = "workouts";
pub const PERSONAL_RECORDS: &str = "personal_records";
pub const PERSONAL_RECORD_DAYS: &str = "personal_record_days";
pub const PERSONAL_RECORD_DAYS_PENDING: &str = "personal_record_days_pending";
pub const MIGRATIONS: &str = "migrations";

/// The one-time migration that marks the keys stored before day bests
/// existed (the counterpart of SQLite's migration 0002).
pub const DAY_BESTS_PENDING_MIGRATION: &str = "0002_personal_record_days_pending";

/// An index to create at start-up: collection, name, keys, unique, partial filter.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    pub collection: &'static str,
    pub name: &'static str,
    pub keys: Document,
    pub unique: bool,
    pub partial_filter: Option<Document>,
}

/// The indexes the store needs; every one leads with `userId` (the shard key).
///
/// A separate `{userId, date: -1}` index would be a prefix of
/// `user_date_id` and serve nothing it does not, so it is not created.
pub fn indexes() -> Vec<IndexSpec> {
    vec![
        // History pages (date desc, _id desc) and date ranges.
        IndexSpec {
            collection: WORKOUTS,
            name: "user_date_id",
            keys: doc! { "userId": 1, "date": -1, "_id": -1 },
            unique: false,
            partial_filter: None,
        },
        // Live PRs and ranges of one exercise; exact-name, muscle-group ($in)
        // and prefix history. The trailing _id lets an $in merge-sort give
        // the keyset order without a blocking sort.
        IndexSpec {
            collection: WORKOUTS,
            name: "user_exercise_date_id",
            keys: doc! { "userId": 1, "exerciseNameLower": 1, "date": -1, "_id": -1 },
            unique: false,
            partial_filter: None,
        },
        // Idempotency: a key is stored once per user, whatever the entry's
        // id. The API derives a keyed entry's id from (user, key), so `_id`
        // alone collapses its submits; this index keeps the store's own
        // contract (`insert_entries`: the same key under another id is not
        // stored again), which SQLite keeps with the same unique index.
        // Partial: only documents that carry a key are indexed and pay for
        // it ($type string implies $exists).
        IndexSpec {
            collection: WORKOUTS,
            name: "user_idempotency_key_unique",
            keys: doc! { "userId": 1, "idempotencyKey": 1 },
            unique: true,
            partial_filter: Some(doc! { "idempotencyKey": { "$type": "string" } }),
        },
        // The read model: one row per (user, exercise), O(1) all-time PRs.
        IndexSpec {
            collection: PERSONAL_RECORDS,
            name: "user_exercise_unique",
            keys: doc! { "userId": 1, "exerciseNameLower": 1 },
            unique: true,
            partial_filter: None,
        },
        // Day bests: one summary per (user, exercise, UTC day). Ranged PRs
        // read a day span of one key in day order; merges and rebuilds
        // find one day; the unique key makes concurrent first merges of a
        // day collide (E11000) instead of creating two summaries.
        IndexSpec {
            collection: PERSONAL_RECORD_DAYS,
            name: "user_exercise_day_unique",
            keys: doc! { "userId": 1, "exerciseNameLower": 1, "day": 1 },
            unique: true,
            partial_filter: None,
        },
        // Keys whose day bests await `everfit prs rebuild`; also the `on`
        // key of the `$merge` that marks them (which requires it unique).
        IndexSpec {
            collection: PERSONAL_RECORD_DAYS_PENDING,
            name: "user_exercise_unique",
            keys: doc! { "userId": 1, "exerciseNameLower": 1 },
            unique: true,
            partial_filter: None,
        },
    ]
}

/// The shard key of each collection, for `sh.shardCollection` (see
/// docs/scaling.md). Ranged on `userId`, not hashed: MongoDB enforces a
/// unique index on a sharded collection only when the shard key is a prefix
/// of it, and a hashed shard key prefixes no unique index, so the unique
/// indexes the upsert races rely on could not be built. `{userId: 1}` is a
/// prefix of every index here, unique or not, and routes every query (each
/// filter leads with `userId`) to one shard; `_id`, unique per shard only,
/// stays unique where it matters since all of a user's entries share a shard.
pub fn shard_keys() -> Vec<(&'static str, Document)> {
    vec![
        (WORKOUTS, doc! { "userId": 1 }),
        (PERSONAL_RECORDS, doc! { "userId": 1 }),
        (PERSONAL_RECORD_DAYS, doc! { "userId": 1 }),
        (PERSONAL_RECORD_DAYS_PENDING, doc! { "userId": 1 }),
    ]
}

/// [`indexes`] grouped by collection, in order of first appearance: each
/// group is one `createIndexes` (MongoDB builds them in one collection
/// scan; DocumentDB builds a new collection's indexes at once instead of
/// one background job per index).
pub fn indexes_by_collection(
    specs: impl IntoIterator<Item = IndexSpec>,
) -> Vec<(&'static str, Vec<IndexSpec>)> {
    let mut groups: Vec<(&'static str, Vec<IndexSpec>)> = Vec::new();
    for spec in specs {
        match groups.iter_mut().find(|(c, _)| *c == spec.collection) {
            Some((_, specs)) => specs.push(spec),
            None => groups.push((spec.collection, vec![spec])),
        }
    }
    groups
}

/// Escapes `text` so that a PCRE pattern matches it literally.
///
/// ASCII punctuation is escaped with a backslash (always literal in PCRE);
/// control characters become `\x{..}` so no raw NUL or newline reaches the
/// pattern; letters, digits and non-ASCII characters stand for themselves.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || !c.is_ascii() {
            out.push(c);
        } else if c.is_ascii_control() {
            out.push_str(&format!("\\x{{{:02x}}}", c as u32));
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// An anchored, case-sensitive pattern for a literal prefix: the index on
/// `exerciseNameLower` turns it into a tight range scan.
pub fn prefix_pattern(prefix: &str) -> String {
    format!("^{}", regex_escape(prefix))
}

/// `{ $gte: start, $lt: end }` for the sides the range has, or None.
fn date_bounds(range: TimeRange) -> Option<Document> {
    let mut d = Document::new();
    if let Some(start) = range.start {
        d.insert("$gte", bson_date(start));
    }
    if let Some(end) = range.end {
        d.insert("$lt", bson_date(end));
    }
    (!d.is_empty()).then_some(d)
}

/// The filter of a history page. None when the page is empty by construction
/// (an empty `exercise_in`).
pub fn history_filter(q: &HistoryQuery) -> Option<Document> {
    let mut filter = doc! { field::USER_ID: q.user_id.0 };
    let mut name = Document::new();
    if let Some(prefix) = &q.exercise_prefix {
        name.insert("$regex", prefix_pattern(prefix));
    }
    if let Some(names) = &q.exercise_in {
        if names.is_empty() {
            return None;
        }
        name.insert("$in", names.clone());
    }
    if !name.is_empty() {
        filter.insert(field::EXERCISE_NAME_LOWER, name);
    }
    let mut date = date_bounds(q.range).unwrap_or_default();
    if let Some(after) = &q.after {
        // (date, _id) < (after.date, after.id). The `$lte` bounds the index
        // scan; the `$or` settles ties on the boundary date by _id.
        date.insert("$lte", bson_date(after.date));
        filter.insert(
            "$or",
            vec![
                Bson::Document(doc! { field::DATE: { "$lt": bson_date(after.date) } }),
                Bson::Document(doc! {
                    field::DATE: bson_date(after.date),
                    field::ID: { "$lt": after.id.0 },
                }),
            ],
        );
    }
    if !date.is_empty() {
        filter.insert(field::DATE, date);
    }
    Some(filter)
}

/// Newest first, then highest id: the keyset order, identical to SQLite's
/// `ORDER BY date_ms DESC, id DESC` (ObjectIds compare by their bytes, as
/// their hex text does).
pub fn history_sort() -> Document {
    doc! { field::DATE: -1, field::ID: -1 }
}

pub fn entry_filter(user: UserId, id: EntryId) -> Document {
    doc! { field::ID: id.0, field::USER_ID: user.0 }
}

pub fn entries_filter(user: UserId, ids: &[EntryId]) -> Document {
    let ids: Vec<Bson> = ids.iter().map(|id| Bson::ObjectId(id.0)).collect();
    doc! { field::USER_ID: user.0, field::ID: { "$in": ids } }
}

/// Sort keys of one record kind: its metric (highest first), then the tie
/// rules of `everfit-pr`: earliest date, lowest entry id, earliest set.
fn record_sort(metric: &str) -> Document {
    doc! { metric: -1, field::DATE: 1, field::ENTRY_ID: 1, field::SET_INDEX: 1 }
}

/// The live PRs of one user's exercise over a range, as ONE aggregation: an
/// index-led `$match` (user_exercise_date_id), one row per set with its
/// position, the two derived metrics computed once, then one `$facet` branch
/// per record kind, each a top-1 sort.
///
/// The metrics use the same IEEE operations, in the same order, as
/// `everfit-pr` (`reps * weightKg`; `weightKg * (1 + reps / 30)`), so the
/// results are bit-identical to the native computation.
pub fn live_records_pipeline(
    user: UserId,
    exercise_lower: &str,
    range: TimeRange,
) -> Vec<Document> {
    let matcher = exercise_entries_filter(user, exercise_lower, range);
    let projection = doc! {
        "_id": 0,
        field::ENTRY_ID: "$_id",
        field::DATE: 1,
        field::SET_INDEX: 1,
        field::REPS: "$sets.reps",
        field::WEIGHT_KG: "$sets.weightKg",
        "volume": { "$multiply": ["$sets.reps", "$sets.weightKg"] },
        "oneRepMax": {
            "$multiply": ["$sets.weightKg", { "$add": [1.0, { "$divide": ["$sets.reps", 30.0] }] }]
        },
    };
    let branch = |metric: &str| -> Vec<Bson> {
        vec![
            Bson::Document(doc! { "$sort": record_sort(metric) }),
            Bson::Document(doc! { "$limit": 1 }),
        ]
    };
    vec![
        doc! { "$match": matcher },
        doc! { "$project": { field::DATE: 1, "sets.reps": 1, "sets.weightKg": 1 } },
        doc! { "$unwind": { "path": "$sets", "includeArrayIndex": field::SET_INDEX } },
        doc! { "$project": projection },
        doc! { "$facet": {
            field::HEAVIEST_SET: branch(field::WEIGHT_KG),
            field::HIGHEST_VOLUME_SET: branch("volume"),
            field::BEST_ONE_REP_MAX: branch("oneRepMax"),
        } },
    ]
}

/// The read-model row of one (user, exercise).
pub fn records_filter(user: UserId, exercise_lower: &str) -> Document {
    doc! { field::USER_ID: user.0, field::EXERCISE_NAME_LOWER: exercise_lower }
}

/// The compare-and-swap filter of a read-model write: the row at
/// `expected_version`, or (None) no row yet. For None the write is an upsert:
/// if a row exists, the filter misses it and the insert hits the unique
/// index (E11000), which is a lost race, not an error.
pub fn records_cas_filter(
    user: UserId,
    exercise_lower: &str,
    expected_version: Option<i64>,
) -> Document {
    let mut filter = records_filter(user, exercise_lower);
    match expected_version {
        Some(v) => filter.insert(field::VERSION, v),
        None => filter.insert(field::VERSION, doc! { "$exists": false }),
    };
    filter
}

/// The update of a CAS write: new records, version + 1 (an upserted row
/// starts at 1, as in SQLite).
pub fn records_cas_update(
    (records, reps, stats): (&PersonalRecords, &RepRecords, &EntryStats),
    now: DateTime<Utc>,
) -> anyhow::Result<Document> {
    let mut set = records_to_document(records)?;
    set.extend(rep_records_to_document(reps)?);
    set.extend(stats_to_document(stats));
    set.insert(field::UPDATED_AT, bson_date(now));
    Ok(doc! { "$set": set, "$inc": { field::VERSION: 1_i64 } })
}

/// Every (user, exercise) with entries, sorted like SQLite's
/// `ORDER BY user_id, exercise_name_lower` (binary string order).
pub fn exercise_keys_pipeline(user: Option<UserId>) -> Vec<Document> {
    let mut pipeline = Vec::new();
    if let Some(user) = user {
        pipeline.push(doc! { "$match": { field::USER_ID: user.0 } });
    }
    pipeline.push(doc! { "$group": { "_id": {
        "u": format!("${}", field::USER_ID),
        "e": format!("${}", field::EXERCISE_NAME_LOWER),
    } } });
    pipeline.push(doc! { "$sort": { "_id.u": 1, "_id.e": 1 } });
    pipeline
}

/// `{ $gte: first, $lt: end }` over `day` for the sides the span has, or None.
fn day_bounds(days: DaySpan) -> Option<Document> {
    let mut d = Document::new();
    if let Some(first) = days.first {
        d.insert("$gte", first);
    }
    if let Some(end) = days.end {
        d.insert("$lt", end);
    }
    (!d.is_empty()).then_some(d)
}

/// The day summaries of one (user, exercise) in a span of days.
pub fn day_records_filter(user: UserId, exercise_lower: &str, days: DaySpan) -> Document {
    let mut filter = records_filter(user, exercise_lower);
    if let Some(bounds) = day_bounds(days) {
        filter.insert(field::DAY, bounds);
    }
    filter
}

/// Day order (the unique index's order: no in-memory sort).
pub fn day_records_sort() -> Document {
    doc! { field::DAY: 1 }
}

/// What a day-summary read needs: the day, the records and the version.
pub fn day_records_projection() -> Document {
    doc! {
        field::ID: 0,
        field::DAY: 1,
        field::HEAVIEST_SET: 1,
        field::HIGHEST_VOLUME_SET: 1,
        field::BEST_ONE_REP_MAX: 1,
        field::REP_RECORDS: 1,
        field::ENTRIES: 1,
        field::FIRST_DATE: 1,
        field::LAST_DATE: 1,
        field::VERSION: 1,
    }
}

/// The day summaries of one (user, exercise) on the given days.
pub fn days_in_filter(user: UserId, exercise_lower: &str, days: &[i64]) -> Document {
    let mut filter = records_filter(user, exercise_lower);
    filter.insert(field::DAY, doc! { "$in": days.to_vec() });
    filter
}

/// The compare-and-swap filter of one day summary: the summary at
/// `expected_version`, or (None) no summary yet, exactly like
/// [`records_cas_filter`]; the update is [`records_cas_update`] (an upsert
/// for None: the equality fields `userId, exerciseNameLower, day` are copied
/// into the inserted document, `version` starts at 1).
pub fn day_cas_filter(
    user: UserId,
    exercise_lower: &str,
    day: i64,
    expected_version: Option<i64>,
) -> Document {
    let mut filter = records_filter(user, exercise_lower);
    filter.insert(field::DAY, day);
    match expected_version {
        Some(v) => filter.insert(field::VERSION, v),
        None => filter.insert(field::VERSION, doc! { "$exists": false }),
    };
    filter
}

/// The entries of one (user, exercise) within `range` (a day-bests rebuild
/// reads them all).
pub fn exercise_entries_filter(user: UserId, exercise_lower: &str, range: TimeRange) -> Document {
    let mut filter = records_filter(user, exercise_lower);
    if let Some(bounds) = date_bounds(range) {
        filter.insert(field::DATE, bounds);
    }
    filter
}

/// The entries of one (user, exercise) on one UTC day `[day, day + 1)`.
pub fn day_entries_filter(user: UserId, exercise_lower: &str, day: i64) -> Document {
    let mut filter = records_filter(user, exercise_lower);
    filter.insert(
        field::DATE,
        doc! {
            "$gte": bson_date_ms(day * DAY_MS),
            "$lt": bson_date_ms((day + 1) * DAY_MS),
        },
    );
    filter
}

/// The pending-backfill mark of one (user, exercise).
pub fn pending_filter(user: UserId, exercise_lower: &str) -> Document {
    records_filter(user, exercise_lower)
}

/// Marks every (user, exercise) that has entries as pending, run on
/// `workouts` once (see [`DAY_BESTS_PENDING_MIGRATION`]), like SQLite's
/// migration 0002: keys stored before day bests existed are served live
/// until `everfit prs rebuild` builds their days. Idempotent (`$merge` keeps
/// an existing mark), so a start-up that dies half-way simply runs it again.
pub fn pending_backfill_pipeline() -> Vec<Document> {
    vec![
        doc! { "$group": { "_id": {
            "u": format!("${}", field::USER_ID),
            "e": format!("${}", field::EXERCISE_NAME_LOWER),
        } } },
        doc! { "$project": {
            field::ID: 0,
            field::USER_ID: "$_id.u",
            field::EXERCISE_NAME_LOWER: "$_id.e",
        } },
        doc! { "$merge": {
            "into": PERSONAL_RECORD_DAYS_PENDING,
            "on": [field::USER_ID, field::EXERCISE_NAME_LOWER],
            "whenMatched": "keepExisting",
            "whenNotMatched": "insert",
        } },
    ]
}

/// The record of a one-time migration.
pub fn migration_filter(name: &str) -> Document {
    doc! { field::ID: name }
}

pub fn migration_document(name: &str, now: DateTime<Utc>) -> Document {
    doc! { field::ID: name, field::APPLIED_AT: bson_date(now) }
}

/// Reads one `{_id: {u, e}}` row of [`exercise_keys_pipeline`].
pub fn exercise_key_from_document(d: &Document) -> anyhow::Result<(UserId, String)> {
    let id = d.get_document("_id")?;
    Ok((UserId(id.get_object_id("u")?), id.get_str("e")?.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cursor::CursorPosition;
    use bson::oid::ObjectId;
    use chrono::TimeZone;

    /// bson documents compare equal whatever their key order; sort specs
    /// and pipelines depend on it, so compare the ordered text as well.
    macro_rules! assert_doc_eq {
        ($left:expr, $right:expr $(,)?) => {{
            assert_eq!(format!("{:?}", &$left), format!("{:?}", &$right));
        }};
    }

    fn user() -> UserId {
        "665f1c2b8a1e4d0012345678".parse().unwrap()
    }

    fn oid(hex: &str) -> ObjectId {
        ObjectId::parse_str(hex).unwrap()
    }

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn ms(t: DateTime<Utc>) -> bson::DateTime {
        bson::DateTime::from_millis(t.timestamp_millis())
    }

    fn query() -> HistoryQuery {
        HistoryQuery {
            user_id: user(),
            exercise_prefix: None,
            exercise_in: None,
            range: TimeRange::ALL_TIME,
            after: None,
            limit: 20,
        }
    }

    #[test]
    fn escapes_every_regex_metacharacter() {
        assert_eq!(regex_escape("a.b"), r"a\.b");
        assert_eq!(regex_escape("("), r"\(");
        assert_doc_eq!(
            regex_escape(r"^$.|?*+()[]{}\/-#"),
            r"\^\$\.\|\?\*\+\(\)\[\]\{\}\\\/\-\#"
        );
        assert_eq!(regex_escape("bench press"), r"bench\ press");
        assert_eq!(regex_escape("übung 2"), r"übung\ 2");
        assert_eq!(regex_escape("a\0b\n"), r"a\x{00}b\x{0a}");
        assert_eq!(prefix_pattern("a.b"), r"^a\.b");
        assert_eq!(prefix_pattern(""), "^");
    }

    #[test]
    fn history_filter_without_options_is_user_only() {
        assert_doc_eq!(
            history_filter(&query()),
            Some(doc! { "userId": oid("665f1c2b8a1e4d0012345678") })
        );
        assert_doc_eq!(history_sort(), doc! { "date": -1, "_id": -1 });
    }

    #[test]
    fn history_filter_with_every_option() {
        let q = HistoryQuery {
            exercise_prefix: Some("b(".into()),
            exercise_in: Some(vec!["b(ench".into(), "b(ack".into()]),
            range: TimeRange {
                start: Some(at(2026, 1, 1)),
                end: Some(at(2026, 7, 1)),
            },
            after: Some(CursorPosition {
                date: at(2026, 6, 9),
                id: "665f1c2b8a1e4d00000000aa".parse().unwrap(),
            }),
            ..query()
        };
        assert_doc_eq!(
            history_filter(&q).unwrap(),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": { "$regex": r"^b\(", "$in": ["b(ench", "b(ack"] },
                "$or": [
                    { "date": { "$lt": ms(at(2026, 6, 9)) } },
                    { "date": ms(at(2026, 6, 9)), "_id": { "$lt": oid("665f1c2b8a1e4d00000000aa") } },
                ],
                "date": {
                    "$gte": ms(at(2026, 1, 1)),
                    "$lt": ms(at(2026, 7, 1)),
                    "$lte": ms(at(2026, 6, 9)),
                },
            }
        );
    }

    #[test]
    fn history_filter_with_an_open_range() {
        let q = HistoryQuery {
            range: TimeRange {
                start: None,
                end: Some(at(2026, 7, 1)),
            },
            ..query()
        };
        assert_doc_eq!(
            history_filter(&q).unwrap(),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "date": { "$lt": ms(at(2026, 7, 1)) },
            }
        );
    }

    #[test]
    fn an_empty_muscle_group_matches_nothing_without_a_query() {
        let q = HistoryQuery {
            exercise_in: Some(vec![]),
            ..query()
        };
        assert_eq!(history_filter(&q), None);
    }

    #[test]
    fn entry_filters_are_user_scoped() {
        let id: EntryId = "665f1c2b8a1e4d00000000aa".parse().unwrap();
        assert_doc_eq!(
            entry_filter(user(), id),
            doc! { "_id": oid("665f1c2b8a1e4d00000000aa"), "userId": oid("665f1c2b8a1e4d0012345678") }
        );
        assert_doc_eq!(
            entries_filter(user(), &[id]),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "_id": { "$in": [oid("665f1c2b8a1e4d00000000aa")] },
            }
        );
    }

    #[test]
    fn live_records_is_one_facet_aggregation() {
        let range = TimeRange {
            start: Some(at(2026, 1, 1)),
            end: None,
        };
        let pipeline = live_records_pipeline(user(), "bench press", range);
        let top1 = |metric: &str| {
            vec![
                Bson::Document(
                    doc! { "$sort": { metric: -1, "date": 1, "entryId": 1, "setIndex": 1 } },
                ),
                Bson::Document(doc! { "$limit": 1 }),
            ]
        };
        assert_doc_eq!(
            pipeline,
            vec![
                doc! { "$match": {
                    "userId": oid("665f1c2b8a1e4d0012345678"),
                    "exerciseNameLower": "bench press",
                    "date": { "$gte": ms(at(2026, 1, 1)) },
                } },
                doc! { "$project": { "date": 1, "sets.reps": 1, "sets.weightKg": 1 } },
                doc! { "$unwind": { "path": "$sets", "includeArrayIndex": "setIndex" } },
                doc! { "$project": {
                    "_id": 0,
                    "entryId": "$_id",
                    "date": 1,
                    "setIndex": 1,
                    "reps": "$sets.reps",
                    "weightKg": "$sets.weightKg",
                    "volume": { "$multiply": ["$sets.reps", "$sets.weightKg"] },
                    "oneRepMax": { "$multiply": [
                        "$sets.weightKg",
                        { "$add": [1.0, { "$divide": ["$sets.reps", 30.0] }] },
                    ] },
                } },
                doc! { "$facet": {
                    "heaviestSet": top1("weightKg"),
                    "highestVolumeSet": top1("volume"),
                    "bestOneRepMax": top1("oneRepMax"),
                } },
            ]
        );
    }

    #[test]
    fn all_time_live_records_match_without_dates() {
        let pipeline = live_records_pipeline(user(), "squat", TimeRange::ALL_TIME);
        assert_doc_eq!(
            pipeline[0],
            doc! { "$match": {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
            } }
        );
    }

    #[test]
    fn read_model_cas_filters() {
        assert_doc_eq!(
            records_cas_filter(user(), "squat", None),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "version": { "$exists": false },
            }
        );
        assert_doc_eq!(
            records_cas_filter(user(), "squat", Some(7)),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "version": 7_i64,
            }
        );
        assert_doc_eq!(
            records_filter(user(), "squat"),
            doc! { "userId": oid("665f1c2b8a1e4d0012345678"), "exerciseNameLower": "squat" }
        );
    }

    #[test]
    fn read_model_cas_update_sets_records_and_bumps_the_version() {
        let now = at(2026, 6, 9);
        let stats = EntryStats {
            entries: 3,
            first_ms: Some(0),
            last_ms: None,
        };
        let update = records_cas_update(
            (&PersonalRecords::default(), &RepRecords::default(), &stats),
            now,
        )
        .unwrap();
        assert_doc_eq!(
            update,
            doc! {
                "$set": {
                    "heaviestSet": Bson::Null,
                    "highestVolumeSet": Bson::Null,
                    "bestOneRepMax": Bson::Null,
                    "repRecords": {
                        "mostRepsSet": Bson::Null,
                        "repMaxes": [Bson::Null, Bson::Null, Bson::Null, Bson::Null],
                        "mostRepsDay": Bson::Null,
                    },
                    "entries": 3_i64,
                    "firstDate": bson::DateTime::from_millis(0),
                    "lastDate": Bson::Null,
                    "updatedAt": ms(now),
                },
                "$inc": { "version": 1_i64 },
            }
        );
    }

    #[test]
    fn exercise_keys_group_and_sort() {
        assert_doc_eq!(
            exercise_keys_pipeline(None),
            vec![
                doc! { "$group": { "_id": { "u": "$userId", "e": "$exerciseNameLower" } } },
                doc! { "$sort": { "_id.u": 1, "_id.e": 1 } },
            ]
        );
        assert_doc_eq!(
            exercise_keys_pipeline(Some(user()))[0],
            doc! { "$match": { "userId": oid("665f1c2b8a1e4d0012345678") } }
        );
        let row = doc! { "_id": { "u": oid("665f1c2b8a1e4d0012345678"), "e": "squat" } };
        assert_doc_eq!(
            exercise_key_from_document(&row).unwrap(),
            (user(), "squat".to_string())
        );
    }

    #[test]
    fn every_index_leads_with_user_id() {
        let specs = indexes();
        assert_eq!(specs.len(), 6);
        for spec in &specs {
            assert_eq!(spec.keys.keys().next().map(String::as_str), Some("userId"));
        }
        let key = specs
            .iter()
            .find(|s| s.name == "user_idempotency_key_unique")
            .unwrap();
        assert!(key.unique);
        assert_doc_eq!(
            key.partial_filter,
            Some(doc! { "idempotencyKey": { "$type": "string" } })
        );
        assert_doc_eq!(specs[0].keys, doc! { "userId": 1, "date": -1, "_id": -1 });
    }

    /// What MongoDB requires of a sharded collection's unique indexes (and
    /// of its `$merge` target's `on` fields): the shard key is a prefix, in
    /// the same order and direction, and ranged (not hashed).
    #[test]
    fn every_index_is_prefixed_by_its_collections_ranged_shard_key() {
        let keys = shard_keys();
        for spec in indexes() {
            let (_, shard_key) = keys
                .iter()
                .find(|(c, _)| *c == spec.collection)
                .unwrap_or_else(|| panic!("{} has no shard key", spec.collection));
            let prefix: Vec<(&String, &Bson)> = spec.keys.iter().take(shard_key.len()).collect();
            assert_eq!(
                prefix,
                shard_key.iter().collect::<Vec<_>>(),
                "{}.{}",
                spec.collection,
                spec.name
            );
            assert!(shard_key.values().all(|v| v.as_i32() == Some(1)), "ranged");
        }
        let merge_on = ["userId", "exerciseNameLower"];
        let (_, pending_key) = keys
            .iter()
            .find(|(c, _)| *c == PERSONAL_RECORD_DAYS_PENDING)
            .unwrap();
        assert!(pending_key.keys().all(|k| merge_on.contains(&k.as_str())));
        assert_eq!(keys.len(), indexes_by_collection(indexes()).len());
    }

    #[test]
    fn indexes_are_created_one_collection_at_a_time() {
        let groups = indexes_by_collection(indexes());
        let names: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|(c, specs)| (*c, specs.iter().map(|s| s.name).collect()))
            .collect();
        assert_eq!(
            names,
            vec![
                (
                    "workouts",
                    vec![
                        "user_date_id",
                        "user_exercise_date_id",
                        "user_idempotency_key_unique"
                    ]
                ),
                ("personal_records", vec!["user_exercise_unique"]),
                ("personal_record_days", vec!["user_exercise_day_unique"]),
                ("personal_record_days_pending", vec!["user_exercise_unique"]),
            ]
        );
        assert_eq!(
            groups.iter().map(|(_, s)| s.len()).sum::<usize>(),
            indexes().len()
        );
    }

    #[test]
    fn day_bests_indexes() {
        let specs = indexes();
        let days = specs
            .iter()
            .find(|s| s.collection == "personal_record_days")
            .unwrap();
        assert_eq!(days.name, "user_exercise_day_unique");
        assert!(days.unique);
        assert_eq!(days.partial_filter, None);
        assert_doc_eq!(
            days.keys,
            doc! { "userId": 1, "exerciseNameLower": 1, "day": 1 }
        );
        let pending = specs
            .iter()
            .find(|s| s.collection == "personal_record_days_pending")
            .unwrap();
        assert_eq!(pending.name, "user_exercise_unique");
        assert!(pending.unique);
        assert_doc_eq!(pending.keys, doc! { "userId": 1, "exerciseNameLower": 1 });
    }

    #[test]
    fn day_records_filter_bounds_the_days_half_open() {
        let span = DaySpan {
            first: Some(-2),
            end: Some(20_600),
        };
        assert_doc_eq!(
            day_records_filter(user(), "squat", span),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "day": { "$gte": -2_i64, "$lt": 20_600_i64 },
            }
        );
        let open_start = DaySpan {
            first: None,
            end: Some(5),
        };
        assert_doc_eq!(
            day_records_filter(user(), "squat", open_start),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "day": { "$lt": 5_i64 },
            }
        );
        assert_doc_eq!(
            day_records_filter(user(), "squat", DaySpan::default()),
            doc! { "userId": oid("665f1c2b8a1e4d0012345678"), "exerciseNameLower": "squat" }
        );
        assert_doc_eq!(day_records_sort(), doc! { "day": 1 });
        assert_doc_eq!(
            day_records_projection(),
            doc! {
                "_id": 0, "day": 1, "heaviestSet": 1, "highestVolumeSet": 1,
                "bestOneRepMax": 1, "repRecords": 1, "entries": 1, "firstDate": 1, "lastDate": 1, "version": 1,
            }
        );
    }

    #[test]
    fn day_merges_read_their_days_and_compare_and_swap_each() {
        assert_doc_eq!(
            days_in_filter(user(), "squat", &[3, -1]),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "day": { "$in": [3_i64, -1_i64] },
            }
        );
        assert_doc_eq!(
            day_cas_filter(user(), "squat", 7, None),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "day": 7_i64,
                "version": { "$exists": false },
            }
        );
        assert_doc_eq!(
            day_cas_filter(user(), "squat", 7, Some(3)),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "day": 7_i64,
                "version": 3_i64,
            }
        );
    }

    #[test]
    fn day_rebuilds_read_all_entries_or_one_utc_day() {
        assert_doc_eq!(
            exercise_entries_filter(user(), "squat", TimeRange::ALL_TIME),
            doc! { "userId": oid("665f1c2b8a1e4d0012345678"), "exerciseNameLower": "squat" }
        );
        assert_doc_eq!(
            exercise_entries_filter(
                user(),
                "squat",
                TimeRange {
                    start: Some(at(2026, 6, 9)),
                    end: None
                }
            ),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "date": { "$gte": ms(at(2026, 6, 9)) },
            }
        );
        // Day 20_613 is 2026-06-09; day -1 is 1969-12-31.
        assert_doc_eq!(
            day_entries_filter(user(), "squat", 20_613),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "date": { "$gte": ms(at(2026, 6, 9)), "$lt": ms(at(2026, 6, 10)) },
            }
        );
        assert_doc_eq!(
            day_entries_filter(user(), "squat", -1),
            doc! {
                "userId": oid("665f1c2b8a1e4d0012345678"),
                "exerciseNameLower": "squat",
                "date": {
                    "$gte": bson::DateTime::from_millis(-86_400_000),
                    "$lt": bson::DateTime::from_millis(0),
                },
            }
        );
    }

    #[test]
    fn pending_backfill_marks_every_stored_key_once() {
        assert_doc_eq!(
            pending_filter(user(), "squat"),
            doc! { "userId": oid("665f1c2b8a1e4d0012345678"), "exerciseNameLower": "squat" }
        );
        assert_doc_eq!(
            pending_backfill_pipeline(),
            vec![
                doc! { "$group": { "_id": { "u": "$userId", "e": "$exerciseNameLower" } } },
                doc! { "$project": { "_id": 0, "userId": "$_id.u", "exerciseNameLower": "$_id.e" } },
                doc! { "$merge": {
                    "into": "personal_record_days_pending",
                    "on": ["userId", "exerciseNameLower"],
                    "whenMatched": "keepExisting",
                    "whenNotMatched": "insert",
                } },
            ]
        );
        assert_doc_eq!(
            migration_filter(DAY_BESTS_PENDING_MIGRATION),
            doc! { "_id": "0002_personal_record_days_pending" }
        );
        let now = at(2026, 6, 9);
        assert_doc_eq!(
            migration_document(DAY_BESTS_PENDING_MIGRATION, now),
            doc! { "_id": "0002_personal_record_days_pending", "appliedAt": ms(now) }
        );
    }
}
