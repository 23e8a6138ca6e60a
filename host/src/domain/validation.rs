//! Validation and normalization of a POST /workouts body.
//!
//! The body is walked as JSON (not deserialized into structs) so that every
//! problem is reported at once with its exact path, unknown fields included.
//! One bad entry rejects the whole batch.

use super::dates::parse_workout_date;
use super::exercise::{MAX_NAME_CHARS, has_bidi_control, is_invisible, name_key, normalize_name};
use super::{FieldError, Unit, UserId, WorkoutSet};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub const MAX_ENTRIES: usize = 100;
pub const MAX_SETS: usize = 50;
pub const MAX_REPS: u64 = 1000;
pub const MAX_WEIGHT_KG: f64 = 1500.0;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// A validated, normalized batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub user_id: UserId,
    pub entries: Vec<NewEntry>,
}

/// One validated entry, not yet given an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub exercise_name: String,
    pub exercise_name_lower: String,
    pub date: DateTime<Utc>,
    pub sets: Vec<WorkoutSet>,
    pub idempotency_key: Option<String>,
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn unknown_fields(&mut self, path: &str, object: &Map<String, Value>, allowed: &[&str]) {
        for key in object.keys().filter(|k| !allowed.contains(&k.as_str())) {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            self.add(
                field,
                format!("unknown field (allowed: {})", allowed.join(", ")),
            );
        }
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Validates and normalizes a submission. `now` bounds future dates.
pub fn validate_submission(
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Errors(Vec::new());
    let Some(root) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            format!("body must be a JSON object, got {}", type_name(body)),
        )]);
    };
    errors.unknown_fields("", root, &["userId", "entries"]);

    let user_id = match root.get("userId") {
        None | Some(Value::Null) => {
            errors.add("userId", "is required");
            None
        }
        Some(Value::String(s)) => match s.parse::<UserId>() {
            Ok(id) => Some(id),
            Err(e) => {
                errors.add("userId", e.to_string());
                None
            }
        },
        Some(other) => {
            errors.add(
                "userId",
                format!("must be a string, got {}", type_name(other)),
            );
            None
        }
    };

    let mut entries = Vec::new();
    match root.get("entries") {
        None | Some(Value::Null) => errors.add("entries", "is required"),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                errors.add("entries", "must contain at least 1 entry");
            } else if items.len() > MAX_ENTRIES {
                errors.add(
                    "entries",
                    format!(
                        "must contain at most {MAX_ENTRIES} entries, got {}",
                        items.len()
                    ),
                );
            } else {
                for (i, item) in items.iter().enumerate() {
                    if let Some(entry) =
                        validate_entry(&format!("entries[{i}]"), item, now, &mut errors)
                    {
                        entries.push(entry);
                    }
                }
                check_duplicate_keys(items.len(), &entries, &mut errors);
            }
        }
        Some(other) => errors.add(
            "entries",
            format!("must be an array, got {}", type_name(other)),
        ),
    }

    match (user_id, errors.0.is_empty()) {
        (Some(user_id), true) => Ok(Submission { user_id, entries }),
        _ => Err(errors.0),
    }
}

fn check_duplicate_keys(total: usize, entries: &[NewEntry], errors: &mut Errors) {
    // Only meaningful when every entry validated (indexes line up with the request).
    if entries.len() != total {
        return;
    }
    for (j, later) in entries.iter().enumerate() {
        let Some(key) = &later.idempotency_key else {
            continue;
        };
        if let Some(i) = entries[..j]
            .iter()
            .position(|e| e.idempotency_key.as_ref() == Some(key))
        {
            errors.add(
                format!("entries[{j}].idempotencyKey"),
                format!("repeats the idempotencyKey of entries[{i}] in the same request"),
            );
        }
    }
}

/// The new content of an edited entry (PUT /workouts/{id}): the fields of
/// a logged entry but the idempotency key, which stays with the entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    pub exercise_name: String,
    pub exercise_name_lower: String,
    pub date: DateTime<Utc>,
    pub sets: Vec<WorkoutSet>,
}

