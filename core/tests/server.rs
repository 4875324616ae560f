//! What the tests' DynamoDB server (scripts/dynamo-test-server) must get
//! right where stock moto does not, checked through the real aws-sdk client:
//! transactions isolated from concurrent requests and rolled back exactly,
//! client request tokens (see also faults.rs), and queries that read exactly their partition
//! after the server's query patch. The store-level properties run on the
//! embedded store too, which must behave the same.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use dynamofs_core::store::{
    Attrs, Change, Cond, DynamoConfig, DynamoStore, Item, Key, Query, Range, Store, StoreError,
    Table, Token, Value, Write,
};

fn n(attr: &str, v: i64) -> Attrs {
    Attrs::from([(attr.to_string(), Value::N(v))])
}

fn bump(table: Table, key: Key) -> Write {
    Write::Update {
        table,
        key,
        changes: vec![Change::add("n", 1)],
        cond: None,
    }
}

async fn counter(s: &dyn Store, table: Table, k: &Key) -> Option<i64> {
    s.get(table, k, true)
        .await
        .expect("get")
        .and_then(|i| i.attrs.get("n").and_then(Value::as_n))
}

/// Every item of partition `p`, through pages of `page` items (or one
/// query when `None`).
async fn partition(
    s: &dyn Store,
    table: Table,
    p: &[u8],
    range: Range,
    page: Option<usize>,
) -> Vec<Item> {
    let mut q = Query::new(table, p, range);
    q.limit = page;
    let mut items = Vec::new();
    for _ in 0..1000 {
        let got = s.query(&q).await.expect("query");
        if let Some(n) = page {
            assert!(
                got.items.len() <= n,
                "a page of {} items, limit {n}",
                got.items.len()
            );
        }
        items.extend(got.items);
        match got.next {
            Some(next) => q.start_after = Some(next),
            None => return items,
        }
    }
    panic!("pagination of {} does not end", String::from_utf8_lossy(p));
}

/// The same table pair as `s`, through a client of its own.
async fn second_client(s: &Arc<dyn Store>) -> Arc<dyn Store> {
    common::set_test_credentials();
    let cfg = DynamoConfig {
        region: Some("us-east-1".into()),
        table: s.table_name(Table::Meta),
        endpoint: Some(common::endpoint()),
        profile: None,
    };
    Arc::new(DynamoStore::connect(&cfg).await.expect("second client"))
}

// ------------------------------------------------------------ transactions

/// Cancelled transactions that overwrite, update, create and delete items
/// leave them exactly as they were, while another client keeps committing
/// writes to neighbouring items of both tables. Stock moto restores a copy
/// of the whole table on cancellation, erasing those writes.
async fn cancelled_transactions_roll_back_exactly(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let k = |s: &str| Key::new("r", s);
    // The cancelled transactions touch the "x" items, the writer the "w"
    // items of the same partition.
    let mine = || Range::Prefix(b"x".to_vec());
    let seed = [
        (k("x-keep"), n("v", 1)),
        (k("x-upd"), n("n", 5)),
        (k("x-del"), n("v", 2)),
        (k("x-guard"), n("v", 1)),
    ];
    for (key, attrs) in &seed {
        one.write(&Write::Put {
            table: Table::Meta,
            key: key.clone(),
            attrs: attrs.clone(),
            cond: None,
        })
        .await
        .expect("seed");
    }
    let before = partition(one.as_ref(), Table::Meta, b"r", mine(), None).await;
    assert_eq!(before.len(), seed.len());
    let doomed = vec![
        Write::Put {
            table: Table::Meta,
            key: k("x-keep"),
            attrs: n("v", 99),
            cond: None,
        },
        bump(Table::Meta, k("x-upd")),
        bump(Table::Meta, k("x-created-by-update")),
        Write::Delete {
            table: Table::Meta,
            key: k("x-del"),
            cond: Some(Cond::Exists),
        },
        Write::Put {
            table: Table::Meta,
            key: k("x-created-by-put"),
            attrs: n("v", 3),
            cond: Some(Cond::NotExists),
        },
        Write::Put {
            table: Table::Blocks,
            key: k("x-block"),
            attrs: n("v", 4),
            cond: None,
        },
        Write::Check {
            table: Table::Meta,
            key: k("x-guard"),
            cond: Cond::eq("v", Value::N(0)),
        },
    ];
    const CANCELS: usize = 40;
    const WRITES: i64 = 60;
    let canceller = async {
        for round in 0..CANCELS {
            match one.transact(&doomed, &Token::fresh()).await {
                Err(StoreError::ConditionFailed { index: Some(6), .. }) => {}
                other => panic!("round {round}: expected the check to cancel, got {other:?}"),
            }
            let now = partition(one.as_ref(), Table::Meta, b"r", mine(), None).await;
            assert_eq!(
                now, before,
                "round {round}: a cancelled transaction left a trace"
            );
            let block = one
                .get(Table::Blocks, &k("x-block"), true)
                .await
                .expect("get");
            assert_eq!(block, None, "round {round}: a cancelled put stayed");
        }
    };
    // Neighbours in the same partitions of both tables, in transactions (which
    // stock moto snapshots) and single writes.
    let writer = async {
        for i in 0..WRITES {
            let w = [
                bump(Table::Meta, k(&format!("w{}", i % 3))),
                bump(Table::Blocks, k(&format!("w{}", i % 2))),
            ];
            two.transact(&w, &Token::fresh())
                .await
                .expect("writer's transaction");
            two.write(&bump(Table::Meta, k("w-single")))
                .await
                .expect("writer's update");
        }
    };
    tokio::join!(canceller, writer);
    let sum = |t: Table, names: Vec<String>| {
        let two = Arc::clone(&two);
        async move {
            let mut total = 0;
            for s in names {
                total += counter(two.as_ref(), t, &k(&s)).await.unwrap_or(0);
            }
            total
        }
    };
    assert_eq!(
        sum(Table::Meta, (0..3).map(|i| format!("w{i}")).collect()).await,
        WRITES,
        "committed transactions were lost"
    );
    assert_eq!(
        sum(Table::Blocks, (0..2).map(|i| format!("w{i}")).collect()).await,
        WRITES,
        "committed transactions were lost"
    );
    assert_eq!(
        counter(two.as_ref(), Table::Meta, &k("w-single")).await,
        Some(WRITES),
        "committed updates were lost"
    );
}

