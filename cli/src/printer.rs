//! Where output goes: progress on a terminal only, errors once on stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Printer {
    quiet: bool,
    verbose: u8,
    progress: bool,
}

impl Printer {
    pub fn new(quiet: bool, verbose: u8) -> Printer {
        Printer {
            quiet,
            verbose,
            progress: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// A spinner on a terminal; hidden when stderr is piped or with -q.
    pub fn spinner(&self) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            pb.set_style(style);
        }
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    }

    /// A result line for the user (stdout), unless -q.
    pub fn say(&self, line: &str) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        out(line)
    }

    /// A result line on stderr, unless -q: for commands whose stdout is
    /// data (dump to standard output).
    pub fn note(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// The error and its causes on one line; the debug form with -v.
    pub fn error(&self, e: &anyhow::Error) {
        if self.verbose > 0 {
            eprintln!("dynamofs: error: {e:?}");
        } else {
            eprintln!("dynamofs: error: {e:#}");
        }
    }
}

/// A line of output that a script asked for (JSON), even with -q. An error
/// (the reader left: a broken pipe) goes back to the caller, never a panic
/// as println! would; main treats a broken pipe as success.
pub fn out(text: impl std::fmt::Display) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    writeln!(o, "{text}")?;
    o.flush()
}
