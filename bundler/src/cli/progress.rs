//! Progress on stderr: a bar with bytes, rate and ETA when stderr is a terminal and `--quiet`
//! was not given; nothing otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use airlock_bundler::create::Progress;

/// A progress bar that stays hidden unless a person is watching.
#[derive(Debug)]
pub(crate) struct Bar(ProgressBar);

impl Bar {
    pub(crate) fn new(quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self(ProgressBar::with_draw_target(None, target))
    }

    /// Starts a byte-counting phase.
    pub(crate) fn bytes(&self, message: &str, total: u64) {
        let style = ProgressStyle::with_template(
            "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        self.0.set_style(style);
        self.0.set_message(message.to_owned());
        self.0.set_length(total);
        self.0.set_position(0);
    }

    pub(crate) fn set(&self, done: u64) {
        self.0.set_position(done);
    }

    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        self.bytes(name, total);
    }

    fn set(&self, done: u64) {
        self.0.set_position(done);
    }
}
