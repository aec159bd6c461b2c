//! Which shard owns a key (an IMPI or an IMPU).

use std::hash::Hasher;

/// The shard that owns `key`: a stable hash of the key modulo the shard count.
///
/// SipHash with fixed keys, so the mapping is the same on every shard and every run of the same
/// binary (a restart finds each key on the same shard).
pub fn owner_shard(key: &[u8], nr_shards: usize) -> usize {
    if nr_shards <= 1 {
        return 0;
    }
    (stable_hash(key) % nr_shards as u64) as usize
}

/// A hash of `key` that is the same on every shard and every run (also used to split listings into
/// chunks).
pub fn stable_hash(key: &[u8]) -> u64 {
    #[allow(deprecated)] // SipHasher is the std's stable keyed hash; it is fine for partitioning.
    let mut hasher = std::hash::SipHasher::new_with_keys(0x4845_4152_5448, 0x0053_4841_5244);
    hasher.write(key);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_keys_over_all_shards() {
        let mut counts = [0usize; 4];
        for i in 0..4000 {
            counts[owner_shard(format!("user{i}@example.com").as_bytes(), 4)] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "uneven spread {counts:?}");
        }
    }

    #[test]
    fn single_shard_owns_everything() {
        assert_eq!(owner_shard(b"anything", 1), 0);
        assert_eq!(owner_shard(b"anything", 0), 0);
    }
}
