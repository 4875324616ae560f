//! Reconnection, as e2fsck does it: an inode no name reaches, and data
//! blocks whose inode item is gone, are given a name under /lost+found
//! (`#INO`) instead of being deleted. fsck cannot tell a leaked file from
//! a lost name; the owner can, and deletes what is garbage.

use super::{as_read, bumped, check, commit, get, n, one, Ctx, State};
use crate::caller::Caller;
use crate::check::{dead_generation_key, orphan_key, Problem, Report, ENTRY_INO, ENTRY_TYPE};
use crate::error::{Errno, FsError, FsResult};
use crate::fs::layout::{block_key, counter_change, shard_of, BLOCK_LENGTH};
use crate::inode::{inode_key, FileType, Inode, S_IFREG};
use crate::schema::{attr, dir_p, ROOT_INO};
use crate::store::{Attrs, Change, Cond, Key, Table, Value, Write};
use crate::superblock::now_ns;

const LOST_FOUND: &[u8] = b"lost+found";

/// /lost+found's inode: found, or made (mode 0700, owned by root).
async fn lost_found(ctx: &Ctx, st: &mut State) -> FsResult<u64> {
    if let Some(ino) = st.lost_found {
        return Ok(ino);
    }
    let fs = ctx.fs.as_ref().ok_or_else(|| {
        FsError::Corrupt("the superblock is unusable, so /lost+found cannot be made".into())
    })?;
    let root = Caller::root();
    let attr = match fs.lookup(&root, ROOT_INO, LOST_FOUND).await {
        Ok(a) => a,
        Err(e) if e.errno() == Errno::ENOENT => {
            fs.mkdir(&root, ROOT_INO, LOST_FOUND, 0o700).await?
        }
        Err(e) => return Err(e),
    };
    if attr.kind != FileType::Directory {
        return Err(FsError::Corrupt(
            "/lost+found is not a directory: rename it, and run fsck --repair again".into(),
        ));
    }
    st.lost_found = Some(attr.ino);
    Ok(attr.ino)
}

/// The writes that name `ino` (of `kind`) `#INO` in /lost+found.
fn name_in(lf: u64, ino: u64, kind: FileType, now: i64) -> (Vec<Write>, String) {
    let name = format!("#{ino}");
    let mut e = Attrs::new();
    e.insert(ENTRY_INO.into(), Value::N(ino as i64));
    e.insert(ENTRY_TYPE.into(), Value::N(kind.bits() as i64));
    let dir = kind == FileType::Directory;
    let writes = vec![
        Write::Put {
            table: Table::Meta,
            key: Key::new(dir_p(lf), name.as_bytes()),
            attrs: e,
            cond: Some(Cond::NotExists),
        },
        counter_change(lf, shard_of(name.as_bytes()), 1, dir as i64, now),
    ];
    (writes, format!("/lost+found/{name}"))
}

/// Name an inode no entry names in /lost+found. An orphan record it
/// carries while it still has links goes (the link count and the record
/// disagree: keeping the data is what cannot be wrong).
pub(super) async fn reconnect(ctx: &Ctx, ino: u64, st: &mut State) -> FsResult<Vec<String>> {
    if !st.done.insert(format!("reconnect {ino}")) {
        return Ok(vec![]);
    }
    let Some(it) = get(ctx, &inode_key(ino)).await? else {
        return Ok(vec![]);
    };
    let Ok(inode) = Inode::from_attrs(ino, &it.attrs) else {
        return Ok(vec![]);
    };
    let Some(kind) = inode.kind() else {
        return Ok(vec![]);
    };
    let lf = lost_found(ctx, st).await?;
    let now = now_ns();
    let (mut w, path) = name_in(lf, ino, kind, now);
    let mut changes = vec![Change::set(attr::NLINK, Value::N(1)), bumped(&it)];
    if kind == FileType::Directory {
        changes[0] = Change::set(attr::NLINK, Value::N(inode.nlink.max(2) as i64));
        changes.push(Change::set(attr::PARENT, Value::N(lf as i64)));
    }
    w.push(Write::Update {
        table: Table::Meta,
        key: inode_key(ino),
        changes,
        cond: Some(as_read(&it, &[attr::NLINK, attr::PARENT, attr::CTIME])),
    });
    let had_record = get(ctx, &orphan_key(ino)).await?.is_some();
    if had_record {
        w.push(Write::Delete {
            table: Table::Meta,
            key: orphan_key(ino),
            cond: Some(Cond::Exists),
        });
    } else {
        w.push(check(orphan_key(ino), Cond::NotExists));
    }
    commit(ctx, w).await?;
    let what = if had_record {
        " (its orphan record said it had no name, its link count said otherwise)"
    } else {
        ""
    };
    one(format!(
        "reconnected inode {ino} ({kind:?}, {} bytes), which no name reached{what}, as {path}",
        inode.size
    ))
}

