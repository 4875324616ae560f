//! `dynamofs lock` against locks a real mount holds, on SQLite and moto:
//! list them (with paths), break one by ID and all of a session's, see
//! them gone and the file lockable again.

mod common;

use std::process::Output;
use std::time::Duration;

use common::{holder, ok, py, release, try_lock, Kind, Mount, Store};

/// `dynamofs lock SOURCE ARGS...`, with stdin not a terminal.
fn lock(store: &Store, args: &[&str]) -> Output {
    let mut all = vec!["lock", store.source.as_str()];
    all.extend_from_slice(args);
    common::dynamofs(store, &all)
}

fn list_and_break(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &[]);
    std::fs::create_dir(m.path("dir")).expect("mkdir");
    std::fs::write(m.path("dir/f"), b"0123456789").expect("write");
    std::fs::write(m.path("g"), b"0123456789").expect("write");
    std::thread::sleep(Duration::from_millis(1200));

    let out = ok(&lock(&store, &[]));
    assert!(out.contains("no locks held"), "{out}");

    let h = holder(&m.path("dir/f"), "lockf");
    let pid = h.id();
    let out = ok(&lock(&store, &["list"]));
    for want in [
        "/dir/f",
        "fcntl write",
        "0-9",
        &pid.to_string(),
        "live, expires in",
    ] {
        assert!(out.contains(want), "`{want}` not listed:\n{out}");
    }
    let json = ok(&lock(&store, &["list", "--json"]));
    assert_eq!(
        py(&json, "[(l['path'], l['kind'], l['type'], l['start'], l['end'], l['pid'], l['expired']) for l in d]"),
        format!("[('/dir/f', 'fcntl', 'write', 0, 9, {pid}, False)]")
    );
    let id = py(&json, "d[0]['id']");
    assert_eq!(
        try_lock(&m.path("dir/f"), "lockf"),
        format!("busy pid={pid} type=1")
    );

    // Not without a yes, when nobody can be asked.
    let refused = lock(&store, &["break", &id]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--yes"), "{err}");
    assert!(ok(&lock(&store, &[])).contains("/dir/f"), "still held");
    let bad = lock(&store, &["break", "ffffffffff", "--yes"]);
    assert_eq!(bad.status.code(), Some(1));

    let out = ok(&lock(&store, &["break", &id, "--yes"]));
    assert!(
        out.contains(&format!("broke the fcntl write lock {id}")),
        "{out}"
    );
    assert!(ok(&lock(&store, &["list"])).contains("no locks held"));
    assert_eq!(try_lock(&m.path("dir/f"), "lockf"), "ok", "lockable again");

    // Every lock of a session, by a prefix of its id.
    let f2 = holder(&m.path("g"), "flock");
    let json = ok(&lock(&store, &["--json"]));
    // (The mount passes flock(2) on as a whole-file POSIX lock.)
    assert_eq!(
        py(&json, "[(l['path'], l['type'], l['end']) for l in d]"),
        "[('/g', 'write', None)]"
    );
    let session = py(&json, "d[0]['session'][:10]");
    let out = ok(&lock(&store, &["break", "--session", &session, "--yes"]));
    assert!(out.contains("broke 1 lock(s) of session"), "{out}");
    assert_eq!(ok(&lock(&store, &["--json"])).trim(), "[]");
    assert_eq!(try_lock(&m.path("g"), "flock"), "ok");
    release(h);
    release(f2);
}

common::both!(list_and_break);
