//! What protects what: the embedded store's file modes, read-only store
//! files, the mount's log, copies that never leave their destination, and
//! sources that would lose a file system. Through the real binary.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{bin, dynamofs, ok, Kind, Mount, Store};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `dynamofs ARGS` as an unprivileged user (uid and gid 1000).
fn as_user(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=1000", "--regid=1000", "--clear-groups"])
        .arg(bin())
        .args(args)
        .env("HOME", "/nonexistent")
        .stdin(Stdio::null())
        .output()
        .expect("setpriv")
}

/// With the usual umask, the store and its -wal and -shm were 0644: any
/// local user could read every file with `sqlite3 -readonly`.
#[test]
fn store_files_are_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("fs.db");
    let source = format!("sqlite:{}", db.display());
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 022 && {} mkfs --root-mode 777 {source}",
            bin().display()
        ))
        .output()
        .expect("mkfs");
    ok(&out);
    assert_eq!(mode(&db), 0o600);
    let store = Store::existing(&source);
    let m = Mount::new(&store, &[]);
    fs::write(m.path("secret"), b"root only").expect("write");
    // The mount holds the database open: its -wal and -shm exist now.
    for suffix in ["-wal", "-shm"] {
        let p = dir.path().join(format!("fs.db{suffix}"));
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[test]
fn store_writable_by_others_is_refused() {
    let store = Store::new(Kind::Sqlite);
    let db = store.sqlite_path().expect("sqlite");
    fs::set_permissions(&db, fs::Permissions::from_mode(0o664)).expect("chmod");
    let e = err(&dynamofs(&store, &["ls", &store.source]));
    assert!(
        e.contains("group or others may write") && e.contains("chmod go-w"),
        "{e}"
    );
    fs::set_permissions(&db, fs::Permissions::from_mode(0o600)).expect("chmod");
    // A -wal planted writable for others is refused as well.
    let wal = format!("{}-wal", db.display());
    fs::write(&wal, b"").expect("wal");
    fs::set_permissions(&wal, fs::Permissions::from_mode(0o666)).expect("chmod");
    let e = err(&dynamofs(&store, &["ls", &store.source]));
    assert!(e.contains(&wal), "{e}");
    fs::remove_file(&wal).expect("rm");
    ok(&dynamofs(&store, &["ls", &store.source]));
}

/// A file this user may only read could not even be listed (SQLite was
/// asked for write access, and WAL mode for a -shm file it cannot make).
#[test]
fn read_only_store_is_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
    let db = d.join("fs.db");
    let source = format!("sqlite:{}", db.display());
    let store = Store::existing(&source);
    ok(&dynamofs(&store, &["mkfs", &source]));
    let local = tempfile::tempdir().expect("tempdir");
    let f = local.path().join("f");
    fs::write(&f, b"readable\n").expect("write");
    ok(&dynamofs(
        &store,
        &["cp", &f.to_string_lossy(), &format!("{source}:/f")],
    ));
    fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).expect("chmod");
    // Another user: may read the file, may not write it or its directory.
    assert_eq!(ok(&as_user(&["ls", &source])), "f\n");
    assert_eq!(
        ok(&as_user(&["cat", &format!("{source}:/f")])),
        "readable\n"
    );
    let out_dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(out_dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let copy = out_dir.path().join("copy");
    ok(&as_user(&[
        "cp",
        &format!("{source}:/f"),
        &copy.to_string_lossy(),
    ]));
    assert_eq!(fs::read(&copy).expect("read"), b"readable\n");
    let report = ok(&as_user(&["fsck", &source]));
    assert!(report.contains("clean"), "{report}");
    let e = err(&as_user(&["mkdir", &format!("{source}:/d")]));
    assert!(e.contains("Read-only file system"), "{e}");
    // Mounting needs root here (/dev/fuse): the file is made read-only to
    // root by a read-only bind mount of its directory.
    let ro = tempfile::tempdir().expect("tempdir");
    let r = ro.path().display().to_string();
    common::sh(&format!(
        "mount --bind {} {r} && mount -o remount,ro,bind {r}",
        d.display()
    ));
    let ro_source = format!("sqlite:{r}/fs.db");
    let ro_store = Store::existing(&ro_source);
    let e = err(&mount_cmd(&ro_source, &[]));
    assert!(e.contains("-o ro"), "{e}");
    {
        let m = Mount::new(&ro_store, &["ro"]);
        assert_eq!(fs::read(m.path("f")).expect("read"), b"readable\n");
        assert!(fs::write(m.path("g"), b"x").is_err());
    }
    common::sh(&format!("umount {r}"));
}

/// `dynamofs mount SOURCE DIR` into a fresh directory, with a log beside it.
fn mount_cmd(source: &str, opts: &[&str]) -> Output {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("m");
    fs::create_dir(&dir).expect("mkdir");
    let mut o = vec![format!("log={}", tmp.path().join("log").display())];
    o.extend(opts.iter().map(|s| s.to_string()));
    let out = Command::new(bin())
        .arg("mount")
        .arg(source)
        .arg(&dir)
        .arg("-o")
        .arg(o.join(","))
        .output()
        .expect("mount");
    if out.status.success() {
        common::sh(&format!("fusermount3 -u -z {}", dir.display()));
    }
    out
}

