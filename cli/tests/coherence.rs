//! Several mounts of one store, through real kernel mounts: what one client
//! writes is what the others see (close-to-open, stat within the attribute
//! time, appends at the end of file), open files survive other clients'
//! unlinks and truncations, locks make data coherent, and a client that
//! stalls past its lease loses its locks and is told so. fsck is clean
//! after every test. On SQLite and on the DynamoDB-compatible test server.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{dynamofs, Kind, Mount, Store};

/// Short leases, so that collection and lease loss happen within a test;
/// longer on the HTTP server, whose requests are slower under the load of
/// several mounts (a heartbeat must get through within nine tenths of it).
fn ttl(kind: Kind) -> u64 {
    match kind {
        Kind::Sqlite => 2,
        Kind::Moto => 5,
    }
}

fn mounts(store: &Store, kind: Kind, n: usize) -> Vec<Mount> {
    let opt = format!("session_ttl={}", ttl(kind));
    (0..n).map(|_| Mount::new(store, &[&opt])).collect()
}

/// Unmount everything, then fsck must find nothing wrong.
fn fsck_clean(store: &Store, mounts: Vec<Mount>) {
    drop(mounts);
    let out = dynamofs(store, &["fsck", &store.source]);
    assert!(
        out.status.success(),
        "fsck after the test: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn size(p: &Path) -> u64 {
    fs::metadata(p).expect("stat").len()
}

/// Wait until `f` holds, up to `secs` (the attribute time plus slack).
fn eventually(secs: f64, what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    while !f() {
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The first reproduction of the issue: a mount that has seen a file keeps
/// its old size; appends and overwrites elsewhere must show.
fn sizes_and_bytes_follow(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (&m[0], &m[1]);
    fs::write(a.path("f"), b"0123456789").expect("write");
    assert_eq!(size(&b.path("f")), 10);
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(a.path("f"))
        .expect("open");
    f.write_all(b"MORE").expect("append");
    drop(f);
    eventually(2.5, "stat in B shows A's append", || {
        size(&b.path("f")) == 14
    });
    assert_eq!(fs::read(b.path("f")).expect("read"), b"0123456789MORE");
    // An overwrite in A: B opens after A closed, so it reads every byte.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(a.path("f"))
        .expect("open");
    f.seek(SeekFrom::Start(2)).expect("seek");
    f.write_all(b"XY").expect("write");
    drop(f);
    assert_eq!(fs::read(b.path("f")).expect("read"), b"01XY456789MORE");
    // O_APPEND from B, which saw an older size: at the end, overwriting
    // nothing.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(b.path("f"))
        .expect("open");
    f.write_all(b"+B").expect("append");
    drop(f);
    assert_eq!(fs::read(a.path("f")).expect("read"), b"01XY456789MORE+B");
    // Truncate and extend elsewhere: stat follows within the attribute time.
    fs::OpenOptions::new()
        .write(true)
        .open(a.path("f"))
        .expect("open")
        .set_len(5)
        .expect("truncate");
    eventually(2.5, "B sees the truncation", || size(&b.path("f")) == 5);
    assert_eq!(fs::read(b.path("f")).expect("read"), b"01XY4");
    fs::OpenOptions::new()
        .write(true)
        .open(a.path("f"))
        .expect("open")
        .set_len(10_000)
        .expect("extend");
    eventually(2.5, "B sees the extension", || size(&b.path("f")) == 10_000);
    let data = fs::read(b.path("f")).expect("read");
    assert_eq!(&data[..5], b"01XY4");
    assert!(
        data[5..].iter().all(|b| *b == 0),
        "truncated bytes came back"
    );
    fsck_clean(&store, m);
}

/// Close-to-open holds even while the kernel still trusts attributes it
/// cached (a long attr_timeout): an open after another client's close reads
/// every byte, whatever size this mount's kernel had cached.
fn open_sees_new_size_despite_cached_attrs(kind: Kind) {
    let store = Store::new(kind);
    let opt = format!("session_ttl={}", ttl(kind));
    let a = Mount::new(&store, &[&opt]);
    let b = Mount::new(&store, &[&opt, "attr_timeout=60", "entry_timeout=60"]);
    fs::write(a.path("f"), b"0123456789").expect("write");
    assert_eq!(size(&b.path("f")), 10, "B caches the size for a minute");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(a.path("f"))
        .expect("open");
    f.write_all(b"MORE").expect("append");
    drop(f);
    assert_eq!(fs::read(b.path("f")).expect("read"), b"0123456789MORE");
    assert_eq!(size(&b.path("f")), 14, "and the open refreshed the size");
    fs::OpenOptions::new()
        .write(true)
        .open(a.path("f"))
        .expect("open")
        .set_len(3)
        .expect("truncate");
    assert_eq!(fs::read(b.path("f")).expect("read"), b"012");
    fsck_clean(&store, vec![a, b]);
}

/// A pattern that never holds a zero byte, so zeros read are a finding.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u64 * 31 + seed as u64) % 251) as u8 + 1)
        .collect()
}

/// An open file keeps its data when another client unlinks it or
/// truncates it to zero, and it is collected once closed everywhere.
fn open_files_survive_other_clients(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (&m[0], &m[1]);
    let len = 1_500_000;
    let old = pattern(len, 1);
    fs::write(a.path("u"), &old).expect("write");
    fs::write(a.path("t"), &old).expect("write");
    let mut ru = fs::File::open(b.path("u")).expect("open in B");
    let mut rt = fs::File::open(b.path("t")).expect("open in B");
    let mut first_u = vec![0u8; 1000];
    ru.read_exact(&mut first_u).expect("read");
    let mut first_t = vec![0u8; 1000];
    rt.read_exact(&mut first_t).expect("read");
    fs::remove_file(a.path("u")).expect("unlink in A");
    let new = pattern(200_000, 7);
    fs::write(a.path("t"), &new).expect("truncate and rewrite in A");
    // Several heartbeats pass: a collector that did not wait for B would
    // have deleted the data by now.
    std::thread::sleep(Duration::from_secs(ttl(kind) + 1));
    let mut rest = Vec::new();
    ru.read_to_end(&mut rest)
        .expect("read the rest of the unlinked file");
    first_u.extend(rest);
    assert!(
        first_u == old,
        "B read changed bytes of a file unlinked by A"
    );
    let mut rest = Vec::new();
    rt.read_to_end(&mut rest).expect("read the truncated file");
    first_t.extend(rest);
    assert!(
        !first_t.contains(&0),
        "B read zeros for a file A truncated and rewrote"
    );
    assert!(
        first_t == old || first_t == new || first_t.len() <= len,
        "B read neither version"
    );
    drop((ru, rt));
    // Opened again: the new contents, and the unlinked name is gone.
    assert_eq!(fs::read(b.path("t")).expect("read"), new);
    assert!(!b.path("u").exists());
    // Collected once nobody holds it: no orphan or dead generation left.
    eventually(
        10.0 * ttl(kind) as f64,
        "orphans and old blocks collected",
        || store_counts(&store) == (0, 0),
    );
    fsck_clean(&store, m);
}

/// Orphan and dead-generation records in the store.
fn store_counts(store: &Store) -> (usize, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let opened = store.open().await;
        let fs = dynamofs_core::fs::Fs::open(opened.store.clone(), Default::default())
            .await
            .expect("open fs");
        let orphans = fs.orphans().await.expect("orphans").len();
        let gens = fs.dead_generations().await.expect("generations").len();
        (orphans, gens)
    })
}

