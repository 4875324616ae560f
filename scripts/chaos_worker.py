#!/usr/bin/env python3
"""The processes of a chaos run, one role each, working through one mount.

scripts/chaos starts them (python3 scripts/chaos_worker.py ROLE WID GEN
MOUNT WORK SEED TTL) and reads what they record; they are not meant to be run
by hand. Every worker appends JSON lines to WORK/journal/WID.jsonl (one line
per event worth checking later, and its operation counts when it exits) and
stops when WORK/stop exists. When its mount disappears under it (the run
killed the mount's server) it records `gone` and exits with status 3;
scripts/chaos starts it again, generation GEN+1, once the mount is back.

Roles:
  writer    owns the tree own/WID: creates, overwrites (some past the end,
            leaving holes), appends, truncates,
            rewrites, renames files and directories, unlinks, sets and
            removes xattrs. Its model of the tree (WORK/state/WID.pickle) is
            what it was told is durable (fsync or close returned, or the
            namespace call did): the run's expected final state. The op in
            flight is saved first, so a restart after a kill knows which
            path may hold either state. It also publishes files into pub/:
            written under a dot name, synced, then renamed into place, their
            contents derived from their names.
  reader    reads published files, slowly, while other mounts unlink them or
            truncate them to zero; every byte must be the one written
            (zeros where data was written are the worst finding). It
            unlinks and truncates them too.
  appender  appends records, each unique, to the shared spool/ files under
            exclusive fcntl locks: a record whose unlock (and close)
            returned must be in the file exactly once.
  racer     renames the directories of race/ into each other from every
            mount, with mkdir, rmdir, creates and unlinks: the namespace must
            stay a tree (fsck checks), and only the errors POSIX allows come
            back.
  holder    stall probe: opens locks/victim-WID (another mount wrote it), takes an
            exclusive lock on locks/probe, then obeys "stat" (of the
            victim), "readfar" (a read of the victim past what the kernel
            cached), "write", "unlock",
            "close" on stdin, answering "ok", "zeros", "wrong" or the errno
            name.
  taker     stall probe: takes the lock the holder had (blocking), appends a
            line, prints how long it waited and when (monotonic clock) it
            got it.
"""

import errno
import fcntl
import hashlib
import json
import os
import pickle
import random
import sys
import time
import traceback

# The mount is gone under us: its server was killed.
GONE = {errno.ENOTCONN, errno.ECONNABORTED}

# Kept small: the DynamoDB test server holds everything in memory.
MAX_FILE = 48 * 1024
MAX_FILES = 14
MAX_DIRS = 6
MAX_PUBLISHED = 20
NONZERO = bytes([1]) + bytes(range(1, 256))


class MountGone(Exception):
    pass


def blob(seed, n):
    """n bytes from seed, never zero: a zero read back is never data."""
    return random.Random(seed).randbytes(n).translate(NONZERO)


def record_line(rid):
    """A spool record: its id and a filler derived from it, so a torn or
    mixed line does not pass for a record."""
    filler = hashlib.sha256(rid.encode()).hexdigest()
    n = 8 + int(filler[:2], 16) % 48
    return ("%s %s\n" % (rid, (filler * 2)[:n])).encode()


VICTIM_SIZE = 640 * 1024


def victim_data(wid):
    """What the stall probe's file holds."""
    return blob(int(hashlib.sha256(wid.encode()).hexdigest()[:8], 16), VICTIM_SIZE)


def published_name(wid, seq, seed, n):
    return "p-%s-%d-%d-%d" % (wid, seq, seed, n)


def parse_published(name):
    """(seed, length) of a published or half-published (dot) name."""
    parts = name.lstrip(".").split("-")
    return int(parts[-2]), int(parts[-1])


def first_difference(got, want):
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return i
    return min(len(got), len(want))


