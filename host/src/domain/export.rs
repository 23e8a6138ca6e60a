//! A client's data as exported: CSV (one row per set) or NDJSON (one entry
//! per line). Pure formatting of pages of entries; the route streams them.

use super::dates::format_instant;
use super::{WorkoutEntry, round2};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

impl ExportFormat {
    pub const CODES: &[&str] = &["csv", "ndjson"];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "csv" => Some(Self::Csv),
            "ndjson" => Some(Self::Ndjson),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Ndjson => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Ndjson => "ndjson",
        }
    }

    /// What goes before the first page (the CSV header row).
    pub fn preamble(self) -> Vec<u8> {
        match self {
            Self::Csv => csv_bytes(|w| w.write_record(CSV_COLUMNS)),
            Self::Ndjson => Vec::new(),
        }
    }

    /// One page of entries, formatted.
    pub fn page(self, entries: &[WorkoutEntry]) -> Vec<u8> {
        match self {
            Self::Csv => csv_bytes(|w| {
                for e in entries {
                    for row in csv_rows(e) {
                        w.write_record(&row)?;
                    }
                }
                Ok(())
            }),
            Self::Ndjson => {
                let mut out = Vec::new();
                for e in entries {
                    serde_json::to_writer(&mut out, &ExportedEntry::from(e))
                        .expect("entries serialize");
                    out.push(b'\n');
                }
                out
            }
        }
    }
}

/// The CSV columns, one row per set.
pub const CSV_COLUMNS: [&str; 10] = [
    "entryId",
    "date",
    "exerciseName",
    "setIndex",
    "reps",
    "weight",
    "unit",
    "weightKg",
    "idempotencyKey",
    "version",
];

fn csv_bytes(write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    write(&mut w).expect("CSV into memory");
    w.into_inner().expect("CSV into memory")
}

fn csv_rows(e: &WorkoutEntry) -> Vec<[String; 10]> {
    e.sets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            [
                e.id.to_hex(),
                format_instant(e.date),
                e.exercise_name.clone(),
                i.to_string(),
                s.reps.to_string(),
                round2(s.weight).to_string(),
                s.unit.code().to_string(),
                round2(s.weight_kg).to_string(),
                e.idempotency_key.clone().unwrap_or_default(),
                e.version.to_string(),
            ]
        })
        .collect()
}

/// One NDJSON line.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedEntry<'a> {
    id: String,
    exercise_name: &'a str,
    date: String,
    sets: Vec<ExportedSet>,
    idempotency_key: Option<&'a str>,
    version: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedSet {
    reps: u32,
    weight: f64,
    unit: &'static str,
    weight_kg: f64,
}

impl<'a> From<&'a WorkoutEntry> for ExportedEntry<'a> {
    fn from(e: &'a WorkoutEntry) -> Self {
        Self {
            id: e.id.to_hex(),
            exercise_name: &e.exercise_name,
            date: format_instant(e.date),
            sets: e
                .sets
                .iter()
                .map(|s| ExportedSet {
                    reps: s.reps,
                    weight: round2(s.weight),
                    unit: s.unit.code(),
                    weight_kg: round2(s.weight_kg),
                })
                .collect(),
            idempotency_key: e.idempotency_key.as_deref(),
            version: e.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Unit, WorkoutSet};
    use chrono::TimeZone;

    fn entry() -> WorkoutEntry {
        let at = chrono::Utc.with_ymd_and_hms(2026, 6, 9, 0, 0, 0).unwrap();
        WorkoutEntry {
            id: "665f1c2b8a1e4d00123456aa".parse().unwrap(),
            user_id: "665f1c2b8a1e4d0012345678".parse().unwrap(),
            exercise_name: "Bench Press, \"paused\"".into(),
            exercise_name_lower: "bench press, \"paused\"".into(),
            date: at,
            sets: vec![
                WorkoutSet::new(5, 140.0, Unit::parse("lb").unwrap()),
                WorkoutSet::new(3, 100.0, Unit::KG),
            ],
            idempotency_key: Some("k1".into()),
            created_at: at,
            updated_at: at,
            version: 2,
        }
    }

    #[test]
    fn csv_has_a_header_and_a_quoted_row_per_set() {
        let mut out = ExportFormat::Csv.preamble();
        out.extend(ExportFormat::Csv.page(&[entry()]));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "entryId,date,exerciseName,setIndex,reps,weight,unit,weightKg,idempotencyKey,version\n\
             665f1c2b8a1e4d00123456aa,2026-06-09T00:00:00Z,\"Bench Press, \"\"paused\"\"\",0,5,140,lb,63.5,k1,2\n\
             665f1c2b8a1e4d00123456aa,2026-06-09T00:00:00Z,\"Bench Press, \"\"paused\"\"\",1,3,100,kg,100,k1,2\n"
        );
        assert!(ExportFormat::Csv.page(&[]).is_empty());
    }

    #[test]
    fn ndjson_is_one_entry_per_line() {
        let out = ExportFormat::Ndjson.page(&[entry(), entry()]);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["sets"][0]["weightKg"], 63.5);
        assert_eq!(v["sets"][0]["unit"], "lb");
        assert_eq!(v["idempotencyKey"], "k1");
        assert!(ExportFormat::Ndjson.preamble().is_empty());
        assert_eq!(ExportFormat::parse("xml"), None);
    }
}
