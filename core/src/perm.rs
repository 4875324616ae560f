//! POSIX permission checks, for callers the kernel has not already checked
//! (the command-line tools act as the invoking user).

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::Inode;

pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;

/// Whether `caller` may access `node` for every bit of `mask` (R|W|X).
pub fn allows(caller: &Caller, node: &Inode, mask: u32) -> bool {
    if caller.is_root() {
        // Root may read and write anything, and execute anything that
        // someone may execute (directories are always searchable).
        return mask & X == 0 || node.is_dir() || node.mode & 0o111 != 0;
    }
    if let Some(acl) = &node.acl {
        return acl.allows(caller, node.uid, node.gid, mask);
    }
    let bits = if caller.uid == node.uid {
        (node.mode >> 6) & 7
    } else if caller.in_group(node.gid) {
        (node.mode >> 3) & 7
    } else {
        node.mode & 7
    };
    bits & mask == mask
}

pub fn check(caller: &Caller, node: &Inode, mask: u32, what: &str) -> FsResult<()> {
    if allows(caller, node, mask) {
        Ok(())
    } else {
        Err(posix(Errno::EACCES, what.to_string()))
    }
}

/// Sticky directories: only the owner of the entry, of the directory, or
/// root may remove or rename an entry.
pub fn check_sticky(caller: &Caller, dir: &Inode, victim: &Inode, what: &str) -> FsResult<()> {
    if dir.mode & S_ISVTX == 0
        || caller.is_root()
        || caller.uid == victim.uid
        || caller.uid == dir.uid
    {
        Ok(())
    } else {
        Err(posix(Errno::EPERM, format!("{what}: sticky directory")))
    }
}

/// Only the owner (or root) may change mode, times to arbitrary values, and
/// so on.
pub fn check_owner(caller: &Caller, node: &Inode, what: &str) -> FsResult<()> {
    if caller.is_root() || caller.uid == node.uid {
        Ok(())
    } else {
        Err(posix(Errno::EPERM, what.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inode::{S_IFDIR, S_IFREG};

    fn user(uid: u32, gid: u32) -> Caller {
        Caller {
            uid,
            gid,
            groups: vec![50],
            pid: 1,
            umask: 0o022,
        }
    }

    #[test]
    fn classes() {
        let f = Inode::new(9, S_IFREG | 0o640, 1000, 100, 0);
        assert!(allows(&user(1000, 1), &f, R | W));
        assert!(allows(&user(2000, 100), &f, R));
        assert!(!allows(&user(2000, 100), &f, W));
        assert!(!allows(&user(2000, 1), &f, R));
        // Owner class applies even when group would allow more.
        let g = Inode::new(9, S_IFREG | 0o070, 1000, 100, 0);
        assert!(!allows(&user(1000, 100), &g, R));
        // Supplementary groups count.
        let h = Inode::new(9, S_IFREG | 0o040, 1, 50, 0);
        assert!(allows(&user(2000, 1), &h, R));
    }

    #[test]
    fn root() {
        let f = Inode::new(9, S_IFREG, 1000, 100, 0);
        assert!(allows(&Caller::root(), &f, R | W));
        assert!(!allows(&Caller::root(), &f, X));
        let d = Inode::new(9, S_IFDIR, 1000, 100, 0);
        assert!(allows(&Caller::root(), &d, X));
    }

    #[test]
    fn sticky() {
        let d = Inode::new(1, S_IFDIR | 0o1777, 0, 0, 0);
        let f = Inode::new(2, S_IFREG | 0o644, 1000, 100, 0);
        assert!(check_sticky(&user(1000, 1), &d, &f, "x").is_ok());
        assert!(check_sticky(&user(2000, 1), &d, &f, "x").is_err());
        assert!(check_sticky(&Caller::root(), &d, &f, "x").is_ok());
    }
}
