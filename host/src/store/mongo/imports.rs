//! Import records in MongoDB (collection `imports`, found by `_id`).

use super::MongoStore;
use super::errors::store_error;
use crate::domain::UserId;
use crate::store::{ImportStore, StoreError};
use async_trait::async_trait;
use bson::{Document, doc};

const IMPORTS: &str = "imports";

#[async_trait]
impl ImportStore for MongoStore {
    async fn put_import(&self, id: &str, user: UserId, record: &str) -> Result<(), StoreError> {
        self.db
            .collection::<Document>(IMPORTS)
            .replace_one(
                doc! { "_id": id },
                doc! { "_id": id, "userId": user.to_hex(), "record": record },
            )
            .upsert(true)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn get_import(&self, id: &str, user: UserId) -> Result<Option<String>, StoreError> {
        let found = self
            .db
            .collection::<Document>(IMPORTS)
            .find_one(doc! { "_id": id, "userId": user.to_hex() })
            .await
            .map_err(store_error)?;
        Ok(found.and_then(|d| d.get_str("record").ok().map(str::to_string)))
    }

    async fn erase_imports(&self, user: UserId) -> Result<u64, StoreError> {
        let done = self
            .db
            .collection::<Document>(IMPORTS)
            .delete_many(doc! { "userId": user.to_hex() })
            .await
            .map_err(store_error)?;
        Ok(done.deleted_count)
    }
}
