//! The file tools end to end (`ls`, `cp`, `cat`, `mkdir`, `rm`, `mv`,
//! `stat`): the real binary on SQLite files and on the test DynamoDB
//! server, without any mount.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn endpoint() -> String {
    std::env::var("DYNAMOFS_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMOFS_TEST_ENDPOINT is not set: run the tests with scripts/test, which starts moto"
        )
    })
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// An error is one clear line: no panic, no backtrace.
fn one_clear_line() -> impl Predicate<str> {
    contains("panicked")
        .not()
        .and(contains("backtrace").not())
        .and(predicate::function(|s: &str| {
            s.trim_end().lines().count() == 1
        }))
}

#[derive(Clone, Copy)]
enum Kind {
    Sqlite,
    Moto,
}

/// A fresh file system and a scratch directory beside it.
struct Fx {
    source: String,
    endpoint: Option<String>,
    dir: tempfile::TempDir,
}

impl Fx {
    fn new(kind: Kind) -> Fx {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, endpoint) = match kind {
            Kind::Sqlite => (
                format!("sqlite:{}", dir.path().join("fs.db").display()),
                None,
            ),
            Kind::Moto => (
                format!(
                    "aws:us-east-1/files-{}-{}",
                    std::process::id(),
                    rand_suffix()
                ),
                Some(endpoint()),
            ),
        };
        let fx = Fx {
            source,
            endpoint,
            dir,
        };
        fx.ok(&["mkfs", &fx.source]);
        fx
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("dynamofs").expect("binary built");
        c.env_remove("AWS_PROFILE");
        if let Some(ep) = &self.endpoint {
            c.args(["--endpoint", ep]);
        }
        c
    }

    /// `SOURCE:PATH`.
    fn at(&self, p: &str) -> String {
        format!("{}:{p}", self.source)
    }

    fn local(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Run, expect success and no complaint; stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run");
        assert!(
            out.status.success(),
            "dynamofs {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "dynamofs {args:?} complained"
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run, expect exit status 1; stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out: Output = self.cmd().args(args).output().expect("run");
        assert_eq!(
            out.status.code(),
            Some(1),
            "dynamofs {args:?} should have failed; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// The moto server keeps a table's every byte until it is deleted.
impl Drop for Fx {
    fn drop(&mut self) {
        if self.endpoint.is_some() {
            let _ = self
                .cmd()
                .args(["destroy", &self.source, "--yes", "--force"])
                .output();
        }
    }
}

/// Bytes that do not compress to nothing and differ per seed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A tree with nested directories, a file of several blocks, an empty
/// file, symbolic links (one dangling) and various modes.
fn make_tree(root: &Path, big: usize) {
    std::fs::create_dir_all(root.join("a/b/c")).expect("dirs");
    std::fs::create_dir(root.join("private")).expect("private");
    std::fs::write(root.join("a/big.bin"), noise(big, 7)).expect("big");
    std::fs::write(root.join("empty"), b"").expect("empty");
    std::fs::write(root.join("a/b/c/deep.txt"), b"deep\n").expect("deep");
    std::fs::write(root.join("run.sh"), b"#!/bin/sh\necho hi\n").expect("script");
    std::fs::write(root.join("private/secret"), b"s3cret").expect("secret");
    std::os::unix::fs::symlink("a/big.bin", root.join("link")).expect("link");
    std::os::unix::fs::symlink("../../empty", root.join("a/b/up")).expect("up");
    std::os::unix::fs::symlink("/nowhere/at/all", root.join("dangling")).expect("dangling");
    chmod(&root.join("a/big.bin"), 0o640);
    chmod(&root.join("run.sh"), 0o755);
    chmod(&root.join("private/secret"), 0o600);
    chmod(&root.join("private"), 0o700);
    chmod(&root.join("a/b"), 0o750);
}

/// Two local trees hold the same names, types, modes, contents and link
/// targets; with `times`, files have the same modification times too.
fn assert_same_tree(a: &Path, b: &Path, times: bool) {
    let ma = std::fs::symlink_metadata(a).expect("stat a");
    let mb =
        std::fs::symlink_metadata(b).unwrap_or_else(|e| panic!("{} is missing: {e}", b.display()));
    assert_eq!(
        ma.file_type(),
        mb.file_type(),
        "type of {} vs {}",
        a.display(),
        b.display()
    );
    if ma.file_type().is_symlink() {
        assert_eq!(
            std::fs::read_link(a).expect("readlink"),
            std::fs::read_link(b).expect("readlink"),
            "target of {}",
            b.display()
        );
        return;
    }
    assert_eq!(
        ma.mode() & 0o7777,
        mb.mode() & 0o7777,
        "mode of {}",
        b.display()
    );
    // Directories are left out: core keeps a directory's mtime at least
    // as late as its last change of entries, so an older one cannot be set.
    if times && ma.is_file() {
        assert_eq!(
            (ma.mtime(), ma.mtime_nsec()),
            (mb.mtime(), mb.mtime_nsec()),
            "mtime of {}",
            b.display()
        );
    }
    if ma.is_file() {
        let (da, db) = (
            std::fs::read(a).expect("read"),
            std::fs::read(b).expect("read"),
        );
        assert!(da == db, "contents of {} differ", b.display());
        return;
    }
    let names = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        v.sort();
        v
    };
    let (na, nb) = (names(a), names(b));
    assert_eq!(na, nb, "entries of {}", b.display());
    for n in na {
        assert_same_tree(&a.join(&n), &b.join(&n), times);
    }
}

/// In with cp -r, out again, and identical; then the same with -p, which
/// also keeps times; `fs_to_fs` adds a copy within the file system.
fn round_trip(kind: Kind, big: usize, fs_to_fs: bool) {
    let fx = Fx::new(kind);
    let src = fx.local("src");
    make_tree(&src, big);
    let src_s = src.to_str().expect("utf-8 path");

    // DEST does not exist: it becomes the copy.
    fx.ok(&["cp", "-r", src_s, &fx.at("/tree")]);
    let out = fx.local("out");
    fx.ok(&["cp", "-r", &fx.at("/tree"), out.to_str().expect("utf-8")]);
    assert_same_tree(&src, &out, false);

    // DEST is a directory: the copy goes into it, under its own name.
    fx.ok(&["mkdir", &fx.at("/kept")]);
    fx.ok(&["cp", "-rp", src_s, &fx.at("/kept")]);
    let out_p = fx.local("out-p");
    std::fs::create_dir(&out_p).expect("out-p");
    fx.ok(&[
        "cp",
        "-rp",
        &fx.at("/kept/src"),
        out_p.to_str().expect("utf-8"),
    ]);
    assert_same_tree(&src, &out_p.join("src"), true);

    if fs_to_fs {
        fx.ok(&["cp", "-rp", &fx.at("/kept/src"), &fx.at("/again")]);
        let out2 = fx.local("out2");
        fx.ok(&["cp", "-rp", &fx.at("/again"), out2.to_str().expect("utf-8")]);
        assert_same_tree(&src, &out2, true);
        // A directory cannot be copied into itself.
        let err = fx.fails(&["cp", "-r", &fx.at("/again"), &fx.at("/again/a/b")]);
        assert!(err.contains("into itself"), "{err}");
        // -L copies what links point to.
        let f = fx.local("followed");
        fx.ok(&[
            "cp",
            "-L",
            &fx.at("/again/link"),
            f.to_str().expect("utf-8"),
        ]);
        assert_eq!(std::fs::read(&f).expect("read"), noise(big, 7));
    }
}

#[test]
fn sqlite_tree_round_trip_and_fs_to_fs() {
    round_trip(Kind::Sqlite, 3 << 20, true);
}

#[test]
fn moto_tree_round_trip() {
    // Two MB: 16 blocks of 128 KiB, within moto's patience.
    round_trip(Kind::Moto, 2 << 20, false);
}

#[test]
fn stdin_stdout_and_no_clobber() {
    let fx = Fx::new(Kind::Sqlite);
    let data = noise(300_000, 3);
    fx.cmd()
        .args(["cp", "-", &fx.at("/in.bin")])
        .write_stdin(data.clone())
        .assert()
        .success()
        .stderr("");
    let out = fx
        .cmd()
        .args(["cp", &fx.at("/in.bin"), "-"])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(out.stdout == data, "stdout copy differs");
    let out = fx
        .cmd()
        .args(["cat", &fx.at("/in.bin")])
        .output()
        .expect("run");
    assert!(out.stdout == data, "cat differs");

    // -n keeps what is there; without it, the file is replaced.
    fx.cmd()
        .args(["cp", "-n", "-", &fx.at("/in.bin")])
        .write_stdin("new")
        .assert()
        .success();
    let kept = fx
        .cmd()
        .args(["cat", &fx.at("/in.bin")])
        .output()
        .expect("run");
    assert!(kept.stdout == data, "-n replaced the file");
    fx.cmd()
        .args(["cp", "-", &fx.at("/in.bin")])
        .write_stdin("new")
        .assert()
        .success();
    assert_eq!(fx.ok(&["cat", &fx.at("/in.bin")]), "new");
    let local = fx.local("l.txt");
    std::fs::write(&local, b"mine").expect("write");
    fx.ok(&[
        "cp",
        "-n",
        &fx.at("/in.bin"),
        local.to_str().expect("utf-8"),
    ]);
    assert_eq!(std::fs::read(&local).expect("read"), b"mine");
    fx.ok(&["cp", &fx.at("/in.bin"), local.to_str().expect("utf-8")]);
    assert_eq!(std::fs::read(&local).expect("read"), b"new");

    // Standard input cannot become a directory's contents.
    fx.ok(&["mkdir", &fx.at("/d")]);
    let err = fx.fails(&["cp", "-", &fx.at("/d")]);
    assert!(err.contains("name the new file"), "{err}");
}

#[test]
fn a_reader_that_leaves_is_not_an_error() {
    let fx = Fx::new(Kind::Sqlite);
    fx.cmd()
        .args(["cp", "-", &fx.at("/big")])
        .write_stdin(noise(6 << 20, 5))
        .assert()
        .success();
    let bin = env!("CARGO_BIN_EXE_dynamofs");
    let src = &fx.source;
    // Data to a reader that leaves after 10 bytes, and reports to one that
    // never reads (gone before they are written): success, nothing said.
    for (args, reader) in [
        (format!("cat {}", fx.at("/big")), "head -c 10 >/dev/null"),
        (format!("cp {} -", fx.at("/big")), "head -c 10 >/dev/null"),
        (format!("stats --json {src}"), "true"),
        (format!("fsck --json {src}"), "true"),
        (format!("lock {src} list --json"), "true"),
    ] {
        let line = format!("{bin} {args} | {reader}; echo ${{PIPESTATUS[0]}}");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&line)
            .output()
            .expect("bash");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "{args}: {stderr}"
        );
        assert_eq!(stderr, "", "{args}");
    }
}

