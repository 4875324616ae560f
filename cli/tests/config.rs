//! `dynamofs config` on SQLite and moto: the settings shown, a compression
//! change that new mounts follow while old blocks read as before, and the
//! billing and table class changes on DynamoDB (refused, with a reason, on
//! the embedded store).

mod common;

use common::{ok, py, Kind, Mount, Store};

fn config(store: &Store, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["config", store.source.as_str()];
    args.extend_from_slice(extra);
    common::dynamofs(store, &args)
}

fn shown(store: &Store, expr: &str) -> String {
    py(&ok(&config(store, &["--json"])), expr)
}

fn compression_changes_for_new_mounts(kind: Kind) {
    let store = Store::new(kind);
    assert_eq!(
        shown(&store, "d['compression'], d['block_size']"),
        "lz4 262144"
    );
    // Compressible: lz4 stores it in a fraction of a block.
    let data = vec![b'a'; 300 << 10];
    {
        let m = Mount::new(&store, &[]);
        std::fs::write(m.path("old"), &data).expect("write");
    }
    let stored = || {
        py(
            &ok(&common::dynamofs(
                &store,
                &["stats", store.source.as_str(), "--json"],
            )),
            "d['stored_bytes']",
        )
        .parse::<u64>()
        .expect("stored_bytes")
    };
    assert!(stored() < 16 << 10, "lz4 left {} bytes", stored());
    let said = ok(&config(&store, &["--compression", "none"]));
    assert!(said.contains("compression none"), "{said}");
    assert_eq!(shown(&store, "d['compression']"), "none");
    let m = Mount::new(&store, &[]);
    std::fs::write(m.path("new"), &data).expect("write");
    assert_eq!(std::fs::read(m.path("old")).expect("read old"), data);
    assert_eq!(std::fs::read(m.path("new")).expect("read new"), data);
    drop(m);
    assert!(stored() >= 300 << 10, "raw took only {} bytes", stored());
    // fsck decodes every block, raw and lz4, and finds nothing wrong.
    ok(&common::dynamofs(&store, &["fsck", store.source.as_str()]));
    let bad = config(&store, &["--compression", "zstd"]);
    assert!(!bad.status.success());
}

fn billing_and_class(kind: Kind) {
    let store = Store::new(kind);
    let changed = config(
        &store,
        &[
            "--billing",
            "provisioned",
            "--read-capacity",
            "7",
            "--write-capacity",
            "3",
        ],
    );
    match kind {
        Kind::Sqlite => {
            assert!(!changed.status.success());
            let why = String::from_utf8_lossy(&changed.stderr);
            assert!(why.contains("no table settings"), "{why}");
        }
        Kind::Moto => {
            ok(&changed);
            assert_eq!(
                shown(
                    &store,
                    "d['tables']['metadata']['billing'], d['tables']['data']['billing']"
                ),
                "provisioned: 7 read / 3 write units provisioned: 7 read / 3 write units"
            );
            ok(&config(&store, &["--billing", "on-demand"]));
            assert_eq!(shown(&store, "d['tables']['data']['billing']"), "on-demand");
            assert_eq!(shown(&store, "d['tables']['data']['class']"), "standard");
            // moto 5.2.5 takes the UpdateTable but keeps no table class
            // (its descriptions never name one): only the request is
            // checked here, not that DynamoDB would apply it.
            ok(&config(&store, &["--table-class", "standard-ia"]));
        }
    }
}

common::both!(compression_changes_for_new_mounts, billing_and_class);
