//! Mounted for real, through the kernel: everyday tools, POSIX behaviour,
//! two mounts of one store, signals and unmounting. On SQLite and on moto.

mod common;

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use common::{sh, sh_fails, Kind, Mount, Store};

fn everyday_tools(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &[]);
    let d = m.dir.display().to_string();
    // A tree to copy in: nested dirs, a big file, an empty file, a symlink.
    let src = tempfile::tempdir().expect("tempdir");
    let s = src.path().display().to_string();
    sh(&format!(
        "mkdir -p {s}/t/a/b && head -c 3000000 /dev/urandom > {s}/t/a/big && : > {s}/t/empty \
         && echo hi > {s}/t/a/b/small && ln -s a/big {s}/t/link && chmod 640 {s}/t/a/b/small"
    ));
    sh(&format!("cp -a {s}/t {d}/t"));
    sh(&format!(
        "cd {s}/t && find . -type f -exec sha256sum {{}} + | sort > {s}/sums"
    ));
    sh(&format!("cd {d}/t && sha256sum -c {s}/sums"));
    assert_eq!(
        fs::read_link(m.path("t/link")).expect("readlink").to_str(),
        Some("a/big")
    );
    assert_eq!(
        fs::metadata(m.path("t/a/b/small")).expect("stat").mode() & 0o777,
        0o640
    );
    // mv, ln, ln -s, chmod, touch -d, truncate, dd.
    sh(&format!(
        "mv {d}/t/a/big {d}/t/moved && ln {d}/t/moved {d}/t/hard && ln -s moved {d}/t/soft"
    ));
    assert_eq!(fs::metadata(m.path("t/moved")).expect("stat").nlink(), 2);
    sh(&format!(
        "chmod 600 {d}/t/moved && touch -d '2001-02-03 04:05:06 UTC' {d}/t/moved"
    ));
    let md = fs::metadata(m.path("t/hard")).expect("stat");
    assert_eq!((md.mode() & 0o777, md.mtime()), (0o600, 981_173_106));
    sh(&format!(
        "truncate -s 10 {d}/t/moved && truncate -s 5000 {d}/t/moved"
    ));
    let data = fs::read(m.path("t/moved")).expect("read");
    assert_eq!(data.len(), 5000);
    assert!(
        data[10..].iter().all(|b| *b == 0),
        "truncated bytes came back"
    );
    sh(&format!(
        "dd if=/dev/zero of={d}/t/dd bs=64k count=20 conv=fsync 2>/dev/null"
    ));
    assert_eq!(
        fs::metadata(m.path("t/dd")).expect("stat").len(),
        64 * 1024 * 20
    );
    // tar round trip with checksums.
    sh(&format!(
        "cd {d} && tar cf {s}/t.tar t && mkdir {d}/x && tar xf {s}/t.tar -C {d}/x"
    ));
    sh(&format!(
        "cd {d}/t && find . -type f -exec sha256sum {{}} + | sort > {s}/sums2"
    ));
    sh(&format!("cd {d}/x/t && sha256sum -c {s}/sums2"));
    sh(&format!("rm -r {d}/t {d}/x"));
    assert_eq!(fs::read_dir(&m.dir).expect("ls").count(), 0);
}

