//! A paper's neighbourhood on the Hub: the models, datasets and Spaces citing it, and the
//! comments under it (read per page of papers through its batch).
use async_graphql::{Object, SimpleObject};

use super::connection::{PageInfo, checked_first, keyed_cursor, page_of_list, parse_keyed_cursor};
use super::paper::HfUser;
use super::scalars::DateTime;
use crate::domain::RepoKind;
use crate::entities::{hf_user, paper_comment, paper_link};
use crate::error::AppError;

/// Checks a linked list's `first` (default 10, 0..=100).
pub fn linked_first(first: Option<i32>) -> Result<usize, AppError> {
    checked_first(first.unwrap_or(10))
}

/// A model on the Hugging Face Hub citing a paper.
pub struct HubModel(pub paper_link::Model);

/// A model on the Hugging Face Hub citing a paper.
#[Object]
impl HubModel {
    /// The repo id, `owner/name`.
    async fn id(&self) -> &str {
        &self.0.repo_id
    }
    /// The owner (user or organization).
    async fn author(&self) -> Option<&str> {
        self.0.author.as_deref()
    }
    /// Downloads in the last 30 days, as the Hub counts them.
    async fn downloads(&self) -> Option<i64> {
        self.0.downloads
    }
    /// Likes on the Hub.
    async fn likes(&self) -> Option<i64> {
        self.0.likes
    }
    /// The task, e.g. `text-generation`.
    async fn pipeline_tag(&self) -> Option<&str> {
        self.0.pipeline_tag.as_deref()
    }
    /// `auto` or `manual` when access is gated; null when open.
    async fn gated(&self) -> Option<&str> {
        self.0.gated.as_deref()
    }
    /// When the repo last changed.
    async fn last_modified(&self) -> Option<DateTime> {
        self.0.last_modified.map(DateTime)
    }
    /// The repo's page on the Hub.
    async fn url(&self) -> String {
        RepoKind::Model.url(&self.0.repo_id)
    }
}

/// A dataset on the Hugging Face Hub citing a paper.
pub struct HubDataset(pub paper_link::Model);

/// A dataset on the Hugging Face Hub citing a paper.
#[Object]
impl HubDataset {
    /// The repo id, `owner/name`.
    async fn id(&self) -> &str {
        &self.0.repo_id
    }
    /// The owner (user or organization).
    async fn author(&self) -> Option<&str> {
        self.0.author.as_deref()
    }
    /// Downloads in the last 30 days, as the Hub counts them.
    async fn downloads(&self) -> Option<i64> {
        self.0.downloads
    }
    /// Likes on the Hub.
    async fn likes(&self) -> Option<i64> {
        self.0.likes
    }
    /// When the repo last changed.
    async fn last_modified(&self) -> Option<DateTime> {
        self.0.last_modified.map(DateTime)
    }
    /// The dataset's page on the Hub.
    async fn url(&self) -> String {
        RepoKind::Dataset.url(&self.0.repo_id)
    }
}

/// A Space (an app) on the Hugging Face Hub citing a paper.
pub struct HubSpace(pub paper_link::Model);

/// A Space (an app) on the Hugging Face Hub citing a paper.
#[Object]
impl HubSpace {
    /// The repo id, `owner/name`.
    async fn id(&self) -> &str {
        &self.0.repo_id
    }
    /// The owner (user or organization), from the id.
    async fn owner(&self) -> &str {
        self.0.repo_id.split('/').next().unwrap_or_default()
    }
    /// The Space's emoji.
    async fn emoji(&self) -> Option<&str> {
        self.0.emoji.as_deref()
    }
    /// Whether the Space was running when its paper's details were fetched.
    async fn running(&self) -> Option<bool> {
        self.0.running
    }
    /// The Space's page on the Hub.
    async fn url(&self) -> String {
        RepoKind::Space.url(&self.0.repo_id)
    }
}

/// A reaction to a comment and how many people gave it.
#[derive(SimpleObject)]
pub struct Reaction {
    /// The emoji.
    pub emoji: String,
    /// How many gave it.
    pub count: i32,
}

/// A comment under a paper on Hugging Face, or a reply to one.
#[derive(Clone)]
pub struct Comment {
    pub row: paper_comment::Model,
    pub author: Option<hf_user::Model>,
    pub replies: Vec<Comment>,
}

