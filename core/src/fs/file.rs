//! File data: open files, buffered writes flushed as whole blocks in
//! parallel, reads of many blocks at once, truncation.
//!
//! Close-to-open consistency, as NFS: open reads the inode fresh; flush,
//! fsync and close write the dirty blocks, then (and only then) the inode's
//! size and mtime, so no reader ever sees a size whose blocks are missing.
//! All handles of one inode in this client share one state, so they see
//! each other's writes at once, and an unlinked file stays usable until its
//! last close.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

use crate::caller::Caller;
use crate::error::{posix, Errno, FsError, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::attr;
use crate::store::{Change, Cond, Key, Store, Table, Value, Write};
use crate::superblock::now_ns;

use super::block::{self, block_key};
use super::blockcache::{BlockCache, Version};
use super::txn::Attempts;
use super::Fs;

/// Largest file: 16 TiB. Writes past it fail with EFBIG.
pub const MAX_FILE_SIZE: u64 = 1 << 44;
/// Block writes in flight per flush.
pub const PARALLEL_WRITES: usize = 16;

/// How a file is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenMode {
    pub read: bool,
    pub write: bool,
    pub append: bool,
    pub truncate: bool,
}

/// One inode's data state in this client, shared by its handles.
#[derive(Debug)]
pub(super) struct OpenFile {
    pub(super) ino: u64,
    pub(super) generation: u64,
    pub(super) size: u64,
    pub(super) ctime: i64,
    /// Whole blocks waiting to be written, by index.
    pub(super) dirty: BTreeMap<u64, Vec<u8>>,
    pub(super) dirty_bytes: usize,
    /// Size or mtime changed since the last flush.
    pub(super) changed: bool,
    pub(super) handles: u32,
    /// Read-ahead: where a sequential reader will read next, the window
    /// in blocks (doubling while reads stay sequential), and the last block
    /// already asked for.
    pub(super) ra_next: u64,
    pub(super) ra_window: u64,
    pub(super) ra_issued: Option<u64>,
}

impl OpenFile {
    pub(super) fn new(node: &super::node::Node) -> OpenFile {
        OpenFile {
            ino: node.inode.ino,
            generation: node.inode.generation,
            size: node.inode.size,
            ctime: node.inode.ctime,
            dirty: BTreeMap::new(),
            dirty_bytes: 0,
            changed: false,
            handles: 0,
            ra_next: 0,
            ra_window: RA_FIRST,
            ra_issued: None,
        }
    }
}

/// Read-ahead window: its first size in blocks, its largest in bytes, and
/// the least it is topped up by.
const RA_FIRST: u64 = 4;
const RA_MAX_BYTES: u64 = 8 << 20;
const RA_BATCH_BYTES: u64 = 1 << 20;
/// Bytes of blocks asked for in one BatchGetItem: DynamoDB answers at most
/// 16 MB per request and returns the rest as unprocessed keys.
const BATCH_GET_BYTES: u64 = 12 << 20;

#[derive(Clone)]
struct Handle {
    mode: OpenMode,
    file: Arc<Mutex<OpenFile>>,
    /// The file's data did not change since this client last read it, so
    /// cached pages may be kept (FOPEN_KEEP_CACHE).
    keep_cache: bool,
}

/// Open files of one client.
#[derive(Default)]
pub(super) struct Files {
    next: AtomicU64,
    handles: std::sync::Mutex<HashMap<u64, Handle>>,
    pub(super) by_ino: std::sync::Mutex<HashMap<u64, Arc<Mutex<OpenFile>>>>,
    pub(super) dirty_total: AtomicUsize,
}

impl Fs {
    pub(super) fn bs(&self) -> u64 {
        self.sb.block_size as u64
    }

    pub(super) fn compress(&self) -> bool {
        self.sb.compression == "lz4"
    }

    fn handle(&self, fh: u64) -> FsResult<Handle> {
        self.files
            .handles
            .lock()
            .ok()
            .and_then(|m| m.get(&fh).cloned())
            .ok_or_else(|| posix(Errno::EBADF, format!("no open file {fh}")))
    }

