//! Orphans: made of leaked inodes, and collected.

use super::{as_read, bumped, commit, delete, get, n, one, Ctx, State};
use crate::error::{FsError, FsResult};
use crate::fs::layout::{block_key, dead_generation_key, orphan_put};
use crate::inode::inode_key;
use crate::schema::attr;
use crate::store::{BatchWrite, Change, Cond, Table, Value, Write};
use crate::superblock::now_ns;

/// Give an inode no name points to an orphan record (and link count 0),
/// so that it is collected.
pub(super) async fn orphan(
    ctx: &Ctx,
    ino: u64,
    nlink: u64,
    st: &mut State,
) -> FsResult<Vec<String>> {
    let Some(it) = get(ctx, &inode_key(ino)).await? else {
        return Ok(vec![]);
    };
    if n(&it, attr::NLINK) != Some(nlink as i64) {
        return Ok(vec![]);
    }
    let w = vec![
        Write::Update {
            table: Table::Meta,
            key: inode_key(ino),
            changes: vec![Change::set(attr::NLINK, Value::N(0)), bumped(&it)],
            cond: Some(as_read(&it, &[attr::NLINK, attr::CTIME])),
        },
        orphan_put(ino, now_ns()),
    ];
    commit(ctx, w).await?;
    st.new_orphans.push(ino);
    one(format!(
        "inode {ino} had no name: gave it an orphan record, for collection"
    ))
}

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
