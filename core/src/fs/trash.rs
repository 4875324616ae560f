//! The trash. With the superblock's `trash_days` above 0, the last name of
//! a regular file (an unlink, or a rename over it) does not orphan the
//! inode: the same transaction names it in `/.trash/YYYY-MM-DD-HH/` (UTC
//! hour of the removal) as `PARENT-INO-NAME`, and records on the inode the
//! directory and name it left, for a restore. Live mounts purge hours
//! older than `trash_days` in the background; unlinks inside the trash are
//! final. Directories, symbolic links and special files are removed as
//! before: only file data is worth keeping.
//!
//! `/.trash` is an ordinary directory (root's, mode 0700) made by the
//! first removal that needs it, so every invariant fsck checks holds for
//! it as for any other, and root can look into it through a mount.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsResult};
use crate::inode::FileType;
use crate::names::NAME_MAX;
use crate::schema::{attr, ROOT_INO};
use crate::store::{Change, Cond, Key, Table, Value, Write};
use crate::superblock::now_ns;

use super::create::counter_change;
use super::entry::{entry_key, shard_of, Entry};
use super::node::Node;
use super::remove::later;
use super::rename::RenameFlags;
use super::Fs;

/// The trash directory's name in the root.
pub const TRASH_DIR: &[u8] = b".trash";

const HOUR_NS: i64 = 3_600_000_000_000;
const DAY_NS: i64 = 24 * HOUR_NS;

/// Where a removed file goes.
pub(super) struct Slot {
    pub dir: u64,
    pub name: Vec<u8>,
}

/// The trash directory and the current hour's directory in it, as this
/// client last found them.
#[derive(Default)]
pub(super) struct Known {
    root: Option<u64>,
    hour: Option<(i64, u64)>,
}

/// A file in the trash, as `dynamofs trash list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trashed {
    /// Its name under `/.trash`: `HOUR/PARENT-INO-NAME`.
    pub entry: Vec<u8>,
    pub ino: u64,
    pub size: u64,
    pub uid: u32,
    /// The directory (inode) and name it was removed from, and when.
    pub from_dir: u64,
    pub from_name: Vec<u8>,
    pub at: i64,
}

/// What a purge removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub files: u64,
    pub bytes: u64,
}

/// `YYYY-MM-DD-HH` of an hour since 1970 (UTC), and back.
pub fn hour_name(hour: i64) -> String {
    let (y, m, d) = civil(hour.div_euclid(24));
    format!("{y:04}-{m:02}-{d:02}-{:02}", hour.rem_euclid(24))
}

fn parse_hour(name: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(name).ok()?;
    let parts: Vec<i64> = s
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [y, m, d, h] = parts[..] else { return None };
    let days = days_from_civil(y, m, d)?;
    (0..24).contains(&h).then_some(days * 24 + h)
}

/// Days since 1970 to a date (Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (civil(days) == (if m <= 2 { y + 1 } else { y }, m, d)).then_some(days)
}

/// `PARENT-INO-NAME`, cut to a name's limit (the whole name is on the
/// inode for a restore).
fn slot_name(parent: u64, ino: u64, name: &[u8]) -> Vec<u8> {
    let mut n = format!("{parent}-{ino}-").into_bytes();
    n.extend_from_slice(name);
    n.truncate(NAME_MAX);
    n
}

/// The writes that move `victim`'s last name (`name` in `parent`) into
/// the trash instead of orphaning it: in the same transaction as the
/// name's removal.
pub(super) fn trash_writes(
    victim: &Node,
    parent: u64,
    name: &[u8],
    slot: &Slot,
    now: i64,
) -> Vec<Write> {
    vec![
        Write::Update {
            table: Table::Meta,
            key: victim.inode.key(),
            changes: vec![
                Change::set(attr::CTIME, Value::N(later(now, &victim.inode))),
                Change::set(attr::TRASHED_FROM, Value::N(parent as i64)),
                Change::set(attr::TRASHED_NAME, Value::B(name.to_vec())),
                Change::set(attr::TRASHED_AT, Value::N(now)),
            ],
            cond: Some(Cond::eq(attr::NLINK, Value::N(1))),
        },
        Write::Put {
            table: Table::Meta,
            key: entry_key(slot.dir, &slot.name),
            attrs: Entry {
                ino: victim.inode.ino,
                kind: FileType::Regular,
            }
            .attrs(),
            cond: Some(Cond::NotExists),
        },
        counter_change(slot.dir, shard_of(&slot.name), 1, 0, now),
    ]
}

