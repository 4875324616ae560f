//! Access times through real mounts, on SQLite and the DynamoDB test
//! server: relatime by default (a read updates atime once after a change,
//! then not again until the next change or a day later), as another mount
//! sees it too; `noatime` never; `strictatime` on every open's first read.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use common::{Kind, Mount, Store};

/// Past the kernel's attribute timeout (1 s), so stat asks the mount.
fn settle() {
    std::thread::sleep(Duration::from_millis(1200));
}

fn atime(p: &Path) -> i64 {
    let m = std::fs::metadata(p).expect("stat");
    m.atime() * 1_000_000_000 + m.atime_nsec()
}

fn read(p: &Path) {
    std::fs::read(p).expect("read");
}

/// A file whose atime is long before its mtime.
fn old_atime(m: &Mount, name: &str) -> std::path::PathBuf {
    let p = m.path(name);
    std::fs::write(&p, b"contents").expect("write");
    common::sh(&format!("touch -a -d 2001-02-03 {}", p.display()));
    settle();
    assert_eq!(atime(&p), 981_158_400 * 1_000_000_000, "touch -a");
    p
}

fn relatime_by_default(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &[]);
    let b = Mount::new(&store, &[]);
    let p = old_atime(&a, "f");
    read(&p);
    settle();
    let first = atime(&p);
    assert!(
        first > 1_700_000_000 * 1_000_000_000,
        "not updated: {first}"
    );
    assert_eq!(atime(&b.path("f")), first, "the other mount sees it");
    // Read since the last change: no more updates.
    read(&p);
    read(&b.path("f"));
    settle();
    assert_eq!(atime(&p), first);
    // A change, then a read: updated again.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&p, b"changed").expect("write");
    read(&p);
    settle();
    assert!(atime(&p) > first, "not updated after a change");
}

fn noatime_never(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &["noatime"]);
    let p = old_atime(&m, "f");
    read(&p);
    settle();
    assert_eq!(atime(&p), 981_158_400 * 1_000_000_000);
}

fn strictatime_every_open(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &["strictatime"]);
    let p = old_atime(&m, "f");
    read(&p);
    settle();
    let first = atime(&p);
    assert!(
        first > 1_700_000_000 * 1_000_000_000,
        "not updated: {first}"
    );
    // The kernel keeps the pages of a file unchanged since its last open,
    // so a plain second read may never reach the mount: read around them.
    common::sh(&format!(
        "dd if={} of=/dev/null iflag=direct bs=4096 status=none",
        p.display()
    ));
    settle();
    assert!(atime(&p) > first, "a second open's read did not update it");
}

common::both!(relatime_by_default, noatime_never, strictatime_every_open);
