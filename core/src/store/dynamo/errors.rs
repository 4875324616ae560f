//! SDK errors as typed [`StoreError`]s, with messages a user can act on.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use super::{DynamoStore, ATTEMPT_TIMEOUT};
use crate::store::error::StoreError;
use crate::store::types::*;

/// What an error is about, for messages and typed fields.
pub(super) struct Ctx<'a> {
    op: &'static str,
    table: &'a str,
    key: Option<&'a Key>,
    size: usize,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(op: &'static str, table: &'a str) -> Ctx<'a> {
        Ctx {
            op,
            table,
            key: None,
            size: 0,
        }
    }
    pub(super) fn key(mut self, key: &'a Key, size: usize) -> Ctx<'a> {
        self.key = Some(key);
        self.size = size;
        self
    }
}

fn no_key() -> Key {
    Key::new(Vec::new(), Vec::new())
}

fn mentions_item_size(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("item size") || m.contains("maximum allowed size")
}

/// The messages of an error and all its sources. Like the SDK's
/// `DisplayErrorContext` without its trailing Debug dump, which is too long
/// for a terminal.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let msg = e.to_string();
        // Several layers repeat their source's message; keep one copy.
        if !parts.last().is_some_and(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        cur = e.source();
    }
    // Some layers (the credentials chain) report over several lines; errors
    // are shown on one.
    parts
        .join(": ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn is_credentials_problem(chain: &str) -> bool {
    chain.to_ascii_lowercase().contains("credential")
}

/// The SDK lists every provider it tried; the user needs the gist and the
/// fix. The full chain goes to the debug log (`-v`).
fn credentials_error(chain: &str) -> StoreError {
    tracing::debug!("credentials: {chain}");
    StoreError::Credentials(format!(
        "none found in the environment, AWS profiles, web identity, container or instance metadata; {CREDENTIALS_HINT}"
    ))
}

const CREDENTIALS_HINT: &str = "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / \
                                --profile, or run on an instance role";

impl DynamoStore {
    fn table_missing(&self, table: &str) -> StoreError {
        StoreError::TableMissing {
            table: table.to_string(),
            hint: Some(format!(
                "run `dynamofs mkfs aws:{}/{}` to create it",
                self.inner.region, self.inner.meta
            )),
        }
    }

    /// Turns an error of any operation into a typed store error.
    ///
    /// How failures surfaced in practice (aws-sdk-dynamodb 1.136, moto):
    /// - no credentials anywhere: `DispatchFailure` (kind Other; the identity
    ///   resolver runs inside the orchestrator, so never ConstructionFailure)
    ///   reading "an error occurred while loading credentials: failed to load
    ///   IMDS session token ..." or, with IMDS disabled, "the credential
    ///   provider was not enabled: no credentials found in chain";
    /// - closed port: `DispatchFailure`, is_io, "Connection refused";
    /// - a server that accepts and never answers: `TimeoutError` after the
    ///   15 s attempt timeout (an unroutable address should be a timeout
    ///   `DispatchFailure` after 3 s; not reproducible in the test sandbox,
    ///   whose proxy answers HTTP 404 with no body instead);
    /// - moto accepts any access key, so AccessDenied is untested.
    pub(super) fn map_err<E>(&self, err: SdkError<E, HttpResponse>, ctx: Ctx<'_>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let endpoint = &self.inner.endpoint;
        let where_ = format!("{} on {} at {endpoint}", ctx.op, ctx.table);
        match &err {
            SdkError::ServiceError(se) => {
                let code = se.err().code().unwrap_or("");
                let msg = se.err().message().unwrap_or("").to_string();
                let status = se.raw().status();
                if code.is_empty() && msg.is_empty() {
                    // No DynamoDB error document: a proxy or some other
                    // server answered.
                    let body = se.raw().body().bytes().unwrap_or_default();
                    let body = String::from_utf8_lossy(&body[..body.len().min(200)]);
                    let what = format!(
                        "{where_}: HTTP {} without a DynamoDB error: {body}",
                        status.as_u16()
                    );
                    return match status.is_server_error() {
                        true => StoreError::Network(what),
                        false => StoreError::Other(what),
                    };
                }
                self.map_code(code, msg, status.is_server_error(), &ctx)
            }
            SdkError::TimeoutError(_) => StoreError::Timeout(format!(
                "{where_}: no response within {} s",
                ATTEMPT_TIMEOUT.as_secs()
            )),
            SdkError::DispatchFailure(df) => {
                let chain = error_chain(&err);
                if is_credentials_problem(&chain) {
                    credentials_error(&chain)
                } else if df.is_timeout() {
                    StoreError::Timeout(format!("{where_}: {chain}"))
                } else {
                    StoreError::Network(format!("{where_}: {chain}"))
                }
            }
            SdkError::ConstructionFailure(_) => {
                let chain = error_chain(&err);
                if is_credentials_problem(&chain) {
                    credentials_error(&chain)
                } else {
                    StoreError::Other(format!("{where_}: {chain}"))
                }
            }
            // An unparseable response: a proxy or something that is not
            // DynamoDB answered, or the connection broke mid-body.
            SdkError::ResponseError(_) => {
                StoreError::Network(format!("{where_}: bad response: {}", error_chain(&err)))
            }
            _ => StoreError::Other(format!("{where_}: {}", error_chain(&err))),
        }
    }

