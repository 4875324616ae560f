//! setattr: chmod, chown, utimens, and (with the data layer) truncate.
//!
//! One UpdateItem, conditioned on the ctime the plan was made from: every
//! change bumps ctime, so the condition proves nothing changed meanwhile and
//! the new attributes can be computed locally instead of read back.
//!
//! On a file this client created and still holds open (tar, cp -p, an
//! editor's save: create, write, fchmod, fchown, futimens, close), changes
//! that take nothing away from anyone (times, permission bits added, an
//! owner set to what it is) wait and ride with the flush at close: other
//! clients see them with the data, as close-to-open promises. A change
//! that narrows access (a bit removed, a new owner) is written at once,
//! after whatever was waiting.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::perm::{self, S_ISGID, S_ISUID};
use crate::schema::attr;
use crate::store::{Change, Cond, Table, Value, Write};
use crate::superblock::now_ns;

use super::attr::{Attr, SetAttr, TimeSet};
use super::node::Node;
use super::txn::Attempts;
use super::Fs;

impl Fs {
    pub async fn setattr(&self, caller: &Caller, ino: u64, set: &SetAttr) -> FsResult<Attr> {
        self.writable()?;
        if let Some(size) = set.size {
            let after = self.set_size(caller, ino, size).await?;
            let rest = SetAttr {
                size: None,
                ..set.clone()
            };
            if rest.is_empty() {
                return Ok(after);
            }
            return Box::pin(self.setattr(caller, ino, &rest)).await;
        }
        if let Some(a) = self.defer(caller, ino, set).await? {
            return Ok(a);
        }
        let mut tries = Attempts::new();
        loop {
            let node = self.node(ino, tries.fresh()).await?;
            super::flags::refuse_setattr(&node.inode, set)?;
            let (new, changes) = self.plan_setattr(caller, &node, set)?;
            if changes.is_empty() {
                return Ok(self.attr_of(&node).await);
            }
            let w = Write::Update {
                table: Table::Meta,
                key: node.inode.key(),
                changes,
                cond: Some(Cond::eq(attr::CTIME, Value::N(node.inode.ctime))),
            };
            match self.store.write(&w).await {
                Ok(()) => {
                    self.cache.put_node(&new);
                    return Ok(self.attr_of(&new).await);
                }
                Err(crate::store::StoreError::ConditionFailed { .. }) => tries.again().await?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Keep a change to a file this client created and holds open for its
    /// flush, if it narrows nobody's access. `None`: write it now (what was
    /// waiting has been written first, so it cannot land over this one).
    async fn defer(&self, caller: &Caller, ino: u64, set: &SetAttr) -> FsResult<Option<Attr>> {
        let Some(file) = self.open_file_of(ino) else {
            return Ok(None);
        };
        let mut f = file.lock().await;
        if !f.created {
            return Ok(None);
        }
        let mut node = self.node(ino, false).await?;
        let before = f.pending.unwrap_or_default();
        before.apply(&mut node.inode);
        let (new, _) = self.plan_setattr(caller, &node, set)?;
        let (o, n) = (&node.inode, &new.inode);
        // An ACL's entries follow a chmod in the same write.
        let narrows =
            o.uid != n.uid || o.gid != n.gid || (o.mode & !n.mode) & 0o7777 != 0 || o.acl != n.acl;
        if narrows {
            self.flush_locked(&mut f).await?;
            return Ok(None);
        }
        let mut p = before;
        p.mode = (o.mode != n.mode).then_some(n.mode).or(p.mode);
        p.atime = (o.atime != n.atime).then_some(n.atime).or(p.atime);
        p.mtime = (o.mtime != n.mtime).then_some(n.mtime).or(p.mtime);
        f.pending = Some(p);
        let mut a = new.attr(self.sb.block_size);
        super::coherence::overlay(&mut a, &f);
        Ok(Some(a))
    }

    /// The node after the change and the attribute changes to write.
    fn plan_setattr(
        &self,
        caller: &Caller,
        node: &Node,
        set: &SetAttr,
    ) -> FsResult<(Node, Vec<Change>)> {
        let check = self.opts.check_permissions;
        let mut n = node.clone();
        let i = &mut n.inode;
        let now = now_ns();
        let is_dir = i.kind() == Some(FileType::Directory);
        if let Some(mode) = set.mode {
            if check {
                perm::check_owner(caller, node.inode_ref(), "chmod")?;
            }
            let mut bits = mode & 0o7777;
            // A non-member may not set setgid on a file (it is silently dropped).
            if check && !is_dir && !caller.is_root() && !caller.in_group(i.gid) {
                bits &= !S_ISGID;
            }
            i.mode = (i.mode & crate::inode::S_IFMT) | bits;
            if let Some(acl) = &mut i.acl {
                acl.chmod(bits);
            }
        }
        if set.uid.is_some() || set.gid.is_some() {
            let uid = set.uid.unwrap_or(i.uid);
            let gid = set.gid.unwrap_or(i.gid);
            if check && !caller.is_root() {
                if uid != i.uid {
                    return Err(posix(Errno::EPERM, "only root may change a file's owner"));
                }
                if gid != i.gid && (caller.uid != i.uid || !caller.in_group(gid)) {
                    return Err(posix(Errno::EPERM, "chgrp to a group the caller is not in"));
                }
            }
            let changed = uid != i.uid || gid != i.gid;
            i.uid = uid;
            i.gid = gid;
            // chown clears setuid, and setgid when group-executable, on
            // non-directories (as Linux does, even for root).
            if !is_dir && (changed || !caller.is_root()) {
                i.mode &= !S_ISUID;
                if i.mode & 0o010 != 0 {
                    i.mode &= !S_ISGID;
                }
            }
        }
        for (which, t) in [(0, set.atime), (1, set.mtime)] {
            let Some(t) = t else { continue };
            let v = match t {
                TimeSet::Now => {
                    if check && caller.uid != node.inode.uid && !caller.is_root() {
                        perm::check(caller, &node.inode, perm::W, "utimens")?;
                    }
                    now
                }
                TimeSet::At(v) => {
                    if check {
                        perm::check_owner(caller, node.inode_ref(), "utimens")?;
                    }
                    v
                }
            };
            if which == 0 {
                i.atime = v;
            } else {
                i.mtime = v;
            }
        }
        let ctime = set.ctime.unwrap_or(now).max(node.inode.ctime + 1);
        i.ctime = ctime;
        let mut changes = Vec::new();
        let o = &node.inode;
        let mut num = |name: &str, old: i64, new: i64| {
            if old != new {
                changes.push(Change::set(name, Value::N(new)));
            }
        };
        num(attr::MODE, o.mode as i64, i.mode as i64);
        num(attr::UID, o.uid as i64, i.uid as i64);
        num(attr::GID, o.gid as i64, i.gid as i64);
        num(attr::ATIME, o.atime, i.atime);
        num(attr::MTIME, o.mtime, i.mtime);
        if let (Some(new), true) = (&i.acl, o.acl != i.acl) {
            changes.push(Change::set(attr::ACL, Value::B(new.encode())));
        }
        if !changes.is_empty() || set.ctime.is_some() || !set.is_empty() {
            changes.push(Change::set(attr::CTIME, Value::N(ctime)));
        }
        Ok((n, changes))
    }
}

impl Node {
    fn inode_ref(&self) -> &crate::inode::Inode {
        &self.inode
    }
}

/// Attribute changes to a file this client created and holds open, waiting
/// for the flush (see the module's comment).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Pending {
    pub mode: Option<u32>,
    pub atime: Option<i64>,
    pub mtime: Option<i64>,
}

impl Pending {
    /// What the flush writes for them (mtime apart: the flush decides it).
    pub fn changes(&self) -> Vec<Change> {
        let mut out = Vec::new();
        if let Some(m) = self.mode {
            out.push(Change::set(attr::MODE, Value::N(m as i64)));
        }
        if let Some(t) = self.atime {
            out.push(Change::set(attr::ATIME, Value::N(t)));
        }
        out
    }

    pub fn apply(&self, i: &mut crate::inode::Inode) {
        if let Some(m) = self.mode {
            i.mode = m;
        }
        if let Some(t) = self.atime {
            i.atime = t;
        }
        if let Some(t) = self.mtime {
            i.mtime = t;
        }
    }

    pub fn show(&self, a: &mut Attr) {
        if let Some(m) = self.mode {
            a.perm = m & 0o7777;
        }
        if let Some(t) = self.atime {
            a.atime = t;
        }
        if let Some(t) = self.mtime {
            a.mtime = t;
        }
    }
}
