//! Locks and sessions on both stores: two or more "clients" (sessions with
//! their own lock clients) sharing one store.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dynamofs_core::error::{Errno, FsError};
use dynamofs_core::locks::{lock_key, LockKind, LockRecord, LockRequest, LockType, Locks, TO_EOF};
use dynamofs_core::session::{Beat, Session, DEFAULT_TTL};
use dynamofs_core::store::{self, Attrs, Counters, Store, Table, Value, Write};
use dynamofs_core::superblock::now_ns;

use LockType::{Read as R, Write as W};

const INO: u64 = 0x1234;
const INO2: u64 = 0x5678;

/// A client: a registered session (no heartbeat) and its lock client.
struct Client {
    session: Arc<Session>,
    locks: Arc<Locks>,
}

async fn client(store: &Arc<dyn Store>, ttl: Duration) -> Client {
    let session = Session::register(store.clone(), "/mnt/test", ttl)
        .await
        .expect("register");
    let locks = Arc::new(Locks::new(session.clone()));
    Client { session, locks }
}

fn posix(typ: LockType, start: u64, end: u64, owner: u64) -> LockRequest {
    LockRequest::posix(typ, start, end, owner, 100 + owner as u32)
}

fn flock(typ: LockType, owner: u64) -> LockRequest {
    LockRequest::flock(typ, owner, 100 + owner as u32)
}

