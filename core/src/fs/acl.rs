//! POSIX ACLs as the two `system.posix_acl_*` attributes: read from the
//! inode (no request when it is cached), set and removed with one
//! UpdateItem that also carries the mode the access ACL implies and the
//! ctime, conditioned on the ctime the change was planned from.

use crate::acl::{self, Acl};
use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::{FileType, Inode, S_IFMT};
use crate::perm::{self, S_ISGID};
use crate::schema::attr;
use crate::store::{Change, Cond, StoreError, Table, Value, Write};
use crate::superblock::now_ns;

use super::txn::Attempts;
use super::Fs;

/// Whether `name` is one of the two ACL attributes.
pub(super) fn is_acl(name: &[u8]) -> bool {
    name == acl::ACCESS || name == acl::DEFAULT
}

/// The ACL attribute names the inode has, for listxattr.
pub(super) fn names(i: &Inode) -> impl Iterator<Item = Vec<u8>> + '_ {
    [(acl::ACCESS, &i.acl), (acl::DEFAULT, &i.default_acl)]
        .into_iter()
        .filter(|(_, a)| a.is_some())
        .map(|(n, _)| n.to_vec())
}

/// The stored value of ACL attribute `name`.
pub(super) fn get(i: &Inode, name: &[u8]) -> FsResult<Vec<u8>> {
    let a = if name == acl::ACCESS {
        &i.acl
    } else {
        &i.default_acl
    };
    a.as_ref()
        .map(Acl::encode)
        .ok_or_else(|| posix(Errno::ENODATA, "no such ACL"))
}

/// A new inode's mode bits and ACLs, from what the create asked and its
/// directory's default ACL; without one, the umask applies (never to a
/// symbolic link, which has neither).
pub(super) fn inherit(parent: &Inode, kind: FileType, mode: u32, umask: u32, new: &mut Inode) {
    let mut bits = mode & 0o7777;
    match (&parent.default_acl, kind) {
        (_, FileType::Symlink) => {}
        (Some(d), k) => {
            new.acl = d.inherit(&mut bits);
            if k == FileType::Directory {
                new.default_acl = Some(d.clone());
            }
        }
        (None, _) => bits &= !umask,
    }
    new.mode = (new.mode & S_IFMT) | bits;
}

impl Fs {
    /// Set (`value` non-empty) or remove an ACL attribute.
    pub(super) async fn set_acl(
        &self,
        caller: &Caller,
        ino: u64,
        name: &[u8],
        value: Option<&[u8]>,
    ) -> FsResult<()> {
        let acl = match value {
            Some(v) => Acl::decode(v).map_err(|e| posix(Errno::EINVAL, e.to_string()))?,
            None => None,
        };
        let access = name == acl::ACCESS;
        // A chmod waiting for the close of a file this client created
        // would land after this change and undo the mode it sets.
        if let Some(file) = self.open_file_of(ino) {
            let mut f = file.lock().await;
            if f.pending.is_some() {
                self.flush_locked(&mut f).await?;
            }
        }
        let mut tries = Attempts::new();
        // The ctime of the last attempt: its condition failing may hide
        // that it landed (a lost response), which is then the answer.
        let mut wrote: Option<i64> = None;
        loop {
            let node = self.node(ino, tries.fresh()).await?;
            let i = &node.inode;
            if wrote == Some(i.ctime) {
                return Ok(());
            }
            match i.kind() {
                Some(FileType::Symlink) => {
                    return Err(posix(Errno::EOPNOTSUPP, "symbolic links have no ACL"))
                }
                Some(FileType::Directory) => {}
                _ if !access && acl.is_some() => {
                    return Err(posix(Errno::EACCES, "only directories have a default ACL"))
                }
                _ => {}
            }
            if self.opts.check_permissions {
                perm::check_owner(caller, i, "set an ACL (owner or root)")?;
            }
            super::flags::refuse_change(i, "change an ACL")?;
            let mut new = i.clone();
            if access {
                if value.is_none() && i.acl.is_none() {
                    return Err(posix(Errno::ENODATA, "no access ACL"));
                }
                if let Some(a) = &acl {
                    let (bits, equiv) = a.mode_bits();
                    new.mode = (i.mode & !0o777) | bits;
                    // As chmod: a non-member's ACL change drops setgid.
                    if !caller.is_root() && !caller.in_group(i.gid) {
                        new.mode &= !S_ISGID;
                    }
                    new.acl = (!equiv).then(|| a.clone());
                } else {
                    new.acl = None;
                }
            } else {
                if value.is_none() && i.default_acl.is_none() {
                    return Err(posix(Errno::ENODATA, "no default ACL"));
                }
                new.default_acl = acl.clone();
            }
            new.ctime = now_ns().max(i.ctime + 1);
            let (key, stored) = if access {
                (attr::ACL, &new.acl)
            } else {
                (attr::DEFAULT_ACL, &new.default_acl)
            };
            let mut changes = vec![
                match stored {
                    Some(a) => Change::set(key, Value::B(a.encode())),
                    None => Change::remove(key),
                },
                Change::set(attr::CTIME, Value::N(new.ctime)),
            ];
            if new.mode != i.mode {
                changes.push(Change::set(attr::MODE, Value::N(i64::from(new.mode))));
            }
            let w = Write::Update {
                table: Table::Meta,
                key: i.key(),
                changes,
                cond: Some(Cond::eq(attr::CTIME, Value::N(i.ctime))),
            };
            match self.store.write(&w).await {
                Ok(()) => {
                    let mut n = node.clone();
                    n.inode = new;
                    self.cache.put_node(&n);
                    return Ok(());
                }
                Err(StoreError::ConditionFailed { .. }) => {
                    wrote = Some(new.ctime);
                    tries.again().await?
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
