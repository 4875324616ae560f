//! Sparse files in core, on both stores: the hole map that writes past the
//! end, extending truncates and punched holes record, and the st_blocks,
//! SEEK_DATA and SEEK_HOLE answered from it; and two clients that change
//! the map at once, where a stale map must never list a block that a write
//! stored (the checker reports any such block as `block_in_hole`).

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::check;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Allocate, Fs, FsOptions, OpenMode, Seek, SetAttr};
use dynamofs_core::store::{self, Counters, RequestKind, Store};

const BS: u64 = 4096;
const ROOT: u64 = 1;

const RW: OpenMode = OpenMode {
    read: true,
    write: true,
    append: false,
    truncate: false,
};

async fn fresh(backend: &Arc<dyn Store>) -> Fs {
    common::mkfs_with_blocks(backend.as_ref(), BS as u32).await;
    client(backend).await
}

async fn client(backend: &Arc<dyn Store>) -> Fs {
    Fs::open(Arc::clone(backend), FsOptions::default())
        .await
        .expect("open")
}

/// The store is consistent: in particular no stored block is listed as a
/// hole.
async fn consistent(fs: &Fs) {
    let r = check::check(fs.store().as_ref()).await.expect("check");
    assert!(r.problems.is_empty(), "{:?}", r.problems);
}

async fn seek(fs: &Fs, fh: u64, offset: u64, what: Seek) -> Option<u64> {
    match fs.seek(fh, offset, what).await {
        Ok(at) => Some(at),
        Err(e) if e.errno() == Errno::ENXIO => None,
        Err(e) => panic!("seek {what:?} from {offset}: {e}"),
    }
}

/// Data and hole extents of the file as SEEK_DATA/SEEK_HOLE walk it.
async fn extents(fs: &Fs, fh: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(d) = seek(fs, fh, at, Seek::Data).await {
        let h = seek(fs, fh, d, Seek::Hole).await.expect("data ends");
        assert!(h > d, "a data extent {d}..{h}");
        out.push((d, h));
        at = h;
    }
    out
}

/// The file `f` in the root, made and opened for reading and writing:
/// its inode and handle.
async fn new_file(fs: &Fs) -> (u64, u64) {
    let c = Caller::root();
    let (attr, new) = fs
        .create(&c, ROOT, b"f", 0o644, true)
        .await
        .expect("create");
    let fh = fs.open_created(&c, attr.ino, RW, new).await.expect("open");
    (attr.ino, fh)
}

async fn resize(fs: &Fs, ino: u64, size: u64) {
    let set = SetAttr {
        size: Some(size),
        ..Default::default()
    };
    fs.setattr(&Caller::root(), ino, &set)
        .await
        .expect("truncate");
}

async fn blocks(fs: &Fs, ino: u64) -> u64 {
    fs.getattr(ino).await.expect("getattr").blocks
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i % 240) as u8 + seed).collect()
}

async fn holes_are_recorded_and_answered(store: Arc<dyn Store>) {
    let fs = fresh(&store).await;
    let c = Caller::root();
    let (a, fh) = new_file(&fs).await;

    // 100 bytes at block 10: blocks 0..10 are holes.
    fs.write(fh, 10 * BS, &bytes(100, 1)).await.expect("write");
    fs.flush(fh).await.expect("flush");
    let size = 10 * BS + 100;
    assert_eq!(extents(&fs, fh).await, vec![(10 * BS, size)]);
    assert_eq!(blocks(&fs, a).await, 1, "100 bytes stored");
    assert_eq!(seek(&fs, fh, 5, Seek::Hole).await, Some(5));
    assert_eq!(seek(&fs, fh, size, Seek::Data).await, None);
    assert_eq!(seek(&fs, fh, size, Seek::Hole).await, None);

    // Filling block 3 splits the hole; unflushed, the seek stores it first.
    fs.write(fh, 3 * BS, &bytes(BS as usize, 2))
        .await
        .expect("fill");
    assert_eq!(
        extents(&fs, fh).await,
        vec![(3 * BS, 4 * BS), (10 * BS, size)]
    );
    assert_eq!(blocks(&fs, a).await, (BS + 100).div_ceil(512));

    // A longer truncate adds a hole after the last block; a punched block
    // is one again.
    resize(&fs, a, 20 * BS).await;
    assert_eq!(
        extents(&fs, fh).await,
        vec![(3 * BS, 4 * BS), (10 * BS, 11 * BS)]
    );
    let punch = Allocate {
        keep_size: true,
        punch_hole: true,
        ..Default::default()
    };
    fs.fallocate(fh, 3 * BS, BS, punch).await.expect("punch");
    assert_eq!(extents(&fs, fh).await, vec![(10 * BS, 11 * BS)]);
    assert_eq!(blocks(&fs, a).await, BS / 512, "block 10 whole");

    // What reads back is the bytes written and zeros elsewhere.
    let got = fs.read(fh, 0, 20 * BS as usize).await.expect("read");
    let mut want = vec![0u8; 20 * BS as usize];
    want[10 * BS as usize..10 * BS as usize + 100].copy_from_slice(&bytes(100, 1));
    assert_eq!(got, want);
    consistent(&fs).await;

    // Truncated to zero and written densely: no map any more.
    resize(&fs, a, 0).await;
    fs.write(fh, 0, &bytes(3 * BS as usize, 3))
        .await
        .expect("dense");
    fs.flush(fh).await.expect("flush");
    assert_eq!(extents(&fs, fh).await, vec![(0, 3 * BS)]);
    assert_eq!(blocks(&fs, a).await, 3 * BS / 512);

    // Another client sees the same map.
    resize(&fs, a, 8 * BS).await;
    fs.release(fh).await.expect("release");
    let other = client(&store).await;
    let fh = other.open_file(&c, a, RW).await.expect("open elsewhere");
    assert_eq!(extents(&other, fh).await, vec![(0, 3 * BS)]);
    assert_eq!(blocks(&other, a).await, 3 * BS / 512);
    other.release(fh).await.expect("release");
    consistent(&fs).await;
}

