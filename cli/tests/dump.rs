//! `dynamofs dump | dynamofs load` from one store to the other (SQLite to
//! the DynamoDB test server and back), through the real binary, with the
//! source mounted meanwhile: the loaded tree, seen through a mount, is the
//! dumped one byte for byte and attribute for attribute (ctime apart, which
//! no call sets). And load refuses what it must.

mod common;

use std::process::{Command, Stdio};

use common::{ok, Kind, Mount, Store};

/// Every kind of thing a tree holds: nested directories, files across
/// block boundaries, an empty file, a sparse one, three names of one
/// inode, a symbolic link and a name that are not UTF-8, a FIFO, binary
/// extended attributes, setuid and sticky modes, other owners, old times.
const MAKE: &str = r#"
import os, sys
r = sys.argv[1]
j = lambda *p: os.path.join(r, *p).encode() if isinstance(p[-1], str) else os.path.join(r.encode(), *p)
os.makedirs(j("a", "b", "c"))
with open(j("a", "big"), "wb") as f:
    f.write(bytes((i * 7 + i // 251) % 256 for i in range(700_000)))
open(j("a", "empty"), "wb").close()
with open(j("sparse"), "wb") as f:
    f.seek(3_000_000); f.write(b"end"); f.truncate(5_000_000)
with open(j("a", "b", "linked"), "wb") as f:
    f.write(b"one inode, three names\n")
os.link(j("a", "b", "linked"), j("second"))
os.link(j("a", "b", "linked"), j("a", "b", "c", "third"))
os.symlink(b"../a/b/\xffname", j(b"link\xfe"))
os.mkfifo(j("fifo"), 0o640)
with open(j(b"caf\xe9"), "wb") as f:
    f.write(b"latin-1 name\n")
os.setxattr(j("a", "big"), "user.bin", bytes([0, 255, 1]))
os.setxattr(j("a"), "user.text", b"hello")
os.chmod(j("a", "big"), 0o4755)
os.chmod(j("a", "b"), 0o1777)
if os.geteuid() == 0:
    os.chown(j("a", "b", "linked"), 1234, 5678)
    os.chown(j(b"link\xfe"), 4321, 8765, follow_symlinks=False)
for i, p in enumerate([j("a", "big"), j("sparse"), j("a", "b", "c"), j("a"), j("fifo")]):
    os.utime(p, ns=(1_000_000_000 * (i + 1) + 123, 2_000_000_000 * (i + 1) + 456))
os.utime(j(b"link\xfe"), ns=(7_000_000_000, 8_000_000_000), follow_symlinks=False)
"#;

/// What the tree under argv[1] is, as stat(2), readlink(2) and getxattr(2)
/// see it through a mount: one line per path, hard links as a group.
const MANIFEST: &str = r#"
import hashlib, os, stat, sys
root = sys.argv[1].encode()
groups = {}
out = []
for d, dirs, files in os.walk(root):
    for n in sorted(dirs + files) + ([b"."] if d == root else []):
        p = os.path.join(d, n)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        line = [repr(rel), oct(st.st_mode), st.st_uid, st.st_gid, st.st_nlink,
                st.st_mtime_ns]
        if not stat.S_ISDIR(st.st_mode):
            line.append(st.st_atime_ns)
        if stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                line += [st.st_size, hashlib.sha256(f.read()).hexdigest()]
            if st.st_nlink > 1:
                groups.setdefault(st.st_ino, []).append(rel)
        if stat.S_ISLNK(st.st_mode):
            line.append(repr(os.readlink(p)))
        else:
            line.append(sorted((k, os.getxattr(p, k)) for k in os.listxattr(p)))
        out.append(repr(line))
for g in groups.values():
    out.append("linked " + repr(sorted(g)))
print("\n".join(sorted(out)))
"#;

fn manifest(m: &Mount) -> String {
    common::python(MANIFEST, &[m.dir.as_os_str()])
}

/// `dynamofs dump FROM | dynamofs load TO`, each with its store's options.
fn pipe(from: &Store, to: &Store, dump_extra: &[&str], load_extra: &[&str]) -> (bool, String) {
    let mut dump = Command::new(common::bin())
        .args(from.global())
        .arg("dump")
        .arg(&from.source)
        .args(dump_extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dump");
    let stream = dump.stdout.take().expect("dump's stdout");
    let load = Command::new(common::bin())
        .args(to.global())
        .arg("load")
        .arg(&to.source)
        .args(load_extra)
        .stdin(stream)
        .output()
        .expect("load");
    let dumped = dump.wait_with_output().expect("dump");
    assert!(
        dumped.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let said = String::from_utf8_lossy(&load.stderr).into_owned();
    (load.status.success(), said)
}

fn moves_exactly(from: Kind, to: Kind) {
    let src = Store::new(from);
    let dst = Store::new(to);
    // noatime: the comparison reads every file, which must not change
    // the atimes it compares.
    let m = Mount::new(&src, &["noatime"]);
    common::python(MAKE, &[m.dir.as_os_str()]);
    let before = manifest(&m);
    assert!(before.contains("linked ["), "{before}");

    // The source stays mounted: dump runs beside a live mount.
    let (loaded, said) = pipe(&src, &dst, &[], &[]);
    assert!(loaded, "load failed: {said}");
    assert!(said.contains("loaded 10 inodes, 2 extra links"), "{said}");
    let n = Mount::new(&dst, &["noatime"]);
    let after = manifest(&n);
    assert_eq!(before, after, "the loaded tree differs");
    // The hole stays a hole: 5 MB of sparse file cost one block of data.
    let mib: f64 = said
        .split(", ")
        .find_map(|p| p.strip_suffix(" MiB of data\n"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no data amount in {said:?}"));
    assert!(mib < 1.0, "{said}");
    drop(n);
    drop(m);
    let fsck = common::dynamofs(&dst, &["fsck", &dst.source]);
    ok(&fsck);
}

#[test]
fn sqlite_to_dynamodb_test_server() {
    moves_exactly(Kind::Sqlite, Kind::Moto)
}

#[test]
fn dynamodb_test_server_to_sqlite() {
    moves_exactly(Kind::Moto, Kind::Sqlite)
}

fn dump_to_file(store: &Store, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fs.dump");
    let mut args = vec!["dump", store.source.as_str(), file.to_str().expect("path")];
    args.extend_from_slice(extra);
    ok(&common::dynamofs(store, &args));
    (dir, file)
}

fn load_fails(store: &Store, file: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["load", store.source.as_str(), file.to_str().expect("path")];
    args.extend_from_slice(extra);
    let out = common::dynamofs(store, &args);
    assert!(!out.status.success(), "the load should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn load_refuses_what_it_must() {
    let src = Store::new(Kind::Sqlite);
    {
        let m = Mount::new(&src, &[]);
        std::fs::create_dir(m.path("d")).expect("mkdir");
        std::fs::write(m.path("d/f"), vec![7u8; 300_000]).expect("write");
    }
    let (_dir, file) = dump_to_file(&src, &[]);
    let mode = std::fs::metadata(&file).expect("dump file").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&file).expect("read dump");

    // Into a file system that is not empty: refused, nothing added.
    let why = load_fails(&src, &file, &[]);
    assert!(
        why.contains("not empty") && why.contains("--force"),
        "{why}"
    );

    let dst = Store::new(Kind::Sqlite);
    let write = |name: &str, body: &str| {
        let p = file.with_file_name(name);
        std::fs::write(&p, body).expect("write");
        p
    };
    // Cut short: the end record is missing.
    let lines: Vec<&str> = text.lines().collect();
    let cut = write("cut", &(lines[..lines.len() - 1].join("\n") + "\n"));
    let why = load_fails(&dst, &cut, &["--force"]);
    assert!(why.contains("cut short"), "{why}");
    // Another format version.
    let v2 = write("v2", &text.replacen("\"version\":1", "\"version\":2", 1));
    let why = load_fails(&Store::new(Kind::Sqlite), &v2, &[]);
    assert!(
        why.contains("version 2") && why.contains("reads version 1"),
        "{why}"
    );
    // A damaged line names its number.
    let mut bad = lines.clone();
    bad[2] = "{\"t\":\"node\",\"parent\":";
    let bad = write("bad", &(bad.join("\n") + "\n"));
    let why = load_fails(&Store::new(Kind::Sqlite), &bad, &[]);
    assert!(why.contains("line 3 of the dump"), "{why}");
    // Not a dump at all.
    let other = write("other", "{\"hello\":1}\n");
    let why = load_fails(&Store::new(Kind::Sqlite), &other, &[]);
    assert!(why.contains("line 1 of the dump"), "{why}");

    // Metadata only: no data records, and load wants to be told.
    let (_d2, meta) = dump_to_file(&src, &["--metadata-only"]);
    let body = std::fs::read_to_string(&meta).expect("read");
    assert!(!body.contains("\"t\":\"data\""), "{body}");
    let fresh = Store::new(Kind::Sqlite);
    let why = load_fails(&fresh, &meta, &[]);
    assert!(why.contains("--metadata-only"), "{why}");
    let args = [
        "load",
        fresh.source.as_str(),
        meta.to_str().expect("path"),
        "--metadata-only",
    ];
    ok(&common::dynamofs(&fresh, &args));
    let m = Mount::new(&fresh, &[]);
    assert_eq!(
        std::fs::metadata(m.path("d/f")).expect("stat").len(),
        300_000
    );
}
