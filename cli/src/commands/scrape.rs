//! Reading a mount's live counters from its metrics endpoint (`-o
//! metrics=`, named in its session item): for `stats --watch` and
//! `bench`. One HTTP GET, the Prometheus text parsed into samples.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};

/// One scrape: every sample, by metric name and its labels as written
/// (`kind="PutItem"`).
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    samples: HashMap<String, Vec<(String, f64)>>,
}

impl Scrape {
    /// GET `url` (`http://ADDR:PORT/metrics`, as mounts name it).
    pub fn fetch(url: &str) -> anyhow::Result<Scrape> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("{url}: not an http:// metrics URL"))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, "metrics"));
        let addr: SocketAddr = host
            .parse()
            .map_err(|_| anyhow!("{url}: expected http://ADDR:PORT/metrics"))?;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
            .with_context(|| format!("cannot reach the mount's metrics at {url}"))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
        let mut body = String::new();
        s.read_to_string(&mut body)
            .with_context(|| format!("reading the metrics at {url}"))?;
        let (head, text) = body
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow!("{url}: not an HTTP answer"))?;
        if !head.starts_with("HTTP/1.") || head.split(' ').nth(1).is_none_or(|c| c != "200") {
            bail!("{url}: {}", head.lines().next().unwrap_or("no status"));
        }
        Ok(Scrape::parse(text))
    }

    /// The text exposition format: `name{labels} value` lines, `#` lines
    /// skipped.
    pub fn parse(text: &str) -> Scrape {
        let mut samples: HashMap<String, Vec<(String, f64)>> = HashMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(v) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match key.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (key, ""),
            };
            samples
                .entry(name.to_string())
                .or_default()
                .push((labels.to_string(), v));
        }
        Scrape { samples }
    }

    /// The sum of a metric over all its labels (0 when absent).
    pub fn sum(&self, name: &str) -> f64 {
        self.samples
            .get(name)
            .map_or(0.0, |v| v.iter().map(|(_, x)| x).sum())
    }

    /// A metric's value by one label's value (`by("…_total", "kind")`).
    pub fn by(&self, name: &str, label: &str) -> HashMap<String, f64> {
        let mut out = HashMap::new();
        for (labels, v) in self.samples.get(name).into_iter().flatten() {
            let value = labels.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k.trim() == label).then(|| v.trim_matches('"').to_string())
            });
            if let Some(l) = value {
                *out.entry(l).or_insert(0.0) += v;
            }
        }
        out
    }
}

/// Store requests that are not table administration, from a scrape.
pub fn requests(s: &Scrape) -> f64 {
    let by = s.by("dynamofs_store_requests_total", "kind");
    by.iter()
        .filter(|(k, _)| k.as_str() != "Admin")
        .map(|(_, v)| v)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_text_format() {
        let s = Scrape::parse(
            "# HELP x y\n# TYPE dynamofs_store_requests_total counter\n\
             dynamofs_store_requests_total{kind=\"PutItem\"} 3\n\
             dynamofs_store_requests_total{kind=\"Query\"} 4\n\
             dynamofs_store_requests_total{kind=\"Admin\"} 9\n\
             dynamofs_open_files 2\n\
             dynamofs_fuse_requests_total{op=\"write\"} 1.5e1\n",
        );
        assert_eq!(s.sum("dynamofs_open_files"), 2.0);
        assert_eq!(s.sum("dynamofs_store_requests_total"), 16.0);
        assert_eq!(requests(&s), 7.0);
        assert_eq!(s.by("dynamofs_fuse_requests_total", "op")["write"], 15.0);
        assert_eq!(s.sum("missing"), 0.0);
    }
}
