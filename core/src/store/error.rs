//! Typed store errors. Retry decisions and errno mapping match on these
//! variants, never on message text.

use super::types::Key;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold. `index` is the position of the failing write
    /// in a transaction (None for single writes).
    #[error("condition failed on item {key}{}", index.map(|i| format!(" (write #{i} of the transaction)")).unwrap_or_default())]
    ConditionFailed { index: Option<usize>, key: Key },

    /// Another transaction touched one of the items at the same time.
    #[error("transaction conflict: another request changed the same items concurrently")]
    TransactionConflict,

    /// The store is still applying an earlier attempt of this transaction
    /// (same request token): its outcome is not known yet. Not a refusal:
    /// the answer is to wait and ask again with the same token.
    #[error("an earlier attempt of this transaction is still in progress in the store")]
    TransactionInProgress,

    #[error("throttled by the store: {0}")]
    Throttled(String),

    #[error("item {key} is {size} bytes, over the 400 KB item limit")]
    ItemTooLarge { key: Key, size: usize },

    #[error("table {table} does not exist{}", hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    TableMissing { table: String, hint: Option<String> },

    #[error("access denied: {0}")]
    AccessDenied(String),

    #[error("no usable AWS credentials: {0}")]
    Credentials(String),

    #[error("cannot reach the store: {0}")]
    Network(String),

    #[error("request timed out: {0}")]
    Timeout(String),

    #[error("{0}")]
    Invalid(String),

    #[error("corrupted item {key}: {why}")]
    Corrupt { key: Key, why: String },

    #[error("store error: {0}")]
    Other(String),
}

impl StoreError {
    /// Transient: the same request may succeed if sent again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Throttled(_)
                | StoreError::Network(_)
                | StoreError::Timeout(_)
                | StoreError::TransactionInProgress
        )
    }

    /// The request may have been applied although it reported failure: no
    /// answer came back (a timeout, or a connection that broke), or the
    /// store was still applying it.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            StoreError::Network(_) | StoreError::Timeout(_) | StoreError::TransactionInProgress
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
