use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::latent::interpolate::{Ends, check_outputs, interpolate, write_interpolation};

use super::latent::split_data;
use super::{open_run, say};
use crate::cli::InterpolateArgs;

pub fn run(args: &InterpolateArgs, device: Device) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::interpolate(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let kind = &run.config.model.input;
    let gif = args.gif.as_deref().map(|p| (p, args.frame_ms));
    check_outputs(&args.out, gif, kind)?;
    let (ends, data) = match (args.from, args.to) {
        (Some(from), Some(to)) if !args.prior => (
            Ends::Examples { from, to },
            Some(split_data(&run, &args.data, args.split)?.0),
        ),
        _ => (Ends::Prior { seed: args.seed }, None),
    };
    let path = interpolate(
        &model,
        data.as_ref(),
        ends,
        args.steps,
        args.path,
        args.class,
    )?;
    write_interpolation(&path, kind, run.units(), &args.out, gif, args.originals)?;
    say(format!(
        "wrote the {} path of {} steps to {}",
        args.path,
        args.steps,
        args.out.display()
    ))?;
    if let Some(gif) = &args.gif {
        say(format!("wrote the animation to {}", gif.display()))?;
    }
    Ok(())
}
