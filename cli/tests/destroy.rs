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

/// On a terminal (script(1) gives it one) destroy asks for the first 8
/// characters of the file system's id: anything else deletes nothing.
#[test]
fn asks_on_a_terminal() {
    let store = Store::new(Kind::Sqlite);
    let config = ok(&common::dynamofs(
        &store,
        &["config", &store.source, "--json"],
    ));
    let id = common::py(&config, "d['fs_id'][:8]");
    let typed = |answer: &str| {
        let mut child = std::process::Command::new("script")
            .arg("-qec")
            .arg(format!(
                "'{}' destroy '{}'",
                common::bin().display(),
                store.source
            ))
            .arg("/dev/null")
            .env_remove("AWS_PROFILE")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script");
        {
            use std::io::Write;
            let mut i = child.stdin.take().expect("stdin");
            i.write_all(format!("{answer}\n").as_bytes())
                .expect("answer");
        }
        let out = child.wait_with_output().expect("script");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = typed("nope");
    assert!(shown.contains(&format!("type {id} to go on")), "{shown}");
    assert!(
        shown.contains("not confirmed: nothing was deleted"),
        "{shown}"
    );
    assert!(status_ok(&store));
    let shown = typed(&id);
    assert!(shown.contains("destroyed"), "{shown}");
    assert!(!status_ok(&store));
}

common::both!(asks_refuses_then_deletes, force_cuts_off_a_live_mount);
