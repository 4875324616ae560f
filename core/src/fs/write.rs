//! Buffered writes and flushes. Writes are coalesced into whole blocks per
//! open file and written in parallel at flush, fsync, close and unlock
//! (a sequential writer's full blocks go ahead, see `behind`); the
//! inode's size and mtime follow only once the blocks they describe are
//! stored, so no reader ever sees a size whose blocks are missing.
//!
//! Sizes between clients: a flush never shrinks the size the store holds
//! (only a truncate does), and bytes written with O_APPEND are placed when
//! the flush runs, at the end of file as the store has it then, so an
//! append never lands below data another client flushed before it.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::{posix, Errno, FsError, FsResult};
use crate::schema::attr;
use crate::store::{
    Change, CmpOp, Cond, Store, StoreError, Table, Token, Value, Write, MAX_TRANSACTION_ITEMS,
};
use crate::superblock::now_ns;

use super::block::{self, block_key};
use super::blockcache::Version;
use super::file::{generation_is, read_stored, OpenFile, MAX_FILE_SIZE, PARALLEL_WRITES};
use super::txn::Attempts;
use super::Fs;

/// Largest block written in one transaction with the inode's size.
const TOGETHER_MAX: usize = 8 << 10;
/// Most block bytes in one fenced transaction (DynamoDB takes 4 MB).
const FENCED_BYTES: usize = 3 << 20;

/// The check that fences a write of data buffered under this client's
/// locks: the session still has locks on the inode (its lock index item,
/// which every change that takes a session's last lock there deletes in
/// the same transaction). First in each transaction, so that it is the
/// failure reported when it fails.
pub(super) fn fence_check(session: &str, ino: u64) -> Write {
    Write::Check {
        table: Table::Meta,
        key: crate::locks::index_key(session, ino),
        cond: Cond::Exists,
    }
}

/// What a change made under a lock that another client took over answers.
pub(super) fn taken_over_error(ino: u64) -> FsError {
    posix(
        Errno::EIO,
        format!(
            "inode {ino}: this client's lock on it was taken over by another client after \
             its lease lapsed; what was written under the lock is not stored (open the file \
             again)"
        ),
    )
}

/// Why a flush stopped short.
enum Unstored {
    /// The fence failed: this session no longer has locks on the inode.
    Fence,
    Error(FsError),
}

impl From<FsError> for Unstored {
    fn from(e: FsError) -> Unstored {
        Unstored::Error(e)
    }
}

impl From<StoreError> for Unstored {
    fn from(e: StoreError) -> Unstored {
        Unstored::Error(e.into())
    }
}

/// The one block a flush has left to write, encoded, if it is small
/// enough to go in the same transaction as the size.
fn together(left: &[(&u64, &Vec<u8>)], compress: bool) -> Option<(u64, crate::store::Attrs)> {
    match left {
        [(i, data)] if data.len() <= TOGETHER_MAX => Some((**i, block::encode(data, compress))),
        _ => None,
    }
}

