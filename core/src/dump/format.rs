//! The dump format, version 1: JSON lines, one record per line, each an
//! object whose `t` names its kind (docs/DUMP.md describes every field).
//!
//! A dump is a header, the root's attributes, then the tree depth first:
//! a `node` record creates an inode under a parent already created, a
//! `link` record adds a name to an inode already created (hard links are
//! dumped once), `data` records carry a file's bytes right after its node
//! (all-zero blocks are left out: they load as holes), and an `end` record
//! with the counts proves the dump was not cut short.
//!
//! Names, link targets and extended attributes are bytes on Linux: they
//! are JSON strings when they are UTF-8, and `{"b64": "..."}` otherwise.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::fs::Attr;
use crate::inode::FileType;

/// What the header's `format` says, so that a stray JSON file is told apart.
pub const FORMAT: &str = "dynamofs-dump";
/// The version this code writes and reads.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    /// The root directory's attributes (it exists in every file system).
    Root(Meta),
    Node {
        /// The `id` of a directory dumped before (1 is the root).
        parent: u64,
        name: Bytes,
        /// The inode number in the dumped file system; `link` and `data`
        /// records name it.
        id: u64,
        #[serde(flatten)]
        meta: Meta,
    },
    Link {
        parent: u64,
        name: Bytes,
        id: u64,
    },
    Data {
        id: u64,
        offset: u64,
        data: Base64,
    },
    End(Counts),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The dumped file system's id, block size and compression.
    pub fs_id: String,
    pub block_size: u32,
    pub compression: String,
    /// When the dump started, in nanoseconds since 1970.
    pub dumped_ns: i64,
    /// False for `--metadata-only`: files have their sizes but no data.
    pub data: bool,
}

/// How much a dump holds; its `end` record, and what load reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Inodes, the root apart.
    pub nodes: u64,
    /// Extra names of inodes with several.
    pub links: u64,
    /// File bytes in data records.
    pub data_bytes: u64,
    /// Entries that could not be dumped (damaged items), each reported.
    pub errors: u64,
}

/// An inode's attributes as stat(2) shows them, and what else it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub kind: Kind,
    /// Permission bits, setuid, setgid and sticky included.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// Names the inode has (links records add all but the first).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub nlink: u64,
    #[serde(default)]
    pub size: u64,
    /// Nanoseconds since 1970. ctime is informational: no call sets it, so
    /// a load's ctimes are the time of the load.
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rdev: u32,
    /// A symbolic link's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Bytes>,
    /// Extended attributes, name and value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xattrs: Vec<(Bytes, Bytes)>,
    /// chattr flags (immutable, append-only), set last by a load.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flags: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn one() -> u64 {
    1
}

fn is_one(v: &u64) -> bool {
    *v == 1
}

impl Meta {
    pub fn of(attr: &Attr) -> Meta {
        Meta {
            kind: Kind::of(attr.kind),
            perm: attr.perm,
            uid: attr.uid,
            gid: attr.gid,
            nlink: if attr.kind == FileType::Directory {
                1
            } else {
                attr.nlink
            },
            size: if attr.kind == FileType::Regular {
                attr.size
            } else {
                0
            },
            atime: attr.atime,
            mtime: attr.mtime,
            ctime: attr.ctime,
            rdev: attr.rdev,
            target: None,
            xattrs: Vec::new(),
            flags: attr.flags,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    Char,
    Block,
}

impl Kind {
    pub fn of(t: FileType) -> Kind {
        match t {
            FileType::Regular => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::CharDevice => Kind::Char,
            FileType::BlockDevice => Kind::Block,
        }
    }

    pub fn file_type(self) -> FileType {
        match self {
            Kind::File => FileType::Regular,
            Kind::Dir => FileType::Directory,
            Kind::Symlink => FileType::Symlink,
            Kind::Fifo => FileType::Fifo,
            Kind::Socket => FileType::Socket,
            Kind::Char => FileType::CharDevice,
            Kind::Block => FileType::BlockDevice,
        }
    }
}

/// Bytes that are usually text: a JSON string when UTF-8, else base64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BytesRepr", into = "BytesRepr")]
pub struct Bytes(pub Vec<u8>);

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum BytesRepr {
    Text(String),
    Raw { b64: String },
}

impl From<Bytes> for BytesRepr {
    fn from(b: Bytes) -> BytesRepr {
        match String::from_utf8(b.0) {
            Ok(s) => BytesRepr::Text(s),
            Err(e) => BytesRepr::Raw {
                b64: STANDARD.encode(e.as_bytes()),
            },
        }
    }
}

impl TryFrom<BytesRepr> for Bytes {
    type Error = String;
    fn try_from(r: BytesRepr) -> Result<Bytes, String> {
        match r {
            BytesRepr::Text(s) => Ok(Bytes(s.into_bytes())),
            BytesRepr::Raw { b64 } => STANDARD
                .decode(b64)
                .map(Bytes)
                .map_err(|e| format!("bad base64: {e}")),
        }
    }
}

/// File data: always base64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Base64(pub Vec<u8>);

impl From<Base64> for String {
    fn from(b: Base64) -> String {
        STANDARD.encode(b.0)
    }
}

impl TryFrom<String> for Base64 {
    type Error = String;
    fn try_from(s: String) -> Result<Base64, String> {
        STANDARD
            .decode(s)
            .map(Base64)
            .map_err(|e| format!("bad base64: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            kind: Kind::File,
            perm: 0o4755,
            uid: 1000,
            gid: 100,
            nlink: 2,
            size: 3,
            atime: 1,
            mtime: 2,
            ctime: 3,
            rdev: 0,
            target: None,
            xattrs: vec![(Bytes(b"user.k".to_vec()), Bytes(vec![0xff, 0]))],
            flags: 0x20,
        }
    }

    #[test]
    fn records_round_trip_and_read_as_documented() {
        let recs = vec![
            Record::Node {
                parent: 1,
                name: Bytes(b"caf\xc3\xa9".to_vec()),
                id: 7,
                meta: meta(),
            },
            Record::Link {
                parent: 1,
                name: Bytes(vec![b'a', 0xfe]),
                id: 7,
            },
            Record::Data {
                id: 7,
                offset: 65536,
                data: Base64(b"abc".to_vec()),
            },
        ];
        let lines: Vec<String> = recs
            .iter()
            .map(|r| serde_json::to_string(r).expect("encode"))
            .collect();
        assert_eq!(
            lines[0],
            r#"{"t":"node","parent":1,"name":"café","id":7,"kind":"file","perm":2541,"uid":1000,"gid":100,"nlink":2,"size":3,"atime":1,"mtime":2,"ctime":3,"xattrs":[["user.k",{"b64":"/wA="}]],"flags":32}"#
        );
        assert_eq!(
            lines[1],
            r#"{"t":"link","parent":1,"name":{"b64":"Yf4="},"id":7}"#
        );
        assert_eq!(
            lines[2],
            r#"{"t":"data","id":7,"offset":65536,"data":"YWJj"}"#
        );
        for (l, r) in lines.iter().zip(&recs) {
            let back: Record = serde_json::from_str(l).expect("decode");
            assert_eq!(&back, r);
        }
    }

    #[test]
    fn bad_base64_is_refused() {
        let e = serde_json::from_str::<Record>(r#"{"t":"data","id":7,"offset":0,"data":"%%"}"#)
            .expect_err("refused");
        assert!(e.to_string().contains("bad base64"), "{e}");
    }
}
