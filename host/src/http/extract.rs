//! Extractors whose rejections are [`ApiError`]s.

use super::error::{ApiError, Code};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body as a `serde_json::Value`: 415 without a JSON content type,
/// 413 over the body limit, 400 when malformed.
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            "Expected a JSON body (Content-Type: application/json)".into(),
        ),
        _ => match rejection {
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
                Code::MalformedJson,
                format!("Malformed JSON: {}", e.body_text()),
            ),
            other => ApiError::bad_request(
                Code::MalformedJson,
                format!("Malformed JSON: {}", other.body_text()),
            ),
        },
    }
}

/// Query parameters; unknown or malformed parameters are a 400.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                let detail = text
                    .trim_start_matches("Failed to deserialize query string: ")
                    .to_string();
                Err(ApiError::bad_request(
                    Code::InvalidQuery,
                    format!("Invalid query string: {detail}"),
                ))
            }
            Err(other) => Err(ApiError::bad_request(Code::InvalidQuery, other.body_text())),
        }
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e @ PathRejection::FailedToDeserializePathParams(_)) => {
                Err(ApiError::bad_request(Code::InvalidPath, e.body_text()))
            }
            Err(e) => Err(ApiError::Internal(anyhow::anyhow!(
                "path extraction: {}",
                e.body_text()
            ))),
        }
    }
}
