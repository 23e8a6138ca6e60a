//! Packed chunks, the cache behind insight reads on every store: a
//! client's entries of one 30-day span of dates as columns in one value,
//! so an insight over a whole history reads a few dozen values instead of
//! a row per entry. Each store keeps a generation per (client, span) that
//! every write to the span moves on, and uses a packed value only while it
//! was packed at the span's current generation; how it keeps generations
//! honest is its own (SQLite: triggers; MongoDB: its write paths). Decoded
//! spans stay in memory by generation ([`DecodedSpans`]), so a client read
//! again costs no decoding.

use crate::domain::columns::{ColumnParts, EntryColumns, LoggedExercise};
use crate::domain::dates::TimeRange;
use crate::domain::units::Unit;
use crate::domain::{EntryId, UserId};
use moka::sync::Cache;
use std::sync::Arc;

/// The width of a span (30 days). SQLite's migration 0008 computes the
/// same floor in its triggers, MongoDB's in its backfill pipeline.
pub const SPAN_MS: i64 = 2_592_000_000;

/// The span an instant falls in.
pub fn span_of(date_ms: i64) -> i64 {
    date_ms.div_euclid(SPAN_MS)
}

/// The packed layout's version, its first byte.
const FORMAT: u8 = 1;

/// How much decoded spans one store keeps in memory (about 6 MB for a
/// 50,000-entry client).
pub const DECODED_SPANS_BYTES: u64 = 128 << 20;

/// Spans already decoded, by (user, span), with the generation they hold.
/// A span's entries at one generation never change (generations only
/// grow), so a hit whose generation is the one just read in the snapshot
/// is exact, in any process sharing the database.
#[derive(Clone)]
pub struct DecodedSpans(Cache<(UserId, i64), (i64, Arc<EntryColumns>)>);

impl DecodedSpans {
    pub fn new(max_bytes: u64) -> Self {
        Self(
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, (_, columns): &(i64, Arc<EntryColumns>)| {
                    u32::try_from(columns.heap_bytes()).unwrap_or(u32::MAX)
                })
                .support_invalidation_closures()
                .build(),
        )
    }

    pub fn get(&self, user: UserId, span: i64, generation: i64) -> Option<Arc<EntryColumns>> {
        self.0
            .get(&(user, span))
            .filter(|(held, _)| *held == generation)
            .map(|(_, columns)| columns)
    }

    pub fn put(&self, user: UserId, span: i64, generation: i64, columns: Arc<EntryColumns>) {
        self.0.insert((user, span), (generation, columns));
    }

    /// Drops an erased client's spans: they could never be served again
    /// (their generations moved on), but nothing of the client may stay.
    pub fn forget(&self, user: UserId) {
        // Only fails when closures are not supported, which `new` turns on.
        let _ = self.0.invalidate_entries_if(move |(u, _), _| *u == user);
    }
}

impl std::fmt::Debug for DecodedSpans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedSpans")
            .field("spans", &self.0.entry_count())
            .finish()
    }
}

/// What an insight read asks for: dates in `[from_ms, to_ms)`, of one
/// exercise or all.
#[derive(Debug, Clone, Copy)]
pub struct SpanRead<'a> {
    pub exercise_key: Option<&'a str>,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl<'a> SpanRead<'a> {
    pub fn new(exercise_key: Option<&'a str>, range: TimeRange) -> Self {
        Self {
            exercise_key,
            from_ms: range.start.map_or(i64::MIN, |d| d.timestamp_millis()),
            to_ms: range.end.map_or(i64::MAX, |d| d.timestamp_millis()),
        }
    }

    /// The first and last span the dates touch; `None` when there are none.
    pub fn spans(&self) -> Option<(i64, i64)> {
        (self.from_ms < self.to_ms).then(|| (span_of(self.from_ms), span_of(self.to_ms - 1)))
    }

    /// Appends what is asked for of one span's entries (all of them when
    /// the span lies inside the dates and no exercise is named).
    pub fn take(&self, out: &mut EntryColumns, span: i64, chunk: &EntryColumns) {
        let whole_span = span * SPAN_MS >= self.from_ms && (span + 1) * SPAN_MS <= self.to_ms;
        if self.exercise_key.is_none() && whole_span {
            out.append(chunk);
            return;
        }
        let wanted: Vec<bool> = chunk
            .exercises()
            .iter()
            .map(|x| self.exercise_key.is_none_or(|k| x.key == k))
            .collect();
        out.extend_from(chunk, |i| {
            let at = chunk.dates_ms()[i];
            wanted[chunk.exercise_of()[i] as usize] && at >= self.from_ms && at < self.to_ms
        });
    }
}

