//! Extended attributes on both stores: one item each, so a change costs
//! the same small write however many attributes the file already has, and
//! a file without any answers without a request.

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Fs, FsOptions, XattrFlags};
use dynamofs_core::schema::{attr, inode_p, ROOT_INO};
use dynamofs_core::store::{Change, Counters, Key, RequestKind, Store, Table, Value, Write};

fn errno<T: std::fmt::Debug>(r: Result<T, dynamofs_core::error::FsError>) -> Errno {
    r.expect_err("expected an error").errno()
}

const CREATE: XattrFlags = XattrFlags {
    create: true,
    replace: false,
};
const REPLACE: XattrFlags = XattrFlags {
    create: false,
    replace: true,
};
const ANY: XattrFlags = XattrFlags {
    create: false,
    replace: false,
};

async fn file(fs: &Fs, name: &[u8]) -> u64 {
    let (a, _) = fs
        .create(&Caller::root(), ROOT_INO, name, 0o644, true)
        .await
        .expect("create");
    a.ino
}

/// Requests and bytes written by one operation.
async fn cost<T>(n: &Counters, op: impl std::future::Future<Output = T>) -> (u64, u64, T) {
    n.reset();
    let r = op.await;
    let written = n.snapshot().iter().map(|(_, t)| t.bytes_written).sum();
    (n.total_requests(), written, r)
}

async fn behaviour(backend: Arc<dyn Store>) {
    let (fs, _) = common::counted_fs(backend, FsOptions::default()).await;
    let c = Caller::root();
    let f = file(&fs, b"f").await;
    assert_eq!(errno(fs.getxattr(&c, f, b"user.a").await), Errno::ENODATA);
    assert_eq!(
        errno(fs.setxattr(&c, f, b"user.a", b"1", REPLACE).await),
        Errno::ENODATA
    );
    fs.setxattr(&c, f, b"user.a", b"1", CREATE)
        .await
        .expect("create");
    assert_eq!(
        errno(fs.setxattr(&c, f, b"user.a", b"2", CREATE).await),
        Errno::EEXIST
    );
    fs.setxattr(&c, f, b"user.a", b"2", ANY)
        .await
        .expect("overwrite");
    fs.setxattr(&c, f, b"user.b", b"", ANY)
        .await
        .expect("new, empty");
    fs.setxattr(&c, f, b"user.a", b"3", REPLACE)
        .await
        .expect("replace");
    assert_eq!(fs.getxattr(&c, f, b"user.a").await.expect("get"), b"3");
    assert_eq!(fs.getxattr(&c, f, b"user.b").await.expect("get"), b"");
    assert_eq!(
        fs.listxattr(f).await.expect("list"),
        vec![b"user.a".to_vec(), b"user.b".to_vec()]
    );
    let before = fs.getattr(f).await.expect("getattr").ctime;
    fs.removexattr(&c, f, b"user.a").await.expect("remove");
    assert!(
        fs.getattr(f).await.expect("getattr").ctime > before,
        "ctime moves"
    );
    assert_eq!(
        errno(fs.removexattr(&c, f, b"user.a").await),
        Errno::ENODATA
    );
    assert_eq!(
        fs.listxattr(f).await.expect("list"),
        vec![b"user.b".to_vec()]
    );
    // Another client sees them (after its cache expires: here, it has none).
    let other = Fs::open(fs.store().clone(), FsOptions::default())
        .await
        .expect("second client");
    assert_eq!(other.getxattr(&c, f, b"user.b").await.expect("get"), b"");
    // Unlinked and collected, its attributes go with it.
    fs.unlink(&c, ROOT_INO, b"f").await.expect("unlink");
    fs.settle().await;
    other.settle().await;
    let left = fs
        .store()
        .query(&dynamofs_core::store::Query::new(
            Table::Meta,
            inode_p(f),
            dynamofs_core::store::Range::All,
        ))
        .await
        .expect("query");
    assert!(left.items.is_empty(), "left behind: {:?}", left.items);
}

/// The goal of the round-trip issue: a setxattr is one small write whose
/// cost does not depend on how many other attributes the file has.
async fn cost_does_not_grow(backend: Arc<dyn Store>) {
    let (fs, n) = common::counted_fs(backend, FsOptions::default()).await;
    let c = Caller::root();
    let few = file(&fs, b"few").await;
    let many = file(&fs, b"many").await;
    for i in 0..300 {
        let name = format!("user.attribute-{i:04}");
        fs.setxattr(&c, many, name.as_bytes(), &[7; 200], ANY)
            .await
            .expect("set");
    }
    // Last, so that both inodes are in the cache (1 s) when measured.
    fs.setxattr(&c, few, b"user.seed", b"x", ANY)
        .await
        .expect("set");
    let value = [1u8; 10];
    let (r1, w1, r) = cost(&n, fs.setxattr(&c, few, b"user.new", &value, ANY)).await;
    r.expect("set");
    let (r2, w2, r) = cost(&n, fs.setxattr(&c, many, b"user.new", &value, ANY)).await;
    r.expect("set");
    assert_eq!((r1, r2), (1, 1), "one transaction each");
    assert_eq!(
        w1, w2,
        "bytes written do not depend on the other attributes"
    );
    assert!(w2 < 1024, "a small write: {w2} bytes");
    // Replacing and removing one, also with a flag, stay one request.
    let (r, _, x) = cost(&n, fs.setxattr(&c, many, b"user.new", b"v", REPLACE)).await;
    x.expect("replace");
    assert_eq!(r, 1);
    let (r, _, x) = cost(&n, fs.removexattr(&c, many, b"user.new")).await;
    x.expect("remove");
    assert_eq!(r, 1);
    // Overwriting without a flag: the count says some exist, so the first
    // guess (new) may be wrong once.
    let (r, _, x) = cost(&n, fs.setxattr(&c, many, b"user.attribute-0007", b"w", ANY)).await;
    x.expect("overwrite");
    assert!(r <= 3, "overwrite took {r}");
    // A file without attributes answers from its cached inode; one with
    // some costs one read.
    let bare = file(&fs, b"bare").await;
    let (r, _, x) = cost(&n, fs.getxattr(&c, bare, b"security.selinux")).await;
    assert_eq!(errno(x), Errno::ENODATA);
    assert_eq!(r, 0, "no request for a file without attributes");
    let (r, _, x) = cost(&n, fs.getxattr(&c, many, b"user.attribute-0001")).await;
    assert_eq!(x.expect("get"), vec![7; 200]);
    assert_eq!(r, 1);
    assert_eq!(n.get(RequestKind::GetItem).requests, 1);
    assert_eq!(fs.listxattr(many).await.expect("list").len(), 300);
    // Back to none: free again.
    fs.removexattr(&c, few, b"user.seed").await.expect("remove");
    fs.removexattr(&c, few, b"user.new").await.expect("remove");
    let (r, _, x) = cost(&n, fs.getxattr(&c, few, b"user.seed")).await;
    assert_eq!(errno(x), Errno::ENODATA);
    assert_eq!(r, 0);
}

