//! The repairs: each re-reads what it changes (consistent reads) and
//! writes on condition that it is still as read.

use std::collections::HashSet;
use std::sync::Arc;

use super::holders::held_open;
use super::{data_of, safety, Safety};
use crate::check::{
    block_key, dead_generation_key, orphan_key, parse_shown, parse_shown_key, Problem, Report,
    ENTRY_INO, ENTRY_TYPE,
};
use crate::error::{FsError, FsResult};
use crate::fs::layout::{BLOCK_CHECKSUM, BLOCK_LENGTH};
use crate::fs::Fs;
use crate::holes::Holes;
use crate::inode::{inode_key, Inode, S_IFMT};
use crate::locks::{attr as lock_attr, index_key, lock_key, Locks};
use crate::schema::{attr, dir_p};
use crate::session::{session_key, Session};
use crate::store::{Change, Cond, Item, Key, Store, StoreError, Table, Token, Value, Write};
use crate::superblock::now_ns;

mod collect;
mod counters;
mod reconnect;

use collect::{collect, collect_generation};
use counters::{recount, recount_xattrs};
use reconnect::{reconnect, salvage};

pub(super) struct Ctx {
    pub store: Arc<dyn Store>,
    /// For orphan collection; `None` when the superblock is unusable.
    pub fs: Option<Fs>,
}

#[derive(Default)]
pub(super) struct Pass {
    pub actions: Vec<String>,
    pub failures: Vec<String>,
    /// Inodes whose garbage data was left: a live session may hold them.
    pub held: HashSet<u64>,
}

