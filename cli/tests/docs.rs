//! The committed completions and man pages match the clap definitions.

use std::path::Path;

use assert_cmd::Command;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn generated_docs_are_current() {
    let tmp = tempfile::tempdir().expect("tempdir");
    Command::cargo_bin("dynamofs")
        .expect("binary")
        .args(["generate-docs", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for sub in ["completions", "man"] {
        let want = files(&tmp.path().join(sub));
        let have = files(&root.join(sub));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&have),
            names(&want),
            "{sub}/ is stale: run scripts/gen-docs and commit"
        );
        for ((n, a), (_, b)) in have.iter().zip(&want) {
            assert!(
                a == b,
                "{sub}/{n} is stale: run scripts/gen-docs and commit"
            );
        }
        assert!(!want.is_empty());
    }
}

/// bash completes the mount options' names after `mount -o`, and offers
/// no hidden subcommand.
#[test]
fn bash_completes_mount_options() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../completions/dynamofs.bash");
    // As bash calls it: the command, the word being completed, the one
    // before it.
    let line = |words: &str, cur: usize, args: &str| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD={cur}; _dynamofs {args}; echo \"${{COMPREPLY[*]}}\"",
                script.display()
            ))
            .output()
            .expect("bash");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let options = line("dynamofs mount -o write", 3, "dynamofs write -o");
    assert_eq!(options.trim(), "writeback_cache write_buffer", "{options}");
    let subs = line("dynamofs ''", 1, "dynamofs '' dynamofs");
    assert!(
        subs.contains("destroy") && !subs.contains("generate-docs"),
        "{subs}"
    );
}
