//! rename(2), with RENAME_NOREPLACE and RENAME_EXCHANGE: one transaction.
//!
//! A directory moved under a new parent carries a condition on every
//! ancestor of the new parent (its parent pointer is unchanged), so two
//! concurrent renames can never build a cycle: whichever commits second
//! finds an ancestor changed, plans again, and sees the cycle (EINVAL).

use std::collections::BTreeMap;

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::names;
use crate::perm;
use crate::schema::{attr, counter, counter_key, ROOT_INO};
use crate::store::{Change, Cond, Key, Table, Value, Write, MAX_TRANSACTION_ITEMS};
use crate::superblock::now_ns;

use super::entry::{entry_key, shard_of, Entry};
use super::node::Node;
use super::remove::{drop_dir, drop_link, later};
use super::trash::trash_writes;
use super::txn::{Attempts, Outcome};
use super::Fs;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags {
    /// RENAME_NOREPLACE: fail with EEXIST if the target exists.
    pub noreplace: bool,
    /// RENAME_EXCHANGE: swap the two names, which must both exist.
    pub exchange: bool,
}

/// Counter changes of one rename, merged per counter item (a transaction may
/// touch each item once).
#[derive(Default)]
struct Counters(BTreeMap<(u64, u8), (i64, i64)>);

impl Counters {
    fn add(&mut self, dir: u64, name: &[u8], entries: i64, subdirs: i64) {
        let c = self.0.entry((dir, shard_of(name))).or_default();
        c.0 += entries;
        c.1 += subdirs;
    }

    fn writes(&self, now: i64) -> Vec<Write> {
        self.0
            .iter()
            .map(|((dir, shard), (e, sd))| {
                let mut changes = vec![Change::set(counter::CHANGED, Value::N(now))];
                if *e != 0 {
                    changes.push(Change::add(counter::ENTRIES, *e));
                }
                if *sd != 0 {
                    changes.push(Change::add(counter::SUBDIRS, *sd));
                }
                Write::Update {
                    table: Table::Meta,
                    key: counter_key(*dir, *shard),
                    changes,
                    cond: Some(Cond::Exists),
                }
            })
            .collect()
    }
}

/// Update of a moved inode: ctime, and the parent pointer of a directory
/// that changes parent (conditioned on the old one).
fn moved(node: &Node, from: u64, to: u64, now: i64) -> Write {
    let mut changes = vec![Change::set(attr::CTIME, Value::N(later(now, &node.inode)))];
    super::trash::untrash(node, &mut changes);
    let mut cond = Cond::Exists;
    if node.is_dir() && from != to {
        changes.push(Change::set(attr::PARENT, Value::N(to as i64)));
        cond = Cond::eq(attr::PARENT, Value::N(from as i64));
    }
    Write::Update {
        table: Table::Meta,
        key: node.inode.key(),
        changes,
        cond: Some(cond),
    }
}

fn put_entry(parent: u64, name: &[u8], node: &Node, cond: Cond) -> Write {
    Write::Put {
        table: Table::Meta,
        key: entry_key(parent, name),
        attrs: Entry {
            ino: node.inode.ino,
            kind: node.kind(),
        }
        .attrs(),
        cond: Some(cond),
    }
}

