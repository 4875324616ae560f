//! File data on both stores: blocks, holes, truncation, unlink while open,
//! close-to-open between clients, request counts, and a model test of
//! random writes, truncates and reads against a plain byte array.

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Fs, FsOptions, OpenMode, SetAttr, MAX_FILE_SIZE};
use dynamofs_core::mkfs::{mkfs, MkfsOptions};
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::{self, Counters, RequestKind, Store, Table};
use proptest::prelude::*;

const BS: usize = 4096;

async fn fresh(backend: Arc<dyn Store>, compression: &str) -> (Fs, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let s = store::stack(backend, &counters);
    let opts = MkfsOptions {
        block_size: BS as u32,
        compression: compression.into(),
        ..Default::default()
    };
    mkfs(s.as_ref(), &opts, &|_: &str| {}).await.expect("mkfs");
    let fs = Fs::open(s, FsOptions::default()).await.expect("open");
    counters.reset();
    (fs, counters)
}

const RW: OpenMode = OpenMode {
    read: true,
    write: true,
    append: false,
    truncate: false,
};
const RO: OpenMode = OpenMode {
    read: true,
    write: false,
    append: false,
    truncate: false,
};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn blocks_in_store(fs: &Fs) -> usize {
    let page = fs
        .store()
        .scan(Table::Blocks, None, 100_000)
        .await
        .expect("scan");
    page.items.len()
}

async fn read_all(fs: &Fs, fh: u64) -> Vec<u8> {
    fs.read(fh, 0, 1 << 30).await.expect("read")
}

async fn write_read_across_clients(backend: Arc<dyn Store>) {
    let (a, _) = fresh(Arc::clone(&backend), "lz4").await;
    let b = Fs::open(Arc::clone(a.store()), FsOptions::default())
        .await
        .expect("client b");
    let c = Caller::root();
    let (f, _) = a
        .create(&c, ROOT_INO, b"f", 0o644, true)
        .await
        .expect("create");
    let fh = a.open_file(&c, f.ino, RW).await.expect("open");
    let data = pattern(3 * BS + 123, 1);
    assert_eq!(a.write(fh, 0, &data[..1000]).await.expect("write"), 1000);
    a.write(fh, 1000, &data[1000..]).await.expect("write");
    // Overwrite a range straddling a block boundary.
    a.write(fh, BS as u64 - 10, &[9; 20])
        .await
        .expect("overwrite");
    let mut want = data.clone();
    want[BS - 10..BS + 10].fill(9);
    assert_eq!(
        read_all(&a, fh).await,
        want,
        "own writes visible before flush"
    );
    // Not yet visible elsewhere: only size 0 was closed.
    a.release(fh).await.expect("close");
    // Close-to-open: b opens after a closed and sees everything.
    let bh = b.open_file(&c, f.ino, RO).await.expect("open in b");
    assert_eq!(read_all(&b, bh).await, want);
    assert_eq!(
        b.read(bh, BS as u64 * 3, 1000).await.expect("read").len(),
        123,
        "short at EOF"
    );
    assert!(b.read(bh, 1 << 20, 10).await.expect("read").is_empty());
    assert_eq!(
        b.getattr(f.ino).await.expect("getattr").size,
        want.len() as u64
    );
    b.release(bh).await.expect("close");
}

