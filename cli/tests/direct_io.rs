//! Direct I/O and buffered I/O agree, through real mounts, on SQLite and
//! the DynamoDB test server, with and without the kernel's writeback
//! cache: after an O_DIRECT write (plain, and asynchronous through
//! io_submit) a buffered read of the same bytes, through a descriptor
//! whose pages the kernel had cached and through a new one, returns the
//! new data, as does another mount once the writer closed the file.

mod common;

use common::{Kind, Mount, Store};

/// argv: path, "aio" or "sync", the other mount's path of the file.
/// Prints what each buffered read saw.
const SCRIPT: &str = r#"
import ctypes, mmap, os, platform, struct, sys
path, how, other = sys.argv[1], sys.argv[2], sys.argv[3]
BS, OFF = 4096, 8192
fd1 = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.pwrite(fd1, b"a" * 65536, 0)
os.fsync(fd1)
assert os.pread(fd1, 65536, 0) == b"a" * 65536   # the kernel caches 'a'
fd2 = os.open(path, os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, BS)                          # page-aligned, as O_DIRECT needs
buf.write(b"b" * BS)
if how == "sync":
    assert os.pwritev(fd2, [buf], OFF) == BS
else:
    assert platform.machine() == "x86_64", "io_submit numbers below are x86_64's"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ctx = ctypes.c_ulong(0)
    assert libc.syscall(206, 8, ctypes.byref(ctx)) == 0, "io_setup"
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    # struct iocb: data, key, rw_flags, opcode (1: PWRITE), prio, fd, buf, nbytes, offset, reserved2, flags, resfd
    iocb = ctypes.create_string_buffer(struct.pack("<QIIHhIQQqQII", 0, 0, 0, 1, 0, fd2, addr, BS, OFF, 0, 0, 0))
    cbs = (ctypes.c_void_p * 1)(ctypes.addressof(iocb))
    assert libc.syscall(209, ctx, 1, cbs) == 1, "io_submit"
    ev = ctypes.create_string_buffer(32)
    assert libc.syscall(208, ctx, 1, 1, ev, None) == 1, "io_getevents"
    res = struct.unpack("<QQqq", ev.raw)[2]
    assert res == BS, "aio write returned %d" % res
    libc.syscall(207, ctx)
same = os.pread(fd1, 16, OFF)
fresh = os.open(path, os.O_RDONLY)
new = os.pread(fresh, 16, OFF)
os.close(fd2)
os.close(fresh)
os.close(fd1)
with open(other, "rb") as f:
    f.seek(OFF)
    there = f.read(16)
print(same.decode(), new.decode(), there.decode())
"#;

fn agree(kind: Kind, opts: &[&str]) {
    let store = Store::new(kind);
    let a = Mount::new(&store, opts);
    let b = Mount::new(&store, &[]);
    for how in ["sync", "aio"] {
        let name = format!("f-{how}");
        let out = common::python(
            SCRIPT,
            &[
                a.path(&name).as_os_str(),
                how.as_ref(),
                b.path(&name).as_os_str(),
            ],
        );
        let b16 = "b".repeat(16);
        assert_eq!(
            out.trim(),
            format!("{b16} {b16} {b16}"),
            "{how} O_DIRECT write, {opts:?}: cached descriptor, new descriptor, other mount"
        );
    }
}

fn direct_and_buffered_agree(kind: Kind) {
    agree(kind, &[]);
}

fn direct_and_buffered_agree_with_writeback_cache(kind: Kind) {
    agree(kind, &["writeback_cache"]);
}

common::both!(
    direct_and_buffered_agree,
    direct_and_buffered_agree_with_writeback_cache
);
