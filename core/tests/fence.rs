//! Data written under a lock is fenced by that lock, on both stores: once
//! another client has taken the lock over (it judged this one dead: a
//! stall past the lease, a partition), a flush of what this client wrote
//! under it stores nothing and answers EIO, even if this client's own
//! clock has not yet noticed that its lease lapsed. Without the fence a
//! stalled holder that resumes mid-flush overwrote the next holder's
//! appends with its older copy of the block (chaos: spool records lost,
//! a line of zeros).
//!
//! "Another client judged it dead" is made exact here with the operator's
//! break of the session's locks, which writes what a lock taker writes
//! when it drops a dead session's locks: the records and the session's
//! index item, in one transaction.

mod common;

use std::sync::Arc;
use std::time::Duration;

use dynamofs_core::caller::Caller;
use dynamofs_core::client::Client;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Allocate, FsOptions, OpenMode, SetAttr};
use dynamofs_core::locks::{LockRequest, LockType, Locks, TO_EOF};
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::Store;

const RW: OpenMode = OpenMode {
    read: true,
    write: true,
    append: false,
    truncate: false,
};

async fn start(store: &Arc<dyn Store>, name: &str) -> Client {
    Client::start(
        Arc::clone(store),
        FsOptions::default(),
        name,
        Duration::from_secs(30),
    )
    .await
    .expect("client")
}

fn lock(owner: u64) -> LockRequest {
    LockRequest::posix(LockType::Write, 0, TO_EOF, owner, 4000 + owner as u32)
}

fn record(who: &str, n: usize) -> Vec<u8> {
    let mut r = format!("{who} record {n}").into_bytes();
    r.resize(60, b'.');
    r.push(b'\n');
    r
}

/// Everything a client that opens the file now reads.
async fn contents(c: &Client, ino: u64) -> Vec<u8> {
    let fh =
        c.fs.open_file(&Caller::root(), ino, RW)
            .await
            .expect("open to read");
    let data = c.fs.read(fh, 0, 1 << 24).await.expect("read");
    c.fs.release(fh).await.expect("close");
    data
}

/// A spool of `initial` bytes; client a locks it and writes a record at
/// its end (the "seek" appender), then loses the lock to b, which appends
/// its own record under it. a's flush must fail and store nothing.
async fn stale_holder_stores_nothing(store: &Arc<dyn Store>, initial: usize) {
    let a = start(store, "/mnt/a").await;
    let b = start(store, "/mnt/b").await;
    let root = Caller::root();
    let name = format!("spool{initial}");
    let (attr, _) =
        a.fs.create(&root, ROOT_INO, name.as_bytes(), 0o644, true)
            .await
            .expect("create");
    let ino = attr.ino;
    let seed: Vec<u8> = (0..initial).map(|i| b'a' + (i % 26) as u8).collect();
    let fh = a.fs.open_file(&root, ino, RW).await.expect("open");
    a.fs.write(fh, 0, &seed).await.expect("seed");
    a.fs.flush(fh).await.expect("flush seed");

    a.locks.setlk(ino, &lock(1)).await.expect("a locks");
    let mine = record("a", 1);
    a.fs.write(fh, initial as u64, &mine)
        .await
        .expect("a writes");

    // b finds a's session dead and drops its locks, as a lock taker does.
    let dropped = Locks::break_session(store.as_ref(), &a.session.id())
        .await
        .expect("drop a's locks");
    assert_eq!(dropped, 1);
    b.locks.setlk(ino, &lock(2)).await.expect("b locks");
    assert!(b.fs.revalidate(ino).await.is_ok());
    let theirs = record("b", 1);
    let bfh = b.fs.open_file(&root, ino, RW).await.expect("b opens");
    b.fs.write(bfh, initial as u64, &theirs)
        .await
        .expect("b appends");
    b.fs.flush(bfh).await.expect("b flushes");
    b.locks
        .unlock(ino, dynamofs_core::locks::LockKind::Posix, 2, 0, TO_EOF)
        .await
        .expect("b unlocks");
    b.fs.release(bfh).await.expect("b closes");

    // a's lease is valid by its own clock: only the fence can stop it.
    assert!(a.session.lease_valid());
    let err = a.fs.flush(fh).await.expect_err("a's flush must fail");
    assert_eq!(err.errno(), Errno::EIO, "{err}");
    assert!(
        !a.locks.holds(ino),
        "a knows it no longer holds a lock there"
    );
    // The handle stays failed: what was written under the lost lock is
    // gone, and saying so once is not enough for a later write.
    let again = a.fs.write(fh, 0, b"x").await.expect_err("handle failed");
    assert_eq!(again.errno(), Errno::EIO);
    a.fs.release(fh).await.expect("a closes");

    let mut want = seed.clone();
    want.extend_from_slice(&theirs);
    both_read_then_stop(
        a,
        b,
        ino,
        &want,
        &format!("b's record survives, a's never lands (initial {initial})"),
    )
    .await;
}

/// Both clients, opening the file now, read `want`; then both stop.
async fn both_read_then_stop(a: Client, b: Client, ino: u64, want: &[u8], why: &str) {
    for c in [&a, &b] {
        assert!(contents(c, ino).await == want, "{why}");
    }
    a.stop().await.expect("a stops");
    b.stop().await.expect("b stops");
}

async fn fresh(store: &Arc<dyn Store>) {
    common::mkfs_open_root(store.as_ref()).await;
}

/// A small file: block and size go in one transaction.
async fn small_file(store: Arc<dyn Store>) {
    fresh(&store).await;
    stale_holder_stores_nothing(&store, 1000).await;
}