#[test]
fn ls_layouts() {
    let fx = Fx::new(Kind::Sqlite);
    fx.ok(&["mkdir", "-p", &fx.at("/d/sub")]);
    fx.cmd()
        .args(["cp", "-", &fx.at("/d/file")])
        .write_stdin("hello")
        .assert()
        .success();
    fx.cmd()
        .args(["cp", "-", &fx.at("/d/sub/k")])
        .write_stdin(vec![b'k'; 3000])
        .assert()
        .success();
    fx.cmd()
        .args(["cp", "-", &fx.at("/d/.hidden")])
        .write_stdin("")
        .assert()
        .success();
    let src = fx.local("l");
    std::fs::create_dir(&src).expect("dir");
    std::os::unix::fs::symlink("file", src.join("ln")).expect("link");
    fx.ok(&["cp", "-r", &format!("{}/.", src.display()), &fx.at("/d")]);

    // Plain: names, one per line, sorted, no hidden ones.
    assert_eq!(fx.ok(&["ls", &fx.at("/d")]), "file\nln\nsub\n");
    assert_eq!(
        fx.ok(&["ls", "-a", &fx.at("/d")]),
        ".\n..\n.hidden\nfile\nln\nsub\n"
    );
    assert_eq!(fx.ok(&["ls", &fx.at("/d/file")]), "/d/file\n");

    // Long: mode, links, owner, group, size, time, name, link target.
    let long = fx.ok(&["ls", "-ln", &fx.at("/d")]);
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(lines.len(), 4, "{long}");
    assert!(lines[0].starts_with("total "), "{long}");
    let f: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        (f[0], f[1], f[2], f[3], f[4], f[8]),
        ("-rw-r--r--", "1", "0", "0", "5", "file"),
        "{long}"
    );
    assert!(
        lines[2].starts_with("lrwx") && lines[2].ends_with(" ln -> file"),
        "{long}"
    );
    let s: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!((s[0], s[1], s[8]), ("drwxr-xr-x", "2", "sub"), "{long}");
    // Names as root sees them (tests run as root).
    let named = fx.ok(&["ls", "-l", &fx.at("/d/file")]);
    assert!(named.starts_with("-rw-r--r-- 1 root root 5 "), "{named}");
    assert!(named.trim_end().ends_with(" /d/file"), "{named}");
    // -h
    let h = fx.ok(&["ls", "-lh", &fx.at("/d/sub")]);
    assert!(h.contains(" 3.0K "), "{h}");

    // -R: every directory under a header, in order.
    assert_eq!(
        fx.ok(&["ls", "-R", &fx.at("/d")]),
        "/d:\nfile\nln\nsub\n\n/d/sub:\nk\n"
    );

    // --json: one array for everything, parseable.
    let json = fx.ok(&["ls", "-R", "--json", &fx.at("/d")]);
    let check = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import json,sys\n\
             a = json.load(sys.stdin)\n\
             for o in a:\n\
             \x20   print(o['path'], o['name'], o['type'], o['mode'], o['nlink'], o['uid'], o['gid'], o['size'], o['target'], len(o['mtime']) > 0)\n",
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(json.as_bytes())?;
            c.wait_with_output()
        })
        .expect("python3");
    assert!(check.status.success(), "not JSON: {json}");
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "/d/file file file 0644 1 0 0 5 None True\n\
         /d/ln ln symlink 0777 1 0 0 4 file True\n\
         /d/sub sub directory 0755 2 0 0 1 None True\n\
         /d/sub/k k file 0644 1 0 0 3000 None True\n"
    );
    // -d: the directory itself.
    let d = fx.ok(&["ls", "-ld", &fx.at("/d")]);
    assert!(
        d.starts_with("drwxr-xr-x ") && d.trim_end().ends_with(" /d"),
        "{d}"
    );
}