    /// Open an inode; returns a handle number. The inode is read fresh.
    pub async fn open_file(&self, caller: &Caller, ino: u64, mode: OpenMode) -> FsResult<u64> {
        self.open_node(caller, ino, mode, true).await
    }

    /// Open a file this client has just created: what create returned is
    /// current, so the inode is not read again.
    pub async fn open_created(&self, caller: &Caller, ino: u64, mode: OpenMode) -> FsResult<u64> {
        self.open_node(caller, ino, mode, false).await
    }

    async fn open_node(
        &self,
        caller: &Caller,
        ino: u64,
        mode: OpenMode,
        fresh: bool,
    ) -> FsResult<u64> {
        if mode.write || mode.truncate {
            self.writable()?;
        }
        let node = self.node(ino, fresh).await?;
        if node.is_dir() && (mode.write || mode.truncate) {
            return Err(posix(Errno::EISDIR, "open a directory for writing"));
        }
        let mut mask = 0;
        if mode.read {
            mask |= perm::R;
        }
        if mode.write || mode.truncate {
            mask |= perm::W;
        }
        self.check(caller, &node, mask, "open")?;
        let file = {
            let mut m = self
                .files
                .by_ino
                .lock()
                .map_err(|_| FsError::Corrupt("open files lock poisoned".into()))?;
            Arc::clone(
                m.entry(ino)
                    .or_insert_with(|| Arc::new(Mutex::new(OpenFile::new(&node)))),
            )
        };
        let keep_cache;
        {
            let mut f = file.lock().await;
            if f.dirty.is_empty() && !f.changed {
                // Close-to-open: take what other clients closed.
                f.generation = node.inode.generation;
                f.size = node.inode.size;
                f.ctime = node.inode.ctime;
            }
            keep_cache = f.handles > 0 || self.blocks.revalidate(ino, version_of(&node.inode));
            f.handles += 1;
            if mode.truncate && mode.write && node.kind() == FileType::Regular {
                self.truncate_locked(&mut f, 0).await?;
            }
        }
        self.hold(ino);
        let fh = self.files.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut m) = self.files.handles.lock() {
            m.insert(
                fh,
                Handle {
                    mode,
                    file,
                    keep_cache,
                },
            );
        }
        Ok(fh)
    }

    /// Whether the kernel may keep its cached pages of this file: its data
    /// did not change since this client last had it open.
    pub fn keep_cache(&self, fh: u64) -> bool {
        self.handle(fh).map(|h| h.keep_cache).unwrap_or(false)
    }

    /// Read up to `len` bytes at `offset`; short only at end of file.
    pub async fn read(&self, fh: u64, offset: u64, len: usize) -> FsResult<Vec<u8>> {
        let h = self.handle(fh)?;
        if !h.mode.read {
            return Err(posix(Errno::EBADF, "file not open for reading"));
        }
        let mut f = h.file.lock().await;
        if offset >= f.size || len == 0 {
            return Ok(Vec::new());
        }
        let end = (offset + len as u64).min(f.size);
        let bs = self.bs();
        let first = offset / bs;
        let last = (end - 1) / bs;
        let missing: Vec<u64> = (first..=last)
            .filter(|i| !f.dirty.contains_key(i))
            .collect();
        let fetched = self.load_blocks(f.ino, f.generation, &missing).await?;
        self.read_ahead(&mut f, offset, end);
        let mut out = Vec::with_capacity((end - offset) as usize);
        for i in first..=last {
            let data: Option<&[u8]> = match f.dirty.get(&i) {
                Some(d) => Some(d),
                None => fetched.get(&i).map(|d| d.as_slice()),
            };
            let from = if i == first {
                (offset % bs) as usize
            } else {
                0
            };
            let to = if i == last {
                ((end - 1) % bs) as usize + 1
            } else {
                bs as usize
            };
            let have = data.unwrap_or(&[]);
            let lo = from.min(have.len());
            let hi = to.min(have.len()).max(lo);
            out.extend_from_slice(&have[lo..hi]);
            // Bytes past a block's stored length are a hole: zeros.
            out.resize(out.len() + (to - from) - (hi - lo), 0);
        }
        Ok(out)
    }

    /// After a read ending at `end`: if reads are sequential, fetch the
    /// next window of blocks in the background, doubling the window while
    /// the reader keeps up.
    fn read_ahead(&self, f: &mut OpenFile, offset: u64, end: u64) {
        let bs = self.bs();
        // Only a reader that continues where it stopped is sequential: a
        // random reader must not pay for blocks it will never read.
        let sequential = offset == f.ra_next && offset != 0;
        f.ra_next = end;
        if !sequential {
            f.ra_window = RA_FIRST;
            f.ra_issued = None;
            return;
        }
        let max_window = (RA_MAX_BYTES / bs).max(RA_FIRST);
        f.ra_window = (f.ra_window * 2).min(max_window);
        let last_block = match f.size {
            0 => return,
            s => (s - 1) / bs,
        };
        let from = ((end - 1) / bs + 1).max(f.ra_issued.map_or(0, |i| i + 1));
        let to = ((end - 1) / bs + f.ra_window).min(last_block);
        if from > to {
            return;
        }
        // Top the window up in batches of about 1 MiB, not a block per
        // read: each request costs a round trip whatever it carries.
        let batch = (RA_BATCH_BYTES / bs).max(1);
        if to - from + 1 < batch && to < last_block {
            return;
        }
        let keys: Vec<_> = (from..=to)
            .filter(|i| !f.dirty.contains_key(i))
            .map(|i| (f.ino, f.generation, i))
            .collect();
        f.ra_issued = Some(to);
        let (mine, done) = self.blocks.claim(&keys);
        if mine.is_empty() {
            return;
        }
        let store = Arc::clone(&self.store);
        let cache = Arc::clone(&self.blocks);
        let block_size = self.sb.block_size;
        tokio::spawn(async move {
            let r = fetch_into(store.as_ref(), &cache, &mine, block_size).await;
            if let Err(e) = r {
                // The reader fetches the block itself and reports errors.
                tracing::debug!("read-ahead failed: {e}");
            }
            cache.release(&mine);
            drop(done);
        });
    }

    /// Blocks by index through the cache: cached ones at once, ones being
    /// read ahead waited for, the rest read together (one request per 100).
    pub(super) async fn load_blocks(
        &self,
        ino: u64,
        generation: u64,
        idx: &[u64],
    ) -> FsResult<HashMap<u64, Arc<Vec<u8>>>> {
        let mut out = HashMap::new();
        let mut wait = Vec::new();
        let mut fetch = Vec::new();
        for i in idx {
            let k = (ino, generation, *i);
            if let Some(d) = self.blocks.get(k) {
                out.insert(*i, d);
            } else if let Some(rx) = self.blocks.waiting(k) {
                wait.push((*i, rx));
            } else {
                fetch.push(k);
            }
        }
        for (i, mut rx) in wait {
            // Resolves when the read-ahead task drops its sender.
            let _ = rx.changed().await;
            match self.blocks.get((ino, generation, i)) {
                Some(d) => {
                    out.insert(i, d);
                }
                None => fetch.push((ino, generation, i)),
            }
        }
        if !fetch.is_empty() {
            fetch_into(
                self.store.as_ref(),
                &self.blocks,
                &fetch,
                self.sb.block_size,
            )
            .await?;
            for k in fetch {
                out.insert(k.2, self.blocks.get(k).unwrap_or_default());
            }
        }
        Ok(out)
    }

    /// Write at `offset` (at the end with O_APPEND); buffered until flush.
    pub async fn write(&self, fh: u64, offset: u64, data: &[u8]) -> FsResult<usize> {
        let h = self.handle(fh)?;
        if !h.mode.write {
            return Err(posix(Errno::EBADF, "file not open for writing"));
        }
        self.writable()?;
        let mut f = h.file.lock().await;
        // Appends are atomic within this client: the offset is taken under
        // the file's lock.
        let offset = if h.mode.append { f.size } else { offset };
        let end = offset
            .checked_add(data.len() as u64)
            .filter(|e| *e <= MAX_FILE_SIZE)
            .ok_or_else(|| posix(Errno::EFBIG, "write past the largest file size"))?;
        if data.is_empty() {
            return Ok(0);
        }
        let bs = self.bs();
        let first = offset / bs;
        let last = (end - 1) / bs;
        // Blocks partly overwritten that hold data need their old bytes.
        let need: Vec<u64> = (first..=last)
            .filter(|i| !f.dirty.contains_key(i))
            .filter(|i| {
                let (bstart, bend) = (i * bs, (i + 1) * bs);
                let covers = offset <= bstart && end >= bend.min(f.size.max(end));
                bstart < f.size && !covers
            })
            .collect();
        let mut old = self.load_blocks(f.ino, f.generation, &need).await?;
        let mut added = 0usize;
        for i in first..=last {
            let buf = match f.dirty.remove(&i) {
                Some(b) => b,
                None => old
                    .remove(&i)
                    .map(|d| d.as_ref().clone())
                    .unwrap_or_default(),
            };
            let before = buf.len();
            let mut buf = buf;
            let from = offset.max(i * bs);
            let to = end.min((i + 1) * bs);
            let (bf, bt) = ((from - i * bs) as usize, (to - i * bs) as usize);
            if buf.len() < bt {
                buf.resize(bt, 0);
            }
            buf[bf..bt].copy_from_slice(&data[(from - offset) as usize..(to - offset) as usize]);
            added += buf.len().saturating_sub(before);
            f.dirty.insert(i, buf);
        }
        f.dirty_bytes += added;
        self.files.dirty_total.fetch_add(added, Ordering::Relaxed);
        f.size = f.size.max(end);
        f.changed = true;
        if self.files.dirty_total.load(Ordering::Relaxed) > self.opts.dirty_limit
            || f.dirty_bytes > self.opts.dirty_limit
        {
            self.flush_locked(&mut f).await?;
        }
        Ok(data.len())
    }

    /// Write dirty blocks (in parallel), then the inode's size and times.
    /// When this returns, data and metadata are durable in the store.
    pub async fn flush(&self, fh: u64) -> FsResult<()> {
        let h = self.handle(fh)?;
        let mut f = h.file.lock().await;
        self.flush_locked(&mut f).await
    }

    pub(super) async fn flush_locked(&self, f: &mut OpenFile) -> FsResult<()> {
        if f.dirty.is_empty() && !f.changed {
            return Ok(());
        }
        let blocks = std::mem::take(&mut f.dirty);
        self.files
            .dirty_total
            .fetch_sub(f.dirty_bytes, Ordering::Relaxed);
        f.dirty_bytes = 0;
        let mut tries = Attempts::new();
        loop {
            if let Err(e) = self.put_blocks(f.ino, f.generation, &blocks).await {
                // Keep the data for the next flush or close.
                f.dirty_bytes = blocks.values().map(Vec::len).sum();
                self.files
                    .dirty_total
                    .fetch_add(f.dirty_bytes, Ordering::Relaxed);
                f.dirty = blocks;
                return Err(e);
            }
            let now = now_ns();
            let ctime = now.max(f.ctime + 1);
            let w = Write::Update {
                table: Table::Meta,
                key: crate::inode::inode_key(f.ino),
                changes: vec![
                    Change::set(attr::SIZE, Value::N(f.size as i64)),
                    Change::set(attr::MTIME, Value::N(now)),
                    Change::set(attr::CTIME, Value::N(ctime)),
                ],
                cond: Some(generation_is(f.generation)),
            };
            match self.store.write(&w).await {
                Ok(()) => {
                    f.ctime = ctime;
                    f.changed = false;
                    self.cache.forget_node(f.ino);
                    // What this client wrote is what it would read back.
                    let (ino, generation) = (f.ino, f.generation);
                    for (i, d) in blocks {
                        self.blocks.put((ino, generation, i), Arc::new(d));
                    }
                    self.blocks.set_version(
                        ino,
                        Version {
                            size: f.size,
                            mtime: now,
                            generation,
                        },
                    );
                    return Ok(());
                }
                Err(crate::store::StoreError::ConditionFailed { .. }) => {
                    // Another client truncated to zero meanwhile (a new
                    // generation) or removed the file: write again under
                    // what is there now.
                    let node = self.node(f.ino, true).await?;
                    f.generation = node.inode.generation;
                    f.ctime = node.inode.ctime;
                    tries.again().await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn put_blocks(
        &self,
        ino: u64,
        generation: u64,
        blocks: &BTreeMap<u64, Vec<u8>>,
    ) -> FsResult<()> {
        let limit = Arc::new(Semaphore::new(PARALLEL_WRITES));
        let mut set = JoinSet::new();
        for (i, data) in blocks {
            let store: Arc<dyn Store> = Arc::clone(&self.store);
            let w = Write::Put {
                table: Table::Blocks,
                key: block_key(ino, generation, *i),
                attrs: block::encode(data, self.compress()),
                cond: None,
            };
            let permit = Arc::clone(&limit).acquire_owned().await;
            set.spawn(async move {
                let _permit = permit;
                store.write(&w).await
            });
        }
        let mut first_err = None;
        while let Some(r) = set.join_next().await {
            let r = r.map_err(|e| FsError::Corrupt(format!("block writer failed: {e}")))?;
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Flush every open file (at unmount, so nothing buffered is lost).
    /// Returns the first error, after trying them all.
    pub async fn flush_all(&self) -> FsResult<()> {
        let files: Vec<Arc<Mutex<OpenFile>>> = self
            .files
            .by_ino
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let mut first = None;
        for f in files {
            let mut f = f.lock().await;
            if let Err(e) = self.flush_locked(&mut f).await {
                tracing::error!(ino = f.ino, "flushing at unmount failed: {e}");
                first.get_or_insert(e);
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// fsync: as flush (every flush is durable).
    pub async fn fsync(&self, fh: u64) -> FsResult<()> {
        self.flush(fh).await
    }

    /// Close a handle: flush, and at the last close of an unlinked file let
    /// it be collected.
    pub async fn release(&self, fh: u64) -> FsResult<()> {
        let h = self.handle(fh)?;
        let result = {
            let mut f = h.file.lock().await;
            let r = self.flush_locked(&mut f).await;
            f.handles = f.handles.saturating_sub(1);
            if f.handles == 0 && f.dirty.is_empty() {
                if let Ok(mut m) = self.files.by_ino.lock() {
                    m.remove(&f.ino);
                }
            }
            r
        };
        if let Ok(mut m) = self.files.handles.lock() {
            m.remove(&fh);
        }
        self.unhold(h.file.lock().await.ino).await;
        result
    }
}

/// Read blocks (one request per 100) into the cache; holes are cached as
/// empty blocks.
async fn fetch_into(
    store: &dyn Store,
    cache: &BlockCache,
    keys: &[(u64, u64, u64)],
    block_size: u32,
) -> FsResult<()> {
    let per_request = ((BATCH_GET_BYTES / block_size as u64) as usize).max(1);
    for chunk in keys.chunks(per_request) {
        let store_keys: Vec<Key> = chunk.iter().map(|k| block_key(k.0, k.1, k.2)).collect();
        let items = store.batch_get(Table::Blocks, &store_keys, true).await?;
        for (k, item) in chunk.iter().zip(items) {
            let data = match item {
                Some(item) => block::decode(&item, block_size)?,
                None => Vec::new(),
            };
            cache.put(*k, Arc::new(data));
        }
    }
    Ok(())
}

fn version_of(i: &crate::inode::Inode) -> Version {
    Version {
        size: i.size,
        mtime: i.mtime,
        generation: i.generation,
    }
}

pub(super) fn generation_is(generation: u64) -> Cond {
    if generation == 0 {
        // Generation 0 is stored as an absent attribute.
        Cond::And(vec![Cond::Exists, Cond::has_not(attr::GENERATION)])
    } else {
        Cond::eq(attr::GENERATION, Value::N(generation as i64))
    }
}
