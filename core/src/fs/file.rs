//! Open files and reads: handles, the per-inode state they share, reads of
//! many blocks at once and read-ahead. Writes and flushes are in `write`.
//!
//! Close-to-open consistency, as NFS: open reads the inode fresh, and so
//! does every getattr, lock and flush with appends; whenever a fresh read
//! finds that another client changed a file this client has open (and this
//! client has nothing unflushed of it), the open state and the cached
//! blocks follow (see [`Fs::refresh_open`]). All handles of one inode in
//! this client share one state, so they see each other's writes at once,
//! and an unlinked file stays usable until its last close.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::caller::Caller;
use crate::error::{posix, Errno, FsError, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::attr;
use crate::store::{Cond, Key, Store, Table, Value};

use super::block::{self, block_key};
use super::blockcache::{BlockCache, BlockCacheStats, Version};
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
    /// The size and hole map the store held when this client last read
    /// or wrote them: a flush lists as holes the blocks between that size
    /// and its own that it does not store, on condition that they are
    /// still so.
    pub(super) stored_size: u64,
    pub(super) holes: crate::holes::Holes,
    /// Whole blocks waiting to be written, by index.
    pub(super) dirty: BTreeMap<u64, Vec<u8>>,
    /// What of the dirty blocks was written here, for those that held
    /// other writers' bytes too: laid over the stored block at the flush.
    pub(super) patches: super::patch::Patches,
    pub(super) dirty_bytes: usize,
    /// Bytes written with O_APPEND and not placed yet: they go at the end
    /// of file as the store has it when the flush runs. `size` counts them.
    pub(super) appended: Vec<u8>,
    /// End of the furthest write (not append) since the last flush.
    pub(super) written_end: u64,
    /// End of the last write: a write that starts there continues a
    /// sequential stream, whose full blocks are sent ahead.
    pub(super) last_end: u64,
    /// Full blocks sent ahead of the flush.
    pub(super) behind: super::behind::WriteBehind,
    /// The session under whose locks buffered data was written: the flush
    /// stores it only while that session still holds locks on the inode.
    pub(super) fence: Option<String>,
    /// Size or mtime changed since the last flush.
    pub(super) changed: bool,
    /// This client created the file and has held it open since: attribute
    /// changes that take nothing away from others wait for the flush.
    pub(super) created: bool,
    /// Attribute changes waiting for the flush.
    pub(super) pending: Option<super::setattr::Pending>,
    pub(super) handles: u32,
    /// Read-ahead: where a sequential reader will read next, the window
    /// in blocks (doubling while reads stay sequential), and the last block
    /// already asked for.
    pub(super) ra_next: u64,
    pub(super) ra_window: u64,
    pub(super) ra_issued: Option<u64>,
    /// A read since the open or the last write here has had its say on
    /// atime: nothing more to decide until this client writes again.
    pub(super) atime_settled: bool,
}

impl OpenFile {
    pub(super) fn new(node: &super::node::Node) -> OpenFile {
        OpenFile {
            ino: node.inode.ino,
            generation: node.inode.generation,
            size: node.inode.size,
            ctime: node.inode.ctime,
            stored_size: node.inode.size,
            holes: node.inode.holes.clone(),
            dirty: BTreeMap::new(),
            patches: Default::default(),
            dirty_bytes: 0,
            appended: Vec::new(),
            written_end: 0,
            last_end: 0,
            behind: Default::default(),
            fence: None,
            changed: false,
            created: false,
            pending: None,
            handles: 0,
            ra_next: 0,
            ra_window: RA_FIRST,
            ra_issued: None,
            atime_settled: false,
        }
    }

    /// Nothing of this file is waiting to be written by this client.
    pub(super) fn clean(&self) -> bool {
        self.dirty.is_empty() && self.appended.is_empty() && !self.changed && self.pending.is_none()
    }

    /// The size and hole map the store holds, as read just now.
    pub(super) fn saw_stored(&mut self, inode: &crate::inode::Inode) {
        self.stored_size = inode.size;
        self.holes = inode.holes.clone();
    }

    /// Where the bytes appended since the last flush start locally.
    pub(super) fn append_base(&self) -> u64 {
        self.size - self.appended.len() as u64
    }
}

/// Read-ahead window: its first size in blocks, its largest in bytes, and
/// the least it is topped up by.
pub(super) const RA_FIRST: u64 = 4;
const RA_MAX_BYTES: u64 = 8 << 20;
const RA_BATCH_BYTES: u64 = 1 << 20;
/// Bytes of blocks asked for in one BatchGetItem: DynamoDB answers at most
/// 16 MB per request and returns the rest as unprocessed keys.
const BATCH_GET_BYTES: u64 = 12 << 20;

