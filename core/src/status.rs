//! What an operator looks at first (`dynamofs status`): the superblock's
//! settings, both tables' state and billing, and the sessions of the mounts
//! that use the file system, read in a handful of requests (one GetItem,
//! one describe per table, the sessions' Query) and never a scan, so it
//! can run as often as a monitoring check likes. `stats` keeps the full
//! scan for counts.

use crate::error::FsResult;
use crate::locks::Locks;
use crate::session::{Session, SessionInfo};
use crate::store::{Store, Table, TableInfo, TableState};
use crate::superblock::Superblock;

pub struct TableStatus {
    pub table: Table,
    pub name: String,
    pub state: TableState,
    pub info: TableInfo,
}

pub struct Status {
    pub superblock: Superblock,
    pub tables: Vec<TableStatus>,
    /// Every session item, live or expired, oldest first.
    pub sessions: Vec<SessionInfo>,
    /// Inodes each session's lock index names, by session id (one Query per
    /// session): where it may hold locks.
    pub locked: Vec<(String, usize)>,
}

/// The status of the file system whose superblock (loaded by the caller,
/// which words its errors) is `superblock`.
pub async fn gather(store: &dyn Store, superblock: Superblock) -> FsResult<Status> {
    let mut tables = Vec::new();
    for table in Table::ALL {
        tables.push(TableStatus {
            table,
            name: store.table_name(table),
            state: store.table_state(table).await?,
            info: store.table_info(table).await?,
        });
    }
    let mut sessions = Session::list(store).await?;
    sessions.sort_by_key(|s| s.started);
    let mut locked = Vec::new();
    for s in &sessions {
        locked.push((
            s.id.clone(),
            Locks::session_inodes(store, &s.id).await?.len(),
        ));
    }
    Ok(Status {
        superblock,
        tables,
        sessions,
        locked,
    })
}