/// The columns as one value: a format byte, the exercise and unit tables,
/// then each column as little-endian numbers.
pub fn pack(columns: &EntryColumns) -> Vec<u8> {
    let n = columns.len();
    let sets = columns.reps().len();
    let mut units: Vec<&'static str> = Vec::new();
    let unit_of: Vec<u8> = columns
        .units()
        .iter()
        .map(|u| match units.iter().position(|c| *c == u.code()) {
            Some(k) => k as u8,
            None => {
                units.push(u.code());
                (units.len() - 1) as u8
            }
        })
        .collect();
    let mut out = Vec::with_capacity(64 + n * 28 + sets * 21);
    out.push(FORMAT);
    put_u32(&mut out, columns.exercises().len() as u32);
    for x in columns.exercises() {
        put_str(&mut out, &x.name);
        put_str(&mut out, &x.key);
    }
    put_u32(&mut out, units.len() as u32);
    for code in &units {
        put_str(&mut out, code);
    }
    put_u32(&mut out, n as u32);
    put_u32(&mut out, sets as u32);
    for id in columns.ids() {
        out.extend_from_slice(&id.bytes());
    }
    for d in columns.dates_ms() {
        out.extend_from_slice(&d.to_le_bytes());
    }
    for x in columns.exercise_of() {
        put_u32(&mut out, *x);
    }
    for e in columns.set_ends() {
        put_u32(&mut out, *e);
    }
    for r in columns.reps() {
        put_u32(&mut out, *r);
    }
    for w in columns.weights() {
        out.extend_from_slice(&w.to_le_bytes());
    }
    for w in columns.weights_kg() {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&unit_of);
    out
}

