//! Absolute paths over [`Fs`], for the tools that work without a mount.
//!
//! The kernel resolves paths for a mount; the command-line tools have no
//! kernel in between, so they walk a path here the way the kernel would:
//! component by component through [`Fs::lookup`] (which checks search
//! permission as the caller), following symbolic links in every component
//! but optionally the last, with the kernel's limit of 40 links. `..` is
//! physical: it leads to the directory a directory really sits in, not back
//! through the symbolic link that led there.

use crate::caller::Caller;
use crate::error::{posix, Errno, FsError, FsResult};
use crate::fs::{Attr, Fs};
use crate::inode::FileType;
use crate::names::PATH_MAX;
use crate::schema::ROOT_INO;

/// Symbolic links followed in one resolution before ELOOP, as Linux.
pub const MAX_SYMLINKS: usize = 40;

/// Entries asked for per readdirplus call while listing.
const LIST_PAGE: usize = 1000;

/// Where a path led.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub attr: Attr,
    /// The directory holding the final entry and its name there; `None`
    /// for the root, which has no entry.
    pub parent: Option<(u64, Vec<u8>)>,
}

/// The components of an absolute path, without empty ones and `.` left in
/// (they matter: `a/.` must be a directory). A trailing slash becomes a
/// final `.`, which makes the last real component be followed and be a
/// directory, as POSIX asks of `a/`.
pub fn components(path: &[u8]) -> FsResult<Vec<Vec<u8>>> {
    if path.first() != Some(&b'/') {
        return Err(posix(
            Errno::EINVAL,
            format!("path {:?} is not absolute", String::from_utf8_lossy(path)),
        ));
    }
    if path.len() > PATH_MAX {
        return Err(posix(Errno::ENAMETOOLONG, "path longer than PATH_MAX"));
    }
    if path.contains(&0) {
        return Err(posix(Errno::EINVAL, "path contains a NUL byte"));
    }
    let mut out: Vec<Vec<u8>> = path
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    if path.len() > 1 && path.ends_with(b"/") && !out.is_empty() {
        out.push(b".".to_vec());
    }
    Ok(out)
}

/// Whether a name read from a file system is safe to use as one component
/// of a local path: not empty, not `.` or `..`, no `/` and no NUL. Core never
/// creates other names, but a damaged or hostile store could hold them.
pub fn is_safe_name(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

/// `dir` + `/` + `name`, without doubling the root's slash.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    if !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

/// The last component of a path and the path of its directory, lexically:
/// `None` for the root, and for paths ending in `.` or `..` whose name is
/// not a name in a directory.
pub fn split_last(path: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let trimmed = {
        let mut end = path.len();
        while end > 1 && path[end - 1] == b'/' {
            end -= 1;
        }
        &path[..end]
    };
    let cut = trimmed.iter().rposition(|b| *b == b'/')?;
    let name = &trimmed[cut + 1..];
    if name.is_empty() || name == b"." || name == b".." {
        return None;
    }
    let dir = if cut == 0 {
        b"/".to_vec()
    } else {
        trimmed[..cut].to_vec()
    };
    Some((dir, name.to_vec()))
}

/// Resolve an absolute path as `caller`. Symbolic links are followed in
/// every component, and in the last one too when `follow_last` (or when
/// the path ends in `/`).
pub async fn resolve(
    fs: &Fs,
    caller: &Caller,
    path: &[u8],
    follow_last: bool,
) -> FsResult<Resolved> {
    let mut todo: std::collections::VecDeque<Vec<u8>> = components(path)?.into();
    let root = fs.getattr(ROOT_INO).await?;
    // The physical chain of directories from the root to `cur`, each with
    // the name of the next one in it.
    let mut chain: Vec<(Attr, Vec<u8>)> = Vec::new();
    let mut cur = root.clone();
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        let last = todo.is_empty();
        if cur.kind != FileType::Directory {
            return Err(posix(Errno::ENOTDIR, "a path component is not a directory"));
        }
        if name == b"." {
            // Still needs search permission, as in the kernel.
            fs.access(caller, cur.ino, 1).await?;
            continue;
        }
        if name == b".." {
            // Asked of the store rather than taken from `chain`: that also
            // checks search permission, and sees a directory moved meanwhile.
            let up = fs.lookup(caller, cur.ino, b"..").await?;
            forget(fs, up.ino).await;
            chain.pop();
            cur = up;
            continue;
        }
        let attr = fs.lookup(caller, cur.ino, &name).await?;
        forget(fs, attr.ino).await;
        if attr.kind == FileType::Symlink && (!last || follow_last) {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(posix(Errno::ELOOP, "too many symbolic links"));
            }
            let target = fs.readlink(attr.ino).await?;
            if target.is_empty() {
                return Err(posix(Errno::ENOENT, "empty symbolic link"));
            }
            let mut parts: Vec<Vec<u8>> = target
                .split(|b| *b == b'/')
                .filter(|c| !c.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            if target.ends_with(b"/") && !parts.is_empty() {
                parts.push(b".".to_vec());
            }
            for p in parts.into_iter().rev() {
                todo.push_front(p);
            }
            if target.starts_with(b"/") {
                chain.clear();
                cur = root.clone();
            }
            continue;
        }
        chain.push((cur, name));
        cur = attr;
    }
    Ok(Resolved {
        parent: chain.last().map(|(d, n)| (d.ino, n.clone())),
        attr: cur,
    })
}

