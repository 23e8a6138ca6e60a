//! CSV imports: Strong's and Hevy's exports and this service's own CSV export,
//! parsed into entries. Pure: the caller passes the bytes, the user and the
//! weight unit; nothing here reads the environment.
//!
//! Column layouts (public example code, no vendor specification exists):
//! - Strong: `Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,
//!   Distance,Seconds,Notes,Workout Notes,RPE` (mwcaisse/strong-data-viz
//!   `src/models/StrongExportRow.ts`); newer exports add `Weight Unit`
//!   (RyanRiddiford/MyGymProgress `.../Records/ExerciseCsv.cs`), which wins
//!   over the caller's unit when present.
//! - Hevy: `title,start_time,end_time,description,exercise_title,superset_id,
//!   exercise_notes,set_index,set_type,weight_kg,reps,distance_km,
//!   duration_seconds,rpe` (adrianbb05/training_charts
//!   `src/utils/entities/WorkoutData.ts`); imperial accounts export
//!   `weight_lbs` instead (Jake-Leicht/Hevy-Dashboard-App
//!   `src/utils/interfaces/interfaces.ts`).
//! - everfit: the columns of [`super::export::CSV_COLUMNS`].
//!
//! One entry per workout x exercise, sets in set order. Warm-up sets (Hevy
//! `set_type=warmup`, Strong `Set Order=W`) are not imported: they would add
//! volume the client did not train for; they are reported as rejected rows
//! with that reason so the counts add up. Rows without reps or weight
//! (cardio, timed holds) are rejected: an entry needs both.

use super::export::CSV_COLUMNS;
use super::{Unit, UserId, WorkoutSet};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Strong,
    Hevy,
    Everfit,
}

impl ImportFormat {
    pub const CODES: &[&str] = &["strong", "hevy", "everfit"];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "strong" => Some(Self::Strong),
            "hevy" => Some(Self::Hevy),
            "everfit" => Some(Self::Everfit),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Strong => "strong",
            Self::Hevy => "hevy",
            Self::Everfit => "everfit",
        }
    }
}

/// One entry to log, with the CSV line its first set came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEntry {
    pub line: u64,
    pub exercise_name: String,
    pub date: DateTime<Utc>,
    pub sets: Vec<WorkoutSet>,
    pub idempotency_key: String,
}

/// A row that was not imported, by its 1-based line in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RejectedRow {
    #[schema(example = 7)]
    pub line: u64,
    #[schema(example = "no weight (cardio or timed sets are not imported)")]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedImport {
    pub entries: Vec<ImportedEntry>,
    pub rejected: Vec<RejectedRow>,
}

/// Why a whole file is refused (a 400, nothing imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the body is not CSV: {0}")]
    NotCsv(String),
    #[error("the header lacks the {format} column(s): {missing}")]
    MissingColumns {
        format: &'static str,
        missing: String,
    },
}

struct Columns(HashMap<String, usize>);

impl Columns {
    fn get<'r>(&self, row: &'r csv::StringRecord, name: &str) -> &'r str {
        self.0
            .get(name)
            .and_then(|&i| row.get(i))
            .map(str::trim)
            .unwrap_or("")
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// One set as read, before grouping.
struct Row {
    line: u64,
    group: String,
    exercise: String,
    date: DateTime<Utc>,
    order: f64,
    set: WorkoutSet,
    key: Option<String>,
}