/// open(O_CREAT) of a name another mount just unlinked creates it, at the
/// first try: the stale name answers ESTALE and the kernel looks again.
fn create_after_remote_unlink(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (&m[0], &m[1]);
    for i in 0..8 {
        let name = format!("g{i}");
        fs::write(a.path(&name), b"x").expect("create in A");
        assert!(b.path(&name).exists(), "B caches the name");
        fs::remove_file(a.path(&name)).expect("unlink in A");
        let f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(b.path(&name));
        assert!(f.is_ok(), "create in B after A's unlink: {f:?}");
        // And a stat of the stale name is ENOENT once the kernel's cached
        // attributes expire (not ESTALE, not the old inode).
        fs::remove_file(a.path(&name)).expect("unlink again in A");
        eventually(2.5, "B's stat of the removed name says ENOENT", || {
            fs::metadata(b.path(&name)).err().map(|e| e.kind())
                == Some(std::io::ErrorKind::NotFound)
        });
    }
    fsck_clean(&store, m);
}

/// Appenders on three mounts, each record under an exclusive fcntl lock:
/// one kind opens per record (O_APPEND), the other keeps the file open and
/// seeks to the end under the lock. No record is lost or torn.
fn locked_appends_keep_every_record(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 3);
    let per = match kind {
        Kind::Sqlite => 60,
        Kind::Moto => 25,
    };
    let script = r#"
