//! Access times. The kernel never updates atime on a FUSE file system, so
//! reads here do, as the mount's option says (`relatime` by default, as
//! Linux): in the background, one UpdateItem on condition that atime is
//! still what was read, so it never lands over a `touch -a` or another
//! client's newer update, and never changes ctime (POSIX: atime alone).

use crate::schema::attr;
use crate::store::{Change, Cond, Table, Value, Write};
use crate::superblock::now_ns;

use super::{Atime, Fs};

const DAY_NS: i64 = 24 * 3_600_000_000_000;

/// Whether a read at `now` updates an atime, given mtime and ctime.
pub fn due(mode: Atime, atime: i64, mtime: i64, ctime: i64, now: i64) -> bool {
    match mode {
        Atime::Never => false,
        Atime::Strict => atime < now,
        Atime::Relative => atime <= mtime || atime <= ctime || now - atime >= DAY_NS,
    }
}

impl Fs {
    /// A read of `ino` began: update its atime if the mode says so. Costs
    /// nothing when it is not due and the inode is cached (it is, right
    /// after an open); at most one read of the inode otherwise.
    pub(super) async fn note_read(&self, ino: u64) {
        if self.opts.atime == Atime::Never || self.opts.read_only {
            return;
        }
        let Ok(node) = self.node(ino, false).await else {
            return;
        };
        let i = &node.inode;
        let now = now_ns();
        if !due(self.opts.atime, i.atime, i.mtime, i.ctime, now) {
            return;
        }
        let w = Write::Update {
            table: Table::Meta,
            key: i.key(),
            changes: vec![Change::set(attr::ATIME, Value::N(now))],
            cond: Some(Cond::eq(attr::ATIME, Value::N(i.atime))),
        };
        self.cache.update_node(ino, |n| n.inode.atime = now);
        let store = std::sync::Arc::clone(&self.store);
        tokio::spawn(async move {
            // Lost to a newer change, or not stored: the file's data is
            // not at stake, and the next day's read tries again.
            if let Err(e) = store.write(&w).await {
                tracing::debug!(ino, "atime update not stored: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relatime_updates_once_after_a_change_or_a_day() {
        let (m, c) = (1_000, 1_000);
        let r = Atime::Relative;
        assert!(due(r, 900, m, c, 2_000), "older than mtime");
        assert!(due(r, 1_000, m, c, 2_000), "equal to mtime");
        assert!(!due(r, 1_500, m, c, 2_000), "read since the change");
        assert!(due(r, 1_500, m, c, 1_500 + DAY_NS), "a day old");
        assert!(!due(Atime::Never, 0, m, c, 2_000));
        assert!(due(Atime::Strict, 1_500, m, c, 2_000));
        assert!(!due(Atime::Strict, 2_000, m, c, 2_000));
    }
}
