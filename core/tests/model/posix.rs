//! The reference model: random namespace operations and a plain in-memory
//! model of what POSIX (Linux) answers to them.

use std::collections::BTreeMap;

use proptest::prelude::*;

use dynamofs_core::error::Errno;
use dynamofs_core::inode::FileType;

pub(crate) const NAMES: [&str; 4] = ["a", "b", "c", "d"];

/// The answers for an inode that is gone: ENOENT while its item is still
/// there (unlinked, not yet collected), ESTALE once it was collected.
pub(crate) const GONE: [Errno; 2] = [Errno::ENOENT, Errno::ESTALE];

// ---------------------------------------------------------------- ops

/// Picks a node when the op runs: `Live(i)` the i-th (modulo) of the
/// model's live directories no more than 2 deep (or, where any node fits,
/// of its live paths); `Any(i)` the i-th node ever created, which may be a
/// file or removed: the source of ENOTDIR and ENOENT answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sel {
    Live(usize),
    Any(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Plain,
    NoReplace,
    Exchange,
}

#[derive(Clone, Debug)]
pub(crate) enum Op {
    Mkdir(Sel, usize),
    Create(Sel, usize, bool),
    Symlink(Sel, usize),
    /// Link node, into directory, as name.
    Link(Sel, Sel, usize),
    Unlink(Sel, usize),
    Rmdir(Sel, usize),
    Rename(Sel, usize, Sel, usize, Mode),
    Lookup(Sel, usize),
    Getattr(Sel),
    Readdir(Sel),
}

pub(crate) fn sel() -> impl Strategy<Value = Sel> {
    prop_oneof![
        9 => (0..64usize).prop_map(Sel::Live),
        1 => (0..64usize).prop_map(Sel::Any),
    ]
}

pub(crate) fn name() -> impl Strategy<Value = usize> {
    0..NAMES.len()
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    let mode = prop_oneof![
        Just(Mode::Plain),
        Just(Mode::NoReplace),
        Just(Mode::Exchange)
    ];
    prop_oneof![
        3 => (sel(), name()).prop_map(|(d, n)| Op::Mkdir(d, n)),
        3 => (sel(), name(), any::<bool>()).prop_map(|(d, n, x)| Op::Create(d, n, x)),
        1 => (sel(), name()).prop_map(|(d, n)| Op::Symlink(d, n)),
        2 => (sel(), sel(), name()).prop_map(|(s, d, n)| Op::Link(s, d, n)),
        2 => (sel(), name()).prop_map(|(d, n)| Op::Unlink(d, n)),
        2 => (sel(), name()).prop_map(|(d, n)| Op::Rmdir(d, n)),
        5 => (sel(), name(), sel(), name(), mode)
            .prop_map(|(sd, sn, dd, dn, m)| Op::Rename(sd, sn, dd, dn, m)),
        1 => (sel(), name()).prop_map(|(d, n)| Op::Lookup(d, n)),
        1 => sel().prop_map(Op::Getattr),
        1 => sel().prop_map(Op::Readdir),
    ]
}