/// What takes a file out of the trash (a rename or a link gives it a name
/// elsewhere): its trash notes go in the same write.
pub(super) fn untrash(node: &Node, changes: &mut Vec<Change>) {
    if node.inode.trashed_from.is_some() {
        changes.extend([
            Change::remove(attr::TRASHED_FROM),
            Change::remove(attr::TRASHED_NAME),
            Change::remove(attr::TRASHED_AT),
        ]);
    }
}

impl Fs {
    /// A name in `parent` led to `node`: if the node is in the trash and
    /// the name is there too, this client may use it (see
    /// [`Fs::stale_in_trash`]). Costs nothing unless the node is trashed.
    pub(super) async fn reached(&self, parent: u64, node: &Node) {
        if node.inode.trashed_from.is_none() {
            return;
        }
        let Ok(Some(root)) = self.trash_root(false).await else {
            return;
        };
        let inside = parent == root
            || matches!(self.node(parent, false).await, Ok(p) if p.inode.parent == root);
        if inside {
            if let Ok(mut r) = self.reached_in_trash.lock() {
                r.insert(node.inode.ino);
            }
        }
    }

    /// A trashed file reached through a name outside the trash, i.e. a
    /// name the kernel cached before another client removed it: ESTALE,
    /// as for a removed file without trash, so the kernel looks it up again
    /// instead of reading what was removed.
    pub(super) fn stale_in_trash(&self, node: &Node) -> bool {
        node.inode.trashed_from.is_some()
            && !self
                .reached_in_trash
                .lock()
                .map(|r| r.contains(&node.inode.ino))
                .unwrap_or(false)
    }

    /// Where removing `name` from `parent`, the last name of `victim`,
    /// puts the file: `None` when the removal is final (no trash, not a
    /// regular file, or already in the trash).
    pub(super) async fn trash_slot(
        &self,
        parent: u64,
        name: &[u8],
        victim: &Node,
    ) -> FsResult<Option<Slot>> {
        if self.sb.trash_days == 0 || victim.kind() != FileType::Regular || victim.inode.nlink != 1
        {
            return Ok(None);
        }
        let root = self
            .trash_root(true)
            .await?
            .ok_or_else(|| posix(Errno::EIO, "the trash directory could not be made"))?;
        if parent == root
            || (parent != ROOT_INO && self.node(parent, false).await?.inode.parent == root)
        {
            return Ok(None);
        }
        let hour = now_ns().div_euclid(HOUR_NS);
        let dir = self.trash_hour(root, hour).await?;
        Ok(Some(Slot {
            dir,
            name: slot_name(parent, victim.inode.ino, name),
        }))
    }

    /// The cache's part of a commit that trashed a file into `slot`.
    pub(super) fn trashed(&self, slot: &Slot, now: i64) {
        self.cache.forget_entry(slot.dir, &slot.name);
        self.dir_changed(slot.dir, shard_of(&slot.name), 1, 0, now);
    }