/// cat, mkdir, rm, mv and stat, on `kind`.
fn small_tools(kind: Kind) {
    let fx = Fx::new(kind);
    fx.ok(&["mkdir", "-p", &fx.at("/a/b/c")]);
    fx.ok(&["mkdir", "-p", &fx.at("/a/b/c")]);
    fx.ok(&["mkdir", "-m", "700", &fx.at("/a/private")]);
    fx.cmd()
        .args(["cp", "-", &fx.at("/a/b/c/f.txt")])
        .write_stdin("text\n")
        .assert()
        .success();
    assert_eq!(fx.ok(&["cat", &fx.at("/a/b/c/f.txt")]), "text\n");
    assert_eq!(fx.ok(&["ls", &fx.at("/a")]), "b\nprivate\n");

    // stat, as text and JSON.
    let st = fx.ok(&["stat", &fx.at("/a/private")]);
    assert!(st.contains("  File: /a/private\n"), "{st}");
    assert!(st.contains("directory"), "{st}");
    assert!(st.contains("Access: (0700/drwx------)"), "{st}");
    assert!(st.contains("Links: 2"), "{st}");
    assert!(st.contains("Uid: (    0/    root)"), "{st}");
    let st = fx.ok(&["stat", &fx.at("/a/b/c/f.txt")]);
    assert!(
        st.contains("Size: 5 ") && st.contains("regular file"),
        "{st}"
    );
    let js = fx.ok(&["stat", "--json", &fx.at("/a/b/c/f.txt")]);
    for want in [
        "\"type\": \"file\"",
        "\"size\": 5,",
        "\"mode\": \"0644\"",
        "\"nlink\": 1,",
        "\"path\": \"/a/b/c/f.txt\"",
    ] {
        assert!(js.contains(want), "{want} in {js}");
    }

    // mv: a rename, into a directory, and a directory with its contents.
    fx.ok(&["mv", &fx.at("/a/b/c/f.txt"), &fx.at("/a/b/c/g.txt")]);
    fx.ok(&["mv", &fx.at("/a/b/c/g.txt"), &fx.at("/a/private")]);
    assert_eq!(fx.ok(&["cat", &fx.at("/a/private/g.txt")]), "text\n");
    fx.ok(&["mv", &fx.at("/a/b"), &fx.at("/moved")]);
    assert_eq!(
        fx.ok(&["ls", "-R", &fx.at("/moved")]),
        "/moved:\nc\n\n/moved/c:\n"
    );
    let err = fx.fails(&["mv", &fx.at("/moved"), &fx.at("/moved/c")]);
    assert!(err.contains("subdirectory of itself"), "{err}");

    // rm: files, directories with -r, nothing with -f.
    let err = fx.fails(&["rm", &fx.at("/moved")]);
    assert!(err.contains("Is a directory"), "{err}");
    fx.ok(&["rm", &fx.at("/a/private/g.txt")]);
    fx.ok(&["rm", "-r", &fx.at("/moved"), &fx.at("/a")]);
    fx.ok(&["rm", "-f", &fx.at("/gone")]);
    assert_eq!(fx.ok(&["ls", &fx.at("/")]), "");
    let err = fx.fails(&["rm", &fx.at("/gone")]);
    assert!(err.contains("/gone: No such file or directory"), "{err}");
}