/// The directory a new or removed name lives in, and the name: every
/// component but the last is resolved (following links) and must lead to a
/// directory. The name is returned as written, `.` and `..` included, so
/// each caller answers those as POSIX says for its operation. The root has
/// no parent: EINVAL.
pub async fn resolve_parent(fs: &Fs, caller: &Caller, path: &[u8]) -> FsResult<(Attr, Vec<u8>)> {
    let mut comps = components(path)?;
    if comps.last().is_some_and(|c| c == b".") && path.ends_with(b"/") {
        // A trailing slash names the component before it.
        comps.pop();
    }
    let Some(name) = comps.pop() else {
        return Err(posix(Errno::EINVAL, "the root directory has no parent"));
    };
    let mut dir_path = b"/".to_vec();
    for c in &comps {
        dir_path = join(&dir_path, c);
    }
    let dir = resolve(fs, caller, &dir_path, true).await?;
    if dir.attr.kind != FileType::Directory {
        return Err(posix(Errno::ENOTDIR, "parent is not a directory"));
    }
    Ok((dir.attr, name))
}

/// mkdir -p: make the directory and any missing parents; an existing
/// directory is fine. Missing parents get `parent_mode`, the last one
/// `mode` (both before the caller's umask).
pub async fn mkdir_all(
    fs: &Fs,
    caller: &Caller,
    path: &[u8],
    mode: u32,
    parent_mode: u32,
) -> FsResult<Attr> {
    match resolve(fs, caller, path, true).await {
        Ok(r) if r.attr.kind == FileType::Directory => return Ok(r.attr),
        Ok(_) => return Err(posix(Errno::EEXIST, "exists and is not a directory")),
        Err(e) if e.errno() == Errno::ENOENT => {}
        Err(e) => return Err(e),
    }
    let Some((dir_path, name)) = split_last(path) else {
        return Err(posix(Errno::ENOENT, "no such directory"));
    };
    let dir = Box::pin(mkdir_all(fs, caller, &dir_path, parent_mode, parent_mode)).await?;
    match fs.mkdir(caller, dir.ino, &name, mode).await {
        Ok(a) => {
            forget(fs, a.ino).await;
            Ok(a)
        }
        // Someone else made it meanwhile, or it is a dangling link.
        Err(e) if e.errno() == Errno::EEXIST => {
            let r = resolve(fs, caller, path, true).await.map_err(|_| e)?;
            if r.attr.kind == FileType::Directory {
                Ok(r.attr)
            } else {
                Err(posix(Errno::EEXIST, "exists and is not a directory"))
            }
        }
        Err(e) => Err(e),
    }
}

