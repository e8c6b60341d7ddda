//! The response cache. Stored data changes only when a write commits, so the bytes of a query's
//! response stay valid until the data generation moves (`events`). Entries remember the
//! generation they were computed under — read before execution, so a write that commits while
//! a response is being computed makes that response stale at once — and are served only while
//! it is current: never a stale answer after a commit.
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode};

use crate::events;

/// What identifies a response: the request ([`crate::graphql::request_key`]: document, operation
/// and variables) and the negotiated media type.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    pub fn new(request_key: &str, media: &str) -> Self {
        let mut k = String::with_capacity(media.len() + 1 + request_key.len());
        k.push_str(media);
        k.push('\u{0}');
        k.push_str(request_key);
        Self(k)
    }

    fn cost(&self) -> usize {
        self.0.len()
    }
}

#[derive(Clone)]
pub struct Cached {
    pub status: StatusCode,
    pub media: &'static str,
    pub body: Bytes,
    /// The body's strong validator (`http::validators::etag`), computed once when stored.
    pub etag: HeaderValue,
    /// The body compressed, per encoding, made on first use (not counted in the budget: each
    /// is a fraction of the body).
    pub encoded: std::sync::Arc<super::compress::Encoded>,
    generation: u64,
}

impl Cached {
    /// A response computed under `generation` (read before executing it).
    pub fn new(
        generation: u64,
        status: StatusCode,
        media: &'static str,
        body: Bytes,
        etag: HeaderValue,
    ) -> Self {
        Self {
            status,
            media,
            body,
            etag,
            encoded: Default::default(),
            generation,
        }
    }
}

/// A bounded map from request to response bytes: moka's (TinyLFU admission, LRU eviction,
/// weighed in bytes of key and body).
pub struct ResponseCache {
    budget: usize,
    map: Option<moka::sync::Cache<CacheKey, Cached>>,
}

impl ResponseCache {
    /// A cache holding at most `budget` bytes of keys and bodies; 0 disables it.
    pub fn new(budget: usize) -> Self {
        let map = (budget > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(budget as u64)
                .weigher(|k: &CacheKey, v: &Cached| {
                    u32::try_from(k.cost() + v.body.len()).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { budget, map }
    }

    pub fn enabled(&self) -> bool {
        self.map.is_some()
    }

    /// The cached response, if one was computed under the current data generation.
    pub fn get(&self, key: &CacheKey) -> Option<Cached> {
        let now = events::generation();
        self.map.as_ref()?.get(key).filter(|c| c.generation == now)
    }

    /// The cached response whatever its generation: served, marked stale, only while the
    /// database cannot be reached (it was right when it was computed). Entries of older
    /// generations stay until evicted, for this.
    pub fn get_stale(&self, key: &CacheKey) -> Option<Cached> {
        self.map.as_ref()?.get(key)
    }

    /// Stores a response.
    pub fn put(&self, key: CacheKey, entry: Cached) {
        let Some(map) = &self.map else {
            return;
        };
        let cost = key.cost() + entry.body.len();
        if cost > self.budget / 16 || entry.generation != events::generation() {
            return;
        }
        map.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: usize) -> Cached {
        Cached::new(
            events::generation(),
            StatusCode::OK,
            "application/json",
            Bytes::from(vec![b'x'; bytes]),
            HeaderValue::from_static("\"t\""),
        )
    }

    #[test]
    fn holds_its_budget_and_serves_only_the_current_generation() {
        let cache = ResponseCache::new(16_000);
        // Over a sixteenth of the budget: not kept.
        cache.put(CacheKey::new("big", "json"), entry(1_001));
        assert!(cache.get_stale(&CacheKey::new("big", "json")).is_none());
        // Many entries: the weighed total stays within the budget.
        for i in 0..200 {
            cache.put(CacheKey::new(&format!("q{i}"), "json"), entry(900));
        }
        let map = cache.map.as_ref().unwrap();
        map.run_pending_tasks();
        assert!(map.weighted_size() <= 16_000, "{}", map.weighted_size());
        assert!(map.entry_count() >= 10);
        // A hit until the data changes, then only a stale answer. (Other tests move the
        // process's generation too, so the hit is looked for over a few tries.)
        let key = CacheKey::new("fresh", "json");
        let hit = (0..20).any(|_| {
            cache.put(key.clone(), entry(10));
            cache.get(&key).is_some()
        });
        assert!(hit);
        events::bump();
        assert!(cache.get(&key).is_none());
        assert!(cache.get_stale(&key).is_some());
        // Disabled: nothing kept.
        let off = ResponseCache::new(0);
        off.put(key.clone(), entry(10));
        assert!(!off.enabled() && off.get_stale(&key).is_none());
    }
}
