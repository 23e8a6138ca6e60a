//! The one error type of the HTTP layer and its status table.
//!
//! Handlers and extractors return [`ApiError`]; its response carries the
//! error as an extension and the `envelope` middleware renders every error,
//! from any layer, into the one JSON shape of the contract (it knows the path).
//! Internal errors are logged here and never shown to the client.

use crate::domain::FieldError;
use crate::plugins::PluginError;
use crate::queue::QueueError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Validation failed")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    BadRequest {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("Request body is larger than the 1 MiB limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
    /// An insight plugin did not produce a result (its own fault, not the host's).
    #[error("Plugin {plugin}: {error}")]
    Plugin { plugin: String, error: PluginError },
}

/// The status of every error kind, in one place.
impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Plugin { error, .. } => match error {
                PluginError::InvalidParam { .. } => StatusCode::BAD_REQUEST,
                PluginError::Failed(_) => StatusCode::UNPROCESSABLE_ENTITY,
                PluginError::Trapped(_) | PluginError::MemoryLimit(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                PluginError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            },
        }
    }

    /// A stable machine-readable code, for errors the status alone does not
    /// tell apart (rendered as the envelope's `code`).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            ApiError::Plugin { error, .. } => Some(match error {
                PluginError::InvalidParam { .. } => "plugin_invalid_param",
                PluginError::Failed(_) => "plugin_failed",
                PluginError::Trapped(_) => "plugin_trapped",
                PluginError::MemoryLimit(_) => "plugin_memory_limit",
                PluginError::Timeout(_) => "plugin_timeout",
            }),
            _ => None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// What the client is told.
    fn public_body(&self) -> ErrorBody {
        let (message, details) = match self {
            ApiError::Validation(details) => ("Validation failed".to_string(), details.clone()),
            ApiError::BadRequest { message, details } | ApiError::Conflict { message, details } => {
                (message.clone(), details.clone())
            }
            ApiError::Internal(_) => ("Internal server error".to_string(), Vec::new()),
            ApiError::Plugin {
                error: PluginError::InvalidParam { param, message },
                ..
            } => (
                "Validation failed".to_string(),
                vec![FieldError::new(param, message)],
            ),
            other => (other.to_string(), Vec::new()),
        };
        ErrorBody {
            message,
            details,
            code: self.code(),
        }
    }
}

/// The message and details of an error response; `envelope` adds the rest.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    pub message: String,
    pub details: Vec<FieldError>,
    pub code: Option<&'static str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            ApiError::ServiceUnavailable(msg) => tracing::warn!(%msg, "dependency unavailable"),
            ApiError::Plugin { plugin, error } => {
                tracing::warn!(plugin = %plugin, error = %error, "plugin call failed")
            }
            _ => {}
        }
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self.public_body());
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(msg) => {
                tracing::warn!(%msg, "store unavailable");
                ApiError::ServiceUnavailable("The store is unavailable, try again shortly".into())
            }
            StoreError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(msg) => {
                tracing::warn!(%msg, "queue unavailable");
                ApiError::ServiceUnavailable(
                    "The write queue is unavailable; nothing was accepted, try again shortly"
                        .into(),
                )
            }
            QueueError::Internal(e) => ApiError::Internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status_and_internal_details_stay_hidden() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                ApiError::Validation(vec![FieldError::new("a", "b")]),
                400,
                "Validation failed",
            ),
            (
                ApiError::bad_request("Malformed cursor"),
                400,
                "Malformed cursor",
            ),
            (
                ApiError::NotFound("Workout not found".into()),
                404,
                "Workout not found",
            ),
            (
                ApiError::Conflict {
                    message: "c".into(),
                    details: vec![],
                },
                409,
                "c",
            ),
            (
                ApiError::PayloadTooLarge,
                413,
                "Request body is larger than the 1 MiB limit",
            ),
            (ApiError::UnsupportedMediaType("u".into()), 415, "u"),
            (ApiError::ServiceUnavailable("s".into()), 503, "s"),
            (
                ApiError::Internal(anyhow::anyhow!("secret table name")),
                500,
                "Internal server error",
            ),
        ];
        for (err, status, message) in cases {
            assert_eq!(err.status().as_u16(), status);
            let body = err.public_body();
            assert_eq!(body.message, message);
            assert!(!body.message.contains("secret"));
        }
    }

    #[test]
    fn plugin_failures_have_stable_codes_and_say_what_happened() {
        use std::time::Duration;
        let plugin = |error| ApiError::Plugin {
            plugin: "progress".into(),
            error,
        };
        let cases = [
            (
                plugin(PluginError::Timeout(Duration::from_secs(1))),
                504,
                "plugin_timeout",
            ),
            (
                plugin(PluginError::Trapped("unreachable".into())),
                500,
                "plugin_trapped",
            ),
            (
                plugin(PluginError::MemoryLimit(64 << 20)),
                500,
                "plugin_memory_limit",
            ),
            (
                plugin(PluginError::Failed("no".into())),
                422,
                "plugin_failed",
            ),
            (
                plugin(PluginError::InvalidParam {
                    param: "period".into(),
                    message: "bad".into(),
                }),
                400,
                "plugin_invalid_param",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status);
            assert_eq!(err.code(), Some(code));
            let body = err.public_body();
            assert_eq!(body.code, Some(code));
            assert_ne!(body.message, "Internal server error", "{code}");
        }
        assert_eq!(ApiError::NotFound("x".into()).code(), None);
    }

    #[test]
    fn store_and_queue_outages_are_503() {
        assert_eq!(
            ApiError::from(StoreError::Unavailable("x".into())).status(),
            503
        );
        assert_eq!(
            ApiError::from(QueueError::Unavailable("x".into())).status(),
            503
        );
        assert_eq!(
            ApiError::from(StoreError::Internal(anyhow::anyhow!("x"))).status(),
            500
        );
    }
}
