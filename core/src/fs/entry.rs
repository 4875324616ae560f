//! Directory entries: one item per (parent, name).

use crate::error::{FsError, FsResult};
use crate::inode::{FileType, S_IFMT};
use crate::schema::{dir_p, DIR_SHARDS};
use crate::store::{Attrs, Cond, Key, Table, Value, Write};

/// Entry attributes: the inode it names and that inode's type.
pub const ENTRY_INO: &str = "i";
pub const ENTRY_TYPE: &str = "t";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub ino: u64,
    pub kind: FileType,
}

pub fn entry_key(parent: u64, name: &[u8]) -> Key {
    Key::new(dir_p(parent), name)
}

impl Entry {
    pub fn attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        a.insert(ENTRY_INO.into(), Value::N(self.ino as i64));
        a.insert(ENTRY_TYPE.into(), Value::N(self.kind.bits() as i64));
        a
    }

    pub fn decode(key: &Key, a: &Attrs) -> FsResult<Entry> {
        let bad = |why: &str| {
            let msg = format!("directory entry {key}: {why}");
            tracing::error!("{msg}");
            FsError::Corrupt(msg)
        };
        let ino = a
            .get(ENTRY_INO)
            .and_then(Value::as_n)
            .filter(|n| *n > 0)
            .ok_or_else(|| bad("attribute `i` missing or not a positive number"))?;
        let kind = a
            .get(ENTRY_TYPE)
            .and_then(Value::as_n)
            .and_then(|t| u32::try_from(t).ok())
            .and_then(|t| FileType::from_mode(t & S_IFMT))
            .ok_or_else(|| bad("attribute `t` missing or not a file type"))?;
        Ok(Entry {
            ino: ino as u64,
            kind,
        })
    }

    /// Condition: the entry still names this inode.
    pub fn names(ino: u64) -> Cond {
        Cond::eq(ENTRY_INO, Value::N(ino as i64))
    }
}

/// Put a new entry, which must not exist yet.
pub fn create(parent: u64, name: &[u8], e: Entry) -> Write {
    Write::Put {
        table: Table::Meta,
        key: entry_key(parent, name),
        attrs: e.attrs(),
        cond: Some(Cond::NotExists),
    }
}

/// The directory counter an entry is counted in: FNV-1a of the name.
pub fn shard_of(name: &[u8]) -> u8 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % DIR_SHARDS as u64) as u8
}
