//! Import records in SQLite (table `imports`, migration 0007).

use super::{SqliteStore, db_error};
use crate::domain::UserId;
use crate::store::{ImportStore, StoreError};
use async_trait::async_trait;

#[async_trait]
impl ImportStore for SqliteStore {
    async fn put_import(&self, id: &str, user: UserId, record: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT OR REPLACE INTO imports (id, user_id, record) VALUES (?, ?, ?)")
            .bind(id)
            .bind(user.to_hex())
            .bind(record)
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn get_import(&self, id: &str, user: UserId) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT record FROM imports WHERE id = ? AND user_id = ?")
            .bind(id)
            .bind(user.to_hex())
            .fetch_optional(&self.reader)
            .await
            .map_err(db_error)
    }

    async fn erase_imports(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM imports WHERE user_id = ?")
            .bind(user.to_hex())
            .execute(&self.writer)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
