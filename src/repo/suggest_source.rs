//! What `suggest` reads to build its word lists: every paper's title, author, organization and
//! AI keyword, with how popular each is.
use sea_orm::{ColumnTrait, QueryOrder};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::facets::{self, Facet, Scope};
use super::papers::PaperCriteria;
use crate::entities::{author, paper};

/// A suggestable text: its key (arXiv id, author name, organization handle, keyword), the text
/// shown, and its popularity (upvotes, or papers).
pub type Row = (String, String, i64);

pub async fn papers<C: ConnectionTrait>(db: &C) -> Result<Vec<Row>, DbErr> {
    let rows: Vec<(String, String, i32)> = paper::Entity::find()
        .select_only()
        .columns([
            paper::Column::ArxivId,
            paper::Column::Title,
            paper::Column::Upvotes,
        ])
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(k, t, n)| (k, t, i64::from(n)))
        .collect())
}

pub async fn authors<C: ConnectionTrait>(db: &C) -> Result<Vec<Row>, DbErr> {
    let rows: Vec<(String, i32)> = author::Entity::find()
        .select_only()
        .columns([author::Column::Name, author::Column::PaperCount])
        .filter(author::Column::PaperCount.gt(0))
        .order_by_asc(author::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, n)| (name.clone(), name, i64::from(n)))
        .collect())
}

pub async fn organizations<C: ConnectionTrait>(db: &C) -> Result<Vec<Row>, DbErr> {
    Ok(super::organizations::all_with_counts(db)
        .await?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| {
            let text = match &o.fullname {
                Some(f) if !f.is_empty() => format!("{f} ({})", o.name),
                _ => o.name.clone(),
            };
            (o.name, text, n)
        })
        .collect())
}

pub async fn keywords<C: ConnectionTrait>(db: &C) -> Result<Vec<Row>, DbErr> {
    let all = PaperCriteria::default();
    Ok(facets::counts(
        db,
        Scope::Criteria(&all),
        Facet::AiKeywords,
        i64::MAX as u64,
    )
    .await?
    .into_iter()
    .map(|(k, n)| (k.clone(), k, n))
    .collect())
}
