//! Write-behind on both stores: a sequential writer's full blocks are
//! stored before its flush, each exactly once; a random writer's are not
//! sent early (each early send would be a request more); a block written
//! again while in flight ends up with its last bytes; and when another
//! client truncates the file meanwhile, the flush stores everything again
//! under the new generation, so nothing sent ahead is lost or left behind.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dynamofs_core::caller::Caller;
use dynamofs_core::check::check;
use dynamofs_core::fs::{Fs, FsOptions, OpenMode, SetAttr};
use dynamofs_core::locks::{LockRequest, LockType, Locks};
use dynamofs_core::mkfs::{mkfs, MkfsOptions};
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::session::{Session, DEFAULT_TTL};
use dynamofs_core::store::{self, Counters, RequestKind, Store};

const BS: usize = 64 << 10;

const RW: OpenMode = OpenMode {
    read: true,
    write: true,
    append: false,
    truncate: false,
};

async fn fresh(backend: Arc<dyn Store>) -> (Fs, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let s = store::stack(backend, &counters);
    let opts = MkfsOptions {
        block_size: BS as u32,
        compression: "none".into(),
        ..Default::default()
    };
    mkfs(s.as_ref(), &opts, &|_: &str| {}).await.expect("mkfs");
    let fs = Fs::open(s, FsOptions::default()).await.expect("open");
    counters.reset();
    (fs, counters)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(31)
                .wrapping_add(seed ^ (i >> 16) as u8)
        })
        .collect()
}

fn puts(n: &Counters) -> u64 {
    n.get(RequestKind::PutItem).requests
}

