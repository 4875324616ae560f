//! Looking up the names of a listing after their cache has expired: a
//! program that lists a directory and then stats every name (`ls -l` of a
//! large directory, `find`, `rsync`, a build walking a tree) is slower than
//! the attribute timeout on any large directory, and would then pay two
//! requests per name. The first lookup that finds its name known but
//! expired re-reads the directory from that name on (one Query) and the
//! inodes of what it finds (one batch read), so the walk costs two
//! requests per `AHEAD` names.

use crate::error::FsResult;
use crate::inode::FileType;
use crate::schema::dir_p;
use crate::store::damaged::query_page;
use crate::store::{Query, Range, Table};

use super::entry::Entry;
use super::Fs;

/// Names re-read at once (one BatchGetItem holds 100 keys).
const AHEAD: usize = 100;

impl Fs {
    /// If `name` in `parent` is a name this client knew and whose cache
    /// expired, re-read it and the names after it. Returns whether it did.
    pub(super) async fn refresh_listed(&self, parent: u64, name: &[u8]) -> FsResult<bool> {
        if !self.cache.expired(parent, name) {
            return Ok(false);
        }
        let highest = vec![0xff; crate::names::NAME_MAX + 1];
        let mut q = Query::new(
            Table::Meta,
            dir_p(parent),
            Range::Between(name.to_vec(), highest),
        );
        q.limit = Some(AHEAD);
        // Damaged entries are left to the lookup of their own name.
        let (page, _) = query_page(self.store.as_ref(), &q).await?;
        let mut wanted = Vec::with_capacity(page.items.len());
        for it in &page.items {
            let Ok(e) = Entry::decode(&it.key, &it.attrs) else {
                continue;
            };
            self.cache.put_entry(parent, &it.key.s, Some(e));
            let stale = self
                .cache
                .node_for(e.ino)
                .is_none_or(|(_, left)| left < self.opts.attr_ttl / 2);
            if stale {
                wanted.push((e.ino, e.kind == FileType::Directory));
            }
        }
        if page.items.first().is_none_or(|it| it.key.s != name) {
            // Gone: the fresh lookup that follows says so.
            self.cache.forget_entry(parent, name);
        }
        // A damaged inode among them fails the batch: then each name is
        // looked up on its own.
        if !wanted.is_empty() && self.nodes(&wanted).await.is_err() {
            return Ok(false);
        }
        Ok(true)
    }
}
