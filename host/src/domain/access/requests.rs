//! Validation of the bodies that create (`POST /keys`) and update
//! (`PATCH /keys/{uid}`) an API key, walked as JSON so every problem is
//! reported at once with its path, unknown fields included.

use super::{Action, Scope, WILDCARD};
use crate::domain::dates::parse_date;
use crate::domain::validation::type_name;
use crate::domain::{FieldError, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Clients one key may name (a coach's roster; `["*"]` covers any number).
pub const MAX_USERS: usize = 10_000;

/// A validated request for a new key.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKey {
    pub name: String,
    pub description: Option<String>,
    pub actions: Scope<Action>,
    pub users: Scope<UserId>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A validated update: `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyPatch {
    pub name: Option<String>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<String>>,
    pub users: Option<Scope<UserId>>,
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }
}

fn object(body: &Value) -> Result<&Map<String, Value>, Vec<FieldError>> {
    body.as_object().ok_or_else(|| {
        vec![FieldError::new(
            "",
            format!("body must be a JSON object, got {}", type_name(body)),
        )]
    })
}

/// Validates a `POST /keys` body; `now` bounds `expiresAt`.
pub fn validate_new_key(body: &Value, now: DateTime<Utc>) -> Result<NewKey, Vec<FieldError>> {
    let root = object(body)?;
    let mut errors = Errors::default();
    for key in root.keys() {
        if !["name", "description", "actions", "users", "expiresAt"].contains(&key.as_str()) {
            errors.add(
                key,
                "unknown field (allowed: name, description, actions, users, expiresAt)",
            );
        }
    }
    let name = match root.get("name") {
        None | Some(Value::Null) => {
            errors.add("name", "is required");
            None
        }
        Some(v) => name(v, &mut errors),
    };
    let description = description(root.get("description"), &mut errors);
    let actions = match root.get("actions") {
        None | Some(Value::Null) => {
            errors.add("actions", "is required");
            None
        }
        Some(v) => actions(v, &mut errors),
    };
    let users = match root.get("users") {
        None | Some(Value::Null) => {
            errors.add("users", "is required");
            None
        }
        Some(v) => users(v, &mut errors),
    };
    let expires_at = match root.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match parse_date(s) {
            Ok(d) if d.instant > now => Some(d.instant),
            Ok(_) => {
                errors.add("expiresAt", "must be in the future");
                None
            }
            Err(message) => {
                errors.add("expiresAt", message);
                None
            }
        },
        Some(other) => {
            errors.add(
                "expiresAt",
                format!("must be a string or null, got {}", type_name(other)),
            );
            None
        }
    };
    errors.finish(|| NewKey {
        name: name.expect("checked"),
        description: description.flatten(),
        actions: actions.expect("checked"),
        users: users.expect("checked"),
        expires_at,
    })
}

/// Validates a `PATCH /keys/{uid}` body: only name, description and users
/// change; a key's actions and expiry are fixed when it is created.
pub fn validate_key_patch(body: &Value) -> Result<KeyPatch, Vec<FieldError>> {
    let root = object(body)?;
    let mut errors = Errors::default();
    for key in root.keys() {
        match key.as_str() {
            "name" | "description" | "users" => {}
            "actions" | "expiresAt" | "uid" | "key" => errors.add(
                key,
                "cannot be changed (create a new key and delete this one)",
            ),
            _ => errors.add(key, "unknown field (allowed: name, description, users)"),
        }
    }
    let name = match root.get("name") {
        None => None,
        Some(Value::Null) => {
            errors.add("name", "cannot be removed");
            None
        }
        Some(v) => name(v, &mut errors),
    };
    let description = description(root.get("description"), &mut errors);
    let users = match root.get("users") {
        None => None,
        Some(Value::Null) => {
            errors.add("users", "cannot be removed");
            None
        }
        Some(v) => users(v, &mut errors),
    };
    errors.finish(|| KeyPatch {
        name,
        description,
        users,
    })
}

fn name(v: &Value, errors: &mut Errors) -> Option<String> {
    let Value::String(s) = v else {
        errors.add("name", format!("must be a string, got {}", type_name(v)));
        return None;
    };
    let trimmed = s.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        errors.add(
            "name",
            format!("must be 1-{MAX_NAME_CHARS} characters after trimming"),
        );
        return None;
    }
    Some(trimmed.to_string())
}

/// `None`: absent; `Some(None)`: null (no description).
fn description(v: Option<&Value>, errors: &mut Errors) -> Option<Option<String>> {
    match v {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.chars().count() > MAX_DESCRIPTION_CHARS => {
            errors.add(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            );
            None
        }
        Some(Value::String(s)) => Some(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(other) => {
            errors.add(
                "description",
                format!("must be a string or null, got {}", type_name(other)),
            );
            None
        }
    }
}

/// A non-empty array of strings, each read by `item` (errors at `field[i]`).
fn list<T: Ord + Clone>(
    field: &str,
    v: &Value,
    max: usize,
    errors: &mut Errors,
    item: impl Fn(&str) -> Result<T, String>,
) -> Option<Scope<T>> {
    let Value::Array(items) = v else {
        errors.add(
            field,
            format!("must be an array of strings, got {}", type_name(v)),
        );
        return None;
    };
    if items.is_empty() {
        errors.add(field, "must not be empty (`[\"*\"]` means all)");
        return None;
    }
    if items.len() > max {
        errors.add(field, format!("must have at most {max} items"));
        return None;
    }
    let before = errors.0.len();
    let mut all = false;
    let mut parsed = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let path = format!("{field}[{i}]");
        match it {
            Value::String(s) if s == WILDCARD => all = true,
            Value::String(s) => match item(s) {
                Ok(t) => parsed.push(t),
                Err(message) => errors.add(&path, message),
            },
            other => errors.add(&path, format!("must be a string, got {}", type_name(other))),
        }
    }
    if errors.0.len() > before {
        return None;
    }
    if all && !parsed.is_empty() {
        errors.add(field, "`*` stands alone: it already means all");
        return None;
    }
    Some(if all { Scope::All } else { Scope::only(parsed) })
}

