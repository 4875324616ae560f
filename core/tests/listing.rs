//! Listing memory does not grow with the directory: a handle holds about
//! one page of entries however far the listing has gone (the scale run
//! found it keeping every entry it had returned, ~70 bytes each), and a
//! rewind lists again from the start. On the embedded store: the bound is
//! the handle's, the same over any store.

mod common;

use dynamofs_core::caller::Caller;
use dynamofs_core::fs::FsOptions;
use dynamofs_core::schema::ROOT_INO;

/// Entries per Query (core/src/fs/readdir.rs `PAGE`).
const PAGE: usize = 1000;

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_holds_about_a_page() {
    let (fs, _) = common::counted_fs(common::sqlite().await, FsOptions::default()).await;
    let c = Caller::root();
    let d = fs.mkdir(&c, ROOT_INO, b"big", 0o755).await.expect("mkdir");
    let n = 3 * PAGE + 500;
    for i in 0..n {
        fs.create(&c, d.ino, format!("f{i:05}").as_bytes(), 0o644, true)
            .await
            .expect("create");
    }
    let mut h = fs.opendir(&c, d.ino).await.expect("opendir");
    let (mut off, mut seen, mut most) = (0, 0, 0);
    loop {
        let page = fs.readdir(&mut h, off, 128).await.expect("readdir");
        if page.is_empty() {
            break;
        }
        most = most.max(h.held());
        seen += page.len();
        off = page.last().map(|(next, _)| *next).unwrap_or(off);
    }
    assert_eq!(seen, n + 2, "every entry, with . and ..");
    assert!(
        most <= PAGE + 128 + 2,
        "a handle held {most} entries of a {n}-entry listing"
    );
    // A rewind lists again from the start.
    let first = fs.readdir(&mut h, 0, 3).await.expect("rewind");
    let names: Vec<_> = first.iter().map(|(_, e)| e.name.clone()).collect();
    assert_eq!(names, [b".".to_vec(), b"..".to_vec(), b"f00000".to_vec()]);
}
