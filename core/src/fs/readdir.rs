//! Listing directories: one Query of the directory's entry partition per
//! page, and with attributes one batch read per 100 items, not one request
//! per entry.
//!
//! A handle buffers what it has listed; an offset is a position in that
//! buffer, which only grows, so offsets stay valid while other clients add
//! and remove entries (those after the cursor show up; removed ones already
//! listed stay listed, as POSIX allows).

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::perm;
use crate::schema::dir_p;
use crate::store::{Query, Range, Table};

use super::attr::Attr;
use super::entry::Entry;
use super::Fs;

/// Entries fetched per Query.
pub const PAGE: usize = 1000;

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

    /// As readdir, with each entry's attributes (readdirplus). Entries whose
    /// inode vanished meanwhile are left out.
    pub async fn readdirplus(
        &self,
        h: &mut DirHandle,
        offset: u64,
        max: usize,
    ) -> FsResult<Vec<(u64, DirEntry, Attr)>> {
        let entries = self.readdir(h, offset, max).await?;
        let wanted: Vec<(u64, bool)> = entries
            .iter()
            .map(|(_, e)| (e.ino, e.kind == FileType::Directory))
            .collect();
        let nodes = self.nodes(&wanted).await?;
        let mut by_ino: std::collections::HashMap<u64, Attr> = Default::default();
        for n in &nodes {
            by_ino.insert(n.inode.ino, self.attr_of(n).await);
        }
        let out: Vec<(u64, DirEntry, Attr)> = entries
            .into_iter()
            .filter_map(|(off, e)| by_ino.get(&e.ino).cloned().map(|a| (off, e, a)))
            .collect();
        // The kernel takes a reference to every entry readdirplus returns
        // except . and .., as it does for lookup.
        for (_, e, _) in &out {
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
