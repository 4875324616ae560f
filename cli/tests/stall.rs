//! A mount stalled past its lease must not serve, when it resumes, what it
//! can no longer vouch for. Found by scripts/chaos: a read the kernel
//! queued while the server was stopped (its attributes still fresh, so no
//! GETATTR first) was answered with zeros once the file, unlinked by
//! another mount and collected meanwhile, had lost its blocks.

mod common;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{dynamofs, ok, py, Kind, Mount, Store};

const TTL: u64 = 2;
const SIZE: usize = 4 << 20;

fn data() -> Vec<u8> {
    (0..SIZE).map(|i| (i % 251) as u8 + 1).collect()
}

/// Orphans (unlinked files not collected yet) in the store.
fn orphans(store: &Store) -> u64 {
    let json = ok(&dynamofs(store, &["fsck", "--json", &store.source]));
    py(&json, "d['counts']['orphans']")
        .parse()
        .expect("a count")
}

fn read_queued_while_stopped_is_not_zeros(kind: Kind) {
    let store = Store::new(kind);
    let opt = format!("session_ttl={TTL}");
    let a = Mount::new(&store, &[&opt]);
    let b = Mount::new(&store, &[&opt]);
    fs::write(a.path("victim"), data()).expect("write in A");
    // B opens the file, reads its first page and refreshes its
    // attributes; then reads its far end (3.5 MiB in: past any read-ahead,
    // never cached) on command.
    let script = r#"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.pread(fd, 4096, 0)
print("open", flush=True)
sys.stdin.readline()
os.fstat(fd)
print("fresh", flush=True)
sys.stdin.readline()
try:
    got = os.pread(fd, 65536, 3584 * 1024)
    want = bytes((i % 251) + 1 for i in range(3584 * 1024, 3584 * 1024 + 65536))
    print("ok" if got == want else "zeros" if 0 in got else "wrong", flush=True)
except OSError as e:
    print(errno.errorcode[e.errno], flush=True)
"#;
    let mut reader = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(b.path("victim"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut input = reader.stdin.take().expect("stdin");
    let mut out = BufReader::new(reader.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "open");
    writeln!(input, "stat").expect("send");
    line.clear();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "fresh");

    let pid = b.server_pid().expect("B's server");
    common::sh(&format!("kill -STOP {pid}"));
    // Sent while stopped: the kernel queues the READ for the server.
    writeln!(input, "read").expect("send");
    fs::remove_file(a.path("victim")).expect("unlink in A");
    // A collects it once B's heartbeat stood still for the TTL.
    let deadline = Instant::now() + Duration::from_secs(20 * TTL);
    while orphans(&store) > 0 {
        assert!(Instant::now() < deadline, "A never collected the file");
        std::thread::sleep(Duration::from_millis(200));
    }
    common::sh(&format!("kill -CONT {pid}"));
    line.clear();
    out.read_line(&mut line).expect("the answer");
    drop(input);
    let _ = reader.wait();
    assert!(
        line.trim() == "ok" || line.trim() == "EIO",
        "a read queued while B was stopped past its lease, answered after the \
         file was collected: {} (expected the data or EIO)",
        line.trim()
    );
}

common::both!(read_queued_while_stopped_is_not_zeros);
