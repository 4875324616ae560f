//! The store contract: one suite, run against both backends. Every backend
//! must behave as DynamoDB does for the operations dynamofs uses.

mod common;

use std::collections::BTreeMap;

use dynamofs_core::store::{
    Attrs, BatchWrite, Change, CmpOp, Cond, Key, Query, Range, Store, StoreError, Table,
    TableState, Token, Value, Write, MAX_ITEM_BYTES,
};

fn key(p: &str, s: &str) -> Key {
    Key::new(p.as_bytes(), s.as_bytes())
}

fn attrs(pairs: &[(&str, Value)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<BTreeMap<_, _>>()
}

fn put(k: Key, a: Attrs, cond: Option<Cond>) -> Write {
    Write::Put {
        table: Table::Meta,
        key: k,
        attrs: a,
        cond,
    }
}

async fn read(s: &dyn Store, k: &Key) -> Option<Attrs> {
    s.get(Table::Meta, k, true)
        .await
        .expect("get")
        .map(|i| i.attrs)
}

fn condition_failed_at(r: Result<(), StoreError>) -> (Option<usize>, Key) {
    match r {
        Err(StoreError::ConditionFailed { index, key }) => (index, key),
        other => panic!("expected a condition failure, got {other:?}"),
    }
}

async fn put_get_delete(s: &dyn Store) {
    let k = key("p1", "a");
    assert_eq!(read(s, &k).await, None);
    let a = attrs(&[
        ("n", Value::N(-42)),
        ("b", Value::B(vec![0, 255, 7])),
        ("t", Value::S("héllo".into())),
        ("e", Value::B(vec![])),
    ]);
    s.write(&put(k.clone(), a.clone(), None))
        .await
        .expect("put");
    assert_eq!(read(s, &k).await, Some(a));
    // Binary keys with arbitrary bytes (file names are bytes).
    let odd = Key::new(vec![b'd', 0, 0xff], vec![0xfe, b'/', 0x80]);
    s.write(&put(odd.clone(), attrs(&[("i", Value::N(9))]), None))
        .await
        .expect("put odd key");
    assert_eq!(read(s, &odd).await, Some(attrs(&[("i", Value::N(9))])));
    s.write(&Write::Delete {
        table: Table::Meta,
        key: k.clone(),
        cond: None,
    })
    .await
    .expect("delete");
    assert_eq!(read(s, &k).await, None);
    // Tables are separate namespaces.
    assert!(s
        .get(Table::Blocks, &odd, true)
        .await
        .expect("get")
        .is_none());
}

async fn every_condition_kind(s: &dyn Store) {
    let k = key("cond", "x");
    let base = attrs(&[("n", Value::N(5)), ("t", Value::S("abc".into()))]);
    // NotExists on an absent item holds; then fails once it exists.
    s.write(&put(k.clone(), base.clone(), Some(Cond::NotExists)))
        .await
        .expect("create");
    let (idx, fk) = condition_failed_at(
        s.write(&put(k.clone(), base.clone(), Some(Cond::NotExists)))
            .await,
    );
    assert_eq!((idx, fk), (None, k.clone()));

    let holds = [
        Cond::Exists,
        Cond::has("n"),
        Cond::has_not("zz"),
        Cond::eq("n", Value::N(5)),
        Cond::cmp("n", CmpOp::Ne, Value::N(6)),
        Cond::cmp("n", CmpOp::Lt, Value::N(6)),
        Cond::cmp("n", CmpOp::Le, Value::N(5)),
        Cond::cmp("n", CmpOp::Gt, Value::N(4)),
        Cond::cmp("n", CmpOp::Ge, Value::N(5)),
        Cond::eq("t", Value::S("abc".into())),
        Cond::cmp("t", CmpOp::Lt, Value::S("abd".into())),
        Cond::And(vec![Cond::Exists, Cond::eq("n", Value::N(5))]),
        Cond::Or(vec![Cond::eq("n", Value::N(1)), Cond::eq("n", Value::N(5))]),
    ];
    for c in holds {
        s.write(&Write::Update {
            table: Table::Meta,
            key: k.clone(),
            changes: vec![Change::set("last", Value::S(format!("{c:?}")))],
            cond: Some(c.clone()),
        })
        .await
        .unwrap_or_else(|e| panic!("condition {c:?} should hold: {e}"));
    }
    let fails = [
        Cond::NotExists,
        Cond::has("zz"),
        Cond::has_not("n"),
        Cond::eq("n", Value::N(6)),
        Cond::eq("zz", Value::N(5)),
        Cond::cmp("n", CmpOp::Ne, Value::N(5)),
        Cond::cmp("n", CmpOp::Lt, Value::N(5)),
        Cond::cmp("n", CmpOp::Gt, Value::N(5)),
        Cond::eq("n", Value::S("5".into())),
        Cond::And(vec![Cond::Exists, Cond::eq("n", Value::N(6))]),
        Cond::Or(vec![Cond::eq("n", Value::N(1)), Cond::NotExists]),
    ];
    for c in fails {
        let r = s
            .write(&Write::Delete {
                table: Table::Meta,
                key: k.clone(),
                cond: Some(c.clone()),
            })
            .await;
        assert!(
            matches!(r, Err(StoreError::ConditionFailed { index: None, .. })),
            "condition {c:?} should fail, got {r:?}"
        );
    }
    assert!(
        read(s, &k).await.is_some(),
        "failed deletes removed the item"
    );
    // Conditions on an absent item: only NotExists / HasNot hold.
    let absent = key("cond", "absent");
    let r = s
        .write(&Write::Update {
            table: Table::Meta,
            key: absent.clone(),
            changes: vec![Change::add("n", 1)],
            cond: Some(Cond::Exists),
        })
        .await;
    assert_eq!(condition_failed_at(r), (None, absent.clone()));
    assert_eq!(read(s, &absent).await, None);
}

async fn update_changes(s: &dyn Store) {
    let k = key("upd", "x");
    // An update creates the item; ADD starts from zero.
    s.write(&Write::Update {
        table: Table::Meta,
        key: k.clone(),
        changes: vec![Change::add("c", 3), Change::set("t", Value::S("a".into()))],
        cond: Some(Cond::NotExists),
    })
    .await
    .expect("update creates");
    assert_eq!(
        read(s, &k).await,
        Some(attrs(&[("c", Value::N(3)), ("t", Value::S("a".into()))]))
    );
    s.write(&Write::Update {
        table: Table::Meta,
        key: k.clone(),
        changes: vec![
            Change::add("c", -5),
            Change::remove("t"),
            Change::set("b", Value::B(vec![1])),
        ],
        cond: Some(Cond::eq("c", Value::N(3))),
    })
    .await
    .expect("update");
    assert_eq!(
        read(s, &k).await,
        Some(attrs(&[("c", Value::N(-2)), ("b", Value::B(vec![1]))]))
    );
}

async fn transaction_all_or_nothing(s: &dyn Store) {
    // Item 37 already exists, so its NotExists condition fails.
    s.write(&put(key("tx", "37"), attrs(&[("v", Value::N(0))]), None))
        .await
        .expect("seed");
    let writes: Vec<Write> = (0..40)
        .map(|i| {
            put(
                key("tx", &i.to_string()),
                attrs(&[("v", Value::N(i))]),
                Some(Cond::NotExists),
            )
        })
        .collect();
    let r = s.transact(&writes, &Token::fresh()).await;
    assert_eq!(condition_failed_at(r), (Some(37), key("tx", "37")));
    for i in 0..40 {
        let got = read(s, &key("tx", &i.to_string())).await;
        if i == 37 {
            assert_eq!(got, Some(attrs(&[("v", Value::N(0))])));
        } else {
            assert_eq!(got, None, "item {i} was written by a failed transaction");
        }
    }
    // Every kind of write in one successful transaction.
    s.write(&put(key("tx2", "del"), attrs(&[("v", Value::N(1))]), None))
        .await
        .expect("seed");
    s.write(&put(key("tx2", "chk"), attrs(&[("v", Value::N(2))]), None))
        .await
        .expect("seed");
    let ok = vec![
        put(
            key("tx2", "new"),
            attrs(&[("v", Value::N(3))]),
            Some(Cond::NotExists),
        ),
        Write::Update {
            table: Table::Meta,
            key: key("tx2", "chk2"),
            changes: vec![Change::add("v", 4)],
            cond: None,
        },
        Write::Delete {
            table: Table::Meta,
            key: key("tx2", "del"),
            cond: Some(Cond::eq("v", Value::N(1))),
        },
        Write::Check {
            table: Table::Meta,
            key: key("tx2", "chk"),
            cond: Cond::eq("v", Value::N(2)),
        },
        Write::Put {
            table: Table::Blocks,
            key: key("tx2", "blk"),
            attrs: attrs(&[("d", Value::B(vec![9; 10]))]),
            cond: None,
        },
    ];
    s.transact(&ok, &Token::fresh()).await.expect("transaction");
    assert_eq!(
        read(s, &key("tx2", "new")).await,
        Some(attrs(&[("v", Value::N(3))]))
    );
    assert_eq!(
        read(s, &key("tx2", "chk2")).await,
        Some(attrs(&[("v", Value::N(4))]))
    );
    assert_eq!(read(s, &key("tx2", "del")).await, None);
    assert!(s
        .get(Table::Blocks, &key("tx2", "blk"), true)
        .await
        .expect("get")
        .is_some());
    // A failing check alone cancels the writes beside it.
    let r = s
        .transact(
            &[
                put(key("tx3", "a"), Attrs::new(), None),
                Write::Check {
                    table: Table::Meta,
                    key: key("tx2", "chk"),
                    cond: Cond::eq("v", Value::N(99)),
                },
            ],
            &Token::fresh(),
        )
        .await;
    assert_eq!(condition_failed_at(r), (Some(1), key("tx2", "chk")));
    assert_eq!(read(s, &key("tx3", "a")).await, None);
}

async fn query_ranges_and_pages(s: &dyn Store) {
    let names = ["a", "b", "ba", "bb", "bc", "c", "d"];
    for n in names {
        s.write(&put(key("q", n), attrs(&[("n", Value::S(n.into()))]), None))
            .await
            .expect("put");
    }
    s.write(&put(key("q2", "b"), Attrs::new(), None))
        .await
        .expect("put");
    let sks = |items: &[dynamofs_core::store::Item]| -> Vec<String> {
        items
            .iter()
            .map(|i| String::from_utf8_lossy(&i.key.s).into_owned())
            .collect()
    };
    let all = s
        .query(&Query::new(Table::Meta, "q", Range::All))
        .await
        .expect("query");
    assert_eq!(sks(&all.items), names);
    assert_eq!(all.next, None);
    let pre = s
        .query(&Query::new(Table::Meta, "q", Range::Prefix(b"b".to_vec())))
        .await
        .expect("query");
    assert_eq!(sks(&pre.items), ["b", "ba", "bb", "bc"]);
    let btw = s
        .query(&Query::new(
            Table::Meta,
            "q",
            Range::Between(b"ba".to_vec(), b"c".to_vec()),
        ))
        .await
        .expect("query");
    assert_eq!(sks(&btw.items), ["ba", "bb", "bc", "c"]);
    let after = s
        .query(&Query::new(Table::Meta, "q", Range::After(b"bc".to_vec())))
        .await
        .expect("query");
    assert_eq!(sks(&after.items), ["c", "d"]);
    // Pages of 2 cover everything exactly once, in order.
    let mut got = Vec::new();
    let mut q = Query::new(Table::Meta, "q", Range::All);
    q.limit = Some(2);
    let mut pages = 0;
    loop {
        let page = s.query(&q).await.expect("page");
        assert!(page.items.len() <= 2);
        got.extend(sks(&page.items));
        pages += 1;
        match page.next {
            Some(n) => q.start_after = Some(n),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(got, names);
    assert!(pages >= 4);
    // Paging within a prefix.
    let mut q = Query::new(Table::Meta, "q", Range::Prefix(b"b".to_vec()));
    q.limit = Some(3);
    let p1 = s.query(&q).await.expect("page");
    assert_eq!(sks(&p1.items), ["b", "ba", "bb"]);
    q.start_after = p1.next;
    let p2 = s.query(&q).await.expect("page");
    assert_eq!(sks(&p2.items), ["bc"]);
    // An empty partition.
    let none = s
        .query(&Query::new(Table::Meta, "nothing", Range::All))
        .await
        .expect("query");
    assert!(none.items.is_empty() && none.next.is_none());
}

async fn batch_get_many(s: &dyn Store) {
    let writes: Vec<BatchWrite> = (0..250)
        .filter(|i| i % 7 != 3)
        .map(|i| BatchWrite::Put {
            key: key(&format!("bg{}", i % 13), &format!("{i:04}")),
            attrs: attrs(&[("i", Value::N(i))]),
        })
        .collect();
    s.batch_write(Table::Meta, &writes)
        .await
        .expect("batch write");
    let keys: Vec<Key> = (0..250)
        .rev()
        .map(|i| key(&format!("bg{}", i % 13), &format!("{i:04}")))
        .collect();
    let got = s
        .batch_get(Table::Meta, &keys, true)
        .await
        .expect("batch get");
    assert_eq!(got.len(), 250);
    for (k, item) in keys.iter().zip(&got) {
        let i: i64 = String::from_utf8_lossy(&k.s).parse().expect("number");
        match item {
            Some(it) => {
                assert_ne!(i % 7, 3);
                assert_eq!(&it.key, k);
                assert_eq!(it.attrs.get("i"), Some(&Value::N(i)));
            }
            None => assert_eq!(i % 7, 3, "item {i} missing"),
        }
    }
    // Batch deletes, then nothing is left.
    let dels: Vec<BatchWrite> = keys
        .iter()
        .map(|k| BatchWrite::Delete { key: k.clone() })
        .collect();
    s.batch_write(Table::Meta, &dels)
        .await
        .expect("batch delete");
    let got = s
        .batch_get(Table::Meta, &keys[..120], true)
        .await
        .expect("batch get");
    assert!(got.iter().all(Option::is_none));
}

async fn item_size_limit(s: &dyn Store) {
    let big = attrs(&[("d", Value::B(vec![7; MAX_ITEM_BYTES + 1]))]);
    let k = key("big", "x");
    let r = s.write(&put(k.clone(), big.clone(), None)).await;
    assert!(
        matches!(r, Err(StoreError::ItemTooLarge { .. })),
        "single put: {r:?}"
    );
    let r = s
        .transact(&[put(k.clone(), big.clone(), None)], &Token::fresh())
        .await;
    assert!(
        matches!(r, Err(StoreError::ItemTooLarge { .. })),
        "transaction: {r:?}"
    );
    let r = s
        .batch_write(
            Table::Blocks,
            &[BatchWrite::Put {
                key: k.clone(),
                attrs: big,
            }],
        )
        .await;
    assert!(
        matches!(r, Err(StoreError::ItemTooLarge { .. })),
        "batch: {r:?}"
    );
    assert_eq!(read(s, &k).await, None);
    // Well under the limit is accepted (moto caps items at 405,000 bytes, a
    // little below DynamoDB, so "just under" is 5 KB under).
    let fits = attrs(&[("d", Value::B(vec![7; MAX_ITEM_BYTES - 5000]))]);
    s.write(&Write::Put {
        table: Table::Blocks,
        key: k.clone(),
        attrs: fits,
        cond: None,
    })
    .await
    .expect("an item just under 400 KB");
}

async fn scan_pages(s: &dyn Store) {
    for i in 0..23 {
        s.write(&put(
            key(&format!("sc{}", i % 4), &format!("{i:02}")),
            Attrs::new(),
            None,
        ))
        .await
        .expect("put");
    }
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = s.scan(Table::Meta, start.as_ref(), 5).await.expect("scan");
        assert!(page.items.len() <= 5);
        seen.extend(page.items.into_iter().map(|i| i.key));
        match page.next {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 23);
}

async fn key_names_are_reserved(s: &dyn Store) {
    // "p" and "s" name the key attributes; no item may use them.
    for name in ["p", "s"] {
        let r = s
            .write(&put(key("rk", "x"), attrs(&[(name, Value::N(1))]), None))
            .await;
        assert!(
            matches!(r, Err(StoreError::Invalid(_))),
            "attribute {name}: {r:?}"
        );
    }
    assert_eq!(read(s, &key("rk", "x")).await, None);
}

async fn tables_exist(s: &dyn Store) {
    for t in Table::ALL {
        assert_eq!(s.table_state(t).await.expect("describe"), TableState::Ready);
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                let s = crate::common::sqlite().await;
                super::$name(s.as_ref()).await;
            })*
        }
        mod dynamo {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                let s = crate::common::dynamo().await;
                super::$name(s.as_ref()).await;
            })*
        }
    };
}

