use std::path::Path;

use anyhow::{Context, Result};
use vaekit::burn::tensor::Device;
use vaekit::settings::TrainSettings;
use vaekit::train::{StopReason, TrainRequest, train};

use super::say;
use crate::cli::TrainArgs;
use crate::progress::Progress;

pub fn run(args: &TrainArgs, device: Device, quiet: bool) -> Result<()> {
    if super::text::is_text_source(args) {
        return super::text::train(args, device, quiet);
    }
    let mut settings = TrainSettings::default();
    if let Some(path) = &args.config {
        settings = TrainSettings::from_toml_file(path)?;
    }
    let settings = settings.overlay(args.settings());
    let request = TrainRequest {
        settings,
        out: args.out.clone(),
        resume: args.resume,
        device,
    };
    let mut progress = Progress::new(quiet);
    crate::signals::graceful(None);
    let outcome = match train(request, &mut progress) {
        Err(vaekit::Error::Interrupted { epochs }) => {
            return Err(interrupted(&args.out, epochs, true));
        }
        other => other.with_context(|| format!("training into {} failed", args.out.display()))?,
    };
    let mut text = format!("run saved in {}", outcome.run_dir.display());
    if let Some(best) = outcome.best {
        text.push_str(&format!(
            " (best epoch {}, -ELBO {:.3} nats)",
            best.epoch, best.neg_elbo
        ));
    }
    if let Some(reason) = outcome.stopped {
        let last = outcome.metrics.last().map_or(0, |m| m.epoch);
        text.push_str(&match reason {
            StopReason::EarlyStop => format!(
                "; stopped early after epoch {last}: no better validation -ELBO in --early-stop epochs"
            ),
            StopReason::MaxTime => format!(
                "; stopped after epoch {last}: another epoch would pass --max-time (--resume with a longer --max-time goes on)"
            ),
        });
    }
    say(text)
}

/// Says what an interrupted training kept and how to go on (`resumable`:
/// the run has a checkpoint to continue from), and returns the error that
/// ends the process with 130 (Ctrl-C) or 143 (SIGTERM).
pub fn interrupted(out: &Path, epochs: usize, resumable: bool) -> anyhow::Error {
    let by = crate::signals::received().map_or("a signal", crate::signals::name);
    let text = match (epochs, resumable) {
        (0, _) => format!("interrupted by {by} before the first epoch ended; no run was kept"),
        (n, true) => format!(
            "interrupted by {by}: the run in {dir} keeps its checkpoint of epoch {n}; go on with\n  vaekit train --out {dir} --resume",
            dir = out.display()
        ),
        (n, false) => format!(
            "interrupted by {by}: the run in {} keeps the weights of epoch {n}",
            out.display()
        ),
    };
    eprintln!("{text}");
    vaekit::Error::Interrupted { epochs }.into()
}