/// Recreate the inode item of data blocks whose inode is gone, from the
/// blocks of its newest generation: a regular file, mode 0600, owned by
/// root, as long as the last block reaches. Named where entries still name
/// that inode (as a regular file), else in /lost+found. Older generations
/// then lie behind the inode's and are collected as dead.
pub(super) async fn salvage(
    ctx: &Ctx,
    report: &Report,
    ino: u64,
    st: &mut State,
) -> FsResult<Vec<String>> {
    if !st.done.insert(format!("salvage {ino}")) {
        return Ok(vec![]);
    }
    let fs = ctx.fs.as_ref().ok_or_else(|| {
        FsError::Corrupt("the superblock is unusable, so the block size is unknown".into())
    })?;
    let bs = fs.superblock().block_size as u64;
    let blocks: Vec<(u64, u64)> = report
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::BlockWithoutInode {
                ino: i,
                generation,
                index,
            } if *i == ino => Some((*generation, *index)),
            _ => None,
        })
        .collect();
    let Some(&generation) = blocks.iter().map(|(g, _)| g).max() else {
        return Ok(vec![]);
    };
    let count = blocks.iter().filter(|(g, _)| *g == generation).count();
    let last = blocks
        .iter()
        .filter(|(g, _)| *g == generation)
        .map(|(_, i)| *i)
        .max()
        .unwrap_or(0);
    let Some(tail) = ctx
        .store
        .get(Table::Blocks, &block_key(ino, generation, last), true)
        .await?
    else {
        return Ok(vec![]); // gone meanwhile
    };
    let tail_len = n(&tail, BLOCK_LENGTH).map_or(bs, |l| l.clamp(0, bs as i64) as u64);
    let size = last * bs + tail_len;

    // Entries that still name it as a regular file keep naming it.
    let mut names = Vec::new();
    for p in &report.problems {
        let Problem::DanglingEntry { dir, name, ino: i } = p else {
            continue;
        };
        if *i != ino {
            continue;
        }
        let key = super::entry_key(*dir, name)?;
        let Some(e) = get(ctx, &key).await? else {
            continue;
        };
        if n(&e, ENTRY_TYPE) == Some(S_IFREG as i64) && n(&e, ENTRY_INO) == Some(ino as i64) {
            names.push((key, format!("{dir}/{name}")));
        }
    }
    let now = now_ns();
    let mut inode = Inode::new(ino, S_IFREG | 0o600, 0, 0, now);
    inode.size = size;
    inode.generation = generation;
    inode.nlink = names.len().max(1) as u64;
    let mut w = vec![
        Write::Put {
            table: Table::Meta,
            key: inode_key(ino),
            attrs: inode.to_attrs(),
            cond: Some(Cond::NotExists),
        },
        check(orphan_key(ino), Cond::NotExists),
        check(dead_generation_key(ino, generation), Cond::NotExists),
    ];
    let at = if names.is_empty() {
        let lf = lost_found(ctx, st).await?;
        let (named, path) = name_in(lf, ino, FileType::Regular, now);
        w.extend(named);
        path
    } else {
        let names_it = Cond::eq(ENTRY_INO, Value::N(ino as i64));
        let shown: Vec<String> = names.iter().map(|(_, s)| s.clone()).collect();
        w.extend(names.into_iter().map(|(k, _)| check(k, names_it.clone())));
        format!("its name(s) {}", shown.join(", "))
    };
    commit(ctx, w).await?;
    one(format!(
        "recreated missing inode {ino} from its {count} data blocks (generation {generation}, \
         {size} bytes; mode 0600, owner root: the rest was in the lost inode) at {at}"
    ))
}
