//! Orphans: inodes whose last name is gone. The transaction that removes
//! the last name also writes a durable orphan record, so a crash between
//! the unlink and the collection of the inode's items neither leaks them nor
//! loses data an open file still needs.

use crate::error::FsResult;
use crate::schema::{ino_bytes, inode_p};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::store::{
    Attrs, BatchWrite, Cond, Key, Query, Range, Store, StoreError, Table, Value, Write,
};

use super::Fs;

/// Partition tag of orphan records.
pub const ORPHAN_TAG: u8 = b'o';
/// Orphan records are spread over this many partitions.
pub const ORPHAN_SHARDS: u8 = 16;
/// Attribute: when the inode became an orphan.
pub const ORPHAN_SINCE: &str = "t";

pub fn orphan_key(ino: u64) -> Key {
    Key::new(
        vec![ORPHAN_TAG, (ino % ORPHAN_SHARDS as u64) as u8],
        ino_bytes(ino),
    )
}

pub fn orphan_put(ino: u64, now: i64) -> Write {
    let mut a = Attrs::new();
    a.insert(ORPHAN_SINCE.into(), Value::N(now));
    Write::Put {
        table: Table::Meta,
        key: orphan_key(ino),
        attrs: a,
        cond: None,
    }
}

/// The inode number an orphan record names.
pub fn orphan_ino(key: &Key) -> Option<u64> {
    let b: [u8; 8] = key.s.as_slice().try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// Partition tag of dead-generation records: blocks of a generation that
/// truncation to zero left behind, to be deleted in the background.
pub const GENERATION_TAG: u8 = b'g';
/// Attribute: how many blocks the dead generation may have.
pub const GENERATION_BLOCKS: &str = "n";

pub fn dead_generation_key(ino: u64, generation: u64) -> Key {
    let mut s = ino_bytes(ino).to_vec();
    s.extend_from_slice(&generation.to_be_bytes());
    Key::new(vec![GENERATION_TAG, (ino % ORPHAN_SHARDS as u64) as u8], s)
}

pub fn dead_generation_put(ino: u64, generation: u64, blocks: u64, now: i64) -> Write {
    let mut a = Attrs::new();
    a.insert(GENERATION_BLOCKS.into(), Value::N(blocks as i64));
    a.insert(ORPHAN_SINCE.into(), Value::N(now));
    Write::Put {
        table: Table::Meta,
        key: dead_generation_key(ino, generation),
        attrs: a,
        cond: None,
    }
}

pub(super) enum Job {
    Collect(u64),
    Generation(u64, u64, u64),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The background collector: one task per file system instance.
pub(super) fn start_collector(
    store: Arc<dyn Store>,
    block_size: u32,
) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        while let Some(job) = rx.recv().await {
            match job {
                Job::Generation(ino, generation, blocks) => {
                    if let Err(e) =
                        collect_generation(store.as_ref(), ino, generation, blocks).await
                    {
                        tracing::warn!(ino, generation, "collecting old data blocks failed: {e}");
                    }
                }
                Job::Collect(ino) => {
                    if let Err(e) = collect(store.as_ref(), ino, block_size).await {
                        // The orphan record stays: a later pass or fsck retries.
                        tracing::warn!(ino, "collecting orphan failed: {e}");
                    }
                }
                Job::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    });
    tx
}

/// Delete an orphan's items, then its record. Idempotent, so safe to repeat
/// and to run from several clients at once.
async fn collect(store: &dyn Store, ino: u64, block_size: u32) -> FsResult<()> {
    let mut q = Query::new(Table::Meta, inode_p(ino), Range::All);
    q.limit = Some(500);
    loop {
        let page = store.query(&q).await?;
        // The data first: while the inode item is there, its size and
        // generation say which blocks to delete.
        if let Some(i) = page
            .items
            .iter()
            .find(|i| i.key.s == crate::schema::INODE_ATTRS_S)
        {
            let size = i
                .attrs
                .get(crate::schema::attr::SIZE)
                .and_then(Value::as_n)
                .unwrap_or(0);
            let generation = i
                .attrs
                .get(crate::schema::attr::GENERATION)
                .and_then(Value::as_n)
                .unwrap_or(0);
            let blocks = (size.max(0) as u64).div_ceil(block_size as u64);
            delete_blocks(store, ino, generation as u64, blocks).await?;
        }
        let dels: Vec<BatchWrite> = page
            .items
            .iter()
            .map(|i| BatchWrite::Delete { key: i.key.clone() })
            .collect();
        if !dels.is_empty() {
            store.batch_write(Table::Meta, &dels).await?;
        }
        match page.next {
            Some(n) => q.start_after = Some(n),
            None => break,
        }
    }
    let r = store
        .write(&Write::Delete {
            table: Table::Meta,
            key: orphan_key(ino),
            cond: Some(Cond::Exists),
        })
        .await;
    match r {
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn delete_blocks(store: &dyn Store, ino: u64, generation: u64, blocks: u64) -> FsResult<()> {
    // In slices, so a huge file does not build one huge request list.
    let mut i = 0;
    while i < blocks {
        let end = (i + 2500).min(blocks);
        let dels: Vec<BatchWrite> = (i..end)
            .map(|b| BatchWrite::Delete {
                key: super::block::block_key(ino, generation, b),
            })
            .collect();
        store.batch_write(Table::Blocks, &dels).await?;
        i = end;
    }
    Ok(())
}

/// Delete a dead generation's blocks, then its record.
async fn collect_generation(
    store: &dyn Store,
    ino: u64,
    generation: u64,
    blocks: u64,
) -> FsResult<()> {
    delete_blocks(store, ino, generation, blocks).await?;
    let w = Write::Delete {
        table: Table::Meta,
        key: dead_generation_key(ino, generation),
        cond: None,
    };
    store.write(&w).await?;
    Ok(())
}

impl Fs {
    pub(super) fn collect_generation_later(&self, ino: u64, generation: u64, blocks: u64) {
        if self
            .collector
            .send(Job::Generation(ino, generation, blocks))
            .is_err()
        {
            tracing::warn!(ino, "collector stopped; fsck will delete the old blocks");
        }
    }

    /// All orphan records: (inode, since).
    pub async fn orphans(&self) -> FsResult<Vec<(u64, i64)>> {
        let mut out = Vec::new();
        for shard in 0..ORPHAN_SHARDS {
            let mut q = Query::new(Table::Meta, vec![ORPHAN_TAG, shard], Range::All);
            q.limit = Some(1000);
            loop {
                let page = self.store.query(&q).await?;
                for it in &page.items {
                    if let Some(ino) = orphan_ino(&it.key) {
                        let since = it
                            .attrs
                            .get(ORPHAN_SINCE)
                            .and_then(Value::as_n)
                            .unwrap_or(0);
                        out.push((ino, since));
                    }
                }
                match page.next {
                    Some(n) => q.start_after = Some(n),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    /// Delete an orphan's items and its record now.
    pub async fn collect_orphan(&self, ino: u64) -> FsResult<()> {
        self.cache.forget_node(ino);
        collect(self.store.as_ref(), ino, self.sb.block_size).await
    }

    /// Hand an orphan to the background collector: removing a name costs
    /// one request in the foreground, whatever the file held.
    pub(super) fn collect_later(&self, ino: u64) {
        if self.collector.send(Job::Collect(ino)).is_err() {
            tracing::warn!(
                ino,
                "orphan collector stopped; fsck will collect inode {ino}"
            );
        }
    }

    /// Wait until the background collector has finished what it was given.
    pub async fn settle(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.collector.send(Job::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Collect every orphan this client does not hold open. Returns how many.
    pub async fn collect_orphans(&self) -> FsResult<usize> {
        let mut n = 0;
        for (ino, _) in self.orphans().await? {
            if self.is_open(ino) {
                continue;
            }
            self.collect_orphan(ino).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Note that this client opened an inode.
    pub fn hold(&self, ino: u64) {
        if let Ok(mut m) = self.open_files.lock() {
            *m.entry(ino).or_insert(0) += 1;
        }
    }

    /// Note a close; the last close of an orphan hands it to the collector.
    pub async fn unhold(&self, ino: u64) {
        let last = match self.open_files.lock() {
            Ok(mut m) => match m.get_mut(&ino) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    m.remove(&ino);
                    true
                }
                None => false,
            },
            Err(_) => false,
        };
        let doomed = last
            && self
                .doomed
                .lock()
                .map(|mut d| d.remove(&ino))
                .unwrap_or(false);
        if doomed {
            self.collect_later(ino);
        }
    }

    /// This client removed the last name of `ino`: collect it now, or at
    /// its last close here if it is open.
    pub(super) fn orphaned(&self, ino: u64) {
        if self.is_open(ino) {
            if let Ok(mut d) = self.doomed.lock() {
                d.insert(ino);
            }
        } else {
            self.collect_later(ino);
        }
    }

    /// Whether this client holds the inode open (the data layer keeps the
    /// count); open orphans are collected at last close.
    pub fn is_open(&self, ino: u64) -> bool {
        self.open_files
            .lock()
            .map(|m| m.get(&ino).copied().unwrap_or(0) > 0)
            .unwrap_or(false)
    }
}
