//! A shard's cache partition: derived views of the IMPIs and IMPUs it owns.
//!
//! Entries are filled from the store on a miss and dropped when a write changes them (the writer
//! tells every owning shard; see `Shard::invalidate`). A fill races with invalidations: a read that
//! started before an invalidation may return data older than it, so every invalidation bumps a
//! generation and a fill is kept only if no invalidation happened while it was being read.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use hearth_core::crypto::milenage::Milenage;
use hearth_core::model::RegistrationRecord;
use hearth_core::ratelimit::RateLimiter;

use crate::store::PublicView;

/// Most entries one cache of one shard holds before it sheds the oldest half of its fills.
const DEFAULT_CAPACITY: usize = 500_000;

/// What the owner of an IMPI keeps to answer authentication requests without the store.
pub struct AuthEntry {
    /// Stored HA1 (hex), empty when the IMPI has AKA credentials only.
    pub digest_ha1: String,
    /// Realm of the HA1.
    pub realm: String,
    /// Every IMPU this IMPI can authenticate.
    pub impus: HashSet<String>,
    /// AKA state, when provisioned.
    pub aka: Option<AkaEntry>,
}

/// A subscriber's Milenage context with its key schedule expanded once, and its SQN block.
pub struct AkaEntry {
    /// The expanded context.
    pub milenage: Milenage,
    /// AMF for new vectors.
    pub amf: [u8; 2],
    /// Highest SQN written to the store as used or reserved.
    pub reserved_up_to: Cell<u64>,
    /// Next SQN to hand out from the reserved block, if any is left.
    pub next_in_block: Cell<Option<u64>>,
}

/// What the owner of an IMPU keeps to answer reg-data and location without the store.
pub struct PublicEntry {
    /// The IMPU, its IRS and every service profile of the IRS.
    pub view: PublicView,
    /// The IRS's registration (NOT_REGISTERED when none is stored).
    pub registration: RegistrationRecord,
}

/// A bounded map of views with invalidation generations and, for a store shared with other
/// nodes (whose writes are not announced here), a time to live.
pub struct ViewCache<V> {
    map: HashMap<String, (Rc<V>, Option<Instant>)>,
    generation: u64,
    capacity: usize,
    /// How long a fill may be served; `None`: until invalidated; zero: not kept at all.
    ttl: Option<Duration>,
}

impl<V> ViewCache<V> {
    fn new(capacity: usize, ttl: Option<Duration>) -> Self {
        ViewCache {
            map: HashMap::new(),
            generation: 0,
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// The cached view of `key`, unless it outlived the time to live.
    pub fn get(&self, key: &str) -> Option<Rc<V>> {
        let (view, expires) = self.map.get(key)?;
        match expires {
            Some(at) if Instant::now() >= *at => None,
            _ => Some(Rc::clone(view)),
        }
    }

    /// The generation to remember before reading the store for a fill.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Stores a view read from the store, unless something was invalidated since `generation`.
    pub fn fill(&mut self, key: &str, view: Rc<V>, generation: u64) {
        if generation != self.generation || self.ttl == Some(Duration::ZERO) {
            return;
        }
        if self.map.len() >= self.capacity {
            // Shed about half, arbitrarily: cheap, and a miss costs only a store read.
            let drop_count = self.map.len() / 2 + 1;
            let victims: Vec<String> = self.map.keys().take(drop_count).cloned().collect();
            for k in victims {
                self.map.remove(&k);
            }
        }
        let expires = self.ttl.map(|ttl| Instant::now() + ttl);
        self.map.insert(key.to_string(), (view, expires));
    }

    /// Drops `key` and invalidates fills in flight.
    pub fn invalidate(&mut self, key: &str) {
        self.map.remove(key);
        self.generation = self.generation.wrapping_add(1);
    }
}

/// Application state of one shard.
pub struct ShardState {
    /// Views of the IMPIs this shard owns.
    pub auth: RefCell<ViewCache<AuthEntry>>,
    /// Views of the IMPUs this shard owns.
    pub public: RefCell<ViewCache<PublicEntry>>,
    /// Serialises SQN block reservations on this shard (they await a store write).
    pub sqn_lock: glommio::sync::Semaphore,
    /// Credential rate-limit buckets of the subjects this shard owns.
    pub credential_rate: RefCell<RateLimiter>,
    /// HSS mode: negative cache and SIP core notifier, made on first use.
    pub hss: std::cell::OnceCell<Result<super::hss::HssState, String>>,
}

impl ShardState {
    /// Empty caches; `credential_rate` is the credential service's limiter (none: no limit).
    pub fn new(credential_rate: Option<RateLimiter>, view_ttl: Option<Duration>) -> Self {
        ShardState {
            auth: RefCell::new(ViewCache::new(DEFAULT_CAPACITY, view_ttl)),
            public: RefCell::new(ViewCache::new(DEFAULT_CAPACITY, view_ttl)),
            sqn_lock: glommio::sync::Semaphore::new(1),
            credential_rate: RefCell::new(
                credential_rate.unwrap_or_else(|| RateLimiter::new(0, 0, 1)),
            ),
            hss: std::cell::OnceCell::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_after_invalidation_is_dropped() {
        let mut c: ViewCache<u32> = ViewCache::new(10, None);
        let g = c.generation();
        c.invalidate("a");
        c.fill("a", Rc::new(1), g);
        assert!(c.get("a").is_none());
        let g = c.generation();
        c.fill("a", Rc::new(2), g);
        assert_eq!(c.get("a").as_deref(), Some(&2));
    }

    #[test]
    fn time_to_live() {
        let mut c: ViewCache<u32> = ViewCache::new(10, Some(Duration::ZERO));
        let g = c.generation();
        c.fill("a", Rc::new(1), g);
        assert!(c.get("a").is_none(), "a zero TTL keeps nothing");
        let mut c: ViewCache<u32> = ViewCache::new(10, Some(Duration::from_millis(30)));
        let g = c.generation();
        c.fill("a", Rc::new(1), g);
        assert_eq!(c.get("a").as_deref(), Some(&1));
        std::thread::sleep(Duration::from_millis(40));
        assert!(c.get("a").is_none(), "expired");
    }

    #[test]
    fn capacity_is_bounded() {
        let mut c: ViewCache<u32> = ViewCache::new(4, None);
        for i in 0..100 {
            let g = c.generation();
            c.fill(&i.to_string(), Rc::new(i), g);
        }
        assert!(c.map.len() <= 4);
        assert!(c.get("99").is_some());
    }
}
