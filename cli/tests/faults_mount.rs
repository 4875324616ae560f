//! Real mounts and tools under injected faults (`DYNAMOFS_FAULTS`): the
//! retry layer must ride out throttling, timeouts, conflicts, lost and slow
//! responses inside a kernel mount, and what was written must be what is
//! read back, with fsck clean. On SQLite and on the test DynamoDB server.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use common::{dynamofs, ok, sh, Kind, Mount, Store};

/// Rates high enough that a small workload meets every kind of fault
/// many times, low enough that ten attempts always get through.
const FAULTS: &str = "throttle=0.05,timeout=0.03,conflict=0.15,lost=0.05,slow=0.05:30ms,seed=11";

/// What the file system should hold, by path below the mount point.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
    Link(String),
}

#[derive(Default)]
struct Model {
    nodes: BTreeMap<String, Node>,
    xattrs: BTreeMap<(String, String), Vec<u8>>,
}

impl Model {
    fn file(&mut self, p: &str) -> &mut Vec<u8> {
        match self.nodes.get_mut(p) {
            Some(Node::File(d)) => d,
            other => panic!("model: {p} is not a file: {other:?}"),
        }
    }

    /// A rename moves everything at and below `from`.
    fn rename(&mut self, from: &str, to: &str) {
        let moved: Vec<String> = self
            .nodes
            .keys()
            .filter(|k| *k == from || k.starts_with(&format!("{from}/")))
            .cloned()
            .collect();
        for k in moved {
            let n = self.nodes.remove(&k).expect("listed");
            let nk = format!("{to}{}", &k[from.len()..]);
            self.nodes.insert(nk.clone(), n);
            let xs: Vec<_> = self
                .xattrs
                .keys()
                .filter(|(p, _)| *p == k)
                .cloned()
                .collect();
            for x in xs {
                let v = self.xattrs.remove(&x).expect("listed");
                self.xattrs.insert((nk.clone(), x.1), v);
            }
        }
    }

    fn remove(&mut self, p: &str) {
        self.nodes.remove(p);
        self.xattrs.retain(|(q, _), _| q != p);
    }
}

/// Bytes that do not compress and differ per seed (xorshift).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write_synced(path: &Path, data: &[u8]) {
    let mut f = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.write_all(data)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    f.sync_all()
        .unwrap_or_else(|e| panic!("fsync {}: {e}", path.display()));
}

/// Set extended attributes, in order, in one process (python3: the
/// standard library has no xattr calls, and a process each is slow).
fn set_xattrs(sets: &[(&Path, &str, &[u8])]) {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(
        "import os,sys\n\
         a = sys.argv[1:]\n\
         for i in range(0, len(a), 3): os.setxattr(a[i], a[i + 1], bytes.fromhex(a[i + 2]))",
    );
    for (path, name, value) in sets {
        cmd.arg(path).arg(name).arg(hex(value));
    }
    let out = cmd.output().expect("python3");
    assert!(
        out.status.success(),
        "setxattr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every user xattr of each path (not following symlinks), as
/// (index of the path, name) -> value.
fn xattrs(paths: &[&Path]) -> BTreeMap<(usize, String), Vec<u8>> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import os,sys\n\
             for i, p in enumerate(sys.argv[1:]):\n\
             \x20   for n in os.listxattr(p, follow_symlinks=False):\n\
             \x20       if n.startswith('user.'): print(i, n, os.getxattr(p, n, follow_symlinks=False).hex())",
        )
        .args(paths)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "getxattr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut f = l.split(' ');
            let i = f.next().and_then(|i| i.parse().ok()).expect("index");
            let n = f.next().expect("name").to_string();
            ((i, n), unhex(f.next().unwrap_or("")))
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex from python"))
        .collect()
}

