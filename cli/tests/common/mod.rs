//! Real mounts for tests: a file system on a fresh store, mounted by the
//! real binary through fusermount3, unmounted when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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

impl Store {
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
        std::fs::read_to_string("/proc/mounts")
            .map(|m| {
                m.lines()
                    .any(|l| l.split(' ').nth(1) == Some(&*self.dir.to_string_lossy()))
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
