//! `dynamofs fsck` end to end, on SQLite and moto: a file system written
//! through a real mount is clean; items damaged through the raw store are
//! each reported (exit 4), `--repair` fixes them (exit 1) and a second run
//! finds nothing (exit 0); operational errors are exit 8 with one clear
//! line; with a live mount fsck repairs only dead state unless forced.
//! Damage stays with its item: a listing through a mount or `dynamofs ls`
//! shows the rest of the directory, fsck reports every undecodable item and
//! every block that does not read back (by path and offset), and repair
//! never deletes what could be a file's data.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{dynamofs, py, Kind, Mount, Store};
use dynamofs_core::fs::layout::{
    dead_generation_key, dead_generation_put, encode_block, orphan_put,
};
use dynamofs_core::inode::{inode_key, Inode, S_IFDIR, S_IFREG};
use dynamofs_core::locks::{LockRequest, LockType, Locks};
use dynamofs_core::schema::{dir_p, ROOT_INO};
use dynamofs_core::session::{session_key, Session, DEFAULT_TTL};
use dynamofs_core::store::{self, Attrs, Change, Key, Table, Value, Write};
use dynamofs_core::superblock::now_ns;

fn fsck(store: &Store, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["fsck"];
    args.extend_from_slice(extra);
    args.push(&store.source);
    let out = dynamofs(store, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "fsck panicked: {stderr}\n{stdout}"
    );
    (out.status.code().unwrap_or(-1), stdout)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

async fn raw(store: &Store) -> Arc<dyn store::Store> {
    store.open().await.store
}

async fn put(s: &dyn store::Store, table: Table, key: Key, attrs: Attrs) {
    let w = Write::Put {
        table,
        key,
        attrs,
        cond: None,
    };
    s.write(&w).await.expect("put");
}

async fn set(s: &dyn store::Store, key: Key, attr: &str, v: Value) {
    let w = Write::Update {
        table: Table::Meta,
        key,
        changes: vec![Change::set(attr, v)],
        cond: None,
    };
    s.write(&w).await.expect("update");
}

async fn ino_of(s: &dyn store::Store, name: &str) -> u64 {
    let e = s
        .get(Table::Meta, &Key::new(dir_p(ROOT_INO), name), true)
        .await
        .expect("get")
        .expect("entry");
    e.attrs.get("i").and_then(Value::as_n).expect("ino") as u64
}

fn block_key(ino: u64, index: u64) -> Key {
    dynamofs_core::fs::layout::block_key(ino, 0, index)
}

fn block(len: usize) -> Attrs {
    encode_block(&vec![7; len], false)
}

/// Damage a file system four (five) ways; returns the expired session's id.
async fn damage(store: &Store) -> String {
    let s = raw(store).await;
    let s = s.as_ref();
    // A dangling entry.
    let mut e = Attrs::new();
    e.insert("i".into(), Value::N(12345));
    e.insert("t".into(), Value::N(S_IFREG as i64));
    put(s, Table::Meta, Key::new(dir_p(ROOT_INO), "ghost"), e).await;
    // A wrong link count.
    let solo = ino_of(s, "solo").await;
    set(s, inode_key(solo), "n", Value::N(2)).await;
    // Blocks of an inode that does not exist.
    put(s, Table::Blocks, block_key(4242, 0), block(16)).await;
    put(s, Table::Blocks, block_key(4242, 1), block(16)).await;
    // An inode no entry names, with a block: leaked.
    let lost = Inode::new(777, S_IFREG | 0o644, 0, 0, now_ns());
    let mut lost_attrs = lost.to_attrs();
    lost_attrs.insert("z".into(), Value::N(16));
    put(s, Table::Meta, lost.key(), lost_attrs).await;
    put(s, Table::Blocks, block_key(777, 0), block(16)).await;
    // A session that expired holding a lock.
    let stack = raw(store).await;
    let session = Session::register(stack, "/mnt/gone", DEFAULT_TTL)
        .await
        .expect("register");
    let locks = Locks::new(Arc::clone(&session));
    let f = ino_of(s, "f").await;
    locks
        .setlk(f, &LockRequest::posix(LockType::Write, 0, 9, 1, 4321))
        .await
        .expect("lock");
    let id = session.id().to_string();
    let past = now_ns() - 60_000_000_000;
    set(s, session_key(&id), "x", Value::N(past)).await;
    id
}

fn populate(store: &Store) {
    let m = Mount::new(store, &[]);
    std::fs::create_dir_all(m.path("d/e")).expect("mkdir");
    std::fs::write(m.path("f"), b"0123456789").expect("write");
    std::fs::write(m.path("solo"), vec![1u8; 5000]).expect("write");
    std::fs::write(m.path("d/e/big"), vec![2u8; 300_000]).expect("write");
    std::fs::hard_link(m.path("f"), m.path("d/f2")).expect("link");
    std::os::unix::fs::symlink("f", m.path("d/s")).expect("symlink");
    // Shrunk and emptied: the data path's cut and new generation.
    let big = std::fs::OpenOptions::new()
        .write(true)
        .open(m.path("d/e/big"))
        .expect("open");
    big.set_len(140_000).expect("truncate");
    big.set_len(0).expect("truncate");
    std::fs::write(m.path("d/e/big"), b"again").expect("write");
    drop(big);
}

fn damage_and_repair(kind: Kind) {
    let store = Store::new(kind);
    populate(&store);
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 0, "a fresh file system is clean:\n{out}");
    assert!(out.contains(": clean"), "{out}");

    let rt = runtime();
    let session = rt.block_on(damage(&store));
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 4, "damage left uncorrected:\n{out}");
    for want in [
        "entry 1/ghost names missing inode 12345",
        "has link count 2, but entries name it 1 times",
        "of inode 4242, which does not exist",
        "inode 777 (link count 1) has no name",
        &format!("session {session} (host"),
        "holding 1 lock records",
        "--repair",
    ] {
        assert!(out.contains(want), "`{want}` not reported:\n{out}");
    }
    let (code, json) = fsck(&store, &["--json"]);
    assert_eq!(code, 4);
    let kinds = py(&json, "sorted(set(p['kind'] for p in d['problems']))");
    for k in [
        "dangling_entry",
        "wrong_link_count",
        "block_without_inode",
        "expired_session",
        "unreferenced",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds}");
    }
    assert_eq!(py(&json, "d['exit_code'], d['repair']"), "4 False");

    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 1, "errors corrected:\n{out}");
    for want in [
        "removed entry 1/ghost",
        "set the link count of inode",
        "recreated missing inode 4242 from its 2 data blocks",
        "at /lost+found/#4242",
        "reconnected inode 777",
        "as /lost+found/#777",
        &format!("reaped expired session {session}"),
        "corrected",
    ] {
        assert!(out.contains(want), "`{want}` not done:\n{out}");
    }
    assert!(!out.contains("deleted data block"), "{out}");
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 0, "clean after the repair:\n{out}");
    let (code, json) = fsck(&store, &["--json", "--repair"]);
    assert_eq!((code, py(&json, "len(d['repairs'])")), (0, "0".into()));
    // The lock is gone and the data is intact.
    let s = rt.block_on(raw(&store));
    let f = rt.block_on(ino_of(s.as_ref(), "f"));
    let held = rt
        .block_on(Locks::list_inode(s.as_ref(), f))
        .expect("locks");
    assert!(held.is_empty(), "{held:?}");
    let m = Mount::new(&store, &[]);
    assert_eq!(std::fs::read(m.path("d/f2")).expect("read"), b"0123456789");
    assert_eq!(std::fs::read(m.path("d/e/big")).expect("read"), b"again");
    assert_eq!(std::fs::metadata(m.path("solo")).expect("stat").len(), 5000);
    // What no name reached is kept, under /lost+found.
    assert_eq!(
        std::fs::read(m.path("lost+found/#777")).expect("read"),
        vec![7; 16]
    );
    let salvaged = std::fs::read(m.path("lost+found/#4242")).expect("read");
    assert_eq!(salvaged.len(), 256 * 1024 + 16);
    assert!(salvaged[..16]
        .iter()
        .chain(&salvaged[256 * 1024..])
        .all(|b| *b == 7));
}

