//! The largest file, through a real mount: a write past it fails with
//! EFBIG when it is made, and costs nothing else written in the handle.

mod common;

use common::{Kind, Mount, Store};

/// Writes `A` at 5, then 1 byte at 2^44 and at 2^63-2 (past the largest
/// file, 16 TiB), then `ZY` at 2^44-1 (across it); prints what each call
/// answered, then what fsync and close did.
const WRITER: &str = r#"
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
def call(name, f):
    try:
        print(name, f(), flush=True)
    except OSError as e:
        print(name, os.strerror(e.errno), flush=True)
call("A", lambda: os.pwrite(fd, b"A", 5))
call("2^44", lambda: os.pwrite(fd, b"Z", 1 << 44))
call("2^63-2", lambda: os.pwrite(fd, b"Z", (1 << 63) - 2))
call("ZY", lambda: os.pwrite(fd, b"ZY", (1 << 44) - 1))
call("fsync", lambda: os.fsync(fd))
call("close", lambda: os.close(fd))
"#;

const READER: &str = r#"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(os.fstat(fd).st_size, os.pread(fd, 6, 0), os.pread(fd, 2, (1 << 44) - 1))
"#;

fn python(script: &str, path: &std::path::Path) -> String {
    common::python(script, &[path.as_os_str()])
}

/// pwrite at 2^44 and at 2^63-2 succeeded and only fsync said EFBIG,
/// losing a valid byte written in the same handle.
fn efbig_when_written(kind: Kind) {
    let store = Store::new(kind);
    {
        let m = Mount::new(&store, &[]);
        let said = python(WRITER, &m.path("f"));
        assert_eq!(
            said, "A 1\n2^44 File too large\n2^63-2 File too large\nZY 1\nfsync None\nclose None\n",
            "a write across the limit stores what fits, as Linux does"
        );
    }
    let m = Mount::new(&store, &[]);
    assert_eq!(
        python(READER, &m.path("f")),
        "17592186044416 b'\\x00\\x00\\x00\\x00\\x00A' b'Z'\n"
    );
}

/// With the kernel's writeback cache the kernel takes writes up to 2^63
/// and sends them later, in batches of pages that may cross the limit:
/// EFBIG can only come at fsync, but the bytes below the limit are kept.
fn efbig_with_writeback_cache(kind: Kind) {
    let store = Store::new(kind);
    {
        let m = Mount::new(&store, &["writeback_cache"]);
        let said = python(WRITER, &m.path("f"));
        assert!(said.contains("fsync File too large"), "{said}");
    }
    let m = Mount::new(&store, &[]);
    assert_eq!(
        python(READER, &m.path("f")),
        "17592186044416 b'\\x00\\x00\\x00\\x00\\x00A' b'Z'\n"
    );
}

common::both!(efbig_when_written, efbig_with_writeback_cache);
