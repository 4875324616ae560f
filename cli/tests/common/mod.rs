//! Real mounts for tests: a file system on a fresh store, mounted by the
//! real binary through fusermount3, unmounted when dropped; and the helpers
//! the CLI tests share: running the binary on a store, reading its JSON,
//! holding and probing locks from another process.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dynamofs_core::store::{self, Opened, StoreOptions};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dynamofs"))
}

pub fn endpoint() -> String {
    std::env::var("DYNAMOFS_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMOFS_TEST_ENDPOINT is not set: run the tests with scripts/test, which starts moto"
        )
    })
}

/// Which store a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Sqlite,
    Moto,
}

/// A source with a fresh file system, and the options a mount needs for it.
pub struct Store {
    pub source: String,
    pub options: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Store {
    pub fn new(kind: Kind) -> Store {
        let dir = tempfile::tempdir().expect("tempdir");
        let (source, options) = match kind {
            Kind::Sqlite => (
                format!("sqlite:{}", dir.path().join("fs.db").display()),
                vec![],
            ),
            Kind::Moto => {
                let t = format!("mnt-{}-{}", std::process::id(), rand_suffix());
                (
                    format!("aws:us-east-1/{t}"),
                    vec![format!("endpoint={}", endpoint())],
                )
            }
        };
        let mut mkfs = Command::new(bin());
        mkfs.arg("mkfs").arg("--root-mode").arg("777");
        if let Kind::Moto = kind {
            mkfs.arg("--endpoint").arg(endpoint());
        }
        let out = mkfs.arg(&source).output().expect("run mkfs");
        assert!(
            out.status.success(),
            "mkfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Store {
            source,
            options,
            _dir: dir,
        }
    }
}

/// A moto table outlives the test unless deleted, and the server keeps
/// every byte of it in memory for the rest of the run.
impl Drop for Store {
    fn drop(&mut self) {
        if self.endpoint().is_some() {
            let _ = Command::new(bin())
                .args(self.global())
                .args(["destroy", self.source.as_str(), "--yes", "--force"])
                .stdin(Stdio::null())
                .output();
        }
    }
}

impl Store {
    /// The endpoint a moto store is reached at (none for SQLite).
    pub fn endpoint(&self) -> Option<&str> {
        self.options
            .iter()
            .find_map(|o| o.strip_prefix("endpoint="))
    }

    /// The global options the CLI needs to reach the store.
    pub fn global(&self) -> Vec<String> {
        self.endpoint()
            .into_iter()
            .flat_map(|e| ["--endpoint".to_string(), e.to_string()])
            .collect()
    }

    /// The store itself, opened as the CLI would, bypassing the file system.
    pub async fn open(&self) -> Opened {
        let src: store::Source = self.source.parse().expect("source");
        let opts = StoreOptions {
            endpoint: self.endpoint().map(String::from),
            profile: None,
        };
        store::open(&src, &opts).await.expect("open store")
    }

