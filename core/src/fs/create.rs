//! Creating names: mknod, mkdir, create, symlink, link. Each is one
//! transaction: the new entry (must not exist), the new inode (its random
//! number must be unused) and the parent directory's counter for that name
//! (must exist: the parent is not being removed), which also carries the
//! parent's new mtime.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::{FileType, Inode};
use crate::mkfs::new_dir_counters;
use crate::names::{self, PATH_MAX};
use crate::perm::{self, S_ISGID};
use crate::schema::{counter, counter_key};
use crate::store::{Change, CmpOp, Cond, Table, Value, Write};
use crate::superblock::now_ns;

use super::attr::Attr;
use super::entry::{self, shard_of, Entry};
use super::node::Node;
use super::txn::{Attempts, Outcome};
use super::Fs;

/// A new inode number: random, 63 bits, never 0 or the root. Collisions are
/// caught by the not-exists condition on the inode item; no counter item is
/// shared by all clients.
fn new_ino() -> u64 {
    loop {
        let n = rand::random::<u64>() >> 1;
        if n > 1 {
            return n;
        }
    }
}

/// Update of a directory counter: entries and subdirectories change by the
/// deltas, the change time is now. The counter must exist.
pub fn counter_change(dir: u64, shard: u8, entries: i64, subdirs: i64, now: i64) -> Write {
    let mut changes = vec![Change::set(counter::CHANGED, Value::N(now))];
    if entries != 0 {
        changes.push(Change::add(counter::ENTRIES, entries));
    }
    if subdirs != 0 {
        changes.push(Change::add(counter::SUBDIRS, subdirs));
    }
    Write::Update {
        table: Table::Meta,
        key: counter_key(dir, shard),
        changes,
        cond: Some(Cond::Exists),
    }
}

struct Spec<'a> {
    mode: u32,
    rdev: u32,
    target: Option<&'a [u8]>,
}

impl Spec<'_> {
    /// A node with no device number and no link target.
    fn plain(mode: u32) -> Spec<'static> {
        Spec {
            mode,
            rdev: 0,
            target: None,
        }
    }
}

impl Fs {
    async fn make(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
        spec: Spec<'_>,
    ) -> FsResult<Node> {
        self.writable()?;
        names::check_new(name)?;
        let kind = FileType::from_mode(spec.mode).ok_or_else(|| {
            posix(
                Errno::EINVAL,
                format!("mode {:o} has no file type", spec.mode),
            )
        })?;
        let mut tries = Attempts::new();
        loop {
            let d = self.dir(caller, parent, perm::W, tries.fresh()).await?;
            if d.removed() {
                return Err(posix(Errno::ENOENT, "directory was removed"));
            }
            let now = now_ns();
            let ino = new_ino();
            let mut inode = Inode::new(ino, kind.bits(), caller.uid, 0, now);
            // Symlinks are always 0777; the umask does not apply to them.
            let mode = match kind {
                FileType::Symlink => 0o777,
                _ => spec.mode,
            };
            super::acl::inherit(&d.inode, kind, mode, caller.umask, &mut inode);
            let mut bits = inode.mode & 0o7777;
            let gid = if d.inode.mode & S_ISGID != 0 {
                // setgid directory: new entries take its group, and new
                // directories inherit the bit.
                if kind == FileType::Directory {
                    bits |= S_ISGID;
                }
                d.inode.gid
            } else {
                caller.gid
            };
            if kind != FileType::Directory
                && bits & S_ISGID != 0
                && self.opts.check_permissions
                && !caller.is_root()
                && !caller.in_group(gid)
            {
                bits &= !S_ISGID;
            }
            inode.mode = kind.bits() | bits;
            inode.gid = gid;
            inode.rdev = spec.rdev;
            inode.target = spec.target.map(<[u8]>::to_vec);
            let dir = kind == FileType::Directory;
            if dir {
                inode.nlink = 2;
                inode.parent = parent;
            }
            let mut writes = vec![
                entry::create(parent, name, Entry { ino, kind }),
                Write::Put {
                    table: Table::Meta,
                    key: inode.key(),
                    attrs: inode.to_attrs(),
                    cond: Some(Cond::NotExists),
                },
                counter_change(parent, shard_of(name), 1, dir as i64, now),
            ];
            if dir {
                writes.extend(new_dir_counters(ino, now));
            }
            match self.commit(&writes).await? {
                Outcome::Done => {
                    let node = Node {
                        counters: if dir {
                            vec![
                                super::node::Counter {
                                    present: true,
                                    entries: 0,
                                    subdirs: 0,
                                    changed: now,
                                };
                                crate::schema::DIR_SHARDS as usize
                            ]
                        } else {
                            Vec::new()
                        },
                        inode,
                    };
                    self.cache.put_node(&node);
                    self.cache
                        .put_entry(parent, name, Some(Entry { ino, kind }));
                    self.dir_changed(parent, shard_of(name), 1, dir as i64, now);
                    self.remember(ino);
                    return Ok(node);
                }
                Outcome::Failed(0) => {
                    return Err(posix(
                        Errno::EEXIST,
                        format!("{} exists", String::from_utf8_lossy(name)),
                    ))
                }
                // An inode number collision or a parent being removed:
                // plan again from fresh reads.
                Outcome::Failed(_) => tries.again().await?,
            }
        }
    }

