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
    let envelope = ErrorEnvelope {
        status_code: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error").to_string(),
        message: error_body.message,
        details: error_body.details,
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

/// Turns a panic in a handler into a logged 500 (rendered by `render_errors`).
pub fn panic_to_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    ApiError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}
