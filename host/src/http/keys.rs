//! `/keys`: API key management, with the master key only.
//!
//! The secret (`key`) is in the answer to `POST /keys` and nowhere else: it
//! is not stored (only its hash) and cannot be shown again.

use super::auth::{MasterOnly, Protection};
use super::context::AppContext;
use super::envelope::ErrorEnvelope;
use super::error::{ApiError, Code};
use super::extract::{JsonBody, Path};
use crate::domain::UserId;
use crate::domain::access::requests::{validate_key_patch, validate_new_key};
use crate::domain::access::{ApiKey, ApiSecret, KeyUid, MasterKey};
use crate::domain::dates::format_instant;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An API key as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "uid": "0b4c8a86-1f8e-4c3b-9d6a-2f1e0c9b7a55", "name": "Coach app",
    "description": null, "actions": ["workouts.create", "workouts.read", "prs.read"],
    "users": ["665f1c2b8a1e4d0012345678"], "expiresAt": null,
    "createdAt": "2026-06-09T10:00:00Z", "updatedAt": "2026-06-09T10:00:00Z" }))]
pub struct KeyView {
    pub uid: String,
    /// The secret, to send as `Authorization: Bearer <key>` and to sign
    /// tenant tokens with: only in the answer to `POST /keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// Action names (`workouts.read`, `prs.read`, ...; docs/security.md), or `*`.
    pub actions: Vec<String>,
    /// The clients (userIds) the key may touch, or `["*"]`.
    pub users: Vec<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl KeyView {
    pub fn new(key: &ApiKey, secret: Option<&ApiSecret>) -> Self {
        KeyView {
            uid: key.uid.to_string(),
            key: secret.map(|s| s.as_str().to_string()),
            name: key.name.clone(),
            description: key.description.clone(),
            actions: key.actions.to_strings(|a| a.as_str().to_string()),
            users: key.users.to_strings(UserId::to_hex),
            expires_at: key.expires_at.map(format_instant),
            created_at: format_instant(key.created_at),
            updated_at: format_instant(key.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyListResponse {
    /// Every key, oldest first.
    pub results: Vec<KeyView>,
}

/// The body of `POST /keys` (validated field by field; unknown fields are refused).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "name": "Coach app", "actions": ["workouts.create", "workouts.read", "prs.read"],
    "users": ["665f1c2b8a1e4d0012345678"], "expiresAt": "2027-01-01T00:00:00Z" }))]
pub struct CreateKeyRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Actions the key grants, or `["*"]` for all (including later ones).
    #[schema(min_items = 1)]
    pub actions: Vec<String>,
    /// Clients (userIds) the key may touch, or `["*"]`.
    #[schema(min_items = 1, max_items = 10000)]
    pub users: Vec<String>,
    /// When the key stops working (a future date or RFC 3339 datetime); null: never.
    pub expires_at: Option<String>,
}

/// The body of `PATCH /keys/{uid}`: actions and expiry cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({ "users": ["665f1c2b8a1e4d0012345678", "665f1c2b8a1e4d0087654321"] }))]
pub struct UpdateKeyRequest {
    /// Omitted: unchanged (it cannot be removed, so not null).
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// null removes it.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Omitted: unchanged (not null).
    #[schema(nullable = false, min_items = 1, max_items = 10000)]
    pub users: Option<Vec<String>>,
}

fn master(ctx: &AppContext) -> Result<&MasterKey, ApiError> {
    match &ctx.security.protection {
        Protection::Keys(master) => Ok(master),
        // `MasterOnly` admits nobody without a master key.
        Protection::Open => Err(ApiError::Internal(anyhow::anyhow!(
            "key management reached without a master key"
        ))),
    }
}

fn not_found(uid: &str) -> ApiError {
    ApiError::not_found(Code::KeyNotFound, format!("API key {uid:?} not found"))
}

async fn stored(ctx: &AppContext, raw: &str) -> Result<ApiKey, ApiError> {
    let uid: KeyUid = raw.parse().map_err(|_| not_found(raw))?;
    ctx.security
        .keys
        .key_by_uid(uid)
        .await?
        .ok_or_else(|| not_found(raw))
}