import fcntl, os, sys
path, tag, n, style = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fd = None
for i in range(n):
    if style == "reopen":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    elif fd is None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    if style == "seek":
        os.lseek(fd, 0, os.SEEK_END)
    os.write(fd, ("%s %04d\n" % (tag, i)).encode())
    fcntl.lockf(fd, fcntl.LOCK_UN)
    if style == "reopen":
        os.close(fd)
"#;
    for (file, style) in [("spool", "reopen"), ("db", "seek")] {
        let mut kids: Vec<Child> = Vec::new();
        for (i, mnt) in m.iter().enumerate() {
            for j in 0..2 {
                kids.push(
                    Command::new("python3")
                        .arg("-c")
                        .arg(script)
                        .arg(mnt.path(file))
                        .arg(format!("m{i}p{j}"))
                        .arg(per.to_string())
                        .arg(style)
                        .spawn()
                        .expect("python3"),
                );
            }
        }
        for mut k in kids {
            if !k.wait().expect("wait").success() {
                let logs: Vec<String> = m.iter().map(|x| x.log()).collect();
                panic!("an appender failed; mount logs:\n{}", logs.join("\n----\n"));
            }
        }
        let text = fs::read_to_string(m[0].path(file)).expect("read");
        let mut lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6 * per, "{style}: records lost:\n{text}");
        lines.sort_unstable();
        lines.dedup();
        assert_eq!(lines.len(), 6 * per, "{style}: records torn or doubled");
        assert_eq!(fs::read_to_string(m[2].path(file)).expect("read"), text);
    }
    fsck_clean(&store, m);
}

/// A process that holds an exclusive fcntl lock on `path` and then obeys
/// commands on stdin: "write" (one record), "unlock"; each answered with
/// "ok" or the errno name.
fn lock_holder(path: &Path) -> (Child, impl FnMut(&str) -> String) {
    let script = r#"
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
for line in sys.stdin:
    try:
        if line.strip() == "write":
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, b"late\n")
            os.fsync(fd)
        elif line.strip() == "unlock":
            fcntl.lockf(fd, fcntl.LOCK_UN)
        print("ok", flush=True)
    except OSError as e:
        print(errno.errorcode[e.errno], flush=True)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut input = child.stdin.take().expect("stdin");
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "locked");
    let ask = move |cmd: &str| {
        writeln!(input, "{cmd}").expect("send");
        let mut line = String::new();
        out.read_line(&mut line).expect("answer");
        line.trim().to_string()
    };
    (child, ask)
}