/// One entry of a listed directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub name: Vec<u8>,
    pub attr: Attr,
}

/// A directory's entries.
#[derive(Debug)]
pub struct Listing {
    /// With their attributes, sorted by name (bytes); `.` and `..` first
    /// when asked for.
    pub entries: Vec<Listed>,
    /// Names whose entry or inode is damaged, with the error a lookup of
    /// each gives: for the caller to report, while it goes on with the rest.
    pub damaged: Vec<(Vec<u8>, FsError)>,
}

/// Every entry of a directory with its attributes. Costs one Query per
/// 1,000 names and one batch read per 100 entries (and a lookup per
/// damaged one).
pub async fn list_dir(fs: &Fs, caller: &Caller, ino: u64, dots: bool) -> FsResult<Listing> {
    let mut h = fs.opendir(caller, ino).await?;
    let mut head = Vec::new();
    let mut rest = Vec::new();
    let mut damaged = Vec::new();
    let mut offset = 0;
    loop {
        let page = fs.readdirplus(&mut h, offset, LIST_PAGE).await?;
        let Some((last, _, _, _)) = page.last() else {
            break;
        };
        offset = *last;
        for (next, e, attr, _) in page {
            // `.` and `..` are the first two offsets. Anything later is
            // an item of the store, even if named `..` (a damaged or
            // hostile one), and is handed on for the caller to refuse.
            if next <= 2 {
                if let (true, Some(attr)) = (dots, attr) {
                    head.push(Listed { name: e.name, attr });
                }
                continue;
            }
            // readdirplus counts a kernel reference; nobody will forget
            // it here but us.
            forget(fs, e.ino).await;
            let attr = match attr {
                Some(a) => a,
                None => match fs.lookup(caller, ino, &e.name).await {
                    Ok(a) => {
                        forget(fs, a.ino).await;
                        a
                    }
                    Err(err) => {
                        damaged.push((e.name, err));
                        continue;
                    }
                },
            };
            rest.push(Listed { name: e.name, attr });
        }
    }
    rest.sort_by(|a, b| a.name.cmp(&b.name));
    damaged.sort_by(|a, b| a.0.cmp(&b.0));
    head.extend(rest);
    Ok(Listing {
        entries: head,
        damaged,
    })
}

/// The kernel's lookup count only matters under a mount; a tool drops the
/// reference at once so a long walk does not grow that table.
async fn forget(fs: &Fs, ino: u64) {
    if ino != ROOT_INO {
        fs.forget(ino, 1).await;
    }
}

/// A depth-first walk of directories, in name order. The walker visits only
/// the directories its user enters: after [`Walk::next`] hands out a
/// directory and its listing, the user calls [`Walk::enter`] for each
/// subdirectory to visit (skipping unsafe names, symbolic links, or
/// whatever it wants). Each directory carries a tag of the user's choosing.
/// Only the pending directories are held, never the whole tree.
pub struct Walk<T> {
    stack: Vec<(Vec<u8>, u64, T)>,
    entered: Vec<(Vec<u8>, u64, T)>,
    dots: bool,
}

/// A directory handed out by a walk: its path, tag, and listing (or why it
/// could not be listed, for the user to report before going on).
pub struct Visit<T> {
    pub path: Vec<u8>,
    pub ino: u64,
    pub tag: T,
    pub entries: FsResult<Listing>,
}

impl<T> Walk<T> {
    /// A walk starting at one directory.
    pub fn new(path: Vec<u8>, ino: u64, tag: T) -> Walk<T> {
        Walk {
            stack: vec![(path, ino, tag)],
            entered: Vec::new(),
            dots: false,
        }
    }

    /// List `.` and `..` too (never entered by the walk itself).
    pub fn with_dots(mut self, dots: bool) -> Walk<T> {
        self.dots = dots;
        self
    }

    /// Visit this subdirectory of the directory last handed out, after the
    /// ones entered before it and before that directory's later siblings.
    pub fn enter(&mut self, path: Vec<u8>, ino: u64, tag: T) {
        self.entered.push((path, ino, tag));
    }

