//! `dynamofs mkfs` end to end: the real binary against SQLite files and the
//! test DynamoDB server, and every bad input it must refuse clearly.

use std::io::{Read, Write};
use std::net::TcpListener;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn dynamofs() -> Command {
    let mut c = Command::cargo_bin("dynamofs").expect("binary built");
    c.env_remove("AWS_PROFILE");
    c
}

fn endpoint() -> String {
    std::env::var("DYNAMOFS_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMOFS_TEST_ENDPOINT is not set: run the tests with scripts/test, which starts moto"
        )
    })
}

fn table() -> String {
    format!("cli-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// An error is one clear line: no panic, no backtrace.
fn one_clear_line() -> impl Predicate<str> {
    contains("panicked")
        .not()
        .and(contains("backtrace").not())
        .and(contains("RUST_BACKTRACE").not())
        .and(predicate::function(|s: &str| {
            s.trim_end().lines().count() == 1
        }))
}

#[test]
fn sqlite_create_refuse_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!("sqlite:{}", dir.path().join("fs.db").display());
    dynamofs()
        .args(["mkfs", &src])
        .assert()
        .success()
        .stdout(contains("created file system"))
        .stderr("");
    dynamofs()
        .args(["mkfs", &src])
        .assert()
        .code(1)
        .stderr(contains("already holds a dynamofs file system").and(contains("--force")))
        .stderr(one_clear_line());
    dynamofs()
        .args(["mkfs", "--force", "--block-size", "64K", &src])
        .assert()
        .success()
        .stdout(contains("block size 64 KiB"));
}

#[test]
fn sqlite_refuses_foreign_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("other.db");
    // A database of another program, with a `meta` table of its own.
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table meta (id integer primary key, name text)'); c.commit()",
        ])
        .arg(&db)
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let src = format!("sqlite:{}", db.display());
    dynamofs()
        .args(["mkfs", &src])
        .assert()
        .code(1)
        .stderr(contains("not a dynamofs table").and(contains("columns (id, name)")))
        .stderr(one_clear_line());
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["s3://bucket/x".into()],
            "unknown source `s3://bucket/x`",
        ),
        (vec!["aws:us-east-1".into()], "names no table"),
        (vec!["aws:us-east-1/a b".into()], "invalid table name"),
        (vec!["aws:US/table".into()], "invalid AWS region"),
        (vec!["sqlite:".into()], "names no file"),
        (
            vec![format!("sqlite:{}/no/such/dir/fs.db", dir.path().display())],
            "does not exist; create it first",
        ),
        (
            vec![
                "--block-size".into(),
                "3K".into(),
                format!("sqlite:{}/x.db", dir.path().display()),
            ],
            "block size 3072 is not a power of two",
        ),
    ];
    for (args, msg) in cases {
        dynamofs()
            .arg("mkfs")
            .args(&args)
            .assert()
            .code(1)
            .stderr(contains(msg))
            .stderr(one_clear_line());
    }
    let not_db = dir.path().join("notes.txt");
    std::fs::write(&not_db, "hello").expect("write");
    dynamofs()
        .args(["mkfs", &format!("sqlite:{}", not_db.display())])
        .assert()
        .code(1)
        .stderr(contains("is not a SQLite database"))
        .stderr(one_clear_line());
    // Bad option values are usage errors (clap: exit 2).
    dynamofs()
        .args(["mkfs", "--root-owner", "bob", "sqlite:/tmp/x.db"])
        .assert()
        .code(2)
        .stderr(contains("is not UID:GID"));
}

#[test]
fn dynamo_create_refuse_force() {
    let src = format!("aws:us-east-1/{}", table());
    let ep = endpoint();
    dynamofs()
        .args(["mkfs", "--endpoint", &ep, &src])
        .assert()
        .success()
        .stdout(contains("created file system"))
        .stderr("");
    dynamofs()
        .args(["mkfs", "--endpoint", &ep, &src])
        .assert()
        .code(1)
        .stderr(contains("already holds a dynamofs file system").and(contains("--force")))
        .stderr(one_clear_line());
    dynamofs()
        .args([
            "mkfs",
            "--endpoint",
            &ep,
            "--force",
            "--billing",
            "provisioned",
            &src,
        ])
        .assert()
        .success();
}

#[test]
fn endpoint_from_standard_environment() {
    let src = format!("aws:us-east-1/{}", table());
    dynamofs()
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint())
        .args(["mkfs", &src])
        .assert()
        .success();
}

#[test]
fn unreachable_endpoint() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    dynamofs()
        .args([
            "mkfs",
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "aws:us-east-1/nowhere",
        ])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(1)
        .stderr(contains("cannot reach").and(contains(format!("127.0.0.1:{port}"))))
        .stderr(one_clear_line());
}

#[test]
fn missing_credentials() {
    let home = tempfile::tempdir().expect("tempdir");
    dynamofs()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.path().join("none"))
        // No instance metadata service here; don't wait for one.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["mkfs", "--endpoint", &endpoint(), "aws:us-east-1/nocreds"])
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .code(1)
        .stderr(contains("credentials").and(contains("AWS_ACCESS_KEY_ID")))
        .stderr(one_clear_line());
}

/// A one-shot HTTP server that answers every request as DynamoDB answers a
/// caller without IAM permission.
fn access_denied_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let body = r#"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: dynamodb:DescribeTable on resource: arn:aws:dynamodb:us-east-1:123456789012:table/locked"}"#;
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    format!("http://{addr}")
}

#[test]
fn access_denied() {
    dynamofs()
        .args([
            "mkfs",
            "--endpoint",
            &access_denied_server(),
            "aws:us-east-1/locked",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains("access denied").and(contains("dynamodb:DescribeTable")))
        .stderr(one_clear_line());
}

#[test]
fn verbose_shows_the_chain() {
    dynamofs()
        .args(["-v", "mkfs", "s3://x"])
        .assert()
        .code(1)
        .stderr(contains("unknown source"));
}
