//! Listing directories: one Query of the directory's entry partition per
//! page, and with attributes one batch read per 100 items, not one request
//! per entry.
//!
//! A handle buffers what it has listed; an offset is a position in that
//! buffer, which only grows, so offsets stay valid while other clients add
//! and remove entries (those after the cursor show up; removed ones already
//! listed stay listed, as POSIX allows).

use std::collections::HashMap;
use std::time::Duration;

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::dir_p;
use crate::store::{Query, Range, Table};

use super::attr::Attr;
use super::entry::Entry;
use super::node::Node;
use super::Fs;

/// Entries fetched per Query.
pub const PAGE: usize = 1000;

/// Entries whose attributes one batch read fetches ahead of the kernel.
const AHEAD: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    pub kind: FileType,
}

/// An open directory.
#[derive(Debug)]
pub struct DirHandle {
    pub ino: u64,
    buffer: Vec<DirEntry>,
    /// Sort key to continue after; `None` before the first page.
    cursor: Option<Vec<u8>>,
    done: bool,
}

impl Fs {
    pub async fn opendir(&self, caller: &Caller, ino: u64) -> FsResult<DirHandle> {
        let d = self.node(ino, false).await?;
        if !d.is_dir() {
            return Err(posix(Errno::ENOTDIR, "opendir of a non-directory"));
        }
        self.check(caller, &d, perm::R, "opendir")?;
        let parent = if d.inode.parent == 0 {
            ino
        } else {
            d.inode.parent
        };
        Ok(DirHandle {
            ino,
            buffer: vec![
                DirEntry {
                    name: b".".to_vec(),
                    ino,
                    kind: FileType::Directory,
                },
                DirEntry {
                    name: b"..".to_vec(),
                    ino: parent,
                    kind: FileType::Directory,
                },
            ],
            cursor: None,
            done: false,
        })
    }

    /// Entries from `offset` on, at most `max` of them (fewer at the end).
    /// Each comes with the offset of the entry after it.
    pub async fn readdir(
        &self,
        h: &mut DirHandle,
        offset: u64,
        max: usize,
    ) -> FsResult<Vec<(u64, DirEntry)>> {
        let start = offset as usize;
        while h.buffer.len() < start + max && !h.done {
            self.fetch_page(h).await?;
        }
        Ok(h.buffer
            .iter()
            .enumerate()
            .skip(start)
            .take(max)
            .map(|(i, e)| (i as u64 + 1, e.clone()))
            .collect())
    }

    /// As readdir, with each entry's attributes (readdirplus) and how much
    /// longer they may be trusted. Entries whose inode vanished meanwhile
    /// are left out.
    ///
    /// The kernel asks for a few dozen entries at a time; attributes are
    /// read for the next `AHEAD` entries whenever one is missing from the
    /// cache, so a listing costs one batch read per `AHEAD` entries, not
    /// one per kernel call, also when it outlasts the cache's time to live.
    pub async fn readdirplus(
        &self,
        h: &mut DirHandle,
        offset: u64,
        max: usize,
    ) -> FsResult<Vec<(u64, DirEntry, Attr, Duration)>> {
        let ahead = self.readdir(h, offset, max.max(AHEAD)).await?;
        let mut known: HashMap<u64, (Node, Duration)> = HashMap::new();
        for (_, e) in ahead.iter().take(max) {
            if let Some(n) = self.cache.node_for(e.ino) {
                known.insert(e.ino, n);
            }
        }
        if ahead
            .iter()
            .take(max)
            .any(|(_, e)| !known.contains_key(&e.ino))
        {
            let mut wanted: Vec<(u64, bool)> = Vec::new();
            for (_, e) in &ahead {
                if wanted.len() == AHEAD {
                    break;
                }
                let dir = e.kind == FileType::Directory;
                if !known.contains_key(&e.ino) && !wanted.contains(&(e.ino, dir)) {
                    wanted.push((e.ino, dir));
                }
            }
            for n in self.nodes(&wanted).await? {
                known.insert(n.inode.ino, (n, self.opts.attr_ttl));
            }
        }
        let mut out = Vec::with_capacity(max);
        for (off, e) in ahead.into_iter().take(max) {
            if let Some((n, left)) = known.get(&e.ino) {
                out.push((off, e, self.attr_of(n).await, *left));
            }
        }
        // The kernel takes a reference to every entry readdirplus returns
        // except . and .., as it does for lookup.
        for (_, e, _, _) in &out {
            if e.name != b"." && e.name != b".." {
                self.remember(e.ino);
            }
        }
        Ok(out)
    }

    async fn fetch_page(&self, h: &mut DirHandle) -> FsResult<()> {
        let mut q = Query::new(Table::Meta, dir_p(h.ino), Range::All);
        q.limit = Some(PAGE);
        q.start_after = h.cursor.clone();
        let page = self.store.query(&q).await?;
        for it in &page.items {
            let e = Entry::decode(&it.key, &it.attrs)?;
            // A lookup of a listed name (ls -l, a shell's glob) needs no
            // request while this is fresh.
            self.cache.put_entry(h.ino, &it.key.s, Some(e));
            h.buffer.push(DirEntry {
                name: it.key.s.clone(),
                ino: e.ino,
                kind: e.kind,
            });
        }
        if let Some(last) = page.items.last() {
            h.cursor = Some(last.key.s.clone());
        }
        h.done = page.next.is_none();
        Ok(())
    }
}