    fn map_code(&self, code: &str, msg: String, server_error: bool, ctx: &Ctx<'_>) -> StoreError {
        let key = || ctx.key.cloned().unwrap_or_else(no_key);
        match code {
            "ConditionalCheckFailedException" => StoreError::ConditionFailed {
                index: None,
                key: key(),
            },
            "ResourceNotFoundException" => self.table_missing(ctx.table),
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "MissingAuthenticationTokenException" => StoreError::AccessDenied(format!(
                "{code}: {msg} (needs dynamodb:{} on table {})",
                ctx.op, ctx.table
            )),
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded" => StoreError::Throttled(format!("{code}: {msg}")),
            "TransactionConflictException" => StoreError::TransactionConflict,
            // A retry reached the store while an earlier attempt under the
            // same token was still being applied: not a conflict with
            // another client, and not to be retried under a new token.
            "TransactionInProgressException" => StoreError::TransactionInProgress,
            "ValidationException" if mentions_item_size(&msg) => StoreError::ItemTooLarge {
                key: key(),
                // Unknown for updates: the server adds to what is stored.
                size: if ctx.size > 0 {
                    ctx.size
                } else {
                    MAX_ITEM_BYTES + 1
                },
            },
            "ValidationException" | "IdempotentParameterMismatchException" => {
                StoreError::Invalid(format!("{} on {}: {code}: {msg}", ctx.op, ctx.table))
            }
            "InternalServerError" | "ServiceUnavailable" | "InternalFailure" => {
                StoreError::Network(format!("{} on {}: {code}: {msg}", ctx.op, ctx.table))
            }
            _ if server_error => StoreError::Network(format!(
                "{} on {}: server error {code}: {msg}",
                ctx.op, ctx.table
            )),
            _ => StoreError::Other(format!("{} on {}: {code}: {msg}", ctx.op, ctx.table)),
        }
    }

    pub(super) fn map_transact_err(
        &self,
        err: SdkError<TransactWriteItemsError, HttpResponse>,
        writes: &[Write],
    ) -> StoreError {
        let Some(TransactWriteItemsError::TransactionCanceledException(tc)) =
            err.as_service_error()
        else {
            let e = self.map_err(err, Ctx::new("TransactWriteItems", &self.inner.meta));
            // moto reports an oversized update as a plain ValidationException
            // (DynamoDB as a cancellation reason); puts were checked before
            // sending, so an update is to blame.
            return match (e, writes.iter().find(|w| matches!(w, Write::Update { .. }))) {
                (StoreError::ItemTooLarge { size, .. }, Some(w)) => StoreError::ItemTooLarge {
                    key: w.key().clone(),
                    size,
                },
                (e, _) => e,
            };
        };
        let reasons = tc.cancellation_reasons();
        let code_at = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
        let find = |codes: &[&str]| (0..reasons.len()).find(|&i| codes.contains(&code_at(i)));
        if let Some(i) = find(&["ConditionalCheckFailed"]) {
            let key = writes
                .get(i)
                .map(|w| w.key().clone())
                .unwrap_or_else(no_key);
            return StoreError::ConditionFailed {
                index: Some(i),
                key,
            };
        }
        if find(&["TransactionConflict"]).is_some() {
            return StoreError::TransactionConflict;
        }
        if find(&["ThrottlingError", "ProvisionedThroughputExceeded"]).is_some() {
            return StoreError::Throttled(format!("transaction cancelled: {}", describe(reasons)));
        }
        if let Some(i) = find(&["ValidationError"]) {
            let msg = reasons.get(i).and_then(|r| r.message()).unwrap_or("");
            if let (true, Some(w)) = (mentions_item_size(msg), writes.get(i)) {
                let size = match w {
                    Write::Put { key, attrs, .. } => item_size(key, attrs),
                    _ => MAX_ITEM_BYTES + 1,
                };
                return StoreError::ItemTooLarge {
                    key: w.key().clone(),
                    size,
                };
            }
            return StoreError::Invalid(format!("transaction cancelled: {}", describe(reasons)));
        }
        StoreError::Other(format!(
            "transaction cancelled: {} ({})",
            describe(reasons),
            tc.message().unwrap_or("")
        ))
    }
}

fn describe(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> String {
    reasons
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code().is_some_and(|c| c != "None"))
        .map(|(i, r)| {
            format!(
                "#{i}: {} {}",
                r.code().unwrap_or(""),
                r.message().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Other(format!("building DynamoDB request: {e}"))
}