async fn holes_and_truncation(backend: Arc<dyn Store>) {
    let (fs, n) = fresh(backend, "none").await;
    let c = Caller::root();
    let (f, _) = fs
        .create(&c, ROOT_INO, b"sparse", 0o644, true)
        .await
        .expect("create");
    let fh = fs.open_file(&c, f.ino, RW).await.expect("open");
    fs.write(fh, 10 * BS as u64 + 5, b"tail")
        .await
        .expect("write");
    fs.flush(fh).await.expect("flush");
    assert_eq!(blocks_in_store(&fs).await, 1, "a hole stores nothing");
    let all = read_all(&fs, fh).await;
    assert_eq!(all.len(), 10 * BS + 9);
    assert!(all[..10 * BS + 5].iter().all(|b| *b == 0));
    assert_eq!(&all[10 * BS + 5..], b"tail");
    // Shrink into the middle of a block, then grow: zeros, never old bytes.
    fs.write(fh, 0, &pattern(3 * BS, 7)).await.expect("write");
    fs.flush(fh).await.expect("flush");
    fs.setattr(
        &c,
        f.ino,
        &SetAttr {
            size: Some(BS as u64 + 100),
            ..Default::default()
        },
    )
    .await
    .expect("shrink");
    fs.setattr(
        &c,
        f.ino,
        &SetAttr {
            size: Some(3 * BS as u64),
            ..Default::default()
        },
    )
    .await
    .expect("grow");
    let all = read_all(&fs, fh).await;
    assert_eq!(&all[..BS + 100], &pattern(3 * BS, 7)[..BS + 100]);
    assert!(
        all[BS + 100..].iter().all(|b| *b == 0),
        "truncated data came back"
    );
    // Truncate to zero costs O(1) foreground requests, whatever the size.
    fs.write(fh, 0, &pattern(40 * BS, 3)).await.expect("write");
    fs.flush(fh).await.expect("flush");
    n.reset();
    let a = fs
        .setattr(
            &c,
            f.ino,
            &SetAttr {
                size: Some(0),
                ..Default::default()
            },
        )
        .await
        .expect("truncate");
    assert_eq!(a.size, 0);
    // Foreground: read the inode, one transaction. The background
    // collector lists the sessions (one Query: it waits for clients that
    // hold the file open) and deletes the old blocks in batches, which are
    // not part of the call (and are checked below by the empty table).
    let foreground: u64 = [
        RequestKind::Query,
        RequestKind::GetItem,
        RequestKind::TransactWriteItems,
        RequestKind::UpdateItem,
    ]
    .iter()
    .map(|k| n.get(*k).requests)
    .sum();
    assert!(
        foreground <= 3,
        "truncate to zero took {foreground}: {:?}",
        n.snapshot()
    );
    fs.settle().await;
    assert_eq!(blocks_in_store(&fs).await, 0, "old generation collected");
    fs.setattr(
        &c,
        f.ino,
        &SetAttr {
            size: Some(2 * BS as u64),
            ..Default::default()
        },
    )
    .await
    .expect("grow");
    assert!(read_all(&fs, fh).await.iter().all(|b| *b == 0));
    // O_TRUNC on open.
    fs.write(fh, 0, b"abc").await.expect("write");
    fs.release(fh).await.expect("close");
    let t = OpenMode {
        truncate: true,
        ..RW
    };
    let fh = fs.open_file(&c, f.ino, t).await.expect("open O_TRUNC");
    assert!(read_all(&fs, fh).await.is_empty());
    // Limits: a write across the largest size stores what fits (a short
    // write, as Linux); one at or past it fails.
    let r = fs.write(fh, MAX_FILE_SIZE - 1, b"xy").await;
    assert_eq!(r.ok(), Some(1));
    let r = fs.write(fh, MAX_FILE_SIZE, b"z").await;
    assert_eq!(r.err().map(|e| e.errno()), Some(Errno::EFBIG));
    fs.release(fh).await.expect("close");
}

