//! Retries, request counting and fault injection over real stores: the
//! retry layer must ride out throttling, timeouts and conflicts, and a
//! commit whose response was lost must be neither applied twice nor
//! reported as failed, whatever error comes between (one token per logical
//! commit), down to the answers the file system gives.

mod common;

use std::sync::Arc;
use std::time::Duration;

use dynamofs_core::caller::Caller;
use dynamofs_core::check;
use dynamofs_core::fs::{Fs, FsOptions, RenameFlags};
use dynamofs_core::inode::FileType;
use dynamofs_core::schema::ROOT_INO;
use dynamofs_core::store::faults::Target;
use dynamofs_core::store::{
    Attrs, Backoff, Change, Cond, Counters, Counting, Fault, Faults, Key, RequestKind, RetryReason,
    Retrying, Store, StoreError, Table, Token, Value, Write,
};

fn fast() -> Backoff {
    Backoff {
        first: Duration::from_millis(1),
        max: Duration::from_millis(5),
        attempts: 6,
        patience: Duration::from_millis(300),
    }
}

type Stack = Retrying<Faults<Counting<Arc<dyn Store>>>>;

/// Retrying over fault injection over counting over a real backend, the
/// retries counted with the requests (as in a mount's stack).
fn stack(backend: Arc<dyn Store>) -> (Stack, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let s = Retrying::counted(
        Faults::new(Counting::new(backend, Arc::clone(&counters))),
        fast(),
        Arc::clone(&counters),
    );
    (s, counters)
}

fn bump(k: &Key) -> Write {
    Write::Update {
        table: Table::Meta,
        key: k.clone(),
        changes: vec![Change::add("n", 1)],
        cond: None,
    }
}

fn create(k: &Key) -> Write {
    Write::Put {
        table: Table::Meta,
        key: k.clone(),
        attrs: Attrs::new(),
        cond: Some(Cond::NotExists),
    }
}

async fn counter(s: &dyn Store, k: &Key) -> Option<i64> {
    s.get(Table::Meta, k, true)
        .await
        .expect("get")
        .and_then(|i| i.attrs.get("n").and_then(Value::as_n))
}

fn txns(c: &Counters) -> u64 {
    c.get(RequestKind::TransactWriteItems).requests
}

async fn transient_faults_are_retried(backend: Arc<dyn Store>) {
    let (s, counters) = stack(backend);
    let k = Key::new("f", "1");
    s.inner().plan(Target::Any, Fault::Throttle, 2);
    s.inner().plan(Target::Any, Fault::Timeout, 1);
    s.write(&bump(&k)).await.expect("write after 3 faults");
    assert_eq!(s.retries(), 3);
    assert_eq!(s.inner().injected(), 3);
    // Injected faults never reach the store: one real UpdateItem.
    assert_eq!(counters.get(RequestKind::UpdateItem).requests, 1);
    assert_eq!(counter(&s, &k).await, Some(1));

    s.inner().plan(Target::Transactions, Fault::Conflict, 3);
    s.transact(&[bump(&k)], &Token::fresh())
        .await
        .expect("transaction after conflicts");
    assert_eq!(counter(&s, &k).await, Some(2));
    assert_eq!(txns(&counters), 1);
    // What a mount's metrics show, by reason.
    assert_eq!(counters.retries(RetryReason::Throttled), 2);
    assert_eq!(counters.retries(RetryReason::Timeout), 1);
    assert_eq!(counters.retries(RetryReason::Conflict), 3);
    assert_eq!(counters.total_retries(), 6);
    assert_eq!(counters.gave_up(), 0);
}

async fn persistent_faults_give_up(backend: Arc<dyn Store>) {
    let (s, counters) = stack(backend);
    s.inner().plan(Target::Reads, Fault::Throttle, 10);
    let r = s.get(Table::Meta, &Key::new("f", "2"), true).await;
    assert!(matches!(r, Err(StoreError::Throttled(_))), "{r:?}");
    assert_eq!(
        s.inner().injected(),
        6,
        "gives up after the configured attempts"
    );
    assert_eq!(counters.retries(RetryReason::Throttled), 5);
    assert_eq!(counters.gave_up(), 1);
}