/// Past the size of a block that rides with the size: blocks go first,
/// then the size.
async fn large_file(store: Arc<dyn Store>) {
    fresh(&store).await;
    stale_holder_stores_nothing(&store, 20_000).await;
    stale_holder_stores_nothing(&store, 600_000).await;
}

/// A client that unlocked by itself, with data written after its flush
/// at the unlock, still stores that data at close: the fence stops only
/// data whose lock was taken away.
async fn own_unlock_keeps_later_data(store: Arc<dyn Store>) {
    fresh(&store).await;
    let a = start(&store, "/mnt/a").await;
    let root = Caller::root();
    let (attr, _) =
        a.fs.create(&root, ROOT_INO, b"f", 0o644, true)
            .await
            .expect("create");
    let fh = a.fs.open_file(&root, attr.ino, RW).await.expect("open");
    a.locks.setlk(attr.ino, &lock(1)).await.expect("lock");
    a.fs.write(fh, 0, &[7u8; 30_000]).await.expect("write");
    // Written under the lock, unlocked without a flush in between (two
    // threads of one process racing their own unlock).
    a.locks
        .unlock(
            attr.ino,
            dynamofs_core::locks::LockKind::Posix,
            1,
            0,
            TO_EOF,
        )
        .await
        .expect("unlock");
    a.fs.release(fh).await.expect("close stores it");
    assert_eq!(contents(&a, attr.ino).await, vec![7u8; 30_000]);
    a.stop().await.expect("stop");
}

/// What a stalled holder tries on the file after its lock was taken over.
#[derive(Clone, Copy, Debug)]
enum Cut {
    Truncate(u64),
    PunchHole,
}

/// As `stale_holder_stores_nothing`, for a change of size or data that a
/// holder makes directly (ftruncate, fallocate): once b has appended under
/// the lock it took over, a's change answers EIO and cuts nothing of b's.
async fn stale_holder_cuts_nothing(store: Arc<dyn Store>) {
    fresh(&store).await;
    for (n, cut) in [
        Cut::Truncate(0),
        Cut::Truncate(100),
        Cut::Truncate(50_000),
        Cut::PunchHole,
    ]
    .into_iter()
    .enumerate()
    {
        let a = start(&store, "/mnt/a").await;
        let b = start(&store, "/mnt/b").await;
        let root = Caller::root();
        let name = format!("cut{n}");
        let (attr, _) =
            a.fs.create(&root, ROOT_INO, name.as_bytes(), 0o644, true)
                .await
                .expect("create");
        let ino = attr.ino;
        let seed = vec![b's'; 20_000];
        let fh = a.fs.open_file(&root, ino, RW).await.expect("open");
        a.fs.write(fh, 0, &seed).await.expect("seed");
        a.fs.flush(fh).await.expect("flush seed");
        a.locks.setlk(ino, &lock(1)).await.expect("a locks");

        Locks::break_session(store.as_ref(), &a.session.id())
            .await
            .expect("drop a's locks");
        b.locks.setlk(ino, &lock(2)).await.expect("b locks");
        let theirs = record("b", 1);
        let bfh = b.fs.open_file(&root, ino, RW).await.expect("b opens");
        b.fs.write(bfh, seed.len() as u64, &theirs)
            .await
            .expect("b appends");
        b.fs.release(bfh).await.expect("b closes");

        let err = match cut {
            Cut::Truncate(size) => {
                a.fs.setattr(
                    &root,
                    ino,
                    &SetAttr {
                        size: Some(size),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ())
            }
            Cut::PunchHole => {
                a.fs.fallocate(
                    fh,
                    0,
                    8192,
                    Allocate {
                        keep_size: true,
                        punch_hole: true,
                        zero_range: false,
                    },
                )
                .await
            }
        }
        .expect_err("a's change must fail");
        assert_eq!(err.errno(), Errno::EIO, "{cut:?}: {err}");
        assert!(!a.locks.holds(ino), "{cut:?}: a knows it lost the lock");
        a.fs.release(fh).await.expect("a closes");

        let mut want = seed.clone();
        want.extend_from_slice(&theirs);
        let why = format!("{cut:?}: b's record and the seed survive a's change");
        both_read_then_stop(a, b, ino, &want, &why).await;
    }
}

/// A holder that still has its lock truncates under it as before: the
/// fence rides in the same transaction and passes.
async fn holder_truncates(store: Arc<dyn Store>) {
    fresh(&store).await;
    let a = start(&store, "/mnt/a").await;
    let root = Caller::root();
    let (attr, _) =
        a.fs.create(&root, ROOT_INO, b"t", 0o644, true)
            .await
            .expect("create");
    let fh = a.fs.open_file(&root, attr.ino, RW).await.expect("open");
    a.fs.write(fh, 0, &[3u8; 30_000]).await.expect("write");
    a.locks.setlk(attr.ino, &lock(1)).await.expect("lock");
    for size in [10_000, 40_000, 0] {
        let got =
            a.fs.setattr(
                &root,
                attr.ino,
                &SetAttr {
                    size: Some(size),
                    ..Default::default()
                },
            )
            .await
            .expect("truncate under the lock");
        assert_eq!(got.size, size);
    }
    a.fs.write(fh, 0, b"after").await.expect("write");
    a.fs.release(fh).await.expect("close");
    assert_eq!(contents(&a, attr.ino).await, b"after");
    a.stop().await.expect("stop");
}

both_stores!(
    small_file,
    large_file,
    own_unlock_keeps_later_data,
    stale_holder_cuts_nothing,
    holder_truncates
);