async fn append_and_unlink_while_open(backend: Arc<dyn Store>) {
    let (fs, _) = fresh(backend, "lz4").await;
    let c = Caller::root();
    let (f, _) = fs
        .create(&c, ROOT_INO, b"log", 0o644, true)
        .await
        .expect("create");
    let app = OpenMode { append: true, ..RW };
    let h1 = fs.open_file(&c, f.ino, app).await.expect("open");
    let h2 = fs.open_file(&c, f.ino, app).await.expect("open");
    fs.write(h1, 0, b"one ").await.expect("append");
    fs.write(h2, 0, b"two ").await.expect("append");
    fs.write(h1, 999, b"three")
        .await
        .expect("append ignores the offset");
    assert_eq!(read_all(&fs, h1).await, b"one two three");
    fs.release(h2).await.expect("close");
    // Unlinked while open: still readable and writable here.
    fs.unlink(&c, ROOT_INO, b"log").await.expect("unlink");
    fs.write(h1, 0, &pattern(2 * BS, 5))
        .await
        .expect("write after unlink");
    fs.flush(h1).await.expect("flush after unlink");
    let got = read_all(&fs, h1).await;
    assert_eq!(got.len(), 13 + 2 * BS);
    assert!(blocks_in_store(&fs).await > 0);
    fs.release(h1).await.expect("last close");
    fs.settle().await;
    assert_eq!(
        blocks_in_store(&fs).await,
        0,
        "data collected after the last close"
    );
    assert!(fs.orphans().await.expect("orphans").is_empty());
    assert_eq!(
        fs.getattr(f.ino).await.err().map(|e| e.errno()),
        Some(Errno::ESTALE),
        "a collected inode is a stale handle"
    );
}

/// Sequential write of S bytes: S/B block writes (ahead of the flush or
/// in it) + 1 metadata update;
/// reading it back: S/B blocks in one batch request per 100 blocks.
async fn data_round_trips(backend: Arc<dyn Store>) {
    let (fs, n) = fresh(backend, "none").await;
    let c = Caller::root();
    let (f, _) = fs
        .create(&c, ROOT_INO, b"big", 0o644, true)
        .await
        .expect("create");
    let fh = fs.open_file(&c, f.ino, RW).await.expect("open");
    n.reset();
    for i in 0..64u64 {
        fs.write(fh, i * 1024, &[i as u8; 1024])
            .await
            .expect("write");
    }
    // Full blocks went ahead while the writer went on (write-behind); the
    // flush waits for them and stores each block once, whatever went
    // ahead.
    fs.flush(fh).await.expect("flush");
    assert_eq!(
        n.get(RequestKind::PutItem).requests,
        16,
        "64 KiB in 4 KiB blocks"
    );
    assert_eq!(n.get(RequestKind::UpdateItem).requests, 1);
    assert_eq!(n.total_requests(), 17);
    fs.release(fh).await.expect("close");
    // Read back cold by another client: one batch request for 16 blocks.
    let other = Fs::open(Arc::clone(fs.store()), FsOptions::default())
        .await
        .expect("client");
    let oh = other.open_file(&c, f.ino, RO).await.expect("open");
    n.reset();
    let back = other.read(oh, 0, 64 * 1024).await.expect("read");
    assert_eq!(back.len(), 64 * 1024);
    assert_eq!(n.total_requests(), 1, "one batch read for 16 blocks");
    let fh = oh;
    let fs = other;
    fs.release(fh).await.expect("close");
}

