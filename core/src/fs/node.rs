//! A node: an inode with, for a directory, its counters. Loading one is a
//! single Query of the inode's partition (attributes and counters sort
//! together), whatever its type.

use crate::error::{posix, Errno, FsError, FsResult};
use crate::inode::{FileType, Inode};
use crate::schema::{counter, inode_p, COUNTER_TAG, DIR_SHARDS, INODE_ATTRS_S};
use crate::store::{Item, Key, Query, Range, Table, Value};

use super::attr::Attr;
use super::Fs;

/// One directory counter (see docs/SCHEMA.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub present: bool,
    pub entries: i64,
    pub subdirs: i64,
    pub changed: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub inode: Inode,
    /// Directories only.
    pub counters: Vec<Counter>,
}

impl Node {
    pub fn is_dir(&self) -> bool {
        self.inode.is_dir()
    }

    pub fn kind(&self) -> FileType {
        self.inode.kind().unwrap_or(FileType::Regular)
    }

    pub fn entries(&self) -> i64 {
        self.counters.iter().map(|c| c.entries).sum()
    }

    pub fn subdirs(&self) -> i64 {
        self.counters.iter().map(|c| c.subdirs).sum()
    }

    fn changed(&self) -> i64 {
        self.counters.iter().map(|c| c.changed).max().unwrap_or(0)
    }

    /// The directory is being or has been removed (its counters are gone).
    pub fn removed(&self) -> bool {
        self.inode.nlink == 0 || (self.is_dir() && self.counters.iter().any(|c| !c.present))
    }

    pub fn attr(&self, block_size: u32) -> Attr {
        let i = &self.inode;
        let (nlink, size, mtime, ctime) = if self.is_dir() {
            let changed = self.changed();
            (
                if i.nlink == 0 {
                    0
                } else {
                    2 + self.subdirs().max(0) as u64
                },
                self.entries().max(0) as u64,
                // An entry changed since the inode last did (creation or an
                // explicit utimens, which moves ctime): that is the latest
                // modification. Otherwise the inode's mtime stands, even if
                // utimens set it to the past (cp -p, tar).
                if changed > i.ctime { changed } else { i.mtime },
                i.ctime.max(changed),
            )
        } else {
            (i.nlink, i.size, i.mtime, i.ctime)
        };
        let blocks = match self.kind() {
            // Holes are not blocks: du and sparse-aware copies see them.
            FileType::Regular => i
                .holes
                .stored_bytes(size, u64::from(block_size))
                .div_ceil(512),
            FileType::Symlink => 0,
            _ => 0,
        };
        Attr {
            ino: i.ino,
            kind: self.kind(),
            perm: i.mode & 0o7777,
            nlink,
            uid: i.uid,
            gid: i.gid,
            size: if self.kind() == FileType::Symlink {
                i.target.as_ref().map(|t| t.len() as u64).unwrap_or(0)
            } else {
                size
            },
            blocks,
            atime: i.atime,
            mtime,
            ctime,
            btime: i.btime,
            rdev: i.rdev,
            blksize: block_size,
            flags: i.flags,
        }
    }

    /// Build from the items of an inode partition (attributes first).
    pub fn from_items(ino: u64, items: &[Item]) -> FsResult<Option<Node>> {
        let Some(first) = items.iter().find(|i| i.key.s == INODE_ATTRS_S) else {
            return Ok(None);
        };
        let inode = Inode::from_attrs(ino, &first.attrs).map_err(|e| {
            tracing::error!("damaged inode item: {e}");
            FsError::Corrupt(e.to_string())
        })?;
        let mut counters = Vec::new();
        if inode.is_dir() {
            counters = vec![Counter::default(); DIR_SHARDS as usize];
            for it in items {
                if it.key.s.len() == 2 && it.key.s[0] == COUNTER_TAG {
                    let k = it.key.s[1] as usize;
                    if k < counters.len() {
                        counters[k] = decode_counter(&it.key, &it.attrs)?;
                    }
                }
            }
        }
        Ok(Some(Node { inode, counters }))
    }
}

