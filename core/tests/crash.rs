//! What a client that dies in the middle of an operation leaves for the
//! others: every byte any client reads afterwards is one the file held
//! before the operation or one it holds after it, never zeros in place of
//! data. Found by scripts/chaos (a mount killed with SIGKILL during a
//! truncate); the store here dies at the worst moment on purpose.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dynamofs_core::caller::Caller;
use dynamofs_core::fs::{Fs, FsOptions, OpenMode, SetAttr};
use dynamofs_core::mkfs::{mkfs, MkfsOptions};
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::{
    self, Backoff, BatchWrite, Billing, Counters, Counting, Item, Key, Page, Query, Retrying,
    ScanPage, Store, StoreError, StoreResult, Table, TableState, Token, Write,
};

const BS: usize = 4096;

/// A client's view of the store that goes dark (as when its process is
/// killed) at the first request `fatal` picks once armed: that request and
/// every later one fail without reaching the store.
struct Dies {
    inner: Arc<dyn Store>,
    armed: AtomicBool,
    dead: AtomicBool,
    fatal: fn(&Write) -> bool,
}

impl Dies {
    fn check(&self) -> StoreResult<()> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(StoreError::Network("the client was killed".into()));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for Dies {
    async fn get(&self, t: Table, k: &Key, c: bool) -> StoreResult<Option<Item>> {
        self.check()?;
        self.inner.get(t, k, c).await
    }
    async fn batch_get(&self, t: Table, k: &[Key], c: bool) -> StoreResult<Vec<Option<Item>>> {
        self.check()?;
        self.inner.batch_get(t, k, c).await
    }
    async fn query(&self, q: &Query) -> StoreResult<Page> {
        self.check()?;
        self.inner.query(q).await
    }
    async fn write(&self, w: &Write) -> StoreResult<()> {
        if self.armed.load(Ordering::SeqCst) && (self.fatal)(w) {
            self.dead.store(true, Ordering::SeqCst);
        }
        self.check()?;
        self.inner.write(w).await
    }
    async fn transact(&self, w: &[Write], token: &Token) -> StoreResult<()> {
        if self.armed.load(Ordering::SeqCst) && w.iter().any(self.fatal) {
            self.dead.store(true, Ordering::SeqCst);
        }
        self.check()?;
        self.inner.transact(w, token).await
    }
    async fn batch_write(&self, t: Table, w: &[BatchWrite]) -> StoreResult<()> {
        self.check()?;
        self.inner.batch_write(t, w).await
    }
    async fn scan(&self, t: Table, after: Option<&Key>, n: usize) -> StoreResult<ScanPage> {
        self.check()?;
        self.inner.scan(t, after, n).await
    }
    async fn table_state(&self, t: Table) -> StoreResult<TableState> {
        self.inner.table_state(t).await
    }
    async fn create_tables(&self, b: Billing) -> StoreResult<()> {
        self.inner.create_tables(b).await
    }
    async fn delete_tables(&self) -> StoreResult<()> {
        self.inner.delete_tables().await
    }
    fn table_name(&self, t: Table) -> String {
        self.inner.table_name(t)
    }
}

/// An update of a metadata item: how a size change is stored.
fn metadata_update(w: &Write) -> bool {
    matches!(
        w,
        Write::Update {
            table: Table::Meta,
            ..
        }
    )
}

const RW: OpenMode = OpenMode {
    read: true,
    write: true,
    append: false,
    truncate: false,
};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 + 1).collect()
}

/// A truncation to a shorter, non-zero size whose client dies before the
/// new size is stored: the file must read as before or as after (its old
/// bytes up to whichever size the store holds), not as its old size with
/// zeros where the cut blocks were.
async fn truncate_interrupted_before_the_size(backend: Arc<dyn Store>) {
    let dies = Arc::new(Dies {
        inner: Arc::clone(&backend),
        armed: AtomicBool::new(false),
        dead: AtomicBool::new(false),
        fatal: metadata_update,
    });
    let fast = Backoff {
        first: Duration::from_millis(1),
        max: Duration::from_millis(5),
        attempts: 3,
        patience: Duration::from_millis(100),
    };
    let doomed: Arc<dyn Store> = Arc::new(Retrying::new(
        Counting::new(
            Arc::clone(&dies) as Arc<dyn Store>,
            Arc::new(Counters::default()),
        ),
        fast,
    ));
    let opts = MkfsOptions {
        block_size: BS as u32,
        ..Default::default()
    };
    mkfs(doomed.as_ref(), &opts, &|_: &str| {})
        .await
        .expect("mkfs");
    let a = Fs::open(Arc::clone(&doomed), FsOptions::default())
        .await
        .expect("client a");
    let c = Caller::root();
    let (f, _) = a
        .create(&c, ROOT_INO, b"f", 0o644, true)
        .await
        .expect("create");
    let old = data(5 * BS);
    let fh = a.open_file(&c, f.ino, RW).await.expect("open");
    a.write(fh, 0, &old).await.expect("write");
    a.fsync(fh).await.expect("fsync");
    a.release(fh).await.expect("close");
    a.settle().await;

    dies.armed.store(true, Ordering::SeqCst);
    let cut = BS + 100;
    let r = a
        .setattr(
            &c,
            f.ino,
            &SetAttr {
                size: Some(cut as u64),
                ..Default::default()
            },
        )
        .await;
    assert!(r.is_err(), "the client died during the truncate");

    // Another client, after the death.
    let stacked = store::stack(Arc::clone(&backend), &Arc::new(Counters::default()));
    let b = Fs::open(stacked, FsOptions::default())
        .await
        .expect("client b");
    let got = b.lookup(&c, ROOT_INO, b"f").await.expect("lookup");
    let fh = b
        .open_file(&c, got.ino, OpenMode { write: false, ..RW })
        .await
        .expect("open");
    let bytes = b.read(fh, 0, 1 << 20).await.expect("read");
    assert!(
        bytes.len() == old.len() || bytes.len() == cut,
        "size {} is neither before nor after",
        bytes.len()
    );
    if let Some(i) = bytes.iter().zip(&old).position(|(x, y)| x != y) {
        panic!(
            "a truncation from {} to {cut} bytes whose client died left {} bytes, \
             reading {} at {i} where the file held {}",
            old.len(),
            bytes.len(),
            bytes[i],
            old[i]
        );
    }
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread")]
    async fn truncate_interrupted_before_the_size() {
        super::truncate_interrupted_before_the_size(crate::common::sqlite().await).await
    }
}

mod moto {
    #[tokio::test(flavor = "multi_thread")]
    async fn truncate_interrupted_before_the_size() {
        super::truncate_interrupted_before_the_size(crate::common::dynamo().await).await
    }
}
