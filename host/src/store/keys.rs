//! Storage of API keys: one trait, implemented by every back end next to
//! its workouts. Keys are stored without their secret (only its SHA-256,
//! see `domain::access::keys`).

use super::StoreError;
use crate::domain::access::{ApiKey, KeyHash, KeyUid};
use async_trait::async_trait;

#[async_trait]
pub trait ApiKeyStore: Send + Sync + 'static {
    async fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError>;

    async fn key_by_uid(&self, uid: KeyUid) -> Result<Option<ApiKey>, StoreError>;

    /// The key whose secret hashes to `hash`: how a presented secret is found.
    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError>;

    /// Every key, oldest first (then by uid).
    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError>;

    /// Stores the changeable fields of `key` (name, description, users,
    /// updatedAt). False when no key has its uid.
    async fn update_key(&self, key: &ApiKey) -> Result<bool, StoreError>;

    /// False when no key had this uid.
    async fn delete_key(&self, uid: KeyUid) -> Result<bool, StoreError>;
}