#[test]
fn sqlite_small_tools() {
    small_tools(Kind::Sqlite);
}

#[test]
fn moto_small_tools() {
    small_tools(Kind::Moto);
}

#[test]
fn bad_sources_and_paths_are_clear_errors() {
    let fx = Fx::new(Kind::Sqlite);
    fx.cmd()
        .args(["cp", "-", &fx.at("/file")])
        .write_stdin("x")
        .assert()
        .success();
    let check = |args: &[&str], want: &str| {
        fx.cmd()
            .args(args)
            .assert()
            .code(1)
            .stderr(contains(want))
            .stderr(one_clear_line());
    };
    let missing = format!("{}: No such file or directory", fx.at("/nope/x"));
    check(&["ls", &fx.at("/nope/x")], &missing);
    check(&["cat", &fx.at("/nope/x")], &missing);
    check(&["stat", &fx.at("/nope/x")], &missing);
    check(&["cp", &fx.at("/nope/x"), "/tmp/x"], &missing);
    check(
        &["ls", &fx.at("/file/x")],
        &format!("{}: Not a directory", fx.at("/file/x")),
    );
    check(
        &["mkdir", &fx.at("/file/sub")],
        &format!("{}: Not a directory", fx.at("/file/sub")),
    );
    check(&["mkdir", &fx.at("/file")], "File exists");
    check(&["ls", &format!("{}:file", fx.source)], "must be absolute");
    check(
        &["ls", "aws:us-east-1/MyFs:dir/x"],
        "write aws:us-east-1/MyFs:/dir/x",
    );
    check(&["ls", "sqlite:/data:/fs.db:/x"], "ambiguous");
    check(&["ls", "/tmp"], "aws:REGION/TABLE:/PATH");
    let empty = format!("sqlite:{}", fx.local("none.db").display());
    check(&["ls", &empty], "holds no dynamofs file system");
    check(&["cp", "/etc/hostname", "/tmp/x"], "use cp(1)");
    check(
        &["cp", &fx.at("/"), fx.local("o").to_str().expect("utf-8")],
        "use -r",
    );
    check(
        &["mv", &fx.at("/file"), &format!("{empty}:/file")],
        "within one file system",
    );
    check(&["cp", &fx.at("/file"), &fx.at("/file")], "same file");
    check(&["rm", "-r", &fx.at("/")], "refusing");
}

