//! `DYNAMOFS_FAULTS`: the rates at which a process injects faults at random.
//!
//! Test-only. The variable is read where every process opens its store
//! ([`crate::store::open`]), so a mount and every tool can be put under
//! fire without a special build. Unset or empty, nothing is injected.
//! Refused when malformed: a chaos run that silently injected nothing
//! would prove nothing.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::Fault;

/// The environment variable that turns random fault injection on.
pub const FAULTS_ENV: &str = "DYNAMOFS_FAULTS";

const EXAMPLE: &str = "throttle=0.02,timeout=0.01,conflict=0.02,lost=0.01,slow=0.05:200ms,seed=7";

const KNOWN: &str = "throttle, timeout, conflict, lost, in_progress, slow, seed";

/// A slow response longer than this is a typo, not a test.
const MAX_SLOW: Duration = Duration::from_secs(60);

/// Probabilities per request attempt, each in [0, 1], at most 1 together.
/// A conflict only happens to transactions (a drawn conflict leaves a
/// single-item request alone).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    pub throttle: f64,
    pub timeout: f64,
    pub conflict: f64,
    /// Applied, then the response is lost.
    pub lost: f64,
    /// Refused as TransactionInProgress, nothing applied (transactions
    /// only, as conflicts).
    pub in_progress: f64,
    /// Applied, then answered `slow_by` late.
    pub slow: f64,
    pub slow_by: Duration,
    /// Seed of the draws; random when not given, and shown in the log so a
    /// run can be repeated (as far as the order of concurrent requests
    /// allows).
    pub seed: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid {FAULTS_ENV}=`{spec}`: {why}; write e.g. {EXAMPLE} (see docs/TESTING.md), or unset it"
)]
pub struct FaultSpecError {
    spec: String,
    why: String,
}

impl FaultSpec {
    /// The spec in the environment: `None` when unset or empty.
    pub fn from_env() -> Result<Option<FaultSpec>, FaultSpecError> {
        match std::env::var(FAULTS_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => Err(FaultSpecError {
                spec: v.to_string_lossy().into_owned(),
                why: "not UTF-8".into(),
            }),
            Ok(v) if v.trim().is_empty() => Ok(None),
            Ok(v) => v.parse().map(Some),
        }
    }

    fn rates(&self) -> [(&'static str, f64); 6] {
        [
            ("throttle", self.throttle),
            ("timeout", self.timeout),
            ("conflict", self.conflict),
            ("lost", self.lost),
            ("in_progress", self.in_progress),
            ("slow", self.slow),
        ]
    }
}

fn rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "`{s}` is not a probability between 0 and 1 (0.02 is 2% of requests)"
        )),
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a duration such as 200ms or 2s");
    let (n, unit) = match s.strip_suffix("ms") {
        Some(n) => (n, Duration::from_millis(1)),
        None => (s.strip_suffix('s').ok_or_else(bad)?, Duration::from_secs(1)),
    };
    let d = unit * n.trim().parse::<u32>().map_err(|_| bad())?;
    if d > MAX_SLOW {
        return Err(format!("slow responses of {s} are over the limit of 60s"));
    }
    Ok(d)
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<FaultSpec, FaultSpecError> {
        let fail = |why: String| FaultSpecError {
            spec: text.to_string(),
            why,
        };
        let mut spec = FaultSpec {
            throttle: 0.0,
            timeout: 0.0,
            conflict: 0.0,
            lost: 0.0,
            in_progress: 0.0,
            slow: 0.0,
            slow_by: Duration::ZERO,
            seed: rand::random(),
        };
        let mut seen = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| fail(format!("`{part}` is not KIND=RATE")))?;
            let key = key.trim();
            if seen.contains(&key) {
                return Err(fail(format!("`{key}` is given twice")));
            }
            seen.push(key);
            match key {
                "throttle" => spec.throttle = rate(value).map_err(fail)?,
                "timeout" => spec.timeout = rate(value).map_err(fail)?,
                "conflict" => spec.conflict = rate(value).map_err(fail)?,
                "lost" => spec.lost = rate(value).map_err(fail)?,
                "in_progress" => spec.in_progress = rate(value).map_err(fail)?,
                "slow" => {
                    let (r, d) = value.split_once(':').ok_or_else(|| {
                        fail(format!(
                            "slow needs a rate and a delay, e.g. slow=0.05:200ms, not `{value}`"
                        ))
                    })?;
                    spec.slow = rate(r).map_err(fail)?;
                    spec.slow_by = duration(d).map_err(fail)?;
                }
                "seed" => {
                    spec.seed = value
                        .trim()
                        .parse()
                        .map_err(|_| fail(format!("seed `{value}` is not a whole number")))?
                }
                _ => return Err(fail(format!("unknown fault `{key}` (known: {KNOWN})"))),
            }
        }
        let sum: f64 = spec.rates().iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(fail(format!(
                "the rates add up to {sum}, over 1 (one fault at most per request)"
            )));
        }
        Ok(spec)
    }
}