async fn condition_failures_are_answers(backend: Arc<dyn Store>) {
    let (s, counters) = stack(backend);
    let k = Key::new("f", "3");
    s.write(&Write::Put {
        table: Table::Meta,
        key: k.clone(),
        attrs: Attrs::new(),
        cond: None,
    })
    .await
    .expect("put");
    let r = s.write(&create(&k)).await;
    assert!(matches!(r, Err(StoreError::ConditionFailed { .. })));
    assert_eq!(s.retries(), 0, "a failed condition is not retried");
    assert_eq!(counters.get(RequestKind::PutItem).requests, 2);
    assert_eq!(counters.condition_failures(), 1);
    assert_eq!(counters.gave_up(), 0);
}

/// A transaction whose first response is lost is retried with the same
/// token and is applied exactly once: the retry neither bumps the counter
/// again nor fails its own not-exists condition.
async fn lost_commit_response_applied_once(backend: Arc<dyn Store>) {
    let (s, counters) = stack(backend);
    let k = Key::new("f", "4");
    s.inner().plan(Target::Transactions, Fault::LostResponse, 1);
    s.transact(
        &[bump(&k), create(&Key::new("f", "4-entry"))],
        &Token::fresh(),
    )
    .await
    .expect("the retry succeeds instead of failing its own NotExists condition");
    assert_eq!(counter(&s, &k).await, Some(1), "applied twice");
    assert_eq!(txns(&counters), 2);
}

/// Lost response, then a refusal or another unknown outcome, then the
/// retry: every attempt carries the first token, so the commit succeeds
/// and is applied once.
async fn lost_then_any_error_keeps_the_token(backend: Arc<dyn Store>) {
    let (s, counters) = stack(backend);
    for (i, then) in [
        Fault::Throttle,
        Fault::Conflict,
        Fault::InProgress,
        Fault::Timeout,
        Fault::LostResponse,
    ]
    .into_iter()
    .enumerate()
    {
        let k = Key::new("f", format!("6-{i}"));
        let before = txns(&counters);
        s.inner().plan(Target::Transactions, Fault::LostResponse, 1);
        s.inner().plan(Target::Transactions, then, 1);
        s.transact(
            &[bump(&k), create(&Key::new("f", format!("6-{i}-entry")))],
            &Token::fresh(),
        )
        .await
        .unwrap_or_else(|e| panic!("lost response, then {then:?}: {e}"));
        assert_eq!(counter(&s, &k).await, Some(1), "{then:?}: applied twice");
        assert_eq!(s.inner().pending(), 0);
        let reached = if matches!(then, Fault::LostResponse) {
            3
        } else {
            2
        };
        assert_eq!(txns(&counters) - before, reached, "{then:?}");
    }
}

/// TransactionInProgress is waited out: it does not spend the attempt
/// budget (here 6), only the patience, and the commit goes through with
/// its token.
async fn in_progress_is_waited_out(backend: Arc<dyn Store>) {
    let (s, counters) = stack(backend);
    let k = Key::new("f", "7");
    s.inner().plan(Target::Transactions, Fault::LostResponse, 1);
    s.inner().plan(Target::Transactions, Fault::InProgress, 10);
    s.transact(&[bump(&k)], &Token::fresh())
        .await
        .expect("the commit after ten in-progress answers");
    assert_eq!(counter(&s, &k).await, Some(1));
    assert_eq!(txns(&counters), 2);

    // A store that never finishes: after the patience, the answer is that
    // the outcome is unknown, not that the change failed.
    s.inner()
        .plan(Target::Transactions, Fault::InProgress, 100_000);
    let r = s.transact(&[bump(&k)], &Token::fresh()).await;
    assert!(matches!(r, Err(StoreError::TransactionInProgress)), "{r:?}");
}

