//! Listing directories: one Query of the directory's entry partition per
//! page, and with attributes one batch read per 100 items, not one request
//! per entry.
//!
//! A damaged entry, or an entry whose inode is damaged, is listed with the
//! rest (and the reason logged): only operations on that name fail (EIO).
//! A listing that failed for one bad item would hide every good one.
//!
//! An offset is a position in the listing as this handle read it, page
//! after page in name order, so offsets stay valid while other clients add
//! and remove entries (those after the cursor show up; removed ones already
//! listed stay listed, as POSIX allows). The handle keeps only the entries
//! from the last offset asked for on: memory does not grow with the
//! directory. Going back (rewinddir, seekdir to an earlier offset) lists
//! again from the start, which may differ if the directory changed, as
//! POSIX allows after a change.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::caller::Caller;
use crate::error::{posix, Errno, FsError, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::dir_p;
use crate::store::damaged::query_page;
use crate::store::{show_bytes, Key, Query, Range, StoreError, Table};

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
    /// For a damaged entry, a stand-in (see [`stand_in`]).
    pub ino: u64,
    pub kind: FileType,
    /// The entry item does not decode: a lookup of the name is EIO.
    pub damaged: bool,
}

/// The inode number a damaged entry is listed with: its own inode number
/// may be what is damaged, and a wrong real one would make the kernel
/// mistake another file for it. Real numbers have the top bit clear.
fn stand_in(key: &Key) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.p.iter().chain(&key.s) {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | 1 << 63
}

/// Whether an error is a damaged item's (as opposed to the store failing).
fn is_damage(e: &FsError) -> bool {
    matches!(
        e,
        FsError::Corrupt(_) | FsError::Store(StoreError::Corrupt { .. })
    )
}

/// An open directory: a window on its listing, from the offset last asked
/// for to the end of the last page read, so that listing a directory of
/// any size holds about one page (readers ask for offsets in order; an
/// offset before the window, as after rewinddir, lists again from the
/// start).
#[derive(Debug)]
pub struct DirHandle {
    pub ino: u64,
    parent: u64,
    window: VecDeque<DirEntry>,
    /// Position in the listing of the window's first entry (`.` is 0).
    base: u64,
    /// Sort key to continue after; `None` before the first page.
    cursor: Option<Vec<u8>>,
    done: bool,
}

impl DirHandle {
    /// Entries the handle holds now: about a page, whatever the size of
    /// the directory (what keeps a listing's memory bounded).
    pub fn held(&self) -> usize {
        self.window.len()
    }

