use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::data::prepare::Split;
use vaekit::generate::{CodeSource, sample_at_shares, sample_from, write_samples};
use vaekit::latent::fitted::fit_codes;

use super::{open_run, say};
use crate::cli::SampleArgs;

pub fn run(args: &SampleArgs, device: Device) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::sample(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let fitted = match args.code_mixture {
        Some(k) => {
            let prepared = run.prepare_data(None)?;
            Some(fit_codes(
                &model,
                prepared.split(Split::Train)?,
                k,
                args.seed,
            )?)
        }
        None => None,
    };
    let codes = fitted
        .as_ref()
        .map_or(CodeSource::Prior, CodeSource::Fitted);
    let samples = match args.class_shares {
        // A run from before class counts were recorded has none: the
        // library then says to retrain.
        true => {
            let counts = run.config.data.class_counts.as_deref().unwrap_or(&[]);
            sample_at_shares(&model, codes, args.n, args.seed, counts)?
        }
        false => sample_from(&model, codes, args.n, args.seed, args.class)?,
    };
    write_samples(&args.out, &samples, &run.config.model.input, run.units())?;
    say(format!(
        "wrote {} samples to {}",
        samples.count,
        args.out.display()
    ))
}
