//! DataLoaders: one batched statement per kind of related row, however many papers a page holds.
//! A fresh set is made per request, so nothing is cached across requests.
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;

use crate::entities::{hf_user, organization, upvote_snapshot};
use crate::repo::{self, papers::AuthorSlot};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuthorsOf(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrganizationId(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HfUserId(pub i64);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HistoryOf(pub i64);

/// Loads related rows for papers.
pub struct DbLoader {
    db: DatabaseConnection,
}

pub type Loaders = DataLoader<DbLoader>;

pub fn loaders(db: DatabaseConnection) -> Loaders {
    DataLoader::new(DbLoader { db }, tokio::spawn)
}

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<sea_orm::DbErr>>;

impl Loader<AuthorsOf> for DbLoader {
    type Value = Vec<AuthorSlot>;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[AuthorsOf]) -> LoadResult<AuthorsOf, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut slots = repo::papers::author_slots(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(keys
            .iter()
            .map(|k| (*k, slots.remove(&k.0).unwrap_or_default()))
            .collect())
    }
}

impl Loader<OrganizationId> for DbLoader {
    type Value = organization::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[OrganizationId]) -> LoadResult<OrganizationId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::papers::organizations(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .map(|r| (OrganizationId(r.id), r))
            .collect())
    }
}

impl Loader<HfUserId> for DbLoader {
    type Value = hf_user::Model;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[HfUserId]) -> LoadResult<HfUserId, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let rows = repo::papers::hf_users(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(rows.into_iter().map(|r| (HfUserId(r.id), r)).collect())
    }
}

impl Loader<HistoryOf> for DbLoader {
    type Value = Vec<upvote_snapshot::Model>;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[HistoryOf]) -> LoadResult<HistoryOf, Self::Value> {
        let ids: Vec<i64> = keys.iter().map(|k| k.0).collect();
        let mut rows = repo::papers::upvote_history(&self.db, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(keys
            .iter()
            .map(|k| (*k, rows.remove(&k.0).unwrap_or_default()))
            .collect())
    }
}
