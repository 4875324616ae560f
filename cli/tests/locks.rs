//! Locks shared by two mounts of one store, through the kernel: fcntl and
//! flock conflicts, a blocked F_SETLKW released by the other side, and the
//! locks of a killed mount disappearing when its session expires.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{holder, release, try_lock, Kind, Mount, Store};

/// One store, two mounts of it, and a file `f` both see (past the
/// attribute time).
fn two_mounts(kind: Kind) -> (Store, Mount, Mount) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &[]);
    let b = Mount::new(&store, &[]);
    std::fs::write(a.path("f"), b"0123456789").expect("write");
    std::thread::sleep(Duration::from_millis(1200));
    (store, a, b)
}

/// A Python script talking over its stdin and stdout.
fn spawn_script(
    script: &str,
    args: &[&std::ffi::OsStr],
) -> (std::process::Child, impl FnMut() -> String) {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let said = move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).expect("read");
        line.trim().to_string()
    };
    (child, said)
}

fn shared_locks(kind: Kind) {
    let (_store, a, b) = two_mounts(kind);
    // fcntl: a conflict across mounts, and F_GETLK names the holder.
    let h = holder(&a.path("f"), "lockf");
    let pid = h.id();
    let seen = try_lock(&b.path("f"), "lockf");
    assert_eq!(seen, format!("busy pid={pid} type=1"));
    release(h);
    assert_eq!(try_lock(&b.path("f"), "lockf"), "ok", "released on close");
    // flock likewise.
    let h = holder(&b.path("f"), "flock");
    assert_eq!(try_lock(&a.path("f"), "flock"), "busy");
    release(h);
    assert_eq!(try_lock(&a.path("f"), "flock"), "ok");
    // F_SETLKW in one mount waits until the other side unlocks.
    let h = holder(&a.path("f"), "lockf");
    let started = Instant::now();
    let mut waiter = Command::new("python3")
        .arg("-c")
        .arg("import fcntl,sys; f=open(sys.argv[1],'r+'); fcntl.lockf(f, fcntl.LOCK_EX, 10, 0); print('got')")
        .arg(b.path("f"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        waiter.try_wait().expect("wait").is_none(),
        "F_SETLKW did not wait"
    );
    release(h);
    let out = waiter.wait_with_output().expect("waiter");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "got");
    assert!(started.elapsed() >= Duration::from_millis(700));
    // A signal ends the wait (EINTR, then Python's handler raises).
    let h = holder(&a.path("f"), "lockf");
    let mut waiter = Command::new("python3")
        .arg("-c")
        .arg(
            "import fcntl,signal,sys\n\
             signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError()))\n\
             signal.alarm(1)\n\
             f=open(sys.argv[1],'r+')\n\
             try:\n    fcntl.lockf(f, fcntl.LOCK_EX, 10, 0); print('got')\n\
             except TimeoutError:\n    print('interrupted')",
        )
        .arg(b.path("f"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let deadline = Instant::now() + Duration::from_secs(20);
    while waiter.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "a signal did not end F_SETLKW");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    if let Some(mut s) = waiter.stdout.take() {
        use std::io::Read;
        let _ = s.read_to_string(&mut out);
    }
    assert_eq!(out.trim(), "interrupted");
    release(h);
}

fn killed_mount_loses_its_locks(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &["session_ttl=2"]);
    let b = Mount::new(&store, &["session_ttl=2"]);
    std::fs::write(a.path("f"), b"0123456789").expect("write");
    std::thread::sleep(Duration::from_millis(1200));
    let mut h = holder(&a.path("f"), "lockf");
    assert!(try_lock(&b.path("f"), "lockf").starts_with("busy"));
    let pid = a.server_pid().expect("server");
    Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    let _ = h.stdin.as_mut().map(|s| s.write_all(b""));
    // Once the dead session expires, the other mount may take the lock.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if try_lock(&b.path("f"), "lockf") == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead mount's lock never went away"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // And the surviving mount keeps working.
    std::fs::write(b.path("after"), b"still working").expect("write");
    assert_eq!(
        std::fs::read(b.path("after")).expect("read"),
        b"still working"
    );
    let _ = h.kill();
    let _ = h.wait();
    let _ = Command::new("fusermount3")
        .arg("-u")
        .arg("-z")
        .arg(&a.dir)
        .status();
}

fn mandatory_locks(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &["mandatory_locks"]);
    let b = Mount::new(&store, &["mandatory_locks"]);
    std::fs::write(a.path("f"), b"0123456789").expect("write");
    std::thread::sleep(Duration::from_millis(1200));
    let h = holder(&a.path("f"), "lockf");
    let err = std::fs::read(b.path("f")).expect_err("read of a locked range");
    assert_eq!(err.raw_os_error(), Some(11), "EAGAIN: {err}");
    release(h);
    assert_eq!(
        std::fs::read(b.path("f")).expect("read after unlock"),
        b"0123456789"
    );
}