/// Parses a file. `unit` is the weight unit of Strong exports (Strong
/// writes weights in the app's unit without saying which).
pub fn parse_import(
    format: ImportFormat,
    bytes: &[u8],
    user: UserId,
    unit: Unit,
) -> Result<ParsedImport, ImportError> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| ImportError::NotCsv(format!("not UTF-8 ({e})")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ImportError::NotCsv(e.to_string()))?
        .clone();
    let cols = Columns(
        header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_string(), i))
            .collect(),
    );
    let required: &[&str] = match format {
        ImportFormat::Strong => &["Date", "Exercise Name", "Set Order", "Weight", "Reps"],
        ImportFormat::Hevy => &["start_time", "exercise_title", "set_index", "reps"],
        ImportFormat::Everfit => &CSV_COLUMNS,
    };
    let mut missing: Vec<&str> = required.iter().copied().filter(|c| !cols.has(c)).collect();
    if format == ImportFormat::Hevy && !cols.has("weight_kg") && !cols.has("weight_lbs") {
        missing.push("weight_kg");
    }
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns {
            format: format.code(),
            missing: missing.join(", "),
        });
    }

    let mut out = ParsedImport::default();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.rejected.push(RejectedRow {
                    line,
                    reason: format!("not a CSV row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let read = match format {
            ImportFormat::Strong => strong_row(&cols, &record, unit),
            ImportFormat::Hevy => hevy_row(&cols, &record),
            ImportFormat::Everfit => everfit_row(&cols, &record),
        };
        match read {
            Ok(mut row) => {
                row.line = line;
                rows.push(row);
            }
            Err(reason) => out.rejected.push(RejectedRow { line, reason }),
        }
    }
    out.entries = group(format, user, rows);
    Ok(out)
}

fn strong_row(cols: &Columns, r: &csv::StringRecord, unit: Unit) -> Result<Row, String> {
    let raw_date = cols.get(r, "Date");
    let date = NaiveDateTime::parse_from_str(raw_date, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| format!("Date {raw_date:?} is not like 2024-01-15 07:30:00"))?
        .and_utc();
    let order = cols.get(r, "Set Order");
    if order.eq_ignore_ascii_case("w") {
        return Err("warm-up set (not imported)".into());
    }
    // Strong marks drop and failure sets D and F: ordinary working sets here.
    let order = order.parse::<f64>().unwrap_or(f64::MAX);
    let unit = match cols.get(r, "Weight Unit") {
        "" => unit,
        "lbs" => Unit::parse("lb").expect("lb is a unit"),
        code => Unit::parse(code).ok_or_else(|| format!("Weight Unit {code:?} is unknown"))?,
    };
    let set = read_set(cols.get(r, "Reps"), cols.get(r, "Weight"), unit)?;
    Ok(Row {
        line: 0,
        group: format!("{raw_date}\0{}", cols.get(r, "Workout Name")),
        exercise: exercise(cols.get(r, "Exercise Name"))?,
        date,
        order,
        set,
        key: None,
    })
}

fn hevy_row(cols: &Columns, r: &csv::StringRecord) -> Result<Row, String> {
    let raw_date = cols.get(r, "start_time");
    let date = NaiveDateTime::parse_from_str(raw_date, "%d %b %Y, %H:%M")
        .map_err(|_| format!("start_time {raw_date:?} is not like 15 Jan 2024, 07:30"))?
        .and_utc();
    if cols.get(r, "set_type").eq_ignore_ascii_case("warmup") {
        return Err("warm-up set (not imported)".into());
    }
    let (weight, unit) = if cols.has("weight_kg") {
        (cols.get(r, "weight_kg"), Unit::KG)
    } else {
        (
            cols.get(r, "weight_lbs"),
            Unit::parse("lb").expect("lb is a unit"),
        )
    };
    let set = read_set(cols.get(r, "reps"), weight, unit)?;
    Ok(Row {
        line: 0,
        group: format!("{raw_date}\0{}", cols.get(r, "title")),
        exercise: exercise(cols.get(r, "exercise_title"))?,
        date,
        order: cols.get(r, "set_index").parse().unwrap_or(f64::MAX),
        set,
        key: None,
    })
}

