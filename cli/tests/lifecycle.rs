//! A mount's life through the real binary: where it may start (the mount
//! point: a dead mount, a live one, files in the way), what reaches its
//! background server (global options, log levels), and how it stops (a
//! signal keeps every write that succeeded).

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{bin, endpoint, ok, Kind, Mount, Store};

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `dynamofs [GLOBAL...] mount SOURCE DIR -o OPTS`, logging to `log`.
fn mount(global: &[&str], store: &Store, dir: &Path, opts: &[&str], log: &Path) -> Output {
    let mut o: Vec<String> = store.options.clone();
    o.extend(opts.iter().map(|s| s.to_string()));
    o.push(format!("log={}", log.display()));
    Command::new(bin())
        .args(global)
        .arg("mount")
        .arg(&store.source)
        .arg(dir)
        .arg("-o")
        .arg(o.join(","))
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run mount")
}

fn unmount(dir: &Path) {
    common::sh(&format!("fusermount3 -u {}", dir.display()));
}

/// A crashed server left "transport endpoint is not connected", and
/// mounting there again said "not a directory".
#[test]
fn dead_mount_is_cleared() {
    let store = Store::new(Kind::Sqlite);
    let m = Mount::new(&store, &[]);
    fs::write(m.path("kept"), b"x").expect("write");
    let pid = m.server_pid().expect("server pid");
    common::sh(&format!("kill -KILL {pid}"));
    while Path::new(&format!("/proc/{pid}")).exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let dead = fs::read_dir(&m.dir).expect_err("a dead mount cannot be listed");
    assert_eq!(dead.raw_os_error(), Some(107), "{dead}");
    let log = tempfile::NamedTempFile::new().expect("log");
    let out = mount(&[], &store, &m.dir, &[], log.path());
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("clearing a dead mount"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read(m.path("kept")).expect("read"), b"x");
    unmount(&m.dir);
}

#[test]
fn mount_points_in_use_are_refused() {
    let store = Store::new(Kind::Sqlite);
    let m = Mount::new(&store, &[]);
    let log = tempfile::NamedTempFile::new().expect("log");
    // Over a live dynamofs, even with nonempty.
    let e = err(&mount(&[], &store, &m.dir, &["nonempty"], log.path()));
    assert!(e.contains("already mounted") && e.contains("umount"), "{e}");
    // Over files, only when asked.
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("hidden"), b"x").expect("write");
    let e = err(&mount(&[], &store, tmp.path(), &[], log.path()));
    assert!(e.contains("not empty") && e.contains("-o nonempty"), "{e}");
    ok(&mount(&[], &store, tmp.path(), &["nonempty"], log.path()));
    assert!(!tmp.path().join("hidden").exists(), "not mounted over it");
    unmount(tmp.path());
    assert!(tmp.path().join("hidden").exists());
}

/// `--endpoint`, `--profile` and `-v` were dropped on the way to the
/// background server, which then talked to real AWS.
#[test]
fn global_options_reach_the_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let table = format!("glob-{}", std::process::id());
    let source = format!("aws:us-east-1/{table}");
    let ep = endpoint();
    let store = Store::existing(&source);
    ok(&Command::new(bin())
        .args(["--endpoint", &ep, "mkfs", "--root-mode", "777", &source])
        .output()
        .expect("mkfs"));
    let dir = tmp.path().join("m");
    fs::create_dir(&dir).expect("mkdir");
    let log = tmp.path().join("log");
    ok(&mount(&["--endpoint", &ep, "-v"], &store, &dir, &[], &log));
    fs::write(dir.join("f"), b"via --endpoint").expect("write");
    unmount(&dir);
    let text = fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("DEBUG") || text.contains("INFO"),
        "-v lost: {text}"
    );
    // A profile that names the endpoint, and no --endpoint.
    let config = tmp.path().join("config");
    fs::write(
        &config,
        format!("[profile dyn]\nregion = us-east-1\nendpoint_url = {ep}\n"),
    )
    .expect("config");
    let out = Command::new(bin())
        .args(["--profile", "dyn", "mount"])
        .arg(&source)
        .arg(&dir)
        .arg("-o")
        .arg(format!("log={}", log.display()))
        .env("AWS_CONFIG_FILE", &config)
        .env_remove("AWS_PROFILE")
        .output()
        .expect("mount");
    ok(&out);
    assert_eq!(fs::read(dir.join("f")).expect("read"), b"via --endpoint");
    unmount(&dir);
}

