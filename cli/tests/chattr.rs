//! chattr's immutable and append-only flags, set through one mount and
//! enforced by another: they are stored with the inode, and every client
//! checks them (the kernel of one mount knows nothing of them). Only root
//! may set them; flags dynamofs does not keep are refused.

mod common;

use common::{sh, sh_fails, Kind, Mount, Store};

/// Each command fails in B with "Operation not permitted".
fn refused(cmds: &[String]) {
    for c in cmds {
        let err = sh_fails(c);
        assert!(err.contains("Operation not permitted"), "`{c}`: {err}");
    }
}

fn flags_hold_in_every_mount(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &["attr_timeout=0", "entry_timeout=0"]);
    let b = Mount::new(&store, &["attr_timeout=0", "entry_timeout=0"]);
    let (fa, fb) = (a.path("f"), b.path("f"));
    let (fa, fb) = (fa.display(), fb.display());
    std::fs::write(a.path("f"), "data\n").expect("write");

    sh(&format!("chattr +i {fa}"));
    assert!(
        sh(&format!("lsattr {fb}")).starts_with("----i"),
        "B sees it"
    );
    refused(&[
        format!("echo x >> {fb}"),
        format!("rm {fb}"),
        format!("mv {fb} {fb}.moved"),
        format!("chmod 600 {fb}"),
        format!("truncate -s 0 {fb}"),
        format!("ln {fb} {fb}.link"),
        format!("touch -d 2020-01-01 {fb}"),
        format!("python3 -c 'import os; os.setxattr(\"{fb}\", \"user.k\", b\"v\")'"),
    ]);
    assert_eq!(sh(&format!("cat {fb}")), "data\n", "still readable");

    sh(&format!("chattr -i {fb}"));
    sh(&format!("chattr +a {fb}"));
    sh(&format!("echo more >> {fa}"));
    refused(&[
        format!("echo over > {fb}"),
        format!("rm {fb}"),
        format!("mv {fb} {fb}.moved"),
        format!("chmod 600 {fb}"),
        format!("truncate -s 0 {fb}"),
    ]);
    assert_eq!(sh(&format!("cat {fb}")), "data\nmore\n", "appends land");

    let err = sh_fails(&format!("chattr +A {fa}"));
    assert!(err.contains("Operation not supported"), "{err}");
    sh(&format!("chattr -a {fa}"));
    sh(&format!("rm {fb}"));
    assert!(!a.path("f").exists());
}

/// A dump keeps the flags, and a load puts them back, last (after the
/// data they would refuse).
fn dump_and_load_keep_the_flags(kind: Kind) {
    let from = Store::new(kind);
    {
        let m = Mount::new(&from, &[]);
        std::fs::write(m.path("frozen"), "ice\n").expect("write");
        std::fs::write(m.path("log"), "line\n").expect("write");
        sh(&format!("chattr +i {}", m.path("frozen").display()));
        sh(&format!("chattr +a {}", m.path("log").display()));
    }
    let to = common::dumped_and_loaded(&from, kind);
    let m = Mount::new(&to, &[]);
    let (frozen, log) = (m.path("frozen"), m.path("log"));
    assert!(sh(&format!("lsattr {}", frozen.display())).starts_with("----i"));
    assert!(sh(&format!("lsattr {}", log.display())).starts_with("-----a"));
    assert_eq!(sh(&format!("cat {}", frozen.display())), "ice\n");
    refused(&[format!("rm {}", frozen.display())]);
}

common::both!(flags_hold_in_every_mount, dump_and_load_keep_the_flags);
