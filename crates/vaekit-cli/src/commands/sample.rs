use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::generate::{sample_at_shares, sample_prior, write_samples};

use super::{open_run, say};
use crate::cli::SampleArgs;

pub fn run(args: &SampleArgs, device: Device) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::sample(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let samples = match args.class_shares {
        // A run from before class counts were recorded has none: the
        // library then says to retrain.
        true => {
            let counts = run.config.data.class_counts.as_deref().unwrap_or(&[]);
            sample_at_shares(&model, args.n, args.seed, counts)?
        }
        false => sample_prior(&model, args.n, args.seed, args.class)?,
    };
    write_samples(&args.out, &samples, &run.config.model.input, run.units())?;
    say(format!(
        "wrote {} samples to {}",
        samples.count,
        args.out.display()
    ))
}