contract!(
    put_get_delete,
    every_condition_kind,
    update_changes,
    transaction_all_or_nothing,
    query_ranges_and_pages,
    batch_get_many,
    item_size_limit,
    scan_pages,
    key_names_are_reserved,
    tables_exist,
);

mod missing {
    use super::*;
    use dynamofs_core::store::{SqliteStore, Store};

    fn assert_missing<T: std::fmt::Debug>(r: Result<T, StoreError>) {
        assert!(
            matches!(r, Err(StoreError::TableMissing { .. })),
            "expected TableMissing, got {r:?}"
        );
    }

    async fn check(s: &dyn Store) {
        assert_eq!(
            s.table_state(Table::Meta).await.expect("describe"),
            TableState::Missing
        );
        assert_missing(s.get(Table::Meta, &key("a", "b"), true).await);
        assert_missing(s.write(&put(key("a", "b"), Attrs::new(), None)).await);
        assert_missing(s.query(&Query::new(Table::Meta, "a", Range::All)).await);
        assert_missing(
            s.transact(&[put(key("a", "b"), Attrs::new(), None)], &Token::fresh())
                .await,
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open(&dir.path().join("none.db")).expect("open");
        check(&s).await;
        assert!(
            !dir.path().join("none.db").exists(),
            "opening created a file"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dynamo_missing_table() {
        let s = crate::common::dynamo_uncreated("missing").await;
        check(&s).await;
    }
}