fn operational_errors(kind: Kind) {
    let store = Store::new(kind);
    let bad = match kind {
        Kind::Sqlite => store.source.replace("fs.db", "missing.db"),
        Kind::Moto => "aws:us-east-1/no-such-table-here".into(),
    };
    for src in ["s3://bucket/x", &bad] {
        let out = dynamofs(&store, &["fsck", src]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(8), "{src}: {err}");
        assert!(err.starts_with("dynamofs: error: "), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    }
    let out = dynamofs(&store, &["fsck", &bad]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") || err.contains("no dynamofs file system"),
        "{err}"
    );
    // A damaged superblock is reported and left; an unknown format refused.
    let rt = runtime();
    let s = rt.block_on(raw(&store));
    let sb = dynamofs_core::superblock::key();
    let drop_bs = Write::Update {
        table: Table::Meta,
        key: sb.clone(),
        changes: vec![Change::remove("bs")],
        cond: None,
    };
    rt.block_on(s.write(&drop_bs)).expect("damage");
    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("superblock: ") && out.contains("restore the table"),
        "{out}"
    );
    rt.block_on(set(s.as_ref(), sb, "v", Value::N(99)));
    let out = dynamofs(&store, &["fsck", &store.source]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{err}");
    assert!(err.contains("format 99"), "{err}");
}

/// Beside a live mount: findings are confirmed, only dead state is
/// repaired, and --force repairs the rest.
fn beside_a_live_mount(kind: Kind) {
    let store = Store::new(kind);
    // A long TTL: the mount's own reaper (first run a third of a TTL
    // after mounting) must not beat fsck to the expired session.
    let m = Mount::new(&store, &["session_ttl=90"]);
    std::fs::write(m.path("f"), b"data").expect("write");
    std::fs::write(m.path("solo"), b"x").expect("write");
    std::thread::sleep(Duration::from_millis(200));
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 live session(s)"), "{out}");
    let rt = runtime();
    let session = rt.block_on(damage(&store));
    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 4, "live state left:\n{out}");
    assert!(
        out.contains(&format!("reaped expired session {session}")),
        "{out}"
    );
    assert!(out.contains("run with --force"), "{out}");
    assert!(!out.contains("removed entry 1/ghost"), "{out}");
    assert!(!out.contains("recreated missing inode 4242"), "{out}");
    let (code, out) = fsck(&store, &["--repair", "--force"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("removed entry 1/ghost"), "{out}");
    assert!(out.contains("recreated missing inode 4242"), "{out}");
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(std::fs::read(m.path("f")).expect("read"), b"data");
}

/// Blocks past the size, as a killed writer leaves them, are provably
/// garbage once no live mount holds the file open: a live repair deletes
/// them without --force (sessions publish what they hold open), and
/// leaves those of a file a mount holds open until its last close.
fn garbage_beside_a_live_mount(kind: Kind) {
    let store = Store::new(kind);
    // A short TTL: fsck waits for two heartbeats (TTL/3 apart) of every
    // live session before it believes what they hold open.
    let m = Mount::new(&store, &["session_ttl=3"]);
    std::fs::write(m.path("closed"), b"closed").expect("write");
    std::fs::write(m.path("open"), b"held").expect("write");
    let held = std::fs::File::open(m.path("open")).expect("open");
    let rt = runtime();
    let s = rt.block_on(raw(&store));
    let closed = rt.block_on(ino_of(s.as_ref(), "closed"));
    let open = rt.block_on(ino_of(s.as_ref(), "open"));
    for ino in [closed, open] {
        rt.block_on(put(s.as_ref(), Table::Blocks, block_key(ino, 2), block(16)));
    }
    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 4, "the held file's garbage is left:\n{out}");
    assert!(
        out.contains(&format!(
            "deleted data block 2 of inode {closed}, past its size 6"
        )),
        "{out}"
    );
    assert!(
        !out.contains(&format!("deleted data block 2 of inode {open}")),
        "{out}"
    );
    assert!(out.contains("a live mount may hold the file open"), "{out}");
    drop(held);
    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "deleted data block 2 of inode {open}, past its size 4"
        )),
        "{out}"
    );
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(std::fs::read(m.path("closed")).expect("read"), b"closed");
    assert_eq!(std::fs::read(m.path("open")).expect("read"), b"held");
}