fn everfit_row(cols: &Columns, r: &csv::StringRecord) -> Result<Row, String> {
    let raw_date = cols.get(r, "date");
    let date = DateTime::parse_from_rfc3339(raw_date)
        .map_err(|_| format!("date {raw_date:?} is not an RFC 3339 instant"))?
        .with_timezone(&Utc);
    let code = cols.get(r, "unit");
    let unit = Unit::parse(code).ok_or_else(|| format!("unit {code:?} is unknown"))?;
    let set = read_set(cols.get(r, "reps"), cols.get(r, "weight"), unit)?;
    let entry = cols.get(r, "entryId");
    let key = cols.get(r, "idempotencyKey");
    Ok(Row {
        line: 0,
        // Without an entry id the rows of one date and exercise are one entry.
        group: if entry.is_empty() {
            format!("{raw_date}\0{}", cols.get(r, "exerciseName"))
        } else {
            entry.to_string()
        },
        exercise: exercise(cols.get(r, "exerciseName"))?,
        date,
        order: cols.get(r, "setIndex").parse().unwrap_or(f64::MAX),
        set,
        key: (!key.is_empty()).then(|| key.to_string()),
    })
}

fn exercise(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        Err("no exercise name".into())
    } else {
        Ok(raw.to_string())
    }
}

fn read_set(reps: &str, weight: &str, unit: Unit) -> Result<WorkoutSet, String> {
    if reps.is_empty() {
        return Err("no reps (cardio or timed sets are not imported)".into());
    }
    if weight.is_empty() {
        return Err("no weight (cardio or timed sets are not imported)".into());
    }
    let reps: u32 = reps
        .parse::<f64>()
        .ok()
        .filter(|r| r.fract() == 0.0 && *r >= 0.0 && *r <= u32::MAX as f64)
        .map(|r| r as u32)
        .ok_or_else(|| format!("reps {reps:?} is not a whole number"))?;
    if reps == 0 {
        return Err("reps is 0 (cardio or timed sets are not imported)".into());
    }
    let weight: f64 = weight
        .parse()
        .ok()
        .filter(|w: &f64| w.is_finite() && *w >= 0.0)
        .ok_or_else(|| format!("weight {weight:?} is not a number of at least 0"))?;
    Ok(WorkoutSet::new(reps, weight, unit))
}

fn group(format: ImportFormat, user: UserId, rows: Vec<Row>) -> Vec<ImportedEntry> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut groups: HashMap<(String, String), Vec<Row>> = HashMap::new();
    for row in rows {
        let k = (row.group.clone(), row.exercise.clone());
        groups
            .entry(k.clone())
            .or_insert_with(|| {
                order.push(k);
                Vec::new()
            })
            .push(row);
    }
    order
        .into_iter()
        .map(|k| {
            let mut rows = groups.remove(&k).expect("grouped");
            // Stable: rows with the same (or no) set order keep file order.
            rows.sort_by(|a, b| a.order.total_cmp(&b.order));
            let first = &rows[0];
            let sets: Vec<WorkoutSet> = rows.iter().map(|r| r.set.clone()).collect();
            let key = first
                .key
                .clone()
                .unwrap_or_else(|| content_key(format, user, &first.exercise, first.date, &sets));
            ImportedEntry {
                line: rows.iter().map(|r| r.line).min().unwrap_or(0),
                exercise_name: first.exercise.clone(),
                date: first.date,
                sets,
                idempotency_key: key,
            }
        })
        .collect()
}

/// The same workout imported again gets the same key, so it adds nothing.
fn content_key(
    format: ImportFormat,
    user: UserId,
    exercise: &str,
    date: DateTime<Utc>,
    sets: &[WorkoutSet],
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"everfit/import/v1\0");
    h.update(user.bytes());
    h.update((exercise.len() as u64).to_le_bytes());
    h.update(exercise.as_bytes());
    h.update(date.timestamp_millis().to_le_bytes());
    for s in sets {
        h.update(s.reps.to_le_bytes());
        h.update(s.weight.to_bits().to_le_bytes());
        h.update(s.unit.code().as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("import:{}:{hex}", format.code())
}

/// One part of a file too large for one request: the header row and whole
/// records, with the file line of its first record.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub bytes: Vec<u8>,
    pub first_line: u64,
}

impl Part {
    /// A line as the server reports it for this part (the part's header is
    /// line 1) back to the file's line.
    pub fn file_line(&self, part_line: u64) -> u64 {
        part_line + self.first_line - 2
    }
}