def read_tree(root):
    """Directories, files (bytes) and user xattrs below root, as a model."""
    dirs, files, xattrs = {""}, {}, {}
    stack = [""]
    while stack:
        rel = stack.pop()
        for e in os.scandir(os.path.join(root, rel) if rel else root):
            r = e.name if not rel else rel + "/" + e.name
            if e.is_dir(follow_symlinks=False):
                dirs.add(r)
                stack.append(r)
            else:
                with open(e.path, "rb") as f:
                    files[r] = f.read()
            x = {n: os.getxattr(e.path, n, follow_symlinks=False)
                 for n in os.listxattr(e.path, follow_symlinks=False) if n.startswith("user.")}
            if x:
                xattrs[r] = x
    return {"dirs": dirs, "files": files, "xattrs": xattrs}


def describe_tree_difference(want, got, skip=()):
    """What differs between two models, outside the paths in skip; None if
    nothing does."""
    for kind in ("dirs", "files"):
        a, b = set(want[kind]) - set(skip), set(got[kind]) - set(skip)
        if a - b:
            return "%s missing: %s" % (kind, sorted(a - b)[:5])
        if b - a:
            return "%s not expected: %s" % (kind, sorted(b - a)[:5])
    for p in sorted(set(want["files"]) - set(skip)):
        w, g = want["files"][p], got["files"][p]
        if w != g:
            i = first_difference(g, w)
            zeros = i < len(g) and g[i] == 0 and (i >= len(w) or w[i] != 0)
            return "%s: %d bytes, %d expected, first difference at byte %d%s" % (
                p, len(g), len(w), i, " (zeros where data was written)" if zeros else "")
    for p in sorted(set(want["xattrs"]) | set(got["xattrs"])):
        if p in skip:
            continue
        if want["xattrs"].get(p, {}) != got["xattrs"].get(p, {}):
            return "%s: xattrs %s, expected %s" % (
                p, sorted(got["xattrs"].get(p, {})), sorted(want["xattrs"].get(p, {})))
    return None


def mixed_ok(before, after, got):
    """Whether got can be what a mount killed during the change from before
    to after left behind: every byte one of the two versions' bytes at that
    offset, no longer than the longer one."""
    before = before or b""
    if len(got) > max(len(before), len(after)):
        return False
    for i, c in enumerate(got):
        if not ((i < len(before) and before[i] == c) or (i < len(after) and after[i] == c)):
            return False
    return True


