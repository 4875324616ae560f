//! Inode attributes and their item encoding.

use std::collections::BTreeMap;

use crate::acl::Acl;
use crate::holes::Holes;
use crate::schema::{attr, inode_p, INODE_ATTRS_S};
use crate::store::{Attrs, Key, Value};

/// File type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFBLK: u32 = 0o060000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

impl FileType {
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFLNK => FileType::Symlink,
            S_IFIFO => FileType::Fifo,
            S_IFSOCK => FileType::Socket,
            S_IFCHR => FileType::CharDevice,
            S_IFBLK => FileType::BlockDevice,
            _ => return None,
        })
    }

    pub fn bits(self) -> u32 {
        match self {
            FileType::Regular => S_IFREG,
            FileType::Directory => S_IFDIR,
            FileType::Symlink => S_IFLNK,
            FileType::Fifo => S_IFIFO,
            FileType::Socket => S_IFSOCK,
            FileType::CharDevice => S_IFCHR,
            FileType::BlockDevice => S_IFBLK,
        }
    }
}

/// An inode as stored. Times are nanoseconds since 1970.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inode {
    pub ino: u64,
    /// Full `st_mode`: type bits and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Link count as stored. For directories the count shown is
    /// 2 + subdirectories, kept in the directory counters instead.
    pub nlink: u64,
    pub size: u64,
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
    pub btime: i64,
    pub rdev: u32,
    /// Data generation: part of every block key, bumped by truncation to
    /// zero so old blocks become unreachable at once.
    pub generation: u64,
    /// Parent directory (directories only; they have exactly one).
    pub parent: u64,
    /// Symlink target.
    pub target: Option<Vec<u8>>,
    /// Extended attributes stored in the inode item by earlier versions;
    /// the first change moves them to items of their own.
    pub xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Extended attributes in items of their own (see `schema::xattr_key`).
    pub xattr_count: u64,
    /// In the trash: the directory its last name was removed from.
    pub trashed_from: Option<u64>,
    /// chattr flags (`fs::flags`: immutable, append-only).
    pub flags: u32,
    /// Access ACL beyond the mode bits, and a directory's default ACL.
    pub acl: Option<Acl>,
    pub default_acl: Option<Acl>,
    /// Blocks below the size that are not stored (sparse files only).
    pub holes: Holes,
}

/// Why an inode item could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("inode {ino}: {why}")]
pub struct DecodeError {
    pub ino: u64,
    pub why: String,
}

pub fn inode_key(ino: u64) -> Key {
    Key::new(inode_p(ino), INODE_ATTRS_S)
}

impl Inode {
    pub fn new(ino: u64, mode: u32, uid: u32, gid: u32, now: i64) -> Inode {
        Inode {
            ino,
            mode,
            uid,
            gid,
            nlink: 1,
            size: 0,
            atime: now,
            mtime: now,
            ctime: now,
            btime: now,
            rdev: 0,
            generation: 0,
            parent: 0,
            target: None,
            xattrs: BTreeMap::new(),
            xattr_count: 0,
            trashed_from: None,
            flags: 0,
            acl: None,
            default_acl: None,
            holes: Holes::default(),
        }
    }

    pub fn kind(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }

    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    pub fn key(&self) -> Key {
        inode_key(self.ino)
    }

