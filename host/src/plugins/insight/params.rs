//! Checking a caller's parameters against what a plugin declares.

use super::types::{Descriptor, ParamKind, Params};
use crate::domain::FieldError;
use std::collections::BTreeMap;

/// Checks caller parameters against the declaration: unknown names,
/// missing required ones and ill-typed values are field errors naming the
/// parameter. Defaults are filled in.
pub fn validate(
    descriptor: &Descriptor,
    raw: &BTreeMap<String, String>,
) -> Result<Params, Vec<FieldError>> {
    let mut errors = Vec::new();
    for name in raw.keys() {
        if !descriptor.params.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = descriptor.params.iter().map(|p| p.name.as_str()).collect();
            errors.push(FieldError::new(
                name,
                format!(
                    "unknown parameter for plugin {}; it takes: {}",
                    descriptor.name,
                    known.join(", ")
                ),
            ));
        }
    }
    let mut params = BTreeMap::new();
    for spec in &descriptor.params {
        // A value is taken as sent: an empty one is an error, not an
        // absent one, so the OpenAPI document can state the rule.
        if raw.get(&spec.name).is_some_and(|v| v.is_empty()) {
            errors.push(FieldError::new(&spec.name, "must not be empty"));
            continue;
        }
        let value = raw
            .get(&spec.name)
            .cloned()
            .or_else(|| spec.default.clone());
        match value {
            None if spec.required => errors.push(FieldError::new(&spec.name, "is required")),
            None => {}
            Some(v) => match check_value(&spec.kind, &v) {
                Ok(()) => {
                    params.insert(spec.name.clone(), v);
                }
                Err(message) => errors.push(FieldError::new(&spec.name, message)),
            },
        }
    }
    if errors.is_empty() {
        Ok(Params(params))
    } else {
        Err(errors)
    }
}

/// Whether `v` is a value of `kind` (the reason when not).
pub fn check_value(kind: &ParamKind, v: &str) -> Result<(), String> {
    match kind {
        ParamKind::Text | ParamKind::Exercise => {
            if v.chars().count() > 200 {
                Err("must be at most 200 characters".into())
            } else {
                Ok(())
            }
        }
        ParamKind::Integer { min, max } => match v.parse::<i64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(()),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        },
        ParamKind::Number => match v.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(()),
            _ => Err("must be a number".into()),
        },
        ParamKind::Choice { values } => {
            if values.iter().any(|c| c == v) {
                Ok(())
            } else {
                Err(format!("must be one of: {}", values.join(", ")))
            }
        }
    }
}