    /// A source made elsewhere, which the test keeps alive itself.
    pub fn existing(source: &str) -> Store {
        Store {
            source: source.to_string(),
            options: vec![],
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The file of a SQLite source.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.source.strip_prefix("sqlite:").map(PathBuf::from)
    }

    /// A SQLite source with no file system yet.
    pub fn empty_sqlite() -> Store {
        let dir = tempfile::tempdir().expect("tempdir");
        Store {
            source: format!("sqlite:{}", dir.path().join("new.db").display()),
            options: vec![],
            _dir: dir,
        }
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ (d.as_secs() << 20))
        .unwrap_or(0)
}

/// A mounted file system.
pub struct Mount {
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Mount {
    pub fn new(store: &Store, extra: &[&str]) -> Mount {
        Mount::with_env(store, extra, &[])
    }

    /// Mount with extra environment variables for the server (which
    /// inherits the `dynamofs mount` command's environment).
    pub fn with_env(store: &Store, extra: &[&str], env: &[(&str, &str)]) -> Mount {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("mnt");
        std::fs::create_dir(&dir).expect("mount point");
        let mut opts: Vec<String> = store.options.clone();
        opts.extend(extra.iter().map(|s| s.to_string()));
        opts.push(format!("log={}", tmp.path().join("log").display()));
        let out = Command::new(bin())
            .arg("mount")
            .arg(&store.source)
            .arg(&dir)
            .arg("-o")
            .arg(opts.join(","))
            .envs(env.iter().copied())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(tmp.path().join("log")).unwrap_or_default()
        );
        Mount { dir, _tmp: tmp }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The pid of the process serving this mount.
    pub fn server_pid(&self) -> Option<u32> {
        let out = Command::new("pgrep")
            .arg("-f")
            .arg(format!("mount .* {}", self.dir.display()))
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    pub fn is_mounted(&self) -> bool {
        Mount::is_mounted_at(&self.dir)
    }

    /// Whether anything is mounted on `dir` (paths without spaces).
    pub fn is_mounted_at(dir: &Path) -> bool {
        std::fs::read_to_string("/proc/mounts")
            .map(|m| {
                m.lines()
                    .any(|l| l.split(' ').nth(1) == Some(&*dir.to_string_lossy()))
            })
            .unwrap_or(false)
    }

    /// Wait until the server has exited and the mount is gone.
    pub fn wait_gone(&self, pid: u32) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() || self.is_mounted() {
            assert!(Instant::now() < deadline, "server {pid} did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._tmp.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if self.is_mounted() {
            let pid = self.server_pid();
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg("-z")
                .arg(&self.dir)
                .status();
            if let Some(pid) = pid {
                let deadline = Instant::now() + Duration::from_secs(10);
                while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

/// Run a shell command, asserting success; returns stdout.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a shell command expected to fail; returns stderr.
pub fn sh_fails(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(!out.status.success(), "`{cmd}` should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `dynamofs GLOBAL... ARGS...` on `store`: no AWS profile, and stdin not a
/// terminal (so nothing is asked).
pub fn dynamofs(store: &Store, args: &[&str]) -> Output {
    Command::new(bin())
        .env_remove("AWS_PROFILE")
        .args(store.global())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run dynamofs")
}

/// A new store of `kind` holding what `dynamofs dump` wrote of `from`,
/// through `dynamofs load`.
pub fn dumped_and_loaded(from: &Store, kind: Kind) -> Store {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fs.dump");
    let file = file.to_str().expect("utf-8 path");
    ok(&dynamofs(from, &["dump", &from.source, file]));
    let to = Store::new(kind);
    ok(&dynamofs(&to, &["load", &to.source, file]));
    to
}

/// Assert that a command succeeded; returns its stdout.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Evaluate a Python expression over a JSON document (`d`), validating it.
pub fn py(json: &str, expr: &str) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import json,sys; d=json.load(sys.stdin); print({expr})"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(json.as_bytes()).expect("write json");
    }
    let out = child.wait_with_output().expect("python3");
    assert!(out.status.success(), "not JSON, or no {expr}: {json}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A Python process holding a lock on `path` until its stdin closes
/// ([`release`]). `how`: "lockf" (fcntl F_SETLK, exclusive, bytes 0-9) or
/// "flock".
pub fn holder(path: &Path, how: &str) -> Child {
    let script = format!(
        r#"
import fcntl, sys
f = open(sys.argv[1], "r+")
{lock}
print("locked", flush=True)
sys.stdin.read()
"#,
        lock = match how {
            "flock" => "fcntl.flock(f, fcntl.LOCK_EX)",
            _ => "fcntl.lockf(f, fcntl.LOCK_EX, 10, 0)",
        }
    );
    python_ready(&script, &[path.as_os_str()], "locked").0
}

/// A Python process running `script` with `args`, once it has printed the
/// line `ready`; with the rest of its standard output. Its stdin is a pipe:
/// closing it ([`release`]) is how a script is told to go on or end.
pub fn python_ready(
    script: &str,
    args: &[&std::ffi::OsStr],
    ready: &str,
) -> (Child, std::io::Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(first, ready, "the Python helper did not get ready");
    (child, lines)
}

/// Whether another process can take the lock now, without waiting: "ok",
/// or "busy"; for lockf, "busy pid=N type=T" with what F_GETLK reports.
pub fn try_lock(path: &Path, how: &str) -> String {
    let script = r#"
import fcntl, struct, sys, os
f = open(sys.argv[1], "r+")
how = sys.argv[2]
try:
    if how == "flock":
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
    print("ok")
except OSError:
    if how == "flock":
        print("busy")
    else:
        q = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 10, 0)
        r = struct.unpack("hhqqi", fcntl.fcntl(f, fcntl.F_GETLK, q))
        print("busy pid=%d type=%d" % (r[4], r[0]))
"#;
    python(script, &[path.as_os_str(), how.as_ref()])
        .trim()
        .to_string()
}

/// Run a Python script with `args`; its standard output, once it succeeded.
pub fn python(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Let a [`holder`] go: close its stdin and wait for it.
pub fn release(mut c: Child) {
    drop(c.stdin.take());
    let _ = c.wait();
}

/// Each named `fn(Kind)` as two tests, `sqlite::NAME` and `moto::NAME`.
/// (Unused in test files that run on one store only.)
#[allow(unused_macros)]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() { super::$name($crate::common::Kind::Sqlite) })*
        }
        mod moto {
            $(#[test]
            fn $name() { super::$name($crate::common::Kind::Moto) })*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both;
