//! Parsing of query parameters shared by several routes, with field errors.

use super::error::ApiError;
use crate::domain::dates::{DateInput, parse_date};
use crate::domain::{FieldError, Unit, UserId};

// Query values are taken exactly as sent (no trimming, an empty value is
// not an absent one), as the OpenAPI document describes them.

pub fn parse_user_id(raw: Option<&str>) -> Result<UserId, ApiError> {
    match raw {
        None => Err(ApiError::field("userId", "is required")),
        Some(s) => s.parse().map_err(|e: crate::domain::ids::InvalidObjectId| {
            ApiError::field("userId", e.to_string())
        }),
    }
}

/// Collects field errors across parameters so one response lists them all.
#[derive(Default)]
pub struct ParamErrors(pub Vec<FieldError>);

impl ParamErrors {
    pub fn take<T>(&mut self, result: Result<T, ApiError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(ApiError::Validation(details)) => {
                self.0.extend(details);
                None
            }
            Err(other) => {
                self.0.push(FieldError::new("", other.to_string()));
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

pub fn parse_optional_date(field: &str, raw: Option<&str>) -> Result<Option<DateInput>, ApiError> {
    match raw {
        None => Ok(None),
        Some(s) => parse_date(s)
            .map(Some)
            .map_err(|m| ApiError::field(field, m)),
    }
}

/// `from`/`to` together: from > to is an error.
pub fn parse_date_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<DateInput>, Option<DateInput>), ApiError> {
    let mut errors = ParamErrors::default();
    let from = errors.take(parse_optional_date("from", from)).flatten();
    let to = errors.take(parse_optional_date("to", to)).flatten();
    if let (Some(f), Some(t)) = (from, to)
        && f.instant >= t.end_exclusive()
    {
        errors
            .0
            .push(FieldError::new("from", "must not be after `to`"));
    }
    errors.finish()?;
    Ok((from, to))
}

pub fn parse_unit(raw: Option<&str>) -> Result<Option<Unit>, ApiError> {
    match raw {
        None => Ok(None),
        Some(code) => Unit::parse(code).map(Some).ok_or_else(|| {
            ApiError::field(
                "unit",
                format!("must be one of: {}", Unit::allowed_codes().join(", ")),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_after_to_is_refused_but_same_day_is_fine() {
        assert!(parse_date_range(Some("2026-06-10"), Some("2026-06-09")).is_err());
        assert!(parse_date_range(Some("2026-06-09"), Some("2026-06-09")).is_ok());
        assert!(parse_date_range(Some("2026-06-09T12:00:00Z"), Some("2026-06-09")).is_ok());
        assert!(parse_date_range(None, Some("2026-06-09")).is_ok());
    }

    #[test]
    fn reports_both_bad_dates() {
        let Err(ApiError::Validation(d)) = parse_date_range(Some("x"), Some("2026-02-30")) else {
            panic!()
        };
        assert_eq!(
            d.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            vec!["from", "to"]
        );
    }

    #[test]
    fn user_and_unit() {
        assert!(parse_user_id(None).is_err());
        assert!(parse_user_id(Some("665f1c2b8a1e4d0012345678")).is_ok());
        assert!(parse_unit(Some("stone")).is_err());
        assert_eq!(parse_unit(Some("lb")).unwrap().unwrap().code(), "lb");
        assert_eq!(parse_unit(None).unwrap(), None);
    }
}