/// A name no file system should hold, slipped into the embedded store's
/// table: a copy out refuses it, goes on, and fails at the end.
#[test]
fn unsafe_names_are_refused() {
    let fx = Fx::new(Kind::Sqlite);
    fx.ok(&["mkdir", &fx.at("/d")]);
    fx.cmd()
        .args(["cp", "-", &fx.at("/d/ok")])
        .write_stdin("fine")
        .assert()
        .success();
    let db = fx.local("fs.db");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             p, v = c.execute(\"select p, v from meta where s = cast('ok' as blob)\").fetchone()\n\
             for bad in (b'../escape', b'a/b', b'..'):\n\
             \x20   c.execute('insert into meta (p, s, v) values (?, ?, ?)', (p, bad, v))\n\
             c.commit()\n",
            db.to_str().expect("utf-8"),
        ])
        .status()
        .expect("python3");
    assert!(status.success());
    let out = fx.local("out");
    std::fs::create_dir(&out).expect("out");
    let err = fx.fails(&["cp", "-r", &fx.at("/d"), out.to_str().expect("utf-8")]);
    assert_eq!(err.matches("refusing the name").count(), 3, "{err}");
    assert_eq!(std::fs::read(out.join("d/ok")).expect("ok copied"), b"fine");
    assert!(!fx.local("escape").exists());
    assert!(!out.join("escape").exists());
    let names: Vec<_> = std::fs::read_dir(out.join("d"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("ok")]);
}