impl Fs {
    /// The chain of directories from `dir` up to the root, with the parent
    /// each had when read: one read per level (cached while fresh).
    async fn ancestors(&self, dir: u64, fresh: bool) -> FsResult<Vec<(u64, u64)>> {
        let mut chain = Vec::new();
        let mut cur = dir;
        loop {
            let n = self.node(cur, fresh).await?;
            let parent = n.inode.parent;
            chain.push((cur, parent));
            if cur == ROOT_INO || parent == 0 {
                return Ok(chain);
            }
            // Deeper than any transaction can guard is answered with EXDEV
            // below; far deeper means the parent pointers loop.
            if chain.len() > 64 * MAX_TRANSACTION_ITEMS {
                return Err(posix(
                    Errno::ELOOP,
                    "directory chain does not reach the root",
                ));
            }
            cur = parent;
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn rename(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
        new_parent: u64,
        new_name: &[u8],
        flags: RenameFlags,
    ) -> FsResult<()> {
        self.writable()?;
        names::check(name)?;
        names::check(new_name)?;
        for n in [name, new_name] {
            if n == b"." || n == b".." {
                return Err(posix(Errno::EINVAL, "rename of . or .."));
            }
        }
        if flags.noreplace && flags.exchange {
            return Err(posix(
                Errno::EINVAL,
                "RENAME_NOREPLACE with RENAME_EXCHANGE",
            ));
        }
        let mut tries = Attempts::new();
        // An answer that commits nothing carries no condition: if it was
        // planned from cached reads, plan again from fresh ones first.
        macro_rules! answer {
            ($fresh:expr, $r:expr) => {{
                if !$fresh {
                    tries.again().await?;
                    continue;
                }
                return $r;
            }};
        }
        loop {
            let fresh = tries.fresh();
            let sd = self.changed_dir(caller, parent, fresh).await?;
            let dd = if new_parent == parent {
                sd.clone()
            } else {
                self.changed_dir(caller, new_parent, fresh).await?
            };
            let Some(se) = self.entry(parent, name, fresh).await? else {
                if !fresh {
                    // A cached absence: another client may have made the
                    // name since. Only a fresh read says ENOENT.
                    tries.again().await?;
                    continue;
                }
                return Err(posix(Errno::ENOENT, "rename: no such name"));
            };
            if parent == new_parent && name == new_name {
                // Renaming a name onto itself: NOREPLACE still sees a target.
                answer!(
                    fresh,
                    match flags.noreplace {
                        true => Err(posix(Errno::EEXIST, "RENAME_NOREPLACE: target exists")),
                        false => Ok(()),
                    }
                );
            }
            let Some(src) = self.named_node(se.ino, &mut tries).await? else {
                continue;
            };
            let dst = match self.entry(new_parent, new_name, fresh).await? {
                Some(de) => match self.named_node(de.ino, &mut tries).await? {
                    Some(n) => Some(n),
                    None => continue,
                },
                None => None,
            };
            let flagged = std::iter::once(&src)
                .chain(dst.as_ref())
                .find_map(|n| super::flags::refuse_change(&n.inode, "rename").err());
            if let Some(e) = flagged {
                answer!(fresh, Err(e));
            }
            if flags.exchange && dst.is_none() {
                answer!(
                    fresh,
                    Err(posix(
                        Errno::ENOENT,
                        "RENAME_EXCHANGE with a missing target",
                    ))
                );
            }
            if let Some(d) = &dst {
                // Linux checks NOREPLACE against the target before the
                // same-inode rule.
                if flags.noreplace {
                    answer!(
                        fresh,
                        Err(posix(Errno::EEXIST, "RENAME_NOREPLACE: target exists"))
                    );
                }
                if d.inode.ino == src.inode.ino {
                    // Two names of one inode: POSIX says do nothing.
                    answer!(fresh, Ok(()));
                }
                if d.inode.ino == parent && !flags.exchange {
                    // The target holds the source: it is not empty.
                    answer!(
                        fresh,
                        Err(posix(
                            Errno::ENOTEMPTY,
                            "rename onto the source's own directory",
                        ))
                    );
                }
                if !flags.exchange {
                    if src.is_dir() && !d.is_dir() {
                        answer!(
                            fresh,
                            Err(posix(
                                Errno::ENOTDIR,
                                "rename of a directory over a non-directory",
                            ))
                        );
                    }
                    if !src.is_dir() && d.is_dir() {
                        answer!(
                            fresh,
                            Err(posix(
                                Errno::EISDIR,
                                "rename of a non-directory over a directory",
                            ))
                        );
                    }
                    if d.is_dir() && d.entries() > 0 {
                        answer!(
                            fresh,
                            Err(posix(Errno::ENOTEMPTY, "rename over a non-empty directory",))
                        );
                    }
                }
                self.check_sticky(caller, dd.as_ref(), d, "rename over")?;
            }
            self.check_sticky(caller, sd.as_ref(), &src, "rename")?;
            let moves_dir = |n: &Node| n.is_dir() && parent != new_parent;
            if self.opts.check_permissions {
                // Moving a directory rewrites its `..`: it must be writable.
                if moves_dir(&src) {
                    perm::check(caller, &src.inode, perm::W, "rename directory")?;
                }
                if let Some(d) = dst.as_ref().filter(|d| flags.exchange && moves_dir(d)) {
                    perm::check(caller, &d.inode, perm::W, "rename directory")?;
                }
            }
            // Cycle checks: the moved directory must not be an ancestor of
            // its new parent; the chain is conditioned in the transaction.
            let mut chain = Vec::new();
            if moves_dir(&src) {
                let c = self.ancestors(new_parent, fresh).await?;
                if c.iter().any(|(a, _)| *a == src.inode.ino) {
                    answer!(
                        fresh,
                        Err(posix(Errno::EINVAL, "rename of a directory into itself"))
                    );
                }
                chain.extend(c);
            }
            if let Some(d) = dst.as_ref().filter(|d| flags.exchange && moves_dir(d)) {
                let c = self.ancestors(parent, fresh).await?;
                if c.iter().any(|(a, _)| *a == d.inode.ino) {
                    answer!(
                        fresh,
                        Err(posix(Errno::EINVAL, "exchange of a directory into itself"))
                    );
                }
                chain.extend(c);
            }

            let now = now_ns();
            let mut writes = Vec::new();
            let mut counters = Counters::default();
            let mut written: Vec<Key> = Vec::new();
            let mut slot = None;
            let src_dir = src.is_dir() as i64;
            match (&dst, flags.exchange) {
                (Some(d), true) => {
                    let dst_dir = d.is_dir() as i64;
                    writes.push(put_entry(parent, name, d, Entry::names(src.inode.ino)));
                    writes.push(put_entry(
                        new_parent,
                        new_name,
                        &src,
                        Entry::names(d.inode.ino),
                    ));
                    counters.add(
                        parent,
                        name,
                        0,
                        if parent != new_parent {
                            dst_dir - src_dir
                        } else {
                            0
                        },
                    );
                    counters.add(
                        new_parent,
                        new_name,
                        0,
                        if parent != new_parent {
                            src_dir - dst_dir
                        } else {
                            0
                        },
                    );
                    writes.push(moved(&src, parent, new_parent, now));
                    writes.push(moved(d, new_parent, parent, now));
                    written.push(src.inode.key());
                    written.push(d.inode.key());
                }
                _ => {
                    writes.push(Write::Delete {
                        table: Table::Meta,
                        key: entry_key(parent, name),
                        cond: Some(Entry::names(src.inode.ino)),
                    });
                    let cond = match &dst {
                        Some(d) => Entry::names(d.inode.ino),
                        None => Cond::NotExists,
                    };
                    writes.push(put_entry(new_parent, new_name, &src, cond));
                    counters.add(parent, name, -1, -src_dir);
                    let (replaced, replaced_dir) = match &dst {
                        Some(d) => (1, d.is_dir() as i64),
                        None => (0, 0),
                    };
                    counters.add(new_parent, new_name, 1 - replaced, src_dir - replaced_dir);
                    writes.push(moved(&src, parent, new_parent, now));
                    written.push(src.inode.key());
                    if let Some(d) = &dst {
                        written.push(d.inode.key());
                        if d.is_dir() {
                            writes.extend(drop_dir(d, now));
                        } else {
                            slot = self.trash_slot(new_parent, new_name, d).await?;
                            match &slot {
                                Some(s) => {
                                    writes.extend(trash_writes(d, new_parent, new_name, s, now))
                                }
                                None => writes.extend(drop_link(d, now)),
                            }
                        }
                    }
                }
            }
            writes.extend(counters.writes(now));
            chain.sort_unstable();
            chain.dedup();
            for (ino, p) in chain {
                let key = crate::inode::inode_key(ino);
                if written.contains(&key) {
                    continue;
                }
                writes.push(Write::Check {
                    table: Table::Meta,
                    key,
                    cond: Cond::eq(attr::PARENT, Value::N(p as i64)),
                });
            }
            if writes.len() > MAX_TRANSACTION_ITEMS {
                // Deeper than one transaction can guard. EXDEV makes mv(1)
                // fall back to copy and delete, which stays correct.
                tracing::debug!(
                    depth = writes.len(),
                    "directory rename too deep for one transaction"
                );
                return Err(posix(
                    Errno::EXDEV,
                    "directory move deeper than one transaction can check",
                ));
            }
            match self.commit(&writes).await? {
                Outcome::Done => {
                    self.cache.forget_entry(parent, name);
                    self.cache.forget_entry(new_parent, new_name);
                    self.cache.forget_node(src.inode.ino);
                    for ((dir, shard), (e, sd)) in &counters.0 {
                        self.dir_changed(*dir, *shard, *e, *sd, now);
                    }
                    if let Some(d) = &dst {
                        self.cache.forget_node(d.inode.ino);
                        if let Some(s) = &slot {
                            self.trashed(s, now);
                        } else if !flags.exchange && d.is_dir() {
                            self.collect_dir_later(d.inode.ino);
                        } else if !flags.exchange && d.inode.nlink <= 1 {
                            self.orphaned(d.inode.ino);
                        }
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
}
