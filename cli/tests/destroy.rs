//! `dynamofs destroy` on SQLite and moto: it asks (and deletes nothing
//! unasked), refuses while a mount is live, then deletes the tables (and
//! the SQLite file), after which the source holds nothing.

mod common;

use common::{ok, Kind, Mount, Store};

fn destroy(store: &Store, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["destroy", store.source.as_str()];
    args.extend_from_slice(extra);
    common::dynamofs(store, &args)
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn status_ok(store: &Store) -> bool {
    common::dynamofs(store, &["status", store.source.as_str()])
        .status
        .success()
}

fn asks_refuses_then_deletes(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &[]);
    std::fs::write(m.path("kept"), b"data").expect("write");

    // A live mount: refused, naming it.
    let live = destroy(&store, &["--yes"]);
    assert!(!live.status.success());
    let why = stderr(&live);
    let dir = m.dir.display().to_string();
    assert!(why.contains(&dir) && why.contains("--force"), "{why}");
    assert_eq!(
        std::fs::read(m.path("kept")).expect("still readable"),
        b"data"
    );
    assert!(status_ok(&store));

    drop(m);
    // Not on a terminal and no --yes: nothing is deleted.
    let unasked = destroy(&store, &[]);
    assert!(!unasked.status.success());
    assert!(stderr(&unasked).contains("--yes"), "{}", stderr(&unasked));
    assert!(status_ok(&store));

    let done = ok(&destroy(&store, &["--yes"]));
    assert!(done.contains("destroyed"), "{done}");
    assert!(!status_ok(&store), "the tables are still there");
    if let Some(path) = store.sqlite_path() {
        for suffix in ["", "-wal", "-shm"] {
            let p = format!("{}{suffix}", path.display());
            assert!(!std::path::Path::new(&p).exists(), "{p} is left");
        }
    }
    let again = destroy(&store, &["--yes"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("nothing to destroy"),
        "{}",
        stderr(&again)
    );
}

/// --force deletes beside a live mount, which then answers errors instead
/// of serving what it cached as if it were still there.
fn force_cuts_off_a_live_mount(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &["attr_timeout=0", "entry_timeout=0"]);
    std::fs::write(m.path("f"), b"x").expect("write");
    ok(&destroy(&store, &["--yes", "--force"]));
    assert!(!status_ok(&store));
    assert!(
        std::fs::write(m.path("g"), b"y").is_err(),
        "a create succeeded on a destroyed file system"
    );
}

common::both!(asks_refuses_then_deletes, force_cuts_off_a_live_mount);
