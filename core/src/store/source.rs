//! Sources: where a file system lives, as the user writes it.
//!
//! `aws:REGION/TABLE` names DynamoDB tables `TABLE` and `TABLEBlocks`
//! (REGION may be empty to take it from the AWS configuration);
//! `sqlite:PATH` names an embedded store in one file.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use super::{
    Backoff, Counters, Counting, DynamoConfig, DynamoStore, FaultSpec, Faults, Injected, Retrying,
    SqliteStore, Store, StoreError, StoreResult,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Aws {
        region: Option<String>,
        table: String,
    },
    Sqlite {
        path: PathBuf,
    },
}

/// Why a source string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error(
        "unknown source `{0}`: expected aws:REGION/TABLE (DynamoDB) or sqlite:PATH (embedded file)"
    )]
    Scheme(String),
    #[error("source `{0}` names no table: write aws:REGION/TABLE, e.g. aws:us-east-1/myfs")]
    NoTable(String),
    #[error("invalid AWS region `{0}`: a region looks like us-east-1")]
    Region(String),
    #[error("invalid table name `{0}`: {1}")]
    Table(String, &'static str),
    #[error(
        "source `{0}` names no file: write sqlite:PATH, e.g. sqlite:/var/lib/dynamofs/home.db"
    )]
    NoPath(String),
    #[error(
        "source `{0}` is an in-memory SQLite database, which vanishes when the process exits: \
         name a file, e.g. sqlite:/var/lib/dynamofs/home.db (a file really named :memory: \
         is sqlite:./:memory:)"
    )]
    Memory(String),
}

/// Longest table name: DynamoDB allows 255 and we append "Blocks".
const MAX_TABLE: usize = 255 - "Blocks".len();

impl FromStr for Source {
    type Err = SourceError;

    fn from_str(s: &str) -> Result<Source, SourceError> {
        if let Some(rest) = s.strip_prefix("aws:") {
            let (region, table) = match rest.split_once('/') {
                Some((r, t)) => (r, t),
                None => return Err(SourceError::NoTable(s.to_string())),
            };
            if table.is_empty() {
                return Err(SourceError::NoTable(s.to_string()));
            }
            if !region.is_empty()
                && !(region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
            {
                return Err(SourceError::Region(region.to_string()));
            }
            check_table(table)?;
            Ok(Source::Aws {
                region: (!region.is_empty()).then(|| region.to_string()),
                table: table.to_string(),
            })
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(SourceError::NoPath(s.to_string()));
            }
            // SQLite's own name for a private database in memory.
            if path == ":memory:" {
                return Err(SourceError::Memory(s.to_string()));
            }
            Ok(Source::Sqlite {
                path: PathBuf::from(path),
            })
        } else {
            Err(SourceError::Scheme(s.to_string()))
        }
    }
}

fn check_table(t: &str) -> Result<(), SourceError> {
    let bad = |why| Err(SourceError::Table(t.to_string(), why));
    if t.len() < 3 {
        return bad("DynamoDB table names have at least 3 characters");
    }
    if t.len() > MAX_TABLE {
        return bad("at most 249 characters (the data table appends \"Blocks\")");
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return bad("only letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Aws { region, table } => {
                write!(f, "aws:{}/{table}", region.as_deref().unwrap_or(""))
            }
            Source::Sqlite { path } => write!(f, "sqlite:{}", path.display()),
        }
    }
}

/// Connection settings that are not part of the source string.
#[derive(Clone, Debug, Default)]
pub struct StoreOptions {
    /// DynamoDB endpoint URL (DynamoDB Local, LocalStack, moto…). Without
    /// it, the standard AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL apply.
    pub endpoint: Option<String>,
    /// AWS profile from ~/.aws/config.
    pub profile: Option<String>,
}

/// An opened store: the stack every tool uses (retries over counting over
/// the backend) and its request counters.
#[derive(Clone)]
pub struct Opened {
    pub store: Arc<dyn Store>,
    pub counters: Arc<Counters>,
    /// What the fault injector did, when `DYNAMOFS_FAULTS` put one in the
    /// stack (tests only).
    pub faults: Option<Arc<Injected>>,
    /// This user may only read the store (a SQLite file they may not
    /// write): writes fail, so open the file system read-only.
    pub read_only: bool,
}

