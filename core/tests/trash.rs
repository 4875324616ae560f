//! The trash in core, on both stores: what unlink and rename over a file
//! cost with it (counted at the store), that a trashed file keeps its
//! data and the checker finds the store consistent, and that a file
//! with other names is not trashed.

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::check;
use dynamofs_core::config;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Fs, FsOptions, OpenMode, RenameFlags};
use dynamofs_core::path;
use dynamofs_core::store::{self, Counters, Store};

const ROOT: u64 = 1;

async fn trash_fs(backend: Arc<dyn Store>) -> (Fs, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let s = store::stack(backend, &counters);
    common::mkfs_open_root(s.as_ref()).await;
    config::set_trash_days(s.as_ref(), 2)
        .await
        .expect("trash days");
    let opts = FsOptions {
        check_permissions: false,
        ..Default::default()
    };
    let fs = Fs::open(s, opts).await.expect("open");
    (fs, counters)
}

async fn write(fs: &Fs, c: &Caller, dir: u64, name: &[u8], data: &[u8]) -> u64 {
    let (a, new) = fs.create(c, dir, name, 0o644, true).await.expect("create");
    let mode = OpenMode {
        write: true,
        ..Default::default()
    };
    let fh = fs.open_created(c, a.ino, mode, new).await.expect("open");
    fs.write(fh, 0, data).await.expect("write");
    fs.flush(fh).await.expect("flush");
    fs.release(fh).await.expect("release");
    a.ino
}

async fn unlink_and_rename_cost_one_transaction(backend: Arc<dyn Store>) {
    let (fs, n) = trash_fs(backend).await;
    let c = Caller::root();
    let d = fs.mkdir(&c, ROOT, b"d", 0o755).await.expect("mkdir");
    let f = write(&fs, &c, d.ino, b"f", b"first").await;
    write(&fs, &c, d.ino, b"g", b"second").await;
    write(&fs, &c, d.ino, b"h", b"third").await;

    // The first removal into the trash finds (here: makes) /.trash and
    // the hour's directory.
    fs.unlink(&c, d.ino, b"f").await.expect("unlink f");
    // Later ones cost what an unlink without trash costs in the
    // foreground: one transaction (and nothing to collect afterwards).
    fs.settle().await;
    n.reset();
    fs.rename(&c, d.ino, b"h", d.ino, b"g", RenameFlags::default())
        .await
        .expect("rename over g");
    let rename = n.total_requests();
    write(&fs, &c, d.ino, b"i", b"fourth").await;
    fs.settle().await;
    n.reset();
    fs.unlink(&c, d.ino, b"i").await.expect("unlink i");
    fs.settle().await;
    let unlink = n.total_requests();
    assert_eq!((unlink, rename), (1, 1), "{:?}", n.snapshot());

    // Kept, with its data; the store is consistent.
    let kept = fs.trash_list().await.expect("list");
    let names: Vec<&[u8]> = kept.iter().map(|t| t.from_name.as_slice()).collect();
    assert_eq!(names.len(), 3, "{kept:?}");
    for want in [&b"f"[..], b"g", b"i"] {
        assert!(names.contains(&want), "{kept:?}");
    }
    let t = kept.iter().find(|t| t.ino == f).expect("f in the trash");
    assert_eq!((t.from_dir, t.size), (d.ino, 5));
    let mode = OpenMode {
        read: true,
        ..Default::default()
    };
    // By its inode alone (a name cached before the removal): ESTALE.
    let e = fs
        .open_file(&c, f, mode)
        .await
        .expect_err("reached outside the trash");
    assert_eq!(e.errno(), Errno::ESTALE);
    // Through its name in the trash: the data, intact.
    let mut p = b"/.trash/".to_vec();
    p.extend_from_slice(&t.entry);
    let found = path::resolve(&fs, &c, &p, true).await.expect("resolve");
    assert_eq!(found.attr.ino, f);
    let fh = fs.open_file(&c, f, mode).await.expect("open trashed");
    assert_eq!(fs.read(fh, 0, 100).await.expect("read"), b"first");
    fs.release(fh).await.expect("release");
    let report = check::check(fs.store().as_ref()).await.expect("check");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn a_file_with_other_names_is_not_trashed(backend: Arc<dyn Store>) {
    let (fs, _) = trash_fs(backend).await;
    let c = Caller::root();
    let ino = write(&fs, &c, ROOT, b"a", b"data").await;
    fs.link(&c, ino, ROOT, b"b").await.expect("link");
    fs.unlink(&c, ROOT, b"a").await.expect("unlink a");
    assert!(fs.trash_list().await.expect("list").is_empty());
    fs.unlink(&c, ROOT, b"b").await.expect("unlink b");
    let kept = fs.trash_list().await.expect("list");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].from_name, b"b");
    // Symbolic links and directories go for good.
    fs.symlink(&c, ROOT, b"l", b"target")
        .await
        .expect("symlink");
    fs.unlink(&c, ROOT, b"l").await.expect("unlink l");
    assert_eq!(fs.trash_list().await.expect("list").len(), 1);
}

both_stores!(
    unlink_and_rename_cost_one_transaction,
    a_file_with_other_names_is_not_trashed
);
