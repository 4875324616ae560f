//! Extended attributes, kept in the inode item so that `ls -l`'s ACL
//! queries are answered from attributes already fetched.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::attr;
use crate::store::{Change, Cond, Table, Value, Write};
use crate::superblock::now_ns;

use super::txn::Attempts;
use super::Fs;

/// Longest attribute name and value, as Linux.
pub const XATTR_NAME_MAX: usize = 255;
pub const XATTR_SIZE_MAX: usize = 64 * 1024;
/// All of one inode's attributes together (they share its 400 KB item).
pub const XATTR_TOTAL_MAX: usize = 256 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XattrFlags {
    /// XATTR_CREATE: fail if it exists.
    pub create: bool,
    /// XATTR_REPLACE: fail if it does not.
    pub replace: bool,
}

fn check_name(name: &[u8]) -> FsResult<()> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(posix(Errno::ERANGE, "extended attribute name length"));
    }
    // POSIX ACLs are not supported: refusing them makes tools such as
    // `cp -a` fall back to chmod, instead of storing an ACL that the
    // permission bits would not reflect.
    if name.starts_with(b"system.posix_acl_") {
        return Err(posix(Errno::EOPNOTSUPP, "POSIX ACLs are not supported"));
    }
    let known = [&b"user."[..], b"trusted.", b"security.", b"system."];
    if !known
        .iter()
        .any(|p| name.starts_with(p) && name.len() > p.len())
    {
        return Err(posix(
            Errno::EOPNOTSUPP,
            "unknown extended attribute namespace",
        ));
    }
    Ok(())
}

impl Fs {
    fn xattr_access(
        &self,
        caller: &Caller,
        node: &super::node::Node,
        name: &[u8],
        mask: u32,
    ) -> FsResult<()> {
        if !self.opts.check_permissions {
            return Ok(());
        }
        if name.starts_with(b"trusted.") && !caller.is_root() {
            return Err(posix(Errno::EPERM, "trusted.* needs root"));
        }
        if name.starts_with(b"user.") {
            // user.* only on regular files and directories.
            if !matches!(node.kind(), FileType::Regular | FileType::Directory) {
                return Err(posix(Errno::EPERM, "user.* on a special file"));
            }
            perm::check(caller, &node.inode, mask, "xattr")?;
        }
        Ok(())
    }

    pub async fn getxattr(&self, caller: &Caller, ino: u64, name: &[u8]) -> FsResult<Vec<u8>> {
        check_name(name)?;
        let n = self.node(ino, false).await?;
        self.xattr_access(caller, &n, name, perm::R)?;
        n.inode
            .xattrs
            .get(name)
            .cloned()
            .ok_or_else(|| posix(Errno::ENODATA, "no such extended attribute"))
    }

    pub async fn listxattr(&self, ino: u64) -> FsResult<Vec<Vec<u8>>> {
        let n = self.node(ino, false).await?;
        Ok(n.inode.xattrs.keys().cloned().collect())
    }

    pub async fn setxattr(
        &self,
        caller: &Caller,
        ino: u64,
        name: &[u8],
        value: &[u8],
        flags: XattrFlags,
    ) -> FsResult<()> {
        self.writable()?;
        check_name(name)?;
        if value.len() > XATTR_SIZE_MAX {
            return Err(posix(Errno::E2BIG, "extended attribute value too large"));
        }
        self.change_xattrs(caller, ino, name, |x| {
            let exists = x.contains_key(name);
            if flags.create && exists {
                return Err(posix(Errno::EEXIST, "extended attribute exists"));
            }
            if flags.replace && !exists {
                return Err(posix(Errno::ENODATA, "no such extended attribute"));
            }
            x.insert(name.to_vec(), value.to_vec());
            let total: usize = x.iter().map(|(k, v)| k.len() + v.len()).sum();
            if total > XATTR_TOTAL_MAX {
                return Err(posix(
                    Errno::ENOSPC,
                    "extended attributes of this file too large",
                ));
            }
            Ok(())
        })
        .await
    }

    pub async fn removexattr(&self, caller: &Caller, ino: u64, name: &[u8]) -> FsResult<()> {
        self.writable()?;
        check_name(name)?;
        self.change_xattrs(caller, ino, name, |x| {
            x.remove(name)
                .map(|_| ())
                .ok_or_else(|| posix(Errno::ENODATA, "no such extended attribute"))
        })
        .await
    }

    /// Read-modify-write of the attribute map, conditioned on the ctime it
    /// was read at, as setattr.
    async fn change_xattrs<F>(
        &self,
        caller: &Caller,
        ino: u64,
        name: &[u8],
        mut f: F,
    ) -> FsResult<()>
    where
        F: FnMut(&mut std::collections::BTreeMap<Vec<u8>, Vec<u8>>) -> FsResult<()>,
    {
        let mut tries = Attempts::new();
        // The ctime the last attempt wrote: a failed condition may hide a
        // write that landed (its response lost, the retry refused), and a
        // change with XATTR_CREATE or a removal must not then answer
        // EEXIST or ENODATA for what it did itself.
        let mut wrote: Option<i64> = None;
        loop {
            let node = self.node(ino, tries.fresh()).await?;
            if wrote == Some(node.inode.ctime) {
                return Ok(());
            }
            self.xattr_access(caller, &node, name, perm::W)?;
            let mut new = node.clone();
            f(&mut new.inode.xattrs)?;
            let now = now_ns().max(node.inode.ctime + 1);
            new.inode.ctime = now;
            let mut changes = vec![Change::set(attr::CTIME, Value::N(now))];
            if new.inode.xattrs.is_empty() {
                changes.push(Change::remove(attr::XATTRS));
            } else {
                let blob = postcard::to_allocvec(&new.inode.xattrs)
                    .map_err(|e| posix(Errno::EIO, format!("encode xattrs: {e}")))?;
                changes.push(Change::set(attr::XATTRS, Value::B(blob)));
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
                    return Ok(());
                }
                Err(crate::store::StoreError::ConditionFailed { .. }) => {
                    wrote = Some(now);
                    tries.again().await?
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