    /// Create a special or regular file (mknod(2)).
    pub async fn mknod(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
        mode: u32,
        rdev: u32,
    ) -> FsResult<Attr> {
        match FileType::from_mode(mode) {
            Some(FileType::Directory) | Some(FileType::Symlink) => {
                return Err(posix(Errno::EPERM, "mknod of a directory or symlink"))
            }
            Some(FileType::CharDevice) | Some(FileType::BlockDevice)
                if self.opts.check_permissions && !caller.is_root() =>
            {
                return Err(posix(Errno::EPERM, "only root may create devices"))
            }
            None => return Err(posix(Errno::EINVAL, "mknod: no file type")),
            _ => {}
        }
        let n = self
            .make(
                caller,
                parent,
                name,
                Spec {
                    mode,
                    rdev,
                    target: None,
                },
            )
            .await?;
        Ok(n.attr(self.sb.block_size))
    }

    pub async fn mkdir(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
        mode: u32,
    ) -> FsResult<Attr> {
        let mode = FileType::Directory.bits() | (mode & 0o7777);
        let n = self.make(caller, parent, name, Spec::plain(mode)).await?;
        Ok(n.attr(self.sb.block_size))
    }

    /// Create a regular file; with `exclusive` (O_EXCL) an existing name is
    /// EEXIST, otherwise the existing file is returned (`false`: not new).
    pub async fn create(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
        mode: u32,
        exclusive: bool,
    ) -> FsResult<(Attr, bool)> {
        let mode = FileType::Regular.bits() | (mode & 0o7777);
        match self.make(caller, parent, name, Spec::plain(mode)).await {
            Ok(n) => Ok((n.attr(self.sb.block_size), true)),
            Err(e) if e.errno() == Errno::EEXIST && !exclusive => {
                let (_, n) = self.resolve(caller, parent, name, true).await?;
                self.remember(n.inode.ino);
                if n.is_dir() {
                    return Err(posix(Errno::EISDIR, "create over a directory"));
                }
                Ok((self.attr_of(&n).await, false))
            }
            Err(e) => Err(e),
        }
    }

    pub async fn symlink(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
        target: &[u8],
    ) -> FsResult<Attr> {
        if target.is_empty() {
            return Err(posix(Errno::ENOENT, "empty symlink target"));
        }
        if target.len() > PATH_MAX {
            return Err(posix(Errno::ENAMETOOLONG, "symlink target too long"));
        }
        let mode = FileType::Symlink.bits() | 0o777;
        let n = self
            .make(
                caller,
                parent,
                name,
                Spec {
                    mode,
                    rdev: 0,
                    target: Some(target),
                },
            )
            .await?;
        Ok(n.attr(self.sb.block_size))
    }

    /// A new name for an existing non-directory.
    pub async fn link(
        &self,
        caller: &Caller,
        ino: u64,
        parent: u64,
        name: &[u8],
    ) -> FsResult<Attr> {
        self.writable()?;
        names::check_new(name)?;
        let mut tries = Attempts::new();
        loop {
            let fresh = tries.fresh();
            let n = self.node(ino, fresh).await?;
            if n.is_dir() {
                return Err(posix(Errno::EPERM, "hard link to a directory"));
            }
            if n.inode.nlink == 0 {
                return Err(posix(Errno::ENOENT, "link to a removed file"));
            }
            super::flags::refuse_change(&n.inode, "link")?;
            self.changed_dir(caller, parent, fresh).await?;
            let now = now_ns();
            let nlink = n.inode.nlink;
            let writes = vec![
                entry::create(
                    parent,
                    name,
                    Entry {
                        ino,
                        kind: n.kind(),
                    },
                ),
                Write::Update {
                    table: Table::Meta,
                    key: n.inode.key(),
                    changes: {
                        let mut c = vec![
                            Change::set(crate::schema::attr::NLINK, Value::N(nlink as i64 + 1)),
                            Change::set(
                                crate::schema::attr::CTIME,
                                Value::N(super::remove::later(now, &n.inode)),
                            ),
                        ];
                        super::trash::untrash(&n, &mut c);
                        c
                    },
                    cond: Some(Cond::cmp(
                        crate::schema::attr::NLINK,
                        CmpOp::Eq,
                        Value::N(nlink as i64),
                    )),
                },
                counter_change(parent, shard_of(name), 1, 0, now),
            ];
            match self.commit(&writes).await? {
                Outcome::Done => {
                    let mut node = n;
                    node.inode.nlink = nlink + 1;
                    node.inode.ctime = super::remove::later(now, &node.inode);
                    let (nl, ct) = (node.inode.nlink, node.inode.ctime);
                    self.cache.update_node(ino, |c| {
                        c.inode.nlink = nl;
                        c.inode.trashed_from = None;
                        c.inode.ctime = ct;
                    });
                    self.dir_changed(parent, shard_of(name), 1, 0, now);
                    self.cache.put_entry(
                        parent,
                        name,
                        Some(Entry {
                            ino,
                            kind: node.kind(),
                        }),
                    );
                    self.remember(ino);
                    return Ok(self.attr_of(&node).await);
                }
                Outcome::Failed(0) => return Err(posix(Errno::EEXIST, "link target exists")),
                Outcome::Failed(_) => tries.again().await?,
            }
        }
    }
}