/// A file system that vanishes on unmount was accepted by mkfs and by
/// `mount -o create`.
#[test]
fn memory_source_is_refused() {
    let store = Store::empty_sqlite();
    let e = err(&dynamofs(&store, &["mkfs", "sqlite::memory:"]));
    assert!(e.contains("in-memory") && e.contains("name a file"), "{e}");
    let e = err(&mount_cmd("sqlite::memory:", &["create"]));
    assert!(e.contains("in-memory"), "{e}");
}

/// The mount's default log was /tmp/dynamofs<mountpoint>.log, 0644,
/// opened through whatever link was planted there.
#[test]
fn mount_log_is_private_and_never_followed() {
    let store = Store::new(Kind::Sqlite);
    let state = tempfile::tempdir().expect("tempdir");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("m");
    fs::create_dir(&dir).expect("mkdir");
    let mount = || {
        Command::new(bin())
            .arg("mount")
            .arg(&store.source)
            .arg(&dir)
            .env("XDG_STATE_HOME", state.path())
            .output()
            .expect("mount")
    };
    let said = ok(&mount());
    let log = said
        .split("(log: ")
        .nth(1)
        .and_then(|s| s.strip_suffix(")\n"))
        .map(std::path::PathBuf::from)
        .expect("the log is named");
    assert!(log.starts_with(state.path().join("dynamofs")), "{said}");
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(log.parent().expect("dir")), 0o700);
    common::sh(&format!("fusermount3 -u {}", dir.display()));
    // A link planted where the log goes is refused, not written through.
    let victim = tmp.path().join("victim");
    fs::write(&victim, b"untouched").expect("victim");
    fs::remove_file(&log).expect("rm log");
    std::os::unix::fs::symlink(&victim, &log).expect("plant a link");
    let e = err(&mount());
    assert!(e.contains("symbolic link"), "{e}");
    assert_eq!(fs::read(&victim).expect("read"), b"untouched");
    assert!(!Mount::is_mounted_at(&dir));
    // Root's default is /var/log/dynamofs.
    let out = Command::new(bin())
        .arg("mount")
        .arg(&store.source)
        .arg(&dir)
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("mount");
    let said = ok(&out);
    common::sh(&format!("fusermount3 -u {}", dir.display()));
    assert!(said.contains("(log: /var/log/dynamofs/"), "{said}");
    if let Some(log) = said
        .split("(log: ")
        .nth(1)
        .and_then(|s| s.strip_suffix(")\n"))
    {
        let _ = fs::remove_file(log);
    }
}

/// `cp -r SRC:/a/x SRC:/b/x DST/` with a/x a link to a directory outside
/// DST and b/x a directory wrote b/x's files outside DST.
#[test]
fn copy_out_never_writes_through_a_link() {
    let store = Store::new(Kind::Sqlite);
    let tmp = tempfile::tempdir().expect("tempdir");
    let outside = tmp.path().join("outside");
    let dst = tmp.path().join("dst");
    fs::create_dir(&outside).expect("mkdir");
    fs::create_dir(&dst).expect("mkdir");
    let s = &store.source;
    let evil = tmp.path().join("evil");
    fs::write(&evil, b"planted").expect("write");
    ok(&dynamofs(
        &store,
        &["mkdir", "-p", &format!("{s}:/a"), &format!("{s}:/b/x")],
    ));
    ok(&dynamofs(
        &store,
        &["cp", &evil.to_string_lossy(), &format!("{s}:/b/x/evil")],
    ));
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    ok(&dynamofs(
        &store,
        &["cp", "-r", &link.to_string_lossy(), &format!("{s}:/a/x")],
    ));
    let d = format!("{}/", dst.display());
    let e = err(&dynamofs(
        &store,
        &["cp", "-r", &format!("{s}:/a/x"), &format!("{s}:/b/x"), &d],
    ));
    assert!(e.contains("symbolic link"), "{e}");
    assert_eq!(
        fs::read_dir(&outside).expect("ls").count(),
        0,
        "wrote outside DST"
    );
    assert!(fs::symlink_metadata(dst.join("x")).expect("x").is_symlink());
    // A link already under DST is not followed either, at any depth.
    fs::remove_file(dst.join("x")).expect("rm");
    fs::create_dir(dst.join("b")).expect("mkdir");
    std::os::unix::fs::symlink(&outside, dst.join("b/x")).expect("symlink");
    let e = err(&dynamofs(&store, &["cp", "-r", &format!("{s}:/b"), &d]));
    assert!(e.contains("symbolic link"), "{e}");
    assert_eq!(
        fs::read_dir(&outside).expect("ls").count(),
        0,
        "wrote outside DST"
    );
    // Files are not written through links either: a link is replaced.
    fs::remove_file(dst.join("b/x")).expect("rm");
    fs::create_dir(dst.join("b/x")).expect("mkdir");
    let target = outside.join("evil");
    std::os::unix::fs::symlink(&target, dst.join("b/x/evil")).expect("symlink");
    ok(&dynamofs(&store, &["cp", "-r", &format!("{s}:/b"), &d]));
    assert!(!target.exists(), "wrote through a link");
    assert_eq!(fs::read(dst.join("b/x/evil")).expect("read"), b"planted");
}