/// Sequential reads in small pieces are served by a growing read-ahead
/// window: far fewer requests than blocks. Reopening an unchanged file
/// keeps the cache; a change by another client drops it.
async fn read_ahead_and_cache(backend: Arc<dyn Store>) {
    let (fs, n) = fresh(Arc::clone(&backend), "lz4").await;
    let c = Caller::root();
    let (f, _) = fs
        .create(&c, ROOT_INO, b"seq", 0o644, true)
        .await
        .expect("create");
    let fh = fs.open_file(&c, f.ino, RW).await.expect("open");
    let data = pattern(64 * BS, 9);
    fs.write(fh, 0, &data).await.expect("write");
    fs.release(fh).await.expect("close");
    // A second client reads it cold, one block per call as the kernel does.
    let other = Fs::open(Arc::clone(fs.store()), FsOptions::default())
        .await
        .expect("client");
    let counters = n;
    let oh = other.open_file(&c, f.ino, RO).await.expect("open");
    counters.reset();
    let mut back = Vec::new();
    for i in 0..64u64 {
        back.extend(other.read(oh, i * BS as u64, BS).await.expect("read"));
    }
    assert_eq!(back, data);
    let reqs = counters.get(RequestKind::BatchGetItem).requests;
    assert!(
        reqs <= 8,
        "64 sequential block reads took {reqs} batch requests"
    );
    other.release(oh).await.expect("close");
    // Unchanged: the cache is kept and reading costs nothing.
    let oh = other.open_file(&c, f.ino, RO).await.expect("reopen");
    assert!(other.keep_cache(oh));
    counters.reset();
    assert_eq!(read_all(&other, oh).await, data);
    assert_eq!(counters.get(RequestKind::BatchGetItem).requests, 0);
    other.release(oh).await.expect("close");
    // Changed by the first client: dropped, and the new bytes are read.
    let fh = fs.open_file(&c, f.ino, RW).await.expect("open");
    fs.write(fh, 5, b"changed").await.expect("write");
    fs.release(fh).await.expect("close");
    let oh = other.open_file(&c, f.ino, RO).await.expect("reopen");
    assert!(!other.keep_cache(oh));
    assert_eq!(&other.read(oh, 5, 7).await.expect("read"), b"changed");
    other.release(oh).await.expect("close");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random writes, truncates, reads and reopenings against a byte array.
    #[test]
    fn model_sqlite(ops in proptest::collection::vec(op(), 1..30)) {
        run_model(ops, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn model_dynamo(ops in proptest::collection::vec(op(), 1..20)) {
        run_model(ops, true);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Write(u64, usize, u8),
    Truncate(u64),
    Read(u64, usize),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let off = 0u64..(6 * BS as u64);
    prop_oneof![
        4 => (off.clone(), 1usize..(2 * BS), any::<u8>()).prop_map(|(o, l, s)| Op::Write(o, l, s)),
        1 => off.clone().prop_map(Op::Truncate),
        2 => (off, 1usize..(3 * BS)).prop_map(|(o, l)| Op::Read(o, l)),
        1 => Just(Op::Reopen),
    ]
}

fn run_model(ops: Vec<Op>, dynamo: bool) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let backend = if dynamo {
            common::dynamo().await
        } else {
            common::sqlite().await
        };
        let (fs, _) = fresh(backend, "lz4").await;
        let c = Caller::root();
        let (f, _) = fs
            .create(&c, ROOT_INO, b"m", 0o644, true)
            .await
            .expect("create");
        let mut fh = fs.open_file(&c, f.ino, RW).await.expect("open");
        let mut model: Vec<u8> = Vec::new();
        for op in ops {
            match op {
                Op::Write(o, l, s) => {
                    let data = pattern(l, s);
                    fs.write(fh, o, &data).await.expect("write");
                    let end = o as usize + l;
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[o as usize..end].copy_from_slice(&data);
                }
                Op::Truncate(sz) => {
                    fs.setattr(
                        &c,
                        f.ino,
                        &SetAttr {
                            size: Some(sz),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("truncate");
                    model.resize(sz as usize, 0);
                }
                Op::Read(o, l) => {
                    let got = fs.read(fh, o, l).await.expect("read");
                    let from = (o as usize).min(model.len());
                    let to = (o as usize + l).min(model.len());
                    assert_eq!(got, &model[from..to], "read {o}+{l}");
                }
                Op::Reopen => {
                    fs.release(fh).await.expect("close");
                    fh = fs.open_file(&c, f.ino, RW).await.expect("reopen");
                }
            }
        }
        fs.release(fh).await.expect("close");
        let other = Fs::open(Arc::clone(fs.store()), FsOptions::default())
            .await
            .expect("client");
        let h = other.open_file(&c, f.ino, RO).await.expect("open");
        assert_eq!(
            read_all(&other, h).await,
            model,
            "another client after close"
        );
    });
}

both_stores!(
    write_read_across_clients,
    holes_and_truncation,
    append_and_unlink_while_open,
    data_round_trips,
    read_ahead_and_cache,
);
