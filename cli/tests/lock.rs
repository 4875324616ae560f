//! `dynamofs lock` against locks a real mount holds, on SQLite and moto:
//! list them (with paths), break one by ID and all of a session's, see
//! them gone and the file lockable again.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::{Kind, Mount, Store};

fn global(store: &Store) -> Vec<String> {
    store
        .options
        .iter()
        .filter_map(|o| o.strip_prefix("endpoint="))
        .flat_map(|e| ["--endpoint".to_string(), e.to_string()])
        .collect()
}

/// `dynamofs lock SOURCE ARGS...`, with stdin not a terminal.
fn lock(store: &Store, args: &[&str]) -> Output {
    Command::new(common::bin())
        .env_remove("AWS_PROFILE")
        .args(global(store))
        .arg("lock")
        .arg(&store.source)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dynamofs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Evaluate a Python expression over a JSON document (`d`), validating it.
fn py(json: &str, expr: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import json,sys; d=json.load(sys.stdin); print({expr})"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(json.as_bytes()).expect("write json");
    }
    let out = child.wait_with_output().expect("python3");
    assert!(out.status.success(), "not JSON, or no {expr}: {json}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A Python process holding a lock on `path` until its stdin closes.
fn holder(path: &std::path::Path, how: &str) -> Child {
    let lock = match how {
        "flock" => "fcntl.flock(f, fcntl.LOCK_EX)",
        _ => "fcntl.lockf(f, fcntl.LOCK_EX, 10, 0)",
    };
    let script = format!(
        "import fcntl, sys\nf = open(sys.argv[1], 'r+')\n{lock}\nprint('locked', flush=True)\nsys.stdin.read()\n"
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    let out = child.stdout.take().expect("stdout");
    BufReader::new(out).read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "locked", "holder did not lock");
    child
}

/// Whether another process can take the lock now ("ok" or "busy").
fn try_lock(path: &std::path::Path, how: &str) -> String {
    let script = "import fcntl, sys\nf = open(sys.argv[1], 'r+')\ntry:\n    \
                  fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB) if sys.argv[2] == 'flock' \
                  else fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)\n    print('ok')\n\
                  except OSError:\n    print('busy')\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .arg(how)
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn release(mut c: Child) {
    drop(c.stdin.take());
    let _ = c.wait();
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
    assert_eq!(try_lock(&m.path("dir/f"), "lockf"), "busy");

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

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() { super::$name(super::Kind::Sqlite) })*
        }
        mod moto {
            $(#[test]
            fn $name() { super::$name(super::Kind::Moto) })*
        }
    };
}

both!(list_and_break);
