//! Retries, request counting and fault injection over real stores: the
//! retry layer must ride out throttling, timeouts and conflicts, and a
//! commit whose response was lost must not be applied twice.

mod common;

use std::sync::Arc;
use std::time::Duration;

use dynamofs_core::store::faults::Target;
use dynamofs_core::store::{
    Attrs, Backoff, Change, Cond, Counters, Counting, Fault, Faults, Key, RequestKind, Retrying,
    Store, StoreError, Table, Token, Value, Write,
};

fn fast() -> Backoff {
    Backoff {
        first: Duration::from_millis(1),
        max: Duration::from_millis(5),
        attempts: 6,
    }
}

type Stack = Retrying<Faults<Counting<Arc<dyn Store>>>>;

/// Retrying over fault injection over counting over a real backend.
fn stack(backend: Arc<dyn Store>) -> (Stack, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let s = Retrying::new(
        Faults::new(Counting::new(backend, Arc::clone(&counters))),
        fast(),
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

async fn counter(s: &dyn Store, k: &Key) -> Option<i64> {
    s.get(Table::Meta, k, true)
        .await
        .expect("get")
        .and_then(|i| i.attrs.get("n").and_then(Value::as_n))
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
    assert_eq!(counters.get(RequestKind::TransactWriteItems).requests, 1);
}

async fn persistent_faults_give_up(backend: Arc<dyn Store>) {
    let (s, _) = stack(backend);
    s.inner().plan(Target::Reads, Fault::Throttle, 10);
    let r = s.get(Table::Meta, &Key::new("f", "2"), true).await;
    assert!(matches!(r, Err(StoreError::Throttled(_))), "{r:?}");
    assert_eq!(
        s.inner().injected(),
        6,
        "gives up after the configured attempts"
    );
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
    let r = s
        .write(&Write::Put {
            table: Table::Meta,
            key: k.clone(),
            attrs: Attrs::new(),
            cond: Some(Cond::NotExists),
        })
        .await;
    assert!(matches!(r, Err(StoreError::ConditionFailed { .. })));
    assert_eq!(s.retries(), 0, "a failed condition is not retried");
    assert_eq!(counters.get(RequestKind::PutItem).requests, 2);
}

/// A transaction whose first response is lost is retried with the same
/// token and is applied exactly once.
async fn lost_commit_response_applied_once(backend: Arc<dyn Store>) {
    let (s, counters) = stack(backend);
    let k = Key::new("f", "4");
    let create = Write::Put {
        table: Table::Meta,
        key: Key::new("f", "4-entry"),
        attrs: Attrs::new(),
        cond: Some(Cond::NotExists),
    };
    s.inner().plan(Target::Transactions, Fault::LostResponse, 1);
    s.transact(&[bump(&k), create], &Token::fresh())
        .await
        .expect("the retry succeeds instead of failing its own NotExists condition");
    assert_eq!(counter(&s, &k).await, Some(1), "applied twice");
    assert_eq!(counters.get(RequestKind::TransactWriteItems).requests, 2);
}

async fn same_token_twice_applies_once(s: Arc<dyn Store>) {
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

macro_rules! both {
    ($($name:ident),*) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name(crate::common::sqlite().await).await })*
        }
        mod dynamo {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() { super::$name(crate::common::dynamo().await).await })*
        }
    };
}

both!(
    transient_faults_are_retried,
    persistent_faults_give_up,
    condition_failures_are_answers,
    lost_commit_response_applied_once,
    same_token_twice_applies_once
);
