//! API keys in MongoDB: collection `api_keys`, one document per key,
//! `{ _id: uid, keyHash, name, description, actions, users, expiresAt,
//! createdAt, updatedAt }`. `actions` and `users` are string arrays (`["*"]`
//! for all), `description` and `expiresAt` null when unset. The secret is
//! never stored: `keyHash` is its SHA-256, unique, and finds the key.
//!
//! The documents and filters are built by pure functions (tested below on
//! their exact BSON); the trait implementation only sends them.

use super::errors::store_error;
use super::queries::IndexSpec;
use super::{MongoStore, corrupt};
use crate::domain::UserId;
use crate::domain::access::{Action, ApiKey, KeyHash, KeyUid, Scope};
use crate::store::{ApiKeyStore, StoreError};
use anyhow::{Context, anyhow};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use futures::TryStreamExt;

pub const API_KEYS: &str = "api_keys";

pub mod field {
    pub const ID: &str = "_id";
    pub const KEY_HASH: &str = "keyHash";
    pub const NAME: &str = "name";
    pub const DESCRIPTION: &str = "description";
    pub const ACTIONS: &str = "actions";
    pub const USERS: &str = "users";
    pub const EXPIRES_AT: &str = "expiresAt";
    pub const CREATED_AT: &str = "createdAt";
    pub const UPDATED_AT: &str = "updatedAt";
}

/// The unique index a presented secret's hash is looked up by.
pub fn indexes() -> Vec<IndexSpec> {
    vec![IndexSpec {
        collection: API_KEYS,
        name: "key_hash_unique",
        keys: doc! { field::KEY_HASH: 1 },
        unique: true,
        partial_filter: None,
    }]
}

fn date(t: chrono::DateTime<chrono::Utc>) -> Bson {
    Bson::DateTime(bson::DateTime::from_millis(t.timestamp_millis()))
}

fn users(key: &ApiKey) -> Vec<String> {
    key.users.to_strings(UserId::to_hex)
}

pub fn key_to_document(key: &ApiKey) -> Document {
    doc! {
        field::ID: key.uid.to_string(),
        field::KEY_HASH: &key.key_hash.0,
        field::NAME: &key.name,
        field::DESCRIPTION: key.description.as_deref().map_or(Bson::Null, Bson::from),
        field::ACTIONS: key.actions.to_strings(|a| a.as_str().to_string()),
        field::USERS: users(key),
        field::EXPIRES_AT: key.expires_at.map_or(Bson::Null, date),
        field::CREATED_AT: date(key.created_at),
        field::UPDATED_AT: date(key.updated_at),
    }
}

pub fn key_from_document(d: &Document) -> anyhow::Result<ApiKey> {
    let strings = |name: &str| -> anyhow::Result<Vec<String>> {
        d.get_array(name)
            .with_context(|| format!("api_keys.{name}"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("api_keys.{name} holds a non-string"))
            })
            .collect()
    };
    let chrono = |name: &str| -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        Ok(d.get_datetime(name)
            .with_context(|| format!("api_keys.{name}"))?
            .to_chrono())
    };
    let uid = d.get_str(field::ID).context("api_keys._id")?;
    Ok(ApiKey {
        uid: uid.parse().context("api_keys._id")?,
        name: d.get_str(field::NAME).context("api_keys.name")?.to_string(),
        description: match d.get(field::DESCRIPTION) {
            None | Some(Bson::Null) => None,
            Some(Bson::String(s)) => Some(s.clone()),
            Some(_) => anyhow::bail!("api_keys.description of {uid} is not a string"),
        },
        actions: Scope::from_strings(&strings(field::ACTIONS)?, Action::parse)
            .ok_or_else(|| anyhow!("api_keys.actions of {uid} names an unknown action"))?,
        users: Scope::from_strings(&strings(field::USERS)?, |s| s.parse().ok())
            .ok_or_else(|| anyhow!("api_keys.users of {uid} holds a malformed id"))?,
        expires_at: match d.get(field::EXPIRES_AT) {
            None | Some(Bson::Null) => None,
            Some(_) => Some(chrono(field::EXPIRES_AT)?),
        },
        created_at: chrono(field::CREATED_AT)?,
        updated_at: chrono(field::UPDATED_AT)?,
        key_hash: KeyHash(
            d.get_str(field::KEY_HASH)
                .context("api_keys.keyHash")?
                .to_string(),
        ),
    })
}

pub fn uid_filter(uid: KeyUid) -> Document {
    doc! { field::ID: uid.to_string() }
}

pub fn hash_filter(hash: &KeyHash) -> Document {
    doc! { field::KEY_HASH: &hash.0 }
}

/// The changeable fields only: actions, expiry and the hash never change.
pub fn key_update(key: &ApiKey) -> Document {
    doc! { "$set": {
        field::NAME: &key.name,
        field::DESCRIPTION: key.description.as_deref().map_or(Bson::Null, Bson::from),
        field::USERS: users(key),
        field::UPDATED_AT: date(key.updated_at),
    } }
}

pub fn list_sort() -> Document {
    doc! { field::CREATED_AT: 1, field::ID: 1 }
}

impl MongoStore {
    fn api_keys(&self) -> mongodb::Collection<Document> {
        self.db.collection(API_KEYS)
    }

