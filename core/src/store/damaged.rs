//! Pages that step over damaged items.
//!
//! A backend fails a whole page when one of its items does not decode (a
//! SQLite value that is not postcard, a DynamoDB attribute of a type the
//! store never writes), naming that item's key. One damaged item must not
//! hide its neighbours: a directory listing shows the rest, fsck reports it
//! and checks the rest. So a failed page is read again one item at a time
//! up to the damaged one, which is handed back apart, and the next page
//! starts after it. That costs one request per item of the page, and only
//! where the damage is.

use std::future::Future;

use super::{Item, Key, Page, Query, ScanPage, Store, StoreError, StoreResult, Table};

/// An item the backend could not decode: its key, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecodable {
    pub key: Key,
    pub why: String,
}

/// One page of a scan; the items that did not decode come apart.
pub async fn scan_page(
    store: &dyn Store,
    table: Table,
    start_after: Option<&Key>,
    limit: usize,
) -> StoreResult<(ScanPage, Vec<Undecodable>)> {
    let fetch = |at: Option<Key>, n: usize| async move {
        let p = store.scan(table, at.as_ref(), n).await?;
        Ok((p.items, p.next))
    };
    let (items, next, bad) =
        step_over(start_after.cloned(), limit, fetch, |k| Some(k.clone())).await?;
    Ok((ScanPage { items, next }, bad))
}

/// One page of a query; the items that did not decode come apart.
pub async fn query_page(store: &dyn Store, q: &Query) -> StoreResult<(Page, Vec<Undecodable>)> {
    let fetch = |at: Option<Vec<u8>>, n: usize| {
        let mut q = q.clone();
        q.start_after = at;
        q.limit = Some(n);
        async move {
            let p = store.query(&q).await?;
            Ok((p.items, p.next))
        }
    };
    let limit = q.limit.unwrap_or(1000);
    let of_partition = |k: &Key| (k.p == q.p).then(|| k.s.clone());
    let (items, next, bad) = step_over(q.start_after.clone(), limit, fetch, of_partition).await?;
    Ok((Page { items, next }, bad))
}

/// Read a page from `start`; when it fails on a damaged item, read one
/// item at a time until that item, and continue after it. `cursor` turns
/// a damaged item's key into a cursor (`None`: not an item this read can
/// step over, so the error stands).
async fn step_over<C, F, Fut>(
    start: Option<C>,
    limit: usize,
    fetch: F,
    cursor: impl Fn(&Key) -> Option<C>,
) -> StoreResult<(Vec<Item>, Option<C>, Vec<Undecodable>)>
where
    C: Clone,
    F: Fn(Option<C>, usize) -> Fut,
    Fut: Future<Output = StoreResult<(Vec<Item>, Option<C>)>>,
{
    let damaged = |e: &StoreError| match e {
        StoreError::Corrupt { key, .. } => cursor(key),
        _ => None,
    };
    match fetch(start.clone(), limit).await {
        Err(e) if damaged(&e).is_some() => {}
        r => return r.map(|(items, next)| (items, next, Vec::new())),
    }
    let mut items = Vec::new();
    let mut at = start;
    for _ in 0..limit.max(1) {
        match fetch(at.clone(), 1).await {
            Ok((got, next)) => {
                items.extend(got);
                match next {
                    Some(n) => at = Some(n),
                    None => return Ok((items, None, Vec::new())),
                }
            }
            Err(e) => {
                let Some(after) = damaged(&e) else {
                    return Err(e);
                };
                let StoreError::Corrupt { key, why } = e else {
                    return Err(e);
                };
                tracing::error!("item {key} does not decode: {why}");
                return Ok((items, Some(after), vec![Undecodable { key, why }]));
            }
        }
    }
    Ok((items, at, Vec::new()))
}
