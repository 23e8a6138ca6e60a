//! What every `ApiKeyStore` must do, and that no secret reaches the disk.

use crate::fixtures::{other_user, user};
use chrono::{Duration, Utc};
use everfit::domain::access::requests::{KeyPatch, NewKey};
use everfit::domain::access::{Action, ApiKey, ApiSecret, KeyHash, KeyUid, MasterKey, Scope};
use everfit::store::ApiKeyStore;

fn master() -> MasterKey {
    MasterKey::new("store-suite-master-key-0123456789").unwrap()
}

fn issue(name: &str, at: chrono::DateTime<Utc>) -> (ApiKey, ApiSecret) {
    ApiKey::issue(
        NewKey {
            name: name.into(),
            description: Some(format!("{name}, for the suite")),
            actions: Scope::only([Action::WorkoutsRead, Action::PrsRead]),
            users: Scope::only([user()]),
            expires_at: Some(at + Duration::days(30)),
        },
        &master(),
        at,
    )
}

pub async fn keys_round_trip_by_uid_and_by_hash(store: &dyn ApiKeyStore) {
    let (key, secret) = issue("coach app", Utc::now());
    store.insert_key(&key).await.unwrap();
    assert_eq!(store.key_by_uid(key.uid).await.unwrap(), Some(key.clone()));
    assert_eq!(
        store.key_by_hash(&secret.hash()).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.key_by_uid(KeyUid::generate()).await.unwrap(), None);
    assert_eq!(
        store.key_by_hash(&KeyHash("00".repeat(32))).await.unwrap(),
        None
    );
    // Every scope shape survives the trip.
    let (mut all, _) = issue("admin", Utc::now());
    all.actions = Scope::All;
    all.users = Scope::All;
    all.expires_at = None;
    all.description = None;
    store.insert_key(&all).await.unwrap();
    assert_eq!(store.key_by_uid(all.uid).await.unwrap(), Some(all));
}

pub async fn keys_are_listed_oldest_first(store: &dyn ApiKeyStore) {
    assert!(store.list_keys().await.unwrap().is_empty());
    let start = Utc::now();
    let keys: Vec<ApiKey> = (0..4)
        .map(|i| issue(&format!("key {i}"), start + Duration::seconds(i)).0)
        .collect();
    for key in keys.iter().rev() {
        store.insert_key(key).await.unwrap();
    }
    assert_eq!(store.list_keys().await.unwrap(), keys);
}

pub async fn updates_change_name_description_and_users_only(store: &dyn ApiKeyStore) {
    let (key, secret) = issue("coach app", Utc::now());
    store.insert_key(&key).await.unwrap();
    let mut changed = key.clone();
    changed.apply(
        KeyPatch {
            name: Some("renamed".into()),
            description: Some(None),
            users: Some(Scope::only([user(), other_user()])),
        },
        Utc::now() + Duration::seconds(5),
    );
    // What the store must not take from an update.
    let mut attempt = changed.clone();
    attempt.actions = Scope::All;
    attempt.expires_at = None;
    attempt.key_hash = KeyHash("ff".repeat(32));
    assert!(store.update_key(&attempt).await.unwrap());
    let stored = store.key_by_uid(key.uid).await.unwrap().unwrap();
    assert_eq!(stored, changed);
    assert_eq!(
        store.key_by_hash(&secret.hash()).await.unwrap(),
        Some(changed)
    );
    let (unknown, _) = issue("never stored", Utc::now());
    assert!(!store.update_key(&unknown).await.unwrap());
    assert_eq!(store.key_by_uid(unknown.uid).await.unwrap(), None);
}

pub async fn deleted_keys_are_gone_by_uid_and_by_hash(store: &dyn ApiKeyStore) {
    let (key, secret) = issue("coach app", Utc::now());
    let (kept, _) = issue("kept", Utc::now());
    store.insert_key(&key).await.unwrap();
    store.insert_key(&kept).await.unwrap();
    assert!(store.delete_key(key.uid).await.unwrap());
    assert!(!store.delete_key(key.uid).await.unwrap());
    assert_eq!(store.key_by_uid(key.uid).await.unwrap(), None);
    assert_eq!(store.key_by_hash(&secret.hash()).await.unwrap(), None);
    assert_eq!(store.list_keys().await.unwrap(), [kept]);
}

pub async fn a_hash_belongs_to_one_key(store: &dyn ApiKeyStore) {
    let (key, _) = issue("first", Utc::now());
    store.insert_key(&key).await.unwrap();
    let (mut twin, _) = issue("twin", Utc::now());
    twin.key_hash = key.key_hash.clone();
    assert!(store.insert_key(&twin).await.is_err());
    assert_eq!(store.list_keys().await.unwrap(), [key]);
}

/// Stores `count` keys and returns their secrets and hashes, to look for
/// in what the back end wrote.
pub async fn store_some_keys(store: &dyn ApiKeyStore, count: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..count {
        let (key, secret) = issue(&format!("key {i}"), Utc::now());
        store.insert_key(&key).await.unwrap();
        out.push((secret.as_str().to_string(), key.key_hash.0.clone()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_hold_hashes_never_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = everfit::store::SqliteStore::open(&path).await.unwrap();
    let secrets = store_some_keys(&store, 3).await;
    drop(store);
    // The database and whatever the WAL still holds.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let text = String::from_utf8_lossy(&bytes);
    for (secret, hash) in &secrets {
        assert!(text.contains(hash.as_str()), "the hash should be stored");
        assert!(!text.contains(secret.as_str()), "a secret is on disk");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_documents_hold_hashes_never_secrets() {
    crate::backends::on_mongo_store("mongodb_documents_hold_hashes_never_secrets", |store| {
        Box::pin(async move {
            use futures::TryStreamExt;
            let secrets = store_some_keys(store, 3).await;
            let docs: Vec<bson::Document> = store
                .client()
                .database(store.database_name())
                .collection::<bson::Document>("api_keys")
                .find(bson::doc! {})
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_eq!(docs.len(), 3);
            let dump = format!("{docs:?}");
            for (secret, hash) in &secrets {
                assert!(dump.contains(hash.as_str()), "the hash should be stored");
                assert!(!dump.contains(secret.as_str()), "a secret is stored");
            }
        })
    })
    .await;
}