/// Make an item undecodable for the SQLite store itself (a value that is
/// not postcard), as a flipped bit on disk would.
fn spoil_sqlite(store: &Store, table: &str, key: &Key) {
    let path = store
        .source
        .strip_prefix("sqlite:")
        .expect("a SQLite source");
    let script = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("UPDATE " + sys.argv[2] + " SET v = x'ffffff' WHERE p = ? AND s = ?",
              (bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4]))).rowcount
c.commit()
assert n == 1, "no such item"
"#;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let out = std::process::Command::new("python3")
        .args(["-c", script, path, table, &hex(&key.p), &hex(&key.s)])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn entry_ino(s: &dyn store::Store, dir: u64, name: &str) -> u64 {
    let e = s
        .get(Table::Meta, &Key::new(dir_p(dir), name), true)
        .await
        .expect("get")
        .expect("entry");
    e.attrs.get("i").and_then(Value::as_n).expect("ino") as u64
}

/// One damaged inode (and on SQLite, items the store cannot decode at
/// all) must not take its directory with it: `ls` through a mount and
/// `dynamofs ls` list the rest, only the damaged names fail (EIO), the log
/// names the item, and fsck reports each item (exit 4, not 8).
fn damage_stays_apart(kind: Kind) {
    let store = Store::new(kind);
    {
        let m = Mount::new(&store, &[]);
        std::fs::create_dir(m.path("d")).expect("mkdir");
        for f in ["a", "b", "c", "z"] {
            std::fs::write(m.path(&format!("d/{f}")), f.repeat(1000)).expect("write");
        }
    }
    let rt = runtime();
    let s = rt.block_on(raw(&store));
    let d = rt.block_on(ino_of(s.as_ref(), "d"));
    let b = rt.block_on(entry_ino(s.as_ref(), d, "b"));
    rt.block_on(set(s.as_ref(), inode_key(b), "m", Value::S("rw".into())));
    let mut damaged = vec!["b"];
    if let Kind::Sqlite = kind {
        // The inode of a, the entry c and the block of z: undecodable.
        let a = rt.block_on(entry_ino(s.as_ref(), d, "a"));
        let z = rt.block_on(entry_ino(s.as_ref(), d, "z"));
        drop(s);
        spoil_sqlite(&store, "meta", &inode_key(a));
        spoil_sqlite(&store, "meta", &Key::new(dir_p(d), "c"));
        spoil_sqlite(&store, "blocks", &block_key(z, 0));
        damaged.extend(["a", "c"]);
    }

    let m = Mount::new(&store, &[]);
    let mut names: Vec<String> = std::fs::read_dir(m.path("d"))
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b", "c", "z"], "every name is listed");
    for name in &damaged {
        let e = std::fs::metadata(m.path(&format!("d/{name}"))).expect_err("damaged");
        assert_eq!(e.raw_os_error(), Some(5), "{name}: {e}");
    }
    let ls = std::process::Command::new("ls")
        .arg("-l")
        .arg(m.path("d"))
        .output()
        .expect("ls");
    let (out, err) = (
        String::from_utf8_lossy(&ls.stdout),
        String::from_utf8_lossy(&ls.stderr),
    );
    assert_eq!(ls.status.code(), Some(1), "ls -l: {out}{err}");
    assert!(out.contains(" z\n"), "ls -l lists the rest: {out}");
    assert!(
        err.contains("d/b") && err.contains("Input/output error"),
        "{err}"
    );
    match kind {
        // The block of z does not read back: only reading it fails.
        Kind::Sqlite => {
            let e = std::fs::read(m.path("d/z")).expect_err("bad block");
            assert_eq!(e.raw_os_error(), Some(5), "{e}");
        }
        Kind::Moto => assert_eq!(
            std::fs::read(m.path("d/z")).expect("read"),
            "z".repeat(1000).as_bytes()
        ),
    }
    let log = m.log();
    assert!(
        log.contains(&format!("inode {b}")) && log.contains("attribute `m`"),
        "the log names the item: {log}"
    );
    drop(m);

    let out = dynamofs(&store, &["ls", &format!("{}:/d", store.source)]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.lines().any(|l| l == "z"), "{stdout}");
    for name in &damaged {
        assert!(stderr.contains(&format!("/d/{name}")), "{name}: {stderr}");
        assert!(!stdout.lines().any(|l| l == *name), "{name}: {stdout}");
    }

    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains(&format!("inode {b} is damaged")), "{out}");
    if let Kind::Sqlite = kind {
        for want in ["the store cannot decode it", "/d/z (inode", "at offset 0"] {
            assert!(out.contains(want), "`{want}`: {out}");
        }
        let (_, json) = fsck(&store, &["--json"]);
        let kinds = py(&json, "sorted(p['kind'] for p in d['problems'])");
        for k in ["bad_inode", "damaged_item", "bad_block"] {
            assert!(kinds.contains(k), "{k} missing from {kinds}");
        }
    }
    // Repair leaves damaged items alone (and deletes nothing of them).
    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("restore it from a backup"), "{out}");
}

