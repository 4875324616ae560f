//! Orphans and dead generations, collected.

use super::{commit, delete, get, n, one, Ctx, State};
use crate::error::{FsError, FsResult};
use crate::fs::layout::{block_key, dead_generation_key};
use crate::inode::inode_key;
use crate::schema::attr;
use crate::store::{BatchWrite, Cond, Table};

/// Collect an orphan whose inode has no link left (or is gone).
pub(super) async fn collect(ctx: &Ctx, ino: u64, st: &mut State) -> FsResult<Vec<String>> {
    if !st.done.insert(format!("collect {ino}")) {
        return Ok(vec![]);
    }
    let Some(fs) = &ctx.fs else {
        return Err(FsError::Corrupt(
            "the superblock is unusable, so orphans cannot be collected".into(),
        ));
    };
    if let Some(it) = get(ctx, &inode_key(ino)).await? {
        if n(&it, attr::NLINK).is_none_or(|n| n > 0) {
            return Ok(vec![]);
        }
    }
    fs.collect_orphan(ino).await?;
    one(format!("collected orphan inode {ino}"))
}

/// Delete the blocks of a dead generation, then its record.
pub(super) async fn collect_generation(
    ctx: &Ctx,
    ino: u64,
    generation: u64,
    blocks: u64,
) -> FsResult<Vec<String>> {
    let mut i = 0;
    while i < blocks {
        let end = (i + 2500).min(blocks);
        let dels: Vec<BatchWrite> = (i..end)
            .map(|b| BatchWrite::Delete {
                key: block_key(ino, generation, b),
            })
            .collect();
        ctx.store.batch_write(Table::Blocks, &dels).await?;
        i = end;
    }
    let record = dead_generation_key(ino, generation);
    commit(ctx, vec![delete(Table::Meta, record, Cond::Exists)]).await?;
    one(format!(
        "collected the old data generation {generation} of inode {ino}"
    ))
}
