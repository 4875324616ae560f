//! The progress bar: bytes copied of all planned, and files done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::item::Kind;
use super::Copier;
use crate::args::GlobalArgs;

/// Whether to draw progress: the rule of `Printer::spinner`.
pub fn progress_wanted(global: &GlobalArgs) -> bool {
    !global.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// The bar, drawn only if `progress`.
pub(super) fn bar(progress: bool) -> ProgressBar {
    if progress {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    }
}

/// One more file done, of `files`.
pub(super) fn file_done(bar: &ProgressBar, done: &AtomicU64, files: u64) {
    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
    bar.set_message(format!("{n}/{files} files"));
}

impl Copier<'_> {
    pub(super) fn count_children(&mut self) {
        let (mut files, mut bytes) = (0, 0);
        for it in &self.items {
            if matches!(it.kind, Kind::File) {
                files += 1;
                bytes += it.meta.size;
            }
        }
        self.files = files;
        self.bytes = bytes;
    }

    /// On a terminal, once the bar is gone: what was copied, how fast.
    pub(super) fn summarise(&self) {
        if self.bar.is_hidden() {
            return;
        }
        let (files, bytes) = (self.done_files.load(Ordering::Relaxed), self.bar.position());
        let secs = self.bar.elapsed().as_secs_f64().max(0.001);
        let failed = match self.failures {
            0 => String::new(),
            n => format!("; {n} failed"),
        };
        eprintln!(
            "copied {files} file{} ({}) in {secs:.1} s, {}/s{failed}",
            if files == 1 { "" } else { "s" },
            crate::commands::stats::bytes(bytes),
            crate::commands::stats::bytes((bytes as f64 / secs) as u64),
        );
    }

    pub(super) fn start_bar(&self) {
        if self.bar.is_hidden() {
            return;
        }
        self.bar.set_length(self.bytes);
        if let Ok(style) = ProgressStyle::with_template(
            "{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
        ) {
            self.bar.set_style(style);
        }
        self.bar.set_message(format!("0/{} files", self.files));
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }
}
