use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::latent::interpolate::check_outputs;
use vaekit::latent::space::kl_on_data;
use vaekit::latent::traverse::{Base, traverse, write_traversal};

use super::latent::split_data;
use super::{open_run, say};
use crate::cli::TraverseArgs;

pub fn run(args: &TraverseArgs, device: Device) -> Result<()> {
    let (run, model) = open_run(&args.run, &device)?;
    check_outputs(&args.out, None, &run.config.model.input)?;
    let (data, what) = split_data(&run, &args.data, args.split)?;
    let base = if args.prior {
        Base::Prior { seed: args.seed }
    } else {
        Base::Example(args.index.unwrap_or(0))
    };
    let kl = kl_on_data(&model, &run, &data, None)?;
    let traversal = traverse(
        &model,
        Some(&data),
        base,
        &kl,
        args.dims,
        args.range,
        args.steps,
        args.class,
    )?;
    write_traversal(&args.out, &traversal, &run.config.model.input, run.units())?;
    say(format!(
        "wrote the traversal of {} dimensions to {} (KL measured on {what})",
        traversal.dims.len(),
        args.out.display()
    ))
}
