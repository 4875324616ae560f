//! Extended attributes: one item each in the inode partition, so that a
//! change costs one small write whatever else the file carries, and a
//! count in the inode, so that asking a file that has none (as `ls -l`
//! does of every file) costs no request.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::{attr, inode_p, xattr_key, XATTR_TAG, XATTR_VALUE};
use crate::store::{Attrs, Change, Cond, Query, Range, Table, Value, Write};
use crate::superblock::now_ns;

use super::node::Node;
use super::txn::{Attempts, Outcome};
use super::Fs;

/// Longest attribute name and value, as Linux.
pub const XATTR_NAME_MAX: usize = 255;
pub const XATTR_SIZE_MAX: usize = 64 * 1024;
/// Most extended attributes of one file: every name must fit the 64 KiB
/// buffer of one listxattr, at a few bytes each.
pub const XATTR_COUNT_MAX: u64 = 16_384;
/// Inline attributes moved to their own items per transaction (of 100).
const MOVE_PER_TRANSACTION: usize = 90;

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
    if name.starts_with(b"system.posix_acl_") && !super::acl::is_acl(name) {
        return Err(posix(Errno::EOPNOTSUPP, "unknown POSIX ACL attribute"));
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
        if super::acl::is_acl(name) {
            return super::acl::get(&n.inode, name);
        }
        if let Some(v) = n.inode.xattrs.get(name) {
            return Ok(v.clone());
        }
        let none = || posix(Errno::ENODATA, "no such extended attribute");
        if n.inode.xattr_count == 0 {
            return Err(none());
        }
        let it = self
            .store
            .get(Table::Meta, &xattr_key(ino, name), true)
            .await?
            .ok_or_else(none)?;
        match it.attrs.get(XATTR_VALUE) {
            Some(Value::B(v)) => Ok(v.clone()),
            _ => Err(posix(
                Errno::EIO,
                format!("extended attribute item {} is damaged", it.key),
            )),
        }
    }

    pub async fn listxattr(&self, ino: u64) -> FsResult<Vec<Vec<u8>>> {
        let n = self.node(ino, false).await?;
        let mut names: Vec<Vec<u8>> = n.inode.xattrs.keys().cloned().collect();
        names.extend(super::acl::names(&n.inode));
        if n.inode.xattr_count > 0 {
            let mut q = Query::new(Table::Meta, inode_p(ino), Range::Prefix(vec![XATTR_TAG]));
            loop {
                let page = self.store.query(&q).await?;
                names.extend(page.items.iter().map(|it| it.key.s[1..].to_vec()));
                match page.next {
                    Some(next) => q.start_after = Some(next),
                    None => break,
                }
            }
            names.sort();
            names.dedup();
        }
        Ok(names)
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
        if super::acl::is_acl(name) {
            let value = (!value.is_empty()).then_some(value);
            return self.set_acl(caller, ino, name, value).await;
        }
        let mut attrs = Attrs::new();
        attrs.insert(XATTR_VALUE.into(), Value::B(value.to_vec()));
        // Without a flag the name may or may not exist: the plan guesses
        // from the count (none means new) and learns from a failed
        // condition.
        let mut new = !flags.replace;
        self.change_xattr(caller, ino, name, |node, tries| {
            if !flags.replace && !flags.create && tries.fresh() && node.inode.xattr_count > 0 {
                new = !new;
            }
            if new && node.inode.xattr_count >= XATTR_COUNT_MAX {
                return Err(posix(
                    Errno::ENOSPC,
                    "too many extended attributes on this file",
                ));
            }
            let cond = if new { Cond::NotExists } else { Cond::Exists };
            let put = Write::Put {
                table: Table::Meta,
                key: xattr_key(ino, name),
                attrs: attrs.clone(),
                cond: Some(cond),
            };
            let refused = match (new, flags.create || flags.replace) {
                (true, true) => Some(posix(Errno::EEXIST, "extended attribute exists")),
                (false, true) => Some(posix(Errno::ENODATA, "no such extended attribute")),
                (_, false) => None,
            };
            Ok((put, i64::from(new), refused))
        })
        .await
    }

    pub async fn removexattr(&self, caller: &Caller, ino: u64, name: &[u8]) -> FsResult<()> {
        self.writable()?;
        check_name(name)?;
        if super::acl::is_acl(name) {
            return self.set_acl(caller, ino, name, None).await;
        }
        self.change_xattr(caller, ino, name, |_, _| {
            let del = Write::Delete {
                table: Table::Meta,
                key: xattr_key(ino, name),
                cond: Some(Cond::Exists),
            };
            Ok((
                del,
                -1,
                Some(posix(Errno::ENODATA, "no such extended attribute")),
            ))
        })
        .await
    }

    /// One change of one attribute's item, in a transaction with the
    /// inode's ctime and count, conditioned on the ctime it was planned
    /// from. `plan` gives the item's write, what it adds to the count, and
    /// the answer when that write's own condition fails (`None`: plan
    /// again, fresh).
    async fn change_xattr<F>(
        &self,
        caller: &Caller,
        ino: u64,
        name: &[u8],
        mut plan: F,
    ) -> FsResult<()>
    where
        F: FnMut(&Node, &Attempts) -> FsResult<(Write, i64, Option<crate::error::FsError>)>,
    {
        let mut tries = Attempts::new();
        // The ctime the last attempt wrote: a failed condition may hide a
        // commit that landed (its response lost, the retry refused), and a
        // change must not then answer EEXIST or ENODATA for what it did.
        let mut wrote: Option<i64> = None;
        loop {
            let mut node = self.node(ino, tries.fresh()).await?;
            if wrote == Some(node.inode.ctime) {
                return Ok(());
            }
            self.xattr_access(caller, &node, name, perm::W)?;
            super::flags::refuse_change(&node.inode, "change an extended attribute")?;
            if !node.inode.xattrs.is_empty() {
                self.move_inline(&node).await?;
                tries.again().await?;
                continue;
            }
            let (item, delta, refused) = plan(&node, &tries)?;
            let now = now_ns().max(node.inode.ctime + 1);
            let mut changes = vec![Change::set(attr::CTIME, Value::N(now))];
            if delta != 0 {
                changes.push(Change::add(attr::XATTR_COUNT, delta));
            }
            let inode = Write::Update {
                table: Table::Meta,
                key: node.inode.key(),
                changes,
                cond: Some(Cond::eq(attr::CTIME, Value::N(node.inode.ctime))),
            };
            match self.commit(&[item, inode]).await? {
                Outcome::Done => {
                    node.inode.ctime = now;
                    node.inode.xattr_count = node.inode.xattr_count.saturating_add_signed(delta);
                    self.cache.put_node(&node);
                    return Ok(());
                }
                Outcome::Failed(0) => match refused {
                    Some(e) => return Err(e),
                    None => tries.again().await?,
                },
                Outcome::Failed(_) => {
                    wrote = Some(now);
                    tries.again().await?
                }
            }
        }
    }

    /// Move attributes an earlier version kept in the inode item to items
    /// of their own, a transaction at a time; the caller plans again.
    async fn move_inline(&self, node: &Node) -> FsResult<()> {
        let inline = &node.inode.xattrs;
        let moved: Vec<_> = inline.iter().take(MOVE_PER_TRANSACTION).collect();
        let rest: std::collections::BTreeMap<_, _> = inline
            .iter()
            .skip(MOVE_PER_TRANSACTION)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut writes: Vec<Write> = moved
            .iter()
            .map(|(k, v)| {
                let mut a = Attrs::new();
                a.insert(XATTR_VALUE.into(), Value::B(v.to_vec()));
                Write::Put {
                    table: Table::Meta,
                    key: xattr_key(node.inode.ino, k),
                    attrs: a,
                    cond: None,
                }
            })
            .collect();
        let mut changes = vec![Change::add(attr::XATTR_COUNT, moved.len() as i64)];
        if rest.is_empty() {
            changes.push(Change::remove(attr::XATTRS));
        } else {
            let blob = postcard::to_allocvec(&rest)
                .map_err(|e| posix(Errno::EIO, format!("encode xattrs: {e}")))?;
            changes.push(Change::set(attr::XATTRS, Value::B(blob)));
        }
        // Conditioned on the ctime read, so two clients moving at once
        // cannot count an attribute twice.
        let now = now_ns().max(node.inode.ctime + 1);
        changes.push(Change::set(attr::CTIME, Value::N(now)));
        writes.push(Write::Update {
            table: Table::Meta,
            key: node.inode.key(),
            changes,
            cond: Some(Cond::eq(attr::CTIME, Value::N(node.inode.ctime))),
        });
        self.commit(&writes).await?;
        Ok(())
    }
}
