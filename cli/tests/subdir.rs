//! `-o subdir=/PATH` through real mounts, on SQLite and moto: the mount
//! shows that directory as its root and nothing above it, what it changes
//! is what a whole-tree mount sees, and a wrong subdir is a clear error.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::{Kind, Mount, Store};

fn sorted(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn shows_only_its_directory(kind: Kind) {
    let store = Store::new(kind);
    let all = Mount::new(&store, &["attr_timeout=0", "entry_timeout=0"]);
    fs::create_dir_all(all.path("team/sub")).expect("mkdir");
    fs::write(all.path("team/f"), b"team data").expect("write");
    fs::write(all.path("outside"), b"not theirs").expect("write");

    let team = Mount::new(
        &store,
        &["subdir=/team", "attr_timeout=0", "entry_timeout=0"],
    );
    assert_eq!(sorted(&team.dir), ["f", "sub"]);
    assert_eq!(fs::read(team.path("f")).expect("read"), b"team data");
    // The top is the kernel's root, and `..` inside leads back to it, never
    // to the directory above it in the file system.
    let top = fs::metadata(&team.dir).expect("stat top");
    assert_eq!(top.ino(), 1);
    assert!(top.is_dir());
    assert_eq!(fs::metadata(team.path("sub/..")).expect("stat ..").ino(), 1);
    assert!(fs::metadata(team.path("outside")).is_err());

    // Changes inside are the file system's, seen by the whole-tree mount.
    fs::write(team.path("new"), b"made in the subdir mount").expect("create");
    fs::create_dir(team.path("d")).expect("mkdir");
    fs::rename(team.path("d"), team.path("sub/d")).expect("rename");
    fs::write(team.path("sub/d/g"), b"g").expect("write");
    assert_eq!(
        fs::read(all.path("team/new")).expect("read"),
        b"made in the subdir mount"
    );
    assert_eq!(fs::read(all.path("team/sub/d/g")).expect("read"), b"g");
    // And the other way round.
    fs::write(all.path("team/from_all"), b"x").expect("write");
    assert_eq!(sorted(&team.dir), ["f", "from_all", "new", "sub"]);
    fs::remove_file(team.path("f")).expect("unlink");
    assert!(fs::metadata(all.path("team/f")).is_err());
}

fn a_wrong_subdir_is_a_clear_error(kind: Kind) {
    let store = Store::new(kind);
    {
        let all = Mount::new(&store, &[]);
        fs::write(all.path("file"), b"x").expect("write");
    }
    for (sub, says) in [
        ("/nope", "no such directory"),
        ("/file", "not a directory"),
        ("relative", "absolute path"),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut opts = store.options.clone();
        opts.push(format!("subdir={sub}"));
        let out = common::dynamofs(
            &store,
            &[
                "mount",
                &store.source,
                &tmp.path().display().to_string(),
                "-o",
                &opts.join(","),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "subdir={sub} mounted");
        assert!(err.contains(says), "subdir={sub}: {err}");
        assert!(!Mount::is_mounted_at(tmp.path()));
    }
}

/// Another mount removes the directory a subdir mount shows: like an NFS
/// export that went away, every call there answers ESTALE (never wrong
/// data, never a hang), a directory made again under that name is another
/// inode and stays out of it, and the mount still unmounts cleanly.
fn top_removed_by_another_mount(kind: Kind) {
    let store = Store::new(kind);
    let whole = Mount::new(&store, &[]);
    fs::create_dir_all(whole.path("team/x")).expect("mkdir");
    fs::write(whole.path("team/f"), b"hi").expect("write");
    let sub = Mount::new(&store, &["subdir=/team"]);
    assert_eq!(sorted(&sub.dir), ["f", "x"]);
    fs::remove_dir_all(whole.path("team")).expect("rm -rf");
    // Past the kernel's attribute and entry timeouts (1 s).
    std::thread::sleep(std::time::Duration::from_millis(1200));
    const ESTALE: i32 = 116;
    let e = fs::read_dir(&sub.dir).expect_err("listing a removed top");
    assert_eq!(e.raw_os_error(), Some(ESTALE), "{e}");
    let e = fs::read(sub.path("f")).expect_err("reading under a removed top");
    assert_eq!(e.raw_os_error(), Some(ESTALE), "{e}");
    let e = fs::write(sub.path("new"), b"x").expect_err("creating under a removed top");
    assert_eq!(e.raw_os_error(), Some(ESTALE), "{e}");
    fs::create_dir(whole.path("team")).expect("mkdir again");
    fs::write(whole.path("team/g"), b"other").expect("write");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let e = fs::read_dir(&sub.dir).expect_err("the new directory is another inode");
    assert_eq!(e.raw_os_error(), Some(ESTALE), "{e}");
    assert!(sub.is_mounted());
}

common::both!(
    shows_only_its_directory,
    a_wrong_subdir_is_a_clear_error,
    top_removed_by_another_mount
);
