//! chattr flags in core, on both stores: only root sets them, only the
//! two dynamofs enforces are kept, and every client refuses what they
//! forbid (a second client opened on the same store included).

mod common;

use std::sync::Arc;

use dynamofs_core::caller::Caller;
use dynamofs_core::error::{Errno, FsError};
use dynamofs_core::fs::flags::{APPEND, IMMUTABLE};
use dynamofs_core::fs::{Fs, FsOptions, OpenMode, SetAttr};
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::Store;

fn errno<T: std::fmt::Debug>(r: Result<T, FsError>) -> Errno {
    r.expect_err("expected an error").errno()
}

async fn behaviour(store: Arc<dyn Store>) {
    common::mkfs_open_root(store.as_ref()).await;
    let a = Fs::open(Arc::clone(&store), FsOptions::default())
        .await
        .expect("open a");
    let b = Fs::open(store, FsOptions::default()).await.expect("open b");
    let root = Caller::root();
    let user = Caller {
        uid: 1000,
        gid: 1000,
        ..Caller::root()
    };
    let (f, _) = a
        .create(&user, ROOT_INO, b"f", 0o666, true)
        .await
        .expect("create");
    assert_eq!(
        errno(a.set_flags(&user, f.ino, IMMUTABLE).await),
        Errno::EPERM,
        "the owner is not enough"
    );
    assert_eq!(
        errno(a.set_flags(&root, f.ino, 0x80).await),
        Errno::EOPNOTSUPP,
        "noatime is not kept"
    );
    a.set_flags(&root, f.ino, IMMUTABLE).await.expect("+i");
    assert_eq!(b.flags(f.ino).await.expect("flags"), IMMUTABLE);
    let write = OpenMode {
        write: true,
        ..Default::default()
    };
    assert_eq!(errno(b.open_file(&root, f.ino, write).await), Errno::EPERM);
    assert_eq!(errno(b.unlink(&root, ROOT_INO, b"f").await), Errno::EPERM);
    let chmod = SetAttr {
        mode: Some(0o600),
        ..Default::default()
    };
    assert_eq!(errno(b.setattr(&root, f.ino, &chmod).await), Errno::EPERM);

    a.set_flags(&root, f.ino, APPEND).await.expect("-i +a");
    let append = OpenMode {
        write: true,
        append: true,
        ..Default::default()
    };
    let fh = b.open_file(&root, f.ino, append).await.expect("append");
    b.write(fh, 0, b"line\n").await.expect("write");
    b.release(fh).await.expect("close");
    assert_eq!(errno(b.open_file(&root, f.ino, write).await), Errno::EPERM);
    let cut = SetAttr {
        size: Some(0),
        ..Default::default()
    };
    assert_eq!(errno(b.setattr(&root, f.ino, &cut).await), Errno::EPERM);
    assert_eq!(b.getattr(f.ino).await.expect("stat").size, 5);

    a.set_flags(&root, f.ino, 0).await.expect("-a");
    b.unlink(&root, ROOT_INO, b"f").await.expect("rm");
}

both_stores!(behaviour);
