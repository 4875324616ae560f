//! One big file through a mount: created sparse (its last MiB written
//! first), then filled from the start, then read back by a fresh mount and
//! compared byte for byte with what was written.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use tokio::runtime::Runtime;

use crate::common::{Kind, Mount, Store};
use crate::probe::{self, Memory, Requests, MIB};

/// What the file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Data {
    /// Incompressible: the store holds every byte.
    Random,
    /// Each 64 bytes are 32 random bytes twice: lz4 halves it, so the
    /// store (and the disk under SQLite) holds about half.
    Half,
}

impl Data {
    pub fn name(self) -> &'static str {
        match self {
            Data::Random => "random",
            Data::Half => "half-compressible",
        }
    }
}

/// The content of MiB number `i` of the file: a function of `i` alone, so
/// nothing needs to be kept to check a read.
fn chunk(i: u64, data: Data, buf: &mut [u8]) {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
    let mut next = || {
        // splitmix64
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    match data {
        Data::Random => {
            for w in buf.chunks_mut(8) {
                let v = next().to_le_bytes();
                w.copy_from_slice(&v[..w.len()]);
            }
        }
        Data::Half => {
            for line in buf.chunks_mut(64) {
                let (a, b) = line.split_at_mut(line.len() / 2);
                for w in a.chunks_mut(8) {
                    let v = next().to_le_bytes();
                    w.copy_from_slice(&v[..w.len()]);
                }
                b.copy_from_slice(&a[..b.len()]);
            }
        }
    }
}

/// One phase (write or read) of the run.
#[derive(Clone, Debug)]
pub struct Phase {
    pub what: String,
    pub bytes: u64,
    pub secs: f64,
    pub requests: Requests,
    /// Of the mount process.
    pub memory: Option<Memory>,
}

#[derive(Clone, Debug)]
pub struct BigFile {
    pub size: u64,
    pub data: Data,
    pub phases: Vec<Phase>,
    /// Bytes of the SQLite file (and its WAL) afterwards.
    pub stored: u64,
    pub fsck: String,
}

const NAME: &str = "big";

/// A fresh mount, watched from its first step to its unmount.
struct Watched<'a> {
    rt: &'a Runtime,
    store: &'a dyn dynamofs_core::store::Store,
    mount: Mount,
    pid: u32,
    before: Requests,
    rss_start: Option<u64>,
    started: Instant,
}

impl<'a> Watched<'a> {
    fn mount(
        rt: &'a Runtime,
        fs: &Store,
        store: &'a dyn dynamofs_core::store::Store,
    ) -> Result<Watched<'a>, String> {
        let mount = Mount::new(fs, &["session_ttl=6"]);
        let pid = probe::server_pid(&mount)?;
        let before = rt.block_on(probe::settled(store, &[pid]))?.remove(0);
        Ok(Watched {
            rt,
            store,
            mount,
            pid,
            before,
            rss_start: Memory::start(pid),
            started: Instant::now(),
        })
    }

    /// What the mount did since it was mounted; then unmount it.
    fn finish(self, what: &str, bytes: u64) -> Result<Phase, String> {
        let secs = self.started.elapsed().as_secs_f64();
        let memory = Memory::finish(self.pid, self.rss_start);
        let after = self
            .rt
            .block_on(probe::settled(self.store, &[self.pid]))?
            .remove(0);
        probe::unmount(&self.mount)?;
        Ok(Phase {
            what: what.into(),
            bytes,
            secs,
            requests: after.minus(&self.before),
            memory,
        })
    }
}

pub fn run(rt: &Runtime, size: u64, data: Data) -> Result<BigFile, String> {
    if size < 2 * MIB || size % MIB != 0 {
        return Err(format!(
            "file size {size} must be a whole number of MiB, at least 2"
        ));
    }
    let store = Store::new(Kind::Sqlite);
    let opened = rt.block_on(store.open());
    let chunks = size / MIB;
    let mut buf = vec![0u8; MIB as usize];
    let mut phases = Vec::new();

    let w = Watched::mount(rt, &store, opened.store.as_ref())?;
    let path = w.mount.path(NAME);

    // Sparse: the last MiB first, so the file is `size` long with a hole
    // before it; a read in the hole must give zeros.
    {
        let f = File::create_new(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        chunk(chunks - 1, data, &mut buf);
        f.write_all_at(&buf, size - MIB)
            .map_err(|e| format!("write the last MiB: {e}"))?;
        f.sync_all()
            .map_err(|e| format!("fsync after the last MiB: {e}"))?;
    }
    let len = std::fs::metadata(&path)
        .map_err(|e| format!("stat: {e}"))?
        .len();
    if len != size {
        return Err(format!("the sparse file is {len} bytes, not {size}"));
    }
    {
        let f = File::open(&path).map_err(|e| format!("open: {e}"))?;
        let mut hole = vec![1u8; MIB as usize];
        f.read_exact_at(&mut hole, size / 2)
            .map_err(|e| format!("read in the hole: {e}"))?;
        if hole.iter().any(|b| *b != 0) {
            return Err(format!("the hole at {} reads non-zero bytes", size / 2));
        }
    }

    // Fill everything before the last MiB, in 1 MiB writes; fsync so that
    // an error of the final flush is seen (a close's error is not).
    {
        let f = File::options()
            .write(true)
            .open(&path)
            .map_err(|e| format!("open for writing: {e}"))?;
        for i in 0..chunks - 1 {
            chunk(i, data, &mut buf);
            f.write_all_at(&buf, i * MIB)
                .map_err(|e| format!("write MiB {i}: {e}"))?;
            if i % 1024 == 1023 {
                eprintln!("  written {} GiB", (i + 1) / 1024);
            }
        }
        f.sync_all()
            .map_err(|e| format!("fsync after filling: {e}"))?;
    }
    phases.push(w.finish(
        "write: last MiB, then the rest in 1 MiB writes, fsync",
        size,
    )?);

    // A fresh mount: nothing cached in it or in the kernel for this file.
    let w = Watched::mount(rt, &store, opened.store.as_ref())?;
    let path = w.mount.path(NAME);
    let mut bad: Vec<u64> = Vec::new();
    {
        let f = File::open(&path).map_err(|e| format!("open for reading: {e}"))?;
        let mut want = vec![0u8; MIB as usize];
        for i in 0..chunks {
            f.read_exact_at(&mut buf, i * MIB)
                .map_err(|e| format!("read MiB {i}: {e}"))?;
            chunk(i, data, &mut want);
            if buf != want {
                bad.push(i);
            }
        }
    }
    phases.push(w.finish(
        "read back by a fresh mount in 1 MiB reads, every byte compared",
        size,
    )?);
    if !bad.is_empty() {
        return Err(format!(
            "{} MiB read back differ from what was written; first at MiB {:?}",
            bad.len(),
            &bad[..bad.len().min(8)]
        ));
    }

    let fsck = crate::fsck(&store)?;
    let db = store
        .source
        .strip_prefix("sqlite:")
        .ok_or("not a SQLite source")?;
    let stored = [db.to_string(), format!("{db}-wal")]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    Ok(BigFile {
        size,
        data,
        phases,
        stored,
        fsck,
    })
}
