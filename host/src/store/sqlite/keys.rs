//! API keys in SQLite (table `api_keys`, migration 0005).

use super::rows::millis_to_datetime;
use super::{SqliteStore, db_error};
use crate::domain::UserId;
use crate::domain::access::{Action, ApiKey, KeyHash, KeyUid, Scope};
use crate::store::{ApiKeyStore, StoreError};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

const KEY_COLUMNS: &str =
    "uid, key_hash, name, description, actions, users, expires_at_ms, created_at_ms, updated_at_ms";

fn actions_json(key: &ApiKey) -> String {
    serde_json::to_string(&key.actions.to_strings(|a| a.as_str().to_string()))
        .expect("strings serialize")
}

fn users_json(key: &ApiKey) -> String {
    serde_json::to_string(&key.users.to_strings(UserId::to_hex)).expect("strings serialize")
}

fn key_from_row(row: &SqliteRow) -> Result<ApiKey, StoreError> {
    let uid: &str = row.get("uid");
    let corrupt = |what: &str| StoreError::Internal(anyhow!("corrupt api_keys.{what} of {uid}"));
    let actions: Vec<String> =
        serde_json::from_str(row.get("actions")).context("corrupt api_keys.actions")?;
    let users: Vec<String> =
        serde_json::from_str(row.get("users")).context("corrupt api_keys.users")?;
    Ok(ApiKey {
        uid: uid.parse().map_err(|_| corrupt("uid"))?,
        name: row.get("name"),
        description: row.get("description"),
        actions: Scope::from_strings(&actions, Action::parse).ok_or_else(|| corrupt("actions"))?,
        users: Scope::from_strings(&users, |s| s.parse().ok()).ok_or_else(|| corrupt("users"))?,
        expires_at: row
            .get::<Option<i64>, _>("expires_at_ms")
            .map(millis_to_datetime)
            .transpose()?,
        created_at: millis_to_datetime(row.get("created_at_ms"))?,
        updated_at: millis_to_datetime(row.get("updated_at_ms"))?,
        key_hash: KeyHash(row.get("key_hash")),
    })
}

#[async_trait]
impl ApiKeyStore for SqliteStore {
    async fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(key.uid.to_string())
        .bind(&key.key_hash.0)
        .bind(&key.name)
        .bind(&key.description)
        .bind(actions_json(key))
        .bind(users_json(key))
        .bind(key.expires_at.map(|t| t.timestamp_millis()))
        .bind(key.created_at.timestamp_millis())
        .bind(key.updated_at.timestamp_millis())
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn key_by_uid(&self, uid: KeyUid) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE uid = ?"
        )))
        .bind(uid.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?"
        )))
        .bind(&hash.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_error)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at_ms, uid"
        )))
        .fetch_all(&self.reader)
        .await
        .map_err(db_error)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn update_key(&self, key: &ApiKey) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET name = ?, description = ?, users = ?, updated_at_ms = ? WHERE uid = ?",
        )
        .bind(&key.name)
        .bind(&key.description)
        .bind(users_json(key))
        .bind(key.updated_at.timestamp_millis())
        .bind(key.uid.to_string())
        .execute(&self.writer)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_key(&self, uid: KeyUid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE uid = ?")
            .bind(uid.to_string())
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }
}
