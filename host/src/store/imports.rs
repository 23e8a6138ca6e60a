//! Storage of CSV import records: what an import accepted and rejected, kept
//! next to the workouts so `GET /imports/{id}` answers on every replica. The
//! record is stored whole as JSON: it is written once and read by id only.

use super::StoreError;
use crate::domain::UserId;
use async_trait::async_trait;

#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Stores (or replaces) the record `id` of `user`.
    async fn put_import(&self, id: &str, user: UserId, record: &str) -> Result<(), StoreError>;

    /// The record `id` when it belongs to `user`.
    async fn get_import(&self, id: &str, user: UserId) -> Result<Option<String>, StoreError>;

    /// Removes every record of `user` (client erasure); how many there were.
    async fn erase_imports(&self, user: UserId) -> Result<u64, StoreError>;
}