    fn new(ino: u64, parent: u64) -> DirHandle {
        let dot = |name: &[u8], ino| DirEntry {
            name: name.to_vec(),
            ino,
            kind: FileType::Directory,
            damaged: false,
        };
        DirHandle {
            ino,
            parent,
            window: VecDeque::from([dot(b".", ino), dot(b"..", parent)]),
            base: 0,
            cursor: None,
            done: false,
        }
    }
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
        Ok(DirHandle::new(ino, parent))
    }

    /// Entries from `offset` on, at most `max` of them (fewer at the end).
    /// Each comes with the offset of the entry after it.
    pub async fn readdir(
        &self,
        h: &mut DirHandle,
        offset: u64,
        max: usize,
    ) -> FsResult<Vec<(u64, DirEntry)>> {
        if offset < h.base {
            *h = DirHandle::new(h.ino, h.parent);
        }
        loop {
            // Nothing before `offset` is asked for again, short of a rewind.
            let passed = ((offset - h.base) as usize).min(h.window.len());
            h.window.drain(..passed);
            h.base += passed as u64;
            if h.done || (h.base == offset && h.window.len() >= max) {
                break;
            }
            self.fetch_page(h).await?;
        }
        if h.base < offset {
            return Ok(Vec::new());
        }
        Ok(h.window
            .iter()
            .take(max)
            .enumerate()
            .map(|(i, e)| (h.base + i as u64 + 1, e.clone()))
            .collect())
    }

    /// As readdir, with each entry's attributes (readdirplus) and how much
    /// longer they may be trusted: `None` for an entry that is damaged or
    /// names a damaged inode. Entries whose inode vanished meanwhile are
    /// left out.
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
    ) -> FsResult<Vec<(u64, DirEntry, Option<Attr>, Duration)>> {
        let ahead = self.readdir(h, offset, max.max(AHEAD)).await?;
        let mut known: HashMap<u64, FsResult<(Node, Duration)>> = HashMap::new();
        for (_, e) in ahead.iter().take(max) {
            if let Some(n) = self.cache.node_for(e.ino) {
                known.insert(e.ino, Ok(n));
            }
        }
        let missing =
            |known: &HashMap<u64, _>, e: &DirEntry| !e.damaged && !known.contains_key(&e.ino);
        if ahead.iter().take(max).any(|(_, e)| missing(&known, e)) {
            let mut wanted: Vec<(u64, bool)> = Vec::new();
            for (_, e) in &ahead {
                if wanted.len() == AHEAD {
                    break;
                }
                let dir = e.kind == FileType::Directory;
                if missing(&known, e) && !wanted.contains(&(e.ino, dir)) {
                    wanted.push((e.ino, dir));
                }
            }
            let ttl = self.opts.attr_ttl;
            match self.nodes(&wanted).await {
                Ok(nodes) => {
                    for n in nodes {
                        known.insert(n.inode.ino, Ok((n, ttl)));
                    }
                }
                // One damaged node fails the whole batch: read each on its
                // own, so that only the damaged ones go without attributes.
                Err(e) if is_damage(&e) => {
                    for (ino, r) in self.nodes_one_by_one(&wanted).await? {
                        known.insert(ino, r.map(|n| (n, ttl)));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let mut out = Vec::with_capacity(max);
        for (off, e) in ahead.into_iter().take(max) {
            let (attr, left) = match known.get(&e.ino) {
                _ if e.damaged => (None, Duration::ZERO),
                Some(Ok((n, left))) => (Some(self.attr_of(n).await), *left),
                Some(Err(err)) => {
                    tracing::error!(ino = e.ino, "listing {}: {err}", show_bytes(&e.name));
                    (None, Duration::ZERO)
                }
                None => continue,
            };
            out.push((off, e, attr, left));
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

    /// Nodes read one at a time: a damaged one is an error of its own;
    /// vanished ones are left out.
    async fn nodes_one_by_one(
        &self,
        wanted: &[(u64, bool)],
    ) -> FsResult<HashMap<u64, FsResult<Node>>> {
        let mut out = HashMap::with_capacity(wanted.len());
        for (ino, _) in wanted {
            match self.node(*ino, true).await {
                Err(e) if e.errno() == Errno::ESTALE => {}
                Err(e) if !is_damage(&e) => return Err(e),
                r => drop(out.insert(*ino, r)),
            }
        }
        Ok(out)
    }

    async fn fetch_page(&self, h: &mut DirHandle) -> FsResult<()> {
        let mut q = Query::new(Table::Meta, dir_p(h.ino), Range::All);
        q.limit = Some(PAGE);
        q.start_after = h.cursor.clone();
        let (page, undecodable) = query_page(self.store.as_ref(), &q).await?;
        let mut listed: Vec<(Key, Option<Entry>)> = page
            .items
            .iter()
            .map(|it| (it.key.clone(), Entry::decode(&it.key, &it.attrs).ok()))
            .collect();
        // Logged by the store layer; listed in key order with the rest.
        listed.extend(undecodable.into_iter().map(|u| (u.key, None)));
        listed.sort_by(|a, b| a.0.s.cmp(&b.0.s));
        for (key, e) in listed {
            let entry = match e {
                Some(e) => {
                    // A lookup of a listed name (ls -l, a shell's glob)
                    // needs no request while this is fresh.
                    self.cache.put_entry(h.ino, &key.s, Some(e));
                    DirEntry {
                        name: key.s,
                        ino: e.ino,
                        kind: e.kind,
                        damaged: false,
                    }
                }
                None => DirEntry {
                    ino: stand_in(&key),
                    name: key.s,
                    kind: FileType::Regular,
                    damaged: true,
                },
            };
            h.window.push_back(entry);
        }
        h.done = page.next.is_none();
        h.cursor = page.next;
        Ok(())
    }
}