    /// Forget where the trash is: a commit into it failed, perhaps because
    /// a purge removed the hour's directory.
    pub(super) fn trash_moved(&self) {
        if let Ok(mut k) = self.trash.lock() {
            *k = Known::default();
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.trash.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `/.trash`, made (as root, 0700) if `make` and it is missing.
    async fn trash_root(&self, make: bool) -> FsResult<Option<u64>> {
        if let Some(r) = self.known().root {
            return Ok(Some(r));
        }
        let r = self.subdir(ROOT_INO, TRASH_DIR, make).await?;
        if let Some(r) = r {
            self.known().root = Some(r);
        }
        Ok(r)
    }

    async fn trash_hour(&self, root: u64, hour: i64) -> FsResult<u64> {
        if let Some((h, ino)) = self.known().hour {
            if h == hour {
                return Ok(ino);
            }
        }
        let ino = self
            .subdir(root, hour_name(hour).as_bytes(), true)
            .await?
            .ok_or_else(|| posix(Errno::EIO, "a trash directory could not be made"))?;
        self.known().hour = Some((hour, ino));
        Ok(ino)
    }

    /// The directory `name` in `dir`, made if `make` and missing (another
    /// client may make it at the same moment: then theirs is used).
    async fn subdir(&self, dir: u64, name: &[u8], make: bool) -> FsResult<Option<u64>> {
        for _ in 0..3 {
            if let Some(e) = self.entry(dir, name, true).await? {
                if e.kind != FileType::Directory {
                    return Err(posix(
                        Errno::EIO,
                        format!(
                            "{} in the trash is not a directory: rename it away",
                            String::from_utf8_lossy(name)
                        ),
                    ));
                }
                return Ok(Some(e.ino));
            }
            if !make {
                return Ok(None);
            }
            match self.mkdir(&Caller::root(), dir, name, 0o700).await {
                Ok(a) => {
                    self.forget(a.ino, 1).await;
                    return Ok(Some(a.ino));
                }
                Err(e) if e.errno() == Errno::EEXIST => continue,
                Err(e) => return Err(e),
            }
        }
        Err(posix(Errno::EIO, "the trash directory keeps changing"))
    }

    /// Every file in the trash, oldest hour first.
    pub async fn trash_list(&self) -> FsResult<Vec<Trashed>> {
        let root_caller = Caller::root();
        let Some(root) = self.trash_root(false).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for hour in crate::path::list_dir(self, &root_caller, root, false)
            .await?
            .entries
        {
            if hour.attr.kind != FileType::Directory {
                continue;
            }
            let files = crate::path::list_dir(self, &root_caller, hour.attr.ino, false).await?;
            let keys: Vec<Key> = files
                .entries
                .iter()
                .map(|f| crate::inode::inode_key(f.attr.ino))
                .collect();
            let items = self.store.batch_get(Table::Meta, &keys, true).await?;
            for (f, item) in files.entries.into_iter().zip(items) {
                let a = item.map(|i| i.attrs).unwrap_or_default();
                let mut entry = hour.name.clone();
                entry.push(b'/');
                entry.extend_from_slice(&f.name);
                out.push(Trashed {
                    entry,
                    ino: f.attr.ino,
                    size: f.attr.size,
                    uid: f.attr.uid,
                    from_dir: a.get(attr::TRASHED_FROM).and_then(Value::as_n).unwrap_or(0) as u64,
                    from_name: a
                        .get(attr::TRASHED_NAME)
                        .and_then(Value::as_b)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default(),
                    at: a.get(attr::TRASHED_AT).and_then(Value::as_n).unwrap_or(0),
                });
            }
        }
        Ok(out)
    }

    /// Put a trashed file (`HOUR/NAME` under `/.trash`) back: under the
    /// name it had, in the directory it left or in `to`. Never over an
    /// existing name. Returns the directory and name it went to.
    pub async fn trash_restore(&self, entry: &[u8], to: Option<u64>) -> FsResult<(u64, Vec<u8>)> {
        let root_caller = Caller::root();
        let bad = || posix(Errno::ENOENT, "no such file in the trash");
        let root = self.trash_root(false).await?.ok_or_else(bad)?;
        let slash = entry.iter().position(|b| *b == b'/').ok_or_else(bad)?;
        let (hour, name) = (&entry[..slash], &entry[slash + 1..]);
        let hour_dir = self.entry(root, hour, true).await?.ok_or_else(bad)?.ino;
        let e = self.entry(hour_dir, name, true).await?.ok_or_else(bad)?;
        let item = self
            .store
            .get(Table::Meta, &crate::inode::inode_key(e.ino), true)
            .await?
            .ok_or_else(bad)?;
        let a = &item.attrs;
        let from = a.get(attr::TRASHED_FROM).and_then(Value::as_n);
        let new_name = a
            .get(attr::TRASHED_NAME)
            .and_then(Value::as_b)
            .unwrap_or(name)
            .to_vec();
        let dir = match (to, from) {
            (Some(d), _) => d,
            (None, Some(d)) => d as u64,
            (None, None) => {
                return Err(posix(
                    Errno::EINVAL,
                    "the trash does not say where this file came from: give a directory for it",
                ))
            }
        };
        let flags = RenameFlags {
            noreplace: true,
            exchange: false,
        };
        match self
            .rename(&root_caller, hour_dir, name, dir, &new_name, flags)
            .await
        {
            Ok(()) => {}
            Err(e) if e.errno() == Errno::ENOENT => {
                return Err(posix(
                    Errno::ENOENT,
                    "the directory it was removed from is gone: give another directory for it",
                ))
            }
            Err(e) => return Err(e),
        }
        self.cache.forget_node(e.ino);
        Ok((dir, new_name))
    }

    /// The path of directory `ino`, found by walking up its parents and
    /// listing each to find its name (one listing per level: for the few
    /// directories a trash listing names). `None` if it is gone.
    pub async fn dir_path(&self, ino: u64) -> FsResult<Option<Vec<u8>>> {
        let root_caller = Caller::root();
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut cur = ino;
        while cur != ROOT_INO {
            let node = match self.node(cur, true).await {
                Ok(n) if n.is_dir() && !n.removed() => n,
                Ok(_) => return Ok(None),
                Err(e) if matches!(e.errno(), Errno::ENOENT | Errno::ESTALE) => return Ok(None),
                Err(e) => return Err(e),
            };
            let parent = node.inode.parent;
            let listing = crate::path::list_dir(self, &root_caller, parent, false).await?;
            let Some(l) = listing.entries.into_iter().find(|l| l.attr.ino == cur) else {
                return Ok(None);
            };
            names.push(l.name);
            if names.len() > 4096 {
                return Err(posix(Errno::ELOOP, "a directory's parents form a loop"));
            }
            cur = parent;
        }
        let mut p = Vec::new();
        for n in names.iter().rev() {
            p.push(b'/');
            p.extend_from_slice(n);
        }
        if p.is_empty() {
            p.push(b'/');
        }
        Ok(Some(p))
    }

    /// Remove for good every file trashed in an hour that ended before
    /// `cutoff` (nanoseconds since 1970), then that hour's directory.
    /// Several clients may purge at once: what another removed first is
    /// skipped.
    pub async fn purge_trash(&self, cutoff: i64) -> FsResult<Purged> {
        let root_caller = Caller::root();
        let mut done = Purged::default();
        let Some(root) = self.trash_root(false).await? else {
            return Ok(done);
        };
        for hour in crate::path::list_dir(self, &root_caller, root, false)
            .await?
            .entries
        {
            let Some(h) = parse_hour(&hour.name) else {
                continue;
            };
            if (h + 1) * HOUR_NS > cutoff || hour.attr.kind != FileType::Directory {
                continue;
            }
            let files = crate::path::list_dir(self, &root_caller, hour.attr.ino, false).await?;
            for f in files.entries {
                match self.unlink(&root_caller, hour.attr.ino, &f.name).await {
                    Ok(()) => {
                        done.files += 1;
                        done.bytes += f.attr.size;
                    }
                    Err(e) if e.errno() == Errno::ENOENT => {}
                    Err(e) => return Err(e),
                }
            }
            match self.rmdir(&root_caller, root, &hour.name).await {
                Ok(()) => {
                    self.trash_moved();
                }
                Err(e) if matches!(e.errno(), Errno::ENOENT | Errno::ENOTEMPTY) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// What a purge by the file system's own setting removes: files
    /// trashed more than `trash_days` ago.
    pub async fn purge_expired_trash(&self) -> FsResult<Purged> {
        if self.sb.trash_days == 0 {
            return Ok(Purged::default());
        }
        self.purge_trash(now_ns() - self.sb.trash_days as i64 * DAY_NS)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_named_by_utc_date_and_read_back() {
        assert_eq!(hour_name(0), "1970-01-01-00");
        // 2026-12-07 11:00 UTC
        let h = 1_796_641_200 / 3600;
        assert_eq!(hour_name(h), "2026-12-07-11");
        assert_eq!(hour_name(h + 13), "2026-12-08-00");
        for x in [0, h, h + 13, 11_000 * 24 + 5, 59 * 24 + 23] {
            assert_eq!(parse_hour(hour_name(x).as_bytes()), Some(x), "{x}");
        }
        for bad in [
            "2026-02-30-01",
            "2026-12-07-24",
            "x",
            "2026-12-07",
            "2026-13-01-00",
        ] {
            assert_eq!(parse_hour(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn slot_names_fit_a_name() {
        let long = vec![b'x'; 255];
        let n = slot_name(u64::MAX, u64::MAX, &long);
        assert_eq!(n.len(), NAME_MAX);
        assert!(n.starts_with(format!("{}-{}-x", u64::MAX, u64::MAX).as_bytes()));
        assert_eq!(slot_name(1, 2, b"f"), b"1-2-f");
    }
}
