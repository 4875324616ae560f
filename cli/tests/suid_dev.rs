//! `-o suid,dev` through real mounts (root only), on SQLite and the
//! DynamoDB test server: without them a mount is nosuid,nodev and a device
//! node in it cannot be opened; with them the kernel lets device nodes
//! work and setuid bits count, and a remount keeps them unless told
//! otherwise. Asked by another user, they are refused before mounting.

mod common;

use std::os::unix::fs::MetadataExt;

use common::{ok, sh, Kind, Mount, Store};

/// The mount's per-mount flags as /proc/self/mountinfo lists them.
fn flags(m: &Mount) -> String {
    let d = m.dir.display().to_string();
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some(d.as_str()))
        .and_then(|l| l.split(' ').nth(5))
        .unwrap_or_else(|| panic!("{d} is not in mountinfo"))
        .to_string()
}

fn root_only() {
    let uid = std::fs::metadata("/proc/self").expect("proc").uid();
    assert_eq!(
        uid, 0,
        "this test mounts with suid and dev, which need root"
    );
}

fn devices_work_only_when_asked(kind: Kind) {
    root_only();
    let store = Store::new(kind);
    let plain = Mount::new(&store, &[]);
    let f = flags(&plain);
    assert!(f.contains("nosuid") && f.contains("nodev"), "{f}");
    // /dev/zero's numbers: a node of it reads zeros only where devices work.
    sh(&format!("mknod {} c 1 5", plain.path("zero").display()));
    let e = std::fs::read(plain.path("zero")).expect_err("nodev");
    assert_eq!(e.raw_os_error(), Some(13), "EACCES: {e}");
    drop(plain);

    let m = Mount::new(&store, &["suid", "dev"]);
    let f = flags(&m);
    assert!(!f.contains("nosuid") && !f.contains("nodev"), "{f}");
    let zeros = sh(&format!(
        "head -c 16 {} | od -An -tx1 | tr -d ' \\n'",
        m.path("zero").display()
    ));
    assert_eq!(zeros, "0".repeat(32));
    // A remount to read-only keeps them; asked, it drops them.
    let d = m.dir.to_str().expect("path");
    ok(&common::dynamofs(
        &store,
        &["mount", &store.source, d, "-o", "remount,ro"],
    ));
    let f = flags(&m);
    assert!(
        f.starts_with("ro") && !f.contains("nosuid") && !f.contains("nodev"),
        "{f}"
    );
    ok(&common::dynamofs(
        &store,
        &["mount", &store.source, d, "-o", "remount,rw,nosuid,nodev"],
    ));
    let f = flags(&m);
    assert!(
        f.starts_with("rw") && f.contains("nosuid") && f.contains("nodev"),
        "{f}"
    );
}

fn refused_for_other_users(kind: Kind) {
    root_only();
    let store = Store::new(kind);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    let mut args = store.global();
    args.extend([
        "mount".to_string(),
        store.source.clone(),
        dir.path().display().to_string(),
        "-o".to_string(),
        "suid".to_string(),
    ]);
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(common::bin())
        .args(&args)
        .output()
        .expect("setpriv");
    assert!(!out.status.success(), "mounted suid as nobody");
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(why.contains("need root"), "{why}");
    assert!(!Mount::is_mounted_at(dir.path()));
}

common::both!(devices_work_only_when_asked, refused_for_other_users);
