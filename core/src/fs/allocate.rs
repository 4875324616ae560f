//! fallocate(2): plain preallocation (there is nothing to reserve: it only
//! extends the size), punching holes and zeroing ranges. A hole is blocks
//! that are not stored: whole blocks in the range are deleted and the ones
//! it covers partly are rewritten with zeros there, in transactions of up
//! to 98 blocks with the file's mtime and ctime, each on condition that
//! its size and data generation are still as this client knows them (as a
//! shrinking truncate does). COLLAPSE_RANGE and INSERT_RANGE stay
//! EOPNOTSUPP: they move every later block, a request per block.

use crate::error::{posix, Errno, FsResult};
use crate::schema::attr;
use crate::store::{Change, Table, Value, Write};
use crate::superblock::now_ns;

use super::block::{self, block_key};
use super::file::{OpenFile, MAX_FILE_SIZE};
use super::truncate::size_update;
use super::txn::{Attempts, Outcome};
use super::Fs;

/// What fallocate was asked (its mode bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allocate {
    /// FALLOC_FL_KEEP_SIZE: never change the size.
    pub keep_size: bool,
    /// FALLOC_FL_PUNCH_HOLE (with KEEP_SIZE, as Linux requires).
    pub punch_hole: bool,
    /// FALLOC_FL_ZERO_RANGE.
    pub zero_range: bool,
}

/// Blocks deleted per transaction: 100 items less the inode's update, the
/// two blocks the range covers partly and the fence of a locked file.
const STEP: u64 = 96;

impl Fs {
    /// fallocate on an open file: `len` bytes at `offset`.
    pub async fn fallocate(&self, fh: u64, offset: u64, len: u64, how: Allocate) -> FsResult<()> {
        self.writable()?;
        let h = self.handle(fh)?;
        if !h.mode.write {
            return Err(posix(Errno::EBADF, "fallocate: file not open for writing"));
        }
        if len == 0 {
            return Err(posix(Errno::EINVAL, "fallocate of no bytes"));
        }
        if how.punch_hole && (!how.keep_size || how.zero_range) {
            return Err(posix(
                Errno::EOPNOTSUPP,
                "a hole is punched with FALLOC_FL_KEEP_SIZE and nothing else",
            ));
        }
        let end = offset
            .checked_add(len)
            .filter(|e| *e <= MAX_FILE_SIZE)
            .ok_or_else(|| posix(Errno::EFBIG, "fallocate past the largest file size"))?;
        let mut f = h.file.lock().await;
        self.flush_locked(&mut f).await?;
        if how.punch_hole || how.zero_range {
            self.zero_locked(&mut f, offset, end).await?;
        }
        if !how.keep_size && end > f.size {
            self.truncate_locked(&mut f, end).await?;
        }
        Ok(())
    }

    /// Make bytes `from..to` read as zeros (the part of them below the
    /// size), storing no block the range covers whole.
    async fn zero_locked(&self, f: &mut OpenFile, from: u64, to: u64) -> FsResult<()> {
        let bs = self.bs();
        let mut tries = Attempts::new();
        loop {
            let to = to.min(f.size);
            if from >= to {
                return Ok(());
            }
            // Whole blocks `full`, and the edges the range covers partly.
            let full = from.div_ceil(bs)..to / bs;
            let mut edges = vec![from / bs];
            if (to - 1) / bs != from / bs {
                edges.push((to - 1) / bs);
            }
            edges.retain(|i| !full.contains(i));
            let mut edits = Vec::new();
            let mut emptied = Vec::new();
            let old = self.load_blocks(f.ino, f.generation, &edges).await?;
            for i in edges {
                let Some(data) = old.get(&i) else { continue };
                let (lo, hi) = (
                    (from.max(i * bs) - i * bs) as usize,
                    (to.min((i + 1) * bs) - i * bs) as usize,
                );
                if lo >= data.len() {
                    continue;
                }
                let mut d = data.as_ref().clone();
                if hi >= d.len() {
                    // What is past a block's stored bytes reads as zeros.
                    d.truncate(lo);
                } else {
                    d[lo..hi].fill(0);
                }
                let key = block_key(f.ino, f.generation, i);
                if d.is_empty() {
                    emptied.push(i);
                }
                edits.push(match d.is_empty() {
                    true => Write::Delete {
                        table: Table::Blocks,
                        key,
                        cond: None,
                    },
                    false => Write::Put {
                        table: Table::Blocks,
                        key,
                        attrs: block::encode(&d, self.compress()),
                        cond: None,
                    },
                });
            }
            let mut next = full.start;
            let outcome = loop {
                let step_end = (next + STEP).min(full.end.max(next));
                let last = step_end >= full.end;
                let now = now_ns();
                let ctime = now.max(f.ctime + 1);
                let mut changes = vec![
                    Change::set(attr::MTIME, Value::N(now)),
                    Change::set(attr::CTIME, Value::N(ctime)),
                ];
                // The blocks deleted are holes from now on.
                let mut holes = f.holes.clone();
                holes.add(next, step_end);
                if last {
                    for &i in &emptied {
                        holes.add(i, i + 1);
                    }
                }
                changes.extend(holes.change_from(&f.holes));
                let mut writes = vec![size_update(f, changes)];
                writes.extend((next..step_end).map(|i| Write::Delete {
                    table: Table::Blocks,
                    key: block_key(f.ino, f.generation, i),
                    cond: None,
                }));
                if last {
                    writes.append(&mut edits);
                }
                match self.commit_data_change(f, &writes).await? {
                    Outcome::Done => {
                        f.ctime = ctime;
                        f.holes = holes;
                        if last {
                            break Outcome::Done;
                        }
                        next = step_end;
                    }
                    failed => break failed,
                }
            };
            self.cache.forget_node(f.ino);
            self.blocks.drop_ino(f.ino);
            match outcome {
                Outcome::Done => return Ok(()),
                Outcome::Failed(_) => {
                    // Another client changed the size or the data since:
                    // plan again from what it left (zeroing twice is the same).
                    self.adopt_stored(f).await?;
                    tries.again().await?;
                }
            }
        }
    }
}