    pub fn to_attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        let mut n = |k: &str, v: i64| {
            a.insert(k.to_string(), Value::N(v));
        };
        n(attr::MODE, self.mode as i64);
        n(attr::UID, self.uid as i64);
        n(attr::GID, self.gid as i64);
        n(attr::NLINK, self.nlink as i64);
        n(attr::SIZE, self.size as i64);
        n(attr::ATIME, self.atime);
        n(attr::MTIME, self.mtime);
        n(attr::CTIME, self.ctime);
        n(attr::BTIME, self.btime);
        if self.rdev != 0 {
            n(attr::RDEV, self.rdev as i64);
        }
        if self.generation != 0 {
            n(attr::GENERATION, self.generation as i64);
        }
        if self.parent != 0 {
            n(attr::PARENT, self.parent as i64);
        }
        if self.xattr_count != 0 {
            n(attr::XATTR_COUNT, self.xattr_count as i64);
        }
        if let Some(d) = self.trashed_from {
            n(attr::TRASHED_FROM, d as i64);
        }
        if self.flags != 0 {
            n(attr::FLAGS, i64::from(self.flags));
        }
        if let Some(t) = &self.target {
            a.insert(attr::TARGET.into(), Value::B(t.clone()));
        }
        for (k, acl) in [
            (attr::ACL, &self.acl),
            (attr::DEFAULT_ACL, &self.default_acl),
        ] {
            if let Some(acl) = acl {
                a.insert(k.into(), Value::B(acl.encode()));
            }
        }
        if let Some(h) = self.holes.stored() {
            a.insert(attr::HOLES.into(), h.clone());
        }
        if !self.xattrs.is_empty() {
            if let Ok(x) = postcard::to_allocvec(&self.xattrs) {
                a.insert(attr::XATTRS.into(), Value::B(x));
            }
        }
        a
    }

    /// Decode, naming the first attribute that is missing or malformed.
    pub fn from_attrs(ino: u64, a: &Attrs) -> Result<Inode, DecodeError> {
        let err = |why: String| DecodeError { ino, why };
        let req = |k: &str| -> Result<i64, DecodeError> {
            match a.get(k) {
                Some(Value::N(n)) => Ok(*n),
                Some(_) => Err(err(format!("attribute `{k}` is not a number"))),
                None => Err(err(format!("attribute `{k}` is missing"))),
            }
        };
        let opt = |k: &str| -> Result<i64, DecodeError> {
            match a.get(k) {
                Some(Value::N(n)) => Ok(*n),
                Some(_) => Err(err(format!("attribute `{k}` is not a number"))),
                None => Ok(0),
            }
        };
        let u32_of = |k: &str, v: i64| {
            u32::try_from(v).map_err(|_| err(format!("attribute `{k}` = {v} out of range")))
        };
        let u64_of = |k: &str, v: i64| {
            u64::try_from(v).map_err(|_| err(format!("attribute `{k}` = {v} is negative")))
        };
        let mode = u32_of(attr::MODE, req(attr::MODE)?)?;
        if FileType::from_mode(mode).is_none() {
            return Err(err(format!("mode {mode:o} has no valid file type")));
        }
        let target = match a.get(attr::TARGET) {
            Some(Value::B(b)) => Some(b.clone()),
            Some(_) => return Err(err("attribute `l` is not binary".into())),
            None => None,
        };
        let xattrs = match a.get(attr::XATTRS) {
            Some(Value::B(b)) => postcard::from_bytes(b)
                .map_err(|e| err(format!("extended attributes undecodable: {e}")))?,
            Some(_) => return Err(err("attribute `x` is not binary".into())),
            None => BTreeMap::new(),
        };
        let acl = |k: &str| match a.get(k) {
            Some(Value::B(b)) => Acl::decode(b).map_err(|e| err(format!("attribute `{k}`: {e}"))),
            Some(_) => Err(err(format!("attribute `{k}` is not binary"))),
            None => Ok(None),
        };
        Ok(Inode {
            ino,
            mode,
            uid: u32_of(attr::UID, req(attr::UID)?)?,
            gid: u32_of(attr::GID, req(attr::GID)?)?,
            nlink: u64_of(attr::NLINK, req(attr::NLINK)?)?,
            size: u64_of(attr::SIZE, req(attr::SIZE)?)?,
            atime: req(attr::ATIME)?,
            mtime: req(attr::MTIME)?,
            ctime: req(attr::CTIME)?,
            btime: opt(attr::BTIME)?,
            rdev: u32_of(attr::RDEV, opt(attr::RDEV)?)?,
            generation: u64_of(attr::GENERATION, opt(attr::GENERATION)?)?,
            parent: u64_of(attr::PARENT, opt(attr::PARENT)?)?,
            target,
            xattrs,
            xattr_count: u64_of(attr::XATTR_COUNT, opt(attr::XATTR_COUNT)?)?,
            trashed_from: a
                .get(attr::TRASHED_FROM)
                .and_then(Value::as_n)
                .map(|d| d as u64),
            flags: u32_of(attr::FLAGS, opt(attr::FLAGS)?)?,
            acl: acl(attr::ACL)?,
            default_acl: acl(attr::DEFAULT_ACL)?,
            holes: Holes::from_attr(a.get(attr::HOLES)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut i = Inode::new(42, S_IFREG | 0o644, 1000, 100, 123);
        i.xattrs.insert(b"user.a".to_vec(), b"b".to_vec());
        i.target = Some(b"x".to_vec());
        i.trashed_from = Some(9);
        i.flags = 0x30;
        // u::rw-, g::r--, o::---
        let ent = |tag: u8, perm: u8| [tag, 0, perm, 0, 0xff, 0xff, 0xff, 0xff];
        let acl = [&[2, 0, 0, 0][..], &ent(1, 6), &ent(4, 4), &ent(0x20, 0)].concat();
        i.default_acl = Acl::decode(&acl).expect("valid");
        assert!(i.default_acl.is_some());
        assert_eq!(Inode::from_attrs(42, &i.to_attrs()), Ok(i));
    }

    #[test]
    fn damaged_items_name_the_problem() {
        let i = Inode::new(7, S_IFREG | 0o644, 0, 0, 1);
        let mut a = i.to_attrs();
        a.remove(attr::SIZE);
        let e = Inode::from_attrs(7, &a).err().map(|e| e.why);
        assert_eq!(e.as_deref(), Some("attribute `z` is missing"));
        let mut a = i.to_attrs();
        a.insert(attr::MODE.into(), Value::S("x".into()));
        assert!(Inode::from_attrs(7, &a).is_err());
        let mut a = i.to_attrs();
        a.insert(attr::MODE.into(), Value::N(0o777));
        assert!(Inode::from_attrs(7, &a).is_err());
    }
}