    /// The next directory with its listing, or `None` when the walk is
    /// done.
    pub async fn next(&mut self, fs: &Fs, caller: &Caller) -> Option<Visit<T>> {
        while let Some(e) = self.entered.pop() {
            self.stack.push(e);
        }
        let (path, ino, tag) = self.stack.pop()?;
        let entries = list_dir(fs, caller, ino, self.dots).await;
        Some(Visit {
            path,
            ino,
            tag,
            entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::FsOptions;
    use crate::mkfs::{mkfs, MkfsOptions};
    use crate::store::{self, Billing, Counters, SqliteStore, Store};
    use std::sync::Arc;

    async fn fresh() -> Fs {
        let backend = SqliteStore::memory().expect("memory store");
        backend
            .create_tables(Billing::OnDemand)
            .await
            .expect("tables");
        let s = store::stack(backend, &Arc::new(Counters::default()));
        mkfs(
            s.as_ref(),
            &MkfsOptions {
                root_mode: 0o755,
                ..Default::default()
            },
            &|_: &str| {},
        )
        .await
        .expect("mkfs");
        Fs::open(s, FsOptions::default()).await.expect("open")
    }

    fn user(uid: u32) -> Caller {
        Caller {
            uid,
            gid: uid,
            groups: vec![],
            pid: 1,
            umask: 0o022,
        }
    }

    fn errno<T: std::fmt::Debug>(r: FsResult<T>) -> Errno {
        match r {
            Err(e) => e.errno(),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn splitting() {
        assert_eq!(components(b"/").expect("root"), Vec::<Vec<u8>>::new());
        assert_eq!(
            components(b"//a///b/").expect("path"),
            vec![b"a".to_vec(), b"b".to_vec(), b".".to_vec()]
        );
        assert_eq!(errno(components(b"a/b")), Errno::EINVAL);
        assert_eq!(errno(components(b"")), Errno::EINVAL);
        assert_eq!(errno(components(b"/a\0b")), Errno::EINVAL);
        assert_eq!(split_last(b"/a/b/"), Some((b"/a".to_vec(), b"b".to_vec())));
        assert_eq!(split_last(b"/a"), Some((b"/".to_vec(), b"a".to_vec())));
        assert_eq!(split_last(b"/"), None);
        assert_eq!(split_last(b"/a/.."), None);
        assert_eq!(join(b"/", b"x"), b"/x".to_vec());
        assert_eq!(join(b"/a", b"x"), b"/a/x".to_vec());
        assert!(is_safe_name(b"a.b"));
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
            assert!(!is_safe_name(bad));
        }
    }

    #[tokio::test]
    async fn resolves_names_links_and_dots() {
        let fs = fresh().await;
        let c = Caller::root();
        let a = fs.mkdir(&c, ROOT_INO, b"a", 0o755).await.expect("a");
        let b = fs.mkdir(&c, a.ino, b"b", 0o755).await.expect("b");
        let (f, _) = fs.create(&c, b.ino, b"f", 0o644, true).await.expect("f");
        fs.symlink(&c, ROOT_INO, b"abs", b"/a/b")
            .await
            .expect("abs");
        fs.symlink(&c, a.ino, b"rel", b"b/f").await.expect("rel");
        fs.symlink(&c, a.ino, b"up", b"../a/./b/")
            .await
            .expect("up");

        let r = resolve(&fs, &c, b"/a/b/f", false).await.expect("plain");
        assert_eq!(r.attr.ino, f.ino);
        assert_eq!(r.parent, Some((b.ino, b"f".to_vec())));
        let r = resolve(&fs, &c, b"/", false).await.expect("root");
        assert_eq!((r.attr.ino, r.parent), (ROOT_INO, None));
        // Links in the middle are always followed, the last only if asked.
        let r = resolve(&fs, &c, b"/abs/f", false).await.expect("abs/f");
        assert_eq!(r.attr.ino, f.ino);
        let r = resolve(&fs, &c, b"/a/rel", false).await.expect("link");
        assert_eq!(r.attr.kind, FileType::Symlink);
        assert_eq!(r.parent, Some((a.ino, b"rel".to_vec())));
        let r = resolve(&fs, &c, b"/a/rel", true).await.expect("followed");
        assert_eq!(r.attr.ino, f.ino);
        let r = resolve(&fs, &c, b"/a/up/f", false).await.expect("up/f");
        assert_eq!(r.attr.ino, f.ino);
        // A trailing slash follows the link and wants a directory.
        let r = resolve(&fs, &c, b"/abs/", false).await.expect("abs/");
        assert_eq!(r.attr.ino, b.ino);
        assert_eq!(
            errno(resolve(&fs, &c, b"/a/rel/", false).await),
            Errno::ENOTDIR
        );
        // `..` is physical: from b reached through /abs, it is a.
        let r = resolve(&fs, &c, b"/abs/..", false).await.expect("abs/..");
        assert_eq!(r.attr.ino, a.ino);
        assert_eq!(r.parent, Some((ROOT_INO, b"a".to_vec())));
        let r = resolve(&fs, &c, b"/../a/./b/../..", false)
            .await
            .expect("dots");
        assert_eq!(r.attr.ino, ROOT_INO);

        assert_eq!(
            errno(resolve(&fs, &c, b"/a/nope", false).await),
            Errno::ENOENT
        );
        assert_eq!(
            errno(resolve(&fs, &c, b"/a/b/f/x", false).await),
            Errno::ENOTDIR
        );
        assert_eq!(errno(resolve(&fs, &c, b"a/b", false).await), Errno::EINVAL);
    }

    #[tokio::test]
    async fn symlink_loops_end_in_eloop() {
        let fs = fresh().await;
        let c = Caller::root();
        fs.symlink(&c, ROOT_INO, b"x", b"y").await.expect("x");
        fs.symlink(&c, ROOT_INO, b"y", b"/x").await.expect("y");
        assert_eq!(errno(resolve(&fs, &c, b"/x", true).await), Errno::ELOOP);
        // Not following the last component never loops.
        assert!(resolve(&fs, &c, b"/x", false).await.is_ok());
        // A chain of exactly 40 links resolves; 41 does not.
        let d = fs.mkdir(&c, ROOT_INO, b"d", 0o755).await.expect("d");
        fs.symlink(&c, d.ino, b"l0", b"/").await.expect("l0");
        for i in 1..=MAX_SYMLINKS {
            let name = format!("l{i}");
            let target = format!("l{}", i - 1);
            fs.symlink(&c, d.ino, name.as_bytes(), target.as_bytes())
                .await
                .expect("link");
        }
        let ok = format!("/d/l{}", MAX_SYMLINKS - 1);
        assert_eq!(
            resolve(&fs, &c, ok.as_bytes(), true)
                .await
                .expect("40 links")
                .attr
                .ino,
            ROOT_INO
        );
        let too_many = format!("/d/l{MAX_SYMLINKS}");
        assert_eq!(
            errno(resolve(&fs, &c, too_many.as_bytes(), true).await),
            Errno::ELOOP
        );
    }

    #[tokio::test]
    async fn permissions_are_the_callers() {
        let fs = fresh().await;
        let root = Caller::root();
        let alice = user(1000);
        let private = fs
            .mkdir(&root, ROOT_INO, b"private", 0o700)
            .await
            .expect("private");
        fs.create(&root, private.ino, b"f", 0o644, true)
            .await
            .expect("f");
        let open = fs
            .mkdir(&root, ROOT_INO, b"open", 0o755)
            .await
            .expect("open");
        // No search permission on a directory: its names cannot be reached.
        assert_eq!(
            errno(resolve(&fs, &alice, b"/private/f", false).await),
            Errno::EACCES
        );
        assert_eq!(
            errno(resolve(&fs, &alice, b"/private/.", false).await),
            Errno::EACCES
        );
        // Nor through a symbolic link.
        fs.symlink(&root, open.ino, b"way-in", b"/private")
            .await
            .expect("link");
        assert_eq!(
            errno(resolve(&fs, &alice, b"/open/way-in/f", false).await),
            Errno::EACCES
        );
        // The directory itself is reachable, but not readable.
        let p = resolve(&fs, &alice, b"/private", false).await.expect("dir");
        assert_eq!(
            errno(list_dir(&fs, &alice, p.attr.ino, false).await),
            Errno::EACCES
        );
        // Creating in a directory one may not write to.
        assert_eq!(
            errno(mkdir_all(&fs, &alice, b"/open/new/deeper", 0o755, 0o755).await),
            Errno::EACCES
        );
        // Root may do all of it.
        assert!(resolve(&fs, &root, b"/open/way-in/f", false).await.is_ok());
        assert!(mkdir_all(&fs, &root, b"/open/new/deeper", 0o755, 0o755)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn mkdir_all_and_parents() {
        let fs = fresh().await;
        let c = Caller::root();
        let d = mkdir_all(&fs, &c, b"/x/y/z/", 0o700, 0o755)
            .await
            .expect("mkdir -p");
        assert_eq!(d.perm, 0o700);
        let y = resolve(&fs, &c, b"/x/y", false).await.expect("y");
        assert_eq!(y.attr.perm, 0o755);
        // Again: nothing to do.
        assert_eq!(
            mkdir_all(&fs, &c, b"/x/y/z", 0o700, 0o755)
                .await
                .expect("again")
                .ino,
            d.ino
        );
        fs.create(&c, y.attr.ino, b"file", 0o644, true)
            .await
            .expect("file");
        assert_eq!(
            errno(mkdir_all(&fs, &c, b"/x/y/file/sub", 0o755, 0o755).await),
            Errno::ENOTDIR
        );
        assert_eq!(
            errno(mkdir_all(&fs, &c, b"/x/y/file", 0o755, 0o755).await),
            Errno::EEXIST
        );
        let (dir, name) = resolve_parent(&fs, &c, b"/x/y/new/").await.expect("parent");
        assert_eq!((dir.ino, name), (y.attr.ino, b"new".to_vec()));
        assert_eq!(errno(resolve_parent(&fs, &c, b"/").await), Errno::EINVAL);
        assert_eq!(
            errno(resolve_parent(&fs, &c, b"/x/y/file/new").await),
            Errno::ENOTDIR
        );
    }

    #[tokio::test]
    async fn lists_and_walks_in_order() {
        let fs = fresh().await;
        let c = Caller::root();
        let a = fs.mkdir(&c, ROOT_INO, b"a", 0o755).await.expect("a");
        let b = fs.mkdir(&c, ROOT_INO, b"b", 0o755).await.expect("b");
        fs.mkdir(&c, a.ino, b"a2", 0o755).await.expect("a2");
        for n in [&b"z"[..], b"m", b"c"] {
            fs.create(&c, b.ino, n, 0o644, true).await.expect("file");
        }
        let names: Vec<Vec<u8>> = list_dir(&fs, &c, b.ino, true)
            .await
            .expect("list")
            .entries
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(
            names,
            vec![
                b".".to_vec(),
                b"..".to_vec(),
                b"c".to_vec(),
                b"m".to_vec(),
                b"z".to_vec()
            ]
        );
        let mut walk = Walk::new(b"/".to_vec(), ROOT_INO, 0usize);
        let mut seen = Vec::new();
        while let Some(v) = walk.next(&fs, &c).await {
            seen.push((String::from_utf8_lossy(&v.path).into_owned(), v.tag));
            for e in v.entries.expect("listing").entries {
                if e.attr.kind == FileType::Directory {
                    walk.enter(join(&v.path, &e.name), e.attr.ino, v.tag + 1);
                }
            }
        }
        assert_eq!(
            seen,
            vec![
                ("/".to_string(), 0),
                ("/a".to_string(), 1),
                ("/a/a2".to_string(), 2),
                ("/b".to_string(), 1)
            ]
        );
        // A walk keeps no kernel references.
        assert_eq!(fs.lookup_count(a.ino), 1);
    }
}
