//! Creating a file system: tables, superblock, root directory.

use crate::inode::{Inode, S_IFDIR};
use crate::schema::{counter, counter_key, DIR_SHARDS, ROOT_INO};
use crate::store::{
    Attrs, Billing, Cond, Store, StoreError, Table, TableState, Token, Value, Write,
};
use crate::superblock::{self, now_ns, Superblock, SuperblockError};

/// Default block size: see docs/BENCHMARKS.md for how it was chosen.
pub const DEFAULT_BLOCK_SIZE: u32 = 256 * 1024;
pub const MIN_BLOCK_SIZE: i64 = 4 * 1024;
/// Largest block that, with its key and attributes, stays under 400 KB.
pub const MAX_BLOCK_SIZE: i64 = 256 * 1024;

/// Block encodings a file system may be created with.
pub const COMPRESSIONS: [&str; 2] = ["none", "lz4"];

pub fn valid_block_size(bs: i64) -> bool {
    (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&bs) && (bs as u64).is_power_of_two()
}

#[derive(Clone, Debug)]
pub struct MkfsOptions {
    pub block_size: u32,
    pub billing: Billing,
    /// Replace an existing file system or foreign tables.
    pub force: bool,
    pub root_uid: u32,
    pub root_gid: u32,
    pub root_mode: u32,
    pub compression: String,
    /// Days a removed file stays in `/.trash` (0: removal is final).
    pub trash_days: u32,
}

impl Default for MkfsOptions {
    fn default() -> Self {
        MkfsOptions {
            block_size: DEFAULT_BLOCK_SIZE,
            billing: Billing::OnDemand,
            force: false,
            root_uid: 0,
            root_gid: 0,
            root_mode: 0o755,
            compression: "lz4".into(),
            trash_days: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MkfsError {
    #[error("block size {0} is not a power of two between 4 KiB and 256 KiB")]
    BlockSize(u32),
    #[error("{table} already holds a dynamofs file system (id {fs_id}, created {created}); pass --force to destroy it and start empty")]
    Exists {
        table: String,
        fs_id: String,
        created: String,
    },
    #[error("{table} exists but is not a dynamofs table ({found}); choose another name, or pass --force to delete it")]
    Foreign { table: String, found: String },
    #[error("{table} exists without a valid dynamofs superblock ({why}); pass --force to delete it and start empty")]
    Damaged { table: String, why: String },
    #[error("unknown compression `{0}`: choose none or lz4")]
    Compression(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Progress steps reported to the caller (a spinner, or nothing).
pub trait Progress {
    fn step(&self, what: &str);
}

impl<F: Fn(&str)> Progress for F {
    fn step(&self, what: &str) {
        self(what)
    }
}

/// Create the tables (unless they are there), the superblock and the root
/// directory. Refuses an existing file system or foreign tables unless forced.
pub async fn mkfs(
    store: &dyn Store,
    opts: &MkfsOptions,
    progress: &dyn Progress,
) -> Result<Superblock, MkfsError> {
    if !valid_block_size(opts.block_size as i64) {
        return Err(MkfsError::BlockSize(opts.block_size));
    }
    if !COMPRESSIONS.contains(&opts.compression.as_str()) {
        return Err(MkfsError::Compression(opts.compression.clone()));
    }
    progress.step("checking tables");
    let mut need_create = false;
    let mut need_wipe = false;
    for t in Table::ALL {
        match store.table_state(t).await? {
            TableState::Missing => need_create = true,
            TableState::Ready => {}
            TableState::Busy(status) => {
                return Err(StoreError::Other(format!(
                    "table {} is {status}; try again when it is ACTIVE",
                    store.table_name(t)
                ))
                .into())
            }
            TableState::Foreign(found) => {
                if !opts.force {
                    return Err(MkfsError::Foreign {
                        table: store.table_name(t),
                        found,
                    });
                }
                need_wipe = true;
            }
        }
    }
    if !need_wipe && !need_create {
        if let Some(problem) = existing(store).await? {
            if !opts.force {
                return Err(problem);
            }
            need_wipe = true;
        }
    }
    if need_wipe {
        progress.step("deleting the old tables");
        store.delete_tables().await?;
        need_create = true;
    }
    if need_create {
        progress.step("creating tables and waiting until they are active");
        store.create_tables(opts.billing).await?;
    }
    progress.step("writing superblock and root directory");
    let mut sb = Superblock::new(opts.block_size, &opts.compression);
    sb.trash_days = opts.trash_days.min(crate::superblock::MAX_TRASH_DAYS);
    let now = now_ns();
    let mut root = Inode::new(
        ROOT_INO,
        S_IFDIR | (opts.root_mode & 0o7777),
        opts.root_uid,
        opts.root_gid,
        now,
    );
    root.nlink = 2;
    root.parent = ROOT_INO;
    let mut writes = vec![
        Write::Put {
            table: Table::Meta,
            key: superblock::key(),
            attrs: sb.to_attrs(),
            // Two racing mkfs runs: exactly one wins.
            cond: Some(Cond::NotExists),
        },
        Write::Put {
            table: Table::Meta,
            key: root.key(),
            attrs: root.to_attrs(),
            cond: None,
        },
    ];
    writes.extend(new_dir_counters(ROOT_INO, now));
    store.transact(&writes, &Token::fresh()).await?;
    Ok(sb)
}

/// The counter items of a new, empty directory.
pub fn new_dir_counters(ino: u64, now: i64) -> Vec<Write> {
    (0..DIR_SHARDS)
        .map(|k| {
            let mut a = Attrs::new();
            a.insert(counter::ENTRIES.into(), Value::N(0));
            a.insert(counter::SUBDIRS.into(), Value::N(0));
            a.insert(counter::CHANGED.into(), Value::N(now));
            Write::Put {
                table: Table::Meta,
                key: counter_key(ino, k),
                attrs: a,
                cond: None,
            }
        })
        .collect()
}

/// What stands in the way of a new file system in ready tables, if anything.
async fn existing(store: &dyn Store) -> Result<Option<MkfsError>, StoreError> {
    let table = store.table_name(Table::Meta);
    match Superblock::load(store).await {
        Ok(sb) => Ok(Some(MkfsError::Exists {
            table,
            fs_id: sb.fs_id,
            created: format_time(sb.created),
        })),
        Err(SuperblockError::Missing { .. }) => {
            // Tables without a superblock: empty ones are ours to use (a
            // previous mkfs stopped after creating them); others are not.
            let page = store.scan(Table::Meta, None, 1).await?;
            Ok(page.items.first().map(|i| MkfsError::Damaged {
                table: table.clone(),
                why: format!("it holds items (e.g. {}) but no superblock", i.key),
            }))
        }
        Err(SuperblockError::UnknownFormat { found, .. }) => Ok(Some(MkfsError::Exists {
            table,
            fs_id: format!("unknown, format {found}"),
            created: "at an unknown time".into(),
        })),
        Err(SuperblockError::Damaged { why, .. }) => Ok(Some(MkfsError::Damaged { table, why })),
        Err(SuperblockError::Store(e)) => Err(e),
    }
}

/// RFC 3339-like UTC time, without pulling in a date crate for one message.
pub fn format_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_time(1_700_000_000 * 1_000_000_000),
            "2023-11-14 22:13:20 UTC"
        );
    }

    #[test]
    fn block_sizes() {
        assert!(valid_block_size(4096));
        assert!(valid_block_size(256 * 1024));
        assert!(!valid_block_size(512 * 1024));
        assert!(!valid_block_size(100_000));
    }
}