/// Every block of a file is read back and checked: a checksum mismatch
/// and an lz4 payload that does not decode are reported by path and
/// offset; blocks that are garbage anyway are not.
fn bad_blocks_by_path(kind: Kind) {
    let store = Store::new(kind);
    {
        let m = Mount::new(&store, &[]);
        std::fs::create_dir(m.path("d")).expect("mkdir");
        let noise: Vec<u8> = (0..600_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(m.path("d/noise"), &noise).expect("write");
        std::fs::write(m.path("d/text"), "hello ".repeat(100_000)).expect("write");
    }
    let rt = runtime();
    let s = rt.block_on(raw(&store));
    let d = rt.block_on(ino_of(s.as_ref(), "d"));
    let noise = rt.block_on(entry_ino(s.as_ref(), d, "noise"));
    let text = rt.block_on(entry_ino(s.as_ref(), d, "text"));
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 0, "{out}");
    // A flipped byte in a raw block; a truncated lz4 payload.
    let key = block_key(noise, 1);
    let mut it = rt
        .block_on(s.get(Table::Blocks, &key, true))
        .expect("get")
        .expect("block");
    if let Some(Value::B(d)) = it.attrs.get_mut("d") {
        d[100] ^= 1;
    }
    rt.block_on(put(s.as_ref(), Table::Blocks, key, it.attrs));
    let key = block_key(text, 2);
    let mut it = rt
        .block_on(s.get(Table::Blocks, &key, true))
        .expect("get")
        .expect("block");
    assert_eq!(it.attrs.get("e"), Some(&Value::N(1)), "text is compressed");
    if let Some(Value::B(d)) = it.attrs.get_mut("d") {
        d.truncate(d.len() / 2);
    }
    rt.block_on(put(s.as_ref(), Table::Blocks, key, it.attrs));
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 4, "{out}");
    let bs = 256 * 1024;
    for want in [
        format!("/d/noise (inode {noise}): data block 1 at offset {bs} does not read back: checksum mismatch"),
        format!("/d/text (inode {text}): data block 2 at offset {} does not read back: lz4", 2 * bs),
    ] {
        assert!(out.contains(&want), "`{want}`: {out}");
    }
    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 4, "left for the owner: {out}");
    assert!(out.contains("those bytes are lost"), "{out}");
    // The blocks are still there, and the rest of the file reads.
    let m = Mount::new(&store, &[]);
    let f = std::fs::File::open(m.path("d/noise")).expect("open");
    let mut first = vec![0u8; 1000];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut first, 0).expect("block 0 reads");
    let e = std::os::unix::fs::FileExt::read_exact_at(&f, &mut first, bs as u64)
        .expect_err("block 1 does not");
    assert_eq!(e.raw_os_error(), Some(5), "{e}");
}

