//! `dynamofs bench` through real mounts, on SQLite and the DynamoDB test
//! server: every step measured, request counts taken from the mount's own
//! metrics (found through its session), nothing left behind; without
//! metrics, times only; outside a mount, a clear error.

mod common;

use common::{ok, py, Kind, Mount, Store};

fn bench(store: &Store, dir: &std::path::Path) -> std::process::Output {
    let d = dir.to_str().expect("path");
    let args = [
        "bench",
        d,
        "--big-file-size",
        "2M",
        "--small-files",
        "8",
        "--small-file-size",
        "5K",
        "--json",
    ];
    common::dynamofs(store, &args)
}

fn measures_with_the_mounts_counters(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &["metrics=127.0.0.1:0"]);
    let out = ok(&bench(&store, &m.dir));
    assert_eq!(
        py(&out, "[s['name'] for s in d]"),
        "['write big file', 'read big file', 'write small files', 'read small files', 'stat small files', 'remove small files']",
        "{out}"
    );
    assert_eq!(
        py(&out, "all(s['per_second'] > 0 for s in d)"),
        "True",
        "{out}"
    );
    // Writing costs requests; a small file at least its create.
    assert_eq!(py(&out, "d[0]['requests_per_op'] > 0"), "True", "{out}");
    assert_eq!(py(&out, "d[2]['requests_per_op'] >= 1"), "True", "{out}");
    assert_eq!(py(&out, "d[5]['requests_per_op'] >= 1"), "True", "{out}");
    let left: Vec<_> = std::fs::read_dir(&m.dir).expect("ls").collect();
    assert!(left.is_empty(), "bench left {left:?}");
}

fn times_only_without_metrics(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &[]);
    let run = bench(&store, &m.dir);
    let out = ok(&run);
    assert_eq!(
        py(&out, "[s['requests_per_op'] for s in d]"),
        "[None, None, None, None, None, None]"
    );
    let note = String::from_utf8_lossy(&run.stderr);
    assert!(note.contains("metrics=127.0.0.1:0"), "{note}");
}

#[test]
fn outside_a_mount_is_an_error() {
    let store = Store::new(Kind::Sqlite);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bench(&store, dir.path());
    assert!(!out.status.success());
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(why.contains("is not in a dynamofs mount"), "{why}");
}

common::both!(
    measures_with_the_mounts_counters,
    times_only_without_metrics
);