#[derive(Clone)]
pub(super) struct Handle {
    pub(super) ino: u64,
    pub(super) mode: OpenMode,
    pub(super) file: Arc<Mutex<OpenFile>>,
    /// The file's data did not change since this client last read it, so
    /// cached pages may be kept (FOPEN_KEEP_CACHE).
    keep_cache: bool,
}

/// Open files of one client.
#[derive(Default)]
pub(super) struct Files {
    next: AtomicU64,
    pub(super) handles: std::sync::Mutex<HashMap<u64, Handle>>,
    /// Handles whose file's locks were lost with this client's lease:
    /// their I/O fails with EIO until they are closed and the file opened
    /// again, as on NFSv4.
    pub(super) lost: std::sync::Mutex<std::collections::HashSet<u64>>,
    pub(super) by_ino: std::sync::Mutex<HashMap<u64, Arc<Mutex<OpenFile>>>>,
    pub(super) dirty_total: AtomicUsize,
    /// Set when the client stops: writes fail (EIO) instead of buffering
    /// data that no flush would store.
    pub(super) stopped: std::sync::atomic::AtomicBool,
    /// A write was refused since the stop (said once in the log).
    pub(super) refused: std::sync::atomic::AtomicBool,
}

impl Fs {
    pub(super) fn bs(&self) -> u64 {
        self.sb.block_size as u64
    }

    pub(super) fn compress(&self) -> bool {
        self.sb.compression == "lz4"
    }

    /// This client's open state of an inode, if it has it open.
    pub(super) fn open_file_of(&self, ino: u64) -> Option<Arc<Mutex<OpenFile>>> {
        self.files
            .by_ino
            .lock()
            .ok()
            .and_then(|m| m.get(&ino).cloned())
    }