/// A mount stalled past its lease (SIGSTOP of its server): another client
/// gets the lock once the stalled one's heartbeat stood still for the TTL,
/// and the stalled client, resumed, fails I/O and unlock on the file it had
/// locked with EIO instead of writing over the new holder's data. Reopened,
/// the file works again.
fn stalled_client_loses_its_locks(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (&m[0], &m[1]);
    fs::write(a.path("db"), b"").expect("create");
    let (mut holder, mut ask) = lock_holder(&b.path("db"));
    assert_eq!(ask("write"), "ok");
    let pid = b.server_pid().expect("B's server");
    common::sh(&format!("kill -STOP {pid}"));
    // A waits for the lock: granted once B's heartbeat stood still for the
    // TTL on A's clock.
    let took = Instant::now();
    let script = r#"
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.lseek(fd, 0, os.SEEK_END)
os.write(fd, b"new holder\n")
fcntl.lockf(fd, fcntl.LOCK_UN)
os.close(fd)
"#;
    let st = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(a.path("db"))
        .status()
        .expect("python3");
    let waited = took.elapsed();
    common::sh(&format!("kill -CONT {pid}"));
    assert!(st.success(), "A did not get the lock");
    assert!(
        waited >= Duration::from_secs(ttl(kind)),
        "A got the lock before B's lease could have ended ({waited:?})"
    );
    // B notices the lost lease at its next heartbeat (at once: it is due).
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(ask("write"), "EIO", "a write under a lost lock");
    assert_eq!(ask("unlock"), "EIO", "unlock of a lost lock");
    drop(ask);
    let _ = holder.wait();
    assert_eq!(
        fs::read_to_string(a.path("db")).expect("read"),
        "late\nnew holder\n",
        "the stalled client wrote over the new holder"
    );
    // Reopened, the file works again in B.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(b.path("db"))
        .expect("reopen");
    f.write_all(b"after\n").expect("write after reopening");
    drop(f);
    assert!(b.log().contains("lease lost"), "B's log says why");
    fsck_clean(&store, m);
}

/// An unlock that the kernel queued while its mount was stalled past the
/// lease (the writer wrote under the lock, then unlocked, with the server
/// stopped): on resuming, the client drops what it buffered under the lost
/// lock, so the unlock must fail (EIO), never succeed for a record that is
/// not stored (chaos found one: "lost record ..., whose unlock had
/// returned").
fn unlock_queued_in_a_stall_does_not_vouch_for_dropped_data(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (&m[0], &m[1]);
    fs::write(a.path("spool"), b"").expect("create");
    let script = r#"
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.lseek(fd, 0, os.SEEK_END)
os.write(fd, b"buffered under the lock\n")
print("written", flush=True)
sys.stdin.readline()
try:
    fcntl.lockf(fd, fcntl.LOCK_UN)
    print("ok", flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
"#;
    let mut writer = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(b.path("spool"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = BufReader::new(writer.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "written");
    let pid = b.server_pid().expect("B's server");
    common::sh(&format!("kill -STOP {pid}"));
    let mut input = writer.stdin.take().expect("stdin");
    writeln!(input, "unlock").expect("send");
    // The unlock waits in the kernel's queue; A takes the lock over once
    // B's lease ran out, and appends.
    let st = Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
os.lseek(fd, 0, os.SEEK_END)
os.write(fd, b"next holder\n")
fcntl.lockf(fd, fcntl.LOCK_UN)
"#,
        )
        .arg(a.path("spool"))
        .status()
        .expect("python3");
    common::sh(&format!("kill -CONT {pid}"));
    assert!(st.success(), "A did not get the lock");
    let mut answer = String::new();
    out.read_line(&mut answer).expect("answer");
    let _ = writer.wait();
    let text = fs::read_to_string(a.path("spool")).expect("read");
    assert!(
        answer.trim() == "EIO" || text.contains("buffered under the lock"),
        "the unlock answered {answer:?} but its record is not stored: {text:?}"
    );
    assert!(text.contains("next holder"), "{text:?}");
}

/// A file being made in A (create, write, fchmod, futimens, close, as tar
/// does): B sees its attributes with its data, at close; a chmod that
/// narrows access shows in B at once, while the file is still open.
fn new_files_attributes_follow_their_data(kind: Kind) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (&m[0], &m[1]);
    let mode = |p: &Path| fs::metadata(p).expect("stat").mode() & 0o7777;
    let mtime = |p: &Path| fs::metadata(p).expect("stat").mtime();

    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(a.path("widened"))
        .expect("create");
    (&f).write_all(b"payload").expect("write");
    f.set_permissions(fs::Permissions::from_mode(0o755))
        .expect("fchmod");
    f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000))
        .expect("futimens");
    assert_eq!(mode(&a.path("widened")), 0o755, "A sees its own change");
    assert_eq!(mtime(&a.path("widened")), 1_000_000);
    drop(f);
    eventually(
        2.5,
        "B sees the new file's mode and time after its close",
        || mode(&b.path("widened")) == 0o755 && mtime(&b.path("widened")) == 1_000_000,
    );
    assert_eq!(fs::read(b.path("widened")).expect("read"), b"payload");

    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(a.path("narrowed"))
        .expect("create");
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .expect("fchmod");
    eventually(
        2.5,
        "B sees a narrowing chmod while A holds the file",
        || mode(&b.path("narrowed")) == 0o600,
    );
    drop(f);
    fsck_clean(&store, m);
}

