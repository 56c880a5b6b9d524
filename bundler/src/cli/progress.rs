//! Progress on stderr when stderr is a terminal and `--quiet` was not given, nothing
//! otherwise: one bar for the current phase (bytes, rate and ETA), and while collecting one
//! bar per source above it (its name, bytes fetched of its total, rate), all drawn together
//! by indicatif's `MultiProgress`. A finished source's bar stays until the command ends.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use airlock_bundler::create::{Progress, SourceProgress};

/// Progress bars that stay hidden unless a person is watching.
#[derive(Debug)]
pub(crate) struct Bar {
    bars: MultiProgress,
    phase: ProgressBar,
}

impl Bar {
    pub(crate) fn new(quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bars = MultiProgress::with_draw_target(target);
        let phase = bars.add(ProgressBar::new(0));
        Self { bars, phase }
    }

    /// Starts a byte-counting phase.
    pub(crate) fn bytes(&self, message: &str, total: u64) {
        self.phase.set_style(style(
            "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ));
        self.phase.set_message(message.to_owned());
        self.phase.set_length(total);
        self.phase.set_position(0);
    }

    pub(crate) fn set(&self, done: u64) {
        self.phase.set_position(done);
    }

    pub(crate) fn finish(&self) {
        self.phase.finish_and_clear();
        // Only drawing can fail here, and a terminal that went away needs no clearing.
        let _ = self.bars.clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        self.bytes(name, total);
    }

    fn set(&self, done: u64) {
        self.phase.set_position(done);
    }

    fn source(&self, name: &str, total: u64) -> Box<dyn SourceProgress + '_> {
        let bar = self
            .bars
            .insert_before(&self.phase, ProgressBar::new(total));
        bar.set_style(style(
            "{msg:>20} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}",
        ));
        bar.set_message(name.to_owned());
        Box::new(SourceBar(bar))
    }
}

/// One source's bar; finished (left showing its count) when the source drops it.
struct SourceBar(ProgressBar);

impl SourceProgress for SourceBar {
    fn set(&self, done: u64) {
        if done > self.0.length().unwrap_or(0) {
            // A source whose size was not known: its total is what has arrived.
            self.0.set_length(done);
        }
        self.0.set_position(done);
    }
}

impl Drop for SourceBar {
    fn drop(&mut self) {
        self.0.finish();
    }
}