/// A comment under a paper on Hugging Face, or a reply to one. Its text is user content: shown
/// as data, never as markup.
#[Object]
impl Comment {
    /// The Hub's id of the comment.
    async fn id(&self) -> &str {
        &self.row.hub_id
    }
    /// Who wrote it; null when the account was deleted.
    async fn author(&self) -> Option<HfUser> {
        self.author.clone().map(HfUser)
    }
    /// The author's account was deleted.
    async fn deleted(&self) -> bool {
        self.row.deleted
    }
    /// When it was written.
    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
    }
    /// When it was last edited; null if never.
    async fn edited_at(&self) -> Option<DateTime> {
        self.row.edited_at.map(DateTime)
    }
    /// The Markdown as written; null when hidden.
    async fn body(&self) -> Option<&str> {
        self.row.body.as_deref()
    }
    /// Hidden by a moderator or its author (its text is withheld).
    async fn hidden(&self) -> bool {
        self.row.hidden
    }
    /// Why it was hidden, when the Hub says.
    async fn hidden_reason(&self) -> Option<&str> {
        self.row.hidden_reason.as_deref()
    }
    /// Reactions, in the Hub's order.
    async fn reactions(&self) -> Vec<Reaction> {
        self.row
            .reactions
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        Some(Reaction {
                            emoji: r.get("emoji")?.as_str()?.to_string(),
                            count: i32::try_from(r.get("count")?.as_i64()?).unwrap_or(i32::MAX),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    /// The replies, oldest first.
    async fn replies(&self) -> &[Comment] {
        &self.replies
    }
}

/// Builds the threads of one paper's comments (stored in thread order): top-level comments with
/// their replies, however deep, flattened under their top-level comment.
pub fn threads(
    rows: &[paper_comment::Model],
    users: &std::collections::HashMap<i64, hf_user::Model>,
) -> Vec<Comment> {
    let make = |row: &paper_comment::Model| Comment {
        row: row.clone(),
        author: row.author_id.and_then(|id| users.get(&id).cloned()),
        replies: Vec::new(),
    };
    let mut out: Vec<Comment> = Vec::new();
    for row in rows {
        match (row.parent_id.is_some(), out.last_mut()) {
            (true, Some(top)) => top.replies.push(make(row)),
            _ => out.push(make(row)),
        }
    }
    out
}

/// A page of a paper's comments, oldest first.
#[derive(SimpleObject)]
pub struct CommentConnection {
    /// The comments of this page with their cursors.
    pub edges: Vec<CommentEdge>,
    /// The comments of this page.
    pub nodes: Vec<Comment>,
    /// Pagination state.
    pub page_info: PageInfo,
    /// Top-level comments on all pages.
    pub total_count: i32,
}

/// A comment and its cursor.
#[derive(SimpleObject)]
pub struct CommentEdge {
    /// Pass as `after` to continue after this comment.
    pub cursor: String,
    /// The comment, with its replies.
    pub node: Comment,
}

fn cursor(c: &Comment) -> String {
    keyed_cursor("C", c.row.created_at.timestamp_micros(), &c.row.hub_id)
}

/// The page of `threads` after `after`, `first` long (default 20, at most 100).
pub fn page(
    threads: Vec<Comment>,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<CommentConnection, AppError> {
    let first = checked_first(first.unwrap_or(super::connection::DEFAULT_PAGE))?;
    let key = |c: &Comment| (c.row.created_at.timestamp_micros(), c.row.hub_id.clone());
    let start = match after
        .map(|a| parse_keyed_cursor(a, "C", "comments"))
        .transpose()?
    {
        Some(at) => threads.partition_point(|c| key(c) <= at),
        None => 0,
    };
    let total_count = i32::try_from(threads.len()).unwrap_or(i32::MAX);
    let (page, page_info) = page_of_list(threads, start, first, cursor);
    Ok(CommentConnection {
        page_info,
        nodes: page.iter().map(|(c, _)| c.clone()).collect(),
        edges: page
            .into_iter()
            .map(|(node, cursor)| CommentEdge { cursor, node })
            .collect(),
        total_count,
    })
}