/// Reads a value [`pack`] wrote; an error for anything else.
pub fn unpack(bytes: &[u8]) -> Result<EntryColumns, String> {
    let mut r = Reader { bytes };
    let format = r.take(1)?[0];
    if format != FORMAT {
        return Err(format!("packed format {format}, expected {FORMAT}"));
    }
    let exercise_count = r.u32()? as usize;
    let mut exercises = Vec::with_capacity(exercise_count.min(4096));
    for _ in 0..exercise_count {
        let name = r.string()?;
        let key = r.string()?;
        exercises.push(LoggedExercise { name, key });
    }
    let unit_count = r.u32()? as usize;
    let mut unit_table = Vec::with_capacity(unit_count.min(16));
    for _ in 0..unit_count {
        let code = r.string()?;
        unit_table.push(Unit::parse(&code).ok_or_else(|| format!("unknown unit {code:?}"))?);
    }
    let n = r.u32()? as usize;
    let sets = r.u32()? as usize;
    let ids = r
        .take(n.checked_mul(12).ok_or("too many entries")?)?
        .chunks_exact(12)
        .map(|b| EntryId::from_bytes(b.try_into().expect("12 bytes")))
        .collect();
    let dates_ms = r.numbers(n, i64::from_le_bytes)?;
    let exercise_of = r.numbers(n, u32::from_le_bytes)?;
    let set_ends = r.numbers(n, u32::from_le_bytes)?;
    let reps = r.numbers(sets, u32::from_le_bytes)?;
    let weights = r.numbers(sets, f64::from_le_bytes)?;
    let weights_kg = r.numbers(sets, f64::from_le_bytes)?;
    let units = r
        .take(sets)?
        .iter()
        .map(|&k| {
            unit_table
                .get(k as usize)
                .copied()
                .ok_or_else(|| format!("unit index {k} out of range"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !r.bytes.is_empty() {
        return Err(format!("{} bytes after the last column", r.bytes.len()));
    }
    EntryColumns::from_parts(ColumnParts {
        ids,
        dates_ms,
        exercise_of,
        exercises,
        set_ends,
        reps,
        weights,
        weights_kg,
        units,
    })
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_u32(out, s.len() as u32);
    out.extend_from_slice(s.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if self.bytes.len() < len {
            return Err(format!(
                "truncated: {len} bytes wanted, {} left",
                self.bytes.len()
            ));
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.u32()? as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|e| e.to_string())
    }

    fn numbers<T, const N: usize>(
        &mut self,
        count: usize,
        read: impl Fn([u8; N]) -> T,
    ) -> Result<Vec<T>, String> {
        let bytes = self.take(count.checked_mul(N).ok_or("column too long")?)?;
        Ok(bytes
            .chunks_exact(N)
            .map(|b| read(b.try_into().expect("N bytes")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workout::test_entry as entry;
    use crate::domain::{WorkoutEntry, WorkoutSet};
    use proptest::prelude::*;

    #[test]
    fn spans_floor_like_the_migration() {
        assert_eq!(span_of(0), 0);
        assert_eq!(span_of(SPAN_MS - 1), 0);
        assert_eq!(span_of(SPAN_MS), 1);
        assert_eq!(span_of(-1), -1);
        assert_eq!(span_of(-SPAN_MS), -1);
        assert_eq!(span_of(-SPAN_MS - 1), -2);
    }

    #[test]
    fn a_read_takes_only_its_dates_and_exercise_from_a_span() {
        let squat = |ms| entry(ms, "Squat", vec![WorkoutSet::new(5, 100.0, Unit::KG)]);
        let bench = |ms| entry(ms, "Bench", vec![WorkoutSet::new(3, 80.0, Unit::KG)]);
        let span = EntryColumns::from_entries(&[squat(10), bench(20), squat(30), squat(40)]);
        let dates = |c: &EntryColumns| c.dates_ms().to_vec();
        let read = |key, from_ms, to_ms| SpanRead {
            exercise_key: key,
            from_ms,
            to_ms,
        };
        let take = |r: SpanRead| {
            let mut out = EntryColumns::default();
            r.take(&mut out, 0, &span);
            out
        };
        // The whole span, all exercises: taken as it is.
        assert_eq!(take(read(None, 0, SPAN_MS)), span);
        assert_eq!(dates(&take(read(None, 20, 40))), [20, 30], "end exclusive");
        assert_eq!(dates(&take(read(Some("squat"), 0, SPAN_MS))), [10, 30, 40]);
        assert_eq!(dates(&take(read(Some("squat"), 11, 41))), [30, 40]);
        assert!(take(read(Some("deadlift"), 0, SPAN_MS)).is_empty());
        let all = SpanRead::new(None, TimeRange::ALL_TIME);
        assert_eq!(
            all.spans(),
            Some((span_of(i64::MIN), span_of(i64::MAX - 1)))
        );
        assert_eq!(read(None, 5, 5).spans(), None, "no dates, no spans");
        assert_eq!(read(None, -1, SPAN_MS + 1).spans(), Some((-1, 1)));
    }

    #[test]
    fn nothing_packs_to_nothing() {
        let empty = EntryColumns::default();
        assert_eq!(unpack(&pack(&empty)).unwrap(), empty);
    }

    #[test]
    fn damaged_values_are_refused() {
        let c = EntryColumns::from_entries(&[entry(
            1,
            "Squat",
            vec![WorkoutSet::new(5, 100.0, Unit::KG)],
        )]);
        let bytes = pack(&c);
        assert!(unpack(&bytes[..bytes.len() - 1]).is_err(), "truncated");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(unpack(&longer).is_err(), "trailing bytes");
        let mut other_format = bytes.clone();
        other_format[0] = 2;
        assert!(unpack(&other_format).is_err(), "unknown format");
        let mut bad_unit = bytes;
        *bad_unit.last_mut().unwrap() = 7;
        assert!(unpack(&bad_unit).is_err(), "unit index out of range");
    }

    proptest! {
        #[test]
        fn every_column_survives_packing(
            entries in prop::collection::vec(
                (
                    -10_000_000_000_000i64..10_000_000_000_000,
                    prop::sample::select(vec!["Squat", "squat", "Bench Press", "Übung", ""]),
                    prop::collection::vec(
                        (0u32..1000, 0.0f64..1000.0, prop::bool::ANY),
                        0..6,
                    ),
                ),
                0..40,
            )
        ) {
            let entries: Vec<WorkoutEntry> = entries
                .into_iter()
                .map(|(at, name, sets)| {
                    let sets = sets
                        .into_iter()
                        .map(|(reps, w, lb)| {
                            WorkoutSet::new(reps, w, Unit::parse(if lb { "lb" } else { "kg" }).unwrap())
                        })
                        .collect();
                    entry(at, name, sets)
                })
                .collect();
            let columns = EntryColumns::from_entries(&entries);
            prop_assert_eq!(unpack(&pack(&columns)).unwrap(), columns);
        }
    }
}
