//! Renders every error response, whatever produced it (handlers, extractors,
//! routing, body limits, timeouts, panics), into the contract's JSON shape.

use super::error::{ApiError, Code, ErrorBody};
use crate::domain::FieldError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::any::Any;

/// The error envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "statusCode": 400, "error": "Bad Request", "message": "Validation failed",
    "details": [ { "field": "entries[0].sets[1].reps", "message": "must be at least 1" } ],
    "timestamp": "2026-06-09T10:00:00Z", "path": "/workouts",
    "code": "validation_failed", "link": "docs/errors.md#validation_failed" }))]
pub struct ErrorEnvelope {
    pub status_code: u16,
    /// The HTTP reason phrase.
    pub error: String,
    pub message: String,
    pub details: Vec<FieldError>,
    pub timestamp: String,
    pub path: String,
    /// A stable, machine-readable code (see `docs/errors.md`).
    #[schema(value_type = ErrorCodeSchema)]
    pub code: &'static str,
    /// Where the code is documented.
    #[schema(example = "docs/errors.md#validation_failed")]
    pub link: String,
}

/// The envelope's `code` in OpenAPI: a string enum of every code.
pub struct ErrorCodeSchema;

impl utoipa::PartialSchema for ErrorCodeSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Code::ALL.iter().map(|c| c.as_str())))
            .description(Some("A stable, machine-readable error code"))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCodeSchema {}

fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Route not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed for this route",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body is larger than the 1 MiB limit",
        StatusCode::REQUEST_TIMEOUT => "The request took too long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "Expected a JSON body (Content-Type: application/json)"
        }
        s if s.is_server_error() => "Internal server error",
        _ => "Request failed",
    }
}

pub async fn render_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let error_body = match parts.extensions.remove::<ErrorBody>() {
        Some(b) => b,
        None => {
            let is_json = parts
                .headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            if is_json {
                // Already a JSON answer with an error status (e.g. /health's 503).
                return Response::from_parts(parts, body);
            }
            ErrorBody {
                message: default_message(status).to_string(),
                details: Vec::new(),
                code: Code::for_status(status),
            }
        }
    };
    let (message, details) = capped(error_body.message, error_body.details);
    let envelope = ErrorEnvelope {
        status_code: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error").to_string(),
        message,
        details,
        timestamp: crate::domain::dates::format_instant(chrono::Utc::now()),
        path,
        code: error_body.code.as_str(),
        link: error_body.code.doc_link(),
    };
    let bytes = serde_json::to_vec(&envelope).expect("envelope serializes");
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Problems listed in one response at most: a body of thousands of bad
/// fields must not make an answer larger than itself.
pub const MAX_DETAILS: usize = 50;
/// Longest field path or problem text in `details` (both may echo input).
pub const MAX_DETAIL_CHARS: usize = 200;

/// The first [`MAX_DETAILS`] problems, each cut to [`MAX_DETAIL_CHARS`];
/// the message says how many there were in all.
fn capped(message: String, mut details: Vec<FieldError>) -> (String, Vec<FieldError>) {
    let total = details.len();
    details.truncate(MAX_DETAILS);
    for d in &mut details {
        cut(&mut d.field);
        cut(&mut d.message);
    }
    if total > MAX_DETAILS {
        let message = format!("{message} (the first {MAX_DETAILS} of {total} problems are listed)");
        (message, details)
    } else {
        (message, details)
    }
}

fn cut(text: &mut String) {
    if let Some((at, _)) = text.char_indices().nth(MAX_DETAIL_CHARS) {
        text.truncate(at);
        text.push('…');
    }
}

/// Turns a panic in a handler into a logged 500 (rendered by `render_errors`).
pub fn panic_to_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_capped_in_number_and_length() {
        let many: Vec<FieldError> = (0..120)
            .map(|n| FieldError::new(format!("f{n}"), "unknown field"))
            .collect();
        let (message, details) = capped("Validation failed".into(), many);
        assert_eq!(details.len(), MAX_DETAILS);
        assert_eq!(details[0].field, "f0");
        assert_eq!(
            message,
            "Validation failed (the first 50 of 120 problems are listed)"
        );
        let long = "é".repeat(MAX_DETAIL_CHARS + 10);
        let (message, details) =
            capped("Validation failed".into(), vec![FieldError::new(long, "x")]);
        assert_eq!(message, "Validation failed");
        assert_eq!(details[0].field.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(details[0].field.ends_with('…'));
        let exact = "a".repeat(MAX_DETAIL_CHARS);
        let (_, details) = capped(String::new(), vec![FieldError::new(exact.clone(), "x")]);
        assert_eq!(details[0].field, exact);
    }
}