/// Attributes an earlier format kept in the inode item are read, and move
/// to their own items on the first change.
async fn inline_attributes_move_out(backend: Arc<dyn Store>) {
    let (fs, _) = common::counted_fs(backend, FsOptions::default()).await;
    let c = Caller::root();
    let f = file(&fs, b"old").await;
    let inline: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = (0..120)
        .map(|i| (format!("user.old{i:03}").into_bytes(), vec![i as u8; 3]))
        .collect();
    let blob = postcard::to_allocvec(&inline).expect("encode");
    fs.store()
        .write(&Write::Update {
            table: Table::Meta,
            key: Key::new(inode_p(f), b"a".to_vec()),
            changes: vec![Change::set(attr::XATTRS, Value::B(blob))],
            cond: None,
        })
        .await
        .expect("plant inline attributes");
    let fs = Fs::open(fs.store().clone(), FsOptions::default())
        .await
        .expect("reopen");
    assert_eq!(
        fs.getxattr(&c, f, b"user.old005").await.expect("get"),
        vec![5; 3]
    );
    assert_eq!(fs.listxattr(f).await.expect("list").len(), 120);
    fs.setxattr(&c, f, b"user.old005", b"new", REPLACE)
        .await
        .expect("replace an inline one");
    fs.setxattr(&c, f, b"user.more", b"m", CREATE)
        .await
        .expect("add");
    fs.removexattr(&c, f, b"user.old119").await.expect("remove");
    let other = Fs::open(fs.store().clone(), FsOptions::default())
        .await
        .expect("another client");
    let names = other.listxattr(f).await.expect("list");
    assert_eq!(names.len(), 120);
    assert!(names.contains(&b"user.more".to_vec()));
    assert!(!names.contains(&b"user.old119".to_vec()));
    assert_eq!(
        other.getxattr(&c, f, b"user.old005").await.expect("get"),
        b"new"
    );
    assert_eq!(
        other.getxattr(&c, f, b"user.old100").await.expect("get"),
        vec![100; 3]
    );
    let item = fs
        .store()
        .get(Table::Meta, &Key::new(inode_p(f), b"a".to_vec()), true)
        .await
        .expect("get inode")
        .expect("inode");
    assert!(!item.attrs.contains_key(attr::XATTRS), "moved out");
    assert_eq!(item.attrs.get(attr::XATTR_COUNT), Some(&Value::N(120)));
}

/// A count that disagrees with the attribute items (a count too low would
/// hide them) is found by fsck and set from the items; afterwards clean.
async fn fsck_recounts(backend: Arc<dyn Store>) {
    let (fs, _) = common::counted_fs(backend, FsOptions::default()).await;
    let c = Caller::root();
    let f = file(&fs, b"f").await;
    for name in [&b"user.a"[..], b"user.b", b"user.c"] {
        fs.setxattr(&c, f, name, b"v", ANY).await.expect("set");
    }
    let store = fs.store().clone();
    let clean = dynamofs_core::check::check(store.as_ref())
        .await
        .expect("check");
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    store
        .write(&Write::Update {
            table: Table::Meta,
            key: Key::new(inode_p(f), b"a".to_vec()),
            changes: vec![Change::set(attr::XATTR_COUNT, Value::N(1))],
            cond: None,
        })
        .await
        .expect("damage the count");
    drop(fs);
    let opts = dynamofs_core::fsck::Options {
        repair: true,
        force: false,
    };
    let out = dynamofs_core::fsck::fsck(store.clone(), opts, &|_: &str| {})
        .await
        .expect("fsck");
    let found: Vec<String> = out.found.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        found,
        vec![format!("inode {f} counts 1 extended attributes, but has 3")]
    );
    assert!(
        out.remaining.problems.is_empty(),
        "{:?}",
        out.remaining.problems
    );
    assert_eq!(out.exit_code(), 1);
    let fs = Fs::open(store, FsOptions::default()).await.expect("reopen");
    assert_eq!(fs.listxattr(f).await.expect("list").len(), 3);
}

both_stores!(
    behaviour,
    cost_does_not_grow,
    inline_attributes_move_out,
    fsck_recounts
);