    /// The inodes this client has open (for a stop, which asks the
    /// kernel for the pages it caches of them).
    pub fn open_inodes(&self) -> Vec<u64> {
        self.files
            .by_ino
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Bytes written to open files and not yet stored.
    pub fn dirty_bytes(&self) -> u64 {
        self.files.dirty_total.load(Ordering::Relaxed) as u64
    }

    /// What the block cache did for reads, and what it holds.
    pub fn block_cache_stats(&self) -> BlockCacheStats {
        self.blocks.stats()
    }

    /// An open handle, unless its locks were lost with the lease (EIO).
    pub(super) fn handle(&self, fh: u64) -> FsResult<Handle> {
        if self.files.lost.lock().is_ok_and(|l| l.contains(&fh)) {
            return Err(posix(
                Errno::EIO,
                format!(
                    "open file {fh}: its locks were lost with this client's lease; open it again"
                ),
            ));
        }
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

    /// Open a file this client has just created (`new`; or found, when the
    /// create was not exclusive): what create returned is current, so the
    /// inode is not read again.
    pub async fn open_created(
        &self,
        caller: &Caller,
        ino: u64,
        mode: OpenMode,
        new: bool,
    ) -> FsResult<u64> {
        let fh = self.open_node(caller, ino, mode, false).await?;
        if new {
            if let Ok(h) = self.handle(fh) {
                let mut f = h.file.lock().await;
                f.created = f.handles == 1;
            }
        }
        Ok(fh)
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
        // Held before the inode is read: a collector that checks which
        // inodes this client holds after another client unlinked this one
        // either sees the hold, or this read sees the unlink.
        let held_before = self.hold(ino);
        match self.open_held(caller, ino, mode, fresh, held_before).await {
            Ok(fh) => Ok(fh),
            Err(e) => {
                self.unhold(ino).await;
                Err(e)
            }
        }
    }

    async fn open_held(
        &self,
        caller: &Caller,
        ino: u64,
        mode: OpenMode,
        fresh: bool,
        held_before: bool,
    ) -> FsResult<u64> {
        let node = self.node(ino, fresh).await?;
        if (node.inode.nlink == 0 || self.stale_in_trash(&node)) && !held_before {
            // Reached through a name another client removed: the kernel
            // looks the name up again on ESTALE.
            return Err(posix(
                Errno::ESTALE,
                format!("open: inode {ino} was removed"),
            ));
        }
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
        super::flags::refuse_open(&node.inode, &mode)?;
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
            // Close-to-open: take what other clients closed.
            self.adopt(&mut f, &node);
            keep_cache = self.blocks.revalidate(ino, version_of(&node.inode));
            if mode.truncate && mode.write && node.kind() == FileType::Regular {
                self.truncate_locked(&mut f, 0).await?;
            }
            f.handles += 1;
        }
        let fh = self.files.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut m) = self.files.handles.lock() {
            m.insert(
                fh,
                Handle {
                    ino,
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
        self.vouch().await;
        let h = self.handle(fh)?;
        if !h.mode.read {
            return Err(posix(Errno::EBADF, "file not open for reading"));
        }
        let out = {
            let mut f = h.file.lock().await;
            if !f.atime_settled {
                f.atime_settled = true;
                self.note_read(f.ino).await;
            }
            if offset >= f.size || len == 0 {
                return Ok(Vec::new());
            }
            let end = (offset + len as u64).min(f.size);
            // Appends not placed yet are read from their buffer.
            let base = f.append_base();
            let mut out = if offset < base {
                self.read_blocks(&mut f, offset, end.min(base)).await?
            } else {
                Vec::new()
            };
            if end > base {
                let from = (offset.max(base) - base) as usize;
                let to = (end - base) as usize;
                out.extend_from_slice(&f.appended[from..to]);
            }
            out
        };
        self.vouch_after(fh).await?;
        Ok(out)
    }

    /// Bytes `offset..end` from dirty and stored blocks.
    async fn read_blocks(&self, f: &mut OpenFile, offset: u64, end: u64) -> FsResult<Vec<u8>> {
        let bs = self.bs();
        let first = offset / bs;
        let last = (end - 1) / bs;
        let mut missing: Vec<u64> = (first..=last)
            .filter(|i| !f.dirty.contains_key(i))
            .collect();
        // A read of nothing but holes, as the store had them when this
        // client last looked (as its size is), is zeros without a
        // request. A read that fetches blocks takes the holes along: what
        // one call returns comes from one moment (see `load_blocks`).
        if missing.iter().all(|i| f.holes.contains(*i)) {
            missing.clear();
        }
        let fetched = self.load_blocks(f.ino, f.generation, &missing).await?;
        self.read_ahead(f, offset, end);
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
            .filter(|i| !f.dirty.contains_key(i) && !f.holes.contains(*i))
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
        if !fetch.is_empty() {
            // The blocks one call returns come from one moment: a cached
            // block next to one fetched now may predate another client's
            // change that the fetched one already shows (a truncation
            // that cut it, an overwrite of both), and the mix would be a
            // version the file never had. They ride in the same batch.
            for (i, _) in out.drain() {
                fetch.push((ino, generation, i));
            }
        }
        for (i, mut rx) in wait {
            // Resolves when the read-ahead task drops its sender.
            let _ = rx.changed().await;
            match self.blocks.fetched((ino, generation, i)) {
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
                out.insert(k.2, self.blocks.fetched(k).unwrap_or_default());
            }
        }
        Ok(out)
    }

    /// Close a handle: flush, and at the last close of an unlinked file let
    /// it be collected.
    pub async fn release(&self, fh: u64) -> FsResult<()> {
        self.vouch().await;
        let lost = self.files.lost.lock().is_ok_and(|mut l| l.remove(&fh));
        let h = self.handle(fh)?;
        let result = {
            let mut f = h.file.lock().await;
            // A handle whose locks were lost had its data dropped then.
            let r = if lost {
                Ok(())
            } else {
                self.flush_locked(&mut f).await
            };
            f.handles = f.handles.saturating_sub(1);
            if f.handles == 0 && f.clean() {
                if let Ok(mut m) = self.files.by_ino.lock() {
                    m.remove(&f.ino);
                }
            }
            r
        };
        if let Ok(mut m) = self.files.handles.lock() {
            m.remove(&fh);
        }
        self.unhold(h.ino).await;
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
    for (k, data) in keys.iter().zip(read_stored(store, keys, block_size).await?) {
        cache.put(*k, Arc::new(data));
    }
    Ok(())
}

/// Blocks as the store holds them now, in the order of `keys` (a hole is
/// an empty block), in batch reads of 100 blocks or 12 MiB.
pub(super) async fn read_stored(
    store: &dyn Store,
    keys: &[(u64, u64, u64)],
    block_size: u32,
) -> FsResult<Vec<Vec<u8>>> {
    let per_request = ((BATCH_GET_BYTES / block_size as u64) as usize).max(1);
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(per_request) {
        let store_keys: Vec<Key> = chunk.iter().map(|k| block_key(k.0, k.1, k.2)).collect();
        for item in store.batch_get(Table::Blocks, &store_keys, true).await? {
            out.push(match item {
                Some(item) => block::decode(&item, block_size)?,
                None => Vec::new(),
            });
        }
    }
    Ok(out)
}

pub(super) fn version_of(i: &crate::inode::Inode) -> Version {
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
