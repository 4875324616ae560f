//! Deleting a file system for good (`dynamofs destroy`): both tables, and
//! for the embedded store the database file with its WAL. Refused while a
//! mount's session is live unless forced: the mount would go on serving
//! what it caches and fail every write it is given.

use std::path::Path;

use crate::error::FsError;
use crate::session::{Session, SessionInfo};
use crate::store::{Source, Store, StoreError, Table, TableState};
use crate::superblock::{now_ns, Superblock, SuperblockError};

/// What a destroy would delete, for the confirmation.
pub struct Survey {
    /// `None` when the tables hold no (readable) superblock: a half-made
    /// mkfs, or tables of something else.
    pub superblock: Option<Superblock>,
    /// The tables that exist, by name.
    pub tables: Vec<String>,
    /// Sessions whose lease has not run out (by their own clocks).
    pub live: Vec<SessionInfo>,
}

impl Survey {
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    #[error("{} mount(s) of this file system are live ({}); unmount them first, or pass --force (they then fail every request)",
        .0.len(), describe(.0))]
    Live(Vec<SessionInfo>),
    #[error("cannot remove {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(live: &[SessionInfo]) -> String {
    live.iter()
        .map(|s| format!("{} on {} (pid {})", s.mountpoint, s.host, s.pid))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Look at what is there: the tables, the superblock, the live sessions.
pub async fn survey(store: &dyn Store) -> Result<Survey, DestroyError> {
    let mut tables = Vec::new();
    for t in Table::ALL {
        if store.table_state(t).await? != TableState::Missing {
            tables.push(store.table_name(t));
        }
    }
    if tables.is_empty() {
        return Ok(Survey {
            superblock: None,
            tables,
            live: Vec::new(),
        });
    }
    let superblock = match Superblock::load(store).await {
        Ok(sb) => Some(sb),
        Err(SuperblockError::Store(e)) => return Err(e.into()),
        Err(_) => None,
    };
    let now = now_ns();
    let live = match Session::list(store).await {
        Ok(all) => all.into_iter().filter(|s| !s.is_expired(now)).collect(),
        // Tables of something else: no sessions to protect.
        Err(_) if superblock.is_none() => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(Survey {
        superblock,
        tables,
        live,
    })
}

/// Delete the file system `store` serves (opened from `source`). Live
/// sessions are looked for again here, right before the deletion, so a
/// mount that started after the confirmation is not cut off unless
/// `force`.
pub async fn destroy(source: &Source, store: &dyn Store, force: bool) -> Result<(), DestroyError> {
    let now = survey(store).await?;
    if !force && !now.live.is_empty() {
        return Err(DestroyError::Live(now.live));
    }
    store.delete_tables().await?;
    if let Source::Sqlite { path } = source {
        remove_database(path)?;
    }
    Ok(())
}

/// The embedded store's file and the WAL files SQLite keeps beside it.
fn remove_database(path: &Path) -> Result<(), DestroyError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DestroyError::File {
                    path: Path::new(&p).display().to_string(),
                    source: e,
                })
            }
        }
    }
    Ok(())
}
