use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::generate::{reconstruct, write_comparison};

use super::{open_run, say};
use crate::cli::ReconstructArgs;

pub fn run(args: &ReconstructArgs, device: Device) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::reconstruct(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let other = args.data.other();
    let data = run.prepare_data(other.as_ref().map(|(s, o)| (s.as_str(), o)))?;
    let split = args.split.unwrap_or_else(|| data.default_eval_split());
    let (originals, recons) = reconstruct(&model, data.split(split)?, args.n)?;
    write_comparison(
        &args.out,
        &originals,
        &recons,
        &run.config.model.input,
        run.units(),
    )?;
    let n = originals.len() / model.input_dim().max(1);
    say(format!(
        "wrote {n} {split} examples and their reconstructions to {}",
        args.out.display()
    ))
}
