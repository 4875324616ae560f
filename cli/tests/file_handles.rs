//! File handles (name_to_handle_at, open_by_handle_at), as the kernel NFS
//! server uses them to export a mount to machines that cannot run FUSE:
//! a handle made through one mount opens the same file through a later
//! mount that has nothing cached (the kernel asks for the file by number:
//! a lookup of "." in it), and a handle of a removed file is ESTALE.
//! open_by_handle_at needs CAP_DAC_READ_SEARCH: these tests run as root,
//! as the FUSE tests do here and in CI.

mod common;

use std::ffi::{OsStr, OsString};

use common::{python, Kind, Mount, Store};

const HANDLES: &str = r#"
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
class FH(ctypes.Structure):
    _fields_ = [("bytes", ctypes.c_uint), ("type", ctypes.c_int), ("h", ctypes.c_ubyte * 128)]
cmd, mnt = sys.argv[1], sys.argv[2]
if cmd == "save":
    out = []
    for name in sys.argv[3:]:
        h, mid = FH(), ctypes.c_int()
        h.bytes = 128
        p = os.path.join(mnt, name).encode()
        if libc.name_to_handle_at(AT_FDCWD, p, ctypes.byref(h), ctypes.byref(mid), 0) != 0:
            sys.exit(f"name_to_handle_at {name}: {os.strerror(ctypes.get_errno())}")
        out.append(f"{name}={bytes(h).hex()}")
    print(" ".join(out))
else:
    for pair in sys.argv[3:]:
        name, raw = pair.split("=")
        h = FH.from_buffer_copy(bytes.fromhex(raw))
        mfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
        fd = libc.open_by_handle_at(mfd, ctypes.byref(h), os.O_RDONLY)
        e = ctypes.get_errno()
        os.close(mfd)
        if fd < 0:
            print(name, errno.errorcode[e])
        elif os.path.isdir(f"/proc/self/fd/{fd}"):
            print(name, "dir", ",".join(sorted(os.listdir(fd))))
            os.close(fd)
        else:
            print(name, "file", os.read(fd, 100).decode().strip())
            os.close(fd)
"#;

fn handles_outlive_the_mount(kind: Kind) {
    assert!(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0")),
        "open_by_handle_at needs root (CAP_DAC_READ_SEARCH)"
    );
    let store = Store::new(kind);
    let saved = {
        let m = Mount::new(&store, &[]);
        std::fs::create_dir(m.path("d")).expect("mkdir");
        std::fs::write(m.path("d/f"), "hello\n").expect("write");
        std::fs::write(m.path("gone"), "bye\n").expect("write");
        let saved = python(
            HANDLES,
            &[
                OsStr::new("save"),
                m.path("").as_os_str(),
                OsStr::new("d"),
                OsStr::new("d/f"),
                OsStr::new("gone"),
            ],
        );
        std::fs::remove_file(m.path("gone")).expect("rm");
        saved
    };
    // A fresh mount: the kernel has none of these cached.
    let m = Mount::new(&store, &[]);
    let mut args: Vec<OsString> = vec!["open".into(), m.path("").into()];
    args.extend(saved.split_whitespace().map(OsString::from));
    let refs: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    let got = python(HANDLES, &refs);
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        vec!["d dir f", "d/f file hello", "gone ESTALE"],
        "what the handles open through a later mount"
    );
}

common::both!(handles_outlive_the_mount);