/// Two clients increment one counter, each in transactions: none is lost.
async fn concurrent_transactions_on_one_item(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let key = Key::new("c", "counter");
    const EACH: i64 = 40;
    let run = |s: Arc<dyn Store>| {
        let key = key.clone();
        async move {
            for _ in 0..EACH {
                let w = [
                    bump(Table::Meta, key.clone()),
                    Write::Check {
                        table: Table::Meta,
                        key: Key::new("c", "absent"),
                        cond: Cond::NotExists,
                    },
                ];
                s.transact(&w, &Token::fresh()).await.expect("increment");
            }
        }
    };
    tokio::join!(run(Arc::clone(&one)), run(Arc::clone(&two)));
    assert_eq!(
        counter(one.as_ref(), Table::Meta, &key).await,
        Some(2 * EACH)
    );
}

// ------------------------------------------------------------------ tokens

/// Only completed successes are remembered: a transaction cancelled under
/// a token runs again when retried with it, and can then succeed.
async fn cancelled_token_is_not_remembered(s: Arc<dyn Store>) {
    let k = Key::new("t", "2");
    let guard = Key::new("t", "guard");
    let w = [
        bump(Table::Meta, k.clone()),
        Write::Check {
            table: Table::Meta,
            key: guard.clone(),
            cond: Cond::Exists,
        },
    ];
    let token = Token::fresh();
    let r = s.transact(&w, &token).await;
    assert!(
        matches!(r, Err(StoreError::ConditionFailed { index: Some(1), .. })),
        "{r:?}"
    );
    s.write(&Write::Put {
        table: Table::Meta,
        key: guard,
        attrs: Attrs::new(),
        cond: None,
    })
    .await
    .expect("put guard");
    s.transact(&w, &token).await.expect("the retry runs again");
    assert_eq!(counter(s.as_ref(), Table::Meta, &k).await, Some(1));
}

/// A token reused with other parameters is refused, as DynamoDB refuses
/// it with IdempotentParameterMismatchException, and nothing is applied.
/// (The embedded store does not check parameters.)
#[tokio::test(flavor = "multi_thread")]
async fn token_with_other_parameters_is_refused() {
    let s = common::dynamo().await;
    let (a, b) = (Key::new("t", "a"), Key::new("t", "b"));
    let token = Token::fresh();
    s.transact(&[bump(Table::Meta, a.clone())], &token)
        .await
        .expect("first");
    let r = s.transact(&[bump(Table::Meta, b.clone())], &token).await;
    match r {
        Err(StoreError::Invalid(msg)) => {
            assert!(msg.contains("IdempotentParameterMismatch"), "{msg}")
        }
        other => panic!("expected a parameter mismatch, got {other:?}"),
    }
    assert_eq!(counter(s.as_ref(), Table::Meta, &b).await, None);
    assert_eq!(counter(s.as_ref(), Table::Meta, &a).await, Some(1));
}

// ----------------------------------------------------------------- queries

/// Sort keys chosen for byte order: the empty-adjacent 0x00, multi-byte
/// prefixes, 0x7f/0x80 (signedness) and 0xff.
const SORT_KEYS: &[&[u8]] = &[
    b"\x00",
    b"\x00\x00",
    b"\x00\xff",
    b"a",
    b"ab",
    b"abc",
    b"abd",
    b"b",
    b"\x7f",
    b"\x80",
    b"\xff",
    b"\xff\x00",
    b"\xff\xff",
];

/// Partitions whose keys are neighbours in byte order of the one queried.
const PARTITIONS: &[&[u8]] = &[b"d", b"d\x00", b"c\xff", b"e", b"dd"];