fn errno<T: std::fmt::Debug>(r: Result<T, FsError>) -> Errno {
    match r {
        Err(e) => e.errno(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// What `c` sees held against a lock of `typ` over `start..=end`.
async fn seen(
    c: &Client,
    typ: LockType,
    start: u64,
    end: u64,
) -> Option<(LockType, u64, u64, u32)> {
    c.locks
        .getlk(INO, &posix(typ, start, end, 999))
        .await
        .expect("getlk")
        .map(|r| (r.typ, r.start, r.end, r.pid))
}

async fn shared_and_exclusive(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let b = client(&store, DEFAULT_TTL).await;
    assert_ne!(a.session.id(), b.session.id());

    a.locks
        .setlk(INO, &posix(R, 0, 99, 1))
        .await
        .expect("a read");
    b.locks
        .setlk(INO, &posix(R, 50, 149, 1))
        .await
        .expect("read/read share");
    assert_eq!(
        seen(&b, R, 0, TO_EOF).await,
        None,
        "readers do not block readers"
    );
    assert_eq!(
        errno(b.locks.setlk(INO, &posix(W, 0, 9, 1)).await),
        Errno::EAGAIN,
        "write over another session's read"
    );
    assert_eq!(
        errno(a.locks.setlk(INO, &posix(W, 140, 160, 1)).await),
        Errno::EAGAIN
    );
    a.locks
        .setlk(INO, &posix(W, 150, 160, 1))
        .await
        .expect("no overlap");
    assert_eq!(
        errno(b.locks.setlk(INO, &posix(W, 160, 170, 1)).await),
        Errno::EAGAIN,
        "write/write"
    );
    assert_eq!(
        errno(b.locks.setlk(INO, &posix(R, 155, 155, 1)).await),
        Errno::EAGAIN,
        "read over a write"
    );
    // F_GETLK names the first conflicting lock, with its pid.
    assert_eq!(seen(&b, W, 0, TO_EOF).await, Some((R, 0, 99, 101)));
    assert_eq!(seen(&b, R, 0, TO_EOF).await, Some((W, 150, 160, 101)));
    let got = b
        .locks
        .getlk(INO, &posix(W, 0, 9, 1))
        .await
        .expect("getlk")
        .expect("a conflict");
    assert_eq!(got.session, a.session.id());
    assert_eq!(got.host, a.session.info().host);
    // Another owner in the same session conflicts too (two processes).
    assert_eq!(
        errno(a.locks.setlk(INO, &posix(W, 155, 155, 2)).await),
        Errno::EAGAIN
    );
    // The owner's own locks never block it.
    assert_eq!(
        a.locks
            .getlk(INO, &posix(W, 0, TO_EOF, 1))
            .await
            .expect("getlk")
            .map(|r| r.session),
        Some(b.session.id().to_string()),
        "only the other session's lock is reported"
    );
    // Backwards range.
    assert_eq!(
        errno(a.locks.setlk(INO, &posix(W, 10, 9, 1)).await),
        Errno::EINVAL
    );
}

async fn split_merge_convert(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let b = client(&store, DEFAULT_TTL).await;
    a.locks
        .setlk(INO, &posix(W, 0, 99, 1))
        .await
        .expect("write");
    // Downgrade the middle: three pieces.
    a.locks
        .setlk(INO, &posix(R, 40, 59, 1))
        .await
        .expect("downgrade");
    assert_eq!(seen(&b, R, 40, 59).await, None);
    assert_eq!(seen(&b, R, 0, 49).await, Some((W, 0, 39, 101)));
    assert_eq!(seen(&b, R, 50, 200).await, Some((W, 60, 99, 101)));
    b.locks
        .setlk(INO, &posix(R, 45, 50, 7))
        .await
        .expect("share the downgraded part");
    // Upgrading back conflicts with b's reader, and changes nothing.
    assert_eq!(
        errno(a.locks.setlk(INO, &posix(W, 40, 59, 1)).await),
        Errno::EAGAIN
    );
    assert_eq!(seen(&b, R, 40, 59).await, None);
    b.locks
        .unlock(INO, LockKind::Posix, 7, 0, TO_EOF)
        .await
        .expect("unlock");
    a.locks
        .setlk(INO, &posix(W, 40, 59, 1))
        .await
        .expect("upgrade");
    let held = Locks::list_inode(store.as_ref(), INO).await.expect("list");
    assert_eq!(held.len(), 1, "merged into one range: {held:?}");
    assert_eq!((held[0].typ, held[0].start, held[0].end), (W, 0, 99));
    // Unlock the middle: split.
    a.locks
        .unlock(INO, LockKind::Posix, 1, 30, 69)
        .await
        .expect("unlock middle");
    assert_eq!(seen(&b, W, 0, TO_EOF).await, Some((W, 0, 29, 101)));
    assert_eq!(seen(&b, W, 30, 69).await, None);
    assert_eq!(seen(&b, W, 30, 80).await, Some((W, 70, 99, 101)));
    // Adjacent ranges merge; a lock to EOF covers everything after.
    a.locks
        .setlk(INO, &posix(W, 30, 69, 1))
        .await
        .expect("refill");
    a.locks
        .setlk(INO, &posix(W, 100, TO_EOF, 1))
        .await
        .expect("to eof");
    let held = Locks::list_inode(store.as_ref(), INO).await.expect("list");
    assert_eq!(
        held.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>(),
        [(0, TO_EOF)]
    );
    assert_eq!(
        seen(&b, R, 1 << 40, 1 << 41).await,
        Some((W, 0, TO_EOF, 101))
    );
    // Unlocking what is not held changes nothing.
    b.locks
        .unlock(INO, LockKind::Posix, 1, 0, TO_EOF)
        .await
        .expect("unlock of nothing");
    assert_eq!(
        Locks::list_inode(store.as_ref(), INO)
            .await
            .expect("list")
            .len(),
        1
    );
}

async fn flock_and_fcntl_are_independent(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let b = client(&store, DEFAULT_TTL).await;
    a.locks.setlk(INO, &flock(W, 10)).await.expect("flock ex");
    assert_eq!(
        errno(b.locks.setlk(INO, &flock(R, 20)).await),
        Errno::EAGAIN
    );
    assert_eq!(
        errno(a.locks.setlk(INO, &flock(R, 11)).await),
        Errno::EAGAIN,
        "another open file description of the same session"
    );
    // POSIX locks do not see flock locks, and the other way round.
    b.locks
        .setlk(INO, &posix(W, 0, TO_EOF, 20))
        .await
        .expect("fcntl under a flock");
    assert_eq!(seen(&a, W, 0, TO_EOF).await.map(|s| s.0), Some(W));
    a.locks
        .setlk(INO, &flock(W, 10))
        .await
        .expect("flock again");
    // Conversion: down to shared, then b shares it.
    a.locks.setlk(INO, &flock(R, 10)).await.expect("downgrade");
    b.locks.setlk(INO, &flock(R, 20)).await.expect("shared");
    assert_eq!(
        errno(a.locks.setlk(INO, &flock(W, 10)).await),
        Errno::EAGAIN,
        "upgrade while b shares"
    );
    // The failed upgrade kept a's shared lock.
    let got = b
        .locks
        .getlk(INO, &flock(W, 20))
        .await
        .expect("getlk")
        .expect("a's lock");
    assert_eq!((got.kind, got.typ, got.owner), (LockKind::Flock, R, 10));
    // Closing the file releases the flock lock; POSIX release leaves it.
    b.locks.release_owner(INO, 20).await.expect("release posix");
    assert!(b
        .locks
        .getlk(INO, &flock(W, 10))
        .await
        .expect("getlk")
        .is_some());
    b.locks.release_flock(INO, 20).await.expect("release flock");
    a.locks
        .setlk(INO, &flock(W, 10))
        .await
        .expect("upgrade now");
}

async fn setlkw_waits_and_is_interruptible(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let b = client(&store, DEFAULT_TTL).await;
    a.locks.setlk(INO, &posix(W, 0, 99, 1)).await.expect("a");

    let t0 = Instant::now();
    let al = a.locks.clone();
    let unlock = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        al.release_owner(INO, 1).await.expect("release");
    });
    b.locks
        .setlkw(INO, &posix(W, 50, 59, 2), &|| false)
        .await
        .expect("granted after the unlock");
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(190),
        "waited only {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    unlock.await.expect("unlock task");
    assert_eq!(
        errno(a.locks.setlk(INO, &posix(R, 55, 55, 1)).await),
        Errno::EAGAIN
    );

    // Interrupted: EINTR, and nothing taken.
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        s2.store(true, Ordering::SeqCst);
    });
    let t0 = Instant::now();
    let r = a
        .locks
        .setlkw(INO, &posix(W, 0, 99, 1), &|| stop.load(Ordering::SeqCst))
        .await;
    assert_eq!(errno(r), Errno::EINTR);
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(seen(&b, W, 0, 49).await, None);

    // A flock waiter, given up by dropping the future.
    a.locks.setlk(INO, &flock(W, 3)).await.expect("flock");
    let r = tokio::time::timeout(
        Duration::from_millis(100),
        b.locks.setlkw(INO, &flock(R, 4), &|| false),
    )
    .await;
    assert!(r.is_err(), "still waiting");
}

