//! Truncation: to zero by a new data generation (one transaction, old
//! blocks collected in the background), shorter by cutting and deleting
//! blocks before the size changes, so old bytes never come back.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::attr;
use crate::store::{BatchWrite, Change, Table, Value, Write};
use crate::superblock::now_ns;

use super::block::{self, block_key};
use super::blockcache::Version;
use super::file::{generation_is, OpenFile, MAX_FILE_SIZE};
use super::orphan::dead_generation_put;
use super::txn::{Attempts, Outcome};
use super::Fs;

impl Fs {
    /// Change a regular file's size (truncate(2), setattr with a size).
    pub(super) async fn set_size(&self, caller: &Caller, ino: u64, size: u64) -> FsResult<()> {
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
        let open = self
            .files
            .by_ino
            .lock()
            .ok()
            .and_then(|m| m.get(&ino).cloned());
        match open {
            Some(file) => {
                let mut f = file.lock().await;
                self.truncate_locked(&mut f, size).await
            }
            None => {
                let mut f = OpenFile::new(&node);
                self.truncate_locked(&mut f, size).await
            }
        }
    }

    /// Truncate with the file's state locked. To zero: a new generation, one
    /// transaction, the old blocks collected in the background from a
    /// durable record. Shorter: the blocks past the end are deleted and the
    /// last one cut before the size changes, so a later extension reads
    /// zeros, never the old bytes.
    pub(super) async fn truncate_locked(&self, f: &mut OpenFile, size: u64) -> FsResult<()> {
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
            let update = |changes| Write::Update {
                table: Table::Meta,
                key: crate::inode::inode_key(f.ino),
                changes,
                cond: Some(generation_is(f.generation)),
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
                    return Ok(());
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