/// Splits a file into parts of at most `max` bytes, each with the header.
/// A part ends only where the workout changes (Strong's `Date`, Hevy's
/// `start_time`, the everfit `entryId`), so no entry is cut in two: a cut
/// entry would import as two entries with other keys. A single workout over
/// `max` is one oversized part (the server then refuses it with 413).
pub fn split_for_upload(
    format: ImportFormat,
    bytes: &[u8],
    max: usize,
) -> Result<Vec<Part>, ImportError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| ImportError::NotCsv(e.to_string()))?
        .clone();
    let column = match format {
        ImportFormat::Strong => "Date",
        ImportFormat::Hevy => "start_time",
        ImportFormat::Everfit => "entryId",
    };
    let column = header
        .iter()
        .position(|h| h.trim().trim_start_matches('\u{feff}') == column)
        .ok_or_else(|| ImportError::MissingColumns {
            format: format.code(),
            missing: column.to_string(),
        })?;
    // (byte offset, line, workout) of every record.
    let mut starts: Vec<(usize, u64, String)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let p = record.position().expect("records have positions");
                let workout = record.get(column).unwrap_or("").to_string();
                starts.push((p.byte() as usize, p.line(), workout));
            }
            // The server reports a broken row by its line; keep it in a part.
            Err(e) => {
                if let Some(p) = e.position() {
                    starts.push((p.byte() as usize, p.line(), String::new()));
                }
            }
        }
    }
    let Some(&(body_start, _, _)) = starts.first() else {
        return Ok(vec![Part {
            bytes: bytes.to_vec(),
            first_line: 2,
        }]);
    };
    let head = &bytes[..body_start];
    let mut parts = Vec::new();
    let mut begin = 0; // index into starts
    while begin < starts.len() {
        let budget = max.saturating_sub(head.len());
        let mut end = begin + 1; // exclusive; always at least one record
        let mut cut = end; // the last boundary between workouts that fits
        while end < starts.len() {
            let size = starts[end].0 - starts[begin].0;
            if size > budget {
                break;
            }
            if starts[end].2 != starts[end - 1].2 {
                cut = end;
            }
            end += 1;
        }
        let fits_all = end == starts.len() && bytes.len() - starts[begin].0 <= budget;
        let stop = if fits_all {
            starts.len()
        } else if cut > begin + 1 || starts.get(cut).is_some_and(|s| s.2 != starts[cut - 1].2) {
            cut
        } else {
            // One workout larger than a part: send it whole.
            let mut e = begin + 1;
            while e < starts.len() && starts[e].2 == starts[begin].2 {
                e += 1;
            }
            e
        };
        let stop_byte = starts.get(stop).map_or(bytes.len(), |s| s.0);
        let mut part = head.to_vec();
        part.extend_from_slice(&bytes[starts[begin].0..stop_byte]);
        parts.push(Part {
            bytes: part,
            first_line: starts[begin].1,
        });
        begin = stop;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WorkoutEntry;
    use crate::domain::export::ExportFormat;
    use chrono::TimeZone;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/imports/");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}{name}")).unwrap()
    }

    fn user() -> UserId {
        "665f1c2b8a1e4d0012345678".parse().unwrap()
    }

    fn lb() -> Unit {
        Unit::parse("lb").unwrap()
    }

    fn summary(e: &ImportedEntry) -> (String, String, Vec<(u32, f64, &'static str)>) {
        (
            e.exercise_name.clone(),
            e.date.to_rfc3339(),
            e.sets
                .iter()
                .map(|s| (s.reps, s.weight, s.unit.code()))
                .collect(),
        )
    }

    #[test]
    fn strong_groups_by_workout_and_exercise_in_set_order() {
        let p = parse_import(ImportFormat::Strong, &fixture("strong.csv"), user(), lb()).unwrap();
        let got: Vec<_> = p.entries.iter().map(summary).collect();
        assert_eq!(
            got,
            vec![
                (
                    "Bench Press (Barbell)".into(),
                    "2024-01-15T07:30:00+00:00".into(),
                    vec![(5, 135.0, "lb"), (5, 145.0, "lb"), (3, 155.0, "lb")]
                ),
                (
                    "Squat (Barbell)".into(),
                    "2024-01-15T07:30:00+00:00".into(),
                    vec![(5, 185.0, "lb"), (5, 185.0, "lb")]
                ),
                (
                    "Pull Up".into(),
                    "2024-01-15T07:30:00+00:00".into(),
                    vec![(8, 0.0, "lb")]
                ),
                (
                    "Bench Press (Barbell)".into(),
                    "2024-01-17T18:05:00+00:00".into(),
                    vec![(5, 150.0, "lb")]
                ),
            ]
        );
        assert_eq!(
            p.rejected,
            vec![
                RejectedRow {
                    line: 2,
                    reason: "warm-up set (not imported)".into()
                },
                RejectedRow {
                    line: 9,
                    reason: "no reps (cardio or timed sets are not imported)".into()
                },
            ]
        );
        assert_eq!(p.entries[0].line, 3);
        assert!(p.entries[0].idempotency_key.starts_with("import:strong:"));
    }

    #[test]
    fn hevy_reads_kg_and_skips_warm_ups() {
        let p = parse_import(ImportFormat::Hevy, &fixture("hevy.csv"), user(), lb()).unwrap();
        let got: Vec<_> = p.entries.iter().map(summary).collect();
        assert_eq!(
            got,
            vec![
                (
                    "Bench Press (Barbell)".into(),
                    "2024-01-15T07:30:00+00:00".into(),
                    vec![(5, 60.0, "kg"), (5, 62.5, "kg")]
                ),
                (
                    "Deadlift (Barbell)".into(),
                    "2024-01-15T07:30:00+00:00".into(),
                    vec![(3, 140.0, "kg")]
                ),
                (
                    "Bench Press (Barbell)".into(),
                    "2024-01-18T19:00:00+00:00".into(),
                    vec![(4, 65.0, "kg")]
                ),
            ]
        );
        let lines: Vec<u64> = p.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 6]);
        assert!(
            p.rejected[1].reason.starts_with("no reps"),
            "{:?}",
            p.rejected
        );
    }

    #[test]
    fn malformed_rows_are_reported_by_line() {
        let p = parse_import(ImportFormat::Hevy, &fixture("malformed.csv"), user(), lb()).unwrap();
        let got: Vec<(u64, &str)> = p
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "reps \"five\" is not a whole number"),
                (
                    4,
                    "start_time \"2024-01-15\" is not like 15 Jan 2024, 07:30"
                ),
                (5, "weight \"-5\" is not a number of at least 0"),
                (6, "no exercise name"),
            ]
        );
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].sets.len(), 2);
    }

    #[test]
    fn the_wrong_header_or_not_csv_is_refused() {
        let strong = fixture("strong.csv");
        assert!(matches!(
            parse_import(ImportFormat::Hevy, &strong, user(), lb()),
            Err(ImportError::MissingColumns { .. })
        ));
        assert!(matches!(
            parse_import(ImportFormat::Strong, b"\xff\xfe\x00", user(), lb()),
            Err(ImportError::NotCsv(_))
        ));
        assert!(matches!(
            parse_import(ImportFormat::Everfit, b"{\"json\": true}", user(), lb()),
            Err(ImportError::MissingColumns { .. })
        ));
    }

    #[test]
    fn keys_are_deterministic_and_follow_content() {
        let a = parse_import(ImportFormat::Strong, &fixture("strong.csv"), user(), lb()).unwrap();
        let b = parse_import(ImportFormat::Strong, &fixture("strong.csv"), user(), lb()).unwrap();
        assert_eq!(a, b);
        let kg = parse_import(
            ImportFormat::Strong,
            &fixture("strong.csv"),
            user(),
            Unit::KG,
        )
        .unwrap();
        assert_ne!(a.entries[0].idempotency_key, kg.entries[0].idempotency_key);
        let other: UserId = "665f1c2b8a1e4d0012345679".parse().unwrap();
        let o = parse_import(ImportFormat::Strong, &fixture("strong.csv"), other, lb()).unwrap();
        assert_ne!(a.entries[0].idempotency_key, o.entries[0].idempotency_key);
        let keys: std::collections::HashSet<_> =
            a.entries.iter().map(|e| &e.idempotency_key).collect();
        assert_eq!(keys.len(), a.entries.len());
    }

    #[test]
    fn the_everfit_export_round_trips_exactly() {
        let at = Utc.with_ymd_and_hms(2026, 6, 9, 7, 30, 15).unwrap();
        let entry = |id: &str, name: &str, key: Option<&str>, sets: Vec<WorkoutSet>| WorkoutEntry {
            id: id.parse().unwrap(),
            user_id: user(),
            exercise_name: name.into(),
            exercise_name_lower: name.to_lowercase(),
            date: at,
            sets,
            idempotency_key: key.map(Into::into),
            created_at: at,
            updated_at: at,
            version: 1,
        };
        let entries = vec![
            entry(
                "665f1c2b8a1e4d00123456aa",
                "Bench Press, \"paused\"",
                Some("k1"),
                vec![
                    WorkoutSet::new(5, 140.0, lb()),
                    WorkoutSet::new(3, 100.5, Unit::KG),
                ],
            ),
            entry(
                "665f1c2b8a1e4d00123456ab",
                "Squat",
                None,
                vec![WorkoutSet::new(5, 102.25, Unit::KG)],
            ),
        ];
        let mut csv = ExportFormat::Csv.preamble();
        csv.extend(ExportFormat::Csv.page(&entries));
        let p = parse_import(ImportFormat::Everfit, &csv, user(), lb()).unwrap();
        assert!(p.rejected.is_empty());
        assert_eq!(p.entries.len(), 2);
        for (imported, original) in p.entries.iter().zip(&entries) {
            assert_eq!(imported.exercise_name, original.exercise_name);
            assert_eq!(imported.date, original.date);
            assert_eq!(imported.sets, original.sets);
        }
        assert_eq!(p.entries[0].idempotency_key, "k1");
        assert!(p.entries[1].idempotency_key.starts_with("import:everfit:"));
        let fixture =
            parse_import(ImportFormat::Everfit, &fixture("everfit.csv"), user(), lb()).unwrap();
        assert_eq!(fixture.entries.len(), 2);
        assert!(fixture.rejected.is_empty());
    }

    #[test]
    fn parts_fit_keep_workouts_whole_and_map_lines_back() {
        let file = fixture("strong.csv");
        let whole = parse_import(ImportFormat::Strong, &file, user(), lb()).unwrap();
        for max in [200, 400, 700, 100_000] {
            let parts = split_for_upload(ImportFormat::Strong, &file, max).unwrap();
            let mut entries = Vec::new();
            let mut rejected = Vec::new();
            for part in &parts {
                assert!(part.bytes.starts_with(b"Date,Workout Name"));
                let p = parse_import(ImportFormat::Strong, &part.bytes, user(), lb()).unwrap();
                entries.extend(p.entries.into_iter().map(|mut e| {
                    e.line = part.file_line(e.line);
                    e
                }));
                rejected.extend(p.rejected.into_iter().map(|mut r| {
                    r.line = part.file_line(r.line);
                    r
                }));
            }
            assert_eq!(entries, whole.entries, "max {max}");
            assert_eq!(rejected, whole.rejected, "max {max}");
            if max == 100_000 {
                assert_eq!(parts.len(), 1);
            } else {
                assert!(parts.len() > 1, "max {max}");
            }
        }
        // Under the budget unless one workout alone is larger.
        for part in split_for_upload(ImportFormat::Strong, &file, 400).unwrap() {
            let p = parse_import(ImportFormat::Strong, &part.bytes, user(), lb()).unwrap();
            let dates: std::collections::HashSet<_> = p.entries.iter().map(|e| e.date).collect();
            assert!(
                part.bytes.len() <= 400 || dates.len() == 1,
                "{}",
                part.bytes.len()
            );
        }
    }
}
