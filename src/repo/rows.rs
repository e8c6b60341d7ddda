//! Rows of the hot reads decoded by column position.
//!
//! sea-orm's derived `FromQueryResult` finds every column by name (a hash lookup in sqlx's row),
//! and reads a nullable column through the non-null getter first, so that every NULL builds and
//! drops a formatted error before it becomes `None`. For the daily list (20 papers of 30
//! columns and their ~90 author slots) that was a fifth of the server's CPU per request. These
//! decoders read the same columns by position straight from sqlx's row, with sqlx's own
//! `Option` decoding; they fall back to the derived decoder when the row is not the shape they
//! expect (a row of another backend, or another column count).
use sea_orm::sqlx::Row;
use sea_orm::{DbErr, FromQueryResult, QueryResult};

use super::papers::AuthorSlot;
use crate::entities::paper;

/// Decodes `$row` (a sqlx row) into `$ty { field: index, … }`: every field is read as
/// `Option<T>` at its position; `opt` fields stay optional, the others must not be NULL.
macro_rules! decode {
    ($row:expr, $ty:path { $( $field:ident : $kind:ident ),* $(,)? }) => {{
        let row = $row;
        let mut at = 0usize..;
        $ty {
            $( $field: {
                let i = at.next().unwrap_or_default();
                decode!(@$kind row, i, stringify!($field))
            }, )*
        }
    }};
    (@opt $row:ident, $i:ident, $name:expr) => {
        $row.try_get($i).map_err(|e| DbErr::Type(format!("column {}: {e}", $name)))?
    };
    (@req $row:ident, $i:ident, $name:expr) => {
        $row.try_get::<Option<_>, _>($i)
            .map_err(|e| DbErr::Type(format!("column {}: {e}", $name)))?
            .ok_or_else(|| DbErr::Type(format!("column {} is NULL", $name)))?
    };
    (@none $row:ident, $i:ident, $name:expr) => {{
        let _ = ($i, $name);
        None
    }};
}

/// `paper::Model`, in the entity's column order (the order sea-orm selects them in).
macro_rules! paper_model {
    ($row:expr) => {
        decode!(
            $row,
            paper::Model {
                id: req,
                arxiv_id: req,
                title: req,
                r#abstract: req,
                daily_date: opt,
                submitted_at: opt,
                published_at: req,
                upvotes: req,
                num_comments: req,
                trending_score: req,
                github_repo: opt,
                github_repo_added_by: opt,
                github_stars: opt,
                project_page: opt,
                ai_summary: opt,
                ai_summary_model: opt,
                ai_keywords: req,
                thumbnail_url: opt,
                media_urls: req,
                discussion_id: opt,
                withdrawn_at: opt,
                is_author_participating: req,
                author_count: req,
                num_linked_models: opt,
                num_linked_datasets: opt,
                num_linked_spaces: opt,
                organization_id: opt,
                submitted_by_id: opt,
                created_at: req,
                updated_at: req,
            }
        )
    };
}

/// Columns of `papers`.
const PAPER_COLUMNS: usize = 30;

/// A `paper::Model` decoded by position (select it with `Select::into_model::<PaperRow>()` on
/// `paper::Entity::find()`, which selects every column in entity order).
#[derive(Clone, Debug, PartialEq)]
pub struct PaperRow(pub paper::Model);

impl FromQueryResult for PaperRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let read = by_position(
            res,
            pre,
            PAPER_COLUMNS,
            |row| Ok(paper_model!(row)),
            |row| Ok(paper_model!(row)),
        )?;
        match read {
            Some(m) => Ok(PaperRow(m)),
            None => paper::Model::from_query_result(res, pre).map(PaperRow),
        }
    }
}

/// Decodes `res` by position, through `pg` or `sqlite` for its backend, when it is a row of
/// `columns` columns read without a prefix; `None` for any other row.
fn by_position<T>(
    res: &QueryResult,
    pre: &str,
    columns: usize,
    pg: impl FnOnce(&sea_orm::sqlx::postgres::PgRow) -> Result<T, DbErr>,
    sqlite: impl FnOnce(&sea_orm::sqlx::sqlite::SqliteRow) -> Result<T, DbErr>,
) -> Result<Option<T>, DbErr> {
    if !pre.is_empty() {
        return Ok(None);
    }
    if let Some(row) = res.try_as_pg_row()
        && row.len() == columns
    {
        return pg(row).map(Some);
    }
    if let Some(row) = res.try_as_sqlite_row()
        && row.len() == columns
    {
        return sqlite(row).map(Some);
    }
    Ok(None)
}

/// A `paper::Model` followed by one more text column (`papers::page_with_authors`' author
/// slots as JSON, NULL for a paper without authors).
#[derive(Clone, Debug, PartialEq)]
pub struct PaperWithSlotsRow(pub paper::Model, pub Option<String>);

impl FromQueryResult for PaperWithSlotsRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let extra = |e| DbErr::Type(format!("column author_slots: {e}"));
        let read = by_position(
            res,
            pre,
            PAPER_COLUMNS + 1,
            |row| {
                let slots = row.try_get(PAPER_COLUMNS).map_err(extra)?;
                Ok(PaperWithSlotsRow(paper_model!(row), slots))
            },
            |row| {
                let slots = row.try_get(PAPER_COLUMNS).map_err(extra)?;
                Ok(PaperWithSlotsRow(paper_model!(row), slots))
            },
        )?;
        match read {
            Some(r) => Ok(r),
            None => Ok(PaperWithSlotsRow(
                paper::Model::from_query_result(res, pre)?,
                res.try_get(pre, "author_slots")?,
            )),
        }
    }
}

/// An [`AuthorSlot`] by position, in the order `papers::author_slot_select` selects: with the
/// author's name and paper count (`SlotRead::Full`, 9 columns) or without (`SlotRead::Own`, 7).
macro_rules! author_slot {
    ($row:expr, $author:ident) => {
        decode!(
            $row,
            AuthorSlot {
                paper_id: req,
                position: req,
                author_id: req,
                name: req,
                hidden: req,
                hf_user_id: opt,
                claim_status: opt,
                author_name: $author,
                author_paper_count: $author,
            }
        )
    };
}

const AUTHOR_SLOT_COLUMNS: usize = 9;
const OWN_SLOT_COLUMNS: usize = 7;

/// An [`AuthorSlot`] decoded by position.
#[derive(Clone, Debug)]
pub struct AuthorSlotRow(pub AuthorSlot);

impl FromQueryResult for AuthorSlotRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let full = by_position(
            res,
            pre,
            AUTHOR_SLOT_COLUMNS,
            |row| Ok(author_slot!(row, opt)),
            |row| Ok(author_slot!(row, opt)),
        )?;
        if let Some(s) = full {
            return Ok(AuthorSlotRow(s));
        }
        let own = by_position(
            res,
            pre,
            OWN_SLOT_COLUMNS,
            |row| Ok(author_slot!(row, none)),
            |row| Ok(author_slot!(row, none)),
        )?;
        match own {
            Some(s) => Ok(AuthorSlotRow(s)),
            None => AuthorSlot::from_query_result(res, pre).map(AuthorSlotRow),
        }
    }
}
