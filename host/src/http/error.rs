//! The one error type of the HTTP layer and the table of every error code.
//!
//! Handlers and extractors return [`ApiError`]; its response carries the
//! error as an extension and the `envelope` middleware renders every error,
//! from any layer, into the one JSON shape of the contract (it knows the path).
//! Each error has a stable [`Code`]: its name, HTTP status and documentation
//! anchor live in one table ([`codes!`]), as Meilisearch does. Internal errors
//! are logged here and never shown to the client.

use crate::domain::FieldError;
use crate::plugins::PluginError;
use crate::queue::QueueError;
use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Where the error codes are documented (anchors are the codes).
pub const ERRORS_DOC: &str = "docs/errors.md";

/// Declares [`Code`] and its table: variant, name, status, meaning.
macro_rules! codes {
    ($($variant:ident = $name:literal, $status:ident, $meaning:literal;)*) => {
        /// A stable, machine-readable error code (the envelope's `code`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)*
                }
            }

            /// What the code means, for the documentation.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }
        }
    };
}

codes! {
    ValidationFailed = "validation_failed", BAD_REQUEST,
        "The body or a query parameter is invalid; `details` names every problem by its path.";
    MalformedJson = "malformed_json", BAD_REQUEST,
        "The body is not valid JSON.";
    InvalidQuery = "invalid_query", BAD_REQUEST,
        "The query string cannot be read (an unknown parameter, a repeated one).";
    InvalidPath = "invalid_path", BAD_REQUEST,
        "A path segment cannot be read.";
    InvalidCursor = "invalid_cursor", BAD_REQUEST,
        "The pagination cursor is malformed, tampered with, or belongs to another user or other filters.";
    InvalidCsv = "invalid_csv", BAD_REQUEST,
        "The import body is not CSV (not UTF-8, unreadable) or its header lacks the columns of the named format.";
    BadRequest = "bad_request", BAD_REQUEST,
        "The request is malformed in a way the server rejected before reading it.";
    RouteNotFound = "route_not_found", NOT_FOUND,
        "No route has this path.";
    WorkoutNotFound = "workout_not_found", NOT_FOUND,
        "No entry with this id belongs to this user.";
    ImportNotFound = "import_not_found", NOT_FOUND,
        "No import with this id belongs to this user.";
    PluginNotFound = "plugin_not_found", NOT_FOUND,
        "No insight plugin has this name (`GET /insights` lists them).";
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED,
        "The route exists but not with this method.";
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT,
        "The request took longer than REQUEST_TIMEOUT_SECS.";
    IdempotencyKeyConflict = "idempotency_key_conflict", CONFLICT,
        "An idempotencyKey was already used for a different workout.";
    PreconditionFailed = "precondition_failed", PRECONDITION_FAILED,
        "The entry changed since the version named in If-Match; the ETag header has the current one.";
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE,
        "The body is larger than the 1 MiB limit (refused from its `Content-Length` before it is read).";
    UriTooLong = "uri_too_long", URI_TOO_LONG,
        "The path and query are longer than 8 KiB.";
    HeadersTooLarge = "headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE,
        "The request headers add up to more than 16 KiB.";
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE,
        "The body is not JSON (Content-Type: application/json), or for POST /imports not text/csv.";
    MissingAuthorizationHeader = "missing_authorization_header", UNAUTHORIZED,
        "No `Authorization: Bearer <key>` header (every route but /health, /docs, /openapi.json and /app needs one).";
    InvalidApiKey = "invalid_api_key", FORBIDDEN,
        "The `Authorization` header holds no valid key: not `Bearer <key>`, unknown, deleted, or issued under another master key.";
    ExpiredApiKey = "expired_api_key", FORBIDDEN,
        "The API key (or the key that signed the tenant token) is past its `expiresAt`.";
    InvalidTenantToken = "invalid_tenant_token", FORBIDDEN,
        "The tenant token is malformed, tampered with, signed by an unknown or deleted key, or claims users outside its key's.";
    ExpiredTenantToken = "expired_tenant_token", FORBIDDEN,
        "The tenant token is past its `exp`.";
    ActionNotAllowed = "action_not_allowed", FORBIDDEN,
        "The key does not grant the action this route needs (named in the message).";
    UserNotAllowed = "user_not_allowed", FORBIDDEN,
        "The key or tenant token is not scoped to this client (`userId`).";
    MasterKeyRequired = "master_key_required", FORBIDDEN,
        "Managing API keys needs the master key.";
    MasterKeyNotSet = "master_key_not_set", FORBIDDEN,
        "The server runs without MASTER_KEY, so it has no API keys to manage.";
    KeyNotFound = "key_not_found", NOT_FOUND,
        "No API key has this uid.";
    RateLimited = "rate_limited", TOO_MANY_REQUESTS,
        "Too many requests for this key (or address); retry after `Retry-After` seconds.";
    PluginInvalidParam = "plugin_invalid_param", BAD_REQUEST,
        "The insight plugin refused a parameter value (named in `details`).";
    PluginFailed = "plugin_failed", UNPROCESSABLE_ENTITY,
        "The insight plugin reported a failure of its own.";
    PluginTrapped = "plugin_trapped", INTERNAL_SERVER_ERROR,
        "The insight plugin trapped (a panic, `unreachable`, an out-of-bounds access, a denied capability).";
    PluginMemoryLimit = "plugin_memory_limit", INTERNAL_SERVER_ERROR,
        "The insight plugin grew past its memory limit.";
    PluginTimeout = "plugin_timeout", GATEWAY_TIMEOUT,
        "The insight plugin ran past its deadline and was stopped.";
    StoreUnavailable = "store_unavailable", SERVICE_UNAVAILABLE,
        "The store cannot be reached; retry after `Retry-After` seconds.";
    QueueUnavailable = "queue_unavailable", SERVICE_UNAVAILABLE,
        "The write queue cannot be reached; nothing was accepted; retry after `Retry-After` seconds.";
    QueueBacklogged = "queue_backlogged", SERVICE_UNAVAILABLE,
        "The write queue is past its depth limit; nothing was accepted; retry after `Retry-After` seconds.";
    Internal = "internal", INTERNAL_SERVER_ERROR,
        "A bug or corrupt data; the cause is logged with the request id, never returned.";
}

