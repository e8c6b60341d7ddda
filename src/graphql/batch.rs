//! Page-scoped batch loading (the DataLoader pattern without its timer): the papers of one result
//! page share a `PaperBatch`, and the first resolver that needs a relation (authors, their Hub
//! accounts, organizations, submitters, history) loads it for the whole page in one statement.
//! A page of any size therefore costs one statement per relation asked for, with no added latency.
use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::OnceCell;

use crate::domain::RepoKind;
use crate::entities::{
    author, hf_user, organization, paper, paper_comment, paper_detail, paper_link, upvote_snapshot,
};
use crate::error::AppError;
use crate::repo::{
    self,
    papers::{AuthorSlot, SlotRead},
};

/// The related rows of a page of papers, each loaded at most once.
pub struct PaperBatch {
    db: DatabaseConnection,
    paper_ids: Vec<i64>,
    organization_ids: Vec<i64>,
    submitter_ids: Vec<i64>,
    authors: OnceCell<HashMap<i64, Vec<AuthorSlot>>>,
    /// The author entities of the slots, when the slots were read without them.
    author_entities: OnceCell<HashMap<i64, author::Model>>,
    author_users: OnceCell<HashMap<i64, hf_user::Model>>,
    organizations: OnceCell<HashMap<i64, organization::Model>>,
    /// Papers per organization of the page (`Organization.paperCount`).
    organization_counts: OnceCell<HashMap<i64, i64>>,
    submitters: OnceCell<HashMap<i64, hf_user::Model>>,
    history: OnceCell<HashMap<i64, Vec<upvote_snapshot::Model>>>,
    similar: OnceCell<Similar>,
    /// Linked repos per kind (`RepoKind` order).
    links: [OnceCell<HashMap<i64, Vec<paper_link::Model>>>; 3],
    comments: OnceCell<Comments>,
    details: OnceCell<HashMap<i64, paper_detail::Model>>,
}

/// The comments of a page's papers (thread order) and their authors' accounts.
type Comments = (
    HashMap<i64, Vec<paper_comment::Model>>,
    HashMap<i64, hf_user::Model>,
);

/// The stored neighbours of a page's papers, with the neighbour papers themselves.
struct Similar {
    lists: HashMap<i64, Vec<(i64, f64)>>,
    papers: HashMap<i64, paper::Model>,
}

fn unique(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl PaperBatch {
    pub fn new(db: DatabaseConnection, rows: &[paper::Model]) -> Arc<Self> {
        Self::with_authors(db, rows, None)
    }

    /// A batch whose author slots are already loaded (with the page, in one statement).
    pub fn with_authors(
        db: DatabaseConnection,
        rows: &[paper::Model],
        authors: Option<HashMap<i64, Vec<AuthorSlot>>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            paper_ids: rows.iter().map(|p| p.id).collect(),
            organization_ids: unique(rows.iter().filter_map(|p| p.organization_id).collect()),
            submitter_ids: unique(rows.iter().filter_map(|p| p.submitted_by_id).collect()),
            authors: OnceCell::new_with(authors),
            author_entities: OnceCell::new(),
            author_users: OnceCell::new(),
            organizations: OnceCell::new(),
            organization_counts: OnceCell::new(),
            submitters: OnceCell::new(),
            history: OnceCell::new(),
            similar: OnceCell::new(),
            links: Default::default(),
            comments: OnceCell::new(),
            details: OnceCell::new(),
        })
    }

    /// The page's author slots when they were not read with it: with their authors, as a
    /// resolver of one slot may ask for its author.
    async fn read_slots(&self) -> Result<HashMap<i64, Vec<AuthorSlot>>, DbErr> {
        repo::papers::author_slots(&self.db, &self.paper_ids, SlotRead::Full).await
    }

    /// The author entity of a slot of this page (for slots read without their authors): the
    /// authors of every slot of the page, in one statement.
    pub async fn author(&self, author_id: i64) -> Result<Option<&author::Model>, AppError> {
        let map = self
            .author_entities
            .get_or_try_init(|| async {
                let slots = self.authors.get_or_try_init(|| self.read_slots()).await?;
                let ids = unique(slots.values().flatten().map(|s| s.author_id).collect());
                by_id(repo::authors::by_ids(&self.db, &ids).await?, |a| a.id)
            })
            .await?;
        Ok(map.get(&author_id))
    }

    pub async fn authors(&self, paper_id: i64) -> Result<&[AuthorSlot], AppError> {
        let map = self.authors.get_or_try_init(|| self.read_slots()).await?;
        Ok(map.get(&paper_id).map(Vec::as_slice).unwrap_or_default())
    }

    /// The Hub account linked to an author slot of this page.
    pub async fn author_user(&self, user_id: i64) -> Result<Option<&hf_user::Model>, AppError> {
        let map = self
            .author_users
            .get_or_try_init(|| async {
                let slots = self.authors.get_or_try_init(|| self.read_slots()).await?;
                let ids = unique(
                    slots
                        .values()
                        .flatten()
                        .filter_map(|s| s.hf_user_id)
                        .collect(),
                );
                by_id(repo::papers::hf_users(&self.db, &ids).await?, |u| u.id)
            })
            .await?;
        Ok(map.get(&user_id))
    }

    pub async fn organization(&self, id: i64) -> Result<Option<&organization::Model>, AppError> {
        let map = self
            .organizations
            .get_or_try_init(|| async {
                by_id(
                    repo::papers::organizations(&self.db, &self.organization_ids).await?,
                    |o| o.id,
                )
            })
            .await?;
        Ok(map.get(&id))
    }

    /// How many papers the organization `id` (one of the page's) claimed: one statement for
    /// every organization of the page.
    pub async fn organization_paper_count(&self, id: i64) -> Result<i64, AppError> {
        let map = self
            .organization_counts
            .get_or_try_init(|| {
                repo::organizations::paper_counts(&self.db, Some(&self.organization_ids))
            })
            .await?;
        Ok(map.get(&id).copied().unwrap_or(0))
    }

    pub async fn submitter(&self, id: i64) -> Result<Option<&hf_user::Model>, AppError> {
        let map = self
            .submitters
            .get_or_try_init(|| async {
                by_id(
                    repo::papers::hf_users(&self.db, &self.submitter_ids).await?,
                    |u| u.id,
                )
            })
            .await?;
        Ok(map.get(&id))
    }

    pub async fn history(&self, paper_id: i64) -> Result<&[upvote_snapshot::Model], AppError> {
        let map = self
            .history
            .get_or_try_init(|| repo::papers::upvote_history(&self.db, &self.paper_ids))
            .await?;
        Ok(map.get(&paper_id).map(Vec::as_slice).unwrap_or_default())
    }
}

