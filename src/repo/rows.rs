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

use crate::entities::paper;

/// Every column of `papers`, in the entity's order (the order `paper::Entity::find()` selects
/// them): its field, its `paper::Column`, how it decodes (`req`: never NULL, `opt`: nullable),
/// and `listed` for the columns a paper list reads. This table is the one definition of a listed
/// paper: [`Listed`], [`LISTED`] and both decoders of [`PaperRow`] come from it, and a column
/// marked `listed` does not compile until `graphql::connection` names the fields it answers.
/// (It calls `$then!($($args)*; table)`.)
macro_rules! paper_columns {
    ($then:ident!($($args:tt)*)) => {
        $then! {
            $($args)*;
            id: Id req listed,
            arxiv_id: ArxivId req listed,
            title: Title req listed,
            r#abstract: Abstract req listed,
            daily_date: DailyDate opt listed,
            submitted_at: SubmittedAt opt listed,
            published_at: PublishedAt req listed,
            upvotes: Upvotes req listed,
            num_comments: NumComments req listed,
            trending_score: TrendingScore req listed,
            github_repo: GithubRepo opt listed,
            github_repo_added_by: GithubRepoAddedBy opt,
            github_stars: GithubStars opt listed,
            project_page: ProjectPage opt,
            ai_summary: AiSummary opt,
            ai_summary_model: AiSummaryModel opt,
            ai_keywords: AiKeywords req,
            thumbnail_url: ThumbnailUrl opt,
            media_urls: MediaUrls req,
            discussion_id: DiscussionId opt,
            withdrawn_at: WithdrawnAt opt,
            is_author_participating: IsAuthorParticipating req,
            author_count: AuthorCount req listed,
            num_linked_models: NumLinkedModels opt,
            num_linked_datasets: NumLinkedDatasets opt,
            num_linked_spaces: NumLinkedSpaces opt,
            organization_id: OrganizationId opt listed,
            submitted_by_id: SubmittedById opt listed,
            created_at: CreatedAt req,
            updated_at: UpdatedAt req listed,
        }
    };
}

/// Defines [`Listed`] and [`LISTED`] from the table's `listed` rows.
macro_rules! listed_columns {
    (; $($table:tt)*) => { listed_columns!(@keep [] $($table)*); };
    (@keep [$($c:ident)*] $field:ident: $col:ident $kind:ident listed, $($rest:tt)*) => {
        listed_columns!(@keep [$($c)* $col] $($rest)*);
    };
    (@keep [$($c:ident)*] $field:ident: $col:ident $kind:ident, $($rest:tt)*) => {
        listed_columns!(@keep [$($c)*] $($rest)*);
    };
    (@keep [$($c:ident)*]) => {
        /// A column a paper list reads (`papers::PaperColumns::Listed`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Listed {
            $($c),*
        }

        impl Listed {
            pub const ALL: &[Listed] = &[$(Listed::$c),*];
        }

        /// The columns of `papers::PaperColumns::Listed`, in the entity's order.
        pub const LISTED: &[paper::Column] = &[$(paper::Column::$c),*];
    };
}

paper_columns!(listed_columns!());

/// An author slot of a paper, with its author's name and paper count when read with them.
#[derive(Clone, Debug, FromQueryResult)]
pub struct AuthorSlot {
    pub paper_id: i64,
    pub position: i32,
    pub author_id: i64,
    pub name: String,
    pub hidden: bool,
    pub hf_user_id: Option<i64>,
    pub claim_status: Option<String>,
    /// The author entity's name (`SlotRead::Full`; `None` for `SlotRead::Own`).
    pub author_name: Option<String>,
    /// The author entity's paper count (`SlotRead::Full`; `None` for `SlotRead::Own`).
    pub author_paper_count: Option<i32>,
}

/// Decodes `$row` (a sqlx row) into `$ty { field: kind, … }`, reading the fields at successive
/// positions: `req` and `opt` fields are read as `Option<T>`, `opt` ones stay optional, `req`
/// ones must not be NULL; a `skip` field is not in the row and holds its type's default (`None`
/// for an `Option`).
macro_rules! decode {
    ($row:expr, $ty:path { $( $field:ident : $kind:ident ),* $(,)? }) => {{
        let row = $row;
        let mut at = 0usize..;
        $ty {
            $( $field: decode!(@$kind row, at, stringify!($field)), )*
        }
    }};
    (@opt $row:ident, $at:ident, $name:expr) => {{
        let i = $at.next().unwrap_or_default();
        $row.try_get(i).map_err(|e| DbErr::Type(format!("column {}: {e}", $name)))?
    }};
    (@req $row:ident, $at:ident, $name:expr) => {{
        let i = $at.next().unwrap_or_default();
        $row.try_get::<Option<_>, _>(i)
            .map_err(|e| DbErr::Type(format!("column {}: {e}", $name)))?
            .ok_or_else(|| DbErr::Type(format!("column {} is NULL", $name)))?
    }};
    (@skip $row:ident, $at:ident, $name:expr) => {{
        let _ = (&$at, $name);
        Default::default()
    }};
}