/// An O_APPEND that another mount's append moved: A opens for appending
/// while the file is empty, B appends and closes, A writes its record and
/// closes; the store puts A's record after B's, though A's kernel wrote it
/// at offset 0: both mounts must read what the store holds, B's record
/// first.
fn an_append_moved_elsewhere_reads_back_where_it_went(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (m[0].path("log"), m[1].path("log"));
    std::fs::write(&a, b"").expect("create");
    let mut fa = std::fs::OpenOptions::new()
        .append(true)
        .open(&a)
        .expect("open a");
    let mut fb = std::fs::OpenOptions::new()
        .append(true)
        .open(&b)
        .expect("open b");
    fb.write_all(b"BBBB-from-b\n").expect("append b");
    drop(fb);
    fa.write_all(b"AAAA-from-a\n").expect("append a");
    drop(fa);
    let want = b"BBBB-from-b\nAAAA-from-a\n";
    assert_eq!(
        std::fs::read(&a).expect("read in a"),
        want,
        "the writing mount"
    );
    assert_eq!(
        std::fs::read(&b).expect("read in b"),
        want,
        "the other mount"
    );
    fsck_clean(&store, m);
}

/// An O_APPEND of a whole page, written by the kernel at its stale end of
/// file. B has the file's first 8 KiB cached and its size; A appends 100
/// bytes; B appends a 4 KiB record, which B's kernel copies into its page
/// at 8192 while the store places it at 8292. B filled the block its
/// record landed in from its own cached copy, from before A's append, and
/// stored zeros over A's bytes (found by this test). That B's kernel then
/// drops its pages is pinned in core (sharing.rs, ee3efa9): here the
/// kernel drops them too when it sees the size change.
fn a_page_appended_elsewhere_is_not_read_from_the_page_cache(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (m[0].path("spool"), m[1].path("spool"));
    std::fs::write(&a, vec![b'S'; 8192]).expect("seed");
    assert_eq!(std::fs::read(&b).expect("B caches it").len(), 8192);
    let mut fb = std::fs::OpenOptions::new()
        .append(true)
        .open(&b)
        .expect("open b");
    let mut fa = std::fs::OpenOptions::new()
        .append(true)
        .open(&a)
        .expect("open a");
    fa.write_all(&[b'A'; 100]).expect("append a");
    drop(fa);
    fb.write_all(&[b'B'; 4096]).expect("append b");
    drop(fb);
    let mut want = vec![b'S'; 8192];
    want.extend_from_slice(&[b'A'; 100]);
    want.extend_from_slice(&[b'B'; 4096]);
    for (name, path) in [("the other mount", &a), ("the writing mount", &b)] {
        let got = std::fs::read(path).expect("read");
        assert!(
            got == want,
            "{name} reads {} bytes, {} of A's where they were appended (want {} bytes, 100)",
            got.len(),
            got.get(8192..8292)
                .map_or(0, |r| r.iter().filter(|c| **c == b'A').count()),
            want.len()
        );
    }
    fsck_clean(&store, m);
}

