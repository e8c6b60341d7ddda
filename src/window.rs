//! Budgets per fixed window: what a key may spend in each window of time, the window starting
//! at its first spend. One type for the query-cost budgets per client, the digest subscribe
//! requests per address, and the upstream requests of the sync.
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept before the ones whose window has passed are dropped.
const MAX_KEYS: usize = 100_000;

/// A budget per key and window.
#[derive(Debug)]
pub struct FixedWindow<K> {
    pub budget: u64,
    pub window: Duration,
    keys: Mutex<HashMap<K, (Instant, u64)>>,
}

/// Where one key stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub limit: u64,
    pub remaining: u64,
    /// Until the window resets.
    pub reset_in: Duration,
}

impl<K: Hash + Eq> FixedWindow<K> {
    pub fn new(budget: u64, window: Duration) -> Self {
        FixedWindow {
            budget,
            window,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Where `key` stands, without spending.
    pub fn peek<Q>(&self, key: &Q) -> Standing
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with(key, |_| true)
    }

    /// Takes `cost` from `key`'s budget; `Err` (spending nothing) when it does not fit.
    pub fn spend<Q>(&self, key: &Q, cost: u64) -> Result<Standing, Standing>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mut fits = false;
        let standing = self.with(key, |used| {
            fits = *used + cost <= self.budget;
            if fits {
                *used += cost;
            }
            fits
        });
        if fits { Ok(standing) } else { Err(standing) }
    }

    fn with<Q>(&self, key: &Q, f: impl FnOnce(&mut u64) -> bool) -> Standing
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() > MAX_KEYS {
            let window = self.window;
            keys.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        // A key seen before is looked up without building an owned one.
        if !keys.contains_key(key) {
            keys.insert(key.to_owned(), (now, 0));
        }
        let Some(entry) = keys.get_mut(key) else {
            return Standing {
                limit: self.budget,
                remaining: self.budget,
                reset_in: self.window,
            };
        };
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        f(&mut entry.1);
        Standing {
            limit: self.budget,
            remaining: self.budget.saturating_sub(entry.1),
            reset_in: self.window.saturating_sub(now.duration_since(entry.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_spends_its_budget_once_per_window() {
        let w: FixedWindow<String> = FixedWindow::new(5, Duration::from_millis(200));
        assert_eq!(w.spend("a", 3).map(|s| s.remaining), Ok(2));
        let refused = w.spend("a", 3).unwrap_err();
        assert_eq!(refused.remaining, 2, "a refused spend takes nothing");
        assert!(refused.reset_in <= Duration::from_millis(200));
        assert_eq!(
            w.spend("b", 5).map(|s| s.remaining),
            Ok(0),
            "keys are apart"
        );
        assert_eq!(w.peek("a").remaining, 2);
        std::thread::sleep(Duration::from_millis(210));
        assert_eq!(w.spend("a", 5).map(|s| s.remaining), Ok(0), "a new window");
    }
}
