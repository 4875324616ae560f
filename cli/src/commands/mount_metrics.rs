//! `-o metrics=ADDR:PORT`: the mount's Prometheus endpoint, a minimal HTTP
//! responder on its own listener.
//!
//! One request per connection: `GET /metrics` gets the rendered text,
//! anything else a 404. A scraper needs no more, and an HTTP stack would
//! be most of the binary's new code. Each connection is its own task with
//! a deadline, so a client that connects and says nothing ties up nothing
//! but that task; rendering reads atomics (see `dynamofs_fuse::exposition`)
//! and never waits on a kernel request or the store.
//!
//! The port is bound before anything is mounted, so a taken port fails
//! the mount instead of leaving a mount without its metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use dynamofs_fuse::exposition::{Exposition, CONTENT_TYPE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a connection may take to send its request.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// A request line and headers longer than this are not a scrape.
const MAX_REQUEST: usize = 16 << 10;

/// The option's value: an address with a port (a name would need a
/// resolver, and a metrics port is bound to a known interface anyway).
pub fn parse_addr(v: &str) -> anyhow::Result<SocketAddr> {
    v.parse()
        .map_err(|_| anyhow!("metrics={v}: expected ADDR:PORT such as 127.0.0.1:9567"))
}

/// A bound listener, not serving yet.
pub struct Endpoint {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Endpoint {
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<Endpoint> {
        let fail = |e: std::io::Error| anyhow!("metrics={addr}: cannot listen on {addr}: {e}");
        let listener = TcpListener::bind(addr).await.map_err(fail)?;
        let addr = listener.local_addr().map_err(fail)?;
        Ok(Endpoint { listener, addr })
    }

    /// Where it listens (the port chosen, when asked for port 0).
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// Answer scrapes until the task is aborted or the runtime ends.
    pub fn serve(self, metrics: Arc<Exposition>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.listener.accept().await {
                    Ok((conn, _)) => {
                        tokio::spawn(answer(conn, Arc::clone(&metrics)));
                    }
                    // Out of descriptors, say: wait instead of spinning.
                    Err(e) => {
                        tracing::warn!("metrics endpoint {}: {e}", self.addr);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
    }
}

async fn answer(mut conn: TcpStream, metrics: Arc<Exposition>) {
    let request = match tokio::time::timeout(REQUEST_DEADLINE, read_head(&mut conn)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::debug!("metrics endpoint: reading a request: {e}");
            return;
        }
        Err(_) => return,
    };
    let response = if scrape_target(&request) {
        response("200 OK", CONTENT_TYPE, &metrics.render())
    } else {
        response(
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: the metrics are at GET /metrics\n",
        )
    };
    let written = async {
        conn.write_all(response.as_bytes()).await?;
        conn.shutdown().await
    };
    if let Ok(Err(e)) = tokio::time::timeout(REQUEST_DEADLINE, written).await {
        tracing::debug!("metrics endpoint: answering: {e}");
    }
}

/// The request line and headers (what comes before the empty line).
async fn read_head(conn: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = conn.read(&mut chunk).await?;
        buf.extend_from_slice(&chunk[..n]);
        let done = buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n");
        if n == 0 || done || buf.len() >= MAX_REQUEST {
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
    }
}

/// Whether a request asks for the metrics: `GET /metrics`, a query string
/// allowed (some scrapers add one).
fn scrape_target(request: &str) -> bool {
    let mut words = request.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next(), words.next().unwrap_or(""));
    method == Some("GET") && target.split('?').next() == Some("/metrics")
}

fn response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_metrics_is_a_scrape() {
        assert!(scrape_target("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(scrape_target("GET /metrics?name[]=x HTTP/1.0\r\n\r\n"));
        for other in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET /metricsx HTTP/1.1\r\n\r\n",
            "POST /metrics HTTP/1.1\r\n\r\n",
            "",
            "garbage",
        ] {
            assert!(!scrape_target(other), "{other:?}");
        }
    }

    #[test]
    fn addresses_need_a_port() {
        assert_eq!(
            parse_addr("127.0.0.1:9567").ok(),
            "127.0.0.1:9567".parse().ok()
        );
        assert!(parse_addr("[::1]:0").is_ok());
        for bad in ["foo", "127.0.0.1", ":9567", "localhost:9567", ""] {
            let e = parse_addr(bad).expect_err(bad).to_string();
            assert_eq!(
                e,
                format!("metrics={bad}: expected ADDR:PORT such as 127.0.0.1:9567")
            );
        }
    }
}