/// Create an API key.
///
/// The answer holds the key's secret (`key`), shown this once.
#[utoipa::path(post, path = "/keys", tag = "keys", request_body = CreateKeyRequest,
    responses(
        (status = 201, description = "Created; `key` is the secret, shown only now", body = KeyView),
        (status = 400, description = "Invalid body", body = ErrorEnvelope),
        (status = 401, description = "No Authorization header", body = ErrorEnvelope),
        (status = 403, description = "Not the master key", body = ErrorEnvelope),
    ))]
pub async fn create_key(
    State(ctx): State<AppContext>,
    _: MasterOnly,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    let now = Utc::now();
    let new = validate_new_key(&body, now).map_err(ApiError::Validation)?;
    let (key, secret) = ApiKey::issue(new, master(&ctx)?, now);
    ctx.security.keys.insert_key(&key).await?;
    tracing::info!(uid = %key.uid, name = %key.name, "API key created");
    Ok((StatusCode::CREATED, Json(KeyView::new(&key, Some(&secret)))))
}

/// List the API keys (without their secrets).
#[utoipa::path(get, path = "/keys", tag = "keys",
    responses(
        (status = 200, description = "Every key, oldest first", body = KeyListResponse),
        (status = 401, description = "No Authorization header", body = ErrorEnvelope),
        (status = 403, description = "Not the master key", body = ErrorEnvelope),
    ))]
pub async fn list_keys(
    State(ctx): State<AppContext>,
    _: MasterOnly,
) -> Result<Json<KeyListResponse>, ApiError> {
    let keys = ctx.security.keys.list_keys().await?;
    Ok(Json(KeyListResponse {
        results: keys.iter().map(|k| KeyView::new(k, None)).collect(),
    }))
}

/// Read one API key (without its secret).
#[utoipa::path(get, path = "/keys/{uid}", tag = "keys",
    params(("uid" = String, Path, description = "The key's uid")),
    responses(
        (status = 200, description = "The key", body = KeyView),
        (status = 401, description = "No Authorization header", body = ErrorEnvelope),
        (status = 403, description = "Not the master key", body = ErrorEnvelope),
        (status = 404, description = "No such key", body = ErrorEnvelope),
    ))]
pub async fn get_key(
    State(ctx): State<AppContext>,
    _: MasterOnly,
    Path(uid): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(KeyView::new(&stored(&ctx, &uid).await?, None)))
}

/// Change an API key's name, description or users.
///
/// Its actions and expiry are fixed: create another key for other ones.
#[utoipa::path(patch, path = "/keys/{uid}", tag = "keys", request_body = UpdateKeyRequest,
    params(("uid" = String, Path, description = "The key's uid")),
    responses(
        (status = 200, description = "The updated key", body = KeyView),
        (status = 400, description = "Invalid body, or a field that cannot change", body = ErrorEnvelope),
        (status = 401, description = "No Authorization header", body = ErrorEnvelope),
        (status = 403, description = "Not the master key", body = ErrorEnvelope),
        (status = 404, description = "No such key", body = ErrorEnvelope),
    ))]
pub async fn update_key(
    State(ctx): State<AppContext>,
    _: MasterOnly,
    Path(uid): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<KeyView>, ApiError> {
    let patch = validate_key_patch(&body).map_err(ApiError::Validation)?;
    let mut key = stored(&ctx, &uid).await?;
    key.apply(patch, Utc::now());
    if !ctx.security.keys.update_key(&key).await? {
        return Err(not_found(&uid));
    }
    tracing::info!(uid = %key.uid, "API key updated");
    Ok(Json(KeyView::new(&key, None)))
}

/// Delete an API key: it, and every tenant token it signed, stop working at once.
#[utoipa::path(delete, path = "/keys/{uid}", tag = "keys",
    params(("uid" = String, Path, description = "The key's uid")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No Authorization header", body = ErrorEnvelope),
        (status = 403, description = "Not the master key", body = ErrorEnvelope),
        (status = 404, description = "No such key", body = ErrorEnvelope),
    ))]
pub async fn delete_key(
    State(ctx): State<AppContext>,
    _: MasterOnly,
    Path(uid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let parsed: KeyUid = uid.parse().map_err(|_| not_found(&uid))?;
    if ctx.security.keys.delete_key(parsed).await? {
        tracing::info!(%uid, "API key deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&uid))
    }
}
