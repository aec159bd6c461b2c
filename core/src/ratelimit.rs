//! A per-key token-bucket rate limiter, driven by a clock passed in.
//!
//! Each key (a subject) has a bucket of `burst` tokens, refilled at `per_minute` tokens a minute;
//! a request takes one token or is refused with the time until one is back. Arithmetic is exact
//! integers: one token is 60 000 units and a bucket gains `per_minute` units a millisecond.
//!
//! Memory is bounded: when a new key would exceed `max_keys`, buckets that have refilled
//! completely (indistinguishable from absent ones) are dropped first, then arbitrary ones (their
//! keys get a fresh burst: the limiter errs on the lenient side rather than grow without bound).

use std::collections::HashMap;

/// Units in one token.
const UNIT: u128 = 60_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens × [`UNIT`].
    level: u128,
    /// When `level` was last brought up to date, in milliseconds.
    at_ms: u64,
}

/// Token buckets by key.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    per_minute: u32,
    capacity: u128,
    max_keys: usize,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    /// A limiter allowing bursts of `burst` requests per key, refilled at `per_minute` a minute,
    /// holding at most `max_keys` buckets. `per_minute == 0` or `burst == 0` disables limiting.
    pub fn new(per_minute: u32, burst: u32, max_keys: usize) -> RateLimiter {
        RateLimiter {
            per_minute,
            capacity: u128::from(burst) * UNIT,
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Whether limiting is on.
    pub fn enabled(&self) -> bool {
        self.per_minute > 0 && self.capacity > 0
    }

    /// Number of buckets held.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// True when no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    fn refilled(&self, bucket: Bucket, now_ms: u64) -> u128 {
        let elapsed = u128::from(now_ms.saturating_sub(bucket.at_ms));
        bucket
            .level
            .saturating_add(elapsed.saturating_mul(u128::from(self.per_minute)))
            .min(self.capacity)
    }

    /// Takes one token for `key` at `now_ms` (milliseconds, any monotonic origin). `Err` carries
    /// the milliseconds until a token is available.
    pub fn check(&mut self, key: &str, now_ms: u64) -> Result<(), u64> {
        if !self.enabled() {
            return Ok(());
        }
        let level = match self.buckets.get(key) {
            Some(b) => self.refilled(*b, now_ms),
            None => {
                if self.buckets.len() >= self.max_keys {
                    self.shed(now_ms);
                }
                self.capacity
            }
        };
        if level >= UNIT {
            self.buckets.insert(
                key.to_owned(),
                Bucket {
                    level: level - UNIT,
                    at_ms: now_ms,
                },
            );
            Ok(())
        } else {
            self.buckets.insert(
                key.to_owned(),
                Bucket {
                    level,
                    at_ms: now_ms,
                },
            );
            let missing = UNIT - level;
            let per_ms = u128::from(self.per_minute);
            let wait = missing.div_ceil(per_ms);
            Err(u64::try_from(wait).unwrap_or(u64::MAX))
        }
    }

    /// Makes room for one more bucket.
    fn shed(&mut self, now_ms: u64) {
        let per_minute = self.per_minute;
        let capacity = self.capacity;
        self.buckets.retain(|_, b| {
            let elapsed = u128::from(now_ms.saturating_sub(b.at_ms));
            b.level
                .saturating_add(elapsed.saturating_mul(u128::from(per_minute)))
                < capacity
        });
        if self.buckets.len() >= self.max_keys {
            let excess = self.buckets.len() + 1 - self.max_keys;
            let victims: Vec<String> = self.buckets.keys().take(excess).cloned().collect();
            for key in victims {
                self.buckets.remove(&key);
            }
        }
    }
}

/// Seconds for a `Retry-After` header: the wait rounded up, at least 1.
pub fn retry_after_secs(wait_ms: u64) -> u64 {
    wait_ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refusal_then_refill() {
        let mut rl = RateLimiter::new(60, 3, 100);
        for _ in 0..3 {
            assert_eq!(rl.check("alice", 1_000), Ok(()));
        }
        // One token a second: the fourth waits a full second.
        assert_eq!(rl.check("alice", 1_000), Err(1_000));
        assert_eq!(rl.check("alice", 1_400), Err(600));
        assert_eq!(rl.check("alice", 2_000), Ok(()));
        assert_eq!(rl.check("alice", 2_000), Err(1_000));
        // Other keys have their own buckets.
        assert_eq!(rl.check("bob", 2_000), Ok(()));
    }

    #[test]
    fn refill_is_capped_at_burst() {
        let mut rl = RateLimiter::new(60, 2, 100);
        assert_eq!(rl.check("a", 0), Ok(()));
        // An hour idle refills only up to the burst.
        for _ in 0..2 {
            assert_eq!(rl.check("a", 3_600_000), Ok(()));
        }
        assert!(rl.check("a", 3_600_000).is_err());
    }

    #[test]
    fn slow_rates_are_exact() {
        // One a minute: after 59.999 s still nothing, at 60 s one.
        let mut rl = RateLimiter::new(1, 1, 10);
        assert_eq!(rl.check("k", 0), Ok(()));
        assert_eq!(rl.check("k", 59_999), Err(1));
        assert_eq!(rl.check("k", 60_000), Ok(()));
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(0), 1);
        assert_eq!(retry_after_secs(1_001), 2);
    }

    #[test]
    fn clock_going_backwards_gives_nothing() {
        let mut rl = RateLimiter::new(60, 1, 10);
        assert_eq!(rl.check("k", 10_000), Ok(()));
        assert!(rl.check("k", 5_000).is_err());
    }

    #[test]
    fn disabled_allows_everything() {
        let mut rl = RateLimiter::new(0, 5, 10);
        assert!(!rl.enabled());
        for _ in 0..100 {
            assert_eq!(rl.check("k", 0), Ok(()));
        }
        assert!(rl.is_empty());
        let mut rl = RateLimiter::new(5, 0, 10);
        assert_eq!(rl.check("k", 0), Ok(()));
    }

    #[test]
    fn memory_is_bounded() {
        let mut rl = RateLimiter::new(60, 2, 4);
        for i in 0..4 {
            assert_eq!(rl.check(&format!("k{i}"), 0), Ok(()));
        }
        assert_eq!(rl.len(), 4);
        // None has refilled yet: arbitrary ones go, the count stays bounded.
        assert_eq!(rl.check("k4", 0), Ok(()));
        assert_eq!(rl.len(), 4);
        // After a second every bucket is full again and they are shed first.
        assert_eq!(rl.check("k5", 1_000), Ok(()));
        assert!(rl.len() <= 4);
        // A bucket still refilling survives shedding while full ones go first.
        let mut rl = RateLimiter::new(60, 2, 2);
        assert_eq!(rl.check("busy", 0), Ok(()));
        assert_eq!(rl.check("busy", 0), Ok(()));
        assert_eq!(rl.check("idle", 0), Ok(()));
        assert_eq!(rl.check("new", 1_000), Ok(()));
        assert_eq!(rl.len(), 2);
        // "busy" kept its state: one token back after a second, not a fresh burst of two.
        assert_eq!(rl.check("busy", 1_000), Ok(()));
        assert_eq!(rl.check("busy", 1_000), Err(1_000));
    }
}