fn posix_behaviour(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &["allow_other"]);
    let d = m.dir.display().to_string();
    // O_EXCL.
    File::create_new(m.path("x")).expect("create_new");
    assert_eq!(
        File::create_new(m.path("x")).err().map(|e| e.kind()),
        Some(ErrorKind::AlreadyExists)
    );
    // O_APPEND from two handles.
    let mut a = OpenOptions::new()
        .append(true)
        .open(m.path("x"))
        .expect("open");
    let mut b = OpenOptions::new()
        .append(true)
        .open(m.path("x"))
        .expect("open");
    a.write_all(b"one ").expect("write");
    b.write_all(b"two ").expect("write");
    a.write_all(b"three").expect("write");
    drop((a, b));
    assert_eq!(fs::read(m.path("x")).expect("read"), b"one two three");
    // Sparse file.
    let mut f = File::create(m.path("sparse")).expect("create");
    f.seek(SeekFrom::Start(10 << 20)).expect("seek");
    f.write_all(b"end").expect("write");
    drop(f);
    let data = fs::read(m.path("sparse")).expect("read");
    assert_eq!(data.len(), (10 << 20) + 3);
    assert!(data[..10 << 20].iter().all(|b| *b == 0));
    // Unlinked while open: still readable and writable.
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(m.path("gone"))
        .expect("open");
    f.write_all(b"still here").expect("write");
    fs::remove_file(m.path("gone")).expect("unlink");
    assert!(!m.path("gone").exists());
    f.write_all(b" and more").expect("write after unlink");
    f.seek(SeekFrom::Start(0)).expect("seek");
    let mut back = String::new();
    f.read_to_string(&mut back).expect("read after unlink");
    assert_eq!(back, "still here and more");
    drop(f);
    // Rename edge cases.
    sh(&format!("mkdir -p {d}/r/a/b {d}/r/full/x"));
    let err = sh_fails(&format!("mv -T {d}/r/a {d}/r/a/b/c"));
    assert!(
        err.contains("subdirectory of itself") || err.contains("Invalid argument"),
        "{err}"
    );
    let err = sh_fails(&format!("mv -T {d}/r/a {d}/r/full"));
    assert!(err.contains("not empty") || err.contains("exists"), "{err}");
    sh(&format!("mv -T {d}/r/a/b {d}/r/full/x"));
    // Times: write moves mtime, chmod moves ctime only.
    let before = fs::metadata(m.path("x")).expect("stat");
    std::thread::sleep(Duration::from_millis(20));
    sh(&format!("chmod 640 {d}/x"));
    let after = fs::metadata(m.path("x")).expect("stat");
    assert_eq!(after.mtime_nsec(), before.mtime_nsec());
    assert!(
        after.ctime() * 1_000_000_000 + after.ctime_nsec()
            > before.ctime() * 1_000_000_000 + before.ctime_nsec()
    );
    // Permissions and the sticky bit, for an unprivileged user.
    sh(&format!("mkdir {d}/tmp && chmod 1777 {d}/tmp && echo root > {d}/tmp/rootfile && chmod 644 {d}/tmp/rootfile"));
    let as_user =
        |cmd: &str| format!("setpriv --reuid=1000 --regid=1000 --clear-groups sh -c '{cmd}'");
    sh(&as_user(&format!("echo mine > {d}/tmp/userfile")));
    let err = sh_fails(&as_user(&format!("rm -f {d}/tmp/rootfile")));
    assert!(err.contains("Operation not permitted"), "{err}");
    let err = sh_fails(&as_user(&format!("echo x >> {d}/tmp/rootfile")));
    assert!(err.contains("Permission denied"), "{err}");
    sh(&as_user(&format!("rm {d}/tmp/userfile")));
    assert_eq!(
        fs::metadata(m.path("tmp"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );
}

fn two_mounts(kind: Kind) {
    let store = Store::new(kind);
    let one = Mount::new(&store, &[]);
    let two = Mount::new(&store, &[]);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(one.path("shared.bin"), &data).expect("write in one");
    // Close-to-open, within the attribute cache time.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(fs::read(two.path("shared.bin")).expect("read in two"), data);
    // Renames and unlinks racing from both mounts.
    fs::create_dir(one.path("race")).expect("mkdir");
    for i in 0..20 {
        fs::write(one.path(&format!("race/f{i}")), format!("{i}")).expect("write");
    }
    std::thread::sleep(Duration::from_millis(1200));
    let (p1, p2) = (one.path("race"), two.path("race"));
    let t1 = std::thread::spawn(move || {
        for i in 0..20 {
            let _ = fs::rename(p1.join(format!("f{i}")), p1.join(format!("g{i}")));
        }
    });
    let t2 = std::thread::spawn(move || {
        for i in 0..20 {
            let _ = fs::remove_file(p2.join(format!("f{i}")));
        }
    });
    t1.join().expect("renamer");
    t2.join().expect("remover");
    std::thread::sleep(Duration::from_millis(1200));
    let list = |m: &Mount| {
        let mut v: Vec<String> = fs::read_dir(m.path("race"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let (l1, l2) = (list(&one), list(&two));
    assert_eq!(l1, l2, "both mounts see one tree");
    // Each file was either renamed (g) or removed: never both, never neither.
    for name in &l1 {
        assert!(name.starts_with('g'), "{name} survived both");
    }
}

fn signals_flush_and_exit(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &[]);
    // Data written and fsynced, and data written and not yet closed.
    sh(&format!(
        "dd if=/dev/urandom of={}/synced bs=1M count=3 conv=fsync 2>/dev/null",
        m.dir.display()
    ));
    let want = fs::read(m.path("synced")).expect("read");
    let mut open = File::create(m.path("open")).expect("create");
    open.write_all(b"buffered").expect("write");
    open.flush().expect("flush");
    let pid = m.server_pid().expect("server pid");
    sh(&format!("kill -TERM {pid}"));
    drop(open);
    m.wait_gone(pid);
    assert!(
        !m.log().contains("ERROR") && !m.log().contains("dynamofs: error"),
        "{}",
        m.log()
    );
    let again = Mount::new(&store, &[]);
    assert_eq!(
        fs::read(again.path("synced")).expect("read"),
        want,
        "fsynced data lost"
    );
}

/// A writer fsyncing file after file while the mount is told to stop:
/// every file whose fsync returned is there, whole, after a remount.
fn unmount_under_load_keeps_fsynced_data(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &[]);
    let script = r#"
import os, sys
# Relative to a directory descriptor: once the mount is detached, names
# must not resolve to the directory underneath it.
d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(100000):
    try:
        fd = os.open("f%d" % i, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d)
        os.write(fd, (b"%d," % i) * 5000)
        os.fsync(fd)
        os.close(fd)
    except OSError:
        break
    print(i, flush=True)
"#;
    let mut writer = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&m.dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    std::thread::sleep(Duration::from_millis(1500));
    let pid = m.server_pid().expect("server pid");
    sh(&format!("kill -TERM {pid}"));
    let out = writer.stdout.take().map(|mut s| {
        let mut t = String::new();
        let _ = s.read_to_string(&mut t);
        t
    });
    let _ = writer.wait();
    m.wait_gone(pid);
    let done: Vec<usize> = out
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(
        !done.is_empty(),
        "the writer wrote nothing before the unmount"
    );
    let again = Mount::new(&store, &[]);
    for i in done {
        let want = format!("{i},").repeat(5000).into_bytes();
        assert_eq!(
            fs::read(again.path(&format!("f{i}"))).expect("fsynced file"),
            want,
            "f{i}"
        );
    }
}

fn bad_sources_are_clear(_kind: Kind) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().display().to_string();
    let bin = common::bin().display().to_string();
    let err = sh_fails(&format!("{bin} mount sqlite:{dir}/none.db {dir}"));
    assert!(
        err.contains("no dynamofs file system") && err.contains("mkfs"),
        "{err}"
    );
    let err = sh_fails(&format!(
        "{bin} mount -o nosuchoption sqlite:{dir}/none.db {dir}"
    ));
    assert!(err.contains("unknown mount option nosuchoption"), "{err}");
    let err = sh_fails(&format!("{bin} mount sqlite:{dir}/none.db {dir}/missing"));
    assert!(err.contains("does not exist"), "{err}");
    // -o create makes the file system on first mount, as the original did.
    let store = Store::empty_sqlite();
    let m = Mount::new(&store, &["create"]);
    fs::write(m.path("first"), b"x").expect("write");
    assert!(m.is_mounted());
}

/// `mount -t fuse.dynamofs` and an fstab line, through the helper link
/// mount(8) looks for. Needs root (CI runs as root).
#[test]
fn mount_helper_and_fstab() {
    let uid = fs::metadata("/proc/self").expect("proc").uid();
    assert_eq!(
        uid, 0,
        "this test installs /sbin/mount.fuse.dynamofs and needs root"
    );
    let link = std::path::Path::new("/sbin/mount.fuse.dynamofs");
    let _ = fs::remove_file(link);
    std::os::unix::fs::symlink(common::bin(), link).expect("install the helper link");
    let store = Store::new(Kind::Sqlite);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("m");
    fs::create_dir(&dir).expect("mkdir");
    let d = dir.display().to_string();
    sh(&format!(
        "mount -t fuse.dynamofs {} {d} -o _netdev,attr_timeout=2",
        store.source
    ));
    sh(&format!("echo via-helper > {d}/f && umount {d}"));
    let fstab = tmp.path().join("fstab");
    fs::write(
        &fstab,
        format!("{} {d} fuse.dynamofs _netdev,noauto 0 0\n", store.source),
    )
    .expect("fstab");
    sh(&format!("mount -T {} {d}", fstab.display()));
    assert_eq!(
        fs::read_to_string(dir.join("f")).expect("read"),
        "via-helper\n"
    );
    // mount(8) hands a remount to the helper too: read-only and back.
    let options = || {
        let mounts = fs::read_to_string("/proc/self/mounts").expect("mounts");
        let line = mounts
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(d.as_str()))
            .map(str::to_string);
        line.expect("the mount is listed")
    };
    // The type says what it is, for findmnt -t and umount -a -t.
    assert!(options().contains(" fuse.dynamofs "), "{}", options());
    let listed = sh(&format!("findmnt -n -t fuse.dynamofs -o TARGET {d}"));
    assert_eq!(listed.trim(), d);
    sh(&format!("mount -o remount,ro {d}"));
    assert!(options().contains(" ro,"), "{}", options());
    let e = fs::write(dir.join("g"), b"x").expect_err("a read-only mount");
    assert_eq!(e.raw_os_error(), Some(30), "EROFS: {e}");
    assert_eq!(
        fs::read_to_string(dir.join("f")).expect("still readable"),
        "via-helper\n"
    );
    sh(&format!("mount -o remount,rw {d}"));
    assert!(options().contains(" rw,"), "{}", options());
    assert!(options().contains("nosuid,nodev"), "{}", options());
    fs::write(dir.join("g"), b"writable again").expect("write after rw");
    sh(&format!("umount {d}"));
    let _ = fs::remove_file(link);
}

common::both!(
    everyday_tools,
    posix_behaviour,
    two_mounts,
    signals_flush_and_exit,
    unmount_under_load_keeps_fsynced_data,
);

#[test]
fn bad_sources() {
    bad_sources_are_clear(Kind::Sqlite)
}

/// `mount -f` serves in the foreground, says on stderr once the mount is
/// usable, and exits 0 at umount.
#[test]
fn foreground_says_when_ready() {
    use std::io::BufRead;
    let store = Store::new(Kind::Sqlite);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("m");
    fs::create_dir(&dir).expect("mkdir");
    let mut server = std::process::Command::new(common::bin())
        .args(["mount", "-f", &store.source])
        .arg(&dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mount -f");
    let mut err = std::io::BufReader::new(server.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("read");
    assert!(
        line.contains("mounted") && line.contains("serving in the foreground"),
        "{line}"
    );
    // Usable as soon as it says so.
    fs::write(dir.join("f"), b"served").expect("write");
    assert_eq!(fs::read(dir.join("f")).expect("read"), b"served");
    sh(&format!("umount {}", dir.display()));
    let status = server.wait().expect("wait");
    assert!(status.success(), "{status}");
}
