//! Looking names up.

use std::time::Duration;

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::names;
use crate::perm;
use crate::store::Table;

use super::attr::Attr;
use super::entry::{entry_key, Entry};
use super::node::Node;
use super::Fs;

impl Fs {
    /// The entry `name` in directory `parent`, if any: one GetItem, or the
    /// cache unless `fresh`.
    pub(super) async fn entry(
        &self,
        parent: u64,
        name: &[u8],
        fresh: bool,
    ) -> FsResult<Option<Entry>> {
        if !fresh {
            if let Some(e) = self.cache.entry(parent, name) {
                return Ok(e);
            }
        }
        let key = entry_key(parent, name);
        match self.store.get(Table::Meta, &key, true).await? {
            Some(item) => {
                let e = Entry::decode(&key, &item.attrs)?;
                self.cache.put_entry(parent, name, Some(e));
                Ok(Some(e))
            }
            None => {
                self.cache.put_entry(parent, name, None);
                Ok(None)
            }
        }
    }

    /// A directory node, checked to be one and searchable by the caller.
    pub(super) async fn dir(
        &self,
        caller: &Caller,
        ino: u64,
        mask: u32,
        fresh: bool,
    ) -> FsResult<Node> {
        let d = self.node(ino, fresh).await?;
        if !d.is_dir() {
            return Err(posix(
                Errno::ENOTDIR,
                format!("inode {ino} is not a directory"),
            ));
        }
        self.check(caller, &d, mask | perm::X, "directory")?;
        Ok(d)
    }

    /// The directory a name is removed from or renamed in, when core checks
    /// permissions (write, search, sticky). Under the kernel's checks it is
    /// not needed: the transaction's counter condition already fails if the
    /// directory is being removed.
    pub(super) async fn changed_dir(
        &self,
        caller: &Caller,
        ino: u64,
        fresh: bool,
    ) -> FsResult<Option<Node>> {
        if !self.opts.check_permissions {
            return Ok(None);
        }
        let d = self.dir(caller, ino, perm::W, fresh).await?;
        if d.removed() {
            return Err(posix(Errno::ENOENT, "directory was removed"));
        }
        Ok(Some(d))
    }

    /// Look a name up: the entry (one GetItem) and its node (one Query).
    pub async fn lookup(&self, caller: &Caller, parent: u64, name: &[u8]) -> FsResult<Attr> {
        names::check(name)?;
        // Read fresh: the cache serves planning, but what lookup returns is
        // what the kernel caches and shows.
        let (_, node) = self.resolve(caller, parent, name, true).await?;
        self.reached(parent, &node).await;
        self.remember(node.inode.ino);
        Ok(self.attr_of(&node).await)
    }

    /// A file by its number alone, as the kernel asks for it when it turns
    /// a file handle back into a file (an NFS export of the mount,
    /// open_by_handle_at) and has nothing of it cached: a lookup of "."
    /// in the file itself. ESTALE once the file is gone. The kernel takes
    /// a reference, as from any lookup.
    pub async fn lookup_by_number(&self, ino: u64) -> FsResult<Attr> {
        let a = self.getattr(ino).await?;
        self.remember(ino);
        Ok(a)
    }

    /// Lookup for a cache with a time to live (the kernel's): a file's name
    /// from what this client read of it and its inode (a listing, a lookup,
    /// its own create) while both are younger than `attr_ttl`, with the
    /// time they may still be trusted, so nothing is shown older than
    /// `attr_ttl` in all; otherwise read fresh. Absences are always read
    /// fresh: a name another client just made must not stay hidden.
    pub async fn lookup_cached(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
    ) -> FsResult<(Attr, Duration)> {
        names::check(name)?;
        if self.opts.check_permissions || name == b"." || name == b".." {
            return Ok((self.lookup(caller, parent, name).await?, self.opts.attr_ttl));
        }
        for _ in 0..2 {
            // Directories are always looked up fresh: a path walk that
            // met a directory another client has just moved would see it
            // under two parents (the kernel answers ELOOP).
            let file = |e: &super::entry::Entry| e.kind != crate::inode::FileType::Directory;
            if let Some((Some(e), left)) = self
                .cache
                .entry_for(parent, name)
                .filter(|(e, _)| e.is_some_and(|e| file(&e)))
            {
                if let Some((node, node_left)) = self.cache.node_for(e.ino) {
                    if node.inode.nlink > 0 {
                        self.reached(parent, &node).await;
                        // A file another client moved to the trash, last
                        // seen here by its old name: read the name again.
                        if !self.stale_in_trash(&node) {
                            self.remember(e.ino);
                            return Ok((self.attr_of(&node).await, left.min(node_left)));
                        }
                    }
                }
            }
            if !self.refresh_listed(parent, name).await? {
                break;
            }
        }
        Ok((self.lookup(caller, parent, name).await?, self.opts.attr_ttl))
    }

    /// Resolve a name to its entry and node. `.` and `..` resolve too.
    pub(super) async fn resolve(
        &self,
        caller: &Caller,
        parent: u64,
        name: &[u8],
        fresh: bool,
    ) -> FsResult<(Entry, Node)> {
        let dir = if self.opts.check_permissions {
            Some(self.dir(caller, parent, 0, fresh).await?)
        } else {
            None
        };
        if name == b"." || name == b".." {
            let d = match dir {
                Some(d) => d,
                None => self.node(parent, fresh).await?,
            };
            if !d.is_dir() {
                return Err(posix(Errno::ENOTDIR, "lookup in a non-directory"));
            }
            let ino = if name == b"." {
                parent
            } else {
                d.inode.parent.max(1)
            };
            let n = self.node(ino, fresh).await?;
            return Ok((
                Entry {
                    ino,
                    kind: n.kind(),
                },
                n,
            ));
        }
        let e = match self.entry(parent, name, fresh).await? {
            Some(e) => e,
            // A cached absence is re-checked: lookups must see names other
            // clients created (the kernel caches negative entries itself).
            None if !fresh => return Box::pin(self.resolve(caller, parent, name, true)).await,
            None => {
                return Err(posix(
                    Errno::ENOENT,
                    format!("{} in directory {parent}", String::from_utf8_lossy(name)),
                ))
            }
        };
        match self.node(e.ino, fresh).await {
            Ok(n) => Ok((e, n)),
            // The entry was just removed by another client: re-read once.
            Err(err) if err.errno() == Errno::ESTALE && !fresh => {
                Box::pin(self.resolve(caller, parent, name, true)).await
            }
            // A name that is there now but whose inode is not: the name is
            // what was asked for, and it leads nowhere.
            Err(err) if err.errno() == Errno::ESTALE => Err(posix(
                Errno::ENOENT,
                format!(
                    "{} in directory {parent} names inode {} that does not exist",
                    String::from_utf8_lossy(name),
                    e.ino
                ),
            )),
            Err(err) => Err(err),
        }
    }

    /// Read a symbolic link's target.
    pub async fn readlink(&self, ino: u64) -> FsResult<Vec<u8>> {
        let n = self.node(ino, false).await?;
        match &n.inode.target {
            Some(t) => Ok(t.clone()),
            None => Err(posix(
                Errno::EINVAL,
                format!("inode {ino} is not a symbolic link"),
            )),
        }
    }
}