/// `paper::Model` decoded by position from `$row`: every column (`all`) or those of [`LISTED`]
/// (`listed`: the others are not read and hold their type's default).
macro_rules! paper_model {
    ($row:expr, $read:ident; $( $field:ident: $col:ident $kind:ident $($listed:ident)? ),* $(,)?) => {{
        let row = $row;
        let mut at = 0usize..;
        paper::Model {
            $( $field: paper_model!(@$read [$($listed)?] $kind row, at, stringify!($field)), )*
        }
    }};
    (@all [$($listed:ident)?] $kind:ident $row:ident, $at:ident, $name:expr) => {
        decode!(@$kind $row, $at, $name)
    };
    (@listed [listed] $kind:ident $row:ident, $at:ident, $name:expr) => {
        decode!(@$kind $row, $at, $name)
    };
    (@listed [] $kind:ident $row:ident, $at:ident, $name:expr) => {
        decode!(@skip $row, $at, $name)
    };
}

/// The table's columns, in its order.
macro_rules! all_columns {
    (; $( $field:ident: $col:ident $kind:ident $($listed:ident)? ),* $(,)?) => {
        &[$(paper::Column::$col),*]
    };
}
const PAPER_TABLE: &[paper::Column] = paper_columns!(all_columns!());

/// Columns of `papers`, and of [`LISTED`].
const PAPER_COLUMNS: usize = PAPER_TABLE.len();
const LISTED_COLUMNS: usize = LISTED.len();

/// A paper by position (every column in entity order, or those of `papers::LISTED` when
/// `$listed`), and the text column after them when `$extra` is 1.
macro_rules! paper_and_tail {
    ($row:expr, $columns:expr, $listed:expr, $extra:expr) => {{
        let row = $row;
        let m = if $listed {
            paper_columns!(paper_model!(row, listed))
        } else {
            paper_columns!(paper_model!(row, all))
        };
        let tail: Option<String> = if $extra > 0 {
            row.try_get($columns)
                .map_err(|e| DbErr::Type(format!("column author_slots: {e}")))?
        } else {
            None
        };
        Ok((m, tail))
    }};
}

/// A `paper::Model` decoded by position, with every column in entity order (as
/// `paper::Entity::find()` selects them) or the columns of `papers::LISTED`, followed by
/// `extra` (0 or 1) text column; `None` for a row of any other shape.
fn paper_by_position(
    res: &QueryResult,
    pre: &str,
    extra: usize,
) -> Result<Option<(paper::Model, Option<String>)>, DbErr> {
    for (columns, listed) in [(PAPER_COLUMNS, false), (LISTED_COLUMNS, true)] {
        let read = by_position(
            res,
            pre,
            columns + extra,
            |row| paper_and_tail!(row, columns, listed, extra),
            |row| paper_and_tail!(row, columns, listed, extra),
        )?;
        if read.is_some() {
            return Ok(read);
        }
    }
    Ok(None)
}

/// A `paper::Model` decoded by position (select it with `Select::into_model::<PaperRow>()` on
/// `paper::Entity::find()`, or on its `papers::LISTED` columns).
#[derive(Clone, Debug, PartialEq)]
pub struct PaperRow(pub paper::Model);

impl FromQueryResult for PaperRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        match paper_by_position(res, pre, 0)? {
            Some((m, _)) => Ok(PaperRow(m)),
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
        match paper_by_position(res, pre, 1)? {
            Some((m, slots)) => Ok(PaperWithSlotsRow(m, slots)),
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
        for (columns, full) in [(AUTHOR_SLOT_COLUMNS, true), (OWN_SLOT_COLUMNS, false)] {
            let read = by_position(
                res,
                pre,
                columns,
                |row| {
                    Ok(if full {
                        author_slot!(row, opt)
                    } else {
                        author_slot!(row, skip)
                    })
                },
                |row| {
                    Ok(if full {
                        author_slot!(row, opt)
                    } else {
                        author_slot!(row, skip)
                    })
                },
            )?;
            if let Some(s) = read {
                return Ok(AuthorSlotRow(s));
            }
        }
        AuthorSlot::from_query_result(res, pre).map(AuthorSlotRow)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    /// The decoders read by position: the table must list the entity's columns in its order.
    #[test]
    fn the_table_lists_the_entitys_columns_in_order() {
        let entity: Vec<_> = paper::Column::iter().map(|c| format!("{c:?}")).collect();
        let table: Vec<_> = PAPER_TABLE.iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(table, entity);
        let listed: Vec<_> = LISTED.iter().map(|c| format!("{c:?}")).collect();
        let kept: Vec<_> = table
            .iter()
            .filter(|c| listed.contains(c))
            .cloned()
            .collect();
        assert_eq!(listed, kept, "LISTED keeps the entity's order");
        assert_eq!(Listed::ALL.len(), LISTED.len());
    }
}
