//! The store layer: one narrow, DynamoDB-shaped trait and its backends.
//!
//! File system logic is written once against [`Store`]; the DynamoDB backend
//! and the embedded SQLite backend both pass the same contract suite
//! (`core/tests/contract.rs`). Wrappers add request counting, fault
//! injection and retries without the backends knowing.

mod counting;
pub mod damaged;
mod dynamo;
mod error;
pub mod faults;
mod retry;
mod source;
mod sqlite;
mod types;

use async_trait::async_trait;

pub use counting::{Counters, Counting, KindTotals, RequestKind, RetryReason};
pub use dynamo::{DynamoConfig, DynamoStore};
pub use error::{StoreError, StoreResult};
pub use faults::{Fault, FaultSpec, Faults, Injected, InjectedCounts, FAULTS_ENV};
pub use retry::{Backoff, Retrying};
pub use source::{open, stack, stack_with_faults, Opened, Source, SourceError, StoreOptions};
pub use sqlite::SqliteStore;
pub use types::*;

/// The operations the file system needs from a store, and nothing more.
///
/// Single-item reads and writes, one-partition queries and all-or-nothing
/// transactions of up to [`MAX_TRANSACTION_ITEMS`] conditional writes.
/// Backends report failures as typed [`StoreError`]s.
#[async_trait]
pub trait Store: Send + Sync {
    /// Read one item.
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>>;

    /// Read many items; the result is in the order of `keys`. Any number of
    /// keys: the backend splits them into requests of at most
    /// [`MAX_BATCH_GET`] and retries unprocessed keys.
    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>>;

    /// One page of a query of one partition.
    async fn query(&self, q: &Query) -> StoreResult<Page>;

    /// One conditional single-item write (put, update or delete).
    async fn write(&self, w: &Write) -> StoreResult<()>;

    /// Apply all writes or none. Conditions are evaluated against the state
    /// before the transaction. At most one write per key.
    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()>;

    /// Unconditional puts and deletes; any number, split into requests of at
    /// most [`MAX_BATCH_WRITE`], unprocessed items retried by the backend.
    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()>;

    /// One page of a scan of a whole table. Only fsck and stats scan.
    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage>;

    /// Whether each table exists, and with the expected key schema.
    async fn table_state(&self, table: Table) -> StoreResult<TableState>;

    /// Billing and the store's own item count of a table (one describe, no
    /// scan). Stores with nothing to say keep the default.
    async fn table_info(&self, _table: Table) -> StoreResult<TableInfo> {
        Ok(TableInfo::default())
    }

    /// Create both tables and wait until they are usable.
    async fn create_tables(&self, billing: Billing) -> StoreResult<()>;

    /// Delete both tables (mkfs --force over a foreign or damaged layout).
    async fn delete_tables(&self) -> StoreResult<()>;

    /// Change a setting of both tables (`dynamofs config`) and wait until
    /// they are usable again. Stores that bill nothing refuse.
    async fn update_tables(&self, _change: TableChange) -> StoreResult<()> {
        Err(StoreError::Invalid(
            "this store has no table settings to change: only DynamoDB tables have a capacity mode and a table class".into(),
        ))
    }

    /// Human-readable name of the backing table (for messages).
    fn table_name(&self, table: Table) -> String;
}

/// A shared store is a store: wrappers and file system instances hold
/// `Arc<dyn Store>`.
#[async_trait]
impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    async fn get(&self, table: Table, key: &Key, consistent: bool) -> StoreResult<Option<Item>> {
        (**self).get(table, key, consistent).await
    }
    async fn batch_get(
        &self,
        table: Table,
        keys: &[Key],
        consistent: bool,
    ) -> StoreResult<Vec<Option<Item>>> {
        (**self).batch_get(table, keys, consistent).await
    }
    async fn query(&self, q: &Query) -> StoreResult<Page> {
        (**self).query(q).await
    }
    async fn write(&self, w: &Write) -> StoreResult<()> {
        (**self).write(w).await
    }
    async fn transact(&self, writes: &[Write], token: &Token) -> StoreResult<()> {
        (**self).transact(writes, token).await
    }
    async fn batch_write(&self, table: Table, writes: &[BatchWrite]) -> StoreResult<()> {
        (**self).batch_write(table, writes).await
    }
    async fn scan(
        &self,
        table: Table,
        start_after: Option<&Key>,
        limit: usize,
    ) -> StoreResult<ScanPage> {
        (**self).scan(table, start_after, limit).await
    }
    async fn table_state(&self, table: Table) -> StoreResult<TableState> {
        (**self).table_state(table).await
    }
    async fn table_info(&self, table: Table) -> StoreResult<TableInfo> {
        (**self).table_info(table).await
    }
    async fn create_tables(&self, billing: Billing) -> StoreResult<()> {
        (**self).create_tables(billing).await
    }
    async fn delete_tables(&self) -> StoreResult<()> {
        (**self).delete_tables().await
    }
    async fn update_tables(&self, change: TableChange) -> StoreResult<()> {
        (**self).update_tables(change).await
    }
    fn table_name(&self, table: Table) -> String {
        (**self).table_name(table)
    }
}