/// Repair never deletes what could be a file's data: a file whose mode
/// says directory gets its mode back; an inode whose item is gone is
/// recreated from its blocks under its name; an inode no name reaches goes
/// to /lost+found; blocks of a generation newer than the inode's are left.
fn repair_keeps_data(kind: Kind) {
    let store = Store::new(kind);
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    {
        let m = Mount::new(&store, &[]);
        std::fs::write(m.path("moded"), b"a file, not a directory").expect("write");
        std::fs::write(m.path("lost"), &big).expect("write");
        std::fs::write(m.path("nameless"), b"no name").expect("write");
        std::fs::write(m.path("regen"), b"newer generation").expect("write");
        std::fs::write(m.path("flipped"), b"its generation changed").expect("write");
    }
    let rt = runtime();
    let s = rt.block_on(raw(&store));
    let s = s.as_ref();
    let moded = rt.block_on(ino_of(s, "moded"));
    rt.block_on(set(
        s,
        inode_key(moded),
        "m",
        Value::N((S_IFDIR | 0o644) as i64),
    ));
    let lost = rt.block_on(ino_of(s, "lost"));
    let del = |key: Key| Write::Delete {
        table: Table::Meta,
        key,
        cond: None,
    };
    rt.block_on(s.write(&del(inode_key(lost)))).expect("delete");
    let nameless = rt.block_on(ino_of(s, "nameless"));
    rt.block_on(s.write(&del(Key::new(dir_p(ROOT_INO), "nameless"))))
        .expect("delete");
    // A copy of a block under a generation newer than the inode's.
    let regen = rt.block_on(ino_of(s, "regen"));
    let blk = rt
        .block_on(s.get(Table::Blocks, &block_key(regen, 0), true))
        .expect("get")
        .expect("block");
    let mut newer = block_key(regen, 0);
    newer.p[9..17].copy_from_slice(&3u64.to_be_bytes());
    rt.block_on(put(s, Table::Blocks, newer, blk.attrs));
    // A generation number that grew by damage: all the data looks dead.
    let flipped = rt.block_on(ino_of(s, "flipped"));
    rt.block_on(set(s, inode_key(flipped), "gn", Value::N(5)));

    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains(&format!("inode {moded} has mode 40644")),
        "{out}"
    );
    let (code, out) = fsck(&store, &["--repair"]);
    for want in [
        format!("set the mode of inode {moded} from 40644 to 100644"),
        format!("recreated missing inode {lost} from its 3 data blocks"),
        "at its name(s) 1/lost".to_string(),
        format!("reconnected inode {nameless}"),
        format!("as /lost+found/#{nameless}"),
    ] {
        assert!(out.contains(&want), "`{want}`: {out}");
    }
    assert!(!out.contains("deleted data block"), "{out}");
    assert!(!out.contains("collected orphan"), "{out}");
    assert_eq!(code, 4, "the newer generation is left: {out}");
    assert!(out.contains("generation 3, not its current 0"), "{out}");
    assert!(out.contains("may be what is damaged"), "{out}");
    assert!(
        out.contains(&format!(
            "inode {flipped} is at generation 5 with size 22, but its 1 data block(s) are all of generation 0"
        )),
        "{out}"
    );
    let kept = rt.block_on(s.get(Table::Blocks, &block_key(flipped, 0), true));
    assert!(
        kept.expect("get").is_some(),
        "the flipped file's block is kept"
    );

    let m = Mount::new(&store, &[]);
    assert_eq!(
        std::fs::read(m.path("moded")).expect("read"),
        b"a file, not a directory"
    );
    assert_eq!(std::fs::read(m.path("lost")).expect("read"), big);
    assert_eq!(
        std::fs::read(m.path(&format!("lost+found/#{nameless}"))).expect("read"),
        b"no name"
    );
    assert_eq!(
        std::fs::read(m.path("regen")).expect("read"),
        b"newer generation"
    );
    drop(m);
    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 4, "{out}");
    assert!(!out.contains("repairs made"), "nothing more to do: {out}");
}