/// Several clients take turns through one exclusive lock with F_SETLKW;
/// the critical sections never overlap.
async fn mutual_exclusion(store: Arc<dyn Store>, clients: usize, rounds: usize) {
    let inside = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for i in 0..clients {
        let c = client(&store, DEFAULT_TTL).await;
        let inside = inside.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..rounds {
                c.locks
                    .setlkw(INO, &posix(W, 0, TO_EOF, i as u64), &|| false)
                    .await
                    .expect("setlkw");
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                c.locks.release_owner(INO, i as u64).await.expect("release");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    assert!(Locks::list_inode(store.as_ref(), INO)
        .await
        .expect("list")
        .is_empty());
}

async fn release_on_close_and_end(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let b = client(&store, DEFAULT_TTL).await;
    a.locks
        .setlk(INO, &posix(W, 0, 9, 1))
        .await
        .expect("owner 1");
    a.locks
        .setlk(INO, &posix(W, 10, 19, 2))
        .await
        .expect("owner 2");
    a.locks.setlk(INO, &flock(W, 3)).await.expect("flock");
    a.locks
        .setlk(INO2, &posix(R, 0, TO_EOF, 1))
        .await
        .expect("ino2");
    assert_eq!(
        sorted(
            Locks::session_inodes(store.as_ref(), &a.session.id())
                .await
                .expect("index")
        ),
        sorted(vec![INO, INO2])
    );

    // Close by owner 1: its POSIX locks on INO go, nothing else.
    a.locks.release_owner(INO, 1).await.expect("release");
    b.locks.setlk(INO, &posix(W, 0, 9, 5)).await.expect("freed");
    assert_eq!(
        errno(b.locks.setlk(INO, &posix(W, 10, 10, 5)).await),
        Errno::EAGAIN
    );
    assert_eq!(errno(b.locks.setlk(INO, &flock(R, 6)).await), Errno::EAGAIN);
    assert_eq!(
        errno(b.locks.setlk(INO2, &posix(W, 0, 0, 5)).await),
        Errno::EAGAIN
    );

    // Unmount: every lock of the session goes, and its item and index.
    a.session.end().await;
    a.session.end().await; // idempotent
    b.locks
        .setlk(INO, &posix(W, 0, TO_EOF, 5))
        .await
        .expect("ino");
    b.locks.setlk(INO, &flock(W, 6)).await.expect("flock");
    b.locks
        .setlk(INO2, &posix(W, 0, TO_EOF, 5))
        .await
        .expect("ino2");
    let all = Locks::list_all(store.as_ref()).await.expect("list_all");
    assert!(
        all.iter().all(|(_, r)| r.session == b.session.id()),
        "{all:?}"
    );
    assert!(Locks::session_inodes(store.as_ref(), &a.session.id())
        .await
        .expect("index")
        .is_empty());
    let ids: Vec<String> = Session::list(store.as_ref())
        .await
        .expect("sessions")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [b.session.id().to_string()]);
    assert!(
        a.session.heartbeat().await.is_err(),
        "ended sessions stay ended"
    );
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Store requests per lock operation; a close of a file this client never
/// locked costs none.
async fn request_costs(store: Arc<dyn Store>) {
    let counters = Arc::new(Counters::default());
    let counted = store::stack(store.clone(), &counters);
    let a = client(&counted, DEFAULT_TTL).await;
    let b = client(&counted, DEFAULT_TTL).await;
    macro_rules! costs {
        ($want:expr, $what:literal, $op:expr) => {{
            counters.reset();
            let r = $op;
            assert_eq!(
                counters.total_requests(),
                $want,
                "{} took {:?}",
                $what,
                counters
                    .snapshot()
                    .iter()
                    .filter(|(_, t)| t.requests > 0)
                    .collect::<Vec<_>>()
            );
            r
        }};
    }
    costs!(
        0,
        "close, never locked",
        a.locks.release_owner(INO, 1).await.expect("release")
    );
    costs!(
        0,
        "last close, never locked",
        a.locks.release_flock(INO, 1).await.expect("release")
    );
    costs!(
        2,
        "first lock (get + transaction)",
        a.locks.setlk(INO, &posix(W, 0, 0, 1)).await.expect("lock")
    );
    costs!(
        2,
        "second lock",
        a.locks.setlk(INO, &posix(W, 5, 5, 1)).await.expect("lock")
    );
    costs!(2, "getlk, session not yet seen", seen(&b, W, 0, 0).await);
    costs!(1, "getlk, session known alive", seen(&b, W, 0, 0).await);
    costs!(
        1,
        "setlk refused",
        b.locks
            .setlk(INO, &posix(W, 0, 9, 1))
            .await
            .expect_err("busy")
    );
    costs!(
        1,
        "mandatory check",
        b.locks
            .check_io(INO, 1, 0, 9, false)
            .await
            .expect_err("busy")
    );
    costs!(
        2,
        "close",
        a.locks.release_owner(INO, 1).await.expect("release")
    );
    costs!(
        0,
        "close again",
        a.locks.release_owner(INO, 1).await.expect("release again")
    );
}

async fn expired_sessions(store: Arc<dyn Store>) {
    let live = client(&store, DEFAULT_TTL).await;
    let dead = client(&store, Duration::from_millis(300)).await;
    let dead2 = client(&store, Duration::from_millis(300)).await;
    dead.locks
        .setlk(INO, &posix(W, 0, TO_EOF, 1))
        .await
        .expect("lock");
    dead2.locks.setlk(INO2, &flock(W, 1)).await.expect("lock");
    assert_eq!(
        errno(live.locks.setlk(INO, &posix(R, 0, 0, 1)).await),
        Errno::EAGAIN
    );
    tokio::time::sleep(Duration::from_millis(450)).await;

    // Not reaped yet, but its heartbeat stood still for its TTL since
    // `live` first saw it: its locks no longer block, and F_GETLK does not
    // report them.
    assert_eq!(seen(&live, W, 0, TO_EOF).await, None);
    live.locks
        .check_io(INO, 1, 0, 10, true)
        .await
        .expect("dead locks are not enforced");
    live.locks
        .setlk(INO, &posix(R, 0, 0, 1))
        .await
        .expect("the dead session's lock is dropped");
    let held = Locks::list_inode(store.as_ref(), INO).await.expect("list");
    assert!(
        held.iter().all(|r| r.session == live.session.id()),
        "{held:?}"
    );

    // Reaping removes sessions seen standing still for their TTL, and what
    // they held; `dead2` was never looked at, so it is watched first.
    let reaped = live.session.reap_dead().await.expect("reap");
    assert_eq!(reaped, vec![dead.session.id()]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let reaped = live.session.reap_dead().await.expect("reap");
    assert_eq!(reaped, vec![dead2.session.id()]);
    let all = Locks::list_all(store.as_ref()).await.expect("list_all");
    assert!(
        all.iter().all(|(_, r)| r.session == live.session.id()),
        "{all:?}"
    );
    for d in [&dead, &dead2] {
        assert!(Locks::session_inodes(store.as_ref(), &d.session.id())
            .await
            .expect("index")
            .is_empty());
        assert!(Session::get(store.as_ref(), &d.session.id())
            .await
            .expect("get")
            .is_none());
    }
    let ids: Vec<String> = Session::list(store.as_ref())
        .await
        .expect("list")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [live.session.id()]);
    assert!(Session::reap_expired(store.as_ref(), now_ns())
        .await
        .expect("reap")
        .is_empty());

    // A reaped session that comes back has lost its lease: it says so,
    // takes a new id, and forgets the locks it held.
    let losses = dead.session.lease_losses();
    let old = dead.session.id();
    assert_eq!(
        dead.session.heartbeat().await.expect("heartbeat"),
        Beat::Registered { old: old.clone() }
    );
    assert!(losses.has_changed().expect("watch"), "listeners are told");
    assert_ne!(dead.session.id(), old);
    assert_eq!(dead.locks.lease_lost(), vec![INO]);
    assert!(Session::get(store.as_ref(), &dead.session.id())
        .await
        .expect("get")
        .is_some());
    dead.locks
        .setlk(INO2, &posix(W, 0, 0, 1))
        .await
        .expect("locks again, under the new id");
    // Without a heartbeat first: taking a lock notices that the lease ran
    // out, registers a new id, and takes the lock under it.
    let old2 = dead2.session.id();
    dead2
        .locks
        .setlk(INO2, &posix(W, 1, 1, 1))
        .await
        .expect("taken under a new session");
    assert_ne!(dead2.session.id(), old2);
    let holders: Vec<String> = Locks::list_inode(store.as_ref(), INO2)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.session)
        .collect();
    assert_eq!(
        sorted_s(holders),
        sorted_s(vec![dead.session.id(), dead2.session.id()])
    );
    for d in [&dead, &dead2] {
        d.session.end().await;
    }

    // A heartbeat keeps a short-lived session alive past its first expiry.
    let beating = client(&store, Duration::from_millis(600)).await;
    beating.session.start_heartbeat();
    beating
        .locks
        .setlk(INO2, &flock(W, 9))
        .await
        .expect("flock");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        errno(live.locks.setlk(INO2, &flock(R, 1)).await),
        Errno::EAGAIN,
        "heartbeating session keeps its lock"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let reaped = live.session.reap_dead().await.expect("reap");
    assert!(!reaped.contains(&beating.session.id()));
    assert!(beating.session.lease_valid());
    beating.session.end().await;
    live.locks
        .setlk(INO2, &flock(R, 1))
        .await
        .expect("after end");
}

/// A session is judged by its heartbeat standing still on the judge's own
/// clock, never by its wall-clock expiry: a dead client whose clock ran an
/// hour ahead does not keep its locks for an hour.
async fn wall_clocks_do_not_matter(store: Arc<dyn Store>) {
    let live = client(&store, DEFAULT_TTL).await;
    let ahead = client(&store, Duration::from_millis(300)).await;
    ahead
        .locks
        .setlk(INO, &posix(W, 0, TO_EOF, 1))
        .await
        .expect("lock");
    let w = Write::Update {
        table: Table::Meta,
        key: dynamofs_core::session::session_key(&ahead.session.id()),
        changes: vec![dynamofs_core::store::Change::set(
            dynamofs_core::session::attr::EXPIRES,
            Value::N(now_ns() + 3_600_000_000_000),
        )],
        cond: None,
    };
    store.write(&w).await.expect("skew the expiry");
    assert_eq!(
        errno(live.locks.setlk(INO, &posix(W, 0, 0, 1)).await),
        Errno::EAGAIN
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    live.locks
        .setlk(INO, &posix(W, 0, 0, 1))
        .await
        .expect("dead after its TTL on our clock");
    // And a live client whose clock is far behind (its expiry already past
    // by ours) keeps its locks while it heartbeats.
    let behind = client(&store, Duration::from_millis(600)).await;
    behind.session.start_heartbeat();
    behind
        .locks
        .setlk(INO2, &posix(W, 0, 0, 1))
        .await
        .expect("lock");
    let w = Write::Update {
        table: Table::Meta,
        key: dynamofs_core::session::session_key(&behind.session.id()),
        changes: vec![dynamofs_core::store::Change::set(
            dynamofs_core::session::attr::EXPIRES,
            Value::N(1),
        )],
        cond: None,
    };
    store.write(&w).await.expect("skew the expiry");
    for _ in 0..4 {
        assert_eq!(
            errno(live.locks.setlk(INO2, &posix(W, 0, 0, 1)).await),
            Errno::EAGAIN,
            "a heartbeating session keeps its lock whatever its clock says"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    behind.session.end().await;
    ahead.session.end().await;
}

fn sorted_s(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn mandatory_checks(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let b = client(&store, DEFAULT_TTL).await;
    a.locks
        .setlk(INO, &posix(W, 0, 99, 1))
        .await
        .expect("write lock");
    assert_eq!(
        errno(b.locks.check_io(INO, 1, 50, 60, false).await),
        Errno::EAGAIN
    );
    b.locks
        .check_io(INO, 1, 100, 200, true)
        .await
        .expect("outside");
    a.locks.check_io(INO, 1, 0, 99, true).await.expect("owner");
    assert_eq!(
        errno(a.locks.check_io(INO, 2, 0, 0, false).await),
        Errno::EAGAIN,
        "another process of the same mount"
    );
    a.locks
        .setlk(INO, &posix(R, 0, 99, 1))
        .await
        .expect("downgrade");
    b.locks.check_io(INO, 1, 0, 99, false).await.expect("read");
    assert_eq!(
        errno(b.locks.check_io(INO, 1, 99, 99, true).await),
        Errno::EAGAIN
    );
    // flock locks are advisory only.
    a.locks.release_owner(INO, 1).await.expect("release");
    a.locks.setlk(INO, &flock(W, 1)).await.expect("flock");
    b.locks.check_io(INO, 1, 0, 99, true).await.expect("flock");
}

async fn list_and_break(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let b = client(&store, DEFAULT_TTL).await;
    a.locks.setlk(INO, &posix(W, 0, 9, 1)).await.expect("lock");
    a.locks
        .setlk(INO, &posix(R, 20, 29, 1))
        .await
        .expect("lock");
    a.locks.setlk(INO2, &flock(W, 2)).await.expect("lock");
    b.locks
        .setlk(INO, &posix(R, 25, 35, 1))
        .await
        .expect("lock");
    let all = Locks::list_all(store.as_ref()).await.expect("list_all");
    assert_eq!(all.len(), 4, "{all:?}");
    let mine = |ino: u64, start: u64| -> LockRecord {
        all.iter()
            .find(|(i, r)| *i == ino && r.start == start && r.session == a.session.id())
            .map(|(_, r)| r.clone())
            .expect("listed")
    };
    let first = mine(INO, 0);
    assert_eq!(
        (first.kind, first.typ, first.end, first.pid),
        (LockKind::Posix, W, 9, 101)
    );
    assert!(first.acquired > 0 && first.acquired <= now_ns());

    assert!(Locks::break_lock(store.as_ref(), INO, &first)
        .await
        .expect("break"));
    assert!(!Locks::break_lock(store.as_ref(), INO, &first)
        .await
        .expect("break again"));
    b.locks
        .setlk(INO, &posix(W, 0, 9, 1))
        .await
        .expect("broken lock is free");
    assert_eq!(
        errno(b.locks.setlk(INO2, &flock(R, 1)).await),
        Errno::EAGAIN
    );
    let n = Locks::break_session(store.as_ref(), &a.session.id())
        .await
        .expect("break session");
    assert_eq!(n, 2);
    b.locks.setlk(INO2, &flock(R, 1)).await.expect("free");
    let all = Locks::list_all(store.as_ref()).await.expect("list_all");
    assert!(
        all.iter().all(|(_, r)| r.session == b.session.id()),
        "{all:?}"
    );
    assert!(Locks::session_inodes(store.as_ref(), &a.session.id())
        .await
        .expect("index")
        .is_empty());
}

async fn damaged_lock_item(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let mut attrs = Attrs::new();
    attrs.insert("lk".into(), Value::B(vec![1, 0xff, 0xff, 0xff]));
    attrs.insert("lv".into(), Value::N(1));
    store
        .write(&Write::Put {
            table: Table::Meta,
            key: lock_key(INO),
            attrs,
            cond: None,
        })
        .await
        .expect("put");
    assert_eq!(
        errno(a.locks.setlk(INO, &posix(W, 0, 0, 1)).await),
        Errno::EIO
    );
    assert_eq!(
        errno(a.locks.getlk(INO, &posix(W, 0, 0, 1)).await),
        Errno::EIO
    );
    assert_eq!(errno(Locks::list_all(store.as_ref()).await), Errno::EIO);
    Locks::break_inode(store.as_ref(), INO)
        .await
        .expect("repair");
    a.locks
        .setlk(INO, &posix(W, 0, 0, 1))
        .await
        .expect("works again");
}

async fn sessions_listed(store: Arc<dyn Store>) {
    let a = client(&store, DEFAULT_TTL).await;
    let list = Session::list(store.as_ref()).await.expect("list");
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!(s.id, a.session.id());
    assert_eq!(s.id.len(), 32);
    assert_eq!(s.pid, std::process::id());
    assert_eq!(s.mountpoint, "/mnt/test");
    assert_eq!(s.version, env!("CARGO_PKG_VERSION"));
    assert!(!s.host.is_empty());
    assert!(s.started <= s.heartbeat && s.heartbeat < s.expires);
    assert_eq!(s.expires - s.started, DEFAULT_TTL.as_nanos() as i64);
    assert_eq!(*s, a.session.info());
    let before = s.expires;
    tokio::time::sleep(Duration::from_millis(5)).await;
    a.session.heartbeat().await.expect("heartbeat");
    let after = Session::get(store.as_ref(), &a.session.id())
        .await
        .expect("get")
        .expect("there");
    assert!(after.expires > before && after.started == s.started);
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name(crate::common::sqlite().await).await })*

            #[tokio::test(flavor = "multi_thread")]
            async fn mutual_exclusion() {
                super::mutual_exclusion(crate::common::sqlite().await, 6, 8).await
            }
        }
        mod dynamo {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name(crate::common::dynamo().await).await })*

            #[tokio::test(flavor = "multi_thread")]
            async fn mutual_exclusion() {
                super::mutual_exclusion(crate::common::dynamo().await, 3, 3).await
            }
        }
    };
}

both!(
    shared_and_exclusive,
    split_merge_convert,
    flock_and_fcntl_are_independent,
    setlkw_waits_and_is_interruptible,
    release_on_close_and_end,
    request_costs,
    expired_sessions,
    wall_clocks_do_not_matter,
    mandatory_checks,
    list_and_break,
    damaged_lock_item,
    sessions_listed,
);
