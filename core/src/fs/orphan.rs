//! Orphans: inodes whose last name is gone. The transaction that removes
//! the last name also writes a durable orphan record, so a crash between
//! the unlink and the collection of the inode's items neither leaks them nor
//! loses data an open file still needs.

use crate::error::FsResult;
use crate::schema::{ino_bytes, inode_p};
use std::sync::Arc;

use crate::store::{
    Attrs, BatchWrite, Change, CmpOp, Cond, Key, Query, Range, Store, StoreError, Table, Value,
    Write,
};

use super::collect::Job;
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

fn since(it: &crate::store::Item) -> i64 {
    it.attrs
        .get(ORPHAN_SINCE)
        .and_then(Value::as_n)
        .unwrap_or(0)
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

/// Make a dead generation's record name at least `blocks` blocks: created
/// if the collector already deleted it, left alone (a failed condition) if
/// it names as many already.
pub(super) fn dead_generation_cover(ino: u64, generation: u64, blocks: u64, now: i64) -> Write {
    Write::Update {
        table: Table::Meta,
        key: dead_generation_key(ino, generation),
        changes: vec![
            Change::set(GENERATION_BLOCKS, Value::N(blocks as i64)),
            Change::set(ORPHAN_SINCE, Value::N(now)),
        ],
        cond: Some(Cond::Or(vec![
            Cond::has_not(GENERATION_BLOCKS),
            Cond::cmp(GENERATION_BLOCKS, CmpOp::Lt, Value::N(blocks as i64)),
        ])),
    }
}

/// Delete an orphan's items, then its record. Idempotent, so safe to repeat
/// and to run from several clients at once.
pub(super) async fn collect(store: &dyn Store, ino: u64, block_size: u32) -> FsResult<()> {
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

/// Orphans collected together, when each is known to be one inode item and
/// its blocks (files, symlinks, devices; directories whose rmdir deleted
/// their counters): one batch read of their inode items, then batch deletes
/// of the blocks, the inode items and the records, in that order (each step
/// idempotent, so a crash leaves records a later pass finishes). Small
/// files cost about a tenth of a request each instead of four. An orphan
/// with extended attributes (items of their own) goes through `collect`.
pub(super) async fn collect_many(store: &dyn Store, inos: &[u64], block_size: u32) -> FsResult<()> {
    let keys: Vec<Key> = inos.iter().map(|i| crate::inode::inode_key(*i)).collect();
    let items = store.batch_get(Table::Meta, &keys, true).await?;
    let mut blocks = Vec::new();
    let mut inodes = Vec::new();
    let mut whole = Vec::new();
    for (ino, it) in inos.iter().zip(items) {
        let Some(it) = it else { continue };
        let n = |name: &str| it.attrs.get(name).and_then(Value::as_n).unwrap_or(0);
        if n(crate::schema::attr::XATTR_COUNT) > 0 {
            // Its extended attributes are items of their own.
            whole.push(*ino);
            continue;
        }
        let count = (n(crate::schema::attr::SIZE).max(0) as u64).div_ceil(block_size as u64);
        let generation = n(crate::schema::attr::GENERATION) as u64;
        if count > 1000 {
            delete_blocks(store, *ino, generation, count).await?;
        } else {
            blocks.extend((0..count).map(|b| BatchWrite::Delete {
                key: super::block::block_key(*ino, generation, b),
            }));
        }
        inodes.push(BatchWrite::Delete { key: it.key });
    }
    if !blocks.is_empty() {
        store.batch_write(Table::Blocks, &blocks).await?;
    }
    if !inodes.is_empty() {
        store.batch_write(Table::Meta, &inodes).await?;
    }
    for ino in &whole {
        collect(store, *ino, block_size).await?;
    }
    let records: Vec<BatchWrite> = inos
        .iter()
        .filter(|i| !whole.contains(i))
        .map(|i| BatchWrite::Delete {
            key: orphan_key(*i),
        })
        .collect();
    store.batch_write(Table::Meta, &records).await?;
    Ok(())
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
pub(super) async fn collect_generation(
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
    /// Hand a dead generation this client ended to the collector.
    pub(super) fn collect_generation_later(&self, ino: u64, generation: u64, blocks: u64) {
        let job = Job::Generation {
            ino,
            generation,
            blocks,
            own: true,
        };
        if self.collector.send(job).is_err() {
            tracing::warn!(ino, "collector stopped; fsck will delete the old blocks");
        }
    }

    /// Let the collector judge other clients with this session: it then
    /// waits for what they hold open, and sweeps for records of clients
    /// that died (a mount does this; the tools do not).
    pub fn attach_session(&self, session: Arc<crate::session::Session>) {
        let _ = self.session.set(Arc::clone(&session));
        let _ = self.collector.send(Job::Attach(session));
    }

    /// All orphan records: (inode, since).
    pub async fn orphans(&self) -> FsResult<Vec<(u64, i64)>> {
        let mut out = Vec::new();
        for it in self.records(ORPHAN_TAG).await? {
            if let Some(ino) = orphan_ino(&it.key) {
                out.push((ino, since(&it)));
            }
        }
        Ok(out)
    }

    /// All dead-generation records: (inode, generation, since).
    pub async fn dead_generations(&self) -> FsResult<Vec<(u64, u64, i64)>> {
        let mut out = Vec::new();
        for it in self.records(GENERATION_TAG).await? {
            let s = &it.key.s;
            if let (Some(i), Some(g)) = (s.get(..8), s.get(8..16)) {
                let ino = u64::from_be_bytes(i.try_into().unwrap_or_default());
                let generation = u64::from_be_bytes(g.try_into().unwrap_or_default());
                out.push((ino, generation, since(&it)));
            }
        }
        Ok(out)
    }

    /// Every item of the record partitions with this tag.
    async fn records(&self, tag: u8) -> FsResult<Vec<crate::store::Item>> {
        let mut out = Vec::new();
        for shard in 0..ORPHAN_SHARDS {
            let mut q = Query::new(Table::Meta, vec![tag, shard], Range::All);
            q.limit = Some(1000);
            loop {
                let page = self.store.query(&q).await?;
                out.extend(page.items);
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

    /// Hand a removed directory to the background collector.
    pub(super) fn collect_dir_later(&self, ino: u64) {
        if self.collector.send(Job::Directory(ino)).is_err() {
            tracing::warn!(
                ino,
                "orphan collector stopped; fsck will collect inode {ino}"
            );
        }
    }

    /// Hand an orphan to the background collector: removing a name costs
    /// one request in the foreground, whatever the file held.
    pub(super) fn collect_later(&self, ino: u64) {
        if self.collector.send(Job::Orphan(ino)).is_err() {
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

    /// Note that this client opened an inode; returns whether it held it
    /// open already.
    pub fn hold(&self, ino: u64) -> bool {
        self.held.hold(ino)
    }

    /// Note a close; the last close of an orphan hands it to the collector.
    pub async fn unhold(&self, ino: u64) {
        let last = self.held.release(ino);
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
        self.held.contains(ino)
    }
}
