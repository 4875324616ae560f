//! fallocate in core, on both stores: a punched hole and a zeroed range
//! read as zeros, whole blocks in them are no longer stored (counted by
//! the checker, which finds the store consistent), the size is kept or
//! grown as asked, and the modes Linux refuses are refused.

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::check;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Allocate, Fs, FsOptions, OpenMode};
use dynamofs_core::store::Store;

const BS: u64 = 4096;
const ROOT: u64 = 1;

async fn fresh(backend: Arc<dyn Store>) -> Fs {
    common::mkfs_with_blocks(backend.as_ref(), BS as u32).await;
    Fs::open(backend, FsOptions::default()).await.expect("open")
}

fn data(n: u64) -> Vec<u8> {
    (0..n).map(|i| (i % 251 + 1) as u8).collect()
}

async fn stored_blocks(fs: &Fs) -> u64 {
    let r = check::check(fs.store().as_ref()).await.expect("check");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    r.blocks
}

async fn read_all(fs: &Fs, c: &Caller, ino: u64) -> Vec<u8> {
    let ro = OpenMode {
        read: true,
        ..Default::default()
    };
    let fh = fs.open_file(c, ino, ro).await.expect("open");
    let got = fs.read(fh, 0, 1 << 30).await.expect("read");
    fs.release(fh).await.expect("release");
    got
}

async fn holes_and_zeros(backend: Arc<dyn Store>) {
    let fs = fresh(backend).await;
    let c = Caller::root();
    let (a, new) = fs
        .create(&c, ROOT, b"f", 0o644, true)
        .await
        .expect("create");
    let rw = OpenMode {
        read: true,
        write: true,
        ..Default::default()
    };
    let fh = fs.open_created(&c, a.ino, rw, new).await.expect("open");
    let size = 10 * BS + 100;
    let mut want = data(size);
    fs.write(fh, 0, &want).await.expect("write");
    fs.flush(fh).await.expect("flush");
    assert_eq!(stored_blocks(&fs).await, 11);

    // Blocks 2..=6 whole, and parts of 1 and 7.
    let punch = Allocate {
        keep_size: true,
        punch_hole: true,
        ..Default::default()
    };
    let (from, to) = (BS + 1000, 7 * BS + 10);
    fs.fallocate(fh, from, to - from, punch)
        .await
        .expect("punch");
    want[from as usize..to as usize].fill(0);
    assert_eq!(read_all(&fs, &c, a.ino).await, want);
    assert_eq!(stored_blocks(&fs).await, 11 - 5);
    assert_eq!(fs.getattr(a.ino).await.expect("stat").size, size);

    // Zero a range across the end: the size grows to its end.
    let zero = Allocate {
        zero_range: true,
        ..Default::default()
    };
    fs.fallocate(fh, 9 * BS, 3 * BS, zero).await.expect("zero");
    want[9 * BS as usize..].fill(0);
    want.resize(12 * BS as usize, 0);
    assert_eq!(read_all(&fs, &c, a.ino).await, want);
    // Blocks 9 and 10 held only zeros: neither is stored now.
    assert_eq!(stored_blocks(&fs).await, 11 - 5 - 2);

    // Within one block, and past the end with KEEP_SIZE: nothing grows.
    fs.fallocate(fh, 10, 20, punch).await.expect("small punch");
    want[10..30].fill(0);
    fs.fallocate(fh, 20 * BS, BS, punch)
        .await
        .expect("past the end");
    assert_eq!(read_all(&fs, &c, a.ino).await, want);

    // Modes Linux refuses.
    let bad = Allocate {
        punch_hole: true,
        ..Default::default()
    };
    let e = fs
        .fallocate(fh, 0, 10, bad)
        .await
        .expect_err("punch without keep_size");
    assert_eq!(e.errno(), Errno::EOPNOTSUPP);
    let e = fs.fallocate(fh, 0, 0, punch).await.expect_err("no bytes");
    assert_eq!(e.errno(), Errno::EINVAL);
    fs.release(fh).await.expect("release");
}

both_stores!(holes_and_zeros);
