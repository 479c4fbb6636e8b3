//! Progress on the terminal: a bar per training epoch (only when stdout is a
//! terminal) and one summary line per epoch, and a counter for long evaluations.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use vaekit::train::{EpochMetrics, StepOutput, TrainObserver};

pub struct Progress {
    quiet: bool,
    bars: bool,
    bar: Option<ProgressBar>,
    epochs: usize,
    /// The learning rate of the previous epoch, to show a schedule moving.
    last_lr: Option<f64>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            bars: !quiet && std::io::stdout().is_terminal(),
            bar: None,
            epochs: 0,
            last_lr: None,
        }
    }

    fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        let mut out = std::io::stdout().lock();
        // A closed pipe only stops the display, never the training.
        let _ = writeln!(out, "{text}");
    }
}

/// A bar counting `total` items on stderr, when it is a terminal and not `quiet`.
pub fn counter(total: usize, quiet: bool, what: &str) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len}  {per_sec}  ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    Some(bar)
}

impl TrainObserver for Progress {
    fn stop_requested(&mut self) -> bool {
        crate::signals::received().is_some()
    }
    fn on_line(&mut self, text: &str) {
        self.line(text);
    }
    fn on_start(&mut self, summary: &str) {
        self.line(summary);
    }

    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.epochs = epochs;
        if !self.bars {
            return;
        }
        let bar = ProgressBar::new(steps as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} steps  {msg}  {per_sec}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    fn on_step(&mut self, step: usize, output: &StepOutput) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            if step.is_multiple_of(10) || step == 1 {
                bar.set_message(format!("loss {:.3}", output.loss));
            }
        }
    }

    fn on_epoch_end(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let width = self.epochs.to_string().len();
        let mut text = match m.pretraining {
            // An autoencoder's epoch: only the reconstruction was optimized.
            true => format!(
                "epoch {:>width$}/{}  pretraining as an autoencoder: train recon {:.3}",
                m.epoch, self.epochs, m.train_recon
            ),
            false => format!(
                "epoch {:>width$}/{}  train -ELBO {:.3} (recon {:.3}, KL {:.3})",
                m.epoch, self.epochs, m.train_neg_elbo, m.train_recon, m.train_kl
            ),
        };
        match (&m.val, m.pretraining) {
            (Some(v), false) => text.push_str(&format!(
                "  val -ELBO {:.3} (recon {:.3}, KL {:.3})",
                v.neg_elbo, v.recon, v.kl
            )),
            (Some(v), true) => text.push_str(&format!("  val recon {:.3}", v.recon)),
            (None, _) => {}
        }
        text.push_str(&format!(
            "  {:.1} s  {:.0} ex/s",
            m.seconds, m.examples_per_second
        ));
        if m.beta != 1.0 {
            text.push_str(&format!("  beta {:.3}", m.beta));
        }
        if self.last_lr.is_some_and(|lr| lr != m.lr) {
            text.push_str(&format!("  lr {:.2e}", m.lr));
        }
        self.last_lr = Some(m.lr);
        if m.skipped_steps > 0 {
            text.push_str(&format!(
                "  {} steps skipped (non-finite loss)",
                m.skipped_steps
            ));
        }
        self.line(&text);
    }
}