/// Retries that give up after an attempt whose outcome is unknown report
/// an unknown outcome (a timeout), never "throttled": that would tell the
/// caller nothing happened, and the first attempt was applied.
async fn giving_up_after_a_lost_response_says_unknown(backend: Arc<dyn Store>) {
    let (s, _) = stack(backend);
    let k = Key::new("f", "8");
    s.inner().plan(Target::Transactions, Fault::LostResponse, 1);
    s.inner().plan(Target::Transactions, Fault::Throttle, 10);
    let r = s.transact(&[bump(&k)], &Token::fresh()).await;
    match r {
        Err(StoreError::Timeout(m)) => assert!(m.contains("outcome unknown"), "{m}"),
        r => panic!("expected an unknown outcome, got {r:?}"),
    }
    assert_eq!(counter(&s, &k).await, Some(1), "it was applied, once");

    s.inner().plan(Target::Writes, Fault::LostResponse, 1);
    s.inner().plan(Target::Writes, Fault::Throttle, 10);
    let r = s.write(&bump(&k)).await;
    assert!(matches!(r, Err(StoreError::Timeout(_))), "{r:?}");

    // Reads have no outcome to lose: the last error stands.
    s.inner().plan(Target::Reads, Fault::Timeout, 1);
    s.inner().plan(Target::Reads, Fault::Throttle, 10);
    let r = s.get(Table::Meta, &k, true).await;
    assert!(matches!(r, Err(StoreError::Throttled(_))), "{r:?}");
}

/// The store's own idempotency: a repeated token is answered without
/// applying again; a new token is a new commit.
async fn same_token_twice_applies_once(backend: Arc<dyn Store>) {
    let s = backend;
    let k = Key::new("f", "5");
    let t = Token::fresh();
    s.transact(&[bump(&k)], &t).await.expect("first");
    s.transact(&[bump(&k)], &t).await.expect("repeat");
    assert_eq!(counter(s.as_ref(), &k).await, Some(1));
    s.transact(&[bump(&k)], &Token::fresh())
        .await
        .expect("new token");
    assert_eq!(counter(s.as_ref(), &k).await, Some(2));
}

// ---- the same, seen through the file system ----

/// A file system over the faulty stack, and the stack to plan faults in.
async fn faulty_fs(backend: Arc<dyn Store>) -> (Fs, Arc<Stack>, Arc<Counters>) {
    let (s, counters) = stack(backend);
    let s = Arc::new(s);
    let store: Arc<dyn Store> = Arc::clone(&s) as Arc<dyn Store>;
    common::mkfs_open_root(store.as_ref()).await;
    let fs = Fs::open(store, FsOptions::default()).await.expect("open");
    (fs, s, counters)
}

async fn names(fs: &Fs, dir: u64) -> Vec<String> {
    let c = Caller::root();
    let mut h = fs.opendir(&c, dir).await.expect("opendir");
    let mut out = Vec::new();
    let mut off = 0;
    loop {
        let page = fs.readdir(&mut h, off, 100).await.expect("readdir");
        if page.is_empty() {
            break;
        }
        for (next, e) in page {
            off = next;
            let n = String::from_utf8_lossy(&e.name).into_owned();
            if n != "." && n != ".." {
                out.push(n);
            }
        }
    }
    out.sort();
    out
}

/// The next commit loses its response, then meets `then`, then is retried.
/// Returns the commits that reached the store so far, to compare after.
async fn arm(fs: &Fs, s: &Stack, counters: &Counters, then: Fault) -> u64 {
    // Background work (orphan collection) must not take the planned faults.
    fs.settle().await;
    assert_eq!(s.inner().pending(), 0);
    s.inner().plan(Target::Transactions, Fault::LostResponse, 1);
    s.inner().plan(Target::Transactions, then, 1);
    txns(counters)
}

/// After the operation: both faults went to its commit, which reached the
/// store twice (applied, then answered from its token), and nothing else
/// was committed (no re-plan).
fn disarmed(what: &str, s: &Stack, counters: &Counters, before: u64) {
    assert_eq!(s.inner().pending(), 0, "{what}: faults left unused");
    assert_eq!(
        txns(counters) - before,
        2,
        "{what}: the commit and its one retry, no second plan"
    );
}