/// Wait (up to ten seconds) until `n` has made `want` PutItems.
async fn puts_reach(n: &Counters, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while puts(n) < want {
        assert!(
            Instant::now() < deadline,
            "{} of {want} blocks stored before the flush",
            puts(n)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn create(fs: &Fs, name: &[u8]) -> (u64, u64) {
    let c = Caller::root();
    let (a, _) = fs
        .create(&c, ROOT_INO, name, 0o644, true)
        .await
        .expect("create");
    let fh = fs.open_file(&c, a.ino, RW).await.expect("open");
    (a.ino, fh)
}

/// What a new client reads of the file.
async fn read_back(backend: &Arc<dyn Store>, ino: u64) -> Vec<u8> {
    let fs = Fs::open(Arc::clone(backend), FsOptions::default())
        .await
        .expect("reader");
    let fh = fs
        .open_file(
            &Caller::root(),
            ino,
            OpenMode {
                read: true,
                ..Default::default()
            },
        )
        .await
        .expect("open");
    let data = fs.read(fh, 0, 1 << 30).await.expect("read");
    fs.release(fh).await.expect("release");
    data
}

async fn clean(backend: &Arc<dyn Store>) {
    let report = check(backend.as_ref()).await.expect("check");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn sequential_blocks_go_ahead(backend: Arc<dyn Store>) {
    let (fs, n) = fresh(Arc::clone(&backend)).await;
    let (ino, fh) = create(&fs, b"seq").await;
    n.reset();
    let data = pattern(20 * BS + 1000, 1);
    for (k, chunk) in data.chunks(128 << 10).enumerate() {
        let at = (k * (128 << 10)) as u64;
        fs.write(fh, at, chunk).await.expect("write");
    }
    // Every full block is on its way without a flush.
    puts_reach(&n, 20).await;
    fs.release(fh).await.expect("close");
    assert_eq!(
        puts(&n),
        20,
        "each block is stored once: {:?}",
        n.snapshot()
    );
    assert_eq!(
        n.total_requests(),
        21,
        "and the tail goes with the size: {:?}",
        n.snapshot()
    );
    assert_eq!(read_back(&backend, ino).await, data);
    clean(&backend).await;
}

async fn random_blocks_wait_for_the_flush(backend: Arc<dyn Store>) {
    let (fs, n) = fresh(Arc::clone(&backend)).await;
    let (ino, fh) = create(&fs, b"random").await;
    let mut data = pattern(8 * BS, 2);
    fs.write(fh, 0, &data).await.expect("write");
    fs.release(fh).await.expect("close");
    let fh = fs.open_file(&Caller::root(), ino, RW).await.expect("open");
    n.reset();
    for k in [5u64, 1, 7, 3, 6, 2] {
        let at = k * BS as u64 + 4096 * k;
        fs.write(fh, at, &[k as u8; 4096]).await.expect("write");
        data[at as usize..at as usize + 4096].fill(k as u8);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        puts(&n),
        0,
        "nothing sent before the flush: {:?}",
        n.snapshot()
    );
    fs.release(fh).await.expect("close");
    assert_eq!(puts(&n), 6, "{:?}", n.snapshot());
    assert_eq!(read_back(&backend, ino).await, data);
    clean(&backend).await;
}

async fn rewritten_in_flight_keeps_the_last_bytes(backend: Arc<dyn Store>) {
    let (fs, _) = fresh(Arc::clone(&backend)).await;
    let (ino, fh) = create(&fs, b"again").await;
    let first = pattern(4 * BS, 3);
    let second = pattern(4 * BS, 4);
    // The second pass covers whole blocks, so it is sent too, while the
    // first may still be in flight.
    fs.write(fh, 0, &first).await.expect("write");
    fs.write(fh, 0, &second).await.expect("write");
    fs.write(fh, BS as u64, &first[BS..2 * BS])
        .await
        .expect("write");
    fs.release(fh).await.expect("close");
    let mut want = second.clone();
    want[BS..2 * BS].copy_from_slice(&first[BS..2 * BS]);
    assert_eq!(read_back(&backend, ino).await, want);
    clean(&backend).await;
}

async fn truncated_elsewhere_meanwhile(backend: Arc<dyn Store>) {
    let (a, n) = fresh(Arc::clone(&backend)).await;
    let b = Fs::open(Arc::clone(a.store()), FsOptions::default())
        .await
        .expect("client b");
    let (ino, fh) = create(&a, b"cut").await;
    let data = pattern(12 * BS, 5);
    a.write(fh, 0, &data[..8 * BS]).await.expect("write");
    puts_reach(&n, 8).await;
    // Another client empties the file: a new generation, while this one
    // has 8 blocks stored under the old one and more to write.
    let zero = SetAttr {
        size: Some(0),
        ..Default::default()
    };
    b.setattr(&Caller::root(), ino, &zero)
        .await
        .expect("truncate");
    a.write(fh, 8 * BS as u64, &data[8 * BS..])
        .await
        .expect("write");
    a.release(fh).await.expect("close");
    assert_eq!(
        read_back(&backend, ino).await,
        data,
        "all of it, under the new generation"
    );
    // The old generation's blocks are named for collection, not leaked.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = check(backend.as_ref()).await.expect("check");
        if report.problems.is_empty() && report.notes.is_empty() {
            break;
        }
        assert!(
            report.problems.is_empty() && Instant::now() < deadline,
            "{:?} {:?}",
            report.problems,
            report.notes
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Data under a lock this client holds goes at the unlock or close, as
/// before write-behind, fenced by the lock: never from a plain request a
/// stall could hold back past the lease.
async fn locked_writers_wait_for_the_unlock(backend: Arc<dyn Store>) {
    let (fs, n) = fresh(Arc::clone(&backend)).await;
    let session = Session::register(Arc::clone(fs.store()), "/mnt/behind", DEFAULT_TTL)
        .await
        .expect("session");
    let locks = Arc::new(Locks::new(session));
    fs.attach_locks(Arc::clone(&locks));
    let (ino, fh) = create(&fs, b"locked").await;
    locks
        .setlk(
            ino,
            &LockRequest::posix(LockType::Write, 0, u64::MAX, 7, 4321),
        )
        .await
        .expect("lock");
    n.reset();
    let data = pattern(6 * BS, 6);
    fs.write(fh, 0, &data).await.expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        puts(&n),
        0,
        "nothing sent under the lock: {:?}",
        n.snapshot()
    );
    fs.release(fh).await.expect("close");
    // At the close: the six blocks in one transaction fenced by the lock
    // (see tests/fence.rs), then the size, fenced too.
    assert_eq!(puts(&n), 0, "{:?}", n.snapshot());
    assert_eq!(
        n.get(RequestKind::TransactWriteItems).items,
        9,
        "{:?}",
        n.snapshot()
    );
    assert_eq!(read_back(&backend, ino).await, data);
}

both_stores!(
    locked_writers_wait_for_the_unlock,
    sequential_blocks_go_ahead,
    random_blocks_wait_for_the_flush,
    rewritten_in_flight_keeps_the_last_bytes,
    truncated_elsewhere_meanwhile,
);