/// A directory too deep for one rename transaction to guard: mv copies
/// and removes instead.
#[test]
fn mv_too_deep_copies_then_removes() {
    let fx = Fx::new(Kind::Sqlite);
    // Deep enough that checking every ancestor overflows one transaction
    // (100 items), not so deep that core gives up on the chain (ELOOP).
    let deep = format!("/{}", vec!["d"; 98].join("/"));
    fx.ok(&["mkdir", "-p", &fx.at(&deep)]);
    fx.ok(&["mkdir", "-p", &fx.at("/x/y")]);
    fx.cmd()
        .args(["cp", "-", &fx.at("/x/y/f")])
        .write_stdin("deep data")
        .assert()
        .success();
    // Core logs a warning about the depth; the move itself succeeds.
    fx.cmd()
        .args(["mv", &fx.at("/x"), &fx.at(&deep)])
        .assert()
        .success();
    assert_eq!(
        fx.ok(&["cat", &fx.at(&format!("{deep}/x/y/f"))]),
        "deep data"
    );
    fx.fails(&["stat", &fx.at("/x")]);
}

/// As another user, the tools are refused what POSIX refuses that user.
#[test]
fn permissions_are_the_invoking_users() {
    let fx = Fx::new(Kind::Sqlite);
    // SQLite needs to write beside its file, whoever runs dynamofs. The
    // store is the user's (a store others may write is refused); root
    // makes its -wal and -shm the user's too (SQLite does, as root).
    chmod(fx.dir.path(), 0o777);
    std::os::unix::fs::chown(fx.local("fs.db"), Some(1000), Some(1000)).expect("chown");
    fx.ok(&["mkdir", "-m", "700", &fx.at("/private")]);
    fx.ok(&["mkdir", "-m", "777", &fx.at("/shared")]);
    fx.cmd()
        .args(["cp", "-", &fx.at("/private/f")])
        .write_stdin("secret")
        .assert()
        .success();
    let bin = env!("CARGO_BIN_EXE_dynamofs");
    let as_user = |args: &[&str]| {
        std::process::Command::new("setpriv")
            .args(["--reuid", "1000", "--regid", "1000", "--clear-groups"])
            .arg(bin)
            .args(args)
            .output()
            .expect("setpriv")
    };
    let out = as_user(&["cat", &fx.at("/private/f")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("{}: Permission denied", fx.at("/private/f"))),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_user(&["mkdir", &fx.at("/mine")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    let out = as_user(&["rm", "-r", &fx.at("/private")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    // Where the user may write, what it makes is its own.
    let out = as_user(&["mkdir", &fx.at("/shared/mine")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let js = fx.ok(&["stat", "--json", &fx.at("/shared/mine")]);
    assert!(
        js.contains("\"uid\": 1000,") && js.contains("\"gid\": 1000,"),
        "{js}"
    );
    // And root still finds everything in place.
    assert_eq!(fx.ok(&["cat", &fx.at("/private/f")]), "secret");
}

/// On a terminal, cp ends with one line saying what it copied and how
/// fast (piped, it says nothing: `Fx::ok` asserts an empty stderr).
#[test]
fn cp_sums_up_on_a_terminal() {
    let fx = Fx::new(Kind::Sqlite);
    let src = fx.local("src");
    std::fs::create_dir(&src).expect("mkdir");
    std::fs::write(src.join("a"), noise(200_000, 5)).expect("write");
    std::fs::write(src.join("b"), b"b").expect("write");
    let bin = assert_cmd::cargo::cargo_bin("dynamofs");
    // script(1) gives the copy a pseudo-terminal.
    let out = std::process::Command::new("script")
        .arg("-qec")
        .arg(format!(
            "'{}' cp -r '{}' '{}'",
            bin.display(),
            src.display(),
            fx.at("/")
        ))
        .arg("/dev/null")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("script");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    let last = shown.rsplit("\u{1b}[2K").next().unwrap_or_default();
    assert!(
        last.starts_with("copied 2 files (195.3 KiB) in ")
            && (last.contains(" MiB/s") || last.contains(" KiB/s")),
        "{last:?}"
    );
    assert_eq!(fx.ok(&["cat", &fx.at("/src/b")]), "b");
}
