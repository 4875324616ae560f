//! fallocate(1) through real mounts, on SQLite and the DynamoDB test
//! server: a punched hole and a zeroed range read as zeros in this mount
//! and in another one, the size is kept or grown as asked, and the modes
//! that would move data are refused.

mod common;

use common::{sh, sh_fails, Kind, Mount, Store};

fn expected(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 % 251 + 1) as u8).collect()
}

fn punch_and_zero(kind: Kind) {
    let store = Store::new(kind);
    let a = Mount::new(&store, &[]);
    let b = Mount::new(&store, &[]);
    let f = a.path("f");
    let mut want = expected(1_000_000);
    std::fs::write(&f, &want).expect("write");
    let p = f.display();
    sh(&format!(
        "fallocate --punch-hole --offset 100000 --length 500000 {p}"
    ));
    want[100_000..600_000].fill(0);
    sh(&format!(
        "fallocate --zero-range --offset 900000 --length 200000 {p}"
    ));
    want[900_000..].fill(0);
    want.resize(1_100_000, 0);
    assert_eq!(std::fs::read(&f).expect("read here"), want);
    assert_eq!(std::fs::read(b.path("f")).expect("read there"), want);
    // Keeping the size past the end; growing it with plain preallocation.
    sh(&format!(
        "fallocate --keep-size --offset 2000000 --length 100 {p}"
    ));
    assert_eq!(std::fs::metadata(&f).expect("stat").len(), 1_100_000);
    sh(&format!("fallocate --offset 1000000 --length 300000 {p}"));
    assert_eq!(std::fs::metadata(&f).expect("stat").len(), 1_300_000);
    let why = sh_fails(&format!(
        "fallocate --collapse-range --offset 0 --length 65536 {p}"
    ));
    assert!(why.contains("not supported"), "{why}");
}

common::both!(punch_and_zero);
