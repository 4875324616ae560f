//! POSIX ACLs through real mounts, with the real `setfacl` and `getfacl`:
//! an ACL set through one mount grants and denies in another (the kernel
//! enforces it, asking for it through getxattr), a chmod moves its mask,
//! a directory's default ACL is inherited by what is made in it (in place
//! of the umask), and a dump and load keep them.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{sh, sh_fails, Kind, Mount, Store};

/// `cmd` run by an unprivileged user.
fn as_user(uid: u32, cmd: &str) -> String {
    format!("setpriv --reuid={uid} --regid={uid} --clear-groups sh -c '{cmd}'")
}

/// A mount that other users may reach (its temporary parent is 0700).
fn shared_mount(store: &Store) -> Mount {
    let m = Mount::new(store, &["allow_other", "attr_timeout=0", "entry_timeout=0"]);
    if let Some(parent) = m.dir.parent() {
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    m
}

fn mode_of(p: &std::path::Path) -> String {
    sh(&format!("stat -c %A {}", p.display()))
        .trim()
        .to_string()
}

fn acls_grant_and_deny_in_every_mount(kind: Kind) {
    let store = Store::new(kind);
    let (a, b) = (shared_mount(&store), shared_mount(&store));
    let (fa, fb) = (a.path("f"), b.path("f"));
    let (fa, fb) = (fa.display(), fb.display());
    sh(&format!("echo secret > {fa} && chmod 600 {fa}"));
    let denied = |uid, f: &dyn std::fmt::Display| {
        let err = sh_fails(&as_user(uid, &format!("cat {f}")));
        assert!(err.contains("Permission denied"), "uid {uid}: {err}");
    };
    denied(1000, &fb);

    sh(&format!("setfacl -m u:1000:r {fa}"));
    // The mask stands in the group bits, and ls shows the `+`.
    assert_eq!(mode_of(&b.path("f")), "-rw-r-----");
    assert!(sh(&format!("ls -l {fb}")).starts_with("-rw-r-----+"));
    assert!(sh(&format!("getfacl -cn {fb}")).contains("user:1000:r--"));
    assert_eq!(sh(&as_user(1000, &format!("cat {fb}"))), "secret\n");
    denied(1001, &fb);

    // A named entry moved to another user, the mode unchanged: B's kernel
    // must not keep the ACL it checked before.
    sh(&format!("setfacl -x u:1000 -m u:1001:r {fa}"));
    assert_eq!(mode_of(&b.path("f")), "-rw-r-----");
    denied(1000, &fb);
    assert_eq!(sh(&as_user(1001, &format!("cat {fb}"))), "secret\n");

    // chmod sets the mask: the named user keeps r--, masked to nothing.
    sh(&format!("chmod 600 {fb}"));
    let acl = sh(&format!("getfacl -cn {fa}"));
    assert!(acl.contains("user:1001:r--\t#effective:---"), "{acl}");
    assert!(acl.contains("mask::---"), "{acl}");
    denied(1001, &fa);
    sh(&format!("chmod 640 {fb}"));
    assert_eq!(sh(&as_user(1001, &format!("cat {fa}"))), "secret\n");

    // Only the owner sets one; an ACL the mode says all of is no ACL.
    let err = sh_fails(&as_user(1001, &format!("setfacl -m u:1001:rw {fb}")));
    assert!(err.contains("Operation not permitted"), "{err}");
    // Without the extended entries the owning group's own entry (---)
    // is the group class again.
    sh(&format!("setfacl -b {fa}"));
    assert!(sh(&format!("ls -l {fb}")).starts_with("-rw------- "));
    let names = sh(&format!(
        "python3 -c 'import os; print(os.listxattr(\"{fb}\"))'"
    ));
    assert!(!names.contains("posix_acl"), "{names}");
    denied(1001, &fb);
}

fn default_acls_are_inherited(kind: Kind) {
    let store = Store::new(kind);
    let m = shared_mount(&store);
    let d = m.path("d");
    let d = d.display();
    sh(&format!("mkdir {d} && setfacl -d -m u:1000:rwx {d}"));
    // The default ACL replaces the umask: the mode's group bits are the
    // mask, limited by what the create asked for (0666).
    sh(&format!(
        "umask 077 && touch {d}/file && mkdir {d}/sub && ln -s file {d}/link"
    ));
    let file = sh(&format!("getfacl -cn {d}/file"));
    assert!(file.contains("user:1000:rwx\t#effective:rw-"), "{file}");
    assert!(file.contains("mask::rw-"), "{file}");
    assert_eq!(mode_of(&m.path("d/file")), "-rw-rw-r--");
    let sub = sh(&format!("getfacl -cn {d}/sub"));
    assert!(sub.contains("default:user:1000:rwx"), "{sub}");
    assert!(sub.contains("\nuser:1000:rwx"), "{sub}");
    assert_eq!(mode_of(&m.path("d/link")), "lrwxrwxrwx");
    sh(&as_user(
        1000,
        &format!("echo mine > {d}/file && mkdir {d}/sub/deeper"),
    ));
    let deeper = sh(&format!("getfacl -cn {d}/sub/deeper"));
    assert!(deeper.contains("default:user:1000:rwx"), "{deeper}");
    // Where there is no default ACL the umask applies, as ever.
    sh(&format!("umask 077 && touch {}", m.path("plain").display()));
    assert_eq!(mode_of(&m.path("plain")), "-rw-------");
    // A default ACL is a directory's only.
    let err = sh_fails(&format!("setfacl -d -m u:1000:r {d}/file"));
    assert!(!err.is_empty());
}

/// tar --acls and cp -a on a new file: create, write, fchmod (which waits
/// for the close), then the ACL; the close must not put back the mode the
/// ACL replaced.
fn an_acl_after_a_waiting_chmod_keeps_its_mode(kind: Kind) {
    let store = Store::new(kind);
    let m = shared_mount(&store);
    let f = m.path("f");
    let script = r#"
import os, struct, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o600)
os.write(fd, b"data")
os.fchmod(fd, 0o640)
ent = lambda tag, perm, id=0xffffffff: struct.pack("<HHI", tag, perm, id)
acl = struct.pack("<I", 2) + ent(1, 6) + ent(2, 6, 1000) + ent(4, 4) + ent(0x10, 6) + ent(0x20, 0)
os.setxattr(fd, "system.posix_acl_access", acl)
os.close(fd)
"#;
    common::python(script, &[f.as_os_str()]);
    assert_eq!(mode_of(&f), "-rw-rw----");
    assert!(sh(&format!("getfacl -cn {}", f.display())).contains("mask::rw-"));
    assert_eq!(sh(&as_user(1000, &format!("cat {}", f.display()))), "data");
}

/// A dump names the ACLs with the other attributes; a load sets them.
fn dump_and_load_keep_acls(kind: Kind) {
    let from = Store::new(kind);
    {
        let m = Mount::new(&from, &[]);
        sh(&format!(
            "mkdir {0}/d && setfacl -d -m g:50:rx {0}/d && echo x > {0}/d/f && setfacl -m u:1000:rw {0}/d/f",
            m.dir.display()
        ));
    }
    let to = common::dumped_and_loaded(&from, kind);
    let m = Mount::new(&to, &[]);
    let f = sh(&format!("getfacl -cn {}", m.path("d/f").display()));
    assert!(f.contains("user:1000:rw-"), "{f}");
    assert!(f.contains("group:50:r-x"), "inherited at the source: {f}");
    let d = sh(&format!("getfacl -cn {}", m.path("d").display()));
    assert!(d.contains("default:group:50:r-x"), "{d}");
}

common::both!(
    acls_grant_and_deny_in_every_mount,
    default_acls_are_inherited,
    an_acl_after_a_waiting_chmod_keeps_its_mode,
    dump_and_load_keep_acls
);
