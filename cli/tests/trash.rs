//! The trash through real mounts, on SQLite and the DynamoDB test server:
//! with `config --trash-days`, an unlink or a rename over a file in one
//! mount keeps the file in /.trash, which `dynamofs trash` lists, restores
//! (byte for byte, never over a name) and purges; removals inside the
//! trash are final; a live mount purges expired hours by itself; without
//! trash nothing changes. fsck stays clean throughout.

mod common;

use std::time::{Duration, Instant};

use common::{ok, py, Kind, Mount, Store};

fn trash(store: &Store, args: &[&str]) -> std::process::Output {
    let mut a = vec!["trash", store.source.as_str()];
    a.extend_from_slice(args);
    common::dynamofs(store, &a)
}

fn listed(store: &Store) -> String {
    ok(&trash(store, &["--json"]))
}

fn keeps_restores_and_purges(kind: Kind) {
    let store = Store::new(kind);
    let said = ok(&common::dynamofs(
        &store,
        &["config", &store.source, "--trash-days", "3"],
    ));
    assert!(said.contains("trash 3 days"), "{said}");
    let a = Mount::new(&store, &[]);
    let b = Mount::new(&store, &[]);
    let body: Vec<u8> = (0..600_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::create_dir(a.path("d")).expect("mkdir");
    std::fs::write(a.path("d/f"), &body).expect("write f");
    std::fs::write(a.path("g"), b"old g\n").expect("write g");
    std::fs::write(a.path("h"), b"new g\n").expect("write h");

    // The other mount removes one and replaces the other.
    std::fs::remove_file(b.path("d/f")).expect("rm");
    std::fs::rename(b.path("h"), b.path("g")).expect("mv over");
    assert!(!b.path("d/f").exists());
    assert_eq!(std::fs::read(b.path("g")).expect("g"), b"new g\n");

    let l = listed(&store);
    assert_eq!(py(&l, "len(d)"), "2", "{l}");
    assert_eq!(
        py(&l, "sorted((e['path'], e['size']) for e in d)"),
        "[('/d/f', 600000), ('/g', 6)]",
        "{l}"
    );
    // Root sees the kept files through a mount too.
    let hour = py(&l, "d[0]['entry'].split('/')[0]");
    let kept = std::fs::read_dir(a.path(&format!(".trash/{hour}")))
        .expect("the trash through the mount")
        .count();
    assert_eq!(kept, 2);

    // Restore: the old name, the old bytes; never over a name.
    let f = py(&l, "[e['entry'] for e in d if e['name'] == 'f'][0]");
    let g = py(&l, "[e['entry'] for e in d if e['name'] == 'g'][0]");
    let out = ok(&trash(&store, &["restore", &f]));
    assert!(out.contains("as /d/f"), "{out}");
    assert_eq!(std::fs::read(b.path("d/f")).expect("restored f"), body);
    let over = trash(&store, &["restore", &g]);
    assert!(!over.status.success(), "restored over a name");
    let why = String::from_utf8_lossy(&over.stderr);
    assert!(why.contains(&g) && why.contains("exists"), "{why}");
    assert_eq!(std::fs::read(a.path("g")).expect("g"), b"new g\n");
    ok(&trash(&store, &["restore", &g, "--to", "/d"]));
    assert_eq!(std::fs::read(a.path("d/g")).expect("g moved"), b"old g\n");
    assert_eq!(py(&listed(&store), "len(d)"), "0");

    // Inside the trash, removal is final.
    std::fs::write(a.path("x"), b"x").expect("write x");
    std::fs::remove_file(a.path("x")).expect("rm x");
    let l = listed(&store);
    let x = py(&l, "d[0]['entry']");
    std::fs::remove_file(a.path(&format!(".trash/{x}"))).expect("rm in trash");
    assert_eq!(py(&listed(&store), "len(d)"), "0");

    // purge --all empties it; the data goes with it.
    std::fs::write(a.path("y"), &body).expect("write y");
    std::fs::remove_file(b.path("y")).expect("rm y");
    let out = ok(&trash(&store, &["purge", "--all", "--yes"]));
    assert!(out.contains("removed 1 files"), "{out}");
    assert!(ok(&trash(&store, &[])).contains("the trash is empty"));
    drop(a);
    drop(b);
    let fsck = common::dynamofs(&store, &["fsck", &store.source]);
    ok(&fsck);
}

/// A mount purges what expired by itself, shortly after it starts, and
/// keeps the current hour.
fn mounts_purge_expired_hours(kind: Kind) {
    let store = Store::new(kind);
    ok(&common::dynamofs(
        &store,
        &["config", &store.source, "--trash-days", "1"],
    ));
    {
        let m = Mount::new(&store, &[]);
        std::fs::write(m.path("recent"), b"kept").expect("write");
        std::fs::remove_file(m.path("recent")).expect("rm");
        // An hour long past, as an old mount would have left it.
        std::fs::create_dir(m.path(".trash/2020-01-01-00")).expect("old hour");
        std::fs::write(m.path("old"), b"expired").expect("write");
        std::fs::rename(m.path("old"), m.path(".trash/2020-01-01-00/1-2-old")).expect("mv");
    }
    let l = listed(&store);
    assert_eq!(py(&l, "len(d)"), "2", "{l}");
    let m = Mount::new(&store, &[]);
    let start = Instant::now();
    loop {
        let l = listed(&store);
        if py(&l, "len(d)") == "1" {
            assert_eq!(py(&l, "d[0]['name']"), "recent", "{l}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the mount did not purge the expired hour: {l}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Past the kernel's entry timeout (1 s), the mount sees it gone too.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!m.path(".trash/2020-01-01-00").exists());
}

/// A mount whose kernel still caches the name of a file another mount
/// replaced (long timeouts here) reads the new file, not the one in the
/// trash: the old inode answers ESTALE to a name outside the trash, so the
/// kernel looks the name up again, as it does for a file removed for good.
fn a_stale_name_reads_the_new_file(kind: Kind) {
    let store = Store::new(kind);
    ok(&common::dynamofs(
        &store,
        &["config", &store.source, "--trash-days", "1"],
    ));
    let a = Mount::new(&store, &["entry_timeout=60", "attr_timeout=60"]);
    let b = Mount::new(&store, &[]);
    std::fs::write(a.path("g"), b"old g\n").expect("write g");
    assert_eq!(std::fs::read(a.path("g")).expect("g"), b"old g\n");
    std::fs::write(b.path("h"), b"new g\n").expect("write h");
    std::fs::rename(b.path("h"), b.path("g")).expect("mv over");
    assert_eq!(std::fs::read(a.path("g")).expect("g again"), b"new g\n");
    // And a removed one is gone there too, though kept in the trash.
    std::fs::write(a.path("f"), b"f").expect("write f");
    assert_eq!(std::fs::read(a.path("f")).expect("f"), b"f");
    std::fs::remove_file(b.path("f")).expect("rm f");
    let e = std::fs::read(a.path("f")).expect_err("f was removed");
    assert_eq!(e.raw_os_error(), Some(2), "ENOENT: {e}");
    assert_eq!(py(&listed(&store), "len(d)"), "2");
}

/// Without trash, removal is final and no /.trash appears.
fn off_by_default(kind: Kind) {
    let store = Store::new(kind);
    let m = Mount::new(&store, &[]);
    std::fs::write(m.path("f"), b"gone").expect("write");
    std::fs::remove_file(m.path("f")).expect("rm");
    assert!(!m.path(".trash").exists());
    assert!(ok(&trash(&store, &[])).contains("the trash is empty"));
    let settings = ok(&common::dynamofs(
        &store,
        &["config", &store.source, "--json"],
    ));
    assert_eq!(py(&settings, "d['trash_days']"), "0");
}

common::both!(
    keeps_restores_and_purges,
    mounts_purge_expired_hours,
    off_by_default,
    a_stale_name_reads_the_new_file
);