fn actions(v: &Value, errors: &mut Errors) -> Option<Scope<Action>> {
    list("actions", v, Action::ALL.len() + 1, errors, |s| {
        Action::parse(s).ok_or_else(|| {
            let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown action (one of: {}, *)", known.join(", "))
        })
    })
}

fn users(v: &Value, errors: &mut Errors) -> Option<Scope<UserId>> {
    list("users", v, MAX_USERS, errors, |s| {
        s.parse::<UserId>()
            .map_err(|e| format!("{e}, or `*` for every client"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "665f1c2b8a1e4d0012345678";
    const B: &str = "665f1c2b8a1e4d0087654321";

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_key_request_is_read_and_normalized() {
        let now = Utc::now();
        let key = validate_new_key(
            &json!({ "name": "  Coach app ", "actions": ["workouts.read", "prs.read"],
                     "users": [B, A, A], "expiresAt": "2999-01-01T00:00:00Z" }),
            now,
        )
        .unwrap();
        assert_eq!(key.name, "Coach app");
        assert_eq!(key.description, None);
        assert_eq!(
            key.actions,
            Scope::only([Action::PrsRead, Action::WorkoutsRead])
        );
        assert_eq!(
            key.users,
            Scope::only([A.parse().unwrap(), B.parse().unwrap()])
        );
        assert!(key.expires_at.is_some());
        let all = validate_new_key(
            &json!({ "name": "admin", "actions": ["*"], "users": ["*"], "description": "x" }),
            now,
        )
        .unwrap();
        assert_eq!((all.actions, all.users), (Scope::All, Scope::All));
        assert_eq!(all.description.as_deref(), Some("x"));
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let errors = validate_new_key(
            &json!({ "actions": ["workouts.read", "workouts.nuke", 3], "users": [],
                     "expiresAt": "2001-01-01", "colour": "red" }),
            Utc::now(),
        )
        .unwrap_err();
        let mut got = fields(errors);
        got.sort();
        assert_eq!(
            got,
            [
                "actions[1]",
                "actions[2]",
                "colour",
                "expiresAt",
                "name",
                "users"
            ]
        );
        let errors = validate_new_key(
            &json!({ "name": "", "actions": "*", "users": ["*", A], "expiresAt": "2999-01-01T00:00:00" }),
            Utc::now(),
        )
        .unwrap_err();
        let mut got = fields(errors);
        got.sort();
        assert_eq!(got, ["actions", "expiresAt", "name", "users"]);
        assert!(validate_new_key(&json!([]), Utc::now()).is_err());
        let errors = validate_new_key(
            &json!({ "name": "x", "actions": ["*"], "users": ["not-an-id"] }),
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(fields(errors), ["users[0]"]);
    }

    #[test]
    fn a_patch_changes_only_name_description_and_users() {
        let patch =
            validate_key_patch(&json!({ "name": "renamed", "description": null, "users": [A] }))
                .unwrap();
        assert_eq!(patch.name.as_deref(), Some("renamed"));
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.users, Some(Scope::only([A.parse().unwrap()])));
        assert_eq!(validate_key_patch(&json!({})).unwrap(), KeyPatch::default());
        let errors = validate_key_patch(
            &json!({ "actions": ["*"], "expiresAt": null, "name": null, "users": [], "x": 1 }),
        )
        .unwrap_err();
        let mut got = fields(errors);
        got.sort();
        assert_eq!(got, ["actions", "expiresAt", "name", "users", "x"]);
    }
}
