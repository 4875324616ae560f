//! What can change after mkfs (`dynamofs config`): the compression of
//! blocks written from now on (each block records its own encoding, so
//! old ones read as before), the tables' capacity mode and class. The block size
//! and the format cannot change: every block and inode depends on them.

use crate::error::FsError;
use crate::schema::attr;
use crate::store::{Change, Cond, Store, StoreError, Table, TableChange, TableInfo, Value, Write};
use crate::superblock::{self, Superblock, SuperblockError};

/// A file system's settings as they stand.
pub struct Settings {
    pub superblock: Superblock,
    /// Each table's billing, as `status` reports it.
    pub tables: Vec<(Table, String, TableInfo)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown compression `{0}`: use one of {known}", known = crate::mkfs::COMPRESSIONS.join(", "))]
    Compression(String),
    #[error("the superblock changed while it was being updated (another `dynamofs config`?): run it again")]
    Raced,
    #[error(transparent)]
    Superblock(#[from] SuperblockError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// The superblock and each table's billing: one GetItem, one describe per
/// table.
pub async fn show(store: &dyn Store) -> Result<Settings, ConfigError> {
    let superblock = Superblock::load(store).await?;
    let mut tables = Vec::new();
    for t in Table::ALL {
        tables.push((t, store.table_name(t), store.table_info(t).await?));
    }
    Ok(Settings { superblock, tables })
}

/// Set the compression of blocks written by mounts started from now on.
/// Conditional on the superblock being as read, so two changes at once
/// cannot leave a mix that neither asked for.
pub async fn set_compression(store: &dyn Store, compression: &str) -> Result<(), ConfigError> {
    if !crate::mkfs::COMPRESSIONS.contains(&compression) {
        return Err(ConfigError::Compression(compression.to_string()));
    }
    let sb = Superblock::load(store).await?;
    if sb.compression == compression {
        return Ok(());
    }
    let w = Write::Update {
        table: Table::Meta,
        key: superblock::key(),
        changes: vec![Change::set(
            attr::COMPRESSION,
            Value::S(compression.to_string()),
        )],
        cond: Some(Cond::And(vec![
            Cond::eq(attr::COMPRESSION, Value::S(sb.compression.clone())),
            Cond::eq(attr::FS_ID, Value::S(sb.fs_id.clone())),
        ])),
    };
    match store.write(&w).await {
        Ok(()) => Ok(()),
        Err(StoreError::ConditionFailed { .. }) => Err(ConfigError::Raced),
        Err(e) => Err(e.into()),
    }
}

/// Change both tables' capacity mode or class (DynamoDB only), waiting
/// until they are usable again.
pub async fn update_tables(store: &dyn Store, change: TableChange) -> Result<(), ConfigError> {
    Superblock::load(store).await?;
    store.update_tables(change).await?;
    Ok(())
}