/// Open the store a source names. Nothing is created: a missing file or
/// table shows up as `TableMissing` on first use.
///
/// With `DYNAMOFS_FAULTS` set, faults are injected at random under the
/// retries (see [`FaultSpec`]); a malformed value is refused here, before
/// anything is connected.
pub async fn open(source: &Source, opts: &StoreOptions) -> StoreResult<Opened> {
    let spec = FaultSpec::from_env().map_err(|e| StoreError::Invalid(e.to_string()))?;
    let counters = Arc::new(Counters::default());
    let mut read_only = false;
    let (store, faults) = match source {
        Source::Aws { region, table } => {
            let backend = DynamoStore::connect(&DynamoConfig {
                region: region.clone(),
                table: table.clone(),
                endpoint: opts.endpoint.clone(),
                profile: opts.profile.clone(),
            })
            .await?;
            stack_with_faults(backend, &counters, spec.as_ref())
        }
        Source::Sqlite { path } => {
            let backend = SqliteStore::open(path)?;
            read_only = backend.read_only();
            stack_with_faults(backend, &counters, spec.as_ref())
        }
    };
    Ok(Opened {
        store,
        counters,
        faults,
        read_only,
    })
}

/// The production stack over any backend.
pub fn stack<S: Store + 'static>(backend: S, counters: &Arc<Counters>) -> Arc<dyn Store> {
    stack_with_faults(backend, counters, None).0
}

/// The stack with random faults injected between the retries, which must
/// ride them out, and the counter, which counts what reached the store.
pub fn stack_with_faults<S: Store + 'static>(
    backend: S,
    counters: &Arc<Counters>,
    faults: Option<&FaultSpec>,
) -> (Arc<dyn Store>, Option<Arc<Injected>>) {
    let counted = Counting::new(backend, Arc::clone(counters));
    match faults {
        None => (
            Arc::new(Retrying::counted(
                counted,
                Backoff::default(),
                Arc::clone(counters),
            )),
            None,
        ),
        Some(spec) => {
            let injector = Faults::random(counted, spec);
            let injected = Arc::clone(injector.counts());
            (
                Arc::new(Retrying::counted(
                    injector,
                    Backoff::default(),
                    Arc::clone(counters),
                )),
                Some(injected),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_sources() {
        assert_eq!(
            "aws:us-east-1/MyFs".parse(),
            Ok(Source::Aws {
                region: Some("us-east-1".into()),
                table: "MyFs".into()
            })
        );
        assert_eq!(
            "aws:/MyFs".parse(),
            Ok(Source::Aws {
                region: None,
                table: "MyFs".into()
            })
        );
        assert_eq!(
            "sqlite:/tmp/x.db".parse(),
            Ok(Source::Sqlite {
                path: "/tmp/x.db".into()
            })
        );
    }

    #[test]
    fn refuses_bad_sources() {
        assert!(matches!(
            "s3://x".parse::<Source>(),
            Err(SourceError::Scheme(_))
        ));
        assert!(matches!(
            "aws:us-east-1".parse::<Source>(),
            Err(SourceError::NoTable(_))
        ));
        assert!(matches!(
            "aws:US_EAST/tbl".parse::<Source>(),
            Err(SourceError::Region(_))
        ));
        assert!(matches!(
            "aws:us-east-1/a b".parse::<Source>(),
            Err(SourceError::Table(..))
        ));
        assert!(matches!(
            "aws:us-east-1/ab".parse::<Source>(),
            Err(SourceError::Table(..))
        ));
        assert!(matches!(
            "sqlite:".parse::<Source>(),
            Err(SourceError::NoPath(_))
        ));
        assert!(matches!(
            "sqlite::memory:".parse::<Source>(),
            Err(SourceError::Memory(_))
        ));
        assert_eq!(
            "sqlite:./:memory:".parse(),
            Ok(Source::Sqlite {
                path: "./:memory:".into()
            })
        );
    }
}