/// One pass over what a check found. Garbage data a live session may
/// hold open is left (and named in `held`); `held_before`: what earlier
/// passes found held.
pub(super) async fn pass(
    ctx: &Ctx,
    report: &Report,
    live: bool,
    force: bool,
    held_before: &HashSet<u64>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Pass {
    let allowed = |s: Safety| match s {
        Safety::Dead | Safety::Data => true,
        Safety::Live => !live || force,
        Safety::Follows | Safety::Manual => false,
    };
    let all = || report.problems.iter().chain(&report.notes);
    let mut out = Pass::default();
    let data: HashSet<u64> = all().filter_map(data_of).collect();
    // When all that is left was held at the last pass, asking again
    // would only wait two more heartbeats to learn the same.
    let asked = if data.is_subset(held_before) {
        Ok(data.clone())
    } else {
        held_open(ctx.store.as_ref(), &data, progress).await
    };
    out.held = match asked {
        Ok(h) => h,
        Err(e) => {
            out.failures
                .push(format!("reading the live sessions' open files: {e}"));
            data
        }
    };
    let mut st = State::default();
    for p in all() {
        if !allowed(safety(p)) || data_of(p).is_some_and(|i| out.held.contains(&i)) {
            continue;
        }
        let r = fix(ctx, report, p, &mut st).await;
        record(&mut out, &p.to_string(), r);
    }
    // Orphan records: with live mounts, their collectors take them, when
    // the last client that has the file open closes it.
    if live {
        return out;
    }
    let orphans = match &ctx.fs {
        Some(fs) => match fs.orphans().await {
            Ok(o) => o.into_iter().map(|(ino, _)| ino).collect(),
            Err(e) => {
                out.failures.push(format!("listing orphans: {e}"));
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    for ino in orphans {
        let r = collect(ctx, ino, &mut st).await;
        record(&mut out, &format!("orphan {ino}"), r);
    }
    out
}

fn record(out: &mut Pass, what: &str, r: FsResult<Vec<String>>) {
    match r {
        Ok(a) => out.actions.extend(a),
        // Someone changed it since it was read: never undo that.
        Err(FsError::Store(StoreError::ConditionFailed { .. })) => {
            tracing::info!("{what}: changed while fsck ran; left for the next run")
        }
        Err(e) => out.failures.push(format!("{what}: {e}")),
    }
}

#[derive(Default)]
struct State {
    /// Repairs that cover several problems, done once per pass.
    done: HashSet<String>,
    /// /lost+found, once found or made.
    lost_found: Option<u64>,
}

fn bad(what: &str) -> FsError {
    FsError::Corrupt(format!("cannot parse {what} back into a key"))
}

fn entry_key(dir: u64, shown: &str) -> FsResult<Key> {
    Ok(Key::new(
        dir_p(dir),
        parse_shown(shown).ok_or_else(|| bad(shown))?,
    ))
}

async fn get(ctx: &Ctx, key: &Key) -> FsResult<Option<Item>> {
    Ok(ctx.store.get(Table::Meta, key, true).await?)
}

fn n(it: &Item, a: &str) -> Option<i64> {
    it.attrs.get(a).and_then(Value::as_n)
}

/// The item still exists and these attributes are as read.
fn as_read(it: &Item, attrs: &[&str]) -> Cond {
    let mut c = vec![Cond::Exists];
    for a in attrs {
        c.push(match it.attrs.get(*a) {
            Some(v) => Cond::eq(a, v.clone()),
            None => Cond::has_not(a),
        });
    }
    Cond::And(c)
}

fn check(key: Key, cond: Cond) -> Write {
    Write::Check {
        table: Table::Meta,
        key,
        cond,
    }
}

fn delete(table: Table, key: Key, cond: Cond) -> Write {
    Write::Delete {
        table,
        key,
        cond: Some(cond),
    }
}

/// A new ctime: every change moves it strictly forward.
fn bumped(it: &Item) -> Change {
    let ct = n(it, attr::CTIME).unwrap_or(0);
    Change::set(attr::CTIME, Value::N(now_ns().max(ct.saturating_add(1))))
}

async fn commit(ctx: &Ctx, writes: Vec<Write>) -> FsResult<()> {
    if let [w] = writes.as_slice() {
        ctx.store.write(w).await?;
    } else {
        ctx.store.transact(&writes, &Token::fresh()).await?;
    }
    Ok(())
}

fn one(s: String) -> FsResult<Vec<String>> {
    Ok(vec![s])
}

/// Whether data blocks of `ino` were found without their inode.
fn has_blocks(report: &Report, ino: u64) -> bool {
    report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::BlockWithoutInode { ino: i, .. } if *i == ino))
}

async fn fix(ctx: &Ctx, report: &Report, p: &Problem, st: &mut State) -> FsResult<Vec<String>> {
    use Problem::*;
    match p {
        DanglingEntry { ino, .. } if has_blocks(report, *ino) => {
            salvage(ctx, report, *ino, st).await
        }
        DanglingEntry { dir, name, ino } => {
            let key = entry_key(*dir, name)?;
            let names = Cond::eq(ENTRY_INO, Value::N(*ino as i64));
            let gone = check(inode_key(*ino), Cond::NotExists);
            commit(ctx, vec![delete(Table::Meta, key, names), gone]).await?;
            one(format!(
                "removed entry {dir}/{name}, which named missing inode {ino}"
            ))
        }
        EntryOutsideDirectory { dir, name } => {
            let key = entry_key(*dir, name)?;
            let Some(e) = get(ctx, &key).await? else {
                return Ok(vec![]);
            };
            let d = get(ctx, &inode_key(*dir)).await?;
            let inode = d
                .as_ref()
                .and_then(|d| Inode::from_attrs(*dir, &d.attrs).ok());
            if inode.is_some_and(|i| i.is_dir() && i.nlink > 0) {
                return Ok(vec![]);
            }
            let dir_cond = match &d {
                Some(d) => as_read(d, &[attr::MODE, attr::NLINK, attr::CTIME]),
                None => Cond::NotExists,
            };
            let del = delete(Table::Meta, key, as_read(&e, &[ENTRY_INO, ENTRY_TYPE]));
            commit(ctx, vec![del, check(inode_key(*dir), dir_cond)]).await?;
            one(format!(
                "removed entry {dir}/{name}: directory {dir} is missing, removed or no directory"
            ))
        }
        EntryType {
            dir,
            name,
            ino,
            entry,
            inode,
        } => {
            let w = Write::Update {
                table: Table::Meta,
                key: entry_key(*dir, name)?,
                changes: vec![Change::set(ENTRY_TYPE, Value::N(inode.bits() as i64))],
                cond: Some(Cond::And(vec![
                    Cond::eq(ENTRY_INO, Value::N(*ino as i64)),
                    Cond::eq(ENTRY_TYPE, Value::N(entry.bits() as i64)),
                ])),
            };
            commit(ctx, vec![w]).await?;
            one(format!(
                "set the type of entry {dir}/{name} to {inode:?}, as inode {ino} says"
            ))
        }
        // No name: reconnected (Unreferenced, or OrphanLinked).
        WrongMode { ino, mode, actual } => {
            let Some(it) = get(ctx, &inode_key(*ino)).await? else {
                return Ok(vec![]);
            };
            if n(&it, attr::MODE) != Some(*mode as i64) {
                return Ok(vec![]);
            }
            let fixed = actual.bits() | (mode & !S_IFMT);
            let w = Write::Update {
                table: Table::Meta,
                key: inode_key(*ino),
                changes: vec![Change::set(attr::MODE, Value::N(fixed as i64)), bumped(&it)],
                cond: Some(as_read(&it, &[attr::MODE, attr::CTIME])),
            };
            commit(ctx, vec![w]).await?;
            one(format!(
                "set the mode of inode {ino} from {mode:o} to {fixed:o}: its names and contents say {actual:?}"
            ))
        }
        XattrCount { ino, stored, .. } => recount_xattrs(ctx, *ino, *stored).await,
        WrongNlink { names: 0, .. } => Ok(vec![]),
        WrongNlink { ino, stored, names } => {
            let Some(it) = get(ctx, &inode_key(*ino)).await? else {
                return Ok(vec![]);
            };
            if n(&it, attr::NLINK) != Some(*stored as i64) {
                return Ok(vec![]);
            }
            let mut w = vec![Write::Update {
                table: Table::Meta,
                key: inode_key(*ino),
                changes: vec![
                    Change::set(attr::NLINK, Value::N(*names as i64)),
                    bumped(&it),
                ],
                cond: Some(as_read(&it, &[attr::NLINK, attr::CTIME])),
            }];
            // A named inode must not be collected.
            if get(ctx, &orphan_key(*ino)).await?.is_some() {
                w.push(delete(Table::Meta, orphan_key(*ino), Cond::Exists));
            }
            commit(ctx, w).await?;
            one(format!(
                "set the link count of inode {ino} from {stored} to {names}"
            ))
        }
        Unreferenced { ino, .. } => reconnect(ctx, *ino, st).await,
        OrphanLinked { ino, nlink } => {
            let zero = WrongNlink {
                ino: *ino,
                stored: *nlink,
                names: 0,
            };
            if report.problems.contains(&zero) {
                return reconnect(ctx, *ino, st).await;
            }
            let Some(it) = get(ctx, &inode_key(*ino)).await? else {
                return Ok(vec![]);
            };
            let inode_cond = as_read(&it, &[attr::NLINK, attr::CTIME]);
            if n(&it, attr::NLINK) != Some(*nlink as i64) {
                return Ok(vec![]);
            }
            let del = delete(Table::Meta, orphan_key(*ino), Cond::Exists);
            commit(ctx, vec![del, check(inode_key(*ino), inode_cond)]).await?;
            one(format!(
                "removed the orphan record of inode {ino}, which still has {nlink} links"
            ))
        }
        DirectoryNames { ino, names } if names.len() > 1 => {
            let Some(it) = get(ctx, &inode_key(*ino)).await? else {
                return Ok(vec![]);
            };
            let Ok(i) = Inode::from_attrs(*ino, &it.attrs) else {
                return Ok(vec![]);
            };
            if names.iter().filter(|(d, _)| *d == i.parent).count() != 1 {
                return Ok(vec![]);
            }
            let names_it = Cond::eq(ENTRY_INO, Value::N(*ino as i64));
            let mut w = vec![check(
                inode_key(*ino),
                as_read(&it, &[attr::PARENT, attr::NLINK, attr::CTIME]),
            )];
            let mut gone = Vec::new();
            for (d, name) in names.iter().filter(|(d, _)| *d != i.parent) {
                w.push(delete(Table::Meta, entry_key(*d, name)?, names_it.clone()));
                gone.push(format!("{d}/{name}"));
            }
            commit(ctx, w).await?;
            one(format!(
                "removed the extra names of directory {ino}: {}",
                gone.join(", ")
            ))
        }
        WrongParent {
            ino,
            parent,
            holder,
        } => {
            let (Some(it), Some(h)) = (
                get(ctx, &inode_key(*ino)).await?,
                get(ctx, &inode_key(*holder)).await?,
            ) else {
                return Ok(vec![]);
            };
            let live_dir =
                Inode::from_attrs(*holder, &h.attrs).is_ok_and(|h| h.is_dir() && h.nlink > 0);
            if !live_dir || n(&it, attr::PARENT) != Some(*parent as i64) {
                return Ok(vec![]);
            }
            let w = Write::Update {
                table: Table::Meta,
                key: inode_key(*ino),
                changes: vec![
                    Change::set(attr::PARENT, Value::N(*holder as i64)),
                    bumped(&it),
                ],
                cond: Some(as_read(&it, &[attr::PARENT, attr::CTIME])),
            };
            let holder_cond = as_read(&h, &[attr::NLINK, attr::CTIME]);
            commit(ctx, vec![w, check(inode_key(*holder), holder_cond)]).await?;
            one(format!(
                "set the parent pointer of directory {ino} from {parent} to {holder}, which holds it"
            ))
        }
        MissingCounter { dir, .. } | Counters { dir, .. } | CounterShards { dir, .. } => {
            if !st.done.insert(format!("counters {dir}")) {
                return Ok(vec![]);
            }
            recount(ctx, *dir).await
        }
        Stray { key } => {
            let key = parse_shown_key(key, 9).ok_or_else(|| bad(key))?;
            let ino = key.p[1..]
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| bad("a stray key"))?;
            let w = vec![
                delete(Table::Meta, key.clone(), Cond::Exists),
                check(inode_key(ino), Cond::NotExists),
                check(orphan_key(ino), Cond::NotExists),
            ];
            commit(ctx, w).await?;
            one(format!("deleted item {key}, which belongs to no inode"))
        }
        BlockWithoutInode { ino, .. } => salvage(ctx, report, *ino, st).await,
        BlockInHole { ino, index } => {
            let Some(it) = get(ctx, &inode_key(*ino)).await? else {
                return Ok(vec![]);
            };
            // The block's bytes are what reads return: the map says so
            // (the safe side) rather than deleting what may be data.
            let read = Holes::from_attr(it.attrs.get(attr::HOLES));
            let mut next = read.clone();
            next.fill(*index, index + 1);
            let Some(change) = next.change_from(&read) else {
                return Ok(vec![]);
            };
            let w = Write::Update {
                table: Table::Meta,
                key: inode_key(*ino),
                changes: vec![change],
                cond: Some(Cond::And(vec![Cond::Exists, read.unchanged()])),
            };
            commit(ctx, vec![w]).await?;
            one(format!(
                "data block {index} of inode {ino} is no longer listed as a hole"
            ))
        }
        BlockPastSize {
            ino,
            generation,
            index,
            size,
        } => {
            let Some(it) = get(ctx, &inode_key(*ino)).await? else {
                return Ok(vec![]);
            };
            let generation_now = n(&it, attr::GENERATION).unwrap_or(0);
            if n(&it, attr::SIZE) != Some(*size as i64) || generation_now != *generation as i64 {
                return Ok(vec![]);
            }
            let cond = as_read(&it, &[attr::SIZE, attr::GENERATION, attr::CTIME]);
            let key = block_key(*ino, *generation, *index);
            // The block as read: a writer that put it again since (its
            // size update still to come) changed its checksum.
            let Some(b) = ctx.store.get(Table::Blocks, &key, true).await? else {
                return Ok(vec![]);
            };
            let block_cond = as_read(&b, &[BLOCK_CHECKSUM, BLOCK_LENGTH]);
            let w = vec![
                delete(Table::Blocks, key, block_cond),
                check(inode_key(*ino), cond),
            ];
            commit(ctx, w).await?;
            one(format!(
                "deleted data block {index} of inode {ino}, past its size {size}"
            ))
        }
        DeadGenerationBlock {
            ino,
            generation,
            index,
            current,
        } => {
            let Some(it) = get(ctx, &inode_key(*ino)).await? else {
                return Ok(vec![]);
            };
            if n(&it, attr::GENERATION).unwrap_or(0) != *current as i64 {
                return Ok(vec![]);
            }
            let w = vec![
                delete(
                    Table::Blocks,
                    block_key(*ino, *generation, *index),
                    Cond::Exists,
                ),
                check(inode_key(*ino), as_read(&it, &[attr::GENERATION])),
                check(dead_generation_key(*ino, *generation), Cond::NotExists),
            ];
            commit(ctx, w).await?;
            one(format!(
                "deleted data block {index} of inode {ino}'s dead generation {generation}"
            ))
        }
        ExpiredSession { .. } => {
            if !st.done.insert("reap".into()) {
                return Ok(vec![]);
            }
            let reaped = Session::reap_expired(ctx.store.as_ref(), now_ns()).await?;
            Ok(reaped
                .into_iter()
                .map(|id| {
                    let locks = report.problems.iter().find_map(|p| match p {
                        ExpiredSession { id: i, locks, .. } if *i == id => Some(*locks),
                        _ => None,
                    });
                    match locks {
                        Some(l) => {
                            format!("reaped expired session {id} and released its {l} lock records")
                        }
                        None => format!("reaped expired session {id}"),
                    }
                })
                .collect())
        }
        LockOfGoneSession { ino, session, .. } => {
            if Session::get(ctx.store.as_ref(), session).await?.is_some() {
                return Ok(vec![]); // registered again
            }
            let mut broken = 0;
            for r in Locks::list_inode(ctx.store.as_ref(), *ino).await? {
                if r.session == *session && Locks::break_lock(ctx.store.as_ref(), *ino, &r).await? {
                    broken += 1;
                }
            }
            Ok((broken > 0)
                .then(|| format!("broke {broken} locks of gone session {session} on inode {ino}"))
                .into_iter()
                .collect())
        }
        StaleLockIndex { session, ino } => {
            let w = vec![
                delete(Table::Meta, index_key(session, *ino), Cond::Exists),
                check(session_key(session), Cond::NotExists),
            ];
            commit(ctx, w).await?;
            one(format!(
                "deleted the lock index item of gone session {session} for inode {ino}"
            ))
        }
        LockWithoutInode { ino } => {
            let Some(it) = get(ctx, &lock_key(*ino)).await? else {
                return Ok(vec![]);
            };
            let w = vec![
                delete(
                    Table::Meta,
                    lock_key(*ino),
                    as_read(&it, &[lock_attr::VERSION]),
                ),
                check(inode_key(*ino), Cond::NotExists),
                check(orphan_key(*ino), Cond::NotExists),
            ];
            commit(ctx, w).await?;
            one(format!("deleted the lock item of missing inode {ino}"))
        }
        DamagedLocks { ino, .. } => {
            let Some(it) = get(ctx, &lock_key(*ino)).await? else {
                return Ok(vec![]);
            };
            let cond = as_read(&it, &[lock_attr::VERSION, lock_attr::RECORDS]);
            commit(ctx, vec![delete(Table::Meta, lock_key(*ino), cond)]).await?;
            one(format!(
                "deleted the damaged lock item of inode {ino}: its locks were unreadable"
            ))
        }
        LeftoverOrphan { ino } | PartlyCollected { ino, .. } => collect(ctx, *ino, st).await,
        OrphanBlock {
            ino,
            generation,
            index,
        } => {
            let key = block_key(*ino, *generation, *index);
            let gone = check(inode_key(*ino), Cond::NotExists);
            commit(ctx, vec![delete(Table::Blocks, key, Cond::Exists), gone]).await?;
            let mut a = vec![format!(
                "deleted data block {index} of collected orphan {ino}"
            )];
            a.extend(collect(ctx, *ino, st).await?);
            Ok(a)
        }
        PendingGeneration {
            ino,
            generation,
            blocks,
        } => collect_generation(ctx, *ino, *generation, *blocks).await,
        _ => Ok(vec![]),
    }
}
