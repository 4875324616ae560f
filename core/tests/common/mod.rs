//! Shared test setup: fresh stores on both backends.
//!
//! The DynamoDB-backed tests talk to a real DynamoDB-compatible server
//! (moto, started by scripts/test) through the real aws-sdk client. They fail
//! loudly when no server is configured: they never skip.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use dynamofs_core::fs::{Fs, FsOptions};
use dynamofs_core::mkfs::{mkfs, MkfsOptions};
use dynamofs_core::store::{
    self, Billing, Counters, DynamoConfig, DynamoStore, SqliteStore, Store,
};

/// The endpoint of the test DynamoDB server.
pub fn endpoint() -> String {
    match std::env::var("DYNAMOFS_TEST_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "DYNAMOFS_TEST_ENDPOINT is not set: these tests need a DynamoDB-compatible server. \
             Run them with scripts/test, which installs and starts moto."
        ),
    }
}

/// A table name no other test uses. The test server drops it once this
/// process has exited (it names its owner: `-pidN-`).
pub fn unique_table(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-pid{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

pub fn set_test_credentials() {
    // Test credentials for the local server; never real ones.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
}

/// Connect to a new, not yet created table pair on the test server.
pub async fn dynamo_uncreated(prefix: &str) -> DynamoStore {
    set_test_credentials();
    let cfg = DynamoConfig {
        region: Some("us-east-1".into()),
        table: unique_table(prefix),
        endpoint: Some(endpoint()),
        profile: None,
    };
    match DynamoStore::connect(&cfg).await {
        Ok(s) => s,
        Err(e) => panic!(
            "cannot connect to the test DynamoDB server at {}: {e}",
            endpoint()
        ),
    }
}

/// A fresh, created table pair on the test server.
pub async fn dynamo() -> Arc<dyn Store> {
    let s = dynamo_uncreated("t").await;
    if let Err(e) = s.create_tables(Billing::OnDemand).await {
        panic!("cannot create test tables at {}: {e}", endpoint());
    }
    Arc::new(s)
}

/// A fresh in-memory embedded store with its tables.
pub async fn sqlite() -> Arc<dyn Store> {
    let s = SqliteStore::memory().expect("in-memory sqlite");
    s.create_tables(Billing::OnDemand)
        .await
        .expect("create sqlite tables");
    Arc::new(s)
}

/// mkfs with a root that every test user may write (0777).
#[allow(dead_code)] // not every test binary makes its own
pub async fn mkfs_open_root(store: &dyn Store) {
    mkfs_with_blocks(store, MkfsOptions::default().block_size).await;
}

/// [`mkfs_open_root`] with blocks of `block_size` bytes (small ones let a
/// test span many blocks with little data).
#[allow(dead_code)]
pub async fn mkfs_with_blocks(store: &dyn Store, block_size: u32) {
    mkfs(
        store,
        &MkfsOptions {
            block_size,
            root_mode: 0o777,
            ..Default::default()
        },
        &|_: &str| {},
    )
    .await
    .expect("mkfs");
}

/// A fresh file system over `backend` (root 0777), with a request counter
/// under it, reset after mkfs and open.
pub async fn counted_fs(backend: Arc<dyn Store>, opts: FsOptions) -> (Fs, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let s = store::stack(backend, &counters);
    mkfs_open_root(s.as_ref()).await;
    let fs = Fs::open(s, opts).await.expect("open");
    counters.reset();
    (fs, counters)
}

/// Turn each `async fn NAME(store: Arc<dyn Store>)` into two tests,
/// `sqlite::NAME` and `dynamo::NAME`, one per backend.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name($crate::common::sqlite().await).await })*
        }
        mod dynamo {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name($crate::common::dynamo().await).await })*
        }
    };
}