impl Fs {
    /// Write at `offset` (at the end with O_APPEND); buffered until flush.
    pub async fn write(&self, fh: u64, offset: u64, data: &[u8]) -> FsResult<usize> {
        self.vouch().await;
        let h = self.handle(fh)?;
        if !h.mode.write {
            return Err(posix(Errno::EBADF, "file not open for writing"));
        }
        self.writable()?;
        let mut f = h.file.lock().await;
        if let Some(id) = self.lock_session(f.ino) {
            f.fence.get_or_insert(id);
        }
        // Checked under the file's lock, which the final flush takes too:
        // a write either lands before that flush or fails.
        if self.files.stopped.load(Ordering::SeqCst) {
            if !self.files.refused.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    ino = f.ino,
                    offset,
                    len = data.len(),
                    "write refused: the client is stopping (later ones are not logged)"
                );
            }
            return Err(posix(
                Errno::EIO,
                "the client is stopping (unmount or signal): data written now would not be stored",
            ));
        }
        // The next read here sees a newer mtime: relatime has a say again.
        f.atime_settled = false;
        let at = if h.mode.append { f.size } else { offset };
        if data.is_empty() {
            return Ok(0);
        }
        // As Linux does: a write that starts at the largest size fails, one
        // that crosses it stores what fits and says so (a short write). The
        // kernel with its writeback cache sends pages in batches that may
        // cross the limit: the bytes below it are kept.
        let room = MAX_FILE_SIZE
            .checked_sub(at)
            .filter(|r| *r > 0)
            .ok_or_else(|| posix(Errno::EFBIG, "write past the largest file size"))?;
        let data = &data[..data.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        let end = at + data.len() as u64;
        if let Some(p) = &mut f.pending {
            // A write after a utimens: the write's time stands.
            p.mtime = None;
        }
        if h.mode.append {
            // Atomic within this client: taken under the file's lock.
            f.appended.extend_from_slice(data);
            f.size = end;
            f.changed = true;
            self.add_dirty(&mut f, data.len());
        } else {
            if !f.appended.is_empty() {
                // A write among pending appends: place them where they
                // stand locally, so the write lands after them as POSIX
                // orders it.
                let base = f.append_base();
                self.place_appends(&mut f, base).await?;
            }
            self.put_range(&mut f, offset, data).await?;
            f.written_end = f.written_end.max(end);
            let sequential = offset == f.last_end;
            f.last_end = end;
            self.send_ahead(&mut f, offset, end, sequential).await;
        }
        if self.files.dirty_total.load(Ordering::Relaxed) > self.opts.dirty_limit
            || f.dirty_bytes > self.opts.dirty_limit
        {
            self.flush_locked(&mut f).await?;
        }
        Ok(data.len())
    }

    /// Send the blocks this write completed, when the writer is
    /// sequential (it continues the last write, or covers whole blocks):
    /// a random writer may well come back to a block, and each early send
    /// of it would be a request more.
    ///
    /// Not under a lock this client holds on the file: data a lock
    /// protects goes at the unlock, as before, never from a request that
    /// a stall past the lease could hold back and let land after another
    /// client took the lock over (the flush at unlock answers EIO then).
    async fn send_ahead(&self, f: &mut OpenFile, offset: u64, end: u64, sequential: bool) {
        if f.fence.is_some() || self.lock_session(f.ino).is_some() {
            return;
        }
        let bs = self.bs();
        for i in offset / bs..end / bs {
            let whole = offset <= i * bs;
            if !(sequential || whole) || !f.behind.wants(i) {
                continue;
            }
            // A block with other writers' bytes in it is merged at the
            // flush, never sent as this client's copy.
            if f.patches.contains(i) {
                continue;
            }
            let Some(d) = f.dirty.get(&i).filter(|d| d.len() as u64 == bs) else {
                continue;
            };
            let w = Write::Put {
                table: Table::Blocks,
                key: block_key(f.ino, f.generation, i),
                attrs: block::encode(d, self.compress()),
                cond: None,
            };
            let generation = f.generation;
            f.behind
                .send(Arc::clone(&self.store), w, i, generation)
                .await;
        }
    }

    fn add_dirty(&self, f: &mut OpenFile, n: usize) {
        f.dirty_bytes += n;
        self.files.dirty_total.fetch_add(n, Ordering::Relaxed);
    }

    fn sub_dirty(&self, f: &mut OpenFile, n: usize) {
        let n = n.min(f.dirty_bytes);
        f.dirty_bytes -= n;
        self.files.dirty_total.fetch_sub(n, Ordering::Relaxed);
    }

    /// Copy `data` into the dirty blocks at `offset`, reading the old bytes
    /// of blocks it covers only partly.
    async fn put_range(&self, f: &mut OpenFile, offset: u64, data: &[u8]) -> FsResult<()> {
        let end = offset + data.len() as u64;
        let bs = self.bs();
        let first = offset / bs;
        let last = (end - 1) / bs;
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
            // Bytes of other writers in the block: what its stored copy
            // held (a dirty block's were counted when it was read).
            let (mut buf, foreign) = match f.dirty.remove(&i) {
                Some(b) => (b, 0),
                None => {
                    let b = old
                        .remove(&i)
                        .map(|d| d.as_ref().clone())
                        .unwrap_or_default();
                    let n = b.len();
                    (b, n)
                }
            };
            let before = buf.len();
            let from = offset.max(i * bs);
            let to = end.min((i + 1) * bs);
            let (bf, bt) = ((from - i * bs) as usize, (to - i * bs) as usize);
            f.patches.wrote(i, bf, bt, foreign);
            if buf.len() < bt {
                buf.resize(bt, 0);
            }
            buf[bf..bt].copy_from_slice(&data[(from - offset) as usize..(to - offset) as usize]);
            added += buf.len().saturating_sub(before);
            f.dirty.insert(i, buf);
            f.behind.touched(i);
        }
        self.add_dirty(f, added);
        f.size = f.size.max(end);
        f.changed = true;
        Ok(())
    }

    /// Lay the bytes written here over the stored copies of the blocks
    /// that held other writers' bytes (`read_stored`), so that
    /// the flush puts back none of their old bytes, nor zeros where they
    /// extended a block.
    async fn merge_patches(
        &self,
        f: &mut OpenFile,
        blocks: &mut BTreeMap<u64, Vec<u8>>,
    ) -> FsResult<()> {
        let keys: Vec<(u64, u64, u64)> = f
            .patches
            .blocks()
            .into_iter()
            .filter(|i| blocks.contains_key(i))
            .map(|i| (f.ino, f.generation, i))
            .collect();
        let stored = read_stored(self.store.as_ref(), &keys, self.sb.block_size).await?;
        for (k, fresh) in keys.iter().zip(stored) {
            if let Some(ours) = blocks.get_mut(&k.2) {
                *ours = f.patches.merge(k.2, &fresh, ours);
            }
        }
        f.patches.clear();
        Ok(())
    }

    /// Put the pending appends into the dirty blocks at `at`, which becomes
    /// where they start (the local size before them is dropped: `at` is
    /// the store's end of file, or further when this client wrote past it).
    async fn place_appends(&self, f: &mut OpenFile, at: u64) -> FsResult<()> {
        let data = std::mem::take(&mut f.appended);
        self.sub_dirty(f, data.len());
        let size = f.size;
        f.size = at;
        let bs = self.bs();
        let fresh: Vec<u64> = match data.len() as u64 {
            0 => Vec::new(),
            n => (at / bs..=(at + n - 1) / bs)
                .filter(|i| !f.dirty.contains_key(i))
                .collect(),
        };
        if let Err(e) = self.put_range(f, at, &data).await {
            f.size = size;
            self.add_dirty(f, data.len());
            f.appended = data;
            return Err(e);
        }
        // Filled from the store as it is at this flush: nothing to merge.
        for i in fresh {
            f.patches.forget(i);
        }
        Ok(())
    }

    /// Write dirty blocks (in parallel), then the inode's size and times.
    /// When this returns, data and metadata are durable in the store.
    pub async fn flush(&self, fh: u64) -> FsResult<()> {
        self.vouch().await;
        let h = self.handle(fh)?;
        let mut f = h.file.lock().await;
        // Settling a lost lease marks the handles lost before it takes the
        // file to drop what was written under the lost locks: checked
        // again under the file's lock, a flush never finds the file
        // emptied that way and reports success for data that is gone.
        self.handle(fh)?;
        self.flush_locked(&mut f).await
    }

    pub(super) async fn flush_locked(&self, f: &mut OpenFile) -> FsResult<()> {
        if f.clean() {
            return Ok(());
        }
        // What went ahead is stored (or is written again below).
        f.behind.drain().await;
        let mut moved = false;
        if !f.appended.is_empty() {
            // Appends go at the end of file as the store has it now.
            let node = self.node(f.ino, true).await?;
            if node.inode.generation != f.generation && !f.dirty.is_empty() {
                self.record_leaked(f.ino, f.generation, &f.dirty).await;
            }
            f.generation = node.inode.generation;
            f.ctime = f.ctime.max(node.inode.ctime);
            f.saw_stored(&node.inode);
            let at = node.inode.size.max(f.written_end);
            // Placed elsewhere than this client (and its kernel, whose
            // pages hold them where it wrote them) assumed: what is cached
            // of the file here is wrong now.
            moved = at != f.append_base();
            // The block they land in is filled from what the store holds
            // now: a copy cached before another client's append would
            // write zeros over that append.
            self.blocks
                .drop_unless_current(f.ino, super::file::version_of(&node.inode));
            self.place_appends(f, at).await?;
        }
        // Data written under this client's locks is stored only while the
        // session still holds them: a flush that a stall held back past
        // the lease must not land over the next holder's writes.
        let mut fence = f.fence.clone().or_else(|| self.lock_session(f.ino));
        loop {
            match self.store_buffered(f, fence.as_deref(), moved).await {
                Ok(()) => {
                    f.fence = None;
                    return Ok(());
                }
                Err(Unstored::Error(e)) => return Err(e),
                Err(Unstored::Fence) if self.taken_over(f.ino) => {
                    tracing::error!(
                        ino = f.ino,
                        "another client took over this client's lock on the file \
                         (it judged this one dead); dropping the data written under it"
                    );
                    self.lose_locked_data(f).await;
                    return Err(taken_over_error(f.ino));
                }
                // This client let go of the locks itself (an unlock raced a
                // write): what is left is unlocked data, stored as such.
                Err(Unstored::Fence) => {
                    f.fence = None;
                    fence = None;
                }
            }
        }
    }

    /// Write the dirty blocks (in parallel), then the inode's size and
    /// times, under `fence` when given.
    async fn store_buffered(
        &self,
        f: &mut OpenFile,
        fence: Option<&str>,
        moved: bool,
    ) -> Result<(), Unstored> {
        let mut blocks = std::mem::take(&mut f.dirty);
        // Under this client's lock nobody else writes: its copies are the
        // store's (the lock revalidated them).
        if fence.is_none() && !f.patches.is_empty() {
            if let Err(e) = self.merge_patches(f, &mut blocks).await {
                f.dirty = blocks;
                return Err(e.into());
            }
        }
        let bytes = f.dirty_bytes;
        self.sub_dirty(f, bytes);
        let restore = |f: &mut OpenFile, blocks: BTreeMap<u64, Vec<u8>>| {
            // Keep the data for the next flush or close.
            let n: usize = blocks.values().map(Vec::len).sum();
            f.dirty = blocks;
            self.add_dirty(f, n);
        };
        let mut tries = Attempts::new();
        let mut stored_in: Option<u64> = None;
        // One small block (a new small file, a short append) goes in the
        // same transaction as the size: one round trip instead of two, for
        // the price of twice the block's (small) write units.
        let generation = f.generation;
        let left: Vec<_> = blocks
            .iter()
            .filter(|(i, _)| !f.behind.stored_under(**i, generation))
            .collect();
        let mut together = together(&left, self.compress());
        loop {
            if together.is_none() && stored_in != Some(f.generation) {
                let generation = f.generation;
                let left = blocks
                    .iter()
                    .filter(|(i, _)| !f.behind.stored_under(**i, generation));
                if let Err(e) = self.put_blocks(f.ino, generation, left, fence).await {
                    restore(f, blocks);
                    return Err(e);
                }
                stored_in = Some(f.generation);
            }
            let now = now_ns();
            let ctime = now.max(f.ctime + 1);
            let pending = f.pending.unwrap_or_default();
            // The data's time, unless a utimens came after the last write.
            let mtime = match pending.mtime {
                Some(t) => Some(t),
                None => f.changed.then_some(now),
            };
            let mut changes = pending.changes();
            // What this flush stores is data; blocks it skips past the end
            // are holes (on condition that the end is still where it was).
            let written: Vec<u64> = blocks.keys().copied().collect();
            let (holes, made_holes) = match f.changed {
                true => f
                    .holes
                    .after_flush(f.stored_size, f.size, self.bs(), &written),
                false => (f.holes.clone(), false),
            };
            if f.changed {
                changes.push(Change::set(attr::SIZE, Value::N(f.size as i64)));
            }
            changes.extend(holes.change_from(&f.holes));
            if let Some(t) = mtime {
                changes.push(Change::set(attr::MTIME, Value::N(t)));
            }
            changes.push(Change::set(attr::CTIME, Value::N(ctime)));
            let mut writes: Vec<Write> =
                fence.map(|id| fence_check(id, f.ino)).into_iter().collect();
            if let Some((i, attrs)) = together.take() {
                writes.push(Write::Put {
                    table: Table::Blocks,
                    key: block_key(f.ino, f.generation, i),
                    attrs,
                    cond: None,
                });
            }
            writes.push(Write::Update {
                table: Table::Meta,
                key: crate::inode::inode_key(f.ino),
                changes,
                // Never below what the store holds: another client may
                // have extended the file since this one last looked.
                cond: Some(Cond::And(
                    [
                        generation_is(f.generation),
                        Cond::cmp(attr::SIZE, CmpOp::Le, Value::N(f.size as i64)),
                        // No other client punched or filled a hole since.
                        f.holes.unchanged(),
                    ]
                    .into_iter()
                    .chain(made_holes.then(|| Cond::eq(attr::SIZE, Value::N(f.stored_size as i64))))
                    .collect(),
                )),
            });
            let written = match writes.as_slice() {
                [w] => self.store.write(w).await,
                _ => self.store.transact(&writes, &Token::fresh()).await,
            };
            match written {
                Ok(()) => {
                    f.behind.clear();
                    f.patches.clear();
                    f.ctime = ctime;
                    f.changed = false;
                    f.pending = None;
                    f.written_end = 0;
                    f.stored_size = f.size;
                    f.holes = holes;
                    let size = f.size;
                    let stored_holes = f.holes.clone();
                    self.cache.update_node(f.ino, |n| {
                        pending.apply(&mut n.inode);
                        n.inode.size = size;
                        n.inode.holes = stored_holes;
                        if let Some(t) = mtime {
                            n.inode.mtime = t;
                        }
                        n.inode.ctime = ctime;
                    });
                    let (ino, generation) = (f.ino, f.generation);
                    if moved {
                        // No version: the next open here tells the kernel
                        // to drop its pages and size.
                        self.blocks.drop_ino(ino);
                        return Ok(());
                    }
                    // What this client wrote is what it would read back.
                    for (i, d) in blocks {
                        self.blocks.put((ino, generation, i), Arc::new(d));
                    }
                    if let Some(mtime) = mtime {
                        self.blocks.set_version(
                            ino,
                            Version {
                                size: f.size,
                                mtime,
                                generation,
                            },
                        );
                    }
                    return Ok(());
                }
                Err(StoreError::ConditionFailed { index: Some(0), .. }) if fence.is_some() => {
                    restore(f, blocks);
                    return Err(Unstored::Fence);
                }
                // The inode's condition (a block that rode along failed
                // with it and goes on its own from now on).
                Err(StoreError::ConditionFailed { .. }) => {
                    // Another client truncated to zero meanwhile (a new
                    // generation: write the blocks again under it), or
                    // made the file longer (keep its size).
                    let node = match self.node(f.ino, true).await {
                        Ok(n) => n,
                        Err(e) => {
                            restore(f, blocks);
                            return Err(e.into());
                        }
                    };
                    if node.inode.generation != f.generation {
                        self.record_leaked(f.ino, f.generation, &blocks).await;
                        f.generation = node.inode.generation;
                    }
                    f.size = f.size.max(node.inode.size);
                    f.ctime = f.ctime.max(node.inode.ctime);
                    f.saw_stored(&node.inode);
                    if let Err(e) = tries.again().await {
                        restore(f, blocks);
                        return Err(e.into());
                    }
                }
                Err(e) => {
                    restore(f, blocks);
                    return Err(e.into());
                }
            }
        }
    }

    /// Blocks this client wrote under a generation that another client's
    /// truncation had already ended: name them in that generation's record,
    /// so the collector deletes them with the rest (never while a client
    /// that still reads that generation has the file open).
    async fn record_leaked(&self, ino: u64, generation: u64, blocks: &BTreeMap<u64, Vec<u8>>) {
        let Some(last) = blocks.keys().next_back() else {
            return;
        };
        let w = super::orphan::dead_generation_cover(ino, generation, last + 1, now_ns());
        match self.store.write(&w).await {
            // Already covered by a record naming at least as many blocks.
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
            Err(e) => tracing::warn!(
                ino,
                generation,
                "recording blocks of an ended generation failed: {e}; fsck collects them"
            ),
        }
        self.collect_generation_later(ino, generation, last + 1);
    }

    /// Store blocks, in parallel: plain puts, or under `fence` in
    /// transactions that each carry its check (twice the write units, so
    /// only for data a lock protects).
    async fn put_blocks<'a>(
        &self,
        ino: u64,
        generation: u64,
        blocks: impl Iterator<Item = (&'a u64, &'a Vec<u8>)>,
        fence: Option<&str>,
    ) -> Result<(), Unstored> {
        let limit = Arc::new(Semaphore::new(PARALLEL_WRITES));
        let mut set = JoinSet::new();
        let mut groups: Vec<Vec<Write>> = Vec::new();
        let mut bytes = 0usize;
        for (i, data) in blocks {
            let w = Write::Put {
                table: Table::Blocks,
                key: block_key(ino, generation, *i),
                attrs: block::encode(data, self.compress()),
                cond: None,
            };
            match (fence, groups.last_mut()) {
                (Some(_), Some(g))
                    if g.len() < MAX_TRANSACTION_ITEMS && bytes + data.len() <= FENCED_BYTES =>
                {
                    g.push(w)
                }
                (Some(id), _) => {
                    bytes = 0;
                    groups.push(vec![fence_check(id, ino), w]);
                }
                (None, _) => groups.push(vec![w]),
            }
            bytes += data.len();
        }
        for g in groups {
            let store: Arc<dyn Store> = Arc::clone(&self.store);
            let permit = Arc::clone(&limit).acquire_owned().await;
            set.spawn(async move {
                let _permit = permit;
                match g.as_slice() {
                    [w] => store.write(w).await,
                    _ => store.transact(&g, &Token::fresh()).await,
                }
            });
        }
        let mut first_err = None;
        while let Some(r) = set.join_next().await {
            let r = r.map_err(|e| FsError::Corrupt(format!("block writer failed: {e}")))?;
            match r {
                Ok(()) => {}
                Err(StoreError::ConditionFailed { index: Some(0), .. }) if fence.is_some() => {
                    first_err = Some(Unstored::Fence)
                }
                Err(e) => {
                    first_err.get_or_insert(e.into());
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Forget what an open file buffered (its locks were lost). Blocks
    /// already sent ahead are waited for, not cut off mid-request; those
    /// past the stored size stay as garbage that fsck names, as after a
    /// crash.
    pub(super) async fn discard_locked(&self, f: &mut OpenFile) {
        f.behind.drain().await;
        f.behind.clear();
        let bytes = f.dirty_bytes;
        self.sub_dirty(f, bytes);
        f.dirty.clear();
        f.patches.clear();
        f.appended.clear();
        f.fence = None;
        f.changed = false;
        f.pending = None;
        f.written_end = 0;
        self.blocks.drop_ino(f.ino);
    }

    /// Flush every open file and take no more writes (they fail with EIO):
    /// at unmount or on a signal, so that every write that succeeded is
    /// stored. Returns the first error, after trying them all.
    pub async fn flush_all(&self) -> FsResult<()> {
        // Before the files are listed: a write that gets a file's lock
        // after its flush, or opens a file after the listing, then fails.
        self.files.stopped.store(true, Ordering::SeqCst);
        let files: Vec<_> = self
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
}