    async fn find_key(&self, filter: Document) -> Result<Option<ApiKey>, StoreError> {
        let found = self
            .api_keys()
            .find_one(filter)
            .await
            .map_err(store_error)?;
        found
            .as_ref()
            .map(key_from_document)
            .transpose()
            .map_err(corrupt)
    }
}

#[async_trait]
impl ApiKeyStore for MongoStore {
    async fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.api_keys()
            .insert_one(key_to_document(key))
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn key_by_uid(&self, uid: KeyUid) -> Result<Option<ApiKey>, StoreError> {
        self.find_key(uid_filter(uid)).await
    }

    async fn key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKey>, StoreError> {
        self.find_key(hash_filter(hash)).await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let docs: Vec<Document> = self
            .api_keys()
            .find(doc! {})
            .sort(list_sort())
            .await
            .map_err(store_error)?
            .try_collect()
            .await
            .map_err(store_error)?;
        docs.iter()
            .map(|d| key_from_document(d).map_err(corrupt))
            .collect()
    }

    async fn update_key(&self, key: &ApiKey) -> Result<bool, StoreError> {
        let result = self
            .api_keys()
            .update_one(uid_filter(key.uid), key_update(key))
            .await
            .map_err(store_error)?;
        Ok(result.matched_count == 1)
    }

    async fn delete_key(&self, uid: KeyUid) -> Result<bool, StoreError> {
        let result = self
            .api_keys()
            .delete_one(uid_filter(uid))
            .await
            .map_err(store_error)?;
        Ok(result.deleted_count == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    macro_rules! assert_doc_eq {
        ($left:expr, $right:expr $(,)?) => {{
            assert_eq!(format!("{:?}", &$left), format!("{:?}", &$right));
        }};
    }

    const UID: &str = "0b4c8a86-1f8e-4c3b-9d6a-2f1e0c9b7a55";

    fn key() -> ApiKey {
        ApiKey {
            uid: UID.parse().unwrap(),
            name: "Coach app".into(),
            description: None,
            actions: Scope::only([Action::WorkoutsRead, Action::WorkoutsCreate]),
            users: Scope::only(["665f1c2b8a1e4d0012345678".parse().unwrap()]),
            expires_at: Some(Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()),
            created_at: Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2026, 6, 2, 0, 0, 0).unwrap(),
            key_hash: KeyHash("ab".repeat(32)),
        }
    }

    fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> bson::DateTime {
        bson::DateTime::from_millis(
            Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
                .unwrap()
                .timestamp_millis(),
        )
    }

    #[test]
    fn a_key_is_one_document_without_its_secret() {
        assert_doc_eq!(
            key_to_document(&key()),
            doc! {
                "_id": UID,
                "keyHash": "ab".repeat(32),
                "name": "Coach app",
                "description": Bson::Null,
                "actions": ["workouts.create", "workouts.read"],
                "users": ["665f1c2b8a1e4d0012345678"],
                "expiresAt": ms(2030, 1, 2, 3, 4, 5),
                "createdAt": ms(2026, 6, 1, 0, 0, 0),
                "updatedAt": ms(2026, 6, 2, 0, 0, 0),
            }
        );
        let mut all = key();
        all.actions = Scope::All;
        all.users = Scope::All;
        all.expires_at = None;
        all.description = Some("admin".into());
        let d = key_to_document(&all);
        assert_doc_eq!(d.get_array("actions").unwrap(), vec![Bson::from("*")]);
        assert_doc_eq!(d.get_array("users").unwrap(), vec![Bson::from("*")]);
        assert_eq!(d.get("expiresAt"), Some(&Bson::Null));
        assert_eq!(d.get_str("description").unwrap(), "admin");
    }

    #[test]
    fn documents_round_trip_and_corruption_is_an_error() {
        for k in [key(), {
            let mut k = key();
            k.users = Scope::All;
            k.expires_at = None;
            k
        }] {
            assert_eq!(key_from_document(&key_to_document(&k)).unwrap(), k);
        }
        let mut d = key_to_document(&key());
        d.insert("actions", vec!["workouts.nuke"]);
        assert!(key_from_document(&d).is_err());
        let mut d = key_to_document(&key());
        d.insert("users", vec!["zz"]);
        assert!(key_from_document(&d).is_err());
    }

    #[test]
    fn filters_updates_sort_and_index() {
        assert_doc_eq!(uid_filter(UID.parse().unwrap()), doc! { "_id": UID });
        assert_doc_eq!(
            hash_filter(&KeyHash("cd".repeat(32))),
            doc! { "keyHash": "cd".repeat(32) }
        );
        assert_doc_eq!(
            key_update(&key()),
            doc! { "$set": {
                "name": "Coach app",
                "description": Bson::Null,
                "users": ["665f1c2b8a1e4d0012345678"],
                "updatedAt": ms(2026, 6, 2, 0, 0, 0),
            } }
        );
        assert_doc_eq!(list_sort(), doc! { "createdAt": 1, "_id": 1 });
        let specs = indexes();
        assert_eq!(specs.len(), 1);
        assert_eq!(
            (specs[0].collection, specs[0].name, specs[0].unique),
            (API_KEYS, "key_hash_unique", true)
        );
        assert_doc_eq!(specs[0].keys, doc! { "keyHash": 1 });
    }
}