impl Code {
    /// The documentation of this code.
    pub fn doc_link(self) -> String {
        format!("{ERRORS_DOC}#{}", self.as_str())
    }

    /// The code of an error response that carries none (produced by the
    /// framework: routing, body limits, timeouts).
    pub fn for_status(status: StatusCode) -> Code {
        match status {
            StatusCode::NOT_FOUND => Code::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => Code::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Code::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT => Code::RequestTimeout,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Code::UnsupportedMediaType,
            StatusCode::SERVICE_UNAVAILABLE => Code::StoreUnavailable,
            s if s.is_server_error() => Code::Internal,
            _ => Code::BadRequest,
        }
    }
}

/// How long a client should wait before retrying after an outage.
pub const RETRY_AFTER_UNAVAILABLE: Duration = Duration::from_secs(5);
/// And after a backlog refusal: the depth limits are about 10 s of work.
pub const RETRY_AFTER_BACKLOGGED: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Validation failed")]
    Validation(Vec<FieldError>),
    /// A client error other than validation, with its code.
    #[error("{message}")]
    BadRequest {
        code: Code,
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{message}")]
    NotFound { code: Code, message: String },
    #[error("{message}")]
    Conflict {
        message: String,
        details: Vec<FieldError>,
    },
    /// `If-Match` named another version than the entry's current one.
    #[error("The entry is at version {current}, not the one in If-Match")]
    PreconditionFailed { current: i64 },
    #[error("Request body is larger than the 1 MiB limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A dependency is down; the client may retry after `retry_after`.
    #[error("{message}")]
    Unavailable {
        code: Code,
        message: String,
        retry_after: Duration,
    },
    /// No credentials (401), or credentials that do not allow this (403).
    #[error("{message}")]
    Denied { code: Code, message: String },
    /// Over the rate limit; the client may retry after `retry_after`.
    #[error("Too many requests: slow down and retry after `Retry-After` seconds")]
    RateLimited { retry_after: Duration },
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
    /// An insight plugin did not produce a result (its own fault, not the host's).
    #[error("Plugin {plugin}: {error}")]
    Plugin { plugin: String, error: PluginError },
}