/// A mount whose entry cache still shows directories where they were
/// before another mount moved them (`x/y` seen here, then `mv x/y y;
/// mv x y/x` there) walks its old picture: a lookup of `x` in `x/y`
/// answered the directory the kernel shows above it, and the kernel
/// failed the call with ELOOP. It must answer as the store's tree does:
/// no `x/y/x` (ENOENT), and `y/x` usable, in the same mount, with the
/// entries still fresh.
fn a_moved_tree_is_walked_as_it_is_now(kind: Kind) {
    let store = Store::new(kind);
    let opt = format!("session_ttl={}", ttl(kind));
    let a = Mount::new(&store, &[&opt, "entry_timeout=60", "attr_timeout=60"]);
    let b = Mount::new(&store, &[&opt]);
    fs::create_dir_all(b.path("x/y")).expect("mkdir in B");
    assert!(a.path("x/y").is_dir(), "A caches x and x/y");
    fs::rename(b.path("x/y"), b.path("y")).expect("mv x/y y");
    fs::rename(b.path("x"), b.path("y/x")).expect("mv x y/x");
    let stale = fs::metadata(a.path("x/y/x")).expect_err("x/y/x is gone");
    assert_eq!(
        stale.kind(),
        std::io::ErrorKind::NotFound,
        "the old path, walked through A's cached entries: {stale}"
    );
    fs::create_dir(a.path("y/x/z")).expect("mkdir through the new path in A");
    fs::rename(a.path("y/x"), a.path("x2")).expect("move it back up from A");
    assert!(b.path("x2/z").is_dir(), "B sees A's changes");
    drop(a);
    fsck_clean(&store, vec![b]);
}

/// Two mounts that write different bytes of one block without a lock,
/// each having read the file before the other wrote, keep both writes (as
/// NFS, which writes byte ranges): B's flush lays its bytes over the block
/// as the store holds it, not over its own older copy.
fn unlocked_writes_to_one_block_from_two_mounts_both_land(kind: Kind) {
    let store = Store::new(kind);
    let m = mounts(&store, kind, 2);
    let (a, b) = (m[0].path("shared"), m[1].path("shared"));
    fs::write(&a, vec![b'S'; 20_000]).expect("seed");
    let open = |p: &Path| {
        let mut f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .expect("open");
        let mut all = Vec::new();
        f.read_to_end(&mut all).expect("read");
        assert_eq!(all.len(), 20_000);
        f
    };
    let (mut fa, mut fb) = (open(&a), open(&b));
    fa.seek(SeekFrom::Start(100)).expect("seek");
    fa.write_all(&[b'A'; 100]).expect("write in A");
    drop(fa);
    fb.seek(SeekFrom::Start(1000)).expect("seek");
    fb.write_all(&[b'B'; 100]).expect("write in B");
    drop(fb);
    let mut want = vec![b'S'; 20_000];
    want[100..200].fill(b'A');
    want[1000..1100].fill(b'B');
    for (name, path) in [("A", &a), ("B", &b)] {
        let got = fs::read(path).expect("read back");
        assert!(
            got == want,
            "{name} reads A's bytes {} and B's {}",
            String::from_utf8_lossy(&got[100..110]),
            String::from_utf8_lossy(&got[1000..1010])
        );
    }
    fsck_clean(&store, m);
}

common::both!(
    unlocked_writes_to_one_block_from_two_mounts_both_land,
    a_moved_tree_is_walked_as_it_is_now,
    a_page_appended_elsewhere_is_not_read_from_the_page_cache,
    an_append_moved_elsewhere_reads_back_where_it_went,
    new_files_attributes_follow_their_data,
    sizes_and_bytes_follow,
    open_sees_new_size_despite_cached_attrs,
    open_files_survive_other_clients,
    create_after_remote_unlink,
    locked_appends_keep_every_record,
    stalled_client_loses_its_locks,
    unlock_queued_in_a_stall_does_not_vouch_for_dropped_data,
);
