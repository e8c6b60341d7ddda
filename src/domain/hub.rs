//! A paper's neighbourhood on the Hub, as its detail shows it: the repos that cite it and the
//! comments under it.
use chrono::{DateTime, Utc};

use super::HfUserRef;

/// The kinds of Hub repo that cite papers, in the order they are stored (`paper_links.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoKind {
    Model = 0,
    Dataset = 1,
    Space = 2,
}

impl RepoKind {
    pub const ALL: [RepoKind; 3] = [RepoKind::Model, RepoKind::Dataset, RepoKind::Space];

    pub fn from_code(code: i16) -> Option<RepoKind> {
        RepoKind::ALL.into_iter().find(|k| *k as i16 == code)
    }

    /// The repo's page on the Hub.
    pub fn url(self, repo_id: &str) -> String {
        match self {
            RepoKind::Model => format!("https://huggingface.co/{repo_id}"),
            RepoKind::Dataset => format!("https://huggingface.co/datasets/{repo_id}"),
            RepoKind::Space => format!("https://huggingface.co/spaces/{repo_id}"),
        }
    }
}

/// A Hub repo citing a paper. Fields a kind does not have stay `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubRepo {
    /// `owner/name`.
    pub id: String,
    pub author: Option<String>,
    pub downloads: Option<i64>,
    pub likes: Option<i64>,
    pub pipeline_tag: Option<String>,
    /// `auto` or `manual` when gated; `None` when open.
    pub gated: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub emoji: Option<String>,
    pub running: Option<bool>,
}

/// One kind's linked repos: the list (the upstream's order) and the upstream's total, each
/// `None` when the answer had no usable one (the stored one is then kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkedList {
    pub repos: Option<Vec<HubRepo>>,
    pub total: Option<i32>,
}

impl LinkedList {
    /// The list is a capped sample: the total says there are more.
    pub fn is_capped(&self) -> bool {
        match (&self.repos, self.total) {
            (Some(r), Some(t)) => (t as usize) > r.len(),
            (None, Some(t)) => t > 0,
            _ => false,
        }
    }
}

/// A comment or reply under a paper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperComment {
    pub hub_id: String,
    /// The Hub id of the comment it replies to (`None` at the top level, orphans included).
    pub parent_id: Option<String>,
    /// `None` for a deleted account.
    pub author: Option<HfUserRef>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    /// The Markdown as written; `None` when hidden or absent.
    pub body: Option<String>,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
    /// Emoji and count, in the upstream's order.
    pub reactions: Vec<(String, i64)>,
}

/// What one paper detail gives: linked repos per kind (`RepoKind` order) and, when the answer
/// carried them, the comments in thread order (each top-level comment oldest first, then its
/// replies oldest first).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaperNeighbourhood {
    pub linked: [LinkedList; 3],
    pub comments: Option<Vec<PaperComment>>,
    /// Items dropped as unusable (for the log).
    pub skipped: usize,
}
