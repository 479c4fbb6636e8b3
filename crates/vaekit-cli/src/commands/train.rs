use anyhow::{Context, Result};
use vaekit::burn::tensor::Device;
use vaekit::settings::TrainSettings;
use vaekit::train::{TrainRequest, train};

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
    let outcome = train(request, &mut progress)
        .with_context(|| format!("training into {} failed", args.out.display()))?;
    let mut text = format!("run saved in {}", outcome.run_dir.display());
    if let Some(best) = outcome.best {
        text.push_str(&format!(
            " (best epoch {}, -ELBO {:.3} nats)",
            best.epoch, best.neg_elbo
        ));
    }
    say(text)
}