/// Open-file-description locks (F_OFD_SETLK) belong to the open file:
/// they conflict with other descriptions and with classic locks, here and
/// in another mount, and go at the description's last close even while
/// the process that took them lives on.
fn ofd_locks_belong_to_the_open_file(kind: Kind) {
    let (_store, a, b) = two_mounts(kind);
    let script = r#"
import fcntl, os, struct, sys
def ofd(fd, cmd, typ):
    fcntl.fcntl(fd, cmd, struct.pack("hhqqi4x", typ, 0, 0, 10, 0))
fd = os.open(sys.argv[1], os.O_RDWR)
ofd(fd, fcntl.F_OFD_SETLKW, fcntl.F_WRLCK)
print("locked", flush=True)
sys.stdin.readline()
# A second description of the same file in the same process conflicts.
other = os.open(sys.argv[1], os.O_RDWR)
try:
    ofd(other, fcntl.F_OFD_SETLK, fcntl.F_WRLCK)
    print("not exclusive", flush=True)
except OSError:
    print("exclusive", flush=True)
os.close(other)
print("other closed", flush=True)
sys.stdin.readline()
os.close(fd)
print("closed", flush=True)
sys.stdin.readline()
"#;
    let f = a.path("f");
    let (mut h, mut said) = spawn_script(script, &[f.as_os_str()]);
    assert_eq!(said(), "locked");
    let ofd_try = r#"
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 10, 0))
    print("ok")
except OSError:
    print("busy")
"#;
    let ofd_lock =
        |p: &std::path::Path| common::python(ofd_try, &[p.as_os_str()]).trim().to_string();
    assert_eq!(
        ofd_lock(&a.path("f")),
        "busy",
        "another description, same mount"
    );
    assert_eq!(ofd_lock(&b.path("f")), "busy", "another mount");
    assert!(
        try_lock(&a.path("f"), "lockf").starts_with("busy"),
        "a classic lock"
    );
    assert!(
        try_lock(&b.path("f"), "lockf").starts_with("busy"),
        "a classic lock elsewhere"
    );
    let stdin = h.stdin.as_mut().expect("stdin");
    stdin.write_all(b"go\n").expect("tell");
    assert_eq!(said(), "exclusive");
    assert_eq!(said(), "other closed");
    // Closing another descriptor (a classic lock's end) keeps it.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ofd_lock(&b.path("f")), "busy", "kept past another close");
    let stdin = h.stdin.as_mut().expect("stdin");
    stdin.write_all(b"go\n").expect("tell");
    assert_eq!(said(), "closed");
    // The holder lives on; its description is gone, and so is the lock
    // (the kernel sends the release after close returns).
    let deadline = Instant::now() + Duration::from_secs(5);
    while ofd_lock(&b.path("f")) != "ok" {
        assert!(Instant::now() < deadline, "not released at the last close");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(try_lock(&a.path("f"), "lockf"), "ok");
    drop(h.stdin.take());
    let _ = h.wait();
}

/// A process that closes a descriptor (its locks go with the close) and
/// at once locks through another one keeps that new lock: the kernel sends
/// the first descriptor's release without waiting, and when it arrives it
/// must not drop locks taken since (the chaos run lost spool records so).
fn a_late_release_keeps_newer_locks(kind: Kind) {
    let (_store, a, b) = two_mounts(kind);
    let script = r#"
import fcntl, os, sys
p = sys.argv[1]
for _ in range(int(sys.argv[2])):
    fd = os.open(p, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    fcntl.lockf(fd, fcntl.LOCK_UN)
    os.close(fd)
    kept = os.open(p, os.O_RDWR)
    fcntl.lockf(kept, fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.readline()
    os.close(kept)
"#;
    let rounds = 30;
    let (f, n) = (a.path("f"), rounds.to_string());
    let (mut h, mut said) = spawn_script(script, &[f.as_os_str(), n.as_ref()]);
    for round in 0..rounds {
        assert_eq!(said(), "held");
        // Time for the closed descriptor's release to arrive.
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            try_lock(&b.path("f"), "lockf").starts_with("busy"),
            "round {round}: the lock went with an older descriptor's release"
        );
        h.stdin
            .as_mut()
            .expect("stdin")
            .write_all(b"next\n")
            .expect("tell");
    }
    drop(h.stdin.take());
    let _ = h.wait();
}

common::both!(
    a_late_release_keeps_newer_locks,
    shared_locks,
    killed_mount_loses_its_locks,
    mandatory_locks,
    ofd_locks_belong_to_the_open_file,
);
