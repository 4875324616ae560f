//! Removing names: unlink and rmdir, each one transaction. The last name of
//! an inode goes with an orphan record in the same transaction.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::names;
use crate::perm;
use crate::schema::{attr, counter, counter_key, DIR_SHARDS};
use crate::store::{Change, Cond, Table, Value, Write};
use crate::superblock::now_ns;

use super::create::counter_change;
use super::entry::{entry_key, shard_of, Entry};
use super::node::Node;
use super::orphan::orphan_put;
use super::trash::trash_writes;
use super::txn::{Attempts, Outcome};
use super::Fs;

/// A ctime for a change: now, but always after the current one, even if
/// this client's clock is behind the last writer's. setattr conditions on
/// ctime to detect concurrent changes, so it must never repeat.
pub(super) fn later(now: i64, inode: &crate::inode::Inode) -> i64 {
    now.max(inode.ctime + 1)
}

/// The writes that drop one link of `victim` (not a directory).
pub(super) fn drop_link(victim: &Node, now: i64) -> Vec<Write> {
    let nlink = victim.inode.nlink as i64;
    let mut w = vec![Write::Update {
        table: Table::Meta,
        key: victim.inode.key(),
        changes: vec![
            Change::set(attr::NLINK, Value::N(nlink - 1)),
            Change::set(attr::CTIME, Value::N(later(now, &victim.inode))),
        ],
        cond: Some(Cond::eq(attr::NLINK, Value::N(nlink))),
    }];
    if nlink <= 1 {
        w.push(orphan_put(victim.inode.ino, now));
    }
    w
}

/// The writes that remove an empty directory `victim`: its counters go
/// (each must still be zero: this is the emptiness check), its inode is
/// marked unlinked and recorded as an orphan.
pub(super) fn drop_dir(victim: &Node, now: i64) -> Vec<Write> {
    let ino = victim.inode.ino;
    let mut w = vec![
        Write::Update {
            table: Table::Meta,
            key: victim.inode.key(),
            changes: vec![
                Change::set(attr::NLINK, Value::N(0)),
                Change::set(attr::CTIME, Value::N(later(now, &victim.inode))),
            ],
            cond: Some(Cond::Exists),
        },
        orphan_put(ino, now),
    ];
    w.extend((0..DIR_SHARDS).map(|k| Write::Delete {
        table: Table::Meta,
        key: counter_key(ino, k),
        cond: Some(Cond::eq(counter::ENTRIES, Value::N(0))),
    }));
    w
}

impl Fs {
    pub(super) fn check_sticky(
        &self,
        caller: &Caller,
        dir: Option<&Node>,
        victim: &Node,
        what: &str,
    ) -> FsResult<()> {
        match dir {
            Some(d) => perm::check_sticky(caller, &d.inode, &victim.inode, what),
            None => Ok(()),
        }
    }

    pub async fn unlink(&self, caller: &Caller, parent: u64, name: &[u8]) -> FsResult<()> {
        self.writable()?;
        names::check(name)?;
        if name == b"." || name == b".." {
            return Err(posix(Errno::EISDIR, "unlink . or .."));
        }
        let mut tries = Attempts::new();
        loop {
            let fresh = tries.fresh();
            let d = self.changed_dir(caller, parent, fresh).await?;
            let Some(e) = self.entry(parent, name, fresh).await? else {
                if !fresh {
                    // A cached absence: another client may have made the
                    // name since. Only a fresh read says ENOENT.
                    tries.again().await?;
                    continue;
                }
                return Err(posix(Errno::ENOENT, "unlink: no such name"));
            };
            if e.kind == FileType::Directory {
                if !fresh {
                    tries.again().await?;
                    continue;
                }
                return Err(posix(Errno::EISDIR, "unlink of a directory"));
            }
            let Some(victim) = self.named_node(e.ino, &mut tries).await? else {
                continue;
            };
            self.check_sticky(caller, d.as_ref(), &victim, "unlink")?;
            if let Err(e) = super::flags::refuse_change(&victim.inode, "unlink") {
                if !fresh {
                    tries.again().await?;
                    continue;
                }
                return Err(e);
            }
            let now = now_ns();
            let mut writes = vec![
                Write::Delete {
                    table: Table::Meta,
                    key: entry_key(parent, name),
                    cond: Some(Entry::names(e.ino)),
                },
                counter_change(parent, shard_of(name), -1, 0, now),
            ];
            let slot = self.trash_slot(parent, name, &victim).await?;
            match &slot {
                Some(s) => writes.extend(trash_writes(&victim, parent, name, s, now)),
                None => writes.extend(drop_link(&victim, now)),
            }
            match self.commit(&writes).await? {
                Outcome::Done => {
                    self.cache.forget_entry(parent, name);
                    self.cache.forget_node(e.ino);
                    self.dir_changed(parent, shard_of(name), -1, 0, now);
                    match slot {
                        Some(s) => self.trashed(&s, now),
                        None if victim.inode.nlink <= 1 => self.orphaned(e.ino),
                        None => {}
                    }
                    return Ok(());
                }
                Outcome::Failed(_) => {
                    if slot.is_some() {
                        self.trash_moved();
                    }
                    tries.again().await?
                }
            }
        }
    }

    pub async fn rmdir(&self, caller: &Caller, parent: u64, name: &[u8]) -> FsResult<()> {
        self.writable()?;
        names::check(name)?;
        if name == b"." {
            return Err(posix(Errno::EINVAL, "rmdir ."));
        }
        if name == b".." {
            return Err(posix(Errno::ENOTEMPTY, "rmdir .."));
        }
        let mut tries = Attempts::new();
        loop {
            let fresh = tries.fresh();
            let d = self.changed_dir(caller, parent, fresh).await?;
            let Some(e) = self.entry(parent, name, fresh).await? else {
                if !fresh {
                    // A cached absence: another client may have made the
                    // name since. Only a fresh read says ENOENT.
                    tries.again().await?;
                    continue;
                }
                return Err(posix(Errno::ENOENT, "rmdir: no such name"));
            };
            if e.kind != FileType::Directory {
                if !fresh {
                    tries.again().await?;
                    continue;
                }
                return Err(posix(Errno::ENOTDIR, "rmdir of a non-directory"));
            }
            let Some(victim) = self.named_node(e.ino, &mut tries).await? else {
                continue;
            };
            if victim.entries() > 0 {
                if fresh {
                    return Err(posix(Errno::ENOTEMPTY, "rmdir of a non-empty directory"));
                }
                tries.again().await?;
                continue;
            }
            self.check_sticky(caller, d.as_ref(), &victim, "rmdir")?;
            if let Err(e) = super::flags::refuse_change(&victim.inode, "rmdir") {
                if !fresh {
                    tries.again().await?;
                    continue;
                }
                return Err(e);
            }
            let now = now_ns();
            let mut writes = vec![
                Write::Delete {
                    table: Table::Meta,
                    key: entry_key(parent, name),
                    cond: Some(Entry::names(e.ino)),
                },
                counter_change(parent, shard_of(name), -1, -1, now),
            ];
            writes.extend(drop_dir(&victim, now));
            match self.commit(&writes).await? {
                Outcome::Done => {
                    self.cache.forget_entry(parent, name);
                    self.cache.forget_node(e.ino);
                    self.dir_changed(parent, shard_of(name), -1, -1, now);
                    self.collect_dir_later(e.ino);
                    return Ok(());
                }
                Outcome::Failed(_) => tries.again().await?,
            }
        }
    }
}