/// The log levels the documentation names reach the background server.
#[test]
fn log_variables_reach_the_server() {
    let store = Store::new(Kind::Sqlite);
    for var in ["DYNAMOFS_LOG", "RUST_LOG"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("m");
        fs::create_dir(&dir).expect("mkdir");
        let log = tmp.path().join("log");
        let out = Command::new(bin())
            .arg("mount")
            .arg(&store.source)
            .arg(&dir)
            .arg("-o")
            .arg(format!("log={}", log.display()))
            .env_remove("DYNAMOFS_LOG")
            .env_remove("RUST_LOG")
            .env(var, "dynamofs=info")
            .output()
            .expect("mount");
        ok(&out);
        unmount(&dir);
        let text = fs::read_to_string(&log).expect("log");
        assert!(
            text.contains("INFO") && text.contains("serving"),
            "{var}: {text}"
        );
    }
}

/// SIGTERM while a writer has a file open and is writing: 37.7 MB of a
/// 50 MB write reached the store. Now every write() that returned before
/// the server stopped is stored; later ones fail.
fn signal_keeps_acknowledged_writes(kind: Kind) {
    acknowledged_writes_survive(kind, "TERM", &[]);
}

/// The same for Ctrl-C (SIGINT).
#[test]
fn interrupt_keeps_acknowledged_writes() {
    acknowledged_writes_survive(Kind::Sqlite, "INT", &[]);
}

/// With the kernel's writeback cache, a write() returns once the kernel
/// holds the data: the server asks for it (syncfs) before it stops, so
/// what was written before the signal is stored. (What the kernel takes
/// after that is lost with the server: the cache is for a file system one
/// client writes, and a clean stop is an unmount.)
#[test]
fn signal_keeps_writes_the_kernel_cached() {
    acknowledged_writes_survive(Kind::Sqlite, "TERM", &["writeback_cache"]);
}

fn acknowledged_writes_survive(kind: Kind, signal: &str, opts: &[&str]) {
    let store = Store::new(kind);
    let m = Mount::new(&store, opts);
    // Chunk i is 256 KiB of byte i % 251; the writer prints its running
    // total after each write() returns.
    let cap_mib = match kind {
        Kind::Sqlite => 96,
        Kind::Moto => 12,
    };
    let script = r#"
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
cap = int(sys.argv[2]) << 20
total, i = 0, 0
try:
    while total < cap:
        total += os.write(fd, bytes([i % 251]) * (256 << 10))
        i += 1
        print(total, flush=True)
except OSError as e:
    print("failed", e, file=sys.stderr, flush=True)
sys.stdin.read()
"#;
    let mut writer = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(m.path("big"))
        .arg(cap_mib.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = BufReader::new(writer.stdout.take().expect("stdout")).lines();
    let mut acked: u64 = 0;
    let pid = m.server_pid().expect("server pid");
    // Signalled mid-write, with data buffered and the file open.
    while acked < (cap_mib as u64) << 19 {
        acked = lines
            .next()
            .and_then(|l| l.ok())
            .and_then(|l| l.trim().parse().ok())
            .expect("the writer writes");
    }
    // The writer runs ahead of what is read here: this much, at least,
    // was written before the signal.
    let before_signal = acked;
    common::sh(&format!("kill -{signal} {pid}"));
    m.wait_gone(pid);
    if let Some(mut i) = writer.stdin.take() {
        let _ = i.write_all(b"");
    }
    let _ = writer.kill();
    for l in lines.map_while(Result::ok) {
        if let Ok(n) = l.trim().parse() {
            acked = n;
        }
    }
    let _ = writer.wait();
    assert!(
        !m.log().contains("ERROR") && !m.log().contains("dynamofs: error"),
        "{}",
        m.log()
    );
    if opts.contains(&"writeback_cache") {
        acked = before_signal;
    }
    let again = Mount::new(&store, &[]);
    let data = fs::read(again.path("big")).expect("read");
    assert!(
        data.len() as u64 >= acked,
        "{} of {acked} acknowledged bytes stored",
        data.len()
    );
    // Chunk index and its first byte, for every chunk that is not right:
    // a run of zeros is data the kernel cached and the stop did not wait
    // for (the log says "write refused" for each).
    let wrong: Vec<(usize, u8)> = data[..acked as usize]
        .chunks(256 << 10)
        .enumerate()
        .filter(|(i, c)| c.iter().any(|b| *b as usize != i % 251))
        .map(|(i, c)| (i, c[0]))
        .collect();
    assert!(
        wrong.is_empty(),
        "of {acked} acknowledged bytes ({} stored), these 256 KiB chunks are wrong \
         (index, first byte): {wrong:?}\nlog:\n{}",
        data.len(),
        m.log()
    );
}

common::both!(signal_keeps_acknowledged_writes);
