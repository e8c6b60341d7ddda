//! The response cache. Stored data changes only when a write commits, so the bytes of a query's
//! response stay valid until the data generation moves (`events`). Entries remember the
//! generation they were computed under — read before execution, so a write that commits while
//! a response is being computed makes that response stale at once — and are served only while
//! it is current: never a stale answer after a commit.
use std::collections::HashMap;
use std::sync::RwLock;

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

/// A bounded map from request to response bytes.
pub struct ResponseCache {
    budget: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<CacheKey, Cached>,
    bytes: usize,
}

impl ResponseCache {
    /// A cache holding at most `budget` bytes of keys and bodies; 0 disables it.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: RwLock::new(Inner::default()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The cached response, if one was computed under the current data generation.
    pub fn get(&self, key: &CacheKey) -> Option<Cached> {
        if !self.enabled() {
            return None;
        }
        let now = events::generation();
        let inner = self.inner.read().ok()?;
        inner.map.get(key).filter(|c| c.generation == now).cloned()
    }

    /// The cached response whatever its generation: served, marked stale, only while the
    /// database cannot be reached (it was right when it was computed).
    pub fn get_stale(&self, key: &CacheKey) -> Option<Cached> {
        if !self.enabled() {
            return None;
        }
        let inner = self.inner.read().ok()?;
        inner.map.get(key).cloned()
    }

    /// Stores a response.
    pub fn put(&self, key: CacheKey, entry: Cached) {
        let cost = key.cost() + entry.body.len();
        if !self.enabled() || cost > self.budget / 16 || entry.generation != events::generation() {
            return;
        }
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if inner.bytes + cost > self.budget {
            // Drop what is stale first; if that is not enough, start over.
            let now = events::generation();
            inner.map.retain(|_, c| c.generation == now);
            inner.bytes = inner.map.iter().map(|(k, c)| k.cost() + c.body.len()).sum();
            if inner.bytes + cost > self.budget {
                inner.map.clear();
                inner.bytes = 0;
            }
        }
        if let Some(old) = inner.map.insert(key.clone(), entry) {
            inner.bytes -= key.cost() + old.body.len();
        }
        inner.bytes += cost;
    }
}
