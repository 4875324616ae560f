//! Damaged items: a missing attribute, a wrong type, an unknown format
//! version, an item the store cannot decode at all. Each is EIO (or a clear
//! refusal to open) with the reason logged, never a panic; a listing shows
//! the rest of its directory, and the rest of the file system keeps
//! working.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::check::{self, Problem};
use dynamofs_core::error::{Errno, FsError};
use dynamofs_core::fs::{Fs, FsOptions, OpenMode};
use dynamofs_core::inode::inode_key;
use dynamofs_core::mkfs::{mkfs, MkfsOptions};
use dynamofs_core::schema::{attr, dir_p, ROOT_INO};
use dynamofs_core::store::damaged::{query_page, scan_page};
use dynamofs_core::store::{
    Billing, Change, Key, Query, Range, SqliteStore, Store, Table, Value, Write,
};
use dynamofs_core::superblock::{self, SuperblockError};

const READ: OpenMode = OpenMode {
    read: true,
    write: false,
    append: false,
    truncate: false,
};

const WRITE: OpenMode = OpenMode {
    read: false,
    write: true,
    append: false,
    truncate: false,
};

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
    // The listing has every name; only the damaged ones lack attributes.
    assert_eq!(
        listed(&fs, &c).await,
        want(&[("a", false), ("b", false), ("e", false), ("ok", true)])
    );
    // Everything else still works.
    fs.lookup(&c, ROOT_INO, b"ok")
        .await
        .expect("an intact file");
    fs.mkdir(&c, ROOT_INO, b"new", 0o755).await.expect("mkdir");
}

/// The root's entries (without `.` and `..`) by name, and whether
/// readdirplus gave attributes; plain readdir must list the same names.
async fn listed(fs: &Fs, c: &Caller) -> Vec<(String, bool)> {
    let mut h = fs.opendir(c, ROOT_INO).await.expect("opendir");
    let plain = fs.readdir(&mut h, 2, 100).await.expect("readdir");
    let plain: Vec<Vec<u8>> = plain.into_iter().map(|(_, e)| e.name).collect();
    let mut h = fs.opendir(c, ROOT_INO).await.expect("opendir");
    let plus = fs.readdirplus(&mut h, 2, 100).await.expect("readdirplus");
    let names: Vec<Vec<u8>> = plus.iter().map(|(_, e, _, _)| e.name.clone()).collect();
    assert_eq!(plain, names, "readdir and readdirplus list the same names");
    plus.into_iter()
        .filter(|(_, e, _, _)| e.name != b"new")
        .map(|(_, e, a, _)| (String::from_utf8_lossy(&e.name).into_owned(), a.is_some()))
        .collect()
}

fn want(v: &[(&str, bool)]) -> Vec<(String, bool)> {
    v.iter().map(|(n, a)| (n.to_string(), *a)).collect()
}

/// Makes an item undecodable for the store itself, as a flipped bit on
/// disk or a foreign writer would: a SQLite value that is not postcard, a
/// DynamoDB attribute of a type dynamofs never writes.
enum Spoiler {
    Sqlite(PathBuf),
    Dynamo(aws_sdk_dynamodb::Client),
}

impl Spoiler {
    async fn spoil(&self, store: &dyn Store, table: Table, key: &Key) {
        match self {
            Spoiler::Sqlite(path) => {
                let c = rusqlite::Connection::open(path).expect("open sqlite");
                let t = match table {
                    Table::Meta => "meta",
                    Table::Blocks => "blocks",
                };
                let sql = format!("UPDATE {t} SET v = x'ffffff' WHERE p = ?1 AND s = ?2");
                let n = c
                    .execute(&sql, rusqlite::params![key.p, key.s])
                    .expect("spoil");
                assert_eq!(n, 1, "no item {key}");
            }
            Spoiler::Dynamo(client) => {
                use aws_sdk_dynamodb::primitives::Blob;
                use aws_sdk_dynamodb::types::AttributeValue;
                client
                    .update_item()
                    .table_name(store.table_name(table))
                    .key("p", AttributeValue::B(Blob::new(key.p.clone())))
                    .key("s", AttributeValue::B(Blob::new(key.s.clone())))
                    .update_expression("SET zz = :v")
                    .condition_expression("attribute_exists(p)")
                    .expression_attribute_values(":v", AttributeValue::Bool(true))
                    .send()
                    .await
                    .expect("spoil");
            }
        }
    }
}

async fn sqlite_file(dir: &tempfile::TempDir) -> (Arc<dyn Store>, Spoiler) {
    let path = dir.path().join("fs.db");
    let s = SqliteStore::open(&path).expect("open");
    s.create_tables(Billing::OnDemand).await.expect("tables");
    (Arc::new(s), Spoiler::Sqlite(path))
}

async fn dynamo_raw() -> (Arc<dyn Store>, Spoiler) {
    let store = common::dynamo().await;
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(common::endpoint())
        .load()
        .await;
    (store, Spoiler::Dynamo(aws_sdk_dynamodb::Client::new(&conf)))
}

