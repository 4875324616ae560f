//! The superblock: the item that says a table holds a dynamofs file system,
//! in which format, with which block size.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::schema::{attr, FORMAT_VERSION, SUPERBLOCK_P, SUPERBLOCK_S};
use crate::store::{Attrs, Key, Store, StoreError, Table, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Superblock {
    pub version: i64,
    pub block_size: u32,
    pub fs_id: String,
    /// Nanoseconds since 1970.
    pub created: i64,
    pub compression: String,
    /// Days a removed file is kept in `/.trash`; 0: removal is final.
    pub trash_days: u32,
}

/// Why a store cannot be used as a file system.
#[derive(Debug, thiserror::Error)]
pub enum SuperblockError {
    #[error("{source_name} holds no dynamofs file system (no superblock); create one with `dynamofs mkfs`")]
    Missing { source_name: String },
    #[error("{source_name} has file system format {found}, but this dynamofs reads only format {FORMAT_VERSION}; use a dynamofs release that supports format {found}")]
    UnknownFormat { source_name: String, found: i64 },
    #[error("{source_name}: damaged superblock: {why}; run `dynamofs fsck` or restore the table from a backup")]
    Damaged { source_name: String, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn key() -> Key {
    Key::new(SUPERBLOCK_P, SUPERBLOCK_S)
}

/// The longest trash a file system may keep: ten years.
pub const MAX_TRASH_DAYS: u32 = 3650;

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl Superblock {
    pub fn new(block_size: u32, compression: &str) -> Superblock {
        Superblock {
            version: FORMAT_VERSION,
            block_size,
            fs_id: format!("{:032x}", rand::random::<u128>()),
            created: now_ns(),
            compression: compression.to_string(),
            trash_days: 0,
        }
    }

    pub fn to_attrs(&self) -> Attrs {
        let mut a = Attrs::new();
        a.insert(attr::VERSION.into(), Value::N(self.version));
        a.insert(attr::BLOCK_SIZE.into(), Value::N(self.block_size as i64));
        a.insert(attr::FS_ID.into(), Value::S(self.fs_id.clone()));
        a.insert(attr::CREATED.into(), Value::N(self.created));
        a.insert(attr::COMPRESSION.into(), Value::S(self.compression.clone()));
        if self.trash_days > 0 {
            a.insert(attr::TRASH_DAYS.into(), Value::N(self.trash_days as i64));
        }
        a
    }

    /// Parse a superblock item; the version is checked before anything else,
    /// so a future format with other attributes is reported as such.
    pub fn from_attrs(source_name: &str, a: &Attrs) -> Result<Superblock, SuperblockError> {
        let damaged = |why: String| SuperblockError::Damaged {
            source_name: source_name.to_string(),
            why,
        };
        let num = |n: &str| {
            a.get(n)
                .and_then(Value::as_n)
                .ok_or_else(|| damaged(format!("attribute `{n}` missing or not a number")))
        };
        let version = num(attr::VERSION)?;
        if version != FORMAT_VERSION {
            return Err(SuperblockError::UnknownFormat {
                source_name: source_name.to_string(),
                found: version,
            });
        }
        let block_size = num(attr::BLOCK_SIZE)?;
        if !crate::mkfs::valid_block_size(block_size) {
            return Err(damaged(format!("block size {block_size} out of range")));
        }
        let fs_id = a
            .get(attr::FS_ID)
            .and_then(Value::as_s)
            .ok_or_else(|| damaged("attribute `id` missing or not a string".into()))?
            .to_string();
        let created = num(attr::CREATED)?;
        let compression = a
            .get(attr::COMPRESSION)
            .and_then(Value::as_s)
            .unwrap_or("none")
            .to_string();
        if !crate::mkfs::COMPRESSIONS.contains(&compression.as_str()) {
            return Err(damaged(format!("unknown compression `{compression}`")));
        }
        let trash_days = match a.get(attr::TRASH_DAYS) {
            None => 0,
            Some(v) => v
                .as_n()
                .filter(|d| (0..=MAX_TRASH_DAYS as i64).contains(d))
                .ok_or_else(|| damaged(format!("trash days `{v:?}` not a number of days")))?
                as u32,
        };
        Ok(Superblock {
            version,
            block_size: block_size as u32,
            fs_id,
            created,
            compression,
            trash_days,
        })
    }

    /// Read and check the superblock; every tool starts here.
    pub async fn load(store: &dyn Store) -> Result<Superblock, SuperblockError> {
        let source_name = store.table_name(Table::Meta);
        let item = match store.get(Table::Meta, &key(), true).await {
            Ok(i) => i,
            Err(StoreError::TableMissing { .. }) => {
                return Err(SuperblockError::Missing { source_name })
            }
            Err(e) => return Err(e.into()),
        };
        match item {
            None => Err(SuperblockError::Missing { source_name }),
            Some(i) => Superblock::from_attrs(&source_name, &i.attrs),
        }
    }
}