fn ranges() -> Vec<Range> {
    vec![
        Range::All,
        Range::Prefix(b"a".to_vec()),
        Range::Prefix(b"ab".to_vec()),
        Range::Prefix(b"\x00".to_vec()),
        Range::Prefix(b"\xff".to_vec()),
        Range::Prefix(b"z".to_vec()),
        Range::Between(b"ab".to_vec(), b"b".to_vec()),
        Range::Between(Vec::new(), b"ab".to_vec()),
        Range::Between(b"\x00\x00".to_vec(), b"\x80".to_vec()),
        Range::Between(b"b".to_vec(), b"a".to_vec()),
        Range::After(b"\x7f".to_vec()),
        Range::After(b"abc".to_vec()),
        Range::After(Vec::new()),
        Range::After(b"\xff\xff".to_vec()),
    ]
}

/// Every query answers exactly the items of its partition in its range, in
/// byte order of the sort key, whole or in pages of any size, among
/// neighbouring partitions and with a larger table around them.
async fn queries_read_exactly_their_partition(s: Arc<dyn Store>) {
    // Attributes tell which partition an item was written to.
    let mut stored: BTreeMap<(Vec<u8>, Vec<u8>), i64> = BTreeMap::new();
    for (pi, p) in PARTITIONS.iter().enumerate() {
        for (si, sk) in SORT_KEYS.iter().enumerate() {
            let v = (pi * 100 + si) as i64;
            stored.insert((p.to_vec(), sk.to_vec()), v);
        }
    }
    // Bulk around them: other directories in the same table.
    for i in 0..40 {
        stored.insert(
            (
                format!("bulk{}", i % 8).into_bytes(),
                format!("{i}").into_bytes(),
            ),
            -1,
        );
    }
    let puts: Vec<_> = stored
        .iter()
        .map(|((p, sk), v)| dynamofs_core::store::BatchWrite::Put {
            key: Key::new(p.clone(), sk.clone()),
            attrs: n("v", *v),
        })
        .collect();
    s.batch_write(Table::Meta, &puts).await.expect("populate");

    for p in PARTITIONS {
        for range in ranges() {
            let want: Vec<(Vec<u8>, i64)> = stored
                .iter()
                .filter(|((ip, sk), _)| ip.as_slice() == *p && range.contains(sk))
                .map(|((_, sk), v)| (sk.clone(), *v))
                .collect();
            for page in [None, Some(1), Some(2), Some(5)] {
                let got: Vec<(Vec<u8>, i64)> =
                    partition(s.as_ref(), Table::Meta, p, range.clone(), page)
                        .await
                        .into_iter()
                        .map(|i| {
                            assert_eq!(i.key.p, p.to_vec(), "an item of another partition");
                            (
                                i.key.s,
                                i.attrs.get("v").and_then(Value::as_n).unwrap_or(-2),
                            )
                        })
                        .collect();
                assert_eq!(
                    got,
                    want,
                    "partition {:?}, {range:?}, pages of {page:?}",
                    String::from_utf8_lossy(p)
                );
            }
        }
    }
    // A cursor from a page continues after it even once that item is gone.
    let mut q = Query::new(
        Table::Meta,
        *PARTITIONS.first().expect("a partition"),
        Range::All,
    );
    q.limit = Some(3);
    let first = s.query(&q).await.expect("page");
    let cursor = first.next.expect("more pages");
    s.write(&Write::Delete {
        table: Table::Meta,
        key: Key::new(PARTITIONS[0], cursor.clone()),
        cond: None,
    })
    .await
    .expect("delete");
    q.start_after = Some(cursor.clone());
    q.limit = None;
    let rest = s.query(&q).await.expect("rest");
    let want: Vec<&[u8]> = SORT_KEYS
        .iter()
        .copied()
        .filter(|k| *k > cursor.as_slice())
        .collect();
    let got: Vec<&[u8]> = rest.items.iter().map(|i| i.key.s.as_slice()).collect();
    assert_eq!(got, want);
}

// ------------------------------------------------------------------ wiring

/// Two clients of one embedded store: one in-memory database, shared.
async fn sqlite_pair() -> (Arc<dyn Store>, Arc<dyn Store>) {
    let s = common::sqlite().await;
    (Arc::clone(&s), s)
}

/// Two clients of one table pair on the test server.
async fn dynamo_pair() -> (Arc<dyn Store>, Arc<dyn Store>) {
    let one = common::dynamo().await;
    let two = second_client(&one).await;
    (one, two)
}

/// The tests of one backend: `$one` makes a store, `$pair` two clients.
macro_rules! tests {
    ($backend:ident, $one:path, $pair:path; pairs: $($two:ident),*; singles: $($single:ident),*) => {
        mod $backend {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $two() {
                let (a, b) = $pair().await;
                crate::$two(a, b).await
            })*
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $single() {
                crate::$single($one().await).await
            })*
        }
    };
}

macro_rules! on_both {
    ($($rest:tt)*) => {
        tests!(sqlite, crate::common::sqlite, crate::sqlite_pair; $($rest)*);
        tests!(dynamo, crate::common::dynamo, crate::dynamo_pair; $($rest)*);
    };
}

on_both!(
    pairs: cancelled_transactions_roll_back_exactly, concurrent_transactions_on_one_item;
    singles: cancelled_token_is_not_remembered, queries_read_exactly_their_partition
);