/// The mixed workload, through the kernel, recorded in the model.
fn workload(root: &Path, m: &mut Model) {
    let p = |rel: &str| root.join(rel);
    for d in ["d1", "d2", "d1/sub", "d1/sub/deep"] {
        fs::create_dir(p(d)).unwrap_or_else(|e| panic!("mkdir {d}: {e}"));
        m.nodes.insert(d.into(), Node::Dir);
    }
    // Files from empty to a few blocks (256 KiB each), fsynced.
    let sizes = [0, 1, 4096, 70_000, 262_144, 262_145, 600_000];
    let dirs = ["d1", "d2", "d1/sub", "d1/sub/deep"];
    for (i, size) in sizes.iter().chain(sizes.iter()).enumerate() {
        let rel = format!("{}/f{i}", dirs[i % dirs.len()]);
        let data = bytes(i as u64 + 1, *size);
        write_synced(&p(&rel), &data);
        m.nodes.insert(rel, Node::File(data));
    }
    // Overwrite inside a file, across a block boundary, and append.
    let rel = "d1/sub/f6";
    let patch = bytes(100, 5000);
    let f = OpenOptions::new()
        .write(true)
        .open(p(rel))
        .expect("open f6");
    f.write_all_at(&patch, 260_000).expect("pwrite");
    f.sync_all().expect("fsync");
    m.file(rel)[260_000..265_000].copy_from_slice(&patch);
    let mut f = OpenOptions::new()
        .append(true)
        .open(p("d2/f5"))
        .expect("open f5");
    let more = bytes(101, 10_000);
    f.write_all(&more).expect("append");
    f.sync_all().expect("fsync");
    m.file("d2/f5").extend_from_slice(&more);
    // Truncates: shrink, grow (zeros), to zero and write again.
    let f = OpenOptions::new()
        .write(true)
        .open(p("d1/f4"))
        .expect("open f4");
    f.set_len(1000).expect("shrink");
    f.set_len(300_000).expect("grow");
    f.sync_all().expect("fsync");
    let d = m.file("d1/f4");
    d.truncate(1000);
    d.resize(300_000, 0);
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(p("d2/f9"))
        .expect("open f9 with O_TRUNC");
    let fresh = bytes(102, 3000);
    f.seek(SeekFrom::Start(0)).expect("seek");
    f.write_all(&fresh).expect("write after O_TRUNC");
    f.sync_all().expect("fsync");
    *m.file("d2/f9") = fresh;
    // Extended attributes, one of them replaced.
    let big = bytes(103, 2000);
    let sets: [(&str, &str, &[u8]); 5] = [
        ("d1/f0", "user.a", b"one"),
        ("d1/f0", "user.b", b"two"),
        ("d1/sub", "user.dir", b"on a directory"),
        ("d2/f1", "user.big", &big),
        ("d1/f0", "user.a", b"changed"),
    ];
    let abs: Vec<_> = sets.iter().map(|(rel, _, _)| p(rel)).collect();
    let with_abs: Vec<_> = sets
        .iter()
        .zip(&abs)
        .map(|((_, n, v), a)| (a.as_path(), *n, *v))
        .collect();
    set_xattrs(&with_abs);
    for (rel, n, v) in sets {
        m.xattrs.insert((rel.into(), n.into()), v.to_vec());
    }
    // Renames: in a directory, across directories, over an existing file,
    // and a directory (with its subtree) to a new parent.
    for (from, to) in [
        ("d1/f0", "d1/f0-renamed"),
        ("d2/f1", "d1/f1-moved"),
        ("d1/sub/f2", "d2/f5"),
        ("d1/sub", "d2/sub-moved"),
    ] {
        fs::rename(p(from), p(to)).unwrap_or_else(|e| panic!("rename {from} {to}: {e}"));
        m.remove(to);
        m.rename(from, to);
    }
    // Many small namespace changes: each create and rename is a commit of
    // its own, and only commits meet conflicts.
    for i in 0..20 {
        let (a, b) = (format!("d2/small{i}"), format!("d1/small{i}-renamed"));
        let data = bytes(200 + i, 100);
        write_synced(&p(&a), &data);
        fs::rename(p(&a), p(&b)).unwrap_or_else(|e| panic!("rename {a} {b}: {e}"));
        m.nodes.insert(b, Node::File(data));
    }
    // A symlink and a hard link.
    std::os::unix::fs::symlink("../d1/f8", p("d2/link")).expect("symlink");
    m.nodes
        .insert("d2/link".into(), Node::Link("../d1/f8".into()));
    fs::hard_link(p("d1/f8"), p("d2/hard")).expect("link");
    let data = m.file("d1/f8").clone();
    m.nodes.insert("d2/hard".into(), Node::File(data));
    // Unlinks, one of them a file held open (readable until closed).
    let held = File::open(p("d2/f13")).expect("open f13");
    for rel in ["d2/f13", "d1/f12", "d2/sub-moved/deep/f3"] {
        fs::remove_file(p(rel)).unwrap_or_else(|e| panic!("unlink {rel}: {e}"));
        m.remove(rel);
    }
    let mut got = vec![0; 10];
    held.read_exact_at(&mut got, 0)
        .expect("read an unlinked open file");
    assert_eq!(got, bytes(14, 10), "an open unlinked file keeps its data");
    drop(held);
    fs::remove_dir(p("d2/sub-moved/deep")).expect_err("rmdir of a non-empty directory");
}

/// What the mounted file system holds, walked through the kernel.
fn walk(root: &Path) -> Model {
    let mut m = Model::default();
    let mut todo = vec![String::new()];
    while let Some(dir) = todo.pop() {
        let abs = root.join(&dir);
        for e in fs::read_dir(&abs).unwrap_or_else(|e| panic!("readdir {}: {e}", abs.display())) {
            let e = e.expect("entry");
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let path = root.join(&rel);
            let t = e.file_type().expect("file type");
            let node = if t.is_dir() {
                todo.push(rel.clone());
                Node::Dir
            } else if t.is_symlink() {
                Node::Link(
                    fs::read_link(&path)
                        .expect("readlink")
                        .to_string_lossy()
                        .into_owned(),
                )
            } else {
                Node::File(fs::read(&path).unwrap_or_else(|e| panic!("read {rel}: {e}")))
            };
            m.nodes.insert(rel, node);
        }
    }
    let rels: Vec<String> = m
        .nodes
        .iter()
        .filter(|(_, n)| !matches!(n, Node::Link(_)))
        .map(|(r, _)| r.clone())
        .collect();
    let abs: Vec<_> = rels.iter().map(|r| root.join(r)).collect();
    let paths: Vec<&Path> = abs.iter().map(|p| p.as_path()).collect();
    for ((i, n), v) in xattrs(&paths) {
        m.xattrs.insert((rels[i].clone(), n), v);
    }
    m
}