/// An op resolved to model node ids and names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    Mkdir(usize, &'static str),
    Create(usize, &'static str, bool),
    Symlink(usize, &'static str),
    Link(usize, usize, &'static str),
    Unlink(usize, &'static str),
    Rmdir(usize, &'static str),
    Rename(usize, &'static str, usize, &'static str, Mode),
    Lookup(usize, &'static str),
    Getattr(usize),
    Readdir(usize),
}

impl Step {
    pub(crate) fn nodes(&self) -> Vec<usize> {
        match *self {
            Step::Link(s, d, _) => vec![s, d],
            Step::Rename(s, _, d, _, _) => vec![s, d],
            Step::Mkdir(d, _)
            | Step::Create(d, _, _)
            | Step::Symlink(d, _)
            | Step::Unlink(d, _)
            | Step::Rmdir(d, _)
            | Step::Lookup(d, _)
            | Step::Getattr(d)
            | Step::Readdir(d) => vec![d],
        }
    }
}

// ---------------------------------------------------------------- model

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink,
}

pub(crate) fn kind_of(t: FileType) -> Option<Kind> {
    match t {
        FileType::Directory => Some(Kind::Dir),
        FileType::Regular => Some(Kind::File),
        FileType::Symlink => Some(Kind::Symlink),
        _ => None,
    }
}

#[derive(Clone, Debug)]
pub(crate) struct MNode {
    pub(crate) kind: Kind,
    /// Names of a non-directory; 1 for a live directory, 0 once removed.
    pub(crate) links: u64,
    /// Directories: the directory holding it.
    pub(crate) parent: usize,
    pub(crate) children: BTreeMap<&'static str, usize>,
}

/// What an op answers, in model ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Out {
    Unit,
    /// A node's kind and link count, and for create whether it is new.
    Node(usize, Kind, u64, Option<bool>),
    List(Vec<(String, usize, Kind)>),
}

pub(crate) type Answer = Result<Out, Vec<Errno>>;

pub(crate) const ROOT: usize = 0;

pub(crate) struct Model {
    pub(crate) nodes: Vec<MNode>,
}

impl Model {
    pub(crate) fn new() -> Model {
        Model {
            nodes: vec![MNode {
                kind: Kind::Dir,
                links: 1,
                parent: ROOT,
                children: BTreeMap::new(),
            }],
        }
    }

    pub(crate) fn live(&self, id: usize) -> bool {
        self.nodes[id].links > 0
    }

    pub(crate) fn nlink(&self, id: usize) -> u64 {
        let n = &self.nodes[id];
        match n.kind {
            Kind::Dir if n.links == 0 => 0,
            Kind::Dir => {
                2 + n
                    .children
                    .values()
                    .filter(|c| self.nodes[**c].kind == Kind::Dir)
                    .count() as u64
            }
            _ => n.links,
        }
    }

    pub(crate) fn node_out(&self, id: usize, created: Option<bool>) -> Out {
        Out::Node(id, self.nodes[id].kind, self.nlink(id), created)
    }

    /// What an op in directory `id` may answer, if it cannot work there.
    /// A removed directory is ENOENT while its inode is still there, and
    /// ESTALE once it is collected (in the background): a stale handle.
    pub(crate) fn dir_err(&self, id: usize) -> Option<Vec<Errno>> {
        if !self.live(id) {
            Some(GONE.to_vec())
        } else if self.nodes[id].kind != Kind::Dir {
            Some(vec![Errno::ENOTDIR])
        } else {
            None
        }
    }

    pub(crate) fn child(&self, dir: usize, name: &str) -> Option<usize> {
        self.nodes[dir].children.get(name).copied()
    }

    /// Every live path below the root, depth first in name order:
    /// (path, id, depth).
    pub(crate) fn tree(&self) -> Vec<(String, usize, usize)> {
        let mut out = vec![("/".to_string(), ROOT, 0)];
        self.walk(ROOT, "", 1, &mut out);
        out
    }

    pub(crate) fn walk(
        &self,
        dir: usize,
        path: &str,
        depth: usize,
        out: &mut Vec<(String, usize, usize)>,
    ) {
        for (name, &id) in &self.nodes[dir].children {
            let p = format!("{path}/{name}");
            out.push((p.clone(), id, depth));
            if self.nodes[id].kind == Kind::Dir {
                self.walk(id, &p, depth + 1, out);
            }
        }
    }

    pub(crate) fn show(&self, id: usize) -> String {
        match self.tree().into_iter().find(|(_, i, _)| *i == id) {
            Some((p, _, _)) => p,
            None => format!("#{id}({:?}, gone)", self.nodes[id].kind),
        }
    }

    /// A name in a directory, for traces.
    pub(crate) fn at(&self, dir: usize, name: &str) -> String {
        match self.show(dir).as_str() {
            "/" => format!("/{name}"),
            d => format!("{d}/{name}"),
        }
    }

    pub(crate) fn dir_sel(&self, s: Sel) -> usize {
        match s {
            Sel::Live(i) => {
                let dirs: Vec<usize> = self
                    .tree()
                    .into_iter()
                    .filter(|(_, id, depth)| self.nodes[*id].kind == Kind::Dir && *depth <= 2)
                    .map(|(_, id, _)| id)
                    .collect();
                dirs[i % dirs.len()]
            }
            Sel::Any(i) => i % self.nodes.len(),
        }
    }

    pub(crate) fn node_sel(&self, s: Sel) -> usize {
        match s {
            Sel::Live(i) => {
                let all = self.tree();
                all[i % all.len()].1
            }
            Sel::Any(i) => i % self.nodes.len(),
        }
    }

    pub(crate) fn resolve(&self, op: &Op) -> Step {
        let d = |s| self.dir_sel(s);
        match *op {
            Op::Mkdir(s, n) => Step::Mkdir(d(s), NAMES[n]),
            Op::Create(s, n, x) => Step::Create(d(s), NAMES[n], x),
            Op::Symlink(s, n) => Step::Symlink(d(s), NAMES[n]),
            Op::Link(src, s, n) => Step::Link(self.node_sel(src), d(s), NAMES[n]),
            Op::Unlink(s, n) => Step::Unlink(d(s), NAMES[n]),
            Op::Rmdir(s, n) => Step::Rmdir(d(s), NAMES[n]),
            Op::Rename(sd, sn, dd, dn, m) => Step::Rename(d(sd), NAMES[sn], d(dd), NAMES[dn], m),
            Op::Lookup(s, n) => Step::Lookup(d(s), NAMES[n]),
            Op::Getattr(s) => Step::Getattr(self.node_sel(s)),
            Op::Readdir(s) => Step::Readdir(d(s)),
        }
    }

    pub(crate) fn describe(&self, s: &Step) -> String {
        let (p, at) = (|id| self.show(id), |d, n| self.at(d, n));
        match *s {
            Step::Mkdir(d, n) => format!("mkdir {}", at(d, n)),
            Step::Create(d, n, x) => {
                format!("create{} {}", if x { " O_EXCL" } else { "" }, at(d, n))
            }
            Step::Symlink(d, n) => format!("symlink {}", at(d, n)),
            Step::Link(s, d, n) => format!("link {} to {}", p(s), at(d, n)),
            Step::Unlink(d, n) => format!("unlink {}", at(d, n)),
            Step::Rmdir(d, n) => format!("rmdir {}", at(d, n)),
            Step::Rename(sd, sn, dd, dn, m) => {
                format!("rename({m:?}) {} to {}", at(sd, sn), at(dd, dn))
            }
            Step::Lookup(d, n) => format!("lookup {}", at(d, n)),
            Step::Getattr(i) => format!("getattr {}", p(i)),
            Step::Readdir(d) => format!("readdir {}", p(d)),
        }
    }

    pub(crate) fn add(&mut self, dir: usize, name: &'static str, kind: Kind) -> usize {
        let id = self.nodes.len();
        self.nodes.push(MNode {
            kind,
            links: 1,
            parent: dir,
            children: BTreeMap::new(),
        });
        self.nodes[dir].children.insert(name, id);
        id
    }

    /// Whether `a` is `d` or one of its ancestors.
    pub(crate) fn above(&self, a: usize, mut d: usize) -> bool {
        loop {
            if d == a {
                return true;
            }
            if d == ROOT {
                return false;
            }
            d = self.nodes[d].parent;
        }
    }

    /// Drop one name of `id` (its entry is already gone).
    pub(crate) fn drop_link(&mut self, id: usize) {
        self.nodes[id].links -= 1;
    }

    /// Apply an op: its answer, with every errno POSIX allows when several
    /// errors apply at once (the file system may report any one of them).
    pub(crate) fn apply(&mut self, s: &Step) -> Answer {
        use Errno::*;
        match *s {
            Step::Mkdir(d, n) | Step::Symlink(d, n) => {
                if let Some(e) = self.dir_err(d) {
                    return Err(e);
                }
                if self.child(d, n).is_some() {
                    return Err(vec![EEXIST]);
                }
                let kind = if matches!(s, Step::Mkdir(..)) {
                    Kind::Dir
                } else {
                    Kind::Symlink
                };
                let id = self.add(d, n, kind);
                Ok(self.node_out(id, None))
            }
            Step::Create(d, n, excl) => {
                if let Some(e) = self.dir_err(d) {
                    return Err(e);
                }
                match self.child(d, n) {
                    Some(_) if excl => Err(vec![EEXIST]),
                    Some(c) if self.nodes[c].kind == Kind::Dir => Err(vec![EISDIR]),
                    // The core API opens what is there, a symlink included
                    // (the kernel follows symlinks before it calls create).
                    Some(c) => Ok(self.node_out(c, Some(false))),
                    None => {
                        let id = self.add(d, n, Kind::File);
                        Ok(self.node_out(id, Some(true)))
                    }
                }
            }
            Step::Link(src, d, n) => {
                let mut errs = Vec::new();
                if !self.live(src) {
                    errs.extend(GONE);
                } else if self.nodes[src].kind == Kind::Dir {
                    errs.push(EPERM);
                }
                match self.dir_err(d) {
                    Some(e) => errs.extend(e),
                    None if self.child(d, n).is_some() => errs.push(EEXIST),
                    None => {}
                }
                if !errs.is_empty() {
                    return Err(errs);
                }
                self.nodes[d].children.insert(n, src);
                self.nodes[src].links += 1;
                Ok(self.node_out(src, None))
            }
            Step::Unlink(d, n) => {
                if let Some(e) = self.dir_err(d) {
                    return Err(e);
                }
                match self.child(d, n) {
                    None => Err(vec![ENOENT]),
                    Some(c) if self.nodes[c].kind == Kind::Dir => Err(vec![EISDIR]),
                    Some(c) => {
                        self.nodes[d].children.remove(n);
                        self.drop_link(c);
                        Ok(Out::Unit)
                    }
                }
            }
            Step::Rmdir(d, n) => {
                if let Some(e) = self.dir_err(d) {
                    return Err(e);
                }
                match self.child(d, n) {
                    None => Err(vec![ENOENT]),
                    Some(c) if self.nodes[c].kind != Kind::Dir => Err(vec![ENOTDIR]),
                    Some(c) if !self.nodes[c].children.is_empty() => Err(vec![ENOTEMPTY]),
                    Some(c) => {
                        self.nodes[d].children.remove(n);
                        self.drop_link(c);
                        Ok(Out::Unit)
                    }
                }
            }
            Step::Rename(sd, sn, dd, dn, mode) => self.rename(sd, sn, dd, dn, mode),
            // Found by these tests (the fs answered a directory's lookup with
            // a link count cached before its own mkdir changed it):
            // found_lookup_stale_dir_nlink.
            Step::Lookup(d, n) => {
                if let Some(e) = self.dir_err(d) {
                    return Err(e);
                }
                match self.child(d, n) {
                    None => Err(vec![ENOENT]),
                    Some(c) => Ok(self.node_out(c, None)),
                }
            }
            Step::Getattr(i) => {
                if !self.live(i) {
                    return Err(GONE.to_vec());
                }
                Ok(self.node_out(i, None))
            }
            Step::Readdir(d) => {
                if let Some(e) = self.dir_err(d) {
                    return Err(e);
                }
                let mut l = vec![
                    (".".to_string(), d, Kind::Dir),
                    ("..".to_string(), self.nodes[d].parent, Kind::Dir),
                ];
                for (name, &c) in &self.nodes[d].children {
                    l.push((name.to_string(), c, self.nodes[c].kind));
                }
                Ok(Out::List(l))
            }
        }
    }

    /// rename(2) as Linux does it (fs/namei.c do_renameat2, vfs_rename).
    pub(crate) fn rename(
        &mut self,
        sd: usize,
        sn: &'static str,
        dd: usize,
        dn: &'static str,
        mode: Mode,
    ) -> Answer {
        use Errno::*;
        let errs: Vec<Errno> = [self.dir_err(sd), self.dir_err(dd)]
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        if !errs.is_empty() {
            return Err(errs);
        }
        let Some(src) = self.child(sd, sn) else {
            return Err(vec![ENOENT]);
        };
        let dst = self.child(dd, dn);
        let mut errs = Vec::new();
        // Linux checks RENAME_NOREPLACE against the target name before it
        // compares inodes: renaming a name onto itself, or onto another
        // name of the same inode, with RENAME_NOREPLACE is EEXIST.
        // Found by these tests (the fs answered Ok): found_noreplace_*.
        if mode == Mode::NoReplace && dst.is_some() {
            errs.push(EEXIST);
        }
        if mode == Mode::Exchange && dst.is_none() {
            errs.push(ENOENT);
        }
        if dst == Some(src) {
            // Two names of one inode (or one name): nothing to do.
            return if errs.is_empty() {
                Ok(Out::Unit)
            } else {
                Err(errs)
            };
        }
        let is_dir = |id: usize| self.nodes[id].kind == Kind::Dir;
        // The source may not become its own descendant, nor the target
        // be an ancestor of the source (it is then a non-empty directory).
        // Found by these tests (the fs answered EIO when the target's
        // cached node looked empty): found_rename_onto_parent.
        if is_dir(src) && self.above(src, dd) {
            errs.push(EINVAL);
        }
        if dst.is_some_and(|d| is_dir(d) && self.above(d, sd)) {
            errs.push(if mode == Mode::Exchange {
                EINVAL
            } else {
                ENOTEMPTY
            });
        }
        if let (Some(d), false) = (dst, mode == Mode::Exchange) {
            match (is_dir(src), is_dir(d)) {
                (true, false) => errs.push(ENOTDIR),
                (false, true) => errs.push(EISDIR),
                (true, true) if !self.nodes[d].children.is_empty() => errs.push(ENOTEMPTY),
                _ => {}
            }
        }
        if !errs.is_empty() {
            errs.sort_by_key(|e| e.raw());
            errs.dedup();
            return Err(errs);
        }
        match (mode, dst) {
            (Mode::Exchange, Some(d)) => {
                self.nodes[sd].children.insert(sn, d);
                self.nodes[dd].children.insert(dn, src);
                self.nodes[src].parent = dd;
                self.nodes[d].parent = sd;
            }
            _ => {
                self.nodes[sd].children.remove(sn);
                if let Some(d) = dst {
                    self.drop_link(d);
                }
                self.nodes[dd].children.insert(dn, src);
                self.nodes[src].parent = dd;
            }
        }
        Ok(Out::Unit)
    }
}
