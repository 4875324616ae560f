//! What can change after mkfs (`dynamofs config`): the compression of
//! blocks written from now on (each block records its own encoding, so
//! old ones read as before), the days removed files stay in the trash,
//! the tables' capacity mode and class. The block size
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
    #[error("{0} days of trash is more than the {max} a file system may keep", max = superblock::MAX_TRASH_DAYS)]
    TrashDays(u32),
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
pub async fn set_compression(store: &dyn Store, compression: &str) -> Result<(), ConfigError> {
    if !crate::mkfs::COMPRESSIONS.contains(&compression) {
        return Err(ConfigError::Compression(compression.to_string()));
    }
    let sb = Superblock::load(store).await?;
    if sb.compression == compression {
        return Ok(());
    }
    let was = Cond::eq(attr::COMPRESSION, Value::S(sb.compression.clone()));
    let to = Change::set(attr::COMPRESSION, Value::S(compression.to_string()));
    change_superblock(store, &sb, to, was).await
}

/// Set how many days removed files stay in `/.trash` (0: removal is
/// final), for mounts started from now on. Files already in the trash
/// stay until a purge: with 0, `dynamofs trash purge --all` removes them.
pub async fn set_trash_days(store: &dyn Store, days: u32) -> Result<(), ConfigError> {
    if days > superblock::MAX_TRASH_DAYS {
        return Err(ConfigError::TrashDays(days));
    }
    let sb = Superblock::load(store).await?;
    if sb.trash_days == days {
        return Ok(());
    }
    let was = match sb.trash_days {
        0 => Cond::has_not(attr::TRASH_DAYS),
        d => Cond::eq(attr::TRASH_DAYS, Value::N(d as i64)),
    };
    let to = match days {
        0 => Change::remove(attr::TRASH_DAYS),
        d => Change::set(attr::TRASH_DAYS, Value::N(d as i64)),
    };
    change_superblock(store, &sb, to, was).await
}

/// One change to the superblock, on condition that the setting is still
/// as read (`was`), so two changes at once cannot leave a mix that neither
/// asked for.
async fn change_superblock(
    store: &dyn Store,
    sb: &Superblock,
    change: Change,
    was: Cond,
) -> Result<(), ConfigError> {
    let w = Write::Update {
        table: Table::Meta,
        key: superblock::key(),
        changes: vec![change],
        cond: Some(Cond::And(vec![
            was,
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
