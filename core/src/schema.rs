//! The key layout of the metadata table. Documented in docs/SCHEMA.md;
//! keep the two in step.
//!
//! Partition keys begin with one tag byte saying what the partition holds;
//! inode numbers are 8 bytes big-endian so that they sort numerically.

/// Current on-store format. Tools refuse any other.
pub const FORMAT_VERSION: i64 = 1;

/// Inode number of the root directory.
pub const ROOT_INO: u64 = 1;

/// Partition and sort key of the superblock.
pub const SUPERBLOCK_P: &[u8] = b"S";
pub const SUPERBLOCK_S: &[u8] = b"S";

/// Tag of an inode's partition (`i` + ino): attributes, directory counters,
/// large extended attributes, lock records.
pub const INODE_TAG: u8 = b'i';
/// Sort key of the inode's attribute item.
pub const INODE_ATTRS_S: &[u8] = b"a";

/// Tag of a directory's entry partition (`d` + ino): one item per name.
pub const DIR_TAG: u8 = b'd';

/// Partition of sessions: one item per live mount.
pub const SESSIONS_P: &[u8] = b"s";

/// Attribute names, short because they count toward item size and cost.
pub mod attr {
    // superblock
    pub const VERSION: &str = "v";
    pub const BLOCK_SIZE: &str = "bs";
    pub const FS_ID: &str = "id";
    pub const CREATED: &str = "ct";
    pub const COMPRESSION: &str = "cz";
    /// Days a removed file stays in `/.trash` (absent: 0, no trash).
    pub const TRASH_DAYS: &str = "td";
    // inode
    pub const MODE: &str = "m";
    pub const UID: &str = "u";
    pub const GID: &str = "g";
    pub const NLINK: &str = "n";
    pub const SIZE: &str = "z";
    pub const ATIME: &str = "at";
    pub const MTIME: &str = "mt";
    pub const CTIME: &str = "ct";
    pub const BTIME: &str = "bt";
    pub const RDEV: &str = "r";
    pub const GENERATION: &str = "gn";
    pub const PARENT: &str = "pa";
    pub const TARGET: &str = "l";
    /// Extended attributes of formats before their own items (read, and
    /// moved out on the first change).
    pub const XATTRS: &str = "x";
    /// How many extended-attribute items the inode has: with 0, a lookup
    /// of one (every `ls -l` asks for ACLs and security labels) costs no
    /// request.
    pub const XATTR_COUNT: &str = "xn";
    /// A file in the trash: the directory and name it was removed from,
    /// and when (what `dynamofs trash restore` puts back).
    pub const TRASHED_FROM: &str = "tp";
    pub const TRASHED_NAME: &str = "tn";
    pub const TRASHED_AT: &str = "tt";
    /// chattr flags that dynamofs enforces (`fs::flags`), when any is set.
    pub const FLAGS: &str = "fl";
    /// POSIX ACLs (`crate::acl`), in the bytes Linux passes them in, when
    /// the mode bits do not say all of it; the default ACL of a directory.
    pub const ACL: &str = "aa";
    pub const DEFAULT_ACL: &str = "ad";
    /// A sparse file's hole map (`crate::holes`), when it has holes.
    pub const HOLES: &str = "ho";
}

pub fn ino_bytes(ino: u64) -> [u8; 8] {
    ino.to_be_bytes()
}

/// Partition key of an inode's items.
pub fn inode_p(ino: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(9);
    p.push(INODE_TAG);
    p.extend_from_slice(&ino_bytes(ino));
    p
}

/// Partition key of a directory's entries.
pub fn dir_p(ino: u64) -> Vec<u8> {
    let mut p = Vec::with_capacity(9);
    p.push(DIR_TAG);
    p.extend_from_slice(&ino_bytes(ino));
    p
}

/// Directory counters: each directory has this many counter items in its
/// inode partition. A create or remove updates the one chosen by a hash of
/// the name, so concurrent creates in one directory rarely touch the same
/// item, while rmdir can still check emptiness (every counter zero) inside
/// its one transaction.
pub const DIR_SHARDS: u8 = 8;
/// Sort-key prefix of the directory counters (`c` + shard number).
pub const COUNTER_TAG: u8 = b'c';

/// Counter attributes: entries, subdirectories, last change time.
pub mod counter {
    pub const ENTRIES: &str = "e";
    pub const SUBDIRS: &str = "sd";
    pub const CHANGED: &str = "mt";
}

pub fn counter_key(ino: u64, shard: u8) -> crate::store::Key {
    crate::store::Key::new(inode_p(ino), vec![COUNTER_TAG, shard])
}

/// Sort-key prefix of extended attributes: one item each (`x` + name) in
/// the inode partition, so that changing one costs one small write however
/// many others the file has. Outside the range an inode read covers.
pub const XATTR_TAG: u8 = b'x';
/// The value attribute of an extended-attribute item.
pub const XATTR_VALUE: &str = "v";

pub fn xattr_key(ino: u64, name: &[u8]) -> crate::store::Key {
    let mut s = Vec::with_capacity(1 + name.len());
    s.push(XATTR_TAG);
    s.extend_from_slice(name);
    crate::store::Key::new(inode_p(ino), s)
}