/// Validates and normalizes the body of an edit, with the same rules as a
/// logged entry. `now` bounds future dates.
pub fn validate_replacement(
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Replacement, Vec<FieldError>> {
    let mut errors = Errors(Vec::new());
    if let Some(obj) = body.as_object()
        && obj.contains_key("idempotencyKey")
    {
        errors.add(
            "idempotencyKey",
            "cannot be changed: it stays with the entry (leave it out)",
        );
    }
    let entry = validate_entry_with("", body, now, &mut errors, ENTRY_FIELDS_WITHOUT_KEY);
    match (entry, errors.0.is_empty()) {
        (Some(e), true) => Ok(Replacement {
            exercise_name: e.exercise_name,
            exercise_name_lower: e.exercise_name_lower,
            date: e.date,
            sets: e.sets,
        }),
        _ => Err(errors.0),
    }
}

const ENTRY_FIELDS: &[&str] = &["exerciseName", "date", "sets", "idempotencyKey"];
const ENTRY_FIELDS_WITHOUT_KEY: &[&str] = &["exerciseName", "date", "sets"];

fn validate_entry(
    path: &str,
    item: &Value,
    now: DateTime<Utc>,
    errors: &mut Errors,
) -> Option<NewEntry> {
    validate_entry_with(path, item, now, errors, ENTRY_FIELDS)
}

/// Joins a field to its parent's path (`entries[0]` + `date`; `` + `date`).
fn at(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn validate_entry_with(
    path: &str,
    item: &Value,
    now: DateTime<Utc>,
    errors: &mut Errors,
    allowed: &[&str],
) -> Option<NewEntry> {
    let Some(obj) = item.as_object() else {
        let what = if path.is_empty() { "body " } else { "" };
        errors.add(
            path,
            format!("{what}must be an object, got {}", type_name(item)),
        );
        return None;
    };
    let before = errors.0.len();
    let unknown: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "idempotencyKey" || allowed.contains(&"idempotencyKey"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    errors.unknown_fields(path, &unknown, allowed);

    let name = match obj.get("exerciseName") {
        None | Some(Value::Null) => {
            errors.add(at(path, "exerciseName"), "is required");
            None
        }
        Some(Value::String(raw)) => {
            let normalized = normalize_name(raw);
            let chars = normalized.chars().count();
            if chars == 0 {
                errors.add(at(path, "exerciseName"), "must not be empty");
                None
            } else if chars > MAX_NAME_CHARS {
                errors.add(
                    at(path, "exerciseName"),
                    format!("must be at most {MAX_NAME_CHARS} characters, got {chars}"),
                );
                None
            } else if normalized.chars().any(char::is_control) {
                errors.add(
                    at(path, "exerciseName"),
                    "must not contain control characters",
                );
                None
            } else if is_invisible(&normalized) {
                errors.add(
                    at(path, "exerciseName"),
                    "must have a visible character (not only zero-width ones)",
                );
                None
            } else if has_bidi_control(&normalized) {
                errors.add(
                    at(path, "exerciseName"),
                    "must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)",
                );
                None
            } else {
                Some(normalized)
            }
        }
        Some(other) => {
            errors.add(
                at(path, "exerciseName"),
                format!("must be a string, got {}", type_name(other)),
            );
            None
        }
    };

    let date = match obj.get("date") {
        None | Some(Value::Null) => {
            errors.add(at(path, "date"), "is required");
            None
        }
        Some(Value::String(s)) => match parse_workout_date(s, now) {
            Ok(d) => Some(d),
            Err(msg) => {
                errors.add(at(path, "date"), msg);
                None
            }
        },
        Some(other) => {
            errors.add(
                at(path, "date"),
                format!("must be a string, got {}", type_name(other)),
            );
            None
        }
    };

    let sets = match obj.get("sets") {
        None | Some(Value::Null) => {
            errors.add(at(path, "sets"), "is required");
            None
        }
        Some(Value::Array(items)) => {
            if items.is_empty() {
                errors.add(at(path, "sets"), "must contain at least 1 set");
                None
            } else if items.len() > MAX_SETS {
                errors.add(
                    at(path, "sets"),
                    format!("must contain at most {MAX_SETS} sets, got {}", items.len()),
                );
                None
            } else {
                let sets: Vec<_> = items
                    .iter()
                    .enumerate()
                    .filter_map(|(j, s)| validate_set(&at(path, &format!("sets[{j}]")), s, errors))
                    .collect();
                (sets.len() == items.len()).then_some(sets)
            }
        }
        Some(other) => {
            errors.add(
                at(path, "sets"),
                format!("must be an array, got {}", type_name(other)),
            );
            None
        }
    };

    let idempotency_key = match obj.get("idempotencyKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => {
            let chars = k.chars().count();
            if chars == 0 || chars > MAX_IDEMPOTENCY_KEY_CHARS {
                errors.add(
                    at(path, "idempotencyKey"),
                    format!("must be 1-{MAX_IDEMPOTENCY_KEY_CHARS} characters, got {chars}"),
                );
            }
            Some(k.clone())
        }
        Some(other) => {
            errors.add(
                at(path, "idempotencyKey"),
                format!("must be a string, got {}", type_name(other)),
            );
            None
        }
    };

    if errors.0.len() != before {
        return None;
    }
    let exercise_name = name?;
    Some(NewEntry {
        exercise_name_lower: name_key(&exercise_name),
        exercise_name,
        date: date?,
        sets: sets?,
        idempotency_key,
    })
}

fn validate_set(path: &str, item: &Value, errors: &mut Errors) -> Option<WorkoutSet> {
    let Some(obj) = item.as_object() else {
        errors.add(path, format!("must be an object, got {}", type_name(item)));
        return None;
    };
    let before = errors.0.len();
    errors.unknown_fields(path, obj, &["reps", "weight", "unit"]);

    let reps = match obj.get("reps") {
        None | Some(Value::Null) => {
            errors.add(format!("{path}.reps"), "is required");
            None
        }
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => {
                errors.add(format!("{path}.reps"), "must be at least 1");
                None
            }
            Some(r) if r > MAX_REPS => {
                errors.add(
                    format!("{path}.reps"),
                    format!("must be at most {MAX_REPS}"),
                );
                None
            }
            Some(r) => Some(r as u32),
            None if n.as_i64().is_some() => {
                errors.add(format!("{path}.reps"), "must be at least 1");
                None
            }
            None => {
                errors.add(format!("{path}.reps"), "must be an integer");
                None
            }
        },
        Some(other) => {
            errors.add(
                format!("{path}.reps"),
                format!("must be an integer, got {}", type_name(other)),
            );
            None
        }
    };

    let unit = match obj.get("unit") {
        None | Some(Value::Null) => {
            errors.add(
                format!("{path}.unit"),
                format!("is required (one of: {})", Unit::allowed_codes().join(", ")),
            );
            None
        }
        Some(Value::String(code)) => match Unit::parse(code) {
            Some(u) => Some(u),
            None => {
                errors.add(
                    format!("{path}.unit"),
                    format!("must be one of: {}", Unit::allowed_codes().join(", ")),
                );
                None
            }
        },
        Some(other) => {
            errors.add(
                format!("{path}.unit"),
                format!("must be a string, got {}", type_name(other)),
            );
            None
        }
    };

    let weight = match obj.get("weight") {
        None | Some(Value::Null) => {
            errors.add(format!("{path}.weight"), "is required");
            None
        }
        Some(Value::Number(n)) => {
            match n.as_f64() {
                Some(w) if !w.is_finite() => {
                    errors.add(format!("{path}.weight"), "must be a finite number");
                    None
                }
                Some(w) if w < 0.0 => {
                    errors.add(format!("{path}.weight"), "must be at least 0");
                    None
                }
                Some(w) => {
                    if let Some(u) = unit {
                        let kg = u.to_kg(w);
                        if kg > MAX_WEIGHT_KG {
                            errors.add(format!("{path}.weight"), format!("must be at most {MAX_WEIGHT_KG} kg once converted, got {kg:.2} kg"));
                        }
                    }
                    // -0.0 is stored as 0.
                    Some(if w == 0.0 { 0.0 } else { w })
                }
                None => {
                    errors.add(format!("{path}.weight"), "must be a finite number");
                    None
                }
            }
        }
        Some(other) => {
            errors.add(
                format!("{path}.weight"),
                format!("must be a number, got {}", type_name(other)),
            );
            None
        }
    };

    if errors.0.len() != before {
        return None;
    }
    Some(WorkoutSet::new(reps?, weight?, unit?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    const USER: &str = "665f1c2b8a1e4d0012345678";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 9, 10, 0, 0).unwrap()
    }

    fn body_with_set(set: Value) -> Value {
        json!({ "userId": USER, "entries": [ { "exerciseName": "Bench Press", "date": "2026-06-09", "sets": [ set ] } ] })
    }

    fn fields(result: Result<Submission, Vec<FieldError>>) -> Vec<(String, String)> {
        result
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn accepts_and_normalizes_a_valid_batch() {
        let body = json!({ "userId": USER, "entries": [
            { "exerciseName": "  bench   Press ", "date": "2026-06-09T10:00:00+02:00",
              "sets": [ { "reps": 5, "weight": 225, "unit": "lb" }, { "reps": 3, "weight": 100, "unit": "kg" } ],
              "idempotencyKey": "abc" } ] });
        let s = validate_submission(&body, now()).unwrap();
        assert_eq!(s.user_id.to_hex(), USER);
        let e = &s.entries[0];
        assert_eq!(e.exercise_name, "bench Press");
        assert_eq!(e.exercise_name_lower, "bench press");
        assert_eq!(e.date, Utc.with_ymd_and_hms(2026, 6, 9, 8, 0, 0).unwrap());
        assert_eq!(e.sets[0].weight_kg, 225.0 * 0.453_592_37);
        assert_eq!(e.sets[0].unit.code(), "lb");
        assert_eq!(e.idempotency_key.as_deref(), Some("abc"));
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let body = json!({ "userId": "nope", "extra": 1, "entries": [
            { "exerciseName": "", "date": "2026-02-30", "sets": [ { "reps": 0, "weight": -1, "unit": "st", "x": 1 } ] },
            { "exerciseName": "Squat", "date": "2026-06-09T10:00:00", "sets": [] } ] });
        let got = fields(validate_submission(&body, now()));
        let paths: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        for expected in [
            "extra",
            "userId",
            "entries[0].exerciseName",
            "entries[0].date",
            "entries[0].sets[0].x",
            "entries[0].sets[0].reps",
            "entries[0].sets[0].unit",
            "entries[0].sets[0].weight",
            "entries[1].date",
            "entries[1].sets",
        ] {
            assert!(paths.contains(&expected), "missing {expected} in {got:?}");
        }
    }

    #[test]
    fn enforces_limits() {
        let cases = [
            (
                json!({ "reps": 1001, "weight": 1, "unit": "kg" }),
                "reps",
                "must be at most 1000",
            ),
            (
                json!({ "reps": 2.5, "weight": 1, "unit": "kg" }),
                "reps",
                "must be an integer",
            ),
            (
                json!({ "reps": -3, "weight": 1, "unit": "kg" }),
                "reps",
                "must be at least 1",
            ),
            (
                json!({ "reps": "5", "weight": 1, "unit": "kg" }),
                "reps",
                "must be an integer, got a string",
            ),
            (
                json!({ "reps": 1, "weight": 1500.01, "unit": "kg" }),
                "weight",
                "must be at most 1500 kg once converted, got 1500.01 kg",
            ),
            (
                json!({ "reps": 1, "weight": 3307.0, "unit": "lb" }),
                "weight",
                "must be at most 1500 kg once converted, got 1500.03 kg",
            ),
            (
                json!({ "reps": 1, "weight": 1, "unit": "KG" }),
                "unit",
                "must be one of: kg, lb",
            ),
            (
                json!({ "reps": 1, "weight": 1 }),
                "unit",
                "is required (one of: kg, lb)",
            ),
        ];
        for (set, field, message) in cases {
            let got = fields(validate_submission(&body_with_set(set.clone()), now()));
            assert_eq!(
                got,
                vec![(format!("entries[0].sets[0].{field}"), message.to_string())],
                "{set}"
            );
        }
        // Boundaries that pass.
        for set in [
            json!({ "reps": 1000, "weight": 1500, "unit": "kg" }),
            json!({ "reps": 1, "weight": 0, "unit": "lb" }),
        ] {
            assert!(validate_submission(&body_with_set(set), now()).is_ok());
        }
    }

    #[test]
    fn enforces_batch_sizes_and_name_length() {
        let entry = json!({ "exerciseName": "Squat", "date": "2026-06-09", "sets": [ { "reps": 1, "weight": 1, "unit": "kg" } ] });
        let many = json!({ "userId": USER, "entries": vec![entry.clone(); 101] });
        assert_eq!(fields(validate_submission(&many, now()))[0].0, "entries");
        let hundred = json!({ "userId": USER, "entries": vec![entry.clone(); 100] });
        assert_eq!(
            validate_submission(&hundred, now()).unwrap().entries.len(),
            100
        );
        let none = json!({ "userId": USER, "entries": [] });
        assert_eq!(
            fields(validate_submission(&none, now()))[0].1,
            "must contain at least 1 entry"
        );

        let sets = vec![json!({ "reps": 1, "weight": 1, "unit": "kg" }); 51];
        let body = json!({ "userId": USER, "entries": [ { "exerciseName": "Squat", "date": "2026-06-09", "sets": sets } ] });
        assert_eq!(
            fields(validate_submission(&body, now()))[0].0,
            "entries[0].sets"
        );

        let long = "x".repeat(101);
        let body = json!({ "userId": USER, "entries": [ { "exerciseName": long, "date": "2026-06-09", "sets": [ { "reps": 1, "weight": 1, "unit": "kg" } ] } ] });
        assert_eq!(
            fields(validate_submission(&body, now()))[0].1,
            "must be at most 100 characters, got 101"
        );
        let padded = format!("   {}   ", "y".repeat(100));
        let body = json!({ "userId": USER, "entries": [ { "exerciseName": padded, "date": "2026-06-09", "sets": [ { "reps": 1, "weight": 1, "unit": "kg" } ] } ] });
        assert!(validate_submission(&body, now()).is_ok());
    }

    #[test]
    fn idempotency_keys_are_bounded_and_unique_within_a_request() {
        let entry = |key: Value| json!({ "exerciseName": "Squat", "date": "2026-06-09", "sets": [ { "reps": 1, "weight": 1, "unit": "kg" } ], "idempotencyKey": key });
        let body = json!({ "userId": USER, "entries": [ entry(json!("k")), entry(json!("k")) ] });
        assert_eq!(
            fields(validate_submission(&body, now()))[0].0,
            "entries[1].idempotencyKey"
        );
        let body = json!({ "userId": USER, "entries": [ entry(json!("")) ] });
        assert!(validate_submission(&body, now()).is_err());
        let body = json!({ "userId": USER, "entries": [ entry(json!("k".repeat(129))) ] });
        assert!(validate_submission(&body, now()).is_err());
        let body = json!({ "userId": USER, "entries": [ entry(json!("k".repeat(128))), entry(Value::Null) ] });
        assert!(validate_submission(&body, now()).is_ok());
    }

    #[test]
    fn names_must_be_visible_and_free_of_bidi_controls() {
        for (name, message) in [
            (
                "\u{200B}\u{200D}",
                "must have a visible character (not only zero-width ones)",
            ),
            (
                "Squat\u{202E}tauqS",
                "must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)",
            ),
        ] {
            let body = json!({ "userId": "665f1c2b8a1e4d0012345678", "entries": [
                { "exerciseName": name, "date": "2026-06-08", "sets": [ { "reps": 1, "weight": 1, "unit": "kg" } ] } ] });
            let errors = validate_submission(&body, now()).unwrap_err();
            assert_eq!(errors[0].field, "entries[0].exerciseName");
            assert_eq!(errors[0].message, message);
        }
        let body = json!({ "userId": "665f1c2b8a1e4d0012345678", "entries": [
            { "exerciseName": "  U\u{0308}bung\u{00A0}\u{00A0}Eins ", "date": "2026-06-08",
              "sets": [ { "reps": 1, "weight": 1, "unit": "kg" } ] } ] });
        let ok = validate_submission(&body, now()).unwrap();
        assert_eq!(ok.entries[0].exercise_name, "\u{00DC}bung Eins");
        assert_eq!(ok.entries[0].exercise_name_lower, "übung eins");
    }

    #[test]
    fn an_edit_takes_the_entry_fields_but_keeps_the_key() {
        let body = json!({ "exerciseName": "  Back   Squat ", "date": "2026-06-08",
            "sets": [ { "reps": 5, "weight": 225, "unit": "lb" } ] });
        let r = validate_replacement(&body, now()).unwrap();
        assert_eq!(r.exercise_name, "Back Squat");
        assert_eq!(r.exercise_name_lower, "back squat");
        assert_eq!(r.sets[0].weight_kg, 225.0 * 0.453_592_37);
        let bad = json!({ "exerciseName": "", "date": "2026-02-30", "sets": [],
            "idempotencyKey": "k", "extra": 1 });
        let fields: Vec<String> = validate_replacement(&bad, now())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["idempotencyKey", "extra", "exerciseName", "date", "sets"]
        );
        assert_eq!(
            validate_replacement(&json!([1]), now()).unwrap_err()[0].message,
            "body must be an object, got an array"
        );
    }

    #[test]
    fn refuses_non_object_bodies_and_missing_fields() {
        assert!(validate_submission(&json!([1, 2]), now()).is_err());
        let got = fields(validate_submission(&json!({}), now()));
        assert_eq!(
            got,
            vec![
                ("userId".into(), "is required".into()),
                ("entries".into(), "is required".into())
            ]
        );
    }
}