/// create, mkdir, unlink and rename (a file over another, a directory to a
/// new parent) each commit once under a lost response followed by `then`,
/// and each answers success with the namespace as it should be.
async fn namespace_changes_survive(backend: Arc<dyn Store>, then: Fault) {
    let (fs, s, counters) = faulty_fs(backend).await;
    let c = Caller::root();
    let a = fs.mkdir(&c, ROOT_INO, b"a", 0o755).await.expect("mkdir a");
    let b = fs.mkdir(&c, ROOT_INO, b"b", 0o755).await.expect("mkdir b");
    let (old, _) = fs
        .create(&c, b.ino, b"victim", 0o644, true)
        .await
        .expect("create victim");
    fs.create(&c, ROOT_INO, b"gone", 0o644, true)
        .await
        .expect("create gone");

    let before = arm(&fs, &s, &counters, then).await;
    let (f, created) = fs
        .create(&c, a.ino, b"f", 0o644, true)
        .await
        .unwrap_or_else(|e| panic!("create (O_EXCL) after a lost response and {then:?}: {e}"));
    assert!(created, "reported as new");
    disarmed("create", &s, &counters, before);
    assert_eq!(
        fs.lookup(&c, a.ino, b"f").await.expect("lookup f").ino,
        f.ino
    );

    let before = arm(&fs, &s, &counters, then).await;
    let d = fs
        .mkdir(&c, ROOT_INO, b"d", 0o750)
        .await
        .unwrap_or_else(|e| panic!("mkdir after a lost response and {then:?}: {e}"));
    disarmed("mkdir", &s, &counters, before);
    let got = fs.lookup(&c, ROOT_INO, b"d").await.expect("lookup d");
    assert_eq!(
        (got.ino, got.kind, got.nlink),
        (d.ino, FileType::Directory, 2)
    );

    let before = arm(&fs, &s, &counters, then).await;
    fs.unlink(&c, ROOT_INO, b"gone")
        .await
        .unwrap_or_else(|e| panic!("unlink after a lost response and {then:?}: {e}"));
    disarmed("unlink", &s, &counters, before);

    let before = arm(&fs, &s, &counters, then).await;
    fs.rename(&c, a.ino, b"f", b.ino, b"victim", RenameFlags::default())
        .await
        .unwrap_or_else(|e| panic!("rename over a file after a lost response and {then:?}: {e}"));
    disarmed("rename of a file", &s, &counters, before);
    let got = fs
        .lookup(&c, b.ino, b"victim")
        .await
        .expect("lookup victim");
    assert_eq!(
        (got.ino, got.nlink),
        (f.ino, 1),
        "the moved file, once linked"
    );
    assert_ne!(got.ino, old.ino);

    let before = arm(&fs, &s, &counters, then).await;
    fs.rename(&c, ROOT_INO, b"d", a.ino, b"d2", RenameFlags::default())
        .await
        .unwrap_or_else(|e| panic!("directory move after a lost response and {then:?}: {e}"));
    disarmed("rename of a directory", &s, &counters, before);

    fs.drop_caches();
    assert_eq!(names(&fs, ROOT_INO).await, ["a", "b"]);
    assert_eq!(names(&fs, a.ino).await, ["d2"]);
    assert_eq!(names(&fs, b.ino).await, ["victim"]);
    let a_now = fs.getattr(a.ino).await.expect("getattr a");
    assert_eq!(a_now.nlink, 3, "a holds one subdirectory");
    assert_eq!(fs.getattr(ROOT_INO).await.expect("root").nlink, 4);
    let d2 = fs.lookup(&c, a.ino, b"d2").await.expect("lookup d2");
    assert_eq!(d2.ino, d.ino);
    assert_eq!(fs.lookup(&c, d.ino, b"..").await.expect("d2/..").ino, a.ino);

    // Every counter, link count and orphan as the checker wants them:
    // nothing was applied twice.
    fs.settle().await;
    assert_eq!(s.inner().pending(), 0);
    let report = check::check(s.as_ref()).await.expect("check");
    assert!(report.is_clean(), "{:?}", report.problems);
}

async fn fs_lost_then_throttle(backend: Arc<dyn Store>) {
    namespace_changes_survive(backend, Fault::Throttle).await
}

async fn fs_lost_then_conflict(backend: Arc<dyn Store>) {
    namespace_changes_survive(backend, Fault::Conflict).await
}

async fn fs_lost_then_in_progress(backend: Arc<dyn Store>) {
    namespace_changes_survive(backend, Fault::InProgress).await
}

// The token tests need a store that honours request tokens, as DynamoDB
// does: the embedded store does; stock moto ignores them (the test server
// scripts/test starts must remember them).
both_stores!(
    transient_faults_are_retried,
    persistent_faults_give_up,
    condition_failures_are_answers,
    lost_commit_response_applied_once,
    lost_then_any_error_keeps_the_token,
    in_progress_is_waited_out,
    giving_up_after_a_lost_response_says_unknown,
    same_token_twice_applies_once,
    fs_lost_then_throttle,
    fs_lost_then_conflict,
    fs_lost_then_in_progress,
);
