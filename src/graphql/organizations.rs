//! Organizations as a list of their own: `organization(name:)` and `organizations(search:)`.
use async_graphql::{Context, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::connection::{
    DEFAULT_PAGE, PageInfo, checked_first, keyed_cursor, page_of_list, parse_keyed_cursor,
};
use super::paper::{Organization, PaperCount};
use crate::domain::fold_for_search;
use crate::error::{ApiResult, AppError};
use crate::repo;

#[derive(Default)]
pub struct OrganizationQuery;

/// A page of organizations.
#[derive(SimpleObject)]
pub struct OrganizationConnection {
    /// The organizations of this page with their cursors.
    pub edges: Vec<OrganizationEdge>,
    /// The organizations of this page.
    pub nodes: Vec<Organization>,
    /// Pagination state.
    pub page_info: PageInfo,
    /// Organizations matching the search, on all pages.
    pub total_count: i32,
}

/// An organization and its cursor.
#[derive(SimpleObject)]
pub struct OrganizationEdge {
    /// Pass as `after` to continue after this organization.
    pub cursor: String,
    /// The organization.
    pub node: Organization,
}

#[Object]
impl OrganizationQuery {
    /// An organization by its handle (e.g. `google`), case-insensitively; null when no paper in
    /// the mirror was claimed by it.
    async fn organization(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> ApiResult<Option<Organization>> {
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(repo::organizations::by_name(db, name.trim())
            .await
            .map_err(AppError::from)?
            .map(Organization::new))
    }

    /// Organizations that claimed papers, most papers first (then by handle). `search` keeps
    /// those whose handle or display name contains it, case- and accent-insensitively
    /// ("deepmind" finds "Google DeepMind"). `first` defaults to 20, at most 100.
    #[graphql(complexity = "super::cost::page(first, None) * child_complexity + 1")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<OrganizationConnection> {
        let first = checked_first(first.unwrap_or(DEFAULT_PAGE))?;
        let after = after
            .as_deref()
            .map(|c| parse_keyed_cursor(c, "O", "organizations"))
            .transpose()?;
        let needle = search
            .as_deref()
            .map(|s| fold_for_search(s.trim()))
            .filter(|s| !s.is_empty());
        if needle.as_ref().is_some_and(|n| n.chars().count() > 100) {
            return Err(AppError::bad_input("`search` is longer than 100 characters").into());
        }
        let db = ctx.data::<DatabaseConnection>()?;
        let mut all = repo::organizations::all_with_counts(db)
            .await
            .map_err(AppError::from)?;
        if let Some(n) = &needle {
            all.retain(|(o, _)| {
                fold_for_search(&o.name).contains(n.as_str())
                    || o.fullname
                        .as_deref()
                        .is_some_and(|f| fold_for_search(f).contains(n.as_str()))
            });
        }
        all.sort_by(|(a, an), (b, bn)| bn.cmp(an).then_with(|| a.name.cmp(&b.name)));
        let total_count = i32::try_from(all.len()).unwrap_or(i32::MAX);
        let start = match &after {
            Some((count, name)) => all.partition_point(|(o, n)| {
                (std::cmp::Reverse(*n), o.name.as_str())
                    <= (std::cmp::Reverse(*count), name.as_str())
            }),
            None => 0,
        };
        let (page, page_info) = page_of_list(all, start, first, |(row, n)| {
            keyed_cursor("O", *n, &row.name)
        });
        let page: Vec<(Organization, String)> = page
            .into_iter()
            .map(|((row, n), c)| {
                (
                    Organization {
                        row,
                        paper_count: PaperCount::Known(n),
                    },
                    c,
                )
            })
            .collect();
        Ok(OrganizationConnection {
            nodes: page.iter().map(|(o, _)| o.clone()).collect(),
            edges: page
                .into_iter()
                .map(|(node, cursor)| OrganizationEdge { cursor, node })
                .collect(),
            page_info,
            total_count,
        })
    }
}
