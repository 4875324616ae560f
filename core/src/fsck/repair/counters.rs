//! Counts kept in items, recounted from what they count: a directory's
//! counters from its entries, an inode's extended-attribute count from
//! its attribute items.

use std::collections::BTreeMap;

use super::{as_read, check, commit, get, n, one, Ctx};
use crate::check::decode_entry;
use crate::error::{FsError, FsResult};
use crate::inode::{inode_key, FileType, Inode};
use crate::schema::{
    attr, counter, counter_key, dir_p, inode_p, COUNTER_TAG, DIR_SHARDS, XATTR_TAG,
};
use crate::store::{Attrs, Change, Cond, Item, Query, Range, Table, Value, Write};

/// Set a directory's counters to what its entries say. The counters are
/// read before the entries, and each write is on condition that its
/// counter is still as read: a create or remove between the reads changes
/// the counter of its name, and that write fails instead of losing it.
pub(super) async fn recount(ctx: &Ctx, dir: u64) -> FsResult<Vec<String>> {
    let Some(it) = get(ctx, &inode_key(dir)).await? else {
        return Ok(vec![]);
    };
    let Ok(inode) = Inode::from_attrs(dir, &it.attrs) else {
        return Ok(vec![]);
    };
    if !inode.is_dir() || inode.nlink == 0 {
        return Ok(vec![]);
    }
    let counters = query(ctx, inode_p(dir), Range::Prefix(vec![COUNTER_TAG])).await?;
    let entries = query(ctx, dir_p(dir), Range::All).await?;
    let mut want: BTreeMap<u8, (i64, i64)> = BTreeMap::new();
    for e in &entries {
        let (_, kind) = decode_entry(&e.attrs).map_err(FsError::Corrupt)?;
        let c = want.entry(crate::check::shard_of(&e.key.s)).or_default();
        c.0 += 1;
        c.1 += (kind == FileType::Directory) as i64;
    }
    let alive = as_read(&it, &[attr::NLINK, attr::CTIME]);
    let mut w = vec![check(inode_key(dir), alive)];
    let mut fixed = Vec::new();
    for shard in 0..DIR_SHARDS {
        let (e, sd) = want.get(&shard).copied().unwrap_or_default();
        let key = counter_key(dir, shard);
        let have = counters.iter().find(|c| c.key == key);
        let write = match have {
            Some(c) if (n(c, counter::ENTRIES), n(c, counter::SUBDIRS)) == (Some(e), Some(sd)) => {
                continue
            }
            Some(c) => Write::Update {
                table: Table::Meta,
                key,
                changes: vec![
                    Change::set(counter::ENTRIES, Value::N(e)),
                    Change::set(counter::SUBDIRS, Value::N(sd)),
                ],
                cond: Some(as_read(c, &[counter::ENTRIES, counter::SUBDIRS])),
            },
            None => {
                let mut a = Attrs::new();
                a.insert(counter::ENTRIES.into(), Value::N(e));
                a.insert(counter::SUBDIRS.into(), Value::N(sd));
                a.insert(counter::CHANGED.into(), Value::N(inode.mtime));
                Write::Put {
                    table: Table::Meta,
                    key,
                    attrs: a,
                    cond: Some(Cond::NotExists),
                }
            }
        };
        w.push(write);
        fixed.push(shard);
    }
    if fixed.is_empty() {
        return Ok(vec![]);
    }
    commit(ctx, w).await?;
    let (e, sd) = want
        .values()
        .fold((0, 0), |(a, b), (e, sd)| (a + e, b + sd));
    one(format!(
        "recounted directory {dir} (counters {fixed:?}): {e} entries, {sd} subdirectories"
    ))
}

/// Set an inode's extended-attribute count to the number of its attribute
/// items (a count too low hides them, since a file counted as having none
/// is answered without a read). Written on condition that the count and
/// ctime are as read before the items were counted: a setxattr between
/// moves the ctime and the write fails instead of losing it.
pub(super) async fn recount_xattrs(ctx: &Ctx, ino: u64, stored: u64) -> FsResult<Vec<String>> {
    let Some(it) = get(ctx, &inode_key(ino)).await? else {
        return Ok(vec![]);
    };
    if n(&it, attr::XATTR_COUNT).unwrap_or(0) != stored as i64 {
        return Ok(vec![]);
    }
    let items = query(ctx, inode_p(ino), Range::Prefix(vec![XATTR_TAG])).await?;
    let count = items.len() as i64;
    if count == stored as i64 {
        return Ok(vec![]);
    }
    let w = Write::Update {
        table: Table::Meta,
        key: inode_key(ino),
        changes: vec![Change::set(attr::XATTR_COUNT, Value::N(count))],
        cond: Some(as_read(&it, &[attr::XATTR_COUNT, attr::CTIME])),
    };
    commit(ctx, vec![w]).await?;
    one(format!(
        "set the extended-attribute count of inode {ino} from {stored} to {count}, its attribute items"
    ))
}

/// Every item of a partition in a range (consistent, paged).
async fn query(ctx: &Ctx, p: Vec<u8>, range: Range) -> FsResult<Vec<Item>> {
    let mut q = Query::new(Table::Meta, p, range);
    q.limit = Some(1000);
    let mut out = Vec::new();
    loop {
        let page = ctx.store.query(&q).await?;
        out.extend(page.items);
        match page.next {
            Some(next) => q.start_after = Some(next),
            None => return Ok(out),
        }
    }
}