/// Compare without printing megabytes: the first difference, named.
fn same(want: &Model, got: &Model) {
    let names = |m: &Model| m.nodes.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "the set of names");
    for (rel, w) in &want.nodes {
        match (w, &got.nodes[rel]) {
            (Node::File(w), Node::File(g)) if w != g => {
                let at = w.iter().zip(g).position(|(a, b)| a != b);
                panic!(
                    "{rel}: {} bytes read, {} written; first difference at {at:?}",
                    g.len(),
                    w.len()
                );
            }
            (w, g) if std::mem::discriminant(w) != std::mem::discriminant(g) => {
                panic!("{rel}: {g:?} where {w:?} was made")
            }
            (Node::Link(w), Node::Link(g)) => assert_eq!(g, w, "{rel}: symlink target"),
            _ => {}
        }
    }
    assert_eq!(got.xattrs, want.xattrs, "extended attributes");
}

/// `faults injected: throttle=N ... requests=N` from a log, as numbers.
fn injected(log: &str) -> BTreeMap<String, u64> {
    let line = log
        .lines()
        .rev()
        .find_map(|l| l.split_once("faults injected: ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no fault summary in the log:\n{log}"));
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().parse().expect("a count")))
        .collect()
}

fn mixed_workload_under_faults(kind: Kind) {
    let store = Store::new(kind);
    let mut model = Model::default();
    let m = Mount::with_env(&store, &[], &[("DYNAMOFS_FAULTS", FAULTS)]);
    workload(&m.dir, &mut model);
    // What this mount reads back, before and after its caches go.
    same(&model, &walk(&m.dir));
    let pid = m.server_pid().expect("the server's pid");
    sh(&format!("fusermount3 -u {}", m.dir.display()));
    m.wait_gone(pid);
    let log = m.log();
    let counts = injected(&log);
    let faults: u64 = counts
        .iter()
        .filter(|(k, _)| *k != "requests")
        .map(|(_, v)| v)
        .sum();
    eprintln!("{kind:?}: faults injected: {counts:?}");
    for k in ["throttle", "timeout", "conflict", "lost", "slow"] {
        assert!(
            counts[k] > 0,
            "no {k} fault was injected: {counts:?}\n{log}"
        );
    }
    assert!(faults >= 20, "too few faults to prove anything: {counts:?}");

    // A fresh mount without faults sees exactly what was written.
    let clean = Mount::new(&store, &[]);
    same(&model, &walk(&clean.dir));
    drop(clean);
    let out = dynamofs(&store, &["fsck", &store.source]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "fsck after the run: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The tools open their store the same way: under faults they still give
/// the right answer, and say what they went through.
fn tools_under_faults(kind: Kind) {
    let store = Store::new(kind);
    let mut args = store.global();
    args.extend(["mkdir", "-p"].map(String::from));
    args.push(format!("{}:/a/b/c", store.source));
    let run = |args: &[String]| {
        Command::new(common::bin())
            .args(args)
            .env(
                "DYNAMOFS_FAULTS",
                "throttle=0.2,lost=0.2,conflict=0.2,seed=3",
            )
            .output()
            .expect("run dynamofs")
    };
    let out = run(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "mkdir -p under faults: {err}");
    let counts = injected(&err);
    let faults: u64 = ["throttle", "lost", "conflict"]
        .iter()
        .map(|k| counts[*k])
        .sum();
    assert!(faults > 0, "no fault met: {counts:?}");
    let ls = ok(&dynamofs(
        &store,
        &["ls", &format!("{}:/a/b", store.source)],
    ));
    assert_eq!(ls.trim(), "c");
}

/// A malformed spec is refused before anything is touched, by the tools
/// and by mount alike, with what to write instead.
fn bad_spec_is_refused(kind: Kind) {
    let store = Store::new(kind);
    for cmd in [&["ls"][..], &["fsck"][..]] {
        let out = Command::new(common::bin())
            .args(store.global())
            .args(cmd)
            .arg(&store.source)
            .env("DYNAMOFS_FAULTS", "throttle=5%")
            .output()
            .expect("run dynamofs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd:?} ran under a bad spec");
        assert!(
            err.contains("DYNAMOFS_FAULTS=`throttle=5%`")
                && err.contains("not a probability")
                && err.contains("unset it"),
            "{err}"
        );
    }
}

common::both!(
    mixed_workload_under_faults,
    tools_under_faults,
    bad_spec_is_refused
);
