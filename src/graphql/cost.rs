//! What a query costs and who may spend how much.
//!
//! **Cost** is the query's complexity as async-graphql computes it during validation, with the
//! list fields weighted by how many items they may return: a connection's `first`/`last`
//! (default 20) multiplies its whole subtree, a paper's authors count 10, `similar(first)` and
//! `coauthors(first)` their `first` (async-graphql counts a list field once unless told). Queries
//! over [`MAX_COST`] or deeper than `MAX_DEPTH` are refused before any database work, with
//! `QUERY_TOO_COMPLEX` / `QUERY_TOO_DEEP`; every answer reports its cost in `extensions.cost`.
//!
//! **Budgets** are per client (API key header, else address) and fixed window: each query's cost
//! is taken from the client's budget after validation, before execution. An empty budget answers
//! `RATE_LIMITED` (HTTP 429 with `Retry-After`); `rateLimit { cost limit remaining resetAt }`
//! shows where the caller stands (GitHub's convention).
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::{Context, Object, SimpleObject};

/// The highest cost a single query may have.
pub const MAX_COST: usize = 50_000;
/// Items a paper's `authors` list is counted as.
pub const AUTHORS_WEIGHT: usize = 10;

/// The weight of a connection page: `first` or `last` (default 20, clamped to 0..=100).
pub fn page(first: Option<i32>, last: Option<i32>) -> usize {
    let n = first
        .or(last)
        .unwrap_or(super::connection::DEFAULT_PAGE)
        .clamp(0, super::connection::MAX_PAGE);
    usize::try_from(n).unwrap_or(0).max(1)
}

/// The weight of a list with a fixed `first` argument.
pub fn items(first: i32) -> usize {
    usize::try_from(first.clamp(0, super::connection::MAX_PAGE))
        .unwrap_or(0)
        .max(1)
}

/// The cost of the current request, set during validation (request data), whether the
/// client's budget refused it (HTTP answers that with 429), and whether validation passed.
#[derive(Debug, Default)]
pub struct CostCell(
    pub AtomicU64,
    pub std::sync::atomic::AtomicBool,
    pub std::sync::atomic::AtomicBool,
);

impl CostCell {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn refused(&self) -> bool {
        self.1.load(Ordering::Relaxed)
    }
}

/// Query-cost budgets per client (an API key's or an address's).
pub type RateLimiter = crate::window::FixedWindow<String>;
pub use crate::window::Standing;

/// The client a request comes from and the limiter that holds its budget (request data).
#[derive(Clone, Debug)]
pub struct Client {
    pub key: String,
    pub limiter: std::sync::Arc<RateLimiter>,
}

/// The caller's query-cost budget.
#[derive(SimpleObject)]
pub struct RateLimit {
    /// What this query cost.
    pub cost: i32,
    /// The budget per window.
    pub limit: i32,
    /// What is left in this window (after this query).
    pub remaining: i32,
    /// When the window starts again with a full budget.
    pub reset_at: super::scalars::DateTime,
}

#[derive(Default)]
pub struct RateLimitQuery;

#[Object]
impl RateLimitQuery {
    /// The caller's query-cost budget (null where no budget applies, e.g. over websockets).
    async fn rate_limit(&self, ctx: &Context<'_>) -> Option<RateLimit> {
        let client = ctx.data_opt::<Client>()?;
        let cost = ctx
            .data_opt::<std::sync::Arc<CostCell>>()
            .map_or(0, |c| c.get());
        let s = client.limiter.peek(&client.key);
        let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
        Some(RateLimit {
            cost: clamp(cost),
            limit: clamp(s.limit),
            remaining: clamp(s.remaining),
            reset_at: super::scalars::DateTime(
                chrono::Utc::now() + chrono::Duration::from_std(s.reset_in).unwrap_or_default(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn budgets_are_spent_and_refused_without_spending() {
        let l = RateLimiter::new(100, Duration::from_secs(60));
        assert_eq!(l.spend("a", 60).unwrap().remaining, 40);
        let refused = l.spend("a", 50).unwrap_err();
        assert_eq!(refused.remaining, 40);
        assert_eq!(l.spend("a", 40).unwrap().remaining, 0);
        assert_eq!(l.spend("b", 10).unwrap().remaining, 90, "per client");
        let short = RateLimiter::new(10, Duration::from_millis(1));
        short.spend("a", 10).unwrap();
        std::thread::sleep(Duration::from_millis(3));
        assert!(short.spend("a", 10).is_ok(), "a new window");
    }

    #[test]
    fn pages_weigh_their_size() {
        assert_eq!(page(None, None), 20);
        assert_eq!(page(Some(5), None), 5);
        assert_eq!(page(None, Some(100)), 100);
        assert_eq!(page(Some(1000), None), 100);
        assert_eq!(page(Some(-3), None), 1);
    }
}