/// What repair does delete is provable garbage, and only that: a block of
/// a generation its file left (the file has data at its own), the blocks
/// of a dead generation whose record names them, and the blocks of an
/// orphan whose inode is gone. Each file's data reads back afterwards.
fn repair_deletes_only_garbage(kind: Kind) {
    let store = Store::new(kind);
    {
        let m = Mount::new(&store, &[]);
        for name in ["renewed", "pending"] {
            std::fs::write(m.path(name), b"first data").expect("write");
            // Emptied and written again: generation 1 holds the data.
            std::fs::write(m.path(name), format!("{name}: second data")).expect("write");
        }
    }
    let rt = runtime();
    let s = rt.block_on(raw(&store));
    let s = s.as_ref();
    let gen_key = dynamofs_core::fs::layout::block_key;
    let renewed = rt.block_on(ino_of(s, "renewed"));
    let pending = rt.block_on(ino_of(s, "pending"));
    // A block of generation 0 left behind, with no record to collect it
    // (the mount's own record of that generation may still be there).
    let record = Write::Delete {
        table: Table::Meta,
        key: dead_generation_key(renewed, 0),
        cond: None,
    };
    rt.block_on(s.write(&record)).expect("delete record");
    rt.block_on(put(s, Table::Blocks, gen_key(renewed, 0, 0), block(100)));
    // Generation 0 of the other file, named by its record, not collected.
    rt.block_on(s.write(&dead_generation_put(pending, 0, 2, now_ns())))
        .expect("record");
    for i in 0..2 {
        rt.block_on(put(s, Table::Blocks, gen_key(pending, 0, i), block(100)));
    }
    // An orphan whose inode is gone and whose block is not.
    let gone = 0x5eed_0000_0000_0001u64;
    rt.block_on(s.write(&orphan_put(gone, now_ns())))
        .expect("orphan");
    rt.block_on(put(s, Table::Blocks, gen_key(gone, 0, 0), block(100)));

    let (code, out) = fsck(&store, &["--repair"]);
    assert_eq!(code, 1, "repaired: {out}");
    for want in [
        format!("deleted data block 0 of inode {renewed}'s dead generation 0"),
        format!("collected the old data generation 0 of inode {pending}"),
        format!("deleted data block 0 of collected orphan {gone}"),
    ] {
        assert!(out.contains(&want), "`{want}`: {out}");
    }
    for key in [
        gen_key(renewed, 0, 0),
        gen_key(pending, 0, 0),
        gen_key(pending, 0, 1),
        gen_key(gone, 0, 0),
    ] {
        let left = rt.block_on(s.get(Table::Blocks, &key, true)).expect("get");
        assert!(left.is_none(), "garbage left: {key:?}");
    }
    for (ino, name) in [(renewed, "renewed"), (pending, "pending")] {
        let kept = rt.block_on(s.get(Table::Blocks, &gen_key(ino, 1, 0), true));
        assert!(kept.expect("get").is_some(), "{name}'s data is kept");
    }
    let (code, out) = fsck(&store, &[]);
    assert_eq!(code, 0, "clean after the repair: {out}");
    let m = Mount::new(&store, &[]);
    for name in ["renewed", "pending"] {
        assert_eq!(
            std::fs::read_to_string(m.path(name)).expect("read"),
            format!("{name}: second data")
        );
    }
}

common::both!(
    damage_and_repair,
    repair_deletes_only_garbage,
    operational_errors,
    damage_stays_apart,
    bad_blocks_by_path,
    repair_keeps_data,
    garbage_beside_a_live_mount
);

#[test]
fn sqlite_beside_a_live_mount() {
    beside_a_live_mount(Kind::Sqlite);
}