impl PaperBatch {
    /// A paper's linked repos of `kind`, most liked first: one statement per kind for the page.
    pub async fn links(
        &self,
        paper_id: i64,
        kind: RepoKind,
    ) -> Result<&[paper_link::Model], AppError> {
        let map = self.links[kind as usize]
            .get_or_try_init(|| repo::details::links(&self.db, &self.paper_ids, kind))
            .await?;
        Ok(map.get(&paper_id).map(Vec::as_slice).unwrap_or_default())
    }

    /// A paper's comments in thread order, and the accounts of the page's comment authors.
    pub async fn comments(
        &self,
        paper_id: i64,
    ) -> Result<(&[paper_comment::Model], &HashMap<i64, hf_user::Model>), AppError> {
        let (map, users) = self
            .comments
            .get_or_try_init(|| repo::details::comments(&self.db, &self.paper_ids))
            .await?;
        Ok((
            map.get(&paper_id).map(Vec::as_slice).unwrap_or_default(),
            users,
        ))
    }

    /// The detail queue's record of a paper of this page.
    pub async fn detail(&self, paper_id: i64) -> Result<Option<&paper_detail::Model>, AppError> {
        let map = self
            .details
            .get_or_try_init(|| repo::details::records(&self.db, &self.paper_ids))
            .await?;
        Ok(map.get(&paper_id))
    }

    /// The most similar papers of a paper of this page, best first, with their scores (one
    /// statement for the lists of the whole page and one for the papers in them).
    pub async fn similar(&self, paper_id: i64) -> Result<Vec<(paper::Model, f64)>, AppError> {
        let all = self
            .similar
            .get_or_try_init(|| async {
                let lists = repo::similar::of(&self.db, &self.paper_ids).await?;
                let ids = unique(lists.values().flatten().map(|(id, _)| *id).collect());
                let papers = by_id(repo::papers::by_ids(&self.db, &ids).await?, |p| p.id)?;
                Ok::<_, DbErr>(Similar { lists, papers })
            })
            .await?;
        Ok(all
            .lists
            .get(&paper_id)
            .map(|l| {
                l.iter()
                    .filter_map(|(id, s)| all.papers.get(id).map(|p| (p.clone(), *s)))
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn by_id<T>(rows: Vec<T>, key: impl Fn(&T) -> i64) -> Result<HashMap<i64, T>, DbErr> {
    Ok(rows.into_iter().map(|r| (key(&r), r)).collect())
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, QueryOrder};

    use super::*;

    /// A page whose slots were read without their authors (`SlotRead::Own`) still answers each
    /// slot's author, the same as a page read with them, from one more statement for the page.
    #[tokio::test]
    async fn slots_read_without_their_authors_still_answer_them() {
        use migration::MigratorTrait as _;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display());
        let db = sea_orm::Database::connect(url).await.unwrap();
        migration::Migrator::up(&db, None).await.unwrap();
        let body = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/upstream/api/daily_papers_date-2026-01-14.json"),
        )
        .unwrap();
        crate::sync::files::import_body(&db, &body, Some("2026-01-14".parse().unwrap()))
            .await
            .unwrap();
        let rows = paper::Entity::find()
            .order_by_asc(paper::Column::Id)
            .all(&db)
            .await
            .unwrap();
        let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
        let own = repo::papers::author_slots(&db, &ids, SlotRead::Own)
            .await
            .unwrap();
        let full = repo::papers::author_slots(&db, &ids, SlotRead::Full)
            .await
            .unwrap();
        let lean = PaperBatch::with_authors(db.clone(), &rows, Some(own));
        let mut checked = 0;
        for id in &ids {
            let slots = lean.authors(*id).await.unwrap();
            assert_eq!(slots.len(), full[id].len());
            for (s, f) in slots.iter().zip(&full[id]) {
                assert_eq!(
                    (s.author_name.as_deref(), s.author_paper_count),
                    (None, None)
                );
                assert_eq!(
                    (s.position, s.author_id, &s.name),
                    (f.position, f.author_id, &f.name)
                );
                let a = lean.author(s.author_id).await.unwrap().expect("the author");
                assert_eq!(Some(&a.name), f.author_name.as_ref());
                assert_eq!(Some(a.paper_count), f.author_paper_count);
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} slots");
        // A batch read without slots reads them with their authors.
        let lazy = PaperBatch::new(db.clone(), &rows);
        let s = &lazy.authors(ids[0]).await.unwrap()[0];
        assert_eq!(s.author_name, full[&ids[0]][0].author_name);
        assert!(s.author_name.is_some());
    }
}
