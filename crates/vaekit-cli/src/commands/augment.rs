use anyhow::Result;
use vaekit::augment::{AugmentFormat, Draw, check_destination, draw_examples, write_augmented};
use vaekit::burn::tensor::Device;

use super::{open_run, say};
use crate::cli::AugmentArgs;

pub fn run(args: &AugmentArgs, device: Device) -> Result<()> {
    let (run, model) = open_run(&args.run, &device)?;
    let format = AugmentFormat::choose(&args.out, args.format, run.config.data.format);
    check_destination(&args.out, format)?;
    let draw = match (args.class, args.per_class) {
        (Some(c), _) => Draw::Class(c),
        (None, true) => Draw::PerClass,
        (None, false) => Draw::Any,
    };
    let samples = draw_examples(&model, args.n, draw, args.seed)?;
    write_augmented(
        &args.out,
        format,
        &samples,
        &run.config.model.input,
        run.units(),
        run.config.data.class_names.as_deref(),
    )?;
    let what = if samples.labels.is_some() {
        "labelled"
    } else {
        "unlabelled"
    };
    say(format!(
        "wrote {} {what} examples to {} ({format})",
        samples.count,
        args.out.display()
    ))
}
