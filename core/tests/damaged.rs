//! Damaged items: a missing attribute, a wrong type, an unknown format
//! version. Each is EIO (or a clear refusal to open) with the reason logged,
//! never a panic, and the rest of the file system keeps working.

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::error::{Errno, FsError};
use dynamofs_core::fs::{Fs, FsOptions};
use dynamofs_core::inode::inode_key;
use dynamofs_core::mkfs::{mkfs, MkfsOptions};
use dynamofs_core::schema::{attr, dir_p, ROOT_INO};
use dynamofs_core::store::{Change, Key, Store, Table, Value, Write};
use dynamofs_core::superblock::{self, SuperblockError};

async fn fresh(store: &Arc<dyn Store>) -> Fs {
    mkfs(store.as_ref(), &MkfsOptions::default(), &|_: &str| {})
        .await
        .expect("mkfs");
    Fs::open(Arc::clone(store), FsOptions::default())
        .await
        .expect("open")
}

async fn update(store: &Arc<dyn Store>, key: Key, change: Change) {
    store
        .write(&Write::Update {
            table: Table::Meta,
            key,
            changes: vec![change],
            cond: None,
        })
        .await
        .expect("damage");
}

fn eio<T: std::fmt::Debug>(r: Result<T, FsError>) {
    match r {
        Err(e) => assert_eq!(e.errno(), Errno::EIO, "{e}"),
        Ok(v) => panic!("expected EIO, got {v:?}"),
    }
}

async fn damaged_items_are_eio(store: Arc<dyn Store>) {
    let fs = fresh(&store).await;
    let c = Caller::root();
    let (a, _) = fs
        .create(&c, ROOT_INO, b"a", 0o644, true)
        .await
        .expect("create");
    let (b, _) = fs
        .create(&c, ROOT_INO, b"b", 0o644, true)
        .await
        .expect("create");
    fs.create(&c, ROOT_INO, b"ok", 0o644, true)
        .await
        .expect("create");
    // A missing attribute and a wrong type.
    update(&store, inode_key(a.ino), Change::remove(attr::SIZE)).await;
    update(
        &store,
        inode_key(b.ino),
        Change::set(attr::MODE, Value::S("rw".into())),
    )
    .await;
    // An entry without its inode number.
    fs.create(&c, ROOT_INO, b"e", 0o644, true)
        .await
        .expect("create");
    update(&store, Key::new(dir_p(ROOT_INO), "e"), Change::remove("i")).await;
    fs.drop_caches();
    eio(fs.getattr(a.ino).await);
    eio(fs.lookup(&c, ROOT_INO, b"a").await);
    eio(fs.lookup(&c, ROOT_INO, b"b").await);
    eio(fs.lookup(&c, ROOT_INO, b"e").await);
    let mut h = fs.opendir(&c, ROOT_INO).await.expect("opendir");
    eio(fs.readdir(&mut h, 0, 100).await);
    // Everything else still works.
    fs.lookup(&c, ROOT_INO, b"ok")
        .await
        .expect("an intact file");
    fs.mkdir(&c, ROOT_INO, b"new", 0o755).await.expect("mkdir");
}

async fn unknown_format_is_refused(store: Arc<dyn Store>) {
    let _ = fresh(&store).await;
    update(
        &store,
        superblock::key(),
        Change::set(attr::VERSION, Value::N(99)),
    )
    .await;
    match Fs::open(Arc::clone(&store), FsOptions::default()).await {
        Err(FsError::Superblock(SuperblockError::UnknownFormat { found: 99, .. })) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a format-99 file system"),
    }
    update(
        &store,
        superblock::key(),
        Change::set(attr::VERSION, Value::S("1".into())),
    )
    .await;
    let e = Fs::open(Arc::clone(&store), FsOptions::default())
        .await
        .err();
    let msg = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("damaged superblock") && msg.contains("`v`"),
        "{msg}"
    );
    store
        .write(&Write::Delete {
            table: Table::Meta,
            key: superblock::key(),
            cond: None,
        })
        .await
        .expect("delete");
    let e = Fs::open(Arc::clone(&store), FsOptions::default())
        .await
        .err();
    let msg = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("no dynamofs file system") && msg.contains("mkfs"),
        "{msg}"
    );
}

both_stores!(damaged_items_are_eio, unknown_format_is_refused);