class Worker:
    def __init__(self, role, wid, gen, mnt, work, seed, ttl):
        self.role, self.wid, self.gen = role, wid, int(gen)
        self.mnt, self.work, self.ttl = mnt, work, float(ttl)
        self.rng = random.Random("%s-%s-%s" % (seed, wid, gen))
        self.journal = open(os.path.join(work, "journal", wid + ".jsonl"), "a", buffering=1)
        self.counts = {}

    def log(self, ev, **kw):
        kw.update(ev=ev, t=time.monotonic(), gen=self.gen)
        self.journal.write(json.dumps(kw) + "\n")

    def finding(self, what, **kw):
        self.log("finding", what=what, **kw)

    def count(self, kind, n=1):
        self.counts[kind] = self.counts.get(kind, 0) + n

    def stopping(self):
        return os.path.exists(os.path.join(self.work, "stop"))

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def unexpected(self, kind, e, **kw):
        """An error the operation should not give: gone mounts end the
        worker, EIO and ESTALE are recorded for the run to judge against the
        stalls (lease loss), anything else is a finding."""
        if e.errno in GONE:
            raise MountGone()
        if e.errno in (errno.EIO, errno.ESTALE):
            self.log("ioerr", op=kind, errno=errno.errorcode[e.errno], **kw)
        else:
            self.finding("%s failed: %s" % (kind, e), op=kind, errno=errno.errorcode.get(e.errno), **kw)

    def run(self):
        code = 0
        try:
            getattr(self, "run_" + self.role)()
        except MountGone:
            self.log("gone")
            code = 3
        except OSError as e:
            if e.errno not in GONE:
                raise
            self.log("gone")
            code = 3
        self.log("stats", role=self.role, counts=self.counts)
        return code

    # ---- writer -------------------------------------------------------

    def state_path(self):
        return os.path.join(self.work, "state", self.wid + ".pickle")

    def save(self):
        tmp = self.state_path() + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(self.model, f)
        os.replace(tmp, self.state_path())

    def own(self, rel=""):
        return os.path.join(self.mnt, "own", self.wid, rel) if rel else os.path.join(self.mnt, "own", self.wid)

    def run_writer(self):
        if os.path.exists(self.state_path()):
            with open(self.state_path(), "rb") as f:
                self.model = pickle.load(f)
            self.recover()
        else:
            self.model = {"dirs": {""}, "files": {}, "xattrs": {}, "pending": None, "seq": 0}
            os.makedirs(self.own(), exist_ok=True)
            self.save()
        ops = [
            ("create", 10), ("overwrite", 10), ("append", 8), ("truncate", 5), ("rewrite", 5),
            ("rename_file", 6), ("rename_dir", 4), ("mkdir", 3), ("rmdir", 2), ("unlink", 5),
            ("setxattr", 5), ("removexattr", 2), ("verify", 2), ("publish", 6),
            ("bad_rename", 1), ("bad_rmdir", 1),
        ]
        names = [o for o, _ in ops]
        weights = [w for _, w in ops]
        published = 0
        while not self.stopping():
            kind = self.rng.choices(names, weights)[0]
            if len(self.model["files"]) >= MAX_FILES and kind in ("create", "publish"):
                kind = "unlink"
            if kind == "publish":
                published += 1
                self.publish(published)
                continue
            op = self.plan(kind)
            if op is None:
                continue
            self.apply(op)

    def next_name(self, prefix):
        self.model["seq"] += 1
        return "%s%d-%d" % (prefix, self.gen, self.model["seq"])

    def pick_file(self):
        files = sorted(self.model["files"])
        return self.rng.choice(files) if files else None

    def plan(self, kind):
        """The next change as a plain dict (saved before it is made)."""
        m, rng = self.model, self.rng
        dirs = sorted(m["dirs"])
        f = self.pick_file()
        if kind == "create":
            d = rng.choice(dirs)
            name = self.next_name("f")
            return dict(kind=kind, path=(d + "/" if d else "") + name,
                        seed=rng.getrandbits(32), len=rng.randrange(MAX_FILE))
        if kind in ("overwrite", "append", "truncate", "rewrite", "setxattr", "removexattr") and f is None:
            return None
        if kind == "overwrite":
            size = len(m["files"][f])
            if rng.random() < 0.8 or size >= MAX_FILE - 1:
                off = rng.randrange(size + 1)
            else:
                # Past the end: the blocks it skips are holes.
                off = rng.randrange(size, MAX_FILE - 1)
            n = rng.randrange(1, max(2, min(MAX_FILE - off, 40000)))
            return dict(kind=kind, path=f, off=off, seed=rng.getrandbits(32), len=n)
        if kind == "append":
            n = rng.randrange(1, max(2, min(MAX_FILE - len(m["files"][f]), 20000)))
            return dict(kind=kind, path=f, seed=rng.getrandbits(32), len=n)
        if kind == "truncate":
            size = len(m["files"][f])
            # Mostly shorter; sometimes longer, which must read zeros.
            new = rng.randrange(size + 1) if rng.random() < 0.8 or size >= MAX_FILE else rng.randrange(size, MAX_FILE)
            return dict(kind=kind, path=f, size=new)
        if kind == "rewrite":
            return dict(kind=kind, path=f, seed=rng.getrandbits(32), len=rng.randrange(MAX_FILE))
        if kind == "unlink":
            return dict(kind=kind, path=f) if f else None
        if kind == "rename_file":
            if f is None:
                return None
            d = rng.choice(dirs)
            return dict(kind=kind, src=f, dst=(d + "/" if d else "") + self.next_name("f"))
        if kind == "mkdir":
            if len(dirs) >= MAX_DIRS:
                return None
            d = rng.choice(dirs)
            return dict(kind=kind, path=(d + "/" if d else "") + self.next_name("d"))
        movable = [d for d in dirs if d]
        if kind == "rename_dir":
            if not movable:
                return None
            src = rng.choice(movable)
            targets = [d for d in dirs if d != src and not d.startswith(src + "/")]
            t = rng.choice(targets)
            return dict(kind=kind, src=src, dst=(t + "/" if t else "") + self.next_name("d"))
        if kind == "bad_rename":
            # Into its own subtree: EINVAL, and nothing changes.
            if not movable:
                return None
            src = rng.choice(movable)
            return dict(kind=kind, src=src, dst=src + "/" + self.next_name("d"), expect="EINVAL")
        if kind == "rmdir":
            empty = [d for d in movable if not any(p.startswith(d + "/") for p in list(m["dirs"]) + list(m["files"]))]
            return dict(kind=kind, path=rng.choice(empty)) if empty else None
        if kind == "bad_rmdir":
            full = [d for d in movable if any(p.startswith(d + "/") for p in list(m["dirs"]) + list(m["files"]))]
            return dict(kind=kind, path=rng.choice(full), expect="ENOTEMPTY") if full else None
        if kind == "setxattr":
            target = rng.choice([f] + movable) if movable else f
            value = blob(rng.getrandbits(32), rng.randrange(1, 200))
            return dict(kind=kind, path=target, name="user.k%d" % rng.randrange(3), value=value)
        if kind == "removexattr":
            have = [(p, n) for p, x in m["xattrs"].items() for n in x]
            if not have:
                return None
            p, n = rng.choice(sorted(have))
            return dict(kind=kind, path=p, name=n)
        if kind == "verify":
            return dict(kind=kind)
        raise ValueError(kind)

    @staticmethod
    def after(model, op):
        """The model once op is done (op refused by design: unchanged)."""
        m = {"dirs": set(model["dirs"]), "files": dict(model["files"]),
             "xattrs": {p: dict(x) for p, x in model["xattrs"].items()},
             "pending": None, "seq": model["seq"]}
        k, files = op["kind"], m["files"]
        if k in ("create", "rewrite"):
            files[op["path"]] = blob(op["seed"], op["len"])
        elif k == "overwrite":
            b = bytearray(files[op["path"]])
            b.extend(bytes(max(0, op["off"] - len(b))))
            b[op["off"]:op["off"] + op["len"]] = blob(op["seed"], op["len"])
            files[op["path"]] = bytes(b)
        elif k == "append":
            files[op["path"]] += blob(op["seed"], op["len"])
        elif k == "truncate":
            b = files[op["path"]]
            files[op["path"]] = b[:op["size"]] + bytes(max(0, op["size"] - len(b)))
        elif k == "unlink":
            del files[op["path"]]
            m["xattrs"].pop(op["path"], None)
        elif k in ("rename_file", "rename_dir"):
            src, dst = op["src"], op["dst"]
            moved = lambda p: p == src or p.startswith(src + "/")
            to = lambda p: dst + p[len(src):]
            m["dirs"] = {to(p) if moved(p) else p for p in m["dirs"]}
            m["files"] = {to(p) if moved(p) else p: v for p, v in files.items()}
            m["xattrs"] = {to(p) if moved(p) else p: v for p, v in m["xattrs"].items()}
        elif k == "mkdir":
            m["dirs"].add(op["path"])
        elif k == "rmdir":
            m["dirs"].discard(op["path"])
            m["xattrs"].pop(op["path"], None)
        elif k == "setxattr":
            m["xattrs"].setdefault(op["path"], {})[op["name"]] = op["value"]
        elif k == "removexattr":
            x = m["xattrs"][op["path"]]
            del x[op["name"]]
            if not x:
                del m["xattrs"][op["path"]]
        return m

    def write_data(self, fd, data, off):
        """Write in pieces of random sizes, as applications do."""
        pos = 0
        while pos < len(data):
            n = min(len(data) - pos, self.rng.choice([1, 100, 4096, 5000, 16384, 30000]))
            w = os.pwrite(fd, data[pos:pos + n], off + pos)
            pos += w

    def finish(self, fd):
        """fsync then close, or close alone (which flushes too)."""
        if self.rng.random() < 0.7:
            os.fsync(fd)
        os.close(fd)

    def execute(self, op):
        """Make the change through the mount."""
        k, p = op["kind"], self.own(op.get("path", ""))
        if k == "create":
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            self.write_data(fd, blob(op["seed"], op["len"]), 0)
            self.finish(fd)
        elif k == "rewrite":
            fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
            self.write_data(fd, blob(op["seed"], op["len"]), 0)
            self.finish(fd)
        elif k == "overwrite":
            fd = os.open(p, os.O_RDWR)
            self.write_data(fd, blob(op["seed"], op["len"]), op["off"])
            self.finish(fd)
        elif k == "append":
            fd = os.open(p, os.O_WRONLY | os.O_APPEND)
            data, pos = blob(op["seed"], op["len"]), 0
            while pos < len(data):
                pos += os.write(fd, data[pos:pos + self.rng.choice([7, 4096, 20000])])
            self.finish(fd)
        elif k == "truncate":
            if self.rng.random() < 0.5:
                os.truncate(p, op["size"])
            else:
                fd = os.open(p, os.O_WRONLY)
                os.ftruncate(fd, op["size"])
                self.finish(fd)
        elif k == "unlink":
            os.unlink(p)
        elif k in ("rename_file", "rename_dir", "bad_rename"):
            os.rename(self.own(op["src"]), self.own(op["dst"]))
        elif k == "mkdir":
            os.mkdir(p)
        elif k in ("rmdir", "bad_rmdir"):
            os.rmdir(p)
        elif k == "setxattr":
            os.setxattr(p, op["name"], op["value"])
        elif k == "removexattr":
            os.removexattr(p, op["name"])
        elif k == "verify":
            diff = describe_tree_difference(self.model, read_tree(self.own()))
            if diff:
                self.finding("own tree differs from what was made durable: " + diff)
                self.adopt(read_tree(self.own()))
        else:
            raise ValueError(k)

    def apply(self, op):
        kind = op["kind"]
        self.model["pending"] = op
        self.save()
        try:
            self.execute(op)
        except OSError as e:
            want = op.get("expect")
            got = errno.errorcode.get(e.errno)
            if want and got == want:
                self.count(kind)
                self.model["pending"] = None
                self.save()
                return
            self.unexpected(kind, e, path=op.get("path") or op.get("src"), writer=True)
            self.recover()
            return
        if op.get("expect"):
            self.finding("%s succeeded; expected %s" % (kind, op["expect"]), op=op)
            self.recover()
            return
        self.count(kind)
        if kind != "verify":
            self.model = self.after(self.model, op)
        self.model["pending"] = None
        self.save()

    def adopt(self, actual):
        self.model["dirs"], self.model["files"], self.model["xattrs"] = actual["dirs"], actual["files"], actual["xattrs"]
        self.model["pending"] = None
        self.save()

    def recover(self):
        """After a kill or an unexpected error: the tree must be the model,
        except that the pending change may be done, not done, or (for data)
        half done. Then the tree as found becomes the model."""
        op = self.model.get("pending")
        actual = read_tree(self.own())
        if op is None:
            diff = describe_tree_difference(self.model, actual)
            if diff:
                self.finding("after a restart, the own tree differs from what was made durable: " + diff)
            self.adopt(actual)
            return
        self.log("recover", op={k: v for k, v in op.items() if k != "value"})
        after = self.after(self.model, op)
        if op["kind"] in ("create", "rewrite", "overwrite", "append", "truncate"):
            p = op["path"]
            diff = describe_tree_difference(self.model, actual, skip=[p])
            before = self.model["files"].get(p)
            got = actual["files"].get(p)
            if got is None and op["kind"] != "create":
                self.finding("%s of %s interrupted: the file is gone" % (op["kind"], p))
            elif got is not None and not mixed_ok(before, after["files"][p], got):
                i = first_difference(got, after["files"][p])
                self.finding("%s of %s interrupted: %d bytes that are neither the old nor the new data (first difference with the new at %d%s)"
                             % (op["kind"], p, len(got), i, ", zeros" if i < len(got) and got[i] == 0 else ""))
            if got is not None:
                # Blocks a killed flush left past the size belong to this inode.
                self.log("crash_inode", ino=os.stat(self.own(p)).st_ino, path=p)
        else:
            diff = describe_tree_difference(self.model, actual)
            if diff is not None:
                diff = describe_tree_difference(after, actual)
                if diff is not None:
                    diff = "neither before nor after %s: %s" % (op["kind"], diff)
        if diff:
            self.finding("after an interrupted %s, the own tree differs from what was made durable: %s" % (op["kind"], diff))
        self.count("recovered")
        self.adopt(actual)

    def publish(self, n):
        """A file for the readers: written under a dot name, synced, renamed
        into place; its contents follow from its name."""
        seed, size = self.rng.getrandbits(32), self.rng.randrange(1, MAX_FILE)
        name = published_name(self.wid, self.gen * 100000 + n, seed, size)
        tmp = self.path("pub", "." + name)
        self.log("publish_try", name=name)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            self.write_data(fd, blob(seed, size), 0)
            self.finish(fd)
            os.rename(tmp, self.path("pub", name))
        except OSError as e:
            self.unexpected("publish", e, path=name, writer=True)
            return
        self.count("publish")
        self.log("published", name=name)

    # ---- reader -------------------------------------------------------

    def run_reader(self):
        pub = self.path("pub")
        while not self.stopping():
            names = sorted(n for n in os.listdir(pub) if n.startswith("p-"))
            self.count("readdir")
            if not names:
                time.sleep(0.2)
                continue
            if len(names) > MAX_PUBLISHED or self.rng.random() < 0.2:
                self.remove_published(self.rng.choice(names))
            else:
                self.read_published(self.rng.choice(names))

    def remove_published(self, name):
        p = self.path("pub", name)
        try:
            # Give readers elsewhere time to open it first.
            if time.time() - os.stat(p).st_mtime < 1.0:
                return
            if self.rng.random() < 0.3:
                self.log("truncate_try", name=name)
                os.truncate(p, 0)
                self.count("truncate0")
                self.log("truncated", name=name)
            else:
                self.log("unlink_try", name=name)
                os.unlink(p)
                self.count("unlink_published")
                self.log("unlinked", name=name)
        except OSError as e:
            if e.errno == errno.ENOENT:
                self.count("raced_unlink")
                return
            self.unexpected("remove_published", e, path=name)

    def read_published(self, name):
        seed, size = parse_published(name)
        want = blob(seed, size)
        t_open = time.monotonic()
        try:
            fd = os.open(self.path("pub", name), os.O_RDONLY)
        except OSError as e:
            if e.errno == errno.ENOENT:
                self.count("raced_open")
                return
            self.unexpected("open_published", e, path=name, t_open=t_open)
            return
        # Some reads crawl over several leases, so that other mounts unlink
        # and collect around them.
        pause = self.ttl * 2.0 / 8 if self.rng.random() < 0.3 else 0.02
        off, bad = 0, False
        try:
            while True:
                got = os.read(fd, self.rng.choice([1000, 4096, 16384, 40000]))
                if not got:
                    break
                w = want[off:off + len(got)]
                if got != w:
                    i = first_difference(got, w)
                    zeros = i < len(got) and got[i] == 0
                    self.finding("read of published %s (opened %.1f s ago): wrong bytes at %d%s"
                                 % (name, time.monotonic() - t_open, off + i, " (zeros where data was written)" if zeros else ""),
                                 path=name, zeros=zeros)
                    bad = True
                    break
                off += len(got)
                self.count("read_bytes", len(got))
                if self.stopping():
                    break
                time.sleep(pause * self.rng.random())
            if off < size and not bad and not self.stopping():
                # Only a truncation to zero elsewhere may cut a published
                # file short; scripts/chaos checks that one happened.
                self.log("short_read", name=name, at=off)
        except OSError as e:
            self.unexpected("read_published", e, path=name, t_open=t_open)
        finally:
            try:
                os.close(fd)
            except OSError as e:
                if e.errno in GONE:
                    raise MountGone()
        self.count("read_file")

    # ---- appender -----------------------------------------------------

    def run_appender(self):
        files = ["s0", "s1"]
        kept = {}  # the "seek" style keeps its descriptor between records
        seq = 0
        while not self.stopping():
            f = self.rng.choice(files)
            style = self.rng.choice(["reopen", "seek"])
            rid = "%s.%d.%d" % (self.wid, self.gen, seq)
            seq += 1
            line = record_line(rid)
            p = self.path("spool", f)
            step = "open"
            fd, t_open = None, time.monotonic()
            self.log("append_try", rid=rid, file=f)
            try:
                if style == "reopen":
                    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                else:
                    if f not in kept:
                        kept[f] = (os.open(p, os.O_RDWR | os.O_CREAT, 0o644), time.monotonic())
                    fd, t_open = kept[f]
                step = "lock"
                fcntl.lockf(fd, fcntl.LOCK_EX)
                step = "write"
                if style == "seek":
                    os.lseek(fd, 0, os.SEEK_END)
                if os.write(fd, line) != len(line):
                    self.finding("short write of a spool record", rid=rid)
                if self.rng.random() < 0.2:
                    step = "fsync"
                    os.fsync(fd)
                step = "unlock"
                fcntl.lockf(fd, fcntl.LOCK_UN)
                if style == "reopen":
                    step = "close"
                    os.close(fd)
                self.count("append_" + style)
                self.log("appended", rid=rid, file=f)
            except OSError as e:
                self.unexpected("append " + step, e, rid=rid, t_open=t_open)
                # A failed descriptor is given up (EIO until reopened).
                if style == "seek":
                    kept.pop(f, None)
                if step != "close":
                    try:
                        os.close(fd)
                    except (OSError, TypeError):
                        pass
            time.sleep(0.01 * self.rng.random())

    # ---- racer --------------------------------------------------------

    RACE_OK = {errno.ENOENT, errno.EEXIST, errno.EINVAL, errno.ENOTEMPTY, errno.ENOTDIR,
               errno.EISDIR, errno.EXDEV}

    def run_racer(self):
        root = self.path("race")
        names = ["r%d" % i for i in range(6)]
        while not self.stopping():
            dirs = []
            for top, ds, fs in os.walk(root):
                depth = top[len(root):].count("/")
                if depth > 40:
                    self.finding("race/ is deeper than 40 levels: a cycle?", path=top)
                    ds[:] = []
                dirs.extend(os.path.join(top, d) for d in ds)
            self.count("walk")
            r = self.rng.random()
            try:
                if r < 0.5 and dirs:
                    src = self.rng.choice(dirs)
                    dst = self.rng.choice(dirs + [root])
                    kind = "rename_dir"
                    os.rename(src, os.path.join(dst, os.path.basename(src)))
                elif r < 0.65:
                    kind = "mkdir"
                    os.mkdir(os.path.join(self.rng.choice(dirs + [root]), self.rng.choice(names)))
                elif r < 0.8 and dirs:
                    kind = "rmdir"
                    os.rmdir(self.rng.choice(dirs))
                elif r < 0.9:
                    kind = "create"
                    p = os.path.join(self.rng.choice(dirs + [root]), "x%d" % self.rng.randrange(4))
                    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    os.write(fd, b"x")
                    os.close(fd)
                else:
                    kind = "unlink"
                    cands = [os.path.join(top, f) for top, _, fs in os.walk(root) for f in fs]
                    if not cands:
                        continue
                    os.unlink(self.rng.choice(cands))
                self.count(kind)
            except OSError as e:
                if e.errno in self.RACE_OK:
                    self.count(kind + "_" + errno.errorcode[e.errno])
                elif e.errno == errno.ELOOP and kind == "rename_dir":
                    # The kernel's own check: this mount's entry cache, up
                    # to entry_timeout old, still shows the tree as it was
                    # before other mounts moved directories, and in that
                    # picture the move would make a loop (lookups that
                    # would look like one answer ESTALE and are walked
                    # again; a rename checked before any lookup is not). The
                    # store's tree is never cyclic (fsck and the walk above
                    # check). SEMANTICS.md says so; counted, not a finding.
                    self.log("eloop", op=kind)
                    self.count("stale_cache_eloop")
                elif e.errno == errno.ESTALE:
                    # Allowed nowhere in SEMANTICS.md: the kernel is meant
                    # to look the name up again. Counted and reported.
                    self.log("estale", op=kind)
                    self.count(kind + "_ESTALE")
                else:
                    self.unexpected("race " + kind, e)

    # ---- stall probe --------------------------------------------------

    def run_holder(self):
        """Holds a lock, and a file another mount wrote and unlinks while
        this mount is stopped: a read of its far end (which this mount never
        read, so no cache holds it), sent while stopped, must answer the
        data or an error, never zeros."""
        want = victim_data(self.wid)
        vfd = os.open(self.path("locks", "victim-" + self.wid), os.O_RDONLY)
        if os.pread(vfd, 4096, 0) != want[:4096]:
            print("victim unreadable", flush=True)
            return
        p = self.path("locks", "probe")
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, ("holder %s before\n" % self.wid).encode())
        os.fsync(fd)
        print("locked", flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            try:
                if cmd == "stat":
                    # Fresh attributes: a read sent within attr_timeout goes
                    # to the server without a GETATTR first.
                    os.fstat(vfd)
                    print("ok", flush=True)
                    continue
                if cmd == "readfar":
                    # Past the kernel's read-ahead of the first page.
                    off = VICTIM_SIZE - 96 * 1024
                    got = os.pread(vfd, 64 * 1024, off)
                    w = want[off:off + len(got)]
                    if got == w and got:
                        print("ok", flush=True)
                    else:
                        i = first_difference(got, w)
                        print("zeros" if i < len(got) and got[i] == 0 else "wrong (%d bytes)" % len(got), flush=True)
                    continue
                if cmd == "write":
                    os.lseek(fd, 0, os.SEEK_END)
                    os.write(fd, ("holder %s late\n" % self.wid).encode())
                    os.fsync(fd)
                elif cmd == "unlock":
                    fcntl.lockf(fd, fcntl.LOCK_UN)
                elif cmd == "close":
                    os.close(fd)
                print("ok", flush=True)
            except OSError as e:
                print(errno.errorcode.get(e.errno, str(e.errno)), flush=True)

    def run_taker(self):
        p = self.path("locks", "probe")
        fd = os.open(p, os.O_RDWR)
        t = time.monotonic()
        fcntl.lockf(fd, fcntl.LOCK_EX)
        got = time.monotonic()
        waited = got - t
        os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, ("taker %s\n" % self.wid).encode())
        fcntl.lockf(fd, fcntl.LOCK_UN)
        os.close(fd)
        print("ok %.3f %.3f" % (waited, got), flush=True)


def main():
    if len(sys.argv) != 8:
        sys.exit("usage: chaos_worker.py ROLE WID GEN MOUNT WORK SEED TTL (started by scripts/chaos)")
    w = Worker(*sys.argv[1:])
    try:
        sys.exit(w.run())
    except Exception:
        w.finding("worker crashed: " + traceback.format_exc().strip().splitlines()[-1])
        raise


if __name__ == "__main__":
    main()
