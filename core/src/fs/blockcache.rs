//! A bounded cache of decoded data blocks, shared by all open files of one
//! client, and the bookkeeping of blocks being fetched ahead of readers.
//!
//! Entries are keyed by (inode, generation, index), so truncation to zero
//! leaves nothing stale behind. A hole is cached as an empty block. Close-
//! to-open consistency: when a file is opened and its size, mtime or
//! generation differ from what the cached blocks were read under, the
//! inode's blocks are dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lru::LruCache;
use tokio::sync::watch;

pub(super) type BlockKey = (u64, u64, u64);

/// What an inode's cached blocks were read under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Version {
    pub size: u64,
    pub mtime: i64,
    pub generation: u64,
}

struct Inner {
    lru: LruCache<BlockKey, Arc<Vec<u8>>>,
    bytes: usize,
    versions: HashMap<u64, Version>,
    /// Blocks a read-ahead task is fetching: readers wait for the sender
    /// to be dropped instead of fetching the same block again.
    inflight: HashMap<BlockKey, watch::Receiver<()>>,
}

impl Inner {
    fn drop_blocks(&mut self, ino: u64) {
        let keys: Vec<BlockKey> = self
            .lru
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| k.0 == ino)
            .collect();
        for k in keys {
            if let Some(old) = self.lru.pop(&k) {
                self.bytes -= old.len();
            }
        }
    }
}

pub(super) struct BlockCache {
    limit: usize,
    inner: Mutex<Inner>,
    /// For metrics, readable without the lock: reads found cached or not,
    /// and a copy of the bytes held, updated under the lock.
    hits: AtomicU64,
    misses: AtomicU64,
    held: AtomicUsize,
}

/// What the cache did for reads so far, and what it holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockCacheStats {
    pub hits: u64,
    pub misses: u64,
    pub bytes: u64,
}

impl BlockCache {
    pub fn new(limit: usize) -> BlockCache {
        BlockCache {
            limit,
            inner: Mutex::new(Inner {
                lru: LruCache::unbounded(),
                bytes: 0,
                versions: HashMap::new(),
                inflight: HashMap::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            held: AtomicUsize::new(0),
        }
    }

    /// A reader's look for a block: counted as a hit or a miss.
    pub fn get(&self, key: BlockKey) -> Option<Arc<Vec<u8>>> {
        let found = self.fetched(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// A block that this reader just fetched or waited for (not counted:
    /// its miss was).
    pub fn fetched(&self, key: BlockKey) -> Option<Arc<Vec<u8>>> {
        self.inner.lock().ok()?.lru.get(&key).cloned()
    }

    pub fn stats(&self) -> BlockCacheStats {
        BlockCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.held.load(Ordering::Relaxed) as u64,
        }
    }

    pub fn put(&self, key: BlockKey, data: Arc<Vec<u8>>) {
        let Ok(mut g) = self.inner.lock() else { return };
        g.bytes += data.len();
        if let Some(old) = g.lru.put(key, data) {
            g.bytes -= old.len();
        }
        while g.bytes > self.limit {
            match g.lru.pop_lru() {
                Some((_, old)) => g.bytes -= old.len(),
                None => break,
            }
        }
        self.held.store(g.bytes, Ordering::Relaxed);
    }

    /// Forget every block of an inode.
    pub fn drop_ino(&self, ino: u64) {
        let Ok(mut g) = self.inner.lock() else { return };
        g.drop_blocks(ino);
        g.versions.remove(&ino);
        self.held.store(g.bytes, Ordering::Relaxed);
    }

    /// Record the version an inode's blocks now correspond to; returns
    /// whether the cached blocks were still valid (and are kept).
    pub fn revalidate(&self, ino: u64, v: Version) -> bool {
        let same = self
            .inner
            .lock()
            .ok()
            .and_then(|g| g.versions.get(&ino).copied())
            == Some(v);
        if !same {
            self.drop_ino(ino);
        }
        if let Ok(mut g) = self.inner.lock() {
            g.versions.insert(ino, v);
        }
        same
    }

    /// Drop an inode's blocks if they were read under another version, but
    /// keep the version they were read under: the next open still sees
    /// that the file changed (and lets the kernel drop its pages too).
    pub fn drop_if_changed(&self, ino: u64, v: Version) {
        let changed = self
            .inner
            .lock()
            .ok()
            .and_then(|g| g.versions.get(&ino).copied())
            .is_some_and(|old| old != v);
        if changed {
            if let Ok(mut g) = self.inner.lock() {
                g.drop_blocks(ino);
                self.held.store(g.bytes, Ordering::Relaxed);
            }
        }
    }

    /// Drop an inode's blocks unless they are known to be read under `v`
    /// (blocks fetched after a `drop_ino` have no version: dropped too).
    pub fn drop_unless_current(&self, ino: u64, v: Version) {
        let Ok(mut g) = self.inner.lock() else { return };
        if g.versions.get(&ino) != Some(&v) {
            g.drop_blocks(ino);
            self.held.store(g.bytes, Ordering::Relaxed);
        }
    }

    /// Record the version after this client's own change, keeping blocks.
    pub fn set_version(&self, ino: u64, v: Version) {
        if let Ok(mut g) = self.inner.lock() {
            g.versions.insert(ino, v);
        }
    }

    /// Mark blocks as being fetched; returns the ones this caller must
    /// fetch (not cached, not already in flight) and the sender whose drop
    /// tells waiters they are done.
    pub fn claim(&self, keys: &[BlockKey]) -> (Vec<BlockKey>, watch::Sender<()>) {
        let (tx, rx) = watch::channel(());
        let mut mine = Vec::new();
        if let Ok(mut g) = self.inner.lock() {
            for k in keys {
                if g.lru.contains(k) || g.inflight.contains_key(k) {
                    continue;
                }
                g.inflight.insert(*k, rx.clone());
                mine.push(*k);
            }
        }
        (mine, tx)
    }

    pub fn release(&self, keys: &[BlockKey]) {
        if let Ok(mut g) = self.inner.lock() {
            for k in keys {
                g.inflight.remove(k);
            }
        }
    }

    pub fn waiting(&self, key: BlockKey) -> Option<watch::Receiver<()>> {
        self.inner.lock().ok()?.inflight.get(&key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_versioned() {
        let c = BlockCache::new(10);
        c.put((1, 0, 0), Arc::new(vec![0; 6]));
        c.put((1, 0, 1), Arc::new(vec![0; 6]));
        assert!(c.get((1, 0, 0)).is_none(), "evicted past the byte bound");
        assert!(c.get((1, 0, 1)).is_some());
        assert_eq!(
            c.stats(),
            BlockCacheStats {
                hits: 1,
                misses: 1,
                bytes: 6
            }
        );
        let v = Version {
            size: 1,
            mtime: 2,
            generation: 0,
        };
        assert!(!c.revalidate(1, v));
        c.put((1, 0, 1), Arc::new(vec![1; 3]));
        assert!(c.revalidate(1, v));
        assert!(c.get((1, 0, 1)).is_some());
        assert!(!c.revalidate(1, Version { size: 5, ..v }));
        assert!(
            c.get((1, 0, 1)).is_none(),
            "a changed file drops its blocks"
        );
    }
}