impl ApiError {
    /// The code of this error; its status follows from it.
    pub fn code(&self) -> Code {
        match self {
            ApiError::Validation(_) => Code::ValidationFailed,
            ApiError::BadRequest { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Denied { code, .. }
            | ApiError::Unavailable { code, .. } => *code,
            ApiError::RateLimited { .. } => Code::RateLimited,
            ApiError::Conflict { .. } => Code::IdempotencyKeyConflict,
            ApiError::PreconditionFailed { .. } => Code::PreconditionFailed,
            ApiError::PayloadTooLarge => Code::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
            ApiError::Internal(_) => Code::Internal,
            ApiError::Plugin { error, .. } => match error {
                PluginError::InvalidParam { .. } => Code::PluginInvalidParam,
                PluginError::Failed(_) => Code::PluginFailed,
                PluginError::Trapped(_) | PluginError::Panicked(_) => Code::PluginTrapped,
                PluginError::MemoryLimit(_) => Code::PluginMemoryLimit,
                PluginError::Timeout(_) => Code::PluginTimeout,
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    pub fn bad_request(code: Code, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn not_found(code: Code, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn denied(code: Code, message: impl Into<String>) -> Self {
        ApiError::Denied {
            code,
            message: message.into(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// What the client is told.
    fn public_body(&self) -> ErrorBody {
        let (message, details) = match self {
            ApiError::Validation(details) => ("Validation failed".to_string(), details.clone()),
            ApiError::BadRequest {
                message, details, ..
            }
            | ApiError::Conflict { message, details } => (message.clone(), details.clone()),
            ApiError::Internal(_) => ("Internal server error".to_string(), Vec::new()),
            ApiError::Plugin {
                error: PluginError::InvalidParam { param, message },
                ..
            } => (
                "Validation failed".to_string(),
                vec![FieldError::new(param, message)],
            ),
            // The panic's message, as the plugin printed it; never its backtrace.
            ApiError::Plugin {
                plugin,
                error: PluginError::Panicked(panic),
            } => (
                format!("Plugin {plugin}: plugin panicked"),
                vec![FieldError::new("panic", panic)],
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

/// The message, details and code of an error response; `envelope` adds the rest.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    pub message: String,
    pub details: Vec<FieldError>,
    pub code: Code,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            ApiError::Unavailable { message, .. } => {
                tracing::warn!(%message, "dependency unavailable")
            }
            ApiError::Plugin { plugin, error } => {
                tracing::warn!(plugin = %plugin, error = %error, "plugin call failed")
            }
            _ => {}
        }
        let mut response = self.status().into_response();
        match &self {
            ApiError::Unavailable { retry_after, .. } | ApiError::RateLimited { retry_after } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(*retry_after)),
                );
            }
            ApiError::PreconditionFailed { current } => {
                if let Ok(etag) = HeaderValue::from_str(&format!("\"{current}\"")) {
                    response.headers_mut().insert(header::ETAG, etag);
                }
            }
            _ => {}
        }
        if self.code() == Code::MissingAuthorizationHeader {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(self.public_body());
        response
    }
}

/// Whole seconds to wait, rounded up: a client that waits that long is not
/// refused again for the same reason.
fn retry_after_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(msg) => {
                tracing::warn!(%msg, "store unavailable");
                ApiError::Unavailable {
                    code: Code::StoreUnavailable,
                    message: "The store is unavailable, try again shortly".into(),
                    retry_after: RETRY_AFTER_UNAVAILABLE,
                }
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
                ApiError::Unavailable {
                    code: Code::QueueUnavailable,
                    message:
                        "The write queue is unavailable; nothing was accepted, try again shortly"
                            .into(),
                    retry_after: RETRY_AFTER_UNAVAILABLE,
                }
            }
            QueueError::Backlogged {
                queue,
                depth,
                limit,
            } => {
                tracing::warn!(queue, depth, limit, "queue backlogged: refusing writes");
                ApiError::Unavailable {
                    code: Code::QueueBacklogged,
                    message: format!(
                        "The {queue} queue is backed up; nothing was accepted, try again shortly"
                    ),
                    retry_after: RETRY_AFTER_BACKLOGGED,
                }
            }
            QueueError::Internal(e) => ApiError::Internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// One error of every `ApiError` variant (and every plugin failure): a
    /// new variant must be added here, which the match below enforces.
    fn one_of_each() -> Vec<ApiError> {
        let all = vec![
            ApiError::Validation(vec![FieldError::new("a", "b")]),
            ApiError::bad_request(Code::InvalidCursor, "Invalid cursor"),
            ApiError::not_found(Code::WorkoutNotFound, "Workout not found"),
            ApiError::Conflict {
                message: "c".into(),
                details: vec![],
            },
            ApiError::PreconditionFailed { current: 3 },
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType("u".into()),
            ApiError::from(StoreError::Unavailable("x".into())),
            ApiError::Internal(anyhow::anyhow!("secret table name")),
            ApiError::denied(Code::InvalidApiKey, "The API key is invalid"),
            ApiError::RateLimited {
                retry_after: Duration::from_millis(1500),
            },
        ]
        .into_iter()
        .chain(
            [
                PluginError::Timeout(Duration::from_secs(1)),
                PluginError::Trapped("unreachable".into()),
                PluginError::Panicked("boom (at src/lib.rs:1:1)".into()),
                PluginError::MemoryLimit(64 << 20),
                PluginError::Failed("no".into()),
                PluginError::InvalidParam {
                    param: "period".into(),
                    message: "bad".into(),
                },
            ]
            .into_iter()
            .map(|error| ApiError::Plugin {
                plugin: "progress".into(),
                error,
            }),
        )
        .collect::<Vec<_>>();
        for e in &all {
            // Exhaustive: a new variant fails to compile until listed above.
            match e {
                ApiError::Validation(_)
                | ApiError::BadRequest { .. }
                | ApiError::NotFound { .. }
                | ApiError::Conflict { .. }
                | ApiError::PreconditionFailed { .. }
                | ApiError::PayloadTooLarge
                | ApiError::UnsupportedMediaType(_)
                | ApiError::Unavailable { .. }
                | ApiError::Denied { .. }
                | ApiError::RateLimited { .. }
                | ApiError::Internal(_)
                | ApiError::Plugin { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_variant_has_a_code_from_the_table_with_its_status() {
        for err in one_of_each() {
            let code = err.code();
            assert!(Code::ALL.contains(&code), "{code:?}");
            assert_eq!(err.status(), code.status());
            let body = err.public_body();
            assert_eq!(body.code, code);
            assert!(!body.message.contains("secret"), "{}", body.message);
        }
    }

    #[test]
    fn codes_are_unique_snake_case_and_documented() {
        let doc = include_str!("../../../docs/errors.md");
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            let row = format!("| `{name}` | {} |", code.status().as_u16());
            assert!(doc.contains(&row), "docs/errors.md has no row {row:?}");
            assert!(!code.meaning().is_empty());
        }
    }

    #[test]
    fn outages_are_503_with_retry_after_and_bugs_500_without() {
        let r = ApiError::from(QueueError::Unavailable("x".into())).into_response();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "5");
        let r = ApiError::from(StoreError::Unavailable("x".into())).into_response();
        assert_eq!(r.status(), 503);
        assert!(r.headers().contains_key(header::RETRY_AFTER));
        let r = ApiError::from(StoreError::Internal(anyhow::anyhow!("x"))).into_response();
        assert_eq!(r.status(), 500);
        assert!(!r.headers().contains_key(header::RETRY_AFTER));
    }

    #[test]
    fn refusals_say_how_to_proceed() {
        let r = ApiError::RateLimited {
            retry_after: Duration::from_millis(1500),
        }
        .into_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        let r = ApiError::RateLimited {
            retry_after: Duration::from_millis(20),
        }
        .into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let r = ApiError::denied(Code::MissingAuthorizationHeader, "m").into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let r = ApiError::denied(Code::UserNotAllowed, "m").into_response();
        assert_eq!(r.status(), 403);
        assert!(!r.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn plugin_failures_say_what_happened() {
        for err in one_of_each()
            .into_iter()
            .filter(|e| matches!(e, ApiError::Plugin { .. }))
        {
            assert_ne!(err.public_body().message, "Internal server error");
        }
    }

    #[test]
    fn framework_statuses_map_to_codes() {
        assert_eq!(
            Code::for_status(StatusCode::METHOD_NOT_ALLOWED),
            Code::MethodNotAllowed
        );
        assert_eq!(Code::for_status(StatusCode::NOT_FOUND), Code::RouteNotFound);
        assert_eq!(Code::for_status(StatusCode::BAD_GATEWAY), Code::Internal);
    }
}
