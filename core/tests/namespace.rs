//! Namespace behaviour on both stores: POSIX answers, and the exact number
//! of store requests each operation costs (the round-trip budget).

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::error::Errno;
use dynamofs_core::fs::{Fs, FsOptions, RenameFlags, SetAttr, TimeSet, XattrFlags};
use dynamofs_core::inode::FileType;
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::{Counters, RequestKind, Store};

const ROOT: u64 = ROOT_INO;

async fn fresh(backend: Arc<dyn Store>, opts: FsOptions) -> (Fs, Arc<Counters>) {
    common::counted_fs(backend, opts).await
}

fn user(uid: u32) -> Caller {
    Caller {
        uid,
        gid: uid,
        groups: vec![],
        pid: 1,
        umask: 0o022,
    }
}

fn errno<T: std::fmt::Debug>(r: Result<T, dynamofs_core::error::FsError>) -> Errno {
    match r {
        Err(e) => e.errno(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

async fn names_of(fs: &Fs, dir: u64) -> Vec<String> {
    let c = Caller::root();
    let mut h = fs.opendir(&c, dir).await.expect("opendir");
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        let page = fs.readdir(&mut h, off, 7).await.expect("readdir");
        if page.is_empty() {
            break;
        }
        for (next, e) in page {
            off = next;
            out.push(String::from_utf8_lossy(&e.name).into_owned());
        }
    }
    out
}

async fn basic_tree(backend: Arc<dyn Store>) {
    let (fs, _) = fresh(backend, FsOptions::default()).await;
    let c = user(1000);
    let d = fs.mkdir(&c, ROOT, b"d", 0o755).await.expect("mkdir");
    assert_eq!(d.kind, FileType::Directory);
    assert_eq!(d.nlink, 2);
    assert_eq!(d.perm, 0o755);
    let (f, created) = fs
        .create(&c, d.ino, b"f", 0o666, true)
        .await
        .expect("create");
    assert!(created);
    assert_eq!(f.perm, 0o644, "umask applies");
    assert_eq!((f.uid, f.gid, f.nlink, f.size), (1000, 1000, 1, 0));
    assert_eq!(
        errno(fs.create(&c, d.ino, b"f", 0o644, true).await),
        Errno::EEXIST
    );
    let (again, created) = fs
        .create(&c, d.ino, b"f", 0o644, false)
        .await
        .expect("open existing");
    assert!(!created);
    assert_eq!(again.ino, f.ino);
    assert_eq!(fs.lookup(&c, d.ino, b"f").await.expect("lookup").ino, f.ino);
    assert_eq!(errno(fs.lookup(&c, d.ino, b"nope").await), Errno::ENOENT);
    assert_eq!(errno(fs.lookup(&c, f.ino, b"x").await), Errno::ENOTDIR);
    assert_eq!(
        errno(fs.mkdir(&c, ROOT, &[b'n'; 256], 0o755).await),
        Errno::ENAMETOOLONG
    );
    assert_eq!(
        errno(fs.mkdir(&c, ROOT, b"a/b", 0o755).await),
        Errno::EINVAL
    );
    // Parent: link count and times follow subdirectories and entries.
    let root = fs.getattr(ROOT).await.expect("getattr");
    assert_eq!(root.nlink, 3);
    let sub = fs.mkdir(&c, d.ino, b"sub", 0o700).await.expect("mkdir");
    let dattr = fs.getattr(d.ino).await.expect("getattr");
    assert_eq!(dattr.nlink, 3);
    assert!(dattr.mtime >= sub.mtime && dattr.ctime >= sub.ctime);
    // Symlinks and devices.
    let l = fs
        .symlink(&c, d.ino, b"l", b"../target")
        .await
        .expect("symlink");
    assert_eq!(l.kind, FileType::Symlink);
    assert_eq!(l.perm, 0o777, "the umask does not apply to symlinks");
    assert_eq!(l.size, 9);
    assert_eq!(fs.readlink(l.ino).await.expect("readlink"), b"../target");
    assert_eq!(errno(fs.readlink(f.ino).await), Errno::EINVAL);
    let p = fs
        .mknod(&c, d.ino, b"p", FileType::Fifo.bits() | 0o644, 0)
        .await
        .expect("fifo");
    assert_eq!(p.kind, FileType::Fifo);
    assert_eq!(
        errno(
            fs.mknod(&c, d.ino, b"dev", FileType::CharDevice.bits() | 0o644, 5)
                .await
        ),
        Errno::EPERM
    );
    let dev = fs
        .mknod(
            &Caller::root(),
            d.ino,
            b"dev",
            FileType::CharDevice.bits() | 0o644,
            0x0105,
        )
        .await
        .expect("device as root");
    assert_eq!(dev.rdev, 0x0105);
    assert_eq!(
        names_of(&fs, d.ino).await,
        [".", "..", "dev", "f", "l", "p", "sub"]
    );
    // Hard links.
    let linked = fs.link(&c, f.ino, ROOT, b"hard").await.expect("link");
    assert_eq!(linked.nlink, 2);
    assert_eq!(
        errno(fs.link(&c, d.ino, ROOT, b"dirlink").await),
        Errno::EPERM
    );
    fs.unlink(&c, d.ino, b"f").await.expect("unlink");
    assert_eq!(fs.getattr(f.ino).await.expect("still linked").nlink, 1);
    // Removal rules.
    assert_eq!(errno(fs.rmdir(&c, ROOT, b"d").await), Errno::ENOTEMPTY);
    assert_eq!(errno(fs.unlink(&c, ROOT, b"d").await), Errno::EISDIR);
    assert_eq!(errno(fs.rmdir(&c, ROOT, b"hard").await), Errno::ENOTDIR);
    fs.rmdir(&c, d.ino, b"sub").await.expect("rmdir");
    assert_eq!(fs.getattr(d.ino).await.expect("getattr").nlink, 2);
    for n in [&b"dev"[..], b"l", b"p"] {
        fs.unlink(&Caller::root(), d.ino, n).await.expect("unlink");
    }
    fs.rmdir(&c, ROOT, b"d").await.expect("rmdir");
    fs.unlink(&c, ROOT, b"hard")
        .await
        .expect("unlink last link");
    fs.settle().await;
    assert_eq!(
        errno(fs.getattr(f.ino).await),
        Errno::ESTALE,
        "collected: a stale handle"
    );
    assert!(fs.orphans().await.expect("orphans").is_empty());
    assert_eq!(names_of(&fs, ROOT).await, [".", ".."]);
    assert_eq!(fs.getattr(ROOT).await.expect("getattr").nlink, 2);
}

async fn renames(backend: Arc<dyn Store>) {
    let (fs, _) = fresh(backend, FsOptions::default()).await;
    let c = user(1000);
    let a = fs.mkdir(&c, ROOT, b"a", 0o755).await.expect("mkdir");
    let b = fs.mkdir(&c, a.ino, b"b", 0o755).await.expect("mkdir");
    let (f, _) = fs
        .create(&c, ROOT, b"f", 0o644, true)
        .await
        .expect("create");
    let (g, _) = fs
        .create(&c, ROOT, b"g", 0o644, true)
        .await
        .expect("create");
    // Into its own subtree.
    assert_eq!(
        errno(
            fs.rename(&c, ROOT, b"a", b.ino, b"x", RenameFlags::default())
                .await
        ),
        Errno::EINVAL
    );
    assert_eq!(
        errno(
            fs.rename(&c, ROOT, b"a", a.ino, b"x", RenameFlags::default())
                .await
        ),
        Errno::EINVAL
    );
    // Types.
    assert_eq!(
        errno(
            fs.rename(&c, ROOT, b"f", a.ino, b"b", RenameFlags::default())
                .await
        ),
        Errno::EISDIR
    );
    assert_eq!(
        errno(
            fs.rename(&c, a.ino, b"b", ROOT, b"f", RenameFlags::default())
                .await
        ),
        Errno::ENOTDIR
    );
    let noreplace = RenameFlags {
        noreplace: true,
        exchange: false,
    };
    assert_eq!(
        errno(fs.rename(&c, ROOT, b"f", ROOT, b"g", noreplace).await),
        Errno::EEXIST
    );
    // Replace a file: the old target goes.
    fs.rename(&c, ROOT, b"f", ROOT, b"g", RenameFlags::default())
        .await
        .expect("rename");
    assert_eq!(fs.lookup(&c, ROOT, b"g").await.expect("lookup").ino, f.ino);
    fs.settle().await;
    assert_eq!(errno(fs.getattr(g.ino).await), Errno::ESTALE);
    // Move a directory up and across.
    fs.rename(&c, a.ino, b"b", ROOT, b"b2", RenameFlags::default())
        .await
        .expect("move dir up");
    assert_eq!(fs.getattr(a.ino).await.expect("a").nlink, 2);
    assert_eq!(fs.getattr(ROOT).await.expect("root").nlink, 4);
    let mut h = fs.opendir(&c, b.ino).await.expect("opendir");
    let dots = fs.readdir(&mut h, 0, 2).await.expect("readdir");
    assert_eq!(dots[1].1.ino, ROOT, ".. follows the move");
    // Over an empty directory; a non-empty one refuses.
    fs.mkdir(&c, a.ino, b"full", 0o755).await.expect("mkdir");
    fs.mkdir(&c, a.ino, b"empty", 0o755).await.expect("mkdir");
    fs.create(&c, b.ino, b"x", 0o644, true)
        .await
        .expect("create");
    assert_eq!(
        errno(
            fs.rename(&c, a.ino, b"empty", ROOT, b"b2", RenameFlags::default())
                .await
        ),
        Errno::ENOTEMPTY
    );
    fs.rename(&c, a.ino, b"empty", a.ino, b"x", RenameFlags::default())
        .await
        .expect("over an empty directory");
    // Exchange a file and a directory in different parents.
    let ex = RenameFlags {
        noreplace: false,
        exchange: true,
    };
    fs.rename(&c, ROOT, b"g", a.ino, b"x", ex)
        .await
        .expect("exchange");
    assert_eq!(
        fs.lookup(&c, a.ino, b"x").await.expect("lookup").kind,
        FileType::Regular
    );
    assert_eq!(
        fs.lookup(&c, ROOT, b"g").await.expect("lookup").kind,
        FileType::Directory
    );
    assert_eq!(
        errno(fs.rename(&c, ROOT, b"nope", ROOT, b"g", ex).await),
        Errno::ENOENT
    );
    assert_eq!(
        errno(fs.rename(&c, ROOT, b"g", ROOT, b"nope", ex).await),
        Errno::ENOENT
    );
    // Two names of one inode: nothing happens.
    fs.link(&c, f.ino, ROOT, b"f2").await.expect("link");
    fs.rename(&c, ROOT, b"g", ROOT, b"g", RenameFlags::default())
        .await
        .expect("same name");
}

async fn attributes_and_permissions(backend: Arc<dyn Store>) {
    let (fs, _) = fresh(backend, FsOptions::default()).await;
    let alice = user(1000);
    let bob = user(2000);
    let (f, _) = fs
        .create(&alice, ROOT, b"f", 0o644, true)
        .await
        .expect("create");
    let a = fs
        .setattr(
            &alice,
            f.ino,
            &SetAttr {
                mode: Some(0o4755),
                ..Default::default()
            },
        )
        .await
        .expect("chmod");
    assert_eq!(a.perm, 0o4755);
    assert!(a.ctime > f.ctime);
    assert_eq!(
        errno(
            fs.setattr(
                &bob,
                f.ino,
                &SetAttr {
                    mode: Some(0o777),
                    ..Default::default()
                }
            )
            .await
        ),
        Errno::EPERM
    );
    assert_eq!(
        errno(
            fs.setattr(
                &alice,
                f.ino,
                &SetAttr {
                    uid: Some(2000),
                    ..Default::default()
                }
            )
            .await
        ),
        Errno::EPERM
    );
    let a = fs
        .setattr(
            &Caller::root(),
            f.ino,
            &SetAttr {
                uid: Some(2000),
                gid: Some(50),
                ..Default::default()
            },
        )
        .await
        .expect("chown");
    assert_eq!((a.uid, a.gid), (2000, 50));
    assert_eq!(a.perm, 0o755, "chown clears setuid");
    let t = 1_000_000_000_123;
    let a = fs
        .setattr(
            &bob,
            f.ino,
            &SetAttr {
                atime: Some(TimeSet::At(t)),
                mtime: Some(TimeSet::At(t + 1)),
                ..Default::default()
            },
        )
        .await
        .expect("utimens");
    assert_eq!((a.atime, a.mtime), (t, t + 1));
    assert_eq!(
        errno(
            fs.setattr(
                &alice,
                f.ino,
                &SetAttr {
                    mtime: Some(TimeSet::At(5)),
                    ..Default::default()
                }
            )
            .await
        ),
        Errno::EPERM
    );
    assert_eq!(
        errno(
            fs.setattr(
                &alice,
                f.ino,
                &SetAttr {
                    mtime: Some(TimeSet::Now),
                    ..Default::default()
                }
            )
            .await
        ),
        Errno::EACCES
    );
    assert_eq!(fs.getattr(f.ino).await.expect("getattr"), a);
    // A directory's mtime set to the past sticks (cp -p, tar), until an
    // entry changes again.
    let dd = fs
        .mkdir(&alice, ROOT, b"dated", 0o755)
        .await
        .expect("mkdir");
    fs.create(&alice, dd.ino, b"x", 0o644, true)
        .await
        .expect("create");
    let past = 946_684_800_000_000_000;
    let set = SetAttr {
        mtime: Some(TimeSet::At(past)),
        ..Default::default()
    };
    fs.setattr(&alice, dd.ino, &set).await.expect("utimens");
    assert_eq!(fs.getattr(dd.ino).await.expect("getattr").mtime, past);
    fs.create(&alice, dd.ino, b"y", 0o644, true)
        .await
        .expect("create");
    assert!(fs.getattr(dd.ino).await.expect("getattr").mtime > past);
    // Directory permissions and the sticky bit.
    let d = fs
        .mkdir(&alice, ROOT, b"private", 0o700)
        .await
        .expect("mkdir");
    assert_eq!(
        errno(fs.create(&bob, d.ino, b"x", 0o644, true).await),
        Errno::EACCES
    );
    assert_eq!(errno(fs.lookup(&bob, d.ino, b"x").await), Errno::EACCES);
    let root0 = Caller {
        umask: 0,
        ..Caller::root()
    };
    let t = fs.mkdir(&root0, ROOT, b"tmp", 0o1777).await.expect("mkdir");
    fs.create(&alice, t.ino, b"mine", 0o644, true)
        .await
        .expect("create");
    assert_eq!(errno(fs.unlink(&bob, t.ino, b"mine").await), Errno::EPERM);
    assert_eq!(
        errno(
            fs.rename(
                &bob,
                t.ino,
                b"mine",
                t.ino,
                b"theirs",
                RenameFlags::default()
            )
            .await
        ),
        Errno::EPERM
    );
    fs.unlink(&alice, t.ino, b"mine").await.expect("owner may");
    // setgid directories pass their group on, and the bit to subdirectories.
    let g = fs
        .mkdir(&root0, ROOT, b"shared", 0o777)
        .await
        .expect("mkdir");
    fs.setattr(
        &Caller::root(),
        g.ino,
        &SetAttr {
            mode: Some(0o2777),
            gid: Some(77),
            ..Default::default()
        },
    )
    .await
    .expect("chmod g+s");
    let (inner, _) = fs
        .create(&alice, g.ino, b"file", 0o644, true)
        .await
        .expect("create");
    assert_eq!(inner.gid, 77);
    let sub = fs.mkdir(&alice, g.ino, b"sub", 0o755).await.expect("mkdir");
    assert_eq!((sub.gid, sub.perm & 0o2000), (77, 0o2000));
    // access()
    fs.access(&alice, inner.ino, 4).await.expect("read");
    assert_eq!(errno(fs.access(&bob, inner.ino, 2).await), Errno::EACCES);
    // Extended attributes.
    fs.setxattr(&alice, inner.ino, b"user.k", b"v", XattrFlags::default())
        .await
        .expect("setxattr");
    assert_eq!(
        fs.getxattr(&alice, inner.ino, b"user.k")
            .await
            .expect("get"),
        b"v"
    );
    assert_eq!(
        errno(
            fs.setxattr(
                &alice,
                inner.ino,
                b"user.k",
                b"w",
                XattrFlags {
                    create: true,
                    replace: false
                }
            )
            .await
        ),
        Errno::EEXIST
    );
    assert_eq!(
        errno(
            fs.setxattr(
                &alice,
                inner.ino,
                b"user.z",
                b"w",
                XattrFlags {
                    create: false,
                    replace: true
                }
            )
            .await
        ),
        Errno::ENODATA
    );
    assert_eq!(
        errno(
            fs.setxattr(
                &alice,
                inner.ino,
                b"user.big",
                &vec![0; 65537],
                XattrFlags::default()
            )
            .await
        ),
        Errno::E2BIG
    );
    assert_eq!(
        errno(
            fs.setxattr(&bob, inner.ino, b"user.k", b"x", XattrFlags::default())
                .await
        ),
        Errno::EACCES
    );
    assert_eq!(
        fs.listxattr(inner.ino).await.expect("list"),
        vec![b"user.k".to_vec()]
    );
    fs.removexattr(&alice, inner.ino, b"user.k")
        .await
        .expect("remove");
    assert_eq!(
        errno(fs.getxattr(&alice, inner.ino, b"user.k").await),
        Errno::ENODATA
    );
}

/// Store requests per operation on a cold client cache, through a
/// kernel-like caller (permissions already checked by the kernel, the
/// parent just looked up, as the kernel always does before a change).
async fn round_trips(backend: Arc<dyn Store>) {
    let opts = FsOptions {
        check_permissions: false,
        ..Default::default()
    };
    let (fs, n) = fresh(backend, opts).await;
    let c = Caller {
        umask: 0,
        ..Caller::root()
    };
    let count = |n: &Counters| n.total_requests();
    macro_rules! costs {
        ($want:expr, $what:literal, $op:expr) => {{
            // Background collection from earlier steps must not count here.
            fs.settle().await;
            n.reset();
            let r = $op;
            assert_eq!(
                count(&n),
                $want,
                "{} took {:?}",
                $what,
                n.snapshot()
                    .iter()
                    .filter(|(_, t)| t.requests > 0)
                    .collect::<Vec<_>>()
            );
            r
        }};
    }
    let d = fs.mkdir(&c, ROOT, b"d", 0o755).await.expect("mkdir");
    let (f, _) = fs
        .create(&c, d.ino, b"f", 0o644, true)
        .await
        .expect("create");
    fs.drop_caches();
    costs!(
        2,
        "lookup (entry + node)",
        fs.lookup(&c, ROOT, b"d").await.expect("lookup")
    );
    fs.drop_caches();
    costs!(1, "getattr", fs.getattr(f.ino).await.expect("getattr"));
    costs!(
        1,
        "chmod",
        fs.setattr(
            &c,
            f.ino,
            &SetAttr {
                mode: Some(0o600),
                ..Default::default()
            }
        )
        .await
        .expect("chmod")
    );
    costs!(
        1,
        "utimens",
        fs.setattr(
            &c,
            f.ino,
            &SetAttr {
                mtime: Some(TimeSet::Now),
                ..Default::default()
            }
        )
        .await
        .expect("utimens")
    );
    fs.drop_caches();
    fs.lookup(&c, ROOT, b"d")
        .await
        .expect("kernel looks the parent up");
    costs!(
        1,
        "create",
        fs.create(&c, d.ino, b"g", 0o644, true)
            .await
            .expect("create")
    );
    costs!(
        1,
        "mkdir",
        fs.mkdir(&c, d.ino, b"sub", 0o755).await.expect("mkdir")
    );
    costs!(
        1,
        "symlink",
        fs.symlink(&c, d.ino, b"s", b"f").await.expect("symlink")
    );
    costs!(
        1,
        "mknod",
        fs.mknod(&c, d.ino, b"p", FileType::Fifo.bits() | 0o644, 0)
            .await
            .expect("mknod")
    );
    fs.getattr(f.ino).await.expect("kernel looks the file up");
    costs!(
        1,
        "link",
        fs.link(&c, f.ino, d.ino, b"f2").await.expect("link")
    );
    fs.drop_caches();
    fs.lookup(&c, ROOT, b"d").await.expect("lookup");
    fs.lookup(&c, d.ino, b"f2").await.expect("lookup");
    costs!(
        1,
        "unlink",
        fs.unlink(&c, d.ino, b"f2").await.expect("unlink")
    );
    fs.lookup(&c, d.ino, b"g").await.expect("lookup");
    let _ = fs.lookup(&c, d.ino, b"g2").await; // the kernel's negative lookup
    costs!(
        1,
        "rename within a directory",
        fs.rename(&c, d.ino, b"g", d.ino, b"g2", RenameFlags::default())
            .await
            .expect("rename")
    );
    fs.lookup(&c, d.ino, b"g2").await.expect("lookup");
    fs.lookup(&c, ROOT, b"d").await.expect("lookup");
    let _ = fs.lookup(&c, ROOT, b"g3").await;
    costs!(
        1,
        "rename of a file to another directory",
        fs.rename(&c, d.ino, b"g2", ROOT, b"g3", RenameFlags::default())
            .await
            .expect("rename")
    );
    fs.lookup(&c, d.ino, b"sub").await.expect("lookup");
    // rmdir itself is one transaction; it hands the removed inode to the
    // background collector (one Query of its partition, one BatchWriteItem,
    // one DeleteItem of the orphan record), which may finish before the
    // count is read: wait for it and count it, so the total is exact.
    costs!(1 + 3, "rmdir, then its background collection", {
        fs.rmdir(&c, d.ino, b"sub").await.expect("rmdir");
        fs.settle().await;
    });
    // A directory at depth 3 moved to a new parent at depth 3: one
    // transaction plus one read per ancestor of the new parent not cached.
    let x = fs.mkdir(&c, d.ino, b"x", 0o755).await.expect("mkdir");
    let y = fs.mkdir(&c, x.ino, b"y", 0o755).await.expect("mkdir");
    let z = fs.mkdir(&c, y.ino, b"z", 0o755).await.expect("mkdir");
    let other = fs.mkdir(&c, x.ino, b"other", 0o755).await.expect("mkdir");
    fs.drop_caches();
    fs.lookup(&c, x.ino, b"other").await.expect("lookup");
    fs.lookup(&c, y.ino, b"z").await.expect("lookup");
    fs.lookup(&c, x.ino, b"y").await.expect("lookup (caches y)");
    let _ = fs.lookup(&c, other.ino, b"z").await;
    // The kernel holds `other` and y; ancestors x, d and the root are read.
    costs!(
        1 + 3,
        "rename of a directory to a new parent at depth 3",
        fs.rename(&c, y.ino, b"z", other.ino, b"z", RenameFlags::default())
            .await
            .expect("rename")
    );
    let _ = z;
    // Listing N entries with attributes: pages + batches, not N.
    for i in 0..150 {
        fs.create(&c, d.ino, format!("file{i:03}").as_bytes(), 0o644, true)
            .await
            .expect("create");
    }
    fs.drop_caches();
    fs.lookup(&c, ROOT, b"d").await.expect("lookup");
    let mut h = fs.opendir(&c, d.ino).await.expect("opendir");
    n.reset();
    let mut off = 0;
    let mut seen = 0;
    loop {
        let page = fs.readdirplus(&mut h, off, 200).await.expect("readdirplus");
        if page.is_empty() {
            break;
        }
        seen += page.len();
        off = page.last().map(|(o, _, _, _)| *o).unwrap_or(off);
    }
    assert_eq!(seen, 2 + 150 + 4, ". .. f p s x and the new files");
    let reqs = n.total_requests();
    assert!(
        reqs <= 1 + 4,
        "ls -l of 155 entries took {reqs} requests: {:?}",
        n.snapshot()
    );
    assert_eq!(n.get(RequestKind::Query).requests, 1);
}

/// Two clients move two directories into each other at the same moment:
/// exactly one move wins, the other sees the cycle it would make (EINVAL).
async fn racing_renames_make_no_cycle(backend: Arc<dyn Store>) {
    let (one, _) = fresh(Arc::clone(&backend), FsOptions::default()).await;
    let two = Fs::open(Arc::clone(one.store()), FsOptions::default())
        .await
        .expect("second client");
    let c = Caller::root();
    for round in 0..8 {
        let base = one
            .mkdir(&c, ROOT, format!("r{round}").as_bytes(), 0o755)
            .await
            .expect("mkdir");
        let a = one.mkdir(&c, base.ino, b"a", 0o755).await.expect("mkdir");
        let b = one.mkdir(&c, base.ino, b"b", 0o755).await.expect("mkdir");
        // Both clients know the whole tree, as after a lookup.
        for fs in [&one, &two] {
            fs.lookup(&c, base.ino, b"a").await.expect("lookup");
            fs.lookup(&c, base.ino, b"b").await.expect("lookup");
        }
        let (r1, r2) = tokio::join!(
            one.rename(&c, base.ino, b"a", b.ino, b"a", RenameFlags::default()),
            two.rename(&c, base.ino, b"b", a.ino, b"b", RenameFlags::default()),
        );
        let wins = [&r1, &r2].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {r1:?} {r2:?}");
        let loser = if r1.is_ok() { r2 } else { r1 };
        assert_eq!(errno(loser), Errno::EINVAL);
        // The winner's directory hangs under the other, which is under base.
        let left = names_of(&one, base.ino).await;
        assert_eq!(left.len(), 3, "{left:?}");
    }
}

/// Many creates in one directory from two clients at once: all succeed and
/// the directory's counters add up.
async fn concurrent_creates_in_one_directory(backend: Arc<dyn Store>) {
    let (one, _) = fresh(Arc::clone(&backend), FsOptions::default()).await;
    let two = Fs::open(Arc::clone(one.store()), FsOptions::default())
        .await
        .expect("second client");
    let c = Caller::root();
    let d = one.mkdir(&c, ROOT, b"d", 0o755).await.expect("mkdir");
    let (a, b) = tokio::join!(
        async {
            for i in 0..20 {
                one.create(&c, d.ino, format!("one{i}").as_bytes(), 0o644, true)
                    .await
                    .expect("create");
            }
        },
        async {
            for i in 0..20 {
                two.mkdir(&c, d.ino, format!("two{i}").as_bytes(), 0o755)
                    .await
                    .expect("mkdir");
            }
        }
    );
    let _ = (a, b);
    let attr = two.getattr(d.ino).await.expect("getattr");
    assert_eq!(attr.nlink, 2 + 20);
    assert_eq!(attr.size, 40, "entries counted");
    assert_eq!(names_of(&one, d.ino).await.len(), 2 + 40);
}

both_stores!(
    basic_tree,
    renames,
    attributes_and_permissions,
    round_trips,
    concurrent_creates_in_one_directory,
    racing_renames_make_no_cycle,
);