/// Items the store cannot decode: the listing shows the rest of the
/// directory, lookups of the damaged names are EIO, a neighbour in the
/// same store page still reads, and the checker reports each and goes on.
async fn undecodable_items_stay_apart(store: Arc<dyn Store>, spoiler: Spoiler) {
    let fs = fresh(&store).await;
    let c = Caller::root();
    let mut inos = Vec::new();
    for name in [&b"a"[..], b"e", b"ok"] {
        let (attr, _) = fs
            .create(&c, ROOT_INO, name, 0o644, true)
            .await
            .expect("create");
        let fh = fs
            .open_created(&c, attr.ino, WRITE, true)
            .await
            .expect("open");
        fs.write(fh, 0, b"some bytes").await.expect("write");
        fs.release(fh).await.expect("close");
        inos.push(attr.ino);
    }
    spoiler
        .spoil(store.as_ref(), Table::Meta, &inode_key(inos[0]))
        .await;
    let entry = Key::new(dir_p(ROOT_INO), "e");
    spoiler.spoil(store.as_ref(), Table::Meta, &entry).await;
    fs.drop_caches();
    assert_eq!(
        listed(&fs, &c).await,
        want(&[("a", false), ("e", false), ("ok", true)])
    );
    eio(fs.lookup(&c, ROOT_INO, b"a").await);
    eio(fs.lookup(&c, ROOT_INO, b"e").await);
    let ok = fs.lookup(&c, ROOT_INO, b"ok").await.expect("intact");
    let fh = fs.open_file(&c, ok.ino, READ).await.expect("open");
    assert_eq!(fs.read(fh, 0, 100).await.expect("read"), b"some bytes");
    fs.release(fh).await.expect("close");

    let report = check::check(store.as_ref()).await.expect("check");
    let kinds: Vec<&str> = report.problems.iter().map(|p| p.kind()).collect();
    assert!(
        report.problems.iter().any(|p| matches!(p,
            Problem::BadInode { ino, why } if *ino == inos[0] && why.contains("decode"))),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| matches!(p,
            Problem::Damaged { key, .. } if *key == entry.to_string())),
        "{:?}",
        report.problems
    );
    // Its block still has an inode, even if a damaged one; the inode the
    // damaged entry named has a name no more, and is reported as such.
    assert!(!kinds.contains(&"block_without_inode"), "{kinds:?}");
    assert!(!kinds.contains(&"dangling_entry"), "{kinds:?}");
    assert!(
        report.problems.contains(&Problem::Unreferenced {
            ino: inos[1],
            nlink: 1
        }),
        "{:?}",
        report.problems
    );
}

/// Pages step over undecodable items one by one: in pages of 4 over 14
/// items, 3 of them damaged (two side by side, one last), every good item
/// comes once and in order, and each damaged one comes apart once, by
/// query and by scan.
async fn pages_step_over_damage(store: Arc<dyn Store>, spoiler: Spoiler) {
    let key = |i: u8| Key::new(&b"Xdamage"[..], vec![i]);
    for i in 0..14u8 {
        let mut a = dynamofs_core::store::Attrs::new();
        a.insert("v".into(), Value::N(i as i64));
        let w = Write::Put {
            table: Table::Meta,
            key: key(i),
            attrs: a,
            cond: None,
        };
        store.write(&w).await.expect("put");
    }
    let bad = [5u8, 6, 13];
    for i in bad {
        spoiler.spoil(store.as_ref(), Table::Meta, &key(i)).await;
    }
    let good: Vec<Key> = (0..14).filter(|i| !bad.contains(i)).map(key).collect();
    let bad: Vec<Key> = bad.into_iter().map(key).collect();

    let (mut items, mut damaged, mut pages) = (Vec::new(), Vec::new(), 0);
    let mut q = Query::new(Table::Meta, &b"Xdamage"[..], Range::All);
    q.limit = Some(4);
    loop {
        let (page, undecodable) = query_page(store.as_ref(), &q).await.expect("query");
        items.extend(page.items.into_iter().map(|it| it.key));
        damaged.extend(undecodable.into_iter().map(|u| u.key));
        pages += 1;
        assert!(pages < 20, "the query does not end");
        match page.next {
            Some(n) => q.start_after = Some(n),
            None => break,
        }
    }
    assert_eq!(items, good, "query");
    assert_eq!(damaged, bad, "query");

    let (mut items, mut damaged, mut start) = (Vec::new(), Vec::new(), None);
    for _ in 0..20 {
        let (page, undecodable) = scan_page(store.as_ref(), Table::Meta, start.as_ref(), 4)
            .await
            .expect("scan");
        items.extend(page.items.into_iter().map(|it| it.key));
        damaged.extend(undecodable.into_iter().map(|u| u.key));
        start = page.next;
        if start.is_none() {
            break;
        }
    }
    assert!(start.is_none(), "the scan does not end");
    assert_eq!(items, good, "scan");
    assert_eq!(damaged, bad, "scan");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_pages_step_over_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, spoiler) = sqlite_file(&dir).await;
    pages_step_over_damage(store, spoiler).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamo_pages_step_over_damage() {
    let (store, spoiler) = dynamo_raw().await;
    pages_step_over_damage(store, spoiler).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_undecodable_items_stay_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, spoiler) = sqlite_file(&dir).await;
    undecodable_items_stay_apart(store, spoiler).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamo_undecodable_items_stay_apart() {
    let (store, spoiler) = dynamo_raw().await;
    undecodable_items_stay_apart(store, spoiler).await;
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