/// Client A holds the file open with the map it read; client B changes the
/// map; A's write must take B's change into account, never put back the
/// map it read.
async fn stale_maps_never_hide_data(store: Arc<dyn Store>) {
    let a = fresh(&store).await;
    let b = client(&store).await;
    let c = Caller::root();
    let (ino, fa) = new_file(&a).await;
    a.write(fa, 0, &bytes(10 * BS as usize, 1))
        .await
        .expect("write");
    a.flush(fa).await.expect("flush");
    let fb = b.open_file(&c, ino, RW).await.expect("open b");

    // B punches block 5; A, which read no map, writes block 5 again.
    let punch = Allocate {
        keep_size: true,
        punch_hole: true,
        ..Default::default()
    };
    b.fallocate(fb, 5 * BS, BS, punch).await.expect("punch");
    a.write(fa, 5 * BS, &bytes(BS as usize, 7))
        .await
        .expect("refill");
    a.flush(fa).await.expect("flush");
    consistent(&a).await;
    assert_eq!(extents(&b, fb).await, vec![(0, 10 * BS)]);

    // B appends two blocks and closes; A, whose size is older, writes at
    // block 15: only 12..15 are holes, B's blocks are data.
    b.write(fb, 10 * BS, &bytes(2 * BS as usize, 3))
        .await
        .expect("append");
    b.flush(fb).await.expect("flush");
    a.write(fa, 15 * BS, &bytes(10, 4))
        .await
        .expect("write past");
    a.flush(fa).await.expect("flush");
    consistent(&a).await;
    assert_eq!(
        extents(&b, fb).await,
        vec![(0, 12 * BS), (15 * BS, 15 * BS + 10)]
    );

    // A punches 1..3 while B, whose map is older, fills block 13.
    a.fallocate(fa, BS, 2 * BS, punch).await.expect("punch");
    b.write(fb, 13 * BS, &bytes(BS as usize, 5))
        .await
        .expect("fill");
    b.flush(fb).await.expect("flush");
    consistent(&a).await;
    let want = vec![
        (0, BS),
        (3 * BS, 12 * BS),
        (13 * BS, 14 * BS),
        (15 * BS, 15 * BS + 10),
    ];
    assert_eq!(extents(&a, fa).await, want);
    assert_eq!(extents(&b, fb).await, want);
    let stored = BS + 9 * BS + BS + 10;
    assert_eq!(blocks(&a, ino).await, stored.div_ceil(512));

    // B fills block 14; A, whose map still lists it, punches block 0: A's
    // map is planned again, not stored over B's fill.
    b.write(fb, 14 * BS, &bytes(BS as usize, 6))
        .await
        .expect("fill");
    b.flush(fb).await.expect("flush");
    a.fallocate(fa, 0, BS, punch).await.expect("punch");
    consistent(&a).await;
    assert_eq!(
        extents(&b, fb).await,
        vec![(3 * BS, 12 * BS), (13 * BS, 15 * BS + 10)]
    );
    a.release(fa).await.expect("release");
    b.release(fb).await.expect("release");
}

/// Reading holes asks the store nothing; a read that takes data too
/// fetches the holes with it, in the same request.
async fn holes_are_read_without_requests(backend: Arc<dyn Store>) {
    let counters = Arc::new(Counters::default());
    let s = store::stack(backend, &counters);
    common::mkfs_with_blocks(s.as_ref(), BS as u32).await;
    let fs = client(&s).await;
    let c = Caller::root();
    let (a, fh) = new_file(&fs).await;
    fs.write(fh, 100 * BS, &bytes(10, 1)).await.expect("write");
    fs.release(fh).await.expect("close");
    let fh = fs.open_file(&c, a, RW).await.expect("open again");
    counters.reset();
    let got = fs.read(fh, 0, 100 * BS as usize).await.expect("read holes");
    assert!(got.len() == 100 * BS as usize && got.iter().all(|b| *b == 0));
    assert_eq!(counters.total_requests(), 0, "{:?}", counters.snapshot());
    let got = fs
        .read(fh, 99 * BS, 2 * BS as usize)
        .await
        .expect("read data");
    assert_eq!(&got[BS as usize..], &bytes(10, 1)[..]);
    assert_eq!(counters.get(RequestKind::BatchGetItem).requests, 1);
    assert_eq!(counters.total_requests(), 1, "{:?}", counters.snapshot());
    fs.release(fh).await.expect("close");
}

both_stores!(
    holes_are_recorded_and_answered,
    stale_maps_never_hide_data,
    holes_are_read_without_requests
);