/// The canonical form (what the log shows): rates that are not zero, and
/// the seed.
impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, r) in self.rates().into_iter().filter(|(_, r)| *r > 0.0) {
            write!(f, "{name}={r}")?;
            if name == "slow" {
                write!(f, ":{}ms", self.slow_by.as_millis())?;
            }
            f.write_str(",")?;
        }
        write!(f, "seed={}", self.seed)
    }
}

/// Random draws at a spec's rates: one draw per request attempt.
pub(super) struct Draws {
    spec: FaultSpec,
    rng: Mutex<StdRng>,
}

impl Draws {
    pub(super) fn new(spec: &FaultSpec) -> Draws {
        Draws {
            spec: spec.clone(),
            rng: Mutex::new(StdRng::seed_from_u64(spec.seed)),
        }
    }

    pub(super) fn draw(&self) -> Option<Fault> {
        let x: f64 = self.rng.lock().ok()?.random();
        let s = &self.spec;
        let mut edge = 0.0;
        for (r, fault) in [
            (s.throttle, Fault::Throttle),
            (s.timeout, Fault::Timeout),
            (s.conflict, Fault::Conflict),
            (s.lost, Fault::LostResponse),
            (s.in_progress, Fault::InProgress),
            (s.slow, Fault::Slow(s.slow_by)),
        ] {
            edge += r;
            if x < edge {
                return Some(fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FaultSpec, String> {
        s.parse::<FaultSpec>().map_err(|e| e.to_string())
    }

    #[test]
    fn parses_every_kind() {
        let s = parse(EXAMPLE).expect("the documented example parses");
        assert_eq!(
            s,
            FaultSpec {
                throttle: 0.02,
                timeout: 0.01,
                conflict: 0.02,
                lost: 0.01,
                in_progress: 0.0,
                slow: 0.05,
                slow_by: Duration::from_millis(200),
                seed: 7,
            }
        );
        assert_eq!(s.to_string(), EXAMPLE);
        assert_eq!(parse(&s.to_string()), Ok(s));
        let s = parse("in_progress=0.1,seed=3").expect("in_progress");
        assert_eq!(
            (s.in_progress, s.to_string()),
            (0.1, "in_progress=0.1,seed=3".into())
        );
        let s = parse(" lost = 1 , slow=0:2s").expect("spaces, a whole rate, seconds");
        assert_eq!((s.lost, s.slow_by), (1.0, Duration::from_secs(2)));
    }

    #[test]
    fn refuses_what_would_inject_something_else() {
        for (spec, why) in [
            ("throttle=2%", "not a probability"),
            ("throttle=1.5", "not a probability"),
            ("lost=-0.1", "not a probability"),
            ("timeout=NaN", "not a probability"),
            ("throttle", "not KIND=RATE"),
            ("thrott1e=0.1", "unknown fault `thrott1e`"),
            ("lost=0.1,lost=0.2", "given twice"),
            ("slow=0.1", "needs a rate and a delay"),
            ("slow=0.1:fast", "not a duration"),
            ("slow=0.1:5m", "not a duration"),
            ("slow=0.1:61s", "over the limit"),
            ("seed=x", "not a whole number"),
            ("throttle=0.6,lost=0.5", "add up to 1.1"),
        ] {
            let e = parse(spec).expect_err(spec);
            assert!(e.contains(why), "{spec}: {e}");
            assert!(
                e.contains("DYNAMOFS_FAULTS") && e.contains("unset it"),
                "{e}"
            );
        }
    }

    #[test]
    fn draws_follow_the_rates() {
        let spec =
            parse("throttle=0.1,conflict=0.2,in_progress=0.1,slow=0.2:1ms,seed=42").expect("spec");
        let d = Draws::new(&spec);
        let n = 20_000;
        let mut counts = [0u32; 5];
        for _ in 0..n {
            match d.draw() {
                Some(Fault::Throttle) => counts[0] += 1,
                Some(Fault::Conflict) => counts[1] += 1,
                Some(Fault::InProgress) => counts[2] += 1,
                Some(Fault::Slow(_)) => counts[3] += 1,
                None => counts[4] += 1,
                Some(f) => panic!("{f:?} has rate 0"),
            }
        }
        // Deterministic for a seed; the bands only say the rates are used.
        for (i, want) in [0.1, 0.2, 0.1, 0.2, 0.4].into_iter().enumerate() {
            let got = counts[i] as f64 / n as f64;
            assert!((got - want).abs() < 0.02, "kind {i}: {got} for {want}");
        }
        let again = Draws::new(&spec);
        let d2 = Draws::new(&spec);
        let a: Vec<_> = (0..50).map(|_| again.draw()).collect();
        let b: Vec<_> = (0..50).map(|_| d2.draw()).collect();
        assert_eq!(a, b, "one seed, one sequence");
    }
}