fn decode_counter(key: &Key, a: &crate::store::Attrs) -> FsResult<Counter> {
    let num = |n: &str| match a.get(n) {
        Some(Value::N(v)) => Ok(*v),
        None => Ok(0),
        Some(_) => {
            let msg = format!("directory counter {key}: attribute `{n}` is not a number");
            tracing::error!("{msg}");
            Err(FsError::Corrupt(msg))
        }
    };
    Ok(Counter {
        present: true,
        entries: num(counter::ENTRIES)?,
        subdirs: num(counter::SUBDIRS)?,
        changed: num(counter::CHANGED)?,
    })
}

/// The sort-key range holding an inode's attributes and counters.
pub fn node_range() -> Range {
    Range::Between(INODE_ATTRS_S.to_vec(), vec![COUNTER_TAG, 0xff])
}

/// Keys to batch-read a node: its attributes, and counters for directories.
pub fn node_keys(ino: u64, dir: bool) -> Vec<Key> {
    let mut keys = vec![Key::new(inode_p(ino), INODE_ATTRS_S)];
    if dir {
        keys.extend((0..DIR_SHARDS).map(|k| crate::schema::counter_key(ino, k)));
    }
    keys
}

impl Fs {
    /// A directory's counter changed by this client's own commit: keep the
    /// cached directory (if any) as the store now has it, so its attributes
    /// can be answered from the cache (a create's parent is asked for them
    /// by the kernel right after).
    pub(super) fn dir_changed(&self, dir: u64, shard: u8, entries: i64, subdirs: i64, now: i64) {
        self.cache.update_node(dir, |n| {
            if let Some(c) = n.counters.get_mut(shard as usize) {
                c.entries += entries;
                c.subdirs += subdirs;
                c.changed = c.changed.max(now);
            }
        });
    }

    /// A node, from the cache unless `fresh` (or not cached): one Query.
    /// ESTALE when the inode no longer exists.
    pub(super) async fn node(&self, ino: u64, fresh: bool) -> FsResult<Node> {
        if !fresh {
            if let Some(n) = self.cache.node(ino) {
                return Ok(n);
            }
        }
        let q = Query::new(Table::Meta, inode_p(ino), node_range());
        let page = self.store.query(&q).await?;
        match Node::from_items(ino, &page.items)? {
            Some(n) => {
                self.cache.put_node(&n);
                self.refresh_open(&n);
                Ok(n)
            }
            None => {
                self.cache.forget_node(ino);
                // Whoever named this inode holds a stale reference (the
                // kernel answers ESTALE by looking the name up again).
                Err(posix(
                    Errno::ESTALE,
                    format!("inode {ino} no longer exists"),
                ))
            }
        }
    }

    /// Several nodes at once, with one batch read per 100 items; missing
    /// nodes are left out.
    pub(super) async fn nodes(&self, wanted: &[(u64, bool)]) -> FsResult<Vec<Node>> {
        let mut keys = Vec::new();
        for (ino, dir) in wanted {
            keys.extend(node_keys(*ino, *dir));
        }
        let items = self.store.batch_get(Table::Meta, &keys, true).await?;
        let mut by_ino: std::collections::HashMap<u64, Vec<Item>> = Default::default();
        for it in items.into_iter().flatten() {
            let ino = ino_of_partition(&it.key.p);
            by_ino.entry(ino).or_default().push(it);
        }
        let mut out = Vec::with_capacity(wanted.len());
        for (ino, _) in wanted {
            if let Some(items) = by_ino.get(ino) {
                if let Some(n) = Node::from_items(*ino, items)? {
                    self.cache.put_node(&n);
                    self.refresh_open(&n);
                    out.push(n);
                }
            }
        }
        Ok(out)
    }
}

fn ino_of_partition(p: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    if p.len() == 9 {
        b.copy_from_slice(&p[1..]);
    }
    u64::from_be_bytes(b)
}
