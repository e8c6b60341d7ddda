//! Organizations as a list of their own: `organization(name:)` and `organizations(search:)`.
use async_graphql::{Context, Object, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::DatabaseConnection;

use super::connection::{DEFAULT_PAGE, MAX_PAGE, PageInfo};
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

/// A place in the list: after the organization with this paper count and handle.
fn cursor(count: i64, name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("O:{count}:{name}"))
}

fn parse_cursor(s: &str) -> Result<(i64, String), AppError> {
    let bad = || {
        AppError::bad_input(format!(
            "`{}` is not a cursor of `organizations`; use an `endCursor` it gave, or restart without `after`",
            s.chars().take(80).collect::<String>()
        ))
    };
    let raw =
        String::from_utf8(URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?).map_err(|_| bad())?;
    let rest = raw.strip_prefix("O:").ok_or_else(bad)?;
    let (count, name) = rest.split_once(':').ok_or_else(bad)?;
    Ok((count.parse().map_err(|_| bad())?, name.to_string()))
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
        let first = first.unwrap_or(DEFAULT_PAGE);
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(
                AppError::bad_input(format!("`first` must be between 0 and {MAX_PAGE}")).into(),
            );
        }
        let after = after.as_deref().map(parse_cursor).transpose()?;
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
        let page: Vec<(Organization, String)> = all
            .into_iter()
            .skip(start)
            .take(first as usize + 1)
            .map(|(row, n)| {
                let c = cursor(n, &row.name);
                (
                    Organization {
                        row,
                        paper_count: PaperCount::Known(n),
                    },
                    c,
                )
            })
            .collect();
        let has_next_page = page.len() > first as usize;
        let page: Vec<_> = page.into_iter().take(first as usize).collect();
        let page_info = PageInfo {
            has_next_page,
            has_previous_page: start > 0,
            start_cursor: page.first().map(|(_, c)| c.clone()),
            end_cursor: page.last().map(|(_, c)| c.clone()),
        };
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
