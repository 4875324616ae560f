//! lseek(SEEK_DATA, SEEK_HOLE), answered from the hole map the inode
//! item holds: one read of the inode, whatever the file's size.

use crate::error::{posix, Errno, FsResult};

use super::Fs;

/// What to look for from an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seek {
    Data,
    Hole,
}

impl Fs {
    /// The first offset at or after `offset` that is data (or a hole; the
    /// end of file is one). ENXIO at or past the end.
    pub async fn seek(&self, fh: u64, offset: u64, what: Seek) -> FsResult<u64> {
        self.vouch().await;
        let h = self.handle(fh)?;
        let mut f = h.file.lock().await;
        // What this client wrote is data: stored, the map says so.
        self.flush_locked(&mut f).await?;
        // Fresh: a hole another client filled and closed is data now.
        let node = self.node(f.ino, true).await?;
        self.adopt(&mut f, &node);
        let i = &node.inode;
        let bs = self.bs();
        match what {
            Seek::Data => i.holes.seek_data(offset, i.size, bs),
            Seek::Hole => i.holes.seek_hole(offset, i.size, bs),
        }
        .ok_or_else(|| posix(Errno::ENXIO, "seek: no more data before the end of file"))
    }
}
