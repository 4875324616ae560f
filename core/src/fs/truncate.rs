//! Truncation: to zero by a new data generation (one transaction, old
//! blocks collected in the background), shorter by transactions that delete
//! blocks and lower the size together, so old bytes never come back and no
//! one ever reads zeros where data was.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::holes::Holes;
use crate::inode::FileType;
use crate::perm;
use crate::schema::attr;
use crate::store::{Change, Cond, Table, Value, Write};
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
        super::flags::refuse_change(&node.inode, "truncate")?;
        // The last block is cut from what the store holds: cached blocks of
        // an older version (another client wrote since) must not be used.
        self.blocks
            .drop_if_changed(ino, super::file::version_of(&node.inode));
        let open = self.open_file_of(ino);
        let done = match open {
            Some(file) => {
                let mut f = file.lock().await;
                let t = self.truncate_locked(&mut f, size).await?;
                (t, f.generation, f.holes.clone())
            }
            None => {
                let mut f = OpenFile::new(&node);
                let t = self.truncate_locked(&mut f, size).await?;
                (t, f.generation, f.holes.clone())
            }
        };
        match done {
            // Planned from the node read above and committed at once: what
            // it wrote is all that changed.
            (Truncated::FirstPlan { mtime, ctime }, generation, holes) => {
                let mut after = node;
                after.inode.size = size;
                after.inode.mtime = mtime;
                after.inode.ctime = ctime;
                after.inode.generation = generation;
                after.inode.holes = holes;
                self.cache.put_node(&after);
                Ok(after.attr(self.sb.block_size))
            }
            (Truncated::Replanned, ..) => self.getattr(ino).await,
        }
    }

    /// Truncate with the file's state locked. To zero: a new generation, one
    /// transaction, the old blocks collected in the background from a
    /// durable record. Shorter: see `shrink`.
    pub(super) async fn truncate_locked(&self, f: &mut OpenFile, size: u64) -> FsResult<Truncated> {
        self.flush_locked(f).await?;
        let bs = self.bs();
        let mut tries = Attempts::new();
        loop {
            let now = now_ns();
            let outcome = if size == 0 && f.size > 0 {
                let ctime = now.max(f.ctime + 1);
                let next = f.generation + 1;
                let mut changes = times(size, now, ctime);
                changes.push(Change::set(attr::GENERATION, Value::N(next as i64)));
                changes.extend(Holes::default().change_from(&f.holes));
                let writes = vec![
                    size_update(f, changes),
                    dead_generation_put(f.ino, f.generation, f.size.div_ceil(bs), now),
                ];
                let o = self.commit_data_change(f, &writes).await?;
                if matches!(o, Outcome::Done) {
                    self.collect_generation_later(f.ino, f.generation, f.size.div_ceil(bs));
                    f.generation = next;
                    f.size = 0;
                    f.stored_size = 0;
                    f.holes = Holes::default();
                    f.ctime = ctime;
                }
                o
            } else if size < f.size {
                self.shrink(f, size, now).await?
            } else {
                // Longer: nothing is stored past the old end, so the blocks
                // up to the new one are holes.
                let ctime = now.max(f.ctime + 1);
                let mut holes = f.holes.clone();
                holes.add(f.size.div_ceil(bs), size.div_ceil(bs));
                let mut changes = times(size, now, ctime);
                changes.extend(holes.change_from(&f.holes));
                let w = size_update(f, changes);
                let o = self.commit_data_change(f, &[w]).await?;
                if matches!(o, Outcome::Done) {
                    f.size = size;
                    f.stored_size = size;
                    f.holes = holes;
                    f.ctime = ctime;
                }
                o
            };
            self.cache.forget_node(f.ino);
            self.blocks.drop_ino(f.ino);
            match outcome {
                Outcome::Done => {
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
                        Truncated::FirstPlan {
                            mtime: now,
                            ctime: f.ctime,
                        }
                    });
                }
                Outcome::Failed(_) => {
                    self.adopt_stored(f).await?;
                    tries.again().await?;
                }
            }
        }
    }

    /// Take the size, data generation and ctime the store holds now: a
    /// change planned from this client's view failed its condition, so
    /// another client changed them.
    pub(super) async fn adopt_stored(&self, f: &mut OpenFile) -> FsResult<()> {
        let node = self.node(f.ino, true).await?;
        f.generation = node.inode.generation;
        f.size = node.inode.size;
        f.saw_stored(&node.inode);
        f.ctime = node.inode.ctime;
        Ok(())
    }

    /// Make a file shorter, from its end down: each step is one transaction
    /// that deletes up to `STEP` blocks and lowers the size to where they
    /// begin; the last one also cuts the block the new size ends in. Every
    /// state another client can see (or that a client killed between two
    /// steps leaves) is a prefix of the old file: never its old size with
    /// zeros where blocks were, and a later extension reads zeros, never
    /// the old bytes. Each step is conditioned on the size the one before
    /// left.
    async fn shrink(&self, f: &mut OpenFile, size: u64, now: i64) -> FsResult<Outcome> {
        let bs = self.bs();
        let keep = size.div_ceil(bs);
        let mut top = f.size.div_ceil(bs);
        let mut cut = None;
        if size % bs != 0 {
            let i = size / bs;
            let old = self.load_blocks(f.ino, f.generation, &[i]).await?;
            if let Some(data) = old.get(&i).filter(|d| !d.is_empty()) {
                let mut data = data.as_ref().clone();
                data.truncate((size % bs) as usize);
                cut = Some(Write::Put {
                    table: Table::Blocks,
                    key: block_key(f.ino, f.generation, i),
                    attrs: block::encode(&data, self.compress()),
                    cond: None,
                });
            }
        }
        loop {
            let low = top.saturating_sub(STEP).max(keep);
            let last = low == keep;
            let to = if last { size } else { low * bs };
            let ctime = now.max(f.ctime + 1);
            let mut writes = vec![size_update(f, times(to, now, ctime))];
            writes.extend((low..top).map(|i| Write::Delete {
                table: Table::Blocks,
                key: block_key(f.ino, f.generation, i),
                cond: None,
            }));
            if last {
                writes.extend(cut.take());
            }
            match self.commit_data_change(f, &writes).await? {
                Outcome::Done => {
                    f.size = to;
                    f.stored_size = to;
                    f.ctime = ctime;
                    if last {
                        return Ok(Outcome::Done);
                    }
                    top = low;
                }
                failed => return Ok(failed),
            }
        }
    }
}

/// Blocks deleted per step of a shrink: a transaction holds 100 items,
/// three of which are the size's update, the cut block and the fence.
const STEP: u64 = 97;

fn times(size: u64, now: i64, ctime: i64) -> Vec<Change> {
    vec![
        Change::set(attr::SIZE, Value::N(size as i64)),
        Change::set(attr::MTIME, Value::N(now)),
        Change::set(attr::CTIME, Value::N(ctime)),
    ]
}

/// An update of the file's size, planned from the size, generation and
/// hole map this client knows: if another client changed them meanwhile,
/// the blocks to cut (or the holes to record) may be others.
pub(super) fn size_update(f: &OpenFile, changes: Vec<Change>) -> Write {
    Write::Update {
        table: Table::Meta,
        key: crate::inode::inode_key(f.ino),
        changes,
        cond: Some(Cond::And(vec![
            generation_is(f.generation),
            Cond::eq(attr::SIZE, Value::N(f.size as i64)),
            f.holes.unchanged(),
        ])),
    }
}
