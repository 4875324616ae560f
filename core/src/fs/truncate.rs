//! Truncation: to zero by a new data generation (one transaction, old
//! blocks collected in the background), shorter by cutting and deleting
//! blocks before the size changes, so old bytes never come back.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::attr;
use crate::store::{BatchWrite, Change, Cond, Table, Value, Write};
use crate::superblock::now_ns;

use super::attr::Attr;
use super::block::{self, block_key};
use super::blockcache::Version;
use super::file::{generation_is, OpenFile, MAX_FILE_SIZE};
use super::orphan::dead_generation_put;
use super::txn::{Attempts, Outcome};
use super::Fs;

/// How a truncation went.
pub(super) enum Truncated {
    /// Committed as first planned, with these times.
    FirstPlan { mtime: i64, ctime: i64 },
    /// Planned again after another client's change: read the result.
    Replanned,
}

impl Fs {
    /// Change a regular file's size (truncate(2), setattr with a size).
    /// Returns the attributes after the change.
    pub(super) async fn set_size(&self, caller: &Caller, ino: u64, size: u64) -> FsResult<Attr> {
        self.writable()?;
        if size > MAX_FILE_SIZE {
            return Err(posix(Errno::EFBIG, "truncate past the largest file size"));
        }
        let node = self.node(ino, true).await?;
        match node.kind() {
            FileType::Regular => {}
            FileType::Directory => return Err(posix(Errno::EISDIR, "truncate a directory")),
            _ => return Err(posix(Errno::EINVAL, "truncate a special file")),
        }
        self.check(caller, &node, perm::W, "truncate")?;
        // The last block is cut from what the store holds: cached blocks of
        // an older version (another client wrote since) must not be used.
        self.blocks
            .drop_if_changed(ino, super::file::version_of(&node.inode));
        let open = self
            .files
            .by_ino
            .lock()
            .ok()
            .and_then(|m| m.get(&ino).cloned());
        let done = match open {
            Some(file) => {
                let mut f = file.lock().await;
                let t = self.truncate_locked(&mut f, size).await?;
                (t, f.generation)
            }
            None => {
                let mut f = OpenFile::new(&node);
                let t = self.truncate_locked(&mut f, size).await?;
                (t, f.generation)
            }
        };
        match done {
            // Planned from the node read above and committed at once: what
            // it wrote is all that changed.
            (Truncated::FirstPlan { mtime, ctime }, generation) => {
                let mut after = node;
                after.inode.size = size;
                after.inode.mtime = mtime;
                after.inode.ctime = ctime;
                after.inode.generation = generation;
                self.cache.put_node(&after);
                Ok(after.attr(self.sb.block_size))
            }
            (Truncated::Replanned, _) => self.getattr(ino).await,
        }
    }

    /// Truncate with the file's state locked. To zero: a new generation, one
    /// transaction, the old blocks collected in the background from a
    /// durable record. Shorter: the blocks past the end are deleted and the
    /// last one cut before the size changes, so a later extension reads
    /// zeros, never the old bytes.
    pub(super) async fn truncate_locked(&self, f: &mut OpenFile, size: u64) -> FsResult<Truncated> {
        self.flush_locked(f).await?;
        let bs = self.bs();
        let mut tries = Attempts::new();
        loop {
            let now = now_ns();
            let ctime = now.max(f.ctime + 1);
            let mut changes = vec![
                Change::set(attr::SIZE, Value::N(size as i64)),
                Change::set(attr::MTIME, Value::N(now)),
                Change::set(attr::CTIME, Value::N(ctime)),
            ];
            // Planned from the size this client knows: if another client
            // changed it meanwhile, the blocks to cut may be others.
            let update = |changes| Write::Update {
                table: Table::Meta,
                key: crate::inode::inode_key(f.ino),
                changes,
                cond: Some(Cond::And(vec![
                    generation_is(f.generation),
                    Cond::eq(attr::SIZE, Value::N(f.size as i64)),
                ])),
            };
            let outcome = if size == 0 && f.size > 0 {
                let next = f.generation + 1;
                changes.push(Change::set(attr::GENERATION, Value::N(next as i64)));
                let writes = vec![
                    update(changes),
                    dead_generation_put(f.ino, f.generation, f.size.div_ceil(bs), now),
                ];
                let o = self.commit(&writes).await?;
                if matches!(o, Outcome::Done) {
                    self.collect_generation_later(f.ino, f.generation, f.size.div_ceil(bs));
                    f.generation = next;
                }
                o
            } else {
                if size < f.size {
                    self.cut_blocks(f, size).await?;
                }
                match self.store.write(&update(changes)).await {
                    Ok(()) => Outcome::Done,
                    Err(crate::store::StoreError::ConditionFailed { .. }) => Outcome::Failed(0),
                    Err(e) => return Err(e.into()),
                }
            };
            match outcome {
                Outcome::Done => {
                    f.size = size;
                    f.ctime = ctime;
                    self.cache.forget_node(f.ino);
                    self.blocks.drop_ino(f.ino);
                    self.blocks.set_version(
                        f.ino,
                        Version {
                            size,
                            mtime: now,
                            generation: f.generation,
                        },
                    );
                    return Ok(if tries.fresh() {
                        Truncated::Replanned
                    } else {
                        Truncated::FirstPlan { mtime: now, ctime }
                    });
                }
                Outcome::Failed(_) => {
                    let node = self.node(f.ino, true).await?;
                    f.generation = node.inode.generation;
                    f.size = node.inode.size;
                    f.ctime = node.inode.ctime;
                    tries.again().await?;
                }
            }
        }
    }

    /// Delete the blocks wholly past `size` and cut the one it ends in.
    async fn cut_blocks(&self, f: &OpenFile, size: u64) -> FsResult<()> {
        let bs = self.bs();
        let keep = size.div_ceil(bs);
        let had = f.size.div_ceil(bs);
        if size % bs != 0 {
            let i = size / bs;
            let old = self.load_blocks(f.ino, f.generation, &[i]).await?;
            if let Some(data) = old.get(&i).filter(|d| !d.is_empty()) {
                let mut data = data.as_ref().clone();
                data.truncate((size % bs) as usize);
                let w = Write::Put {
                    table: Table::Blocks,
                    key: block_key(f.ino, f.generation, i),
                    attrs: block::encode(&data, self.compress()),
                    cond: None,
                };
                self.store.write(&w).await?;
            }
        }
        let dels: Vec<BatchWrite> = (keep..had)
            .map(|i| BatchWrite::Delete {
                key: block_key(f.ino, f.generation, i),
            })
            .collect();
        if !dels.is_empty() {
            self.store.batch_write(Table::Blocks, &dels).await?;
        }
        Ok(())
    }
}
