//! Sparse files through real mounts, on SQLite and the DynamoDB test
//! server: st_blocks leaves holes out (du), SEEK_DATA and SEEK_HOLE find
//! them in this mount and in another, cp copies a sparse file as sparse
//! (into the mount and out of it) with the same bytes, and a hole punched
//! in one mount is a hole in the other at once.

mod common;

use std::io::Write;

use common::{dynamofs, ok, python, sh, Kind, Mount, Store};

const MIB: u64 = 1 << 20;
/// mkfs's default block size: holes are whole blocks.
const BS: u64 = 256 * 1024;

/// Data extents as SEEK_DATA/SEEK_HOLE walk the file, and its size and
/// st_blocks, as one line of Python prints them.
fn layout(path: &std::path::Path) -> String {
    python(
        r#"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
st = os.fstat(fd)
at, out = 0, []
while True:
    try:
        d = os.lseek(fd, at, os.SEEK_DATA)
    except OSError:
        break
    h = os.lseek(fd, d, os.SEEK_HOLE)
    out.append("%d-%d" % (d, h))
    at = h
print(st.st_size, st.st_blocks, " ".join(out))
"#,
        &[path.as_os_str()],
    )
    .trim()
    .to_string()
}

fn sparse_files_are_sparse(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &[]);
    let b = Mount::new(&store, &[]);
    let f = a.path("f");
    let p = f.display();
    // 64 MiB with 4 bytes at 32 MiB and a block written at 60 MiB.
    sh(&format!(
        "truncate -s 64M {p} && printf data | dd of={p} bs=1 seek={} conv=notrunc status=none \
         && head -c {BS} /dev/urandom | dd of={p} bs={BS} seek={} conv=notrunc iflag=fullblock status=none",
        32 * MIB,
        60 * MIB / BS
    ));
    let blocks = 2 * BS / 512;
    let want = format!(
        "{} {blocks} {}-{} {}-{}",
        64 * MIB,
        32 * MIB,
        32 * MIB + BS,
        60 * MIB,
        60 * MIB + BS
    );
    assert_eq!(layout(&f), want, "in the writing mount");
    assert_eq!(layout(&b.path("f")), want, "in another mount");
    let du = sh(&format!("du -B1 {}", b.path("f").display()));
    assert!(du.starts_with(&format!("{}\t", 2 * BS)), "{du}");

    // cp finds the holes (st_blocks says there are some) and keeps them,
    // into the mount and out of it.
    let local = tempfile::tempdir().expect("tempdir");
    let out = local.path().join("copy");
    sh(&format!("cp --sparse=auto {p} {}", out.display()));
    sh(&format!("cp --sparse=always {p} {}", a.path("g").display()));
    sh(&format!("cmp {p} {}", out.display()));
    sh(&format!("cmp {p} {}", b.path("g").display()));
    let local_kib: u64 = sh(&format!("du -k {}", out.display()))
        .split_whitespace()
        .next()
        .and_then(|k| k.parse().ok())
        .expect("du");
    assert!(
        local_kib <= 2 * BS / 1024 + 64,
        "copy out is sparse: {local_kib} KiB"
    );
    let g = layout(&b.path("g"));
    assert!(g.starts_with(&format!("{} {blocks} ", 64 * MIB)), "{g}");

    // A hole punched in the other mount is a hole here at once (seeks ask
    // the store), and the bytes read as zeros.
    sh(&format!(
        "fallocate --punch-hole --offset {} --length {BS} {}",
        60 * MIB,
        b.path("f").display()
    ));
    let here = layout(&f);
    assert!(
        here.ends_with(&format!(" {}-{}", 32 * MIB, 32 * MIB + BS)),
        "{here}"
    );
    let zeros = sh(&format!(
        "dd if={p} bs={BS} skip={} count=1 status=none | tr -d '\\0' | wc -c",
        60 * MIB / BS
    ));
    assert_eq!(zeros.trim(), "0");

    drop((a, b));
    ok(&dynamofs(&store, &["fsck", &store.source]));
}

/// Close-to-open holds for holes too: a mount with unflushed writes of its
/// own to a file opens it again after another mount filled a hole and
/// closed, and reads that mount's bytes, not the zeros its older hole map
/// would give.
fn a_hole_filled_elsewhere_reads_back(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &[]);
    let b = Mount::new(&store, &[]);
    sh(&format!(
        "truncate -s {} {}",
        12 * BS,
        a.path("f").display()
    ));
    let (mut writer, mut lines) = common::python_ready(
        "import os, sys\n\
         fd = os.open(sys.argv[1], os.O_RDWR)\n\
         os.pwrite(fd, b'x', 0)\n\
         print('dirty', flush=True)\n\
         sys.stdin.readline()\n\
         again = os.open(sys.argv[1], os.O_RDONLY)\n\
         print(os.pread(again, 10, int(sys.argv[2])).decode(errors='replace'), flush=True)",
        &[b.path("f").as_os_str(), (10 * BS).to_string().as_ref()],
        "dirty",
    );
    sh(&format!(
        "printf abcdefghij | dd of={} bs=1 seek={} conv=notrunc status=none",
        a.path("f").display(),
        10 * BS
    ));
    writer
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("go");
    let got = lines.next().expect("a line").expect("read");
    assert_eq!(got, "abcdefghij");
    common::release(writer);
    drop((a, b));
    ok(&dynamofs(&store, &["fsck", &store.source]));
}

common::both!(sparse_files_are_sparse, a_hole_filled_elsewhere_reads_back);
