//! Which lock owners locked through each open file, so that its release
//! can drop the locks nobody else will unlock.
//!
//! An open file description's own (OFD) locks have the description as
//! their owner, and the kernel sends no unlock when it goes: its release
//! drops them. A process's classic locks are dropped by the flush of its
//! close, which names it, so it leaves the set then: the release comes
//! later (the kernel sends it without waiting), when the process may hold
//! a new lock through another descriptor, which must stay.
//!
//! The owner of an OFD lock is the kernel's address of the open file, and
//! a file opened after this one was closed can get the same address before
//! this release arrives. Its locks, under the same owner on the same
//! inode, must stay too: this file's go with that file's last close (under
//! one owner the two cannot be told apart).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct LockOwners {
    /// Open file -> (its inode, the owners that locked through it).
    by_handle: Mutex<HashMap<u64, (u64, HashSet<u64>)>>,
}

impl LockOwners {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (u64, HashSet<u64>)>> {
        match self.by_handle.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// `owner` took a lock on `ino` through open file `fh`.
    pub fn locked(&self, fh: u64, ino: u64, owner: u64) {
        self.map()
            .entry(fh)
            .or_insert_with(|| (ino, HashSet::new()))
            .1
            .insert(owner);
    }

    /// `owner` closed a descriptor of `fh`: its classic locks went with
    /// the flush.
    pub fn flushed(&self, fh: u64, owner: u64) {
        if let Some((_, owners)) = self.map().get_mut(&fh) {
            owners.remove(&owner);
        }
    }

    /// `fh` is released: the owners whose locks on its inode go now (with
    /// `extra`, the flock owner the kernel names at the last close), less
    /// those that also locked through another open file of that inode.
    pub fn released(&self, fh: u64, ino: u64, extra: Option<u64>) -> Vec<u64> {
        let mut map = self.map();
        let mut owners = map.remove(&fh).map(|(_, o)| o).unwrap_or_default();
        owners.extend(extra);
        owners
            .into_iter()
            .filter(|o| {
                !map.values()
                    .any(|(other, theirs)| *other == ino && theirs.contains(o))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_drops_its_own_owners() {
        let l = LockOwners::default();
        l.locked(1, 10, 100);
        l.locked(1, 10, 200);
        l.flushed(1, 200);
        let mut gone = l.released(1, 10, Some(300));
        gone.sort();
        assert_eq!(gone, vec![100, 300], "the process flushed its own");
        assert!(l.released(1, 10, None).is_empty(), "once");
    }

    #[test]
    fn an_owner_reused_by_a_newer_open_file_keeps_its_locks() {
        let l = LockOwners::default();
        // File 1 (kernel address 100) locked, was closed; file 2 got the
        // same address and locked before file 1's release arrived.
        l.locked(1, 10, 100);
        l.locked(2, 10, 100);
        assert!(l.released(1, 10, None).is_empty());
        assert_eq!(l.released(2, 10, None), vec![100], "at file 2's close");
    }

    #[test]
    fn the_same_owner_on_another_inode_does_not_count() {
        let l = LockOwners::default();
        l.locked(1, 10, 100);
        l.locked(2, 11, 100);
        assert_eq!(l.released(1, 10, None), vec![100]);
    }
}
